"""Start-up cost of the ``suanli`` command and of ``import suanli``, as CPU time of the whole process.

Run: ``python benchmarks/startup.py [runs]``. Writes ``benchmarks/results/startup.json`` and
``benchmarks/results/startup.md``.

Each case runs ``runs`` times (default 7) as a fresh process, the cases taking turns; the CPU time (user + system) of
each child comes from ``resource.getrusage(RUSAGE_CHILDREN)``, so other load on the machine
counts less than it would in wall-clock time (though not nothing: the minimum is shown too). The
median is reported beside the bare Python
start-up on the same machine, which calibrates it against another machine's figures.

Targets (issue "Hardening", item 14): ``suanli --version`` and ``suanli catalog show ID`` under
0.25 s of process time.

The catalog cache lives in a temporary ``XDG_CACHE_HOME`` for the run (the warm-up run writes
it), so the ``catalog show`` cases measure a cache hit; one case runs with ``SUANLI_NO_CACHE=1``
(YAML parsed and validated). Children may write bytecode (``PYTHONDONTWRITEBYTECODE`` is dropped), as
an installed suanli has its ``.pyc`` files. The "component" rows import one layer of the ``catalog show`` path
each and say where the remaining time goes.
"""
from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results"
PY = sys.executable
CASES = {
    "python -c pass (bare interpreter)": [PY, "-c", "pass"],
    "python -c 'import suanli'": [PY, "-c", "import suanli"],
    "python -c 'import suanli; suanli.get_catalog()'": [PY, "-c", "import suanli; suanli.get_catalog()"],
    "suanli --version": [PY, "-m", "suanli", "--version"],
    "suanli catalog show h200-sxm": [PY, "-m", "suanli", "catalog", "show", "h200-sxm"],
    "suanli catalog show h200-sxm --json": [PY, "-m", "suanli", "catalog", "show", "h200-sxm", "--json"],
    "suanli catalog show h200-sxm (SUANLI_NO_CACHE=1)": [PY, "-m", "suanli", "catalog", "show", "h200-sxm"],
    "component: import typer": [PY, "-c", "import typer"],
    "component: import rich.console, rich.table": [PY, "-c", "import rich.console, rich.table"],
    "component: import pydantic (with its lazy submodules)": [PY, "-c", "import pydantic.main, pydantic.fields"],
    "component: import suanli.catalog.schema (pydantic + records)": [PY, "-c", "import suanli.catalog.schema"],
    "component: import suanli.cli.catalog (typer, rich, CLI)": [PY, "-c", "import suanli.cli.catalog"],
    "component: the CLI imports + catalog from the cache": [PY, "-c", "import suanli.cli.main, suanli.catalog.derived;"
                                                            " suanli.catalog.get_catalog()"],
}
ENV = {"suanli catalog show h200-sxm (SUANLI_NO_CACHE=1)": {"SUANLI_NO_CACHE": "1"}}
TARGET_S = 0.25
TARGETED = ("suanli --version", "suanli catalog show h200-sxm")


def cpu_seconds(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one run of ``cmd`` as a child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT, env=env)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall


def main(argv: list[str]) -> None:
    runs = int(argv[1]) if len(argv) > 1 else 7
    rows = []
    cache = tempfile.TemporaryDirectory(prefix="suanli-startup-")
    envs = {}
    for name, cmd in CASES.items():
        env = {**os.environ, "XDG_CACHE_HOME": cache.name, **ENV.get(name, {})}
        env.pop("SUANLI_CATALOG", None)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        if name not in ENV:
            env.pop("SUANLI_NO_CACHE", None)
        envs[name] = env
        cpu_seconds(cmd, env)  # warm the file cache (and write the catalog cache)
    # round-robin: a slow spell of a shared machine falls on every case alike, so rows compare
    all_samples: dict[str, list[tuple[float, float]]] = {name: [] for name in CASES}
    for _ in range(runs):
        for name, cmd in CASES.items():
            all_samples[name].append(cpu_seconds(cmd, envs[name]))
    for name in CASES:
        samples = all_samples[name]
        cpu = statistics.median(s[0] for s in samples)
        wall = statistics.median(s[1] for s in samples)
        rows.append({"case": name, "cpu_s_median": round(cpu, 4), "cpu_s_min": round(min(s[0] for s in samples), 4),
                     "wall_s_median": round(wall, 4), "runs": runs,
                     "target_s": TARGET_S if name in TARGETED else None})
        print(f"{name:55s} cpu {cpu:.3f} s  wall {wall:.3f} s")
    bare = rows[0]["cpu_s_median"]
    cache.cleanup()
    meta = {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
            "load_average_1min": round(os.getloadavg()[0], 2),
            "date": time.strftime("%Y-%m-%d"), "command": f"python benchmarks/startup.py {runs}"}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "startup.json").write_text(json.dumps({"meta": meta, "results": rows}, indent=2) + "\n", encoding="utf-8")
    lines = ["# Start-up time (CPU seconds of the whole process, median)", "",
             f"Generated by `{meta['command']}` on {meta['date']} (Python {meta['python']}, {meta['cpus']} CPUs).",
             f"The bare interpreter takes {bare:.3f} s on this machine (1-minute load average "
             f"{meta['load_average_1min']} at the end of the run).",
             "`catalog show` reads the validated catalog from the cache (`~/.cache/suanli`; a temporary folder "
             "here), except in the `SUANLI_NO_CACHE=1` row. Component rows import one layer each.", "",
             "| case | CPU s | CPU s (min) | wall s | target |", "|---|---:|---:|---:|---|"]
    for r in rows:
        tgt = "" if r["target_s"] is None else (f"< {r['target_s']} s: " + ("met" if r["cpu_s_median"] < r["target_s"]
                                                                              else "not met"))
        lines.append(f"| `{r['case']}` | {r['cpu_s_median']:.3f} | {r['cpu_s_min']:.3f} | {r['wall_s_median']:.3f} "
                     f"| {tgt} |")
    (OUT / "startup.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {OUT / 'startup.md'}")


if __name__ == "__main__":
    main(sys.argv)
