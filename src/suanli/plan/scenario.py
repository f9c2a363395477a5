"""Scenario files: periods, workloads, options, constraints, policy, economics and uncertain inputs.

One pydantic model validates a scenario from YAML, JSON, the REST API or
Python, and gives the JSON Schema editors use (``suanli plan schema``).
Cross-field checks (unknown ids, periods out of order, an option that cannot
hold the model, ranges with low > high) run in :func:`load_scenario` before
any planning, and each error names the file, the line and the field.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from suanli.econ.inputs import EconInputs
from suanli.errors import DataError, SuanliError

_PERIOD = re.compile(r"^(\d{4})Q([1-4])$")
ID = r"^[a-z0-9][a-z0-9._-]*$"


def period_index(p: str) -> int:
    """Quarter label -> a running index (``2026Q1`` -> 8104).

    >>> period_index("2026Q2") - period_index("2026Q1"), period_index("2027Q1") - period_index("2026Q4")
    (1, 1)
    """
    m = _PERIOD.match(p)
    if not m:
        raise ValueError(f"period must look like 2026Q1 (got {p!r})")
    return int(m.group(1)) * 4 + int(m.group(2)) - 1


def period_label(i: int) -> str:
    """Inverse of :func:`period_index`.

    >>> period_label(period_index("2028Q4"))
    '2028Q4'
    """
    return f"{i // 4}Q{i % 4 + 1}"


def period_start(p: str) -> str:
    """First day of a quarter, ISO format.

    >>> period_start("2027Q2")
    '2027-04-01'
    """
    i = period_index(p)
    return f"{i // 4}-{3 * (i % 4) + 1:02d}-01"


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Periods(_M):
    """Planning periods: quarters from ``start`` to ``end`` inclusive."""

    start: str = Field(description="first quarter, e.g. 2026Q1")
    end: str = Field(description="last quarter, e.g. 2028Q4")

    @model_validator(mode="after")
    def _order(self) -> Periods:
        a, b = period_index(self.start), period_index(self.end)
        if b < a:
            raise ValueError(f"periods out of order: end {self.end} is before start {self.start}")
        if b - a >= 80:
            raise ValueError("at most 80 quarters (20 years)")
        return self

    def labels(self) -> list[str]:
        return [period_label(i) for i in range(period_index(self.start), period_index(self.end) + 1)]


class Demand(_M):
    """Demand of one workload: output tokens/s (or tokens/day) per period."""

    unit: Literal["output_tps", "output_tokens_per_day"] = Field("output_tps", description="unit of the values")
    start: float | None = Field(None, gt=0, le=1e12, description="demand in the first period")
    end: float | None = Field(None, gt=0, le=1e12, description="demand in the last period")
    growth: Literal["linear", "geometric"] = Field("geometric", description="path from start to end")
    values: dict[str, Annotated[float, Field(ge=0, le=1e12)]] | None = Field(
        None, description="explicit demand per period label (others interpolate)")
    must_serve: bool = Field(False, description="forbid unmet demand (the plan is infeasible if it cannot serve)")
    unmet_penalty_per_mtok: float | None = Field(
        None, ge=0, le=1e6, description="cost of each million output tokens not served (bought from an API), "
        "in the scenario currency; default: the API price's output rate")

    @model_validator(mode="after")
    def _given(self) -> Demand:
        if self.values is None and (self.start is None or self.end is None):
            raise ValueError("give start and end, or values per period")
        if self.values:
            for k in self.values:
                period_index(k)
        return self


class Workload(_M):
    id: str = Field(pattern=ID)
    model: str = Field(description="model id (suanli models list)")
    isl: float = Field(1024, gt=0, le=2_000_000, description="input tokens per request")
    osl: float = Field(1024, gt=0, le=2_000_000, description="output tokens per request")
    tpot_slo_ms: float | None = Field(50, gt=0, le=1e6, description="time per output token limit, ms")
    ttft_slo_ms: float | None = Field(None, gt=0, le=1e7, description="time to first token limit, ms")
    weight_dtype: str = Field("fp8", description="weight format")
    serving: Literal["offline", "server"] | None = Field(
        None, description="serving scenario of the throughput (default: server when an SLO is given, as in "
        "predict serve)")
    spec_decode: str | None = Field(None, description="speculative decoding, e.g. mtp1")
    engine: str | None = Field(None, description="serving engine profile: trt-llm, vllm, sglang, mindie")
    isl_cv: float = Field(0.0, ge=0, le=10, description="spread of input lengths, std / mean")
    osl_cv: float = Field(0.0, ge=0, le=10, description="spread of output lengths, std / mean")
    demand: Demand


class Option(_M):
    """One way to get capacity: buy or rent a system, onshore or offshore."""

    id: str = Field(pattern=ID)
    name: str | None = None
    hardware: str = Field(description="accelerator id")
    system: str | None = Field(None, description="system id (default: the chip's standard node)")
    mode: Literal["own", "rent"] = "own"
    location: str = Field("CN", description="where it runs: CN, or a country code offshore (e.g. MY, SG)")
    rent_region: Literal["CN", "offshore"] | None = Field(None, description="rental market of the price book "
                                                          "(default: CN onshore, offshore otherwise)")
    site: str | None = Field(None, description="data-centre site (default: the scenario's)")
    unit_chips: int | None = Field(None, ge=1, le=100_000, description="accelerators per unit bought or rented "
                                   "(default: the system's)")
    deploy_chips: int | None = Field(None, ge=1, le=100_000, description="deployment size for the throughput "
                                     "prediction (default: the unit, at least 16)")
    lead_time_periods: int = Field(1, ge=0, le=12, description="quarters from order to service")
    available_from: str | None = Field(None, description="first quarter it can be ordered")
    available_until: str | None = Field(None, description="last quarter it can be ordered")
    supply_chips_per_period: float | dict[str, float] | None = Field(
        None, description="accelerators this buyer can get per quarter (a number, or per period label)")
    max_units: int | None = Field(None, ge=0, description="cap on units bought or rented over the horizon")
    economics: EconInputs = Field(default_factory=EconInputs, description="overrides for this option")

    @field_validator("available_from", "available_until")
    @classmethod
    def _period(cls, v: str | None) -> str | None:
        if v is not None:
            period_index(v)
        return v

    @field_validator("supply_chips_per_period")
    @classmethod
    def _supply(cls, v):
        vals = v.values() if isinstance(v, dict) else [] if v is None else [v]
        for x in vals:
            if not (x >= 0):
                raise ValueError(f"supply must be >= 0 (got {x})")
        if isinstance(v, dict):
            for k in v:
                period_index(k)
        return v


class Distribution(_M):
    """An uncertain factor: uniform, triangular, lognormal from a 90% range, or a fixed value."""

    kind: Literal["uniform", "triangular", "lognormal", "fixed"]
    low: float | None = Field(None, description="uniform/triangular: lower end; lognormal: 5th percentile")
    high: float | None = Field(None, description="uniform/triangular: upper end; lognormal: 95th percentile")
    mode: float | None = Field(None, description="triangular: most likely value")
    value: float | None = Field(None, description="fixed: the value")

    @model_validator(mode="after")
    def _params(self) -> Distribution:
        if self.kind == "fixed":
            if self.value is None:
                raise ValueError("a fixed distribution needs value")
            return self
        if self.low is None or self.high is None:
            raise ValueError(f"a {self.kind} distribution needs low and high")
        if self.low > self.high:
            raise ValueError(f"low {self.low} > high {self.high}")
        if self.kind == "lognormal" and self.low <= 0:
            raise ValueError("a lognormal range needs low > 0")
        if self.kind == "triangular":
            if self.mode is None:
                raise ValueError("a triangular distribution needs mode")
            if not (self.low <= self.mode <= self.high):
                raise ValueError(f"mode {self.mode} outside [{self.low}, {self.high}]")
        return self

    def range(self) -> tuple[float, float]:
        if self.kind == "fixed":
            return self.value, self.value  # type: ignore[return-value]
        return self.low, self.high  # type: ignore[return-value]

    def center(self) -> float:
        if self.kind == "fixed":
            return float(self.value)  # type: ignore[arg-type]
        if self.kind == "triangular":
            return float(self.mode)  # type: ignore[arg-type]
        if self.kind == "lognormal":
            return float((self.low * self.high) ** 0.5)  # type: ignore[operator]
        return float((self.low + self.high) / 2)  # type: ignore[operator]


Target = Literal["price", "rent", "supply", "throughput", "demand", "electricity", "fx", "cost_of_capital"]


class Uncertain(_M):
    """A multiplicative factor on one kind of input, for the options (or workloads) named."""

    id: str = Field(pattern=ID)
    description: str | None = None
    target: Target = Field(description="what the factor multiplies")
    options: list[str] | None = Field(None, description="option ids (default: all); workloads for demand")
    nominal: float = Field(1.0, gt=0, description="the value the scenario's figures assume; the factor is "
                           "sample / nominal")
    dist: Distribution


class Event(_M):
    """A discrete event: with probability ``p`` the options named cannot be ordered (or rented) from ``from_period``."""

    id: str = Field(pattern=ID)
    description: str | None = None
    p: float = Field(ge=0, le=1, description="probability that the event happens")
    options: list[str] = Field(min_length=1, description="options it blocks")
    from_period: str | None = Field(None, alias="from", description="first quarter blocked (default: the first)")
    stops_installed: bool = Field(False, description="also takes installed units out of service")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @field_validator("from_period")
    @classmethod
    def _period(cls, v: str | None) -> str | None:
        if v is not None:
            period_index(v)
        return v


class Constraints(_M):
    budget_per_period: float | dict[str, float] | None = Field(
        None, description="capex per quarter, in the scenario currency")
    power_mw: float | dict[str, float] | None = Field(
        None, description="facility power available onshore, MW (after PUE), per quarter or one figure")
    min_domestic_share: float | None = Field(None, ge=0, le=1, description="minimum share of served tokens on "
                                             "domestic accelerators")


class Scenario(_M):
    """A fleet-planning study."""

    name: str
    description: str | None = None
    currency: Literal["CNY", "USD"] = "CNY"
    buyer: str = Field("private", description="buyer type (policy engine)")
    site: str = Field("national-average", description="default data-centre site (electricity, subsidy)")
    policy_scenarios: list[str] = Field(default_factory=list, description="policy-engine scenarios in force "
                                        "(suanli policy scenarios list), e.g. remote-access-security-act@2027-06-01")
    periods: Periods
    discount_rate: float | None = Field(None, ge=0, le=1, description="per year (default: cost of capital)")
    api_price: str | None = Field(None, description="API price id for unmet demand and break-even")
    economics: EconInputs = Field(default_factory=EconInputs, description="overrides for every option")
    workloads: list[Workload] = Field(min_length=1)
    options: list[Option] = Field(min_length=1)
    constraints: Constraints = Field(default_factory=Constraints)
    uncertain: list[Uncertain] = Field(default_factory=list)
    events: list[Event] = Field(default_factory=list)

    @model_validator(mode="after")
    def _ids(self) -> Scenario:
        for kind, items in (("workload", self.workloads), ("option", self.options),
                            ("uncertain input", self.uncertain), ("event", self.events)):
            seen: set[str] = set()
            for it in items:
                if it.id in seen:
                    raise ValueError(f"duplicate {kind} id {it.id!r}")
                seen.add(it.id)
        opts = {o.id for o in self.options}
        wls = {w.id for w in self.workloads}
        for u in self.uncertain:
            known = wls if u.target == "demand" else opts
            for o in u.options or []:
                if o not in known:
                    raise ValueError(f"uncertain input {u.id!r} names unknown {'workload' if u.target == 'demand' else 'option'} {o!r}")
        for e in self.events:
            for o in e.options:
                if o not in opts:
                    raise ValueError(f"event {e.id!r} names unknown option {o!r}")
        return self


def scenario_schema() -> dict:
    """The JSON Schema of scenario files."""
    s = Scenario.model_json_schema()
    s["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    s["title"] = "suanli fleet-planning scenario"
    return s


def parse_scenario(raw: Any, file: str = "<scenario>") -> Scenario:
    """Validate a raw mapping (line-marked from :func:`load_scenario`, or plain); errors name file, line, field."""
    from suanli.catalog.load import strip_lines
    from suanli.econ.validation import pydantic_error

    if not isinstance(raw, dict):
        raise DataError(file, "a scenario must be a mapping of fields", hint="see `suanli plan schema`")
    try:
        return Scenario.model_validate(strip_lines(raw))
    except ValidationError as exc:
        raise pydantic_error(exc, raw, file) from None


def load_scenario(path: str | Path | dict | Scenario, *, catalog: Any = None, check: bool = True) -> Scenario:
    """Read and validate a scenario file (or mapping); with ``check``, also ids, models and units against the catalog."""
    from suanli.catalog.load import read_text, read_yaml

    if isinstance(path, Scenario):
        sc, raw, file = path, None, "<scenario>"
    elif isinstance(path, dict):
        sc, raw, file = parse_scenario(path), path, "<scenario>"
    else:
        file = str(path)
        text = read_text(file, hint="give the path of a scenario YAML file (examples/scenarios/)")
        raw = read_yaml(file, text)
        sc = parse_scenario(raw, file)
    if check:
        check_scenario(sc, file, raw, catalog=catalog)
    return sc


def _where(raw: Any, *loc: Any) -> int | None:
    from suanli.econ.validation import field_line

    return field_line(raw, loc) if raw is not None else None


def check_scenario(sc: Scenario, file: str = "<scenario>", raw: Any = None, *, catalog: Any = None) -> None:
    """Checks that need the catalog and the price book: ids exist, sites exist, the option can hold the model."""
    from suanli.catalog import get_catalog
    from suanli.econ.prices import load_pricebook
    from suanli.policy import load_rules

    cat = catalog or get_catalog()
    book = load_pricebook()
    rules = load_rules()
    try:
        rules.buyer(sc.buyer)
    except SuanliError as exc:
        raise DataError(file, exc.message, field="buyer", line=_where(raw, "buyer"), hint=exc.hint) from None
    for i, site in [(None, sc.site)] + [(i, o.site) for i, o in enumerate(sc.options) if o.site]:
        try:
            book.site(site)
        except SuanliError as exc:
            loc = ("site",) if i is None else ("options", i, "site")
            raise DataError(file, exc.message, field=".".join(map(str, loc)), line=_where(raw, *loc),
                            hint=exc.hint) from None
    labels = sc.periods.labels()
    first, last = period_index(labels[0]), period_index(labels[-1])
    for i, w in enumerate(sc.workloads):
        try:
            cat.model(w.model)
        except SuanliError as exc:
            raise DataError(file, exc.message, field=f"workloads.{i}.model", line=_where(raw, "workloads", i, "model"),
                            hint=exc.hint) from None
        for k in (w.demand.values or {}):
            if not first <= period_index(k) <= last:
                raise DataError(file, f"demand for {k} is outside the periods {labels[0]}..{labels[-1]}",
                                field=f"workloads.{i}.demand.values", line=_where(raw, "workloads", i, "demand"))
    for i, o in enumerate(sc.options):
        loc = ("options", i)
        try:
            acc = cat.accelerator(o.hardware)
        except SuanliError as exc:
            raise DataError(file, exc.message, field=f"options.{i}.hardware", line=_where(raw, *loc, "hardware"),
                            hint=exc.hint) from None
        if o.system:
            try:
                cat.system(o.system, o.hardware)
            except SuanliError as exc:
                raise DataError(file, exc.message, field=f"options.{i}.system", line=_where(raw, *loc, "system"),
                                hint=exc.hint) from None
        if o.available_from and o.available_until and period_index(o.available_until) < period_index(o.available_from):
            raise DataError(file, f"available_until {o.available_until} is before available_from {o.available_from}",
                            field=f"options.{i}.available_until", line=_where(raw, *loc, "available_until"))
        if isinstance(o.supply_chips_per_period, dict):
            for k in o.supply_chips_per_period:
                if not first <= period_index(k) <= last:
                    raise DataError(file, f"supply for {k} is outside the periods",
                                    field=f"options.{i}.supply_chips_per_period",
                                    line=_where(raw, *loc, "supply_chips_per_period"))
        # can one deployment hold the model's weights?
        from suanli.perf.ops import ModelShape

        for w in sc.workloads:
            shape = ModelShape.from_arch(cat.model(w.model))
            bpp = {"fp4": 0.5, "int4": 0.5, "fp8": 1.0, "int8": 1.0}.get(w.weight_dtype, 2.0)
            need_gb = float(shape.total_params) * bpp / 1e9
            mem = acc.mem_capacity_gb.value
            deploy = o.deploy_chips or max(_unit_chips(cat, o), 16)
            if need_gb and mem and need_gb > mem * deploy:
                raise DataError(
                    file, f"option {o.id!r} cannot hold {w.model}: {need_gb:,.0f} GB of weights in {w.weight_dtype} "
                    f"against {mem * deploy:,.0f} GB on {deploy} x {o.hardware}",
                    field=f"options.{i}.deploy_chips", line=_where(raw, *loc),
                    hint="raise deploy_chips, or choose a lower weight_dtype for the workload")
    for key, loc in (("budget_per_period", ("constraints", "budget_per_period")),
                     ("power_mw", ("constraints", "power_mw"))):
        v = getattr(sc.constraints, key)
        vals = v.values() if isinstance(v, dict) else [] if v is None else [v]
        if any(not (x >= 0) for x in vals):
            raise DataError(file, f"{key} must be >= 0", field=".".join(loc), line=_where(raw, *loc))
        if isinstance(v, dict):
            for k in v:
                try:
                    period_index(k)
                except ValueError as exc:
                    raise DataError(file, str(exc), field=".".join(loc), line=_where(raw, *loc)) from None


def _unit_chips(cat: Any, o: Option) -> int:
    if o.unit_chips:
        return o.unit_chips
    if o.system:
        return cat.system(o.system, o.hardware).chips
    return cat.default_system(o.hardware).chips if o.mode == "own" else 8


__all__ = ["Constraints", "Demand", "Distribution", "Event", "Option", "Periods", "Scenario", "Uncertain",
           "Workload", "check_scenario", "load_scenario", "parse_scenario", "period_index", "period_label",
           "period_start", "scenario_schema"]
