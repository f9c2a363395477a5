"""The accuracy report and the error bands: grouped cross-validation of the validation records.

The headline is *grouped* cross-validation: every fitted parameter is refitted
without one whole publication (an MLPerf submission, a blog post, a paper) and
that publication's rows are predicted (leave one source out); the same with one
serving engine at a time (leave one engine out). A new measurement comes from a
publication the fit has not seen, so this is the error to expect; the in-sample
and the 5-fold errors are shown beside it.

Error bands come from the leave-one-source-out errors of each hardware family
and kind: the band is the conformal 80% quantile of ``|ln(predicted / measured)|``
of the group (the ``ceil(0.8 (n + 1))``-th smallest of its ``n`` errors, so that
a new row falls inside with probability at least 0.8), and its *coverage* is the
share of the group's rows whose error falls inside the band computed without that row (an honest check that an "80% band"
holds about 80% of unseen rows). Families with fewer serving measurements than a
band needs (4) carry the widest band of any group; an engine with no serving measurement, or a
model with none on the chip's vendor, the wider of that and the band of the errors with a whole
engine (model) held out. The prediction says so.

The prose of the report (the mechanisms of the model and what each changed) is
``perf/data/accuracy_mechanisms.md``; this module only adds the tables.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from importlib import resources
from typing import Any

from suanli.perf.validate import MICRO_KINDS, SERVING_KINDS, RowResult, ValidationReport, summarize

#: Targets the report states (issue acceptance): serving leave-one-source-out, per vendor, micro, training.
TARGETS = {"serving": 0.15, "vendor": 0.20, "micro": 0.10, "train": 0.10}
BAND_QUANTILE = 0.8
MIN_BAND_ROWS = 4
#: A publication needs this many held-out rows for its common shift to be more than one row's error.
MIN_SHIFT_ROWS = 3
#: Metrics where a faster system measures less (their shift is counted in the direction of speed).
LOWER_IS_BETTER = ("tpot_ms", "ttft_ms", "e2e_latency_s", "latency_us")


def mechanisms_md() -> str:
    """The report's prose section (a packaged Markdown file)."""
    return (resources.files("suanli.perf") / "data" / "accuracy_mechanisms.md").read_text(encoding="utf-8")


def ape_of(report: ValidationReport, preds: dict[str, float]) -> dict[str, float]:
    """APE per row id of alternative predictions (e.g. out-of-fold) of the report's rows."""
    out: dict[str, float] = {}
    for r in report.rows:
        if r.id in preds and not r.skipped and r.measured > 0:
            out[r.id] = round(abs(preds[r.id] - r.measured) / r.measured, 4)
    return out


def log_err(pred: float, meas: float) -> float:
    return abs(math.log(max(pred, 1e-300) / meas))


def quantile(xs: list[float], q: float) -> float:
    """Linear-interpolation quantile of a non-empty list.

    >>> quantile([0.0, 1.0, 2.0, 3.0, 4.0], 0.8)
    3.2
    """
    s = sorted(xs)
    pos = (len(s) - 1) * q
    lo = int(math.floor(pos))
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def conformal_quantile(xs: list[float], q: float) -> float:
    """The ``ceil(q (n + 1))``-th smallest of ``n`` errors (the largest when that exceeds ``n``).

    A new error drawn like these falls at or below it with probability at least ``q``
    (split-conformal prediction); the plain percentile falls short of ``q`` on few rows.

    >>> conformal_quantile([0.1, 0.2, 0.3, 0.4, 0.5], 0.8), round(quantile([0.1, 0.2, 0.3, 0.4, 0.5], 0.8), 2)
    (0.5, 0.42)
    """
    s = sorted(xs)
    if not s:
        return math.inf           # no rows: nothing bounds the error
    k = math.ceil(q * (len(s) + 1) - 1e-9)
    return s[min(k, len(s)) - 1]


def band_of(errs: list[float]) -> dict[str, float]:
    """Band of a group from its log errors: the conformal 80% quantile, the band as -/+ fractions, coverage.

    Coverage is leave-one-out: the share of rows whose error is inside the band of the other rows.

    >>> b = band_of([0.1, 0.1, 0.1, 0.1, 0.5])
    >>> b["p80"], b["coverage"]
    (0.5, 0.8)
    """
    q = conformal_quantile(errs, BAND_QUANTILE)
    inside = sum(e <= conformal_quantile(errs[:i] + errs[i + 1:], BAND_QUANTILE) + 1e-12
                 for i, e in enumerate(errs))
    return {"p80": round(q, 4), "low_pct": round(math.exp(-q) - 1, 4), "high_pct": round(math.exp(q) - 1, 4),
            "coverage": round(inside / len(errs), 4)}


def error_bands(report: ValidationReport, oof: dict[str, float] | None = None,
                held_out: dict[str, dict[str, float]] | None = None) -> dict:
    """Error-band table the predictions carry (per family x kind, vendor x kind, kind, all).

    Serving rows use their out-of-group (leave-one-source-out) predictions ``oof`` when given,
    microbenchmarks their in-sample error (they ground the curves they are judged on).
    ``held_out`` maps ``engine`` / ``model`` to the serving rows' predictions with their whole
    engine or model held out: the band of a prediction for an engine or model with no measurement.
    """
    oof = oof or {}
    ok = [r for r in report.rows if not r.skipped and r.kind != "train" and r.predicted is not None]
    groups: dict[str, list[tuple[float, float]]] = {}
    for r in ok:
        pred = oof.get(r.id, r.predicted) if r.kind in SERVING_KINDS else r.predicted
        e = (abs(pred - r.measured) / r.measured, log_err(pred, r.measured))
        kinds = [r.kind] + (["serving"] if r.kind in SERVING_KINDS else [])
        for k in kinds:
            for key in (f"family={r.family}|kind={k}", f"vendor={r.vendor}|kind={k}", f"kind={k}"):
                groups.setdefault(key, []).append(e)
        groups.setdefault("all", []).append(e)
    out = {}
    for k, v in sorted(groups.items()):
        if len(v) < MIN_BAND_ROWS and k != "all":
            continue
        out[k] = {"n": len(v), "mape": round(sum(a for a, _ in v) / len(v), 6), **band_of([b for _, b in v])}
    serving = {k: g for k, g in out.items() if k.endswith("|kind=serving") or k == "kind=serving"}
    widest = max(serving.items(), key=lambda kv: kv[1]["p80"]) if serving else None
    sv = [r for r in ok if r.kind in SERVING_KINDS]
    model_vendors: dict[str, set[str]] = {}
    for r in sv:
        if r.model:
            model_vendors.setdefault(r.model, set()).add(r.vendor)
    unseen = {}
    for what, preds in (held_out or {}).items():
        es = [(abs(preds[r.id] - r.measured) / r.measured, log_err(preds[r.id], r.measured))
              for r in sv if preds.get(r.id)]
        if len(es) >= MIN_BAND_ROWS:
            unseen[what] = {"group": f"serving, one {what} held out at a time", "n": len(es),
                            "mape": round(sum(a for a, _ in es) / len(es), 6), **band_of([b for _, b in es])}
    return {
        "quantile": BAND_QUANTILE,
        "groups": out,
        "widest": {"group": widest[0], **widest[1]} if widest else None,
        # the band of an engine or a model with no serving measurement: its errors held out whole
        "unseen": unseen,
        # a family counts as measured with enough serving rows for a band of its own
        "measured_families": sorted({f for f in {r.family for r in ok}
                                     if sum(r.family == f for r in sv) >= MIN_BAND_ROWS}),
        "measured_engines": sorted({(r.engine or "").strip().lower() for r in sv} - {""}),
        "measured_models": sorted(model_vendors),
        # a model's kernels and engines differ by vendor: measured on one vendor's chips checks it there
        "measured_model_vendors": {m: sorted(v) for m, v in sorted(model_vendors.items())},
        "measured_stacks": sorted({_stack(r) for r in sv} - {"?"}),
        "measured_vendors": sorted({r.vendor for r in sv}),
    }


def source_shifts(report: ValidationReport, preds: dict[str, float], source_of: dict[str, str], *,
                  min_rows: int = MIN_SHIFT_ROWS) -> dict[str, Any]:
    """Split the held-out error into each publication's common shift and the scatter within it.

    A publication's *shift* is the mean of its rows' ``ln(predicted / measured)``, taken in the
    direction of speed (a latency metric counts ``ln(measured / predicted)``): how much faster the
    model finds that publication's systems as a whole. Only publications with at least
    ``min_rows`` held-out rows count (one row's shift is its error). Returns the number of rows and
    publications, the held-out MAPE of those rows, the MAPE *within* (each prediction moved by its
    publication's shift, ``predicted x exp(-shift)`` in the direction of speed), the MAPE of the
    *shift only* (each row off by its publication's shift and nothing else), the row-weighted RMS
    shift, and ``shifts``: ``{publication: (rows, shift)}``, largest first.
    """
    by: dict[str, list[tuple[RowResult, float, float]]] = {}
    for r in report.rows:
        p = preds.get(r.id)
        if r.skipped or p is None or not (p > 0 and r.measured > 0) or r.id not in source_of:
            continue
        sign = -1.0 if r.metric in LOWER_IS_BETTER else 1.0
        by.setdefault(source_of[r.id], []).append((r, p, sign))
    by = {k: v for k, v in by.items() if len(v) >= min_rows}
    held: list[float] = []
    within: list[float] = []
    shift_only: list[float] = []
    shifts: dict[str, tuple[int, float]] = {}
    for src, rs in by.items():
        m = sum(sg * math.log(p / r.measured) for r, p, sg in rs) / len(rs)
        shifts[src] = (len(rs), m)
        for r, p, sg in rs:
            held.append(abs(p - r.measured) / r.measured)
            within.append(abs(p * math.exp(-sg * m) - r.measured) / r.measured)
            shift_only.append(abs(math.exp(sg * m) - 1.0))
    n = len(held)
    mean = lambda xs: round(sum(xs) / len(xs), 4) if xs else None  # noqa: E731
    rms = round(math.sqrt(sum(k * m * m for k, m in shifts.values()) / n), 4) if n else None
    order = dict(sorted(shifts.items(), key=lambda kv: -abs(kv[1][1])))
    return {"rows": n, "sources": len(shifts), "min_rows": min_rows, "mape": mean(held), "within_mape": mean(within),
            "shift_mape": mean(shift_only), "rms_shift": rms, "shifts": order}


def source_shifts_md(sh: dict[str, Any], *, top: int = 8) -> list[str]:
    """The report section on shifts between publications and scatter within them."""
    if not sh.get("rows"):
        return []
    L = ["## Held-out error: between publications and within them", "",
         f"The {sh['rows']} held-out serving rows of the {sh['sources']} publications with at least "
         f"{sh['min_rows']} rows, split into each publication's *shift* (the mean of its rows' ln(predicted / "
         "measured), counted in the direction of speed: engine release, benchmark settings and hardware "
         "details the records share) and the *scatter* around it (how the model follows batch, lengths and "
         "layout within one publication).", "",
         "| measure | MAPE |", "|---|---:|",
         f"| held out (leave one source out), these rows | {_fmt_pct(sh['mape'])} |",
         f"| within publications (each prediction moved by its publication's shift) | {_fmt_pct(sh['within_mape'])} |",
         f"| shift only (each row off by its publication's shift) | {_fmt_pct(sh['shift_mape'])} |", "",
         f"Row-weighted RMS shift: {sh['rms_shift']:.3f} in ln units. Largest shifts (positive: the model "
         "predicts that publication's systems faster than measured):", "",
         "| publication | rows | shift |", "|---|---:|---:|"]
    for src, (k, m) in list(sh["shifts"].items())[:top]:
        L.append(f"| {src} | {k} | {100 * (math.exp(m) - 1):+.0f}% |")
    return L + [""]


def _stack(r: RowResult) -> str:
    return {"hopper": "cuda", "blackwell": "cuda", "ampere": "cuda", "cdna3": "rocm", "ascend": "cann",
            "dcu-k": "dtk", "dcu-bw": "dtk"}.get(r.family, "?")


def cross_validations(records: list[dict], catalog: Any, *, folds: int = 5,
                      progress: Callable[[str], None] | None = None) -> dict[str, dict[str, float]]:
    """Out-of-fold predictions of the serving rows: ``kfold`` (``folds`` folds), ``source``, ``engine``, ``model``;
    and of the training rows, ``train_source`` (their own parameters refitted without each publication)."""
    from suanli.perf.calibrate import (
        cross_validate,
        engine_group,
        grouped_cross_validate,
        model_group,
        shipped_values,
        source_group,
    )

    warm = shipped_values()
    out: dict[str, dict[str, float]] = {}
    out["source"] = grouped_cross_validate(records, catalog, source_group, warm=warm,
                                           progress=(lambda g: progress(f"leave out {g}")) if progress else None)
    out["engine"] = grouped_cross_validate(records, catalog, engine_group, warm=warm,
                                           progress=(lambda g: progress(f"leave out engine {g}")) if progress else None)
    out["model"] = grouped_cross_validate(records, catalog, model_group, warm=warm,
                                          progress=(lambda g: progress(f"leave out model {g}")) if progress else None)
    if folds > 1:
        if progress:
            progress(f"{folds} folds")
        out["kfold"] = cross_validate(records, catalog, k=folds, warm=warm)
    train = [r for r in records if (r.get("kind") or "").strip() == "train"]
    if train:
        from suanli.perf.training_report import held_out_by_source

        if progress:
            progress("training, leave one source out")
        out["train_source"] = held_out_by_source(train, catalog)
    return out


def _fmt_pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"


def _row(name: str, s: dict) -> str:
    return (f"| {name} | {s['n']} | {_fmt_pct(s['mape'])} | {_fmt_pct(s['median_ape'])} | "
            f"{_fmt_pct(s['within_25'])} | {s['skipped']} |")


def _summary_table(title: str, groups: dict[str, dict]) -> list[str]:
    lines = [f"### {title}", "", "| group | rows | MAPE | median APE | within 25% | skipped |",
             "|---|---:|---:|---:|---:|---:|"]
    lines += [_row(k, s) for k, s in groups.items()]
    return lines + [""]


def render_markdown(report: ValidationReport, *, cv: dict[str, dict[str, float]] | None = None,
                    bands: dict | None = None, fitted: dict | None = None, command: str = "",
                    folds: int = 5, trust: dict[str, str] | None = None) -> str:
    """The accuracy report (docs/accuracy.md) as Markdown."""
    cv = cv or {}
    trust = trust or {}
    apes = {k: ape_of(report, v) for k, v in cv.items()}
    rows = report.rows
    serving = [r for r in rows if r.kind in SERVING_KINDS]
    micro = [r for r in rows if r.kind in MICRO_KINDS]
    train = [r for r in rows if r.kind == "train"]

    def tot(rs: list[RowResult], which: str | None = None) -> dict:
        vals = [(apes[which].get(r.id) if which else r.ape) for r in rs if not r.skipped]
        return summarize([a for a in vals if a is not None], sum(r.skipped for r in rs))

    def grp(rs: list[RowResult], key: str, which: str | None = None) -> dict[str, dict]:
        by: dict[str, list[RowResult]] = {}
        for r in rs:
            by.setdefault(str(getattr(r, key)), []).append(r)
        return {k: tot(v, which) for k, v in sorted(by.items())}

    has = lambda k: k in apes and apes[k]  # noqa: E731
    L = ["# Accuracy of the performance model", "",
         f"Generated by `{command or 'suanli validate data/validation/dev.csv --report docs/accuracy.md'}` "
         f"from `{report.source}`. Do not edit by hand.", "",
         "Error per row is |predicted − measured| / measured (APE). *In-sample* uses the parameters as "
         "shipped (fitted on these rows). *Leave one source out* refits every fitted parameter without one "
         "whole publication (an MLPerf submission, a blog post, a paper) and predicts that publication's rows; "
         "*leave one engine out* does the same per serving engine, *leave one model out* per served model (the "
         "error on an architecture the fit has not seen); a parameter that fewer than three remaining rows "
         "inform (the left-out engine's host cost, a stack measured by one publication only) falls back to its "
         "prior. "
         "A new measurement comes from a publication the fit has not seen: **leave one source out is the "
         f"headline**. *{folds}-fold* splits rows at random (rows of one publication land on both sides).", ""]
    L += ["## Headline", "", "| set | rows | MAPE | median APE | within 25% | skipped |",
          "|---|---:|---:|---:|---:|---:|"]
    if has("source"):
        L.append(_row("**serve/prefill/decode, leave one source out**", tot(serving, "source")))
    if has("engine"):
        L.append(_row("serve/prefill/decode, leave one engine out", tot(serving, "engine")))
    if has("model"):
        L.append(_row("serve/prefill/decode, leave one model out", tot(serving, "model")))
    if has("kfold"):
        L.append(_row(f"serve/prefill/decode, {folds}-fold", tot(serving, "kfold")))
    L.append(_row("serve/prefill/decode, in-sample", tot(serving)))
    hi_micro = [r for r in micro if trust.get(r.id, "high") != "low"]
    lo_micro = [r for r in micro if trust.get(r.id, "high") == "low"]
    L.append(_row("microbenchmarks, high/medium trust (in-sample: they ground the curves)", tot(hi_micro)))
    L.append(_row("microbenchmarks, low trust (single personal sweeps)", tot(lo_micro)))
    L.append(_row("microbenchmarks, all", tot(micro)))
    if train and has("train_source"):
        L.append(_row("training, leave one source out (per row and leave one out: docs/training.md)",
                      tot(train, "train_source")))
    if train:
        L.append(_row("training, in-sample", tot(train)))
    L += ["", f"Targets: serving MAPE ≤ {TARGETS['serving']:.0%} leave one source out and ≤ {TARGETS['vendor']:.0%} "
          f"per vendor; microbenchmarks ≤ {TARGETS['micro']:.0%}; training ≤ {TARGETS['train']:.0%}.", ""]
    status = []

    def judge(name: str, value: float | None, target: float) -> None:
        if value is not None:
            status.append(f"{name} {100 * value:.2f}% ({'met' if value <= target else 'not met'})")

    if has("source"):
        judge("serving leave one source out", tot(serving, "source")["mape"], TARGETS["serving"])
        vend = [v["mape"] for v in grp(serving, "vendor", "source").values() if v["mape"] is not None]
        judge("worst vendor held out", max(vend) if vend else None, TARGETS["vendor"])
    judge("microbenchmarks, all rows", tot(micro)["mape"] if micro else None, TARGETS["micro"])
    if train:
        judge("training leave one source out" if has("train_source") else "training in-sample",
              tot(train, "train_source" if has("train_source") else None)["mape"], TARGETS["train"])
    if status:
        L += ["Against the targets: " + "; ".join(status) + ".", ""]
    L += [mechanisms_md()]
    if has("source"):
        L += _summary_table("Serving rows by vendor (leave one source out)", grp(serving, "vendor", "source"))
        L += _summary_table("Serving rows by hardware family (leave one source out)", grp(serving, "family", "source"))
    if has("engine"):
        L += _summary_table("Serving rows by engine (leave one engine out)", grp(serving, "engine", "engine"))
    if has("model"):
        L += _summary_table("Serving rows by model (leave one model out)", grp(serving, "model", "model"))
    L += _summary_table("Serving rows by vendor (in-sample)", grp(serving, "vendor"))
    L += _summary_table("Serving rows by kind (in-sample)", grp(serving, "kind"))
    L += _summary_table("Serving rows by model (in-sample)", grp(serving, "model"))
    L += _summary_table("Microbenchmarks by kind", grp(micro, "kind"))
    if bands:
        L += ["## Error bands", "",
              f"Each prediction carries the band of its hardware family and kind (else vendor, else kind): the "
              f"conformal {bands['quantile']:.0%} quantile of |ln(predicted / measured)| of the group's "
              "leave-one-source-out errors (microbenchmarks: in-sample): the ceil(0.8 (n + 1))-th smallest of its "
              "n errors, which a new row stays under with probability at least 0.8 where the plain 80th "
              "percentile falls short on few rows. *Coverage* is the share of the group's rows inside the band "
              "computed without that row; an 80% band should hold about 80%. Groups under "
              f"{MIN_BAND_ROWS} rows have no band of their own.", "",
              "| group | rows | MAPE | 80% band | coverage |", "|---|---:|---:|---|---:|"]
        for k, g in bands["groups"].items():
            L.append(f"| {k} | {g['n']} | {_fmt_pct(g['mape'])} | {100 * g['low_pct']:+.0f}% / "
                     f"{100 * g['high_pct']:+.0f}% | {_fmt_pct(g['coverage'])} |")
        cov = [g["coverage"] * g["n"] for k, g in bands["groups"].items() if k.endswith("|kind=serving")
               and k.startswith("family=")]
        n = sum(g["n"] for k, g in bands["groups"].items() if k.endswith("|kind=serving") and k.startswith("family="))
        if n:
            L += ["", f"Serving rows inside their family's band (leave-one-out coverage): {_fmt_pct(sum(cov) / n)} "
                  f"of {n}."]
        if bands.get("widest"):
            w = bands["widest"]
            L += ["", f"A family with fewer than {MIN_BAND_ROWS} serving rows takes the widest band, that of "
                  f"`{w['group']}` ({100 * w['low_pct']:+.0f}% / {100 * w['high_pct']:+.0f}%); an engine with no "
                  "serving row, or a model with none on the chip's vendor, the wider of that and the band of the "
                  "serving errors with a whole engine (model) held out. The prediction says so."]
        L.append("")
    if fitted:
        L += ["## Fitted parameters", "",
              "Each is one number for a group of rows (never a single row); see `src/suanli/perf/calibrate.py`.", "",
              "| parameter | value | fitted on |", "|---|---:|---|"]
        for k, v in fitted.items():
            L.append(f"| `{k}` | {v['value']} | {v['rows']} |")
        L.append("")
    L += ["## Every row", "",
          "| id | kind | hardware | model | engine | metric | measured | predicted | APE | source-out APE | "
          "engine-out APE | note |", "|---|---|---|---|---|---|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        pred = "—" if r.predicted is None else f"{r.predicted:.4g}"
        L.append(f"| {r.id} | {r.kind} | {r.hardware} | {r.model or ''} | {r.engine or ''} | {r.metric} | "
                 f"{r.measured:.4g} | {pred} | {_fmt_pct(r.ape)} | {_fmt_pct(apes.get('source', {}).get(r.id))} | "
                 f"{_fmt_pct(apes.get('engine', {}).get(r.id))} | "
                 f"{('skipped: ' + r.reason) if r.skipped else ''} |")
    L.append("")
    if train:
        n_sk = sum(r.skipped for r in train)
        L += [f"Training rows: {len(train)} ({n_sk} skipped; method and per-row table in docs/training.md).", ""]
    return "\n".join(L)


def domestic_basis_md(report: ValidationReport, packaged: Any,
                      apes_source: dict[str, float] | None = None) -> list[str]:
    """What each domestic chip with records here rests on: its packaged calibration, or the family values.

    ``packaged`` is the catalog with its packaged chip calibrations (``catalog/data/calibrated/``).
    """
    from suanli.perf.hardware import family_of, load_params

    apes_source = apes_source or {}
    p = load_params()
    by_hw: dict[str, list[RowResult]] = {}
    for r in report.rows:
        acc = packaged.accelerators.get(r.hardware)
        if acc is not None and (acc.us_export_control_status or "").startswith("domestic"):
            by_hw.setdefault(r.hardware, []).append(r)
    if not by_hw:
        return []
    L = ["## What each domestic chip's predictions rest on", "",
         "Rows: this file's records of the chip (predicted / all). Family model: the error of the rows above "
         "(in-sample; leave one source out for serving rows). A packaged calibration "
         "(`catalog/data/calibrated/`) replaces the family values for its chip; its held-out error and how it "
         "was judged are in docs/calibration.md (`benchmarks/calibration_oof.py`).", "",
         "| chip | stack | rows | family model: in-sample / held out | predictions rest on |",
         "|---|---|---:|---|---|"]
    for hw in sorted(by_hw):
        rs = by_hw[hw]
        acc = packaged.accelerators[hw]
        done = [r for r in rs if not r.skipped and r.ape is not None]
        ins = summarize([r.ape for r in done])["mape"] if done else None
        held = [apes_source[r.id] for r in done if r.id in apes_source]
        held_m = summarize(held)["mape"] if held else None
        cal = (getattr(packaged, "calibrations", {}) or {}).get(hw)
        fam = family_of(acc.id, acc.stack, p)
        mat = (p.get("maturity") or {}).get(acc.stack) or {}
        if cal is not None:
            ps = "; ".join(f"{k} {v.value:.4g}" + (f" ± {v.sd:.2g}" if getattr(v, "sd", None) else "")
                           for k, v in cal.params.items())
            band = cal.error_band.mape
            rest = (f"its packaged calibration ({cal.basis}, {cal.rows} records: {ps}"
                    + (f"; measured {', '.join(cal.measured_peaks)}" if cal.measured_peaks else "")
                    + (f"; band ±{100 * band:.0f}%, {cal.error_band.basis}" if band is not None else "") + ")")
        else:
            how = ("fitted on the stack's serving rows" if acc.stack in ("cuda", "rocm", "cann")
                   else "an estimate: no serving fit for this stack")
            step = (f" with a host cost of {float(mat['step_overhead_ms']):.3g} ms per decode step"
                    if mat.get("step_overhead_ms") is not None else "")
            rest = (f"the `{fam}` family's efficiencies and `maturity.{acc.stack}` = "
                    f"{float(mat.get('value', 0.0)):.3g}{step} ({how})") if mat else f"the `{fam}` family's efficiencies"
        L.append(f"| {hw} | {acc.stack} | {len(done)} / {len(rs)} | {_fmt_pct(ins)} / {_fmt_pct(held_m)} | {rest} |")
    L.append("")
    return L


def write_artifacts(report: ValidationReport, records: list[dict], catalog: Any, *, report_path: Any = None,
                    bands_path: Any = None, folds: int = 5, command: str = "",
                    progress: Callable[[str], None] | None = None) -> dict:
    """Cross-validate, then write the Markdown report and/or the error-band YAML; returns the bands."""
    from pathlib import Path

    import yaml

    from suanli.perf.hardware import _packaged_optional

    cv = cross_validations(records, catalog, folds=folds, progress=progress)
    bands = error_bands(report, cv.get("source"), {k: cv[k] for k in ("engine", "model") if cv.get(k)})
    if report_path:
        p = Path(report_path)
        fitted = _packaged_optional("calibration.yaml").get("fitted")
        trust = {r["id"]: (r.get("trust") or "").strip().lower() for r in records}
        from suanli.catalog.registry import load_catalog

        text = render_markdown(report, cv=cv, bands=bands, fitted=fitted, command=command, folds=folds, trust=trust)
        from suanli.perf.calibrate import source_group

        extra = source_shifts_md(source_shifts(report, cv.get("source") or {},
                                               {r["id"]: source_group(r) for r in records if r.get("id")}))
        extra += domestic_basis_md(report, load_catalog(), ape_of(report, cv.get("source") or {}))
        from suanli.perf.errata import errata_md

        extra += errata_md(records)
        if extra:  # before the per-row table
            head, sep, tail = text.partition("## Every row")
            text = head + "\n".join(extra) + "\n" + sep + tail
        p.write_text(text + "\n", encoding="utf-8")
    if bands_path:
        doc = {"generated_by": command or "suanli validate --bands", **bands}
        Path(bands_path).write_text("# Error bands per hardware family / vendor and kind. Regenerate; do not edit.\n"
                                    + yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return bands


__all__ = ["band_of", "cross_validations", "domestic_basis_md", "error_bands", "mechanisms_md", "render_markdown",
           "source_shifts", "source_shifts_md", "write_artifacts"]
