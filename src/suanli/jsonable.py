"""One conversion of results to JSON-ready Python, shared by the CLI, the REST API, reports and the results store.

>>> import numpy as np
>>> jsonable({"a": np.float64(1.5), "b": (1, float("nan")), "c": np.arange(2)})
{'a': 1.5, 'b': [1, None], 'c': [0, 1]}
"""
from __future__ import annotations

import math
from typing import Any


def jsonable(obj: Any) -> Any:
    """numpy scalars and arrays -> Python, NaN/inf -> None, tuples -> lists, dates -> ISO strings."""
    if isinstance(obj, float):
        return None if (math.isnan(obj) or math.isinf(obj)) else float(obj)
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item) and getattr(obj, "ndim", 1) == 0:
        return jsonable(obj.item())
    if hasattr(obj, "tolist"):
        return jsonable(obj.tolist())
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    return obj


__all__ = ["jsonable"]
