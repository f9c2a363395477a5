"""Training step time and memory of arrays of parallel layouts: the vectorized core of the training model.

Split from :mod:`suanli.perf.training` (which re-exports :func:`evaluate_layouts` and runs the search
over its results). See that module's docstring for the physics.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from suanli.errors import SuanliError
from suanli.perf import comm
from suanli.perf.hardware import HardwareSpec
from suanli.perf.ops import Dtypes, ModelShape, step_ops

if TYPE_CHECKING:
    from suanli.perf.training import _Ctx

TRAIN_DTYPES = ("bf16", "fp8", "fp4")
GB = 1e9


def _val(x: Any) -> float:
    return float(x["value"] if isinstance(x, dict) else x)


def _train_dtype(spec: HardwareSpec, dtype: str) -> tuple[str, str | None]:
    """Matmul format a training dtype runs in on this chip (FP8/FP4 fall back towards BF16, never INT8)."""
    if dtype not in TRAIN_DTYPES:
        raise SuanliError(f"unknown training dtype {dtype!r}", hint=f"one of {', '.join(TRAIN_DTYPES)}")
    order = TRAIN_DTYPES[: TRAIN_DTYPES.index(dtype) + 1][::-1]
    for d in order:
        if spec.peaks_tflops.get(d) is not None:
            return d, (None if d == dtype else f"{spec.hardware} has no {dtype} peak: training runs in {d}")
    return "bf16", None


def _a(x: Any) -> np.ndarray:
    return np.asarray(x, dtype=float)


def _spec_stride(spec: HardwareSpec, stride: float) -> HardwareSpec:
    """The spec as seen by a group whose ranks are ``stride`` apart: fewer of them share a domain."""
    d = max(int(spec.domain_ranks // max(stride, 1)), 1)
    return spec if d == spec.domain_ranks else spec.replace(domain_ranks=d)


def _by_stride(fn, spec: HardwareSpec, stride: np.ndarray, nbytes: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Apply a comm function per distinct group stride (a handful of values), vectorised inside."""
    stride, nbytes, n = np.broadcast_arrays(_a(stride), _a(nbytes), _a(n))
    out = np.zeros(stride.shape)
    for s in np.unique(stride):
        sel = stride == s
        out[sel] = fn(_spec_stride(spec, float(s)), nbytes[sel], n[sel])
    return out


def _stage_params(m: ModelShape) -> tuple[float, float, float]:
    """(non-expert params per layer on average, routed-expert params per layer on average, embedding params)."""
    L = m.layers
    dense = m.attn_params * L + m.ffn_params(m.intermediate) * m.dense_layers + 2 * m.hidden * L
    routed = 0.0
    if m.is_moe:
        dense += m.moe_layers * (m.shared_experts * m.expert_params + m.hidden * m.experts)
        routed = m.moe_layers * m.experts * m.expert_params
    return dense / L, routed / L, float(m.embed_params)


def _act_bytes_per_token_layer(m: ModelShape, tp: np.ndarray, recompute: np.ndarray, *, lora: bool = False) -> np.ndarray:
    """Activation bytes one layer keeps per token for its backward (BF16, sequence parallel over ``tp``).

    Saved tensors: the two norm inputs and outputs (4 h), q/k/v and the attention
    output (FlashAttention keeps no score matrix), the FFN up/gate outputs and the
    activation output (for MoE the top-k dispatched copies too).

    * ``none`` (0) keeps all of them; a frozen LoRA base needs no inputs of frozen
      matmuls for weight gradients, so the FFN input and activation output go;
    * ``selective`` (1) recomputes norms and activation functions: their outputs go;
    * ``full`` (2) keeps only the layer input (2 bytes x h).
    """
    h = m.hidden
    if m.attention == "mla":
        qkv = m.heads * (m.qk_nope_head_dim + m.qk_rope_head_dim) * 2 + m.heads * m.v_head_dim \
            + m.kv_lora_rank + m.q_lora_rank
        attn_out = m.heads * m.v_head_dim
    else:
        qkv = m.heads * m.head_dim + 2 * m.kv_heads * m.head_dim
        attn_out = m.heads * m.head_dim
    f_moe = m.moe_layers / m.layers if m.layers else 0.0
    g = 3 if m.ffn_gated else 2
    up_dense = m.intermediate * (g - 1)
    up_moe = ((m.top_k + m.shared_experts) * (g - 1) * m.moe_intermediate + m.top_k * h) if m.is_moe else 0.0
    act_out = (1 - f_moe) * m.intermediate + (f_moe * (m.top_k + m.shared_experts) * m.moe_intermediate if m.is_moe else 0.0)
    up = (1 - f_moe) * up_dense + f_moe * up_moe
    none = 4 * h + qkv + attn_out + up + act_out
    if lora:
        none -= h + act_out
    sel = 2 * h + qkv + attn_out + up
    full = h
    return 2.0 * np.where(recompute == 0, none, np.where(recompute == 1, np.minimum(sel, none), full)) / tp


def _elementwise_bytes_per_token_layer(m: ModelShape, cd: str) -> float:
    """HBM bytes of one layer's memory-bound kernels per token, forward, whole layer (divide by tp).

    Two RMSNorms (read + write h), rotary on q and k, two residual adds (read 2h,
    write h), the gated activation (read 2I, write I; plain: read I, write I) in
    BF16; with FP8/FP4 also the casts of every matmul input (read 2 bytes, write
    1) that are not fused into a norm. MoE layers add the permute / unpermute of
    the top-k token copies.
    """
    h = m.hidden
    if m.attention == "mla":
        qk = m.heads * (m.qk_nope_head_dim + m.qk_rope_head_dim) + m.qk_rope_head_dim
    else:
        qk = (m.heads + m.kv_heads) * m.head_dim
    f_moe = m.moe_layers / m.layers if m.layers else 0.0
    width = (1 - f_moe) * m.intermediate + (f_moe * (m.top_k + m.shared_experts) * m.moe_intermediate if m.is_moe else 0.0)
    act = (6.0 if m.ffn_gated else 4.0) * width
    b = 2 * (2 * 2 * h) + 2 * 2 * qk + 2 * (3 * 2 * h) + act
    if cd in ("fp8", "fp4"):
        b += 3.0 * (h + width)                       # casts of attention output and activation output
    if m.is_moe:
        b += f_moe * m.top_k * h * 2 * 2 * 2          # permute and unpermute, read + write
    return float(b)


def evaluate_layouts(ctx: _Ctx, lay: dict[str, np.ndarray], dtype: str) -> dict[str, np.ndarray]:
    """Step time, its split and memory per rank for arrays of layouts (one call, no loop over layouts).

    ``lay`` holds equal-length arrays ``tp pp dp cp ep vpp mbs zero recompute schedule``
    (recompute 0/1/2 = none/selective/full; schedule 0/1/2 = 1f1b/interleaved/dualpipe).
    """
    spec, m, p = ctx.spec, ctx.shape, ctx.params
    tp, pp, dp, cp, ep = (_a(lay[k]) for k in ("tp", "pp", "dp", "cp", "ep"))
    v, mbs, zero, rc, sch = (_a(lay[k]) for k in ("vpp", "mbs", "zero", "recompute", "schedule"))
    cd, _ = _train_dtype(spec, dtype)
    seq, h = float(ctx.seq), float(m.hidden)
    micro = ctx.gbs / (dp * mbs)
    tok = mbs * seq / cp                                        # tokens per micro-batch per rank
    epg = ep if m.is_moe else np.ones_like(ep)
    imb = _val(p["moe_imbalance"]) if m.is_moe else 1.0
    dual = sch == 2
    sm = np.where(dual, 1.0 - _val(p["dualpipe_comm_sm_share"]), 1.0)
    fe = ctx.fe * sm
    lowp = _val(p["lowp_gemm_eff"].get(cd, {"value": 1.0}))

    # --- compute per micro-batch (forward) from the operator model -------------------
    wdt = "fp8" if cd in ("fp8", "fp4") else "bf16"
    ops = step_ops(m, Dtypes.of(wdt, act=cd if cd != "fp4" else "fp8"), seqs=mbs / cp * epg, q=seq, ctx=0.0,
                   tp=tp, dp=epg, ep=epg, pp=pp, prefill=True, imbalance=imb, lm_head=False)
    mem_rate = spec.mem_rate() * fe
    extra_layers = (m.layers + m.mtp_layers) / m.layers           # MTP modules run a layer each
    t_mm = t_att = t_vec = kernels = 0.0
    for o in ops:
        if o.name == "norms":
            continue                                           # replaced by the training elementwise term below
        if o.engine == "mm":
            rate = spec.matmul_rate(cd, np.maximum(_a(o.rows), 1e-9)) * fe * lowp
            t_mm = t_mm + np.maximum(o.flops / rate, o.bytes / mem_rate)
        elif o.engine == "attn":
            t_att = t_att + np.maximum(o.flops / (spec.attn_rate(serving=False) * fe), o.bytes / mem_rate)
        else:
            t_vec = t_vec + np.maximum(o.flops / (spec.matmul_rate("bf16", 1e9) * fe), o.bytes / mem_rate)
        kernels = kernels + _a(o.kernels)
    ew = _elementwise_bytes_per_token_layer(m, cd) * tok / tp * m.layers / pp
    t_vec = t_vec + ew / mem_rate
    kernels = kernels + 8.0 * m.layers / pp
    t_mm, t_att, t_vec = t_mm * extra_layers, t_att * extra_layers, t_vec * extra_layers
    # LM head (+ one per MTP module) and cross-entropy, spread evenly over the stages
    heads = 1 + m.mtp_layers
    head_fl = 2.0 * tok * m.vocab * h / tp * heads / pp
    t_head = head_fl / (spec.matmul_rate("bf16", tok) * fe)
    t_ce = tok * m.vocab / tp * 4.0 * 3 * heads / pp / mem_rate
    t_mm = t_mm + t_head
    t_vec = t_vec + t_ce

    bwd_mm = 1.0 if ctx.lora else 2.0
    t_f = t_mm + t_att + t_vec
    t_b = bwd_mm * t_mm + 2.5 * t_att + 2.0 * t_vec
    L_stage = m.layers * extra_layers / pp

    # --- parameters per rank and memory (sets how many layers need full recomputation) ------
    dense_l, routed_l, emb = _stage_params(m)
    emb_stage = np.where(pp > 1, emb, emb * (1 if m.tie_embeddings else 2))
    p_dense = (dense_l * m.layers / pp + emb_stage) / tp
    p_exp = routed_l * m.layers / pp / (epg * tp)
    n_dense = dp * cp
    n_exp = np.maximum(dp * cp / epg, 1.0)
    copies = np.where(dual, 2.0, 1.0)                            # DualPipe keeps two copies of the parameters
    if ctx.lora:
        g_dense, g_exp = np.full_like(tp, ctx.lora_params) / (tp * pp), np.zeros_like(tp)
    else:
        g_dense, g_exp = p_dense * copies, p_exp * copies
    trainable = g_dense + g_exp
    shard = np.where(zero >= 1, g_dense / n_dense + g_exp / n_exp, trainable)   # optimizer shard per rank
    if ctx.lora:
        weights = (p_dense + p_exp) * (1.0 if cd in ("fp8", "fp4") else 2.0)
        grads, optim = trainable * 2.0, trainable * 12.0
    else:
        # BF16 parameters and gradient buffers (Megatron's default main-grad dtype), FP32 master + Adam m, v
        weights = (p_dense + p_exp) * 2.0 * copies
        weights = np.where(zero >= 3, weights / n_dense + 2 * (dense_l + routed_l / epg) / tp * 2.0, weights)
        grads = np.where(zero >= 2, (g_dense / n_dense + g_exp / n_exp) * 2.0, trainable * 2.0)
        optim = shard * 12.0
    mp = p["memory"]
    reserve = _val(mp["reserve_gb"]) * GB
    cap = float(spec.mem_gb) * GB
    usable = cap * _val(mp["usable_fraction"]) - reserve
    inflight = np.where(pp <= 1, 1.0,
                        np.where(sch == 2, pp + 1.0,
                                 np.minimum(pp, micro) * np.where(sch == 1, 1 + (pp - 1) / (pp * v), 1.0)))
    logits = tok * m.vocab / tp * 4.0 * 2
    a_keep = _act_bytes_per_token_layer(m, tp, np.where(rc == 2, 0, rc), lora=ctx.lora) * tok * L_stage * inflight
    a_full = _act_bytes_per_token_layer(m, tp, np.full_like(rc, 2), lora=ctx.lora) * tok * L_stage * inflight \
        + _act_bytes_per_token_layer(m, tp, np.zeros_like(rc), lora=ctx.lora) * tok
    # 'full' recomputes just enough layers of the stage to fit (Megatron --recompute-num-layers), at least one
    room = usable - (weights + grads + optim) - logits
    n_layers = np.maximum(np.ceil(L_stage), 1.0)
    phi = np.clip((a_keep - room) / np.maximum(a_keep - a_full, 1e-30), 0.0, 1.0)
    phi = np.where(rc == 2, np.maximum(np.ceil(phi * n_layers) / n_layers, 1.0 / n_layers), 0.0)
    acts = (1 - phi) * a_keep + phi * a_full + logits
    total = weights + grads + optim + acts
    fits = total <= usable

    t_r = np.where(rc == 1, t_vec, 0.0) + phi * t_f
    t_comp = t_f + t_b + t_r
    t_kern = kernels * extra_layers * (3.0 + phi) * spec.kernel_us * 1e-6

    # --- communication per micro-batch -------------------------------------------------
    act_b = tok * h * 2.0                                        # gathered activation buffer (SP)
    n_tp = 8.0 + 4.0 * phi
    t_tp = np.where(tp > 1, comm.allgather_time(spec, act_b, tp), 0.0) * n_tp * L_stage
    ov = p["overlap"]
    e_tp = t_tp * (1.0 - _val(ov["tp"]))
    if m.attention == "mla":
        kvw = m.heads * (m.qk_nope_head_dim + m.qk_rope_head_dim + m.v_head_dim) / tp
    else:
        kvw = 2 * np.maximum(m.kv_heads / tp, 1.0) * m.head_dim
    kv_buf = tok * cp * kvw * 2.0
    t_cp = np.where(cp > 1, _by_stride(comm.allgather_time, spec, tp, kv_buf, cp), 0.0) * (3.0 + phi) * L_stage
    # Overlapped communications share one compute window: each hides in what the previous
    # ones left of it (hiding each behind the whole compute time would let a faster chip
    # expose more communication, i.e. run slower).
    window = t_comp
    e_cp, window = _hide(t_cp, np.minimum(t_att * (3.5 + phi), window), _val(ov["cp"]), window)
    if m.is_moe:
        disp_b = 1.0 if cd in ("fp8", "fp4") else 2.0
        L_moe = m.moe_layers * extra_layers / pp
        a2a_f = _by_stride(comm.alltoall_time, spec, tp, tok * m.top_k * h * disp_b, ep) \
            + _by_stride(comm.alltoall_time, spec, tp, tok * m.top_k * h * 2.0, ep)
        a2a_b = 2 * _by_stride(comm.alltoall_time, spec, tp, tok * m.top_k * h * 2.0, ep)
        t_ep = np.where(ep > 1, (a2a_f * (1 + phi) + a2a_b) * L_moe, 0.0)
        ov_ep = np.where(dual, _val(ov["ep_dualpipe"]), _val(ov["ep"]))
        e_ep, window = _hide(t_ep, window, ov_ep, window)
    else:
        t_ep = e_ep = np.zeros_like(tp)
    cross_pp = tp * cp * dp >= spec.domain_ranks
    e_pp = np.where(pp > 1, 2.0 * comm.p2p_time(spec, act_b / tp, cross_domain=cross_pp), 0.0) * np.where(sch == 1, v, 1.0)
    t_c = e_tp + e_cp + e_ep + e_pp
    t_mb = t_comp + t_kern + t_c

    # --- pipeline bubble (micro-batch times) -----------------------------------------------
    # DualPipe: (pp/2 - 1)(F&B + B - 3W) with F&B = F + B + W and the backward split evenly
    # into input (B) and weight (W) gradients: (pp/2 - 1) forward times.
    dual_units = np.maximum(pp / 2 - 1, 0.0) * t_f / np.maximum(t_comp, 1e-30)
    bubble_units = np.where(pp <= 1, 0.0, np.where(dual, dual_units, (pp - 1) / np.where(sch == 1, v, 1.0)))
    t_bubble = bubble_units * t_mb

    # --- data-parallel gradient sync (per step, or per micro-batch for ZeRO-2/3) ------------
    rs = _by_stride(comm.reduce_scatter_time, spec, tp, g_dense * 2.0, n_dense) \
        + _by_stride(comm.reduce_scatter_time, spec, tp * epg, g_exp * 2.0, n_exp)
    ag = _by_stride(comm.allgather_time, spec, tp, g_dense * 2.0, n_dense) \
        + _by_stride(comm.allgather_time, spec, tp * epg, g_exp * 2.0, n_exp)
    ov_dp = _val(ov["dp"])
    # ZeRO-0/1: once per step, behind the last backward (what CP/EP left of it) and the pipeline
    # drain; ZeRO-2/3: per micro-batch, behind what CP/EP left of that micro-batch's compute.
    left_b = window * t_b / np.maximum(t_comp, 1e-30)
    left_f = window * t_f / np.maximum(t_comp, 1e-30)
    e_dp_01 = comm.exposed(rs + ag, window + t_bubble, ov_dp)
    e_dp_2 = micro * comm.exposed(rs, left_b, ov_dp) + comm.exposed(ag, left_f, ov_dp)
    e_dp_3 = micro * comm.exposed(2 * ag + rs, window, ov_dp)
    e_dp = np.where(zero <= 1, e_dp_01, np.where(zero == 2, e_dp_2, e_dp_3))
    dp_total = np.where(zero <= 1, rs + ag, np.where(zero == 2, micro * rs + ag, micro * (2 * ag + rs)))

    # --- optimizer (memory-bound Adam over the rank's shard) and fixed overhead ------------
    t_opt = shard * 32.0 / mem_rate
    overhead_fixed = _val(p["step_overhead_s"])
    step = micro * t_mb + t_bubble + e_dp + t_opt + overhead_fixed

    full = lambda x: np.broadcast_to(_a(x), step.shape)  # noqa: E731
    return {
        "step_time_s": step, "microbatches": micro, "compute_s": micro * t_comp,
        "comm_exposed_s": micro * t_c + e_dp, "bubble_s": t_bubble,
        "overhead_s": micro * t_kern + t_opt + overhead_fixed,
        "tp_s": micro * e_tp, "cp_s": micro * e_cp, "ep_s": micro * e_ep, "pp_s": micro * e_pp, "dp_s": e_dp,
        "tp_total_s": micro * t_tp, "ep_total_s": micro * t_ep, "cp_total_s": micro * t_cp, "dp_total_s": dp_total,
        "recompute_layers": phi * n_layers, "stage_layers": n_layers,
        "weights_b": weights, "grads_b": grads, "optim_b": optim, "acts_b": acts, "total_b": total,
        "usable_b": full(usable), "reserve_b": full(reserve), "cap_b": full(cap), "fits": fits,
    }


def _hide(t_comm: Any, room: Any, overlap: Any, window: Any) -> tuple[np.ndarray, np.ndarray]:
    """Exposed part of ``t_comm`` when a share ``overlap`` of it hides in ``room`` (<= ``window``).

    Returns (exposed, what is left of ``window``): ``hidden = overlap x min(t_comm, room)``.

    >>> e, left = _hide(np.array(4.0), np.array(10.0), 0.9, np.array(10.0))
    >>> round(float(e), 6), round(float(left), 6)
    (0.4, 6.4)
    """
    hidden = _a(overlap) * np.minimum(_a(t_comm), _a(room))
    return _a(t_comm) - hidden, _a(window) - hidden
