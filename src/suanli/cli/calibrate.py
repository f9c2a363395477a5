"""`suanli calibrate`: fit one chip's efficiency parameters on measured records; write a catalog overlay."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from suanli.cli.common import CATALOG_OPTION, JSON_OPTION, console, err_console, fmt, guarded, print_json, table
from suanli.errors import SuanliError


@guarded
def calibrate(
    records: Path = typer.Argument(..., help="CSV of measurement records (validation/SCHEMA.md; suanli bench writes them)."),
    hardware: Optional[str] = typer.Option(None, "--hardware", "-H", help="The chip to calibrate (default: the records' only chip)."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the overlay (YAML) here; load it with --catalog."),
    folds: int = typer.Option(0, "--folds", help="Also report out-of-fold errors with this many folds (0: in-sample only)."),
    group: Optional[str] = typer.Option(None, "--group", help="Out-of-fold by a column instead: each value held out in turn (e.g. source); 'config' holds out one model + engine + layout; 'auto': source when the records have two or more, else config."),
    catalog: Optional[list[Path]] = CATALOG_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Fit a chip's efficiency curves on its records; the overlay makes predictions for it calibrated.

    Fits only what the records can tell, each parameter with its standard error:
    matmul efficiency per dtype and its small-M fall-off, copy efficiency and
    kernel cost, attention efficiency, all-reduce efficiency and latency, and
    the serving engine's maturity on this chip. A chip with no published peak
    gets an effective peak flagged as measured.

    Examples:
      suanli bench micro --device npu --hardware ascend-910b3 -o runs.csv
      suanli calibrate runs.csv -o ascend-910b3.yaml
      suanli validate runs.csv --catalog ascend-910b3.yaml
      suanli calibrate data/validation/dev.csv --hardware dcu-bw1000 --group source --json
    """
    from suanli.catalog import get_catalog
    from suanli.perf.chipcal import calibrate as fit
    from suanli.perf.validate import read_records

    if folds < 0 or folds == 1:
        raise SuanliError(f"--folds must be 0 or >= 2 (got {folds})", hint="e.g. --folds 5")
    cat = get_catalog(tuple(catalog or ()))
    rows = read_records(records)
    if json_out or not err_console.is_terminal:
        res = fit(rows, cat, hardware=hardware, source=str(records), folds=folds, group=group)
    else:
        with err_console.status(f"calibrating on {len(rows)} records ..."):
            res = fit(rows, cat, hardware=hardware, source=str(records), folds=folds, group=group)
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(res.overlay_yaml(), encoding="utf-8")
    if json_out:
        print_json({**res.to_dict(), "overlay": str(output) if output else None})
        return
    cal = res.calibration
    prow = []
    for name, p in cal.params.items():
        sd = f"± {fmt(p.sd, 3)}" if p.sd is not None else ""
        prow.append([name, fmt(p.value, 4), sd, p.rows, p.note or ""])
    for f, fig in res.accelerator_update.items():
        prow.append([f"{f} (measured)", fmt(fig["value"], 4), "", "", fig["note"]])
    console.print(table(f"Calibration of {res.hardware} ({cal.basis}, {len(res.rows_used)} records)",
                        ["parameter", "value", "std. error", "rows", "note"], prow))
    s = res.summary()
    pct = lambda x: "—" if x is None else f"{100 * x:.1f}%"  # noqa: E731
    console.print(table("Error on these records (MAPE)", ["before", "after (in-sample)", "out-of-fold"],
                        [[pct(s["mape_before"]), pct(s["mape_after"]), pct(s["mape_out_of_fold"])]]))
    for n in res.notes:
        console.print(f"[yellow]note:[/] {n}")
    for i, why in res.skipped[:10]:
        console.print(f"[dim]skipped {i}: {why}[/]")
    if len(res.skipped) > 10:
        console.print(f"[dim]... and {len(res.skipped) - 10} more skipped[/]")
    if output:
        console.print(f"wrote {output}; check it with: suanli validate {records} --catalog {output}")


def register(app: typer.Typer) -> None:
    """Add the top-level ``calibrate`` command to ``app``."""
    app.command("calibrate")(calibrate)
