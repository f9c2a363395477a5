"""The public Python API: what the CLI, the REST API and notebooks all call.

Catalog names load at import; the policy and performance engines load on first
use (module ``__getattr__``), so ``import suanli`` stays fast for the CLI.

>>> import suanli
>>> round(suanli.tpp(suanli.get_catalog().accelerator("h20")).value)
2368
"""
from __future__ import annotations

import importlib
from typing import Any

from suanli.catalog import Accelerator, Catalog, Figure, ModelArch, System, get_catalog
from suanli.catalog.derived import derived_metrics, perf_density, ridge_point, tpp
from suanli.errors import DataError, SuanliError, UnknownIdError

#: name -> module it lives in, loaded on first access.
_LAZY = {
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
    "validate_file": "suanli.perf.validate",
}

__all__ = [
    "Accelerator", "Catalog", "DataError", "Figure", "ModelArch", "SuanliError", "System", "UnknownIdError",
    "derived_metrics", "get_catalog", "perf_density", "predict_serve", "ridge_point", "tpp", *_LAZY,
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


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'suanli' has no attribute {name!r}")
