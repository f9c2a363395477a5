"""Fixtures for the policy tests: the packaged rules, and spec builders from the reference arithmetic."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

DATA_DIR = Path(__file__).resolve().parents[2] / "src" / "suanli" / "policy" / "data"


@pytest.fixture(scope="session")
def rules():
    from suanli.policy.regimes import load_rules

    return load_rules()


@pytest.fixture()
def data_copy(tmp_path):
    """A writable copy of the packaged policy data (for breaking it on purpose)."""
    dst = tmp_path / "data"
    shutil.copytree(DATA_DIR, dst)
    return dst
