"""Expected classifications written from the reference texts, not from the engine's output.

Every case cites where its answer comes from:

- EP x.y      /work/shared/reference/export_policy.md, section x.y (s.3.2 = the worked classification table)
- ER <id>     /work/shared/reference/export_rules.yaml, the record with that id
- AM          /work/shared/reference/accelerators.md (spec caveats; RTX Pro 6000D, BR100)

Chip figures are the catalog's (generated from accelerators.csv) unless products.yaml
supplies a reference figure the catalog lacks (B30A compute, RTX Pro 6000D memory).
A case's ``want`` holds only the fields it asserts: eccn, lic, review, fee, cap (volume cap
present?), cn (Chinese-side access), exc (licence exception), as_if (ECCN if subject to the EAR),
rule (a rule id that must appear), no_rule (one that must not).

Modelling choices the reference leaves open are marked MODEL in the comment.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from suanli.policy import classify

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "scenarios"

PoD, CbC, PoA = "presumption_of_denial", "case_by_case", "presumption_of_approval"
A, A1, A2, B1, B2 = "3A090.a", "3A090.a.1", "3A090.a.2", "3A090.b.1", "3A090.b.2"


def case(cid, hw, dest, date, buyer="private", scenario=None, **want):
    return pytest.param(hw, dest, date, buyer, scenario, want, id=cid)


CASES = [
    # --- Oct 2022 rule: 3A090.a = I/O >= 600 AND TPP >= 4,800; CN + HK; Macau from 2023-01-18; PoD (EP 2.1)
    case("2022-a100-CN", "a100-sxm", "CN", "2022-10-07", eccn=A, lic=True, review=PoD, fee=0.0, cap=False),  # EP 3.2: 664>=600 & 4,992>=4,800
    case("2022-a100-HK", "a100-sxm", "HK", "2022-10-07", eccn=A, lic=True, review=PoD),  # EP 2.1: China incl. HK
    case("2022-a100-MO-before-macau", "a100-sxm", "MO", "2023-01-17", eccn=A, lic=False, review="none"),  # ER us-ear-acr-macau-2023-01
    case("2022-a100-MO-macau-added", "a100-sxm", "MO", "2023-01-18", eccn=A, lic=True, review=PoD),  # 88 FR 2821
    case("2022-a100-VN-not-in-scope", "a100-sxm", "VN", "2022-10-07", "foreign-hq", eccn=A, lic=False),  # EP 2.1: CN+HK only
    case("2022-a800-escapes-io", "a800-sxm", "CN", "2022-10-07", eccn=None, lic=False, review="none"),  # EP 3.2: 464 < 600
    case("2022-h800-last-day", "h800-sxm", "CN", "2023-11-16", eccn=None, lic=False),  # EP 3.2: 528 < 600
    case("2022-h100-last-day", "h100-sxm", "CN", "2023-11-16", eccn=A, lic=True, review=PoD),  # EP 3.2
    case("2022-h20", "h20", "CN", "2022-10-07", eccn=None, lic=False),  # EP 3.2: 2,368 < 4,800
    case("2022-h200", "h200-sxm", "CN", "2022-10-07", eccn=A, lic=True, review=PoD),  # EP 3.2: would be 3A090.a
    case("2022-b200", "b200", "CN", "2022-10-07", eccn=A, lic=True, review=PoD),  # EP 3.2
    case("2022-mi250x", "mi250x", "CN", "2022-10-07", eccn=A, lic=True, review=PoD),  # TPP 6,128, I/O ~864 (est.)
    case("2022-l40s-pcie-only", "l40s", "CN", "2023-06-01", eccn=None, lic=False),  # no NVLink: I/O 64 < 600
    case("2022-ascend-910b3-domestic", "ascend-910b3", "CN", "2022-10-07", eccn=None, lic=False, as_if=None),  # EP 3.2: HCCS ~392 < 600
    case("2022-br100-fdp", "br100", "CN", "2022-10-07", eccn=A, lic=True, review=PoD),  # AM: TSMC-made, FDP rule (EP 2.1)

    # --- Oct 2023 rule: TPP/PD tiers; D1/D4/D5 not A5/A6, MO, HQ:D5/MO (EP 2.2)
    case("2023-h100-first-day", "h100-sxm", "CN", "2023-11-17", eccn=A1, lic=True, review=PoD),  # EP 3.2
    case("2023-a800-caught", "a800-sxm", "CN", "2023-11-17", eccn=A1, lic=True, review=PoD),  # EP 3.2: 4,992 >= 4,800
    case("2023-h800-caught", "h800-sxm", "CN", "2023-11-17", eccn=A1, lic=True, review=PoD),  # EP 3.2
    case("2023-h20-under-both", "h20", "CN", "2023-11-17", eccn=None, lic=False, review="none"),  # EP 3.2: 2,368<2,400; PD 2.91<3.2
    case("2023-l20-under-pd", "l20", "CN", "2024-06-01", eccn=None, lic=False),  # AM: PD 3.14 < 3.2, TPP < 2,400
    case("2023-l40s", "l40s", "CN", "2024-06-01", eccn=A1, lic=True, review=PoD),  # AM: TPP 5,864
    case("2023-mi300x", "mi300x", "CN", "2024-06-01", eccn=A1, lic=True, review=PoD),
    case("2023-mi325x", "mi325x", "CN", "2024-06-01", eccn=A1, lic=True, review=PoD),  # EP 3.2
    case("2023-b30a-reference-estimate", "b30a", "CN", "2024-06-01", eccn=A1, lic=True, review=PoD),  # EP 3.2: ~30,000 (FP4)
    case("2023-br100", "br100", "CN", "2024-06-01", eccn=A1, lic=True, review=PoD),  # AM: TPP 16,384
    case("2023-ascend-910c-as-if", "ascend-910c", "CN", "2024-06-01", eccn=None, lic=False, as_if=A1),  # EP 3.2 (academic)
    case("2023-h100-VN-D1", "h100-sxm", "VN", "2024-06-01", "foreign-hq", eccn=A1, lic=True, review=PoA),  # EP 2.2
    case("2023-h100-SA-D4", "h100-sxm", "SA", "2024-06-01", "foreign-hq", lic=True, review=PoA),  # EP 2.2
    case("2023-h100-IL-A5", "h100-sxm", "IL", "2024-06-01", "foreign-hq", lic=False, review="none"),  # EP 1.4: A:5/A:6 carve-out
    case("2023-h100-JP", "h100-sxm", "JP", "2024-06-01", "foreign-hq", lic=False),
    case("2023-h100-MY-foreign", "h100-sxm", "MY", "2024-06-01", "foreign-hq", lic=False),
    case("2023-h100-MY-cn-hq", "h100-sxm", "MY", "2024-06-01", "private", lic=True, review=PoD),  # EP 1.4: HQ rule
    case("2023-h100-RU-D5", "h100-sxm", "RU", "2024-06-01", "foreign-hq", lic=True, review=PoD),
    case("2023-h100-MO", "h100-sxm", "MO", "2024-06-01", lic=True, review=PoD),
    case("2023-h100-CN-foreign-hq", "h100-sxm", "CN", "2024-06-01", "foreign-hq", lic=True, review=PoD),  # destination test
    case("2023-spec-b1-NAC", "tpp=2400,pd=1.6", "CN", "2024-06-01", eccn=B1, lic=False, review="notification", exc="NAC"),
    case("2023-spec-b2-NAC-D1", "tpp=1600,pd=3.2", "VN", "2024-04-03", "foreign-hq", eccn=B2, lic=False,
         review="notification", exc="NAC"),  # EP 2.2 before the split
    case("2024-spec-b2-ACA-D1", "tpp=1600,pd=3.2", "VN", "2024-04-04", "foreign-hq", eccn=B2, lic=False,
         review="none", exc="ACA"),  # EP 2.2: 89 FR 23876 NAC/ACA split
    case("2023-spec-a2", "tpp=4799,pd=5.92", "CN", "2024-06-01", eccn=A2, lic=True, review=PoD),
    case("2023-spec-under-1600", "tpp=1599,pd=7", "CN", "2024-06-01", eccn=None, lic=False),
    case("2023-spec-non-dc-NAC", "tpp=5000,pd=10,datacenter=false", "CN", "2024-06-01", eccn=A1, lic=False,
         review="notification", exc="NAC"),  # EP 1.3: non-DC 3A090.a, NAC/ACA eligible
    case("2023-spec-non-dc-under", "tpp=3000,pd=10,datacenter=false", "CN", "2024-06-01", eccn=None, lic=False),  # EP 1.3
    case("2024-h20-entity-listed", "h20", "CN", "2024-06-01", "entity-listed", lic=True, review=PoD),  # EP 3.2 FDPR note

    # --- Jan 2025 AI Diffusion: compliance 2025-05-15 never reached, non-enforced from 2025-05-13 (EP 2.4)
    case("2025-diffusion-MY-tier2", "h100-sxm", "MY", "2025-03-01", "foreign-hq", lic=False),  # MODEL: never binding
    case("2025-diffusion-MY-rescinded", "h100-sxm", "MY", "2025-05-13", "foreign-hq", lic=False),

    # --- Apr 2025 is-informed letters (EP 2.6)
    case("2025-h20-day-before", "h20", "CN", "2025-04-08", lic=False, fee=0.0),
    case("2025-h20-letters", "h20", "CN", "2025-04-09", eccn=None, lic=True, review=CbC, fee=0.0),  # MODEL review
    case("2025-h20-acceptance-may", "h20", "CN", "2025-05-01", lic=True, fee=0.0),  # issue 3
    case("2025-h20-HK", "h20", "HK", "2025-05-01", lic=True),  # EP 2.6: incl. HK and Macau
    case("2025-h20-MY-cn-hq", "h20", "MY", "2025-05-01", "private", lic=True),  # EP 2.6: entities HQ'd there
    case("2025-h20-MY-foreign", "h20", "MY", "2025-05-01", "foreign-hq", lic=False),
    case("2025-mi308x-letters", "mi308x", "CN", "2025-05-01", lic=True, fee=0.0),  # EP 2.6
    case("2025-l20-under-lines", "l20", "CN", "2025-05-01", lic=False),  # 864 < 1,400; I/O 64
    case("2025-rtx6000d-under-1400", "rtx-pro-6000d", "CN", "2025-10-01", lic=False, cn="prohibited",
         rule="cn-cac-rtx6000d-ban-2025-09"),  # EP 2.6: 1,398 < 1,400; EP 5: CAC told firms to cancel orders

    # --- May 2025 GP10 guidance (EP 2.7)
    case("2025-ascend-before-gp10", "ascend-910c", "CN", "2025-05-12", no_rule="us-bis-gp10-ascend-guidance-2025-05"),
    case("2025-ascend-gp10", "ascend-910c", "CN", "2025-05-13", lic=False, rule="us-bis-gp10-ascend-guidance-2025-05"),

    # --- Aug 2025: 15 % revenue share for H20/MI308 (EP 2.8)
    case("2025-h20-before-deal", "h20", "CN", "2025-08-07", lic=True, fee=0.0),
    case("2025-h20-deal", "h20", "CN", "2025-08-08", lic=True, review=CbC, fee=0.15),
    case("2025-h20-acceptance-sep", "h20", "CN", "2025-09-01", lic=True, fee=0.15, cn="restricted"),  # issue 3; EP 5
    case("2025-mi308x-deal", "mi308x", "CN", "2025-09-01", lic=True, fee=0.15, cn="allowed"),
    case("2025-h20-RU-no-deal", "h20", "RU", "2025-09-01", "foreign-hq", lic=True, fee=0.0),  # deal is China only
    case("2025-h20-foreign-hq-in-CN", "h20", "CN", "2025-09-01", "foreign-hq", lic=True, fee=0.15, cn="allowed"),
    case("2025-b30a-withheld", "b30a", "CN", "2025-11-06", eccn=A1, lic=True, review=PoD,
         rule="us-b30a-withheld-2025-11"),  # EP 2.9

    # --- Chinese measures (EP 5)
    case("2025-state-funded-before", "h20", "CN", "2025-11-04", "state-funded", cn="restricted"),
    case("2025-state-funded-domestic-only", "h20", "CN", "2025-11-05", "state-funded", cn="prohibited"),
    case("2026-state-funded-domestic-ok", "ascend-910c", "CN", "2026-03-01", "state-funded", cn="allowed"),

    # --- Jan 2026 H200 rule (EP 2.11) + s.232 tariff (EP 2.12)
    case("2026-h200-day-before", "h200-sxm", "CN", "2026-01-14", eccn=A1, lic=True, review=PoD, fee=0.0, cap=False,
         cn="prohibited"),  # EP 5: customs block 2026-01-14
    case("2026-h200-first-day", "h200-sxm", "CN", "2026-01-15", review=CbC, fee=0.25, cap=True, cn="prohibited"),
    case("2026-h200-acceptance", "h200-sxm", "CN", "2026-03-01", eccn=A1, lic=True, review=CbC, fee=0.25, cap=True,
         cn="restricted", rule="us-s232-advanced-chips-tariff-2026-01"),  # issue 3
    case("2026-h200-HK", "h200-sxm", "HK", "2026-03-01", review=CbC, fee=0.25, cap=True, cn="allowed"),
    case("2026-h200-MO", "h200-sxm", "MO", "2026-03-01", review=CbC, fee=0.25, cap=True),  # China and Macau
    case("2026-h200-RU", "h200-sxm", "RU", "2026-03-01", "foreign-hq", review=PoD, fee=0.0, cap=False),
    case("2026-h200-MY-cn-hq", "h200-sxm", "MY", "2026-03-01", "private", lic=True, review=PoD, fee=0.0,
         cap=False),  # EP 2.11: HQ entities outside D:5/MO stay PoD
    case("2026-h200-MY-foreign", "h200-sxm", "MY", "2026-03-01", "foreign-hq", lic=False, fee=0.0),
    case("2026-h200-entity-listed", "h200-sxm", "CN", "2026-03-01", "entity-listed", lic=True, review=PoD, fee=0.0,
         cap=False),  # EP 2.11: certification "not prohibited by end-user controls" fails; no lab import, no tariff
    case("2026-h200-state-funded", "h200-sxm", "CN", "2026-03-01", "state-funded", review=CbC, fee=0.25,
         cn="prohibited"),  # two gates (EP 6)
    case("2026-h200-nvl-outside-band", "h200-nvl", "CN", "2026-03-01", review=CbC, fee=0.0, cap=True),  # TPP 13,368 < 14,000
    case("2026-h100-no-band", "h100-sxm", "CN", "2026-03-01", review=CbC, fee=0.0, cap=True),  # EP 3.2: BW 3,350 < 4,500
    case("2026-mi325x-band-2", "mi325x", "CN", "2026-03-01", review=CbC, fee=0.25, cap=True),  # EP 3.2
    case("2026-mi300x-no-band", "mi300x", "CN", "2026-03-01", review=CbC, fee=0.0, cap=True),  # 5,300 < 5,800
    case("2026-h800-china-sku", "h800-sxm", "CN", "2026-03-01", review=PoD, fee=0.0, cap=False),  # EP 3.2
    case("2026-a800-china-sku", "a800-sxm", "CN", "2026-03-01", review=PoD, cap=False),  # EP 3.2
    case("2026-b200-above-band", "b200", "CN", "2026-03-01", eccn=A1, review=PoD, fee=0.0, cap=False),  # EP 3.2
    case("2026-b300-above-band", "b300", "CN", "2026-03-01", review=PoD),
    case("2026-gb200-above-band", "gb200", "CN", "2026-03-01", review=PoD),
    case("2026-mi355x-above-band", "mi355x", "CN", "2026-03-01", review=PoD),
    case("2026-b30a-above-band", "b30a", "CN", "2026-03-01", review=PoD, fee=0.0),  # EP 3.2: ~30,000 >= 21,000
    case("2026-h20-letter-regime", "h20", "CN", "2026-03-01", eccn=None, lic=True, review=CbC, fee=0.15),  # EP 3.2
    case("2026-l40s-in-band", "l40s", "CN", "2026-03-01", review=CbC, fee=0.0, cap=True),  # rule text (EP 2.11)
    case("2026-a100-in-band", "a100-sxm", "CN", "2026-03-01", review=CbC),  # MODEL: assumes still US-available (EP 3.2)
    case("2026-spec-band-edge", "tpp=20999,pd=10,dram_bw=6499,us_available=true", "CN", "2026-03-01",
         review=CbC, fee=0.0, cap=True),
    case("2026-spec-tpp-21000", "tpp=21000,pd=10,dram_bw=6499,us_available=true", "CN", "2026-03-01", review=PoD),
    case("2026-spec-dram-6500", "tpp=20999,pd=10,dram_bw=6500,us_available=true", "CN", "2026-03-01", review=PoD),
    case("2026-spec-late-availability", "tpp=20999,pd=10,dram_bw=6000,us_available=2026-02-01", "CN", "2026-03-01",
         review=PoD),  # commercially available when the rule was published
    case("2026-spec-band-2", "tpp=20900,pd=10,dram_bw=6000,us_available=true", "CN", "2026-03-01",
         review=CbC, fee=0.25),  # s.232 band 2
    case("2026-guidance-hq", "h100-sxm", "MY", "2026-06-01", "private", review=PoD,
         rule="us-bis-guidance-d5-hq-2026-05"),  # EP 2.13: 2026-05-31
    case("2026-affiliates-suspended", "h200-sxm", "CN", "2026-11-09", "listed-affiliate", review=CbC, fee=0.25),
    case("2026-affiliates-reapplies", "h200-sxm", "CN", "2026-11-10", "listed-affiliate", review=PoD, fee=0.0,
         cap=False),  # ER us-ear-affiliates-rule-2025-09 (status unverified)
    case("today-h200", "h200-sxm", "CN", "2026-11-30", review=CbC, fee=0.25, cap=True, cn="restricted"),
    case("today-h20", "h20", "CN", "2026-11-30", lic=True, review=CbC, fee=0.15, cn="restricted"),

    # --- Scenarios: proposed laws (EP 4) and the example files
    case("safe-h200-denied", "h200-sxm", "CN", "2027-01-01", scenario="safe-chips-act", lic=True, review="denial",
         fee=0.0, cap=False),  # EP 3.2: denial (30 months)
    case("safe-h20-combined-prong", "h20", "CN", "2027-01-01", scenario="safe-chips-act", review="denial", fee=0.0),
    # EP 3.2: DRAM+I/O 4,000 + 1,028 (NVLink + PCIe, EP 1.4) = 5,028 >= 5,000 (borderline)
    case("safe-l20-under", "l20", "CN", "2027-01-01", scenario="safe-chips-act", lic=False),
    case("safe-not-yet", "h20", "CN", "2026-11-30", scenario="safe-chips-act", review=CbC, fee=0.15),
    case("safe-mi325x", "mi325x", "CN", "2027-01-01", scenario="safe-chips-act", review="denial", fee=0.0),
    case("gain-h200-cap", "h200-sxm", "CN", "2027-01-01", scenario="gain-ai-act", review=CbC, fee=0.25, cap=True),
    case("overwatch-b200-denied", "b200", "CN", "2027-01-01", scenario="ai-overwatch-act", review="denial"),
    case("overwatch-h200-review", "h200-sxm", "CN", "2027-01-01", scenario="ai-overwatch-act", review=CbC, fee=0.25),
    case("chip-security-conditions", "h200-sxm", "CN", "2027-07-01", scenario="chip-security-act", review=CbC,
         fee=0.25),
    case("h200-revocation", "h200-sxm", "CN", "2027-01-01", scenario="h200-revocation", review=PoD, fee=0.0,
         cap=False),
    case("diffusion-enforced-tier2", "h100-sxm", "MY", "2027-01-01", "foreign-hq", scenario="ai-diffusion-enforced",
         lic=True, review=PoA, cap=True),  # ER us-ear-ai-diffusion-2025-01
    case("diffusion-enforced-tier1", "h100-sxm", "JP", "2027-01-01", "foreign-hq", scenario="ai-diffusion-enforced",
         lic=False, exc="AIA"),
    case("draft-global", "h100-sxm", "MY", "2027-01-01", "foreign-hq", scenario="draft-global-licensing",
         lic=True, review=CbC, cap=True),
    case("ex-revoked-before", "h200-sxm", "CN", "2026-12-31", scenario=str(EXAMPLES / "h200-revoked-2027.yaml"),
         review=CbC, fee=0.25),
    case("ex-revoked-after", "h200-sxm", "CN", "2027-03-01", scenario=str(EXAMPLES / "h200-revoked-2027.yaml"),
         review=PoD, fee=0.0, cap=False),
    case("ex-levy-40-h200", "h200-sxm", "CN", "2027-03-01", scenario=str(EXAMPLES / "levy-40-percent.yaml"),
         review=CbC, fee=0.40),
    case("ex-levy-40-h20", "h20", "CN", "2027-03-01", scenario=str(EXAMPLES / "levy-40-percent.yaml"), fee=0.40),
    case("ex-levy-40-before", "h200-sxm", "CN", "2026-12-31", scenario=str(EXAMPLES / "levy-40-percent.yaml"),
         fee=0.25),
    case("ex-dram-rule-h20", "h20", "CN", "2027-08-01", scenario=str(EXAMPLES / "hbm-bandwidth-rule-2027.yaml"),
         lic=True, review=PoD, fee=0.0),  # PoD closes the licensed-with-levy route
    case("ex-dram-rule-before", "h20", "CN", "2027-06-30", scenario=str(EXAMPLES / "hbm-bandwidth-rule-2027.yaml"),
         review=CbC, fee=0.15),
    case("ex-safe-dram-h20", "h20", "CN", "2027-07-01", scenario=str(EXAMPLES / "safe-chips-tighter-dram.yaml"),
         review="denial", fee=0.0),
    case("ex-safe-dram-l20", "l20", "CN", "2027-07-01", scenario=str(EXAMPLES / "safe-chips-tighter-dram.yaml"),
         lic=False),  # 864 < 3,000
]


@pytest.mark.parametrize("hw, dest, date, buyer, scenario, want", CASES)
def test_reference_case(rules, catalog, hw, dest, date, buyer, scenario, want):
    c = classify(hw, dest, date, buyer, scenario, rules=rules, catalog=catalog)
    got = {
        "eccn": c.eccn, "lic": c.license_required, "review": c.review, "fee": c.fee_fraction,
        "cap": c.volume_cap is not None, "cn": c.china_access.status, "exc": c.license_exception,
        "as_if": c.eccn_if_subject_to_ear,
    }
    ids = {r.id for r in c.rules}
    for k, v in want.items():
        if k == "rule":
            assert v in ids, (k, v, sorted(ids))
        elif k == "no_rule":
            assert v not in ids, (k, v)
        elif k == "fee":
            assert got["fee"] == pytest.approx(v), (k, got)
        else:
            assert got[k] == v, (k, got)


def test_spec_file_h20_successor(rules):
    """examples/scenarios/spec-h20-successor.yaml: under every 2026 line (TPP 2,384; PD 2.93; 1,350 GB/s)."""
    from suanli.policy.metrics import spec_from_mapping
    from suanli.policy.regimes import read_yaml_file

    data = read_yaml_file(EXAMPLES / "spec-h20-successor.yaml").data["spec"]
    c = classify(spec_from_mapping(data), "CN", "2026-03-01", rules=rules)
    assert (c.eccn, c.license_required, c.review, c.fee_fraction) == (None, False, "none", 0.0)


# --- margins: the distance to each line (value - threshold) ------------------------------------


def _margin(c, rule, param, threshold):
    return next(m for m in c.margins if m.rule == rule and m.param == param and m.threshold == threshold)


def test_margins_h20_and_h200(rules, catalog):
    h20 = classify("h20", "CN", "2024-06-01", rules=rules, catalog=catalog)
    assert _margin(h20, "us-ear-acs-2023-10", "tpp", 2400).margin == pytest.approx(-32)   # EP 2.2: 2,368 vs 2,400
    assert _margin(h20, "us-ear-acs-2023-10", "pd", 3.2).margin == pytest.approx(2368 / 814 - 3.2)
    h200 = classify("h200-sxm", "CN", "2026-03-01", rules=rules, catalog=catalog)
    rule = "us-ear-h200-case-by-case-2026-01"
    assert _margin(h200, rule, "dram_bw_gbps", 6500).margin == pytest.approx(-1700)       # 4,800 vs 6,500
    assert _margin(h200, rule, "tpp", 21000).margin == pytest.approx(15832 - 21000, abs=1)  # 15,832 vs 21,000
    mi325x = classify("mi325x", "CN", "2026-03-01", rules=rules, catalog=catalog)
    assert _margin(mi325x, rule, "tpp", 21000).margin == pytest.approx(-81, abs=1)         # EP 3.2: margin 81


def test_rules_entries_have_explicit_roles(rules, catalog):
    """A rule listed twice (the Oct 2023 rule classifies, then sets the licence) says what each entry did."""
    c = classify("h200-sxm", "CN", "2026-03-01", rules=rules, catalog=catalog)
    keys = [(r.id, r.applied_as) for r in c.rules]
    assert len(keys) == len(set(keys))
    roles = {(r.id, r.role) for r in c.rules}
    assert {("us-ear-acs-2023-10", "classification"), ("us-ear-acs-2023-10", "licence"),
            ("us-ear-h200-case-by-case-2026-01", "licence"), ("us-s232-advanced-chips-tariff-2026-01", "levy"),
            ("us-isinformed-h20-mi308-2025-04", "no-change")} <= roles
    listed = classify("h200-sxm", "CN", "2026-03-01", "entity-listed", rules=rules, catalog=catalog)
    assert {r.role for r in listed.rules if r.id == "us-ear-h200-case-by-case-2026-01"} == {"overridden"}
    assert any("no longer applies" in n for n in listed.notes)


# --- timeline: every change, and only real changes, Oct 2022 to today --------------------------


def test_timeline_five_chips_exact(run_cli):
    code, out, err = run_cli("policy", "timeline", "h100-sxm", "h800-sxm", "h20", "h200-sxm", "b200",
                             "--dest", "CN", "--json")
    assert code == 0, err
    d = json.loads(out)
    got = {c["hardware"]: [(e["date"], e["eccn"], e["license_required"], e["review"], e["fee_fraction"],
                            bool(e["volume_cap"]), e["china_access"]) for e in c["entries"]] for c in d["chips"]}
    assert got["h100-sxm"] == [
        ("2022-10-07", A, True, PoD, 0.0, False, "allowed"),       # EP 2.1
        ("2023-11-17", A1, True, PoD, 0.0, False, "allowed"),      # EP 2.2
        ("2026-01-15", A1, True, CbC, 0.0, True, "allowed"),       # EP 2.11 (no tariff band)
    ]
    assert got["h800-sxm"] == [
        ("2022-10-07", None, False, "none", 0.0, False, "allowed"),
        ("2023-11-17", A1, True, PoD, 0.0, False, "allowed"),
    ]
    assert got["h20"] == [
        ("2022-10-07", None, False, "none", 0.0, False, "allowed"),
        ("2025-04-09", None, True, CbC, 0.0, False, "allowed"),    # EP 2.6
        ("2025-08-08", None, True, CbC, 0.15, False, "allowed"),   # EP 2.8
        ("2025-08-12", None, True, CbC, 0.15, False, "restricted"),  # EP 5
    ]
    assert got["h200-sxm"] == [
        ("2022-10-07", A, True, PoD, 0.0, False, "allowed"),
        ("2023-11-17", A1, True, PoD, 0.0, False, "allowed"),
        ("2026-01-07", A1, True, PoD, 0.0, False, "restricted"),   # EP 5: pause
        ("2026-01-14", A1, True, PoD, 0.0, False, "prohibited"),   # EP 5: customs
        ("2026-01-15", A1, True, CbC, 0.25, True, "prohibited"),   # EP 2.11 + 2.12
        ("2026-01-23", A1, True, CbC, 0.25, True, "restricted"),   # EP 5: NDRC approvals
    ]
    assert got["b200"] == [
        ("2022-10-07", A, True, PoD, 0.0, False, "allowed"),
        ("2023-11-17", A1, True, PoD, 0.0, False, "allowed"),
    ]
    for c in d["chips"]:
        assert all(e["outcome_changed"] for e in c["entries"])
        assert sum(w.startswith("applied from reported") for w in c["warnings"]) <= 1


# --- errors: each a clear message and exit 2 -------------------------------------------------------


@pytest.mark.parametrize("args, fragment", [
    (["classify", "h20", "--dest", "ZZ", "--date", "2025-01-01"], "unknown destination"),
    (["classify", "h20", "--dest", "D5", "--date", "2025-01-01"], "country group"),
    (["classify", "h20", "--date", "2022-10-06"], "no rule"),
    (["classify", "h20", "--date", "20250101"], "not a date"),
    (["classify", "h20", "--date", "2025-1-1"], "not a date"),
    (["classify", "--spec", "tpp=3000,bf16=100", "--date", "2025-01-01"], "contradictory spec"),
    (["classify", "--spec", "tpp=3000,pd=2,die_area=500", "--date", "2025-01-01"], "contradictory spec"),
    (["classify", "--spec", "tpp=3000,us_available=2026-1-15", "--date", "2026-03-01"], "us_available"),
    (["timeline", "h20", "--from", "2026-01-01", "--to", "2025-01-01"], "before"),
    (["thresholds", "--date", "2026-3-1"], "not a date"),
])
def test_errors_exit_2(run_cli, args, fragment):
    code, _, err = run_cli("policy", *args)
    assert code == 2 and fragment in err, err


def test_malformed_scenario_reports_line(run_cli, tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("id: bad\nchanges:\n  - op: patch\n    target: us-ear-acs-2023-10\n    from: 2027-01-01\n"
                 "    sett: {x: 1}\n")
    code, _, err = run_cli("policy", "classify", "h20", "--date", "2027-02-01", "--scenario", str(p))
    assert code == 2 and "bad.yaml:6" in err
    q = tmp_path / "bad2.yaml"
    q.write_text("id: bad2\nchanges:\n  - {op: patch, target: safe-chips-act, from: 2027-01-01,\n"
                 "     set: {provisions.advanced-ic.when.all_of.1.any_of.4.value: x}}\n")
    code, _, err = run_cli("policy", "classify", "h20", "--date", "2027-02-01", "--scenario", str(q))
    assert code == 2 and "bad2.yaml:" in err and "is a number" in err
