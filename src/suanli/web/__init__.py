"""suanli on the web: a REST API (``/api/v1``) and bilingual pages over the same Python API as the CLI.

Needs the ``web`` extra (FastAPI, uvicorn, Jinja2, plotly). Start it with
``suanli serve``; build the app in Python with :func:`create_app`.
"""
from __future__ import annotations

from typing import Any


def create_app(**kwargs: Any) -> Any:
    """The FastAPI app (see :func:`suanli.web.app.create_app`)."""
    from suanli.web.app import create_app as _create

    return _create(**kwargs)


__all__ = ["create_app"]
