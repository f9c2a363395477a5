"""Overlays add or override records; bad files fail with file, line, record and field."""
from __future__ import annotations

from pathlib import Path

import pytest

from suanli.catalog.derived import tpp
from suanli.catalog.registry import load_catalog
from suanli.errors import DataError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "overlay-made-up-chip.yaml"


def test_example_overlay_adds_a_chip_and_overrides_a_price():
    cat = load_catalog([EXAMPLE])
    xyz = cat.accelerator("xyz-1000")
    assert xyz.bf16_tflops.value == 400
    assert xyz.bf16_tflops.confidence == "estimate"  # inherits the record's confidence
    assert tpp(xyz).value == pytest.approx(800 * 8)  # FP8 800 x 8 = 6400 (> BF16 400 x 16)
    h20 = cat.accelerator("h20")
    assert h20.price_usd.value == 11000 and "quote" in h20.price_usd.source
    assert h20.bf16_tflops.value == 148  # untouched fields stay
    assert "accelerators:h20" in cat.overridden


def test_env_var_overlay(monkeypatch):
    monkeypatch.setenv("SUANLI_CATALOG", str(EXAMPLE))
    from suanli.catalog import get_catalog

    assert "xyz-1000" in get_catalog().accelerators
    monkeypatch.delenv("SUANLI_CATALOG")
    assert "xyz-1000" not in get_catalog().accelerators


def _write(tmp_path, text):
    p = tmp_path / "overlay.yaml"
    p.write_text(text)
    return p


def test_bad_value_names_file_line_record_field(tmp_path):
    p = _write(tmp_path, """accelerators:
  - id: bad-1
    vendor: X
    name: Bad
    category: chip
    mem_bw_tbps: -4.8
    sources: [s]
    confidence: estimate
""")
    with pytest.raises(DataError) as ei:
        load_catalog([p])
    e = ei.value
    assert e.file == str(p) and e.record == "bad-1" and e.field.startswith("mem_bw_tbps")
    assert e.line == 6  # the field's own line
    assert "> 0" in str(e)


def test_unknown_field_gets_a_hint(tmp_path):
    p = _write(tmp_path, "accelerators:\n  - id: h20\n    mem_bandwidth: 4\n")
    with pytest.raises(DataError) as ei:
        load_catalog([p])
    assert ei.value.field == "mem_bandwidth" and "mem_bw_tbps" in ei.value.hint


def test_syntax_error_has_line(tmp_path):
    p = _write(tmp_path, "accelerators:\n  - id: h20\n    bf16_tflops: [1,\n")
    with pytest.raises(DataError) as ei:
        load_catalog([p])
    assert ei.value.line is not None and "YAML" in ei.value.reason


def test_duplicate_ids_in_one_file_rejected(tmp_path):
    rec = "  - {id: dup-1, vendor: X, name: A, category: chip, sources: [s], confidence: estimate}\n"
    p = _write(tmp_path, "accelerators:\n" + rec + rec)
    with pytest.raises(DataError):
        from suanli.catalog.load import read_yaml, validate_records
        from suanli.catalog.schema import Accelerator

        validate_records(Accelerator, read_yaml(p)["accelerators"], file=str(p), kind="accelerators")


def test_system_hardware_must_resolve(tmp_path):
    p = _write(tmp_path, """systems:
  - id: my-node
    name: n
    vendor: v
    kind: node
    hardware: h2000
    chips: 8
    scaleup_domain_chips: 8
    scaleup_fabric: pcie
    sources: [s]
    confidence: estimate
""")
    with pytest.raises(DataError) as ei:
        load_catalog([p])
    assert ei.value.field == "hardware" and "h200" in ei.value.hint


def test_missing_overlay_file():
    with pytest.raises(DataError) as ei:
        load_catalog(["/nonexistent/overlay.yaml"])
    assert "not found" in str(ei.value)


def test_overlay_needs_known_top_level(tmp_path):
    with pytest.raises(DataError):
        load_catalog([_write(tmp_path, "chips:\n  - id: a\n")])


def test_overlay_figure_changes_flow_into_derived_metrics(tmp_path):
    """Doubling H200's dense BF16 and its HBM bandwidth, and a 1,000 W TDP, by overlay: every derived
    metric moves by the hand arithmetic, and the performance model sees the new figures."""
    from suanli.catalog.derived import bw_per_tflop, flops_per_watt, perf_density, ridge_point
    from suanli.perf.hardware import HardwareSpec

    src = 'source: "test overlay", confidence: estimate'
    p = _write(tmp_path, "accelerators:\n  - id: h200-sxm\n"
                         f"    bf16_tflops: {{value: 1978.8, {src}}}\n"
                         f"    mem_bw_tbps: {{value: 9.6, {src}}}\n"
                         f"    tdp_w: {{value: 1000, {src}}}\n")
    base, cat = load_catalog([]), load_catalog([p])
    old, new = base.accelerator("h200-sxm"), cat.accelerator("h200-sxm")
    assert (new.bf16_tflops.value, new.mem_bw_tbps.value, new.tdp_w.value) == (1978.8, 9.6, 1000)
    assert new.fp8_tflops.value == old.fp8_tflops.value == pytest.approx(1978.9)   # untouched
    # TPP: BF16 1978.8 x 16 = 31,660.8 now beats FP8 1978.9 x 8 = 15,831.2
    t = tpp(new)
    assert tpp(old).value == pytest.approx(15831.2) and t.value == pytest.approx(1978.8 * 16)
    assert t.basis.startswith("bf16") and t.estimate                      # rests on the overlay's estimate
    assert perf_density(new).value == pytest.approx(1978.8 * 16 / 814)
    # ridge 1978.8 / 9.6 = 206.1 FLOP/byte: both doubled, the ridge is unchanged
    assert ridge_point(new, "bf16").value == pytest.approx(1978.8 / 9.6) == ridge_point(old, "bf16").value
    assert ridge_point(new, "fp8").value == pytest.approx(ridge_point(old, "fp8").value / 2)   # FP8 kept, BW x2
    assert flops_per_watt(new, "bf16").value == pytest.approx(1978.8e3 / 1000)
    assert bw_per_tflop(new, "bf16").value == pytest.approx(9600 / 1978.8)
    # the performance model reads the overlay: twice the achieved HBM and BF16 matmul rates
    h_old, h_new = HardwareSpec.from_catalog(base, "h200-sxm"), HardwareSpec.from_catalog(cat, "h200-sxm")
    assert float(h_new.mem_rate()) == pytest.approx(2 * float(h_old.mem_rate()))
    # twice the FLOP/s on the same 132 SMs: a GEMM needs twice the rows to reach its full rate
    # (matmul_m_half scales with FLOP/s per SM), so at 4,096 rows the rate is a little under twice
    m = h_old.matmul_m_half
    assert h_new.matmul_m_half == pytest.approx(2 * m)
    assert float(h_new.matmul_rate("bf16", 4096)) == pytest.approx(
        2 * float(h_old.matmul_rate("bf16", 4096)) * (4096 + m) / (4096 + 2 * m))
    # the FP8 peak is untouched; only the rows to full rate (set from the BF16 rate per SM) move it
    assert float(h_new.matmul_rate("fp8", 4096)) == pytest.approx(
        float(h_old.matmul_rate("fp8", 4096)) * (4096 + m) / (4096 + 2 * m))
