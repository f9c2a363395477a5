"""The serving model against published throughput tables outside dev.csv (recorded in docs/accuracy.md).

``benchmarks/data/serving_external.csv`` holds TensorRT-LLM's own throughput tables (the perf overview
of its documentation: trtllm-bench, PyTorch backend, fixed prompt and output lengths, every request
queued at once) in the measurement-record format of ``validation/SCHEMA.md``, one row per table cell,
with the source and the settings the page states. None of these rows is in ``data/validation/dev.csv``
and no parameter is fitted to them: they test what the model learned elsewhere.

For every row: the prediction, its error, and whether the measured value lies inside the 80% band the
prediction carries (the band is what a user reads beside the figure). Summaries per model and per
hardware family, and the same for the dense models alone.

Writes ``benchmarks/results/serving_external.csv`` and ``benchmarks/results/serving_external.md``.
Run: ``.venv/bin/python benchmarks/serving_external.py`` (or ``suanli validate
benchmarks/data/serving_external.csv --by model`` for the errors alone).
"""
from __future__ import annotations

import csv
import math
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from suanli.catalog import get_catalog  # noqa: E402
from suanli.errors import SuanliError  # noqa: E402
from suanli.perf.hardware import load_params  # noqa: E402
from suanli.perf.search import predict_serve  # noqa: E402
from suanli.perf.validate import request_from_row  # noqa: E402

DATA = ROOT / "benchmarks" / "data" / "serving_external.csv"
OUT = ROOT / "benchmarks" / "results"


def run(overrides: dict[str, str] | None = None, data: Path = DATA) -> tuple[list[dict], list[tuple[str, str]]]:
    """Predict every row of ``data``: (the predicted rows, the (id, reason) of those the model refuses).
    ``overrides`` replaces record columns in every row first (a sensitivity run)."""
    from suanli.perf.hardware import HardwareSpec

    cat, params = get_catalog(()), load_params()
    families: dict[str, str] = {}
    out, refused = [], []
    for r in csv.DictReader(data.open()):
        r.update(overrides or {})
        try:
            pred = predict_serve(cat, request_from_row(r), params=params)
        except SuanliError as exc:       # a refusal is a finding, not a crash: listed in the report
            refused.append((r["id"], exc.message))
            continue
        if r["hardware"] not in families:
            families[r["hardware"]] = HardwareSpec.from_catalog(cat, r["hardware"]).family
        p, m = pred.metrics[r["metric"]], float(r["value"])
        band = pred.error_band
        err = math.log(p / m)
        out.append({"id": r["id"], "model": r["model"], "hardware": r["hardware"],
                    "family": families[r["hardware"]], "scenario": r["scenario"], "isl": r["isl"], "osl": r["osl"], "measured": m,
                    "predicted": round(p, 1), "ape": round(abs(p / m - 1), 4), "log_error": round(err, 4),
                    "band_p80": band.p80 if band else None, "band_group": band.group if band else "",
                    "inside_band": bool(band and band.p80 is not None and abs(err) <= band.p80 + 1e-12),
                    "config": f"tp{pred.config.get('tp')} dp{pred.config.get('dp')} ep{pred.config.get('ep')} "
                              f"batch {pred.config.get('batch_per_instance')}"})
    return out, refused


def summary(rows: list[dict], key: str) -> list[tuple[str, int, float, float, float, float]]:
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(r[key], []).append(r)
    groups["all"] = rows
    out = []
    for k, g in groups.items():
        apes = sorted(x["ape"] for x in g)
        bias = sum(x["log_error"] for x in g) / len(g)
        out.append((k, len(g), sum(apes) / len(g), apes[len(g) // 2], bias, sum(x["inside_band"] for x in g) / len(g)))
    return out


def main() -> None:
    t0 = time.perf_counter()
    rows, refused = run()
    secs = time.perf_counter() - t0
    OUT.mkdir(parents=True, exist_ok=True)
    with (OUT / "serving_external.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    dense = [r for r in rows if r["model"].startswith("llama")]
    lines = ["# The serving model on TensorRT-LLM's published throughput tables (outside dev.csv)", "",
             f"{len(rows)} rows from `benchmarks/data/serving_external.csv` (source and settings in each row), "
             f"predicted in {secs:.1f} s on {platform.machine()} with the packaged parameters; nothing is fitted "
             "to them. *bias* is the mean ln(predicted / measured) (positive: the model is fast); "
             "*inside band* the share of rows whose measured value lies inside the 80% band the prediction "
             "carries.", ""]
    for title, key, sub in (("By model", "model", rows), ("By hardware family", "family", rows),
                            ("Dense models by family", "family", dense)):
        lines += [f"## {title}", "", "| group | rows | MAPE | median APE | bias | inside band |",
                  "|---|---:|---:|---:|---:|---:|"]
        for k, n, mape, med, bias, cov in summary(sub, key):
            lines.append(f"| {k} | {n} | {100 * mape:.1f}% | {100 * med:.1f}% | {bias:+.2f} | {100 * cov:.0f}% |")
        lines.append("")
    lines += ["## Refused", ""] + ([f"- {i}: {why}" for i, why in refused] or ["None: every row was predicted."]) + [""]
    # The tables state the weight format of each checkpoint but not its KV-cache format: trtllm-bench's
    # default `auto` takes whatever the checkpoint's quantization config names (BF16 when it names none),
    # where the model assumes FP8 with FP8 or FP4 matmuls. The same rows with a BF16 KV cache show how
    # much of each model's error that one unstated setting could carry.
    bf16, _ = run({"kv_dtype": "bf16"})
    lines += ["## Sensitivity: the KV cache in BF16", "",
              "The tables name each checkpoint's weight format, not its KV-cache format; trtllm-bench's "
              "default (`kv_cache_config.dtype: auto`) keeps the format the checkpoint's quantization config "
              "names, BF16 when it names none. The model assumes FP8 beside FP8 or FP4 matmuls. The same rows "
              "with the KV cache in BF16 (nothing else changed):", "",
              "| group | rows | MAPE (FP8 KV, as above) | MAPE (BF16 KV) | bias (BF16 KV) |", "|---|---:|---:|---:|---:|"]
    base = {k: (n, mape) for k, n, mape, _, _, _ in summary(rows, "model")}
    for k, n, mape, _, bias, _ in summary(bf16, "model"):
        lines.append(f"| {k} | {n} | {100 * base[k][1]:.1f}% | {100 * mape:.1f}% | {bias:+.2f} |")
    lines.append("")
    (OUT / "serving_external.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
