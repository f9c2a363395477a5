"""Pages: every page answers in both languages, with packaged assets only (no CDN, no network)."""
from __future__ import annotations

import re
from markupsafe import escape

import pytest

from suanli.web.routes.pages import PAGES, strings


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("page", PAGES)
def test_every_page_in_both_languages(client, page, lang):
    r = client.get(f"/{page}", params={"lang": lang})
    assert r.status_code == 200
    html = r.text
    t = strings(lang)
    assert f"<h1>{escape(t[page + '.title'])}</h1>" in html
    for p in PAGES:  # the navigation in the page's language
        assert escape(t["nav." + p]) in html
    # the language switch keeps the page and flips the language
    other = "en" if lang == "zh" else "zh"
    assert f'href="/{page}?lang={other}"' in html
    # every script and stylesheet is served by suanli itself
    for src in re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', html):
        assert src.startswith("/static/"), src
        assert client.get(src).status_code == 200


def test_index_redirects_to_compare(client):
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 307 and r.headers["location"].startswith("/compare")


def test_bad_language_is_422(client):
    assert client.get("/compare", params={"lang": "fr"}).status_code == 422


def test_strings_exist_in_both_languages():
    en, zh = strings("en"), strings("zh")
    assert set(en) == set(zh)
    assert all(zh[k] for k in zh)


def test_every_catalog_vendor_has_a_chinese_name(catalog):
    from suanli.web.routes.pages import _data

    names = _data()[1]
    vendors = {a.vendor for a in catalog.accelerators.values()}
    assert vendors <= set(names["vendors"]), vendors - set(names["vendors"])
    assert set(names["chips"]) <= set(catalog.accelerators)  # no name for a chip the catalog lacks
