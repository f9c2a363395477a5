"""Step times: the physics of decode and prefill, and monotonicity properties."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from suanli.perf.hardware import HardwareSpec
from suanli.perf.inference import step_time
from suanli.perf.ops import Dtypes, ModelShape

LLAMA70 = ModelShape("llama-2-70b", layers=80, hidden=8192, heads=64, kv_heads=8, head_dim=128, vocab=32000,
                     intermediate=28672)
MOE = ModelShape("moe", layers=24, hidden=4096, heads=32, kv_heads=8, head_dim=128, vocab=32000,
                 intermediate=14336, experts=64, top_k=4, moe_intermediate=1408, dense_layers=1, moe_layers=23)


def h200(**kw):
    base = dict(bf16_tflops=989.4, fp8_tflops=1978.9, mem_bw_tbps=4.8, mem_gb=141.0)
    base.update(kw)
    return HardwareSpec.synthetic(**base)


def test_decode_batch1_dense_is_weight_bytes_over_bandwidth():
    """Llama-2-70B FP8 on one H200 at batch 1: ~70 GB / (0.835 x 4.8 TB/s x maturity) + kernel gaps."""
    hw = h200()
    st_ = step_time(hw, LLAMA70, Dtypes.of("fp8"), decode_seqs=1, ctx=512, step_overhead=False, serving=False)
    # FP8 weights (one FP32 scale per 128 x 128 block: 4/16384 byte per element) plus the BF16
    # LM head; the input embedding is only looked up
    weight_bytes = (LLAMA70.total_params - 2 * LLAMA70.embed_params) * (1 + 4 / 128**2) + LLAMA70.embed_params * 2
    achieved_bw = 4.8e12 * 0.835
    expected = weight_bytes / achieved_bw
    assert float(st_.memory) == pytest.approx(expected, rel=0.05)
    assert float(st_.total) == pytest.approx(expected + float(st_.overhead), rel=0.05)
    assert st_.bottleneck_name() == "memory"
    assert 0.015 < float(st_.total) < 0.025


def test_prefill_is_compute_bound():
    st_ = step_time(h200(), LLAMA70, Dtypes.of("fp8"), prefill_tokens=8192, prefill_len=8192)
    assert st_.bottleneck_name() == "compute"


@settings(max_examples=25, deadline=None)
@given(bw=st.floats(0.5, 10), more=st.floats(1.0, 4.0), batch=st.integers(1, 1024), ctx=st.integers(1, 32768))
def test_more_bandwidth_never_slower(bw, more, batch, ctx):
    for m in (LLAMA70, MOE):
        a = step_time(h200(mem_bw_tbps=bw), m, Dtypes.of("bf16"), decode_seqs=batch, ctx=ctx, tp=2).total
        b = step_time(h200(mem_bw_tbps=bw * more), m, Dtypes.of("bf16"), decode_seqs=batch, ctx=ctx, tp=2).total
        assert float(b) <= float(a) * (1 + 1e-9)


@settings(max_examples=25, deadline=None)
@given(fl=st.floats(50, 5000), more=st.floats(1.0, 4.0), batch=st.integers(1, 2048), pre=st.integers(0, 16384))
def test_more_flops_never_slower(fl, more, batch, pre):
    for m in (LLAMA70, MOE):
        kw = dict(decode_seqs=batch, ctx=2048, prefill_tokens=pre, prefill_len=2048)
        a = step_time(h200(bf16_tflops=fl, fp8_tflops=2 * fl), m, Dtypes.of("fp8"), **kw).total
        b = step_time(h200(bf16_tflops=fl * more, fp8_tflops=2 * fl * more), m, Dtypes.of("fp8"), **kw).total
        assert float(b) <= float(a) * (1 + 1e-9)


def test_vectorized_over_thousands_of_candidates():
    n = 5000
    rng = np.random.default_rng(0)
    tp = 2.0 ** rng.integers(0, 4, n)
    batch = rng.integers(1, 512, n).astype(float)
    st_ = step_time(h200(), MOE, Dtypes.of("fp8"), decode_seqs=batch, ctx=2048, tp=tp, ep=tp)
    assert st_.total.shape == (n,)
    assert np.all(np.isfinite(st_.total)) and np.all(st_.total > 0)
