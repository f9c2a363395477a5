"""Time of one forward step on a rank: roofline per operator, communication, overhead.

The step time of a pipeline stage is

    sum over operators of max(FLOPs / achieved FLOP/s, bytes / achieved B/s)
    + kernels x kernel_us                      (launch gaps, pipeline ramps)
    + exposed communication                    (TP all-reduce, EP all-to-all, PP send)
    + step overhead                            (scheduler, sampling)

with the achieved rates of :mod:`suanli.perf.hardware`, the operators of
:mod:`suanli.perf.ops` and the collectives of :mod:`suanli.perf.comm`. A step
may mix decode tokens (``decode_seqs`` sequences with ``q`` new tokens each
over ``ctx`` cached ones) with prefill tokens (``prefill_tokens`` tokens of
prompts ``prefill_len`` long), as chunked prefill does; the weights are read
once for both. Every numeric argument may be a numpy array.

Decode at batch 1 on a dense model is memory-bound: time ~ weight bytes /
achieved bandwidth.

>>> from suanli.perf.hardware import HardwareSpec
>>> from suanli.perf.ops import ModelShape, Dtypes
>>> m = ModelShape("d", layers=80, hidden=8192, heads=64, kv_heads=8, head_dim=128, vocab=32000,
...                intermediate=28672)
>>> hw = HardwareSpec.synthetic(bf16_tflops=989, fp8_tflops=1979, mem_bw_tbps=4.8, mem_gb=141)
>>> st = step_time(hw, m, Dtypes.of("fp8"), decode_seqs=1, ctx=1000)
>>> round(float(st.total) * 1e3, 1), st.bottleneck_name()     # ms; Llama-2-70B FP8 on an H200-like chip
(20.7, 'memory')
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from suanli.perf import comm
from suanli.perf.hardware import HardwareSpec
from suanli.perf.ops import Dtypes, ModelShape, Op, experts_touched_per_rank, step_ops

BOTTLENECKS = ("compute", "memory", "communication", "overhead")


def _a(x: Any) -> np.ndarray:
    return np.asarray(x, dtype=float)


@dataclass
class StepTime:
    """Seconds of one stage step on one rank, split by what bounds each part (arrays)."""

    compute: np.ndarray        # operators whose FLOPs bound them
    memory: np.ndarray         # operators whose bytes bound them
    communication: np.ndarray  # exposed collective time
    overhead: np.ndarray       # kernel launches and per-step host work
    flops: np.ndarray
    bytes: np.ndarray
    host: Any = None           # the engine's host work per request that the step shows (part of overhead)

    @property
    def total(self) -> np.ndarray:
        return self.compute + self.memory + self.communication + self.overhead

    def bottleneck(self) -> np.ndarray:
        """Index into :data:`BOTTLENECKS` of the largest part, per element."""
        return np.argmax(np.stack(np.broadcast_arrays(self.compute, self.memory, self.communication,
                                                      self.overhead)), axis=0)

    def bottleneck_name(self, index: int | None = None) -> str:
        b = np.asarray(self.bottleneck())
        return BOTTLENECKS[int(b.flat[index] if index is not None and b.size > 1 else b.flat[0])]

    def shares(self, index: int | None = None) -> dict[str, float]:
        """Share of the step per part, for one element."""
        parts = np.broadcast_arrays(self.compute, self.memory, self.communication, self.overhead)
        vals = [float(p.flat[index] if index is not None and p.size > 1 else p.flat[0]) for p in parts]
        tot = sum(vals) or 1.0
        return {k: v / tot for k, v in zip(BOTTLENECKS, vals)}


def _merge(dec: list[Op], pre: list[Op]) -> list[Op]:
    """One step holding both decode and prefill tokens: weights are read once."""
    by = {o.name: o for o in pre}
    out = []
    for o in dec:
        p = by.get(o.name)
        if p is None:
            out.append(o)
            continue
        # the decode op's other fields (its compute format: the FP8 dense parts of an FP4 MoE) carry over
        out.append(replace(o, flops=o.flops + p.flops, weight_bytes=np.maximum(o.weight_bytes, p.weight_bytes),
                           other_bytes=o.other_bytes + p.other_bytes, rows=_a(o.rows) + _a(p.rows)))
    return out


def roofline_parts(tc: Any, tm: Any, p: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """An operator's time from its compute time ``tc`` and memory time ``tm``, split into (compute, memory).

    ``p`` is the sharpness of the roofline: the time is the p-norm ``(tc^p + tm^p)^(1/p)``, which is
    ``max(tc, tm)`` as ``p`` grows (a kernel that overlaps its memory streaming with its math
    perfectly) and ``tc + tm`` at ``p = 1`` (no overlap). Near the ridge, where the two are close,
    real kernels fall between (``serving.roofline_blend`` = ``1 / p``, fitted; 0: the plain max). The time is
    attributed to compute and memory in the ratio ``tc^p : tm^p``.

    >>> [round(float(x), 3) for x in roofline_parts(2.0, 1.0)]
    [2.0, 0.0]
    >>> [round(float(x), 3) for x in roofline_parts(1.0, 1.0, 2.0)]
    [0.707, 0.707]
    >>> round(float(sum(roofline_parts(10.0, 1.0, 4.0))), 4)
    10.0002
    """
    tc, tm = _a(tc), _a(tm)
    if p is None or not np.isfinite(p):
        return np.where(tc >= tm, tc, 0.0), np.where(tc >= tm, 0.0, tm)
    hi = np.maximum(tc, tm)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(hi > 0, np.minimum(tc, tm) / hi, 0.0) ** p   # the smaller term's share, to the p
    t = hi * (1.0 + r) ** (1.0 / p)
    c = np.where(tc >= tm, t / (1.0 + r), t * r / (1.0 + r))
    return c, t - c


def step_time(
    hw: HardwareSpec,
    m: ModelShape,
    dtypes: Dtypes,
    *,
    decode_seqs: Any = 0,
    q: Any = 1,
    ctx: Any = 0,
    prefill_tokens: Any = 0,
    prefill_len: Any = 1,
    tp: Any = 1,
    dp: Any = 1,
    ep: Any = 1,
    pp: Any = 1,
    overlap: Any = None,
    step_overhead: bool = True,
    serving: bool = True,
    stream_interval: Any = 0,
) -> StepTime:
    """Time of one step of one pipeline stage on its busiest rank.

    Parameters
    ----------
    decode_seqs
        Sequences decoding in this stage's micro-batch (whole instance).
    q
        New tokens per decoding sequence (1, or 1 + draft tokens when verifying).
    ctx
        Cached tokens per decoding sequence.
    prefill_tokens, prefill_len
        Prompt tokens processed in the step (whole instance) and the prompt
        length they belong to (sets the causal attention span).
    tp, dp, ep, pp
        Parallel degrees (see :mod:`suanli.perf.ops`).
    overlap
        Share of EP all-to-all hidden behind compute; default: the ``comm.overlap``
        parameter (fitted on the serving rows, calibration.yaml) where attention DP and EP
        run together, else 0.
    serving
        Apply the software-maturity and engine factors (False: kernel level).
    stream_interval
        Steps between two responses to a streaming client (1: every token as it is made; 0: no
        streamed responses, an offline run). See ``stream_gather`` in hardware.yaml.
    """
    ds, pt, pl = _a(decode_seqs), _a(prefill_tokens), np.maximum(_a(prefill_len), 1.0)
    tp, dp, ep, pp = _a(tp), _a(dp), _a(ep), _a(pp)
    imb = float(hw.serving.get("moe_imbalance", 1.0))
    act, warn = hw.compute_dtype(dtypes.act)
    kw = dict(tp=tp, dp=dp, ep=ep, pp=pp, imbalance=imb)
    has_dec = bool(np.any(ds > 0))
    has_pre = bool(np.any(pt > 0))
    if has_dec:
        ops = step_ops(m, dtypes, seqs=ds, q=q, ctx=ctx, **kw)
        if has_pre:
            pre = step_ops(m, dtypes, seqs=pt / pl, q=pl, ctx=0.0, prefill=True, **kw)
            if np.any(dp > 1):
                # attention-DP: prompts arrive whole on one rank, and the expert all-to-all makes
                # every rank wait for the busiest one; its share of the prompt tokens is at least
                # one prompt (when any arrive) and at least the even share. The routed experts
                # still see the prompt tokens of all ranks spread over the EP group.
                busy = np.maximum(pt / dp, np.minimum(pt, pl))
                per_rank = step_ops(m, dtypes, seqs=busy * dp / pl, q=pl, ctx=0.0, prefill=True, **kw)
                pre = [b if b.name not in ("experts",) else o for o, b in zip(pre, per_rank)]
            ops = _merge(ops, pre)
    else:
        ops = step_ops(m, dtypes, seqs=pt / pl, q=pl, ctx=0.0, prefill=True, **kw)

    mem = hw.mem_rate(serving=serving)
    blend = float(hw.serving.get("roofline_blend") or 0.0) if serving else 0.0
    sharp = 1.0 / blend if blend > 0 else None
    comp = np.asarray(0.0)
    memt = np.asarray(0.0)
    kernels = np.asarray(0.0)
    flops = np.asarray(0.0)
    byts = np.asarray(0.0)
    for o in ops:
        if o.engine == "mm":
            od = hw.compute_dtype(o.dtype)[0] if o.dtype else act
            rate = hw.matmul_rate(od, np.maximum(_a(o.rows), 1e-9), serving=serving)
            if o.k_parts and hw.gemm_k_ref:
                # each GEMM's output write after its K loop (HardwareSpec.k_util): the FLOP-weighted
                # harmonic mean over the operator's GEMMs
                rate = rate / sum(sh / hw.k_util(np.maximum(_a(k), 1.0), od) for sh, k in o.k_parts)
        elif o.engine == "attn":
            rate = (hw.attn_rate(dtypes.kv, serving=serving, attention=m.attention)
                    * float(hw.attn_scale.get(m.attention, 1.0)))
        else:
            rate = hw.matmul_rate("bf16", 1e9, serving=serving)
        tc = o.flops / rate
        tm = o.bytes / mem
        c_part, m_part = roofline_parts(tc, tm, sharp)
        comp = comp + c_part
        memt = memt + m_part
        kernels = kernels + _a(o.kernels)
        flops = flops + o.flops
        byts = byts + o.bytes
    compute_part = comp + memt  # the roofline part, used for overlap below

    # --- communication ------------------------------------------------------------
    h = m.hidden
    tokens_rank = (ds * _a(q) + pt) / dp              # tokens through one attention group
    L_stage = m.layers / pp
    moe_frac = m.moe_layers / m.layers if m.layers else 0.0
    act_b = 2.0
    # TP all-reduce after attention and after each FFN / MoE block (MoE inside a TP group)
    ar_per_layer = np.where(dp > 1, 1.0 + (1.0 - moe_frac), 2.0)
    t_ar = comm.allreduce_time(hw, tokens_rank * h * act_b, tp) * ar_per_layer * L_stage
    # EP all-to-all (attention-DP): dispatch in the activation format, combine in BF16
    disp_b = 1.0 if act in ("fp8", "int8", "fp4") else 2.0
    ep_on = (dp > 1) & (ep > 1)
    legs = (tokens_rank * h * disp_b, tokens_rank * h * 2.0)   # the rank's tokens x hidden x bytes
    t_a2a = sum(comm.alltoall_time(hw, b * m.top_k, ep) for b in legs)
    if hw.serving.get("prefill_dispatch_per_node"):
        # a step with prompt tokens runs the engine's throughput kernels (DeepEP normal): one copy of
        # a token per destination node, forwarded there over the scale-up links
        t_a2a = np.where(pt > 0, sum(comm.alltoall_per_node_time(hw, b, m.top_k, ep) for b in legs), t_a2a)
    t_a2a = np.where(ep_on, t_a2a * L_stage * moe_frac, 0.0)
    ov = np.where(ep_on, float(hw.comm.get("overlap", 0.8)), 0.0) if overlap is None else _a(overlap)
    t_a2a_exp = comm.exposed(t_a2a, compute_part, ov)
    t_pp = np.where(pp > 1, comm.p2p_time(hw, tokens_rank * h * act_b, cross_domain=tp * dp * pp > hw.domain_ranks), 0.0)
    comm_t = t_ar + t_a2a_exp + t_pp

    overhead = kernels * hw.kernel_us * 1e-6
    host = 0.0
    if step_overhead:
        # host work per scheduling iteration: with pp > 1 every micro-batch is one iteration
        overhead = overhead + float(hw.serving.get("step_overhead_ms", 0.0)) * 1e-3
        # an eager engine (no graph capture) dispatches every layer's kernels from the host each step
        overhead = overhead + float(hw.serving.get("layer_overhead_us", 0.0)) * 1e-6 * L_stage
        # ... and, looping over the experts, each expert a step touches on this rank in every MoE layer
        e_us = float(hw.serving.get("expert_us", 0.0))
        if e_us and m.is_moe and m.moe_layers:
            touched = experts_touched_per_rank(m.experts, m.top_k, ds * _a(q) + pt, ep)
            overhead = overhead + e_us * 1e-6 * touched * m.moe_layers / pp
        # host work per request per step (scheduling, sampling, detokenisation): each
        # attention-DP rank runs its own scheduler over its share of the batch; an engine that
        # gathers every rank's streamed responses to one rank (stream_gather) does it there for all
        handled = ds / dp
        if hw.serving.get("stream_gather"):
            # the other ranks' streamed responses, one per request every stream_interval steps
            si = _a(stream_interval)
            handled = handled + np.where(si > 0, (ds - ds / dp) / np.maximum(si, 1.0), 0.0)
        host = _a(hw.request_us) * 1e-6 * handled
        if hw.serving.get("overlap_host"):
            # an overlap scheduler prepares the next batch on the CPU while the accelerator runs
            # this one: the host work shows only where it outlasts the device's step
            host = np.maximum(host - (compute_part + comm_t + overhead), 0.0)
        overhead = overhead + host
    shape = np.broadcast_shapes(*(np.shape(x) for x in (comp, memt, comm_t, overhead)))
    b = lambda x: np.broadcast_to(x, shape).astype(float)  # noqa: E731
    return StepTime(b(comp), b(memt), b(comm_t), b(overhead), b(flops), b(byts), b(host))


def gemm_tflops(hw: HardwareSpec, m: Any, n: Any, k: Any, dtype: str) -> np.ndarray:
    """Achieved TFLOP/s of one GEMM at kernel level (microbenchmark prediction)."""
    from suanli.perf.hardware import gemm_time

    return 2 * _a(m) * _a(n) * _a(k) / gemm_time(hw, m, n, k, dtype) / 1e12
