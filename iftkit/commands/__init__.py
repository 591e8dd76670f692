"""Thin CLI commands: parse arguments, call the library, print a result."""
