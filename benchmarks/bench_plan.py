"""Speed of the risk engine on the flagship study (recorded in benchmarks/results/plan_bench.json).

- evaluate mode: 100,000 samples of the flagship plan, one core (numpy, single-threaded BLAS)
- re-plan mode: samples per second on the local backend and on Ray with 1 and 2 workers, with the speed-up
- the fleet MILP alone and the whole `plan fleet` study

Run: .venv/bin/python benchmarks/bench_plan.py [--replan-samples 24]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(v, "1")

import numpy as np  # noqa: E402

OUT = Path(__file__).parent / "results" / "plan_bench.json"
SCENARIO = Path(__file__).parent.parent / "examples" / "scenarios" / "china-2026-deepseek.yaml"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--replan-samples", type=int, default=48)
    ap.add_argument("--eval-samples", type=int, default=100_000)
    a = ap.parse_args()
    from suanli.plan.fleet import solve
    from suanli.plan.problem import build_problem
    from suanli.plan.risk import draw_samples, evaluate, run_risk
    from suanli.plan.scenario import load_scenario

    res: dict = {"machine": f"{platform.node()} ({platform.machine()}, {os.cpu_count()} cores, "
                            f"Python {platform.python_version()})", "date": time.strftime("%Y-%m-%d %H:%M"),
                 "load_avg_at_start": os.getloadavg()}
    t0 = time.perf_counter()
    sc = load_scenario(str(SCENARIO))
    p = build_problem(sc)
    res["build_problem_s"] = time.perf_counter() - t0
    ts = []
    for _ in range(3):
        t = time.perf_counter()
        plan = solve(p, duals=False)
        ts.append(time.perf_counter() - t)
    res["milp_s_median"] = float(np.median(ts))
    # evaluate: draw + evaluate 100k samples, best of 3
    runs = []
    for _ in range(3):
        t = time.perf_counter()
        s = draw_samples(p, sc, a.eval_samples, seed=1)
        ev = evaluate(p, sc, plan.orders, s, assigned=plan.assigned)
        runs.append(time.perf_counter() - t)
    res["evaluate"] = {"samples": a.eval_samples, "seconds_best": min(runs), "seconds_all": runs,
                       "samples_per_s": a.eval_samples / min(runs), "p50_per_mtok": float(np.median(ev.per_mtok)),
                       "target": "<= 10 s for 100,000 samples on one core"}
    # re-plan: local, ray 1 worker, ray 2 workers (same seed: identical results)
    rp: dict = {"samples": a.replan_samples}
    t = time.perf_counter()
    loc = run_risk(p, sc, plan, samples=a.replan_samples, seed=5, mode="replan", robust_share=None)
    rp["local"] = {"seconds": time.perf_counter() - t, "samples_per_s": loc.timings["samples_per_s"]}
    try:
        import ray

        from suanli.sweep.ray_backend import ensure_ray

        for w in (1, 2):
            ray.shutdown()
            t = time.perf_counter()
            ensure_ray(None, w)  # start the local Ray outside the timed part
            # warm the workers (each imports suanli once) outside the timed part too
            run_risk(p, sc, plan, samples=2 * w, seed=6, mode="replan", backend="ray", workers=w, robust_share=None)
            rp[f"ray_{w}_start_s"] = time.perf_counter() - t
            t = time.perf_counter()
            rr = run_risk(p, sc, plan, samples=a.replan_samples, seed=5, mode="replan", backend="ray", workers=w,
                          robust_share=None)
            rp[f"ray_{w}"] = {"seconds": time.perf_counter() - t,
                              "samples_per_s": rr.timings["samples_per_s"],
                              "identical_to_local": bool(np.array_equal(rr.per_sample["per_mtok"],
                                                                        loc.per_sample["per_mtok"]))}
        ray.shutdown()
        rp["speedup_ray2_over_ray1"] = rp["ray_2"]["samples_per_s"] / rp["ray_1"]["samples_per_s"]
        rp["speedup_ray2_over_local"] = rp["ray_2"]["samples_per_s"] / rp["local"]["samples_per_s"]
    except ModuleNotFoundError:
        rp["ray"] = "not installed"
    res["replan"] = rp
    res["load_avg_at_end"] = os.getloadavg()
    OUT.write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
