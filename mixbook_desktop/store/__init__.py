"""The project file: one SQLite database per book, written through sqlite-utils."""
