"""Physical invariants of the performance models, inference and training (hypothesis).

* more memory bandwidth, FLOPS or interconnect bandwidth never makes a prediction slower;
* more chips never give less total throughput at the optimum;
* more memory never gives fewer feasible configurations.

The hardware is varied by replacing figures of a catalog chip's ``HardwareSpec`` (the same
object the predictions build), so each example compares one model against itself with a
single figure changed. Examples are few and the contexts cached: the file runs in a few seconds.
"""
from __future__ import annotations

import dataclasses
from functools import lru_cache

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from suanli.catalog import get_catalog
from suanli.errors import SuanliError
from suanli.perf import training as T
from suanli.perf.search import Request, _run, predict_serve, prepare

CAT = get_catalog()
FAST = settings(max_examples=20, deadline=None)

# (hardware, model, chips, global batch, sequence): dense, MoE, MLA, two-die Ascend, AMD
TRAIN_CASES = [
    ("h100-sxm", "llama-3.1-70b", 64, 256, 4096),
    ("h800-sxm", "deepseek-v2-lite", 16, 64, 4096),
    ("ascend-910c", "llama-3.1-8b", 8, 64, 4096),
    ("h20", "mixtral-8x7b", 32, 128, 4096),
    ("mi300x", "qwen3-30b-a3b", 16, 64, 4096),
]


@lru_cache(maxsize=None)
def _train_grid(case):
    hw, model, chips, gbs, seq = case
    ctx = T._context(CAT, hw, model, chips, seq, gbs, None, None)
    return ctx, T._candidate_grid(ctx, {})


def _scaled(spec, what: str, f: float):
    """``spec`` with one figure multiplied by ``f`` (peaks: every format at once)."""
    if what == "flops":
        return spec.replace(peaks_tflops={k: (None if v is None else v * f) for k, v in spec.peaks_tflops.items()})
    field = {"bw": "mem_bw_tbps", "scaleup": "scaleup_gbps", "scaleout": "scaleout_gbps", "mem": "mem_gb"}[what]
    return spec.replace(**{field: getattr(spec, field) * f})


def _train_eval(case, what, f, dtype):
    ctx, lay = _train_grid(case)
    ev0 = T.evaluate_layouts(ctx, lay, dtype)
    ev1 = T.evaluate_layouts(dataclasses.replace(ctx, spec=_scaled(ctx.spec, what, f)), lay, dtype)
    return lay, ev0, ev1


def _optimum(ev):
    return float(np.min(np.where(ev["fits"], ev["step_time_s"], np.inf)))


# ----------------------------------------------------------------------------- training
@FAST
@given(case=st.sampled_from(TRAIN_CASES), what=st.sampled_from(["bw", "flops", "scaleup", "scaleout"]),
       f=st.floats(1.0, 4.0), dtype=st.sampled_from(["bf16", "fp8"]))
def test_training_more_bandwidth_or_flops_never_slower_at_the_optimum(case, what, f, dtype):
    _, ev0, ev1 = _train_eval(case, what, f, dtype)
    assert np.array_equal(ev0["fits"], ev1["fits"])            # none of these figures changes memory
    assert _optimum(ev1) <= _optimum(ev0) * (1 + 1e-9)


@FAST
@given(case=st.sampled_from(TRAIN_CASES), what=st.sampled_from(["scaleup", "scaleout"]), f=st.floats(1.0, 4.0))
def test_training_more_interconnect_never_slower_for_any_layout(case, what, f):
    """Every layout, not only the optimum: a faster link can only shorten the communication."""
    _, ev0, ev1 = _train_eval(case, what, f, "bf16")
    assert np.all(ev1["step_time_s"] <= ev0["step_time_s"] * (1 + 1e-9))


def test_training_fixed_layout_never_slower_with_more_flops():
    """Minimal reproduction: MI300X, Qwen3-30B-A3B, 16 chips, TP1 PP2 DP8 EP2 DualPipe mbs2 ZeRO-3, FP8.

    With compute time C, EP all-to-all A (overlap 0.95) and ZeRO-3 gathers G (overlap 0.9), all
    comm-bound, a micro-batch costs C + (A - 0.95 C) + (G - 0.9 C) = A + G - 0.85 C: it grows as C shrinks.
    """
    lay = dict(tp=1, pp=2, dp=8, cp=1, ep=2, vpp=1, mbs=2, zero=3, recompute=1, schedule=2)
    lay = {k: np.array([float(v)]) for k, v in lay.items()}
    ctx = T._context(CAT, "mi300x", "qwen3-30b-a3b", 16, 4096, 64, None, None)
    base = T.evaluate_layouts(ctx, lay, "fp8")["step_time_s"][0]
    faster = T.evaluate_layouts(dataclasses.replace(ctx, spec=_scaled(ctx.spec, "flops", 1.2)), lay, "fp8")
    assert faster["step_time_s"][0] <= base


@FAST
@given(case=st.sampled_from(TRAIN_CASES), f=st.floats(1.0, 4.0), dtype=st.sampled_from(["bf16", "fp8"]))
def test_training_more_memory_never_fewer_feasible_layouts(case, f, dtype):
    _, ev0, ev1 = _train_eval(case, "mem", f, dtype)
    assert not np.any(ev0["fits"] & ~ev1["fits"])               # every layout that fitted still fits
    # room to keep activations can only cut the layers 'full' recomputation redoes
    assert np.all(ev1["step_time_s"] <= ev0["step_time_s"] * (1 + 1e-9))
    assert _optimum(ev1) <= _optimum(ev0) * (1 + 1e-9)


@settings(max_examples=12, deadline=None)
@given(case=st.sampled_from([("h100-sxm", "llama-3.1-70b"), ("h800-sxm", "deepseek-v2-lite"),
                             ("ascend-910c", "llama-3.1-8b"), ("mi300x", "mixtral-8x7b")]),
       n=st.sampled_from([8, 16, 32, 64]), k=st.sampled_from([2, 4]))
def test_training_more_chips_never_less_total_throughput(case, n, k):
    hw, model = case
    kw = dict(seq_len=4096, global_batch=1024, dtype="bf16", catalog=CAT, top=0)
    try:
        small = T.predict_train(hw, model, chips=n, **kw)
    except SuanliError:                                          # does not fit on n chips: nothing to compare
        return
    big = T.predict_train(hw, model, chips=k * n, **kw)
    assert big.tps_per_chip * k * n >= small.tps_per_chip * n * (1 - 1e-9)
    # k times the chips can at most give k times the throughput (no superlinear speed-up beyond memory relief)
    assert big.tps_per_chip * k * n <= small.tps_per_chip * n * k * 1.5


# ----------------------------------------------------------------------------- inference
SERVE_CASES = [("h200-sxm", "llama-3.1-70b"), ("h20", "deepseek-v3"), ("ascend-910c", "qwen3-235b-a22b"),
               ("mi300x", "llama-3.1-8b"), ("h100-sxm", "mixtral-8x7b"), ("b200", "gpt-oss-120b")]


@settings(max_examples=25, deadline=None)
@given(case=st.sampled_from(SERVE_CASES), n=st.sampled_from([1, 2, 4, 8, 16, 32]), k=st.sampled_from([2, 4]),
       scenario=st.sampled_from(["offline", "server"]), isl=st.sampled_from([512, 2048, 8192]))
def test_serving_more_chips_never_less_total_throughput(case, n, k, scenario, isl):
    hw, model = case
    slo = dict(tpot_slo_ms=50.0, ttft_slo_ms=3000.0) if scenario == "server" else {}

    def total(chips):
        try:
            p = predict_serve(CAT, Request(hw, model, chips=chips, isl=isl, osl=512, scenario=scenario, **slo))
        except SuanliError:                                      # does not fit / no config meets the SLOs
            return 0.0
        return p.metrics["output_tps_per_chip"] * chips

    assert total(k * n) >= total(n) * (1 - 1e-6)


@lru_cache(maxsize=None)
def _serve_ctx(hw, model, chips):
    req = Request(hw, model, chips=chips, isl=2048, osl=512, tpot_slo_ms=60.0, ttft_slo_ms=4000.0, scenario="offline")
    return prepare(CAT, req), req


def _best(ctx, req, mode="decode"):
    ev, ok, _ = _run(ctx, req, mode)
    score = ev.out_tps_per_chip if mode != "prefill" else ev.in_tps_per_chip
    s = np.where(ok, np.broadcast_to(score, ok.shape), -np.inf)
    return float(np.max(s)) if np.isfinite(s).any() else 0.0


@FAST
@given(case=st.sampled_from([c + (8,) for c in SERVE_CASES]), what=st.sampled_from(["bw", "flops"]),
       f=st.floats(1.0, 4.0), mode=st.sampled_from(["decode", "prefill"]))
def test_serving_more_bandwidth_or_flops_never_lower_throughput_at_the_optimum(case, what, f, mode):
    """Under fixed SLOs the best feasible operating point only improves on a faster chip."""
    ctx, req = _serve_ctx(*case)
    better = dataclasses.replace(ctx, hw=_scaled(ctx.hw, what, f))
    assert _best(better, req, mode) >= _best(ctx, req, mode) * (1 - 1e-9)


@FAST
@given(case=st.sampled_from([c + (8,) for c in SERVE_CASES]), f=st.floats(1.0, 3.0),
       batch=st.sampled_from([1.0, 16.0, 128.0, 1024.0]))
def test_serving_more_memory_never_fewer_feasible_configurations(case, f, batch):
    ctx, req = _serve_ctx(*case)
    fixed = dataclasses.replace(req, batch_per_chip=batch, tpot_slo_ms=None, ttft_slo_ms=None)
    _, ok0, n0 = _run(ctx, fixed, "decode")
    _, ok1, n1 = _run(dataclasses.replace(ctx, hw=_scaled(ctx.hw, "mem", f)), fixed, "decode")
    assert n0 == n1                                               # same candidates, only memory changed
    assert not np.any(ok0 & ~ok1)
    # and the memory limit on the batch grows with the memory
    from suanli.perf.memory import max_seqs_per_rank

    m, dt = ctx.model, ctx.dtypes
    lo = max_seqs_per_rank(m, dt, mem_gb=ctx.hw.mem_gb, ctx=2560, serving=ctx.hw.serving)
    hi = max_seqs_per_rank(m, dt, mem_gb=ctx.hw.mem_gb * f, ctx=2560, serving=ctx.hw.serving)
    assert hi >= lo
