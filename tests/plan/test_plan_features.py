"""Scenario features end to end: two workloads, demand per day and per period, budgets, power, triangular and
fixed distributions, events that take installed units out of service."""
from __future__ import annotations

import numpy as np
import pytest

from suanli.plan import plan_fleet, plan_risk
from suanli.plan.problem import demand_path
from suanli.plan.scenario import load_scenario


@pytest.fixture()
def two_workloads(small_scenario):
    s = small_scenario
    s["workloads"].append({"id": "batch", "model": "qwen3-32b", "isl": 2048, "osl": 256, "tpot_slo_ms": 100,
                           "demand": {"unit": "output_tokens_per_day",
                                      "values": {"2026Q3": 8.64e8, "2027Q2": 1.728e9}}})
    s["constraints"] = {"budget_per_period": 2.0e7, "power_mw": {"2026Q3": 0.5, "2027Q1": 1.0}}
    s["uncertain"].append({"id": "elec", "target": "electricity", "dist": {"kind": "triangular", "low": 0.8,
                                                                           "mode": 1.0, "high": 1.5}})
    s["uncertain"].append({"id": "fx", "target": "fx", "dist": {"kind": "fixed", "value": 1.05}})
    s["events"].append({"id": "a3-recall", "p": 0.2, "options": ["a3"], "from": "2027Q1", "stops_installed": True})
    return s


def test_demand_per_day_interpolates_between_given_periods(two_workloads):
    sc = load_scenario(two_workloads)
    d = demand_path(sc.workloads[1], sc.periods.labels())
    # 8.64e8 tokens a day = 10,000 tokens/s; 1.728e9 = 20,000 tokens/s; linear in between
    assert d.tolist() == pytest.approx([10_000, 13_333.33, 16_666.67, 20_000], rel=1e-4)


def test_two_workload_plan_respects_every_limit(two_workloads):
    st = plan_fleet(two_workloads, tornado=False)
    pl, p = st.plan, st.plan.problem
    W, O, T = p.shape
    assert W == 2
    served = (pl.assigned * p.cap[:, :, None]).sum(axis=1)
    assert np.all(served + pl.unmet >= p.demand - 1e-6)
    assert np.all(pl.assigned.sum(axis=0) <= pl.installed + 1e-6)
    capex = (pl.orders * np.where(p.own[:, None], p.capex_unit, 0)).sum(axis=0)
    assert np.all(capex <= 2.0e7 + 1e-3)
    assert np.all(np.asarray(pl.cost["onshore_mw_by_period"]) <= np.array([0.5, 0.5, 1.0, 1.0]) + 1e-9)
    # domestic share: domestic tokens >= 20% of all tokens served in each quarter
    tok = pl.assigned * p.cap[:, :, None]
    dom = tok[:, p.domestic, :].sum(axis=(0, 1))
    assert np.all(dom >= 0.2 * tok.sum(axis=(0, 1)) - 1e-6)


def test_risk_with_every_distribution_and_a_recall(two_workloads):
    r = plan_risk(two_workloads, samples=400, seed=2)
    assert r.event_rates["a3-recall"] == pytest.approx(0.2, abs=0.06)
    assert np.isfinite(r.per_mtok["p50"]) and r.per_mtok["p10"] <= r.per_mtok["p90"]
    assert 0.0 <= r.p_unmet <= 1.0
