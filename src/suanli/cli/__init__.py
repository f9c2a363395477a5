"""Command-line interface: thin typer shells over the Python API.

:func:`main` is the ``suanli`` command. ``suanli --version`` is answered
before the command tree (typer, rich, every command group) is imported, so a
version check costs a Python start-up and nothing more.
"""
from __future__ import annotations

import sys


def main() -> None:
    """Run the ``suanli`` command."""
    if sys.argv[1:] == ["--version"]:
        from suanli import __version__

        sys.stdout.write(f"suanli {__version__}\n")
        return
    from suanli.cli.main import main as _main

    _main()
