"""The fleet MILP against brute-force enumeration, its duals, and the diagnosis of infeasible plans."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from suanli.errors import SuanliError
from suanli.plan.fleet import order_costs, solve
from suanli.plan.problem import SECONDS_PER_PERIOD, FleetProblem


def small_problem(rng: np.random.Generator, O: int = 2, T: int = 3, *, must_serve: bool = False,
                  power: float = np.inf, budget: float = np.inf, supply: float = 3.0) -> FleetProblem:
    """A random small instance: owned options only, one workload."""
    return FleetProblem(
        name="small", currency="CNY", periods=[f"2026Q{t + 1}" for t in range(T)], options=[f"o{o}" for o in range(O)],
        option_names=[f"o{o}" for o in range(O)], workloads=["w"], own=np.ones(O, bool), onshore=np.ones(O, bool),
        domestic=np.zeros(O, bool), unit_chips=np.full(O, 8.0), cap=rng.uniform(500, 2000, (1, O)),
        band=np.zeros((1, O)), io_ratio=np.ones(1), capex_unit=rng.uniform(1e5, 1e6, (O, T)),
        cost_capital=rng.uniform(1e4, 5e4, (O, T)), cost_facility=rng.uniform(1e3, 5e3, (O, T)),
        cost_power=rng.uniform(1e3, 5e3, (O, T)), cost_rent=np.zeros((O, T)), usd_share=np.zeros(O),
        kw_unit=rng.uniform(5, 15, O), lead=rng.integers(0, 2, O).astype(float), life=np.full(O, 8.0),
        allowed=rng.random((O, T)) > 0.15, supply_units=np.full((O, T), supply), max_units=np.full(O, np.inf),
        demand=rng.uniform(500, 4000, (1, T)), must_serve=np.array([must_serve]),
        penalty=np.array([rng.uniform(20, 80)]), df=(1.07 ** -((np.arange(T) + 0.5) / 4)),
        budget=np.full(T, budget), power_kw=np.full(T, power), min_domestic_share=0.0,
        cost_of_capital=np.full(O, 0.07), life_years=np.full(O, 2.0))


def brute_force(p: FleetProblem) -> float:
    """Enumerate every order vector within the supply caps; served = min(demand, capacity)."""
    W, O, T = p.shape
    m = p.installed_matrix()
    unit_cost = order_costs(p)
    best = np.inf
    ranges = [range(int(p.supply_units[o, t]) + 1) if p.allowed[o, t] else range(1) for o in range(O) for t in range(T)]
    for combo in itertools.product(*ranges):
        q = np.asarray(combo, float).reshape(O, T)
        if (q * p.capex_unit).sum(axis=0).max() > p.budget.min():
            continue
        inst = np.einsum("ost,os->ot", m, q)
        if ((inst * p.kw_unit[:, None]).sum(axis=0) > p.power_kw + 1e-9).any():
            continue
        capacity = (p.cap[0][:, None] * inst).sum(axis=0)
        unmet = np.maximum(p.demand[0] - capacity, 0.0)
        if p.must_serve[0] and unmet.max() > 1e-9:
            continue
        cost = (unit_cost * q).sum() + (unmet * p.penalty[0] * p.df).sum()
        best = min(best, cost)
    return best


@pytest.mark.parametrize("seed", range(6))
def test_milp_equals_brute_force(seed):
    p = small_problem(np.random.default_rng(seed))
    plan = solve(p, duals=False)
    assert plan.objective == pytest.approx(brute_force(p), rel=1e-6)


@pytest.mark.parametrize("seed", range(3))
def test_milp_equals_brute_force_with_power_and_budget(seed):
    rng = np.random.default_rng(100 + seed)
    p = small_problem(rng, power=25.0, budget=1.2e6)
    plan = solve(p, duals=False)
    assert plan.objective == pytest.approx(brute_force(p), rel=1e-6)


def test_plan_respects_policy_lead_time_and_supply():
    p = small_problem(np.random.default_rng(7), T=4)
    p.allowed[0, :2] = False
    plan = solve(p)
    assert (plan.orders[0, :2] == 0).all()
    assert (plan.orders <= p.supply_units + 1e-9).all()
    m = p.installed_matrix()
    assert np.allclose(plan.installed, np.einsum("ost,os->ot", m, plan.orders))
    # nothing ordered serves before its lead time
    for o in range(2):
        first = np.flatnonzero(plan.orders[o])
        if first.size:
            assert plan.installed[o, : int(first[0] + p.lead[o])].sum() == 0


def test_demand_dual_is_the_marginal_cost_of_a_token_per_second():
    # one option, plenty of supply, demand served by whole units; unmet allowed at a high penalty:
    # the LP at the fixed purchases prices the last token/s at the penalty (nothing else can serve it)
    rng = np.random.default_rng(3)
    p = small_problem(rng, O=1, T=2, supply=50)
    p.penalty[:] = 30.0
    plan = solve(p)
    duals = {b["period"]: b["dual"] for b in plan.binding if b["family"] == "demand"}
    for t, per in enumerate(p.periods):
        cap = (p.cap[0, 0] * plan.installed[0, t])
        if cap < p.demand[0, t]:  # short: the last token/s is bought at the penalty
            assert duals[per] == pytest.approx(p.penalty[0] * p.df[t], rel=1e-6)


def test_cost_per_mtok_is_pv_cost_over_pv_tokens():
    p = small_problem(np.random.default_rng(11))
    plan = solve(p, duals=False)
    served = p.demand - plan.unmet
    tokens = (served * p.df).sum() * SECONDS_PER_PERIOD
    assert plan.per_mtok["output"] == pytest.approx(plan.cost["present_value"]["fleet"] / tokens * 1e6)


def test_infeasible_plan_names_the_relaxation_that_restores_it():
    p = small_problem(np.random.default_rng(5), must_serve=True, supply=0.0)
    p.supply_units[:] = 0.0
    p.lead[:] = 0
    p.allowed[:] = True
    with pytest.raises(SuanliError) as e:
        solve(p)
    assert "supply" in e.value.hint and "unmet" in e.value.hint
    assert set(e.value.relaxations) >= {"supply", "must_serve"}


def test_infeasible_lead_time_is_diagnosed():
    # demand from the first quarter, but every option takes a quarter to arrive
    p = small_problem(np.random.default_rng(6), must_serve=True, supply=20.0)
    p.lead[:] = 1
    p.allowed[:] = True
    with pytest.raises(SuanliError) as e:
        solve(p)
    assert "lead_time" in e.value.relaxations and "supply" not in e.value.relaxations
