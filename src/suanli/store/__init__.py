"""The results store: every plan and risk run saved in an embedded DuckDB file (see :mod:`suanli.store.results`)."""
from suanli.store.results import RunStore, default_store_path

__all__ = ["RunStore", "default_store_path"]
