"""Risk: sampling, vectorized evaluation against the plan, reproducibility, and local vs Ray."""
from __future__ import annotations

import numpy as np
import pytest

from suanli.plan.fleet import solve
from suanli.plan.risk import Samples, draw_samples, evaluate, percentiles, run_risk


def test_no_uncertainty_reproduces_the_plan(small_problem_built):
    sc, p = small_problem_built
    plan = solve(p, duals=False)
    quiet = sc.model_copy(update={"uncertain": [], "events": []})
    s = draw_samples(p, quiet, 5, seed=1, model_band=False)
    ev = evaluate(p, quiet, plan.orders, s, assigned=plan.assigned)
    assert np.allclose(ev.per_mtok, plan.per_mtok["output_incl_unmet"], rtol=1e-9)
    assert np.allclose(ev.cost, plan.cost["present_value"]["all"], rtol=1e-9)


def test_same_seed_same_samples_and_result(small_problem_built):
    sc, p = small_problem_built
    a = draw_samples(p, sc, 1000, seed=42)
    b = draw_samples(p, sc, 1000, seed=42)
    c = draw_samples(p, sc, 1000, seed=43)
    assert np.array_equal(a.demand, b.demand) and np.array_equal(a.events, b.events)
    assert not np.array_equal(a.demand, c.demand)


def test_distributions_match_their_parameters(small_problem_built):
    sc, p = small_problem_built
    s = draw_samples(p, sc, 200_000, seed=0, model_band=False)
    # lognormal from a 90% range: 5% of draws below 0.8 and 5% above 1.25
    d = s.demand[:, 0]
    assert np.mean(d < 0.8) == pytest.approx(0.05, abs=0.003)
    assert np.mean(d > 1.25) == pytest.approx(0.05, abs=0.003)
    # uniform price factor on h20 only
    price = s.option["price"]
    assert price[:, 0].min() >= 0.9 and price[:, 0].max() <= 1.2 and (price[:, 1:] == 1).all()
    # event drawn with its probability
    assert s.events[:, 0].mean() == pytest.approx(0.3, abs=0.005)


def test_blocking_event_raises_cost_or_unmet(small_problem_built):
    sc, p = small_problem_built
    plan = solve(p, duals=False)
    W, O, T = p.shape
    ones = {k: np.ones((2, O)) for k in ("price", "rent", "supply", "throughput", "electricity", "fx",
                                          "cost_of_capital")}
    s = Samples(2, 0, ones, np.ones((2, W)), np.array([[0.0], [1.0]]), ["h20-stop"])
    ev = evaluate(p, sc, plan.orders, s, assigned=plan.assigned)
    if plan.orders[p.options.index("h20"), 2:].sum():
        # orders after the stop are not delivered: less capacity, so unmet demand or extra rent
        assert ev.cost[1] != pytest.approx(ev.cost[0])
        assert ev.unmet_share[1] >= ev.unmet_share[0]


def test_percentiles():
    assert percentiles(np.array([np.nan, 1.0, 2.0, 3.0]))["p50"] == 2.0


def test_replan_and_robust_plan(small_problem_built):
    sc, p = small_problem_built
    base = solve(p, duals=False)
    r = run_risk(p, sc, base, samples=6, seed=3, mode="replan", robust_share=0.5)
    assert r.samples == 6 and np.isfinite(r.per_mtok["p50"])
    assert r.per_mtok["p10"] <= r.per_mtok["p50"] <= r.per_mtok["p90"]
    assert r.robust["coverage"] >= 0.5 or "note" in r.robust


@pytest.mark.slow
def test_replan_identical_on_local_and_ray(small_problem_built):
    ray = pytest.importorskip("ray")
    sc, p = small_problem_built
    base = solve(p, duals=False)
    local = run_risk(p, sc, base, samples=8, seed=11, mode="replan", robust_share=None)
    try:
        remote = run_risk(p, sc, base, samples=8, seed=11, mode="replan", backend="ray", workers=2,
                          robust_share=None)
    finally:
        ray.shutdown()
    assert np.array_equal(local.per_sample["per_mtok"], remote.per_sample["per_mtok"])
    assert local.per_mtok == remote.per_mtok and local.p_unmet == remote.p_unmet


def test_ray_backend_without_ray_says_how_to_install(monkeypatch, small_problem_built):
    import sys

    from suanli.errors import SuanliError
    from suanli.sweep import map_chunks

    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    with pytest.raises(SuanliError) as e:
        map_chunks(len, chunks=[[1], [2]], backend="ray")
    assert "pip install" in e.value.hint and "ray" in e.value.hint


def test_local_backend_keeps_chunk_order():
    from suanli.sweep import map_chunks

    assert map_chunks(lambda k, c: [k * x for x in c], 3, chunks=[[1], [2, 3]]) == [[3], [6, 9]]
