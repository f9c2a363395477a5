"""Regenerate the packaged accelerator data from the shared reference table.

Usage: python tools/import_reference.py [../shared/reference] [src/suanli/catalog/data]

Reads ``accelerators.csv`` (one row per part, figures as the sources state
them) and ``tools/accelerator_conflicts.yaml`` (alternatives that other sources
give, from ``accelerators.md`` section 4 and 8), and writes
``accelerators.yaml``: one record per row, each figure with its value, range,
"approx" flag, original wording, source and confidence. Blank stays blank.
This script runs at development time only; suanli reads the YAML it writes.
"""
from __future__ import annotations

import csv
import re
import sys
from pathlib import Path

import yaml

NUM = r"(\d+(?:\.\d+)?)([MK]?)"
RANGE = re.compile(rf"^(~)?{NUM}\s*-\s*~?{NUM}(.*)$")
SINGLE = re.compile(rf"^(~|up to\s+)?{NUM}(\+)?(.*)$")
MULT = {"": 1.0, "K": 1e3, "M": 1e6}

FIGURE_COLUMNS = {
    "transistors_b": "transistors_b",
    "logic_die_area_mm2": "logic_die_area_mm2",
    "fp64_tflops": "fp64_tflops",
    "fp32_tflops": "fp32_tflops",
    "tf32_tflops": "tf32_tflops",
    "bf16_tflops": "bf16_tflops",
    "fp16_tflops": "fp16_tflops",
    "fp8_tflops": "fp8_tflops",
    "int8_tops": "int8_tops",
    "fp4_tflops": "fp4_tflops",
    "mem_capacity_gb": "mem_capacity_gb",
    "mem_bw_tbs": "mem_bw_tbps",
    "scaleup_bw_gbs": "scaleup_bw_gbps",
    "tdp_w": "tdp_w",
    "price_usd_est": "price_usd",
    "tpp": "tpp_reference",
    "perf_density": "perf_density_reference",
}
# For a range, which end is the chosen value: capacity takes the guaranteed
# (low) end; everything else the midpoint.
RANGE_CHOICE = {"mem_capacity_gb": "low"}
TEXT_COLUMNS = {
    "status": "status",
    "announce_date": "announce_date",
    "launch_date": "launch_date",
    "form_factor": "form_factor",
    "process_node": "process_node",
    "foundry": "foundry",
    "die_area_basis": "die_area_basis",
    "dense_notes": "dense_notes",
    "mem_type": "mem_type",
    "scaleup_interconnect": "scaleup_interconnect",
    "scaleout_nic": "scaleout_nic",
    "pcie_gen": "pcie_gen",
    "software_stack": "software_stack",
    "tpp_basis": "tpp_basis",
    "us_export_control_status": "us_export_control_status",
    "notes": "notes",
}
STACKS = [
    ("ROCm", "rocm"), ("CANN", "cann"), ("NeuWare", "neuware"), ("DTK", "dtk"),
    ("Kunlunxin", "xpu"), ("MUSA", "musa"), ("MXMACA", "maca"), ("BIRENSUPA", "birensupa"),
    ("TopsRider", "topsrider"), ("CoreX", "corex"), ("XLA", "xla"), ("PPU", "ppu"),
    ("CUDA-compatible", "ppu"), ("CUDA", "cuda"),
]
# Packages that software exposes as more than one device (accelerators.md §1, PERF-NOTES).
DEVICES_PER_PACKAGE = {"ascend-910c": 2, "mi250x": 2}


def parse_figure(text: str, column: str) -> dict | None:
    """A cell's text -> a figure dict (value, range, approx, wording)."""
    t = text.strip()
    if not t:
        return None
    m = RANGE.match(t)
    if m:
        approx, a, am, b, bm, rest = m.groups()
        lo, hi = float(a) * MULT[am], float(b) * MULT[bm]
        value = lo if RANGE_CHOICE.get(column) == "low" else round((lo + hi) / 2, 6)
        return {"value": value, "low": lo, "high": hi, "approx": True, "text": t}
    m = SINGLE.match(t)
    if m:
        prefix, a, am, plus, rest = m.groups()
        fig: dict = {"value": float(a) * MULT[am]}
        if prefix and prefix.startswith("~") or plus:
            fig["approx"] = True
        if prefix and prefix.startswith("up to"):
            fig["high"] = fig["value"]
        if t != a:
            fig["text"] = t
        return fig
    return {"value": None, "text": t}


def direction(text: str) -> str:
    t = text.lower()
    if "aggregate" in t:
        return "aggregate"
    if "bidirectional" in t:
        return "bidirectional"
    if "unidirectional" in t or "each way" in t:
        return "unidirectional"
    return "unstated"


def stack_family(text: str) -> str:
    for key, fam in STACKS:
        if key.lower() in text.lower():
            return fam
    return "other"


def convert(ref: Path, conflicts: dict) -> list[dict]:
    out = []
    with open(ref / "accelerators.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            rec: dict = {"id": row["id"], "vendor": row["vendor"], "name": row["model"], "category": row["category"]}
            for col, field in TEXT_COLUMNS.items():
                if row[col].strip():
                    rec[field] = row[col].strip()
            rec["stack"] = stack_family(row["software_stack"])
            rec["devices_per_package"] = DEVICES_PER_PACKAGE.get(row["id"], 1)
            if row["scaleup_bw_direction"].strip():
                rec["scaleup_bw_direction"] = direction(row["scaleup_bw_direction"])
                rec["scaleup_bw_direction_text"] = row["scaleup_bw_direction"].strip()
            for col, field in FIGURE_COLUMNS.items():
                fig = parse_figure(row[col], field)
                if fig is None:
                    continue
                if field == "price_usd" and row["price_source_date"].strip():
                    fig["note"] = row["price_source_date"].strip()
                if field in ("tpp_reference", "perf_density_reference"):
                    fig["confidence"] = "estimate" if fig.get("approx") else row["confidence"]
                    fig["note"] = "computed by the reference table; suanli recomputes it from the peaks"
                alts = conflicts.get(row["id"], {}).get(field)
                if alts:
                    fig["alternatives"] = alts["alternatives"]
                    if alts.get("note"):
                        fig["note"] = (fig.get("note", "") + " ; " if fig.get("note") else "") + alts["note"]
                rec[field] = fig
            rec["sources"] = [s.strip() for s in row["source"].split(" ; ") if s.strip()]
            rec["confidence"] = row["confidence"]
            out.append(rec)
    return out


def main(argv: list[str]) -> None:
    ref = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parents[2] / "shared" / "reference"
    dst = Path(argv[2]) if len(argv) > 2 else Path(__file__).resolve().parents[1] / "src/suanli/catalog/data"
    conflicts = yaml.safe_load((Path(__file__).parent / "accelerator_conflicts.yaml").read_text()) or {}
    recs = convert(ref, conflicts)
    header = (
        "# suanli accelerator catalog. Generated by tools/import_reference.py from the shared\n"
        "# reference table (accelerators.csv, conflicts from accelerators.md). Figures are dense\n"
        "# peaks per chip (system rows: rack totals); blank = unknown. Edit the reference and\n"
        "# regenerate, or add an overlay (suanli --catalog FILE).\n"
    )
    text = header + yaml.safe_dump({"accelerators": recs}, sort_keys=False, allow_unicode=True, width=100)
    (dst / "accelerators.yaml").write_text(text)
    print(f"wrote {len(recs)} accelerators to {dst / 'accelerators.yaml'}")


if __name__ == "__main__":
    main(sys.argv)
