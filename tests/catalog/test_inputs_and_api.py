"""Catalog-level hardening: impossible figures refused at load, unreadable files, ids in any case, the Python API."""
from __future__ import annotations

from pathlib import Path

import pytest

from suanli.catalog.registry import load_catalog
from suanli.errors import DataError, SuanliError, UnknownIdError


def _overlay(tmp_path: Path, body: str, name: str = "overlay.yaml") -> Path:
    p = tmp_path / name
    p.write_text(body, encoding="utf-8")
    return p


# --------------------------------------------------------------------------- item 4: zero, NaN, infinity
@pytest.mark.parametrize("field,value", [("bf16_tflops", "0"), ("mem_bw_tbps", "0"), ("mem_bw_tbps", ".nan"),
                                         ("bf16_tflops", ".inf"), ("mem_capacity_gb", "-.inf"), ("tdp_w", "-5"),
                                         ("bf16_tflops", "{value: .nan}"), ("bf16_tflops", "1.0e+300")])
def test_impossible_figures_are_refused_with_file_line_field(tmp_path, field, value):
    p = _overlay(tmp_path, f"accelerators:\n  - id: h20\n    {field}: {value}\n")
    with pytest.raises(DataError) as ei:
        load_catalog([p])
    e = ei.value
    assert e.file == str(p) and e.record == "h20" and e.field.startswith(field) and e.line == 3
    assert "\n" not in e.message


def test_alternatives_must_be_physical_too(tmp_path):
    p = _overlay(tmp_path, "accelerators:\n  - id: h20\n    tdp_w: {value: 400, alternatives: [{value: 0}]}\n")
    with pytest.raises(DataError):
        load_catalog([p])


def test_a_plausible_overlay_still_loads(tmp_path):
    p = _overlay(tmp_path, "accelerators:\n  - id: h20\n    bf16_tflops: 150\n    tdp_w: 350\n")
    assert load_catalog([p]).accelerator("h20").tdp_w.value == 350


# --------------------------------------------------------------------------- item 6: unreadable files
def test_non_utf8_overlay_names_the_file_and_line(tmp_path):
    p = tmp_path / "latin1.yaml"
    p.write_bytes("accelerators:\n  - id: h20\n    notes: caf\xe9\n".encode("latin-1"))
    with pytest.raises(DataError) as ei:
        load_catalog([p])
    assert ei.value.line == 3 and "UTF-8" in ei.value.message


def test_non_utf8_overlay_from_the_environment(tmp_path, monkeypatch):
    p = tmp_path / "bin.yaml"
    p.write_bytes(b"\x00\xff\xfe binary")
    monkeypatch.setenv("SUANLI_CATALOG", str(p))
    with pytest.raises(DataError, match="not UTF-8"):
        load_catalog()


def test_a_folder_or_missing_file_is_a_data_error(tmp_path):
    from suanli.catalog.load import read_text

    with pytest.raises(DataError, match="is a folder"):
        read_text(tmp_path)
    with pytest.raises(DataError, match="file not found"):
        read_text(tmp_path / "nope.yaml")
    bom = tmp_path / "bom.yaml"
    bom.write_bytes("\ufeffaccelerators: []\n".encode())
    assert read_text(bom).startswith("accelerators")


def test_non_utf8_scenario_and_perf_params(tmp_path):
    from suanli.perf.hardware import load_params
    from suanli.policy.regimes import read_yaml_file

    p = tmp_path / "x.yaml"
    p.write_bytes(b"maturity:\n  cann: \xff\n")
    for read in (load_params, read_yaml_file):
        with pytest.raises(DataError, match="not UTF-8"):
            read(p)


# --------------------------------------------------------------------------- item 11: the Python API
def test_get_catalog_takes_one_path(tmp_path):
    import suanli

    p = _overlay(tmp_path, "accelerators:\n  - id: h20\n    tdp_w: 350\n")
    assert suanli.get_catalog(str(p)).accelerator("h20").tdp_w.value == 350
    assert suanli.get_catalog(p).files[-1] == str(p)


def test_tpp_takes_an_id_or_a_record(catalog):
    import suanli

    assert suanli.tpp("h20").value == suanli.tpp(catalog.accelerator("h20")).value == pytest.approx(2368)
    with pytest.raises(UnknownIdError):
        suanli.tpp("h2000")
    with pytest.raises(SuanliError):
        suanli.tpp(42)


def test_unknown_kv_dtype_is_a_suanli_error(catalog):
    with pytest.raises(SuanliError, match="unknown dtype 'fp3'"):
        catalog.model("deepseek-v3").kv_bytes_per_token("fp3")


def test_validate_file_needs_no_catalog(tmp_path):
    import suanli

    csv = tmp_path / "r.csv"
    csv.write_text("id,kind,hardware,chips,metric,value,gemm_m,gemm_n,gemm_k,weight_dtype,act_dtype\n"
                   "A,gemm,h100-sxm,1,tflops,600,8192,8192,8192,bf16,bf16\n", encoding="utf-8")
    rep = suanli.validate_file(str(csv))
    assert len(rep.rows) == 1


def test_import_suanli_loads_no_engine():
    import subprocess
    import sys

    code = ("import sys, suanli; print(sorted(m for m in sys.modules if m.startswith('suanli.')));"
            "suanli.tpp('h20'); print('suanli.perf.search' in sys.modules, 'numpy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[0] == "[]"            # nothing but the package itself
    assert out[1] == "False False"   # TPP needs the catalog, not the engines or numpy


# --------------------------------------------------------------------------- item 12: ids
def test_ids_in_any_case(catalog):
    assert catalog.accelerator("H200-SXM").id == "h200-sxm"
    assert catalog.model("DeepSeek-V3").id == "deepseek-v3"
    assert catalog.system("CloudMatrix-384").id == "cloudmatrix-384"


def test_unknown_system_hint_counts_systems_not_aliases(catalog):
    with pytest.raises(UnknownIdError) as ei:
        catalog.system("zzzzzz")
    assert f"{len(catalog.systems)} known systems" in ei.value.hint
