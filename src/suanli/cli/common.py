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
from rich.markup import escape
from rich.table import Table
from typer.core import TyperGroup

from suanli.errors import SuanliError, suggest

try:  # typer >= 0.20 vendors click
    from typer._click.exceptions import UsageError
except ImportError:  # pragma: no cover - older typer with click installed
    from click.exceptions import UsageError  # type: ignore[no-redef]

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
            err_console.print(f"[bold red]error:[/] {escape(exc.message)}", highlight=False)
            if exc.hint:  # escaped: a hint such as pip install 'suanli[bench]' is text, not markup
                err_console.print(f"  [yellow]hint:[/] {escape(exc.hint)}", highlight=False)
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


# --------------------------------------------------------------------------- option checks
def check_positive(**values: Any) -> None:
    """Raise a SuanliError for a value that is not a finite number > 0 (None means "not given").

    >>> check_positive(chips=8, isl=1024.0, tp=None)
    >>> check_positive(isl=-5.0)
    Traceback (most recent call last):
    ...
    suanli.errors.SuanliError: --isl must be a number > 0 (got -5.0)
      hint: e.g. --isl 1024
    """
    examples = {"chips": "8", "isl": "1024", "osl": "1024", "ttft_slo_ms": "2000", "tpot_slo_ms": "50",
                "tokens": "14.8e12", "seq_len": "4096", "global_batch": "1024", "concurrency": "256",
                "batch_per_chip": "64"}
    for name, v in values.items():
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
            opt = "--" + name.replace("_", "-")
            raise SuanliError(f"{opt} must be a number > 0 (got {v!r})",
                              hint=f"e.g. {opt} {examples.get(name, '1')}")


def check_choice(option: str, value: str | None, choices: Iterable[str], *, hint: str | None = None) -> None:
    """Raise a SuanliError (with close matches) when ``value`` is not one of ``choices``."""
    choices = list(choices)
    if value is None or value in choices:
        return
    close = suggest(value, choices)
    h = ("did you mean: " + ", ".join(close) + "; " if close else "") + (hint or f"one of {', '.join(choices)}")
    raise SuanliError(f"unknown {option} {value!r}", hint=h)


def check_system(catalog: Any, hardware: str, system: str | None) -> None:
    """A ``--system`` id must hold the ``--hardware`` chip (aliases such as hgx-8 and generic systems pass)."""
    if not system or system not in catalog.systems:
        return
    held = catalog.systems[system].hardware
    acc = catalog.accelerator(hardware)
    chip = acc.id
    if acc.id in catalog.systems and catalog.systems[acc.id].hardware:  # a rack-scale id used as hardware
        chip = catalog.systems[acc.id].hardware
    if held and held != chip:
        own = [s.id for s in catalog.systems.values() if s.hardware == chip]
        raise SuanliError(
            f"system {system!r} holds {held}, not {chip}",
            hint=f"use --hardware {held}, or " + (f"a system of {chip}: {', '.join(own)}" if own else
                                                   "--system hgx-8 (a generic 8-card node)")
            + ", or omit --system")


# --------------------------------------------------------------------------- usage errors as JSON
class JsonErrorGroup(TyperGroup):
    """Root command group: with ``--json``, a usage error (bad option, bad value) prints a JSON error object.

    Without ``--json`` the error is shown as typer shows it; either way the exit status is 2.
    """

    def invoke(self, ctx: Any) -> Any:
        raw = [*getattr(ctx, "_protected_args", []), *ctx.args]
        try:
            return super().invoke(ctx)
        except UsageError as exc:
            if "--json" not in raw:
                raise
            sub = getattr(exc, "ctx", None)
            where = sub.command_path if sub is not None else "suanli"
            print_json({"error": type(exc).__name__, "message": exc.format_message(),
                        "hint": f"see `{where} --help`"})
            err_console.print(f"[bold red]error:[/] {exc.format_message()}", highlight=False)
            raise typer.Exit(exc.exit_code) from None
