"""Guards: 422 with field and reason, bounded bodies, bearer token off loopback, no filesystem paths, no CORS."""
from __future__ import annotations

import pytest


def _problem(r):
    assert r.status_code == 422, r.text
    d = r.json()
    assert d["detail"] and d["message"]
    return d


@pytest.mark.parametrize("body, field", [
    ({"hardware": "h200-sxm", "model": "deepseek-v3", "chips": 0}, "chips"),
    ({"hardware": "h200-sxm", "model": "deepseek-v3", "chips": 100000}, "chips"),
    ({"hardware": "h200-sxm", "model": "deepseek-v3", "isl": -5}, "isl"),
    ({"hardware": "h200-sxm", "model": "deepseek-v3", "weight_dtype": "fp7"}, "weight_dtype"),
    ({"hardware": "h200-sxm", "model": "deepseek-v3", "tp": 3.5}, "tp"),
    ({"hardware": "h200-sxm", "model": "deepseek-v3", "nonsense": 1}, "nonsense"),
    ({"model": "deepseek-v3"}, "hardware"),
])
def test_invalid_fields_are_422_with_field(client, body, field):
    d = _problem(client.post("/api/v1/predict/serve", json=body))
    assert d["detail"][0]["field"] == field
    assert d["detail"][0]["reason"]


def test_unknown_ids_are_422_with_suggestions(client):
    d = _problem(client.post("/api/v1/predict/serve", json={"hardware": "h2000", "model": "deepseek-v3"}))
    assert "h2000" in d["message"] and "h200-sxm" in (d["hint"] or "")
    d = _problem(client.post("/api/v1/compare", json={"hardware": ["h20"], "model": "deepsek-v3"}))
    assert "deepseek-v3" in (d["hint"] or "")
    _problem(client.get("/api/v1/catalog/not-a-chip"))


def test_core_checks_surface_as_422(client):
    # an arrival rate describes the server scenario: the core's own check, passed through
    d = _problem(client.post("/api/v1/predict/serve", json={"hardware": "h200-sxm", "model": "llama-3.1-70b",
                                                            "arrival_rate": 5, "scenario": "offline"}))
    assert "arrival rate" in d["message"]
    d = _problem(client.post("/api/v1/predict/serve", json={"hardware": "h200-sxm", "model": "llama-3.1-70b",
                                                            "stream_interval": 4, "scenario": "offline"}))
    assert "stream_interval" in d["message"] and "whole outputs" in d["message"]
    _problem(client.post("/api/v1/policy/classify", json={"hardware": "h20", "spec": {"tpp": 3000}}))
    _problem(client.post("/api/v1/policy/classify", json={"spec": {"tpp": 3000, "pd": 2.0, "die_area": 500}}))
    _problem(client.post("/api/v1/policy/classify", json={"hardware": "h20", "scenario": ["no-such-law"]}))
    _problem(client.get("/api/v1/policy/timeline", params={"dest": "Atlantis"}))


@pytest.mark.parametrize("path_like", ["/etc/passwd", "../../pyproject.toml", "C:\\x.yaml", "x.json/.."])
def test_no_request_reaches_the_filesystem(client, path_like):
    # ids that look like paths never reach a loader that would open them
    _problem(client.post("/api/v1/predict/serve", json={"hardware": "h200-sxm", "model": path_like}))
    _problem(client.post("/api/v1/policy/classify", json={"hardware": "h20", "scenario": [path_like]}))
    r = client.get("/api/v1/models/" + path_like.replace("/", "%2F"))
    assert r.status_code in (404, 422)


def test_bodies_are_bounded(app):
    from fastapi.testclient import TestClient

    from suanli.web import create_app

    small = TestClient(create_app(max_body_bytes=2048, max_upload_bytes=4096))
    big = {"hardware": "h200-sxm", "model": "deepseek-v3", "padding": "x" * 5000}
    r = small.post("/api/v1/predict/serve", json=big)
    assert r.status_code == 413 and "bytes" in r.json()["message"]
    csv_text = "id,kind,hardware,chips,metric,value\n" + "".join(f"r{i},serve,h20,8,output_tps_per_chip,1\n"
                                                                 for i in range(400))
    r = small.post("/api/v1/validate", files={"file": ("big.csv", csv_text, "text/csv")})
    assert r.status_code == 413


def test_compare_and_timeline_sizes_are_bounded(client):
    _problem(client.post("/api/v1/compare", json={"hardware": ["h20"] * 9, "model": "deepseek-v3"}))
    _problem(client.get("/api/v1/policy/timeline", params=[("hardware", "h20")] * 41))


def test_upload_errors_name_the_problem(client):
    d = _problem(client.post("/api/v1/validate", files={"file": ("x.csv", "id,kind\nx,serve\n", "text/csv")}))
    assert "missing required column" in d["message"] and "chips" in d["message"]
    d = _problem(client.post("/api/v1/validate", files={"file": ("x.csv", b"\xff\xfe\x00bad", "text/csv")}))
    assert "UTF-8" in d["message"]
    _problem(client.post("/api/v1/validate", files={"file": ("x.csv", "a,b\n", "text/csv")}, data={"by": "colour"}))


def test_token_required_when_configured():
    from fastapi.testclient import TestClient

    from suanli.web import create_app

    tok = "t" * 24
    c = TestClient(create_app(token=tok))
    assert c.get("/healthz").status_code == 200
    r = c.get("/api/v1/catalog")
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert c.get("/api/v1/catalog", headers={"Authorization": "Bearer wrong-token-wrong"}).status_code == 401
    assert c.get("/api/v1/catalog", headers={"Authorization": f"Bearer {tok}"}).status_code == 200
    assert c.get("/api/v1/catalog", params={"token": tok}).status_code == 401  # never in an API URL
    assert c.get("/compare").status_code == 401
    page = c.get("/compare", params={"token": tok})
    assert page.status_code == 200 and "suanli_token" in page.headers.get("set-cookie", "")
    assert c.get("/api/v1/catalog").status_code == 200  # the page's cookie now authorises its API calls


def test_serve_binds_loopback_and_needs_a_token_elsewhere(monkeypatch):
    from suanli.cli.serve import resolve_token

    monkeypatch.delenv("SUANLI_TOKEN", raising=False)
    assert resolve_token("127.0.0.1", None) == (None, False)
    tok, generated = resolve_token("0.0.0.0", None)
    assert generated and len(tok) >= 24
    assert resolve_token("0.0.0.0", "s" * 20) == ("s" * 20, False)
    monkeypatch.setenv("SUANLI_TOKEN", "e" * 20)
    assert resolve_token("192.168.1.5", None) == ("e" * 20, False)
    from suanli.errors import SuanliError

    with pytest.raises(SuanliError):
        resolve_token("0.0.0.0", "short")


def test_serve_default_host_is_loopback():
    import inspect

    from suanli.cli import serve

    assert inspect.signature(serve.serve).parameters["host"].default.default == "127.0.0.1"


def test_cors_closed(client):
    r = client.options("/api/v1/catalog", headers={"Origin": "https://evil.example",
                                                   "Access-Control-Request-Method": "GET"})
    assert "access-control-allow-origin" not in {k.lower() for k in r.headers}
    r = client.get("/api/v1/catalog", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in {k.lower() for k in r.headers}
