"""`suanli policy` from the command line: the acceptance cases, tables, JSON and exit codes."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "scenarios"


def j(run_cli, *args):
    code, out, err = run_cli("policy", *args, "--json")
    assert code == 0, err
    return json.loads(out)


# --- acceptance -----------------------------------------------------------------


def test_acceptance_h20_three_dates(run_cli):
    a = j(run_cli, "classify", "h20", "--dest", "CN", "--date", "2024-06-01")
    assert a["license_required"] is False and a["review"] == "none" and a["fee_fraction"] == 0
    b = j(run_cli, "classify", "h20", "--dest", "CN", "--date", "2025-05-01")
    assert b["license_required"] is True
    c = j(run_cli, "classify", "h20", "--dest", "CN", "--date", "2025-09-01")
    assert c["license_required"] is True and c["fee_fraction"] == 0.15
    tpp_line = next(m for m in c["margins"] if m["param"] == "tpp" and m["threshold"] == 2400)
    assert tpp_line["margin"] == -32


def test_acceptance_h200_jan_2026(run_cli):
    d = j(run_cli, "classify", "h200-sxm", "--dest", "CN", "--date", "2026-03-01")
    assert d["review"] == "case_by_case" and d["license_required"] is True
    assert d["fee_fraction"] == 0.25
    assert d["volume_cap"] and "50%" in d["volume_cap"]
    assert any("testing lab" in c for c in d["conditions"])
    rules = {r["id"]: r for r in d["rules"]}
    assert "91 FR 1684" in rules["us-ear-h200-case-by-case-2026-01"]["citation"]
    assert "Proclamation 11002" in rules["us-s232-advanced-chips-tariff-2026-01"]["citation"]
    assert all(r["sources"] for r in d["rules"])
    assert set(d) >= {"eccn", "license_required", "review", "fee_fraction", "volume_cap", "conditions",
                      "china_access", "rules", "margins"}
    assert d["china_access"]["status"] in ("allowed", "restricted", "prohibited")


def test_acceptance_timeline(run_cli):
    d = j(run_cli, "timeline", "h100-sxm", "h800-sxm", "h20", "h200-sxm", "b200", "--dest", "CN")
    assert d["start"] == "2022-10-07" and d["end"] == "2026-11-30"
    chips = {c["hardware"]: c for c in d["chips"]}
    assert list(chips) == ["h100-sxm", "h800-sxm", "h20", "h200-sxm", "b200"]
    changed = {k: [e["date"] for e in c["entries"] if e["outcome_changed"]] for k, c in chips.items()}
    assert changed["h800-sxm"] == ["2022-10-07", "2023-11-17"]
    assert {"2025-04-09", "2025-08-08"} <= set(changed["h20"])
    assert {"2023-11-17", "2026-01-15"} <= set(changed["h200-sxm"])
    for c in chips.values():
        for e in c["entries"][1:]:
            assert e["caused_by"], e


def test_spec_inline_and_file(run_cli):
    d = j(run_cli, "classify", "--spec", "tpp=3000,pd=2.0,datacenter=true", "--dest", "CN", "--date", "2026-03-01")
    assert d["eccn"] == "3A090.b.1" and d["hardware"] is None
    f = j(run_cli, "classify", "--spec", str(EXAMPLES / "spec-h20-successor.yaml"), "--date", "2026-03-01")
    assert f["license_required"] is False and f["name"] == "H20 successor (hypothetical)"


def test_buyer_and_scenario_options(run_cli):
    d = j(run_cli, "classify", "h200-sxm", "--date", "2026-03-01", "--buyer", "state-funded")
    assert d["china_access"]["status"] == "prohibited"
    assert "cn-state-funded-dc-domestic-only-2025-11" in d["china_access"]["measures"]
    s = j(run_cli, "classify", "h200-sxm", "--date", "2027-02-01", "--scenario", "safe-chips-act")
    assert s["review"] == "denial" and s["scenarios"] == ["safe-chips-act"]
    f = j(run_cli, "classify", "h200-sxm", "--date", "2027-02-01", "--scenario", str(EXAMPLES / "levy-40-percent.yaml"))
    assert f["fee_fraction"] == 0.4


def test_thresholds_rules_scenarios_json(run_cli):
    t = j(run_cli, "thresholds", "--dest", "CN", "--date", "2026-03-01")
    assert t["lines"] and t["design"] and t["assumptions"]
    rl = j(run_cli, "rules", "list")
    assert rl["n"] == len(rl["rules"]) >= 30 and rl["coverage_from"] == "2022-10-07"
    show = j(run_cli, "rules", "show", "us-ear-h200-case-by-case-2026-01")
    assert show["rule"]["id"] == "us-ear-h200-case-by-case-2026-01" and show["versions"][0]["from"] == "2026-01-15"
    sc = j(run_cli, "scenarios", "list")
    assert "safe-chips-act" in {s["id"] for s in sc["scenarios"]}
    ss = j(run_cli, "scenarios", "show", str(EXAMPLES / "h200-revoked-2027.yaml"))
    assert ss["rules_changed"] == ["us-ear-h200-case-by-case-2026-01"]
    assert j(run_cli, "destinations")["destinations"] and j(run_cli, "buyers")["buyers"]


def test_human_output_tables(run_cli):
    code, out, _ = run_cli("policy", "classify", "h200-sxm", "--dest", "CN", "--date", "2026-03-01")
    assert code == 0 and "case_by_case" in out and "Rules applied" in out and "Margins" in out
    code, out, _ = run_cli("policy", "timeline", "h20", "--dest", "CN")
    assert code == 0 and "2025-04-09" in out
    code, out, _ = run_cli("policy", "thresholds", "--dest", "CN", "--date", "2026-03-01")
    assert code == 0 and "Design under the line" in out
    code, out, _ = run_cli("policy", "rules", "list")
    assert code == 0 and "us-ear-acs-2023-10" in out
    code, out, _ = run_cli("policy", "rules", "show", "safe-chips-act")
    assert code == 0 and "never (proposed)" in out
    code, out, _ = run_cli("policy", "--help")
    assert code == 0 and "classify" in out and "timeline" in out


@pytest.mark.parametrize("args, fragment", [
    (["classify", "h20", "--dest", "XX", "--date", "2025-01-01"], "unknown destination"),
    (["classify", "h20", "--dest", "CN", "--date", "2021-06-01"], "no rule"),
    (["classify", "h20", "--date", "2025-02-30"], "not a date"),
    (["classify", "--spec", "tpp=3000,pd=2.0,die_area=500", "--date", "2026-03-01"], "contradictory spec"),
    (["classify", "h20", "--spec", "tpp=1", "--date", "2026-03-01"], "not both"),
    (["classify", "--date", "2026-03-01"], "which chip"),
    (["classify", "h2000", "--date", "2026-03-01"], "unknown accelerator"),
    (["classify", "h20", "--buyer", "government", "--date", "2026-03-01"], "unknown buyer"),
    (["classify", "h20", "--scenario", "safe-chips", "--date", "2026-03-01"], "unknown scenario"),
    (["classify", "h20", "--scenario", "/nonexistent/x.yaml", "--date", "2026-03-01"], "file not found"),
    (["rules", "show", "us-ear-2022"], "unknown rule"),
    (["thresholds", "--dest", "CN", "--date", "2020-01-01"], "no rule"),
])
def test_bad_input_exits_2_with_message(run_cli, args, fragment):
    code, out, err = run_cli("policy", *args)
    assert code == 2
    assert fragment in err
    code, out, _ = run_cli("policy", *args, "--json")
    assert code == 2 and json.loads(out)["error"]


def test_malformed_scenario_file_exit_2(run_cli, tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("id: bad\nchanges:\n  - {op: patch, target: us-ear-acs-2023-10, from: 2027-01-01, fee_fraction: 0.4}\n")
    code, _, err = run_cli("policy", "classify", "h20", "--date", "2027-02-01", "--scenario", str(p))
    assert code == 2 and "bad.yaml" in err and "no fee" in err
