"""REST API: every response is the Python API's to_dict(), numbers checked against hand arithmetic."""
from __future__ import annotations

import json

import pytest


def _strip_timing(d):
    """search_ms and candidates vary with the machine's speed, not the answer."""
    if isinstance(d, dict):
        return {k: _strip_timing(v) for k, v in d.items() if k not in ("search_ms",)}
    if isinstance(d, list):
        return [_strip_timing(v) for v in d]
    return d


def test_healthz(client):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json()["status"] == "ok"


def test_openapi_lists_every_area(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert len(paths) >= 15
    for p in ("/api/v1/catalog", "/api/v1/catalog/{hardware}", "/api/v1/catalog/compare", "/api/v1/systems",
              "/api/v1/models", "/api/v1/policy/classify", "/api/v1/policy/timeline", "/api/v1/policy/thresholds",
              "/api/v1/policy/scenarios", "/api/v1/predict/serve", "/api/v1/predict/prefill", "/api/v1/predict/decode",
              "/api/v1/predict/pareto", "/api/v1/predict/train", "/api/v1/compare", "/api/v1/validate",
              "/api/v1/claims"):
        assert p in paths, p


def test_catalog_list_matches_catalog(client, catalog):
    d = client.get("/api/v1/catalog").json()
    assert d["n"] == len(catalog.accelerators)
    h20 = next(a for a in d["accelerators"] if a["id"] == "h20")
    # TPP = dense FP8 296 TFLOPS x 8 bits (the figure the export rules test)
    assert h20["tpp"] == pytest.approx(296 * 8)
    only = client.get("/api/v1/catalog", params={"vendor": "huawei"}).json()
    assert only["n"] > 0 and all(a["vendor"] == "Huawei" for a in only["accelerators"])


def test_catalog_show_has_sources(client):
    d = client.get("/api/v1/catalog/h200-sxm").json()
    acc = d["accelerator"]
    assert acc["mem_bw_tbps"]["value"] == pytest.approx(4.8)
    assert acc["mem_bw_tbps"]["source"]
    assert "hgx-h200" in d["systems"]


def test_catalog_compare_ratios(client):
    d = client.get("/api/v1/catalog/compare", params=[("hardware", "h200-sxm"), ("hardware", "h20")]).json()
    # 148 / 989.4 dense BF16 TFLOPS
    assert d["metrics"]["bf16_tflops"]["ratio"]["h20"] == pytest.approx(148 / 989.4)


def test_catalog_and_cli_json_agree(client, run_cli):
    code, out, _ = run_cli("catalog", "compare", "h200-sxm", "h20", "ascend-910c", "--json")
    assert code == 0
    api = client.get("/api/v1/catalog/compare",
                     params=[("hardware", h) for h in ("h200-sxm", "h20", "ascend-910c")]).json()
    assert api == json.loads(out)
    code, out, _ = run_cli("catalog", "list", "--json")
    assert client.get("/api/v1/catalog").json() == json.loads(out)
    code, out, _ = run_cli("models", "show", "deepseek-v3", "--json")
    assert client.get("/api/v1/models/deepseek-v3").json() == json.loads(out)


def test_compare_matches_cli_json(client, run_cli):
    body = {"hardware": ["h200-sxm", "h20"], "model": "llama-3.1-70b", "chips": 8, "tpot_slo_ms": 50,
            "pareto": False}
    api = client.post("/api/v1/compare", json=body)
    assert api.status_code == 200, api.text
    code, out, _ = run_cli("compare", "--hardware", "h200-sxm,h20", "--model", "llama-3.1-70b", "--chips", "8",
                           "--tpot-slo-ms", "50", "--json")
    assert code == 0
    assert _strip_timing(api.json()) == _strip_timing(json.loads(out))


def test_compare_returns_pareto_curves(client):
    d = client.post("/api/v1/compare", json={"hardware": ["h200-sxm", "h20", "ascend-910c"],
                                             "model": "deepseek-v3"}).json()
    assert d["chips"] == 16  # default for a model over 400 GB of weights
    for h in ("h200-sxm", "h20", "ascend-910c"):
        pts = d["pareto"][h]["points"]
        assert len(pts) >= 2
        xs = [p["tps_per_user"] for p in pts]
        ys = [p["output_tps_per_chip"] for p in pts]
        # a front: faster per user costs throughput per chip
        assert xs == sorted(xs) and ys == sorted(ys, reverse=True)
        best = next(r for r in d["results"] if r["hardware"] == h)["metrics"]["output_tps_per_chip"]
        assert max(ys) <= best * 1.0001


def test_predict_serve_is_python_api(client, catalog):
    import suanli

    body = {"hardware": "h200-sxm", "model": "llama-3.1-70b", "chips": 8, "isl": 2048, "osl": 256}
    api = client.post("/api/v1/predict/serve", json=body).json()
    py = suanli.predict_serve("h200-sxm", "llama-3.1-70b", 8, isl=2048, osl=256).to_dict()
    assert _strip_timing(api) == _strip_timing(json.loads(json.dumps(py)))


def test_predict_phases_and_pareto(client):
    base = {"hardware": "h100-sxm", "model": "llama-3.1-8b", "chips": 1}
    pre = client.post("/api/v1/predict/prefill", json={**base, "isl": 4096}).json()
    dec = client.post("/api/v1/predict/decode", json={**base, "batch_per_chip": 1}).json()
    assert pre["metrics"]["input_tps_per_chip"] > 0
    # decode at batch 1 is memory-bound: TPOT at least the time to read the weights once
    weights_gb = 8.03 * 1  # fp8: ~1 byte per parameter
    assert dec["metrics"]["tpot_ms"] >= weights_gb / 3350 * 1000 * 0.99
    par = client.post("/api/v1/predict/pareto", json=base).json()
    assert len(par["points"]) >= 2


def test_train(client):
    d = client.post("/api/v1/predict/train", json={"hardware": "h100-sxm", "model": "llama-3.1-8b", "chips": 64,
                                                   "seq_len": 4096, "global_batch": 256}).json()
    assert 0 < d["mfu"] < 1
    # tokens per step = global batch x sequence length; tokens/s per chip = that / step time / chips
    assert d["tokens_per_step"] == 256 * 4096
    assert d["tps_per_chip"] == pytest.approx(256 * 4096 / d["step_time_s"] / 64, rel=1e-6)
    # MFU = model FLOPs per token x tokens/s per chip / peak
    assert d["mfu"] == pytest.approx(d["model_flops_per_token"] * d["tps_per_chip"] / (989.4e12), rel=1e-3)


def test_policy_classify_h200_levy(client):
    d = client.post("/api/v1/policy/classify", json={"hardware": "h200-sxm", "dest": "CN",
                                                     "date": "2026-03-01"}).json()
    # the January 2026 rule: licence, case by case, 25% tariff on the way through the US
    assert d["license_required"] is True and d["review"] == "case_by_case"
    assert d["fee_fraction"] == pytest.approx(0.25)


def test_policy_classify_spec(client):
    d = client.post("/api/v1/policy/classify", json={"spec": {"tpp": 3000, "pd": 2.0, "datacenter": True},
                                                     "date": "2026-03-01"}).json()
    assert d["eccn"].startswith("3A090.b")  # TPP 3000 >= 2400 and PD 2.0 >= 1.6, under 4800


def test_policy_timeline_h20_april_2025(client):
    d = client.get("/api/v1/policy/timeline", params={"hardware": "h20", "dest": "CN"}).json()
    first = next(e for e in d["chips"][0]["entries"] if e["license_required"])
    assert first["date"] == "2025-04-09"
    assert all(e["outcome_changed"] for e in d["chips"][0]["entries"])


def test_policy_thresholds_and_scenarios(client):
    t = client.get("/api/v1/policy/thresholds", params={"dest": "CN", "date": "2024-06-01"}).json()
    assert any(ln["param"] == "tpp" and ln["value"] == 4800 for ln in t["lines"])
    s = client.get("/api/v1/policy/scenarios").json()
    assert "safe-chips-act" in [x["id"] for x in s["scenarios"]]
    with_s = client.post("/api/v1/policy/classify", json={"hardware": "h200-sxm", "date": "2027-06-01",
                                                          "scenario": ["safe-chips-act@2027-01-01"]}).json()
    assert with_s["review"] == "denial"


def test_validate_upload(client):
    csv_text = ("id,kind,hardware,chips,model,metric,value,isl,osl,weight_dtype,engine\n"
                "t1,serve,h200-sxm,8,llama-3.1-70b,output_tps_per_chip,1500,1024,1024,fp8,trt-llm\n"
                "t2,serve,nosuchchip,8,llama-3.1-70b,output_tps_per_chip,1500,1024,1024,fp8,trt-llm\n")
    r = client.post("/api/v1/validate", files={"file": ("mine.csv", csv_text, "text/csv")}, data={"by": "hardware"})
    assert r.status_code == 200, r.text
    rows = {x["id"]: x for x in r.json()["rows"]}
    assert rows["t1"]["predicted"] > 0
    assert rows["t1"]["ape"] == pytest.approx(abs(rows["t1"]["predicted"] - 1500) / 1500, rel=1e-3)
    assert rows["t2"]["skipped"] and "nosuchchip" in rows["t2"]["reason"]


def test_accuracy_is_the_validation_set(client):
    from pathlib import Path

    d = client.get("/api/v1/accuracy").json()
    packaged = Path(__file__).resolve().parents[2] / "src/suanli/web/data/validation.csv"
    dev = Path(__file__).resolve().parents[2] / "data/validation/dev.csv"
    if dev.exists():  # the packaged copy must not drift from the repository's validation set
        assert packaged.read_text() == dev.read_text()
    n_rows = len(packaged.read_text().strip().splitlines()) - 1
    assert len(d["rows"]) == n_rows
    assert d["summary"]["n"] + d["summary"]["skipped"] == n_rows
    assert "all" in d["bands"]


def test_claims_endpoint_every_claim(client):
    from suanli.claims import load_claims

    d = client.get("/api/v1/claims").json()
    assert [c["id"] for c in d["claims"]] == [c.id for c in load_claims()]
    assert all(c["verdict"] in d["verdicts"] for c in d["claims"])


def test_static_assets_from_memory(client):
    r = client.get("/static/plotly.min.js", headers={"accept-encoding": "gzip"})
    assert r.status_code == 200 and "plotly" in r.text[:200].lower()
    again = client.get("/static/app.js", headers={"if-none-match": r.headers["etag"]})
    assert again.status_code == 200
    etag = client.get("/static/app.js").headers["etag"]
    assert client.get("/static/app.js", headers={"if-none-match": etag}).status_code == 304
    assert client.get("/static/../pyproject.toml").status_code == 404
    assert client.get("/static/nothing.js").status_code == 404


def test_predict_serve_takes_a_stream_interval(client):
    """The API takes stream_interval as the CLI and the Python API do, and the answer states it."""
    body = {"hardware": "h200-sxm", "model": "deepseek-v3", "chips": 8, "concurrency": 256, "scenario": "fixed",
            "engine": "trt-llm", "tp": 1, "ep": 8, "dp": 8, "stream_interval": 4}
    r = client.post("/api/v1/predict/serve", json=body)
    assert r.status_code == 200, r.text
    c = r.json()["config"]
    assert c["streamed_responses"] is True and c["stream_interval"] == 4
    assert client.post("/api/v1/predict/serve", json={**body, "stream_interval": 0}).status_code == 422


def test_predict_serve_fixed_scenario(client, catalog):
    """A benchmark client at a fixed concurrency: the API takes scenario 'fixed', answers as the Python
    API does, holds the concurrency given; without a concurrency it is refused with the field named."""
    import suanli

    body = {"hardware": "h200-sxm", "model": "llama-3.1-70b", "chips": 8, "isl": 2048, "osl": 256,
            "concurrency": 64, "scenario": "fixed"}
    r = client.post("/api/v1/predict/serve", json=body)
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["config"]["scenario"] == "fixed"
    assert d["config"]["batch_per_instance"] * d["config"]["instances"] == pytest.approx(64)
    # Little's law for a closed loop: 64 clients each cycle through TTFT and 255 more tokens
    m = d["metrics"]
    cycle_s = (m["ttft_ms"] + 255 * m["tpot_ms"]) / 1e3
    assert m["output_tps_per_chip"] * 8 == pytest.approx(64 * 256 / cycle_s, rel=1e-6)
    py = suanli.predict_serve("h200-sxm", "llama-3.1-70b", 8, isl=2048, osl=256, concurrency=64,
                              scenario="fixed").to_dict()
    assert _strip_timing(d) == _strip_timing(json.loads(json.dumps(py)))
    bad = client.post("/api/v1/predict/serve", json={k: v for k, v in body.items() if k != "concurrency"})
    assert bad.status_code in (400, 422) and "concurrency" in bad.text
