"""Risk: sample the scenario's uncertain inputs and events, evaluate a plan on every sample or re-plan each.

Samples are drawn once from the seed as arrays of factors (``(N, O)`` per
option target, ``(N, W)`` for demand, ``(N, E)`` for events); *evaluate*
runs the whole fleet arithmetic on all samples at once in numpy, *re-plan*
solves one MILP per sample through a sweep backend. Both are pure functions
of (problem, samples), so the same seed gives the same answer on any
backend. A robust plan is the cheapest candidate plan that meets demand in
a chosen share of samples.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable

import numpy as np

from suanli.econ.tco import annuity
from suanli.errors import SuanliError
from suanli.plan.problem import SECONDS_PER_PERIOD, FleetProblem
from suanli.plan.scenario import Scenario, period_index

OPTION_TARGETS = ("price", "rent", "supply", "throughput", "electricity", "fx", "cost_of_capital")
Z95 = 1.6448536269514722
Z80 = 1.2815515655446004
#: a period counts as served when at most this share of its demand is unmet
UNMET_TOLERANCE = 0.01
#: a sample counts as short when more than this share of the horizon's demand is unmet
UNMET_SHARE_SHORT = 1e-3


@dataclass
class Samples:
    """Factors for N samples: per option target (N, O), demand (N, W), events (N, E) as 0/1."""

    n: int
    seed: int
    option: dict[str, np.ndarray]
    demand: np.ndarray
    events: np.ndarray
    event_ids: list[str]

    def row(self, i: int) -> Samples:
        return self.take(slice(i, i + 1))

    def take(self, idx: Any) -> Samples:
        ev = self.events[idx]
        return Samples(int(ev.shape[0]), self.seed, {k: v[idx] for k, v in self.option.items()}, self.demand[idx],
                       ev, self.event_ids)


def _draw(dist: Any, nominal: float, rng: np.random.Generator, n: int) -> np.ndarray:
    k = dist.kind
    if k == "fixed":
        x = np.full(n, float(dist.value))
    elif k == "uniform":
        x = rng.uniform(dist.low, dist.high, n)
    elif k == "triangular":
        x = rng.triangular(dist.low, dist.mode, dist.high, n) if dist.high > dist.low else np.full(n, dist.low)
    else:  # lognormal from a 90% range
        lo, hi = np.log(dist.low), np.log(dist.high)
        x = np.exp(rng.normal((lo + hi) / 2, (hi - lo) / (2 * Z95) if hi > lo else 0.0, n))
    return x / nominal


def draw_samples(p: FleetProblem, sc: Scenario, n: int, seed: int = 0, *, model_band: bool = True) -> Samples:
    """Draw ``n`` samples of every uncertain factor and event (and, with ``model_band``, of each option's
    throughput from the performance model's error band, shared by options of the same hardware)."""
    if not (1 <= n <= 10_000_000):
        raise SuanliError(f"samples must be between 1 and 10,000,000 (got {n})")
    rng = np.random.default_rng(np.random.PCG64(seed))
    W, O, T = p.shape
    opt = {k: np.ones((n, O)) for k in OPTION_TARGETS}
    dem = np.ones((n, W))
    idx = {o: i for i, o in enumerate(p.options)}
    widx = {w: i for i, w in enumerate(p.workloads)}
    for u in sc.uncertain:
        f = _draw(u.dist, u.nominal, rng, n)
        if u.target == "demand":
            cols = [widx[w] for w in (u.options or p.workloads)]
            dem[:, cols] *= f[:, None]
        else:
            cols = [idx[o] for o in (u.options or p.options)]
            opt[u.target][:, cols] *= f[:, None]
    if model_band:
        hw = [o.hardware for o in sc.options]
        for h in sorted(set(hw)):
            cols = [i for i, x in enumerate(hw) if x == h]
            b80 = float(np.max(p.band[:, cols])) if p.band.size else 0.0
            if b80 > 0:
                # log errors ~ normal with 80% of them inside +-b80: sd = b80 / 1.2816
                f = np.exp(rng.normal(0.0, b80 / Z80, n))
                opt["throughput"][:, cols] *= f[:, None]
    ev = np.zeros((n, len(sc.events)))
    for j, e in enumerate(sc.events):
        ev[:, j] = (rng.random(n) < e.p).astype(float)
    return Samples(n, seed, opt, dem, ev, [e.id for e in sc.events])


def _event_masks(p: FleetProblem, sc: Scenario) -> tuple[np.ndarray, np.ndarray]:
    """(E, O, T) 1 where event e blocks ordering, and 1 where it takes installed units out of service."""
    O, T = len(p.options), len(p.periods)
    E = len(sc.events)
    block = np.zeros((E, O, T))
    stop = np.zeros((E, O, T))
    first = period_index(p.periods[0])
    for j, e in enumerate(sc.events):
        t0 = max(period_index(e.from_period) - first, 0) if e.from_period else 0
        for o in e.options:
            oi = p.options.index(o)
            block[j, oi, t0:] = 1.0
            if e.stops_installed:
                stop[j, oi, t0:] = 1.0
    return block, stop


def apply_factors(p: FleetProblem, sc: Scenario, s: Samples) -> FleetProblem:
    """The problem as one sample (``s.n == 1``) sees it: prices, rents, supply, throughput, demand scaled, events applied."""
    if s.n != 1:
        raise ValueError("apply_factors takes one sample")
    f = {k: v[0] for k, v in s.option.items()}
    price = f["price"] * (1.0 + p.usd_share * (f["fx"] - 1.0))
    coc = p.cost_of_capital * f["cost_of_capital"]
    cap_adj = np.where(p.own, annuity(coc, p.life_years) / annuity(p.cost_of_capital, p.life_years), 1.0)
    block, stop = _event_masks(p, sc)
    ev = s.events[0]
    allowed = p.allowed & ~(np.tensordot(ev, block, axes=1) > 0) if len(ev) else p.allowed
    in_service = None
    if len(ev) and (np.tensordot(ev, stop, axes=1) > 0).any():
        in_service = 1.0 - np.minimum(np.tensordot(ev, stop, axes=1), 1.0)
    return replace(
        p, cap=p.cap * f["throughput"][None, :], capex_unit=p.capex_unit * price[:, None],
        cost_capital=p.cost_capital * (price * cap_adj)[:, None], cost_power=p.cost_power * f["electricity"][:, None],
        cost_rent=p.cost_rent * (f["rent"] * (1.0 + p.usd_share * 0.0))[:, None],
        supply_units=p.supply_units * f["supply"][:, None], demand=p.demand * s.demand[0][:, None],
        allowed=allowed, in_service=in_service)


# ----------------------------------------------------------------------------------------- evaluate
@dataclass
class Evaluation:
    """A plan evaluated on N samples (arrays of length N)."""

    per_mtok: np.ndarray          # cost (fleet + unmet) per million output tokens demanded
    fleet_per_mtok: np.ndarray    # fleet cost per million output tokens served
    cost: np.ndarray              # present value, all costs
    unmet_share: np.ndarray       # unmet / demanded output tokens
    meets_demand: np.ndarray      # bool: every period served within the tolerance


def evaluate(p: FleetProblem, sc: Scenario, orders: np.ndarray, s: Samples, *, assigned: np.ndarray | None = None,
             chunk: int = 20_000, recourse: bool = True) -> Evaluation:
    """Evaluate fixed orders on every sample at once (vectorized; chunks bound the memory).

    Orders blocked by an event are not delivered (and not paid); supply
    shortfalls deliver what the sample's supply allows; capacity serves the
    workloads in the shares the plan assigned. With ``recourse`` (the
    default), a shortfall is first covered by renting more of the plan's
    rental options that the sample still allows (cheapest per token first,
    within their remaining supply), as an operator would; purchases cannot
    be made up after the fact (lead times). What remains is unmet and
    charged at the penalty.
    """
    W, O, T = p.shape
    m = p.installed_matrix()                                        # (O, S, T)
    block, stop = _event_masks(p, sc)
    if assigned is not None and W > 1:
        # each option's capacity serves the workloads in the shares the plan gave them
        tot = assigned.sum(axis=0, keepdims=True)
        share = np.where(tot > 0, assigned / np.maximum(tot, 1e-12), 1.0 / W)
    else:
        share = np.full((W, O, T), 1.0 / W)
    out = {k: [] for k in ("per_mtok", "fleet_per_mtok", "cost", "unmet_share", "meets")}
    own = p.own[None, :]
    pv = m * p.df[None, None, :]                                    # (O, S, T)
    for a in range(0, s.n, chunk):
        ss = s.take(slice(a, a + chunk))
        n = ss.n
        f = ss.option
        price = f["price"] * (1.0 + p.usd_share[None, :] * (f["fx"] - 1.0))
        coc = p.cost_of_capital[None, :] * f["cost_of_capital"]
        cap_adj = np.where(own, annuity(coc, p.life_years[None, :]) / annuity(p.cost_of_capital, p.life_years)[None, :],
                           1.0)
        blocked = np.einsum("ne,eos->nos", ss.events, block) > 0 if len(ss.event_ids) else np.zeros((n, O, T), bool)
        stopped = np.minimum(np.einsum("ne,eot->not", ss.events, stop), 1.0) if len(ss.event_ids) else 0.0
        ok = p.allowed[None] & ~blocked
        supply = p.supply_units[None] * f["supply"][:, :, None]
        supply = np.where(own[:, :, None], np.floor(supply + 1e-9), supply)  # whole units bought, rent by the hour
        delivered = np.where(ok, np.minimum(orders[None], supply), 0.0)          # (n, O, S)
        inst = np.einsum("ost,nos->not", m, delivered) * (1.0 - stopped)         # (n, O, T)
        cap = p.cap[None] * f["throughput"][:, None, :]                          # (n, W, O)
        capacity = np.einsum("nwo,wot,not->nwt", cap, share, inst)
        demand = p.demand[None] * ss.demand[:, :, None]                          # (n, W, T)
        unit_cost = np.where(own[:, :, None],
                             p.cost_capital[None] * (price * cap_adj)[:, :, None] + p.cost_facility[None]
                             + p.cost_power[None] * f["electricity"][:, :, None],
                             p.cost_rent[None] * f["rent"][:, :, None])           # (n, O, S)
        fleet = np.einsum("nos,ost,nos->n", delivered, pv, unit_cost)
        if recourse:
            extra_cost, capacity = _rent_recourse(p, ok, supply - delivered, cap, capacity, demand, unit_cost, pv)
            fleet = fleet + extra_cost
        unmet = np.maximum(demand - capacity, 0.0)
        pen = np.einsum("nwt,w,t->n", unmet, p.penalty, p.df)
        dem_tok = np.einsum("nwt,t->n", demand, p.df) * SECONDS_PER_PERIOD
        served_tok = np.einsum("nwt,t->n", demand - unmet, p.df) * SECONDS_PER_PERIOD
        out["per_mtok"].append((fleet + pen) / dem_tok * 1e6)
        out["fleet_per_mtok"].append(np.where(served_tok > 0, fleet / np.maximum(served_tok, 1e-9) * 1e6, np.nan))
        out["cost"].append(fleet + pen)
        out["unmet_share"].append(unmet.sum(axis=(1, 2)) / demand.sum(axis=(1, 2)))
        out["meets"].append((unmet <= UNMET_TOLERANCE * demand + 1e-9).all(axis=(1, 2)))
    cat = {k: np.concatenate(v) for k, v in out.items()}
    return Evaluation(cat["per_mtok"], cat["fleet_per_mtok"], cat["cost"], cat["unmet_share"], cat["meets"])


def _rent_recourse(p: FleetProblem, ok: np.ndarray, spare: np.ndarray, cap: np.ndarray, capacity: np.ndarray,
                   demand: np.ndarray, unit_cost: np.ndarray, pv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rent more of the allowed rental options to cover each sample's shortfall, cheapest per token first.

    Returns the extra present-value cost per sample and the new capacity.
    Rental units serve in the period after their lead time; here the
    shortfall of period t is covered by units rented at t - lead.
    """
    n, W, T = capacity.shape
    extra = np.zeros(n)
    capacity = capacity.copy()
    rent_opts = [o for o in range(len(p.options)) if not p.own[o] and p.cap[:, o].any()]
    for w in range(W):
        per_tok = [(float(np.mean(p.cost_rent[o]) / max(p.cap[w, o], 1e-9)), o) for o in rent_opts if p.cap[w, o] > 0]
        for _, o in sorted(per_tok):
            lead = int(p.lead[o])
            for t in range(lead, T):
                s_ = t - lead
                short = demand[:, w, t] - capacity[:, w, t]
                short = np.where(short > 1e-9 * demand[:, w, t], short, 0.0)
                if not short.any():
                    continue
                unit_tps = cap[:, w, o]
                # rented by the accelerator-hour, as in the plan: fractions of a unit
                units = np.where(ok[:, o, s_], np.minimum(short / np.maximum(unit_tps, 1e-9),
                                                          np.maximum(spare[:, o, s_], 0.0)), 0.0)
                spare[:, o, s_] -= units
                capacity[:, w, t] += units * unit_tps
                extra += units * unit_cost[:, o, s_] * pv[o, s_, t]
    return extra, capacity


# ----------------------------------------------------------------------------------------- re-plan
def replan_chunk(p: FleetProblem, sc: Scenario, s: Samples, gap: float = 1e-3) -> dict[str, np.ndarray]:
    """Solve one MILP per sample of ``s``: cost per million output tokens, unmet share and orders per sample."""
    from suanli.plan.fleet import solve

    per, unmet, orders, ok = [], [], [], []
    for i in range(s.n):
        try:
            pl = solve(apply_factors(p, sc, s.row(i)), duals=False, gap=gap)
            per.append(pl.per_mtok["output_incl_unmet"])
            unmet.append(pl.cost["unmet_share"])
            orders.append(pl.orders)
            ok.append(True)
        except SuanliError:
            per.append(np.nan)
            unmet.append(1.0)
            orders.append(np.zeros((len(p.options), len(p.periods))))
            ok.append(False)
    return {"per_mtok": np.asarray(per), "unmet_share": np.asarray(unmet), "orders": np.asarray(orders),
            "feasible": np.asarray(ok)}


# ----------------------------------------------------------------------------------------- results
def percentiles(x: np.ndarray) -> dict[str, float]:
    """P10, P50, P90 and the mean of the finite values.

    >>> percentiles(np.arange(11.0))
    {'p10': 1.0, 'p50': 5.0, 'p90': 9.0, 'mean': 5.0}
    """
    x = np.asarray(x, float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return {"p10": float("nan"), "p50": float("nan"), "p90": float("nan"), "mean": float("nan")}
    p10, p50, p90 = np.percentile(x, [10, 50, 90])
    return {"p10": float(p10), "p50": float(p50), "p90": float(p90), "mean": float(x.mean())}


@dataclass
class RiskResult:
    """Spread of the plan's cost per million output tokens and the chance it falls short."""

    name: str
    mode: str
    backend: str
    samples: int
    seed: int
    currency: str
    per_mtok: dict[str, float]
    fleet_per_mtok: dict[str, float]
    p_unmet: float
    unmet_share: dict[str, float]
    histogram: dict[str, list[float]]
    base_plan: dict
    robust: dict | None
    event_rates: dict[str, float]
    timings: dict[str, float]
    per_sample: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        d = {k: v for k, v in vars(self).items() if k != "per_sample"}
        return d

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame({k: v for k, v in self.per_sample.items() if np.ndim(v) == 1})


def _histogram(x: np.ndarray, bins: int = 30) -> dict[str, list[float]]:
    x = x[np.isfinite(x)]
    if x.size == 0:
        return {"edges": [], "counts": []}
    hi = np.percentile(x, 99.5)
    c, e = np.histogram(np.clip(x, None, hi), bins=bins)
    return {"edges": e.tolist(), "counts": c.astype(float).tolist()}


def robust_plan(p: FleetProblem, sc: Scenario, s: Samples, base_orders: np.ndarray, *, share: float = 0.9,
                extra: list[tuple[str, np.ndarray]] | None = None, progress: Callable | None = None) -> dict:
    """The cheapest candidate plan (by mean cost over the samples) that meets demand in at least ``share`` of them.

    Candidates: the base plan; plans re-solved with demand raised by 10-50%;
    plans solved as if every event happened (alone and with the raised
    demand); and any ``extra`` plans (e.g. re-planned samples).
    """
    from suanli.plan.fleet import solve

    cands: list[tuple[str, np.ndarray]] = [("base plan", base_orders)]
    W, O, T = p.shape
    worst = Samples(1, s.seed, {k: np.ones((1, O)) for k in OPTION_TARGETS}, np.ones((1, W)),
                    np.ones((1, len(s.event_ids))), s.event_ids)
    supply_p10 = np.percentile(s.option["supply"], 10, axis=0)[None, :]
    for label, ev_on in (("as planned", False), ("every event happens", True)):
        for margin in (1.0, 1.1, 1.25, 1.5, 2.0):
            if not ev_on and margin == 1.0:
                continue
            one = Samples(1, s.seed, {**{k: np.ones((1, O)) for k in OPTION_TARGETS}, "supply": supply_p10},
                          np.full((1, W), margin), worst.events if ev_on else np.zeros_like(worst.events), s.event_ids)
            try:
                pl = solve(apply_factors(p, sc, one), duals=False, gap=1e-3)
                cands.append((f"{label}, demand +{margin - 1:.0%}, supply at P10", pl.orders))
            except SuanliError:
                continue
            if progress:
                progress(len(cands))
    cands += extra or []
    best, best_any = None, None
    for name, q in cands:
        ev = evaluate(p, sc, q, s)
        cov = float(ev.meets_demand.mean())
        row = {"candidate": name, "coverage": cov, "mean_cost": float(np.mean(ev.cost)),
               "per_mtok": percentiles(ev.per_mtok), "orders": {o: [round(float(x), 3) for x in q[i]]
                                                                 for i, o in enumerate(p.options)}}
        if cov >= share and (best is None or row["mean_cost"] < best["mean_cost"]):
            best = row
        if best_any is None or (cov, -row["mean_cost"]) > (best_any["coverage"], -best_any["mean_cost"]):
            best_any = row
    if best is None:
        best_any = dict(best_any or {})
        best_any["note"] = f"no candidate meets demand in {share:.0%} of samples; the one with the highest coverage"
        best = best_any
    best["target_share"] = share
    best["candidates"] = len(cands)
    return best


def run_risk(p: FleetProblem, sc: Scenario, base: Any, *, samples: int = 1000, seed: int = 0, mode: str = "evaluate",
             backend: str = "local", ray_address: str | None = None, workers: int | None = None,
             robust_share: float | None = 0.9, progress: Callable | None = None) -> RiskResult:
    """Sample, then evaluate ``base`` (a FleetPlan) on every sample or re-plan each; report the spread."""
    from suanli.sweep import map_chunks

    if mode not in ("evaluate", "replan"):
        raise SuanliError(f"unknown risk mode {mode!r}", hint="use evaluate or replan")
    t0 = time.perf_counter()
    s = draw_samples(p, sc, samples, seed)
    t1 = time.perf_counter()
    per_sample: dict[str, np.ndarray] = {}
    extra: list[tuple[str, np.ndarray]] = []
    if mode == "evaluate":
        ev = evaluate(p, sc, base.orders, s, assigned=base.assigned)
        per, unmet = ev.per_mtok, ev.unmet_share
        per_sample["fleet_per_mtok"] = ev.fleet_per_mtok
        fleet = ev.fleet_per_mtok
    else:
        chunks = [(a, min(a + max(1, samples // max(4 * (workers or 2), 1)), samples)) for a in
                  range(0, samples, max(1, samples // max(4 * (workers or 2), 1)))]
        parts = map_chunks(replan_chunk, p, sc, [s.take(slice(a, b)) for a, b in chunks], backend=backend,
                           address=ray_address, workers=workers, progress=progress)
        per = np.concatenate([x["per_mtok"] for x in parts])
        unmet = np.concatenate([x["unmet_share"] for x in parts])
        orders = np.concatenate([x["orders"] for x in parts])
        fleet = per
        # a few re-planned samples' plans join the robust candidates
        for i in np.unique(np.linspace(0, samples - 1, min(samples, 8)).round().astype(int)):
            extra.append((f"re-planned sample {int(i)}", orders[i]))
    t2 = time.perf_counter()
    per_sample.update(per_mtok=per, unmet_share=unmet)
    robust = robust_plan(p, sc, s, base.orders, share=robust_share, extra=extra) if robust_share else None
    t3 = time.perf_counter()
    res = RiskResult(
        p.name, mode, backend, samples, seed, p.currency, percentiles(per), percentiles(fleet),
        float(np.mean(unmet > UNMET_SHARE_SHORT)), percentiles(unmet), _histogram(per),
        {"per_mtok": base.per_mtok}, robust, {e: float(s.events[:, j].mean()) for j, e in enumerate(s.event_ids)},
        {"sample_ms": (t1 - t0) * 1e3, "run_ms": (t2 - t1) * 1e3, "robust_ms": (t3 - t2) * 1e3,
         "samples_per_s": samples / max(t2 - t1, 1e-9)}, per_sample)
    return res


def tornado_inputs(p: FleetProblem, sc: Scenario) -> list[tuple[str, Samples, Samples, str, str]]:
    """(name, low sample, high sample, low label, high label) for each input the tornado moves."""
    W, O, T = p.shape
    E = len(sc.events)

    def one(option: dict[str, np.ndarray] | None = None, demand: np.ndarray | None = None,
            events: np.ndarray | None = None) -> Samples:
        base = {k: np.ones((1, O)) for k in OPTION_TARGETS}
        base.update(option or {})
        return Samples(1, 0, base, np.ones((1, W)) if demand is None else demand,
                       np.zeros((1, E)) if events is None else events, [e.id for e in sc.events])

    items = []
    for u in sc.uncertain:
        lo, hi = u.dist.range()
        if u.target == "demand":
            cols = [p.workloads.index(w) for w in (u.options or p.workloads)]
            d_lo, d_hi = np.ones((1, W)), np.ones((1, W))
            d_lo[:, cols], d_hi[:, cols] = lo / u.nominal, hi / u.nominal
            items.append((u.id, one(demand=d_lo), one(demand=d_hi), f"{lo:g}", f"{hi:g}"))
            continue
        cols = [p.options.index(o) for o in (u.options or p.options)]
        f_lo, f_hi = np.ones((1, O)), np.ones((1, O))
        f_lo[:, cols], f_hi[:, cols] = lo / u.nominal, hi / u.nominal
        items.append((u.id, one({u.target: f_lo}), one({u.target: f_hi}), f"{lo:g}", f"{hi:g}"))
    for j, e in enumerate(sc.events):
        on = np.zeros((1, E))
        on[0, j] = 1.0
        items.append((f"event {e.id}", one(), one(events=on), "does not happen", "happens"))
    # the cost model's own sourced ranges
    from suanli.econ.prices import load_pricebook

    book = load_pricebook()
    r = book.default("cost_of_capital")
    base_r = float(np.mean(p.cost_of_capital)) or r.value
    items.append(("cost of capital", one({"cost_of_capital": np.full((1, O), r.low / base_r)}),
                  one({"cost_of_capital": np.full((1, O), r.high / base_r)}), f"{r.low:.0%}", f"{r.high:.0%}"))
    pue = book.default("pue")
    items.append(("PUE", one({"electricity": np.full((1, O), pue.low / pue.value)}),
                  one({"electricity": np.full((1, O), pue.high / pue.value)}), f"{pue.low:g}", f"{pue.high:g}"))
    fx = [x.cny_per_usd for x in book.fx]
    fx0 = p.notes.get("fx_cny_per_usd") or book.fx_on().cny_per_usd
    items.append(("CNY/USD", one({"fx": np.full((1, O), min(fx) / fx0)}), one({"fx": np.full((1, O), max(fx) / fx0)}),
                  f"{min(fx):g}", f"{max(fx):g}"))
    for o in range(O):
        if p.cap[:, o].any():
            f_lo, f_hi = np.ones((1, O)), np.ones((1, O))
            band = float(np.max(p.band[:, o])) or 0.1
            f_lo[0, o], f_hi[0, o] = np.exp(-band), np.exp(band)
            items.append((f"throughput {p.options[o]}", one({"throughput": f_lo}), one({"throughput": f_hi}),
                          f"{np.exp(-band) - 1:+.0%}", f"{np.exp(band) - 1:+.0%}"))
    return items


__all__ = ["Evaluation", "RiskResult", "Samples", "UNMET_TOLERANCE", "apply_factors", "draw_samples", "evaluate",
           "percentiles", "replan_chunk", "robust_plan", "run_risk", "tornado_inputs"]
