"""Serving load generator for any OpenAI-compatible endpoint (vLLM, SGLang, MindIE, LMDeploy, TGI, the twin).

For each concurrency level, ``concurrency`` streams send streaming completion
requests (async httpx), each its next request as soon as the last one ended
(closed loop), or, with ``request_rate``, requests arrive as a Poisson process
and at most ``concurrency`` are in flight (open loop). Per request it measures

* TTFT: request sent -> first content chunk;
* inter-token latencies: gaps between content chunks;
* TPOT: (last chunk - first chunk) / (completion tokens - 1);
* end-to-end latency;

with token counts from the server's ``usage`` (asked for with
``stream_options.include_usage``; the number of content chunks when a server
gives none, which the result says). The first ``warmup`` requests of each
level are sent but left out; each level stops at ``requests`` measured
requests or after ``duration_s``, whichever comes first; errors (HTTP status,
broken streams, time-outs) are counted, never fatal.

Results become ``kind=serve`` records (``output_tps_per_chip``, ``ttft_ms``,
``tpot_ms``, ``e2e_latency_s`` per level, means, with percentiles in ``notes``).
"""
from __future__ import annotations

import asyncio
import csv
import datetime as dt
import json
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from suanli.errors import DataError, SuanliError

#: Words prompts are made of (short, common: about one token each in most tokenizers).
WORDS = ("time year people way day man thing woman life child world school state family student group country "
         "problem hand part place case week company system program question work government number night point "
         "home water room mother area money story fact month lot right study book eye job word business issue side "
         "kind head house service friend father power hour game line end member law car city community name "
         "president team minute idea kid body information back parent face others level office door health person "
         "art war history party result change morning reason research girl guy moment air teacher force "
         "education").split()


@dataclass(frozen=True)
class LoadSpec:
    """What to send: the endpoint, the workload and the bounds of each level."""

    url: str
    model: str
    isl: int = 1024
    osl: int = 256
    isl_cv: float = 0.0
    osl_cv: float = 0.0
    lengths: tuple[tuple[int, int], ...] = ()
    concurrency: tuple[int, ...] = (1, 8, 32)
    request_rate: float | None = None
    duration_s: float = 120.0
    requests: int | None = None          # measured requests per level (default: max(2 x concurrency, 10))
    warmup: int | None = None            # requests per level left out (default: one per stream)
    chat: bool = False
    timeout_s: float = 600.0
    seed: int = 0
    api_key: str | None = None
    hardware: str = "unknown"
    chips: int = 1
    engine: str | None = None

    def __post_init__(self) -> None:
        """The one check of a load's settings, whichever interface built it."""
        if not self.url.startswith(("http://", "https://")):
            raise SuanliError(f"--url must start with http:// or https:// (got {self.url!r})",
                              hint="e.g. --url http://127.0.0.1:8000/v1")
        for name in ("isl", "osl", "chips"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise SuanliError(f"--{name} must be a whole number >= 1 (got {v!r})", hint=f"e.g. --{name} 1024")
        for name in ("isl_cv", "osl_cv"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and 0 <= v <= 10):
                raise SuanliError(f"--{name.replace('_', '-')} must be between 0 and 10 (got {v!r})",
                                  hint="the coefficient of variation std/mean of the lengths, e.g. 0.5")
        if not self.concurrency or any(isinstance(c, bool) or not isinstance(c, int) or c < 1
                                       for c in self.concurrency):
            raise SuanliError(f"--concurrency must list whole numbers >= 1 (got {self.concurrency!r})",
                              hint="e.g. --concurrency 1,8,32")
        if self.request_rate is not None and not (math.isfinite(self.request_rate) and self.request_rate > 0):
            raise SuanliError(f"--request-rate must be > 0 (got {self.request_rate!r})", hint="e.g. --request-rate 4")
        for name in ("duration_s", "timeout_s"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):
                raise SuanliError(f"{name} must be > 0 (got {v!r})")
        if self.requests is not None and self.requests < 1:
            raise SuanliError(f"--requests must be >= 1 (got {self.requests})")
        if self.warmup is not None and self.warmup < 0:
            raise SuanliError(f"--warmup must be >= 0 (got {self.warmup})")

    def measured(self, c: int) -> int:
        return self.requests or max(2 * c, 10)

    def warm(self, c: int) -> int:
        return c if self.warmup is None else self.warmup


def read_lengths(path: str | Path) -> tuple[tuple[int, int], ...]:
    """Request lengths from a CSV with columns ``isl`` and ``osl`` (one request per row).

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "l.csv")
    >>> _ = open(p, "w").write("isl,osl\\n100,20\\n300,40\\n")
    >>> read_lengths(p)
    ((100, 20), (300, 40))
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise DataError(str(p), f"cannot read: {exc.strerror or exc}", hint="check the path given to --lengths") from None
    rows = list(csv.DictReader(text.splitlines()))
    if not rows or not {"isl", "osl"} <= set(rows[0]):
        raise DataError(str(p), "expected a CSV with columns isl and osl, one request per row",
                        hint="first line: isl,osl")
    out = []
    for n, r in enumerate(rows, start=2):
        try:
            i, o = int(float(r["isl"])), int(float(r["osl"]))
        except (TypeError, ValueError):
            raise DataError(str(p), f"isl/osl must be whole numbers (got {r['isl']!r}, {r['osl']!r})", line=n,
                            field="isl" if not str(r["isl"]).strip().replace(".", "").isdigit() else "osl") from None
        if i < 1 or o < 1:
            raise DataError(str(p), f"isl and osl must be >= 1 (got {i}, {o})", line=n)
        out.append((i, o))
    return tuple(out)


def sample_lengths(spec: LoadSpec, n: int, rng: random.Random) -> list[tuple[int, int]]:
    """``n`` (isl, osl) pairs: cycled from ``spec.lengths``, else log-normal with the given means and CVs.

    >>> s = LoadSpec(url="http://127.0.0.1:1/v1", model="m", isl=100, osl=10)
    >>> sample_lengths(s, 2, random.Random(0))
    [(100, 10), (100, 10)]
    """
    if spec.lengths:
        return [spec.lengths[i % len(spec.lengths)] for i in range(n)]

    def draw(mean: int, cv: float) -> int:
        if cv <= 0:
            return mean
        s2 = math.log1p(cv * cv)
        return max(1, round(rng.lognormvariate(math.log(mean) - s2 / 2, math.sqrt(s2))))

    return [(draw(spec.isl, spec.isl_cv), draw(spec.osl, spec.osl_cv)) for _ in range(n)]


# --------------------------------------------------------------------------- one request
@dataclass
class RequestResult:
    """Timings of one request (seconds since the level started; durations in seconds)."""

    index: int
    isl_asked: int
    osl_asked: int
    start: float = 0.0
    ok: bool = False
    error: str | None = None
    ttft_s: float | None = None
    e2e_s: float | None = None
    tpot_s: float | None = None
    itl_s: list[float] = field(default_factory=list)
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    usage_from_server: bool = False


async def _one(client: Any, spec: LoadSpec, idx: int, isl: int, osl: int, rng: random.Random,
               t0: float) -> RequestResult:
    res = RequestResult(idx, isl, osl)
    prompt = " ".join(rng.choice(WORDS) for _ in range(isl))
    body: dict[str, Any] = {"model": spec.model, "max_tokens": osl, "stream": True, "ignore_eos": True,
                            "min_tokens": osl, "temperature": 0.0, "stream_options": {"include_usage": True}}
    if spec.chat:
        body["messages"] = [{"role": "user", "content": prompt}]
        path = "/chat/completions"
    else:
        body["prompt"] = prompt
        path = "/completions"
    sent = time.perf_counter()
    res.start = sent - t0
    first = last = None
    chunks = 0
    try:
        async with client.stream("POST", spec.url.rstrip("/") + path, json=body) as r:
            if r.status_code != 200:
                text = (await r.aread()).decode("utf-8", "replace")
                res.error = f"HTTP {r.status_code}: {text[:160]}"
                return res
            async for line in r.aiter_lines():
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    break
                try:
                    obj = json.loads(data)
                except json.JSONDecodeError:
                    continue
                if obj.get("usage"):
                    u = obj["usage"]
                    res.prompt_tokens = u.get("prompt_tokens")
                    res.completion_tokens = u.get("completion_tokens")
                    res.usage_from_server = True
                for ch in obj.get("choices") or []:
                    text = ch.get("text")
                    if text is None:
                        text = (ch.get("delta") or {}).get("content")
                    if text:
                        now = time.perf_counter()
                        if first is None:
                            first = now
                        else:
                            res.itl_s.append(now - last)
                        last = now
                        chunks += 1
    except Exception as exc:  # noqa: BLE001 - any transport failure is one failed request, counted
        res.error = f"{type(exc).__name__}: {str(exc)[:160]}"
        return res
    end = time.perf_counter()
    if first is None:
        res.error = "no tokens in the response"
        return res
    if res.completion_tokens is None:
        res.completion_tokens = chunks
    res.ok = True
    res.ttft_s = first - sent
    res.e2e_s = end - sent
    n = res.completion_tokens or chunks
    res.tpot_s = (last - first) / (n - 1) if n > 1 else None
    return res


# --------------------------------------------------------------------------- one level
def _pct(xs: list[float], q: float) -> float | None:
    return float(np.percentile(xs, q)) if xs else None


def _stats(xs: list[float], scale: float = 1.0) -> dict:
    if not xs:
        return {"mean": None, "p50": None, "p90": None, "p99": None}
    a = np.asarray(xs) * scale
    return {"mean": float(a.mean()), "p50": float(np.percentile(a, 50)), "p90": float(np.percentile(a, 90)),
            "p99": float(np.percentile(a, 99))}


@dataclass
class LevelResult:
    """One concurrency level: its measured requests and their summary."""

    concurrency: int
    results: list[RequestResult]
    warmup: int
    wall_s: float
    stopped_by: str

    def measured(self) -> list[RequestResult]:
        return [r for r in self.results if r.index >= self.warmup]

    def summary(self) -> dict:
        m = self.measured()
        ok = [r for r in m if r.ok]
        span = (max(r.start + r.e2e_s for r in ok) - min(r.start for r in ok)) if ok else 0.0
        out_tok = sum(r.completion_tokens or 0 for r in ok)
        pt = [r.prompt_tokens for r in ok if r.prompt_tokens is not None]
        ct = [r.completion_tokens for r in ok if r.completion_tokens is not None]
        return {
            "concurrency": self.concurrency, "requests": len(m), "ok": len(ok), "errors": len(m) - len(ok),
            "warmup": self.warmup, "wall_s": round(self.wall_s, 3), "stopped_by": self.stopped_by,
            "ttft_ms": _stats([r.ttft_s for r in ok], 1e3),
            "tpot_ms": _stats([r.tpot_s for r in ok if r.tpot_s is not None], 1e3),
            "itl_ms": _stats([x for r in ok for x in r.itl_s], 1e3),
            "e2e_latency_s": _stats([r.e2e_s for r in ok]),
            "output_tps": out_tok / span if span > 0 else None,
            "request_rate": len(ok) / span if span > 0 else None,
            "prompt_tokens_mean": float(np.mean(pt)) if pt else None,
            "completion_tokens_mean": float(np.mean(ct)) if ct else None,
            "isl_cv": float(np.std(pt) / np.mean(pt)) if len(pt) > 1 else None,
            "osl_cv": float(np.std(ct) / np.mean(ct)) if len(ct) > 1 else None,
            "usage_from_server": all(r.usage_from_server for r in ok) if ok else None,
            "error_samples": sorted({r.error for r in m if r.error})[:3],
        }


async def run_level(spec: LoadSpec, c: int, *, progress: Callable[[int, int, str], None] | None = None,
                    client: Any = None) -> LevelResult:
    """Run one concurrency level (closed loop, or Poisson arrivals with ``request_rate``)."""
    import httpx

    warm, measured = spec.warm(c), spec.measured(c)
    total = warm + measured
    rng = random.Random(spec.seed * 1000003 + c)
    lengths = sample_lengths(spec, total, rng)
    headers = {"Authorization": f"Bearer {spec.api_key}"} if spec.api_key else {}
    own = client is None
    if own:
        limits = httpx.Limits(max_connections=c + 4, max_keepalive_connections=c + 4)
        client = httpx.AsyncClient(timeout=httpx.Timeout(spec.timeout_s, connect=10.0), limits=limits,
                                   headers=headers)
    results: list[RequestResult] = []
    t0 = time.perf_counter()
    deadline = t0 + spec.duration_s
    nxt = iter(range(total))
    stopped = "requests"
    done = 0

    def tick(r: RequestResult) -> None:
        nonlocal done
        done += 1
        results.append(r)
        if progress:
            progress(done, total, f"concurrency {c}: {done}/{total}" + (" (warm-up)" if r.index < warm else ""))

    try:
        if spec.request_rate is None:
            async def stream() -> None:
                nonlocal stopped
                for i in nxt:
                    if time.perf_counter() >= deadline:
                        stopped = "duration"
                        return
                    isl, osl = lengths[i]
                    tick(await _one(client, spec, i, isl, osl, random.Random(rng.random()), t0))

            await asyncio.gather(*(stream() for _ in range(c)))
        else:
            sem = asyncio.Semaphore(c)
            arr = random.Random(spec.seed + 7)

            async def fire(i: int) -> None:
                async with sem:
                    isl, osl = lengths[i]
                    tick(await _one(client, spec, i, isl, osl, random.Random(rng.random()), t0))

            tasks = []
            for i in nxt:
                if time.perf_counter() >= deadline:
                    stopped = "duration"
                    break
                tasks.append(asyncio.create_task(fire(i)))
                await asyncio.sleep(arr.expovariate(spec.request_rate))
            await asyncio.gather(*tasks)
    finally:
        if own:
            await client.aclose()
    results.sort(key=lambda r: r.index)
    return LevelResult(c, results, min(warm, len(results)), time.perf_counter() - t0, stopped)


# --------------------------------------------------------------------------- a whole run
@dataclass
class LoadResult:
    """All levels of one run."""

    spec: LoadSpec
    levels: list[LevelResult]

    def summaries(self) -> list[dict]:
        return [lv.summary() for lv in self.levels]

    def records(self) -> list[dict]:
        """``kind=serve`` records, four metrics per level (means; percentiles in notes)."""
        s = self.spec
        out: list[dict] = []
        today = dt.date.today().isoformat()
        for lv in self.levels:
            sm = lv.summary()
            if not sm["ok"]:
                continue
            pct = (f"TTFT p50/p90/p99 {sm['ttft_ms']['p50']:.1f}/{sm['ttft_ms']['p90']:.1f}/"
                   f"{sm['ttft_ms']['p99']:.1f} ms; ITL p50/p99 "
                   + (f"{sm['itl_ms']['p50']:.2f}/{sm['itl_ms']['p99']:.2f} ms" if sm['itl_ms']['p50'] is not None
                      else "—")
                   + f"; {sm['ok']} requests after {sm['warmup']} warm-up, {sm['errors']} errors; "
                   + ("token counts from the server's usage" if sm["usage_from_server"]
                      else "token counts from content chunks (no usage from the server)")
                   + (f"; Poisson arrivals at {s.request_rate:g}/s" if s.request_rate else "; closed loop"))
            base = {"kind": "serve", "hardware": s.hardware, "chips": s.chips, "model": s.model,
                    "isl": round(sm["prompt_tokens_mean"] or s.isl, 1),
                    "osl": round(sm["completion_tokens_mean"] or s.osl, 1), "concurrency": lv.concurrency,
                    "scenario": "fixed", "engine": s.engine, "source": f"suanli bench serve --url {s.url}",
                    "date": today, "trust": "high", "isl_cv": sm["isl_cv"], "osl_cv": sm["osl_cv"], "notes": pct}
            vals = {"output_tps_per_chip": (sm["output_tps"] or 0) / s.chips, "ttft_ms": sm["ttft_ms"]["mean"],
                    "tpot_ms": sm["tpot_ms"]["mean"], "e2e_latency_s": sm["e2e_latency_s"]["mean"]}
            for metric, v in vals.items():
                if v is None:
                    continue
                out.append({**base, "id": f"SERVE-c{lv.concurrency}-{metric}", "metric": metric, "value": v})
        return out

    def to_dict(self) -> dict:
        sp = {k: v for k, v in vars(self.spec).items() if k not in ("api_key", "lengths")}
        sp["lengths"] = len(self.spec.lengths)
        return {"spec": sp, "levels": self.summaries(), "records": self.records()}


def run_load(spec: LoadSpec, *, progress: Callable[[int, int, str], None] | None = None) -> LoadResult:
    """Run every concurrency level of ``spec`` in turn (see the module docstring)."""
    async def main() -> list[LevelResult]:
        return [await run_level(spec, c, progress=progress) for c in spec.concurrency]

    return LoadResult(spec, asyncio.run(main()))
