"""The serving model against the MLPerf Inference v5.1 LLM results outside dev.csv (recorded in docs/accuracy.md).

``benchmarks/data/mlperf_external.csv`` holds the closed-division v5.1 LLM results on catalog chips that a
public copy of the results repository (``ntuhpc/inference_results_v5.1``) stores and that are not dev.csv
records: 245 rows from 24 submitters (Llama 2 70B, Llama 3.1 8B and 405B, Mixtral 8x7B, DeepSeek-R1;
offline, server and interactive) in the measurement-record format of ``validation/SCHEMA.md``. Each
row names its source: the run's ``mlperf_log_summary.txt`` (219 rows), or the results table of the
system's ``summary.html`` where the copy lacks the summary files (26 rows; no samples/s there, so the
output length is the median of the other runs of that benchmark). The 99% and 99.9% accuracy
variants of Llama 2 70B count once where they report the same run; the benchmark's dataset columns (prompt
length and spread, output spread and cap, the scenario's latency limits) are those of the dev.csv
records of the same benchmark, the output length is the run's own tokens/s over samples/s, and the
weight format is the division's usual one on that chip (FP4 on Blackwell, FP8 elsewhere). Layout,
batch and engine limits are left to the search, as a user would leave them: the submitters tuned
theirs, so a miss here is the model's best configuration against theirs. No parameter is fitted
to these rows.

Many submitters run the same reference configuration on the same chip, so rows of one
(model, chip, scenario) are not independent: the summaries are given per group as well.

Writes ``benchmarks/results/mlperf_external.csv`` and ``benchmarks/results/mlperf_external.md``.
Run: ``.venv/bin/python benchmarks/mlperf_external.py`` (or ``suanli validate
benchmarks/data/mlperf_external.csv --by model`` for the errors alone).
"""
from __future__ import annotations

import csv
import math
import platform
import re
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from serving_external import OUT, run, summary  # noqa: E402

DATA = ROOT / "benchmarks" / "data" / "mlperf_external.csv"


def mlperf_scenario(row_id: str) -> str:
    """The MLPerf scenario a row id ends with (Offline, Server, Interactive)."""
    return row_id.rsplit("-", 1)[-1].lower()


def step_check() -> list[str]:
    """The decode step at each latency run's own batch: mean TPOT predicted against measured.

    By Little's law a run that emits ``R`` tokens/s per chip at a mean TPOT ``T`` holds ``R x T``
    sequences per chip; the model's step at that batch (the layout of the dev.csv record of the same
    model on the same chip, prompts arriving with the outputs, nothing searched) against the measured
    mean TPOT separates the step-time model from the search and the latency-limit model."""
    from suanli.catalog import get_catalog
    from suanli.perf.search import predict_serve
    from suanli.perf.validate import request_from_row

    cols = ("tp", "pp", "ep", "dp", "attn_dp")
    layout: dict[tuple[str, str, str], dict[str, str]] = {}
    for r in csv.DictReader((ROOT / "data" / "validation" / "dev.csv").open()):
        if r["id"].startswith("MLI-") and r["tp"]:
            for scen in {r["scenario"], "any"}:   # the same scenario's layout first, else any
                layout.setdefault((r["model"], r["hardware"], scen), {c: r[c] for c in cols})
    cat = get_catalog(())
    errs: dict[str, list[float]] = {}
    for r in csv.DictReader(DATA.open()):
        m = re.search(r"mean TPOT ([\d.]+) ms", r["notes"])
        lay = layout.get((r["model"], r["hardware"], "server")) or layout.get((r["model"], r["hardware"], "any"))
        if r["scenario"] != "server" or not m or not lay:
            continue
        tpot_ms = float(m.group(1))
        req = replace(request_from_row({**r, **lay}), scenario="fixed", ttft_slo_ms=None, tpot_slo_ms=None,
                      batch_per_chip=float(r["value"]) * tpot_ms / 1e3)
        pred = predict_serve(cat, req)
        shape = f"tp{lay['tp']} pp{lay['pp'] or 1}" + (f" ep{lay['ep']}" if lay["ep"] else "") + \
            (" attention DP" if lay["attn_dp"] == "yes" else "")
        key = f"{r['model']} {r['hardware']} {mlperf_scenario(r['id'])} ({shape})"
        errs.setdefault(key, []).append(math.log(pred.metrics["tpot_ms"] / tpot_ms))
    out = ["## The decode step at each latency run's own batch", "",
           "Server and interactive runs whose summary gives the mean TPOT: the batch per chip is the run's "
           "tokens/s per chip times its mean TPOT (Little's law), the layout that of the dev.csv record of the "
           "same model on the same chip. *bias* is the mean ln(predicted / measured TPOT) (negative: the "
           "modelled step is too short).", "", "| group | runs | bias |", "|---|---:|---:|"]
    for k in sorted(errs):
        v = errs[k]
        out.append(f"| {k} | {len(v)} | {sum(v) / len(v):+.3f} |")
    return out + [""]


def main() -> None:
    t0 = time.perf_counter()
    rows, refused = run(data=DATA)
    secs = time.perf_counter() - t0
    for r in rows:
        r["mlperf_scenario"] = mlperf_scenario(r["id"])
        r["model_scenario"] = f"{r['model']} {r['mlperf_scenario']}"
        r["group"] = f"{r['model']} {r['hardware']} {r['mlperf_scenario']}"
    OUT.mkdir(parents=True, exist_ok=True)
    with (OUT / "mlperf_external.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    groups = sorted({r["group"] for r in rows})
    lines = ["# The serving model on MLPerf Inference v5.1 LLM results outside dev.csv", "",
             f"{len(rows)} rows from `benchmarks/data/mlperf_external.csv` ({len(groups)} model x chip x scenario "
             f"groups; source in each row), predicted in {secs:.1f} s on {platform.machine()} with the packaged "
             "parameters; nothing is fitted to them. Layout, batch and engine limits are the search's, the "
             "submitters' own are not given. *bias* is the mean ln(predicted / measured) (positive: the model "
             "is fast); *inside band* the share of rows whose measured value lies inside the 80% band the "
             "prediction carries.", ""]
    for title, key in (("By scenario", "mlperf_scenario"), ("By model and scenario", "model_scenario"),
                       ("By hardware family", "family"), ("By model, chip and scenario", "group")):
        lines += [f"## {title}", "", "| group | rows | MAPE | median APE | bias | inside band |",
                  "|---|---:|---:|---:|---:|---:|"]
        for k, n, mape, med, bias, cov in summary(rows, key):
            lines.append(f"| {k} | {n} | {100 * mape:.1f}% | {100 * med:.1f}% | {bias:+.2f} | {100 * cov:.0f}% |")
        lines.append("")
    # one vote per group: the mean log error of each group, so a reference configuration that ten
    # submitters ran counts once
    per_group: dict[str, list[float]] = {}
    for r in rows:
        per_group.setdefault(r["group"], []).append(r["log_error"])
    g_ape = sorted(abs(math.exp(sum(v) / len(v)) - 1) for v in per_group.values())
    lines += ["## One vote per group", "",
              f"Each model x chip x scenario group's mean error counted once ({len(g_ape)} groups): MAPE "
              f"{100 * sum(g_ape) / len(g_ape):.1f}%, median {100 * g_ape[len(g_ape) // 2]:.1f}%.", ""]
    lines += step_check()
    lines += ["## Refused", ""] + ([f"- {i}: {why}" for i, why in refused] or ["None: every row was predicted."]) + [""]
    (OUT / "mlperf_external.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
