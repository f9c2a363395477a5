"""Achieved rates of an accelerator: peak x efficiency, with the curves as data.

:class:`HardwareSpec` is one accelerator in one system, seen per *rank* (a
device as the software sees it; an Ascend 910C package is two ranks). Its
achieved rates are

* matrix engine: ``peak(dtype) x matmul_eff x rows / (rows + m_half) x maturity``
* attention core: ``peak(bf16) x attn_eff x maturity`` (FP8 peak with an FP8 KV cache);
  MLA attention (DeepSeek-V3, absorbed decode / FlashMLA-class kernels) uses the family's
  published ``mla_eff`` instead of ``attn_eff``, times a multiplier ``attn_scale`` fitted per
  hardware family (:func:`attn_scales`)
* memory: ``bw x mem_eff x maturity``, plus ``kernel_us`` per kernel launched,
  so that the efficiency of a transfer of ``b`` bytes is ``b / (b + bw kernel_us)``

The efficiencies come per hardware *family* from ``perf/data/hardware.yaml``
(each with the dev.csv rows it was read from) and the ``maturity`` factor per
software stack (CUDA = 1) keeps the ecosystem gap an explicit, editable number.
Microbenchmarks (``kind`` gemm / memcopy) use the kernel-level figures only;
serving uses them times ``maturity``.

>>> import dataclasses
>>> spec = HardwareSpec.synthetic(bf16_tflops=1000, mem_bw_tbps=4.0, mem_gb=80)
>>> round(float(spec.matmul_rate("bf16", 1e9)) / 1e12)   # TFLOP/s at large M
704
>>> round(float(spec.mem_rate()) / 1e12, 2)               # TB/s
3.34
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from suanli.errors import DataError, SuanliError

#: Compute formats tried, in order, when a chip lacks the requested one.
DTYPE_FALLBACK: dict[str, tuple[str, ...]] = {
    "fp4": ("fp4", "fp8", "int8", "bf16", "fp16"),
    "fp8": ("fp8", "int8", "bf16", "fp16"),
    "int8": ("int8", "fp8", "bf16", "fp16"),
    "bf16": ("bf16", "fp16"),
    "fp16": ("fp16", "bf16"),
}
PEAK_DTYPES = ("bf16", "fp16", "fp8", "int8", "fp4")


def _deep_merge(base: dict, upd: dict) -> dict:
    out = dict(base)
    for k, v in upd.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


@lru_cache(maxsize=8)
def _packaged(name: str) -> dict:
    text = resources.files("suanli.perf").joinpath("data").joinpath(name).read_text(encoding="utf-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(text, Loader=loader)  # noqa: S506 - safe loader


def load_params(overrides: dict | str | Path | None = None, *, calibrated: bool = True) -> dict:
    """Model parameters: ``hardware.yaml``, the fitted ``calibration.yaml``, then ``overrides``.

    ``overrides`` is a dict or a YAML file of the same layout holding only the
    keys to change (e.g. ``{"maturity": {"cann": {"value": 0.8}}}``).
    ``calibrated=False`` leaves out the fitted values (what calibration starts from).
    """
    base = _packaged("hardware.yaml")
    calib = _packaged_optional("calibration.yaml") if calibrated else {}
    params = _deep_merge(base, calib.get("params", {})) if calib else base
    if overrides is None:
        return params
    if not isinstance(overrides, dict):
        from suanli.catalog.load import read_text

        path = Path(overrides)
        text = read_text(path, hint="check the path given to --perf-params")
        try:
            overrides = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            raise DataError(str(path), f"not valid YAML: {getattr(exc, 'problem', None) or exc}",
                            line=mark.line + 1 if mark is not None else None,
                            hint="check indentation and quoting near that line") from None
        if not isinstance(overrides, dict):
            raise DataError(str(path), "expected a mapping with keys like families, maturity, serving, comm")
        unknown = [k for k in overrides if k not in params]
        if unknown:
            from suanli.errors import suggest

            close = suggest(str(unknown[0]), [str(k) for k in params])
            raise DataError(str(path), f"unknown top-level key {unknown[0]!r}", field=str(unknown[0]),
                            hint=("did you mean: " + ", ".join(close) + "; " if close else "")
                            + "keys: " + ", ".join(map(str, params)))
        from suanli.perf.inputs import check_param_overrides

        check_param_overrides(overrides, str(path))  # finite, >= 0, > 0 where it scales a rate
    return _deep_merge(params, overrides)


def _packaged_optional(name: str) -> dict:
    try:
        return _packaged(name) or {}
    except FileNotFoundError:
        return {}


def attn_scales(params: dict, family: str) -> tuple[dict[str, float], tuple[str, ...]]:
    """Attention-core multipliers of a hardware family, per attention kind, and the kinds on the prior.

    ``attn_scale.by_family.<kind>.<family>`` (fitted on that family's rows) where present, else the
    prior ``attn_scale.<kind>``; the second value names the kinds that took the prior.

    >>> attn_scales({"attn_scale": {"mla": 1.0, "by_family": {"mla": {"hopper": 0.9}}}}, "hopper")
    ({'mla': 0.9}, ())
    >>> attn_scales({"attn_scale": {"mla": 1.0, "by_family": {"mla": {"hopper": 0.9}}}}, "cdna3")
    ({'mla': 1.0}, ('mla',))
    """
    a = params.get("attn_scale") or {}
    by_fam = a.get("by_family") or {}
    out: dict[str, float] = {}
    prior: list[str] = []
    for kind, v in a.items():
        if kind in ("by_family", "from") or isinstance(v, (dict, list, str)):
            continue
        fv = (by_fam.get(kind) or {}).get(family)
        if fv is None:
            out[kind] = float(v)
            prior.append(kind)
        else:
            out[kind] = float(fv)
    for kind, fams in by_fam.items():
        if kind not in out and (fams or {}).get(family) is not None:
            out[kind] = float(fams[family])
    return out, tuple(prior)


def _m_half(params: dict, family: str, units: int, bf16_per_rank: float, base: float, catalog: Any) -> float:
    """``matmul_m_half`` of one chip: the family's, scaled by the chip's tensor throughput per SM/CU.

    A GEMM with few rows is held back by feeding the matrix units (each k-step streams a tile
    of the other operand through the SM's shared memory for few multiply-adds), so the rows a
    kernel needs to reach its full rate grow with the FLOP/s each unit can do. The family value
    holds for its reference chip (``gemm_waves.m_half_reference``); a chip with a tenth of the
    FLOP/s per SM (H20 against H100) reaches it at a tenth of the rows. No scaling without the
    unit counts of both chips.
    """
    gw = params.get("gemm_waves") or {}
    ref = (gw.get("m_half_reference") or {}).get(family)
    ur = (gw.get("units") or {}).get(ref) if ref else None
    if not (units and ur and bf16_per_rank):
        return base
    try:
        r = catalog.accelerator(ref)
    except Exception:  # noqa: BLE001 - a catalog without the reference chip: the family value
        return base
    rb = r.peak("bf16").value or r.peak("fp16").value
    if not rb:
        return base
    rb = rb / int(getattr(r, "devices_per_package", 1) or 1)
    return base * (bf16_per_rank / float(units)) / (rb / float(ur))


def _engine_serving(eng: dict, stack: str) -> dict:
    """The serving values an engine profile states for a chip of ``stack``.

    An engine that loops over the routed experts (``expert_us``) does so only where it has no
    grouped MoE kernel: a stack named in its ``grouped_experts`` runs every expert of a layer in
    one kernel, so the cost per expert touched does not apply there.

    >>> _engine_serving({"expert_us": 35.0, "grouped_experts": ["cann"]}, "cann")
    {}
    >>> _engine_serving({"expert_us": 35.0, "grouped_experts": ["cann"]}, "maca")
    {'expert_us': 35.0}
    """
    out = {k: eng[k] for k in ("step_overhead_ms", "layer_overhead_us", "expert_us", "expert_parallel",
                               "overlap_host", "stream_gather", "prefill_dispatch_per_node")
           if eng.get(k) is not None}
    if stack in (eng.get("grouped_experts") or ()):
        out.pop("expert_us", None)
    return out


def _waves(params: dict, family: str, hardware: str) -> dict:
    """The GEMM tile shapes of ``family`` and the SM/CU count of ``hardware`` (``gemm_waves`` in hardware.yaml)."""
    gw = params.get("gemm_waves") or {}
    tiles = tuple(tuple(int(x) for x in t) for t in (gw.get("tiles_mn") or {}).get(family, ()))
    return {"gemm_tiles": tiles, "gemm_units": int((gw.get("units") or {}).get(hardware, 0) or 0),
            "gemm_k_ref": float(gw.get("k_reference", 0) or 0)}


def _sustained(params: dict, hardware: str, fd: dict) -> dict:
    """The family values ``fd`` with ``matmul_eff`` scaled by the chip's sustained GEMM clock against the
    family's reference chip (``sustained_matmul`` in hardware.yaml; 1 where it states none).

    >>> _sustained({"sustained_matmul": {"x": {"value": 1.2}}}, "x", {"matmul_eff": {"any": 0.5}})["matmul_eff"]
    {'any': 0.6}
    >>> _sustained({}, "y", {"matmul_eff": {"any": 0.5}})["matmul_eff"]
    {'any': 0.5}
    """
    entry = (params.get("sustained_matmul") or {}).get(hardware)
    if not entry:
        return fd
    f = float(entry["value"] if isinstance(entry, dict) else entry)
    return {**fd, "matmul_eff": {k: float(v) * f for k, v in (fd.get("matmul_eff") or {}).items()}}


def family_of(hardware: str, stack: str, params: dict) -> str:
    """Hardware family by id prefix, else by software stack, else ``default``.

    >>> p = load_params()
    >>> family_of("h200-sxm", "cuda", p), family_of("mi325x", "rocm", p), family_of("mlu690", "neuware", p)
    ('hopper', 'cdna3', 'default')
    """
    for fam, d in params["families"].items():
        if any(hardware.startswith(m) for m in d.get("match") or ()):
            return fam
    return params.get("by_stack", {}).get(stack, "default")


@dataclass(frozen=True)
class HardwareSpec:
    """One accelerator in one system, per rank, with its efficiency curves.

    Numeric fields may be numpy arrays (they broadcast with the workload), which
    is how the property tests vary bandwidth and peaks.
    """

    hardware: str
    family: str
    stack: str
    vendor: str
    ranks_per_chip: int
    peaks_tflops: dict[str, Any]       # per rank, dense; None = unsupported/unknown
    mem_bw_tbps: Any                   # per rank
    mem_gb: Any                        # per rank
    matmul_eff: dict[str, float]
    matmul_m_half: float
    attn_eff: Any
    mem_eff: Any
    kernel_us: Any
    mla_eff: Any = None                # MLA attention-core share of peak (None: attn_eff)
    maturity: Any = 1.0
    mem_maturity: Any = None           # maturity of HBM streaming when the stack states its own (else maturity)
    engine_factor: Any = 1.0
    request_us: Any = 0.0              # host work per request in the batch per decode step (engine)
    # system
    system: str = "none"
    system_chips: int = 8
    domain_ranks: int = 8              # ranks in one scale-up domain
    scaleup_gbps: Any = 450.0          # per rank, per direction
    topology: str = "switched"
    scaleout_gbps: Any = 50.0          # per rank, per direction
    comm: dict = field(default_factory=dict)
    serving: dict = field(default_factory=dict)
    attn_scale: dict = field(default_factory=dict)   # per attention kind (mla: FlashMLA-class kernels)
    attn_scale_prior: tuple[str, ...] = ()  # attention kinds whose multiplier is the prior (not fitted here)
    estimates: tuple[str, ...] = ()    # figures resting on estimates
    warnings: tuple[str, ...] = ()
    calibration: Any = None            # the chip's ChipCalibration (suanli calibrate), if any
    measured: tuple[str, ...] = ()     # catalog figures measured by a calibration, not published
    gemm_tiles: tuple = ()             # GEMM output tile shapes (rows, columns) of the family's libraries
    gemm_units: int = 0                # SMs / CUs per rank that run those tiles (0: no wave quantisation)
    gemm_k_ref: float = 0.0            # K at which matmul_eff was read (0: no K dependence)

    # --- construction ----------------------------------------------------------
    @classmethod
    def from_catalog(
        cls,
        catalog: Any,
        hardware: str,
        *,
        system: str | None = None,
        chips: int | None = None,
        engine: str | None = None,
        params: dict | None = None,
    ) -> HardwareSpec:
        """Build from catalog records: the accelerator, its system and the parameters.

        ``system`` is a system id or alias (``hgx-8``); by default the chip's
        usual box, or the rack for a rack-scale id (``gb200-nvl72``).
        """
        p = params or load_params()
        acc = catalog.accelerator(hardware)
        sysrec = None
        if acc.category == "system" and acc.id in getattr(catalog, "systems", {}):
            sysrec = catalog.systems[acc.id]
            if sysrec.hardware:
                acc = catalog.accelerator(sysrec.hardware)
        if sysrec is None:
            if system:
                sysrec = catalog.system(system, acc.id)
                if sysrec.hardware and sysrec.hardware != acc.id:
                    raise SuanliError(f"system {sysrec.id!r} holds {sysrec.hardware}, not {acc.id}",
                                      hint=f"use hardware {sysrec.hardware}, a system of {acc.id}, "
                                           "the alias hgx-8, or no system")
            else:
                sysrec = catalog.default_system(acc.id)
                if chips and chips > sysrec.chips:
                    big = [s for s in catalog.systems.values() if s.hardware == acc.id and s.chips >= chips]
                    if big:
                        sysrec = min(big, key=lambda s: s.chips)
        warnings: list[str] = []
        estimates: list[str] = []
        rpc = int(getattr(acc, "devices_per_package", 1) or 1)

        peaks: dict[str, float | None] = {}
        measured: list[str] = []
        for d in PEAK_DTYPES:
            fig = acc.peak(d)
            peaks[d] = None if fig.value is None else fig.value / rpc
            if fig.value is not None and fig.is_estimate:
                estimates.append(f"{d} peak")
            if fig.value is not None and fig.confidence == "measured":
                measured.append(f"{d} peak")
        if peaks["bf16"] is None and peaks["fp16"] is not None:
            peaks["bf16"] = peaks["fp16"]
        if peaks["bf16"] is None and peaks["int8"] is not None:
            peaks["bf16"] = peaks["int8"] / 2
            warnings.append(f"{acc.id}: no BF16/FP16 peak in the catalog; assumed half the INT8 peak")
            estimates.append("bf16 peak (half of int8)")
        if peaks["bf16"] is None and peaks["fp8"] is not None:
            peaks["bf16"] = peaks["fp8"] / 2
            warnings.append(f"{acc.id}: no BF16 peak in the catalog; assumed half the FP8 peak")
            estimates.append("bf16 peak (half of fp8)")
        if peaks["bf16"] is None:
            raise SuanliError(
                f"accelerator {acc.id!r} has no dense compute peak in the catalog",
                hint="add bf16_tflops (or fp16/int8) with an overlay: --catalog FILE "
                     "(see examples/overlay-made-up-chip.yaml)",
            )
        if acc.mem_bw_tbps.value is None or acc.mem_capacity_gb.value is None:
            missing = [n for n in ("mem_bw_tbps", "mem_capacity_gb") if getattr(acc, n).value is None]
            raise SuanliError(
                f"accelerator {acc.id!r} lacks {', '.join(missing)} in the catalog",
                hint="add the figure with an overlay: --catalog FILE (see examples/overlay-made-up-chip.yaml)",
            )
        for n in ("mem_bw_tbps", "mem_capacity_gb"):
            if getattr(acc, n).is_estimate:
                estimates.append(n)

        fam = family_of(acc.id, acc.stack, p)
        fd = p["families"][fam]
        ascale, aprior = attn_scales(p, fam)
        mat = p["maturity"].get(acc.stack, p["maturity"]["other"])
        comm_p = p["comm"]
        fd = _sustained(p, acc.id, fd)
        cal = (getattr(catalog, "calibrations", None) or {}).get(acc.id)
        if cal is not None:  # the chip's own measured efficiencies over its family's (suanli calibrate)
            from suanli.perf.chipcal import apply_calibration

            fd, mat, comm_p = apply_calibration(cal, fd, mat, comm_p)
            warnings.append(f"{acc.id}: {cal.describe()}")
        elif fam == "default":
            warnings.append(f"{acc.id}: no efficiency data for its family; generic estimates used")
        if acc.mem_bw_tbps.value is not None and acc.mem_bw_tbps.confidence == "measured":
            measured.append("memory bandwidth")
        if measured:
            warnings.append(f"{acc.id}: measured figures (suanli calibrate on the user's records, not a "
                            f"datasheet): {', '.join(measured)}")
        engines = p.get("engines", {})
        eng_default = engines.get("default", {"value": 1.0})
        eng = engines.get(engine or "", eng_default)
        req_us = eng.get("request_us", eng_default.get("request_us", 0.0))
        listed = eng.get("first_gen_matmul") or ()
        for d, share in ((p.get("first_gen_matmul") or {}).get(acc.id) or {}).items():
            # the engine's kernels use the family's first matrix instructions, not this chip's wider ones
            if d in listed and peaks.get(d):
                peaks[d] = peaks[d] * float(share)
                warnings.append(f"{acc.id}: {engine}'s {d} kernels use the family's first-generation matrix "
                                f"instructions, {float(share):.3g} of the chip's {d} peak (first_gen_matmul in "
                                f"hardware.yaml; --perf-params with engines.{engine}.first_gen_matmul: [] for kernels "
                                f"that use the chip's own)")

        su = sysrec.scaleup_bw_unidir_gbps.value or 32.0
        so = sysrec.scaleout_bw_unidir_gbps.value or 12.5
        if sysrec.scaleup_bw_unidir_gbps.is_estimate:
            estimates.append("scale-up bandwidth")
        waves = _waves(p, fam, acc.id)
        return cls(
            hardware=acc.id, family=fam, stack=acc.stack, vendor=acc.vendor, ranks_per_chip=rpc,
            peaks_tflops=peaks, mem_bw_tbps=acc.mem_bw_tbps.value / rpc, mem_gb=acc.mem_capacity_gb.value / rpc,
            matmul_eff=dict(fd["matmul_eff"]),
            # a chip calibrated for it has its own; else the family's, scaled to the chip's FLOP/s per SM
            matmul_m_half=(float(fd["matmul_m_half"]) if cal is not None and "matmul_m_half" in cal.params
                           else _m_half(p, fam, waves["gemm_units"], float(peaks["bf16"]), float(fd["matmul_m_half"]),
                                        catalog)),
            attn_eff=float(fd["attn_eff"]), mem_eff=float(fd["mem_eff"]), kernel_us=float(fd["kernel_us"]),
            mla_eff=float(fd["mla_eff"]) if fd.get("mla_eff") is not None else None,
            maturity=float(mat["value"]), engine_factor=float(eng.get("value", 1.0)),
            mem_maturity=float(mat["memory"]) if mat.get("memory") is not None else None,
            request_us=float(req_us),
            system=sysrec.id, system_chips=sysrec.chips, domain_ranks=sysrec.scaleup_domain_chips * rpc,
            scaleup_gbps=su / rpc, topology=sysrec.scaleup_topology, scaleout_gbps=so / rpc,
            comm=comm_p, attn_scale=ascale, attn_scale_prior=aprior,
            # an engine may state its own host cost per scheduling iteration (and, eager, per layer);
            # a chip calibrated on small-batch serving rows states its own (suanli calibrate), which wins
            serving={**p["serving"], **_engine_serving(eng, acc.stack),
                     **({"step_overhead_ms": float(mat["step_overhead_ms"])}
                        if mat.get("step_overhead_ms") is not None else {})},
            estimates=tuple(dict.fromkeys(estimates)),
            warnings=tuple(warnings), calibration=cal, measured=tuple(measured),
            **waves,
        )

    @classmethod
    def synthetic(cls, *, bf16_tflops: Any = 1000.0, mem_bw_tbps: Any = 4.0, mem_gb: Any = 80.0,
                  fp8_tflops: Any = None, scaleup_gbps: Any = 450.0, family: str = "hopper",
                  params: dict | None = None, **kw: Any) -> HardwareSpec:
        """A made-up chip with a family's efficiencies (for tests and what-if studies)."""
        p = params or load_params()
        fd = p["families"][family]
        ascale, aprior = attn_scales(p, family)
        peaks = {"bf16": bf16_tflops, "fp16": bf16_tflops, "fp8": fp8_tflops, "int8": None, "fp4": None}
        base: dict[str, Any] = dict(
            hardware="synthetic", family=family, stack="cuda", vendor="synthetic", ranks_per_chip=1,
            peaks_tflops=peaks, mem_bw_tbps=mem_bw_tbps, mem_gb=mem_gb, matmul_eff=dict(fd["matmul_eff"]),
            matmul_m_half=float(fd["matmul_m_half"]), attn_eff=float(fd["attn_eff"]),
            mla_eff=float(fd["mla_eff"]) if fd.get("mla_eff") is not None else None,
            mem_eff=float(fd["mem_eff"]), kernel_us=float(fd["kernel_us"]), scaleup_gbps=scaleup_gbps,
            comm=p["comm"], serving=p["serving"], attn_scale=ascale, attn_scale_prior=aprior,
            **_waves(p, family, ""),           # tiles and reference K of the family; no unit count
        )
        base.update(kw)
        return cls(**base)

    def replace(self, **kw: Any) -> HardwareSpec:
        return dataclasses.replace(self, **kw)

    # --- formats -----------------------------------------------------------------
    def compute_dtype(self, dtype: str) -> tuple[str, str | None]:
        """The compute format used for ``dtype``, and a warning when it falls back.

        >>> HardwareSpec.synthetic().compute_dtype("fp8")
        ('bf16', 'synthetic has no fp8 peak: fp8 matmuls run as bf16')
        """
        for d in DTYPE_FALLBACK.get(dtype, (dtype, "bf16")):
            if self.peaks_tflops.get(d) is not None:
                if d != dtype:
                    return d, f"{self.hardware} has no {dtype} peak: {dtype} matmuls run as {d}"
                return d, None
        return "bf16", f"{self.hardware} has no {dtype} peak: {dtype} matmuls run as bf16"

    # --- achieved rates (per rank) -----------------------------------------------
    def _eff(self, dtype: str) -> float:
        return self.matmul_eff.get(dtype, self.matmul_eff.get("any", 0.6))

    def matmul_rate(self, dtype: str, rows: Any, *, serving: bool = False) -> np.ndarray:
        """Achieved FLOP/s of a GEMM with ``rows`` rows in compute format ``dtype``."""
        peak = self.peaks_tflops.get(dtype)
        if peak is None:
            dtype, _ = self.compute_dtype(dtype)
            peak = self.peaks_tflops[dtype]
        r = np.asarray(rows, dtype=float)
        f = np.asarray(peak, dtype=float) * 1e12 * self._eff(dtype) * r / (r + self.matmul_m_half)
        return f * (self.maturity * self.engine_factor if serving else 1.0)

    def wave_util(self, m: Any, n: Any) -> np.ndarray:
        """Useful share of the matrix engine for an ``m x n`` output: tile and wave quantisation.

        ``M N / (tiles x tile) x tiles / (waves x units)`` at the best of the family's tile shapes;
        1 where the chip has no unit count or the GEMM has fewer tiles than units (one partial
        wave: libraries split K instead, which ``matmul_m_half`` describes).

        >>> s = HardwareSpec.synthetic(gemm_units=132)
        >>> round(float(s.wave_util(4096, 2112)), 2), round(float(s.wave_util(8192, 8192)), 2)
        (0.8, 0.97)
        """
        m, n = np.asarray(m, dtype=float), np.asarray(n, dtype=float)
        if not self.gemm_units or not self.gemm_tiles:
            return np.ones(np.broadcast_shapes(m.shape, n.shape))
        u = float(self.gemm_units)
        best = np.zeros(np.broadcast_shapes(m.shape, n.shape))
        few = np.zeros(best.shape, dtype=bool)
        for tm, tn in self.gemm_tiles:
            tiles = np.ceil(np.maximum(m, 1.0) / tm) * np.ceil(np.maximum(n, 1.0) / tn)
            util = m * n / (tiles * tm * tn) * tiles / (np.ceil(tiles / u) * u)
            best = np.maximum(best, util)
            few |= tiles <= u
        return np.where(few, 1.0, best)

    def k_util(self, k: Any, dtype: str = "bf16", *, out_bytes: float = 2.0) -> np.ndarray:
        """A GEMM's rate at contraction length ``k`` relative to the one ``matmul_eff`` was read at.

        Each SM/CU writes its output tile after its K loop, at its share of the memory bandwidth;
        the write takes as long as ``k0 = out_bytes x R / (2 BW)`` of K (``R`` the achieved GEMM
        rate, ``BW`` the achieved bandwidth), so the rate goes as ``K / (K + k0)``, here relative to
        ``gemm_k_ref`` (``gemm_waves.k_reference``). 1 where no reference is set.

        >>> s = HardwareSpec.synthetic(bf16_tflops=1000, mem_bw_tbps=4.0, gemm_k_ref=8192.0)
        >>> round(float(s.k_util(8192)), 3), round(float(s.k_util(512)), 2), float(s.k_util(1e12)) > 1
        (1.0, 0.73, True)
        """
        k = np.asarray(k, dtype=float)
        if not self.gemm_k_ref:
            return np.ones(k.shape)
        cd, _ = self.compute_dtype(dtype)
        k0 = out_bytes * float(self.matmul_rate(cd, 1e12)) / (2.0 * float(self.mem_rate()))
        return (k / (k + k0)) / (self.gemm_k_ref / (self.gemm_k_ref + k0))

    def attn_rate(self, dtype: str = "bf16", *, serving: bool = True, attention: str | None = None) -> np.ndarray:
        """Achieved FLOP/s of the attention core: BF16, or FP8 with an FP8 KV cache where the chip has FP8.

        ``attention="mla"`` uses the family's ``mla_eff`` (published FlashMLA-class kernel figures)
        where it has one, else ``attn_eff``.
        """
        peak = self.peaks_tflops.get(dtype) if dtype == "fp8" else None
        eff = self.mla_eff if (attention == "mla" and self.mla_eff is not None) else self.attn_eff
        f = np.asarray(peak if peak is not None else self.peaks_tflops["bf16"], dtype=float) * 1e12 * eff
        return f * (self.maturity * self.engine_factor if serving else 1.0)

    def mem_rate(self, *, serving: bool = False) -> np.ndarray:
        """Achieved streaming bytes/s of HBM."""
        f = np.asarray(self.mem_bw_tbps, dtype=float) * 1e12 * self.mem_eff
        mat = self.maturity if self.mem_maturity is None else self.mem_maturity
        return f * (mat * self.engine_factor if serving else 1.0)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        for k in ("comm", "serving", "attn_scale", "attn_scale_prior"):
            d.pop(k)
        d["calibration"] = self.calibration.describe() if self.calibration is not None else None
        return d


def gemm_time(spec: HardwareSpec, m: Any, n: Any, k: Any, dtype: str = "bf16", *, out_bytes: float = 2.0) -> np.ndarray:
    """Seconds for one ``M x K @ K x N`` GEMM: roofline of the achieved rates plus one kernel.

    >>> s = HardwareSpec.synthetic(bf16_tflops=1000, mem_bw_tbps=4.0)
    >>> round(float(gemm_time(s, 8192, 8192, 8192)) * 1e3, 3)   # ms, compute-bound
    1.569
    """
    from suanli.perf.ops import dtype_bytes

    m, n, k = (np.asarray(x, dtype=float) for x in (m, n, k))
    cd, _ = spec.compute_dtype(dtype)
    b = dtype_bytes(cd) if cd in ("fp8", "int8", "fp4") else 2.0
    flops = 2 * m * n * k
    byts = (m * k + k * n) * b + m * n * out_bytes
    t = np.maximum(flops / (spec.matmul_rate(cd, m) * spec.wave_util(m, n) * spec.k_util(k, cd, out_bytes=out_bytes)),
                   byts / spec.mem_rate())
    return t + spec.kernel_us * 1e-6
