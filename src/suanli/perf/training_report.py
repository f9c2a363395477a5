"""Training model against measurements: records, grouped fits, the accuracy table and docs/training.md.

Split from :mod:`suanli.perf.training` (which re-exports every name here): the
model is there, what judges it here. ``python -m suanli.perf.training --fit``
and ``--report`` run :func:`main`.
"""
from __future__ import annotations

import argparse
import math
import re
from importlib import resources
from typing import Any

import numpy as np
import yaml

from suanli.errors import SuanliError
from suanli.perf.training import METRICS, TrainPlan, _merge, load_train_params, plan_train, predict_train

# ----------------------------------------------------------------------------- validation records
def _int(row: dict, key: str) -> int | None:
    v = (row.get(key) or "").strip()
    if not v:
        return None
    try:
        return int(float(v))
    except ValueError:
        raise SuanliError(f"record {row.get('id')!r}: column {key!r} is not a number ({v!r})") from None


#: DeepSpeed's ZeRO stage as the ``engine`` column states it ("deepspeed 0.13.1 (ZeRO-3) + torch_npu").
_ZERO_IN_ENGINE = re.compile(r"\bzero-?([0-3])\b", re.IGNORECASE)


def record_zero(row: dict) -> int | None:
    """The ZeRO stage a record's ``engine`` column names, or None when it names none.

    >>> record_zero({"engine": "deepspeed 0.10.0 (ZeRO-3), pytorch 2.0 MACA"}), record_zero({"engine": "megatron"})
    (3, None)
    """
    found = {int(m) for m in _ZERO_IN_ENGINE.findall(row.get("engine") or "")}
    if len(found) > 1:
        raise SuanliError(f"record {row.get('id')!r}: column 'engine' names ZeRO stages {sorted(found)}",
                          hint="name one stage (e.g. 'deepspeed 0.13.1 (ZeRO-3)')")
    return found.pop() if found else None


def predict_record(row: dict, catalog: Any, params: dict | None = None) -> float:
    """Predict one ``kind=train`` measurement record (a dev.csv row of strings) in its metric's unit.

    Empty degrees, micro-batch, schedule, recomputation and (when ``act_dtype``
    is empty) the dtype are chosen by the search, as the people who measured did.
    The ZeRO stage is the one the ``engine`` column names (DeepSpeed runs state it,
    e.g. "deepspeed 0.13.1 (ZeRO-3)"), else the search's.
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
                      cp=_int(row, "cp"), zero=record_zero(row), system=system, catalog=catalog, params=params,
                      top=0)
    mfu = r.mfu
    basis = mfu_basis(row, params)
    if basis is not None:
        mfu = r.tps_per_chip * float(basis["flops_per_token"]) / (float(basis["peak_tflops"]) * 1e12)
    return {"train_tps_per_chip": r.tps_per_chip, "step_time_s": r.step_time_s, "mfu": mfu}[metric]


def mfu_basis(row: dict, params: dict | None = None) -> dict | None:
    """The harness's own MFU definition for a record (``training.yaml`` ``mfu_basis``), or None.

    A record's MFU is compared on the basis its harness computed it: the entry whose
    key starts the record's ``source`` gives ``flops_per_token`` and ``peak_tflops``
    (FlagPerf divides 6 x nominal parameters by the vendor's ``theoryflops``).

    >>> mfu_basis({"source": "FlagOpen/FlagPerf:training/metax/llama2_7b-megatron-deepspeed/README.md"})["peak_tflops"]
    240
    >>> mfu_basis({"source": "https://arxiv.org/abs/2407.21783"}) is None
    True
    """
    src = (row.get("source") or "").strip()
    for key, basis in (load_train_params(params).get("mfu_basis") or {}).items():
        if src.startswith(key):
            return basis
    return None


# ----------------------------------------------------------------------------- fitting and reports
def train_rows(path: str) -> list[dict]:
    """The ``kind=train`` rows of a measurement CSV, as dicts of strings (read, checked and corrected as
    every record file is: :func:`suanli.perf.validate.read_records`)."""
    from suanli.perf.validate import read_records

    return [r for r in read_records(path) if (r.get("kind") or "").strip() == "train"]


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
    (("framework_eff", "cann"), "cann"),
    (("framework_eff", "maca"), "maca"),
)


def _group_of(row: dict, catalog: Any) -> str | None:
    acc = catalog.accelerator(row["hardware"].strip())
    dt = (row.get("act_dtype") or "").strip()
    if dt == "fp4":
        return "fp4"
    if not dt and acc.fp4_tflops.value:
        return "fp4"  # precision not recorded on an FP4-capable chip: the search may pick FP4
    # MACA (MetaX): its share is fitted on top of the generic ('default' family) kernel estimates,
    # so it carries what those estimates miss for the C500 as well as the framework's losses
    return acc.stack if acc.stack in ("cuda", "rocm", "cann", "maca") else None


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


def _fit_without(rows: list[dict], catalog: Any, ids: set[str], fits: dict[frozenset, dict]) -> dict:
    """The parameters fitted on ``rows`` less the records ``ids``, kept in ``fits`` (a publication of one
    row is the leave-one-out fit of that row: fitted once for both)."""
    key = frozenset(ids)
    if key not in fits:
        fits[key] = fit([x for x in rows if x["id"] not in key], catalog)["params"]
    return fits[key]


def held_out_by_source(rows: list[dict], catalog: Any, fits: dict[frozenset, dict] | None = None) -> dict[str, float]:
    """``{row id: prediction}`` with every fitted parameter refitted without the row's whole publication
    (:func:`suanli.perf.calibrate.source_group`: one MLPerf submission, one paper, one document), as the
    serving rows are judged; a row the model cannot predict is left out. ``fits`` shares refits with a
    caller (:func:`accuracy_table`)."""
    from suanli.perf.calibrate import source_group

    fits = {} if fits is None else fits
    by: dict[str, list[dict]] = {}
    for r in rows:
        by.setdefault(source_group(r), []).append(r)
    out: dict[str, float] = {}
    for grp in by.values():
        fp = _fit_without(rows, catalog, {r["id"] for r in grp}, fits)
        for r in grp:
            try:
                out[r["id"]] = predict_record(r, catalog, fp)
            except SuanliError:
                continue
    return out


def accuracy_table(rows: list[dict], catalog: Any, params: dict | None = None, *, loo: bool = True) -> list[dict]:
    """Per-row prediction and error; with ``loo`` also the leave-one-out prediction (group refitted without
    the row) and the leave-one-source-out one (refitted without the row's publication)."""
    fits: dict[frozenset, dict] = {}
    held = held_out_by_source(rows, catalog, fits) if loo else {}
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
            fp = _fit_without(rows, catalog, {r["id"]}, fits)
            try:
                lp = predict_record(r, catalog, fp)
                rec["loo_predicted"], rec["loo_ape"] = lp, abs(lp / rec["measured"] - 1)
            except SuanliError:
                rec["loo_predicted"], rec["loo_ape"] = None, None
        elif loo:
            rec["loo_predicted"], rec["loo_ape"] = rec.get("predicted"), rec.get("ape")
        if loo:
            sp = held.get(r["id"])
            rec["loso_predicted"] = sp
            rec["loso_ape"] = None if sp is None else abs(sp / rec["measured"] - 1)
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


def method_md() -> str:
    """The method section of docs/training.md (a packaged Markdown file)."""
    return (resources.files("suanli.perf") / "data" / "training_method.md").read_text(encoding="utf-8")



def report_markdown(catalog: Any, dev_csv: str | None = None) -> str:
    """docs/training.md: the comparison table, the known results and the accuracy on the train rows."""
    lines = ["# Training performance model", "",
             "Generated by `python -m suanli.perf.training --report docs/training.md` "
             "(do not edit by hand). Model: `suanli.perf.training`; parameters: "
             "`src/suanli/perf/data/training.yaml`.", ""]
    lines += method_md().splitlines() + [""]
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
        from suanli.perf.calibrate import source_group

        rows = train_rows(dev_csv)
        fr = fit(rows, catalog)
        acc = accuracy_table(rows, catalog)
        lines += ["## Accuracy on the `kind=train` rows of validation/dev.csv", "",
                  "Fitted parameters (one per group, never per row): "
                  + ", ".join(f"`{k}` = {v:.3f}" for k, v in fr["fitted"].items()) + ".", "",
                  "| id | hardware | model | metric | measured | predicted | error | leave-one-out error | "
                  "leave-one-source-out error |",
                  "|---|---|---|---|---|---|---|---|---|"]

        def pct(x: float | None) -> str:
            return "—" if x is None else f"{x:.1%}"

        for a in acc:
            pr = "—" if a["predicted"] is None else f"{a['predicted']:.4g}"
            lines.append(f"| {a['id']} | {a['hardware']} | {a['model']} | {a['metric']} | {a['measured']:.4g} | "
                         f"{pr} | {pct(a['ape'])} | {pct(a.get('loo_ape'))} | {pct(a.get('loso_ape'))} |")
        acc = [a for a in acc if a["ape"] is not None] + [a for a in acc if a["ape"] is None]
        apes = [a["ape"] for a in acc if a["ape"] is not None]
        loos = [a["loo_ape"] for a in acc if a.get("loo_ape") is not None]
        losos = [a["loso_ape"] for a in acc if a.get("loso_ape") is not None]
        n_src = len({source_group(r) for r in rows})
        lines += ["", f"MAPE {np.mean(apes):.1%} over {len(apes)} rows (median {np.median(apes):.1%}); "
                  f"leave-one-out MAPE {np.mean(loos):.2%} (each row predicted with its group's parameter "
                  "refitted without it; rows of no group use unfitted estimates); leave-one-source-out MAPE "
                  f"{np.mean(losos):.2%} over {n_src} publications (every parameter refitted without the row's "
                  "whole publication: one MLPerf submission, one paper, one README; the grouping of the serving "
                  "headline in docs/accuracy.md).", ""]
        groups = sorted({a["group"] for a in acc})
        lines += ["| group | rows | MAPE | leave-one-out MAPE | leave-one-source-out MAPE |", "|---|---|---|---|---|"]
        for g in groups:
            sel = [a for a in acc if a["group"] == g and a["ape"] is not None]
            if not sel:
                continue
            lines.append(f"| {g} | {len(sel)} | {np.mean([a['ape'] for a in sel]):.1%} | "
                         f"{np.mean([a['loo_ape'] for a in sel if a.get('loo_ape') is not None]):.1%} | "
                         f"{np.mean([a['loso_ape'] for a in sel if a.get('loso_ape') is not None]):.1%} |")
        lines.append("")
        from suanli.perf.errata import errata_md

        lines += errata_md(rows)
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
