"""The worked classification table of export_policy.md s.3, reproduced regime by regime.

Inputs are the table's own arithmetic (s.3.1), given as specs so the test does
not depend on catalog figures; a second set of tests runs the catalog parts.
Dates pick a day inside each regime:

- Oct 2022 rule (I/O >= 600 AND TPP >= 4,800): 2023-06-01
- Oct 2023 TPP/PD tiers, before the 2025 letters: 2024-06-01
- April 2025 letters: 2025-05-01; August 2025 deal: 2025-09-01
- Jan 2026 case-by-case rule and s.232 tariff: 2026-03-01
- SAFE Chips Act, if enacted 2027-01-01: 2027-02-01
"""
from __future__ import annotations

import pytest

from suanli.policy import classify
from suanli.policy.metrics import spec_from_mapping

OCT22, OCT23, APR25, AUG25, JAN26, SAFE = "2023-06-01", "2024-06-01", "2025-05-01", "2025-09-01", "2026-03-01", "2027-02-01"

# s.3.1 arithmetic: dense rates (bits -> TOPS), applicable die area, DRAM and bidirectional I/O.
CHIPS = {
    "A100": dict(fp16=312, fp8=624, die_area=826, dram_bw=2039, io=600 + 64, us_available="2020-11-16"),
    "A800": dict(fp16=312, fp8=624, die_area=826, dram_bw=2039, io=400 + 64, us_available="never"),
    "H100": dict(fp16=989.5, fp8=1979, die_area=814, dram_bw=3350, io=900 + 128, us_available="2022-10-01"),
    "H800": dict(fp16=989.5, fp8=1979, die_area=814, dram_bw=3350, io=400 + 128, us_available="never"),
    "H20": dict(fp16=148, fp8=296, die_area=814, dram_bw=4000, io=900 + 128, us_available="never"),
    "H200": dict(fp16=989.5, fp8=1979, die_area=814, dram_bw=4800, io=900 + 128, us_available="2024-04-01"),
    "B200": dict(fp16=2250, fp8=4500, fp4=9000, die_area=1600, dram_bw=8000, io=1800 + 128, us_available="2024-10-01"),
    "B30A": dict(fp8=2250, fp4=7500, die_area=800, dram_bw=4000, io=1800, us_available="never"),
    "MI325X": dict(fp16=1307.4, fp8=2614.9, die_area=2400, dram_bw=6000, io=896 + 128, us_available="2024-10-10"),
    "Ascend 910B (as if US)": dict(fp16=320, die_area=665.61, dram_bw=1600, io=392, us_available="never"),
    "Ascend 910C (as if US)": dict(fp16=800, die_area=1331.2, dram_bw=3200, io=784, us_available="never"),
}


def spec(name: str):
    return spec_from_mapping({"name": name, **CHIPS[name]})


def c(name: str, date: str, **kw):
    return classify(spec(name), "CN", date, **kw)


def test_reference_arithmetic():
    assert spec("A100").tpp == 4992 and round(spec("A100").pd, 2) == 6.04
    assert spec("H100").tpp == 15832 and round(spec("H100").pd, 2) == 19.45
    assert spec("H20").tpp == 2368 and round(spec("H20").pd, 2) == 2.91
    assert spec("B200").tpp == 36000 and spec("B200").pd == 22.5
    assert spec("B30A").tpp == 30000 and spec("B30A").pd == 37.5
    assert round(spec("MI325X").tpp) == 20919 and round(spec("MI325X").pd, 2) == 8.72
    assert spec("Ascend 910B (as if US)").tpp == 5120 and round(spec("Ascend 910B (as if US)").pd, 2) == 7.69
    assert spec("Ascend 910C (as if US)").tpp == 12800 and round(spec("Ascend 910C (as if US)").pd, 2) == 9.62


# --- column 1: Oct 2022 rule --------------------------------------------------


@pytest.mark.parametrize("name, eccn", [
    ("A100", "3A090.a"),      # 664 >= 600 and 4,992 >= 4,800
    ("A800", None),           # 464 < 600: NLR
    ("H100", "3A090.a"),
    ("H800", None),           # 528 < 600: NLR
    ("H20", None),            # 2,368 < 4,800: NLR
    ("H200", "3A090.a"),
    ("B200", "3A090.a"),
    ("Ascend 910B (as if US)", None),  # HCCS ~392 < 600: NLR
])
def test_oct_2022_two_prong_test(name, eccn):
    r = c(name, OCT22)
    assert r.eccn == eccn
    assert r.license_required is (eccn is not None)
    assert r.review == ("presumption_of_denial" if eccn else "none")
    if eccn:
        assert any(x.id == "us-ear-acr-2022-10" for x in r.rules)


def test_oct_2022_interconnect_margin_a800():
    m = next(m for m in c("A800", OCT22).margins if m.param == "io_bidir_gbps" and m.threshold == 600)
    assert m.value == 464 and m.margin == 464 - 600 and m.met is False


def test_macau_added_jan_2023_by_amendment():
    assert classify(spec("A100"), "MO", "2023-01-17").license_required is False
    assert classify(spec("A100"), "MO", "2023-01-18").license_required is True
    assert classify(spec("A100"), "HK", "2022-12-01").license_required is True   # HK is China under the EAR


# --- column 2: Oct 2023 -> 2025 TPP/PD tiers ----------------------------------


@pytest.mark.parametrize("name", ["A100", "A800", "H100", "H800", "H200", "B200", "B30A", "MI325X",
                                  "Ascend 910B (as if US)", "Ascend 910C (as if US)"])
def test_oct_2023_a1_presumption_of_denial(name):
    r = c(name, OCT23)
    assert r.eccn == "3A090.a.1" and r.license_required and r.review == "presumption_of_denial"


def test_oct_2023_a100_also_meets_a2():
    margins = {(m.where, m.param): m for m in c("A100", OCT23).margins}
    # a.1 is matched first; a.2's PD line (6.04 >= 5.92) also holds
    assert margins[("tier 3A090.a.1", "tpp")].margin == 4992 - 4800


def test_oct_2023_h20_just_under_both_b_lines():
    r = c("H20", OCT23)
    assert r.eccn is None and not r.license_required and r.review == "none"
    m = {(m.param, m.op, m.threshold): m for m in r.margins}
    assert m[("tpp", ">=", 2400.0)].margin == 2368 - 2400 == -32      # b.1: 32 under
    assert m[("pd", ">=", 3.2)].margin == pytest.approx(2368 / 814 - 3.2)  # b.2: ~0.29 under
    assert m[("tpp", ">=", 4800.0)].met is False
    assert any(x.id == "us-ear-acs-2023-10" and x.applied_as == "classification" for x in r.rules)


def test_b_tier_part_gets_nac_notification_not_a_licence():
    r = classify("tpp=3000,pd=2.0,datacenter=true", "CN", OCT23)
    assert r.eccn == "3A090.b.1"
    assert r.license_required is False and r.license_exception == "NAC" and r.review == "notification"


def test_non_datacenter_part_under_4800_is_outside_3a090():
    r = classify("tpp=4000,pd=8,datacenter=false", "CN", OCT23)
    assert r.eccn is None and not r.license_required
    r2 = classify("tpp=5000,pd=8,datacenter=false", "CN", OCT23)
    assert r2.eccn == "3A090.a.1" and not r2.license_required and r2.license_exception == "NAC"


def test_d1_d4_destinations_presumption_of_approval_and_aca_after_april_2024():
    r = classify(spec("H100"), "AE", OCT23, buyer="foreign-hq")   # D:4, not D:5
    assert r.license_required and r.review == "presumption_of_approval"
    # a China-headquartered buyer in the UAE: the HQ rule makes it presumption of denial
    assert classify(spec("H100"), "AE", OCT23, buyer="private").review == "presumption_of_denial"
    b_before = classify("tpp=3000,pd=2.0", "VN", "2024-04-03", buyer="foreign-hq")   # D:1: NAC with notification
    b_after = classify("tpp=3000,pd=2.0", "VN", "2024-04-04", buyer="foreign-hq")    # ACA (89 FR 23876)
    assert b_before.license_exception == "NAC" and b_before.review == "notification"
    assert b_after.license_exception == "ACA" and b_after.review == "none"
    assert classify(spec("H100"), "IL", OCT23, buyer="foreign-hq").license_required is False  # A:5/A:6 carve-out
    assert classify(spec("H100"), "JP", OCT23, buyer="foreign-hq").license_required is False


def test_hq_rule_reaches_chinese_buyers_abroad():
    r = classify(spec("H100"), "MY", OCT23, buyer="private")        # China-HQ buyer in Malaysia
    assert r.license_required and r.review == "presumption_of_denial"
    assert classify(spec("H100"), "MY", OCT23, buyer="foreign-hq").license_required is False


# --- column 3: April 2025 letters / August 2025 deal ---------------------------


def test_h20_letters_then_deal_catalog():
    before = classify("h20", "CN", "2025-04-08")
    letters = classify("h20", "CN", APR25)
    deal = classify("h20", "CN", AUG25)
    assert not before.license_required
    assert letters.license_required and letters.fee_fraction == 0
    assert any(r.id == "us-isinformed-h20-mi308-2025-04" for r in letters.rules)
    assert deal.license_required and deal.review == "case_by_case" and deal.fee_fraction == 0.15
    assert deal.fees[0].rule == "us-h20-mi308-revenue-share-2025-08"


def test_h20_spec_caught_by_reported_bandwidth_line():
    r = c("H20", APR25)   # not named: caught because 4,000 GB/s >= 1,400 (reported line)
    assert r.license_required
    m = next(m for m in r.margins if m.param == "dram_bw_gbps" and m.threshold == 1400)
    assert m.margin == 4000 - 1400 and m.confidence == "reported"
    # RTX Pro 6000D was built at 1,398 GB/s, just under the memory line
    under = classify("tpp=2000,pd=2,dram_bw=1398,io=128", "CN", APR25)
    assert not under.license_required


def test_mi308x_named_in_the_letters():
    r = classify("mi308x", "CN", AUG25)
    assert r.license_required and r.fee_fraction == 0.15
    assert {"us-isinformed-h20-mi308-2025-04", "us-h20-mi308-revenue-share-2025-08"} <= {x.id for x in r.rules}


# --- column 4 and 5: Jan 2026 rule and s.232 tariff ----------------------------


@pytest.mark.parametrize("name, review, fee", [
    ("A100", "case_by_case", 0.0),          # inside the band if still sold in the US
    ("A800", "presumption_of_denial", 0.0),  # China-specific: fails US availability
    ("H100", "case_by_case", 0.0),          # 15,832 < 21,000 and 3,350 < 6,500; BW 3,350 < 4,500: no band
    ("H800", "presumption_of_denial", 0.0),
    ("H200", "case_by_case", 0.25),         # band 1 (15,832; 4,800)
    ("B200", "presumption_of_denial", 0.0),  # 36,000 >= 21,000
    ("B30A", "presumption_of_denial", 0.0),  # ~30,000 >= 21,000 (FP4 governs), never sold in the US
    ("MI325X", "case_by_case", 0.25),       # 20,919 < 21,000 (margin 81); band 2 (20,919; 6,000)
    ("Ascend 910B (as if US)", "presumption_of_denial", 0.0),
    ("Ascend 910C (as if US)", "presumption_of_denial", 0.0),
])
def test_jan_2026_case_by_case_band_and_tariff(name, review, fee):
    r = c(name, JAN26)
    assert r.license_required and r.review == review and r.fee_fraction == fee
    if review == "case_by_case":
        assert "50%" in r.volume_cap
        assert any("third-party testing lab in the United States" in x for x in r.conditions)


def test_mi325x_margin_81_under_21000():
    r = c("MI325X", JAN26)
    m = next(m for m in r.margins if m.param == "tpp" and m.threshold == 21000)
    assert m.margin == pytest.approx(2614.9 * 8 - 21000) and round(m.margin) == -81
    assert r.eccn == "3A090.a.1"


def test_h20_not_3a090_stays_under_letters_in_2026():
    r = classify("h20", "CN", JAN26)
    assert r.eccn is None and r.review == "case_by_case" and r.fee_fraction == 0.15
    assert "us-ear-h200-case-by-case-2026-01" not in {x.id for x in r.rules}


def test_b30a_withheld_by_white_house_catalog():
    r = classify("b30a", "CN", JAN26)
    assert r.license_required and r.review == "presumption_of_denial"
    assert "us-b30a-withheld-2025-11" in {x.id for x in r.rules}


# --- column 6: SAFE Chips Act ---------------------------------------------------


@pytest.mark.parametrize("name", ["A100", "A800", "H100", "H800", "H200", "B200", "B30A", "MI325X",
                                  "Ascend 910B (as if US)", "Ascend 910C (as if US)"])
def test_safe_chips_denial(name):
    r = c(name, SAFE, scenario="safe-chips-act@2027-01-01")
    assert r.review == "denial" and r.license_required
    assert r.fee_fraction == 0.0


def test_safe_chips_h20_borderline_depends_on_interconnect():
    # DRAM + I/O with PCIe: 4,000 + 1,028 = 5,028 >= 5,000 -> captured
    r = c("H20", SAFE, scenario="safe-chips-act@2027-01-01")
    assert r.review == "denial"
    m = next(m for m in r.margins if m.param == "dram_plus_io_gbps" and m.threshold == 5000)
    assert m.margin == 28
    # NVLink only: 4,000 + 900 = 4,900 < 5,000, and every other prong misses
    nv = dict(CHIPS["H20"], io=900)
    r2 = classify(spec_from_mapping(nv), "CN", SAFE, scenario="safe-chips-act@2027-01-01")
    assert r2.review != "denial"
    safe = {(m.param, m.threshold): m.margin for m in r2.margins if m.rule == "safe-chips-act"}
    assert safe[("dram_bw_gbps", 4100)] == 4000 - 4100
    assert safe[("io_bidir_gbps", 1100)] == 900 - 1100
    assert safe[("dram_plus_io_gbps", 5000)] == 4900 - 5000
    assert safe[("tpp", 2400)] == -32 and safe[("tpp", 4800)] < 0


# --- Ascend: the binding constraint is Entity List / GP10 ----------------------


def test_ascend_domestic_sale_not_an_export_but_gp10_for_foreign_buyers():
    r = classify("ascend-910c", "CN", JAN26)
    assert r.eccn is None and r.eccn_if_subject_to_ear == "3A090.a.1" and not r.license_required
    assert "us-bis-gp10-ascend-guidance-2025-05" in {x.id for x in r.rules}
    assert any("GP10" in x for x in r.conditions)
    f = classify("ascend-910c", "CN", JAN26, buyer="foreign-hq")
    assert f.license_required and f.review == "presumption_of_denial"
    assert r.china_access.status == "allowed" and r.china_access.power_subsidy_fraction == 0.5
