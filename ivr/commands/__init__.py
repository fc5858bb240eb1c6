"""Command-line entry points of `ivr`: one module per feature."""
