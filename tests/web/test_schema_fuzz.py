"""schemathesis against the OpenAPI schema: generated requests never get a 5xx (bounded examples)."""
from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402

from suanli.web import create_app  # noqa: E402

import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

_STORE = Path(tempfile.mkdtemp(prefix="suanli-fuzz-")) / "runs.duckdb"
schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", create_app(store_path=str(_STORE)))


import os  # noqa: E402

EXAMPLES = int(os.environ.get("SUANLI_FUZZ_EXAMPLES", "10"))


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_server_errors(case):
    case.call_and_validate(checks=[not_a_server_error])
