"""The FastAPI application: REST API under ``/api/v1``, bilingual pages, packaged assets, guards.

Guards: bodies are bounded (:data:`MAX_BODY_BYTES`, uploads :data:`MAX_UPLOAD_BYTES`);
a bearer token is required when one is configured (``suanli serve`` sets one
whenever it binds to an address other than loopback); no CORS headers are
sent, so browsers refuse cross-origin calls; every error a user can fix is a
422 naming the field and the reason. Assets are read from the package once,
at start, and served from memory: no request path reaches the filesystem.
"""
from __future__ import annotations

import gzip
import hashlib
import logging
import secrets
from importlib import resources
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from suanli import __version__
from suanli.errors import SuanliError

log = logging.getLogger("suanli.web")

MAX_BODY_BYTES = 256 * 1024
MAX_UPLOAD_BYTES = 4 * 1024 * 1024
TOKEN_COOKIE = "suanli_token"
OPEN_PATHS = ("/healthz",)

#: Static assets shipped in the package (name -> media type); plotly.min.js comes from the plotly package.
ASSETS = {"app.css": "text/css", "app.js": "text/javascript"}


def _problem(loc: list, msg: str, kind: str, hint: str | None = None) -> dict:
    field = ".".join(str(x) for x in loc if x not in ("body", "query", "path")) or None
    return {"loc": [str(x) if not isinstance(x, int) else x for x in loc], "msg": msg, "type": kind,
            "field": field, "reason": msg, "hint": hint}


def _load_assets() -> dict[str, tuple[bytes, bytes, str, str]]:
    """name -> (raw, gzipped, media type, etag), read once from the package."""
    out = {}
    root = resources.files("suanli.web").joinpath("static")
    for name, media in ASSETS.items():
        raw = root.joinpath(name).read_bytes()
        out[name] = (raw, gzip.compress(raw, 6), media, hashlib.sha1(raw).hexdigest()[:16])
    try:
        from plotly.offline import get_plotlyjs

        raw = get_plotlyjs().encode("utf-8")
        out["plotly.min.js"] = (raw, gzip.compress(raw, 6), "text/javascript", hashlib.sha1(raw).hexdigest()[:16])
    except ImportError:  # pragma: no cover - plotly is a dependency of the web extra
        log.warning("plotly is not installed: pages will show no charts (pip install 'suanli[web]')")
    return out


class BodyLimit:
    """ASGI middleware: refuse a request body over its limit with 413 (counted, not trusted from headers)."""

    def __init__(self, app: Any, limit: int, upload_limit: int) -> None:
        self.app, self.limit, self.upload_limit = app, limit, upload_limit

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.upload_limit if scope["path"].startswith("/api/v1/validate") else self.limit
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _send_json(send, 413, _too_large(limit))
            return
        seen = 0

        async def limited() -> dict:
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > limit:
                    raise _BodyTooLarge()
            return msg

        try:
            await self.app(scope, limited, send)
        except _BodyTooLarge:
            await _send_json(send, 413, _too_large(limit))


class _BodyTooLarge(Exception):
    pass


def _too_large(limit: int) -> dict:
    return {"error": "BodyTooLarge", "message": f"request body over {limit:,} bytes",
            "hint": "send a smaller body (split an upload into several files)"}


class Guard:
    """ASGI middleware: the bearer token (when configured) and security headers on every response."""

    def __init__(self, app: Any, token: str | None) -> None:
        self.app, self.token = app, token

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        set_cookie = False
        if self.token and scope["path"] not in OPEN_PATHS:
            from http.cookies import SimpleCookie
            from urllib.parse import parse_qs

            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers") or []}
            auth = headers.get("authorization", "")
            given = auth[7:] if auth.lower().startswith("bearer ") else ""
            if not given and "cookie" in headers:
                jar = SimpleCookie()
                try:
                    jar.load(headers["cookie"])
                except Exception:  # noqa: BLE001 - a malformed cookie header is no token
                    jar = SimpleCookie()
                given = jar[TOKEN_COOKIE].value if TOKEN_COOKIE in jar else ""
            query = (parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token") or [""])[0]
            want = self.token.encode()
            ok = bool(given) and secrets.compare_digest(given.encode(), want)
            set_cookie = (not ok and not scope["path"].startswith("/api/") and bool(query)
                          and secrets.compare_digest(query.encode(), want))
            if not (ok or set_cookie):
                await _send_json(send, 401, {"error": "Unauthorized", "message": "a bearer token is required",
                                             "hint": "send 'Authorization: Bearer TOKEN' (the token suanli serve "
                                                     "printed)"}, [(b"www-authenticate", b"Bearer")])
                return
        cookie = f"{TOKEN_COOKIE}={self.token}; HttpOnly; SameSite=Strict; Path=/".encode() if set_cookie else None

        async def send_with_headers(msg: dict) -> None:
            if msg["type"] == "http.response.start":
                extra = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]
                if cookie:
                    extra.append((b"set-cookie", cookie))
                msg = {**msg, "headers": [*msg.get("headers", []), *extra]}
            await send(msg)

        await self.app(scope, receive, send_with_headers)


async def _send_json(send: Any, status: int, body: dict, headers: list | None = None) -> None:
    import json

    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()),
                            *(headers or [])]})
    await send({"type": "http.response.body", "body": data})


def create_app(*, token: str | None = None, max_body_bytes: int = MAX_BODY_BYTES,
               max_upload_bytes: int = MAX_UPLOAD_BYTES, store_path: str | None = None, store: bool = True,
               job_workers: int = 1) -> FastAPI:
    """The suanli web app. With ``token``, every path but ``/healthz`` needs ``Authorization: Bearer TOKEN``
    (pages also accept ``?token=`` once, which sets a same-site cookie). Plans run as background jobs
    (``job_workers`` threads) and are saved in the results store at ``store_path`` (default: the store's
    own default, ``SUANLI_STORE`` or ``~/.suanli/runs.duckdb``) unless ``store`` is false."""
    app = FastAPI(
        title="suanli API", version=__version__,
        description=("算力 suanli: accelerators, export-control policy, performance and cost for the AI-compute "
                     "decision in China. Every response is the same `to_dict()` the CLI prints with `--json`."),
        openapi_url="/api/v1/openapi.json", docs_url="/api/v1/docs", redoc_url=None,
    )
    app.state.assets = _load_assets()
    app.state.token = token
    from suanli.web.jobs import JobManager

    app.state.jobs = JobManager(workers=job_workers, store_path=store_path, store=store)

    @app.exception_handler(SuanliError)
    async def _suanli_error(request: Request, exc: SuanliError) -> JSONResponse:
        field = getattr(exc, "field", None) or getattr(exc, "kind", None)
        loc = ["body", field] if field else ["body"]
        body = {"detail": [_problem(loc, exc.message, type(exc).__name__, exc.hint)], **exc.to_dict()}
        return JSONResponse(body, status_code=422)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [_problem(list(e.get("loc", [])), e.get("msg", "invalid"), e.get("type", "value_error"))
                    for e in exc.errors()]
        first = problems[0] if problems else {"field": None, "reason": "invalid request"}
        msg = f"{first['field'] or 'request'}: {first['reason']}"
        return JSONResponse({"detail": problems, "error": "InvalidRequest", "message": msg,
                             "hint": "see /api/v1/docs for the request schema"}, status_code=422)

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:  # pragma: no cover - a bug
        log.exception("unhandled error on %s", request.url.path)
        return JSONResponse({"error": "InternalError", "message": "internal error (logged on the server)",
                             "hint": None}, status_code=500)

    @app.get("/healthz", tags=["meta"], summary="Liveness: the version and the data's as-of dates.")
    def healthz() -> dict:
        return {"status": "ok", "version": __version__}

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response(status_code=204)

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str, request: Request) -> Response:
        asset = app.state.assets.get(name)
        if asset is None:
            return JSONResponse({"error": "NotFound", "message": f"no asset {name!r}", "hint": None}, 404)
        raw, gz, media, etag = asset
        headers = {"ETag": etag, "Cache-Control": "public, max-age=3600"}
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        if "gzip" in request.headers.get("accept-encoding", ""):
            headers["Content-Encoding"] = "gzip"
            return Response(gz, media_type=media, headers=headers)
        return Response(raw, media_type=media, headers=headers)

    from suanli.web.routes import api, pages

    app.include_router(api.router)
    app.include_router(pages.router)
    app.add_middleware(BodyLimit, limit=max_body_bytes, upload_limit=max_upload_bytes)
    app.add_middleware(Guard, token=token)
    return app


def app_from_env() -> FastAPI:
    """App factory for multi-process serving: the token comes from ``SUANLI_TOKEN``."""
    import os

    return create_app(token=os.environ.get("SUANLI_TOKEN") or None)
