"""suanli (算力): a workbench for the AI-compute decision in China.

The public Python API (:mod:`suanli.api`) is re-exported here and loads on
first use, so ``import suanli`` (and the ``suanli`` command's start-up) does
not pay for the catalog or the engines until a name is used.
"""
import importlib

__version__ = "0.1.0"


def __getattr__(name: str):
    if name.startswith("__"):
        raise AttributeError(name)
    api = importlib.import_module("suanli.api")
    if name == "api":
        return api
    try:
        return getattr(api, name)
    except AttributeError:
        raise AttributeError(f"module 'suanli' has no attribute {name!r}") from None


def __dir__() -> list[str]:
    return sorted({*globals(), *importlib.import_module("suanli.api").__all__})
