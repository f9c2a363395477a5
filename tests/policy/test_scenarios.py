"""Scenarios: proposed laws enacted, licences revoked, levies raised, rules added; malformed files rejected."""
from __future__ import annotations

from pathlib import Path

import pytest

from suanli.errors import DataError
from suanli.policy import classify
from suanli.policy.scenarios import list_scenarios, resolve_scenarios
from suanli.policy.schema import SpecError, UnknownChoiceError

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "scenarios"


def test_every_proposed_law_is_a_named_scenario(rules):
    names = {s["id"] for s in list_scenarios(rules)}
    assert {"safe-chips-act", "gain-ai-act", "ai-overwatch-act", "chip-security-act",
            "remote-access-security-act", "draft-global-licensing", "h200-revocation",
            "ai-diffusion-enforced"} <= names
    proposed = [r for r in rules.rule_ids() if rules.rule(r).status in ("proposed", "passed_house", "reported_draft")]
    enacted = {c["target"] for s in list_scenarios(rules) for c in s["changes"] if c["op"] == "enact"}
    assert set(proposed) <= enacted


def test_proposed_laws_do_nothing_without_a_scenario():
    base = classify("h200-sxm", "CN", "2027-02-01")
    assert base.review == "case_by_case"
    assert "safe-chips-act" not in {r.id for r in base.rules}


def test_scenario_before_its_date_does_not_apply_and_says_so():
    r = classify("h200-sxm", "CN", "2026-03-01", scenario="safe-chips-act")   # enacted 2026-12-01
    assert r.review == "case_by_case"
    assert any("takes effect from 2026-12-01" in n for n in r.notes)
    r2 = classify("h200-sxm", "CN", "2026-03-01", scenario="safe-chips-act@2026-03-01")
    assert r2.review == "denial"


def test_gain_ai_adds_certifications_and_cap():
    r = classify("h200-sxm", "CN", "2027-02-01", scenario="gain-ai-act")
    assert r.review == "case_by_case" and "first refusal" in r.volume_cap
    assert any("GAIN AI Act" in c for c in r.conditions)


def test_ai_overwatch_blackwell_denied_and_nac_parts_need_licence():
    assert classify("b200", "CN", "2027-02-01", scenario="ai-overwatch-act").review == "denial"
    h200 = classify("h200-sxm", "CN", "2027-02-01", scenario="ai-overwatch-act")
    assert h200.review == "case_by_case" and any("joint resolution" in c for c in h200.conditions)
    b = classify("tpp=3000,pd=2.0", "CN", "2027-02-01", scenario="ai-overwatch-act")
    assert b.license_required and b.license_exception is None


def test_chip_security_act_lags_180_days():
    early = classify("h200-sxm", "CN", "2027-02-01", scenario="chip-security-act@2027-01-01")
    late = classify("h200-sxm", "CN", "2027-07-01", scenario="chip-security-act@2027-01-01")
    assert not any("location-verification" in c for c in early.conditions)
    assert any("location-verification" in c for c in late.conditions)


def test_h200_revocation_removes_the_tariff_too():
    r = classify("h200-sxm", "CN", "2027-02-01", scenario="h200-revocation")
    assert r.review == "presumption_of_denial" and r.fee_fraction == 0 and r.volume_cap is None


def test_ai_diffusion_enforced_caps_tier2():
    base = classify("h100-sxm", "MY", "2027-02-01", buyer="foreign-hq")
    assert not base.license_required
    r = classify("h100-sxm", "MY", "2027-02-01", buyer="foreign-hq", scenario="ai-diffusion-enforced")
    assert r.license_required and r.review == "presumption_of_approval" and "790,000,000 TPP" in r.volume_cap
    assert not classify("h100-sxm", "JP", "2027-02-01", buyer="foreign-hq", scenario="ai-diffusion-enforced").license_required


def test_example_files_apply(rules):
    rev = classify("h200-sxm", "CN", "2027-03-01", scenario=str(EXAMPLES / "h200-revoked-2027.yaml"))
    assert rev.review == "presumption_of_denial" and rev.scenarios == ["h200-revoked-2027"]
    levy = classify("h200-sxm", "CN", "2027-03-01", scenario=str(EXAMPLES / "levy-40-percent.yaml"))
    assert levy.fee_fraction == 0.40
    assert classify("h200-sxm", "CN", "2026-12-31", scenario=str(EXAMPLES / "levy-40-percent.yaml")).fee_fraction == 0.25
    h20 = classify("h20", "CN", "2027-03-01", scenario=str(EXAMPLES / "levy-40-percent.yaml"))
    assert h20.fee_fraction == 0.40
    tight = classify("tpp=2000,pd=2,dram_bw=3500,io=128", "CN", "2027-07-01",
                     scenario=str(EXAMPLES / "safe-chips-tighter-dram.yaml"))
    assert tight.review == "denial"                         # 3,500 >= 3,000 (patched from 4,100)
    added = classify("h20", "CN", "2027-08-01", scenario=str(EXAMPLES / "hbm-bandwidth-rule-2027.yaml"))
    assert added.review == "presumption_of_denial" and "hypothetical-dram-bandwidth-2027" in {x.id for x in added.rules}


def test_scenarios_compose_in_order():
    r = classify("h200-sxm", "CN", "2027-03-01",
                 scenario=[str(EXAMPLES / "levy-40-percent.yaml"), "safe-chips-act@2027-02-01"])
    assert r.scenarios == ["levy-40-percent", "safe-chips-act"] and r.review == "denial"


def _write(tmp_path, text):
    p = tmp_path / "s.yaml"
    p.write_text(text)
    return str(p)


@pytest.mark.parametrize("text, fragment", [
    ("id: x\nchanges:\n  - {op: revoke, target: us-ear-h200-case-by-case-2026, from: 2027-01-01}\n",
     "unknown rule 'us-ear-h200-case-by-case-2026'"),
    ("id: x\nchanges:\n  - {op: revok, target: safe-chips-act, from: 2027-01-01}\n", "Input should be"),
    ("id: x\nchanges:\n  - {op: patch, target: safe-chips-act, from: 2027-01-01}\n", "needs `set`"),
    ("id: x\nchanges:\n  - {op: patch, target: us-ear-acs-2023-10, from: 2027-01-01, fee_fraction: 0.4}\n",
     "has no fee to change"),
    ("id: x\nchanges:\n  - {op: patch, target: us-s232-advanced-chips-tariff-2026-01, from: 2027-01-01, fee_fraction: 1.4}\n",
     "less than or equal to 1"),
    ("id: x\nchanges:\n  - {op: patch, target: us-ear-acs-2023-10, from: 2027-01-01, set: {provisions.nope.effect.review: none}}\n",
     "no item 'nope'"),
    ("id: x\nchanges:\n  - {op: patch, target: us-ear-acs-2023-10, from: 2027-01-01, set: {effective_to: 2027-01-01}}\n",
     "cannot set 'effective_to'"),
    ("id: x\nchanges:\n  - {op: enact, target: us-ear-acs-2023-10, from: 2027-01-01}\n", "already in force"),
    ("id: x\nchanges:\n  - {op: revoke, target: safe-chips-act, form: 2027-01-01}\n", "Field required"),
    ("id: x\nchanges: []\n", "at least 1"),
    ("id: x\nname: y\n", "needs `changes:`"),
    ("- just a list\n", "must be a YAML mapping"),
    ("id: x\nchanges:\n  - {op: revoke, target: safe-chips-act, from: 2027-01-01\n", "not valid YAML"),
    ("id: x\nchanges:\n  - {op: patch, target: us-ear-acs-2023-10, from: 2027-01-01, set: {provisions.a-d1-d4.effect.review: maybe}}\n",
     "patched rule 'us-ear-acs-2023-10' is invalid"),
    ("id: x\nchanges:\n  - op: add\n    from: 2027-01-01\n    rule: {id: r1, name: n, side: us, kind: control, jurisdiction: US, status: hypothetical, "
     "confidence: estimate, sources: [s], provisions: [{id: p, when: {param: tppp, op: '>=', value: 1}, effect: {}}]}\n",
     "unknown parameter 'tppp'"),
])
def test_malformed_scenarios_are_clear_errors(tmp_path, text, fragment):
    with pytest.raises(DataError) as exc:
        classify("h200-sxm", "CN", "2027-03-01", scenario=_write(tmp_path, text))
    assert fragment in str(exc.value)
    assert exc.value.file.endswith("s.yaml") and exc.value.exit_code == 2


def test_malformed_scenario_line_number(tmp_path):
    text = "id: x\nname: y\nchanges:\n  - op: revoke\n    target: nope-rule\n    from: 2027-01-01\n"
    with pytest.raises(DataError) as exc:
        classify("h20", "CN", "2027-03-01", scenario=_write(tmp_path, text))
    assert exc.value.line == 4 and exc.value.record == "x"


def test_unknown_scenario_name_and_bad_date(rules):
    with pytest.raises(UnknownChoiceError) as exc:
        resolve_scenarios(rules, "safe-chip-act")
    assert "safe-chips-act" in exc.value.suggestions
    with pytest.raises(SpecError):
        resolve_scenarios(rules, "safe-chips-act@2027-13-01")
