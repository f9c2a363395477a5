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
    assert e.line == 2
    assert ">= 0" in str(e)


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
