"""Metrics computed from catalog figures, never stored: TPP, density, ridge points.

Formulas follow the ECCN 3A090 definitions (TPP = 2 x MacTOPS x bit length,
i.e. dense TOPS x bit length, maximised over the formats the part supports;
performance density = TPP / applicable die area) and the roofline model.
Each result says whether it rests on an estimate.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from suanli.catalog.schema import DTYPE_BITS, Accelerator


@dataclass(frozen=True)
class Derived:
    """A computed figure, what it was computed from, and whether that was an estimate."""

    value: float | None
    unit: str
    basis: str
    estimate: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


def tpp(acc: Accelerator) -> Derived:
    """Total processing performance: max over dtypes of dense TOPS x bit length.

    Ties go to the lowest bit width, as the reference table does.

    >>> from suanli.catalog import get_catalog
    >>> round(tpp(get_catalog().accelerator("h20")).value)
    2368
    """
    if acc.category == "system":
        return Derived(None, "TOPS x bit", "systems are classified per IC: see the chip's own record")
    best: tuple[float, int, str] | None = None
    for dtype, bits in DTYPE_BITS.items():
        fig = acc.peak(dtype)
        if fig.value is None:
            continue
        v = fig.value * bits
        if best is None or v > best[0] + 1e-9 or (abs(v - best[0]) <= 1e-9 and bits < best[1]):
            best = (v, bits, dtype)
    if best is None:
        return Derived(None, "TOPS x bit", "no dense peak known")
    fig = acc.peak(best[2])
    return Derived(best[0], "TOPS x bit", f"{best[2]} {fig.value:g} x {best[1]} bits", fig.is_estimate)


def perf_density(acc: Accelerator) -> Derived:
    """Performance density: TPP / applicable (logic) die area in mm^2."""
    t = tpp(acc)
    area = acc.logic_die_area_mm2
    if t.value is None or area.value is None or area.value <= 0:
        return Derived(None, "TPP/mm2", "needs TPP and logic die area")
    return Derived(t.value / area.value, "TPP/mm2", f"TPP {t.value:.0f} / {area.value:g} mm2",
                   t.estimate or area.is_estimate)


def ridge_point(acc: Accelerator, dtype: str) -> Derived:
    """Roofline ridge: dense FLOP per byte of HBM traffic at which compute and memory balance."""
    peak, bw = acc.peak(dtype), acc.mem_bw_tbps
    if peak.value is None or bw.value is None or bw.value <= 0:
        return Derived(None, "FLOP/byte", f"needs {dtype} peak and memory bandwidth")
    return Derived(peak.value / bw.value, "FLOP/byte", f"{peak.value:g} TFLOPS / {bw.value:g} TB/s",
                   peak.is_estimate or bw.is_estimate)


def flops_per_watt(acc: Accelerator, dtype: str = "bf16") -> Derived:
    """Dense peak per watt of TDP, in TFLOPS per kW (= GFLOPS/W)."""
    peak, tdp = acc.peak(dtype), acc.tdp_w
    if peak.value is None or tdp.value is None or tdp.value <= 0:
        return Derived(None, "GFLOPS/W", f"needs {dtype} peak and TDP")
    return Derived(peak.value * 1e3 / tdp.value, "GFLOPS/W", f"{peak.value:g} TFLOPS / {tdp.value:g} W",
                   peak.is_estimate or tdp.is_estimate)


def bw_per_tflop(acc: Accelerator, dtype: str = "bf16") -> Derived:
    """Memory bandwidth per dense TFLOPS, in GB/s per TFLOPS."""
    peak, bw = acc.peak(dtype), acc.mem_bw_tbps
    if peak.value is None or bw.value is None or peak.value <= 0:
        return Derived(None, "GB/s per TFLOPS", f"needs {dtype} peak and memory bandwidth")
    return Derived(bw.value * 1e3 / peak.value, "GB/s per TFLOPS", f"{bw.value:g} TB/s / {peak.value:g} TFLOPS",
                   peak.is_estimate or bw.is_estimate)


def derived_metrics(acc: Accelerator) -> dict[str, dict]:
    """All derived metrics of one accelerator, as plain dicts (for show/--json)."""
    out: dict[str, dict] = {"tpp": tpp(acc).to_dict(), "perf_density": perf_density(acc).to_dict()}
    for dtype in DTYPE_BITS:
        r = ridge_point(acc, dtype)
        if r.value is not None:
            out[f"ridge_point_{dtype}_flop_per_byte"] = r.to_dict()
    for dtype in ("bf16", "fp8", "int8", "fp4"):
        f = flops_per_watt(acc, dtype)
        if f.value is not None:
            out[f"{dtype}_gflops_per_w"] = f.to_dict()
    b = bw_per_tflop(acc, "bf16")
    if b.value is not None:
        out["mem_bw_gbps_per_bf16_tflop"] = b.to_dict()
    return out


#: The headline figures of catalog listings and comparisons, in order.
HEADLINE = ["bf16_tflops", "fp8_tflops", "int8_tops", "fp4_tflops", "mem_capacity_gb", "mem_bw_tbps",
            "scaleup_bw_gbps", "tdp_w", "price_usd"]


def accelerator_summary(acc: Accelerator) -> dict:
    """One catalog row: ids, vendor, category, headline figures and TPP (`suanli catalog list --json`, the API)."""
    d = {"id": acc.id, "vendor": acc.vendor, "name": acc.name, "category": acc.category, "stack": acc.stack,
         "confidence": acc.confidence}
    for f in HEADLINE:
        d[f] = getattr(acc, f).value
    d["tpp"] = tpp(acc).value
    return d


def model_summary(m) -> dict:
    """One model row: shape, parameter counts (billions) and KV bytes per token in BF16."""
    return {"id": m.id, "attention": m.attention, "layers": m.layers, "hidden": m.hidden, "experts": m.experts,
            "top_k": m.top_k, "total_params_b": m.total_params / 1e9, "active_params_b": m.active_params / 1e9,
            "kv_bytes_per_token_bf16": m.kv_bytes_per_token("bf16"), "source": getattr(m, "source", None)}
