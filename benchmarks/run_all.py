"""Speed and accuracy benchmarks of the performance model, with GenZ side by side where it installs.

Run: ``python benchmarks/run_all.py`` (``make bench``). Writes
``benchmarks/results/perf_bench.json`` and ``benchmarks/results/perf_bench.md``.

1. Configurations evaluated per second (one vectorized call of
   :func:`suanli.perf.serving.evaluate` over many candidates).
2. Time of one best-configuration search, in process and as a whole CLI run
   (``suanli predict serve ...``, process start included): DeepSeek-V3 on 16 x
   H200 under TTFT 2 s / TPOT 50 ms, and Llama-3.1-70B on 8 x H200.
3. GenZ (``genz-llm`` from PyPI) on the same points, in the same run: its time
   per point and its error on the dev rows it can express (dense Llama and
   Mixtral serving rows on NVIDIA/AMD), at the configuration suanli's search
   chose, with GenZ's defaults (peak roofline, ``system_eff=1``).
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from suanli.catalog import get_catalog  # noqa: E402
from suanli.perf.hardware import HardwareSpec  # noqa: E402
from suanli.perf.ops import Dtypes, ModelShape  # noqa: E402
from suanli.perf.search import Request, predict_serve  # noqa: E402
from suanli.perf.serving import evaluate  # noqa: E402
from suanli.perf.validate import read_records, request_from_row  # noqa: E402

OUT = ROOT / "benchmarks" / "results"
SEARCHES = {
    "deepseek-v3_16xh200_ttft2s_tpot50ms": Request("h200-sxm", "deepseek-v3", chips=16, isl=1024, osl=1024,
                                                   ttft_slo_ms=2000, tpot_slo_ms=50, scenario="server"),
    "llama-3.1-70b_8xh200": Request("h200-sxm", "llama-3.1-70b", chips=8, isl=1024, osl=1024),
}
CLI = {
    "deepseek-v3_16xh200_ttft2s_tpot50ms": ["predict", "serve", "--hardware", "h200-sxm", "--chips", "16", "--model",
                                            "deepseek-v3", "--ttft-slo-ms", "2000", "--tpot-slo-ms", "50", "--json"],
    "llama-3.1-70b_8xh200": ["predict", "serve", "--hardware", "h200-sxm", "--chips", "8", "--model", "llama-3.1-70b",
                             "--json"],
}
GENZ_MODELS = {
    "llama-2-70b": "meta-llama/Llama-2-70B", "llama-3.1-70b": "meta-llama/Llama-3.1-70B",
    "llama-3.1-8b": "meta-llama/meta-llama-3.1-8b", "llama-3.1-405b": "meta-llama/meta-llama-3.1-405b",
    "mixtral-8x7b": "mistralai/Mixtral-8x7B",
}


def bench_throughput(cat) -> dict:
    hw = HardwareSpec.from_catalog(cat, "h200-sxm", chips=16)
    m = ModelShape.from_arch(cat.model("deepseek-v3"))
    n = 200_000
    rng = np.random.default_rng(0)
    tp = 2.0 ** rng.integers(0, 4, n)
    dp = 2.0 ** rng.integers(0, 3, n)
    batch = rng.integers(1, 4096, n).astype(float)
    evaluate(hw, m, Dtypes.of("fp8"), tp=tp[:100], dp=dp[:100], ep=(tp * dp)[:100], batch=batch[:100])
    ts = []
    for _ in range(3):
        t0 = time.perf_counter()
        evaluate(hw, m, Dtypes.of("fp8"), tp=tp, dp=dp, ep=tp * dp, batch=batch, isl=1024, osl=1024)
        ts.append(time.perf_counter() - t0)
    best = min(ts)
    t0 = time.perf_counter()
    for i in range(200):
        evaluate(hw, m, Dtypes.of("fp8"), tp=8, dp=1, ep=8, batch=float(i + 1))
    single = (time.perf_counter() - t0) / 200
    return {"candidates": n, "seconds": round(best, 4), "configs_per_s": round(n / best),
            "us_per_config_vectorized": round(best / n * 1e6, 3), "ms_per_config_single_call": round(single * 1e3, 3)}


def bench_searches(cat) -> dict:
    out = {}
    exe = ROOT / ".venv" / "bin" / "suanli"
    for name, req in SEARCHES.items():
        predict_serve(cat, req)
        ts = []
        for _ in range(5):
            t0 = time.perf_counter()
            p = predict_serve(cat, req)
            ts.append(time.perf_counter() - t0)
        row = {"in_process_s": round(statistics.median(ts), 4), "candidates": p.candidates,
               "output_tps_per_chip": round(p.metrics["output_tps_per_chip"], 1),
               "tpot_ms": round(p.metrics["tpot_ms"], 2), "ttft_ms": round(p.metrics["ttft_ms"], 1),
               "config": {k: p.config[k] for k in ("tp", "pp", "ep", "dp", "instances", "batch_per_chip")}}
        if exe.exists():
            # as a user's machine runs it: Python may write bytecode (a sandbox that forbids it pays
            # the compilation of every module on every start)
            env = dict(os.environ)
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            subprocess.run([str(exe), *CLI[name]], capture_output=True, text=True, cwd=ROOT, env=env)
            wall = []
            for _ in range(3):
                t0 = time.perf_counter()
                r = subprocess.run([str(exe), *CLI[name]], capture_output=True, text=True, cwd=ROOT, env=env)
                wall.append(time.perf_counter() - t0)
            row["cli_wall_s_with_process_start"] = round(statistics.median(wall), 3)
            row["cli_exit_code"] = r.returncode
        out[name] = row
    return out


def _genz_system(hw: HardwareSpec, dtype: str) -> dict:
    peak = hw.peaks_tflops.get(dtype) or hw.peaks_tflops["bf16"]
    return {"Flops": float(peak), "Memory_size": float(hw.mem_gb), "Memory_BW": float(hw.mem_bw_tbps) * 1e3,
            "ICN": float(hw.scaleup_gbps), "real_values": True}


def bench_genz(cat) -> dict:
    try:
        t0 = time.perf_counter()
        from GenZ import decode_moddeling, prefill_moddeling  # type: ignore
        import_s = time.perf_counter() - t0
    except Exception as exc:  # noqa: BLE001 - record whatever stops it
        return {"available": False, "error": f"{type(exc).__name__}: {exc}"}
    from suanli.perf.validate import predict_row

    rows = [r for r in read_records(ROOT / "data" / "validation" / "dev.csv")
            if r["kind"] == "serve" and r["model"] in GENZ_MODELS and r["metric"] == "output_tps_per_chip"]
    res, t_genz, t_suanli = [], 0.0, 0.0
    for r in rows:
        req = request_from_row(r)
        t0 = time.perf_counter()
        sp = predict_serve(cat, req)
        pred_s = predict_row(r, cat)
        t_suanli += time.perf_counter() - t0
        c = sp.config
        tp = int(c["tp"] * c["pp"])
        batch = max(int(c["batch_per_instance"]), 1)
        hw = HardwareSpec.from_catalog(cat, req.hardware, chips=req.chips)
        dt = req.weight_dtype if req.weight_dtype in ("fp8", "bf16", "int8", "fp4") else "bf16"
        bits = {"fp8": "fp8", "bf16": "bf16", "int8": "int8", "fp4": "int4"}[dt]
        sysd = _genz_system(hw, dt)
        try:
            t0 = time.perf_counter()
            dec = decode_moddeling(model=GENZ_MODELS[r["model"]], batch_size=batch, input_tokens=int(req.isl + req.osl / 2),
                                   output_tokens=int(req.osl), system_name=sysd, bits=bits, tensor_parallel=tp)
            pre = prefill_moddeling(model=GENZ_MODELS[r["model"]], batch_size=batch, input_tokens=int(req.isl),
                                    system_name=sysd, bits=bits, tensor_parallel=tp)
            t_genz += time.perf_counter() - t0
            total_s = (pre["Latency"] + req.osl * dec["Latency"]) / 1e3
            genz = batch * req.osl / total_s / tp * (c.get("server_utilization", 1.0))
            err = None
        except Exception as exc:  # noqa: BLE001
            genz, err = None, f"{type(exc).__name__}: {exc}"[:200]
        meas = float(r["value"])
        res.append({"id": r["id"], "hardware": r["hardware"], "model": r["model"], "measured": meas,
                    "suanli": round(pred_s, 1), "genz": None if genz is None else round(genz, 1),
                    "suanli_ape": round(abs(pred_s - meas) / meas, 4),
                    "genz_ape": None if genz is None else round(abs(genz - meas) / meas, 4),
                    "genz_over_measured": None if genz is None else round(genz / meas, 3),
                    "tp": tp, "batch": batch, "error": err})
    ok = [x for x in res if x["genz_ape"] is not None]
    n_calls = 2 * len(ok)
    return {
        "available": True, "version": _genz_version(), "import_s": round(import_s, 2), "rows": res,
        "n_rows": len(ok),
        "suanli_mape": round(statistics.mean(x["suanli_ape"] for x in ok), 4) if ok else None,
        "genz_mape": round(statistics.mean(x["genz_ape"] for x in ok), 4) if ok else None,
        "genz_mean_over_measured": round(statistics.mean(x["genz_over_measured"] for x in ok), 3) if ok else None,
        "genz_s_per_point": round(t_genz / max(len(ok), 1), 4),
        "genz_s_per_call": round(t_genz / max(n_calls, 1), 4),
        "suanli_s_per_point_with_search": round(t_suanli / max(len(res), 1), 4),
        "note": ("GenZ run at suanli's chosen configuration (tp, batch) with its defaults (peak roofline, "
                 "system_eff=1); throughput = batch x osl / (prefill + osl x decode step) / tp. "
                 "Llama-2-70B uses GenZ's Llama-2-70B config; fp4 rows use GenZ int4 weights."),
    }


def _genz_version() -> str | None:
    try:
        from importlib.metadata import version

        return version("genz-llm")
    except Exception:  # noqa: BLE001
        return None


def main() -> int:
    cat = get_catalog()
    res = {
        "date": time.strftime("%Y-%m-%d"), "python": platform.python_version(), "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "throughput": bench_throughput(cat),
        "searches": bench_searches(cat),
        "genz": bench_genz(cat),
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "perf_bench.json").write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
    (OUT / "perf_bench.md").write_text(render(res), encoding="utf-8")
    print(render(res))
    return 0


def render(res: dict) -> str:
    th, g = res["throughput"], res["genz"]
    L = ["# Performance-model benchmarks", "",
         f"Recorded {res['date']} by `python benchmarks/run_all.py` (Python {res['python']}, {res['cpus']} CPUs).", "",
         "## Speed", "",
         f"- Vectorized evaluation: {th['candidates']:,} configurations in {th['seconds']} s = "
         f"**{th['us_per_config_vectorized']} µs per configuration** ({th['configs_per_s']:,}/s); "
         f"one configuration per call: {th['ms_per_config_single_call']} ms.", ""]
    L += ["| search | candidates | in process | CLI incl. process start | out tok/s/chip | TPOT ms | TTFT ms | config |",
          "|---|---:|---:|---:|---:|---:|---:|---|"]
    for k, v in res["searches"].items():
        L.append(f"| {k} | {v['candidates']} | {v['in_process_s']} s | {v.get('cli_wall_s_with_process_start', '—')} s | "
                 f"{v['output_tps_per_chip']} | {v['tpot_ms']} | {v['ttft_ms']} | {v['config']} |")
    L += ["", "## GenZ side by side", ""]
    if not g.get("available"):
        L += [f"GenZ could not run: `{g.get('error')}`. suanli's own figures above stand.", ""]
    else:
        L += [f"genz-llm {g['version']} (import {g['import_s']} s). {g['note']}", "",
              f"- Rows both can express: {g['n_rows']}; MAPE suanli **{100 * g['suanli_mape']:.1f}%**, "
              f"GenZ **{100 * g['genz_mape']:.1f}%** (GenZ / measured on average {g['genz_mean_over_measured']}x).",
              f"- Time per point: GenZ {g['genz_s_per_point']} s (prefill + decode call at one fixed configuration); "
              f"suanli {g['suanli_s_per_point_with_search']} s including the whole search over its candidates.", "",
              "| id | hardware | model | measured | suanli | GenZ | suanli APE | GenZ APE |", "|---|---|---|---:|---:|---:|---:|---:|"]
        for x in g["rows"]:
            gape = "—" if x["genz_ape"] is None else f"{100 * x['genz_ape']:.1f}%"
            L.append(f"| {x['id']} | {x['hardware']} | {x['model']} | {x['measured']} | {x['suanli']} | {x['genz']} | "
                     f"{100 * x['suanli_ape']:.1f}% | {gape} |")
    return "\n".join(L) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
