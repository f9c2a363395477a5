"""Calibration: recovers known parameters from synthetic records made by the model itself, with noise."""
from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from suanli.perf.chipcal import _with, calibrate, catalog_with, predict
from suanli.perf.hardware import load_params
from suanli.perf.validate import Skip

TRUTH = {"matmul_eff.any": 0.8, "matmul_m_half": 40.0, "mem_eff": 0.7, "kernel_us": 5.0, "attn_eff": 0.5}
NOISE = 0.03   # 3% log-normal measurement noise


def _records(cat, hw: str, truth: dict, *, seed: int = 1, serving: bool = False, dtype: str = "bf16") -> list[dict]:
    """What `suanli bench micro` would measure on a chip whose parameters are ``truth`` (plus noise)."""
    p = load_params()
    tc = _with(cat, hw, truth, 10)
    rng = np.random.default_rng(seed)
    rows: list[dict] = []

    def add(r: dict) -> None:
        r = {"hardware": hw, "chips": "1", **r}
        r["id"] = f"SYN-{len(rows):03d}"
        r["value"] = str(predict(r, tc, p) * float(np.exp(rng.normal(0, NOISE))))
        rows.append(r)

    for s in (512, 1024, 2048, 4096, 8192):
        add({"kind": "gemm", "act_dtype": dtype, "gemm_m": str(s), "gemm_n": str(s), "gemm_k": str(s), "metric": "tflops"})
    for m in (1, 8, 32, 128, 512):
        add({"kind": "gemm", "act_dtype": dtype, "gemm_m": str(m), "gemm_n": "8192", "gemm_k": "8192", "metric": "tflops"})
    for b in [2 ** k for k in range(14, 31, 2)]:
        add({"kind": "memcopy", "bytes": str(b), "metric": "tbps"})
    for s in (1024, 4096, 16384):
        add({"kind": "attention", "act_dtype": "bf16", "isl": str(s), "seq_len": str(s), "metric": "tflops"})
    if serving:
        for bpc in (1, 4, 16, 64):
            add({"kind": "decode", "model": "llama-3.1-8b", "weight_dtype": "bf16", "isl": "1024", "osl": "256",
                 "tp": "1", "batch_per_chip": str(bpc), "scenario": "fixed", "metric": "output_tps_per_chip"})
    return rows


def test_recovers_kernel_parameters_within_their_uncertainty(catalog):
    rows = _records(catalog, "ascend-910b3", TRUTH)
    res = calibrate(rows, catalog, source="synthetic")
    for name, true in TRUTH.items():
        got, sd = res.values[name], res.sd[name]
        assert sd is not None and sd > 0
        assert abs(got - true) <= 3 * sd, (name, got, true, sd)
    # the well-measured ones are tight: efficiency and bandwidth within a few percent
    for name in ("matmul_eff.any", "mem_eff", "attn_eff"):
        assert res.sd[name] / res.values[name] < 0.05
    s = res.summary()
    assert s["mape_after"] < NOISE * 1.5 < s["mape_before"]


def test_recovers_serving_maturity_in_a_second_stage(catalog):
    truth = {**TRUTH, "maturity": 0.55}
    rows = _records(catalog, "ascend-910b3", truth, serving=True, seed=3)
    res = calibrate(rows, catalog, source="synthetic")
    assert res.calibration.basis == "microbenchmarks+serving"
    assert abs(res.values["maturity"] - 0.55) <= 3 * res.sd["maturity"]
    assert res.calibration.error_band.n == 4        # the band of a serving prediction: its serving rows


def test_effective_peak_for_a_chip_with_none(catalog, tmp_path):
    """A made-up chip with memory figures but no compute peak: the fit measures an effective peak."""
    over = tmp_path / "chip.yaml"
    over.write_text(yaml.safe_dump({"accelerators": [{
        "id": "nopeak-1", "vendor": "Example", "name": "No-peak chip", "category": "chip", "mem_capacity_gb": 64,
        "mem_bw_tbps": 1.6, "stack": "other", "sources": ["test chip"], "confidence": "estimate"}]}))
    from suanli.catalog import get_catalog

    cat = get_catalog((over,))
    assert cat.accelerator("nopeak-1").bf16_tflops.value is None
    truth = {"peak.16bit": 250.0, "matmul_m_half": 40.0, "mem_eff": 0.7, "kernel_us": 5.0, "attn_eff": 0.5}
    rows = _records(cat, "nopeak-1", truth, seed=5)
    res = calibrate(rows, cat, source="synthetic")
    assert abs(res.values["peak.16bit"] - 250.0) <= 3 * res.sd["peak.16bit"]
    assert res.accelerator_update["bf16_tflops"]["confidence"] == "measured"
    assert res.calibration.measured_peaks == ("bf16_tflops", "fp16_tflops")


def test_parameters_never_outnumber_rows(catalog):
    from suanli.errors import SuanliError

    rows = [{"id": "one", "kind": "memcopy", "hardware": "h200-sxm", "chips": "1", "bytes": "4294967296",
             "metric": "tbps", "value": "4.0"}]
    with pytest.raises(SuanliError, match="inform no parameter"):
        calibrate(rows, catalog)            # one copy row: mem_eff would be a parameter for one row
    rows += [{**rows[0], "id": f"gemm{i}", "kind": "gemm", "act_dtype": "bf16", "gemm_m": "8192", "gemm_n": "8192",
              "gemm_k": "8192", "metric": "tflops", "value": "700"} for i in range(2)]
    res = calibrate(rows, catalog)          # two GEMM rows: one efficiency; the copy row stays at its prior
    assert set(res.values) == {"matmul_eff.any"}
    assert any("mem_eff held at its prior" in n for n in res.notes)


def test_several_chips_need_a_choice(catalog):
    from suanli.errors import SuanliError

    rows = _records(catalog, "ascend-910b3", TRUTH)[:3] + _records(catalog, "h20", TRUTH)[:3]
    with pytest.raises(SuanliError, match="choose one with --hardware"):
        calibrate(rows, catalog)


@pytest.fixture()
def chip_without_peak(tmp_path):
    """Records of a chip with no compute peak, their calibration overlay, and the chip's own overlay."""
    from suanli.bench.records import write_records
    from suanli.catalog import get_catalog

    chip = tmp_path / "chip.yaml"
    chip.write_text(yaml.safe_dump({"accelerators": [{
        "id": "nopeak-2", "vendor": "Example", "name": "No-peak chip 2", "category": "chip", "mem_capacity_gb": 64,
        "mem_bw_tbps": 1.6, "stack": "other", "sources": ["test chip"], "confidence": "estimate"}]}))
    cat = get_catalog((chip,))
    truth = {"peak.16bit": 300.0, "matmul_m_half": 40.0, "mem_eff": 0.75, "kernel_us": 5.0, "attn_eff": 0.5}
    csv = tmp_path / "runs.csv"
    write_records(_records(cat, "nopeak-2", truth, seed=7), csv)
    return chip, csv, tmp_path / "cal.yaml"


def test_cli_overlay_makes_predict_serve_work_and_say_measured(run_cli, chip_without_peak):
    chip, csv, out = chip_without_peak
    code, _, err = run_cli("predict", "serve", "-H", "nopeak-2", "-m", "llama-3.1-8b", "-n", "1", "--weight-dtype",
                           "bf16", "--catalog", str(chip))
    assert code == 2 and "no dense compute peak" in err                # before: refused
    code, stdout, err = run_cli("calibrate", str(csv), "-o", str(out), "--catalog", str(chip), "--json")
    assert code == 0, err
    d = json.loads(stdout)
    assert d["summary"]["mape_after"] < 0.05
    code, stdout, err = run_cli("predict", "serve", "-H", "nopeak-2", "-m", "llama-3.1-8b", "-n", "1",
                                "--weight-dtype", "bf16", "--catalog", str(chip), "--catalog", str(out), "--json")
    assert code == 0, err
    pred = json.loads(stdout)
    assert pred["metrics"]["output_tps_per_chip"] > 0
    text = " ".join(pred["warnings"])
    assert "measured figures" in text and "bf16 peak" in text
    assert "calibrated from microbenchmarks alone" in pred["error_band"]["group"]


def test_validate_before_and_after_shows_the_change(run_cli, catalog, tmp_path):
    from suanli.bench.records import write_records

    csv = tmp_path / "runs.csv"
    write_records(_records(catalog, "ascend-910b3", TRUTH, seed=11), csv)
    out = tmp_path / "cal.yaml"
    assert run_cli("calibrate", str(csv), "-o", str(out))[0] == 0
    code, before, _ = run_cli("validate", str(csv), "--json")
    code2, after, _ = run_cli("validate", str(csv), "--catalog", str(out), "--json")
    assert code == 0 and code2 == 0
    b, a = json.loads(before)["summary"], json.loads(after)["summary"]
    assert a["n"] == b["n"] > 0
    assert a["mape"] < b["mape"]


def test_overlay_roundtrip_equals_the_fit(catalog, tmp_path):
    """Loading the written overlay gives the same predictions as the fitted result."""
    from suanli.catalog import get_catalog

    rows = _records(catalog, "ascend-910b3", TRUTH, seed=13)
    res = calibrate(rows, catalog, source="synthetic")
    out = tmp_path / "cal.yaml"
    out.write_text(res.overlay_yaml())
    loaded = get_catalog((out,))
    p = load_params()
    for r in rows[:6]:
        assert predict(r, loaded, p) == pytest.approx(predict(r, catalog_with(catalog, res), p), rel=1e-6)


def test_bad_overlay_parameter_is_a_data_error(tmp_path):
    from suanli.catalog import get_catalog
    from suanli.errors import DataError

    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"calibrations": [{"hardware": "h20", "source": "x", "date": "2026-12-01",
                                                      "basis": "microbenchmarks", "rows": 3,
                                                      "params": {"mem_efff": {"value": 0.8, "rows": 3}}}]}))
    with pytest.raises(DataError, match="unknown parameter 'mem_efff'"):
        get_catalog((bad,))


def _serving_records(cat, hw: str, truth: dict, *, seed: int) -> list[dict]:
    """Decode rows of two models at batch 1 to 128 per chip, made by the model with ``truth`` (plus noise)."""
    p = load_params()
    tc = _with(cat, hw, truth, 10, basis="serving")
    rng = np.random.default_rng(seed)
    rows: list[dict] = []
    for model in ("llama-3.1-8b", "llama-2-7b"):
        for bpc in (1, 2, 8, 32, 128):
            r = {"hardware": hw, "chips": "1", "kind": "decode", "model": model, "weight_dtype": "bf16",
                 "isl": "1024", "osl": "256", "tp": "1", "batch_per_chip": str(bpc), "scenario": "fixed",
                 "metric": "tpot_ms", "id": f"SYN-{len(rows):03d}", "source": "synthetic"}
            try:
                r["value"] = str(predict(r, tc, p) * float(np.exp(rng.normal(0, NOISE))))
            except Skip:   # a batch whose KV cache does not fit: not measurable either
                continue
            rows.append(r)
    return rows


def test_recovers_the_per_step_overhead_beside_maturity(catalog):
    """Small-batch rows tell the host cost per decode step, larger-batch rows the maturity."""
    truth = {"maturity": 0.55, "step_overhead_ms": 6.0}
    rows = _serving_records(catalog, "ascend-910b3", truth, seed=11)
    res = calibrate(rows, catalog, source="synthetic")
    for name, true in truth.items():
        got, sd = res.values[name], res.sd[name]
        assert sd is not None and 0 < sd < 0.25 * true, (name, got, sd)
        assert abs(got - true) <= 3 * sd, (name, got, true, sd)
    assert res.calibration.params["step_overhead_ms"].rows == 4      # the batch-1 and batch-2 rows
    assert res.summary()["mape_after"] < 2 * NOISE


def test_no_step_overhead_without_small_batch_rows(catalog):
    truth = {"maturity": 0.55, "step_overhead_ms": 6.0}
    rows = [r for r in _serving_records(catalog, "ascend-910b3", truth, seed=12) if int(r["batch_per_chip"]) >= 8]
    res = calibrate(rows, catalog, source="synthetic")
    assert "step_overhead_ms" not in res.values
    assert any("step_overhead_ms held" in n for n in res.notes)


def test_held_parameter_stays_at_its_prior(catalog):
    """hold=(...) keeps a value at its prior; the rest is fitted as before and the notes say so."""
    truth = {"maturity": 0.55, "step_overhead_ms": 6.0}
    rows = _serving_records(catalog, "ascend-910b3", truth, seed=11)
    res = calibrate(rows, catalog, source="synthetic", hold=("step_overhead_ms",))
    assert set(res.values) == {"maturity"}
    assert any("step_overhead_ms held at its prior (asked)" in n for n in res.notes)
    # the held cost per step is the stack's packaged one; the maturity alone absorbs the difference
    # to the truth: a held cost above the truth leaves less time for the rest (a higher maturity)
    from suanli.perf.hardware import load_params

    held = float(load_params()["maturity"]["cann"]["step_overhead_ms"])
    assert held != truth["step_overhead_ms"]
    assert (res.values["maturity"] > truth["maturity"]) == (held > truth["step_overhead_ms"])


def test_group_config_holds_one_run_out_together(catalog):
    from suanli.perf.chipcal import fold_key, resolve_group

    rows = _serving_records(catalog, "ascend-910b3", {"maturity": 0.55}, seed=13)
    assert resolve_group(rows, "auto") == "config"           # one source: held out by configuration
    assert len({fold_key(r, "config") for r in rows}) == 2    # the two models
    res = calibrate(rows, catalog, source="synthetic", group="auto")
    assert res.grouping == "config" and res.out_of_fold
    assert "configuration" in res.calibration.error_band.basis


def test_shipped_overlay_of_a_chip_with_no_bandwidth_loads_and_says_measured(catalog):
    """ascend-910b4 has no published bandwidth: its packaged calibration measures one on serving rows."""
    acc = catalog.accelerator("ascend-910b4")
    cal = catalog.calibrations["ascend-910b4"]
    assert acc.mem_bw_tbps.value and acc.mem_bw_tbps.confidence == "measured"
    assert cal.basis == "serving" and "dev.csv, 3 rows" in cal.source and cal.error_band.n >= 1
    from suanli.perf.search import Request, predict_serve

    pred = predict_serve(catalog, Request(model="qwen3-32b", hardware="ascend-910b4", chips=8, tp=8))
    text = " ".join(pred.warnings)
    assert "measured" in text and "calibrated on" in text
    # a figure its records do not pin down says so in its note (standard error over half the value)
    import re

    from suanli.perf.chipcal import UNDETERMINED_REL_SE

    se = float(re.search(r"standard error ([0-9.eE+-]+)", acc.mem_bw_tbps.note).group(1))
    loose = se > UNDETERMINED_REL_SE * acc.mem_bw_tbps.value
    assert ("not determined by these records" in acc.mem_bw_tbps.note) == loose
    # an effective rate never passes the fastest published part of its memory technology, and says when it sits there
    from suanli.perf.chipcal import memory_ceiling

    ceiling, _ = memory_ceiling(catalog, acc)
    assert acc.mem_bw_tbps.value <= ceiling
    assert ("at the ceiling of its memory technology" in acc.mem_bw_tbps.note) == (acc.mem_bw_tbps.value >= 0.99 * ceiling)


def test_memory_ceiling_is_the_fastest_published_part_of_the_technology(catalog):
    from suanli.perf.chipcal import memory_ceiling

    # HBM2e: the MI250X's eight stacks, 3.2 TB/s (AMD datasheet); supernode records (aggregate TB/s) do not count
    assert memory_ceiling(catalog, catalog.accelerator("ascend-910b4")) == (3.2, "mi250x")
    # HBM3: the MI300X's 5.3 TB/s, above the H100's 3.35
    assert memory_ceiling(catalog, catalog.accelerator("h100-sxm")) == (5.3, "mi300x")


def test_predict_serve_cli_on_the_shipped_overlay_says_measured(run_cli):
    code, out, err = run_cli("predict", "serve", "-H", "ascend-910b4", "-n", "8", "-m", "qwen3-32b", "--tp", "8",
                             "--json")
    assert code == 0, err
    assert "measured figures" in out and "calibrated on" in out
