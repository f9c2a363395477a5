"""Invariants of serving that hold by physics, whatever the fitted parameters (hypothesis).

* the server scenario never beats offline throughput for the same system and settings;
* a looser SLO never gives less throughput;
* a longer context (longer prompts, a wider spread of output lengths) never gives a shorter TPOT
  at the same batch, nor more throughput at the optimum;
* the engine's cap on sequences per rank is never exceeded;
* no predicted bandwidth, throughput or latency is zero, negative or NaN for any valid input.
"""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from suanli.catalog import get_catalog
from suanli.errors import SuanliError
from suanli.perf import comm
from suanli.perf.hardware import HardwareSpec
from suanli.perf.lengths import Lengths, length_stats
from suanli.perf.search import Request, predict_phase, predict_serve

CAT = get_catalog()
SOME = settings(max_examples=12, deadline=None)
CASES = [("h200-sxm", "llama-3.1-70b", 8), ("b200", "deepseek-v3", 8), ("ascend-910c", "qwen3-32b", 8),
         ("mi300x", "mixtral-8x7b", 8), ("h20", "deepseek-v3", 16)]


def _out(req: Request) -> float:
    try:
        return predict_serve(CAT, req).metrics["output_tps_per_chip"]
    except SuanliError:  # nothing fits / nothing meets the SLOs: zero throughput
        return 0.0


# ----------------------------------------------------------------------------- lengths, by hand
def test_token_weighted_context_by_hand():
    # exponential output lengths (CV 1): E[L^2] / E[L] = 2 osl, so a decode step reads isl + osl
    assert float(Lengths(1000, 500, osl_cv=1.0).decode_ctx) == pytest.approx(1500.0)
    # fixed lengths: isl + osl / 2 read, isl + osl reserved (today's rule)
    L = Lengths(1000, 500)
    assert (float(L.decode_ctx), float(L.kv_tokens), float(L.prefill_span)) == (1250.0, 1500.0, 1000.0)
    # a cap bounds the reservation: isl + min(osl (1 + cv^2), osl_max)
    assert float(Lengths(800, 3736, osl_cv=1.114, osl_max=5000).kv_tokens) == pytest.approx(5800.0)
    # the statistics of a length list: two prompts of 100 and 300 tokens: mean 200, std 100
    s = length_stats([100, 300], [50, 50])
    assert (s["isl"], s["isl_cv"], s["osl_cv"], s["osl_max"]) == (200.0, 0.5, 0.0, 50.0)


def test_fixed_lengths_reproduce_the_fixed_length_model():
    req = Request("h200-sxm", "llama-3.1-70b", chips=8, isl=2048, osl=512)
    a = predict_serve(CAT, req).metrics
    b = predict_serve(CAT, replace(req, isl_cv=0.0, osl_cv=0.0)).metrics
    assert a == b


# ----------------------------------------------------------------------------- invariants
@SOME
@given(case=st.sampled_from(CASES), tpot=st.sampled_from([30.0, 60.0, 120.0]),
       ttft=st.sampled_from([1000.0, 3000.0]), osl_cv=st.sampled_from([0.0, 1.1]))
def test_server_never_beats_offline(case, tpot, ttft, osl_cv):
    hw, model, chips = case
    base = Request(hw, model, chips=chips, isl=1024, osl=1024, osl_cv=osl_cv)
    offline = _out(base)
    server = _out(replace(base, scenario="server", tpot_slo_ms=tpot, ttft_slo_ms=ttft))
    assert server <= offline * (1 + 1e-9)


@SOME
@given(case=st.sampled_from(CASES), tpot=st.sampled_from([20.0, 40.0, 80.0]), f=st.sampled_from([1.5, 3.0]),
       scenario=st.sampled_from(["offline", "server"]))
def test_looser_slo_never_less_throughput(case, tpot, f, scenario):
    hw, model, chips = case
    req = Request(hw, model, chips=chips, isl=2048, osl=512, scenario=scenario, tpot_slo_ms=tpot,
                  ttft_slo_ms=3000.0)
    assert _out(replace(req, tpot_slo_ms=tpot * f, ttft_slo_ms=3000.0 * f)) >= _out(req) * (1 - 1e-9)


@SOME
@given(case=st.sampled_from(CASES), batch=st.sampled_from([1.0, 8.0, 64.0]), isl=st.sampled_from([256, 2048]),
       f=st.sampled_from([2.0, 4.0]))
def test_longer_context_never_shorter_tpot(case, batch, isl, f):
    hw, model, chips = case
    req = Request(hw, model, chips=chips, isl=isl, osl=256, batch_per_chip=batch, scenario="fixed")
    try:
        short = predict_phase(CAT, req, "decode").metrics["tpot_ms"]
        long_ = predict_phase(CAT, replace(req, isl=isl * f), "decode").metrics["tpot_ms"]
        spread = predict_phase(CAT, replace(req, osl_cv=1.0), "decode").metrics["tpot_ms"]
    except SuanliError:  # the longer context does not fit at this batch: nothing to compare
        return
    assert long_ >= short * (1 - 1e-9)
    assert spread >= short * (1 - 1e-9)


@SOME
@given(case=st.sampled_from(CASES), cv=st.sampled_from([0.5, 1.0, 2.0]))
def test_wider_output_spread_never_more_throughput(case, cv):
    # among varied lengths (requests staggered, KV taken as tokens arrive): CV 0 is another
    # regime, a closed loop in waves whose requests all hold their final length at once
    hw, model, chips = case
    req = Request(hw, model, chips=chips, isl=1024, osl=1024, osl_cv=0.25)
    assert _out(replace(req, osl_cv=cv)) <= _out(req) * (1 + 1e-9)


def test_staggered_requests_hold_their_current_context_by_hand():
    from suanli.perf.memory import kv_bytes_per_seq_rank, max_seqs_per_rank, memory_per_rank
    from suanli.perf.search import prepare

    # fixed lengths: waves, each request at its final length; varied: the mean current context
    assert (float(Lengths(1000, 500).kv_ctx), float(Lengths(1000, 500).kv_spread)) == (1500.0, 0.0)
    L = Lengths(1000, 500, osl_cv=1.0)
    assert float(L.kv_ctx) == pytest.approx(1500.0)          # isl + osl (1 + 1) / 2
    # margin z_99 cv_c, cv_c by hand: exponential output of mean 500, length-biased (gamma k = 2,
    # mean 1000, E[L'^2] = 1.5e6), uniform position: E[UL'] = 500, E[(UL')^2] = 5e5, sd 500
    assert float(L.kv_spread) == pytest.approx(2.3263 * 500 / 1500, rel=1e-4)
    # the largest n with n + a sqrt(n) sequences' worth of KV in the free memory
    ctx = prepare(CAT, Request("h200-sxm", "llama-3.1-70b", chips=8, isl=1000, osl=500), None)
    m, dt, sv = ctx.model, ctx.dtypes, ctx.hw.serving
    a = float(L.kv_spread)
    n = float(max_seqs_per_rank(m, dt, mem_gb=ctx.hw.mem_gb, ctx=1500.0, spread=a, tp=8, serving=sv))
    n0 = float(max_seqs_per_rank(m, dt, mem_gb=ctx.hw.mem_gb, ctx=1500.0, tp=8, serving=sv))
    per = float(kv_bytes_per_seq_rank(m, dt, 1500.0, 8, 1))
    assert n + a * math.sqrt(n) <= n0 + 1 < (n + 1) + a * math.sqrt(n + 1) + 1
    fit = memory_per_rank(m, dt, mem_gb=ctx.hw.mem_gb, seqs_per_rank=n, ctx=1500.0, step_tokens=0, tp=8,
                          serving=sv, spread=a)
    assert float(fit.kv_cache) == pytest.approx(per * (n + a * math.sqrt(n))) and bool(fit.fits)


@SOME
@given(case=st.sampled_from(CASES), cap=st.sampled_from([4, 32, 128]))
def test_engine_batch_cap_is_never_exceeded(case, cap):
    hw, model, chips = case
    try:
        p = predict_serve(CAT, Request(hw, model, chips=chips, isl=1024, osl=1024, max_batch_per_rank=cap))
    except SuanliError:
        return
    c = p.config
    assert c["batch_per_instance"] <= cap * c["dp"] * c["pp"] + 1e-9
    assert c["engine_limits"]["source"]["max_batch_per_rank"] == "request"


# ----------------------------------------------------------------------------- no zero, no NaN
def _chips_with_peaks():
    out = []
    for hid, acc in sorted(CAT.accelerators.items()):
        try:
            HardwareSpec.from_catalog(CAT, hid, chips=8)
        except SuanliError:
            continue
        out.append(hid)
    return out


CHIPS = _chips_with_peaks()


@settings(max_examples=40, deadline=None)
@given(hw=st.sampled_from(CHIPS), nbytes=st.floats(1.0, 2.0 ** 34), n=st.sampled_from([2, 4, 8, 16, 64, 256]))
def test_collectives_are_positive_and_finite(hw, nbytes, n):
    spec = HardwareSpec.from_catalog(CAT, hw, chips=max(n, 8))
    for t in (comm.allreduce_time(spec, nbytes, n), comm.alltoall_time(spec, nbytes, n),
              comm.allgather_time(spec, nbytes, n), comm.p2p_time(spec, nbytes)):
        assert math.isfinite(float(t)) and float(t) > 0


@settings(max_examples=60, deadline=None)
@given(hw=st.sampled_from(CHIPS), nbytes=st.floats(1024.0, 16.0 * 2 ** 30), n=st.integers(2, 1024),
       kind=st.sampled_from(["allreduce", "alltoall"]), metric=st.sampled_from(["busbw_gbps", "latency_us"]),
       engine=st.sampled_from(["nccl", "deepep"]))
def test_micro_rows_are_positive_and_finite(hw, nbytes, n, kind, metric, engine):
    """Every predicted bus bandwidth and latency of a collective row: 1 KB to 16 GB, 2 to 1024 ranks."""
    from suanli.perf.validate import Skip, predict_row

    row = {"id": "x", "kind": kind, "hardware": hw, "chips": str(n), "bytes": repr(nbytes), "metric": metric,
           "engine": engine, "ep": str(n) if kind == "alltoall" else ""}
    try:
        v = predict_row(row, CAT)
    except Skip:
        return  # refused with a reason (no system that large, ...): not a number
    assert math.isfinite(v) and v > 0, (row, v)


@settings(max_examples=60, deadline=None)
@given(hw=st.sampled_from(CHIPS), m=st.integers(1, 65536), n=st.integers(1, 65536), k=st.integers(1, 65536),
       dt=st.sampled_from(["bf16", "fp8", "int8", "fp4"]))
def test_gemm_throughput_is_positive_and_finite(hw, m, n, k, dt):
    """GEMM TFLOP/s with tile and wave quantisation, for any shape on every chip with the peaks."""
    from suanli.perf.inference import gemm_tflops

    spec = HardwareSpec.from_catalog(CAT, hw)
    v = float(gemm_tflops(spec, m, n, k, dt))
    assert math.isfinite(v) and v > 0
    assert 0 < float(spec.wave_util(m, n)) <= 1.0


@settings(max_examples=40, deadline=None)
@given(hw=st.sampled_from(CHIPS), k1=st.integers(16, 65536), k2=st.integers(16, 65536))
def test_a_longer_k_loop_never_lowers_the_gemm_rate(hw, k1, k2):
    """The output write after the K loop is a fixed cost per tile: the rate rises with K, towards a limit."""
    from suanli.perf.inference import gemm_tflops

    spec = HardwareSpec.from_catalog(CAT, hw)
    lo, hi = sorted((k1, k2))
    a, b = (float(gemm_tflops(spec, 8192, 8192, k, "bf16")) for k in (lo, hi))
    assert b >= a * (1 - 1e-9)


def test_short_k_rate_by_hand():
    """K / (K + k0) with k0 = out_bytes x R / (2 BW), relative to K = 8192, on an H800 in FP8."""
    from suanli.perf.inference import gemm_tflops

    spec = HardwareSpec.from_catalog(CAT, "h800-sxm")
    k0 = 2.0 * float(spec.matmul_rate("fp8", 1e12)) / (2.0 * float(spec.mem_rate()))
    assert 400 < k0 < 600                          # ~500 K-elements: the write of a BF16 output tile
    m, n = 8192, 8192                              # compute-bound at both K
    for k in (512, 1536, 8192, 16384):
        rate = float(spec.matmul_rate("fp8", m) * spec.wave_util(m, n)) * (k / (k + k0)) / (8192 / (8192 + k0))
        t = 2 * m * n * k / rate + spec.kernel_us * 1e-6
        assert float(gemm_tflops(spec, m, n, k, "fp8")) == pytest.approx(2 * m * n * k / t / 1e12, rel=1e-9)


@settings(max_examples=25, deadline=None)
@given(hw=st.sampled_from(CHIPS), model=st.sampled_from(["llama-3.1-8b", "qwen3-30b-a3b"]),
       isl=st.sampled_from([128, 4096]), cv=st.sampled_from([0.0, 1.0]))
def test_serving_predictions_are_positive_and_finite(hw, model, isl, cv):
    try:
        p = predict_serve(CAT, Request(hw, model, chips=8, isl=isl, osl=256, osl_cv=cv, isl_cv=cv,
                                       weight_dtype="bf16"))
    except SuanliError:
        return  # refused with a reason (does not fit): not a number
    for k in ("output_tps_per_chip", "input_tps_per_chip", "total_tps_per_chip", "tpot_ms", "ttft_ms"):
        v = p.metrics[k]
        assert math.isfinite(v) and v > 0, (k, v)


@pytest.mark.parametrize("ep,nbytes", [(8, 28 * 2 ** 20), (8, 2 ** 20), (64, 7 * 2 ** 20), (256, 2 ** 20)])
def test_moe_dispatch_bus_bandwidth_never_zero(catalog, ep, nbytes):
    """DeepEP's bus bandwidth inside one NVLink domain is the NVLink traffic, not the (absent) RDMA traffic."""
    from suanli.perf.validate import predict_row

    row = {"id": "x", "kind": "alltoall", "hardware": "h800-sxm", "chips": str(ep), "system": "hgx-8",
           "bytes": str(nbytes), "metric": "busbw_gbps", "engine": "deepep"}
    v = predict_row(row, catalog)
    assert math.isfinite(v) and v > 0
    if ep == 8 and nbytes > 2 ** 24:
        # large intranode dispatch: DeepEP's README reports ~153-158 GB/s over NVLink on H800
        assert 0.7 * 153 < v < 1.3 * 158
    assert np.isfinite(v)


@pytest.mark.parametrize("hw,model", [("h200-sxm", "llama-3.1-8b"), ("ascend-910b2", "qwen3-32b")])
def test_one_request_in_flight_is_one_request_of_throughput(hw, model):
    """Concurrency 1 on 8 chips: the system makes one request's tokens/s, whatever the layout."""
    p = predict_serve(CAT, Request(hw, model, chips=8, isl=128, osl=1024, concurrency=1, scenario="fixed",
                                   weight_dtype="bf16"))
    system = p.metrics["output_tps_per_chip"] * 8
    assert system <= 1000.0 / p.metrics["tpot_ms"] * (1 + 1e-6)
