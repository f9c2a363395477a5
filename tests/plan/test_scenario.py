"""Scenario files: every inconsistency fails with the file, the line and the field before anything runs."""
from __future__ import annotations

import json

import pytest
import yaml

from suanli.errors import DataError, SuanliError
from suanli.plan.scenario import load_scenario, period_index, scenario_schema


def write(tmp_path, data, name="s.yaml"):
    p = tmp_path / name
    p.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return p


def line_of(path, needle):
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if needle in line:
            return i
    raise AssertionError(needle)


def test_flagship_scenarios_load():
    for f in ("examples/scenarios/china-2026-deepseek.yaml", "examples/scenarios/china-2026-state-funded.yaml"):
        sc = load_scenario(f)
        assert sc.periods.labels()[0] == "2026Q1" and len(sc.periods.labels()) == 12


def test_periods_out_of_order(tmp_path, small_scenario):
    small_scenario["periods"] = {"start": "2027Q1", "end": "2026Q4"}
    p = write(tmp_path, small_scenario)
    with pytest.raises(DataError) as e:
        load_scenario(p)
    assert "out of order" in e.value.reason and e.value.field == "periods"
    assert e.value.line == line_of(p, "periods:")


def test_unknown_hardware_id_with_suggestion(tmp_path, small_scenario):
    small_scenario["options"][0]["hardware"] = "h2000"
    p = write(tmp_path, small_scenario)
    with pytest.raises(DataError) as e:
        load_scenario(p)
    assert e.value.field == "options.0.hardware" and e.value.line == line_of(p, "hardware: h2000")
    assert "h20" in e.value.hint


def test_negative_price(tmp_path, small_scenario):
    small_scenario["options"][0]["economics"] = {"chip_price": -100}
    p = write(tmp_path, small_scenario)
    with pytest.raises(DataError) as e:
        load_scenario(p)
    assert e.value.field == "options.0.economics.chip_price" and e.value.line == line_of(p, "chip_price")
    assert "greater than 0" in e.value.reason


def test_every_problem_is_named_with_its_line(tmp_path, small_scenario):
    # two wrong fields in one file: the message names the first as the error and the second with its line,
    # so one run shows the user everything to fix
    small_scenario["options"][0]["economics"] = {"chip_price": -100}
    small_scenario["options"][1]["hardware"] = 7
    p = write(tmp_path, small_scenario)
    with pytest.raises(DataError) as e:
        load_scenario(p)
    assert e.value.field == "options.0.economics.chip_price" and "greater than 0" in e.value.reason
    assert f"field 'options.1.hardware', line {line_of(p, 'hardware: 7')}: Input should be a valid string" \
        in e.value.reason


def test_distribution_low_above_high(tmp_path, small_scenario):
    small_scenario["uncertain"][1]["dist"] = {"kind": "uniform", "low": 1.5, "high": 0.9}
    p = write(tmp_path, small_scenario)
    with pytest.raises(DataError) as e:
        load_scenario(p)
    assert "low 1.5 > high 0.9" in e.value.reason and e.value.field == "uncertain.1.dist"


def test_option_that_cannot_hold_the_model(tmp_path, small_scenario):
    small_scenario["workloads"][0]["model"] = "deepseek-v3"
    small_scenario["options"][0]["deploy_chips"] = 2
    p = write(tmp_path, small_scenario)
    with pytest.raises(DataError) as e:
        load_scenario(p)
    assert "cannot hold deepseek-v3" in e.value.reason and e.value.field == "options.0.deploy_chips"


def test_unknown_ids_in_events_and_typos(tmp_path, small_scenario):
    small_scenario["events"][0]["options"] = ["nope"]
    with pytest.raises(DataError, match="unknown option 'nope'"):
        load_scenario(write(tmp_path, small_scenario))
    bad = dict(small_scenario, buyer="privat")
    bad["events"] = []
    with pytest.raises(DataError) as e:
        load_scenario(write(tmp_path, bad, "b.yaml"))
    assert e.value.field == "buyer"
    typo = dict(small_scenario, perods=1)
    with pytest.raises(DataError, match="Extra inputs"):
        load_scenario(write(tmp_path, typo, "c.yaml"))


def test_not_a_file_or_not_yaml(tmp_path):
    with pytest.raises(SuanliError, match="not found"):
        load_scenario(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"name: [unclosed\n")
    with pytest.raises(DataError, match="not valid YAML"):
        load_scenario(bad)


def test_schema_is_json_schema_with_every_section():
    s = scenario_schema()
    json.dumps(s)
    assert {"periods", "workloads", "options", "uncertain", "events", "constraints"} <= set(s["properties"])


def test_period_labels():
    assert period_index("2028Q4") - period_index("2026Q1") == 11
    with pytest.raises(ValueError):
        period_index("2026Q5")


def test_policy_scenario_blocks_offshore_rent_from_its_date(small_scenario):
    from suanli.plan.problem import build_problem

    small_scenario["options"].append({"id": "off-b200", "hardware": "b200", "mode": "rent", "location": "MY",
                                      "rent_region": "offshore", "lead_time_periods": 0})
    small_scenario["events"] = []
    small_scenario["policy_scenarios"] = ["remote-access-security-act@2027-01-01"]
    p = build_problem(load_scenario(small_scenario))
    o = p.options.index("off-b200")
    assert p.allowed[o].tolist() == [True, True, False, False]   # 2026Q3, 2026Q4 open; 2027 blocked
    # without the law, renting offshore from a foreign provider stays open; owning offshore is the HQ rule's
    small_scenario["policy_scenarios"] = []
    small_scenario["options"].append({"id": "own-b200-my", "hardware": "b200", "location": "MY"})
    p = build_problem(load_scenario(small_scenario))
    assert p.allowed[p.options.index("off-b200")].all()
    assert not p.allowed[p.options.index("own-b200-my")].any()


def test_state_funded_buyer_gets_no_nvidia(small_scenario):
    from suanli.plan.problem import build_problem

    small_scenario["buyer"] = "state-funded"
    small_scenario["constraints"] = {}
    p = build_problem(load_scenario(small_scenario))
    assert not p.allowed[p.options.index("h20")].any()
    assert p.allowed[p.options.index("a3")].all() and p.domestic[p.options.index("a3")]
