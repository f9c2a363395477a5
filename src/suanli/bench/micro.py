"""Microbenchmarks with PyTorch: matmul sweeps, memory copy, attention (SDPA) and collectives.

Each measurement is timed the same way (:func:`time_op`): warm-up calls, then
``trials`` timed blocks of ``inner`` calls each closed by a device
synchronisation, the block length chosen so that one block lasts at least
``min_block_s``; the figure is the median per-call time, with the 10th and 90th
percentiles kept as the spread. Results are measurement records
(``validation/SCHEMA.md``): ``gemm`` (metric ``tflops``), ``memcopy`` (``tbps``,
counting the bytes read and written, BabelStream's convention), ``attention``
(``tflops`` at prefill shapes, ``tbps`` of KV cache read at decode shapes),
``allreduce``/``alltoall`` (``busbw_gbps`` and ``latency_us``, nccl-tests'
definitions), with the device, driver and library versions in ``notes``.

The device's PyTorch plug-in is imported when the device needs one
(``torch_npu`` for Ascend, ``torch_musa`` for Moore Threads, ``torch_mlu`` for
Cambricon); ROCm, Hygon DTK and MetaX MACA builds of PyTorch expose their
chips as ``cuda``. Collectives run when several devices are visible, one
process per device, over the device's own library (NCCL, HCCL, CNCL, MCCL ...).
"""
from __future__ import annotations

import datetime as dt
import importlib
import math
import os
import platform
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from suanli.errors import SuanliError

DEVICES = ("cpu", "cuda", "npu", "musa", "xpu", "mlu")
#: PyTorch plug-in module each device type needs (None: built into PyTorch).
PLUGINS: dict[str, str | None] = {"cpu": None, "cuda": None, "npu": "torch_npu", "musa": "torch_musa",
                                  "xpu": None, "mlu": "torch_mlu"}
#: torch.distributed backend per device type.
BACKENDS = {"cpu": "gloo", "cuda": "nccl", "npu": "hccl", "musa": "mccl", "xpu": "xccl", "mlu": "cncl"}
INSTALL_HINT = "pip install 'suanli[bench]'  (on this machine the CPU build: pip install torch==2.13.0)"


def _torch() -> Any:
    try:
        return importlib.import_module("torch")
    except ModuleNotFoundError:
        raise SuanliError("PyTorch is not installed: `suanli bench micro` needs it", hint=INSTALL_HINT) from None


# --------------------------------------------------------------------------- timing
@dataclass(frozen=True)
class Timing:
    """Seconds per call: median and the 10th-90th percentile spread over ``trials`` blocks."""

    median_s: float
    p10_s: float
    p90_s: float
    trials: int
    inner: int
    warmup: int


def _quantile(xs: list[float], q: float) -> float:
    s = sorted(xs)
    if len(s) == 1:
        return s[0]
    pos = q * (len(s) - 1)
    lo = int(math.floor(pos))
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def time_op(fn: Callable[[], Any], sync: Callable[[], Any], *, warmup: int = 3, trials: int = 7,
            min_block_s: float = 0.02, max_inner: int = 10_000) -> Timing:
    """Time ``fn`` (see the module docstring): warm-up, synchronised blocks, median and spread.

    >>> t = time_op(lambda: sum(range(100)), lambda: None, trials=3, min_block_s=0.001)
    >>> 0 < t.p10_s <= t.median_s <= t.p90_s
    True
    """
    return time_interleaved([fn], sync, warmup=warmup, trials=trials, min_block_s=min_block_s,
                            max_inner=max_inner)[0]


def time_interleaved(fns: list[Callable[[], Any]], sync: Callable[[], Any], *, warmup: int = 3, trials: int = 7,
                     min_block_s: float = 0.02, max_inner: int = 10_000) -> list[Timing]:
    """:func:`time_op` for several functions at once, their blocks interleaved trial by trial.

    >>> ts = time_interleaved([lambda: sum(range(10)), lambda: sum(range(1000))], lambda: None, trials=3,
    ...                       min_block_s=0.001)
    >>> len(ts), all(0 < t.median_s for t in ts)
    (2, True)
    """
    inners = []
    for fn in fns:
        for _ in range(warmup):
            fn()
        sync()
        t0 = time.perf_counter()
        fn()
        sync()
        one = max(time.perf_counter() - t0, 1e-7)
        inners.append(int(min(max(1, math.ceil(min_block_s / one)), max_inner)))
    samples: list[list[float]] = [[] for _ in fns]
    for _ in range(trials):
        for i, (fn, inner) in enumerate(zip(fns, inners)):
            t0 = time.perf_counter()
            for _ in range(inner):
                fn()
            sync()
            samples[i].append((time.perf_counter() - t0) / inner)
    return [Timing(statistics.median(x), _quantile(x, 0.1), _quantile(x, 0.9), trials, n, warmup)
            for x, n in zip(samples, inners)]


# --------------------------------------------------------------------------- device
@dataclass
class DeviceInfo:
    """What ran the benchmark: device type and name, how many are visible, versions."""

    device: str
    name: str
    count: int
    versions: dict[str, str]
    machine: str

    def notes(self) -> str:
        v = "; ".join(f"{k} {val}" for k, val in self.versions.items() if val)
        return f"device {self.name}; {v}; machine {self.machine}"

    def slug(self) -> str:
        s = re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-")
        return f"{self.device}-{s}" if s else self.device


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def open_device(device: str) -> tuple[Any, DeviceInfo]:
    """Import PyTorch and the device's plug-in; return (torch, device info). SuanliError when unusable."""
    if device not in DEVICES:
        raise SuanliError(f"unknown device {device!r}", hint=f"one of {', '.join(DEVICES)}")
    torch = _torch()
    plugin = PLUGINS[device]
    versions = {"torch": torch.__version__}
    if plugin:
        try:
            mod = importlib.import_module(plugin)
            versions[plugin] = getattr(mod, "__version__", "")
        except ModuleNotFoundError:
            raise SuanliError(f"device {device!r} needs the PyTorch plug-in {plugin}, which is not installed",
                              hint=f"install the vendor's {plugin} wheel matching torch {torch.__version__}") from None
    cores = os.cpu_count() or 1
    load = f", load average {os.getloadavg()[0]:.1f} at start" if hasattr(os, "getloadavg") else ""
    machine = (f"{platform.node() or 'host'} ({_cpu_name()}, {cores} cores, {platform.system()} "
               f"{platform.release()}{load})")
    if device == "cpu":
        versions["threads"] = str(torch.get_num_threads())
        blas = re.search(r"BLAS_INFO=(\w+)", torch.__config__.show())
        versions["blas"] = blas.group(1) if blas else ""
        return torch, DeviceInfo("cpu", _cpu_name(), 1, versions, machine)
    mod = getattr(torch, device, None)
    if mod is None or not mod.is_available():
        raise SuanliError(f"no {device} device is visible to PyTorch",
                          hint="check the driver and the plug-in (e.g. `python -c 'import torch; "
                               f"print(torch.{device}.is_available())'`), or use --device cpu")
    count = int(mod.device_count())
    name = mod.get_device_name(0) if hasattr(mod, "get_device_name") else device
    if device == "cuda":
        versions["cuda"] = torch.version.cuda or ""
        versions["hip"] = getattr(torch.version, "hip", None) or ""
        if torch.backends.cudnn.is_available():
            versions["cudnn"] = str(torch.backends.cudnn.version())
        versions["driver"] = _nvidia_driver()
    return torch, DeviceInfo(device, name, count, versions, machine)


def _nvidia_driver() -> str:
    try:
        import subprocess

        out = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=10)
        return out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout.strip() else ""
    except (OSError, subprocess.SubprocessError):
        return ""


def _sync(torch: Any, device: str) -> Callable[[], None]:
    if device == "cpu":
        return lambda: None
    mod = getattr(torch, device)
    return mod.synchronize


# --------------------------------------------------------------------------- plan
@dataclass(frozen=True)
class MicroPlan:
    """The shapes and sizes of one run."""

    dtypes: tuple[str, ...]
    squares: dict[str, tuple[int, ...]]         # per dtype: M = N = K
    skinny_m: tuple[int, ...]                   # decode-shaped GEMMs: M x K @ K x N with small M
    skinny_nk: int
    copy_bytes: tuple[int, ...]
    attn_heads: int
    attn_head_dim: int
    attn_prefill_seq: tuple[int, ...]
    attn_decode_batch: int
    attn_decode_kv: tuple[int, ...]
    coll_bytes: tuple[int, ...]
    trials: int = 7
    min_block_s: float = 0.02


def plan_for(device: str, *, quick: bool, dtypes: tuple[str, ...]) -> MicroPlan:
    """Sizes suited to the device: a CPU gets small matrices; ``quick`` trims every sweep."""
    if device == "cpu":
        sq = (128, 256, 512, 1024) if quick else (128, 256, 512, 1024, 2048)
        # CPUs without native BF16/FP16 units emulate them ~50x slower: keep those sweeps small
        squares = {d: (sq if d == "fp32" else sq[:2]) for d in dtypes}
        return MicroPlan(dtypes, squares, (1, 16, 128), 1024 if quick else 2048,
                         tuple(2 ** k for k in range(12, 29 if quick else 31, 2)),
                         8, 64, (256, 512) if quick else (256, 1024), 4, (1024, 4096) if quick else (1024, 8192),
                         tuple(2 ** k for k in range(10, 21, 2)), trials=7,
                         min_block_s=0.03)   # 30 ms blocks: a shared CPU's time slices average out
    sq = (1024, 4096, 8192) if quick else (512, 1024, 2048, 4096, 8192, 16384)
    return MicroPlan(dtypes, {d: sq for d in dtypes}, (1, 16, 128) if quick else (1, 8, 32, 128, 512), 8192,
                     tuple(2 ** k for k in range(12, 31 if quick else 33, 2)), 32, 128,
                     (1024, 4096) if quick else (1024, 4096, 16384), 32, (1024, 8192) if quick else (1024, 8192, 32768),
                     tuple(2 ** k for k in range(10, 27 if quick else 31, 2)), trials=5 if quick else 9,
                     min_block_s=0.02 if quick else 0.05)


TORCH_DTYPES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16", "fp8": "float8_e4m3fn", "int8": "int8"}


def default_dtypes(torch: Any, device: str) -> tuple[str, ...]:
    """The formats the device supports: fp32 and bf16 on a CPU; bf16, fp16, and fp8/int8 where available."""
    if device == "cpu":
        return ("fp32", "bf16")
    out = ["bf16", "fp16"]
    if device == "cuda" and hasattr(torch, "float8_e4m3fn") and hasattr(torch, "_scaled_mm"):
        major, minor = torch.cuda.get_device_capability(0)
        if (major, minor) >= (8, 9):
            out.append("fp8")
    if device == "cuda" and hasattr(torch, "_int_mm"):
        out.append("int8")
    return tuple(out)


# --------------------------------------------------------------------------- result
@dataclass
class MicroResult:
    """Records of one run, the device that ran it, and the physical sanity checks."""

    device: DeviceInfo
    records: list[dict]
    checks: list[dict] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(c["ok"] for c in self.checks)

    def to_dict(self) -> dict:
        return {"device": vars(self.device), "records": self.records, "checks": self.checks,
                "skipped": self.skipped, "seconds": round(self.seconds, 2), "ok": self.ok}

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame(self.records)


def _mk(torch: Any, dev: str, shape: tuple[int, ...], dtype: str) -> Any:
    if dtype == "int8":
        return torch.randint(-64, 64, shape, dtype=torch.int8, device=dev)
    if dtype == "fp8":
        return torch.randn(shape, device=dev, dtype=torch.bfloat16).to(torch.float8_e4m3fn)
    return torch.randn(shape, device=dev, dtype=getattr(torch, TORCH_DTYPES[dtype]))


def _matmul_fn(torch: Any, dev: str, m: int, n: int, k: int, dtype: str) -> Callable[[], Any]:
    a = _mk(torch, dev, (m, k), dtype)
    if dtype == "fp8":  # row-major A, column-major B, per-tensor scales (what cuBLASLt wants)
        b = _mk(torch, dev, (n, k), dtype).t()
        one = torch.tensor(1.0, device=dev)
        return lambda: torch._scaled_mm(a, b, scale_a=one, scale_b=one, out_dtype=torch.bfloat16)
    b = _mk(torch, dev, (k, n), dtype)
    if dtype == "int8":
        return lambda: torch._int_mm(a, b)
    return lambda: torch.matmul(a, b)


# --------------------------------------------------------------------------- run
def run_micro(device: str = "cpu", *, hardware: str | None = None, quick: bool = False,
              dtypes: tuple[str, ...] | None = None, catalog: Any = None,
              progress: Callable[[int, int, str], None] | None = None,
              collectives: bool = True) -> MicroResult:
    """Run the microbenchmarks on ``device`` and return the records (and sanity checks).

    ``hardware`` is the accelerator id the records name (default: a name made
    from the device, e.g. ``cpu-amd-epyc``); with a catalog id, the checks also
    compare each figure with that chip's peaks.
    """
    t_start = time.perf_counter()
    torch, info = open_device(device)
    dev = "cpu" if device == "cpu" else f"{device}:0"
    if device != "cpu":
        getattr(torch, device).set_device(0)
    sync = _sync(torch, device)
    dts = tuple(dtypes) if dtypes else default_dtypes(torch, device)
    unknown = [d for d in dts if d not in TORCH_DTYPES]
    if unknown:
        raise SuanliError(f"unknown dtype {unknown[0]!r}", hint=f"one of {', '.join(TORCH_DTYPES)}")
    pl = plan_for(device, quick=quick, dtypes=dts)
    hw_id = hardware or info.slug()
    today = dt.date.today().isoformat()
    engine = f"pytorch {torch.__version__}"
    source = f"suanli bench micro --device {device}{' --quick' if quick else ''} on {info.machine}"
    base = {"hardware": hw_id, "chips": 1, "engine": engine, "source": source, "date": today, "trust": "high"}
    records: list[dict] = []
    skipped: list[str] = []
    tag = re.sub(r"[^A-Z0-9]+", "", info.device.upper())

    jobs: list[tuple[str, Callable[[], None]]] = []

    def add(rec: dict) -> None:
        rec = {**base, **rec}
        rec["id"] = f"BENCH-{tag}-{len(records) + 1:03d}"
        records.append(rec)

    def spread_note(t: Timing, scale: float, unit: str) -> str:
        return (f"median of {t.trials} blocks x {t.inner} calls after {t.warmup} warm-up; "
                f"p10-p90 {scale / t.p90_s:.4g}-{scale / t.p10_s:.4g} {unit}; {info.notes()}")

    # matmul: square sweeps per dtype and decode-shaped (small M) GEMMs
    for d in dts:
        shapes = [(s, s, s, "square") for s in pl.squares[d]]
        shapes += [(m, pl.skinny_nk, pl.skinny_nk, "decode-shaped (small M)") for m in pl.skinny_m]
        for m, n, k, what in shapes:
            def job(m: int = m, n: int = n, k: int = k, d: str = d, what: str = what) -> None:
                try:
                    fn = _matmul_fn(torch, dev, m, n, k, d)
                    t = time_op(fn, sync, trials=pl.trials, min_block_s=pl.min_block_s)
                except (RuntimeError, TypeError, NotImplementedError) as exc:
                    skipped.append(f"gemm {d} {m}x{n}x{k}: {str(exc).splitlines()[0][:120]}")
                    return
                flop = 2.0 * m * n * k
                add({"kind": "gemm", "act_dtype": d, "weight_dtype": d, "gemm_m": m, "gemm_n": n, "gemm_k": k,
                     "metric": "tflops", "value": flop / t.median_s / 1e12,
                     "notes": f"{what} torch.matmul; {spread_note(t, flop / 1e12, 'TFLOP/s')}"})
            jobs.append((f"gemm {d} {m}x{n}x{k}", job))

    # memory copy: one buffer copied into another, bytes read + written per second. The sizes are timed
    # interleaved (block k of every size, then block k + 1 ...), so a load that comes and goes on a
    # shared machine touches every size alike and the curve keeps its shape.
    def copy_sweep() -> None:
        bufs: list[tuple[int, Any, Any]] = []
        try:
            for nbytes in pl.copy_bytes:
                src = torch.empty(nbytes, dtype=torch.uint8, device=dev).random_(0, 255)
                bufs.append((nbytes, src, torch.empty_like(src)))
        except RuntimeError as exc:  # not all at once on a small device: the sizes that fit
            skipped.append(f"memcopy beyond {bufs[-1][0] if bufs else 0} B: {str(exc).splitlines()[0][:120]}")
        fns = [(lambda s_=src, d_=dst: d_.copy_(s_)) for _, src, dst in bufs]
        for (nbytes, _, _), t in zip(bufs, time_interleaved(fns, sync, trials=pl.trials, min_block_s=pl.min_block_s)):
            add({"kind": "memcopy", "bytes": nbytes, "metric": "tbps", "value": 2.0 * nbytes / t.median_s / 1e12,
                 "notes": f"Tensor.copy_ of a {nbytes}-byte buffer, 2 x bytes counted (read + write), sizes timed "
                          f"interleaved; {spread_note(t, 2.0 * nbytes / 1e12, 'TB/s')}"})
        bufs.clear()

    jobs.append((f"memcopy {len(pl.copy_bytes)} sizes", copy_sweep))

    # attention (SDPA): causal prefill, and decode (one query token over a KV cache)
    adt = "bf16" if "bf16" in dts else dts[0]
    tdt = getattr(torch, TORCH_DTYPES.get(adt, "float32")) if adt in ("bf16", "fp16", "fp32") else torch.bfloat16
    if device == "cpu":
        tdt, adt = torch.float32, "fp32"   # emulated BF16 SDPA on a CPU measures the emulation
    sdpa = torch.nn.functional.scaled_dot_product_attention
    h, hd = pl.attn_heads, pl.attn_head_dim
    for s in pl.attn_prefill_seq:
        def job(s: int = s) -> None:
            q, k_, v = (torch.randn(1, h, s, hd, device=dev, dtype=tdt) for _ in range(3))
            t = time_op(lambda: sdpa(q, k_, v, is_causal=True), sync, trials=pl.trials, min_block_s=pl.min_block_s)
            flop = 4.0 * h * s * s * hd / 2  # QK^T and PV, causal half
            add({"kind": "attention", "act_dtype": adt, "isl": s, "seq_len": s, "batch_per_chip": 1,
                 "metric": "tflops", "value": flop / t.median_s / 1e12,
                 "notes": f"prefill SDPA causal, heads {h} x head_dim {hd}; {spread_note(t, flop / 1e12, 'TFLOP/s')}"})
        jobs.append((f"attention prefill {s}", job))
    b = pl.attn_decode_batch
    for kv in pl.attn_decode_kv:
        def job(kv: int = kv) -> None:
            q = torch.randn(b, h, 1, hd, device=dev, dtype=tdt)
            k_, v = (torch.randn(b, h, kv, hd, device=dev, dtype=tdt) for _ in range(2))
            t = time_op(lambda: sdpa(q, k_, v), sync, trials=pl.trials, min_block_s=pl.min_block_s)
            kv_bytes = 2.0 * b * h * kv * hd * k_.element_size()
            add({"kind": "attention", "act_dtype": adt, "isl": 1, "seq_len": kv, "batch_per_chip": b,
                 "metric": "tbps", "value": kv_bytes / t.median_s / 1e12,
                 "notes": f"decode SDPA, {b} sequences x {kv} cached tokens, heads {h} x head_dim {hd}, "
                          f"KV bytes read per second; {spread_note(t, kv_bytes / 1e12, 'TB/s')}"})
        jobs.append((f"attention decode {kv}", job))

    total = len(jobs)
    for i, (label, job) in enumerate(jobs):
        if progress:
            progress(i, total, label)
        job()
    if progress:
        progress(total, total, "single-device done")

    if collectives and info.count > 1 and device != "cpu":
        records += run_collectives(device, info.count, pl.coll_bytes, base=base, notes=info.notes(), tag=tag,
                                   start=len(records) + 1, skipped=skipped)
    elif collectives and device != "cpu":
        skipped.append("collectives: one device visible (all-reduce and all-to-all need two or more)")
    checks = check_physics(records, catalog=catalog, gemm_grows=device != "cpu")
    return MicroResult(info, records, checks, skipped, time.perf_counter() - t_start)


# --------------------------------------------------------------------------- collectives
def _coll_worker(rank: int, world: int, device: str, sizes: tuple[int, ...], port: int, out: Any) -> None:
    import torch
    import torch.distributed as dist

    if PLUGINS.get(device):
        importlib.import_module(PLUGINS[device])  # type: ignore[arg-type]
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group(BACKENDS[device], rank=rank, world_size=world)
    dev = "cpu" if device == "cpu" else f"{device}:{rank}"
    if device != "cpu":
        getattr(torch, device).set_device(rank)
    sync = _sync(torch, device)
    res = []
    def timed(fn: Callable[[], Any], inner: int) -> float:
        # every rank must run the same number of calls: the block length is fixed by size, not measured
        for _ in range(2):
            fn()
        sync()
        samples = []
        for _ in range(5):
            dist.barrier()
            t0 = time.perf_counter()
            for _ in range(inner):
                fn()
            sync()
            samples.append((time.perf_counter() - t0) / inner)
        return statistics.median(samples)

    for nbytes in sizes:
        n = max(nbytes // 4 // world * world, world)
        x = torch.ones(n, dtype=torch.float32, device=dev)
        y = torch.empty_like(x)
        inner = 20 if nbytes <= 2**20 else 5 if nbytes <= 2**26 else 2
        res.append((n * 4, timed(lambda: dist.all_reduce(x), inner), timed(lambda: dist.all_to_all_single(y, x), inner)))
    if rank == 0:
        out.put(res)
    dist.barrier()
    dist.destroy_process_group()


def run_collectives(device: str, world: int, sizes: tuple[int, ...], *, base: dict, notes: str, tag: str,
                    start: int = 1, skipped: list[str] | None = None) -> list[dict]:
    """All-reduce and all-to-all over ``world`` devices, one process each; records per size.

    Bus bandwidth follows nccl-tests: all-reduce ``2 (n-1)/n x bytes / t``,
    all-to-all ``(n-1)/n x bytes / t``, ``bytes`` being each rank's buffer.
    """
    import socket

    import torch.multiprocessing as mp

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ctx = mp.get_context("spawn")
    q = ctx.SimpleQueue()
    try:
        mp.start_processes(_coll_worker, args=(world, device, sizes, port, q), nprocs=world, join=True,
                           start_method="spawn")
    except Exception as exc:  # noqa: BLE001 - a failed collective run is reported, the rest kept
        if skipped is not None:
            last = [ln for ln in str(exc).splitlines() if ln.strip()]
            skipped.append(f"collectives: {(last[-1] if last else type(exc).__name__)[:160]}")
        return []
    res = q.get()
    out: list[dict] = []
    for nbytes, t_ar, t_a2a in res:
        for kind, t, factor in (("allreduce", t_ar, 2.0 * (world - 1) / world),
                                ("alltoall", t_a2a, (world - 1) / world)):
            for metric, value in (("busbw_gbps", nbytes * factor / t / 1e9), ("latency_us", t * 1e6)):
                out.append({**base, "id": f"BENCH-{tag}-{start + len(out):03d}", "kind": kind, "chips": world,
                            "bytes": nbytes, "metric": metric, "value": value,
                            "notes": f"torch.distributed {BACKENDS[device]}, {world} ranks, fp32 buffer of "
                                     f"{nbytes} bytes per rank, median of 5 barrier-aligned blocks; {notes}"})
    return out


# --------------------------------------------------------------------------- physical sanity
def check_physics(records: list[dict], *, catalog: Any = None, plateau_tol: float = 0.5,
                  gemm_grows: bool = True) -> list[dict]:
    """Checks a physical measurement must pass; each ``{"check", "ok", "detail"}``.

    * every figure is a finite number > 0;
    * achieved <= peak where the catalog knows the chip's peak (GEMM per dtype,
      copy vs memory bandwidth, prefill attention vs the BF16/FP16 peak);
    * memory copy: the smallest buffer is slower than the largest (launch and
      loop overhead dominate small copies), and the two largest buffers agree
      within ``plateau_tol`` (a plateau: the memory's own bandwidth);
    * GEMM: the largest square matrix reaches a higher rate than the smallest on an
      accelerator (a small GEMM cannot fill its cores: ``gemm_grows``); on a CPU, whose
      small GEMMs run from cache at near its peak, the largest must reach at least half the
      smallest's rate (no collapse).

    >>> recs = [{"kind": "memcopy", "bytes": b, "metric": "tbps", "value": v, "hardware": "x"}
    ...         for b, v in ((4096, 0.002), (2**20, 0.009), (2**24, 0.010), (2**26, 0.0098))]
    >>> [c["ok"] for c in check_physics(recs)]
    [True, True, True]
    """
    checks: list[dict] = []
    bad = [r["id"] if "id" in r else str(i) for i, r in enumerate(records)
           if not (isinstance(r.get("value"), (int, float)) and math.isfinite(r["value"]) and r["value"] > 0)]
    checks.append({"check": "every figure is finite and > 0", "ok": not bad,
                   "detail": f"{len(records)} records" + (f"; bad: {', '.join(bad[:5])}" if bad else "")})
    acc = None
    hw_ids = {r.get("hardware") for r in records}
    if catalog is not None and len(hw_ids) == 1:
        hid = next(iter(hw_ids))
        acc = catalog.accelerators.get(hid)
    if acc is not None:
        over = []
        for r in records:
            peak, what = None, ""
            if r["kind"] == "gemm":
                d = r.get("act_dtype") or "bf16"
                peak = acc.peak(d).value if d in ("fp32", "bf16", "fp16", "fp8", "int8", "fp4") else None
                what = f"{d} peak"
            elif r["kind"] == "memcopy":
                peak, what = acc.mem_bw_tbps.value, "memory bandwidth"
            elif r["kind"] == "attention" and r["metric"] == "tflops":
                peak, what = acc.peak("bf16").value or acc.peak("fp16").value, "bf16 peak"
            if peak is not None and r["value"] > peak:
                over.append(f"{r.get('id')}: {r['value']:.4g} > {what} {peak:g}")
        checks.append({"check": f"achieved <= peak ({acc.id} catalog figures)", "ok": not over,
                       "detail": "; ".join(over[:5]) or "all within the catalog peaks"})
    copies = sorted((r for r in records if r["kind"] == "memcopy" and r.get("bytes")), key=lambda r: r["bytes"])
    if len(copies) >= 3:
        lo, top2, top1 = copies[0], copies[-2], copies[-1]
        checks.append({"check": "copy bandwidth grows with size (smallest < largest)",
                       "ok": lo["value"] < top1["value"],
                       "detail": f"{lo['bytes']} B: {lo['value']:.4g} TB/s; {top1['bytes']} B: {top1['value']:.4g} TB/s"})
        ratio = top1["value"] / top2["value"]
        checks.append({"check": f"copy bandwidth plateaus (two largest within {plateau_tol:.0%})",
                       "ok": abs(ratio - 1) <= plateau_tol,
                       "detail": f"{top2['bytes']} B: {top2['value']:.4g}; {top1['bytes']} B: {top1['value']:.4g} TB/s"})
    for d in sorted({r.get("act_dtype") for r in records if r["kind"] == "gemm"}):
        sq = sorted((r for r in records if r["kind"] == "gemm" and r.get("act_dtype") == d
                     and r["gemm_m"] == r["gemm_n"] == r["gemm_k"]), key=lambda r: r["gemm_m"])
        if len(sq) >= 3:  # two sizes are too few to tell a trend from noise
            detail = (f"{sq[0]['gemm_m']}^3: {sq[0]['value']:.4g}; {sq[-1]['gemm_m']}^3: "
                      f"{sq[-1]['value']:.4g} TFLOP/s")
            if gemm_grows:
                checks.append({"check": f"{d} GEMM rate grows with size (largest square > smallest)",
                               "ok": sq[-1]["value"] > sq[0]["value"], "detail": detail})
            else:
                checks.append({"check": f"{d} GEMM rate holds with size (largest square >= half the smallest)",
                               "ok": sq[-1]["value"] >= 0.5 * sq[0]["value"], "detail": detail})
    return checks
