"""Fleet planning: scenario files, the fleet MILP (HiGHS) and risk over uncertain inputs.

>>> from suanli.plan import load_scenario
>>> sc = load_scenario({"name": "t", "periods": {"start": "2026Q1", "end": "2026Q2"},
...     "workloads": [{"id": "w", "model": "llama-3.1-8b", "demand": {"start": 1000, "end": 2000,
...                    "unmet_penalty_per_mtok": 50}}],
...     "options": [{"id": "h20", "hardware": "h20"}]})
>>> sc.periods.labels()
['2026Q1', '2026Q2']
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

from suanli.plan.scenario import Scenario, load_scenario, scenario_schema


@dataclass
class FleetStudy:
    """A solved scenario: the plan, what drives its cost (tornado) and the inputs behind it."""

    scenario: dict
    plan: Any                 # FleetPlan
    tornado: list[dict]
    notes: dict
    timings: dict[str, float]
    warnings: list[str] = field(default_factory=list)

    def answer(self) -> dict:
        """The headline: fleet at the end of the horizon, cost per million tokens, what binds, what matters."""
        pl = self.plan
        p = pl.problem
        last = len(pl.periods) - 1
        mix = []
        for o, opt in enumerate(pl.options):
            chips = float(pl.installed[o, last] * p.unit_chips[o])
            if chips:
                mix.append({"option": opt, "name": p.option_names[o], "chips": int(round(chips)),
                            "output_tps": float((pl.assigned[:, o, last] * p.cap[:, o]).sum()),
                            "domestic": bool(p.domestic[o])})
        binds = sorted({b["family"] for b in pl.binding if b["family"] not in ("capacity",)})
        return {"fleet_end": mix, "period_end": pl.periods[-1], "per_mtok": pl.per_mtok,
                "currency": pl.currency, "binding_families": binds,
                "drivers": [{"input": t["input"], "swing": t["swing"], "low": t["low"], "high": t["high"],
                             "per_mtok_low": t["per_mtok_low"], "per_mtok_high": t["per_mtok_high"]}
                            for t in self.tornado[:5]],
                "blocked": pl.blocked}

    def to_dict(self) -> dict:
        return {"scenario": self.scenario, "answer": self.answer(), "plan": self.plan.to_dict(),
                "tornado": self.tornado, "notes": self.notes, "timings": self.timings, "warnings": self.warnings}


def plan_fleet(scenario: str | dict | Scenario, *, catalog: Any = None, tornado: bool = True, top: int = 10,
               progress: Callable[[str], None] | None = None) -> FleetStudy:
    """Solve a scenario: least-cost fleet per period, binding constraints, and (optionally) the tornado."""
    from suanli.plan.fleet import solve
    from suanli.plan.fleet import tornado as _tornado
    from suanli.plan.problem import build_problem

    t0 = time.perf_counter()
    sc = load_scenario(scenario, catalog=catalog)
    p = build_problem(sc, catalog=catalog, progress=progress)
    t1 = time.perf_counter()
    if progress:
        progress("solving the fleet MILP")
    pl = solve(p)
    t2 = time.perf_counter()
    rows = []
    if tornado:
        rows = _tornado(p, sc, pl, top=top,
                        progress=(lambda i, n, name: progress(f"tornado {i + 1}/{n}: {name}")) if progress else None)
    t3 = time.perf_counter()
    warnings = list(pl.warnings)
    for o, info in p.notes["options"].items():
        # access is reported per period in plan.blocked; the rest of the cost warnings here
        warnings += [f"{o}: {w}" for w in info.get("warnings", []) if "is not open to" not in w]
    for k, v in p.notes["predictions"].items():
        if "error" in v:
            warnings.append(f"{k}: cannot serve ({v['error']})")
    return FleetStudy(sc.model_dump(mode="json", by_alias=True, exclude_none=True), pl, rows, p.notes,
                      {"build_s": t1 - t0, "solve_s": t2 - t1, "tornado_s": t3 - t2, "wall_s": t3 - t0},
                      list(dict.fromkeys(warnings)))


def plan_risk(scenario: str | dict | Scenario, *, samples: int = 1000, seed: int = 0, mode: str = "evaluate",
              backend: str = "local", ray_address: str | None = None, workers: int | None = None,
              robust_share: float | None = 0.9, catalog: Any = None,
              progress: Callable[..., None] | None = None) -> Any:
    """Solve the scenario, then sample its uncertain inputs: evaluate the plan on each sample or re-plan each."""
    from suanli.errors import SuanliError
    from suanli.plan.fleet import solve
    from suanli.plan.problem import build_problem
    from suanli.plan.risk import run_risk

    if robust_share is not None and not (0 < robust_share <= 1):
        raise SuanliError(f"robust share must be in (0, 1] (got {robust_share})", hint="e.g. --robust 0.9")
    if workers is not None and not (1 <= workers <= 1024):
        raise SuanliError(f"workers must be between 1 and 1024 (got {workers})")
    t0 = time.perf_counter()
    sc = load_scenario(scenario, catalog=catalog)
    p = build_problem(sc, catalog=catalog)
    base = solve(p, duals=False)
    res = run_risk(p, sc, base, samples=samples, seed=seed, mode=mode, backend=backend, ray_address=ray_address,
                   workers=workers, robust_share=robust_share, progress=progress)
    res.timings["wall_s"] = time.perf_counter() - t0
    res.base_plan.update(orders={o: [round(float(x), 3) for x in base.orders[i]] for i, o in enumerate(base.options)})
    return res


__all__ = ["FleetStudy", "Scenario", "load_scenario", "plan_fleet", "plan_risk", "scenario_schema"]
