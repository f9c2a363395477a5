"""``/api/v1``: catalog, models, policy, predictions, comparison, validation, accuracy and claims.

Each route validates its request model, calls :mod:`suanli.web.service` (the
Python API) and returns the result's ``to_dict()``: the same JSON the CLI
prints with ``--json``.
"""
from __future__ import annotations

from typing import Annotated, Literal, Optional

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from suanli.errors import SuanliError
from suanli.web import service
from suanli.web.encode import JSONBytes, ok
from suanli.web.schemas import (
    ClassifyQuery, CompareQuery, ErrorBody, Id, PredictQuery, ThresholdsQuery, TimelineQuery, TrainQuery,
)

router = APIRouter(prefix="/api/v1", default_response_class=JSONBytes, responses={
    200: {"content": {"application/json": {"schema": {"type": "object", "additionalProperties": True}}}},
    422: {"model": ErrorBody, "description": "Invalid input: the field and the reason"}})

Category = Literal["chip", "card", "system", "roadmap"]
Kind = Literal["serve", "serving", "prefill", "decode", "gemm", "memcopy", "allreduce", "alltoall", "train"]
By = Literal["hardware", "kind", "model", "vendor", "family", "engine"]


# --------------------------------------------------------------------------- catalog and models
@router.get("/catalog", tags=["catalog"], summary="Accelerators with their headline figures.")
def catalog_list(vendor: Annotated[Optional[str], Query(max_length=40)] = None,
                 category: Optional[Category] = None) -> Response:
    return ok(service.catalog_list(vendor, category))


@router.get("/catalog/compare", tags=["catalog"], summary="Chips side by side, ratios to the first.")
def catalog_compare(hardware: Annotated[list[Id], Query(min_length=1, max_length=8)]) -> Response:
    return ok(service.catalog_compare(tuple(hardware)))


@router.get("/catalog/{hardware}", tags=["catalog"],
            summary="Every figure of one accelerator with source and confidence, and derived metrics.")
def catalog_show(hardware: Id) -> Response:
    return ok(service.catalog_show(hardware))


@router.get("/systems", tags=["catalog"], summary="Nodes, racks and supernodes.")
def systems_list() -> Response:
    return ok(service.systems_list())


@router.get("/systems/{system}", tags=["catalog"], summary="One system in full.")
def system_show(system: Id) -> Response:
    return ok(service.system_show(system))


@router.get("/models", tags=["models"], summary="Packaged LLM architectures.")
def models_list() -> Response:
    return ok(service.models_list())


@router.get("/models/{model}", tags=["models"], summary="Architecture, parameters, KV bytes and FLOPs per token.")
def model_show(model: Id) -> Response:
    return ok(service.model_show(model))


# --------------------------------------------------------------------------- policy
@router.post("/policy/classify", tags=["policy"],
             summary="Can this buyer get this chip (or a hypothetical spec) on this date, on what terms?")
def policy_classify(q: ClassifyQuery) -> Response:
    return ok(service.classify(q))


@router.get("/policy/timeline", tags=["policy"], summary="Status by chip and date, each change with its rule.")
def policy_timeline(q: Annotated[TimelineQuery, Query()]) -> Response:
    return ok(service.timeline(q))


@router.get("/policy/thresholds", tags=["policy"], summary="Lines in force and the largest part under each.")
def policy_thresholds(q: Annotated[ThresholdsQuery, Query()]) -> Response:
    return ok(service.thresholds(q))


@router.get("/policy/scenarios", tags=["policy"], summary="Built-in 'what if' scenarios.")
def policy_scenarios() -> Response:
    return ok(service.scenarios_list())


# --------------------------------------------------------------------------- predictions
@router.post("/predict/serve", tags=["predict"],
             summary="Best serving configuration: tokens/s per chip, TTFT, TPOT, memory, bottleneck, error band.")
async def predict_serve(q: PredictQuery) -> Response:
    return ok(await run_in_threadpool(service.predict, q.to_request(), "serve"))


@router.post("/predict/prefill", tags=["predict"], summary="Prefill-only instance at fixed settings.")
async def predict_prefill(q: PredictQuery) -> Response:
    return ok(await run_in_threadpool(service.predict, q.to_request(), "prefill"))


@router.post("/predict/decode", tags=["predict"], summary="Decode-only instance at fixed settings.")
async def predict_decode(q: PredictQuery) -> Response:
    return ok(await run_in_threadpool(service.predict, q.to_request(), "decode"))


@router.post("/predict/pareto", tags=["predict"], summary="Pareto curve: tokens/s per chip vs tokens/s per user.")
async def predict_pareto(q: PredictQuery) -> Response:
    return ok(await run_in_threadpool(service.predict, q.to_request(), "pareto"))


@router.post("/predict/train", tags=["predict"], summary="Training step time, tokens/s per chip, MFU, memory.")
async def predict_train(q: TrainQuery) -> Response:
    return ok(await run_in_threadpool(service.train, q))


@router.post("/compare", tags=["compare"],
             summary="One model on several chips under the same SLOs, with Pareto curves and error bands.")
async def compare(q: CompareQuery) -> Response:
    return ok(await run_in_threadpool(service.compare, q))


# --------------------------------------------------------------------------- validation, accuracy, claims
@router.post("/validate", tags=["validate"],
             summary="Upload a records CSV (validation/SCHEMA.md): predicted vs measured, errors per group.")
async def validate(file: Annotated[UploadFile, File(description="CSV of measurement records (UTF-8).")],
                   kind: Annotated[Optional[Kind], Form()] = None,
                   by: Annotated[By, Form()] = "kind") -> Response:
    data = await file.read()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SuanliError(f"{file.filename or 'upload'}: not UTF-8 text", hint="save the CSV as UTF-8") from None
    name = (file.filename or "upload.csv").replace("/", "_")[:80]
    return ok(await run_in_threadpool(service.validate_text, text, name, kind, by), remember=False)


@router.get("/accuracy", tags=["validate"],
            summary="Predicted vs measured on the packaged validation set, per hardware family, with bands.")
async def accuracy() -> Response:
    return ok(await run_in_threadpool(service.accuracy))


@router.get("/claims", tags=["claims"],
            summary="The article's claims, each checked with suanli's data and models: verdict, numbers, sources.")
async def claims() -> Response:
    return ok(await run_in_threadpool(service.claims))


# --------------------------------------------------------------------------- economics, plans, runs
from fastapi import Request  # noqa: E402

from suanli.web.schemas import CostQuery, PlanQuery, RiskQuery  # noqa: E402


@router.post("/cost", tags=["cost"],
             summary="Cost per chip-hour and per million tokens on each chip: own or rent, levy, power, subsidy, TCO.")
async def cost(q: CostQuery) -> Response:
    return ok(await run_in_threadpool(service.cost, q))


@router.get("/plan/schema", tags=["plan"], summary="The JSON Schema of scenario files.")
def plan_schema() -> Response:
    return ok(service.plan_schema(), remember=False)


@router.get("/plan/example", tags=["plan"], summary="The flagship scenario (YAML text), a starting point.")
def plan_example() -> Response:
    return ok(service.plan_example())


def _jobs(request: Request):
    return request.app.state.jobs


@router.post("/plan/fleet", tags=["plan"], status_code=202,
             summary="Solve a scenario in the background (least-cost fleet per period, binding constraints, "
                     "tornado); returns a job id to follow at /api/v1/jobs/{id}.")
async def plan_fleet(q: PlanQuery, request: Request) -> Response:
    from suanli.web import jobs

    sc = await run_in_threadpool(service.scenario_from, q)
    job = _jobs(request).submit("fleet", sc.name, jobs.fleet_work(sc, q.tornado), jobs.save_fleet if q.store else None)
    return JSONBytes(jobs_body(job), status_code=202)


@router.post("/plan/risk", tags=["plan"], status_code=202,
             summary="Sample the scenario's uncertain inputs in the background (histogram, p10/p50/p90, chance of "
                     "unmet demand); returns a job id.")
async def plan_risk(q: RiskQuery, request: Request) -> Response:
    from suanli.web import jobs
    from suanli.web.schemas import MAX_REPLAN_SAMPLES

    if q.mode == "replan" and q.samples > MAX_REPLAN_SAMPLES:
        raise SuanliError(f"samples must be <= {MAX_REPLAN_SAMPLES} when re-planning each sample (got {q.samples})",
                          hint="use mode evaluate for more samples, or the CLI with the Ray backend")
    sc = await run_in_threadpool(service.scenario_from, q)
    job = _jobs(request).submit("risk", sc.name, jobs.risk_work(sc, q.samples, q.seed, q.mode),
                                jobs.save_risk if q.store else None)
    return JSONBytes(jobs_body(job), status_code=202)


def jobs_body(job) -> dict:
    return {**job.to_dict(with_result=False), "url": f"/api/v1/jobs/{job.id}"}


@router.get("/jobs", tags=["plan"], summary="Background jobs: status and progress.")
def jobs_list(request: Request) -> Response:
    return ok({"jobs": _jobs(request).list()}, remember=False)


@router.get("/jobs/{job_id}", tags=["plan"], summary="One job: status, progress and, when done, its result.")
def job_show(job_id: Id, request: Request) -> Response:
    return ok(_jobs(request).get(job_id).to_dict(), remember=False)


@router.get("/runs", tags=["runs"], summary="Saved plan and risk runs (the results store).")
async def runs_list(request: Request, kind: Optional[Literal["fleet", "risk", "study"]] = None,
                    limit: Annotated[int, Query(ge=1, le=500)] = 50) -> Response:
    return ok({"runs": await run_in_threadpool(_jobs(request).runs, kind, limit)}, remember=False)


@router.get("/runs/{run_id}", tags=["runs"], summary="One saved run: inputs, outputs, metrics, versions.")
async def run_show(run_id: Id, request: Request) -> Response:
    from suanli.web.service import jsonable

    return ok(jsonable(await run_in_threadpool(_jobs(request).run, run_id)), remember=False)
