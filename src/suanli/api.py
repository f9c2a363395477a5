"""The public Python API: what the CLI, the REST API and notebooks all call."""
from __future__ import annotations

from suanli.catalog import Accelerator, Catalog, Figure, ModelArch, System, get_catalog
from suanli.catalog.derived import derived_metrics, perf_density, ridge_point, tpp
from suanli.errors import DataError, SuanliError, UnknownIdError

__all__ = [
    "Accelerator", "Catalog", "DataError", "Figure", "ModelArch", "SuanliError", "System", "UnknownIdError",
    "derived_metrics", "get_catalog", "perf_density", "ridge_point", "tpp",
]
