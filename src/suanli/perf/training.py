"""Training performance: step time, memory and the fastest parallel layout of an LLM training run.

One training step of a model on ``chips`` accelerators is a pipeline of
``m = global_batch / (dp x mbs)`` micro-batches through ``pp`` stages. For
arrays of candidate layouts at once (numpy, no Python loop over layouts) the
model computes, on the busiest rank:

* **compute** per micro-batch from the operator model (:mod:`suanli.perf.ops`)
  and the achieved rates of :class:`~suanli.perf.hardware.HardwareSpec`:
  forward, backward (matmuls 2x forward: activation and weight gradients;
  1x for a frozen LoRA base; FlashAttention backward 2.5x forward;
  elementwise 2x) and recomputation (``full``: one more forward;
  ``selective``: norms and activation functions again), times a
  ``framework_eff`` per software stack (``data/training.yaml``);
* **communication** with :mod:`suanli.perf.comm`: TP all-gather/reduce-scatter
  with sequence parallelism (4 per layer forward, 4 backward), CP all-gather
  of K/V, EP all-to-all (dispatch + combine, forward and backward), pipeline
  send/recv and the data-parallel gradient reduce-scatter / parameter
  all-gather (ZeRO-0..3); each group runs on the scale-up links when its ranks
  sit in one domain (rank order tp, cp, ep/dp, pp) and on the NICs otherwise;
  the share each framework overlaps is a parameter;
* **pipeline bubble**: 1F1B ``(pp - 1)`` micro-batch times, interleaved
  ``(pp - 1) / v``, DualPipe ``(pp/2 - 1)(F&B + B - 3W)`` (arXiv:2412.19437);
* **memory** per rank: weights, gradients, optimizer states (sharded by ZeRO
  stage), activations of the micro-batches in flight; layouts that do not fit
  are rejected with the reason.

MFU counts model FLOPs (forward x 3, causal attention, no recomputation)
against the dense peak of the training dtype.

>>> from suanli.catalog import get_catalog
>>> r = predict_train("h100-sxm", "llama-3.1-8b", chips=8, seq_len=8192, global_batch=64, dtype="bf16",
...                   catalog=get_catalog())
>>> 0.3 < r.mfu < 0.6 and r.memory.fits
True
"""
from __future__ import annotations

import argparse
import itertools
import math
import time
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
import yaml

from suanli.errors import SuanliError
from suanli.perf import comm
from suanli.perf.hardware import HardwareSpec, load_params
from suanli.perf.ops import Dtypes, ModelShape, step_ops

TRAIN_DTYPES = ("bf16", "fp8", "fp4")
RECOMPUTE = ("none", "selective", "full")
SCHEDULES = ("1f1b", "interleaved", "dualpipe")
ZERO_STAGES = (0, 1, 2, 3)
METRICS = ("train_tps_per_chip", "step_time_s", "mfu")
GB = 1e9
SECONDS_PER_DAY = 86400.0


# ----------------------------------------------------------------------------- parameters
@lru_cache(maxsize=1)
def _packaged_params() -> dict:
    text = resources.files("suanli.perf").joinpath("data", "training.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def _merge(base: dict, upd: dict) -> dict:
    out = dict(base)
    for k, v in upd.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def load_train_params(overrides: dict | None = None) -> dict:
    """Training parameters: packaged ``training.yaml`` with ``overrides`` merged in (same layout)."""
    p = _packaged_params()
    return _merge(p, overrides) if overrides else p


def _val(x: Any) -> float:
    return float(x["value"] if isinstance(x, dict) else x)


def framework_eff(stack: str, params: dict, hw_params: dict | None = None) -> tuple[float, bool]:
    """End-to-end framework efficiency of a software stack, and whether it is an estimate.

    Stacks with no value of their own take ``cuda``'s value times the stack's
    serving maturity relative to CUDA's (``hardware.yaml`` / ``calibration.yaml``).

    >>> p = load_train_params()
    >>> framework_eff("cuda", p)[1], framework_eff("cann", p)[1]
    (False, True)
    """
    fe = params["framework_eff"]
    if stack in fe and "value" in fe[stack]:
        return _val(fe[stack]), bool(fe[stack].get("estimate", False))
    hw = hw_params or load_params()
    mat = hw["maturity"]
    rel = _val(mat.get(stack, mat["other"])) / _val(mat["cuda"])
    return _val(fe["cuda"]) * rel, True


def error_band(stack: str, params: dict) -> float:
    eb = params["error_band"]
    return _val(eb.get(stack, eb["default"]))


# ----------------------------------------------------------------------------- results
@dataclass(frozen=True)
class TrainLayout:
    """One parallel layout: degrees in ranks (a 910C package is two ranks)."""

    tp: int
    pp: int
    dp: int
    cp: int
    ep: int
    vpp: int
    mbs: int
    microbatches: int
    zero: int
    recompute: str
    schedule: str
    dtype: str
    recompute_layers: int = 0          # layers per stage fully recomputed (``full`` recomputes just enough to fit)

    def to_dict(self) -> dict:
        return asdict(self)

    def label(self) -> str:
        s = f"TP{self.tp} PP{self.pp} DP{self.dp} CP{self.cp}"
        if self.ep > 1:
            s += f" EP{self.ep}"
        if self.schedule == "interleaved":
            s += f" v{self.vpp}"
        elif self.schedule == "dualpipe":
            s += " DualPipe"
        rc = f"full({self.recompute_layers} layers/stage)" if self.recompute == "full" else self.recompute
        return s + f" mbs{self.mbs} ZeRO-{self.zero} rc={rc} {self.dtype}"


@dataclass(frozen=True)
class TrainMemory:
    """Memory per rank on the busiest pipeline stage, GB (1e9 bytes)."""

    weights_gb: float
    gradients_gb: float
    optimizer_gb: float
    activations_gb: float
    reserve_gb: float
    total_gb: float
    capacity_gb: float
    fits: bool
    reason: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class TimeSplit:
    """Seconds of one step on the critical path, by kind; ``comm_detail`` splits the exposed communication."""

    compute_s: float
    comm_exposed_s: float
    bubble_s: float
    overhead_s: float
    comm_detail: dict[str, float] = field(default_factory=dict)

    def shares(self) -> dict[str, float]:
        tot = self.compute_s + self.comm_exposed_s + self.bubble_s + self.overhead_s
        return {k: v / tot for k, v in (("compute", self.compute_s), ("comm_exposed", self.comm_exposed_s),
                                        ("bubble", self.bubble_s), ("overhead", self.overhead_s))}

    def to_dict(self) -> dict:
        d = asdict(self)
        d["shares"] = self.shares()
        return d


@dataclass(frozen=True)
class TrainResult:
    """Predicted training step of one model on one hardware option, at the best (or given) layout."""

    hardware: str
    system: str
    model: str
    chips: int
    ranks: int
    seq_len: int
    global_batch: int
    layout: TrainLayout
    step_time_s: float
    tokens_per_step: float
    tps_per_chip: float
    mfu: float
    model_flops_per_token: float
    peak_tflops_per_chip: float
    memory: TrainMemory
    time_split: TimeSplit
    error_band: float
    candidates: int = 1
    feasible: int = 1
    search_s: float = 0.0
    warnings: tuple[str, ...] = ()
    alternatives: tuple[dict, ...] = ()

    @property
    def tokens_per_s(self) -> float:
        return self.tps_per_chip * self.chips

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in ("hardware", "system", "model", "chips", "ranks", "seq_len",
                                           "global_batch", "step_time_s", "tokens_per_step", "tps_per_chip",
                                           "mfu", "model_flops_per_token", "peak_tflops_per_chip",
                                           "error_band", "candidates", "feasible", "search_s")}
        d["tokens_per_s"] = self.tokens_per_s
        d["layout"] = self.layout.to_dict()
        d["layout_label"] = self.layout.label()
        d["memory"] = self.memory.to_dict()
        d["time_split"] = self.time_split.to_dict()
        d["tps_per_chip_range"] = [self.tps_per_chip * (1 - self.error_band), self.tps_per_chip * (1 + self.error_band)]
        d["warnings"] = list(self.warnings)
        d["alternatives"] = list(self.alternatives)
        return d

    def to_frame(self):
        import pandas as pd

        flat = {k: v for k, v in self.to_dict().items() if not isinstance(v, (dict, list))}
        flat.update({f"layout_{k}": v for k, v in self.layout.to_dict().items()})
        return pd.DataFrame([flat])


@dataclass(frozen=True)
class TrainPlan:
    """Time, chip-hours and energy to train on a token budget."""

    result: TrainResult
    tokens: float
    days: float
    chip_hours: float
    energy_mwh: float
    power_w_per_chip: float
    power_basis: str
    days_range: tuple[float, float]
    chip_hours_range: tuple[float, float]

    def to_dict(self) -> dict:
        return {
            "tokens": self.tokens, "days": self.days, "chip_hours": self.chip_hours,
            "chip_hours_per_trillion_tokens": self.chip_hours / (self.tokens / 1e12),
            "energy_mwh": self.energy_mwh, "power_w_per_chip": self.power_w_per_chip,
            "power_basis": self.power_basis, "days_range": list(self.days_range),
            "chip_hours_range": list(self.chip_hours_range), "prediction": self.result.to_dict(),
        }

    def to_frame(self):
        import pandas as pd

        d = {k: v for k, v in self.to_dict().items() if not isinstance(v, (dict, list))}
        d.update(hardware=self.result.hardware, model=self.result.model, chips=self.result.chips,
                 mfu=self.result.mfu, layout=self.result.layout.label())
        return pd.DataFrame([d])


# ----------------------------------------------------------------------------- context
@dataclass
class _Ctx:
    spec: HardwareSpec
    shape: ModelShape
    arch: Any
    params: dict
    chips: int
    ranks: int
    seq: int
    gbs: int
    lora: bool
    lora_params: float
    fe: float
    fe_estimate: bool
    band: float
    system_power_w: float | None
    tdp_w: float | None
    warnings: list[str]


def _context(catalog: Any, hardware: str, model: str, chips: int, seq_len: int, global_batch: int,
             system: str | None, params: dict | None) -> _Ctx:
    from suanli.perf.inputs import check_number

    chips, seq_len, global_batch = (check_number(k, v) for k, v in
                                    (("chips", chips), ("seq_len", seq_len), ("global_batch", global_batch)))
    p = load_train_params(params)
    spec = HardwareSpec.from_catalog(catalog, hardware, system=system or None, chips=chips)
    arch = catalog.model(model)
    shape = ModelShape.from_arch(arch)
    acc = catalog.accelerator(spec.hardware)
    sysrec = catalog.systems.get(spec.system)
    power_w = None
    if sysrec is not None and sysrec.power_kw.value:
        power_w = sysrec.power_kw.value * 1e3 / sysrec.chips
    fe, est = framework_eff(spec.stack, p)
    warnings = list(spec.warnings)
    if est:
        warnings.append(f"{spec.hardware}: no training measurement for the {spec.stack!r} stack in the "
                        f"validation set; framework efficiency {fe:.2f} is an estimate (see training.yaml)")
    lora = getattr(arch, "finetune", None) == "lora"
    lp = float(getattr(arch, "lora_trainable_params", None) or 0.0) if lora else 0.0
    return _Ctx(spec, shape, arch, p, int(chips), int(chips) * spec.ranks_per_chip, int(seq_len), int(global_batch),
                lora, lp, fe, est, error_band(spec.stack, p) if not est else error_band("default", p),
                power_w, acc.tdp_w.value, warnings)


def _train_dtype(spec: HardwareSpec, dtype: str) -> tuple[str, str | None]:
    """Matmul format a training dtype runs in on this chip (FP8/FP4 fall back towards BF16, never INT8)."""
    if dtype not in TRAIN_DTYPES:
        raise SuanliError(f"unknown training dtype {dtype!r}", hint=f"one of {', '.join(TRAIN_DTYPES)}")
    order = TRAIN_DTYPES[: TRAIN_DTYPES.index(dtype) + 1][::-1]
    for d in order:
        if spec.peaks_tflops.get(d) is not None:
            return d, (None if d == dtype else f"{spec.hardware} has no {dtype} peak: training runs in {d}")
    return "bf16", None


def model_flops_per_token(arch: Any, seq_len: int, *, lora: bool = False) -> float:
    """Model FLOPs per trained token: 3 x forward (2 x matmul params + causal attention).

    A frozen-base LoRA run has no weight gradients: 2 x matmul forward plus 3 x attention.

    >>> from suanli.catalog import get_catalog
    >>> m = get_catalog().model("llama-3.1-405b")
    >>> round(model_flops_per_token(m, 8192) / 1e12, 2)   # ~6N + causal attention
    2.52
    """
    fwd_mm = 2.0 * arch.matmul_params
    fwd_att = float(arch.attention_flops_per_token(seq_len, "prefill"))
    return (2.0 if lora else 3.0) * fwd_mm + 3.0 * fwd_att


# ----------------------------------------------------------------------------- the vectorized core
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


# ----------------------------------------------------------------------------- layout enumeration
def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def _pow2_upto(n: int) -> list[int]:
    out, x = [], 1
    while x <= n:
        out.append(x)
        x *= 2
    return out


def _candidate_grid(ctx: _Ctx, fixed: dict[str, Any]) -> dict[str, np.ndarray]:
    """All layouts to try: given degrees kept, the rest enumerated, then filtered for validity."""
    m, R = ctx.shape, ctx.ranks
    dom = int(ctx.spec.domain_ranks)

    def opts(name: str, default: list[int]) -> list[int]:
        v = fixed.get(name)
        return [int(v)] if v is not None else default

    tp_o = opts("tp", [t for t in _pow2_upto(min(dom, 64)) if m.heads % t == 0])
    cp_o = opts("cp", [c for c in _pow2_upto(32) if ctx.seq % c == 0 and ctx.seq // c >= 1024])
    # pipeline stages divide the ranks: test the few candidates, not every divisor of R (R may be huge)
    pp_o = opts("pp", [p for p in range(1, min(R, m.layers, 128) + 1) if R % p == 0])
    if m.is_moe:
        ep_o = opts("ep", [e for e in _divisors(m.experts) if e <= R])
    else:
        ep_o = [1]
    mbs_o = opts("mbs", [1, 2, 4])
    zero_o = opts("zero", [1, 2, 3]) if not ctx.lora else opts("zero", [0])
    rc_o = [RECOMPUTE.index(fixed["recompute"])] if fixed.get("recompute") else [0, 1, 2]
    if fixed.get("schedule"):
        sch_o = [SCHEDULES.index(fixed["schedule"])]
    else:
        sch_o = [0, 1, 2]
    v_o = opts("vpp", [1, 2, 4, 8])
    grid = np.array(list(itertools.product(tp_o, cp_o, pp_o, ep_o, mbs_o, zero_o, rc_o, sch_o, v_o)), dtype=float)
    if grid.size == 0:
        return {k: np.zeros(0) for k in ("tp", "cp", "pp", "ep", "mbs", "zero", "recompute", "schedule", "vpp", "dp")}
    tp, cp, pp, ep, mbs, zero, rc, sch, v = grid.T
    dp = R / (tp * cp * pp)
    ok = (np.abs(dp - np.round(dp)) < 1e-9) & (dp >= 1)
    dp = np.round(dp)
    if fixed.get("dp") is not None:
        ok &= dp == int(fixed["dp"])
    micro = ctx.gbs / np.maximum(dp * mbs, 1)
    ok &= (np.abs(micro - np.round(micro)) < 1e-9) & (micro >= 1)
    ok &= m.heads % tp == 0
    ok &= ctx.seq % cp == 0
    ok &= m.layers / (pp * v) >= 1
    # schedule consistency: 1f1b has v = 1; interleaved needs v > 1, pp > 1 and m >= pp; dualpipe needs even pp >= 2
    ok &= np.where(sch == 0, v == 1, True)
    ok &= np.where(sch == 1, (v > 1) & (pp > 1) & (micro >= pp), True)
    ok &= np.where(sch == 2, (v == 1) & (pp >= 2) & (pp % 2 == 0) & (micro >= pp), True)
    ok &= np.where(pp == 1, sch == 0, True)
    if m.is_moe:
        ok &= (np.abs((dp * cp) / ep - np.round((dp * cp) / ep)) < 1e-9) & (m.experts % ep == 0)
    if fixed.get("tp") is None:
        ok &= tp <= dom                                            # keep TP inside the scale-up domain
    keys = ("tp", "cp", "pp", "ep", "mbs", "zero", "recompute", "schedule", "vpp", "dp")
    cols = (tp, cp, pp, ep, mbs, zero, rc, sch, v, dp)
    return {k: c[ok] for k, c in zip(keys, cols)}


def _explain_empty(ctx: _Ctx, fixed: dict[str, Any]) -> str:
    tp, pp, cp = (fixed.get(k) for k in ("tp", "pp", "cp"))
    if all(x is not None for x in (tp, pp, cp)):
        prod = int(tp) * int(pp) * int(cp)
        if ctx.ranks % prod:
            return f"tp x pp x cp = {prod} does not divide the {ctx.ranks} ranks"
        dp = ctx.ranks // prod
        if fixed.get("dp") is not None and int(fixed["dp"]) != dp:
            return f"tp x pp x cp x dp = {prod * int(fixed['dp'])} != {ctx.ranks} ranks"
        if ctx.gbs % dp:
            return f"global batch {ctx.gbs} is not a multiple of dp = {dp}"
    if fixed.get("tp") and ctx.shape.heads % int(fixed["tp"]):
        return f"tp = {fixed['tp']} does not divide the {ctx.shape.heads} attention heads"
    if fixed.get("pp") and int(fixed["pp"]) > ctx.shape.layers:
        return f"pp = {fixed['pp']} exceeds the {ctx.shape.layers} layers"
    if fixed.get("ep") and ctx.shape.is_moe and ctx.shape.experts % int(fixed["ep"]):
        return f"ep = {fixed['ep']} does not divide the {ctx.shape.experts} experts"
    return "no parallel layout satisfies the divisibility rules (chips, heads, layers, global batch)"


# ----------------------------------------------------------------------------- public API
def _pick(ev: dict[str, np.ndarray], i: int) -> dict[str, float]:
    return {k: float(np.asarray(v).flat[i]) if np.asarray(v).size > 1 else float(np.asarray(v).flat[0])
            for k, v in ev.items()}


def _memory_reason(e: dict[str, float]) -> str:
    return (f"needs {e['total_b'] / GB:.1f} GB per rank (weights {e['weights_b'] / GB:.1f}, gradients "
            f"{e['grads_b'] / GB:.1f}, optimizer {e['optim_b'] / GB:.1f}, activations {e['acts_b'] / GB:.1f}) "
            f"but {e['usable_b'] / GB:.1f} GB of {e['cap_b'] / GB:.0f} GB is usable")


def _build_result(ctx: _Ctx, lay: dict[str, np.ndarray], ev: dict[str, np.ndarray], i: int, dtype: str, cd: str,
                  *, candidates: int, feasible: int, search_s: float, alternatives: tuple = ()) -> TrainResult:
    e = _pick(ev, i)
    L = {k: float(np.asarray(v).flat[i]) for k, v in lay.items()}
    layout = TrainLayout(int(L["tp"]), int(L["pp"]), int(L["dp"]), int(L["cp"]), int(L["ep"]), int(L["vpp"]),
                         int(L["mbs"]), int(round(e["microbatches"])), int(L["zero"]), RECOMPUTE[int(L["recompute"])],
                         SCHEDULES[int(L["schedule"])], cd, int(round(e["recompute_layers"])))
    tokens = ctx.gbs * ctx.seq
    tps_chip = tokens / e["step_time_s"] / ctx.chips
    mf = model_flops_per_token(ctx.arch, ctx.seq, lora=ctx.lora)
    peak_chip = float(ctx.spec.peaks_tflops[cd]) * ctx.spec.ranks_per_chip
    mfu = tps_chip * mf / (peak_chip * 1e12)
    fits = bool(e["fits"])
    mem = TrainMemory(e["weights_b"] / GB, e["grads_b"] / GB, e["optim_b"] / GB, e["acts_b"] / GB,
                      e["reserve_b"] / GB, e["total_b"] / GB, e["cap_b"] / GB, fits,
                      None if fits else _memory_reason(e))
    split = TimeSplit(e["compute_s"], e["comm_exposed_s"], e["bubble_s"], e["overhead_s"],
                      {k[:-2]: e[k] for k in ("tp_s", "cp_s", "ep_s", "pp_s", "dp_s")}
                      | {k.replace("_total_s", "_total"): e[k] for k in ("tp_total_s", "cp_total_s", "ep_total_s", "dp_total_s")})
    return TrainResult(ctx.spec.hardware, ctx.spec.system, ctx.arch.id, ctx.chips, ctx.ranks, ctx.seq, ctx.gbs,
                       layout, e["step_time_s"], float(tokens), tps_chip, mfu, mf, peak_chip, mem, split, ctx.band,
                       candidates, feasible, search_s, tuple(dict.fromkeys(ctx.warnings)), alternatives)


def predict_train(
    hardware: str,
    model: str,
    *,
    chips: int,
    seq_len: int,
    global_batch: int,
    dtype: str | None = "bf16",
    tp: int | None = None,
    pp: int | None = None,
    dp: int | None = None,
    ep: int | None = None,
    cp: int | None = None,
    vpp: int | None = None,
    mbs: int | None = None,
    zero: int | None = None,
    recompute: str | None = None,
    schedule: str | None = None,
    system: str | None = None,
    catalog: Any = None,
    params: dict | None = None,
    top: int = 5,
) -> TrainResult:
    """Predict a training step; degrees left ``None`` are searched (fastest layout that fits).

    ``dtype`` None tries BF16, FP8 and FP4 (where the chip has them) and keeps the
    fastest. Degrees count ranks (an Ascend 910C package is two). Raises
    :class:`~suanli.errors.SuanliError` naming the reason when no layout is valid
    or none fits in memory.
    """
    if catalog is None:
        from suanli.catalog import get_catalog

        catalog = get_catalog()
    t0 = time.perf_counter()
    ctx = _context(catalog, hardware, model, chips, seq_len, global_batch, system, params)
    if recompute is not None and recompute not in RECOMPUTE:
        raise SuanliError(f"unknown recompute {recompute!r}", hint=f"one of {', '.join(RECOMPUTE)}")
    if schedule is not None and schedule not in SCHEDULES:
        raise SuanliError(f"unknown schedule {schedule!r}", hint=f"one of {', '.join(SCHEDULES)}")
    if zero is not None and zero not in ZERO_STAGES:
        raise SuanliError(f"unknown ZeRO stage {zero!r}", hint="one of 0, 1, 2, 3")
    if ep is not None and ep > 1 and not ctx.shape.is_moe:
        raise SuanliError(f"ep = {ep} given for dense model {model!r}", hint="expert parallelism needs an MoE model")
    fixed = dict(tp=tp, pp=pp, dp=dp, ep=ep if ctx.shape.is_moe else None, cp=cp, vpp=vpp, mbs=mbs, zero=zero,
                 recompute=recompute, schedule=schedule)
    if vpp is not None and vpp > 1 and schedule is None:
        fixed["schedule"] = "interleaved"
    if tp is not None and pp is not None and cp is None and dp is not None:
        prod = tp * pp * dp
        if ctx.ranks % prod == 0:
            fixed["cp"] = ctx.ranks // prod
    lay = _candidate_grid(ctx, fixed)
    n_cand = int(lay["tp"].size)
    if n_cand == 0:
        raise SuanliError(f"no valid layout for {model} on {chips} x {hardware}: {_explain_empty(ctx, fixed)}",
                          hint="change the degrees, the chip count or the global batch")
    dtypes = [dtype] if dtype else [d for d in TRAIN_DTYPES if _train_dtype(ctx.spec, d)[1] is None]
    best = None
    for d in dtypes:
        cd, warn = _train_dtype(ctx.spec, d)
        if warn:
            ctx.warnings.append(warn)
        ev = evaluate_layouts(ctx, lay, d)
        st = np.where(ev["fits"], ev["step_time_s"], np.inf)
        i = int(np.argmin(st))
        cand = (float(st[i]), d, cd, ev, i, int(ev["fits"].sum()))
        if best is None or cand[0] < best[0]:
            best = cand
    assert best is not None
    st_best, d, cd, ev, i, n_fit = best
    if not np.isfinite(st_best):
        j = int(np.argmin(ev["total_b"]))
        e = _pick(ev, j)
        raise SuanliError(
            f"{model} does not fit on {chips} x {hardware} at seq {seq_len}: smallest layout tried "
            f"({_layout_text(lay, j)}) {_memory_reason(e)}",
            hint=_no_fit_hint(fixed),
        )
    order = np.argsort(np.where(ev["fits"], ev["step_time_s"], np.inf))[: max(top, 1) + 1]
    alts = []
    for j in order[1:]:
        if not ev["fits"][j]:
            break
        alts.append({"layout": _layout_text(lay, int(j)), "step_time_s": float(ev["step_time_s"][j]),
                     "tps_per_chip": ctx.gbs * ctx.seq / float(ev["step_time_s"][j]) / ctx.chips})
    return _build_result(ctx, lay, ev, i, d, cd, candidates=n_cand * len(dtypes), feasible=n_fit,
                         search_s=time.perf_counter() - t0, alternatives=tuple(alts))


def _no_fit_hint(fixed: dict) -> str:
    """What is left to try when no layout fits: only the levers the caller pinned."""
    levers = ["use more chips", "a shorter sequence", "a lower-precision dtype"]
    if fixed.get("recompute") not in (None, "full"):
        levers.append("full recomputation (--recompute full)")
    if fixed.get("zero") not in (None, 3):
        levers.append("ZeRO-3 (--zero 3)")
    pinned = [k for k in ("tp", "pp", "ep", "cp") if fixed.get(k) is not None]
    if pinned:
        levers.append("drop " + " ".join(f"--{k}" for k in pinned) + " to let the layout be searched")
    return ", ".join(levers)


def _layout_text(lay: dict[str, np.ndarray], j: int) -> str:
    g = {k: int(np.asarray(v)[j]) for k, v in lay.items()}
    s = f"TP{g['tp']} PP{g['pp']} DP{g['dp']} CP{g['cp']}" + (f" EP{g['ep']}" if g["ep"] > 1 else "")
    s += {0: "", 1: f" v{g['vpp']}", 2: " DualPipe"}[g["schedule"]]
    return s + f" mbs{g['mbs']} ZeRO-{g['zero']} rc={RECOMPUTE[g['recompute']]}"


def search_train(hardware: str, model: str, *, chips: int, seq_len: int, global_batch: int, dtype: str | None = "bf16",
                 catalog: Any = None, system: str | None = None, params: dict | None = None, top: int = 10) -> TrainResult:
    """The fastest layout that fits (every degree searched); ``result.alternatives`` holds the runners-up."""
    return predict_train(hardware, model, chips=chips, seq_len=seq_len, global_batch=global_batch, dtype=dtype,
                         catalog=catalog, system=system, params=params, top=top)


def _power_per_chip(ctx_or_result: Any, catalog: Any, params: dict) -> tuple[float, str]:
    r = ctx_or_result
    sysrec = catalog.systems.get(r.system)
    if sysrec is not None and sysrec.power_kw.value:
        return sysrec.power_kw.value * 1e3 / sysrec.chips, f"{sysrec.id} power {sysrec.power_kw.value:g} kW / {sysrec.chips} chips"
    acc = catalog.accelerator(r.hardware)
    f = _val(params["power_overhead_factor"])
    if acc.tdp_w.value:
        return acc.tdp_w.value * f, f"TDP {acc.tdp_w.value:g} W x {f:g} (host and network)"
    return float("nan"), "no system power or TDP in the catalog"


def plan_train(model: str, tokens: float, hardware: str, chips: int, *, seq_len: int = 4096,
               global_batch: int | None = None, dtype: str | None = None, catalog: Any = None,
               system: str | None = None, params: dict | None = None, **degrees: Any) -> TrainPlan:
    """Wall-clock days, chip-hours and energy to train ``model`` on ``tokens`` tokens.

    ``global_batch`` defaults to about 4 sequences per chip (DeepSeek-V3: 15,360
    x 4,096 on 2,048 H800). Energy is IT energy at the system's rated power per
    chip (no PUE).
    """
    if catalog is None:
        from suanli.catalog import get_catalog

        catalog = get_catalog()
    if tokens <= 0:
        raise SuanliError(f"tokens must be > 0 (got {tokens:g})")
    gbs = global_batch or max(4 * chips, 1)
    r = predict_train(hardware, model, chips=chips, seq_len=seq_len, global_batch=gbs, dtype=dtype,
                      catalog=catalog, system=system, params=params, **degrees)
    seconds = tokens / r.tokens_per_s
    days = seconds / SECONDS_PER_DAY
    chip_hours = seconds / 3600 * chips
    p = load_train_params(params)
    w, basis = _power_per_chip(r, catalog, p)
    energy = chip_hours * w / 1e6
    b = r.error_band
    return TrainPlan(r, float(tokens), days, chip_hours, energy, w, basis,
                     (days / (1 + b), days / max(1 - b, 1e-9)), (chip_hours / (1 + b), chip_hours / max(1 - b, 1e-9)))


# ----------------------------------------------------------------------------- validation records
def _int(row: dict, key: str) -> int | None:
    v = (row.get(key) or "").strip()
    if not v:
        return None
    try:
        return int(float(v))
    except ValueError:
        raise SuanliError(f"record {row.get('id')!r}: column {key!r} is not a number ({v!r})") from None


def predict_record(row: dict, catalog: Any, params: dict | None = None) -> float:
    """Predict one ``kind=train`` measurement record (a dev.csv row of strings) in its metric's unit.

    Empty degrees, micro-batch, schedule, recomputation and (when ``act_dtype``
    is empty) the dtype are chosen by the search, as the people who measured did.
    """
    metric = (row.get("metric") or "").strip()
    if metric not in METRICS:
        raise SuanliError(f"record {row.get('id')!r}: metric {metric!r} is not a training metric",
                          hint=f"one of {', '.join(METRICS)}")
    for k in ("hardware", "model", "chips", "seq_len", "global_batch"):
        if not (row.get(k) or "").strip():
            raise SuanliError(f"record {row.get('id')!r}: training records need {k!r}")
    dtype = (row.get("act_dtype") or row.get("weight_dtype") or "").strip() or None
    if dtype == "fp16":
        dtype = "bf16"
    system = (row.get("system") or "").strip() or None
    r = predict_train(row["hardware"].strip(), row["model"].strip(), chips=_int(row, "chips"),
                      seq_len=_int(row, "seq_len"), global_batch=_int(row, "global_batch"), dtype=dtype,
                      tp=_int(row, "tp"), pp=_int(row, "pp"), dp=_int(row, "dp"), ep=_int(row, "ep"),
                      cp=_int(row, "cp"), system=system, catalog=catalog, params=params, top=0)
    return {"train_tps_per_chip": r.tps_per_chip, "step_time_s": r.step_time_s, "mfu": r.mfu}[metric]


# ----------------------------------------------------------------------------- fitting and reports
def train_rows(path: str) -> list[dict]:
    """The ``kind=train`` rows of a measurement CSV, as dicts of strings."""
    import csv

    with open(path, newline="", encoding="utf-8") as fh:
        return [r for r in csv.DictReader(fh) if (r.get("kind") or "").strip() == "train"]


def _fit_group(rows: list[dict], catalog: Any, key: tuple[str, ...], base: dict) -> float:
    """Value of one parameter that minimises the mean squared log error over ``rows``."""
    from scipy.optimize import minimize_scalar

    def with_value(x: float) -> dict:
        d: dict = {}
        cur = d
        for k in key[:-1]:
            cur = cur.setdefault(k, {})
        cur[key[-1]] = {"value": float(x)}
        return _merge(base, d)

    def loss(x: float) -> float:
        pv = with_value(x)
        errs = []
        for r in rows:
            try:
                pred = predict_record(r, catalog, pv)
            except SuanliError:
                return 1e9
            errs.append(math.log(pred / float(r["value"])) ** 2)
        return float(np.mean(errs))

    res = minimize_scalar(loss, bounds=(0.05, 1.5), method="bounded", options={"xatol": 1e-3})
    return float(res.x)


#: Fitted parameters and the rows (by group) each is fitted on.
FIT_GROUPS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("framework_eff", "cuda"), "cuda"),
    (("framework_eff", "rocm"), "rocm"),
    (("lowp_gemm_eff", "fp4"), "fp4"),
)


def _group_of(row: dict, catalog: Any) -> str | None:
    acc = catalog.accelerator(row["hardware"].strip())
    dt = (row.get("act_dtype") or "").strip()
    if dt == "fp4":
        return "fp4"
    if not dt and acc.fp4_tflops.value:
        return "fp4"  # precision not recorded on an FP4-capable chip: the search may pick FP4
    return acc.stack if acc.stack in ("cuda", "rocm") else None


def fit(rows: list[dict], catalog: Any, params: dict | None = None) -> dict:
    """Fit the grouped parameters in :data:`FIT_GROUPS` in order (cuda, rocm, then fp4 given cuda)."""
    base = load_train_params(params)
    fitted: dict = {}
    for key, grp in FIT_GROUPS:
        g = [r for r in rows if _group_of(r, catalog) == grp]
        if not g:
            continue
        x = _fit_group(g, catalog, key, base)
        upd: dict = {}
        cur = upd
        for k in key[:-1]:
            cur = cur.setdefault(k, {})
        cur[key[-1]] = {"value": x}
        base = _merge(base, upd)
        fitted[".".join(key)] = x
    return {"params": base, "fitted": fitted}


def accuracy_table(rows: list[dict], catalog: Any, params: dict | None = None, *, loo: bool = True) -> list[dict]:
    """Per-row prediction and error; with ``loo`` also the leave-one-out prediction (group refitted without the row)."""
    out = []
    for r in rows:
        grp = _group_of(r, catalog)
        rec = {"id": r["id"], "hardware": r["hardware"], "model": r["model"], "metric": r["metric"],
               "measured": float(r["value"]), "group": grp or "-"}
        try:
            pred = predict_record(r, catalog, params)
            rec["predicted"] = pred
            rec["ape"] = abs(pred / rec["measured"] - 1)
        except SuanliError as exc:
            rec["predicted"], rec["ape"], rec["error"] = None, None, exc.message
        if loo and grp is not None:
            others = [x for x in rows if x["id"] != r["id"]]
            fp = fit(others, catalog)["params"]
            try:
                lp = predict_record(r, catalog, fp)
                rec["loo_predicted"], rec["loo_ape"] = lp, abs(lp / rec["measured"] - 1)
            except SuanliError:
                rec["loo_predicted"], rec["loo_ape"] = None, None
        elif loo:
            rec["loo_predicted"], rec["loo_ape"] = rec.get("predicted"), rec.get("ape")
        out.append(rec)
    return out


COMPARISON = (
    ("h800-sxm", None, "NVIDIA H800 (HGX, IB 400G)"),
    ("h20", None, "NVIDIA H20 (HGX)"),
    ("h200-sxm", None, "NVIDIA H200 (HGX)"),
    ("ascend-910c", "cloudmatrix-384", "Huawei Ascend 910C (CloudMatrix 384)"),
    ("gb200", "gb200-nvl72", "NVIDIA GB200 (NVL72)"),
)


def comparison(catalog: Any, *, model: str = "deepseek-v3", tokens: float = 14.8e12, chips: int = 2048,
               seq_len: int = 4096, global_batch: int = 15360) -> list[TrainPlan]:
    """Plans for training ``model`` on each option of :data:`COMPARISON` at equal chip count."""
    out = []
    for hw, sysid, _ in COMPARISON:
        out.append(plan_train(model, tokens, hw, chips, seq_len=seq_len, global_batch=global_batch,
                              dtype="fp8", catalog=catalog, system=sysid))
    return out


METHOD = """## Method

`predict_train` evaluates every candidate layout as numpy arrays in one call
(`evaluate_layouts`) and keeps the fastest that fits in memory. Per micro-batch and
pipeline stage, on the busiest rank:

* **Compute**: the operator model of `suanli.perf.ops` (attention projections, causal
  attention core, dense FFN or routed + shared experts with a 1.15 busiest-rank load
  factor, router, LM head) at the achieved rates of `suanli.perf.hardware`
  (`peak x matmul_eff x rows/(rows + m_half)`, `attn_eff`, `mem_eff` per hardware
  family), plus the memory-bound elementwise kernels of training (norms, rotary,
  residuals, activation function, FP8 casts, MoE permutes). Backward = 2 x forward for
  matmuls (1 x for a frozen LoRA base), 2.5 x for FlashAttention, 2 x elementwise.
  Recomputation: `selective` re-runs norms and activation functions; `full` re-runs
  the whole forward of just enough layers per stage to fit.
* **Framework efficiency**: one factor per software stack divides all rates
  (kernel gaps, unfused work, stragglers); fitted on the stack's rows. NVFP4 GEMMs
  carry one more factor, fitted on the FP4-capable rows.
* **Communication** (`suanli.perf.comm`): TP all-gather/reduce-scatter with sequence
  parallelism (8 per layer per micro-batch, 50% hidden), CP all-gather of K/V (hidden
  behind attention), EP all-to-all (dispatch + combine, forward and backward; on the
  critical path with 1F1B, 95% hidden with DualPipe, which also reserves 20 of 132
  SMs), pipeline send/recv, and the DP gradient reduce-scatter + parameter all-gather
  (ZeRO-0/1 once per step, hidden behind the last backward and the pipeline drain;
  ZeRO-2 per micro-batch; ZeRO-3 two all-gathers and a reduce-scatter per
  micro-batch). Rank order is tp, cp, ep/dp, pp: a group whose ranks fit one
  scale-up domain (8 in HGX, 72 in NVL72, 768 dies in CloudMatrix 384) uses its
  links, otherwise the NICs (hierarchically).
* **Bubble**: 1F1B `(pp - 1)` micro-batch times, interleaved `(pp - 1)/v`, DualPipe
  `(pp/2 - 1)` forward times.
* **Memory per rank**: BF16 weights and gradient buffers, FP32 master weights and Adam
  moments (12 bytes per parameter, sharded by ZeRO-1), activations of the micro-batches
  in flight on the first stage (pp for 1F1B, `pp (1 + (pp-1)/(pp v))` interleaved,
  pp + 1 DualPipe), logits; 4 GB reserved and 96% of HBM usable.
* **MFU** counts model FLOPs (3 x forward: 6N + causal attention; LoRA 2 x matmul
  forward) against the dense peak of the training dtype.

## Limitations

* One framework factor per stack: Blackwell rows scatter by +-20% between MLPerf rounds
  (GB200 FP8 405B over-predicted 20%, B300 LoRA under-predicted 23%); the attention
  efficiency of Blackwell is Hopper's (an estimate).
* Small models at tiny per-GPU batch (Llama 3.1 8B, one sequence per GPU) are
  over-predicted by ~20%: per-kernel overheads are not modelled beyond a launch cost.
* No training measurement on CANN, MACA or other domestic stacks in the validation set:
  their framework efficiency is an estimate (CANN: anchored on Huawei's reported 30% MFU
  for Pangu Ultra MoE on 6K Ascend 910B, arXiv:2505.04519; others: CUDA's value scaled by
  the serving maturity), hence the 40% band. The one domestic row (MetaX C500, MFU
  reported against an undisclosed peak, low trust) is under-predicted by 30%.
* Failures, restarts, evaluation and checkpointing are not in the step time: wall-clock
  days are ideal throughput (MLPerf values exclude evaluation; DeepSeek's GPU-hours
  include whatever stalls they had).
"""


def report_markdown(catalog: Any, dev_csv: str | None = None) -> str:
    """docs/training.md: the comparison table, the known results and the accuracy on the train rows."""
    lines = ["# Training performance model", "",
             "Generated by `python -m suanli.perf.training --report docs/training.md` "
             "(do not edit by hand). Model: `suanli.perf.training`; parameters: "
             "`src/suanli/perf/data/training.yaml`.", ""]
    lines += METHOD.splitlines() + [""]
    lines += ["## DeepSeek-V3 pre-training (14.8T tokens) on 2,048 chips of each option", "",
              "Sequence 4,096, global batch 15,360 sequences (DeepSeek's), FP8 training (the Ascend 910C "
              "has no FP8 and trains in BF16; MFU is against the dense peak of the dtype used), the "
              "fastest layout the search finds that fits in memory. "
              "Energy is IT energy at the system's rated power per chip, no PUE. Ranges are the error band "
              "(leave-one-out MAPE of the stack's rows; 40% where no training measurement exists).", "",
              "| option | layout | dtype | MFU | tok/s/chip | days | chip-hours (M) | range (M) | GWh |",
              "|---|---|---|---|---|---|---|---|---|"]
    names = {hw: name for hw, _, name in COMPARISON}
    for pl in comparison(catalog):
        r = pl.result
        lines.append(f"| {names[r.hardware]} | {r.layout.label().rsplit(' ', 1)[0]} | {r.layout.dtype} | "
                     f"{r.mfu:.1%} | {r.tps_per_chip:,.0f} | {pl.days:.0f} | {pl.chip_hours / 1e6:.2f} | "
                     f"{pl.chip_hours_range[0] / 1e6:.2f}-{pl.chip_hours_range[1] / 1e6:.2f} | "
                     f"{pl.energy_mwh / 1e3:.1f} |")
    lines += ["", "Chip count is equal (2,048) for all options: 5.3 CloudMatrix 384 supernodes, 28.4 NVL72 "
              "racks or 256 HGX nodes; groups that leave a scale-up domain use the scale-out NICs. "
              "The H20 and H200 rows are what-ifs: nobody has published such a run.", ""]
    lines += ["## Known results", "", "| case | published | predicted |", "|---|---|---|"]
    ds = predict_train("h800-sxm", "deepseek-v3", chips=2048, seq_len=4096, global_batch=15360, dtype="fp8",
                       tp=1, pp=16, ep=64, cp=1, schedule="dualpipe", zero=1, catalog=catalog, top=0)
    pub = 14.8e12 / (2.664e6 * 3600)
    lines.append(f"| DeepSeek-V3 on 2,048 H800, DeepSeek's layout (TP1 PP16 DualPipe EP64 ZeRO-1, FP8) | "
                 f"{pub:,.0f} tok/s/GPU = 180K GPU-hours per trillion tokens (arXiv:2412.19437) | "
                 f"{ds.tps_per_chip:,.0f} tok/s/GPU ({ds.tps_per_chip / pub - 1:+.0%}) = "
                 f"{1e12 / ds.tps_per_chip / 3600 / 1e3:,.0f}K GPU-hours per trillion, MFU {ds.mfu:.1%} of FP8 |")
    for chips, dp, gbs, seq, cp, pub_mfu in ((8192, 64, 2048, 8192, 1, 0.43), (16384, 128, 2048, 8192, 1, 0.41),
                                              (16384, 8, 128, 131072, 16, 0.38)):
        ll = predict_train("h100-sxm", "llama-3.1-405b", chips=chips, seq_len=seq, global_batch=gbs, dtype="bf16",
                           tp=8, pp=16, dp=dp, cp=cp, catalog=catalog, top=0)
        lines.append(f"| Llama 3 405B on {chips:,} H100, TP8 CP{cp} PP16 DP{dp}, seq {seq:,}, BF16 | MFU {pub_mfu:.0%} "
                     f"(arXiv:2407.21783 Table 4) | MFU {ll.mfu:.1%} ({ll.layout.label()}) |")
    lines.append("")
    if dev_csv:
        rows = train_rows(dev_csv)
        fr = fit(rows, catalog)
        acc = accuracy_table(rows, catalog)
        lines += ["## Accuracy on the `kind=train` rows of validation/dev.csv", "",
                  "Fitted parameters (one per group, never per row): "
                  + ", ".join(f"`{k}` = {v:.3f}" for k, v in fr["fitted"].items()) + ".", "",
                  "| id | hardware | model | metric | measured | predicted | error | leave-one-out error |",
                  "|---|---|---|---|---|---|---|---|"]
        for a in acc:
            pr = "—" if a["predicted"] is None else f"{a['predicted']:.4g}"
            er = "—" if a["ape"] is None else f"{a['ape']:.1%}"
            lo = "—" if a.get("loo_ape") is None else f"{a['loo_ape']:.1%}"
            lines.append(f"| {a['id']} | {a['hardware']} | {a['model']} | {a['metric']} | {a['measured']:.4g} | "
                         f"{pr} | {er} | {lo} |")
        apes = [a["ape"] for a in acc if a["ape"] is not None]
        loos = [a["loo_ape"] for a in acc if a.get("loo_ape") is not None]
        lines += ["", f"MAPE {np.mean(apes):.1%} over {len(apes)} rows (median {np.median(apes):.1%}); "
                  f"leave-one-out MAPE {np.mean(loos):.1%} (each row predicted with its group's parameter "
                  "refitted without it; rows of no group use unfitted estimates).", ""]
        groups = sorted({a["group"] for a in acc})
        lines += ["| group | rows | MAPE | leave-one-out MAPE |", "|---|---|---|---|"]
        for g in groups:
            sel = [a for a in acc if a["group"] == g]
            lines.append(f"| {g} | {len(sel)} | {np.mean([a['ape'] for a in sel]):.1%} | "
                         f"{np.mean([a['loo_ape'] for a in sel]):.1%} |")
        lines.append("")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m suanli.perf.training", description=__doc__.splitlines()[0])
    ap.add_argument("--report", metavar="FILE", help="write the markdown report (comparison + accuracy)")
    ap.add_argument("--dev", default=None, help="measurement CSV for the accuracy section")
    ap.add_argument("--fit", action="store_true", help="fit the grouped parameters on --dev and print them")
    a = ap.parse_args(argv)
    from suanli.catalog import get_catalog

    cat = get_catalog()
    if a.fit:
        rows = train_rows(a.dev)
        print(yaml.safe_dump(fit(rows, cat)["fitted"]))
    if a.report:
        text = report_markdown(cat, a.dev)
        with open(a.report, "w", encoding="utf-8") as fh:
            fh.write(text)
        print(f"wrote {a.report}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
