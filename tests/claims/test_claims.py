"""The article's claims: one verdict each, numbers traceable and equal to hand arithmetic."""
from __future__ import annotations

import json
import re
from importlib import resources

import pytest

from suanli.claims import VERDICTS, check_claims, load_claims, load_market
from suanli.claims.check import Expect, CheckResult, passes, verdict
from suanli.errors import DataError


@pytest.fixture(scope="module")
def report():
    return check_claims()


def _article_ids() -> list[str]:
    text = resources.files("suanli.claims").joinpath("data", "claims.md").read_text(encoding="utf-8")
    return re.findall(r"^\| (C\d+) \|", text, flags=re.M)


def test_every_claim_of_claims_md_has_a_verdict(report):
    ids = _article_ids()
    assert len(ids) == 14
    assert [c.id for c in report.claims] == ids
    assert all(c.verdict in VERDICTS for c in report.claims)


def test_packaged_claims_md_is_the_shared_one():
    from pathlib import Path

    shared = Path("/work/shared/seed/claims.md")
    if not shared.exists():
        pytest.skip("the shared reference folder is not on this machine")
    packaged = resources.files("suanli.claims").joinpath("data", "claims.md").read_text(encoding="utf-8")
    assert packaged == shared.read_text(encoding="utf-8")


def test_h20_is_15_percent_dense_and_7_5_only_against_sparse(report):
    c3 = next(c for c in report.claims if c.id == "C3")
    by = {t.label: t for t in c3.tests}
    assert by["Dense BF16 peak (H20 / H200)"].value == pytest.approx(148 / 989.4, rel=1e-4)
    assert by["Dense BF16 peak (H20 / H200)"].passed is False
    assert by["H20 dense BF16 / H200 sparse BF16 (2x dense)"].value == pytest.approx(148 / (2 * 989.4), rel=1e-4)
    assert by["H20 dense BF16 / H200 sparse BF16 (2x dense)"].passed is True
    assert by["TPP (H20 / H200)"].value == pytest.approx(2368 / 15830.4, rel=1e-3)
    assert c3.verdict == "holds_for_metric"


def test_cloudmatrix_peak_and_power(report):
    c5 = next(c for c in report.claims if c.id == "C5")
    by = {t.label: t for t in c5.tests}
    assert by["CloudMatrix 384 dense BF16 peak (TFLOPS)"].value == pytest.approx(384 * 780, rel=0.01)
    assert by["Dense BF16 peak, CloudMatrix 384 / GB200 NVL72"].value == pytest.approx(300_000 / 180_000, rel=1e-3)
    # 300 PF / 559 kW against 180 PF / 132.5 kW
    assert by["Dense BF16 TFLOPS per watt, CloudMatrix 384 / GB200 NVL72"].value == pytest.approx(
        (300_000 / 559_000) / (180_000 / 132_500), rel=1e-3)


def test_policy_claims_hold(report):
    by = {c.id: c for c in report.claims}
    assert by["C6"].verdict == "holds"  # 25% levy, licence, case by case, revocable
    assert by["C7"].verdict == "holds"  # H20 licence from April 2025
    assert by["C8"].verdict == "holds"
    assert by["C4"].verdict == "does_not_hold"  # 4-6 months between the launches, not 18


def test_every_number_has_a_source(report):
    for c in report.claims:
        for t in c.tests:
            if t.error is None:
                assert t.inputs and all(n.source for n in t.inputs), (c.id, t.label)


def test_verdict_rule():
    ok = CheckResult("a", 1.0, {"text": "1"}, True)
    bad = CheckResult("b", 2.0, {"text": "1"}, False)
    info = CheckResult("c", 3.0, None, None)
    err = CheckResult("d", None, {"text": "1"}, None, error="no data")
    assert verdict([ok, info])[0] == "holds"
    assert verdict([ok, bad])[0] == "holds_for_metric"
    assert verdict([bad, info])[0] == "does_not_hold"
    assert verdict([err, info])[0] == "cannot_check"
    assert passes("2024-05", Expect(month="2024-Q2")) and not passes("2024-07", Expect(month="2024-Q2"))
    assert not passes(True, Expect(min=0))


def test_bad_claim_data_names_record_and_field():
    with pytest.raises(DataError) as e:
        load_claims("claims:\n- {id: X1, claim: a, claim_zh: b, kind: k, tests: [{label: t, measure: {nope: 1}}]}\n",
                    file="mine.yaml")
    assert "mine.yaml" in str(e.value) and "X1" in str(e.value) and "measure" in str(e.value)
    with pytest.raises(DataError) as e:
        load_claims("claims:\n- {id: X2, claim: a, kind: k, tests: []}\n", file="mine.yaml")
    assert "X2" in str(e.value)


def test_market_rows_need_a_number_and_a_source():
    head = "topic,entity,metric,value,unit,date,source,confidence,notes\n"
    with pytest.raises(DataError) as e:
        load_market(head + "t,e,m,lots,x,2025,https://a,high,\n", file="m.csv")
    assert "m.csv:2" in str(e.value)
    with pytest.raises(DataError):
        load_market(head + "t,e,m,1,x,2025,,high,\n")
    assert len(load_market()) > 400


def test_cannot_check_when_data_missing():
    from suanli.claims.check import ClaimSpec

    spec = ClaimSpec.model_validate({"id": "X", "claim": "a", "claim_zh": "b", "kind": "market", "tests": [
        {"label": "absent", "measure": {"market": {"topic": "none", "entity": "none", "metric": "none"}},
         "expect": {"min": 1}}]})
    rep = check_claims(claims=[spec])
    assert rep.claims[0].verdict == "cannot_check"


def test_cli_json_gives_every_verdict(run_cli):
    code, out, _ = run_cli("claims", "--json")
    assert code == 0
    d = json.loads(out)
    assert [c["id"] for c in d["claims"]] == _article_ids()
    assert sum(d["counts"].values()) == 14
    code, out, err = run_cli("claims", "C99")
    assert code == 2 and "C99" in err
