"""Shared CLI plumbing: JSON output, rich rendering, and error handling.

Every command takes ``--json`` and prints exactly the result's ``to_dict()``;
errors a user can fix (:class:`~suanli.errors.SuanliError`) print the message
and a hint to stderr and exit with status 2.
"""
from __future__ import annotations

import functools
import json
import math
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from typer.core import TyperGroup

from suanli.errors import SuanliError, suggest
from suanli.jsonable import jsonable

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


_clean = jsonable


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


#: A number with at most a short remark in brackets (``1,234 (5%)``); a longer remark makes the cell text,
#: which may wrap: an error band's ``±16% (calibration of ..., n=34)`` held whole pushed the names out.
_NUMBER = re.compile(r"^[±~≈<>=+\-−]?\s*[\d.,]+(e[+-]?\d+)?\s*(%|×|x)?(\s*\([^()]{0,16}\))?$")


def _numberish(cell: str) -> bool:
    """A cell that reads as a number (``1,234``, ``±10%``, ``0.15×``): it must never be wrapped."""
    c = cell.strip()
    return c in ("", "—", "-") or (len(c) <= TEXT_WIDTH and bool(_NUMBER.match(c)))


#: Width a text column is allowed before it wraps (numbers never wrap).
TEXT_WIDTH = 24


def _col_width(i: int, column: str, rows: list[list[str]], numeric: bool) -> int:
    head = max((len(p) for p in str(column).split()), default=1)
    longest = max([len(r[i]) for r in rows if i < len(r)] + [1])
    return max(head, longest if numeric else min(longest, TEXT_WIDTH)) + 3


def _width(columns: Sequence[str], rows: list[list[str]]) -> int:
    """The width the table needs with text columns wrapped at TEXT_WIDTH and numbers whole."""
    return 1 + sum(_col_width(i, c, rows, i > 0 and _numeric(i, rows)) for i, c in enumerate(columns))


def _numeric(i: int, rows: list[list[str]]) -> bool:
    return all(_numberish(r[i]) for r in rows if i < len(r))


def _plain(title: str | None, columns: Sequence[str], cells: list[list[str]], **kw: Any) -> Table:
    t = Table(title=title, **kw)
    for i, c in enumerate(columns):
        numeric = i > 0 and _numeric(i, cells)
        longest = max([len(r[i]) for r in cells if i < len(r)] + [1])
        t.add_column(c, justify="right" if numeric else "left", overflow="fold", no_wrap=numeric,
                     min_width=longest if numeric else min(longest, 12 if i else TEXT_WIDTH))
    for r in cells:
        t.add_row(*r)
    return t


_BAND_UNITS = {"output_tps_per_chip": "output tok/s per chip", "input_tps_per_chip": "input tok/s per chip"}


def band_rows(eb: Any) -> list[tuple[str, str]]:
    """Table rows of a prediction's error band: the 80% range of held-out errors and what it rests on.

    A band with only a MAPE (a chip's own calibration) is shown as one, named so.
    """
    if eb is None or (eb.mape is None and eb.p80 is None):
        return []
    if eb.p80 is None:
        return [("error band (validation MAPE)", f"{eb.label} ({eb.group}, n={eb.n})")]
    unit = _BAND_UNITS.get(eb.metric or "", "")
    rng = f"{fmt(eb.low)} – {fmt(eb.high)} {unit} ({eb.label})" if eb.low is not None else eb.label
    basis = (f"{eb.group}, n={eb.n}" + (f"; MAPE {100 * eb.mape:.0f}%" if eb.mape is not None else "")
             + (f"; {100 * eb.coverage:.0f}% of its held-out rows inside" if eb.coverage is not None else ""))
    return [("error band (80%, held out)", rng), ("band from", basis)]


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]], **kw: Any) -> Any:
    """A rich table fit to the terminal (80 columns, or a pipe): names wrap, numbers never do.

    Too wide, a table with few rows is transposed (one row per column); otherwise its columns are split
    into blocks that fit, each repeating the first column.
    """
    cells = [[fmt(x) if not isinstance(x, str) else x for x in r] for r in rows]
    width = console.width or 80
    if not cells or _width(columns, cells) <= width:
        return _plain(title, columns, cells, **kw)
    if len(cells) < len(columns) and len(cells) <= 8:
        tcols = [str(columns[0])] + [r[0] for r in cells]
        tcells = [[str(c)] + [r[i] if i < len(r) else "" for r in cells] for i, c in enumerate(columns)][1:]
        if _width(tcols, tcells) <= width:
            return _plain(title, tcols, tcells, **kw)
    from rich.console import Group

    widths = [_col_width(i, c, cells, i > 0 and _numeric(i, cells)) for i, c in enumerate(columns)]
    blocks: list[list[int]] = []
    used = 1 + widths[0]
    for i in range(1, len(columns)):
        if not blocks or used + widths[i] > width:
            blocks.append([])
            used = 1 + widths[0]
        blocks[-1].append(i)
        used += widths[i]
    if len(blocks) <= 1:
        return _plain(title, columns, cells, **kw)
    parts = []
    for n, b in enumerate(blocks):
        idx = [0, *b]
        head = title if n == 0 else (f"{title} (continued)" if title else None)
        parts.append(_plain(head, [columns[i] for i in idx], [[r[i] if i < len(r) else "" for i in idx]
                                                              for r in cells], **kw))
    return Group(*parts)


FORMAT_OPTION = typer.Option("table", "--format", help="table (default), csv (for spreadsheets and pipes) or "
                                                       "json (the same as --json).")


def check_format(value: str) -> str:
    check_choice("--format", value.lower(), ("table", "csv", "json"))
    return value.lower()


def print_csv(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Rows as CSV on stdout: plain values (no thousands separators), empty for unknown."""
    import csv

    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        w.writerow(["" if v is None else _clean(v) for v in r])


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
