"""Turn a scenario into the arrays the planner and the risk engine work on.

This is where the three engines meet: for every option the performance model
gives output tokens/s per unit under the workload's SLOs (with its error
band), the economics model gives the cost of a unit per quarter (own or
rent) on each period's date, and the policy engine says in which quarters the
buyer may order it and at what levy. Everything after this is arrays.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from suanli.econ.cost import chip_hour_cost, log_band
from suanli.econ.inputs import EconInputs
from suanli.econ.prices import load_pricebook, to_cny
from suanli.econ.tco import HOURS_PER_YEAR
from suanli.errors import SuanliError
from suanli.plan.scenario import Scenario, _unit_chips, period_index, period_start

HOURS_PER_PERIOD = HOURS_PER_YEAR / 4.0
SECONDS_PER_PERIOD = HOURS_PER_PERIOD * 3600.0


@dataclass
class FleetProblem:
    """A scenario as arrays: O options, T periods, W workloads."""

    name: str
    currency: str
    periods: list[str]
    options: list[str]
    option_names: list[str]
    workloads: list[str]
    own: np.ndarray             # (O,) bool: bought (True) or rented
    onshore: np.ndarray         # (O,) bool: draws on the buyer's onshore power
    domestic: np.ndarray        # (O,) bool: domestic accelerator
    unit_chips: np.ndarray      # (O,)
    cap: np.ndarray             # (W, O) output tokens/s per unit at the SLOs
    band: np.ndarray            # (W, O) log half-width of cap's 80% band (the performance model's)
    io_ratio: np.ndarray        # (W,) input tokens per output token
    capex_unit: np.ndarray      # (O, T) capex of a unit ordered in t (for the budget)
    cost_capital: np.ndarray    # (O, T) per installed unit per period: capital recovery + maintenance (price-driven)
    cost_facility: np.ndarray   # (O, T) per installed unit per period: facility
    cost_power: np.ndarray      # (O, T) per installed unit per period: electricity
    cost_rent: np.ndarray       # (O, T) per rented unit per period
    usd_share: np.ndarray       # (O,) share of the capital part priced in USD (for the fx factor)
    kw_unit: np.ndarray         # (O,) facility kW per unit (IT x PUE), 0 off the buyer's sites
    lead: np.ndarray            # (O,) periods from order to service
    life: np.ndarray            # (O,) periods in service
    allowed: np.ndarray         # (O, T) bool: may be ordered (policy and availability)
    supply_units: np.ndarray    # (O, T) units available per period (inf: no cap)
    max_units: np.ndarray       # (O,) cap over the horizon (inf: none)
    demand: np.ndarray          # (W, T) output tokens/s
    must_serve: np.ndarray      # (W,) bool
    penalty: np.ndarray         # (W,) cost per (output token/s x period) not served
    df: np.ndarray              # (T,) discount factor per period (mid-period)
    budget: np.ndarray          # (T,) capex budget per period (inf: none)
    power_kw: np.ndarray        # (T,) onshore facility kW (inf: none)
    min_domestic_share: float
    cost_of_capital: np.ndarray  # (O,) rate used in the capital part
    life_years: np.ndarray       # (O,)
    in_service: np.ndarray | None = None  # (O, T) 0 where installed units are taken out of service (events)
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int, int]:
        return len(self.workloads), len(self.options), len(self.periods)

    def installed_matrix(self) -> np.ndarray:
        """(O, T_order, T) 1 where a unit ordered in the first period is in service in the second."""
        O, T = len(self.options), len(self.periods)
        s = np.arange(T)[:, None]
        t = np.arange(T)[None, :]
        m = np.zeros((O, T, T))
        for o in range(O):
            if self.own[o]:
                m[o] = ((t >= s + self.lead[o]) & (t < s + self.lead[o] + self.life[o])).astype(float)
            else:
                m[o] = ((t == s + self.lead[o])).astype(float)
        if self.in_service is not None:
            m = m * self.in_service[:, None, :]
        return m


def _per_period(v: float | dict | None, labels: list[str], default: float) -> np.ndarray:
    """A figure per period: one number for all, or a mapping by label (gaps carry the last value forward)."""
    if v is None:
        return np.full(len(labels), default)
    if not isinstance(v, dict):
        return np.full(len(labels), float(v))
    out, last = [], default
    for lab in labels:
        if lab in v:
            last = float(v[lab])
        out.append(last)
    return np.asarray(out)


def demand_path(sc_w: Any, labels: list[str]) -> np.ndarray:
    """Output tokens/s per period from a workload's demand: start -> end (linear or geometric), explicit values win.

    >>> from suanli.plan.scenario import Demand, Workload
    >>> w = Workload(id="w", model="m", demand=Demand(start=100, end=400, growth="geometric"))
    >>> demand_path(w, ["2026Q1", "2026Q2", "2026Q3"]).round(1).tolist()
    [100.0, 200.0, 400.0]
    """
    d = sc_w.demand
    T = len(labels)
    if d.start is not None and d.end is not None:
        x = np.linspace(0.0, 1.0, T) if T > 1 else np.zeros(1)
        path = d.start * (d.end / d.start) ** x if d.growth == "geometric" else d.start + (d.end - d.start) * x
    else:
        path = np.full(T, np.nan)
    if d.values:
        known = {labels.index(k): v for k, v in d.values.items() if k in labels}
        for i, v in known.items():
            path[i] = v
        if np.isnan(path).any():
            idx = np.array(sorted(known))
            path = np.interp(np.arange(T), idx, [known[i] for i in idx])
    if d.unit == "output_tokens_per_day":
        path = path / 86400.0
    return np.asarray(path, dtype=float)


def build_problem(sc: Scenario, *, catalog: Any = None, params: dict | None = None, progress: Any = None
                  ) -> FleetProblem:
    """Evaluate every option with the performance, economics and policy engines; return the arrays."""
    from suanli.catalog import get_catalog
    from suanli.perf.search import Request, predict_serve

    cat = catalog or get_catalog()
    book = load_pricebook()
    labels = sc.periods.labels()
    T, O, W = len(labels), len(sc.options), len(sc.workloads)
    dates = [dt.date.fromisoformat(period_start(p)) for p in labels]
    t0 = period_index(labels[0])
    cur = sc.currency
    api = book.api_price(sc.api_price) if sc.api_price else None
    fx0 = (sc.economics.fx_cny_per_usd or book.fx_on(dates[0]).cny_per_usd)
    rate = sc.discount_rate if sc.discount_rate is not None else (
        sc.economics.cost_of_capital if sc.economics.cost_of_capital is not None
        else book.default("cost_of_capital").value)
    years = (np.arange(T) + 0.5) / 4.0
    df = (1.0 + rate) ** (-years)

    arrays: dict[str, np.ndarray] = {k: np.zeros((O, T)) for k in
                                     ("capex_unit", "cost_capital", "cost_facility", "cost_power", "cost_rent")}
    allowed = np.zeros((O, T), dtype=bool)
    supply = np.full((O, T), np.inf)
    cap = np.zeros((W, O))
    band = np.zeros((W, O))
    unit = np.zeros(O)
    own = np.array([o.mode == "own" for o in sc.options])
    onshore = np.array([o.mode == "own" and o.location == "CN" for o in sc.options])
    domestic = np.zeros(O, dtype=bool)
    kw_unit = np.zeros(O)
    lead = np.array([o.lead_time_periods for o in sc.options], dtype=float)
    life = np.zeros(O)
    usd_share = np.zeros(O)
    coc = np.zeros(O)
    life_years = np.zeros(O)
    max_units = np.array([np.inf if o.max_units is None else o.max_units for o in sc.options], dtype=float)
    notes: dict[str, Any] = {"options": {}, "access": {}, "predictions": {}}
    policy_sc = list(sc.policy_scenarios) or None
    for oi, o in enumerate(sc.options):
        if progress:
            progress(f"option {o.id}")
        n_unit = _unit_chips(cat, o)
        unit[oi] = n_unit
        x: EconInputs = sc.economics.merged(o.economics)
        region = o.rent_region or ("CN" if o.location == "CN" else "offshore")
        site = o.site or (sc.site if o.location == "CN" else "offshore")
        dest = o.location
        per_period = []
        for ti, d in enumerate(dates):
            ch = chip_hour_cost(o.hardware, system=o.system, buyer=sc.buyer, site=site, date=d, scenario=policy_sc,
                                destination=dest, currency=cur, inputs=x, catalog=cat, book=book,
                                rent_region=region if o.mode == "rent" else None)
            per_period.append(ch)
            ok = ch.access.allowed if ch.access else True
            if o.available_from and period_index(labels[ti]) < period_index(o.available_from):
                ok = False
            if o.available_until and period_index(labels[ti]) > period_index(o.available_until):
                ok = False
            allowed[oi, ti] = ok
            p = ch.parts
            h = HOURS_PER_PERIOD * n_unit
            if o.mode == "own":
                arrays["cost_capital"][oi, ti] = (p.get("capital", 0) + p.get("maintenance", 0)
                                                  + p.get("tier_rate", 0)) * h
                arrays["cost_facility"][oi, ti] = p.get("facility", 0) * h
                arrays["cost_power"][oi, ti] = p.get("power", 0) * h
                hw_capex = ch.capex_per_chip.get("total", 0.0)
                arrays["capex_unit"][oi, ti] = hw_capex * n_unit
            else:
                arrays["cost_rent"][oi, ti] = (p.get("rent", 0) + p.get("rent_overhead", 0)) * h
        ch0 = per_period[0]
        domestic[oi] = bool(ch0.access and ch0.access.origin == "CN")
        if o.mode == "own" and o.location == "CN":
            kw_unit[oi] = ch0.kw_per_chip * ch0.pue * n_unit
        life_y = float(ch0.inputs.get("life_years", {}).get("value", book.default("life_years").value))
        life_years[oi] = life_y
        life[oi] = max(round(life_y * 4), 1)
        coc[oi] = float(ch0.inputs.get("cost_of_capital", {}).get("value", rate))
        usd_share[oi] = 1.0 if ch0.inputs.get("chip_price", {}).get("currency") == "USD" else 0.0
        sup = o.supply_chips_per_period
        supply[oi] = _per_period(sup, labels, np.inf) / n_unit if sup is not None else np.inf
        # throughput per unit from the performance model
        deploy = o.deploy_chips or max(n_unit, 16)
        for wi, w in enumerate(sc.workloads):
            extra = {k: v for k, v in (("scenario", w.serving), ("spec_decode", w.spec_decode),
                                       ("engine", w.engine)) if v is not None}
            if w.isl_cv or w.osl_cv:
                extra.update(isl_cv=w.isl_cv, osl_cv=w.osl_cv)
            try:
                req = Request(hardware=o.hardware, model=w.model, chips=deploy, isl=w.isl, osl=w.osl,
                              weight_dtype=w.weight_dtype, system=o.system, tpot_slo_ms=w.tpot_slo_ms,
                              ttft_slo_ms=w.ttft_slo_ms, **extra)
            except SuanliError as exc:
                raise SuanliError(f"workload {w.id!r} on option {o.id!r}: {exc.message}", hint=exc.hint) from None
            try:
                pred = predict_serve(cat, req, params=params)
            except SuanliError as exc:
                notes["predictions"][f"{w.id}/{o.id}"] = {"error": exc.message, "hint": exc.hint}
                continue
            tps = float(pred.metrics["output_tps_per_chip"])
            u = ch0.serving_utilisation
            cap[wi, oi] = tps * n_unit * u
            band[wi, oi] = log_band(pred.error_band)
            notes["predictions"][f"{w.id}/{o.id}"] = {
                "output_tps_per_chip": tps, "deploy_chips": deploy, "error_band_log80": band[wi, oi],
                "error_band_mape": pred.error_band.mape if pred.error_band else None,
                "error_band": pred.error_band.to_dict() if pred.error_band else None,
                "config": {k: pred.config.get(k) for k in ("tp", "pp", "ep", "dp", "batch_per_chip")},
                "tpot_ms": pred.metrics.get("tpot_ms"), "warnings": pred.warnings}
        notes["options"][o.id] = {
            "name": o.name or o.id, "hardware": o.hardware, "system": ch0.system, "mode": o.mode,
            "location": o.location, "site": site, "unit_chips": n_unit, "domestic": bool(domestic[oi]),
            "per_chip_hour": [c.per_chip_hour for c in per_period],
            "parts_first_period": ch0.parts, "capex_per_chip_first_period": ch0.capex_per_chip,
            "inputs": ch0.inputs, "warnings": ch0.warnings}
        notes["access"][o.id] = [
            {"period": labels[i], "allowed": bool(allowed[oi, i]),
             **({"reasons": c.access.reasons, "fee_fraction": c.access.fee_fraction,
                 "us_review": c.access.us_review, "china_access": c.access.china_access,
                 "volume_cap": c.access.volume_cap} if c.access else {})}
            for i, c in enumerate(per_period)]
    demand = np.stack([demand_path(w, labels) for w in sc.workloads])
    pen = np.zeros(W)
    for wi, w in enumerate(sc.workloads):
        p_mtok = w.demand.unmet_penalty_per_mtok
        if p_mtok is None:
            if api is None:
                raise SuanliError(f"workload {w.id!r}: no cost for unmet demand",
                                  hint="set demand.unmet_penalty_per_mtok, or api_price at the top of the scenario")
            out = api.output_per_mtok + api.input_per_mtok * w.isl / w.osl
            p_mtok = to_cny(out, api.currency, fx0) if cur == "CNY" else (
                out if api.currency == "USD" else out / fx0)
        pen[wi] = p_mtok * SECONDS_PER_PERIOD / 1e6
    budget = _per_period(sc.constraints.budget_per_period, labels, np.inf)
    power_kw = _per_period(sc.constraints.power_mw, labels, np.inf) * 1000.0
    notes["t0"] = t0
    notes["discount_rate"] = rate
    notes["fx_cny_per_usd"] = fx0
    notes["api_price"] = api.model_dump(mode="json") if api else None
    return FleetProblem(
        name=sc.name, currency=cur, periods=labels, options=[o.id for o in sc.options],
        option_names=[o.name or o.id for o in sc.options], workloads=[w.id for w in sc.workloads], own=own,
        onshore=onshore, domestic=domestic, unit_chips=unit, cap=cap, band=band,
        io_ratio=np.array([w.isl / w.osl for w in sc.workloads]), capex_unit=arrays["capex_unit"],
        cost_capital=arrays["cost_capital"], cost_facility=arrays["cost_facility"], cost_power=arrays["cost_power"],
        cost_rent=arrays["cost_rent"], usd_share=usd_share, kw_unit=kw_unit, lead=lead, life=life, allowed=allowed,
        supply_units=supply, max_units=max_units, demand=demand,
        must_serve=np.array([w.demand.must_serve for w in sc.workloads]), penalty=pen, df=df, budget=budget,
        power_kw=power_kw, min_domestic_share=float(sc.constraints.min_domestic_share or 0.0),
        cost_of_capital=coc, life_years=life_years, notes=notes)


__all__ = ["HOURS_PER_PERIOD", "SECONDS_PER_PERIOD", "FleetProblem", "build_problem", "demand_path"]
