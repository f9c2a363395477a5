"""`suanli serve`: the REST API and the bilingual pages on one local port."""
from __future__ import annotations

import ipaddress
import os
import secrets
from typing import Optional

import typer

from suanli.cli.common import JSON_OPTION, err_console, guarded, print_json
from suanli.errors import SuanliError

LOOPBACK = ("127.0.0.1", "::1", "localhost")


def is_loopback(host: str) -> bool:
    """Whether ``host`` binds to this machine only.

    >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("0.0.0.0"), is_loopback("10.1.2.3")
    (True, True, False, False)
    """
    if host in LOOPBACK:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def resolve_token(host: str, token: Optional[str]) -> tuple[Optional[str], bool]:
    """The bearer token to require, and whether it was generated: off the loopback one is always required."""
    token = token or os.environ.get("SUANLI_TOKEN") or None
    if token is not None and len(token) < 16:
        raise SuanliError("a token must be at least 16 characters", hint="omit --token to have one generated")
    if token is None and not is_loopback(host):
        return secrets.token_urlsafe(24), True
    return token, False


@guarded
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (default: loopback only)."),
    port: int = typer.Option(8000, "--port", help="TCP port."),
    token: Optional[str] = typer.Option(
        None, "--token", help="Bearer token required on every request (env SUANLI_TOKEN); generated and printed "
                              "when binding to a non-loopback address without one."),
    workers: int = typer.Option(1, "--workers", help="Server processes."),
    log_level: str = typer.Option("warning", "--log-level", help="uvicorn log level."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Serve the REST API (/api/v1, OpenAPI at /api/v1/docs) and the pages (中文 / English).

    Examples:
      suanli serve
      suanli serve --port 8080
      suanli serve --host 0.0.0.0 --token "$(openssl rand -hex 24)"
      suanli serve --port 8001 --json
    """
    if not 0 < port < 65536:
        raise SuanliError(f"--port must be 1-65535 (got {port})", hint="e.g. --port 8000")
    if workers < 1:
        raise SuanliError(f"--workers must be >= 1 (got {workers})", hint="e.g. --workers 2")
    try:
        import uvicorn

        from suanli.web.app import create_app
    except ModuleNotFoundError as exc:
        raise SuanliError(f"the web server needs {exc.name}", hint="pip install 'suanli[web]'") from None
    tok, generated = resolve_token(host, token)
    shown = "localhost" if is_loopback(host) else host
    url = f"http://{shown}:{port}/"
    if json_out:
        print_json({"url": url, "api": f"{url}api/v1", "docs": f"{url}api/v1/docs", "host": host, "port": port,
                    "token_required": bool(tok), "token": tok if generated else None, "token_generated": generated})
    if generated:
        err_console.print(f"bearer token (generated): [bold]{tok}[/]", highlight=False)
    if tok:
        err_console.print(f"API calls need 'Authorization: Bearer TOKEN'; pages: {url}?token={tok}", highlight=False)
    err_console.print(f"suanli serving on {url} (API {url}api/v1/docs); Ctrl-C stops", highlight=False)
    if workers > 1:
        os.environ["SUANLI_TOKEN"] = tok or ""
        uvicorn.run("suanli.web.app:app_from_env", host=host, port=port, workers=workers, log_level=log_level,
                    factory=True)
    else:
        uvicorn.run(create_app(token=tok), host=host, port=port, log_level=log_level)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
