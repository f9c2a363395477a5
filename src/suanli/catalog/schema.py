"""Typed records of the catalog: every figure keeps its source and confidence.

A :class:`Figure` is one number as a source states it: the chosen ``value``
(``None`` when unknown -- never 0), an optional range, whether the source says
"about", the source and its confidence, and the alternatives other sources give
when they disagree. Records (:class:`Accelerator`, :class:`System`) hold
figures in fields whose names carry the unit (``mem_bw_tbps``, ``tdp_w``).
"""
from __future__ import annotations

import datetime as dt
import math
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

#: ``measured``: a figure suanli calibrate fitted on the user's own measurements (e.g. an effective peak
#: for a chip with no published one); it is not an estimate, but it is not a datasheet figure either.
Confidence = Literal["vendor-datasheet", "reputable-press", "measured", "estimate"]
CONFIDENCE_RANK: dict[str, int] = {"vendor-datasheet": 0, "reputable-press": 1, "measured": 1, "estimate": 2}

#: Dense-peak dtypes the catalog records, with the bit length the export rules use.
DTYPE_BITS: dict[str, int] = {
    "fp64": 64,
    "fp32": 32,
    "tf32": 32,
    "bf16": 16,
    "fp16": 16,
    "fp8": 8,
    "int8": 8,
    "fp4": 4,
}
#: Field holding the dense peak of each dtype (int8 is in TOPS, the rest TFLOPS).
PEAK_FIELD: dict[str, str] = {d: (f"{d}_tops" if d == "int8" else f"{d}_tflops") for d in DTYPE_BITS}

StackFamily = Literal[
    "cuda", "rocm", "cann", "neuware", "dtk", "xpu", "musa", "maca", "birensupa",
    "topsrider", "corex", "xla", "ppu", "other",
]
ID_PATTERN = r"^[a-z0-9][a-z0-9._\-]*$"
_DATE_TEXT = re.compile(r"^(\d{4})(?:-(\d{2}|Q[1-4]|H[12]))?(?:-(\d{2}))?")


def _finite_positive(v: float | None) -> float | None:
    """A catalog quantity is a finite number > 0 (unknown is ``None``, never 0, NaN or infinity)."""
    if v is None:
        return v
    if not math.isfinite(v):
        raise ValueError(f"must be a finite number (got {v}); leave the figure out if it is unknown")
    if v <= 0:
        raise ValueError(f"must be > 0 (got {v:g}); leave the figure out if it is unknown")
    return v


class Alternative(BaseModel):
    """A value another source gives for the same figure."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    value: float
    source: str | None = None
    confidence: Confidence | None = None
    note: str | None = None

    @field_validator("value")
    @classmethod
    def _physical(cls, v: float) -> float:
        return _finite_positive(v)


class Figure(BaseModel):
    """One sourced number. ``value`` is the chosen figure; ``None`` means unknown."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    value: float | None = None
    low: float | None = None
    high: float | None = None
    approx: bool = False
    text: str | None = Field(None, description="the source's wording when it had qualifiers")
    source: str | None = None
    source_inherited: bool = Field(
        False, description="the figure has no source of its own: `source` lists all of the record's sources")
    confidence: Confidence | None = None
    note: str | None = None
    alternatives: tuple[Alternative, ...] = ()

    @field_validator("value", "low", "high")
    @classmethod
    def _physical(cls, v: float | None) -> float | None:
        return _finite_positive(v)

    @model_validator(mode="after")
    def _check(self) -> Figure:
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"low {self.low} > high {self.high}")
        if self.value is not None:
            if self.low is not None and self.high is not None and not (self.low <= self.value <= self.high):
                raise ValueError(f"value {self.value} outside its range [{self.low}, {self.high}]")
        return self

    @property
    def known(self) -> bool:
        return self.value is not None

    @property
    def is_estimate(self) -> bool:
        return self.approx or self.confidence == "estimate"


def _coerce_figure(v: object) -> object:
    """Accept a bare number (or None) where a Figure is expected."""
    if v is None or isinstance(v, (int, float)):
        return {"value": v}
    return v


class _Record(BaseModel):
    """Shared behaviour: figures without their own source take the record's."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=ID_PATTERN)
    sources: tuple[str, ...] = Field(min_length=1)
    confidence: Confidence
    notes: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _figures_from_numbers(cls, data: object) -> object:
        if isinstance(data, dict):
            data = dict(data)
            for name, info in cls.model_fields.items():
                if info.annotation is Figure and name in data:
                    data[name] = _coerce_figure(data[name])
        return data

    @model_validator(mode="after")
    def _inherit_provenance(self) -> _Record:
        for name in self.figure_fields():
            fig: Figure = getattr(self, name)
            if fig.value is not None and (fig.source is None or fig.confidence is None):
                upd = {}
                if fig.source is None:
                    upd["source"] = " ; ".join(self.sources)
                    upd["source_inherited"] = True
                if fig.confidence is None:
                    upd["confidence"] = "estimate" if fig.approx else self.confidence
                object.__setattr__(self, name, fig.model_copy(update=upd))
        return self

    @classmethod
    def figure_fields(cls) -> list[str]:
        return [n for n, f in cls.model_fields.items() if f.annotation is Figure]

    def figures(self) -> dict[str, Figure]:
        return {n: getattr(self, n) for n in self.figure_fields()}

    def to_dict(self) -> dict:
        return self.model_dump(mode="json")


def earliest_date(text: str | None) -> dt.date | None:
    """First calendar date a loose date text can mean.

    >>> earliest_date("2024-Q2"), earliest_date("2023-11-13"), earliest_date("2021-H2")
    (datetime.date(2024, 4, 1), datetime.date(2023, 11, 13), datetime.date(2021, 7, 1))
    """
    if not text:
        return None
    m = _DATE_TEXT.match(text.strip())
    if not m:
        return None
    year, mid, day = int(m.group(1)), m.group(2), m.group(3)
    month = 1
    if mid:
        if mid.startswith("Q"):
            month = 3 * (int(mid[1]) - 1) + 1
        elif mid.startswith("H"):
            month = 1 if mid == "H1" else 7
        else:
            month = int(mid)
    return dt.date(year, month, int(day) if day and not (mid or "").startswith(("Q", "H")) else 1)


class Accelerator(_Record):
    """An AI accelerator (chip, card, rack-scale system or roadmap part).

    Compute figures are dense peaks (no 2:4 sparsity) per chip; system rows hold
    rack totals. ``scaleup_bw_gbps`` is as the source states it, with its
    direction in ``scaleup_bw_direction``; use :attr:`scaleup_bw_unidir_gbps`
    for the per-direction figure.
    """

    vendor: str
    name: str
    category: Literal["chip", "card", "system", "roadmap"]
    status: str | None = None
    announce_date: str | None = None
    launch_date: str | None = None
    form_factor: str | None = None
    process_node: str | None = None
    foundry: str | None = None
    logic_die_area_mm2: Figure = Figure()
    die_area_basis: str | None = None
    transistors_b: Figure = Figure()
    fp64_tflops: Figure = Figure()
    fp32_tflops: Figure = Figure()
    tf32_tflops: Figure = Figure()
    bf16_tflops: Figure = Figure()
    fp16_tflops: Figure = Figure()
    fp8_tflops: Figure = Figure()
    int8_tops: Figure = Figure()
    fp4_tflops: Figure = Figure()
    dense_notes: str | None = None
    mem_type: str | None = None
    mem_capacity_gb: Figure = Figure()
    mem_bw_tbps: Figure = Figure()
    scaleup_interconnect: str | None = None
    scaleup_bw_gbps: Figure = Figure()
    scaleup_bw_direction: Literal["bidirectional", "unidirectional", "aggregate", "unstated"] = "unstated"
    scaleup_bw_direction_text: str | None = None
    scaleout_nic: str | None = None
    pcie_gen: str | None = None
    tdp_w: Figure = Figure()
    price_usd: Figure = Figure()
    software_stack: str | None = None
    stack: StackFamily = "other"
    devices_per_package: int = Field(1, ge=1, le=8)
    tpp_reference: Figure = Figure()
    tpp_basis: str | None = None
    perf_density_reference: Figure = Figure()
    us_export_control_status: str | None = None

    @field_validator("announce_date", "launch_date")
    @classmethod
    def _date_text(cls, v: str | None) -> str | None:
        if v is not None and not _DATE_TEXT.match(v.strip()):
            raise ValueError(f"must start with a year, YYYY[-MM|-Qn|-Hn][-DD] (got {v!r})")
        return v

    @property
    def announced(self) -> dt.date | None:
        return earliest_date(self.announce_date)

    @property
    def launched(self) -> dt.date | None:
        return earliest_date(self.launch_date)

    def peak(self, dtype: str) -> Figure:
        """The dense-peak figure for ``dtype`` (TFLOPS; TOPS for int8)."""
        try:
            return getattr(self, PEAK_FIELD[dtype])
        except KeyError:
            raise ValueError(f"unknown dtype {dtype!r}; one of {', '.join(DTYPE_BITS)}") from None

    def peak_tflops(self, dtype: str) -> float | None:
        return self.peak(dtype).value

    @property
    def scaleup_bw_unidir_gbps(self) -> float | None:
        """Scale-up bandwidth per chip, one direction (bidirectional figures halved)."""
        v = self.scaleup_bw_gbps.value
        if v is None:
            return None
        return v / 2 if self.scaleup_bw_direction == "bidirectional" else v


class System(_Record):
    """A box accelerators come in: a node, a rack or a supernode.

    Bandwidths are per chip and per direction (``_unidir_``). ``hardware`` is
    the accelerator id; ``None`` marks a generic chassis used with any card.
    """

    name: str
    vendor: str
    kind: Literal["node", "rack", "supernode", "generic"]
    hardware: str | None = Field(None, pattern=ID_PATTERN)
    chips: int = Field(ge=1)
    scaleup_domain_chips: int = Field(ge=1)
    scaleup_fabric: str
    scaleup_bw_unidir_gbps: Figure = Figure()
    scaleup_topology: Literal["switched", "all-to-all", "mesh", "ring", "pcie"] = "switched"
    scaleout_fabric: str | None = None
    scaleout_bw_unidir_gbps: Figure = Figure()
    power_kw: Figure = Figure()
    price_usd: Figure = Figure()
    racks: float | None = Field(None, gt=0)
    aliases: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _domain(self) -> System:
        if self.scaleup_domain_chips > self.chips:
            raise ValueError(
                f"scaleup_domain_chips ({self.scaleup_domain_chips}) exceeds chips ({self.chips})"
            )
        return self
