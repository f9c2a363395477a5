"""suanli (算力): a workbench for the AI-compute decision in China.

The public Python API is re-exported here from :mod:`suanli.api`; the policy
and performance engines load on first use.
"""
__version__ = "0.1.0"

from suanli import api as _api  # noqa: E402
from suanli.api import *  # noqa: E402,F401,F403
from suanli.api import __all__  # noqa: E402,F401


def __getattr__(name: str):
    return _api.__getattr__(name)
