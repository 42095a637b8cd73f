"""Use cases that join the adapters (import a folder, run the demo); no Qt here."""
