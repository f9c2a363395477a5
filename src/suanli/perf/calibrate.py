"""Calibration: fit the few group-level parameters of the model to measured records.

Only parameters with a physical meaning are fitted, each on a *group* of rows
(a software stack, a hardware family), never on a single row:

========================================  ==========================================
parameter                                 rows it is fitted on
========================================  ==========================================
``maturity.cuda``                         serve/prefill/decode rows on CUDA chips
``maturity.rocm``                         ... on ROCm chips (AMD)
``maturity.cann``                         ... on CANN chips (Huawei Ascend)
``maturity.cann.step_overhead_ms``        ... the same rows: host and launch cost per decode
                                          step on CANN (prior 0.5 ms, the serving default)
``attn_scale.mla.<family>``               ... of MLA models on that hardware family (hopper,
                                          blackwell): multiplier on the published
                                          FlashMLA-class share ``mla_eff``. Ascend is held
                                          at 1.0 in hardware.yaml (all CANN rows are MLA
                                          rows, so it cannot be told from ``maturity.cann``);
                                          other families keep the prior ``attn_scale.mla``
``engines.<engine>.request_us``           ... of that engine (trt-llm, vllm):
                                          host work per request per decode step
``engines.chitu.layer_overhead_us``       ... of Chitu (an eager engine): host dispatch per
                                          transformer layer per step (prior 103 us)
``comm.overlap``                          ... with attention DP and expert parallelism: the
                                          share of the MoE all-to-all (dispatch and combine)
                                          hidden behind compute (prior 0.8, an estimate of
                                          two-batch overlap)
========================================  ==========================================

Chitu's per-layer host dispatch is told from CANN's cost per step by the other engines' CANN rows
(SGLang, CloudMatrix-Infer: graph-captured, no per-layer dispatch), which pin the stack's share.
Its host dispatch per expert touched (``engines.chitu.expert_us``) is not fitted: Chitu loops over the
experts only on a stack without a grouped MoE kernel (``grouped_experts`` in hardware.yaml), which
leaves two low-trust MetaX rows of one README to pay it, too few to fit a value on; it keeps its
prior (35 us, five eager kernels per expert).

SGLang's host work per request (``engines.sglang.request_us``) is not fitted either: its overlap
scheduler prepares the next batch on the CPU while the accelerator runs the current one, so the
per-request cost shows only where it outgrows the step, and the SGLang rows (four stacks, batch 1
to 768 per rank) do not pin it down: fitted, it moved from 1 us to 96 us with one blog post held
out (docs/accuracy.md, fifth round). It keeps its estimate (10 us) in hardware.yaml.

The fit minimises the soft-L1 loss of ``log(predicted / measured)`` with
:func:`scipy.optimize.least_squares`, so no single row dominates.
:func:`cross_validate` refits on ``k`` folds and predicts each held-out row,
which is what docs/accuracy.md reports next to the in-sample error.
"""
from __future__ import annotations

import copy
import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from suanli.perf.hardware import load_params
from suanli.perf.validate import SERVING_KINDS, Skip, predict_row


@dataclass(frozen=True)
class FitParam:
    """One fitted parameter: where it lives in the parameter tree, its bounds and its rows."""

    name: str
    path: tuple[str, ...]
    low: float
    high: float
    start: float
    rows: str


FIT_PARAMS: tuple[FitParam, ...] = (
    FitParam("maturity.cuda", ("maturity", "cuda", "value"), 0.3, 1.2, 0.8, "CUDA serving rows"),
    FitParam("maturity.rocm", ("maturity", "rocm", "value"), 0.2, 1.2, 0.7, "ROCm serving rows"),
    FitParam("maturity.cann", ("maturity", "cann", "value"), 0.2, 1.2, 0.6, "CANN serving rows"),
    FitParam("maturity.cann.step_overhead_ms", ("maturity", "cann", "step_overhead_ms"), 0.0, 50.0, 0.5,
             "CANN serving rows: host and launch cost per decode step"),
    FitParam("attn_scale.mla.hopper", ("attn_scale", "by_family", "mla", "hopper"), 0.1, 1.5, 1.0,
             "MLA-model serving rows on Hopper (H100/H200/H20)"),
    FitParam("attn_scale.mla.blackwell", ("attn_scale", "by_family", "mla", "blackwell"), 0.1, 1.5, 1.0,
             "MLA-model serving rows on Blackwell (B200/GB200/GB300)"),
    FitParam("engines.trt-llm.request_us", ("engines", "trt-llm", "request_us"), 0.0, 200.0, 5.0,
             "TensorRT-LLM serving rows"),
    FitParam("engines.vllm.request_us", ("engines", "vllm", "request_us"), 0.0, 200.0, 10.0, "vLLM serving rows"),
    FitParam("engines.chitu.layer_overhead_us", ("engines", "chitu", "layer_overhead_us"), 0.0, 2000.0, 103.0,
             "Chitu serving rows: host dispatch per transformer layer per step of an eager engine"),
    FitParam("serving.roofline_blend", ("serving", "roofline_blend"), 0.0, 1.0, 0.0,
             "serving rows: how an operator joins its compute and memory time, 1/p of their p-norm (0: the "
             "plain roofline max, 1: their sum)"),
    FitParam("comm.overlap", ("comm", "overlap"), 0.0, 1.0, 0.8,
             "serving rows with attention DP and expert parallelism: share of the MoE all-to-all hidden "
             "behind compute"),
)


#: Robust loss of the fit (scipy ``least_squares``) and its scale on ``log(predicted / measured)``.
FIT_LOSS = "soft_l1"
FIT_F_SCALE = 0.2


def _set(tree: dict, path: tuple[str, ...], value: float) -> None:
    d = tree
    for k in path[:-1]:
        d = d.setdefault(k, {})
    d[path[-1]] = float(value)


def with_values(base: dict, values: dict[str, float], fit: tuple[FitParam, ...] = FIT_PARAMS) -> dict:
    """A copy of the parameter tree with fitted values set."""
    p = copy.deepcopy(base)
    for fp in fit:
        if fp.name in values:
            _set(p, fp.path, values[fp.name])
    return p


def serving_rows(rows: list[dict]) -> list[dict]:
    return [r for r in rows if r.get("kind") in SERVING_KINDS]


def _residuals(rows: list[dict], catalog: Any, params: dict) -> np.ndarray:
    res = []
    for r in rows:
        try:
            pred = predict_row(r, catalog, params)
        except Skip:
            continue
        meas = float(r["value"])
        res.append(math.log(max(pred, 1e-12) / meas) if r["metric"] != "e2e_latency_s" else math.log(meas / max(pred, 1e-12)))
    return np.asarray(res)


def informed(rows: list[dict], catalog: Any, *, base: dict | None = None,
             fit_params: tuple[FitParam, ...] = FIT_PARAMS) -> tuple[FitParam, ...]:
    """The parameters that move some prediction of ``rows`` (the others have nothing to be fitted on)."""
    base = base or load_params(calibrated=False)
    rows = serving_rows(rows)
    start = {fp.name: fp.start for fp in fit_params}
    r0 = _residuals(rows, catalog, with_values(base, start, fit_params))
    out = []
    for fp in fit_params:
        bumped = dict(start)
        bumped[fp.name] = min(fp.start * 1.25 + 1.0, fp.high) if fp.start < fp.high else fp.low
        r1 = _residuals(rows, catalog, with_values(base, bumped, fit_params))
        if r1.shape != r0.shape or np.any(np.abs(r1 - r0) > 1e-9):
            out.append(fp)
    return tuple(out)


def fit(rows: list[dict], catalog: Any, *, base: dict | None = None,
        fit_params: tuple[FitParam, ...] = FIT_PARAMS, x0: dict[str, float] | None = None,
        starts: tuple[dict[str, float], ...] = (), tol: float = 1e-8, max_nfev: int = 200) -> dict[str, float]:
    """Fit ``fit_params`` on the serving rows of ``rows``; returns ``{name: value}``.

    ``x0`` gives starting values (default: each parameter's prior ``start``); ``starts`` are
    further starting points (a missing name takes its prior): the fit runs from each and keeps
    the lowest loss, because the loss has more than one basin (an engine's host cost and the
    stacks' maturity trade against each other) and a small change of rows or model can move
    the optimiser from one to the other (docs/accuracy.md, fifteenth round). ``tol`` is the
    optimiser's relative tolerance on the loss and the parameters.
    """
    from scipy.optimize import least_squares

    base = base or load_params(calibrated=False)
    rows = serving_rows(rows)
    if not fit_params:
        return {}

    def f(x: np.ndarray) -> np.ndarray:
        vals = {fp.name: v for fp, v in zip(fit_params, x)}
        return _residuals(rows, catalog, with_values(base, vals, fit_params))

    lo = np.array([fp.low for fp in fit_params])
    hi = np.array([fp.high for fp in fit_params])
    best = None
    for start in ((x0 or {}), *starts):
        x0_ = np.clip(np.array([start.get(fp.name, fp.start) for fp in fit_params]), lo + 1e-9, hi - 1e-9)
        sol = least_squares(f, x0_, bounds=(lo, hi), loss=FIT_LOSS, f_scale=FIT_F_SCALE, diff_step=1e-3,
                            max_nfev=max_nfev, ftol=tol, xtol=tol)
        if best is None or sol.cost < best.cost - 1e-12:
            best = sol
    return {fp.name: round(float(v), 4) for fp, v in zip(fit_params, best.x)}


def shipped_values() -> dict[str, float]:
    """The fitted values as packaged (``calibration.yaml``): a second start for a refit."""
    from suanli.perf.hardware import _packaged_optional

    return {k: float(v["value"]) for k, v in (_packaged_optional("calibration.yaml").get("fitted") or {}).items()
            if isinstance(v, dict) and v.get("value") is not None}


#: Refits of grouped cross-validation start from the full fit and stop at this relative tolerance
#: (0.1% on a parameter moves a prediction by well under 0.1%) or after this many steps.
CV_TOL = 1e-3
#: Rows a parameter needs in a refit's training set to be fitted (fewer: it keeps its prior).
MIN_FIT_ROWS = 3
CV_MAX_NFEV = 12
#: After the refit on the full fit's Jacobian, the Jacobian is taken again at the fold's solution
#: and the refit repeated, at most this many times: the full fit's Jacobian alone stops short of
#: the fold's optimum where the model bends (docs/accuracy.md, seventh round).
CV_RELINEARIZE = 2


def source_group(row: dict) -> str:
    """The publication a record comes from: one MLPerf submission (round, division where the
    results repository has one, submitter, system), or one blog post, paper or document (the
    source without its anchor, and without the files that follow `` ; `` to give the run's
    configuration).

    >>> source_group({"source": "mlcommons/inference_results_v5.1:closed/NVIDIA/results/B200_TRT/deepseek-r1/Offline/x.txt"})
    'mlcommons/inference_results_v5.1:closed/NVIDIA/results/B200_TRT'
    >>> source_group({"source": "mlcommons/training_results_v5.1:AMD/results/MI355X_pytorch/llama2_70b_lora/result_*.txt"})
    'mlcommons/training_results_v5.1:AMD/results/MI355X_pytorch'
    >>> source_group({"source": "https://arxiv.org/abs/2506.12708#table-3"})
    'https://arxiv.org/abs/2506.12708'
    >>> source_group({"source": "Ascend/MindSpeed-LLM:README.md@ba10f5f ; examples/llama2/pretrain_llama2_7b_ptd.sh"})
    'Ascend/MindSpeed-LLM:README.md@ba10f5f'
    """
    import re

    s = (row.get("source") or "").strip()
    m = re.match(r"(mlcommons/(?:inference|training)_results_v[\d.]+:(?:[^/]+/)?[^/]+/results/[^/]+)/", s)
    if m:
        return m.group(1)
    return s.split(" ; ")[0].split("#")[0].split(" (")[0].strip()


def engine_group(row: dict) -> str:
    """The serving engine of a record (empty: ``unknown``)."""
    return (row.get("engine") or "unknown").strip().lower()


def model_group(row: dict) -> str:
    """The model a record serves (empty: ``unknown``): held out whole, a new architecture's error."""
    return (row.get("model") or "unknown").strip().lower()


def _residual_map(rows: list[dict], catalog: Any, params: dict) -> dict[str, float]:
    """``{row id: log(predicted / measured)}`` of the rows the model predicts (as :func:`_residuals`)."""
    out: dict[str, float] = {}
    for r in rows:
        try:
            pred = predict_row(r, catalog, params)
        except Skip:
            continue
        meas = float(r["value"])
        out[r["id"]] = (math.log(max(pred, 1e-12) / meas) if r["metric"] != "e2e_latency_s"
                        else math.log(meas / max(pred, 1e-12)))
    return out


def grouped_cross_validate(rows: list[dict], catalog: Any, group_of: Callable[[dict], str], *,
                           base: dict | None = None, warm: dict[str, float] | None = None,
                           progress: Callable[[str], None] | None = None) -> dict[str, float]:
    """Out-of-group predictions: for each group (a source, an engine) refit without it and predict it.

    Parameters that fewer than :data:`MIN_FIT_ROWS` remaining rows inform (an engine's per-request
    cost when that engine is left out, a stack's maturity when its only publication is) fall back
    to their prior
    (``FitParam.start``), as a prediction for an unmeasured engine or stack would.

    Each refit starts from ``warm`` (the full fit) and iterates with the residuals recomputed at
    every step but the Jacobian of all rows taken once, at ``warm`` (a chord / frozen-Jacobian
    Gauss-Newton): one model evaluation per step instead of one per parameter. The same Jacobian
    says which parameters the remaining rows inform. Where the model bends, that Jacobian stops
    short of the fold's optimum (leave one source out read 20.4% where converged refits give
    20.8%), so the Jacobian is then taken again at the fold's solution, on its own rows, and the
    refit repeated, up to :data:`CV_RELINEARIZE` times: the ~35 refits of a leave-one-source-out
    run take about four minutes. Returns ``{row id: out-of-group prediction}``.
    """
    from scipy.optimize import least_squares

    base = base or load_params(calibrated=False)
    rows = serving_rows(rows)
    fps = FIT_PARAMS
    x_w = np.array([(warm or {}).get(fp.name, fp.start) for fp in fps], dtype=float)
    lo = np.array([fp.low for fp in fps])
    hi = np.array([fp.high for fp in fps])
    x_w = np.clip(x_w, lo, hi)
    vals_w = {fp.name: v for fp, v in zip(fps, x_w)}
    r_w = _residual_map(rows, catalog, with_values(base, vals_w))
    ids = [r["id"] for r in rows if r["id"] in r_w]
    J = np.zeros((len(ids), len(fps)))
    for k, fp in enumerate(fps):
        h = 1e-2 * max(abs(x_w[k]), 1.0)
        step = h if x_w[k] + h <= hi[k] else -h
        bumped = dict(vals_w)
        bumped[fp.name] = x_w[k] + step
        r_b = _residual_map(rows, catalog, with_values(base, bumped))
        J[:, k] = [(r_b.get(i, r_w[i]) - r_w[i]) / step for i in ids]
    pos = {i: n for n, i in enumerate(ids)}
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(group_of(r), []).append(r)
    out: dict[str, float] = {}
    for g, test in sorted(groups.items()):
        if progress:
            progress(g)
        train = [r for r in rows if group_of(r) != g and r["id"] in pos]
        rix = [pos[r["id"]] for r in train]
        # a parameter is fitted on a group of rows, never on one or two
        cols = [k for k in range(len(fps)) if np.sum(np.abs(J[rix, k]) > 1e-9) >= MIN_FIT_ROWS]
        vals = {fp.name: fp.start for fp in fps}          # uninformed: the prior
        if cols:
            Jg = J[np.ix_(rix, cols)]

            def f(x: np.ndarray, cols: list[int] = cols, train: list[dict] = train) -> np.ndarray:
                v = dict(vals)
                v.update({fps[k].name: float(xk) for k, xk in zip(cols, x)})
                rm = _residual_map(train, catalog, with_values(base, v))
                return np.array([rm.get(r["id"], r_w[r["id"]]) for r in train])

            x = np.clip(x_w[cols], lo[cols] + 1e-9, hi[cols] - 1e-9)
            for sweep in range(1 + CV_RELINEARIZE):
                if sweep:   # the Jacobian again, at this fold's solution and on its own rows
                    Jg = _fold_jacobian(f, x, lo[cols], hi[cols])
                sol = least_squares(f, x, jac=lambda x, Jg=Jg: Jg, bounds=(lo[cols], hi[cols]), loss=FIT_LOSS,
                                    f_scale=FIT_F_SCALE, ftol=CV_TOL, xtol=CV_TOL, max_nfev=CV_MAX_NFEV)
                moved = np.max(np.abs(sol.x - x) / np.maximum(np.abs(x), 1.0))
                x = np.clip(sol.x, lo[cols] + 1e-9, hi[cols] - 1e-9)
                if moved < CV_TOL:
                    break
            vals.update({fps[k].name: float(xk) for k, xk in zip(cols, x)})
        out.update(_predict(test, catalog, with_values(base, vals)))
    return out


def _fold_jacobian(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, lo: np.ndarray,
                   hi: np.ndarray) -> np.ndarray:
    """Forward-difference Jacobian of the residuals ``f`` at ``x`` (steps of 1% of the value, inside the bounds)."""
    r0 = f(x)
    J = np.zeros((len(r0), len(x)))
    for k in range(len(x)):
        h = 1e-2 * max(abs(x[k]), 1.0)
        step = h if x[k] + h <= hi[k] else -h
        xb = x.copy()
        xb[k] = np.clip(x[k] + step, lo[k], hi[k])
        J[:, k] = (f(xb) - r0) / (xb[k] - x[k])
    return J


def _predict(rows: list[dict], catalog: Any, params: dict) -> dict[str, float]:
    """``{row id: prediction}`` of the rows the model predicts with ``params``."""
    out: dict[str, float] = {}
    for r in rows:
        try:
            out[r["id"]] = predict_row(r, catalog, params)
        except Skip:
            pass
    return out


def cross_validate(rows: list[dict], catalog: Any, *, k: int = 5, base: dict | None = None,
                   fold_of: Callable[[dict], int] | None = None,
                   warm: dict[str, float] | None = None) -> dict[str, float]:
    """Out-of-fold predictions: refit on ``k - 1`` folds, predict the held-out one.

    Folds are assigned deterministically from the row id (``fold_of``), so
    reruns agree. Returns ``{row id: out-of-fold prediction}``.
    """
    import zlib

    base = base or load_params(calibrated=False)
    rows = serving_rows(rows)
    fold_of = fold_of or (lambda r: zlib.crc32(r["id"].encode()) % k)
    if warm:  # refits from the full fit: the frozen-Jacobian refit of grouped cross-validation
        return grouped_cross_validate(rows, catalog, lambda r: str(fold_of(r)), base=base, warm=warm)
    out: dict[str, float] = {}
    for f in range(k):
        train = [r for r in rows if fold_of(r) != f]
        test = [r for r in rows if fold_of(r) == f]
        out.update(_predict(test, catalog, with_values(base, fit(train, catalog, base=base))))
    return out


def write_calibration(values: dict[str, float], path: str | Path, *, source: str, n_rows: int) -> None:
    """Write the fitted values as a parameter overlay (``calibration.yaml``) with provenance."""
    tree: dict = {}
    for fp in FIT_PARAMS:
        if fp.name in values:
            _set(tree, fp.path, values[fp.name])
    doc = {
        "generated_by": "python -m suanli.perf.calibrate",
        "date": dt.date.today().isoformat(),
        "source": source,
        "rows": n_rows,
        "fitted": {fp.name: {"value": values.get(fp.name), "rows": fp.rows} for fp in FIT_PARAMS},
        "params": tree,
    }
    Path(path).write_text("# Fitted performance-model parameters. Regenerate; do not edit by hand.\n"
                          + yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """``python -m suanli.perf.calibrate [CSV] [--write]``: fit and print (and write) the values."""
    import argparse

    from suanli.catalog.registry import load_catalog
    from suanli.perf.validate import read_records

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("csv", nargs="?", default="data/validation/dev.csv")
    ap.add_argument("--write", action="store_true", help="write src/suanli/perf/data/calibration.yaml")
    a = ap.parse_args(argv)
    # the family model: a packaged chip calibration (catalog/data/calibrated/) replaces its chip's
    # maturity, so with it the group parameters would not see that chip's rows
    cat = load_catalog(calibrated=False)
    rows = read_records(a.csv)
    # from the priors and from the values as shipped, keeping the lower loss
    vals = fit(rows, cat, starts=(shipped_values(),))
    print(yaml.safe_dump(vals, sort_keys=False))
    if a.write:
        out = Path(__file__).with_name("data") / "calibration.yaml"
        write_calibration(vals, out, source=a.csv, n_rows=len(serving_rows(rows)))
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
