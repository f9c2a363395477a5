"""Best serving configuration under SLOs, found by evaluating every candidate in one vectorized call.

The search enumerates tensor (``tp``), pipeline (``pp``), attention-data
(``dp``) and expert (``ep``) parallel degrees that fit the chips and the
scale-up domain, and for each a half-octave grid of batch sizes up to the
largest that fits in memory; it evaluates all of them at once
(:func:`suanli.perf.serving.evaluate`), drops those that do not fit or miss
an SLO, and keeps the highest output tokens/s per chip. With ``disagg`` it
does the same for prefill-only and decode-only instances and combines them at
the best P:D ratio. :func:`pareto` returns the whole front of output tokens/s
per chip against tokens/s per user.

Settings given (``tp=8``, ``batch_per_chip=256``...) are respected; the
others are searched, as the people who measured a figure chose them.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from suanli.errors import SuanliError
from suanli.perf.bands import band_for, with_band
from suanli.perf.disagg import disagg_plan, disagg_plan_closed
from suanli.perf.hardware import HardwareSpec, load_params
from suanli.perf.inference import BOTTLENECKS
from suanli.perf.inputs import check_mtp_head, normalize_request, streams
from suanli.perf.lengths import Lengths
from suanli.perf.memory import max_seqs_per_rank, memory_per_rank, weight_bytes_per_rank
from suanli.perf.ops import Dtypes, ModelShape, dtype_bytes, kv_dtype_bytes
from suanli.perf.serving import (
    Evaluation, Prediction, disagg_combine, evaluate, parse_spec, prefill_tokens_per_step, server_tails,
    spec_acceptance,
)

POW2 = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
GRID_STEPS = 26  # half-octave batch grid below the largest batch that fits
SERVER_GRID_PER_OCTAVE = 8  # server scenario: eighth-octave grid (the p99 SLOs bind inside it)


@dataclass(frozen=True)
class Request:
    """What to predict: hardware x model x workload, with fixed settings (None = search it)."""

    hardware: str
    model: str
    chips: int = 8
    isl: float = 1024
    osl: float = 1024
    weight_dtype: str = "fp8"
    act_dtype: str | None = None
    kv_dtype: str | None = None
    system: str | None = None
    engine: str | None = None
    scenario: str | None = None         # offline | server | fixed; None: the default (perf.inputs)
    ttft_slo_ms: float | None = None
    tpot_slo_ms: float | None = None
    concurrency: float | None = None    # sequences in flight across all chips
    batch_per_chip: float | None = None
    disagg: bool = False
    spec_decode: str | None = None
    accept_p: float | None = None
    arrival_rate: float | None = None   # requests/s across all chips (server scenario at this load)
    tp: int | None = None
    pp: int | None = None
    ep: int | None = None
    dp: int | None = None
    attn_dp: bool | None = None
    isl_cv: float = 0.0                 # spread of prompt lengths (std / mean); 0 = all the same
    osl_cv: float = 0.0                 # spread of output lengths
    osl_max: float | None = None        # longest output (a benchmark's cap, else its p99)
    max_batch_per_rank: int | None = None   # engine cap on sequences per rank (None: the engine's profile)
    max_num_tokens: int | None = None       # engine cap on tokens per iteration per rank
    chunked_prefill: bool | None = None     # None: the engine's profile
    mixed_chunk: bool | None = None         # prompt chunks ride in decode steps (None: the engine's profile)
    max_seq_len: int | None = None          # engine cap on input + output tokens of one request
    stream_interval: int | None = None      # steps between responses to a streaming client (None: 1)
    defaults: tuple[str, ...] = field(default=(), compare=False)  # set by the checks: the defaults applied

    def __post_init__(self) -> None:
        """Refuse settings no deployment can have, whichever interface built the request."""
        normalize_request(self)  # bounds, formats, spec decoding, scenario and SLO defaults (suanli.perf.inputs)
        for name in ("isl_cv", "osl_cv"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) \
                    or not np.isfinite(v) or v < 0:
                raise SuanliError(f"{name} must be a number >= 0 (got {v!r})",
                                  hint="the coefficient of variation (std / mean) of lengths; 0 = fixed lengths")
        for name in ("osl_max", "max_batch_per_rank", "max_num_tokens", "max_seq_len"):
            v = getattr(self, name)
            if v is None:
                continue
            if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) \
                    or not np.isfinite(v) or v <= 0:
                raise SuanliError(f"{name} must be a number > 0 (got {v!r})",
                                  hint="leave an engine limit unset (None) to take the engine's default")
        if self.osl_max is not None and self.osl_max < self.osl:
            raise SuanliError(f"osl_max ({self.osl_max:g}) is below the mean output length osl ({self.osl:g})",
                              hint="osl_max is the longest output (or the benchmark's cap)")
        if self.max_seq_len is not None and self.isl + self.osl > self.max_seq_len:
            raise SuanliError(f"isl + osl = {self.isl + self.osl:g} tokens exceeds max_seq_len = {self.max_seq_len:g}",
                              hint="raise --max-seq-len or shorten the requests")
        if self.stream_interval is not None:
            v = self.stream_interval
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise SuanliError(f"stream_interval must be a whole number >= 1 (got {v!r})",
                                  hint="the engine's steps between two responses to a streaming client "
                                       "(TensorRT-LLM, vLLM and SGLang --stream-interval; 1 = every token)")
            if not streams(self.scenario):
                raise SuanliError(f"stream_interval applies to clients that stream; the {self.scenario} scenario "
                                  "returns whole outputs",
                                  hint="use --scenario server or fixed, or leave --stream-interval out")
        if self.arrival_rate is not None and self.scenario != "server":
            raise SuanliError("an arrival rate describes the server scenario",
                              hint="use scenario='server' (CLI: --scenario server) with --arrival-rate")
        if self.arrival_rate is not None and (self.concurrency or self.batch_per_chip):
            raise SuanliError("give either an arrival rate or a fixed concurrency/batch, not both",
                              hint="at a given arrival rate the batch in flight follows from the load")


@dataclass
class Context:
    """The resolved inputs of a prediction."""

    hw: HardwareSpec
    model: ModelShape
    dtypes: Dtypes
    warnings: list[str] = field(default_factory=list)
    params: dict = field(default_factory=dict)


def context_window_warning(model: str, max_context: int | None, req: Request) -> str | None:
    """A warning when the requests run past the model's context window (its max_position_embeddings).

    Engines refuse such requests unless the window is extended (RoPE scaling, a longer-context
    checkpoint); the prediction is then an extrapolation of the model at the length given.

    >>> context_window_warning("m", 4096, Request("h200-sxm", "m", isl=4000, osl=200))[:60]
    'm: requests of isl + osl = 4,200 tokens run past its context'
    >>> context_window_warning("m", 4096, Request("h200-sxm", "m", isl=3000, osl=1000)) is None
    True
    """
    if not max_context:
        return None
    mean = req.isl + req.osl
    longest = req.isl + req.osl_max if req.osl_max else mean
    if longest <= max_context:
        return None
    what = (f"requests of isl + osl = {mean:,.0f} tokens" if mean > max_context else
            f"the longest requests (isl + osl_max = {longest:,.0f} tokens)")
    return (f"{model}: {what} run past its context window of {max_context:,} tokens "
            f"(max_position_embeddings); engines refuse them unless the window is extended, so this "
            f"prediction extrapolates")


def prepare(catalog: Any, req: Request, params: dict | None = None) -> Context:
    """Resolve hardware, system, model and formats; collect fallback and extrapolation warnings."""
    p = params or load_params()
    hw = HardwareSpec.from_catalog(catalog, req.hardware, system=req.system, chips=req.chips,
                                   engine=req.engine, params=p)
    arch = catalog.model(req.model)
    shape = ModelShape.from_arch(arch)
    check_mtp_head(req.spec_decode, shape.id, shape.mtp_layers)
    window_warning = context_window_warning(shape.id, arch.max_context, req)
    wd = req.weight_dtype or "bf16"  # formats are checked (and lower-cased) by the Request
    kv = req.kv_dtype
    if not kv and req.engine:
        # the engine's default KV-cache format when the record does not state one
        kv = (p.get("engines", {}).get(req.engine) or {}).get("kv_default") or None
    if not kv and wd == "fp4":
        kv = "fp8"  # FP4 checkpoints are served with an FP8 KV cache (every FP4 record in the dev set)
    dt = Dtypes.of(wd, req.act_dtype, kv)
    warnings = list(hw.warnings) + ([window_warning] if window_warning else [])
    if shape.attention in hw.attn_scale_prior:
        k = shape.attention
        warnings.append(f"extrapolation: the {k.upper()} attention efficiency of the {hw.family} family is not "
                        f"fitted on serving measurements; the prior attn_scale.{k} = "
                        f"{hw.attn_scale.get(k, 1.0):g} (the published kernel share as is) is used")
    act, w = hw.compute_dtype(dt.act)
    if w:
        warnings.append(w)
    # Each fallback changes only the format it names, and says so.
    if dt.weight in ("fp4",) and hw.peaks_tflops.get("fp4") is None:
        # FP4 weights without FP4 units: stored as the next supported format
        store = "fp8" if hw.peaks_tflops.get("fp8") is not None else "int8" if hw.peaks_tflops.get("int8") else "bf16"
        dt = replace(dt, weight=store, dense=None)
        warnings.append(f"{hw.hardware} has no fp4 support: weights stored as {store} (KV cache stays {dt.kv})")
    if dt.dense == "fp8" and hw.peaks_tflops.get("fp8") is None:
        dense = "int8" if hw.peaks_tflops.get("int8") else "bf16"
        dt = replace(dt, dense=dense)
        warnings.append(f"{hw.hardware} has no fp8 support: the non-expert weights stored as {dense}")
    if dt.kv == "fp8" and hw.peaks_tflops.get("fp8") is None:
        kv_store = "int8" if hw.peaks_tflops.get("int8") else "bf16"
        dt = replace(dt, kv=kv_store)
        warnings.append(f"{hw.hardware} has no fp8 support: the KV cache kept in {kv_store}")
    dt = replace(dt, act=act)
    return Context(hw, shape, dt, warnings, p)


# --------------------------------------------------------------------------- candidates
def no_expert_parallel(hw: HardwareSpec, m: ModelShape, req: Request) -> bool:
    """An MoE model on an engine whose profile has no expert parallelism, with no layout fixed by the request."""
    return m.is_moe and hw.serving.get("expert_parallel") is False and not (req.ep or req.dp)


def parallel_candidates(hw: HardwareSpec, m: ModelShape, ranks: int, req: Request) -> dict[str, np.ndarray]:
    """Arrays of (tp, pp, dp, ep) that fit ``ranks`` ranks, honouring the fixed ones in ``req``."""
    rows = []
    if req.tp and m.heads % req.tp:
        ok_tp = [t for t in POW2 if m.heads % t == 0 and t <= ranks]
        raise SuanliError(f"tp = {req.tp} does not divide the {m.heads} attention heads of {m.id}",
                          hint=f"use --tp {' / '.join(map(str, ok_tp)) or 1}, or leave --tp out to search it")
    tps = [req.tp] if req.tp else [t for t in POW2 if t <= min(ranks, m.heads) and t <= max(hw.domain_ranks, 1)]
    pps = [req.pp] if req.pp else [p for p in (1, 2, 4, 8) if p <= m.layers]
    moe = m.is_moe
    no_ep = no_expert_parallel(hw, m, req)   # experts split by TP only
    if no_ep:
        dps = [1]
    elif req.dp and (req.attn_dp or req.attn_dp is None):
        dps = [req.dp]
    elif req.attn_dp is False or not moe:
        dps = [1]
    else:
        dps = [d for d in POW2 if d <= ranks]
        if ranks not in dps:
            dps.append(ranks)
    for t in tps:
        for p in pps:
            for d in dps:
                r = t * p * d
                if r > ranks:
                    continue
                if req.ep:
                    eps = [req.ep]
                elif not moe or no_ep:
                    eps = [1]
                elif d > 1:
                    eps = [t * d]
                else:
                    eps = sorted({1, t})
                for e in eps:
                    if moe and (e > t * d or (t * d) % e):
                        continue
                    rows.append((t, p, d, e))
    if not rows:
        raise SuanliError(
            f"no parallel layout fits {ranks} ranks with the fixed settings given",
            hint="lower tp/pp/dp or add chips",
        )
    arr = np.asarray(rows, dtype=float)
    return {"tp": arr[:, 0], "pp": arr[:, 1], "dp": arr[:, 2], "ep": arr[:, 3]}


def _batch_grid(bmax: np.ndarray, fixed: float | None, per_octave: int = 2) -> np.ndarray:
    """(configs, grid) sequences per instance: fixed, or ``per_octave`` steps per octave below the memory limit."""
    if fixed is not None:
        return np.broadcast_to(np.asarray(fixed, dtype=float), (bmax.shape[0], 1)).copy()
    f = 2.0 ** (-np.arange(GRID_STEPS * per_octave // 2) / float(per_octave))
    g = np.floor(bmax[:, None] * f[None, :])
    return np.maximum(g, 1.0)


def _select(ev: Evaluation, ok: np.ndarray, score: np.ndarray) -> int | None:
    s = np.where(ok, score, -np.inf).ravel()
    if not np.isfinite(s).any():
        return None
    return int(np.argmax(s))


#: share of the decode step above which the engine's host work per request is reported as setting it
HOST_BOUND_SHARE = 0.25


def _host_bound(ctx: Context, req: Request, ev: Evaluation, i: int) -> str | None:
    """A warning when the engine's host work per request leaves the chip idle for much of the decode step.

    ``StepTime.host`` is the host work the step shows: all of it for an engine that runs it between
    steps, what outlasts the device's step for one that overlaps it. Such a step scales with the host
    CPU and the engine's executor, not with the chip; the host cost per request is one number per
    engine (``engines.<engine>.request_us``, fitted for TensorRT-LLM and vLLM).
    """
    st = ev.step
    if ev.mode == "prefill" or st.host is None:
        return None
    g = lambda x: float(np.asarray(x).flat[i] if np.size(x) > 1 else np.asarray(x).flat[0])  # noqa: E731
    total = g(st.total)
    share = g(st.host) / total if total > 0 else 0.0
    if share < HOST_BOUND_SHARE:
        return None
    eng = req.engine or "the engine"
    return (f"host-bound: {eng}'s host work per request in the batch ({ctx.hw.request_us:.0f} us per request per "
            f"step, one value per engine) leaves the chip idle {100 * share:.0f}% of the decode step at this batch, "
            f"so the throughput follows the host and the engine's executor rather than the chip (state yours with "
            f"--perf-params engines.{req.engine or '<engine>'}.request_us)")


def _required_memory_error(ctx: Context, req: Request) -> SuanliError:
    """Why nothing fits: the weights alone, or the KV cache of the requests the user holds in flight.

    A fixed load (``--concurrency`` or a batch per chip) whose weights fit the chips' memory runs out on
    its KV cache; the hint then names the load. Otherwise it names the smaller weight formats, if any.
    """
    m, hw = ctx.model, ctx.hw
    ranks = int(req.chips * hw.ranks_per_chip)
    chips = f"{ranks / hw.ranks_per_chip:g} x {hw.hardware}"
    need = float(weight_bytes_per_rank(m, ctx.dtypes)) / 1e9
    have = float(hw.mem_gb) * ranks
    held = req.concurrency or (req.batch_per_chip * req.chips if req.batch_per_chip else None)
    if held and need < have:
        empty = memory_per_rank(m, ctx.dtypes, mem_gb=hw.mem_gb, seqs_per_rank=0.0, ctx=0.0, step_tokens=0.0,
                                serving=hw.serving)
        usable = ranks * float(empty.capacity - empty.reserve) / 1e9
        kv = float(held) * m.kv_bytes_per_token(ctx.dtypes.kv) * (req.isl + req.osl) / 1e9
        fixed = [f"--{k}" for k in ("tp", "pp", "ep", "dp") if getattr(req, k) is not None]
        return SuanliError(
            f"{m.id} does not fit on {chips} with {held:,.0f} requests in flight: their KV cache at "
            f"{req.isl + req.osl:,.0f} tokens each takes about {kv:,.0f} GB in {ctx.dtypes.kv}, and each instance "
            f"holds a copy of the weights ({need:,.0f} GB in {ctx.dtypes.weight}), against {usable:,.0f} GB usable "
            f"of {have:,.0f} GB",
            hint="hold fewer requests (--concurrency), add chips (--chips)"
                 + (", keep the KV cache in fp8 (--kv-dtype fp8)" if kv_dtype_bytes(ctx.dtypes.kv) > 1 else "")
                 + (f", or leave the layout to the search (drop {'/'.join(fixed)}: fewer, larger instances hold "
                    f"fewer copies of the weights)" if fixed else ""),
        )
    wb = dtype_bytes(ctx.dtypes.weight)
    # formats the chip stores natively (int4 is weight-only, unpacked to the compute format on any chip)
    native = [d for d in ("fp8", "int8", "fp4") if hw.peaks_tflops.get(d) is not None] + ["int4"]
    smaller = [d for d in ("fp8", "int8", "int4", "fp4") if d in native and dtype_bytes(d) < wb]
    return SuanliError(
        f"{m.id} does not fit on {chips}: weights alone need {need:,.0f} GB in {ctx.dtypes.weight} plus KV cache; "
        f"{have:,.0f} GB of memory in all",
        hint="add chips (--chips)" + (f", or a smaller weight format (--weight-dtype {'/'.join(smaller)})"
                                      if smaller else f" ({ctx.dtypes.weight} is already the smallest weight format)"),
    )


def _phase_pred(ctx: Context, req: Request, ev: Evaluation, i: int, kind: str, chips_total: float,
                n_cand: int, t0: float, metric: str, extra: dict | None = None) -> Prediction:
    cfg = ev.pick(i)
    inst = max(int(chips_total * ctx.hw.ranks_per_chip // cfg["ranks_per_instance"]), 1)
    used = inst * cfg["chips_per_instance"]
    scale = used / chips_total
    metrics = {
        "output_tps_per_chip": cfg["output_tps_per_chip"] * scale,
        "input_tps_per_chip": cfg["input_tps_per_chip"] * scale,
        "tpot_ms": cfg["tpot_ms"], "ttft_ms": cfg["ttft_ms"], "tps_per_user": cfg["tps_per_user"],
        "step_ms": cfg["step_ms"],
    }
    metrics["total_tps_per_chip"] = metrics["output_tps_per_chip"] + metrics["input_tps_per_chip"]
    config = {k: cfg[k] for k in ("tp", "pp", "ep", "dp", "ranks_per_instance")}
    config.update(instances=inst, chips_used=used, batch_per_instance=cfg["batch"],
                  batch_per_chip=cfg["batch"] / cfg["chips_per_instance"], accept_length=cfg["accept_length"],
                  attn_dp=cfg["dp"] > 1, mode=ev.mode, dtypes=vars(ctx.dtypes).copy(),
                  system=ctx.hw.system, isl=req.isl, osl=req.osl)
    L = request_lengths(req)
    config["lengths"] = {"isl_cv": req.isl_cv, "osl_cv": req.osl_cv, "osl_max": req.osl_max,
                         "decode_ctx": round(float(L.decode_ctx), 1), "kv_tokens": round(float(L.kv_ctx), 1),
                         "kv_spread": round(float(L.kv_spread), 3), "kv_rule": "waves" if L.fixed else "staggered"}
    config["engine_limits"] = lim = engine_limits(ctx, req)
    if lim["source"]["chunked_prefill"] == IMPLIED_CHUNKING:
        ctx.warnings.append(f"prompts of {req.isl:,.0f} tokens exceed max_num_tokens {float(lim['max_num_tokens']):,.0f}, "
                            f"which {req.engine or 'the engine'} can serve only by chunking them: chunked prefill "
                            "assumed on (give --no-chunked-prefill with a larger --max-num-tokens to model whole prompts)")
    if extra:
        config.update(extra)
    # what the SLOs mean and which defaults were applied, so every interface prints the same
    every = responses_every(req)
    config.update(scenario=req.scenario, ttft_slo_ms=req.ttft_slo_ms, tpot_slo_ms=req.tpot_slo_ms,
                  slo_basis="p99" if req.scenario == "server" else "mean", defaults=list(req.defaults),
                  streamed_responses=every > 0, stream_interval=every or None)
    bott = {ev.mode if ev.mode != "mixed" else "decode": ev.step.bottleneck_name(i)}
    shares = {ev.mode if ev.mode != "mixed" else "decode": {k: round(v, 4) for k, v in ev.step.shares(i).items()}}
    if ev.prefill_step is not None and ev.mode != "prefill":
        bott["prefill"] = ev.prefill_step.bottleneck_name(i)
        shares["prefill"] = {k: round(v, 4) for k, v in ev.prefill_step.shares(i).items()}
    pred = Prediction(ctx.hw.hardware, ctx.model.id, kind, int(chips_total), config, metrics, bott, shares,
                      ev.memory.to_dict(i), warnings=list(dict.fromkeys(ctx.warnings)), candidates=n_cand,
                      search_ms=(time.perf_counter() - t0) * 1e3)
    band, warns = band_for(ctx.hw, kind, req.engine, ctx.model.id)
    pred.warnings += [w for w in warns if w not in pred.warnings]
    host_bound = _host_bound(ctx, req, ev, i)
    if host_bound:
        pred.warnings.append(host_bound)
    if no_expert_parallel(ctx.hw, ctx.model, req):
        pred.warnings.append(f"{req.engine}: its profile has no expert parallelism, so only TP x PP layouts "
                             "were searched; give --ep/--dp to model a release that has it")
    with_band(pred, band, metric)
    return pred


def request_lengths(req: Request) -> Lengths:
    """The request-length distribution a request describes (fixed lengths unless CVs are given)."""
    return Lengths(req.isl, req.osl, req.isl_cv, req.osl_cv, req.osl_max)


def _queued_warning(pred: Prediction, req: Request, running: float) -> None:
    """Say so when a fixed concurrency exceeds what the engine runs at once (the rest queue)."""
    if req.concurrency and not req.batch_per_chip and running < req.concurrency - 0.5:
        pred.warnings.append(
            f"{running:,.0f} of the {req.concurrency:,.0f} requests in flight run at once (the engine's "
            f"max_batch_per_rank over the instances); the other {req.concurrency - running:,.0f} wait in its "
            "queue, and that wait is not in the TTFT shown")


def responses_every(req: Request) -> int:
    """Steps between two responses to a client: the request's ``stream_interval`` (default 1, every
    token) where the scenario's clients stream (``perf.inputs.streams``), else 0 (whole outputs).
    """
    return int(req.stream_interval or 1) if streams(req.scenario) else 0


def closed_waves(req: Request) -> bool:
    """A closed loop of fixed-length requests sent all at once (a benchmark at a fixed concurrency).

    Such requests arrive, prefill and finish together, and each cycle repeats
    (see :func:`~suanli.perf.serving.evaluate`, ``waves``).
    """
    return bool(req.concurrency) and not req.batch_per_chip and req.scenario == "fixed" \
        and req.isl_cv == 0 and req.osl_cv == 0 and req.arrival_rate is None


# where engine_limits says chunked prefill came from when prompts longer than max_num_tokens imply it
IMPLIED_CHUNKING = "implied: prompts longer than max_num_tokens"


def engine_limits(ctx: Context, req: Request) -> dict[str, Any]:
    """Engine limits that apply: the request's, else the engine's profile, else the serving defaults.

    Returns ``max_batch_per_rank``, ``max_num_tokens``, ``chunked_prefill``, ``mixed_chunk`` and ``source``
    (where each came from: ``request``, ``engine:<name>`` or ``default``).
    """
    sv = ctx.hw.serving
    prof = ((ctx.params.get("engines", {}) or {}).get(req.engine or "") or {}).get("limits") or {}
    out: dict[str, Any] = {}
    src: dict[str, str] = {}
    defaults = {"max_batch_per_rank": float(sv.get("max_batch_per_rank", 2048)),
                "max_num_tokens": float(sv.get("max_num_tokens", 8192)),
                "chunked_prefill": bool(sv.get("chunked_prefill", True)),
                "mixed_chunk": bool(sv.get("mixed_chunk", True))}
    for k, dflt in defaults.items():
        v = getattr(req, k)
        if v is not None:
            out[k], src[k] = v, "request"
        elif prof.get(k) is not None:
            out[k], src[k] = prof[k], f"engine:{req.engine}"
        else:
            out[k], src[k] = dflt, "default"
    if not out["chunked_prefill"] and src["chunked_prefill"] != "request" and req.isl > float(out["max_num_tokens"]):
        # an engine that runs each prompt whole in one iteration cannot take prompts longer than its
        # cap on tokens per iteration (TensorRT-LLM requires max_num_tokens >= the longest input unless
        # chunked context is on): a deployment serving them chunks its prompts
        out["chunked_prefill"], src["chunked_prefill"] = True, IMPLIED_CHUNKING
    out["source"] = src
    return out


def _run(ctx: Context, req: Request, mode: str, *, score_metric: str = "output_tps_per_chip",
         tokens_grid: bool = False, split_concurrency: bool = False) -> tuple[Evaluation, np.ndarray, int]:
    """Evaluate every candidate of one mode; return the evaluation, the feasibility mask and its size.

    With ``split_concurrency`` (the decode side of a disaggregated deployment at a fixed
    concurrency) column ``k`` of the grid holds the concurrency spread over ``k + 1`` instances:
    the requests in flight sit on the decode instances, however many of the chips those are.
    """
    hw, m, dt = ctx.hw, ctx.model, ctx.dtypes
    ranks = int(req.chips * hw.ranks_per_chip)
    pc = parallel_candidates(hw, m, ranks, req)
    draft = parse_spec(req.spec_decode)
    R = pc["tp"] * pc["pp"] * pc["dp"]
    chips_inst = R / hw.ranks_per_chip
    sv = hw.serving
    lengths = request_lengths(req)
    lim = engine_limits(ctx, req)
    n_inst = np.maximum(np.floor(ranks / R), 1.0)      # instances of each candidate that the chips hold
    if tokens_grid:  # prefill: prompt tokens per step per instance
        if req.batch_per_chip:
            fixed = req.batch_per_chip * chips_inst
            grid = fixed[:, None]
        elif req.concurrency:
            # prompts in flight: each scheduler (one per attention-DP group) packs at most
            # max_prefill_tokens prompt tokens into one step, within the engine's cap on tokens per
            # iteration (or one whole prompt it does not chunk); the rest wait for the next
            waiting = np.maximum(req.concurrency / n_inst, 1.0) * req.isl
            cap = prefill_tokens_per_step(sv, float(lim["max_num_tokens"]), req.isl) * pc["dp"]
            grid = np.maximum(np.minimum(waiting, cap), req.isl)[:, None]
        else:
            # 512 .. 32768 prompt tokens per scheduler (one per attention-DP group and pipeline
            # micro-batch) and step, up to the engine's cap on tokens per iteration (a prompt it
            # does not chunk runs whole, so never below one prompt)
            per_sched = np.unique(np.minimum(2.0 ** np.arange(9, 16), max(float(lim["max_num_tokens"]), req.isl)))
            grid = np.maximum(per_sched[None, :] * (pc["dp"] * pc["pp"])[:, None], req.isl)
    else:
        bmax = max_seqs_per_rank(m, dt, mem_gb=hw.mem_gb, ctx=lengths.kv_ctx, spread=lengths.kv_spread,
                                 step_tokens=1024,
                                 tp=pc["tp"], dp=pc["dp"], ep=pc["ep"], pp=pc["pp"], serving=sv,
                                 mtp_layers=max(m.mtp_layers, 1) if draft else 0) * pc["dp"]
        # the engine's cap: ranks of one TP group share a batch, attention-DP ranks hold their own
        bmax = np.minimum(bmax, float(lim["max_batch_per_rank"]) * pc["dp"] * pc["pp"])
        fixed = None
        if req.batch_per_chip:
            fixed = req.batch_per_chip * chips_inst
        elif req.concurrency and split_concurrency:
            k = np.arange(1, int(n_inst.max()) + 1, dtype=float)
            fixed = np.maximum(req.concurrency / np.broadcast_to(k, (len(R), len(k))), 1.0)
        elif req.concurrency:
            fixed = np.maximum(req.concurrency / n_inst, 1.0)
        if fixed is not None and req.concurrency and not req.batch_per_chip:
            # requests beyond the engine's cap on running sequences wait in its queue
            cap = float(lim["max_batch_per_rank"]) * pc["dp"] * pc["pp"]
            fixed = np.minimum(fixed, cap[:, None] if np.ndim(fixed) == 2 else cap)
        if fixed is not None and np.ndim(fixed) == 2:
            grid = fixed
        elif fixed is not None:
            grid = np.broadcast_to(np.asarray(fixed, dtype=float).reshape(-1, 1) if np.ndim(fixed) else
                                   np.full((len(R), 1), float(fixed)), (len(R), 1))
        else:
            # one grid for offline and server, so a server point is always an offline candidate too
            # (server <= offline by construction); the p99 SLOs bind inside it
            grid = _batch_grid(np.maximum(bmax, 1.0), None, per_octave=SERVER_GRID_PER_OCTAVE)
    shape = grid.shape
    b = lambda k: np.broadcast_to(pc[k][:, None], shape)  # noqa: E731
    ev = evaluate(hw, m, dt, tp=b("tp"), pp=b("pp"), ep=b("ep"), dp=b("dp"), batch=grid, isl=req.isl,
                  osl=req.osl, mode=mode, draft=draft, lengths=lengths,
                  accept_p=req.accept_p if req.accept_p is not None else spec_acceptance(req.spec_decode, sv),
                  max_num_tokens=lim["max_num_tokens"], chunked_prefill=bool(lim["chunked_prefill"]),
                  mixed_chunk=bool(lim["mixed_chunk"]), waves=closed_waves(req), stream_interval=responses_every(req))
    if req.concurrency and req.batch_per_chip is None:
        if mode == "mixed":
            # a closed loop: each client cycles through its TTFT and osl - 1 more tokens, so an instance
            # completes batch / (TTFT + (osl - 1) TPOT) requests/s (Little's law); the steps' own rate
            # assumes every request in flight decodes, while those waiting for their first token do not
            cycle = np.asarray(ev.ttft_s) + np.maximum(req.osl - 1.0, 0.0) * np.asarray(ev.tpot_s)
            closed = np.asarray(grid) * req.osl / np.maximum(cycle, 1e-12)
            ev.out_tps_instance = np.minimum(ev.out_tps_instance, closed)
            ev.in_tps_instance = ev.out_tps_instance * req.isl / max(req.osl, 1.0)
        # fewer requests in flight than instances: the others idle, and tokens/s per chip counts them
        if split_concurrency and mode != "prefill":
            k = np.arange(1, shape[1] + 1, dtype=float)[None, :]
            busy = np.minimum(req.concurrency / k, 1.0)
        else:
            busy = np.minimum(req.concurrency / n_inst, 1.0)[:, None]
        ev.out_tps_instance = ev.out_tps_instance * busy
        ev.in_tps_instance = ev.in_tps_instance * busy
    ok = np.array(ev.fits, dtype=bool)  # a copy: ev.fits must keep saying what fits in memory
    if mode != "prefill" and req.batch_per_chip is None and req.concurrency is None:
        ok &= np.asarray(grid <= np.maximum(bmax[:, None], 1.0))
        # the engine schedules at most max_num_tokens tokens per rank per step
        ok &= np.asarray(ev.step_tokens_rank <= float(lim["max_num_tokens"]))
    tpot, ttft = ev.tpot_s, ev.ttft_s
    if req.scenario == "server" and mode != "prefill":
        # Poisson arrivals: the SLOs are p99 limits on the queueing latencies of each operating point
        slots = np.maximum(bmax[:, None], 1.0) if fixed is None else grid
        prompt_cv = req.isl_cv if req.isl_cv > 0 else float(sv.get("prompt_cv", 1.0))
        ev.server = server_tails(ev, req.osl, slots=slots, prompt_cv=prompt_cv)
        tpot, ttft = ev.server.tpot_p99_s, ev.server.ttft_p99_s
        ok &= np.isfinite(tpot) & np.isfinite(ttft)  # load >= 1: the queue grows without bound, no valid point
        if req.arrival_rate:
            ok &= at_load(np.broadcast_to(ev.server.rate, shape), req.arrival_rate / np.floor(ranks / R))
    if req.tpot_slo_ms and mode != "prefill":
        ok &= tpot * 1e3 <= req.tpot_slo_ms
    if req.ttft_slo_ms and not (req.scenario == "server" and mode == "decode"):
        ok &= ttft * 1e3 <= req.ttft_slo_ms
    return ev, ok, int(np.size(grid))


def at_load(rate: np.ndarray, demand: np.ndarray) -> np.ndarray:
    """Mask of the operating point each configuration (row) runs at under ``demand`` requests/s.

    Rows are configurations, columns batch sizes (in any order) whose steady state serves
    ``rate`` requests/s. A configuration serving ``demand`` runs at the point with the
    smallest rate that still covers it -- the smallest batch that keeps up (its latencies
    there are those of arrivals at that rate: slightly conservative); a configuration whose
    largest batch cannot keep up has no point.

    >>> at_load(np.array([[4.0, 2.0, 1.0], [1.0, 1.5, 1.8]]), np.array([1.5, 2.0])).tolist()
    [[False, True, False], [False, False, False]]
    """
    rate = np.asarray(rate, dtype=float)
    cover = rate >= np.asarray(demand, dtype=float).reshape(-1, 1)
    pick = np.argmin(np.where(cover, rate, np.inf), axis=1)
    mask = np.zeros(rate.shape, dtype=bool)
    rows = np.flatnonzero(cover.any(axis=1))
    mask[rows, pick[rows]] = True
    return mask


def _server_metrics(pred: Prediction, ev: Evaluation, i: int) -> None:
    """p99 latencies and load of the chosen server-scenario operating point."""
    t = ev.server
    g = lambda x: float(np.asarray(x).flat[i])  # noqa: E731
    pred.metrics.update(ttft_p99_ms=g(t.ttft_p99_s) * 1e3, tpot_p99_ms=g(t.tpot_p99_s) * 1e3,
                        requests_per_s_per_instance=g(t.rate))
    pred.config.update(server_utilization=round(g(t.utilization), 4), occupancy_p99=round(g(t.occupancy_p99), 1),
                       prefill_queue_utilization=round(g(t.prefill_rho), 4))


def _slo_text(req: Request) -> str:
    """The SLOs in force, e.g. ``TTFT p99 <= 6000 ms (default), TPOT p99 <= 50 ms``."""
    basis = "p99" if req.scenario == "server" else "mean"
    dflt = any(d.startswith("TTFT") for d in req.defaults)
    parts = [f"TTFT {basis} <= {req.ttft_slo_ms:g} ms" + (" (default)" if dflt else "")] if req.ttft_slo_ms else []
    parts += [f"TPOT {basis} <= {req.tpot_slo_ms:g} ms"] if req.tpot_slo_ms else []
    return ", ".join(parts) or "none"


def predict_phase(catalog: Any, req: Request, kind: str, *, params: dict | None = None) -> Prediction:
    """Prefill or decode at the given settings (free ones searched): ``kind`` is ``prefill`` or ``decode``."""
    t0 = time.perf_counter()
    ctx = prepare(catalog, req, params)
    mode = "prefill" if kind == "prefill" else "decode"
    ev, ok, n = _run(ctx, req, mode, tokens_grid=(mode == "prefill"))
    metric = "input_tps_per_chip" if mode == "prefill" else "output_tps_per_chip"
    score = ev.in_tps_per_chip if mode == "prefill" else ev.out_tps_per_chip
    i = _select(ev, ok, score)
    if i is None:
        if not np.asarray(ev.fits).any():
            raise _required_memory_error(ctx, req)
        raise SuanliError(f"no {kind} configuration meets the SLOs given",
                          hint="relax --ttft-slo-ms / --tpot-slo-ms or add chips")
    return _phase_pred(ctx, req, ev, i, kind, req.chips, n, t0, metric)


def predict_serve(catalog: Any, req: Request, *, params: dict | None = None) -> Prediction:
    """Best end-to-end serving configuration: max output tokens/s per chip under the SLOs."""
    t0 = time.perf_counter()
    if req.scenario == "fixed" and not (req.concurrency or req.batch_per_chip):
        raise SuanliError("the fixed scenario needs a concurrency (the requests a benchmark client keeps in flight)",
                          hint="give --concurrency N (API: concurrency), or use the offline scenario for the best batch")
    ctx = prepare(catalog, req, params)
    if not req.disagg:
        ev, ok, n = _run(ctx, req, "mixed")
        # at a given load the throughput is the load: pick the configuration users wait least on
        score = -np.asarray(ev.server.tpot_p99_s) if req.arrival_rate else ev.out_tps_per_chip
        i = _select(ev, ok, score)
        if i is None:
            if not np.asarray(ev.fits).any():
                raise _required_memory_error(ctx, req)
            if req.arrival_rate:
                raise SuanliError(f"no configuration of {req.chips} chips serves {req.arrival_rate:g} requests/s"
                                  f" within the SLOs given ({_slo_text(req)})",
                                  hint="lower --arrival-rate, add chips, or relax the SLOs")
            raise SuanliError(f"no configuration meets the SLOs given ({_slo_text(req)})",
                              hint="relax --ttft-slo-ms / --tpot-slo-ms, add chips or lower precision")
        pred = _phase_pred(ctx, req, ev, i, "serve", req.chips, n, t0, "output_tps_per_chip")
        _queued_warning(pred, req, float(pred.config["batch_per_instance"]) * float(pred.config["instances"]))
        if ev.server is not None:
            _server_metrics(pred, ev, i)
        if req.arrival_rate:
            inst = pred.config["instances"]
            out = req.arrival_rate * req.osl / req.chips
            pred.metrics.update(output_tps_per_chip=out, input_tps_per_chip=out * req.isl / req.osl,
                                total_tps_per_chip=out * (1 + req.isl / req.osl),
                                requests_per_s_per_instance=req.arrival_rate / inst)
            pred.config.update(arrival_rate=req.arrival_rate)
            if pred.error_band:
                with_band(pred, pred.error_band, "output_tps_per_chip")
        return pred
    # disaggregated: prefill instances (TTFT) and decode instances (TPOT) on separate chips
    if req.arrival_rate:
        raise SuanliError("a given arrival rate is modelled for aggregated serving only",
                          hint="drop --disagg, or drop --arrival-rate to get the best sustainable load")
    preq = replace(req, tpot_slo_ms=None, concurrency=None, batch_per_chip=None)
    pev, pok, pn = _run(ctx, preq, "prefill", tokens_grid=True)
    dreq = replace(req, ttft_slo_ms=None)
    closed = bool(req.concurrency) and not req.batch_per_chip
    dev, dok, dn = _run(ctx, dreq, "decode", split_concurrency=closed)
    if not (np.asarray(pok).any() and np.asarray(dok).any()):
        if not np.asarray(dev.fits).any():
            raise _required_memory_error(ctx, req)
        raise SuanliError("no disaggregated configuration meets the SLOs given",
                          hint="relax the SLOs or add chips")
    # server scenario: the decode instances meet the p99 TPOT at their in-flight occupancy (_run); the
    # prefill instances' queue is not modelled, so they keep the share `server_utilization` (estimate)
    util = float(ctx.hw.serving.get("server_utilization", 1.0)) if req.scenario == "server" else 1.0
    plan = (disagg_plan_closed(pev, pok, dev, dok, req.chips, req.isl, req.osl, float(req.concurrency),
                               waves=closed_waves(req))
            if closed else disagg_plan(pev, pok, dev, dok, req.chips, req.isl, req.osl))
    if plan is None:
        need = float(np.min(np.where(pok, pev.chips, np.inf))) + float(np.min(np.where(dok, dev.chips, np.inf)))
        raise SuanliError(
            f"disaggregation needs at least {need:g} chips (one prefill and one decode instance); "
            f"{req.chips} given",
            hint="add chips, or drop --disagg to serve prefill and decode on the same chips")
    ip, idx = plan["prefill_index"], plan["decode_index"]
    P = float(pev.in_tps_per_chip.flat[ip])
    D = float(dev.out_tps_per_chip.flat[idx])
    fleet = disagg_combine(P, D, req.isl, req.osl)
    pred = _phase_pred(ctx, req, dev, idx, "serve", req.chips, pn + dn, t0, "output_tps_per_chip")
    pcfg = pev.pick(ip)
    out = plan["output_tps_per_chip"] * util
    pred.metrics.update(output_tps_per_chip=out, input_tps_per_chip=out * req.isl / req.osl,
                        total_tps_per_chip=out * (1 + req.isl / req.osl),
                        ttft_ms=plan["ttft_s"] * 1e3 if closed else pcfg["ttft_ms"],
                        **({"tpot_ms": plan["tpot_s"] * 1e3, "tps_per_user": 1.0 / plan["tpot_s"]} if closed else {}),
                        prefill_input_tps_per_chip=P, decode_output_tps_per_chip=D,
                        fleet_output_tps_per_chip=float(fleet["output_tps_per_chip"]) * util)
    pred.config.update(disagg=True, instances=plan["decode_instances"],
                       prefill_share=plan["prefill_chips"] / req.chips,
                       prefill_chips=plan["prefill_chips"], decode_chips=plan["decode_chips"],
                       prefill_instances=plan["prefill_instances"], decode_instances=plan["decode_instances"],
                       fleet_prefill_share=float(fleet["prefill_share"]),
                       prefill={k: pcfg[k] for k in ("tp", "pp", "ep", "dp", "batch", "ttft_ms")})
    if closed:
        _queued_warning(pred, req, float(pred.config["batch_per_instance"]) * plan["decode_instances"])
    pred.bottleneck["prefill"] = pev.step.bottleneck_name(ip)
    pred.shares["prefill"] = {k: round(v, 4) for k, v in pev.step.shares(ip).items()}
    if pred.error_band:
        with_band(pred, pred.error_band, "output_tps_per_chip")
    return pred


@dataclass
class ParetoCurve:
    """Output tokens/s per chip against tokens/s per user: the upper-right front of the candidates."""

    hardware: str
    model: str
    points: list[dict]
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"hardware": self.hardware, "model": self.model, "points": self.points, "warnings": self.warnings}

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame(self.points)


def pareto_front(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Indices of the points no other point beats in both ``x`` and ``y`` (larger is better), by ``x``.

    >>> pareto_front(np.array([1.0, 2, 3, 2.5]), np.array([3.0, 2, 1, 0.5])).tolist()
    [0, 1, 2]
    """
    order = np.lexsort((-y, -x))
    keep, best = [], -np.inf
    for i in order:
        if y[i] > best:
            keep.append(i)
            best = y[i]
    return np.asarray(sorted(keep, key=lambda i: x[i]), dtype=int)


def pareto(catalog: Any, req: Request, *, params: dict | None = None, max_points: int = 40) -> ParetoCurve:
    """The Pareto curve of output tokens/s per chip vs tokens/s per user (TTFT SLO applied if given)."""
    ctx = prepare(catalog, req, params)
    mode = "decode" if req.disagg else "mixed"
    ev, ok, _ = _run(ctx, replace(req, tpot_slo_ms=None), mode)
    x = np.where(ok, ev.tps_per_user, np.nan).ravel()
    y = np.where(ok, ev.out_tps_per_chip, np.nan).ravel()
    valid = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    if valid.size == 0:
        if np.asarray(ev.fits).any():
            raise SuanliError("no configuration meets the TTFT SLO given", hint="relax --ttft-slo-ms or add chips")
        raise _required_memory_error(ctx, req)
    front = valid[pareto_front(x[valid], y[valid])]
    if front.size > max_points:
        front = front[np.linspace(0, front.size - 1, max_points).round().astype(int)]
    pts = []
    for i in front:
        c = ev.pick(int(i))
        pts.append({k: c[k] for k in ("tps_per_user", "output_tps_per_chip", "tpot_ms", "ttft_ms", "tp", "pp",
                                       "ep", "dp", "batch")})
    band, warns = band_for(ctx.hw, "serve", req.engine, ctx.model.id)
    return ParetoCurve(ctx.hw.hardware, ctx.model.id, pts, list(dict.fromkeys(ctx.warnings + warns)))


__all__ = ["BOTTLENECKS", "Context", "ParetoCurve", "Request", "pareto", "pareto_front", "parallel_candidates",
           "predict_phase", "predict_serve", "prepare"]
