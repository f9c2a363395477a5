"""Regenerate the packaged accelerator data from the shared reference table.

Usage: python tools/import_reference.py [../shared/reference] [src/suanli/catalog/data]

Reads ``accelerators.csv`` (one row per part, figures as the sources state
them), ``tools/accelerator_conflicts.yaml`` (alternatives that other sources
give, from ``accelerators.md`` section 4 and 8) and
``accelerators-additions.csv`` (newer figures, one per row with its own source
and confidence; merge rules in ``tools/accelerator_additions.yaml``), and
writes ``accelerators.yaml``: one record per row, each figure with its value,
range, "approx" flag, original wording, source and confidence. Blank stays
blank. Before writing, the import checks (``suanli.catalog.checks``: a
plausible range per field, one spelling per vendor) must pass.
This script runs at development time only; suanli reads the YAML it writes.
"""
from __future__ import annotations

import csv
import re
import sys
from pathlib import Path

import yaml

from suanli.catalog.checks import canonical_vendor, range_problems, vendor_problems

# A K/M multiplier only when nothing numeric follows it: "~8.2M" is 8.2e6, but in "106M 400" the
# "106M" is a product code and the cell is not one number.
NUM = r"(\d+(?:\.\d+)?)((?:[MK](?![A-Za-z0-9]|\s+\d))?)"
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
    if m and not re.match(r"^[A-Za-z]+\s+\d", m.group(5)):  # "106M 400; 166M 550": product codes, not a figure
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
            rec: dict = {"id": row["id"], "vendor": canonical_vendor(row["vendor"]), "name": row["model"],
                         "category": row["category"]}
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


# --------------------------------------------------------------------------- additions
ADDITION_NUM = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(GiB)?\s*(?:\(([^)]*)\))?\s*(.*)$")
GIB_TO_GB = 2**30 / 1e9


def parse_addition(text: str) -> list[tuple[float, str | None]]:
    """An additions cell -> [(value, label)]: one number, or several joined by " / " (first = main).

    >>> parse_addition("1000 (liquid-cooled) / 920 (air-cooled)")
    [(1000.0, 'liquid-cooled'), (920.0, 'air-cooled')]
    >>> parse_addition("63.66 GiB allocatable per rank")
    [(68.354, 'GiB allocatable per rank')]
    >>> parse_addition("not published (FlagPerf values redacted)")
    []
    """
    out = []
    for part in text.split(" / "):
        m = ADDITION_NUM.match(part)
        if not m:
            return []
        v, gib, label, rest = m.groups()
        value = float(v) * (GIB_TO_GB if gib else 1.0)
        label = label or (" ".join(x for x in (gib, rest) if x) or None)
        out.append((round(value, 3) if gib else value, label))
    return out


def merge_additions(recs: list[dict], path: Path, rules: dict) -> tuple[list[dict], list[str]]:
    """Merge per-figure additions into the records (rules in tools/accelerator_additions.yaml).

    Returns the records (new ids appended) and the skipped rows with their reasons.
    """
    by_id = {r["id"]: r for r in recs}
    conf_map = rules["confidence"]
    skipped: list[str] = []
    rank = {"vendor-datasheet": 0, "reputable-press": 1, "estimate": 2}  # for a new record's own confidence
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    per_card = {r["id"]: int(float(r["value"])) for r in rows if r["field"] == "chips_per_card"}
    for n, row in enumerate(rows, start=2):
        rid, col = row["id"], row["field"]
        where = f"{path.name}:{n} {rid} {col}"
        conf = conf_map.get(row["confidence"].strip().lower())
        if conf is None:
            raise SystemExit(f"{where}: unknown confidence {row['confidence']!r} (one of {', '.join(conf_map)})")
        rec = by_id.get(rid)
        if rec is None:
            meta = rules.get("new_records", {}).get(rid)
            if meta is None:
                skipped.append(f"{where}: proposed new id without record metadata in accelerator_additions.yaml")
                continue
            rec = {"id": rid, **{k: v for k, v in meta.items() if k != "notes"}, "stack": stack_family(
                meta.get("software_stack", "")), "devices_per_package": 1, "sources": [], "confidence": conf,
                   **({"notes": meta["notes"]} if meta.get("notes") else {})}
            by_id[rid] = rec
            recs.append(rec)
        if rid in rules.get("new_records", {}):
            for src in row["source"].split(" ; "):
                if src.strip() and src.strip() not in rec["sources"]:
                    rec["sources"].append(src.strip())
            if rank[conf] < rank[rec["confidence"]]:
                rec["confidence"] = conf
        if col in rules.get("record_fields", {}):
            rec[rules["record_fields"][col]] = int(float(row["value"]))
            continue
        if col in TEXT_COLUMNS:
            if not rec.get(TEXT_COLUMNS[col]):
                rec[TEXT_COLUMNS[col]] = row["value"].strip()
            else:
                skipped.append(f"{where}: text field already stated by the reference table")
            continue
        field = FIGURE_COLUMNS.get(col)
        if field is None:
            skipped.append(f"{where}: not a catalog figure")
            continue
        parsed = parse_addition(row["value"])
        if not parsed:
            skipped.append(f"{where}: value {row['value']!r} is not a number")
            continue
        unit = row["unit"].strip()
        factor = per_card.get(rid, 1) if "per chip" in unit and rec["category"] == "card" else 1
        note = row["notes"].strip() or None
        src = row["source"].strip()
        fig = rec.get(field) or {"value": None}
        main_value, main_label = parsed[0]
        values = [(v * factor, lab) for v, lab in parsed]
        wording = row["value"].strip() + (f" {unit}" if unit else "")
        if factor != 1:
            wording += f" x {factor} chips per card"
        if fig.get("value") is None:
            # a per-card figure derived from a per-chip one is the source's figure times a count: an estimate
            fig = {**fig, "value": values[0][0], "source": src, "confidence": conf if factor == 1 else "estimate"}
            if factor != 1 or len(values) > 1 or main_label:
                fig["text"] = wording
            if note:
                fig["note"] = note
            rest = values[1:]
        else:
            rest = values
        alts = list(fig.get("alternatives") or [])
        for v, lab in rest:
            agrees = abs(v - fig["value"]) <= 1e-9 * max(abs(v), 1.0)
            alt = {"value": v, "source": src, "confidence": conf}
            alt_note = "; ".join(x for x in ("agrees with the chosen value" if agrees else None,
                                              lab, wording if factor != 1 else None, note) if x)
            if alt_note:
                alt["note"] = alt_note
            alts.append(alt)
        if alts:
            fig["alternatives"] = alts
        rec[field] = fig
    return recs, skipped


def check(recs: list[dict]) -> list[str]:
    """Import checks: plausible ranges per field, one spelling per vendor."""
    problems = [p for r in recs for p in range_problems(r)]
    problems += vendor_problems({r["vendor"] for r in recs})
    return problems


def main(argv: list[str]) -> None:
    ref = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parents[2] / "shared" / "reference"
    dst = Path(argv[2]) if len(argv) > 2 else Path(__file__).resolve().parents[1] / "src/suanli/catalog/data"
    here = Path(__file__).parent
    conflicts = yaml.safe_load((here / "accelerator_conflicts.yaml").read_text(encoding="utf-8")) or {}
    recs = convert(ref, conflicts)
    skipped: list[str] = []
    if (ref / "accelerators-additions.csv").exists():
        rules = yaml.safe_load((here / "accelerator_additions.yaml").read_text(encoding="utf-8"))
        recs, skipped = merge_additions(recs, ref / "accelerators-additions.csv", rules)
    problems = check(recs)
    if problems:
        raise SystemExit("import checks failed:\n  " + "\n  ".join(problems))
    header = (
        "# suanli accelerator catalog. Generated by tools/import_reference.py from the shared\n"
        "# reference table (accelerators.csv, conflicts from accelerators.md, per-figure additions\n"
        "# from accelerators-additions.csv). Figures are dense peaks per chip (system rows: rack\n"
        "# totals); blank = unknown; a figure without its own source cites the record's sources\n"
        "# (source_inherited). Edit the reference and regenerate, or add an overlay (--catalog FILE).\n"
    )
    for line in skipped:
        print(f"skipped {line}")
    text = header + yaml.safe_dump({"accelerators": recs}, sort_keys=False, allow_unicode=True, width=100)
    (dst / "accelerators.yaml").write_text(text)
    print(f"wrote {len(recs)} accelerators to {dst / 'accelerators.yaml'}")


if __name__ == "__main__":
    main(sys.argv)
