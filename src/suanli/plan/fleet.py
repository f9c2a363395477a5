"""The fleet plan: a mixed-integer program solved with HiGHS.

Decision: how many units of each option to order (own) or rent in each
quarter. Variables are indexed arrays (``q[option, period]`` units ordered,
``a[workload, option, period]`` units serving a workload, ``u[workload,
period]`` output tokens/s not served); constraints are array expressions in
families (demand, capacity, supply, budget, power, domestic share, max
units); policy access and availability are bounds. The objective is the
present value of capital recovery, facility, power and rent over the units'
periods in service, plus unmet demand at its penalty (an API's price).

After the MILP, the integer orders are fixed and the LP is re-solved for the
duals of the constraints that involve continuous variables; constraints on
orders alone (supply, budget, power) get their marginal value by re-solving
the MILP with that limit relaxed.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import highspy
import numpy as np

from suanli.errors import SuanliError
from suanli.plan.problem import SECONDS_PER_PERIOD, FleetProblem

#: the model is built in millions of currency and thousands of tokens/s (HiGHS wants coefficients near 1)
COST_SCALE = 1e-6
TPS_SCALE = 1e-3
#: how each family's rows are scaled from real units (tokens/s, currency) in the model
ROW_SCALE = {"demand": TPS_SCALE, "domestic_share": TPS_SCALE, "budget": COST_SCALE}
INT = highspy.HighsVarType.kInteger
CONT = highspy.HighsVarType.kContinuous
TOL = 1e-6


_QUIET = False


def new_highs() -> highspy.Highs:
    """A silent HiGHS instance (its one-time banner goes to /dev/null, not into a command's JSON)."""
    global _QUIET
    if _QUIET:
        h = highspy.Highs()
    else:
        import os
        import sys

        sys.stdout.flush()
        saved = os.dup(1)
        try:
            with open(os.devnull, "w") as null:
                os.dup2(null.fileno(), 1)
                h = highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        _QUIET = True
    h.silent()
    return h


@dataclass
class Model:
    h: highspy.Highs
    q: Any
    a: Any
    u: Any
    rows: dict[str, tuple[Any, str, dict]]   # name -> (constraint, family, labels)


def order_costs(p: FleetProblem) -> np.ndarray:
    """(O, T) present value of one unit ordered in each period, over its periods in service in the horizon."""
    m = p.installed_matrix()                                   # (O, S, T)
    per = np.where(p.own[:, None], p.cost_capital + p.cost_facility + p.cost_power, p.cost_rent)  # (O, S)
    return per * (m * p.df[None, None, :]).sum(axis=2)


def build(p: FleetProblem, *, integer: bool = True, fixed: np.ndarray | None = None,
          relax: dict[str, float] | None = None, drop: frozenset[str] = frozenset(), gap: float = 1e-6) -> Model:
    """The MILP of ``p``. ``fixed`` fixes the purchases (LP for duals); ``relax`` adds to named limits;
    ``drop`` leaves out whole constraint families (to find what makes a plan infeasible)."""
    W, O, T = p.shape
    relax = relax or {}
    h = new_highs()
    h.setOptionValue("random_seed", 0)
    h.setOptionValue("threads", 1)
    h.setOptionValue("mip_rel_gap", gap)
    h.setOptionValue("time_limit", 60.0)
    ub_q = np.where(p.allowed | ("policy" in drop), np.inf, 0.0)
    if "lead_time" in drop:
        ub_q = np.where(True, ub_q, 0.0)
    q = h.addVariables(O, T, lb=0, ub=highspy.kHighsInf, type=INT if integer else CONT, name_prefix="q")
    for o in range(O):
        for t in range(T):
            lo, hi = 0.0, ub_q[o, t]
            if fixed is not None and p.own[o]:
                lo = hi = float(fixed[o, t])  # the integer decisions; rentals stay free in the LP
            h.changeColBounds(q[o, t].index, lo, hi if np.isfinite(hi) else highspy.kHighsInf)
            if integer and not p.own[o]:
                # capacity is rented by the accelerator-hour: a fraction of a unit is a fraction of its chips
                h.changeColIntegrality(q[o, t].index, CONT)
    a = h.addVariables(W, O, T, lb=0, name_prefix="a")
    u_ub = [0.0 if (p.must_serve[w] and "must_serve" not in drop) else highspy.kHighsInf for w in range(W)]
    u = h.addVariables(W, T, lb=0, name_prefix="u")
    for w in range(W):
        for t in range(T):
            h.changeColBounds(u[w, t].index, 0.0, u_ub[w])
    m = p.installed_matrix()
    if "lead_time" in drop:
        s_idx = np.arange(T)[:, None]
        t_idx = np.arange(T)[None, :]
        for o in range(O):
            m[o] = ((t_idx >= s_idx) & (t_idx < s_idx + (p.life[o] if p.own[o] else 1))).astype(float)
    rows: dict[str, tuple[Any, str, dict]] = {}

    def add(name: str, expr, family: str, **labels) -> None:
        rows[name] = (h.addConstr(expr, name=name), family, labels)

    inst = [[h.qsum([m[o, s, t] * q[o, s] for s in range(T) if m[o, s, t]]) if m[o, :, t].any() else None
             for t in range(T)] for o in range(O)]
    for w in range(W):
        for t in range(T):
            expr = h.qsum([float(p.cap[w, o] * TPS_SCALE) * a[w, o, t] for o in range(O) if p.cap[w, o] > 0]) + u[w, t]
            add(f"demand[{p.workloads[w]},{p.periods[t]}]",
                expr >= float(p.demand[w, t] * TPS_SCALE) - relax.get("demand", 0) * TPS_SCALE,
                "demand", workload=p.workloads[w], period=p.periods[t])
    for o in range(O):
        for t in range(T):
            used = h.qsum([a[w, o, t] for w in range(W)])
            if inst[o][t] is None:
                add(f"capacity[{p.options[o]},{p.periods[t]}]", used <= 0, "capacity",
                    option=p.options[o], period=p.periods[t])
            else:
                add(f"capacity[{p.options[o]},{p.periods[t]}]", used - inst[o][t] <= 0, "capacity",
                    option=p.options[o], period=p.periods[t])
    if "supply" not in drop:
        for o in range(O):
            for t in range(T):
                s = p.supply_units[o, t]
                if np.isfinite(s):
                    key = f"supply[{p.options[o]},{p.periods[t]}]"
                    add(key, q[o, t] <= float(np.floor(s + TOL)) + relax.get(key, 0), "supply",
                        option=p.options[o], period=p.periods[t])
        for o in range(O):
            if np.isfinite(p.max_units[o]):
                key = f"max_units[{p.options[o]}]"
                add(key, h.qsum([q[o, t] for t in range(T)]) <= float(p.max_units[o]) + relax.get(key, 0),
                    "max_units", option=p.options[o])
    if "budget" not in drop:
        for t in range(T):
            if np.isfinite(p.budget[t]):
                key = f"budget[{p.periods[t]}]"
                terms = [float(p.capex_unit[o, t] * COST_SCALE) * q[o, t] for o in range(O)
                         if p.own[o] and p.capex_unit[o, t] > 0]
                if terms:
                    add(key, h.qsum(terms) <= float(p.budget[t] * COST_SCALE) + relax.get(key, 0) * COST_SCALE, "budget",
                        period=p.periods[t])
    if "power" not in drop:
        for t in range(T):
            if np.isfinite(p.power_kw[t]):
                terms = [float(p.kw_unit[o]) * inst[o][t] for o in range(O) if p.kw_unit[o] > 0 and inst[o][t] is not None]
                if terms:
                    key = f"power[{p.periods[t]}]"
                    add(key, h.qsum(terms) <= float(p.power_kw[t]) + relax.get(key, 0), "power", period=p.periods[t])
    if p.min_domestic_share > 0 and "domestic_share" not in drop:
        share = p.min_domestic_share
        for t in range(T):
            expr = h.qsum([float(p.cap[w, o] * TPS_SCALE) * ((1.0 if p.domestic[o] else 0.0) - share) * a[w, o, t]
                           for w in range(W) for o in range(O) if p.cap[w, o] > 0])
            key = f"domestic_share[{p.periods[t]}]"
            add(key, expr >= -relax.get(key, 0) * TPS_SCALE, "domestic_share", period=p.periods[t])
    cost = order_costs(p) * COST_SCALE
    obj = h.qsum([float(cost[o, t]) * q[o, t] for o in range(O) for t in range(T) if cost[o, t] > 0])
    obj = obj + h.qsum([float(p.df[t] * p.penalty[w] * COST_SCALE / TPS_SCALE) * u[w, t]
                        for w in range(W) for t in range(T)])
    h.setMinimize()
    h.setObjective(obj)
    return Model(h, q, a, u, rows)


@dataclass
class FleetPlan:
    """The plan: orders and fleet per period, cost, served and unmet demand, what binds."""

    name: str
    status: str
    currency: str
    periods: list[str]
    options: list[str]
    workloads: list[str]
    orders: np.ndarray          # (O, T) units ordered/rented
    installed: np.ndarray       # (O, T) units in service
    assigned: np.ndarray        # (W, O, T) units serving each workload
    unmet: np.ndarray           # (W, T) output tokens/s not served
    objective: float            # present value of all costs incl. unmet penalty
    cost: dict[str, Any]
    per_mtok: dict[str, float]
    binding: list[dict]
    blocked: list[dict]
    solve_ms: float
    problem: FleetProblem = field(repr=False)
    warnings: list[str] = field(default_factory=list)

    def fleet_table(self) -> list[dict]:
        """One row per period x option with orders, units and chips in service, utilisation."""
        p = self.problem
        rows = []
        for t, per in enumerate(self.periods):
            for o, opt in enumerate(self.options):
                inst = float(self.installed[o, t])
                if self.orders[o, t] == 0 and inst == 0:
                    continue
                used = float(self.assigned[:, o, t].sum())
                rows.append({"period": per, "option": opt, "ordered_units": int(round(self.orders[o, t])),
                             "units_in_service": int(round(inst)), "chips_in_service": int(round(inst * p.unit_chips[o])),
                             "utilisation": used / inst if inst else 0.0,
                             "output_tps": float((self.assigned[:, o, t] * p.cap[:, o]).sum())})
        return rows

    def to_dict(self) -> dict:
        p = self.problem
        return {
            "name": self.name, "status": self.status, "currency": self.currency, "periods": self.periods,
            "options": [{"id": o, "name": p.option_names[i], "mode": "own" if p.own[i] else "rent",
                         "domestic": bool(p.domestic[i]), "unit_chips": int(p.unit_chips[i]),
                         "output_tps_per_unit": {w: float(p.cap[j, i]) for j, w in enumerate(p.workloads)},
                         "error_band_log80": {w: float(p.band[j, i]) for j, w in enumerate(p.workloads)}}
                        for i, o in enumerate(self.options)],
            "orders": {o: [int(round(x)) for x in self.orders[i]] for i, o in enumerate(self.options)},
            "installed_units": {o: [int(round(x)) for x in self.installed[i]] for i, o in enumerate(self.options)},
            "fleet": self.fleet_table(),
            "demand_output_tps": {w: p.demand[j].tolist() for j, w in enumerate(self.workloads)},
            "unmet_output_tps": {w: self.unmet[j].tolist() for j, w in enumerate(self.workloads)},
            "objective": self.objective, "cost": self.cost, "per_mtok": self.per_mtok,
            "binding": self.binding, "blocked": self.blocked, "solve_ms": self.solve_ms,
            "warnings": self.warnings,
        }

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame(self.fleet_table())


def _status(h: highspy.Highs) -> str:
    return h.modelStatusToString(h.getModelStatus())


def solve(p: FleetProblem, *, duals: bool = True, marginals: int = 8, gap: float = 1e-6) -> FleetPlan:
    """Solve the fleet MILP; with ``duals``, report binding constraints, shadow prices and marginal values.

    ``gap`` is the relative optimality gap HiGHS stops at (re-planning
    thousands of samples uses a looser one).
    """
    t0 = time.perf_counter()
    mdl = build(p, gap=gap)
    mdl.h.run()
    st = mdl.h.getModelStatus()
    if st != highspy.HighsModelStatus.kOptimal:
        if st == highspy.HighsModelStatus.kInfeasible:
            raise infeasible_error(p)
        raise SuanliError(f"the planner stopped without a plan: {_status(mdl.h)}",
                          hint="simplify the scenario (fewer periods or options) or loosen its limits")
    W, O, T = p.shape
    q = np.asarray(mdl.h.vals(mdl.q), dtype=float).reshape(O, T)
    q = np.where(p.own[:, None], np.round(q), np.maximum(q, 0.0))
    a = np.asarray(mdl.h.vals(mdl.a), dtype=float).reshape(W, O, T)
    u = np.asarray(mdl.h.vals(mdl.u), dtype=float).reshape(W, T) / TPS_SCALE
    obj = float(mdl.h.getObjectiveValue()) / COST_SCALE
    plan = _summarise(p, q, a, u, obj, (time.perf_counter() - t0) * 1e3)
    if duals:
        plan.binding = binding_constraints(p, q, obj, marginals=marginals)
    return plan


def _summarise(p: FleetProblem, q: np.ndarray, a: np.ndarray, u: np.ndarray, obj: float, ms: float) -> FleetPlan:
    m = p.installed_matrix()
    inst = np.einsum("ost,os->ot", m, q)
    df = p.df
    # cost per period (present value), by kind
    per_unit = {"capital": p.cost_capital, "facility": p.cost_facility, "power": p.cost_power}
    pv = {k: float(np.einsum("ost,os,os,t->", m, q, np.where(p.own[:, None], v, 0.0), df)) for k, v in per_unit.items()}
    pv["rent"] = float(np.einsum("ost,os,os,t->", m, q, np.where(p.own[:, None], 0.0, p.cost_rent), df))
    pv["unmet"] = float((u * p.penalty[:, None] * df[None, :]).sum())
    by_period = {k: np.einsum("ost,os,os->t", m, q, np.where(p.own[:, None], v, 0.0)).tolist()
                 for k, v in per_unit.items()}
    by_period["rent"] = np.einsum("ost,os,os->t", m, q, np.where(p.own[:, None], 0.0, p.cost_rent)).tolist()
    by_period["unmet"] = (u * p.penalty[:, None]).sum(axis=0).tolist()
    capex = (q * np.where(p.own[:, None], p.capex_unit, 0.0)).sum(axis=0)
    served = p.demand - u
    out_tokens_pv = float((served * df[None, :]).sum() * SECONDS_PER_PERIOD)
    dem_tokens_pv = float((p.demand * df[None, :]).sum() * SECONDS_PER_PERIOD)
    io = p.io_ratio[:, None]
    total_tokens_pv = float((served * (1 + io) * df[None, :]).sum() * SECONDS_PER_PERIOD)
    fleet_pv = pv["capital"] + pv["facility"] + pv["power"] + pv["rent"]
    per_mtok = {
        "output": fleet_pv / out_tokens_pv * 1e6 if out_tokens_pv else float("nan"),
        "total": fleet_pv / total_tokens_pv * 1e6 if total_tokens_pv else float("nan"),
        "output_incl_unmet": (fleet_pv + pv["unmet"]) / dem_tokens_pv * 1e6 if dem_tokens_pv else float("nan"),
    }
    cost = {"present_value": {**pv, "fleet": fleet_pv, "all": fleet_pv + pv["unmet"]},
            "onshore_mw_by_period": ((inst * p.kw_unit[:, None]).sum(axis=0) / 1000.0).tolist(),
            "by_period": by_period, "capex_by_period": capex.tolist(),
            "served_output_tokens": float(served.sum() * SECONDS_PER_PERIOD),
            "unmet_share": float(u.sum() / p.demand.sum()) if p.demand.sum() else 0.0,
            "domestic_chip_share_end": float((inst[:, -1] * p.unit_chips * p.domestic).sum()
                                             / max((inst[:, -1] * p.unit_chips).sum(), 1e-9))}
    blocked = []
    for o in range(len(p.options)):
        rows = [x for x in p.notes.get("access", {}).get(p.options[o], []) if not x["allowed"]]
        if rows:
            blocked.append({"option": p.options[o], "periods": [r["period"] for r in rows],
                            "reasons": sorted({r for x in rows for r in x.get("reasons", [])}) or ["not available"]})
    warn = []
    if u.sum() > 1e-6 * p.demand.sum():
        warn.append(f"{cost['unmet_share']:.1%} of demand is not served by the fleet (charged at the unmet price)")
    return FleetPlan(p.name, "optimal", p.currency, p.periods, p.options, p.workloads, q, inst, a, u, obj, cost,
                     per_mtok, [], blocked, ms, p, warn)


def _resolve(p: FleetProblem, **kw) -> float | None:
    mdl = build(p, **kw)
    mdl.h.run()
    if mdl.h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    return float(mdl.h.getObjectiveValue()) / COST_SCALE


def binding_constraints(p: FleetProblem, q: np.ndarray, obj: float, *, marginals: int = 8) -> list[dict]:
    """Constraints at their limit, with the LP dual at the fixed orders and, for limits on orders
    (supply, budget, power, max units), the MILP's saving when the limit is relaxed a step."""
    lp = build(p, integer=False, fixed=q)
    lp.h.run()
    out: list[dict] = []
    if lp.h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return out
    inst = np.einsum("ost,os->ot", p.installed_matrix(), q)
    for name, (c, fam, labels) in lp.rows.items():
        if fam == "capacity" and inst[p.options.index(labels["option"]), p.periods.index(labels["period"])] == 0:
            continue  # no unit in service: nothing to be short of
        val = float(lp.h.constrValue(c))
        lo, hi = _row_bounds(lp.h, c)
        lim = hi if np.isfinite(hi) else lo
        if not np.isfinite(lim):
            continue
        slack = abs(lim - val)
        if slack > TOL * max(1.0, abs(lim)):
            continue
        rs = ROW_SCALE.get(fam, 1.0)
        dual = float(lp.h.constrDual(c)) * rs / COST_SCALE
        if fam not in ORDER_FAMILIES and abs(dual) < TOL:
            continue  # at its limit but worth nothing at the margin
        if fam == "domestic_share":
            # one percentage point less share frees that share of the period's served tokens
            dual *= float(p.demand[:, p.periods.index(labels["period"])].sum()) * 0.01
        if fam == "capacity":
            dual = -dual  # the value of one more unit in service
        out.append({"constraint": name, "family": fam, **labels, "limit": lim / rs, "dual": dual,
                    "unit": _dual_unit(fam, p.currency)})
    # marginal value of order limits: re-solve the MILP with the limit relaxed one step
    order_rows = [r for r in out if r["family"] in ORDER_FAMILIES]
    order_rows.sort(key=lambda r: r["limit"])
    for r in order_rows[:marginals]:
        step = _step(p, r)
        v = _resolve(p, relax={r["constraint"]: step})
        if v is not None:
            r["marginal"] = (v - obj) / step
            r["marginal_step"] = step
    return out


def _row_bounds(h: highspy.Highs, c) -> tuple[float, float]:
    lp = h.getLp()
    i = c.index
    lo, hi = lp.row_lower_[i], lp.row_upper_[i]
    inf = highspy.kHighsInf
    return (-np.inf if lo <= -inf else lo), (np.inf if hi >= inf else hi)


def _step(p: FleetProblem, r: dict) -> float:
    if r["family"] in ("supply", "max_units"):
        return 1.0
    if r["family"] == "power":
        o = int(np.argmax(p.kw_unit))
        return float(max(p.kw_unit[o], 1.0))
    return float(max(r["limit"] * 0.05, 1.0))


def _dual_unit(fam: str, cur: str) -> str:
    return {"demand": f"{cur} (PV) per output token/s", "capacity": f"{cur} (PV) per extra unit in service",
            "domestic_share": f"{cur} (PV) per percentage point of share", "supply": f"{cur} (PV) per unit",
            "budget": f"{cur} (PV) per {cur} of budget", "power": f"{cur} (PV) per kW",
            "max_units": f"{cur} (PV) per unit"}.get(fam, cur)


ORDER_FAMILIES = ("supply", "budget", "power", "max_units")
RELAXABLE = ("must_serve", "supply", "budget", "power", "domestic_share", "policy", "lead_time")


def infeasible_error(p: FleetProblem) -> SuanliError:
    """Why the plan is infeasible: relax one family of constraints at a time; say which restores feasibility."""
    fixes = []
    for fam in RELAXABLE:
        if _resolve(p, drop=frozenset({fam})) is not None:
            fixes.append(fam)
    what = {"must_serve": "allow unmet demand (demand.must_serve: false)", "supply": "raise supply caps",
            "budget": "raise the budget", "power": "raise power_mw", "domestic_share": "lower min_domestic_share",
            "policy": "an option the policy engine blocks (another buyer or policy scenario)",
            "lead_time": "shorter lead times"}
    if fixes:
        hint = "feasible again with any one of: " + "; ".join(what[f] for f in fixes)
    else:
        hint = "no single relaxation restores feasibility; relax several limits or add options"
    err = SuanliError("no fleet plan meets every constraint of the scenario", hint=hint)
    err.relaxations = fixes  # type: ignore[attr-defined]
    return err


def tornado(p: FleetProblem, sc: Any, base: FleetPlan, *, top: int = 10, progress: Any = None) -> list[dict]:
    """Swing of the plan's cost per million output tokens when each input moves to its low and high end (re-planned).

    Inputs: the scenario's uncertain factors (P5/P95 of each distribution),
    its events (happen / do not), and the cost model's sourced ranges for
    cost of capital, life, PUE, server multiplier, power draw and the levy
    pass-through.
    """
    from suanli.plan.risk import apply_factors, tornado_inputs

    base_v = base.per_mtok["output_incl_unmet"]
    rows = []
    items = tornado_inputs(p, sc)
    for i, (name, lo_f, hi_f, lo_lab, hi_lab) in enumerate(items):
        if progress:
            progress(i, len(items), name)
        vals = []
        for f in (lo_f, hi_f):
            try:
                pl = solve(apply_factors(p, sc, f), duals=False)
                vals.append(pl.per_mtok["output_incl_unmet"])
            except SuanliError:
                vals.append(float("nan"))
        swing = float(np.nanmax(vals) - np.nanmin(vals)) if np.isfinite(vals).any() else 0.0
        # the same plan solved twice differs in the last bits (8.9e-16): no swing
        swing = swing if swing > 1e-9 * max(abs(base_v), 1.0) else 0.0
        rows.append({"input": name, "low": lo_lab, "high": hi_lab, "per_mtok_low": vals[0], "per_mtok_high": vals[1],
                     "swing": swing, "base": base_v})
    rows.sort(key=lambda r: -r["swing"])
    return rows[:top]


__all__ = ["FleetPlan", "Model", "RELAXABLE", "binding_constraints", "build", "infeasible_error", "order_costs",
           "solve", "tornado"]
