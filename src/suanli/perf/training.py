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

import itertools
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
from suanli.perf.ops import ModelShape
from suanli.perf.training_step import (  # noqa: F401  (re-exported: the step core and its helpers)
    _a, _act_bytes_per_token_layer, _by_stride, _elementwise_bytes_per_token_layer, _hide, _spec_stride,
    GB, TRAIN_DTYPES, _stage_params, _train_dtype, _val, evaluate_layouts,
)

RECOMPUTE = ("none", "selective", "full")
SCHEDULES = ("1f1b", "interleaved", "dualpipe")
ZERO_STAGES = (0, 1, 2, 3)
METRICS = ("train_tps_per_chip", "step_time_s", "mfu")
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


def framework_eff(stack: str, params: dict, hw_params: dict | None = None) -> tuple[float, bool]:
    """End-to-end framework efficiency of a software stack, and whether it is an estimate.

    Stacks with no value of their own take ``cuda``'s value times the stack's
    serving maturity relative to CUDA's (``hardware.yaml`` / ``calibration.yaml``).

    >>> p = load_train_params()
    >>> framework_eff("cuda", p)[1], framework_eff("birensupa", p)[1]
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


# ----------------------------------------------------------------------------- validation and reports
#: Names that live in :mod:`suanli.perf.training_report` (records, fits, docs/training.md), served from here.
_REPORT_NAMES = frozenset(('_int', 'predict_record', 'record_zero', 'mfu_basis', 'train_rows', '_fit_group', 'FIT_GROUPS', '_group_of', 'fit', 'held_out_by_source', 'accuracy_table', 'COMPARISON', 'comparison', 'method_md', 'report_markdown', 'main'))


def __getattr__(name: str) -> Any:
    if name in _REPORT_NAMES:
        from suanli.perf import training_report

        return getattr(training_report, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if __name__ == "__main__":
    from suanli.perf.training_report import main

    raise SystemExit(main())
