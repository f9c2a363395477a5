"""`suanli catalog` and `suanli models`: browse sourced figures and architectures."""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import typer

from suanli.cli.common import (
    CATALOG_OPTION, FORMAT_OPTION, JSON_OPTION, check_choice, check_format, console, fmt, guarded, print_csv,
    print_json, table,
)
from suanli.errors import SuanliError

if TYPE_CHECKING:  # the catalog (pydantic records) loads when a command runs, not when the CLI starts
    from suanli.catalog.schema import Accelerator


def get_catalog(overlays=()):  # noqa: ANN001, ANN201 - a thin lazy wrapper
    from suanli.catalog import get_catalog as _get

    return _get(overlays)


def derived_metrics(acc):  # noqa: ANN001, ANN201
    from suanli.catalog.derived import derived_metrics as _dm

    return _dm(acc)


def tpp(acc):  # noqa: ANN001, ANN201
    from suanli.catalog.derived import tpp as _tpp

    return _tpp(acc)


def accelerator_summary(acc):  # noqa: ANN001, ANN201
    from suanli.catalog.derived import accelerator_summary as _s

    return _s(acc)


def model_summary(m):  # noqa: ANN001, ANN201
    from suanli.catalog.derived import model_summary as _s

    return _s(m)


app = typer.Typer(
    help="Accelerators and systems, every figure with its source and confidence.",
    no_args_is_help=True,
)
models_app = typer.Typer(help="LLM architectures (Hugging Face config.json) and what they cost per token.",
                         no_args_is_help=True)

@app.command("list")
@guarded
def list_cmd(
    vendor: Optional[str] = typer.Option(None, "--vendor", help="Filter by vendor (substring, any case)."),
    category: Optional[str] = typer.Option(None, "--category", help="chip, card, system or roadmap."),
    catalog: Optional[list[str]] = CATALOG_OPTION,
    output_format: str = FORMAT_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """List accelerators with their headline figures.

    Examples:
      suanli catalog list
      suanli catalog list --vendor huawei --json
      suanli catalog list --format csv > accelerators.csv
    """
    json_out = json_out or check_format(output_format) == "json"
    check_choice("--category", category.lower() if category else None, ("chip", "card", "system", "roadmap"))
    cat = get_catalog(catalog or ())
    accs = cat.list_accelerators(vendor, category)
    rows = [accelerator_summary(a) for a in accs]
    if not rows and vendor:
        vendors = sorted({a.vendor for a in cat.accelerators.values()})
        raise SuanliError(f"no accelerator of vendor {vendor!r}" + (f" in category {category!r}" if category else ""),
                          hint=f"vendors (any case, part of the name): {', '.join(vendors)}")
    if json_out:
        print_json({"accelerators": rows, "n": len(rows)})
        return
    if output_format.lower() == "csv":
        print_csv(list(rows[0]) if rows else ["id"], [list(r.values()) for r in rows])
        return
    cols = ["id", "vendor", "category", "BF16 TF", "FP8 TF", "INT8 TOPS", "HBM GB", "TB/s", "TDP W", "TPP", "conf."]
    console.print(table(f"{len(rows)} accelerators (dense peaks; — = unknown)", cols, [
        [r["id"], r["vendor"], r["category"], r["bf16_tflops"], r["fp8_tflops"], r["int8_tops"],
         r["mem_capacity_gb"], r["mem_bw_tbps"], r["tdp_w"], r["tpp"], r["confidence"]] for r in rows]))


@app.command("show")
@guarded
def show_cmd(
    hardware: str = typer.Argument(..., help="Accelerator id, e.g. h200-sxm."),
    catalog: Optional[list[str]] = CATALOG_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Every figure of one accelerator with its source and confidence, and derived metrics.

    Examples:
      suanli catalog show h200-sxm
      suanli catalog show ascend-910c --json
    """
    cat = get_catalog(catalog or ())
    acc = cat.accelerator(hardware)
    derived = derived_metrics(acc)
    if json_out:
        print_json({"accelerator": acc.to_dict(), "derived": derived,
                    "systems": [s.id for s in cat.systems.values() if s.hardware == acc.id]})
        return
    console.print(f"[bold]{acc.name}[/] ({acc.id}) — {acc.vendor}, {acc.category}; status: {acc.status or '—'}")
    console.print(f"stack: {acc.software_stack or '—'} [{acc.stack}]; devices per package: {acc.devices_per_package}")
    rows = []
    for name, fig in acc.figures().items():
        if fig.value is None and not fig.text:
            continue
        shown = fmt(fig.value) + (" (≈)" if fig.approx else "")
        if fig.low is not None and fig.high is not None:
            shown += f" [{fmt(fig.low)}–{fmt(fig.high)}]"
        alts = "; ".join(f"{fmt(a.value)} ({a.source})" for a in fig.alternatives)
        src = ("(inherits the record's sources) " if fig.source_inherited else "") + (fig.source or "—")
        rows.append([name, shown, fig.confidence or "—", src[:70], alts or (fig.text or "")])
    console.print(table("figures", ["field", "value", "confidence", "source", "alternatives / wording"], rows))
    console.print(table("derived (computed, not stored)", ["metric", "value", "unit", "basis", "estimate"], [
        [k, v["value"], v["unit"], v["basis"], v["estimate"]] for k, v in derived.items()]))
    unknown = [n for n, f in acc.figures().items() if f.value is None]
    if unknown:
        console.print(f"[dim]unknown: {', '.join(unknown)}[/]")


@app.command("compare")
@guarded
def compare_cmd(
    hardware: list[str] = typer.Argument(..., help="Two or more accelerator ids; ratios are to the first."),
    catalog: Optional[list[str]] = CATALOG_OPTION,
    output_format: str = FORMAT_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Side by side, with each figure's ratio to the first accelerator.

    Examples:
      suanli catalog compare h200-sxm h20 h100-sxm ascend-910c
      suanli catalog compare h200-sxm h20 ascend-910c --json
      suanli catalog compare h200-sxm h20 ascend-910c --format csv
    """
    json_out = json_out or check_format(output_format) == "json"
    from suanli.catalog.schema import DTYPE_BITS, PEAK_FIELD

    cat = get_catalog(catalog or ())
    accs = [cat.accelerator(h) for h in hardware]
    fields = [PEAK_FIELD[d] for d in DTYPE_BITS] + ["mem_capacity_gb", "mem_bw_tbps", "scaleup_bw_gbps", "tdp_w",
                                                    "price_usd"]
    base = accs[0]
    metrics: dict[str, dict] = {}
    for f in fields:
        metrics[f] = _row(base, accs, lambda a, f=f: getattr(a, f).value, lambda a, f=f: getattr(a, f).confidence)
    derived = [derived_metrics(a) for a in accs]
    for key in ("tpp", "perf_density", "ridge_point_bf16_flop_per_byte", "bf16_gflops_per_w",
                "mem_bw_gbps_per_bf16_tflop"):
        metrics[key] = _row(base, accs, lambda a, i=None, key=key: derived[accs.index(a)].get(key, {}).get("value"),
                            lambda a, key=key: "estimate" if derived[accs.index(a)].get(key, {}).get("estimate") else None)
    if json_out:
        print_json({"hardware": [a.id for a in accs], "base": base.id, "metrics": metrics})
        return
    if output_format.lower() == "csv":
        print_csv(["metric"] + [a.id for a in accs] + [f"{a.id}/{base.id}" for a in accs[1:]],
                  [[k] + [m["values"][a.id] for a in accs] + [m["ratio"][a.id] for a in accs[1:]]
                   for k, m in metrics.items()])
        return
    cols = ["metric"] + [a.id for a in accs] + [f"{a.id}/{base.id}" for a in accs[1:]]
    rows = []
    for k, m in metrics.items():
        if all(v is None for v in m["values"].values()):
            continue
        rows.append([k] + [m["values"][a.id] for a in accs] + [
            (f"{m['ratio'][a.id]:.2f}×" if m["ratio"][a.id] is not None else "—") for a in accs[1:]])
    console.print(table(f"{' vs '.join(a.id for a in accs)} (dense peaks; — = unknown)", cols, rows))


def _row(base: Accelerator, accs: list[Accelerator], get, conf) -> dict:
    values = {a.id: get(a) for a in accs}
    b = values[base.id]
    ratio = {a.id: (values[a.id] / b if values[a.id] is not None and b not in (None, 0) else None) for a in accs}
    return {"values": values, "ratio": ratio, "confidence": {a.id: conf(a) for a in accs}}


@app.command("systems")
@guarded
def systems_cmd(
    system: Optional[str] = typer.Argument(None, help="A system id to show in full."),
    catalog: Optional[list[str]] = CATALOG_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Nodes, racks and supernodes (per-chip bandwidths, power, price).

    Examples:
      suanli catalog systems
      suanli catalog systems cloudmatrix-384 --json
    """
    cat = get_catalog(catalog or ())
    if system:
        s = cat.system(system)
        if json_out:
            print_json({"system": s.to_dict()})
            return
        console.print(f"[bold]{s.name}[/] ({s.id}): {s.chips} x {s.hardware or 'any card'}, "
                      f"scale-up domain {s.scaleup_domain_chips} over {s.scaleup_fabric} ({s.scaleup_topology})")
        console.print(table("figures", ["field", "value", "confidence", "source / note"], [
            [n, f.value, f.confidence or "—", (f.note or f.source or "—")[:90]] for n, f in s.figures().items()]))
        return
    rows = [s.to_dict() for s in cat.systems.values()]
    if json_out:
        print_json({"systems": rows, "n": len(rows)})
        return
    console.print(table(f"{len(rows)} systems", ["id", "hardware", "chips", "domain", "up GB/s/dir", "out GB/s/dir",
                                                  "kW", "USD"], [
        [s.id, s.hardware or "any", s.chips, s.scaleup_domain_chips, s.scaleup_bw_unidir_gbps.value,
         s.scaleout_bw_unidir_gbps.value, s.power_kw.value, s.price_usd.value] for s in cat.systems.values()]))


@models_app.command("list")
@guarded
def models_list_cmd(catalog: Optional[list[str]] = CATALOG_OPTION, json_out: bool = JSON_OPTION) -> None:
    """List packaged model architectures.

    Examples:
      suanli models list --json
    """
    cat = get_catalog(catalog or ())
    rows = [model_summary(m) for m in cat.models.values()]
    if json_out:
        print_json({"models": rows, "n": len(rows)})
        return
    console.print(table(f"{len(rows)} models", ["id", "attention", "layers", "hidden", "experts", "total B",
                                                "active B", "KV B/token (bf16)"], [
        [r["id"], r["attention"], r["layers"], r["hidden"], r["experts"], r["total_params_b"],
         r["active_params_b"], r["kv_bytes_per_token_bf16"]] for r in rows]))


@models_app.command("show")
@guarded
def models_show_cmd(
    model: Optional[str] = typer.Argument(None, help="Model id, or a path to a Hugging Face config.json."),
    model_config: Optional[str] = typer.Option(None, "--model-config", help="Path to a Hugging Face config.json."),
    catalog: Optional[list[str]] = CATALOG_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Architecture, parameters, KV-cache bytes and FLOPs per token of one model.

    Examples:
      suanli models show deepseek-v3
      suanli models show --model-config ./config.json --json
    """
    from suanli.catalog.models import load_model_config

    cat = get_catalog(catalog or ())
    if (model is None) == (model_config is None):
        raise SuanliError("give a model id or --model-config FILE (one of the two)",
                          hint="suanli models list shows the packaged ids")
    m = load_model_config(model_config) if model_config else cat.model(model)
    d = model_summary(m)
    d["kv_bytes_per_token"] = {k: m.kv_bytes_per_token(k) for k in ("bf16", "fp8")}
    d["flops_per_token"] = {
        "prefill_isl_1024": float(m.flops_per_token(1024, phase="prefill")),
        "decode_ctx_1024": float(m.flops_per_token(1024, phase="decode")),
    }
    d["architecture"] = m.to_dict()
    if json_out:
        print_json(d)
        return
    console.print(f"[bold]{m.id}[/] — {d['attention']}, {d['layers']} layers, hidden {d['hidden']}")
    console.print(table(None, ["quantity", "value"], [
        ["total parameters (B)", d["total_params_b"]], ["active parameters (B)", d["active_params_b"]],
        ["KV cache bytes/token bf16", d["kv_bytes_per_token"]["bf16"]],
        ["KV cache bytes/token fp8", d["kv_bytes_per_token"]["fp8"]],
        ["forward GFLOP/token, prefill isl 1024", d["flops_per_token"]["prefill_isl_1024"] / 1e9],
        ["forward GFLOP/token, decode at ctx 1024", d["flops_per_token"]["decode_ctx_1024"] / 1e9],
    ]))
