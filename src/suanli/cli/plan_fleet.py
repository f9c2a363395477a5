"""`suanli plan fleet|risk|study|schema`: the fleet plan, its risk, and the scenario file schema.

Thin shell over :mod:`suanli.plan`; every run is saved in the results store
(``--store PATH``, default ``~/.suanli/runs.duckdb`` or ``SUANLI_STORE``;
``--no-store`` to skip) and can be listed with ``suanli runs``.
"""
from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path
from typing import Any, Iterator, Optional

import typer

from rich.markup import escape

from suanli.catalog.calibration import band_label
from suanli.cli.common import CATALOG_OPTION, JSON_OPTION, console, err_console, fmt, guarded, print_json, table

SCEN = typer.Argument(..., help="Scenario YAML file (see examples/scenarios/ and `suanli plan schema`).")
STORE = typer.Option(None, "--store", help="Results store (DuckDB file); default ~/.suanli/runs.duckdb or SUANLI_STORE.")
NO_STORE = typer.Option(False, "--no-store", help="Do not save the run.")
SAMPLES = typer.Option(1000, "--samples", "-N", help="Samples of the uncertain inputs (default 1000).")
MODE = typer.Option("evaluate", "--mode", help="evaluate: the plan on every sample (vectorized); replan: one MILP "
                                                "per sample.")
BACKEND = typer.Option("local", "--backend", help="local (default) or ray.")
RAY_ADDR = typer.Option(None, "--ray-address", help="Join a running Ray cluster (ray://HOST:10001 or auto); "
                                                    "default: a local Ray.")
WORKERS = typer.Option(None, "--workers", help="CPUs of a local Ray (default: all).")
SEED = typer.Option(0, "--seed", help="Random seed (same seed, same result on every backend).")
ROBUST = typer.Option(0.9, "--robust", help="Find the cheapest plan that meets demand in this share of samples "
                                            "(0 to skip).")
TORNADO = typer.Option(True, "--tornado/--no-tornado", help="Re-plan with each input at its low and high end.")


def _periods(periods: list[str]) -> str:
    """Quarters as ranges: ``2026Q1``, ``2026Q1-2028Q4`` (consecutive), ``2026Q1, 2027Q3``.

    >>> _periods(["2026Q1"]), _periods(["2026Q1", "2026Q2", "2026Q3"]), _periods(["2026Q1", "2026Q3"])
    ('2026Q1', '2026Q1-2026Q3', '2026Q1, 2026Q3')
    """
    def idx(q: str) -> int:
        y, n = q.split("Q")
        return int(y) * 4 + int(n) - 1

    runs: list[list[str]] = []
    for q in periods:
        if runs and idx(q) == idx(runs[-1][-1]) + 1:
            runs[-1].append(q)
        else:
            runs.append([q])
    return ", ".join(r[0] if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs)


@contextlib.contextmanager
def _progress(enabled: bool, label: str) -> Iterator[Any]:
    """A rich progress bar on a terminal (stderr); a no-op when piped or with --json."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=err_console, transient=True) as prog:
        yield prog


def _save(store: Optional[Path], no_store: bool, **kw: Any) -> str | None:
    if no_store:
        return None
    from suanli.store import RunStore

    with RunStore(store) as s:
        return s.save(**kw)


def register(plan_app: typer.Typer) -> None:
    """Add fleet, risk, study and schema to the ``suanli plan`` group."""

    @plan_app.command("schema")
    @guarded
    def schema_cmd(output: Optional[Path] = typer.Option(None, "-o", "--output", help="Write to this file."),
                   json_out: bool = JSON_OPTION) -> None:
        """The JSON Schema of scenario files (for editors: yaml-language-server, VS Code).

        Examples:

          suanli plan schema -o scenario.schema.json
        """
        import json

        from suanli.plan.scenario import scenario_schema

        s = scenario_schema()
        if output is not None:
            from suanli.errors import SuanliError

            if output.is_dir() or not output.parent.exists():
                raise SuanliError(f"cannot write {output}", hint="give a file path in an existing folder")
            output.write_text(json.dumps(s, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
            console.print(f"wrote {output}", highlight=False)
            return
        print_json(s)

    @plan_app.command("fleet")
    @guarded
    def fleet_cmd(scenario: Path = SCEN, tornado: bool = TORNADO, store: Optional[Path] = STORE,
                  no_store: bool = NO_STORE, catalog: Optional[list[Path]] = CATALOG_OPTION,
                  json_out: bool = JSON_OPTION) -> None:
        """Least-cost fleet per quarter for a scenario: what to buy or rent, cost per million tokens, what binds.

        Examples:

          suanli plan fleet examples/scenarios/china-2026-deepseek.yaml
        """
        study = _fleet(scenario, catalog, json_out, tornado)
        d = study.to_dict()
        rid = _save(store, no_store, kind="fleet", name=study.plan.name, inputs=study.scenario, outputs=d,
                    timings=study.timings, currency=study.plan.currency,
                    headline={"p50": study.plan.per_mtok["output_incl_unmet"]},
                    metrics=_fleet_metrics(study))
        _finish(d, rid, json_out, lambda: render_fleet(study))

    @plan_app.command("risk")
    @guarded
    def risk_cmd(scenario: Path = SCEN, samples: int = SAMPLES, mode: str = MODE, backend: str = BACKEND,
                 ray_address: Optional[str] = RAY_ADDR, workers: Optional[int] = WORKERS, seed: int = SEED,
                 robust: float = ROBUST, store: Optional[Path] = STORE, no_store: bool = NO_STORE,
                 catalog: Optional[list[Path]] = CATALOG_OPTION, json_out: bool = JSON_OPTION) -> None:
        """Spread of the plan's cost per million tokens and the chance of unmet demand over the uncertain inputs.

        Examples:

          suanli plan risk examples/scenarios/china-2026-deepseek.yaml --samples 10000

          suanli plan risk examples/scenarios/china-2026-deepseek.yaml --samples 200 --mode replan --backend ray
        """
        res = _risk(scenario, samples, mode, backend, ray_address, workers, seed, robust, catalog, json_out)
        d = res.to_dict()
        rid = _save(store, no_store, kind="risk", name=res.name, inputs={"scenario": str(scenario), "samples": samples,
                                                                           "mode": mode, "backend": backend,
                                                                           "seed": seed, "robust": robust},
                    outputs=d, timings=res.timings, currency=res.currency, seed=seed, samples=samples,
                    backend=backend, headline={**res.per_mtok, "p_unmet": res.p_unmet},
                    metrics=_risk_metrics(res), per_sample=res.per_sample)
        _finish(d, rid, json_out, lambda: render_risk(res))

    @plan_app.command("study")
    @guarded
    def study_cmd(scenario: Path = SCEN, samples: int = typer.Option(2000, "--samples", "-N",
                                                                     help="Risk samples (default 2000)."),
                  seed: int = SEED, store: Optional[Path] = STORE, no_store: bool = NO_STORE,
                  catalog: Optional[list[Path]] = CATALOG_OPTION, json_out: bool = JSON_OPTION) -> None:
        """The whole study: fleet plan, tornado and risk, then the answer in one block.

        Examples:

          suanli plan study examples/scenarios/china-2026-deepseek.yaml
        """
        t0 = time.perf_counter()
        study = _fleet(scenario, catalog, json_out, True)
        res = _risk(scenario, samples, "evaluate", "local", None, None, seed, 0.9, catalog, json_out)
        d = {"fleet": study.to_dict(), "risk": res.to_dict(), "answer": _answer(study, res)}
        timings = {"wall_s": time.perf_counter() - t0}
        rid = _save(store, no_store, kind="study", name=study.plan.name, inputs=study.scenario, outputs=d,
                    timings=timings, currency=res.currency, seed=seed, samples=samples, backend="local",
                    headline={**res.per_mtok, "p_unmet": res.p_unmet},
                    metrics={**_fleet_metrics(study), **_risk_metrics(res)}, per_sample=res.per_sample)
        _finish(d, rid, json_out, lambda: (render_fleet(study), render_risk(res), render_answer(d["answer"])))


def _finish(d: dict, rid: str | None, json_out: bool, render: Any) -> None:
    """Print the result as JSON (with its run id) or as tables, and where it was saved."""
    d["run_id"] = rid
    if json_out:
        print_json(d)
        return
    render()
    if rid:
        console.print(f"saved as run {rid} (suanli runs show {rid})", style="dim", highlight=False)


def _fleet(scenario: Path, catalog: Any, json_out: bool, tornado: bool) -> Any:
    """Plan the scenario with a progress line on a terminal."""
    from suanli.catalog import get_catalog
    from suanli.plan import plan_fleet

    cat = get_catalog(catalog or ())
    with _progress(not json_out, "plan") as prog:
        task = prog.add_task("planning", total=None) if prog else None
        cb = (lambda msg: prog.update(task, description=msg)) if prog else None
        return plan_fleet(str(scenario), catalog=cat, tornado=tornado, progress=cb)


def _risk(scenario: Path, samples: int, mode: str, backend: str, ray_address: Optional[str], workers: Optional[int],
          seed: int, robust: float, catalog: Any, json_out: bool) -> Any:
    from suanli.catalog import get_catalog
    from suanli.cli.common import check_choice
    from suanli.errors import SuanliError
    from suanli.plan import plan_risk

    check_choice("--mode", mode, ("evaluate", "replan"))
    check_choice("--backend", backend, ("local", "ray"))
    if isinstance(samples, bool) or not (1 <= samples <= 10_000_000):
        raise SuanliError(f"--samples must be between 1 and 10,000,000 (got {samples})", hint="e.g. --samples 1000")
    if mode == "replan" and samples > 100_000:
        raise SuanliError("re-plan mode solves one MILP per sample: at most 100,000 samples",
                          hint="use --mode evaluate for large sample counts")
    if not (0 <= robust <= 1):
        raise SuanliError(f"--robust must be in [0, 1] (got {robust})", hint="e.g. --robust 0.9; 0 skips it")
    if backend == "ray":
        from suanli.sweep.ray_backend import _ray

        _ray()  # says how to install Ray when it is missing
    cat = get_catalog(catalog or ())
    with _progress(not json_out, "risk") as prog:
        task = prog.add_task(f"{mode} on {backend}", total=None) if prog else None
        cb = (lambda done, total: prog.update(task, completed=done, total=total)) if prog else None
        return plan_risk(str(scenario), samples=samples, seed=seed, mode=mode, backend=backend,
                         ray_address=ray_address, workers=workers, robust_share=robust or None, catalog=cat,
                         progress=cb)


def _fleet_metrics(study: Any) -> dict[str, float]:
    pl = study.plan
    m = {f"per_mtok_{k}": v for k, v in pl.per_mtok.items()}
    m.update({f"pv_{k}": v for k, v in pl.cost["present_value"].items()})
    m["unmet_share"] = pl.cost["unmet_share"]
    last = len(pl.periods) - 1
    for o, opt in enumerate(pl.options):
        m[f"chips_end_{opt}"] = float(pl.installed[o, last] * pl.problem.unit_chips[o])
    return m


def _risk_metrics(res: Any) -> dict[str, float]:
    m = {f"risk_per_mtok_{k}": v for k, v in res.per_mtok.items()}
    m["p_unmet"] = res.p_unmet
    if res.robust:
        m["robust_coverage"] = res.robust["coverage"]
        m["robust_mean_cost"] = res.robust["mean_cost"]
    return m


# ----------------------------------------------------------------------------------------- rendering
def render_fleet(study: Any) -> None:
    pl = study.plan
    p = pl.problem
    sc = study.scenario
    cur = pl.currency
    console.print(f"[bold]{pl.name}[/]: {sc.get('buyer')} buyer, site {sc.get('site')}, {pl.periods[0]}-"
                  f"{pl.periods[-1]}, {cur}, discount rate {p.notes.get('discount_rate', 0):.1%}, "
                  f"FX {p.notes.get('fx_cny_per_usd', 0):.4g} CNY/USD", highlight=False)
    from rich import box
    from rich.table import Table

    opts = [o for o in range(len(pl.options)) if pl.installed[o].any()]
    letters = [chr(ord("A") + i) for i in range(len(opts))]
    t_ = Table(title="Accelerators in service per quarter", box=box.SIMPLE_HEAD, pad_edge=False)
    for c in ["quarter", *letters, "demand", "unmet", "MW"]:
        t_.add_column(c, justify="left" if c == "quarter" else "right", no_wrap=True)
    mw = pl.cost["onshore_mw_by_period"]
    for t, per in enumerate(pl.periods):
        dem = float(p.demand[:, t].sum())
        t_.add_row(per, *[f"{int(round(pl.installed[o, t] * p.unit_chips[o])):,}" for o in opts],
                   f"{dem / 1e3:,.1f}k", f"{float(pl.unmet[:, t].sum()) / 1e3:,.1f}k", f"{mw[t]:.2f}")
    console.print(t_)
    console.print("  ".join(f"{letters[i]}: {escape(pl.options[o])}" for i, o in enumerate(opts))
                  + "; demand and unmet in output tokens/s; MW: onshore facility power of owned units",
                  style="dim", highlight=False)
    caps = []
    for o in range(len(pl.options)):
        pred = p.notes["predictions"].get(f"{p.workloads[0]}/{pl.options[o]}", {})
        caps.append([pl.options[o], "own" if p.own[o] else "rent", "yes" if p.domestic[o] else "no",
                     pred.get("output_tps_per_chip"),
                     band_label(p.band[0, o]) if p.band.size else "—",
                     p.notes["options"][pl.options[o]]["per_chip_hour"][-1]])
    console.print(table(f"Options (first workload; {cur} per chip-hour in the last quarter)",
                        ["option", "mode", "domestic", "out tok/s/chip", "band", f"{cur}/chip-h"], caps))
    pv = pl.cost["present_value"]
    console.print(table(f"Cost (present value, {cur})", ["", cur], [
        ["capital (incl. levy) + maintenance", pv["capital"]], ["facility", pv["facility"]], ["power", pv["power"]],
        ["rent", pv["rent"]], ["unmet demand at the API price", pv["unmet"]], ["all", pv["all"]],
        ["per M output tokens (fleet)", pl.per_mtok["output"]],
        ["per M total tokens (fleet)", pl.per_mtok["total"]],
        ["per M output tokens incl. unmet", pl.per_mtok["output_incl_unmet"]]]))
    binds = sorted([b for b in pl.binding if b["family"] not in ("capacity", "demand")],
                   key=lambda b: -abs(b.get("marginal") or b["dual"] or 0))
    dem = [b for b in pl.binding if b["family"] == "demand"]
    rows = []
    if dem:
        d = [b["dual"] for b in dem]
        rows.append([f"demand ({len(dem)} quarters)", f"{fmt(min(d))} - {fmt(max(d))}", None, dem[0]["unit"]])
    rows += [[escape(b["constraint"]), b["dual"], b.get("marginal"), b["unit"]] for b in binds[:12]]
    if rows:
        console.print(table("What binds (dual at the plan; marginal: saving if relaxed one step)",
                            ["constraint", "dual", "marginal", "unit"], rows))
    for b in pl.blocked:
        console.print(f"[yellow]blocked:[/] {b['option']} in {_periods(b['periods'])}: {'; '.join(b['reasons'])}",
                      highlight=False)
    if study.tornado:
        rows = [[escape(t["input"]), escape(f"{t['low']} / {t['high']}"), t["per_mtok_low"], t["per_mtok_high"],
                 t["swing"]]
                for t in study.tornado]
        console.print(table(f"What would change the answer ({cur} per M output tokens, re-planned)",
                            ["input", "low / high", "at low", "at high", "swing"], rows))
    for w in study.warnings:
        console.print(f"[yellow]warning:[/] {escape(w)}", highlight=False)


def render_risk(res: Any) -> None:
    cur = res.currency
    console.print(f"[bold]risk[/]: {res.samples:,} samples, {res.mode} on {res.backend}, seed {res.seed} "
                  f"({res.timings['samples_per_s']:,.0f} samples/s)", highlight=False)
    pm, fm = res.per_mtok, res.fleet_per_mtok
    console.print(table(f"Cost per million output tokens ({cur})", ["", "P10", "P50", "P90", "mean"], [
        ["incl. unmet demand at the API price", pm["p10"], pm["p50"], pm["p90"], pm["mean"]],
        ["fleet only, per token served", fm["p10"], fm["p50"], fm["p90"], fm["mean"]]]))
    console.print(f"P(unmet demand > 0.1% of the horizon's) = {res.p_unmet:.1%}; unmet share P50 "
                  f"{res.unmet_share['p50']:.2%}, P90 {res.unmet_share['p90']:.2%}", highlight=False)
    if res.event_rates:
        console.print("events drawn: " + ", ".join(f"{k} {v:.0%}" for k, v in res.event_rates.items()),
                      highlight=False)
    h = res.histogram
    if h["counts"]:
        bars = " ▁▂▃▄▅▆▇█"
        mx = max(h["counts"])
        spark = "".join(bars[int(round(c / mx * 8))] for c in h["counts"])
        console.print(f"histogram {fmt(h['edges'][0])} {spark} {fmt(h['edges'][-1])} {cur}/M", highlight=False)
    r = res.robust
    if r:
        console.print(table(f"Robust plan (meets demand in >= {r['target_share']:.0%} of samples)", ["", "value"], [
            ["candidate", r["candidate"]], ["coverage", f"{r['coverage']:.1%}"],
            [f"mean cost (PV, {cur})", r["mean_cost"]],
            [f"P10 / P50 / P90 {cur}/M out", f"{fmt(r['per_mtok']['p10'])} / {fmt(r['per_mtok']['p50'])} / "
                                              f"{fmt(r['per_mtok']['p90'])}"],
            ["units bought / unit-quarters rented", "; ".join(f"{k}: {fmt(float(sum(v)), 3)}" for k, v in r["orders"].items()
                                                        if sum(v))]]
            + ([["note", r["note"]]] if r.get("note") else [])))


def _answer(study: Any, res: Any) -> dict:
    a = study.answer()
    a["risk"] = {"per_mtok": res.per_mtok, "p_unmet": res.p_unmet, "samples": res.samples,
                 "robust": {k: res.robust[k] for k in ("candidate", "coverage", "mean_cost", "per_mtok")}
                 if res.robust else None}
    return a


def render_answer(a: dict) -> None:
    cur = a["currency"]
    r = a["risk"]["per_mtok"]
    mix = ", ".join(f"{m['chips']:,} x {m['option']}" + (" (domestic)" if m["domestic"] else "")
                    for m in a["fleet_end"]) or "none"
    drivers = "; ".join(f"{d['input']} ({fmt(d['per_mtok_low'], 3)} to {fmt(d['per_mtok_high'], 3)})"
                        for d in a["drivers"][:3])
    from rich.table import Table

    t = Table(title="The answer", show_header=False)
    t.add_column("", style="bold")
    t.add_column("", overflow="fold")
    for k, v in [
        [f"fleet in {a['period_end']}", mix],
        [f"{cur} per M output tokens", f"P10 {fmt(r['p10'], 3)} / P50 {fmt(r['p50'], 3)} / P90 {fmt(r['p90'], 3)} "
                                       f"(plan: {fmt(a['per_mtok']['output_incl_unmet'], 3)})"],
        ["chance of unmet demand", f"{a['risk']['p_unmet']:.0%} of samples"],
        ["what binds", ", ".join(a["binding_families"]) or "nothing but demand"],
        ["what would change it", drivers or "—"],
        ["blocked by policy", "; ".join(f"{b['option']} ({_periods(b['periods'])})" for b in a["blocked"]) or "none"],
        ["robust plan", (f"{a['risk']['robust']['candidate']}: covers {a['risk']['robust']['coverage']:.0%}"
                         if a["risk"]["robust"] else "—")],
    ]:
        t.add_row(k, escape(v))
    console.print(t)
