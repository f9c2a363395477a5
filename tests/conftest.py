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


@pytest.fixture(scope="session")
def calibrated_910c(tmp_path_factory):
    """An Ascend 910C calibration overlay fitted on its 34 dev.csv serving rows (``suanli calibrate``, one
    source held out at a time for its band): a chip calibration with enough held-out rows for a
    conformal band, whether or not one ships in the package."""
    from pathlib import Path

    from suanli.cli.main import app

    out = tmp_path_factory.mktemp("cal") / "ascend-910c.yaml"
    dev = Path(__file__).parents[1] / "data" / "validation" / "dev.csv"
    res = CliRunner().invoke(app, ["calibrate", str(dev), "--hardware", "ascend-910c", "--group", "source",
                                   "-o", str(out)])
    assert res.exit_code == 0, res.stdout
    return out


@pytest.fixture()
def run_cli(monkeypatch):
    """Invoke the suanli CLI in-process; returns (exit_code, stdout, stderr)."""
    from suanli.cli.main import app

    monkeypatch.delenv("SUANLI_CATALOG", raising=False)

    def _run(*args: str):
        res = CliRunner().invoke(app, list(args))
        return res.exit_code, res.stdout, res.stderr

    return _run
