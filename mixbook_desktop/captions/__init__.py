"""Captions and book text: facts in, a validated suggestion out, from a local or remote model."""
