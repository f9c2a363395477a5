"""The public Python API: what the CLI, the REST API and notebooks all call.

Catalog names load at import; the policy and performance engines load on first
use (module ``__getattr__``), so ``import suanli`` stays fast for the CLI.

>>> import suanli
>>> round(suanli.tpp(suanli.get_catalog().accelerator("h20")).value), round(suanli.tpp("h20").value)
(2368, 2368)
"""
from __future__ import annotations

import importlib
from typing import Any

from suanli.catalog import Accelerator, Catalog, Figure, System, get_catalog
from suanli.catalog import derived as _derived
from suanli.errors import DataError, SuanliError, UnknownIdError

#: name -> module it lives in, loaded on first access.
_LAZY = {
    # model architectures (numpy)
    "ModelArch": "suanli.catalog.models",
    # market access
    "classify": "suanli.policy", "timeline": "suanli.policy", "thresholds": "suanli.policy",
    "parse_spec": "suanli.policy", "list_scenarios": "suanli.policy", "load_rules": "suanli.policy",
    "Classification": "suanli.policy",
    # inference
    "Request": "suanli.perf.search", "predict_phase": "suanli.perf.search", "pareto": "suanli.perf.search",
    # training
    "predict_train": "suanli.perf.training", "plan_train": "suanli.perf.training",
    "search_train": "suanli.perf.training",
    # validation
    # economics, fleet planning, risk, results store
    "serving_cost": "suanli.econ.cost", "chip_hour_cost": "suanli.econ.cost", "compare_costs": "suanli.econ.cost",
    "EconInputs": "suanli.econ.inputs", "plan_fleet": "suanli.plan", "plan_risk": "suanli.plan",
    "load_scenario": "suanli.plan", "scenario_schema": "suanli.plan", "RunStore": "suanli.store",
    # measurement and calibration (bench micro needs PyTorch; serve and twin need httpx/FastAPI)
    "run_micro": "suanli.bench.micro", "LoadSpec": "suanli.bench.serving_load", "run_load": "suanli.bench.serving_load",
    "TwinModel": "suanli.bench.twin", "calibrate": "suanli.perf.chipcal",
}

__all__ = [
    "Accelerator", "Catalog", "DataError", "Figure", "ModelArch", "SuanliError", "System", "UnknownIdError",
    "derived_metrics", "get_catalog", "perf_density", "predict_serve", "ridge_point", "tpp", "validate_file", *_LAZY,
]


def predict_serve(hardware: str, model: str, chips: int = 8, *, catalog: Catalog | None = None,
                  params: dict | None = None, **request: Any):
    """Best serving configuration of ``model`` on ``chips`` x ``hardware`` under the given SLOs.

    ``request`` takes the fields of :class:`suanli.perf.search.Request`
    (``isl``, ``osl``, ``weight_dtype``, ``ttft_slo_ms``, ``tpot_slo_ms``,
    ``disagg``, ``tp`` ...); unset settings are searched.
    """
    from suanli.perf import search

    req = search.Request(hardware=hardware, model=model, chips=chips, **request)
    return search.predict_serve(catalog or get_catalog(), req, params=params)


def _accelerator(hardware: str | Accelerator, catalog: Catalog | None) -> Accelerator:
    """An accelerator record from a record or an id (any case)."""
    if isinstance(hardware, Accelerator):
        return hardware
    if not isinstance(hardware, str):
        raise SuanliError(f"expected an accelerator id or record (got {type(hardware).__name__})",
                          hint="e.g. tpp('h200-sxm') or tpp(get_catalog().accelerator('h200-sxm'))")
    return (catalog or get_catalog()).accelerator(hardware)


def tpp(hardware: str | Accelerator, *, catalog: Catalog | None = None) -> Any:
    """Total processing performance (3A090) of an accelerator, given by id or record.

    >>> round(tpp("h20").value)
    2368
    """
    return _derived.tpp(_accelerator(hardware, catalog))


def perf_density(hardware: str | Accelerator, *, catalog: Catalog | None = None) -> Any:
    """TPP per mm^2 of applicable die area, given by id or record."""
    return _derived.perf_density(_accelerator(hardware, catalog))


def ridge_point(hardware: str | Accelerator, dtype: str = "bf16", *, catalog: Catalog | None = None) -> Any:
    """Roofline ridge point (FLOP per byte of HBM traffic), given by id or record."""
    from suanli.perf.inputs import check_dtype

    return _derived.ridge_point(_accelerator(hardware, catalog), check_dtype("act", dtype))


def derived_metrics(hardware: str | Accelerator, *, catalog: Catalog | None = None) -> dict[str, dict]:
    """All derived metrics of an accelerator, given by id or record."""
    return _derived.derived_metrics(_accelerator(hardware, catalog))


def validate_file(path: str, catalog: Catalog | None = None, **kw: Any):
    """Predict each measurement record of a CSV and report the errors (catalog: the packaged one by default)."""
    from suanli.perf.validate import validate_file as _validate_file

    return _validate_file(path, catalog or get_catalog(), **kw)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'suanli' has no attribute {name!r}")
