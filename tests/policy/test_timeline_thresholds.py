"""Timelines (every change, with its cause) and the lines to design under."""
from __future__ import annotations

import datetime as dt

import pytest

from suanli.policy.schema import SpecError
from suanli.policy.thresholds import thresholds
from suanli.policy.timeline import timeline

CHIPS = ["h100-sxm", "h800-sxm", "h20", "h200-sxm", "b200"]


@pytest.fixture(scope="module")
def tl():
    return timeline(CHIPS, "CN")


def _changes(tl, chip):
    c = next(c for c in tl.chips if c.hardware == chip)
    return [e for e in c.entries if e.outcome_changed]


def test_timeline_spans_first_rule_to_today(tl):
    assert tl.start == dt.date(2022, 10, 7) and tl.end == dt.date(2026, 11, 30)
    assert [c.hardware for c in tl.chips] == CHIPS


def test_h800_escapes_2022_and_is_caught_2023(tl):
    ch = _changes(tl, "h800-sxm")
    assert (ch[0].date, ch[0].license_required) == (dt.date(2022, 10, 7), False)
    assert ch[1].date == dt.date(2023, 11, 17) and ch[1].eccn == "3A090.a.1"
    assert "us-ear-acs-2023-10" in ch[1].caused_by
    assert len(ch) == 2                      # China-specific: no case-by-case path in 2026


def test_h20_history(tl):
    ch = _changes(tl, "h20")
    got = [(e.date.isoformat(), e.license_required, e.review, e.fee_fraction, e.china_access) for e in ch]
    assert got == [
        ("2022-10-07", False, "none", 0.0, "allowed"),
        ("2025-04-09", True, "case_by_case", 0.0, "allowed"),
        ("2025-08-08", True, "case_by_case", 0.15, "allowed"),
        ("2025-08-12", True, "case_by_case", 0.15, "restricted"),
    ]
    assert "us-isinformed-h20-mi308-2025-04" in ch[1].caused_by
    assert "us-h20-mi308-revenue-share-2025-08" in ch[2].caused_by
    assert "cn-h20-discouragement-2025-08" in ch[3].caused_by


def test_h200_history(tl):
    ch = {e.date.isoformat(): e for e in _changes(tl, "h200-sxm")}
    assert ch["2022-10-07"].eccn == "3A090.a"
    assert ch["2023-11-17"].eccn == "3A090.a.1"
    assert ch["2026-01-14"].china_access == "prohibited"           # customs told H200s not permitted
    jan15 = ch["2026-01-15"]
    assert jan15.review == "case_by_case" and jan15.fee_fraction == 0.25 and jan15.volume_cap
    assert {"us-ear-h200-case-by-case-2026-01", "us-s232-advanced-chips-tariff-2026-01"} <= set(jan15.caused_by)
    assert ch["2026-01-23"].china_access == "restricted"


def test_h100_and_b200_2026(tl):
    assert _changes(tl, "h100-sxm")[-1].review == "case_by_case"
    b = _changes(tl, "b200")
    assert b[-1].review == "presumption_of_denial" and b[-1].eccn == "3A090.a.1"


def test_timeline_entries_are_the_outcome_on_each_date(tl, rules):
    from suanli.policy import classify

    for c in tl.chips:
        for e in c.entries:
            r = classify(c.hardware, "CN", e.date, rules=rules)
            assert (r.eccn, r.license_required, r.review, r.fee_fraction) == (
                e.eccn, e.license_required, e.review, e.fee_fraction)


def test_timeline_bad_ranges():
    with pytest.raises(SpecError):
        timeline(["h20"], "CN", "2026-01-01", "2025-01-01")
    t = timeline(["h20"], "CN", "2020-01-01", "2023-01-01")
    assert t.start == dt.date(2022, 10, 7) and t.notes
    with pytest.raises(SpecError):
        timeline(["h20"], "CN", "2020-01-01", "2021-01-01")


def test_timeline_state_funded_buyer_loses_foreign_chips():
    t = timeline(["h20"], "CN", "2025-01-01", "2026-11-30", buyer="state-funded")
    last = [e for e in t.chips[0].entries if e.outcome_changed][-1]
    assert last.date == dt.date(2025, 11, 5) and last.china_access == "prohibited"
    assert "cn-state-funded-dc-domestic-only-2025-11" in last.caused_by


def test_thresholds_2024_design_under_the_line():
    t = thresholds("CN", "2024-06-01")
    free = {(d.param, d.given.get("pd")): (d.op, d.limit) for d in t.design if d.target == "licence-free"}
    assert free[("tpp", "pd < 1.6")] == ("<", 4800)
    assert free[("tpp", "1.6 <= pd < 3.2")] == ("<", 2400)
    assert free[("tpp", "3.2 <= pd < 5.92")] == ("<", 1600)
    nolic = {(d.param, d.given.get("pd")): (d.op, d.limit) for d in t.design if d.target == "no-licence"}
    assert nolic[("tpp", "3.2 <= pd < 5.92")] == ("<", 4800)      # 3A090.b: NAC notification, no licence
    assert nolic[("tpp", "pd >= 5.92")] == ("<", 1600)            # 3A090.a.2 above 1,600
    assert {ln.rule for ln in t.lines} == {"us-ear-acs-2023-10"}


def test_thresholds_2026_bandwidth_and_case_by_case_lines():
    t = thresholds("CN", "2026-03-01")
    rows = {(d.target, d.param, tuple(d.given.values())): d for d in t.design}
    dram = rows[("licence-free", "dram_bw_gbps", ("tpp ~0",))]
    assert (dram.op, dram.limit) == ("<", 1400) and dram.binding_rules == ["us-isinformed-h20-mi308-2025-04"]
    io = rows[("licence-free", "io_bidir_gbps", ("tpp ~0",))]
    assert (io.op, io.limit) == ("<", 1100)
    cbc = [d for d in t.design if d.target == "case-by-case" and d.param == "tpp" and "bandwidth" not in d.given]
    assert cbc and all((d.op, d.limit) == ("<", 21000) for d in cbc)
    # DRAM at or above 6,500 GB/s closes the case-by-case path: back to the 2023 tiers
    hi = [d for d in t.design if d.target == "case-by-case" and d.param == "tpp" and "bandwidth" in d.given]
    assert hi and all(d.limit in (4800, 1600) for d in hi)
    cbc_dram = [d for d in t.design if d.target == "case-by-case" and d.param == "dram_bw_gbps" and d.limit]
    assert cbc_dram and cbc_dram[0].limit == 6500
    assert any(ln.rule == "us-s232-advanced-chips-tariff-2026-01" and ln.value == 17500 for ln in t.lines)


def test_thresholds_under_safe_chips():
    t = thresholds("CN", "2027-02-01", scenario="safe-chips-act@2027-01-01")
    cbc = {(d.param, d.given.get("pd")): (d.op, d.limit) for d in t.design if d.target == "case-by-case"}
    assert cbc[("tpp", "pd < 1.6")] == ("<", 4800)            # SAFE: TPP >= 4,800 -> denial
    assert cbc[("tpp", "1.6 <= pd < 3.2")] == ("<", 2400)


def test_thresholds_2022_and_test_shows_both_prongs():
    """Oct 2022: 3A090.a needs I/O >= 600 AND TPP >= 4,800 (87 FR 62186), so each line binds only with the other met."""
    t = thresholds("CN", "2022-10-07")
    rows = {(d.target, d.param, tuple(sorted(d.given.items()))): d for d in t.design if d.target == "licence-free"}
    tpp_hi = [d for (tg, p, g), d in rows.items() if p == "tpp" and dict(g).get("bandwidth")]
    assert tpp_hi and (tpp_hi[0].op, tpp_hi[0].limit) == ("<", 4800)
    io_hi = [d for (tg, p, g), d in rows.items() if p == "io_bidir_gbps" and "every TPP line" in dict(g)["tpp"]]
    assert io_hi and (io_hi[0].op, io_hi[0].limit) == ("<", 600)
