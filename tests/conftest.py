"""Shared fixtures: the packaged catalog, and a CLI runner."""
from __future__ import annotations

import os

# Wide tables in CLI tests (rich folds columns at the default 80).
os.environ["COLUMNS"] = "220"

import pytest
from hypothesis import HealthCheck, settings
from typer.testing import CliRunner

# Property tests: no per-example deadline (CI machines are slower and shared).
settings.register_profile("suanli", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("suanli")


@pytest.fixture(scope="session")
def catalog():
    from suanli.catalog import get_catalog

    return get_catalog()


@pytest.fixture()
def run_cli(monkeypatch):
    """Invoke the suanli CLI in-process; returns (exit_code, stdout, stderr)."""
    from suanli.cli.main import app

    monkeypatch.delenv("SUANLI_CATALOG", raising=False)

    def _run(*args: str):
        res = CliRunner().invoke(app, list(args))
        return res.exit_code, res.stdout, res.stderr

    return _run
