"""Per-figure additions merged into the catalog, and the import checks that guard the data."""
from __future__ import annotations

import csv
import math
import sys
from pathlib import Path

import pytest

from suanli.catalog.checks import canonical_vendor, field_range, range_problems, vendor_problems

ROOT = Path(__file__).resolve().parents[2]
ADDITIONS = ROOT.parent / "shared" / "reference" / "accelerators-additions.csv"
CSV_FIELD = {"mem_bw_tbs": "mem_bw_tbps", "scaleup_bw_gbs": "scaleup_bw_gbps"}
PEAKS = ("fp64_tflops", "fp32_tflops", "tf32_tflops", "bf16_tflops", "fp16_tflops", "fp8_tflops", "int8_tops",
         "fp4_tflops")


def _rows():
    with open(ADDITIONS, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.skipif(not ADDITIONS.exists(), reason="shared reference not beside this checkout")
def test_every_numeric_addition_is_in_the_catalog_cell_by_cell(catalog):
    """Each plain-number addition is the figure's value (citing exactly that row's source) or an alternative."""
    rows = _rows()
    per_card = {r["id"]: float(r["value"]) for r in rows if r["field"] == "chips_per_card"}
    checked = 0
    for r in rows:
        field = CSV_FIELD.get(r["field"], r["field"])
        if r["id"] not in catalog.accelerators or field not in PEAKS + (
                "mem_capacity_gb", "mem_bw_tbps", "scaleup_bw_gbps", "tdp_w"):
            continue
        try:
            v = float(r["value"])
        except ValueError:
            continue
        acc = catalog.accelerator(r["id"])
        if "per chip" in r["unit"] and acc.category == "card":
            v *= per_card.get(r["id"], 1)  # a card holding two chips carries twice the per-chip peak
        fig = getattr(acc, field)
        chosen = fig.value == pytest.approx(v) and fig.source == r["source"] and not fig.source_inherited
        alt = any(a.value == pytest.approx(v) and a.source == r["source"] for a in fig.alternatives)
        assert chosen or alt, (r["id"], field, v, fig.value)
        checked += 1
    assert checked >= 30


def test_additions_give_domestic_chips_known_peaks(catalog):
    # BI-V150: 192 TFLOPS per chip (FlagPerf), two chips per card -> 384 per card, an estimate
    bi = catalog.accelerator("iluvatar-bi-v150")
    assert bi.bf16_tflops.value == 384 and bi.devices_per_package == 2
    assert bi.bf16_tflops.confidence == "estimate" and "192" in bi.bf16_tflops.text
    # MetaX C500: 280 stays (it agrees with the reference table); 240 is kept beside it
    c500 = catalog.accelerator("metax-c500")
    assert c500.bf16_tflops.value == 280
    assert {a.value for a in c500.bf16_tflops.alternatives} >= {240, 280}
    # MetaX C550: memory figures only (its compute peaks are redacted in the source)
    c550 = catalog.accelerator("metax-c550")
    assert (c550.mem_bw_tbps.value, c550.mem_capacity_gb.value, c550.tdp_w.value) == (1.8, 64, 450)
    assert c550.bf16_tflops.value is None
    # Hygon: BW1000 gains BF16 480 and INT8 960; K100-AI keeps 192 with 196 as an alternative
    assert catalog.accelerator("dcu-bw1000").bf16_tflops.value == 480
    assert catalog.accelerator("dcu-bw1000").int8_tops.value == 960
    k100ai = catalog.accelerator("dcu-k100-ai")
    assert k100ai.bf16_tflops.value == 192 and 196 in {a.value for a in k100ai.bf16_tflops.alternatives}
    # Kunlunxin R300: a new record, every figure citing its own FlagPerf file
    r300 = catalog.accelerator("kunlun-r300")
    assert (r300.bf16_tflops.value, r300.mem_capacity_gb.value) == (256, 32)
    assert r300.vendor == catalog.accelerator("kunlun-p800").vendor
    # Moore Threads: S4000 keeps 100 with 98 beside it; S5000 keeps 1000 with the air-cooled 920
    assert 98 in {a.value for a in catalog.accelerator("mtt-s4000").fp16_tflops.alternatives}
    s5000 = catalog.accelerator("mtt-s5000").fp8_tflops
    assert s5000.value == 1000 and 920 in {a.value for a in s5000.alternatives}


# --------------------------------------------------------------------------- import checks
def test_one_spelling_per_vendor(catalog):
    assert vendor_problems(a.vendor for a in catalog.accelerators.values()) == []
    assert {catalog.accelerator(h).vendor for h in ("ascend-910c", "ascend-950pr", "ascend-960")} == {"Huawei"}
    assert canonical_vendor("Huawei (HiSilicon)") == "Huawei"


def test_every_packaged_figure_is_in_its_plausible_range(catalog):
    for acc in catalog.accelerators.values():
        raw = {"id": acc.id, "category": acc.category,
               **{n: f.model_dump() for n, f in acc.figures().items()}}
        assert range_problems(raw) == [], acc.id


def test_range_check_catches_a_product_code_read_as_a_number():
    # "106M 400" once became a TDP of 106,000,000 W
    problems = range_problems({"id": "br106-family", "category": "chip", "tdp_w": {"value": 106e6}})
    assert problems and "tdp_w" in problems[0]
    # a rack-scale row may hold totals far above one chip's range
    assert range_problems({"id": "rack", "category": "system", "tdp_w": {"value": 559_000}}) == []
    low, high = field_range("mem_bw_tbps", "chip")
    assert low > 0 and math.isfinite(high)


def test_br106_tdp_is_not_a_number(catalog):
    br = catalog.accelerator("br106-family")
    assert br.tdp_w.value is None and "106M 400" in br.tdp_w.text


def test_a_figure_without_its_own_source_says_it_inherits(catalog):
    h200 = catalog.accelerator("h200-sxm")
    assert h200.fp64_tflops.source_inherited  # the FP64 figure does not pretend a market article states it
    bw = catalog.accelerator("dcu-bw1000").bf16_tflops
    assert not bw.source_inherited and "hblas-bench" in bw.source and ";" not in bw.source


@pytest.mark.skipif(not ADDITIONS.exists(), reason="shared reference not beside this checkout")
def test_importer_reproduces_the_packaged_catalog(tmp_path):
    """tools/import_reference.py regenerates accelerators.yaml byte for byte (data and code agree)."""
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import import_reference
    finally:
        sys.path.pop(0)
    import_reference.main(["x", str(ADDITIONS.parent), str(tmp_path)])
    packaged = ROOT / "src" / "suanli" / "catalog" / "data" / "accelerators.yaml"
    assert (tmp_path / "accelerators.yaml").read_text(encoding="utf-8") == packaged.read_text(encoding="utf-8")


def test_importer_parses_product_codes_as_text():
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        from import_reference import parse_addition, parse_figure
    finally:
        sys.path.pop(0)
    assert parse_figure("106M 400; 166M 550", "tdp_w")["value"] is None
    assert parse_figure("~8.2M", "price_usd")["value"] == pytest.approx(8.2e6)
    assert parse_addition("1000 (liquid-cooled) / 920 (air-cooled)") == [(1000.0, "liquid-cooled"),
                                                                         (920.0, "air-cooled")]


@pytest.mark.skipif(not ADDITIONS.exists(), reason="shared reference not beside this checkout")
def test_every_figure_cites_its_own_source_or_says_it_inherits(catalog):
    """The import check for provenance: no figure passes off the record's joined URLs as its own source."""
    added = {r["source"] for r in _rows()}
    for acc in catalog.accelerators.values():
        for name, fig in acc.figures().items():
            if fig.value is None:
                continue
            assert fig.source_inherited or fig.source in added or fig.confidence == "measured", (acc.id, name)
            if fig.source_inherited:
                assert fig.source == " ; ".join(acc.sources), (acc.id, name)
