"""Validation: predict each measured record of a CSV (validation/SCHEMA.md) and report the error.

:func:`validate_file` reads the records, predicts each row's ``metric`` from its
configuration (settings left empty are searched, as the people who measured
chose them), and returns a :class:`ValidationReport` with the absolute
percentage error of each row and, per group, the number of rows, MAPE,
median APE and the share within 25%. Rows it cannot predict are kept as
skipped with the reason. ``kind=train`` rows go to
``suanli.perf.training.predict_record(row, catalog)`` when that module exists.

Microbenchmark rows (gemm, memcopy, allreduce, alltoall) are predicted at
kernel level (no software-maturity factor); serve/prefill/decode rows through
the serving model and search.
"""
from __future__ import annotations

import csv
import importlib
import math
import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from suanli.errors import DataError, SuanliError

REQUIRED = ("id", "kind", "hardware", "chips", "metric", "value")
SERVING_KINDS = ("serve", "prefill", "decode")
MICRO_KINDS = ("gemm", "memcopy", "allreduce", "alltoall")


class Skip(Exception):
    """A row the model cannot predict; the message is the reason."""


def read_records(path: str | Path) -> list[dict[str, str]]:
    """Rows of a measurement CSV as dicts of strings (empty cells = '')."""
    from suanli.catalog.load import read_text

    p = Path(path)
    return records_from_text(read_text(p, hint="give the path of a measurement CSV (validation/SCHEMA.md)"), str(p))


def records_from_text(text: str, source: str = "<records>") -> list[dict[str, str]]:
    """Rows of measurement CSV text (an upload, a file's contents) as dicts of strings, checked.

    A record that an erratum names (``perf/data/record_errata.yaml``: its id, source and
    recorded values) comes back corrected, its notes saying so.

    >>> records_from_text("id,kind\\nx,serve\\n", "up.csv")
    Traceback (most recent call last):
    ...
    suanli.errors.DataError: up.csv: missing required column(s): hardware, chips, metric, value
      hint: see validation/SCHEMA.md for the record format
    """
    import io

    text = text.removeprefix("\ufeff")  # a spreadsheet's UTF-8 byte-order mark
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    if not rows:
        raise DataError(source, "no records")
    missing = [c for c in REQUIRED if c not in rows[0]]
    if missing:
        raise DataError(source, f"missing required column(s): {', '.join(missing)}",
                        hint="see validation/SCHEMA.md for the record format")
    ids = set()
    for n, r in enumerate(rows, start=2):
        if r["id"] in ids:
            raise DataError(source, f"duplicate id {r['id']!r}", line=n)
        ids.add(r["id"])
    from suanli.perf.errata import correct

    correct(rows)  # records whose own sources contradict a column (perf/data/record_errata.yaml); notes say so
    return rows


def _f(row: dict, key: str) -> float | None:
    v = (row.get(key) or "").strip()
    if not v:
        return None
    try:
        return float(v)
    except ValueError:
        return None


#: Columns that must hold a number > 0 when not empty (a row that breaks this is skipped, saying which cell).
NUMERIC = ("chips", "tp", "pp", "ep", "dp", "cp", "isl", "osl", "concurrency", "batch_per_chip", "ttft_slo_ms",
           "tpot_slo_ms", "seq_len", "global_batch", "gemm_m", "gemm_n", "gemm_k", "bytes", "osl_p99",
           "max_batch_per_rank", "max_num_tokens", "max_seq_len")


def bad_cell(row: dict, keys: Iterable[str] = NUMERIC) -> str | None:
    """Why a row's numeric cell cannot be used, or None when all are empty or numbers > 0.

    >>> bad_cell({"chips": "abc", "isl": "1024"})
    "chips is not a number ('abc')"
    >>> bad_cell({"chips": "8", "isl": "1024", "tp": ""}) is None
    True
    >>> bad_cell({"osl": "-1"})
    "osl must be a number > 0 (got '-1')"
    """
    for k in keys:
        v = (row.get(k) or "").strip()
        if not v:
            continue
        try:
            x = float(v)
        except ValueError:
            return f"{k} is not a number ({v!r})"
        if not math.isfinite(x) or x <= 0:
            return f"{k} must be a number > 0 (got {v!r})"
    return None


def _i(row: dict, key: str) -> int | None:
    v = _f(row, key)
    return None if v is None else int(v)


def _yes(row: dict, key: str) -> bool | None:
    v = (row.get(key) or "").strip().lower()
    return None if not v else v in ("yes", "true", "1")


# --------------------------------------------------------------------------- predictors
#: Copies of each token an MoE dispatch benchmark sends, by engine, when the record names no model:
#: DeepEP's published benchmarks all use DeepSeek-V3's routing (top-8 experts; its README).
MOE_DISPATCH_FANOUT = {"deepep": 8}


def alltoall_fanout(row: dict, catalog: Any) -> float:
    """How many destinations each byte of ``bytes`` goes to in an all-to-all record.

    A plain collective (nccl-tests ``alltoall_perf``, RCCL, HCCL) splits ``bytes``
    among the ranks: fan-out 1. An MoE dispatch benchmark states the per-rank token
    payload before fan-out, and each token goes to its top-k experts: the record's
    model gives k; DeepEP's own benchmarks use DeepSeek-V3's top-8.

    >>> alltoall_fanout({"engine": "nccl"}, None), alltoall_fanout({"engine": "deepep"}, None)
    (1.0, 8.0)
    """
    if row.get("model"):
        m = catalog.model(row["model"])
        if m.top_k:
            return float(m.top_k)
    return float(MOE_DISPATCH_FANOUT.get((row.get("engine") or "").lower(), 1))


def _micro(row: dict, catalog: Any, params: dict) -> float:
    from suanli.perf import comm
    from suanli.perf.hardware import HardwareSpec
    from suanli.perf.inference import gemm_tflops

    kind, metric = row["kind"], row["metric"]
    chips = _i(row, "chips") or 1
    if kind == "memcopy":  # needs only the memory bandwidth: say so when that is what is missing
        acc = catalog.accelerator(row["hardware"])
        if acc.mem_bw_tbps.value is None:
            raise Skip(f"accelerator {acc.id!r} has no memory bandwidth in the catalog")
    hw = HardwareSpec.from_catalog(catalog, row["hardware"], system=row.get("system") or None, chips=chips,
                                   params=params)
    if kind == "gemm":
        dt = row.get("act_dtype") or row.get("weight_dtype") or "bf16"
        if hw.peaks_tflops.get(dt) is None:
            raise Skip(f"{row['hardware']} has no {dt} peak in the catalog")
        m, n, k = (_f(row, c) for c in ("gemm_m", "gemm_n", "gemm_k"))
        if None in (m, n, k):
            raise Skip("gemm_m/n/k missing")
        return float(gemm_tflops(hw, m, n, k, dt))
    if kind == "memcopy":  # a streaming copy: the asymptotic rate, whatever the buffer size
        if metric != "tbps":
            raise Skip(f"metric {metric} not predicted for memcopy")
        return float(hw.mem_rate()) / 1e12 * hw.ranks_per_chip
    nbytes = _f(row, "bytes")
    if nbytes is None:
        raise Skip("bytes missing")
    ranks = chips * hw.ranks_per_chip
    if kind == "allreduce":
        t = float(comm.allreduce_time(hw, nbytes, ranks))
        if metric == "busbw_gbps":
            return nbytes / t * 2 * (ranks - 1) / ranks / 1e9
        if metric == "latency_us":
            return t * 1e6
    if kind == "alltoall":
        ep = _i(row, "ep") or ranks
        fan = alltoall_fanout(row, catalog)
        t = float(comm.alltoall_time(hw, nbytes * fan, ep))
        if metric == "latency_us":
            return t * 1e6
        if metric == "busbw_gbps":
            if fan == 1.0:  # nccl-tests: bus bandwidth = algorithm bandwidth x (n - 1) / n
                return nbytes / t * (ep - 1) / ep / 1e9
            # MoE dispatch (DeepEP's definition): bytes crossing the bottleneck link per second --
            # RDMA when the group spans domains, NVLink (everything but the rank's own share) inside one
            d = min(ep, hw.domain_ranks)
            crossing = nbytes * fan * ((ep - d) if ep > d else (ep - 1)) / ep
            return crossing / t / 1e9
    raise Skip(f"metric {metric} not predicted for {kind}")


def _cv(row: dict, key: str) -> float:
    """A coefficient-of-variation cell: empty = 0 (fixed lengths), else a number >= 0 (else the row is skipped).

    >>> _cv({"osl_cv": "1.1"}, "osl_cv"), _cv({}, "osl_cv")
    (1.1, 0.0)
    """
    v = (row.get(key) or "").strip()
    if not v:
        return 0.0
    try:
        x = float(v)
    except ValueError:
        raise Skip(f"{key} is not a number ({v!r})") from None
    if not math.isfinite(x) or x < 0:
        raise Skip(f"{key} must be a number >= 0 (got {v!r})")
    return x


def request_from_row(row: dict) -> Any:
    """The :class:`~suanli.perf.search.Request` a serve/prefill/decode record describes."""
    from suanli.perf.search import Request

    if not row.get("model"):
        raise Skip("no model")
    isl, osl = _f(row, "isl"), _f(row, "osl")
    if isl is None or osl is None:
        raise Skip("isl/osl missing")
    attn_dp = _yes(row, "attn_dp")
    scen = (row.get("scenario") or "offline").strip()
    return Request(
        hardware=row["hardware"], model=row["model"], chips=_i(row, "chips") or 1, isl=isl, osl=max(osl, 1.0),
        weight_dtype=row.get("weight_dtype") or "bf16", act_dtype=row.get("act_dtype") or None,
        kv_dtype=row.get("kv_dtype") or None, system=row.get("system") or None, engine=row.get("engine") or None,
        scenario=scen, ttft_slo_ms=_f(row, "ttft_slo_ms") if scen == "server" else None,
        tpot_slo_ms=_f(row, "tpot_slo_ms") if scen == "server" else None,
        # a record may state both (the same load twice): the batch per chip is the more specific
        concurrency=_f(row, "concurrency") if _f(row, "batch_per_chip") is None else None,
        batch_per_chip=_f(row, "batch_per_chip"),
        disagg=bool(_yes(row, "disagg")), spec_decode=row.get("spec_decode") or None,
        tp=_i(row, "tp"), pp=_i(row, "pp"), ep=_i(row, "ep"), dp=_i(row, "dp") if attn_dp else None,
        attn_dp=attn_dp,
        isl_cv=_cv(row, "isl_cv"), osl_cv=_cv(row, "osl_cv"),
        osl_max=max(_f(row, "osl_p99"), osl) if _f(row, "osl_p99") else None,
        max_batch_per_rank=_i(row, "max_batch_per_rank"), max_num_tokens=_i(row, "max_num_tokens"),
        max_seq_len=_i(row, "max_seq_len"),
    )


def _serving(row: dict, catalog: Any, params: dict) -> float:
    from suanli.perf.search import predict_phase, predict_serve

    req = request_from_row(row)
    kind, metric = row["kind"], row["metric"]
    if kind == "prefill":
        pred = predict_phase(catalog, req, "prefill", params=params)
    elif kind == "decode":
        pred = predict_phase(catalog, req, "decode", params=params)
    else:
        pred = predict_serve(catalog, req, params=params)
    m = pred.metrics
    if metric == "e2e_latency_s":
        return (m["ttft_ms"] + (req.osl - 1) * m["tpot_ms"]) / 1e3
    if metric not in m:
        raise Skip(f"metric {metric} not predicted for {kind}")
    return m[metric]


def _training(row: dict, catalog: Any, params: dict) -> float:
    try:
        mod = importlib.import_module("suanli.perf.training")
    except ImportError:
        raise Skip("training model not available") from None
    fn = getattr(mod, "predict_record", None)
    if fn is None:
        raise Skip("training model not available")
    out = fn(row, catalog)
    return float(out if not hasattr(out, "value") else out.value)


def predict_row(row: dict, catalog: Any, params: dict | None = None) -> float:
    """Predict one record's metric; raise :class:`Skip` with the reason when the model cannot."""
    from suanli.perf.hardware import load_params

    p = params or load_params()
    kind = row.get("kind", "")
    try:
        if kind in MICRO_KINDS:
            return _micro(row, catalog, p)
        if kind in SERVING_KINDS:
            return _serving(row, catalog, p)
        if kind == "train":
            return _training(row, catalog, p)
    except Skip:
        raise
    except SuanliError as exc:
        raise Skip(exc.message) from None
    raise Skip(f"unknown kind {kind!r}")


# --------------------------------------------------------------------------- report
@dataclass
class RowResult:
    id: str
    kind: str
    hardware: str
    model: str
    vendor: str
    family: str
    metric: str
    measured: float
    predicted: float | None
    ape: float | None
    skipped: bool
    reason: str | None = None
    engine: str | None = None

    def to_dict(self) -> dict:
        return {"id": self.id, "kind": self.kind, "hardware": self.hardware, "model": self.model,
                "vendor": self.vendor, "family": self.family, "metric": self.metric, "engine": self.engine,
                "predicted": self.predicted, "measured": self.measured, "ape": self.ape,
                "skipped": self.skipped, "reason": self.reason}


def summarize(apes: Iterable[float], skipped: int = 0) -> dict:
    """MAPE, median APE and share within 25% of a list of absolute percentage errors (fractions).

    >>> summarize([0.1, 0.2, 0.5])
    {'n': 3, 'mape': 0.2667, 'median_ape': 0.2, 'within_25': 0.6667, 'skipped': 0}
    """
    a = [x for x in apes if x is not None and math.isfinite(x)]
    if not a:
        return {"n": 0, "mape": None, "median_ape": None, "within_25": None, "skipped": skipped}
    return {"n": len(a), "mape": round(sum(a) / len(a), 4), "median_ape": round(statistics.median(a), 4),
            "within_25": round(sum(x <= 0.25 for x in a) / len(a), 4), "skipped": skipped}


@dataclass
class ValidationReport:
    rows: list[RowResult]
    by: str = "kind"
    source: str = ""
    notes: list[str] = field(default_factory=list)

    def groups(self, by: str | None = None) -> dict[str, dict]:
        key = by or self.by
        out: dict[str, list[RowResult]] = {}
        for r in self.rows:
            out.setdefault(str(getattr(r, key)), []).append(r)
        return {k: summarize([r.ape for r in v if not r.skipped], sum(r.skipped for r in v))
                for k, v in sorted(out.items())}

    def summary(self, rows: list[RowResult] | None = None) -> dict:
        rs = self.rows if rows is None else rows
        return summarize([r.ape for r in rs if not r.skipped], sum(r.skipped for r in rs))

    def subset(self, pred: Callable[[RowResult], bool]) -> list[RowResult]:
        return [r for r in self.rows if pred(r)]

    def to_dict(self) -> dict:
        return {"source": self.source, "rows": [r.to_dict() for r in self.rows], "summary": self.summary(),
                "groups": {self.by: self.groups()}, "notes": list(self.notes)}

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame([r.to_dict() for r in self.rows])


#: Columns that describe a measurement, not what to predict: rows equal in every other column share
#: one prediction (a sweep of repeated measurements, a file of many runs of few configurations).
NOT_PREDICTIVE = frozenset({"id", "value", "source", "date", "trust", "notes", "dataset"})


def validate_records(rows: list[dict], catalog: Any, *, kind: str | None = None, by: str = "kind",
                     params: dict | None = None, source: str = "", cache: dict | None = None) -> ValidationReport:
    """Predict every record (optionally only one ``kind``) and collect the errors.

    The model is a pure function of a row's predictive columns, so rows that agree in all of
    them are predicted once (``cache``, shared by callers that feed rows one at a time with the
    same catalog and parameters).
    """
    from suanli.perf.hardware import family_of, load_params

    p = params or load_params()
    cache = {} if cache is None else cache
    out: list[RowResult] = []
    for row in rows:
        if kind and row.get("kind") != kind:
            continue
        measured = _f(row, "value")
        hwid = row.get("hardware", "")
        acc = catalog.accelerators.get(hwid)
        vendor = acc.vendor if acc is not None else "?"
        family = family_of(hwid, acc.stack, p) if acc is not None else "?"
        base = dict(id=row["id"], kind=row.get("kind", ""), hardware=hwid, model=row.get("model", ""),
                    vendor=vendor, family=family, metric=row.get("metric", ""),
                    measured=measured if measured is not None else float("nan"), engine=row.get("engine") or None)
        if measured is None or not math.isfinite(measured) or measured <= 0:  # nan, inf, 0, negative: no measurement
            out.append(RowResult(**base, predicted=None, ape=None, skipped=True,
                                 reason=bad_cell(row, ("value",)) or "no measured value"))
            continue
        bad = bad_cell(row)
        if bad:
            out.append(RowResult(**base, predicted=None, ape=None, skipped=True, reason=bad))
            continue
        key = tuple(sorted((k, v) for k, v in row.items() if k is not None and k not in NOT_PREDICTIVE))
        if key not in cache:
            try:
                cache[key] = predict_row(row, catalog, p)
            except Skip as exc:
                cache[key] = exc
        pred = cache[key]
        if isinstance(pred, Skip):
            out.append(RowResult(**base, predicted=None, ape=None, skipped=True, reason=str(pred)))
            continue
        if not math.isfinite(pred) or pred <= 0:
            out.append(RowResult(**base, predicted=None, ape=None, skipped=True,
                                 reason=f"the model gives no finite positive prediction (got {pred!r})"))
            continue
        ape = abs(pred - measured) / measured
        out.append(RowResult(**base, predicted=round(pred, 6), ape=round(ape, 4), skipped=False))
    return ValidationReport(out, by=by, source=source, notes=correction_notes(rows, kind))


def correction_notes(rows: list[dict], kind: str | None = None) -> list[str]:
    """One line per record read through its erratum (``perf/data/record_errata.yaml``), for the report's notes."""
    from suanli.perf.errata import in_force

    sel = [r for r in rows if not kind or r.get("kind") == kind]
    return [f"{e.id} read corrected: {e.summary()} (its run's own artefacts; suanli/perf/data/record_errata.yaml)"
            for e in in_force(sel)]


def validate_file(path: str | Path, catalog: Any, *, kind: str | None = None, by: str = "kind",
                  params: dict | None = None) -> ValidationReport:
    """Read a measurement CSV and validate it (see :func:`validate_records`)."""
    return validate_records(read_records(path), catalog, kind=kind, by=by, params=params, source=str(path))


# --------------------------------------------------------------------------- report and error bands
def with_out_of_fold(report: ValidationReport, oof: dict[str, float]) -> dict[str, float | None]:
    """Out-of-fold APE per row id, from cross-validated predictions."""
    out: dict[str, float | None] = {}
    for r in report.rows:
        if r.id in oof and not r.skipped:
            out[r.id] = round(abs(oof[r.id] - r.measured) / r.measured, 4)
    return out


def error_bands(report: ValidationReport, oof: dict[str, float] | None = None,
                held_out: dict[str, dict[str, float]] | None = None) -> dict:
    """The error-band table (see :func:`suanli.perf.accuracy.error_bands`)."""
    from suanli.perf.accuracy import error_bands as _bands

    return _bands(report, oof, held_out)


def render_markdown(report: ValidationReport, **kw: Any) -> str:
    """The accuracy report as Markdown (see :func:`suanli.perf.accuracy.render_markdown`)."""
    from suanli.perf.accuracy import render_markdown as _render

    return _render(report, **kw)
