"""Grouped cross-validation, error bands and their coverage; length and engine-limit inputs end to end."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from typer.testing import CliRunner

from suanli.perf import calibrate as C
from suanli.perf.accuracy import band_of, error_bands, quantile, render_markdown
from suanli.perf.search import Request, predict_phase, predict_serve
from suanli.perf.validate import RowResult, ValidationReport, request_from_row


def _row(i, family, kind="serve", measured=100.0, predicted=110.0, vendor="NVIDIA"):
    ape = abs(predicted - measured) / measured
    return RowResult(f"R{i}", kind, "h200-sxm", "m", vendor, family, "output_tps_per_chip", measured, predicted,
                     ape, False)


def test_band_is_the_conformal_80_percent_quantile_with_leave_one_out_coverage():
    # ten rows, log errors 0.01 .. 0.10: the conformal quantile is the ceil(0.8 x 11) = 9th smallest,
    # 0.09 (the plain 80th percentile, 0.082, would sit between the 8th and 9th)
    errs = [0.01 * k for k in range(1, 11)]
    b = band_of(errs)
    assert b["p80"] == pytest.approx(0.09)
    assert quantile(errs, 0.8) == pytest.approx(0.082)
    assert b["high_pct"] == pytest.approx(math.exp(0.09) - 1, abs=1e-4)
    assert b["low_pct"] == pytest.approx(math.exp(-0.09) - 1, abs=1e-4)
    # without a row, the band of the other nine is their ceil(0.8 x 10) = 8th smallest: 0.09 when one of
    # the eight smallest is removed (those eight are inside), 0.08 when 0.09 or 0.10 is (both outside)
    assert b["coverage"] == pytest.approx(0.8)
    assert quantile([5.0], 0.8) == 5.0
    # one row: the band is that row's error (the ceil(0.8 x 2) = 2nd smallest does not exist)
    assert band_of([0.3])["p80"] == pytest.approx(0.3)


def test_error_bands_use_out_of_group_predictions_and_name_the_widest():
    rows = [_row(i, "hopper", predicted=100.0 * (1 + 0.02 * i)) for i in range(6)]
    rows += [_row(10 + i, "ascend", vendor="Huawei", predicted=100.0 * (1 + 0.3 * (i + 1))) for i in range(5)]
    rep = ValidationReport(rows)
    # out-of-group predictions twice as far off as in-sample for the Hopper rows
    oof = {r.id: 100.0 * (1 + 0.04 * i) for i, r in enumerate(rows[:6])}
    b = error_bands(rep, oof)
    hop = b["groups"]["family=hopper|kind=serving"]
    assert hop["n"] == 6 and hop["mape"] == pytest.approx(sum(0.04 * i for i in range(6)) / 6, abs=1e-4)
    assert b["widest"]["group"].startswith(("family=ascend", "vendor=Huawei"))
    assert set(b["measured_families"]) == {"hopper", "ascend"}
    # four rows or more make a family measured
    assert "cdna3" not in error_bands(ValidationReport(rows + [_row(30, "cdna3")]), oof)["measured_families"]


def test_held_out_engine_and_model_errors_give_the_bands_of_the_unseen():
    rows = [_row(i, "hopper", predicted=100.0 * (1 + 0.02 * i)) for i in range(6)]
    oof = {r.id: r.predicted for r in rows}
    # with their whole model held out the same rows miss by 10% .. 60% (log errors ln 1.1 .. ln 1.6)
    by_model = {r.id: 100.0 * (1.1 + 0.1 * i) for i, r in enumerate(rows)}
    b = error_bands(ValidationReport(rows), oof, {"model": by_model, "engine": oof})
    m = b["unseen"]["model"]
    # six errors: the conformal band is the ceil(0.8 x 7) = 6th smallest, ln 1.6
    assert m["n"] == 6 and m["p80"] == pytest.approx(math.log(1.6), abs=1e-4)
    assert m["mape"] == pytest.approx(sum(0.1 + 0.1 * i for i in range(6)) / 6, abs=1e-4)
    assert "model held out" in m["group"] and b["unseen"]["engine"]["p80"] < m["p80"]
    assert error_bands(ValidationReport(rows), oof)["unseen"] == {}


def test_unmeasured_model_carries_the_wider_of_its_held_out_and_the_widest_band(catalog):
    from suanli.perf.hardware import _packaged_optional

    bands = _packaged_optional("error_bands.yaml")
    p = predict_serve(catalog, Request("h200-sxm", "qwen3-235b-a22b", chips=8, weight_dtype="fp8"))
    expect = max([bands["widest"], bands["unseen"]["model"]], key=lambda g: g["p80"])
    assert p.error_band.p80 == pytest.approx(expect["p80"]) and p.error_band.group == expect["group"]
    assert any("no serving measurement of qwen3-235b-a22b" in w for w in p.warnings)


def test_a_model_measured_on_another_vendors_chips_is_unmeasured_there(catalog):
    from suanli.perf.hardware import _packaged_optional

    bands = _packaged_optional("error_bands.yaml")
    assert bands["measured_model_vendors"]["qwen3-30b-a3b"] == ["Huawei"]   # two Ascend 910C rows only
    p = predict_serve(catalog, Request("h200-sxm", "qwen3-30b-a3b", chips=8, weight_dtype="fp8"))
    assert any("no serving measurement of qwen3-30b-a3b on NVIDIA chips" in w for w in p.warnings)
    assert p.error_band.p80 == pytest.approx(max(bands["widest"]["p80"], bands["unseen"]["model"]["p80"]))
    # measured on NVIDIA chips: its family's own band, no such warning
    q = predict_serve(catalog, Request("h200-sxm", "llama-3.1-70b", chips=8, weight_dtype="fp8"))
    assert not any("no serving measurement of" in w for w in q.warnings)


def test_unmeasured_family_carries_the_widest_band(catalog):
    from suanli.perf.hardware import _packaged_optional

    bands = _packaged_optional("error_bands.yaml")
    # a MetaX chip: two serving rows of its family (DeepSeek-V3 on Chitu), too few for a band of its own
    p = predict_serve(catalog, Request("metax-c500", "deepseek-v3", chips=16, weight_dtype="fp8"))
    eb = p.error_band
    assert eb is not None and eb.note and "widest" in eb.note and eb.p80 == pytest.approx(bands["widest"]["p80"])
    assert any("too few serving measurements of the" in w for w in p.warnings)
    # a model measured on NVIDIA chips only, on that MetaX chip: the wider of that and the held-out-model band
    q = predict_serve(catalog, Request("metax-c500", "llama-3.1-8b", chips=8, weight_dtype="bf16")).error_band
    assert q.p80 == pytest.approx(max(bands["widest"]["p80"], bands["unseen"]["model"]["p80"]))
    h = predict_serve(catalog, Request("h200-sxm", "llama-3.1-8b", chips=8, weight_dtype="bf16")).error_band
    assert h.note is None and h.group.startswith(("family=hopper", "vendor=NVIDIA"))
    assert eb.p80 >= h.p80


def test_source_and_engine_groups():
    mlperf = {"source": "mlcommons/inference_results_v5.1:closed/NVIDIA/results/B200-SXM-180GBx8_TRT/deepseek-r1/"
                        "Offline/performance/run_1/mlperf_log_summary.txt", "engine": "TRT-LLM"}
    assert C.source_group(mlperf) == "mlcommons/inference_results_v5.1:closed/NVIDIA/results/B200-SXM-180GBx8_TRT"
    assert C.engine_group(mlperf) == "trt-llm" and C.engine_group({}) == "unknown"


def test_parameters_without_rows_are_not_fitted(catalog):
    rows = [{"id": "x", "kind": "serve", "hardware": "h200-sxm", "chips": "8", "model": "llama-3.1-70b",
             "weight_dtype": "fp8", "isl": "1024", "osl": "1024", "metric": "output_tps_per_chip",
             "value": "3000", "engine": "vllm"}]
    names = {fp.name for fp in C.informed(rows, catalog)}
    assert "maturity.cuda" in names and "engines.vllm.request_us" in names
    assert "maturity.cann" not in names and "engines.trt-llm.request_us" not in names
    assert "comm.overlap" not in names          # no attention DP, no all-to-all to hide


def test_report_headline_is_leave_one_source_out():
    rows = [_row(i, "hopper") for i in range(5)]
    md = render_markdown(ValidationReport(rows, source="x.csv"),
                         cv={"source": {r.id: 130.0 for r in rows}, "engine": {r.id: 120.0 for r in rows}})
    head = md.split("## Headline")[1].split("\n\n")[1]
    first = head.splitlines()[2]
    assert "leave one source out" in first and "30.0%" in first


def test_report_states_each_target_met_or_not():
    rows = [_row(i, "hopper") for i in range(5)]
    md = render_markdown(ValidationReport(rows, source="x.csv"),
                         cv={"source": {r.id: 110.0 for r in rows}})
    line = next(x for x in md.splitlines() if x.startswith("Against the targets"))
    # every row measured 100, held out 110: 10% leave one source out (target 15%), and the one
    # vendor at 10% (target 20%)
    assert "serving leave one source out 10.00% (met)" in line
    assert "worst vendor held out 10.00% (met)" in line
    md = render_markdown(ValidationReport(rows, source="x.csv"),
                         cv={"source": {r.id: 125.0 for r in rows}})
    line = next(x for x in md.splitlines() if x.startswith("Against the targets"))
    assert "serving leave one source out 25.00% (not met)" in line and "held out 25.00% (not met)" in line


def test_record_columns_reach_the_request():
    row = {"id": "r", "kind": "serve", "hardware": "b200", "chips": "8", "model": "deepseek-v3",
           "weight_dtype": "fp4", "isl": "804", "osl": "3736", "isl_cv": "0.505", "osl_cv": "1.114",
           "osl_p99": "20000", "max_batch_per_rank": "512", "max_num_tokens": "4608", "max_seq_len": "23140",
           "concurrency": "64", "batch_per_chip": "8", "metric": "output_tps_per_chip", "value": "1"}
    req = request_from_row(row)
    assert (req.isl_cv, req.osl_cv, req.osl_max) == (0.505, 1.114, 20000)
    assert (req.max_batch_per_rank, req.max_num_tokens, req.max_seq_len) == (512, 4608, 23140)
    assert req.batch_per_chip == 8 and req.concurrency is None


def test_mlperf_deepseek_r1_server_below_offline_and_near_measured(catalog):
    """MLI-001's system (8 x B200, TRT-LLM, MLPerf DeepSeek-R1 lengths): server <= offline."""
    base = Request("b200", "deepseek-v3", chips=8, isl=804, osl=3736, weight_dtype="fp4", act_dtype="fp4",
                   kv_dtype="fp8", engine="trt-llm", tp=1, ep=8, dp=8, attn_dp=True, isl_cv=0.505, osl_cv=1.114,
                   osl_max=20000, max_batch_per_rank=512, max_num_tokens=4608)
    off = predict_serve(catalog, base).metrics["output_tps_per_chip"]
    srv = predict_serve(catalog, Request(**{**base.__dict__, "scenario": "server", "ttft_slo_ms": 2000,
                                            "tpot_slo_ms": 80})).metrics["output_tps_per_chip"]
    assert srv <= off
    # the measured offline figure (MLPerf v5.1 result 5.1-0069: 33,379 tok/s on 8 GPUs)
    assert abs(off / 4172.38 - 1) < 0.25


def test_mlperf_deepseek_r1_gb200_server_near_measured(catalog):
    """MLI-004's system (GB200 NVL72, 9 instances of 8, TRT-LLM, server at p99 TTFT 2 s / TPOT 80 ms):
    within 25% of the measured 167,578 tok/s on 72 GPUs (MLPerf v5.1 result 5.1-0071), and below the
    same system offline. Its streamed responses, gathered to one rank per instance, set the batch: an
    offline run of the same system holds more requests per rank than the server run can."""
    base = Request("gb200", "deepseek-v3", chips=72, isl=804, osl=3743.9, weight_dtype="fp4", act_dtype="fp4",
                   kv_dtype="fp8", engine="trt-llm", tp=1, ep=8, dp=8, attn_dp=True, isl_cv=0.505, osl_cv=1.114,
                   osl_max=20000, max_batch_per_rank=512, max_num_tokens=3456, chunked_prefill=False)
    off = predict_serve(catalog, base)
    srv = predict_serve(catalog, Request(**{**base.__dict__, "scenario": "server", "ttft_slo_ms": 2000,
                                            "tpot_slo_ms": 80}))
    assert srv.config["streamed_responses"] and not off.config["streamed_responses"]
    assert srv.metrics["output_tps_per_chip"] <= off.metrics["output_tps_per_chip"]
    assert srv.config["batch_per_chip"] < off.config["batch_per_chip"]
    assert abs(srv.metrics["output_tps_per_chip"] / (167578.06 / 72) - 1) < 0.25


def test_cli_takes_lengths_and_engine_limits(tmp_path):
    from suanli.cli.main import app

    f = tmp_path / "lengths.csv"
    f.write_text("isl,osl\n100,10\n300,30\n", encoding="utf-8")
    r = CliRunner().invoke(app, ["predict", "serve", "-H", "h200-sxm", "-m", "llama-3.1-8b", "--lengths", str(f),
                                 "--max-batch-per-rank", "16", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["config"]["isl"] == 200 and d["config"]["lengths"]["isl_cv"] == 0.5
    assert d["config"]["engine_limits"]["max_batch_per_rank"] == 16
    assert d["config"]["batch_per_instance"] <= 16 * d["config"]["dp"] * d["config"]["pp"]
    bad = tmp_path / "bad.csv"
    bad.write_text("isl,osl\n100,-3\n", encoding="utf-8")
    r = CliRunner().invoke(app, ["predict", "serve", "-H", "h200-sxm", "-m", "llama-3.1-8b", "--lengths", str(bad)])
    assert r.exit_code == 2 and "bad.csv:2" in r.output
    r = CliRunner().invoke(app, ["predict", "serve", "-H", "h200-sxm", "-m", "llama-3.1-8b", "--osl-cv", "-1"])
    assert r.exit_code == 2


@pytest.mark.parametrize("cmd", ["decode", "pareto"])
def test_phase_commands_take_length_spread_and_engine_limits(cmd):
    """predict decode / pareto take the same length and engine-limit options as predict serve: a long
    tail of outputs reads more context per step, so it never gives more tokens/s per chip."""
    import json

    from typer.testing import CliRunner

    from suanli.cli.main import app

    base = ["predict", cmd, "-H", "h200-sxm", "-n", "8", "-m", "llama-3.1-70b", "--osl", "2000", "--json"]
    fixed = json.loads(CliRunner().invoke(app, base).output)
    spread = json.loads(CliRunner().invoke(app, base + ["--osl-cv", "1.1", "--osl-max", "16000",
                                                        "--max-batch-per-rank", "64"]).output)
    if cmd == "decode":
        assert spread["config"]["lengths"]["osl_cv"] == 1.1
        assert spread["config"]["engine_limits"]["source"]["max_batch_per_rank"] == "request"
        assert spread["config"]["batch_per_instance"] <= 64 * spread["config"]["dp"] * spread["config"]["pp"]
        assert spread["metrics"]["output_tps_per_chip"] <= fixed["metrics"]["output_tps_per_chip"]
    else:
        top = lambda d: max(p["output_tps_per_chip"] for p in d["points"])  # noqa: E731
        assert top(spread) <= top(fixed)


@pytest.mark.parametrize(("engine", "cap", "chunked"), [("sglang", None, None), ("vllm", None, None),
                                                       ("trt-llm", 2048, None), ("sglang", 1024, False)])
def test_prefill_search_never_exceeds_the_engines_tokens_per_step(catalog, engine, cap, chunked):
    """A prefill step holds at most max_num_tokens prompt tokens per scheduler (the engine's chunk; one
    scheduler per attention-DP group and pipeline micro-batch, shared by the ranks of a TP group), or
    one whole prompt when the engine does not chunk and the prompt is longer."""
    isl = 4096.0
    req = Request(hardware="h200-sxm", model="llama-3.1-70b", chips=8, tp=4, isl=isl, osl=1, engine=engine,
                  max_num_tokens=cap, chunked_prefill=chunked)
    pred = predict_phase(catalog, req, "prefill")
    c = pred.config
    limit = max(float(c["engine_limits"]["max_num_tokens"]), isl)
    per_scheduler = c["batch_per_instance"] / (c["dp"] * c["pp"])
    assert c["batch_per_instance"] >= isl and per_scheduler <= limit
    assert pred.metrics["input_tps_per_chip"] > 0


def test_prompts_longer_than_the_token_cap_imply_chunked_prefill(catalog):
    """TensorRT-LLM runs each prompt whole unless chunked context is on, and then needs max_num_tokens of at
    least the prompt: a deployment with a smaller cap serving longer prompts chunks them. The fallback
    changes only chunked_prefill, says so, and yields to a request that states it."""
    kw = dict(hardware="h200-sxm", model="llama-3.1-70b", chips=8, tp=8, isl=9000.0, osl=500.0, engine="trt-llm",
              max_num_tokens=2048)
    p = predict_serve(catalog, Request(**kw))
    lim = p.config["engine_limits"]
    assert lim["chunked_prefill"] is True and lim["source"]["chunked_prefill"].startswith("implied")
    assert lim["max_num_tokens"] == 2048 and lim["source"]["max_num_tokens"] == "request"
    assert any("chunked prefill assumed on" in w for w in p.warnings)
    stated = predict_serve(catalog, Request(**kw, chunked_prefill=False))
    assert stated.config["engine_limits"]["chunked_prefill"] is False
    assert not any("chunked prefill assumed" in w for w in stated.warnings)
    short = predict_serve(catalog, Request(**{**kw, "isl": 1000.0}))
    assert short.config["engine_limits"]["chunked_prefill"] is False       # TensorRT-LLM's own default


def test_unequal_disaggregation(catalog):
    """24 chips as 8 prefill + 16 decode chips (instances of different sizes)."""
    p = predict_serve(catalog, Request("ascend-910c", "deepseek-v3", chips=24, weight_dtype="int8", disagg=True))
    c = p.config
    assert c["prefill_chips"] + c["decode_chips"] <= 24
    assert c["prefill_chips"] != c["decode_chips"]


def test_bad_length_cells_skip_the_row_with_the_reason(catalog):
    from suanli.perf.validate import validate_records

    base = {"id": "a", "kind": "serve", "hardware": "h200-sxm", "chips": "8", "model": "llama-3.1-8b",
            "isl": "100", "osl": "100", "metric": "output_tps_per_chip", "value": "100"}
    for cell, why in (({"osl_cv": "abc"}, "osl_cv is not a number"), ({"isl_cv": "-1"}, "isl_cv must be"),
                      ({"max_num_tokens": "0"}, "max_num_tokens must be")):
        r = validate_records([{**base, **cell}], catalog).rows[0]
        assert r.skipped and why in r.reason


def test_unmeasured_engine_carries_the_widest_band(catalog):
    p = predict_serve(catalog, Request("ascend-910c", "qwen3-32b", chips=8, weight_dtype="bf16", engine="mindie"))
    assert p.error_band.note and "mindie" in p.error_band.note
    assert any("no serving measurement with the mindie engine" in w for w in p.warnings)
    q = predict_serve(catalog, Request("ascend-910c", "qwen3-32b", chips=8, weight_dtype="bf16", engine="sglang"))
    # a measured engine: the chip's own (packaged) calibration band, not the widest one
    assert "no serving measurement with" not in (q.error_band.note or "")


def test_engine_step_overhead_adds_to_every_step(catalog):
    """An engine's host cost per scheduling iteration adds to each step, once (pp = 1)."""
    from suanli.perf.hardware import load_params

    req = Request("h200-sxm", "llama-3.1-8b", chips=1, isl=512, osl=128, batch_per_chip=8, scenario="fixed",
                  weight_dtype="bf16", engine="chitu", tp=1, pp=1)
    steps = []
    for ms in (0.5, 20.5):
        p = load_params({"engines": {"chitu": {"step_overhead_ms": ms}}})
        steps.append(predict_phase(catalog, req, "decode", params=p).metrics["step_ms"])
    assert steps[1] - steps[0] == pytest.approx(20.0, rel=1e-6)


@pytest.mark.parametrize("pp", [1, 2])
def test_eager_engine_pays_dispatch_per_layer_of_its_stage(catalog, pp):
    """An eager engine's host dispatch per layer adds layers / pp x the per-layer cost to each step."""
    from suanli.catalog import get_catalog
    from suanli.perf.hardware import load_params

    model_layers = get_catalog(()).model("llama-3.1-8b").layers     # 32
    req = Request("h200-sxm", "llama-3.1-8b", chips=pp, isl=512, osl=128, batch_per_chip=8, scenario="fixed",
                  weight_dtype="bf16", engine="chitu", tp=1, pp=pp)
    steps = []
    for us in (0.0, 250.0):
        p = load_params({"engines": {"chitu": {"layer_overhead_us": us}}})
        steps.append(predict_phase(catalog, req, "decode", params=p).metrics["step_ms"])
    # step_ms is the stage step: 32 / pp layers x 0.25 ms
    assert steps[1] - steps[0] == pytest.approx(model_layers / pp * 0.25, rel=1e-6)


def test_report_lists_what_each_domestic_chip_rests_on(catalog):
    """The accuracy report names, per domestic chip, its packaged calibration or the family values."""
    from suanli.catalog.registry import load_catalog
    from suanli.perf.accuracy import domestic_basis_md
    from suanli.perf.validate import validate_records

    rows = [{"id": "d1", "kind": "gemm", "hardware": "ascend-910b3", "chips": "1", "weight_dtype": "bf16",
             "act_dtype": "bf16", "gemm_m": "8192", "gemm_n": "8192", "gemm_k": "8192", "metric": "tflops",
             "value": "300", "engine": "torch_npu", "source": "s"},
            {"id": "n1", "kind": "gemm", "hardware": "h200-sxm", "chips": "1", "weight_dtype": "fp8",
             "act_dtype": "fp8", "gemm_m": "8192", "gemm_n": "8192", "gemm_k": "8192", "metric": "tflops",
             "value": "1300", "engine": "cublas", "source": "s"}]
    rep = validate_records(rows, catalog)
    md = "\n".join(domestic_basis_md(rep, load_catalog()))
    assert "| ascend-910b3 | cann | 1 / 1 |" in md and "maturity.cann" in md
    assert "h200-sxm" not in md            # only domestic chips


def test_source_shifts_split_held_out_error_by_hand():
    from suanli.perf.accuracy import source_shifts, source_shifts_md

    # publication A: three throughput rows measured 100, held out at 110, 121 and 100: ln errors
    # ln 1.1, 2 ln 1.1 and 0, mean ln 1.1 (a +10% shift); moved by it the predictions are 100, 110
    # and 90.91 (APE 0, 10%, 9.09%); the shift alone puts each row 10% off
    rows = [_row(i, "hopper", predicted=p) for i, p in enumerate((110.0, 121.0, 100.0))]
    # publication B: a TPOT row (lower is better) predicted 80 ms against 100 (faster: +ln 1.25 in the
    # direction of speed) and a throughput row predicted 125 against 100: shift ln 1.25 in both
    tpot = RowResult("T1", "serve", "h200-sxm", "m", "NVIDIA", "hopper", "tpot_ms", 100.0, 80.0, 0.2, False)
    rows += [tpot, _row(7, "hopper", predicted=125.0)]
    # publication C: a single row, too few for a shift of its own
    rows.append(_row(9, "hopper", predicted=300.0))
    rep = ValidationReport(rows)
    preds = {r.id: r.predicted for r in rows}
    src = {"R0": "A", "R1": "A", "R2": "A", "T1": "B", "R7": "B", "R9": "C"}
    sh = source_shifts(rep, preds, src, min_rows=2)
    assert sh["rows"] == 5 and sh["sources"] == 2
    assert sh["shifts"]["A"] == (3, pytest.approx(math.log(1.1)))
    assert sh["shifts"]["B"] == (2, pytest.approx(math.log(1.25)))
    assert list(sh["shifts"]) == ["B", "A"]                     # largest shift first
    # held out: A 10%, 21%, 0; B 20%, 25%
    assert sh["mape"] == pytest.approx((0.10 + 0.21 + 0.0 + 0.20 + 0.25) / 5, abs=1e-4)
    # within: A 0, 10%, 1 - 100/110; B both exact once moved by the shift
    assert sh["within_mape"] == pytest.approx((0.0 + 0.10 + (1 - 100 / 110)) / 5, abs=1e-4)
    # shift only: A 10% x 3; B: the TPOT row 1/1.25 - 1 = -20%, the throughput row +25%
    assert sh["shift_mape"] == pytest.approx((3 * 0.10 + 0.20 + 0.25) / 5, abs=1e-4)
    assert sh["rms_shift"] == pytest.approx(math.sqrt((3 * math.log(1.1) ** 2 + 2 * math.log(1.25) ** 2) / 5),
                                            abs=1e-4)
    text = "\n".join(source_shifts_md(sh))
    assert "| B | 2 | +25% |" in text and "| A | 3 | +10% |" in text
    # with the default of three rows per publication only A counts
    assert source_shifts(rep, preds, src)["sources"] == 1


def test_fold_jacobian_by_hand():
    # f(x) = (x0^2, 3 x1) at (2, 1): forward steps of 1% of the value (at least 0.01):
    # (2.02^2 - 4) / 0.02 = 4.02 and 3; at an upper bound the step goes backwards
    f = lambda x: np.array([x[0] ** 2, 3.0 * x[1]])  # noqa: E731
    J = C._fold_jacobian(f, np.array([2.0, 1.0]), np.array([0.0, 0.0]), np.array([10.0, 10.0]))
    assert J == pytest.approx(np.array([[4.02, 0.0], [0.0, 3.0]]))
    J = C._fold_jacobian(f, np.array([2.0, 1.0]), np.array([0.0, 0.0]), np.array([2.0, 10.0]))
    assert J[0, 0] == pytest.approx(3.98)          # (4 - 1.98^2) / 0.02
