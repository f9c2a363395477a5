"""Cost, plans as background jobs, and the saved runs, through the API."""
from __future__ import annotations

import time

import pytest

SCENARIO = {"name": "small", "periods": {"start": "2026Q1", "end": "2026Q2"},
            "workloads": [{"id": "w", "model": "llama-3.1-8b",
                           "demand": {"start": 1000, "end": 2000, "unmet_penalty_per_mtok": 50}}],
            "options": [{"id": "h20", "hardware": "h20"}]}


@pytest.fixture(scope="module")
def plan_client(tmp_path_factory):
    from fastapi.testclient import TestClient

    from suanli.web import create_app

    store = tmp_path_factory.mktemp("store") / "runs.duckdb"
    with TestClient(create_app(store_path=str(store))) as c:
        yield c


def _wait(c, job: dict, limit_s: float = 180) -> dict:
    t0 = time.time()
    while time.time() - t0 < limit_s:
        j = c.get(job["url"]).json()
        if j["status"] in ("done", "failed"):
            return j
        time.sleep(0.2)
    raise AssertionError(f"job {job['id']} still {j['status']}")


def test_cost_is_the_economics_engine(client):
    import suanli.econ.cost as econ

    d = client.post("/api/v1/cost", json={"hardware": ["h20"], "model": "llama-3.1-70b", "chips": 8,
                                          "tpot_slo_ms": None}).json()
    r = d["results"][0]
    py = econ.serving_cost("h20", "llama-3.1-70b", 8, request={"isl": 1024, "osl": 1024, "weight_dtype": "fp8"})
    assert r["per_mtok"]["output"] == pytest.approx(py.per_mtok["output"], rel=1e-9)
    # cost per million output tokens = cost per chip-hour / (output tokens per chip-hour / 1e6) / utilisation
    ch = r["chip_hour"]
    per = ch["per_chip_hour"] / (r["throughput"]["output"] * 3600 / 1e6) / ch["serving_utilisation"]
    assert r["per_mtok"]["output"] == pytest.approx(per, rel=1e-6)


def test_cost_inputs_validated(client):
    r = client.post("/api/v1/cost", json={"hardware": ["h20"], "model": "deepseek-v3", "inputs": {"pue": 0.5}})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "inputs.pue"
    cheap = client.post("/api/v1/cost", json={"hardware": ["h20"], "model": "llama-3.1-70b", "chips": 8,
                                              "inputs": {"electricity_price": 0.0}}).json()["results"][0]
    dear = client.post("/api/v1/cost", json={"hardware": ["h20"], "model": "llama-3.1-70b", "chips": 8,
                                             "inputs": {"electricity_price": 2.0}}).json()["results"][0]
    assert dear["per_mtok"]["output"] > cheap["per_mtok"]["output"]


def test_fleet_job_progress_result_and_saved_run(plan_client):
    c = plan_client
    r = c.post("/api/v1/plan/fleet", json={"scenario": SCENARIO, "tornado": False})
    assert r.status_code == 202
    job = _wait(c, r.json())
    assert job["status"] == "done", job["error"]
    assert job["progress"] and job["fraction"] == 1.0
    res = job["result"]
    assert res["answer"]["fleet_end"][0]["chips"] == 8  # 2,000 tok/s of Llama-3.1-8B needs one H20 node
    runs = c.get("/api/v1/runs", params={"kind": "fleet"}).json()["runs"]
    assert runs[0]["run_id"] == job["run_id"] == res["run_id"]
    saved = c.get(f"/api/v1/runs/{job['run_id']}").json()
    assert saved["outputs"]["plan"]["per_mtok"] == res["plan"]["per_mtok"]


def test_risk_job(plan_client):
    c = plan_client
    r = c.post("/api/v1/plan/risk", json={"scenario": SCENARIO, "samples": 40, "seed": 3})
    job = _wait(c, r.json())
    assert job["status"] == "done", job["error"]
    h = job["result"]["histogram"]
    assert sum(h["counts"]) == 40
    p = job["result"]["per_mtok"]
    assert p["p10"] <= p["p50"] <= p["p90"]


def test_bad_scenarios_are_422_before_any_job(plan_client):
    c = plan_client
    d = c.post("/api/v1/plan/fleet", json={"scenario_yaml": "name: x\nperiods: 3\n"}).json()
    assert "periods" in d["message"]
    r = c.post("/api/v1/plan/fleet", json={"scenario_yaml": "name: [unclosed\n"})
    assert r.status_code == 422 and "YAML" in r.json()["message"]
    r = c.post("/api/v1/plan/fleet", json={"scenario": SCENARIO, "scenario_yaml": "name: x"})
    assert r.status_code == 422
    bad = {**SCENARIO, "options": [{"id": "x", "hardware": "no-such-chip"}]}
    assert c.post("/api/v1/plan/fleet", json={"scenario": bad}).status_code == 422
    assert c.post("/api/v1/plan/risk", json={"scenario": SCENARIO, "samples": 10**6}).status_code == 422
    assert c.post("/api/v1/plan/risk", json={"scenario": SCENARIO, "samples": 500,
                                             "mode": "replan"}).status_code == 422
    assert c.get("/api/v1/jobs/doesnotexist").status_code == 422
    assert c.get("/api/v1/plan/example").json()["yaml"].startswith("#")


def test_plan_example_is_the_repository_example():
    from importlib import resources
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2] / "examples/scenarios/china-2026-deepseek.yaml"
    packaged = resources.files("suanli.web").joinpath("data", "plan-example.yaml").read_text(encoding="utf-8")
    if repo.exists():
        assert packaged == repo.read_text(encoding="utf-8")
