"""Catalog: accelerators, systems and LLM architectures, each figure with its source.

The public entry points are :func:`get_catalog` (the packaged data plus any
overlays) and the typed records in :mod:`suanli.catalog.schema`.
"""
from suanli.catalog.registry import Catalog, get_catalog
from suanli.catalog.schema import Accelerator, Figure, System

__all__ = ["Accelerator", "Catalog", "Figure", "ModelArch", "System", "get_catalog"]


def __getattr__(name: str):
    if name == "ModelArch":  # model architectures bring numpy: loaded on first use
        from suanli.catalog.models import ModelArch

        return ModelArch
    raise AttributeError(f"module 'suanli.catalog' has no attribute {name!r}")
