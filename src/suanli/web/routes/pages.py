"""The pages: catalog, compare, policy, plan, accuracy, claims, in 中文 and English.

Pages are templates plus ``static/app.js``; every number on them comes from
``/api/v1`` (the same calls an outside system makes). The language is
``?lang=zh|en`` (default English); strings and Chinese chip and company names
are packaged data (``web/data/i18n.yaml``, ``web/data/names.yaml``).
"""
from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Literal

import yaml
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

router = APIRouter(include_in_schema=False)

PAGES = ("catalog", "compare", "policy", "plan", "accuracy", "claims")
Lang = Literal["en", "zh"]


@functools.lru_cache(maxsize=1)
def _data() -> tuple[dict, dict]:
    root = resources.files("suanli.web").joinpath("data")
    i18n = yaml.safe_load(root.joinpath("i18n.yaml").read_text(encoding="utf-8"))
    names = yaml.safe_load(root.joinpath("names.yaml").read_text(encoding="utf-8"))
    missing = sorted(set(i18n["en"]) ^ set(i18n["zh"]))
    if missing:
        raise ValueError(f"suanli/web/data/i18n.yaml: keys not in both languages: {', '.join(missing)}")
    return i18n, names


@functools.lru_cache(maxsize=1)
def _env():
    from jinja2 import Environment, PackageLoader, select_autoescape

    return Environment(loader=PackageLoader("suanli.web", "templates"), autoescape=select_autoescape(["html"]))


def strings(lang: str) -> dict[str, str]:
    """The page strings of one language."""
    return _data()[0][lang]


def render(page: str, lang: str) -> str:
    i18n, names = _data()
    t = i18n[lang]
    boot = {"page": page, "lang": lang, "t": t, "names": names}
    return _env().get_template(f"{page}.html").render(
        page=page, lang=lang, t=t, pages=PAGES, boot=json.dumps(boot, ensure_ascii=False).replace("</", "<\\/"))


@router.get("/")
def index(request: Request) -> RedirectResponse:
    q = ("?" + str(request.query_params)) if request.query_params else ""
    return RedirectResponse("/compare" + q, status_code=307)


def _page(name: str):
    def view(lang: Lang = "en") -> HTMLResponse:
        return HTMLResponse(render(name, lang))

    view.__name__ = f"page_{name}"
    return view


for _name in PAGES:
    router.add_api_route(f"/{_name}", _page(_name), methods=["GET"], response_class=HTMLResponse)
