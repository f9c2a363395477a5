"""Chip calibrations: measured efficiency parameters of one accelerator, as catalog records.

A calibration is what ``suanli calibrate`` fits on one chip's measurement
records: the few physical parameters of its efficiency curves, each with its
uncertainty and the rows it rests on. It travels in an overlay file under the
top-level key ``calibrations`` (next to ``accelerators`` records that hold any
peak the calibration measured), loads through ``--catalog``, and the packaged
ones (``catalog/data/calibrated/``) are the defaults for the chips they name.
The performance model (``suanli.perf.chipcal``) applies it over the chip's
family values.

>>> c = ChipCalibration.model_validate({"hardware": "x1", "source": "runs.csv", "date": "2026-12-01",
...     "basis": "microbenchmarks", "rows": 12, "params": {"mem_eff": {"value": 0.8, "sd": 0.01, "rows": 4}}})
>>> c.params["mem_eff"].value, c.microbench_only
(0.8, True)
"""
from __future__ import annotations

import math

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from suanli.catalog.schema import ID_PATTERN

#: Parameters a calibration may set: name -> (unit, meaning). ``matmul_eff.<dtype>`` per compute format.
PARAMS: dict[str, tuple[str, str]] = {
    "matmul_eff": ("fraction", "large-GEMM throughput / dense peak of the format (matmul_eff.bf16, .int8 ...)"),
    "matmul_m_half": ("rows", "GEMM rows at which efficiency is half its large-M value"),
    "mem_eff": ("fraction", "streaming copy bandwidth / memory bandwidth"),
    "kernel_us": ("us", "fixed cost per kernel (launch, ramp)"),
    "attn_eff": ("fraction", "attention-core (SDPA, prefill) throughput / BF16 peak"),
    "allreduce_eff": ("fraction", "all-reduce bus bandwidth / per-chip scale-up bandwidth"),
    "allreduce_latency_us": ("us", "all-reduce fixed cost per call"),
    "maturity": ("fraction", "serving engine's share of kernel-level rates on this chip (end to end)"),
    "step_overhead_ms": ("ms", "host and launch work per decode step (scheduling iteration) on this chip, not "
                               "hidden by the device: what batch-1 and small-batch rows add beyond the kernels"),
}
_NAME = re.compile(r"^(matmul_eff\.(bf16|fp16|fp8|int8|fp4|any)|matmul_m_half|mem_eff|kernel_us|attn_eff|"
                   r"allreduce_eff|allreduce_latency_us|maturity|step_overhead_ms)$")


class CalParam(BaseModel):
    """One fitted parameter: value, standard error, and how many records it was fitted on."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    value: float = Field(ge=0)
    sd: float | None = Field(None, ge=0, description="standard error of the fit")
    rows: int = Field(ge=1)
    note: str | None = None


def band_label(p80: float) -> str:
    """An 80% band of log errors as read: ``-16%/+19%`` for a quantile of |ln(predicted / measured)| of 0.1709.

    >>> band_label(0.1709)
    '-16%/+19%'
    """
    return f"{math.exp(-p80) - 1:+.0%}/{math.exp(p80) - 1:+.0%}"


class ErrorBandRecord(BaseModel):
    """Error of predictions on the records the calibration used."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    mape: float | None = Field(None, ge=0)
    n: int = Field(0, ge=0)
    basis: str = "in-sample"
    #: conformal 80% quantile of |ln(predicted / measured)| over the same rows (the band a prediction carries)
    p80: float | None = Field(None, ge=0)
    #: share of those rows inside the band computed without them (leave-one-out)
    coverage: float | None = Field(None, ge=0, le=1)


class ChipCalibration(BaseModel):
    """Measured efficiency parameters of one accelerator (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    hardware: str = Field(pattern=ID_PATTERN)
    source: str
    date: str
    basis: Literal["microbenchmarks", "serving", "microbenchmarks+serving"]
    rows: int = Field(ge=1)
    params: dict[str, CalParam]
    measured_peaks: tuple[str, ...] = Field((), description="catalog figures this calibration measured "
                                                            "(e.g. bf16_tflops for a chip with no published peak)")
    error_band: ErrorBandRecord = ErrorBandRecord()
    generated_by: str | None = None
    notes: str | None = None

    @field_validator("params")
    @classmethod
    def _names(cls, v: dict[str, CalParam]) -> dict[str, CalParam]:
        for k in v:
            if not _NAME.match(k):
                raise ValueError(f"unknown parameter {k!r}; known: {', '.join(PARAMS)} "
                                 "(matmul_eff.<dtype> per format)")
        return v

    @property
    def microbench_only(self) -> bool:
        return self.basis == "microbenchmarks"

    def value(self, name: str) -> float | None:
        p = self.params.get(name)
        return None if p is None else p.value

    def describe(self) -> str:
        """One line for warnings: what the chip's predictions now rest on."""
        what = {"microbenchmarks": "microbenchmarks alone (serving maturity not measured)",
                "serving": "serving measurements", "microbenchmarks+serving": "microbenchmarks and serving"}[self.basis]
        eb = self.error_band
        if eb.p80 is not None:   # the 80% interval of the held-out errors, as the prediction's band shows it
            band = (f"; {band_label(eb.p80)} holds 80% of the errors ({eb.basis}) on {eb.n} records, "
                    f"MAPE {100 * eb.mape:.0f}%")
        else:
            band = f"; ±{100 * eb.mape:.0f}% (MAPE) {eb.basis} on {eb.n} records" if eb.mape is not None else ""
        return f"calibrated on {self.rows} measured records ({what}; {self.source}, {self.date}){band}"
