"""`suanli cost`, `plan fleet|risk|study|schema` and `runs` from the command line."""
from __future__ import annotations

import json

import pytest
import yaml


@pytest.fixture()
def scenario_file(tmp_path, small_scenario):
    p = tmp_path / "small.yaml"
    p.write_text(yaml.safe_dump(small_scenario, sort_keys=False), encoding="utf-8")
    return p


@pytest.fixture()
def small_scenario():
    from tests.plan.conftest import SMALL

    import copy

    return copy.deepcopy(SMALL)


def test_cost_json_and_table(run_cli):
    code, out, err = run_cli("cost", "--hardware", "h20", "--model", "llama-3.1-8b", "--chips", "8",
                             "--set", "pue=1.3", "--json")
    assert code == 0, err
    d = json.loads(out)
    assert d["chip_hour"]["inputs"]["pue"] == {"value": 1.3, "source": "user input"}
    assert d["per_mtok"]["output"] > 0 and d["chip_hour"]["access"]["fee_fraction"] == 0.15
    code, out, _ = run_cli("cost", "--hardware", "h20", "--model", "llama-3.1-8b", "--chips", "8")
    assert code == 0 and "Cost per chip-hour" in out and "Inputs used" in out


def test_cost_errors(run_cli):
    code, out, err = run_cli("cost", "--hardware", "h20", "--model", "llama-3.1-8b", "--set", "pue=0.2", "--json")
    assert code == 2 and "pue" in json.loads(out)["message"]
    code, _, err = run_cli("cost", "--hardware", "h2000", "--model", "llama-3.1-8b")
    assert code == 2 and "did you mean" in err
    code, _, err = run_cli("cost", "--hardware", "h20", "--model", "llama-3.1-8b", "--site", "mars")
    assert code == 2 and "unknown site" in err
    code, _, err = run_cli("cost", "--hardware", "h20", "--model", "llama-3.1-8b", "--set", "nonsense")
    assert code == 2 and "NAME=VALUE" in err


def test_cost_compare(run_cli):
    code, out, err = run_cli("cost", "compare", "--hardware", "h200-sxm,h20,ascend-910c", "--model", "llama-3.1-8b",
                             "--chips", "8", "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert [r["hardware"] for r in rows] == ["h200-sxm", "h20", "ascend-910c"]
    assert rows[0]["chip_hour"]["access"]["fee_fraction"] == 0.25
    code, out, _ = run_cli("cost", "compare", "--hardware", "h200-sxm,h20", "--model", "llama-3.1-8b", "--chips", "8")
    assert code == 0 and "¥/M out" in out


@pytest.mark.parametrize("opt, value, words", [
    ("--site", "mars", "unknown site 'mars'"), ("--buyer", "alien", "unknown buyer id 'alien'"),
    ("--currency", "XYZ", "unknown currency 'XYZ'"), ("--date", "2030-13-01", "date must be YYYY-MM-DD"),
    ("--model", "nomodel", "unknown model id 'nomodel'"),
])
def test_cost_compare_rejects_a_shared_input_once(run_cli, opt, value, words):
    # an input every chip shares is the user's error (exit 2, one message), not a note on each chip's row;
    # before, it exited 0 with a row of dashes per chip
    args = ["cost", "compare", "--hardware", "h20,b200", "--model", "llama-3.1-8b", "--chips", "8", opt, value]
    code, out, err = run_cli(*args)
    assert code == 2 and words in err and "hint:" in err and "note:" not in err, (code, out, err)
    code, out, _ = run_cli(*args, "--json")
    assert code == 2 and words in json.loads(out)["message"]


def test_cost_compare_keeps_the_other_chips_when_one_id_is_wrong(run_cli):
    code, out, err = run_cli("cost", "compare", "--hardware", "h20,foo", "--model", "llama-3.1-8b", "--chips", "8",
                             "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert "chip_hour" in rows[0] and rows[1]["hardware"] == "foo" and "unknown accelerator" in rows[1]["error"]


def test_plan_fleet_risk_runs(run_cli, scenario_file, tmp_path):
    store = str(tmp_path / "runs.duckdb")
    code, out, err = run_cli("plan", "fleet", str(scenario_file), "--no-tornado", "--store", store, "--json")
    assert code == 0, err
    d = json.loads(out)
    assert d["plan"]["status"] == "optimal" and d["run_id"]
    code, out, err = run_cli("plan", "risk", str(scenario_file), "--samples", "300", "--seed", "4", "--store", store,
                             "--json")
    assert code == 0, err
    r = json.loads(out)
    assert r["samples"] == 300 and r["per_mtok"]["p10"] <= r["per_mtok"]["p90"]
    code, out, _ = run_cli("runs", "list", "--store", store, "--json")
    assert [x["kind"] for x in json.loads(out)] == ["risk", "fleet"]
    code, out, _ = run_cli("runs", "show", r["run_id"], "--store", store, "--json")
    assert json.loads(out)["seed"] == 4
    code, out, _ = run_cli("runs", "compare", d["run_id"], r["run_id"], "--store", store, "--json")
    assert code == 0 and json.loads(out)
    code, out, _ = run_cli("runs", "export", str(tmp_path / "s.csv"), "--table", "samples", "--store", store)
    assert code == 0 and (tmp_path / "s.csv").read_text().count("\n") > 300


def test_plan_risk_same_seed_same_answer(run_cli, scenario_file):
    a = json.loads(run_cli("plan", "risk", str(scenario_file), "-N", "200", "--seed", "9", "--no-store", "--json")[1])
    b = json.loads(run_cli("plan", "risk", str(scenario_file), "-N", "200", "--seed", "9", "--no-store", "--json")[1])
    assert a["per_mtok"] == b["per_mtok"] and a["p_unmet"] == b["p_unmet"]


def test_plan_bad_input(run_cli, scenario_file, tmp_path, small_scenario):
    code, out, _ = run_cli("plan", "risk", str(scenario_file), "--samples", "0", "--no-store", "--json")
    assert code == 2 and "samples" in json.loads(out)["message"]
    code, _, err = run_cli("plan", "risk", str(scenario_file), "--mode", "guess", "--no-store")
    assert code == 2 and "evaluate" in err
    small_scenario["periods"] = {"start": "2027Q2", "end": "2026Q1"}
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(small_scenario, sort_keys=False), encoding="utf-8")
    code, out, _ = run_cli("plan", "fleet", str(bad), "--no-store", "--json")
    e = json.loads(out)
    assert code == 2 and e["field"] == "periods" and e["line"] and e["file"] == str(bad)


def test_plan_schema(run_cli, tmp_path):
    code, out, _ = run_cli("plan", "schema")
    assert code == 0 and json.loads(out)["title"] == "suanli fleet-planning scenario"
    code, _, _ = run_cli("plan", "schema", "-o", str(tmp_path / "s.json"))
    assert code == 0 and json.loads((tmp_path / "s.json").read_text())["properties"]["options"]
