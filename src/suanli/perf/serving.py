"""Serving: prefill, decode and mixed steps turned into tokens/s per chip, TTFT and TPOT.

:func:`evaluate` is the vectorized core: arrays of configurations (``tp``,
``pp``, ``ep``, ``dp`` = attention-DP ranks, ``batch`` = sequences in flight
per model instance) in, arrays of throughput and latency out. Three modes:

``mixed``
    Aggregated serving with chunked prefill (offline throughput, server mode):
    each step decodes ``batch`` sequences and carries the prompt tokens that
    keep the batch full, ``batch x isl x a / osl`` of them, where ``a`` is
    the tokens accepted per step (1 without speculative decoding). Output
    tokens/s per instance = ``batch x a / (pp x step)``; TPOT = ``pp x step / a``.
``decode``
    A decode-only instance (disaggregated decode, or a fixed-batch decode
    measurement): the same without prompt tokens.
``prefill``
    A prefill-only instance: ``batch`` prompt tokens per step; input tokens/s
    = ``batch / step`` (pipeline stages overlap micro-batches).

Speculative decoding / MTP with ``draft`` tokens verified per step and
acceptance probability ``p`` per draft gives ``a = 1 + p + ... + p^draft``
tokens per step; the draft model costs ``draft`` x one MTP layer plus LM head.

Disaggregation (:func:`disagg_combine`): with prefill chips delivering ``P``
input tokens/s each and decode chips ``D`` output tokens/s each, the best
P:D chip ratio is ``(osl x P) : (isl x D)``... i.e. prefill chips
``x = isl / (osl P)`` per output token/s and decode chips ``y = 1 / D``, so
output tokens/s per chip = ``1 / (1/D + isl / (osl P))``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from suanli.catalog.calibration import band_label
from suanli.perf.hardware import HardwareSpec
from suanli.perf.inference import BOTTLENECKS, StepTime, step_time
from suanli.perf.lengths import Lengths
from suanli.perf.memory import MemoryBreakdown, memory_per_rank
from suanli.perf.ops import Dtypes, ModelShape


def _a(x: Any) -> np.ndarray:
    return np.asarray(x, dtype=float)


def acceptance_length(draft: Any, p: Any) -> np.ndarray:
    """Expected tokens per step with ``draft`` speculative tokens each accepted with probability ``p``.

    ``sum_{i=0}^{draft} p^i`` (a draft counts only if all before it were accepted).

    >>> round(float(acceptance_length(1, 0.7)), 3), round(float(acceptance_length(3, 0.7)), 3)
    (1.7, 2.533)
    """
    d, p = _a(draft), _a(p)
    return np.where(np.isclose(p, 1.0), d + 1.0, (1.0 - p ** (d + 1.0)) / np.where(np.isclose(p, 1.0), 1.0, 1.0 - p))


def parse_spec(spec: str | None) -> int:
    """Draft tokens of a ``spec_decode`` setting: ``mtp1`` -> 1, ``eagle3`` -> 3, empty -> 0.

    >>> parse_spec("mtp2"), parse_spec(None), parse_spec("none")
    (2, 0, 0)
    """
    if not spec or spec in ("none", "no", "0"):
        return 0
    digits = "".join(ch for ch in str(spec) if ch.isdigit())
    return int(digits) if digits else 1


def spec_acceptance(spec: str | None, serving: dict) -> float:
    """Chance one draft token is accepted for a ``spec_decode`` method (``serving.spec_acceptance``).

    >>> spec_acceptance("mtp2", {"spec_acceptance": {"mtp": 0.7, "eagle": 0.53}})
    0.7
    >>> spec_acceptance("eagle3", {"spec_acceptance": {"mtp": 0.7, "eagle": 0.53}})
    0.53
    """
    table = serving.get("spec_acceptance") or {}
    method = "".join(ch for ch in str(spec or "") if ch.isalpha()).lower()
    if method in table:
        return float(table[method])
    return float(serving.get("mtp_acceptance", 0.7))


@dataclass
class Evaluation:
    """Arrays over candidate configurations (all broadcast to one shape)."""

    tp: np.ndarray
    pp: np.ndarray
    ep: np.ndarray
    dp: np.ndarray
    batch: np.ndarray
    ranks: np.ndarray                 # ranks per model instance
    chips: np.ndarray                 # chips per model instance
    step_s: np.ndarray
    tpot_s: np.ndarray
    ttft_s: np.ndarray
    out_tps_instance: np.ndarray
    in_tps_instance: np.ndarray
    fits: np.ndarray
    step: StepTime
    prefill_step: StepTime | None
    memory: MemoryBreakdown
    accept: np.ndarray
    mode: str
    server: Any = None                # ServerTails in the server scenario
    ttft_long_s: Any = None           # TTFT of a p99-length prompt (when prompt lengths vary)
    step_tokens_rank: Any = None      # tokens one rank schedules per step (engine's max_num_tokens applies)

    @property
    def out_tps_per_chip(self) -> np.ndarray:
        return self.out_tps_instance / self.chips

    @property
    def in_tps_per_chip(self) -> np.ndarray:
        return self.in_tps_instance / self.chips

    @property
    def tps_per_user(self) -> np.ndarray:
        return 1.0 / self.tpot_s

    def pick(self, i: int) -> dict:
        """One candidate as plain numbers."""
        g = lambda x: float(np.asarray(x).flat[i] if np.size(x) > 1 else np.asarray(x).flat[0])  # noqa: E731
        out = {
            "tp": int(g(self.tp)), "pp": int(g(self.pp)), "ep": int(g(self.ep)), "dp": int(g(self.dp)),
            "batch": g(self.batch), "ranks_per_instance": int(g(self.ranks)), "chips_per_instance": g(self.chips),
            "step_ms": g(self.step_s) * 1e3, "tpot_ms": g(self.tpot_s) * 1e3, "ttft_ms": g(self.ttft_s) * 1e3,
            "output_tps_per_chip": g(self.out_tps_per_chip), "input_tps_per_chip": g(self.in_tps_per_chip),
            "tps_per_user": g(self.tps_per_user), "accept_length": g(self.accept),
        }
        return out


def prefill_tokens_per_step(sv: dict, chunk: Any, isl: Any) -> np.ndarray:
    """Prompt tokens one scheduler packs into a prefill step when many prompts wait.

    ``max_prefill_tokens`` (``sv``, the serving defaults), within the engine's chunk, or one whole
    prompt it does not chunk: SGLang's scheduler stops a prefill batch when either budget runs out.

    >>> float(prefill_tokens_per_step({"max_prefill_tokens": 16384}, 8192, 4096))
    8192.0
    >>> float(prefill_tokens_per_step({"max_prefill_tokens": 16384}, 8192, 20000))
    16384.0
    """
    return np.minimum(float(sv.get("max_prefill_tokens", 16384)), np.maximum(_a(chunk), _a(isl)))


def evaluate(
    hw: HardwareSpec,
    m: ModelShape,
    dtypes: Dtypes,
    *,
    tp: Any = 1,
    pp: Any = 1,
    ep: Any = 1,
    dp: Any = 1,
    batch: Any = 1,
    isl: Any = 1024,
    osl: Any = 1024,
    mode: str = "mixed",
    draft: Any = 0,
    accept_p: Any = None,
    serving: bool = True,
    lengths: Lengths | None = None,
    max_num_tokens: Any = None,
    chunked_prefill: bool = True,
    mixed_chunk: bool = True,
    waves: bool = False,
    stream_interval: int = 0,
) -> Evaluation:
    """Throughput and latency of arrays of configurations (see the module docstring).

    ``batch`` is sequences in flight per instance (``mixed``/``decode``) or
    prompt tokens per step per instance (``prefill``). ``lengths`` gives the
    spread of request lengths (:class:`~suanli.perf.lengths.Lengths`; default:
    every request ``isl`` + ``osl`` tokens): decode reads the token-weighted
    context, the KV cache holds each request's final length, and prompt
    attention runs over the token-weighted prompt length.
    ``max_num_tokens`` is the engine's prompt chunk per step (default
    ``serving.max_num_tokens``); with ``chunked_prefill`` False a prompt is
    prefilled whole.

    ``mixed_chunk`` False (``mixed`` mode): the engine never puts prompt tokens into a
    decode step (SGLang without ``--enable-mixed-chunk``, and always with speculative
    decoding). With attention DP (``dp`` > 1) the steps mix all the same: the ranks run each
    iteration together through the expert layers, so one rank's prefill batch runs beside
    the others' decode batches. Otherwise waiting prompts run first, in prefill-only batches of at most
    ``serving.max_prefill_tokens`` per attention-DP group, and decoding stops meanwhile. In
    one request's life the instance prefills the ``batch`` prompts in flight, ``T_pf =
    batch x isl / X`` seconds at its batched prefill rate ``X``, and decodes ``osl``
    tokens, so output tokens/s = ``batch x osl / (T_pf + osl x TPOT_decode)``.
    ``waves`` (a closed loop of fixed-length requests all sent at once): the requests
    arrive, prefill and finish together, and every cycle repeats. TTFT is then the mean
    wait through the burst, ``(T_pf + one batch) / 2``, and TPOT the decode step plus the
    rest of the burst spread over the output; without waves the prefill pauses fall on
    every token (TPOT = the cycle over ``osl``) and TTFT is one prompt's prefill.

    ``stream_interval``: the clients take the tokens as they are made, a response per decoding
    sequence every ``stream_interval`` steps (the server and closed-loop scenarios,
    ``perf.inputs.streams``; 0: no streamed responses).
    """
    tp, pp, ep, dp, batch = (_a(x) for x in (tp, pp, ep, dp, batch))
    isl, osl, draft = _a(isl), _a(osl), _a(draft)
    L = lengths if lengths is not None else Lengths(isl, osl)
    span = L.prefill_span
    sv = hw.serving
    chunk = float(sv.get("max_num_tokens", 8192) if max_num_tokens is None else max_num_tokens)
    p_acc = float(sv.get("mtp_acceptance", 0.7)) if accept_p is None else accept_p
    ranks = tp * dp * pp
    chips = ranks / hw.ranks_per_chip
    mtp_layers = max(m.mtp_layers, 1) if np.any(draft > 0) else 0

    if mode == "prefill":
        st = step_time(hw, m, dtypes, prefill_tokens=batch / pp, prefill_len=span, tp=tp, dp=dp, ep=ep, pp=pp,
                       serving=serving)
        step_s = st.total
        in_tps = batch / pp / step_s
        out_tps = in_tps / isl                         # one first token per prompt
        seqs_rank = np.ceil(batch / dp / np.maximum(isl, 1.0)) / pp
        mem = memory_per_rank(m, dtypes, mem_gb=hw.mem_gb, seqs_per_rank=seqs_rank, ctx=isl,
                              step_tokens=batch / dp / pp, tp=tp, dp=dp, ep=ep, pp=pp, serving=sv)
        n_prompts = np.maximum(batch / isl, 1.0)
        ttft = pp * step_s * np.minimum(n_prompts, 1.0) + step_s * (pp - 1)
        acc = np.ones_like(step_s)
        return Evaluation(tp, pp, ep, dp, batch, ranks, chips, step_s, step_s * pp, ttft, out_tps, in_tps,
                          mem.fits, st, st, mem, acc, mode)

    a = acceptance_length(draft, p_acc)
    micro = batch / pp
    ctx = L.decode_ctx
    if not L.fixed:
        # attention-DP ranks hold their own requests and wait for the busiest one at the all-to-all
        ctx = ctx * np.where(dp > 1, L.rank_imbalance(micro / dp, dp), 1.0)
    # prompt tokens ride in the decode steps where the engine mixes them, and always with attention
    # DP: its ranks run every iteration together through the expert layers, so one rank's prefill
    # batch runs beside the others' decode batches whatever each rank's scheduler does
    mix = (mode == "mixed") & (bool(mixed_chunk) | (dp > 1))
    sep = (mode == "mixed") & ~mix                 # prompts in prefill-only batches, decoding waits
    pre_tok = np.where(mix, micro * isl * a / np.maximum(osl, 1.0), 0.0)
    st = step_time(hw, m, dtypes, decode_seqs=micro, q=1.0 + draft, ctx=ctx, prefill_tokens=pre_tok,
                   prefill_len=span, tp=tp, dp=dp, ep=ep, pp=pp, serving=serving, stream_interval=stream_interval)
    step_s = st.total
    if np.any(draft > 0):
        # draft model: `draft` passes of one MTP layer (+ LM head) over the batch, each with one
        # new token per sequence (the verify step above carries 1 + draft tokens per sequence)
        st1 = step_time(hw, m, dtypes, decode_seqs=micro, q=1.0, ctx=ctx, tp=tp, dp=dp, ep=ep, pp=pp,
                        serving=serving, step_overhead=False)
        step_s = step_s + draft * (st1.compute + st1.memory + st1.overhead) * (mtp_layers + 0.5) / (m.layers / pp)
    burst = None
    if np.any(sep):
        # prompts in prefill-only batches: the instance's batched prefill rate X (tokens/s)
        packed = np.minimum(batch * isl, prefill_tokens_per_step(sv, chunk, isl) * dp)  # prompt tokens a batch packs
        per_batch = np.maximum(packed, isl)
        bst = step_time(hw, m, dtypes, prefill_tokens=per_batch / pp, prefill_len=span, tp=tp, dp=dp, ep=ep,
                        pp=pp, serving=serving)
        rate = per_batch / pp / bst.total
        t_pf = batch * isl / rate                       # prefill time of one cycle's prompts
        dec_s = step_s
        step_s = np.where(sep, step_s + t_pf * a / (pp * np.maximum(osl, 1.0)), step_s)  # the cycle per decode step
        burst = (t_pf, dec_s, pp * bst.total, packed)
    tpot = pp * step_s / a
    out_tps = batch * a / (pp * step_s)
    in_tps = out_tps * isl / np.maximum(osl, 1.0)
    # TTFT: the prompt alone through one attention group, or chunk by chunk in mixed steps, plus one step
    pst = step_time(hw, m, dtypes, prefill_tokens=isl * dp, prefill_len=span, tp=tp, dp=dp, ep=ep, pp=pp,
                    serving=serving)

    def first_token(prompt: np.ndarray, prefill_s: np.ndarray) -> np.ndarray:
        if not chunked_prefill:     # the prompt runs whole in one step
            return pp * prefill_s + pp * step_s
        return np.maximum(pp * prefill_s, np.ceil(prompt / chunk) * pp * step_s) + pp * step_s

    ttft = first_token(isl, pst.total)
    if burst is not None and waves:
        t_pf, dec_s, first, _ = burst
        ttft = np.where(sep, 0.5 * (t_pf + first), ttft)
        tpot = np.where(sep, pp * dec_s / a + 0.5 * t_pf / np.maximum(osl, 1.0), tpot)
    ttft_long = None
    if np.any(_a(L.isl_cv) > 0):
        # p99 TTFT waits on the long prompts: prefill of a p99-length prompt
        long_isl = L.isl_p99
        lst = step_time(hw, m, dtypes, prefill_tokens=long_isl * dp, prefill_len=long_isl, tp=tp, dp=dp, ep=ep,
                        pp=pp, serving=serving)
        ttft_long = first_token(long_isl, lst.total)
    step_tokens = micro / dp * (1.0 + draft) + pre_tok / dp
    if burst is not None:       # a prefill-only batch holds activations for its prompt tokens
        step_tokens = np.where(sep, np.maximum(step_tokens, burst[3] / dp / pp), step_tokens)
    mem = memory_per_rank(m, dtypes, mem_gb=hw.mem_gb, seqs_per_rank=batch / dp, ctx=L.kv_ctx,
                          step_tokens=np.minimum(step_tokens, chunk), tp=tp, dp=dp, ep=ep, pp=pp, serving=sv,
                          mtp_layers=mtp_layers, spread=L.kv_spread)
    return Evaluation(tp, pp, ep, dp, batch, ranks, chips, step_s, tpot, ttft, out_tps, in_tps,
                      mem.fits, st, pst, mem, np.broadcast_to(a, np.shape(step_s)), mode,
                      ttft_long_s=ttft_long, step_tokens_rank=step_tokens)


def disagg_combine(in_tps_prefill_chip: Any, out_tps_decode_chip: Any, isl: Any, osl: Any) -> dict[str, np.ndarray]:
    """Output tokens/s per chip of a disaggregated deployment at the best P:D ratio.

    >>> r = disagg_combine(10000.0, 2000.0, 1000, 1000)   # prefill 10k in/s, decode 2k out/s per chip
    >>> round(float(r["output_tps_per_chip"]), 1), round(float(r["prefill_share"]), 3)
    (1666.7, 0.167)
    """
    P, D, isl, osl = _a(in_tps_prefill_chip), _a(out_tps_decode_chip), _a(isl), _a(osl)
    x = isl / (osl * P)        # prefill chips per (output token/s)
    y = 1.0 / D                # decode chips per (output token/s)
    return {"output_tps_per_chip": 1.0 / (x + y), "prefill_share": x / (x + y)}


@dataclass
class ErrorBand:
    """Validation error of the prediction's hardware family and kind (from the accuracy report)."""

    mape: float | None
    n: int
    group: str
    low: float | None = None
    high: float | None = None
    p80: float | None = None         # conformal 80% quantile of |ln(predicted / measured)| (sets low / high)
    coverage: float | None = None    # share of the group's held-out rows inside the band
    note: str | None = None          # why this band (e.g. the widest: no measurement of the family)
    metric: str | None = None        # the metric low / high bound (set with them)

    @property
    def label(self) -> str:
        """The band as read: ``-16%/+19%`` (the 80% interval of held-out errors) or ``±16%`` (a MAPE only).

        >>> ErrorBand(0.10, 17, "g", p80=0.1709).label, ErrorBand(0.16, 34, "g").label
        ('-16%/+19%', '±16%')
        """
        if self.p80 is not None:
            return band_label(self.p80)
        return f"±{100 * self.mape:.0f}%" if self.mape is not None else "—"

    def to_dict(self) -> dict:
        return {"mape": self.mape, "n": self.n, "group": self.group, "low": self.low, "high": self.high,
                "p80": self.p80, "coverage": self.coverage, "note": self.note, "metric": self.metric,
                "label": self.label}


@dataclass
class Prediction:
    """A predicted operating point with its configuration, bottlenecks, memory, error band and warnings."""

    hardware: str
    model: str
    kind: str                              # serve | prefill | decode
    chips: int
    config: dict[str, Any]
    metrics: dict[str, float]
    bottleneck: dict[str, str]
    shares: dict[str, dict[str, float]]
    memory: dict[str, float]
    error_band: ErrorBand | None = None
    warnings: list[str] = field(default_factory=list)
    candidates: int = 1
    search_ms: float | None = None

    def value(self, metric: str) -> float:
        return self.metrics[metric]

    def to_dict(self) -> dict:
        return {
            "hardware": self.hardware, "model": self.model, "kind": self.kind, "chips": self.chips,
            "config": self.config, "metrics": self.metrics, "bottleneck": self.bottleneck, "shares": self.shares,
            "memory_per_rank": self.memory, "error_band": self.error_band.to_dict() if self.error_band else None,
            "warnings": self.warnings, "candidates_evaluated": self.candidates, "search_ms": self.search_ms,
        }

    def to_frame(self) -> Any:
        import pandas as pd

        row = {**{f"config.{k}": v for k, v in self.config.items()}, **self.metrics}
        return pd.DataFrame([row])


def describe_step(st: StepTime, i: int) -> tuple[str, dict[str, float]]:
    return st.bottleneck_name(i), {k: round(v, 4) for k, v in st.shares(i).items()}




# --------------------------------------------------------------------------- server scenario (queueing)
#: One-sided 99th-percentile point of the standard normal distribution.
Z99 = 2.3263


def kingman_p99_wait(rho: Any, service_s: Any, cv: Any = 1.0) -> np.ndarray:
    """p99 queueing delay of an M/G/1 FCFS queue, exponential-tail (Kingman) approximation.

    ``P(W > t) ~ rho exp(-t / w)`` with ``w = S (1 + cv^2) / (2 (1 - rho))`` the mean wait of
    those who wait (Pollaczek-Khinchine); the 99th percentile is ``w ln(rho / 0.01)``
    (0 for ``rho <= 0.01``, infinite for ``rho >= 1``). Exact for M/M/1 (``cv = 1``).

    >>> round(float(kingman_p99_wait(0.5, 1.0, 1.0)), 3)   # 1 / 0.5 x ln 50
    7.824
    >>> float(kingman_p99_wait(0.005, 1.0)), float(kingman_p99_wait(1.0, 1.0))
    (0.0, inf)
    """
    rho, s, cv = _a(rho), _a(service_s), _a(cv)
    r = np.clip(rho, 0.0, 1.0 - 1e-12)
    w = s * (1.0 + cv * cv) / (2.0 * (1.0 - r))
    out = np.where(rho > 0.01, w * np.log(np.maximum(r, 0.01) / 0.01), 0.0)
    return np.where(rho >= 1.0, np.inf, out)


def mg1_p99_wait(rho: Any, service_s: Any, cv: Any = 1.0) -> np.ndarray:
    """p99 queueing delay of an M/G/1 FCFS queue with gamma-distributed service (mean ``S``, CV ``cv``).

    Exponential tail ``P(W > t) ~ rho exp(-theta t)`` with ``theta`` the exact (Cramer-Lundberg)
    decay rate, the positive root of ``lam (E[exp(theta S)] - 1) = theta``; in ``x = theta S``:
    ``rho ((1 - x cv^2)^(-1/cv^2) - 1) = x`` (``rho (e^x - 1) = x`` for fixed service). The 99th
    percentile is ``S ln(rho / 0.01) / x``. For ``cv = 1`` (M/M/1) ``x = 1 - rho`` and the formula
    is exact; Kingman's heavy-traffic rate ``2 (1 - rho) / (1 + cv^2)`` (:func:`kingman_p99_wait`) is
    the first term of ``x`` near ``rho = 1`` and overstates the wait of a low-variance queue at
    moderate load (fixed service, ``rho`` 0.6: ``x`` = 0.98, Kingman 0.8).

    >>> round(float(mg1_p99_wait(0.5, 1.0, 1.0)), 3)   # M/M/1: ln 50 / 0.5
    7.824
    >>> round(float(mg1_p99_wait(0.5, 1.0, 0.0)), 3)   # M/D/1: root of 0.5 (e^x - 1) = x is 1.2564
    3.114
    >>> float(mg1_p99_wait(0.005, 1.0)), float(mg1_p99_wait(1.0, 1.0))
    (0.0, inf)
    """
    rho, s = _a(rho), _a(service_s)
    c2 = float(cv) ** 2
    r = np.clip(rho, 1e-6, 1.0 - 1e-9)
    if c2 > 1e-9:
        hi = np.full(r.shape, 1.0 / c2)
        mgf = lambda x: (1.0 - x * c2) ** (-1.0 / c2)  # noqa: E731
    else:
        hi = np.full(r.shape, 60.0)
        mgf = np.exp
    lo = np.zeros(r.shape)
    for _ in range(48):                                 # bisection: f < 0 below the root, > 0 above
        mid = 0.5 * (lo + hi)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            above = r * (mgf(mid) - 1.0) - mid > 0
        hi = np.where(above, mid, hi)
        lo = np.where(above, lo, mid)
    x = 0.5 * (lo + hi)
    out = np.where(rho > 0.01, s * np.log(np.maximum(r, 0.01) / 0.01) / x, 0.0)
    return np.where(rho >= 1.0, np.inf, out)


def normal_sf(x: Any) -> np.ndarray:
    """Upper tail of the standard normal, ``P(Z > x)``, vectorized (Abramowitz & Stegun 7.1.26, |error| < 1e-7).

    >>> [round(float(normal_sf(v)), 4) for v in (-1.0, 0.0, 2.3263)]
    [0.8413, 0.5, 0.01]
    """
    x = _a(x)
    z = np.abs(x) / np.sqrt(2.0)
    t = 1.0 / (1.0 + 0.3275911 * z)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    erfc = poly * np.exp(-z * z)
    return np.where(x >= 0, 0.5 * erfc, 1.0 - 0.5 * erfc)


@dataclass
class ServerTails:
    """p99 latencies of each candidate operating point under Poisson arrivals (server scenario)."""

    ttft_p99_s: np.ndarray
    tpot_p99_s: np.ndarray
    rate: np.ndarray          # requests/s per instance at this operating point (= arrival rate)
    utilization: np.ndarray   # rate / the instance's rate at its largest batch (the offline point)
    occupancy_p99: np.ndarray  # p99 of the sequences in flight per instance
    prefill_rho: np.ndarray   # utilisation of one scheduler's prefill queue


def server_tails(ev: Evaluation, osl: Any, *, slots: Any = None, prompt_cv: float = 1.0) -> ServerTails:
    """p99 TTFT and TPOT of each (configuration, batch) point of a ``mixed``/``decode`` evaluation.

    The batch axis (last) holds the operating points of one configuration, largest first. At an
    operating point with mean ``b`` sequences in flight the instance completes
    ``lam(b) = out_tps(b) / osl`` requests/s; under Poisson arrivals at that rate:

    * **In-flight count.** A birth-death process with arrival ``lam`` and completion rate
      ``lam(N)`` has a stationary ``N`` near ``b`` with variance ``b / eps``,
      ``eps = d ln lam / d ln b`` (1 for an instance whose throughput grows in proportion to
      the batch: the Poisson occupancy of M/G/inf; towards 0 as throughput saturates). The p99
      occupancy ``b99 = b + 2.326 sqrt(b / eps)``; p99 TPOT is the step at ``b99``,
      ``tpot(b) (b99 / b)^(1 - eps)``, capped at the slot limit ``slots``.
    * **Slot queue.** When ``P(N > slots) = Q((slots - b) / sd) > 1%`` arrivals wait for a slot;
      the overflow drains at ``lam(slots) - lam``: p99 wait ``ln(100 P) / (lam(slots) - lam)``.
    * **Prefill queue.** Each attention-DP scheduler takes ``lam / dp`` prompts/s, each holding it
      for ``S`` = the prompt's prefill step; M/G/1 with ``rho = lam S / dp`` and prompt-length
      coefficient of variation ``prompt_cv``: p99 wait from :func:`mg1_p99_wait`.

    p99 TTFT = the unloaded TTFT of the point + prefill-queue wait + slot wait. When prompt lengths
    vary (``ev.ttft_long_s``: the TTFT of a p99-length prompt) the request's own extra prefill
    time and the queue wait are combined as ``sqrt(wait^2 + extra^2)``, the p99 excess of the sum
    of two independent delays with roughly normal tails (their plain sum would be the p99 of both
    at once); the queue's service-time CV is then the prompts' ``isl_cv``.
    """
    b = np.asarray(ev.batch, dtype=float)
    shape = b.shape
    lam = np.broadcast_to(ev.out_tps_instance, shape) / np.maximum(_a(osl), 1.0)
    lb, ll = np.log(np.maximum(b, 1e-9)), np.log(np.maximum(lam, 1e-300))
    if b.ndim >= 1 and shape[-1] > 1:
        # slope below each point (the grid runs from the largest batch down); the last point
        # takes the slope above it
        db = np.diff(lb, axis=-1)
        dl = np.diff(ll, axis=-1)
        with np.errstate(divide="ignore", invalid="ignore"):
            seg = np.where(np.abs(db) > 1e-9, dl / db, 1.0)
        eps = np.concatenate([seg, seg[..., -1:]], axis=-1)
        top = np.take(lam, [0], axis=-1)
        cap = np.take(b, [0], axis=-1) if slots is None else np.broadcast_to(_a(slots), shape)
    else:
        eps = np.ones(shape)
        top = lam
        cap = b if slots is None else np.broadcast_to(_a(slots), shape)
    eps = np.clip(eps, 1e-3, 1.0)
    sd = np.sqrt(b / eps)
    b99 = b + Z99 * sd
    tpot = np.broadcast_to(ev.tpot_s, shape)
    tpot99 = tpot * (np.minimum(b99, np.maximum(cap, b)) / b) ** (1.0 - eps)
    # a single operating point (a fixed batch or concurrency) has no slot queue to model
    p_over = normal_sf((cap - b) / sd) if shape and shape[-1] > 1 else np.zeros(shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        drain = np.where(top > lam * (1 + 1e-9), top - lam, 0.0)
        w_slot = np.where(p_over > 0.01, np.where(drain > 0, np.log(100.0 * p_over) / drain, np.inf), 0.0)
    dp = np.broadcast_to(ev.dp, shape)
    s = np.broadcast_to(ev.prefill_step.total if ev.prefill_step is not None else 0.0, shape)
    rho = lam / dp * s
    w_pre = mg1_p99_wait(rho, s, prompt_cv)
    ttft0 = np.broadcast_to(ev.ttft_s, shape)
    if ev.ttft_long_s is None:
        ttft99 = ttft0 + w_pre + w_slot
    else:
        # prompt lengths vary: the queue wait and the request's own prefill are independent
        # excesses over the mean; the p99 of their sum is taken as the root of their squares
        own = np.maximum(np.broadcast_to(ev.ttft_long_s, shape) - ttft0, 0.0)
        ttft99 = ttft0 + np.sqrt(w_pre ** 2 + own ** 2) + w_slot
    return ServerTails(ttft99, tpot99, lam, lam / np.maximum(top, 1e-300), b99, rho)

__all__ = ["BOTTLENECKS", "ErrorBand", "Evaluation", "Prediction", "ServerTails", "acceptance_length", "disagg_combine",
           "evaluate", "kingman_p99_wait", "mg1_p99_wait", "parse_spec", "server_tails", "spec_acceptance"]
