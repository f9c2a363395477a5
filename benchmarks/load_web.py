"""Load on the REST API: 50 concurrent clients on loopback against compare and classify, for a bounded time.

Run: ``python benchmarks/load_web.py [--clients 50] [--seconds 20]``. Starts
``suanli serve`` on a free loopback port (nothing leaves the machine), drives
it with one keep-alive connection per virtual user (raw asyncio streams, lighter than httpx), and writes
``benchmarks/results/load_web.json`` and ``load_web.md``: p50/p95/p99
latency, requests per second and errors per endpoint. Target: compare p95 <=
200 ms with zero errors.

Each endpoint is driven from a fixed pool of distinct queries (different chips,
models, SLOs, dates), so a run mixes first-time answers (the engines run) and
repeats (answered from the server's cache of pure-function results). The
first pass over the pool is timed separately as the cold figure.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results"
TARGET_P95_MS = 200.0

CHIP_SETS = [["h200-sxm", "h20", "ascend-910c"], ["h100-sxm", "h800-sxm", "h20"], ["h200-sxm", "b200"],
             ["ascend-910c", "ascend-910b3"], ["h20", "mi308x"], ["h200-sxm", "h20"]]
MODELS = ["deepseek-v3", "llama-3.1-70b", "qwen3-235b-a22b"]
SLOS = [None, 50.0, 100.0]


def compare_pool() -> list[dict]:
    pool = []
    for chips in CHIP_SETS:
        for model in MODELS:
            for tpot in SLOS:
                pool.append({"hardware": chips, "model": model, "tpot_slo_ms": tpot, "pareto": True})
    return pool


def classify_pool() -> list[dict]:
    chips = ["h200-sxm", "h20", "h100-sxm", "h800-sxm", "b200", "ascend-910c", "mi308x", "rtx-pro-6000d"]
    dates = ["2023-01-01", "2024-06-01", "2025-06-01", "2026-03-01"]
    return [{"hardware": c, "dest": "CN", "date": d} for c in chips for d in dates]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(workers: int) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "suanli", "serve", "--port", str(port), "--workers",
                             str(workers)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("suanli serve did not start")


class Conn:
    """A keep-alive HTTP/1.1 connection on raw asyncio streams: a load generator lighter than the server it drives
    (client and server share the machine's CPUs)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
                          f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        await self.writer.drain()
        status = int((await self.reader.readline()).split()[1])
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            k, _, v = line.decode("latin-1").partition(":")
            if k.lower() == "content-length":
                length = int(v)
        await self.reader.readexactly(length)
        return status

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def _one(conn: Conn, path: str, body: bytes) -> tuple[float, bool]:
    t = time.perf_counter()
    try:
        ok = await conn.post(path, body) == 200
    except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
        ok = False
        await conn.close()
        conn.writer = None
    return (time.perf_counter() - t) * 1000, ok


def _hostport(base: str) -> tuple[str, int]:
    host, port = base.removeprefix("http://").split(":")
    return host, int(port)


async def cold_pass(base: str, path: str, pool: list[bytes]) -> list[float]:
    """Every distinct query once, one at a time: the engines' own time per answer (plus HTTP)."""
    conn = Conn(*_hostport(base))
    out = [(await _one(conn, path, b))[0] for b in pool]
    await conn.close()
    return out


async def drive(base: str, path: str, pool: list[bytes], clients: int, seconds: float, seed: int) -> dict:
    rng = random.Random(seed)
    lat: list[float] = []
    errors = 0
    stop = time.perf_counter() + seconds

    async def user(k: int) -> None:
        nonlocal errors
        r = random.Random(rng.random() + k)
        conn = Conn(*_hostport(base))
        while time.perf_counter() < stop:
            ms, ok = await _one(conn, path, r.choice(pool))
            lat.append(ms)
            errors += not ok
        await conn.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(user(k) for k in range(clients)))
    wall = time.perf_counter() - t0
    a = np.asarray(lat)
    return {"endpoint": path, "clients": clients, "seconds": round(wall, 2), "requests": int(a.size),
            "errors": int(errors), "rps": round(a.size / wall, 1),
            "p50_ms": round(float(np.percentile(a, 50)), 1), "p95_ms": round(float(np.percentile(a, 95)), 1),
            "p99_ms": round(float(np.percentile(a, 99)), 1), "max_ms": round(float(a.max()), 1),
            "distinct_queries": len(pool)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--workers", type=int, default=1, help="server processes")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    proc, base = start_server(args.workers)
    try:
        pools = {"/api/v1/compare": [json.dumps(b).encode() for b in compare_pool()],
                 "/api/v1/policy/classify": [json.dumps(b).encode() for b in classify_pool()]}
        cold = {p: asyncio.run(cold_pass(base, p, pool)) for p, pool in pools.items()}
        runs = [asyncio.run(drive(base, p, pool, args.clients, args.seconds, args.seed)) for p, pool in pools.items()]
    finally:
        proc.terminate()
        proc.wait(10)
    for r in runs:
        c = np.asarray(cold[r["endpoint"]])
        r["cold_p50_ms"] = round(float(np.percentile(c, 50)), 1)
        r["cold_max_ms"] = round(float(c.max()), 1)
    compare = runs[0]
    met = compare["p95_ms"] <= TARGET_P95_MS and compare["errors"] == 0
    doc = {"target": {"endpoint": "/api/v1/compare", "p95_ms": TARGET_P95_MS, "errors": 0}, "met": met,
           "runs": runs, "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                     "platform": platform.platform()},
           "command": "python benchmarks/load_web.py " + " ".join(sys.argv[1:])}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "load_web.json").write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    lines = ["# REST API under load (loopback)", "",
             f"`{doc['command'].strip()}` on {os.cpu_count()} CPUs, client and server on the same machine. "
             f"{args.clients} concurrent clients per endpoint for {args.seconds:g} s each, drawing from a pool of "
             "distinct queries (cold = each distinct query answered once, one at a time, before the run).", "",
             "| endpoint | requests | errors | req/s | p50 ms | p95 ms | p99 ms | max ms | distinct | cold p50 ms "
             "| cold max ms |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in runs:
        lines.append(f"| {r['endpoint']} | {r['requests']} | {r['errors']} | {r['rps']} | {r['p50_ms']} | "
                     f"{r['p95_ms']} | {r['p99_ms']} | {r['max_ms']} | {r['distinct_queries']} | "
                     f"{r['cold_p50_ms']} | {r['cold_max_ms']} |")
    lines += ["", f"Target (compare p95 <= {TARGET_P95_MS:g} ms, zero errors): **{'met' if met else 'NOT met'}**.", ""]
    (OUT / "load_web.md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    if not met:
        sys.exit(1)


if __name__ == "__main__":
    main()
