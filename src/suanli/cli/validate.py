"""`suanli compare` (the headline comparison across chips) and `suanli validate` (accuracy report).

``register(app)`` adds both as top-level commands of the main Typer app.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from suanli.cli.common import CATALOG_OPTION, JSON_OPTION, console, err_console, fmt, guarded, print_json, table


def _catalog(paths: Optional[list[Path]]) -> Any:
    from suanli.catalog import get_catalog

    return get_catalog(tuple(paths or ()))


@guarded
def compare(
    hardware: str = typer.Option(..., "--hardware", "-H", help="Comma-separated accelerator ids."),
    model: str = typer.Option(..., "--model", "-m"),
    chips: Optional[int] = typer.Option(None, "--chips", "-n", help="Chips per deployment (default: 16 for models over 400 GB of weights, else 8)."),
    isl: float = typer.Option(1024.0, "--isl"),
    osl: float = typer.Option(1024.0, "--osl"),
    weight_dtype: str = typer.Option("fp8", "--weight-dtype", help="Falls back per chip where unsupported."),
    ttft_slo_ms: Optional[float] = typer.Option(None, "--ttft-slo-ms"),
    tpot_slo_ms: Optional[float] = typer.Option(None, "--tpot-slo-ms"),
    disagg: bool = typer.Option(False, "--disagg"),
    catalog: Optional[list[Path]] = CATALOG_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Headline comparison: best tokens/s per chip of a model on each chip, under the same SLOs."""
    from suanli.errors import SuanliError
    from suanli.perf.search import Request, predict_serve

    cat = _catalog(catalog)
    ids = [h.strip() for h in hardware.split(",") if h.strip()]
    arch = cat.model(model)
    n = chips or (16 if arch.total_params > 400e9 else 8)
    results: list[dict] = []
    for hid in ids:
        req = Request(hardware=hid, model=model, chips=n, isl=isl, osl=osl, weight_dtype=weight_dtype,
                      ttft_slo_ms=ttft_slo_ms, tpot_slo_ms=tpot_slo_ms, disagg=disagg,
                      scenario="server" if (ttft_slo_ms or tpot_slo_ms) else "offline")
        try:
            results.append(predict_serve(cat, req).to_dict())
        except SuanliError as exc:
            if len(ids) == 1:
                raise
            results.append({"hardware": hid, "model": model, "chips": n, "error": exc.message, "hint": exc.hint})
    out = {"model": model, "chips": n, "isl": isl, "osl": osl, "ttft_slo_ms": ttft_slo_ms,
           "tpot_slo_ms": tpot_slo_ms, "results": results,
           "note": "per chip; per equal-cost fleet once prices land (economics issue)"}
    if json_out:
        print_json(out)
        return
    rows = []
    for r in results:
        if "error" in r:
            rows.append([r["hardware"], "—", "—", "—", "—", "—", r["error"][:60]])
            continue
        m, c, eb = r["metrics"], r["config"], r["error_band"]
        band = f"±{100 * eb['mape']:.0f}%" if eb and eb.get("mape") is not None else "—"
        cfg = f"tp{c['tp']} pp{c['pp']} ep{c['ep']} dp{c['dp']} b{fmt(c['batch_per_chip'], 3)}/chip"
        rows.append([r["hardware"], m["output_tps_per_chip"], m["tpot_ms"], m["ttft_ms"], band, cfg,
                     r["bottleneck"].get("decode", "")])
    console.print(table(f"{model} on {n} chips (isl {isl:g}, osl {osl:g})",
                        ["hardware", "out tok/s/chip", "TPOT ms", "TTFT ms", "error band", "config", "decode bound"], rows))
    for r in results:
        for w in r.get("warnings", []):
            console.print(f"[yellow]{r['hardware']}:[/] {w}")


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
    """Predict each record's metric and report its error, per group: MAPE, median APE, share within 25%."""
    from suanli.perf.validate import validate_file

    if by not in ("hardware", "kind", "model", "vendor", "family", "engine"):
        from suanli.errors import SuanliError

        raise SuanliError(f"cannot group by {by!r}", hint="use hardware, kind, model, vendor, family or engine")
    cat = _catalog(catalog)
    rep = validate_file(file, cat, kind=kind, by=by)
    if report or bands:
        _write_artifacts(rep, file, cat, report, bands, folds)
    if json_out:
        print_json(rep.to_dict())
        return
    rows = [[r.id, r.kind, r.hardware, r.metric, r.measured, r.predicted,
             "—" if r.ape is None else f"{100 * r.ape:.1f}%", r.reason or ""] for r in rep.rows]
    console.print(table(f"Validation: {file}", ["id", "kind", "hardware", "metric", "measured", "predicted", "APE",
                                                "skipped because"], rows))
    grows = [[k, s["n"], _pct(s["mape"]), _pct(s["median_ape"]), _pct(s["within_25"]), s["skipped"]]
             for k, s in rep.groups().items()]
    s = rep.summary()
    grows.append(["all", s["n"], _pct(s["mape"]), _pct(s["median_ape"]), _pct(s["within_25"]), s["skipped"]])
    console.print(table(f"By {by}", [by, "rows", "MAPE", "median APE", "within 25%", "skipped"], grows))


def _pct(x: Optional[float]) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"


def _write_artifacts(rep: Any, file: Path, cat: Any, report: Optional[Path], bands: Optional[Path], folds: int) -> None:
    import yaml

    from suanli.perf.calibrate import cross_validate
    from suanli.perf.hardware import _packaged_optional
    from suanli.perf.validate import error_bands, read_records, render_markdown, with_out_of_fold

    oof = cross_validate(read_records(file), cat, k=folds) if folds > 1 else {}
    oof_ape = with_out_of_fold(rep, oof)
    if report:
        fitted = _packaged_optional("calibration.yaml").get("fitted")
        cmd = f"suanli validate {file} --report {report}" + (f" --bands {bands}" if bands else "")
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(render_markdown(rep, oof_ape=oof_ape, fitted=fitted, command=cmd, folds=folds) + "\n",
                          encoding="utf-8")
        err_console.print(f"wrote {report}")
    if bands:
        doc = error_bands(rep, oof_ape)
        doc = {"generated_by": f"suanli validate {file} --bands {bands}", **doc}
        bands.write_text("# Error bands per hardware family / vendor and kind. Regenerate; do not edit.\n"
                         + yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        err_console.print(f"wrote {bands}")


def register(app: typer.Typer) -> None:
    """Add the top-level ``compare`` and ``validate`` commands to ``app``."""
    app.command("compare")(compare)
    app.command("validate")(validate)
