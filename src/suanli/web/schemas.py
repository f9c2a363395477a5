"""Request models of the REST API: bounds, types and defaults, documented in the OpenAPI schema.

Serving predictions take the fields of :class:`suanli.perf.search.Request`
(the core's request) with upper bounds that keep one request's search
bounded; :meth:`PredictQuery.to_request` builds the core request, whose own
checks (``__post_init__``) still apply. Models are frozen so that equal
requests share a cached answer.
"""
from __future__ import annotations

from typing import Annotated, Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

#: Largest values one request may ask for (bounded work per request).
MAX_CHIPS_SERVE = 4096
MAX_CHIPS_TRAIN = 131072
MAX_TOKENS = 1_000_000
MAX_COMPARE = 8
MAX_TIMELINE = 40
MAX_SCENARIOS = 4
MAX_SPEC_KEYS = 32

Id = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")]
Date = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$")]
Scenario = Annotated[str, StringConstraints(min_length=1, max_length=80,
                                            pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*(@\d{4}-\d{2}-\d{2})?$")]
Dest = Annotated[str, StringConstraints(min_length=2, max_length=24, pattern=r"^[A-Za-z][A-Za-z0-9 _-]*$")]
Buyer = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=r"^[a-z][a-z-]*$")]
WeightDtype = Literal["bf16", "fp16", "fp8", "int8", "int4", "w4a16", "fp4"]
KvDtype = Literal["bf16", "fp16", "fp8", "int8"]
Tokens = Annotated[float, Field(gt=0, le=MAX_TOKENS)]
Ms = Annotated[float, Field(gt=0, le=1e6)]
Degree = Annotated[int, Field(ge=1, le=1024)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PredictQuery(_Frozen):
    """A serving prediction: hardware x model x workload; unset settings are searched."""

    hardware: Id = Field(examples=["h200-sxm"])
    model: Id = Field(examples=["deepseek-v3"])
    chips: int = Field(8, ge=1, le=MAX_CHIPS_SERVE)
    isl: Tokens = 1024
    osl: Tokens = 1024
    weight_dtype: WeightDtype = "fp8"
    act_dtype: Optional[WeightDtype] = None
    kv_dtype: Optional[KvDtype] = None
    system: Optional[Id] = None
    engine: Optional[Literal["trt-llm", "vllm", "sglang"]] = None
    scenario: Optional[Literal["offline", "server", "fixed"]] = Field(
        None, description="offline, server, or fixed (a benchmark client holding `concurrency` requests; fixed-length "
                          "requests sent at once move in waves). Default: server when an SLO or arrival rate is "
                          "given, else offline.")
    ttft_slo_ms: Optional[Ms] = None
    tpot_slo_ms: Optional[Ms] = None
    concurrency: Optional[Annotated[float, Field(gt=0, le=1e7)]] = None
    batch_per_chip: Optional[Annotated[float, Field(gt=0, le=1e6)]] = None
    disagg: bool = False
    spec_decode: Optional[Annotated[str, StringConstraints(pattern=r"^(none|[a-z][a-z_-]*[0-9]*)$",
                                                           max_length=20)]] = None
    arrival_rate: Optional[Annotated[float, Field(gt=0, le=1e6)]] = None
    stream_interval: Optional[Annotated[int, Field(ge=1, le=10000)]] = Field(
        None, description="Steps between two responses to a streaming client (server and fixed scenarios; "
                          "default 1: every token).")
    tp: Optional[Degree] = None
    pp: Optional[Degree] = None
    ep: Optional[Degree] = None
    dp: Optional[Degree] = None

    def to_request(self) -> Any:
        from suanli.perf.search import Request

        d = {k: v for k, v in self.model_dump().items() if v is not None}
        if d.get("dp"):
            d["attn_dp"] = True
        return Request(**d)


class CompareQuery(_Frozen):
    """The headline comparison: one model on several chips under the same SLOs."""

    hardware: tuple[Id, ...] = Field(min_length=1, max_length=MAX_COMPARE,
                                     examples=[["h200-sxm", "h20", "ascend-910c"]])
    model: Id = Field(examples=["deepseek-v3"])
    chips: Optional[int] = Field(None, ge=1, le=MAX_CHIPS_SERVE,
                                 description="Chips per deployment (default: 16 for models over 400 GB, else 8).")
    isl: Tokens = 1024
    osl: Tokens = 1024
    weight_dtype: WeightDtype = "fp8"
    ttft_slo_ms: Optional[Ms] = None
    tpot_slo_ms: Optional[Ms] = None
    disagg: bool = False
    scenario: Optional[Literal["offline", "server"]] = Field(
        None, description="offline or server (default: server when an SLO is given, else offline).")
    pareto: bool = Field(True, description="Also return each chip's Pareto curve (tokens/s/chip vs tokens/s/user).")


class TrainQuery(_Frozen):
    """A training step: step time, tokens/s per chip, MFU; unset degrees are searched."""

    hardware: Id = Field(examples=["h800-sxm"])
    model: Id = Field(examples=["llama-3.1-70b"])
    chips: int = Field(ge=1, le=MAX_CHIPS_TRAIN, examples=[1024])
    seq_len: int = Field(ge=1, le=MAX_TOKENS, examples=[4096])
    global_batch: int = Field(ge=1, le=10_000_000, examples=[1024])
    dtype: Literal["bf16", "fp8"] = "bf16"
    tp: Optional[Degree] = None
    pp: Optional[Degree] = None
    dp: Optional[Annotated[int, Field(ge=1, le=MAX_CHIPS_TRAIN)]] = None
    ep: Optional[Degree] = None
    system: Optional[Id] = None


SpecValue = float | bool | Annotated[str, StringConstraints(max_length=40)]


class ClassifyQuery(_Frozen):
    """Classify a catalog chip (``hardware``) or a hypothetical one (``spec``) for a destination, date, buyer."""

    hardware: Optional[Id] = Field(None, examples=["h200-sxm"])
    spec: Optional[dict[Annotated[str, StringConstraints(max_length=32)], SpecValue]] = Field(
        None, max_length=MAX_SPEC_KEYS, examples=[{"tpp": 3000, "pd": 2.0, "datacenter": True}],
        description="Spec keys: tpp, pd, die_area, dram_bw, io, datacenter, fp8, fp16, ... (see policy.metrics)")
    dest: Dest = "CN"
    date: Optional[Date] = Field(None, description="YYYY-MM-DD (default: the rules' as-of date).")
    buyer: Buyer = "private"
    scenario: Optional[tuple[Scenario, ...]] = Field(None, max_length=MAX_SCENARIOS,
                                                     description="Built-in scenario names (NAME or NAME@YYYY-MM-DD).")

    def __hash__(self) -> int:  # dict field: hash its items
        return hash((self.hardware, tuple(sorted((self.spec or {}).items())), self.dest, self.date, self.buyer,
                     self.scenario))


class TimelineQuery(_Frozen):
    """Status of chips over time for a destination and buyer: every change with the rule behind it."""

    hardware: Optional[list[Id]] = Field(None, max_length=MAX_TIMELINE, description="Catalog ids (default: all).")
    dest: Dest = "CN"
    start: Optional[Date] = None
    end: Optional[Date] = None
    buyer: Buyer = "private"
    scenario: Optional[list[Scenario]] = Field(None, max_length=MAX_SCENARIOS)
    all_events: bool = False


class ThresholdsQuery(_Frozen):
    """The lines in force and the largest datacenter part under each."""

    dest: Dest = "CN"
    date: Optional[Date] = None
    buyer: Buyer = "private"
    scenario: Optional[list[Scenario]] = Field(None, max_length=MAX_SCENARIOS)


class Problem(BaseModel):
    """One reason a request was refused: where (``loc``/``field``) and why (``msg``/``reason``)."""

    loc: list[str | int]
    msg: str
    type: str
    field: Optional[str] = None
    reason: Optional[str] = None
    hint: Optional[str] = None


class ErrorBody(BaseModel):
    """A refused request (422): the problems, each with field and reason."""

    detail: list[Problem]
    error: str
    message: str
    hint: Optional[str] = None


# --------------------------------------------------------------------------- economics and planning
try:  # the economics engine's own input model: the OpenAPI schema documents every field
    from suanli.econ.inputs import EconInputs
except ImportError:  # pragma: no cover - a build without economics
    EconInputs = dict  # type: ignore[misc,assignment]

Site = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9-]*$")]


class CostQuery(_Frozen):
    """Cost per chip-hour and per million tokens of serving a model (own or rent), levy, power, subsidy."""

    hardware: tuple[Id, ...] = Field(min_length=1, max_length=MAX_COMPARE, examples=[["h200-sxm", "h20"]])
    model: Id = Field(examples=["deepseek-v3"])
    chips: int = Field(16, ge=1, le=MAX_CHIPS_SERVE)
    isl: Tokens = 1024
    osl: Tokens = 1024
    weight_dtype: WeightDtype = "fp8"
    ttft_slo_ms: Optional[Ms] = None
    tpot_slo_ms: Optional[Ms] = Field(50.0, description="TPOT limit, ms (default 50, as `suanli cost`)")
    system: Optional[Id] = None
    buyer: Buyer = "private"
    site: Site = "national-average"
    date: Optional[Date] = None
    scenario: Optional[tuple[Scenario, ...]] = Field(None, max_length=MAX_SCENARIOS)
    currency: Literal["CNY", "USD"] = "CNY"
    inputs: Optional[EconInputs] = Field(None, description="Overrides of the cost model's inputs (None: sourced "
                                                           "defaults); the fields of `suanli cost --set`.")


MAX_SCENARIO_BYTES = 64 * 1024
MAX_RISK_SAMPLES = 5000
MAX_REPLAN_SAMPLES = 200


class PlanQuery(BaseModel):
    """A fleet-planning scenario, as a JSON object or the text of a scenario YAML file (one of the two)."""

    model_config = ConfigDict(extra="forbid")

    scenario: Optional[dict[str, Any]] = Field(None, description="The scenario (see GET /api/v1/plan/schema).")
    scenario_yaml: Optional[Annotated[str, StringConstraints(max_length=MAX_SCENARIO_BYTES)]] = Field(
        None, description="The text of a scenario YAML file.")
    tornado: bool = Field(True, description="Also rank the inputs by how much they move the cost (tornado).")
    store: bool = Field(True, description="Save the run in the results store.")


class RiskQuery(PlanQuery):
    """Sample the scenario's uncertain inputs: evaluate the plan on each sample, or re-plan each."""

    samples: int = Field(1000, ge=10, le=MAX_RISK_SAMPLES)
    seed: int = Field(0, ge=0, le=2**31 - 1)
    mode: Literal["evaluate", "replan"] = "evaluate"
