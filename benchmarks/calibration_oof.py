"""Per-chip calibration of every domestic chip with records in data/validation/dev.csv: error before and after.

For each domestic accelerator (catalog ``us_export_control_status: domestic``)
with records in the validation set, runs :func:`suanli.perf.chipcal.calibrate`
from the catalog *without* the packaged chip calibrations (the family values
alone), with grouped out-of-fold errors: one ``source`` held out at a time
when the chip's records come from two publications or more, else one
configuration (model + engine + layout; the two metrics of one run stay on
one side). "Before" is the packaged family values on the same rows; note
that those values (``perf/data/hardware.yaml``, ``calibration.yaml``) were
themselves read or fitted on dev.csv, these rows included, so "before" is
not held out.

A chip's calibration is shipped (``src/suanli/catalog/data/calibrated/<id>.yaml``)
when it makes an unpredictable chip predictable, or when its held-out error is
lower than that of the packaged model refitted without the same held-out groups
and every value it fits is determined (standard error under half the value).
Overlays of chips that no longer qualify are removed.

Writes benchmarks/results/calibration_oof.json and .md, the overlays (unless
``--no-overlays``), and the table of docs/calibration.md section 4 between its
markers (unless ``--no-docs``). Everything comes from the library: rerun it
after a model change.

Run: PYTHONPATH=src .venv/bin/python benchmarks/calibration_oof.py
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import time
from pathlib import Path

from suanli.catalog.registry import load_catalog
from suanli.errors import SuanliError
from suanli.perf.calibrate import grouped_cross_validate, shipped_values
from suanli.perf.chipcal import UNDETERMINED_REL_SE, calibrate, fold_key
from suanli.perf.validate import SERVING_KINDS, read_records

ROOT = Path(__file__).resolve().parent.parent
RECORDS = ROOT / "data" / "validation" / "dev.csv"
OUT = ROOT / "benchmarks" / "results" / "calibration_oof"
CALIBRATED = ROOT / "src" / "suanli" / "catalog" / "data" / "calibrated"
DOC = ROOT / "docs" / "calibration.md"
BEGIN, END = "<!-- calibration_oof:begin -->", "<!-- calibration_oof:end -->"
GROUP_WORDS = {"source": "one source (publication) held out at a time",
               "config": "one configuration (model + engine + layout) held out at a time"}


def _mape(apes: dict, ids: list[str] | None = None) -> float | None:
    vals = [apes.get(i) for i in (ids if ids is not None else list(apes))]
    vals = [v for v in vals if v is not None]
    return round(sum(vals) / len(vals), 4) if vals else None


def _provenance(rows: list[dict], ids: list[str]) -> str:
    by = {r["id"]: r for r in rows}
    pos = {r["id"]: n for n, r in enumerate(rows)}
    srcs = sorted({(by[i].get("source") or "").split(" ")[0].split("@")[0] for i in ids})
    trust = sorted({(by[i].get("trust") or "").strip() for i in ids} - {""})
    ids = sorted(ids, key=lambda i: pos[i])
    runs: list[list[str]] = []
    for i in ids:  # consecutive rows of the file form one range
        if runs and pos[i] == pos[runs[-1][-1]] + 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    ranges = ", ".join(g[0] if len(g) == 1 else f"{g[0]}..{g[-1]}" for g in runs)
    return (f"data/validation/dev.csv, {len(ids)} rows {ranges} "
            f"({'; '.join(s for s in srcs if s)}; trust {'/'.join(trust) or 'not stated'})")


def packaged_held_out(rows: list[dict], cat, ids: list[str], grouping: str) -> dict[str, float]:
    """APE of the chip's rows under the *packaged* model with its group parameters refitted without
    each held-out group (the same grouping as the chip's calibration): the fair "before" of a
    held-out comparison, since the packaged values were fitted on these rows too."""
    mine = set(ids)
    by = {r["id"]: r for r in rows}

    def group_of(r: dict) -> str:
        return f"chip:{fold_key(r, grouping)}" if r["id"] in mine else "__rest__"

    preds = grouped_cross_validate(rows, cat, group_of, warm=shipped_values())
    out = {}
    for i in ids:
        if i in preds:
            meas = float(by[i]["value"])
            out[i] = abs(preds[i] - meas) / meas
    return out


def chip_report(rows: list[dict], cat, hw: str, hold: tuple[str, ...] = ()) -> dict:
    """Calibrate one chip with grouped out-of-fold errors; the figures and the decision to ship.

    When a calibration that would replace packaged values fits a value it cannot pin down, the chip
    is calibrated again with those values held at their priors (``hold``), and that is judged."""
    mine = [r for r in rows if r.get("hardware") == hw]
    out: dict = {"hardware": hw, "records": len(mine),
                 "kinds": dict(sorted({k: sum(1 for r in mine if r["kind"] == k)
                                       for k in {r["kind"] for r in mine}}.items()))}
    t0 = time.perf_counter()
    try:
        res = calibrate(rows, cat, hardware=hw, source="data/validation/dev.csv", group="auto", hold=hold)
    except SuanliError as exc:
        out.update(usable=0, shipped=False, reason=f"not calibrated: {exc.message}", grouping=None,
                   params={}, seconds=round(time.perf_counter() - t0, 1))
        return out
    ids = res.rows_used
    oof_ids = [i for i in ids if i in res.out_of_fold]
    before_all = _mape(res.before, ids)
    before_oof = _mape(res.before, oof_ids)
    after_oof = _mape(res.out_of_fold, oof_ids)
    unpredictable = all(res.before.get(i) is None for i in ids)
    # the fair comparison: the packaged group parameters refitted without the same held-out groups
    serving_oof = [i for i in oof_ids if next(r for r in mine if r["id"] == i)["kind"] in SERVING_KINDS]
    before_held = (_mape(packaged_held_out(rows, cat, serving_oof, res.grouping), serving_oof)
                   if serving_oof and not unpredictable and res.grouping else None)
    after_serving_oof = _mape(res.out_of_fold, serving_oof) if serving_oof else None
    # a calibration that replaces packaged values must pin them down: every fitted value's standard
    # error under UNDETERMINED_REL_SE of it (a chip made predictable ships regardless: its band says
    # how sure)
    undetermined = [k for k, v in res.values.items()
                    if res.sd.get(k) is None or not math.isfinite(res.sd[k]) or abs(v) <= 0
                    or res.sd[k] / abs(v) > UNDETERMINED_REL_SE]
    if unpredictable and res.calibration is not None and _mape(res.after, ids) is not None:
        ship, why = True, "makes the chip predictable (the catalog lacks a figure it needs)"
    elif undetermined and not unpredictable and len(undetermined) < len(res.values) and not hold:
        # refit with the undetermined values held at their priors, and judge that calibration
        again = chip_report(rows, cat, hw, hold=tuple(undetermined))
        again["first_fit"] = {"params": {k: {"value": round(v, 4), "sd": res.sd.get(k)} for k, v in res.values.items()},
                              "undetermined": undetermined}
        return again
    elif after_serving_oof is not None and before_held is not None and after_serving_oof < before_held \
            and undetermined:
        ship, why = False, ("lowers the held-out error against the packaged model refitted without the same "
                            f"held-out groups, but {', '.join(undetermined)} not determined (standard error "
                            f"over {UNDETERMINED_REL_SE:.0%} of the value): it would move every prediction of the chip "
                            "on a guess")
    elif after_serving_oof is not None and before_held is not None and after_serving_oof < before_held:
        ship, why = True, ("lowers the held-out error against the packaged model refitted without the same "
                           "held-out groups")
    elif after_oof is not None and before_oof is not None and after_oof < before_oof:
        ship, why = True, "lowers the held-out error"
    elif not oof_ids:
        ship, why = False, "cannot be held out (no fold leaves rows to fit on)"
    else:
        ship, why = False, "held-out error not lower than the packaged values'"
    out.update(
        usable=len(ids), grouping=res.grouping, grouping_words=GROUP_WORDS.get(res.grouping or "", res.grouping),
        folds=len({r.get("source") if res.grouping == "source" else r["id"] for r in mine}) if res.grouping else 0,
        params={k: {"value": round(v, 4), "sd": (round(res.sd[k], 4) if res.sd.get(k) is not None
                                                  and math.isfinite(res.sd[k]) else None),
                    "rows": res.calibration.params[k].rows if k in res.calibration.params else None}
                for k, v in res.values.items()},
        measured_figures={k: v["value"] for k, v in res.accelerator_update.items()},
        mape_before_in_sample=before_all, mape_after_in_sample=_mape(res.after, ids),
        held_out_rows=len(oof_ids), mape_before_on_held_out_rows=before_oof, mape_after_held_out=after_oof,
        serving_held_out_rows=len(serving_oof), mape_packaged_refit_held_out=before_held,
        mape_after_held_out_serving=after_serving_oof,
        unpredictable_before=unpredictable, shipped=ship, reason=why, notes=res.notes,
        skipped=[{"id": i, "reason": r} for i, r in res.skipped],
        rows=[{"id": i, "ape_before": res.before.get(i), "ape_after": res.after.get(i),
               "ape_out_of_fold": res.out_of_fold.get(i)} for i in ids])
    if ship:  # the overlay, with the rows it rests on as its source
        prov = _provenance(rows, ids)
        cal = res.calibration.model_copy(update={"source": prov})
        res.calibration = cal
        for f in res.accelerator_update.values():
            f["source"] = f"suanli calibrate: {prov}"
        out["overlay"] = res.overlay_yaml()
    out["seconds"] = round(time.perf_counter() - t0, 1)
    return out


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"


def _params_text(r: dict) -> str:
    ps = []
    for k, v in r.get("params", {}).items():
        sd = f" ± {v['sd']:.3g}" if v.get("sd") is not None else ""
        ps.append(f"{k} {v['value']:.4g}{sd}")
    return "; ".join(ps) or "—"


def markdown(report: dict) -> str:
    lines = [f"Per-chip calibration of the domestic chips on `data/validation/dev.csv` "
             f"(`benchmarks/calibration_oof.py`, {report['date']}). Before: the packaged family values "
             "(themselves fitted on dev.csv, these rows included). After: the chip's own calibration, "
             "in-sample and held out (grouping per chip: one source at a time when its records come from "
             "two publications or more, else one configuration = model + engine + layout). The packaged values "
             "were fitted on these rows, so *before, held out* on the packaged values is in-sample for them; "
             "the fair comparison is the next column: the packaged group parameters (`maturity.cann`, ...) "
             "refitted without the same held-out groups, against the chip's own calibration held out.", "",
             "| chip | records (usable) | grouping | fitted (± standard error) | before -> after in-sample "
             "| held out: before -> after (rows) | serving held out, both refitted: packaged -> chip (rows) "
             "| shipped |",
             "|---|---|---|---|---|---|---|---|"]
    for r in report["chips"]:
        if not r.get("usable"):
            lines.append(f"| {r['hardware']} | {r['records']} (0) | — | — | — | — | — | no: {r['reason']} |")
            continue
        meas = "; ".join(f"{k} measured {v:g}" for k, v in r.get("measured_figures", {}).items())
        fitted = _params_text(r) + (f" ({meas})" if meas else "")
        if r.get("first_fit"):
            ff = r["first_fit"]
            fitted += "; first fit " + "; ".join(
                f"{k} {ff['params'][k]['value']:.4g} ± {ff['params'][k]['sd']:.3g}" for k in ff["undetermined"]) \
                + " not determined: held at its prior"
        ins = f"{_pct(r['mape_before_in_sample']) if not r['unpredictable_before'] else 'unpredictable'} -> " \
              f"{_pct(r['mape_after_in_sample'])}"
        held = (f"{_pct(r['mape_before_on_held_out_rows']) if not r['unpredictable_before'] else 'unpredictable'}"
                f" -> {_pct(r['mape_after_held_out'])} ({r['held_out_rows']})") if r["held_out_rows"] else "—"
        fair = (f"{_pct(r['mape_packaged_refit_held_out'])} -> {_pct(r['mape_after_held_out_serving'])} "
                f"({r['serving_held_out_rows']})") if r.get("mape_packaged_refit_held_out") is not None else "—"
        ship = f"**yes**: {r['reason']}" if r["shipped"] else f"no: {r['reason']}"
        lines.append(f"| {r['hardware']} | {r['records']} ({r['usable']}) | {r['grouping'] or '—'} | {fitted} "
                     f"| {ins} | {held} | {fair} | {ship} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=Path, default=RECORDS)
    ap.add_argument("--no-overlays", action="store_true", help="do not write or remove packaged overlays")
    ap.add_argument("--no-docs", action="store_true", help="do not rewrite the table in docs/calibration.md")
    ap.add_argument("--hardware", action="append", help="only these chips (repeatable)")
    a = ap.parse_args()
    cat = load_catalog(calibrated=False)
    rows = read_records(a.records)
    hws = sorted({r.get("hardware", "") for r in rows if r.get("hardware") in cat.accelerators
                  and (cat.accelerators[r["hardware"]].us_export_control_status or "").startswith("domestic")})
    if a.hardware:
        hws = [h for h in hws if h in a.hardware]
    chips = []
    for hw in hws:
        r = chip_report(rows, cat, hw)
        chips.append(r)
        print(f"{hw:20s} records {r['records']:3d} usable {r.get('usable', 0):3d} grouping {r.get('grouping')!s:7s} "
              f"before {_pct(r.get('mape_before_on_held_out_rows'))} held out {_pct(r.get('mape_after_held_out'))} "
              f"shipped {'yes' if r['shipped'] else 'no'} ({r['reason']}) {_params_text(r)}", flush=True)
    report = {"date": dt.date.today().isoformat(), "records": str(a.records.relative_to(ROOT)
                                                                   if a.records.is_absolute() else a.records),
              "chips": [{k: v for k, v in c.items() if k != "overlay"} for c in chips]}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.with_suffix(".json").write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    md = markdown(report)
    OUT.with_suffix(".md").write_text("# Per-chip calibration, held out\n\n" + md, encoding="utf-8")
    if not a.no_overlays:
        for c in chips:
            f = CALIBRATED / f"{c['hardware']}.yaml"
            if c["shipped"]:
                f.write_text(c["overlay"], encoding="utf-8")
            elif f.exists() and not a.hardware:
                f.unlink()
    if not a.no_docs and not a.hardware:
        doc = DOC.read_text(encoding="utf-8")
        if BEGIN in doc and END in doc:
            head, rest = doc.split(BEGIN, 1)
            DOC.write_text(head + BEGIN + "\n" + md + END + rest.split(END, 1)[1], encoding="utf-8")
    print(f"wrote {OUT.with_suffix('.json').relative_to(ROOT)} and .md")


if __name__ == "__main__":
    main()
