"""Request-length distributions: what a workload's spread of prompt and output lengths does to serving.

A serving benchmark rarely sends one length. MLPerf's DeepSeek-R1 outputs have
mean 3,886, median 2,194 and CV 1.11; a decode step then sees far more context
than ``isl + osl / 2``. The model needs four numbers of the distribution, each
from its first moments (lengths taken as gamma-distributed where a third moment
or a percentile is needed; CV 0 = every request the same length):

* **Token-weighted decode context.** A request stays in the batch for as many
  steps as it has output tokens, so the requests in flight are length-biased:
  a random in-flight request has ``E[osl^2] / E[osl] = osl (1 + cv^2)`` output
  tokens in all and sits, on average, half way through them. The context one
  decode step reads per request is ``isl + osl (1 + cv_o^2) / 2``
  (``isl + osl / 2`` at CV 0; ~4,990 for MLPerf DeepSeek-R1 against 2,672).
* **Resident KV.** Engines in their throughput settings take KV pages as
  tokens arrive (vLLM, SGLang, TensorRT-LLM's ``MAX_UTILIZATION`` policy, which
  the MLPerf DeepSeek-R1 configurations use) and pause a request when pages run
  out. With lengths that vary, the requests in flight sit at staggered points
  of their outputs, so a rank's ``n`` requests hold ``n x decode_ctx`` tokens
  on average and ``n x decode_ctx + z_99 cv_c decode_ctx sqrt(n)`` at their
  99th percentile: memory is sized for that. With fixed lengths a closed loop
  runs in waves that start and end together, so each request is counted at its
  final length, ``isl + osl`` (``kv_tokens``, which for varied lengths is the
  length-biased final length ``isl + osl (1 + cv_o^2)``, capped at
  ``isl + osl_max``: what an engine that reserves whole sequences would hold).
* **Prefill attention span.** Causal attention over a prompt costs ``isl^2``;
  over a mix of prompts the per-token span is ``E[isl^2] / E[isl] =
  isl (1 + cv_i^2)``.
* **Spread of resident context.** Attention-DP ranks each hold their own
  requests and wait for the busiest one at the expert all-to-all; the busiest
  of ``n`` ranks with ``b`` requests each reads ``1 + z_n cv_c / sqrt(b)``
  times the mean KV, with ``cv_c`` the CV of one in-flight request's context
  and ``z_n`` the expected maximum of ``n`` standard normals.

>>> L = Lengths(804, 3736, isl_cv=0.505, osl_cv=1.114, osl_max=20000)
>>> round(float(L.decode_ctx)), round(float(L.kv_tokens)), round(float(Lengths(804, 3736).decode_ctx))
(4990, 9176, 2672)
>>> round(float(L.kv_ctx)), round(float(L.kv_spread), 2), round(float(Lengths(804, 3736).kv_ctx))
(4990, 2.03, 4540)
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from suanli.errors import SuanliError

Z99 = 2.3263


def _a(x: Any) -> np.ndarray:
    return np.asarray(x, dtype=float)


def gamma_moments(mean: Any, cv: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``E[X], E[X^2], E[X^3]`` of a gamma distribution with this mean and CV (CV 0: a fixed value).

    >>> [float(v) for v in gamma_moments(2.0, 1.0)]   # exponential, mean 2: 2, 2 x 4, 6 x 8
    [2.0, 8.0, 48.0]
    """
    m, c2 = _a(mean), _a(cv) ** 2
    return m, m * m * (1 + c2), m ** 3 * (1 + c2) * (1 + 2 * c2)


def expected_max_normal(n: Any) -> np.ndarray:
    """Expected largest of ``n`` independent standard normals (Blom's approximation; 0 for n = 1).

    Exact values are 1 / sqrt(pi) = 0.564 for two, 1.424 for eight, 2.070 for 32.

    >>> [round(float(expected_max_normal(n)), 2) for n in (1, 2, 8, 32)]
    [0.0, 0.59, 1.43, 2.07]
    """
    from scipy.special import ndtri

    n = np.maximum(_a(n), 1.0)
    return np.where(n > 1, ndtri((n - 0.375) / (n + 0.25)), 0.0)


@dataclass(frozen=True)
class Lengths:
    """Prompt and output lengths of a workload: means, coefficients of variation and the output cap."""

    isl: Any
    osl: Any
    isl_cv: Any = 0.0
    osl_cv: Any = 0.0
    osl_max: Any = None

    @property
    def decode_ctx(self) -> np.ndarray:
        """Mean context a decode step reads per request in flight (token-weighted)."""
        return _a(self.isl) + _a(self.osl) * (1 + _a(self.osl_cv) ** 2) / 2

    @property
    def kv_tokens(self) -> np.ndarray:
        """KV-cache tokens reserved per request in flight: its final length, length-biased, capped."""
        out = _a(self.osl) * (1 + _a(self.osl_cv) ** 2)
        if self.osl_max is not None:
            out = np.minimum(out, np.maximum(_a(self.osl_max), _a(self.osl)))
        return _a(self.isl) + out

    @property
    def kv_ctx(self) -> np.ndarray:
        """Mean KV tokens a request in flight holds: its current context when lengths vary (staggered
        requests, pages taken as tokens arrive), its final length when they do not (waves)."""
        return self.kv_tokens if self.fixed else self.decode_ctx

    @property
    def kv_spread(self) -> np.ndarray:
        """Margin of a rank's resident KV over ``n x kv_ctx``, in units of ``kv_ctx x sqrt(n)``.

        The 99th percentile of the sum of ``n`` staggered contexts: ``z_99 x cv_c``; 0 for fixed
        lengths, whose final lengths leave no spread.
        """
        return np.asarray(0.0) if self.fixed else Z99 * self.ctx_cv

    @property
    def prefill_span(self) -> np.ndarray:
        """Token-weighted prompt length (sets the causal attention cost of a mix of prompts)."""
        return _a(self.isl) * (1 + _a(self.isl_cv) ** 2)

    @property
    def ctx_cv(self) -> np.ndarray:
        """CV of the context of one random request in flight (length-biased output, uniform position)."""
        m1, m2, m3 = gamma_moments(self.osl, self.osl_cv)
        m1 = np.maximum(m1, 1e-9)
        e_u = m2 / m1 / 2                     # E[U L'] with L' length-biased, U ~ U(0, 1)
        e_u2 = m3 / m1 / 3                    # E[(U L')^2]
        var = np.maximum(e_u2 - e_u ** 2, 0.0) + (_a(self.isl) * _a(self.isl_cv)) ** 2
        return np.sqrt(var) / np.maximum(_a(self.isl) + e_u, 1e-9)

    def rank_imbalance(self, seqs_per_rank: Any, ranks: Any) -> np.ndarray:
        """Busiest-to-mean KV read of ``ranks`` attention-DP ranks holding ``seqs_per_rank`` requests each."""
        b = np.maximum(_a(seqs_per_rank), 1.0)
        return 1.0 + expected_max_normal(ranks) * self.ctx_cv / np.sqrt(b)

    @property
    def isl_p99(self) -> np.ndarray:
        """99th-percentile prompt length (normal approximation of the spread, at least the mean)."""
        return _a(self.isl) * (1 + Z99 * _a(self.isl_cv))

    @property
    def fixed(self) -> bool:
        return not (np.any(_a(self.isl_cv) > 0) or np.any(_a(self.osl_cv) > 0))


def length_stats(isl_tokens: Any, osl_tokens: Any) -> dict[str, float]:
    """Mean, CV and cap of per-request prompt and output lengths (a dataset's lengths, one per request).

    >>> s = length_stats([100, 300], [10, 30, 20, 40])
    >>> s["isl"], s["isl_cv"], s["osl"], round(s["osl_cv"], 4), s["osl_max"]
    (200.0, 0.5, 25.0, 0.4472, 40.0)
    """
    out: dict[str, float] = {}
    for name, xs in (("isl", isl_tokens), ("osl", osl_tokens)):
        x = _a(xs).ravel()
        if x.size == 0:
            raise SuanliError(f"no {name} lengths given", hint="give one length per request, in tokens")
        if not np.all(np.isfinite(x)) or np.any(x <= 0):
            raise SuanliError(f"{name} lengths must be numbers > 0", hint="tokens per request, e.g. 1024")
        mean = float(x.mean())
        out[name] = mean
        out[f"{name}_cv"] = float(x.std() / mean)
    out["osl_max"] = float(_a(osl_tokens).max())
    return out


def _cell(v: str, name: str, line: int, path: str) -> float:
    try:
        x = float(v)
    except ValueError:
        x = math.nan
    if not math.isfinite(x) or x <= 0:
        from suanli.errors import DataError

        raise DataError(path, f"column {name!r} must be a number of tokens > 0 (got {v!r})", line=line,
                        hint="one request per row: columns isl and osl (input and output tokens)")
    return x


def parse_lengths_csv(text: str, path: str = "<lengths>") -> dict[str, float]:
    """Length statistics from CSV text with columns ``isl`` and ``osl`` (one request per row).

    >>> parse_lengths_csv("isl,osl\\n100,10\\n300,30\\n")["isl_cv"]
    0.5
    """
    import csv
    import io

    from suanli.errors import DataError

    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    if not rows:
        raise DataError(path, "no requests", hint="a header line isl,osl then one request per line")
    missing = [c for c in ("isl", "osl") if c not in rows[0]]
    if missing:
        raise DataError(path, f"missing column(s): {', '.join(missing)}",
                        hint="a header line isl,osl then one request per line (tokens)")
    isl = [_cell((r.get("isl") or "").strip(), "isl", n, path) for n, r in enumerate(rows, start=2)]
    osl = [_cell((r.get("osl") or "").strip(), "osl", n, path) for n, r in enumerate(rows, start=2)]
    return length_stats(isl, osl)


__all__ = ["Lengths", "expected_max_normal", "gamma_moments", "length_stats", "parse_lengths_csv"]
