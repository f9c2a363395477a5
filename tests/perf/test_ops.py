"""Operator counts: FLOPs, bytes and KV cache of decoder layers."""
from __future__ import annotations

import numpy as np
import pytest

from suanli.perf.ops import Dtypes, ModelShape, dtype_bytes, expected_experts, op_totals, step_ops


@pytest.fixture(scope="module")
def ds(catalog):
    return ModelShape.from_arch(catalog.model("deepseek-v3"))


@pytest.fixture(scope="module")
def llama70(catalog):
    return ModelShape.from_arch(catalog.model("llama-3.1-70b"))


def test_param_counts_match_catalog(catalog):
    for mid in ("deepseek-v3", "llama-3.1-70b", "mixtral-8x7b", "qwen3-235b-a22b", "gpt-oss-120b"):
        arch = catalog.model(mid)
        s = ModelShape.from_arch(arch)
        assert s.total_params == pytest.approx(arch.total_params, rel=0.005), mid


def test_deepseek_weights_not_overcounted(ds):
    # GenZ overcounts DeepSeek-V3 ~9x; 671B parameters -> ~0.68 TB in FP8
    assert ds.total_params / 1e9 == pytest.approx(671, rel=0.01)
    assert ds.active_params / 1e9 == pytest.approx(37.5, rel=0.03)


def test_mla_kv_cache_is_the_latent(ds):
    # 61 layers x (512 + 64) x 2 bytes = 70,272 bytes per token in BF16 (PERF-NOTES: ~69 KB)
    assert ds.kv_bytes_per_token("bf16") == 61 * 576 * 2
    assert ds.kv_bytes_per_token("fp8") == 61 * 576


def test_expected_experts_formula():
    e = expected_experts(256, 8, np.array([1, 1000]))
    assert e[0] == pytest.approx(8.0)
    assert e[1] == pytest.approx(256 * (1 - (1 - 8 / 256) ** 1000))
    assert expected_experts(0, 0, 5) == 0


def test_decode_reads_each_weight_once_and_prefill_is_quadratic(llama70):
    dt = Dtypes.of("bf16")
    one = op_totals(step_ops(llama70, dt, seqs=1, q=1, ctx=0))
    w = llama70.total_params * 2 - llama70.embed_params * 2  # input embedding is only looked up
    assert float(one["weight_bytes"]) == pytest.approx(w, rel=0.01)
    att = lambda n: float(next(o for o in step_ops(llama70, dt, seqs=1, q=n, ctx=0, prefill=True)  # noqa: E731
                               if o.name == "attention").flops)
    assert att(8192) / att(4096) == pytest.approx(4.0, rel=0.01)


def test_mla_decode_cache_read_not_split_by_tp(ds):
    dt = Dtypes.of("fp8")
    kv = lambda tp: float(next(o for o in step_ops(ds, dt, seqs=4, q=1, ctx=4096, tp=tp)  # noqa: E731
                                if o.name == "attention").other_bytes)
    assert kv(8) == pytest.approx(kv(1), rel=0.01)


def test_fp4_moe_keeps_dense_weights_in_fp8(ds):
    dt = Dtypes.of("fp4")
    assert dt.dense == "fp8" and dt.act == "fp4"
    assert dtype_bytes("fp4") < dtype_bytes("fp8")


def test_ops_broadcast_over_arrays(ds):
    tp = np.array([1, 2, 4, 8])[:, None]
    seqs = np.array([1.0, 64, 512])[None, :]
    tot = op_totals(step_ops(ds, Dtypes.of("fp8"), seqs=seqs, q=1, ctx=2048, tp=tp))
    assert np.shape(tot["flops"]) == (4, 3)
    assert np.all(np.diff(tot["flops"], axis=1) > 0)
