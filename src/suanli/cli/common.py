"""Shared CLI plumbing: JSON output, rich rendering, and error handling.

Every command takes ``--json`` and prints exactly the result's ``to_dict()``;
errors a user can fix (:class:`~suanli.errors.SuanliError`) print the message
and a hint to stderr and exit with status 2.
"""
from __future__ import annotations

import functools
import json
import math
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from suanli.errors import SuanliError

console = Console()
err_console = Console(stderr=True)

JSON_OPTION = typer.Option(False, "--json", help="Print machine-readable JSON instead of tables.")
CATALOG_OPTION = typer.Option(
    None, "--catalog", help="Overlay YAML file or folder adding/overriding catalog records (repeatable).",
)


def _clean(obj: Any) -> Any:
    if isinstance(obj, float) and (math.isnan(obj) or math.isinf(obj)):
        return None
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item) and getattr(obj, "ndim", 1) == 0:
        return _clean(obj.item())
    if hasattr(obj, "tolist"):
        return _clean(obj.tolist())
    return obj


def print_json(data: Any) -> None:
    """Print data as indented JSON (NaN/inf become null; numpy values become Python)."""
    sys.stdout.write(json.dumps(_clean(data), indent=2, default=str, allow_nan=False) + "\n")


def guarded(fn: Callable) -> Callable:
    """Turn SuanliError into a message on stderr (or JSON on stdout with --json) and exit 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except SuanliError as exc:
            if kwargs.get("json_out"):
                print_json(exc.to_dict())
            err_console.print(f"[bold red]error:[/] {exc.message}", highlight=False)
            if exc.hint:
                err_console.print(f"  [yellow]hint:[/] {exc.hint}", highlight=False)
            raise typer.Exit(exc.exit_code) from None

    return wrapper


def fmt(v: Any, digits: int = 4) -> str:
    """Human formatting: None -> '—', floats to ``digits`` significant figures."""
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        if v == 0:
            return "0"
        if abs(v) >= 10 ** digits:
            return f"{v:,.0f}"
        return f"{v:.{digits}g}"
    return str(v)


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]], **kw: Any) -> Table:
    t = Table(title=title, **kw)
    for i, c in enumerate(columns):
        t.add_column(c, justify="left" if i == 0 else "right", overflow="fold")
    for r in rows:
        t.add_row(*[fmt(x) if not isinstance(x, str) else x for x in r])
    return t
