"""`suanli compare` (the headline comparison across chips) and `suanli validate` (accuracy report).

``register(app)`` adds both as top-level commands of the main Typer app.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from suanli.cli.common import (
    CATALOG_OPTION, FORMAT_OPTION, JSON_OPTION, check_format, print_csv, check_choice, check_positive, console, err_console, fmt, guarded,
    print_json, table,
)
from suanli.errors import SuanliError


def _catalog(paths: Optional[list[Path]]) -> Any:
    from suanli.catalog import get_catalog

    return get_catalog(tuple(paths or ()))


@guarded
def compare(
    hardware: str = typer.Option(..., "--hardware", "-H", help="Comma-separated accelerator ids."),
    model: str = typer.Option(..., "--model", "-m", help="Model id (e.g. deepseek-v3) or path to a config.json."),
    chips: Optional[int] = typer.Option(None, "--chips", "-n", help="Chips per deployment (default: 16 for models over 400 GB of weights, else 8)."),
    isl: float = typer.Option(1024.0, "--isl", help="Mean input tokens per request."),
    osl: float = typer.Option(1024.0, "--osl", help="Mean output tokens per request."),
    weight_dtype: str = typer.Option("fp8", "--weight-dtype", help="Falls back per chip where unsupported."),
    ttft_slo_ms: Optional[float] = typer.Option(None, "--ttft-slo-ms", help="Time-to-first-token limit (p99)."),
    tpot_slo_ms: Optional[float] = typer.Option(None, "--tpot-slo-ms", help="Time-per-output-token limit (p99)."),
    disagg: bool = typer.Option(False, "--disagg", help="Prefill/decode disaggregation at the best P:D ratio."),
    scenario: Optional[str] = typer.Option(
        None, "--scenario", help="offline or server (default: server when an SLO is given, else offline)."),
    catalog: Optional[list[Path]] = CATALOG_OPTION,
    output_format: str = FORMAT_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Headline comparison: best tokens/s per chip of a model on each chip, under the same SLOs.

    A chip that cannot serve the model (no known peaks, does not fit, misses
    the SLOs) gets a row with the reason; the command fails (status 2) only
    when no chip can, or when an id is unknown.

    Examples:
      suanli compare --hardware h200-sxm,h20,ascend-910c --model deepseek-v3 --tpot-slo-ms 50
      suanli compare -H h100-sxm,h800-sxm,h20 -m llama-3.1-70b --chips 8 --isl 4096 --osl 512 --json
      suanli compare -H h200-sxm,h20,ascend-910c -m deepseek-v3 --format csv > compare.csv
    """
    json_out = json_out or check_format(output_format) == "json"
    from suanli.perf.compare import compare_serving
    from suanli.perf.search import Request

    check_positive(chips=chips, isl=isl, osl=osl, ttft_slo_ms=ttft_slo_ms, tpot_slo_ms=tpot_slo_ms)
    check_choice("--scenario", scenario.lower() if scenario else None, ("offline", "server"))
    cat = _catalog(catalog)
    out = compare_serving(cat, hardware.split(","), model, chips=chips, isl=isl, osl=osl, weight_dtype=weight_dtype,
                          ttft_slo_ms=ttft_slo_ms, tpot_slo_ms=tpot_slo_ms, disagg=disagg, scenario=scenario)
    model, n, results, notes = out["model"], out["chips"], out["results"], out["notes"]
    first = Request(hardware=results[0]["hardware"], model=model, chips=n, isl=isl, osl=osl,
                    weight_dtype=weight_dtype, ttft_slo_ms=ttft_slo_ms, tpot_slo_ms=tpot_slo_ms, disagg=disagg,
                    scenario=scenario)
    failed = all("error" in r for r in results)
    if json_out:
        print_json(out)
        if failed:
            raise typer.Exit(2)
        return
    if output_format.lower() == "csv":
        keys = ("output_tps_per_chip", "tps_per_user", "ttft_ms", "tpot_ms", "ttft_p99_ms", "tpot_p99_ms")
        print_csv(["hardware", *keys, "error_band_mape", "tp", "pp", "ep", "dp", "batch_per_chip", "decode_bound",
                   "error"],
                  [[r["hardware"], *[r.get("metrics", {}).get(k) for k in keys],
                    (r.get("error_band") or {}).get("mape"), *[r.get("config", {}).get(k) for k in
                                                               ("tp", "pp", "ep", "dp", "batch_per_chip")],
                    r.get("bottleneck", {}).get("decode"), r.get("error")] for r in results])
        if failed:
            raise typer.Exit(2)
        return
    server = first.scenario == "server"
    rows = []
    for r in results:
        if "error" in r:
            rows.append([r["hardware"], "—", "—", "—"] + (["—", "—"] if server else []) + ["—", "—", r["error"][:60]])
            continue
        m, c, eb = r["metrics"], r["config"], r["error_band"]
        band = eb.get("label", "—") if eb else "—"
        cfg = f"tp{c['tp']} pp{c['pp']} ep{c['ep']} dp{c['dp']} b{fmt(c['batch_per_chip'], 3)}/chip"
        p99 = [m.get("tpot_p99_ms"), m.get("ttft_p99_ms")] if server else []
        rows.append([r["hardware"], m["output_tps_per_chip"], m["tpot_ms"], m["ttft_ms"], *p99, band, cfg,
                     r["bottleneck"].get("decode", "")])
    cols = ["hardware", "out tok/s/chip", "TPOT ms", "TTFT ms"] + (["TPOT p99 ms", "TTFT p99 ms"] if server else [])
    console.print(table(f"{model} on {n} chips (isl {isl:g}, osl {osl:g}; {first.scenario}"
                        + (f", {_slos(first)}" if _slos(first) else "") + ")",
                        cols + ["error band", "config", "decode bound"], rows))
    for d in [*first.defaults, *notes]:
        console.print(f"[dim]note:[/] {d}", highlight=False)
    for r in results:
        for w in r.get("warnings", []):
            console.print(f"[yellow]{r['hardware']}:[/] {w}")
    for r in results:
        if "error" in r:
            err_console.print(f"[bold red]{r['hardware']}:[/] {r['error']}", highlight=False)
            if r.get("hint"):
                err_console.print(f"  [yellow]hint:[/] {r['hint']}", highlight=False)
    if failed:
        raise typer.Exit(2)


def _slos(req: Any) -> str:
    basis = "p99" if req.scenario == "server" else "mean"
    return ", ".join(f"{k} {basis} <= {getattr(req, f'{k.lower()}_slo_ms'):g} ms" for k in ("TTFT", "TPOT")
                     if getattr(req, f"{k.lower()}_slo_ms") is not None)


@guarded
def validate(
    file: Path = typer.Argument(..., help="CSV of measurement records (validation/SCHEMA.md)."),
    kind: Optional[str] = typer.Option(None, "--kind", help="Only rows of this kind."),
    by: str = typer.Option("kind", "--by", help="Group by hardware, kind, model, vendor, family or engine."),
    report: Optional[Path] = typer.Option(None, "--report", help="Write the Markdown accuracy report here."),
    bands: Optional[Path] = typer.Option(None, "--bands", help="Write the error-band table (YAML) the predictions carry."),
    folds: int = typer.Option(5, "--folds", help="Cross-validation folds for the report's out-of-fold errors."),
    catalog: Optional[list[Path]] = CATALOG_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Predict each record's metric and report its error, per group: MAPE, median APE, share within 25%.

    Rows the model cannot predict (unknown id, a chip without known peaks, a
    cell that is not a number) are listed as skipped, with the reason.

    Examples:
      suanli validate data/validation/dev.csv --by vendor
      suanli validate data/validation/dev.csv --kind serve --json
      suanli validate data/validation/dev.csv --report docs/accuracy.md --bands error_bands.yaml
    """
    from suanli.perf.validate import MICRO_KINDS, SERVING_KINDS, validate_file

    if by not in ("hardware", "kind", "model", "vendor", "family", "engine"):
        raise SuanliError(f"cannot group by {by!r}", hint="use hardware, kind, model, vendor, family or engine")
    check_choice("--kind", kind, (*SERVING_KINDS, *MICRO_KINDS, "train"))
    if folds < 0:
        raise SuanliError(f"--folds must be >= 0 (got {folds})", hint="e.g. --folds 5; 0 or 1 skips cross-validation")
    for opt, out_path in (("--report", report), ("--bands", bands)):
        _check_output(opt, out_path)  # before any work: a bad path fails in a second, not after the predictions
    if report or bands:
        # the accuracy report judges the family model: a packaged chip calibration was fitted on these
        # very records, so it would leak into the grouped cross-validation (docs/calibration.md judges
        # the chip calibrations held out)
        from suanli.catalog.registry import load_catalog

        cat = load_catalog(tuple(catalog or ()), calibrated=False)
        err_console.print("note: the report and bands use the catalog without the packaged chip calibrations "
                          "(their held-out errors: benchmarks/calibration_oof.py)", highlight=False)
    else:
        cat = _catalog(catalog)
    if not json_out and console.is_terminal:
        rep = _validate_with_progress(file, cat, kind, by)
    else:
        rep = validate_file(file, cat, kind=kind, by=by)
    predicted = rep.summary()["n"]
    if predicted and folds > predicted:
        err_console.print(f"note: --folds {folds} capped at the {predicted} predicted rows", highlight=False)
        folds = predicted
    if (report or bands) and predicted:
        _write_artifacts(rep, file, cat, report, bands, folds)
    if json_out:
        doc = rep.to_dict()
        if not predicted:  # the report, plus the error a script checks for
            doc = {"error": "NothingPredicted", "message": f"no row of {file} could be predicted "
                   f"({len(rep.rows)} skipped)", "hint": "see each row's reason", **doc}
        print_json(doc)
        if not predicted:
            raise typer.Exit(2)
        return
    shown, title = rep.rows, f"Validation: {file}"
    if len(shown) > TABLE_MAX_ROWS:  # a long file: the worst rows and the skipped ones; --json has every row
        worst = sorted((r for r in shown if r.ape is not None), key=lambda r: -r.ape)[:TABLE_MAX_ROWS // 2]
        skipped = [r for r in shown if r.ape is None][:TABLE_MAX_ROWS // 2]
        shown = worst + skipped
        title += (f" ({len(worst)} largest errors and {len(skipped)} skipped rows of {len(rep.rows)}; "
                  "--json lists every row)")
    rows = [[r.id, r.kind, r.hardware, r.metric, r.measured, r.predicted,
             "—" if r.ape is None else f"{100 * r.ape:.1f}%", r.reason or ""] for r in shown]
    console.print(table(title, ["id", "kind", "hardware", "metric", "measured", "predicted", "APE",
                                "skipped because"], rows))
    grows = [[k, s["n"], _pct(s["mape"]), _pct(s["median_ape"]), _pct(s["within_25"]), s["skipped"]]
             for k, s in rep.groups().items()]
    s = rep.summary()
    grows.append(["all", s["n"], _pct(s["mape"]), _pct(s["median_ape"]), _pct(s["within_25"]), s["skipped"]])
    console.print(table(f"By {by}", [by, "rows", "MAPE", "median APE", "within 25%", "skipped"], grows))
    for n in rep.notes:
        console.print(f"[dim]note: {n}[/]", highlight=False)
    if not predicted:
        err_console.print(f"[bold red]error:[/] no row of {file} could be predicted "
                          f"({len(rep.rows)} skipped; reasons above)", highlight=False)
        raise typer.Exit(2)


def _check_output(option: str, path: Optional[Path]) -> None:
    """An output file path must name a file in a folder that exists and can be written."""
    import os

    if path is None:
        return
    if path.is_dir():
        raise SuanliError(f"{option} {path} is a folder", hint=f"give a file path, e.g. {option} {path / 'out.md'}")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise SuanliError(f"{option} {path}: folder {parent} does not exist",
                          hint="create the folder first, or give a path in an existing folder")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise SuanliError(f"{option} {path}: cannot write there", hint="give a path you can write to")


#: Rows the per-row table shows at most (a 100,000-row file renders its summary, not 100,000 lines).
TABLE_MAX_ROWS = 200

#: Rows from which an interactive `suanli validate` shows a progress bar.
PROGRESS_MIN_ROWS = 20


def _validate_with_progress(file: Path, cat: Any, kind: Optional[str], by: str) -> Any:
    """As ``validate_file``, one record at a time, with a progress bar (for a terminal; same result)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from suanli.perf.hardware import load_params
    from suanli.perf.validate import ValidationReport, correction_notes, read_records, validate_records

    records = read_records(file)
    params = load_params()
    if len(records) < PROGRESS_MIN_ROWS:
        return validate_records(records, cat, kind=kind, by=by, params=params, source=str(file))
    rows: list[Any] = []
    cache: dict = {}  # rows that differ only in id and measured value share one prediction
    with Progress(TextColumn("predicting"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
                  TimeElapsedColumn(), console=console, transient=True) as bar:
        task = bar.add_task("", total=len(records))
        for rec in records:
            bar.update(task, description=str(rec.get("id", "")))
            rows += validate_records([rec], cat, kind=kind, by=by, params=params, source=str(file), cache=cache).rows
            bar.advance(task)
    return ValidationReport(rows, by=by, source=str(file), notes=correction_notes(records, kind))


def _pct(x: Optional[float]) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"


def _write_artifacts(rep: Any, file: Path, cat: Any, report: Optional[Path], bands: Optional[Path], folds: int) -> None:
    from suanli.perf.accuracy import write_artifacts
    from suanli.perf.validate import read_records

    cmd = f"suanli validate {file}" + (f" --report {report}" if report else "") + (f" --bands {bands}" if bands else "")
    # grouped cross-validation refits the model once per publication and per engine: minutes, so say where it is
    with err_console.status("cross-validating") as status:
        write_artifacts(rep, read_records(file), cat, report_path=report, bands_path=bands, folds=folds,
                        command=cmd, progress=lambda what: status.update(f"cross-validating: {what[:70]}"))
    for p in (report, bands):
        if p:
            err_console.print(f"wrote {p}")


def register(app: typer.Typer) -> None:
    """Add the top-level ``compare`` and ``validate`` commands to ``app``."""
    app.command("compare")(compare)
    app.command("validate")(validate)
