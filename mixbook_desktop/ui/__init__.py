"""The desktop editor: Qt widgets and models over the services. The only package that imports PySide6."""
