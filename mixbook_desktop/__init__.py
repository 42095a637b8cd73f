"""mixbook-desktop: a local-first photobook editor."""

__version__ = "0.1.0"
