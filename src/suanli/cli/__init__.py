"""Command-line interface: thin typer shells over the Python API."""
