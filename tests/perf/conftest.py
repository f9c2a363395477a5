"""Shared fixtures for the performance-model tests."""
from __future__ import annotations

import math

import pytest

from suanli.catalog import get_catalog


@pytest.fixture(scope="session")
def catalog():
    return get_catalog()


@pytest.fixture(scope="session")
def error_and_coverage():
    """(MAPE, share of measured values inside the 80% band their prediction carries) of
    ``(record, prediction)`` pairs: what an external check holds the model to."""
    def figures(pairs: list) -> tuple[float, float]:
        errs = [math.log(p.metrics[r["metric"]] / float(r["value"])) for r, p in pairs]
        mape = sum(abs(math.exp(e) - 1) for e in errs) / len(errs)
        inside = sum(abs(e) <= p.error_band.p80 for e, (_, p) in zip(errs, pairs)) / len(pairs)
        return mape, inside

    return figures
