"""An ASGI test client over the web app (no network, no server process)."""
from __future__ import annotations

import pytest

pytest.importorskip("fastapi")


@pytest.fixture(scope="session")
def app():
    from suanli.web import create_app

    return create_app()


@pytest.fixture(scope="session")
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        yield c
