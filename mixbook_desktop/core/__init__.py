"""Plain data types and paths shared by every layer; imports only the standard library."""
