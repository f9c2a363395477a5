"""Calibrate one chip from its measurement records: the few physical parameters of its efficiency curves.

:func:`calibrate` fits, on the records of one accelerator, only the parameters
that its records can tell (never one per row; rows must outnumber parameters):

==========================  ===============================================  ==============================
parameter                   fitted on                                        model of the record
==========================  ===============================================  ==============================
``matmul_eff.<dtype>``      gemm rows of that format (chip with a peak)      roofline of :func:`gemm_time`
effective peak ``<dtype>``  gemm rows of that format (chip with no peak):    same, with ``matmul_eff`` = 1
                            written as a catalog figure flagged *measured*
``matmul_m_half``           gemm rows with small and large M                 ``eff x M / (M + m_half)``
``mem_eff``                 memcopy rows (``mem_bw`` measured if unknown)    ``2b / (2b / (bw eff) + kernel)``
``kernel_us``               memcopy rows that include small buffers          same
``attn_eff``                attention rows at prefill shapes (``tflops``)    ``peak(bf16) x attn_eff``
``allreduce_eff``,          allreduce rows (latency with small sizes too)    :func:`comm.allreduce_time`
``allreduce_latency_us``
``maturity``                serve/prefill/decode rows, after the kernel      the serving model
                            parameters (a second stage)
==========================  ===============================================  ==============================

The fit minimises a robust (soft-L1) loss of ``log(predicted / measured)``
with :func:`scipy.optimize.least_squares`; each parameter's standard error
comes from the Jacobian at the optimum (``s^2 (J^T J)^-1``). The result is a
:class:`~suanli.catalog.calibration.ChipCalibration` plus any measured peaks,
written as a catalog overlay that loads through ``--catalog`` and that
:func:`apply_calibration` lays over the chip's family values.
"""
from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import math
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from suanli.errors import SuanliError
from suanli.perf.accuracy import MIN_BAND_ROWS, band_of
from suanli.perf.validate import MICRO_KINDS, SERVING_KINDS, Skip, predict_row

#: Robust loss on log(predicted / measured): rows off by more than ~F_SCALE in log count less.
LOSS, F_SCALE = "soft_l1", 0.1
PEAK_FIELDS = {"bf16": "bf16_tflops", "fp16": "fp16_tflops", "fp8": "fp8_tflops", "int8": "int8_tops",
               "fp4": "fp4_tflops"}


# --------------------------------------------------------------------------- applying a calibration
def apply_calibration(cal: Any, fd: dict, mat: dict, comm: dict) -> tuple[dict, dict, dict]:
    """The family values ``fd``, maturity entry and comm parameters with the chip's measured ones laid over.

    A measured ``matmul_eff`` of some formats also becomes the chip's ``any``
    (their mean): a measurement of this chip beats its family's prior.

    >>> from suanli.catalog.calibration import ChipCalibration
    >>> cal = ChipCalibration.model_validate({"hardware": "x", "source": "s", "date": "2026-12-01",
    ...     "basis": "microbenchmarks", "rows": 5, "params": {"matmul_eff.bf16": {"value": 0.8, "rows": 3},
    ...     "mem_eff": {"value": 0.7, "rows": 2}}})
    >>> fd, mat, comm = apply_calibration(cal, {"matmul_eff": {"any": 0.6}, "mem_eff": 0.8}, {"value": 0.5}, {})
    >>> fd["matmul_eff"], fd["mem_eff"], mat["value"]
    ({'any': 0.8, 'bf16': 0.8}, 0.7, 0.5)
    >>> cal = ChipCalibration.model_validate({"hardware": "x", "source": "s", "date": "2026-12-01",
    ...     "basis": "serving", "rows": 5, "params": {"maturity": {"value": 0.4, "rows": 5}}})
    >>> apply_calibration(cal, {}, {"value": 0.5, "step_overhead_ms": 6.0}, {})[1]["step_overhead_ms"]
    6.0
    """
    fd = dict(fd)
    fd["matmul_eff"] = dict(fd.get("matmul_eff") or {})
    comm = copy.deepcopy(comm)
    effs = []
    if "matmul_eff.any" in cal.params:  # measured for every format: the family's per-format values give way
        fd["matmul_eff"] = {}
    for name, prm in cal.params.items():
        v = float(prm.value)
        if name.startswith("matmul_eff."):
            fd["matmul_eff"][name.split(".", 1)[1]] = v
            effs.append(v)
        elif name in ("matmul_m_half", "mem_eff", "kernel_us", "attn_eff"):
            fd[name] = v
        elif name == "allreduce_eff":
            comm["allreduce_eff"] = {k: v for k in (comm.get("allreduce_eff") or {"switched": 0})}
        elif name == "allreduce_latency_us":
            comm["allreduce_latency_us"] = {k: v for k in (comm.get("allreduce_latency_us") or {"switched": 0})}
        elif name == "maturity":
            # the chip's own maturity; what it does not fit (the stack's host cost per step) stays the stack's
            mat = {**mat, "value": v, "from": f"calibrated: {cal.source} ({cal.date})"}
    if "step_overhead_ms" in cal.params:  # the chip's host cost per decode step: read by HardwareSpec.serving
        mat = {**mat, "step_overhead_ms": float(cal.params["step_overhead_ms"].value)}
    if effs and "any" not in {n.split(".", 1)[1] for n in cal.params if n.startswith("matmul_eff.")}:
        fd["matmul_eff"]["any"] = float(np.mean(effs))
    return fd, mat, comm


# --------------------------------------------------------------------------- the parameters to fit
#: A fitted value whose standard error exceeds this share of it is not determined by its records.
UNDETERMINED_REL_SE = 0.5


@dataclass(frozen=True)
class Param:
    """One parameter of the fit: where it goes, bounds, start, and how many rows inform it."""

    name: str             # calibration name, or "peak.<dtype>" / "mem_bw" for measured catalog figures
    low: float
    high: float
    start: float
    rows: int
    stage: int = 1        # 1: kernel level (micro rows), 2: serving (maturity)


def _fnum(row: dict, key: str) -> float | None:
    try:
        v = float(row.get(key) or "nan")
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def _dtype(row: dict) -> str:
    return (row.get("act_dtype") or row.get("weight_dtype") or "bf16").strip()


#: A serving row with at most this many sequences per scheduler (attention-DP rank) is small-batch:
#: its decode step is dominated by streaming the weights and by host work per step, not by compute.
SMALL_BATCH = 4


def sequences_per_scheduler(row: dict) -> float | None:
    """Sequences one scheduler (attention-DP rank) runs in a serving row: concurrency or batch over DP ranks."""
    dp = _fnum(row, "dp") if (row.get("attn_dp") or "").strip().lower() in ("yes", "true", "1") else None
    conc = _fnum(row, "concurrency")
    if conc is None:
        b, chips = _fnum(row, "batch_per_chip"), _fnum(row, "chips")
        conc = b * chips if b is not None and chips else None
    if conc is None:
        return None
    return conc / max(dp or 1.0, 1.0)


def is_small_batch(row: dict) -> bool:
    """Whether a serving row is small-batch (:data:`SMALL_BATCH`): memory- and host-bound decoding."""
    n = sequences_per_scheduler(row)
    return row.get("kind") in SERVING_KINDS and n is not None and n <= SMALL_BATCH


def _serving_bw_start(acc: Any) -> float:
    """A start for a bandwidth measured on serving rows: the chip's figure if measured before, else ~ peak / 200."""
    if acc.mem_bw_tbps.value is not None:
        return float(acc.mem_bw_tbps.value)
    peak = next((acc.peak(d).value for d in ("bf16", "fp16") if acc.peak(d).value), None)
    if peak is None and acc.peak("int8").value:
        peak = acc.peak("int8").value / 2
    return float(peak or 200.0) / 200.0


def memory_ceiling(catalog: Any, acc: Any) -> tuple[float, str] | None:
    """The fastest published bandwidth (TB/s) of a chip with the same memory technology, and its id.

    A bandwidth measured on serving rows is an effective rate (copy efficiency 1): it cannot pass
    what any part of that memory technology is published to reach (``HBM2e``: 3.2 TB/s, eight
    stacks on an MI250X). ``None`` when the technology is not stated or has no published figure.
    """
    def tech(a: Any) -> str | None:
        m = re.match(r"\s*(hbm\d?e?|gddr\d\w?|lpddr\d\w?)\b", (a.mem_type or "").lower())
        return m.group(1) if m else None

    mine = tech(acc)
    if mine is None:
        return None
    best = None
    for a in catalog.accelerators.values():
        fig = a.mem_bw_tbps
        if (a.id != acc.id and a.category != "system" and tech(a) == mine and fig.value is not None
                and fig.confidence not in ("measured", "estimate") and (best is None or fig.value > best[0])):
            best = (float(fig.value), a.id)
    return best


def choose_params(rows: list[dict], acc: Any, fam: dict,
                  serving_default: dict | None = None,
                  mem_ceiling: tuple[float, str] | None = None) -> tuple[list[Param], list[str]]:
    """The parameters the rows can tell, with bounds and starts; and notes on what is held at the prior."""
    serving_default = serving_default or {}
    ps: list[Param] = []
    notes: list[str] = []
    gemm = [r for r in rows if r["kind"] == "gemm" and r["metric"] == "tflops"]
    by_dt = {d: [r for r in gemm if _dtype(r) == d] for d in sorted({_dtype(r) for r in gemm}) if d in PEAK_FIELDS}
    for d in sorted({_dtype(r) for r in gemm} - set(PEAK_FIELDS)):
        notes.append(f"gemm rows in {d}: the model has no {d} matmul path; not used")
    known = {d: rs for d, rs in by_dt.items() if acc.peak(d).value is not None and acc.peak(d).confidence != "measured"}
    unknown = {d: rs for d, rs in by_dt.items() if d not in known}
    # efficiencies: one per format when every format has two rows or more, else one for all (matmul_eff.any)
    pooled = [] if len(known) > 1 and all(len(rs) >= 2 for rs in known.values()) else list(known)
    for d, rs in known.items():
        if d not in pooled:
            start = float(fam["matmul_eff"].get(d, fam["matmul_eff"].get("any", 0.6)))
            ps.append(Param(f"matmul_eff.{d}", 0.02, 1.0, min(max(start, 0.05), 0.99), len(rs)))
    if pooled:
        start = float(fam["matmul_eff"].get("any", 0.6))
        ps.append(Param("matmul_eff.any", 0.02, 1.0, min(max(start, 0.05), 0.99), sum(len(known[d]) for d in pooled)))
        if len(pooled) > 1:
            notes.append(f"one matmul efficiency for {', '.join(pooled)} (too few rows to tell the formats apart)")
    # effective peaks of formats the catalog lacks: BF16 and FP16 share one (the same units run both)
    groups: dict[str, list[str]] = {}
    for d in unknown:
        groups.setdefault("16bit" if d in ("bf16", "fp16") else d, []).append(d)
    for g, ds in groups.items():
        rs = [r for d in ds for r in unknown[d]]
        top = max(float(r["value"]) for r in rs)
        ps.append(Param(f"peak.{g}", 0.5 * top, 4.0 * top, 1.1 * top, len(rs)))
    ms = sorted({_fnum(r, "gemm_m") or 0 for r in gemm})
    if len(ms) >= 3 and ms[0] <= 64 and ms[-1] >= 1024:
        ps.append(Param("matmul_m_half", 1.0, 4096.0, float(fam["matmul_m_half"]),
                        sum(1 for r in gemm if (_fnum(r, "gemm_m") or 0) <= 256)))
    elif gemm:
        notes.append(f"matmul_m_half held at the family's {fam['matmul_m_half']:g}: no GEMM rows with both small "
                     "(<= 64) and large (>= 1024) M")
    cp = [r for r in rows if r["kind"] == "memcopy" and r["metric"] == "tbps"]
    if cp:
        if acc.mem_bw_tbps.value is not None and acc.mem_bw_tbps.confidence != "measured":
            ps.append(Param("mem_eff", 0.05, 1.0, float(fam["mem_eff"]), len(cp)))
        else:
            top = max(float(r["value"]) for r in cp)
            ps.append(Param("mem_bw", 0.5 * top, 4.0 * top, 1.1 * top, len(cp)))
        sizes = sorted(b for b in (_fnum(r, "bytes") for r in cp) if b)
        if len(set(sizes)) >= 3 and sizes[0] <= 2**20:
            ps.append(Param("kernel_us", 0.1, 500.0, float(fam["kernel_us"]), sum(1 for b in sizes if b <= 2**22)))
        else:
            notes.append(f"kernel_us held at the family's {fam['kernel_us']:g}: no copy sweep down to 1 MiB")
    at = [r for r in rows if r["kind"] == "attention" and r["metric"] == "tflops"]
    if at:
        ps.append(Param("attn_eff", 0.01, 1.0, float(fam["attn_eff"]), len(at)))
    ar = [r for r in rows if r["kind"] == "allreduce" and r["metric"] in ("busbw_gbps", "latency_us")]
    if ar:
        ps.append(Param("allreduce_eff", 0.02, 1.6, 0.7, len(ar)))
        sizes = sorted({_fnum(r, "bytes") or 0 for r in ar})
        if len(sizes) >= 2 and sizes[0] <= 2**20:
            ps.append(Param("allreduce_latency_us", 1.0, 2000.0, 20.0, sum(1 for s in sizes if s <= 2**20)))
    sv = [r for r in rows if r["kind"] in SERVING_KINDS]
    if sv:
        ps.append(Param("maturity", 0.05, 1.5, 0.6, len(sv), stage=2))
        small = [r for r in sv if is_small_batch(r)]
        # the host cost per decode step: told apart from maturity only with small- and larger-batch rows
        if len(small) >= 2 and len(sv) - len(small) >= 2 and len(sv) >= 4:
            ps.append(Param("step_overhead_ms", 0.0, 50.0, float(serving_default.get("step_overhead_ms", 0.5)),
                            len(small), stage=2))
        elif sv:
            notes.append("step_overhead_ms held at the engine's: the serving rows need two small-batch "
                         f"(<= {SMALL_BATCH} sequences per scheduler) and two larger-batch rows "
                         f"(have {len(small)} and {len(sv) - len(small)})")
        if (acc.mem_bw_tbps.value is None or acc.mem_bw_tbps.confidence == "measured") and not cp and small:
            # no published bandwidth and no copy rows: batch-1 decoding streams the weights, so its
            # time per token measures the bandwidth the serving engine reaches (flagged measured)
            top = _serving_bw_start(acc)
            hi = 5.0 * top if mem_ceiling is None else min(5.0 * top, mem_ceiling[0])
            ps.append(Param("mem_bw", min(0.1 * top, 0.5 * hi), hi, min(top, 0.9 * hi), len(small), stage=2))
            if mem_ceiling is not None and hi == mem_ceiling[0]:
                notes.append(f"mem_bw at most {hi:g} TB/s, the fastest {acc.mem_type} part in the catalog "
                             f"({mem_ceiling[1]})")
            # on memory-bound rows the bandwidth and the maturity only show as their product: the
            # maturity stays at its stack's value and the bandwidth is the one that stack reaches
            ps = [x for x in ps if x.name != "maturity"]
            notes.append("mem_bw measured on small-batch serving rows (no published bandwidth, no copy rows); "
                         "maturity held at its stack's value (on memory-bound rows only their product shows)")
    # a parameter resting on one record is a parameter per row: held at its prior, unless it is a
    # figure the chip cannot be predicted without (a measured peak or bandwidth), which says so
    kept = []
    for x in ps:
        if x.rows >= 2:
            kept.append(x)
        elif x.name.startswith("peak.") or x.name == "mem_bw":
            kept.append(x)
            notes.append(f"{x.name} rests on one record (the chip has no published figure)")
        else:
            notes.append(f"{x.name} held at its prior: one record only")
    return kept, notes


# --------------------------------------------------------------------------- predictions
def _with(catalog: Any, hw: str, values: dict[str, float], rows: int, *, source: str = "fit",
          basis: str = "microbenchmarks", sds: dict[str, float] | None = None,
          counts: dict[str, int] | None = None) -> Any:
    """``catalog`` with ``values`` applied to chip ``hw``: measured peaks in its record, the rest a calibration."""
    from suanli.catalog.calibration import ChipCalibration
    from suanli.catalog.schema import Figure

    acc = catalog.accelerator(hw)
    upd: dict[str, Any] = {}
    params: dict[str, dict] = {}
    measured: list[str] = []
    for k, v in values.items():
        if k.startswith("peak."):
            g = k.split(".", 1)[1]
            for d in (("bf16", "fp16") if g == "16bit" else (g,)):
                upd[PEAK_FIELDS[d]] = Figure(
                    value=float(v), confidence="measured", source=f"suanli calibrate: {source}",
                    note="effective peak: the large-GEMM rate the records show (not a datasheet figure); matmul "
                         "efficiency taken as 1 for it" + ("; one figure for BF16 and FP16" if g == "16bit" else ""))
                params[f"matmul_eff.{d}"] = {"value": 1.0, "rows": (counts or {}).get(k, 1),
                                             "note": "1 by definition: the peak is the measured effective one"}
                measured.append(PEAK_FIELDS[d])
        elif k == "mem_bw":
            note = ("effective bandwidth: the copy rate the records show (2 x bytes / s)" if basis != "serving" else
                    "effective bandwidth: the weight-streaming rate that the small-batch serving records show "
                    "(memory-bound decoding), with copy efficiency 1 at its stack's serving maturity; "
                    "not a datasheet figure")
            upd["mem_bw_tbps"] = Figure(value=float(v), confidence="measured", source=f"suanli calibrate: {source}",
                                        note=note)
            params["mem_eff"] = {"value": 1.0, "rows": (counts or {}).get(k, 1),
                                 "note": "1 by definition: the bandwidth is the measured effective one"}
            measured.append("mem_bw_tbps")
        else:
            params[k] = {"value": float(v), "rows": (counts or {}).get(k, 1)}
            if sds and sds.get(k) is not None:
                params[k]["sd"] = float(sds[k])
    cal = ChipCalibration(hardware=acc.id, source=source, date=dt.date.today().isoformat(), basis=basis,
                          rows=max(rows, 1), params=params, measured_peaks=tuple(measured))
    accs = dict(catalog.accelerators)
    if upd:
        accs[acc.id] = acc.model_copy(update=upd)
    cals = dict(getattr(catalog, "calibrations", {}) or {})
    cals[acc.id] = cal
    return dataclasses.replace(catalog, accelerators=accs, calibrations=cals)


def predict(row: dict, catalog: Any, params: dict) -> float:
    """A record's prediction at kernel level where the validator is asymptotic (memcopy, attention), else its own."""
    from suanli.perf.hardware import HardwareSpec

    kind = row["kind"]
    if kind in ("memcopy", "attention"):
        hw = HardwareSpec.from_catalog(catalog, row["hardware"], chips=1, params=params)
        if kind == "memcopy":
            if row["metric"] != "tbps":
                raise Skip(f"metric {row['metric']} not predicted for memcopy")
            b = _fnum(row, "bytes")
            rate = float(hw.mem_rate()) * hw.ranks_per_chip
            if not b:
                return rate / 1e12
            t = 2 * b / rate + float(hw.kernel_us) * 1e-6
            return 2 * b / t / 1e12
        if row["metric"] != "tflops":
            raise Skip("attention rows: only prefill (tflops) rows are predicted")
        return float(hw.attn_rate("bf16", serving=False)) * hw.ranks_per_chip / 1e12
    return predict_row(row, catalog, params)


def _log_res(rows: list[dict], cat: Any, params: dict) -> np.ndarray:
    out = []
    for r in rows:
        try:
            p = predict(r, cat, params)
        except Skip:
            out.append(0.0)
            continue
        m = float(r["value"])
        lr = math.log(max(p, 1e-12) / m)
        out.append(-lr if r["metric"] in ("e2e_latency_s", "latency_us", "ttft_ms", "tpot_ms") else lr)
    return np.asarray(out)


def _fit(rows: list[dict], ps: list[Param], make_cat: Callable[[dict], Any], params: dict) -> tuple[dict, dict]:
    from scipy.optimize import least_squares

    def f(x: np.ndarray) -> np.ndarray:
        return _log_res(rows, make_cat({p.name: v for p, v in zip(ps, x)}), params)

    # peaks and bandwidths in log space so that the fit is scale-free
    x0 = np.array([p.start for p in ps])
    lo = np.array([p.low for p in ps])
    hi = np.array([p.high for p in ps])
    sol = least_squares(f, x0, bounds=(lo, hi), loss=LOSS, f_scale=F_SCALE, x_scale=np.maximum(np.abs(x0), 1e-3),
                        diff_step=1e-4, max_nfev=400)
    n, k = len(rows), len(ps)
    res = sol.fun
    s2 = float(res @ res) / max(n - k, 1)
    J = sol.jac
    try:
        cov = np.linalg.pinv(J.T @ J) * s2
        sd = np.sqrt(np.clip(np.diag(cov), 0, None))
    except np.linalg.LinAlgError:
        sd = np.full(k, np.nan)
    return ({p.name: float(v) for p, v in zip(ps, sol.x)},
            {p.name: (float(s) if math.isfinite(s) else None) for p, s in zip(ps, sd)})


# --------------------------------------------------------------------------- the result
@dataclass
class CalibrationResult:
    """A chip's fitted parameters, the overlay that carries them, and the errors before and after."""

    hardware: str
    values: dict[str, float]
    sd: dict[str, float | None]
    rows_used: list[str]
    skipped: list[tuple[str, str]]
    notes: list[str]
    before: dict[str, float | None]       # row id -> APE with the catalog as it was
    after: dict[str, float | None]        # row id -> APE with the calibration (in-sample)
    calibration: Any = None
    accelerator_update: dict = field(default_factory=dict)
    out_of_fold: dict[str, float] = field(default_factory=dict)
    grouping: str | None = None           # the out-of-fold grouping used (a column, or "config")

    @staticmethod
    def _mape(apes: dict[str, float | None]) -> float | None:
        a = [v for v in apes.values() if v is not None]
        return round(float(np.mean(a)), 4) if a else None

    def summary(self) -> dict:
        return {"rows": len(self.rows_used), "mape_before": self._mape(self.before),
                "mape_after": self._mape(self.after),
                "mape_out_of_fold": self._mape(self.out_of_fold) if self.out_of_fold else None,
                "grouping": self.grouping, "skipped": len(self.skipped)}

    def overlay(self) -> dict:
        """The overlay document (``--catalog``): measured figures and the calibration record."""
        doc: dict[str, Any] = {}
        if self.accelerator_update:
            doc["accelerators"] = [{"id": self.hardware, **self.accelerator_update}]
        doc["calibrations"] = [self.calibration.model_dump(mode="json", exclude_none=True)]
        return doc

    def overlay_yaml(self) -> str:
        import yaml

        head = (f"# Calibration of {self.hardware} by `suanli calibrate`: the chip's own efficiency parameters,\n"
                "# fitted on measured records (source below). Load with --catalog; regenerate, do not edit by hand.\n")
        return head + yaml.safe_dump(self.overlay(), sort_keys=False, allow_unicode=True, width=110)

    def to_dict(self) -> dict:
        return {"hardware": self.hardware, "summary": self.summary(),
                "params": {k: {"value": v, "sd": self.sd.get(k)} for k, v in self.values.items()},
                "calibration": self.calibration.model_dump(mode="json") if self.calibration else None,
                "accelerator_update": self.accelerator_update, "notes": self.notes,
                "skipped": [{"id": i, "reason": r} for i, r in self.skipped],
                "rows": [{"id": i, "ape_before": self.before.get(i), "ape_after": self.after.get(i),
                          "ape_out_of_fold": self.out_of_fold.get(i)} for i in self.rows_used]}


def _ratios(rows: list[dict], cat: Any, params: dict) -> dict[str, float | None]:
    """``{row id: predicted / measured}`` (None where the model cannot predict the row)."""
    out: dict[str, float | None] = {}
    for r in rows:
        try:
            out[r["id"]] = predict(r, cat, params) / float(r["value"])
        except (Skip, SuanliError):
            out[r["id"]] = None
    return out


def _apes(rows: list[dict], cat: Any, params: dict) -> dict[str, float | None]:
    return {k: None if v is None else abs(v - 1) for k, v in _ratios(rows, cat, params).items()}


def _usable(rows: list[dict], catalog: Any, hw: str) -> tuple[list[dict], list[tuple[str, str]]]:
    """Rows of chip ``hw`` with a kind calibration uses and a positive value; the rest with reasons."""
    keep, skipped = [], []
    for r in rows:
        if r.get("hardware") != hw:
            continue
        kind = r.get("kind", "")
        v = _fnum(r, "value")
        if v is None or v <= 0:
            skipped.append((r["id"], f"value {r.get('value')!r} is not a number > 0"))
        elif kind == "train":
            skipped.append((r["id"], "training rows are not used by chip calibration (suanli.perf.calibrate fits "
                                      "training parameters per family)"))
        elif kind in MICRO_KINDS or kind in SERVING_KINDS or kind == "attention":
            keep.append(r)
        else:
            skipped.append((r["id"], f"kind {kind!r} is not calibrated"))
    return keep, skipped


_GROUP_WORDS = {"config": "configuration (model + engine + layout)"}
#: Columns that make one serving or benchmark configuration: model, engine and layout.
CONFIG_COLUMNS = ("kind", "model", "engine", "chips", "tp", "pp", "ep", "dp", "weight_dtype", "act_dtype")


def fold_key(row: dict, group: str) -> str:
    """The out-of-fold group of a row: a column's value, or ``config`` (model + engine + layout)."""
    if group == "config":
        k = row.get("kind", "")
        k = "serving" if k in SERVING_KINDS else k
        return "|".join([k] + [str(row.get(c) or "").strip() for c in CONFIG_COLUMNS[1:]])
    return str(row.get(group) or "")


def resolve_group(rows: list[dict], group: str | None) -> str | None:
    """``auto``: hold out one ``source`` at a time when the rows come from two or more, else one configuration.

    Rows of one publication share a setup, so they are held out together; a
    chip measured in one publication only is held out by configuration
    (model + engine + layout), so that the two metrics of one run (throughput
    and time per token) never sit on both sides of a fold.
    """
    if group != "auto":
        return group
    return "source" if len({str(r.get("source") or "") for r in rows}) >= 2 else "config"


def calibrate(rows: list[dict], catalog: Any, *, hardware: str | None = None, source: str = "records",
              params: dict | None = None, folds: int = 0, group: str | None = None,
              hold: tuple[str, ...] = ()) -> CalibrationResult:
    """Fit chip ``hardware``'s parameters on its records (all one chip when ``hardware`` is None).

    ``folds`` > 1 also reports out-of-fold errors: each fold refitted without
    its rows and predicted (the error band then says out-of-fold). With
    ``group`` (a column, e.g. ``source``), each fold is one value of that
    column: rows of one publication share a setup, so they are held out
    together. ``hold`` names parameters kept at their priors (not fitted), e.g. one a first
    fit could not pin down.
    """
    from suanli.catalog.calibration import ChipCalibration, ErrorBandRecord
    from suanli.perf.hardware import family_of, load_params

    hws = sorted({r.get("hardware", "") for r in rows})
    if hardware is None:
        if len(hws) != 1:
            raise SuanliError(f"the records hold {len(hws)} accelerators ({', '.join(hws[:6])}"
                              f"{' ...' if len(hws) > 6 else ''}); calibration fits one chip",
                              hint="choose one with --hardware ID")
        hardware = hws[0]
    acc = catalog.accelerator(hardware)
    hw = acc.id
    p = params or load_params()
    fam = p["families"][family_of(acc.id, acc.stack, p)]
    use, skipped = _usable(rows, catalog, hw)
    if not use:
        raise SuanliError(f"no usable record of {hw} among {len(rows)} rows",
                          hint=f"the records' hardware ids: {', '.join(hws[:8])}")
    use, unpred = _serving_predictable(use, catalog, hw, acc, p)
    skipped += unpred
    if not use:
        raise SuanliError(f"no record of {hw} can be predicted by the model",
                          hint="; ".join(sorted({why for _, why in unpred}))[:400])
    ceiling = memory_ceiling(catalog, acc)
    ps, notes = choose_params(use, acc, fam, p.get("serving") or {}, ceiling)
    serving_bw = any(x.name == "mem_bw" and x.stage == 2 for x in ps)   # measured on serving rows (capped)
    if hold:
        notes += [f"{x.name} held at its prior (asked)" for x in ps if x.name in hold]
        ps = [x for x in ps if x.name not in hold]
    if not ps:
        raise SuanliError(f"the {len(use)} usable record(s) of {hw} inform no parameter with two records or more",
                          hint="; ".join(notes) or "add records: suanli bench micro writes ~40")
    if acc.mem_bw_tbps.value is None and not any(x.name == "mem_bw" for x in ps):
        raise SuanliError(f"{hw} has no memory bandwidth in the catalog and the records have no memcopy rows",
                          hint="add memcopy records (suanli bench micro) or the figure with --catalog")
    stage1 = [x for x in ps if x.stage == 1]
    rows1 = [r for r in use if r["kind"] not in SERVING_KINDS and _informs(r, ps)]
    for r in use:
        if r["kind"] not in SERVING_KINDS and r not in rows1:
            skipped.append((r["id"], f"no parameter of the model predicts this {r['kind']} row "
                                     f"({_dtype(r) if r['kind'] == 'gemm' else r['metric']})"))
    use = rows1 + [r for r in use if r["kind"] in SERVING_KINDS]
    # drop what the rows cannot carry: never as many parameters as rows
    for optional in ("allreduce_latency_us", "kernel_us", "matmul_m_half"):
        if len(rows1) > len(stage1):
            break
        stage1 = [x for x in stage1 if x.name != optional]
        notes.append(f"{optional} held at its prior: too few rows for it")
    if stage1 and len(rows1) <= len(stage1):
        raise SuanliError(f"{len(rows1)} microbenchmark rows of {hw} cannot fit {len(stage1)} parameters "
                          f"({', '.join(x.name for x in stage1)})",
                          hint="add records (suanli bench micro writes ~40), or fewer kinds of them")
    counts = {x.name: x.rows for x in ps}

    def cat_for(vals: dict[str, float], basis: str = "microbenchmarks") -> Any:
        return _with(catalog, hw, vals, len(use), source=source, basis=basis, counts=counts)

    # peaks unknown to the catalog need a value before any row can be predicted: start from the prior
    start = {x.name: x.start for x in stage1}
    values: dict[str, float] = {}
    sds: dict[str, float | None] = {}
    if stage1:
        values, sds = _fit(rows1, stage1, lambda v: cat_for(v), p)
    elif any(x.name.startswith("peak.") for x in ps):
        values = start
    stage2 = [x for x in ps if x.stage == 2]
    rows2 = [r for r in use if r["kind"] in SERVING_KINDS]
    if stage2 and len(rows2) <= len(stage2) and any(x.name == "step_overhead_ms" for x in stage2):
        stage2 = [x for x in stage2 if x.name != "step_overhead_ms"]
        notes.append("step_overhead_ms held at the engine's: too few serving rows for it")
    if stage2 and rows2:
        if acc.peak("bf16").value is None and acc.peak("fp16").value is None and acc.peak("int8").value is None \
                and not any(k.startswith("peak.") for k in values):
            skipped += [(r["id"], "no compute peak known or measured: serving rows cannot be predicted")
                        for r in rows2]
            stage2, rows2 = [], []
        else:
            v2, s2 = _fit(rows2, stage2, lambda v: cat_for({**values, **v}, "serving"), p)
            values.update(v2)
            sds.update(s2)
    basis = ("microbenchmarks+serving" if rows1 and rows2 else "serving" if rows2 else "microbenchmarks")
    before = _apes(use, catalog, p) if _predictable(catalog, hw) else {r["id"]: None for r in use}
    final = _with(catalog, hw, values, len(use), source=source, basis=basis, sds=sds, counts=counts)
    after_r = _ratios(use, final, p)
    after = {k: None if v is None else abs(v - 1) for k, v in after_r.items()}
    oof_r: dict[str, float] = {}
    group = resolve_group(use, group)
    if group or (folds > 1 and len(use) >= 2 * folds):
        oof_r = _out_of_fold(use, catalog, hw, folds, source, p, group=group, hold=hold)
    oof = {k: abs(v - 1) for k, v in oof_r.items()}
    band_src = oof_r if oof_r else after_r
    serving_ids = {r["id"] for r in rows2}
    if serving_ids:  # a serving prediction's band: the serving rows' error
        band_src = {k: v for k, v in band_src.items() if k in serving_ids}
    band = [v for v in band_src.values() if v is not None and v > 0]
    # the 80% band as the validation set's (perf.accuracy.band_of), with enough rows for one
    b80 = band_of([abs(math.log(v)) for v in band]) if len(band) >= MIN_BAND_ROWS else {}
    cal: ChipCalibration = final.calibrations[hw]
    cal = cal.model_copy(update={
        "error_band": ErrorBandRecord(mape=round(float(np.mean([abs(v - 1) for v in band])), 4) if band else None,
                                      n=len(band), p80=b80.get("p80"), coverage=b80.get("coverage"),
                                      basis=(f"out-of-fold, one {_GROUP_WORDS.get(group, group)} held out at a time" if oof and group
                                             else f"out-of-fold ({folds} folds)" if oof else "in-sample")),
        "generated_by": "suanli calibrate", "notes": "; ".join(notes) or None,
        "params": {k: v.model_copy(update={"value": float(f"{v.value:.5g}"),
                                            **({"sd": float(f"{sds[k]:.3g}")} if sds.get(k) is not None else {})})
                   for k, v in cal.params.items()},
    })
    upd = {}
    new_acc = final.accelerators[hw]
    for f_ in cal.measured_peaks:
        fig = getattr(new_acc, f_)
        d_ = next((d for d, n in PEAK_FIELDS.items() if n == f_), "")
        sd = sds.get("mem_bw") if f_ == "mem_bw_tbps" else (sds.get("peak." + d_) or sds.get("peak.16bit"))
        loose = bool(sd) and sd > UNDETERMINED_REL_SE * abs(fig.value)
        capped = (f_ == "mem_bw_tbps" and serving_bw and ceiling is not None
                  and fig.value >= 0.99 * ceiling[0])
        upd[f_] = {"value": round(fig.value, 4), "confidence": "measured", "source": fig.source,
                   "note": fig.note + (f"; standard error {sd:.3g}" if sd else "")
                   + (f"; at the ceiling of its memory technology ({ceiling[0]:g} TB/s, {ceiling[1]}): the "
                      "records' speed is not the memory's alone, so a placeholder that lets the chip be "
                      "predicted, to be read with its band" if capped else
                      "; not determined by these records (standard error over half the value): a placeholder "
                      "that lets the chip be predicted, to be read with its band" if loose else "")}
    return CalibrationResult(hw, values, sds, [r["id"] for r in use], skipped, notes, before, after, cal, upd, oof,
                             grouping=group if oof or group else None)


def _serving_predictable(rows: list[dict], catalog: Any, hw: str, acc: Any,
                         params: dict) -> tuple[list[dict], list[tuple[str, str]]]:
    """The rows less serving rows that the model cannot predict whatever the fitted values (with the reason).

    Such a row (a model that does not fit in the chips' memory, say) would sit
    in the fit as a residual of zero. A chip with no bandwidth is tried with a
    provisional one, which the fit then measures.
    """
    sv = [r for r in rows if r["kind"] in SERVING_KINDS]
    if not sv:
        return rows, []
    vals = {"mem_bw": _serving_bw_start(acc)} if acc.mem_bw_tbps.value is None else {}
    try:
        cat = _with(catalog, hw, vals, len(rows), basis="serving")
    except SuanliError:
        return rows, []
    out, bad = [], []
    for r in rows:
        if r["kind"] in SERVING_KINDS:
            try:
                predict(r, cat, params)
            except Skip as exc:
                bad.append((r["id"], f"the model cannot predict it: {exc}"))
                continue
            except SuanliError as exc:
                bad.append((r["id"], f"the model cannot predict it: {exc.message}"))
                continue
        out.append(r)
    return out, bad


def _informs(row: dict, ps: list[Param]) -> bool:
    """Whether some fitted parameter shapes this micro row's prediction (fp32 GEMMs have no peak field)."""
    names = {p.name for p in ps}
    k = row["kind"]
    if k == "gemm":
        d = _dtype(row)
        return row["metric"] == "tflops" and d in PEAK_FIELDS and bool(
            names & {f"matmul_eff.{d}", "matmul_eff.any", f"peak.{d}", "peak.16bit"})
    if k == "memcopy":
        return row["metric"] == "tbps" and bool(names & {"mem_eff", "mem_bw"})
    if k == "attention":
        return row["metric"] == "tflops" and "attn_eff" in names
    if k == "allreduce":
        return "allreduce_eff" in names
    return False


def _predictable(catalog: Any, hw: str) -> bool:
    acc = catalog.accelerator(hw)
    return (acc.mem_bw_tbps.value is not None and acc.mem_capacity_gb.value is not None
            and any(acc.peak(d).value is not None for d in ("bf16", "fp16", "int8", "fp8")))


def _out_of_fold(rows: list[dict], catalog: Any, hw: str, k: int, source: str, params: dict,
                 group: str | None = None, hold: tuple[str, ...] = ()) -> dict[str, float]:
    """predicted / measured of each row, by a calibration fitted without its fold (folds from the row id, or ``group``).

    A held-out row whose fold leaves no row to fit on stays out (no prediction).
    """
    out: dict[str, float] = {}
    if group:
        keys = sorted({fold_key(r, group) for r in rows})
        fold_of = {r["id"]: keys.index(fold_key(r, group)) for r in rows}
        k = len(keys)
    else:
        fold_of = {r["id"]: zlib.crc32(r["id"].encode()) % k for r in rows}
    for f in range(k):
        test = [r for r in rows if fold_of[r["id"]] == f]
        train = [r for r in rows if fold_of[r["id"]] != f]
        if not test or not train:
            continue
        try:
            res = calibrate(train, catalog, hardware=hw, source=source, params=params, hold=hold)
        except SuanliError:
            continue
        cat = catalog_with(catalog, res)
        for r, ratio in _ratios(test, cat, params).items():
            if ratio is not None:
                out[r] = ratio
    return out


def catalog_with(catalog: Any, res: CalibrationResult) -> Any:
    """``catalog`` with a calibration result applied (as loading its overlay would)."""
    from suanli.catalog.schema import Figure

    accs = dict(catalog.accelerators)
    if res.accelerator_update:
        accs[res.hardware] = accs[res.hardware].model_copy(
            update={k: Figure(**v) for k, v in res.accelerator_update.items()})
    cals = dict(getattr(catalog, "calibrations", {}) or {})
    cals[res.hardware] = res.calibration
    return dataclasses.replace(catalog, accelerators=accs, calibrations=cals)


# --------------------------------------------------------------------------- error band of a calibrated chip
def calibrated_band(cal: Any, band: Any, kind: str) -> tuple[Any, list[str]]:
    """The error band a prediction on a calibrated chip carries, and what it rests on.

    Kernel-level predictions (gemm, memcopy, ...) and serving predictions of a
    chip calibrated on serving records take the calibration's own error. A chip
    calibrated from microbenchmarks alone keeps the validation set's band for
    serving (its engine's end-to-end maturity was not measured) and says so.
    """
    from suanli.perf.serving import ErrorBand

    eb = cal.error_band
    serving = kind in SERVING_KINDS
    own = ErrorBand(eb.mape, eb.n, f"calibration of {cal.hardware} ({cal.basis}, {eb.basis})", p80=eb.p80,
                    coverage=eb.coverage, note=cal.describe()) if eb.mape is not None else None
    if not serving or cal.basis != "microbenchmarks":
        return (own or band), []
    note = (f"{cal.hardware} calibrated from microbenchmarks alone: kernel efficiencies measured"
            + (f" (±{100 * eb.mape:.0f}% on {eb.n} records)" if eb.mape is not None else "")
            + "; serving maturity not measured, so the serving band is the validation set's")
    if band is not None:
        band.group = f"{band.group}; calibrated from microbenchmarks alone"
        band.note = note if not getattr(band, "note", None) else f"{band.note}; {note}"
    return band, [note]
