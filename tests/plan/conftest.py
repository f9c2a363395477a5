"""A small scenario the plan tests share (fast to plan: a small model, two options, four quarters)."""
from __future__ import annotations

import copy

import pytest

SMALL = {
    "name": "small-test",
    "currency": "CNY",
    "buyer": "private",
    "site": "guizhou",
    "periods": {"start": "2026Q3", "end": "2027Q2"},
    "api_price": "deepseek-v4-pro-offpeak",
    "workloads": [{"id": "chat", "model": "llama-3.1-8b", "isl": 1024, "osl": 512, "tpot_slo_ms": 50,
                   "demand": {"start": 20000, "end": 80000}}],
    "options": [
        {"id": "h20", "hardware": "h20", "system": "hgx-h20", "lead_time_periods": 1, "supply_chips_per_period": 400},
        {"id": "a3", "hardware": "ascend-910c", "system": "atlas-800-a3", "lead_time_periods": 0,
         "supply_chips_per_period": 400},
        {"id": "rent-910c", "hardware": "ascend-910c", "system": "atlas-800-a3", "mode": "rent", "rent_region": "CN",
         "lead_time_periods": 0, "supply_chips_per_period": 200},
    ],
    "constraints": {"min_domestic_share": 0.2},
    "uncertain": [
        {"id": "demand", "target": "demand", "dist": {"kind": "lognormal", "low": 0.8, "high": 1.25}},
        {"id": "h20-price", "target": "price", "options": ["h20"], "dist": {"kind": "uniform", "low": 0.9, "high": 1.2}},
    ],
    "events": [{"id": "h20-stop", "p": 0.3, "options": ["h20"], "from": "2027Q1"}],
}


@pytest.fixture()
def small_scenario():
    return copy.deepcopy(SMALL)


@pytest.fixture(scope="module")
def small_problem_built():
    from suanli.plan.problem import build_problem
    from suanli.plan.scenario import load_scenario

    sc = load_scenario(copy.deepcopy(SMALL))
    return sc, build_problem(sc)
