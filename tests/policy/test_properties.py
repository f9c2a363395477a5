"""Properties of the engine (hypothesis): monotone in TPP within a regime; constant between rule changes."""
from __future__ import annotations

import datetime as dt
from functools import lru_cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from suanli.policy.classify import evaluate_spec
from suanli.policy.metrics import ChipSpec
from suanli.policy.regimes import load_rules
from suanli.policy.scenarios import resolve_scenarios
from suanli.policy.schema import ACCESS_ORDER, REVIEW_ORDER

RULES = load_rules()
START = RULES.coverage_from
END = RULES.as_of + dt.timedelta(days=400)
DESTS = ["CN", "HK", "MO", "RU", "MY", "VN", "AE", "JP", "IL", "US"]
SCENARIOS = [None, "safe-chips-act@2025-01-01", "ai-overwatch-act@2025-06-01", "gain-ai-act@2024-01-01",
             "h200-revocation@2026-06-01", "ai-diffusion-enforced@2025-06-01", "draft-global-licensing@2026-01-01",
             "chip-security-act@2025-01-01"]
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@lru_cache(maxsize=None)
def ruleset(name):
    return resolve_scenarios(RULES, name)


dates = st.integers(0, (END - START).days).map(lambda n: START + dt.timedelta(days=n))
specs = st.fixed_dictionaries({
    "pd": st.floats(0.01, 40),
    "dram_bw_gbps": st.floats(0, 10000),
    "io_bidir_gbps": st.floats(0, 3000),
    "datacenter": st.booleans(),
    "us_available": st.sampled_from([True, False, None]),
    "ear_scope": st.sampled_from(["us-origin", "foreign-fdp"]),
    "approved_designer": st.booleans(),
    "transistors_bn": st.floats(0, 100),
    "hbm": st.booleans(),
})


def run(spec, dest, buyer, date, scenario):
    rs = ruleset(scenario)
    code, country = rs.destination(dest)
    return evaluate_spec(spec, code, country, buyer, rs.buyer(buyer), date, rs, with_margins=False)


@SETTINGS
@given(base=specs, t1=st.floats(1, 60000), dt_=st.floats(0, 60000), date=dates, dest=st.sampled_from(DESTS),
       buyer=st.sampled_from(sorted(RULES.vocab.buyers.buyers)), scenario=st.sampled_from(SCENARIOS))
def test_raising_tpp_never_relaxes_the_outcome(base, t1, dt_, date, dest, buyer, scenario):
    lo = run(ChipSpec(tpp=t1, **base), dest, buyer, date, scenario)
    hi = run(ChipSpec(tpp=t1 + dt_, **base), dest, buyer, date, scenario)
    assert REVIEW_ORDER.index(hi.review) >= REVIEW_ORDER.index(lo.review), (lo.rules, hi.rules)
    assert hi.license_required >= lo.license_required
    assert ACCESS_ORDER.index(hi.china_access.status) >= ACCESS_ORDER.index(lo.china_access.status)


@SETTINGS
@given(base=specs, tpp=st.floats(1, 60000), p1=st.floats(0.01, 40), dp=st.floats(0, 40), date=dates,
       dest=st.sampled_from(DESTS), scenario=st.sampled_from(SCENARIOS))
def test_raising_density_never_relaxes_the_outcome(base, tpp, p1, dp, date, dest, scenario):
    base = {k: v for k, v in base.items() if k != "pd"}
    lo = run(ChipSpec(tpp=tpp, pd=p1, **base), dest, "private", date, scenario)
    hi = run(ChipSpec(tpp=tpp, pd=p1 + dp, **base), dest, "private", date, scenario)
    assert REVIEW_ORDER.index(hi.review) >= REVIEW_ORDER.index(lo.review)
    assert hi.license_required >= lo.license_required


CHANGE_POINTS = {s: ruleset(s).change_dates(START, END) for s in SCENARIOS}


@SETTINGS
@given(hw=st.sampled_from(["h20", "h200-sxm", "h800-sxm", "b200", "mi325x", "mi308x", "ascend-910c", "l20"]),
       date=dates, dest=st.sampled_from(DESTS), buyer=st.sampled_from(sorted(RULES.vocab.buyers.buyers)),
       scenario=st.sampled_from(SCENARIOS))
def test_dates_inside_a_regime_window_give_its_result(catalog, hw, date, dest, buyer, scenario):
    """The outcome is constant between consecutive change dates: any date gives the result of its window."""
    from suanli.policy.classify import resolve_spec

    spec, _ = resolve_spec(hw, RULES, catalog)
    start = max(p for p in [START] + CHANGE_POINTS[scenario] if p <= date)
    a = run(spec, dest, buyer, date, scenario)
    b = run(spec, dest, buyer, start, scenario)
    assert a.signature() == b.signature()
    assert [r.id for r in a.rules] == [r.id for r in b.rules]


REGIMES = [
    # (rule id whose window is sampled, chip, expected (eccn, licence, review, fee))
    ("us-ear-acr-2022-10", "a800-sxm", (None, False, "none", 0.0)),
    ("us-ear-acr-2022-10", "a100-sxm", ("3A090.a", True, "presumption_of_denial", 0.0)),
    ("us-ear-acr-2022-10", "h20", (None, False, "none", 0.0)),
    ("us-ear-h200-case-by-case-2026-01", "h200-sxm", ("3A090.a.1", True, "case_by_case", 0.25)),
    ("us-ear-h200-case-by-case-2026-01", "mi325x", ("3A090.a.1", True, "case_by_case", 0.25)),
    ("us-ear-h200-case-by-case-2026-01", "b200", ("3A090.a.1", True, "presumption_of_denial", 0.0)),
    ("us-h20-mi308-revenue-share-2025-08", "h20", (None, True, "case_by_case", 0.15)),
]


@SETTINGS
@given(case=st.sampled_from(REGIMES), frac=st.floats(0, 1))
def test_regime_windows_from_the_data(catalog, case, frac):
    from suanli.policy import classify

    rule_id, hw, expected = case
    vs = RULES.versions_of(rule_id)
    lo = min(v.begin for v in vs)
    hi = max((v.end or RULES.as_of) for v in vs)
    d = lo + dt.timedelta(days=int(frac * (hi - lo).days))
    r = classify(hw, "CN", d, rules=RULES, catalog=catalog)
    assert (r.eccn, r.license_required, r.review, r.fee_fraction) == expected
