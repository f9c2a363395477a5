"""Catalog: accelerators, systems and LLM architectures, each figure with its source.

The public entry points are :func:`get_catalog` (the packaged data plus any
overlays) and the typed records in :mod:`suanli.catalog.schema`.
"""
from suanli.catalog.registry import Catalog, get_catalog
from suanli.catalog.schema import Accelerator, Figure, System
from suanli.catalog.models import ModelArch

__all__ = ["Accelerator", "Catalog", "Figure", "ModelArch", "System", "get_catalog"]
