"""Shared fixtures for the performance-model tests."""
from __future__ import annotations

import pytest

from suanli.catalog import get_catalog


@pytest.fixture(scope="session")
def catalog():
    return get_catalog()
