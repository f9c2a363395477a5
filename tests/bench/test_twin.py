"""The twin's schedule and API: steps last what the performance model says; bad requests get 4xx."""
from __future__ import annotations

import pytest

from suanli.bench.twin import Scheduler, Seq, TwinModel, simulate
from suanli.errors import SuanliError


@pytest.fixture(scope="module")
def twin(catalog):
    return TwinModel.build(catalog, "mtt-s4000", "llama-3.1-8b", 1)


def test_decode_at_batch_one_is_weight_bytes_over_bandwidth(twin, catalog):
    """Memory-bound decode: TPOT ~= BF16 weight bytes / (bandwidth x mem_eff x maturity) + per-step costs."""
    from suanli.perf.hardware import load_params

    p = load_params()
    arch = catalog.model("llama-3.1-8b")
    bw = catalog.accelerator("mtt-s4000").mem_bw_tbps.value * 1e12
    fam = p["families"]["default"]            # the S4000 (MUSA) has no family data: generic efficiencies
    achieved = bw * fam["mem_eff"] * p["maturity"]["musa"]["value"]
    floor_s = arch.total_params * 2 / achieved
    tpot = twin.step_s(1, 512, 0, 1)
    assert floor_s < tpot < floor_s * 1.15      # the rest: KV read, kernel launches, step overhead
    assert simulate(twin, 1, 256, 16).tpot_ms == pytest.approx(1e3 * tpot, rel=0.02)


def test_prefill_is_chunked_by_the_token_budget(catalog):
    tw = TwinModel.build(catalog, "mtt-s4000", "llama-3.1-8b", 1, max_num_tokens=100)
    s = Scheduler(tw)
    seq = Seq("a", prompt_tokens=250, max_tokens=3)
    s.add(seq)
    chunks, t = [], 0.0
    while not seq.done:
        st = s.next_step()
        chunks.append(st.prefill_tokens)
        t += st.seconds
        s.finish_step(st, t)
    assert chunks == [100, 100, 50, 0, 0]        # three prefill chunks, then two decode steps
    assert seq.generated == 3 and s.idle


def test_batch_is_capped_and_the_rest_wait(catalog):
    tw = TwinModel.build(catalog, "mtt-s4000", "llama-3.1-8b", 1, max_batch=2)
    s = Scheduler(tw)
    for i in range(3):
        s.add(Seq(str(i), 10, 1))
    st = s.next_step()
    assert len(s.running) == 2 and len(s.waiting) == 1 and st.prefill_tokens == 20


def test_more_streams_raise_throughput_and_latency(twin):
    one, many = simulate(twin, 1, 128, 32), simulate(twin, 16, 128, 32)
    assert many.output_tps > 5 * one.output_tps
    assert many.ttft_ms > one.ttft_ms and many.tpot_ms >= one.tpot_ms


def test_model_that_does_not_fit_is_refused(catalog):
    with pytest.raises(SuanliError, match="does not fit"):
        TwinModel.build(catalog, "mtt-s4000", "llama-3.1-405b", 1)


@pytest.fixture()
def client(twin):
    from fastapi.testclient import TestClient

    from suanli.bench.twin import create_app

    with TestClient(create_app(twin, max_queue=4)) as c:
        yield c


def test_models_and_non_streaming_completion(client):
    assert client.get("/v1/models").json()["data"][0]["id"] == "llama-3.1-8b"
    r = client.post("/v1/completions", json={"model": "llama-3.1-8b", "prompt": "one two three", "max_tokens": 2})
    assert r.status_code == 200
    assert r.json()["usage"] == {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    r = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "a b"}], "max_tokens": 1})
    assert r.json()["choices"][0]["message"]["content"] == "tok"


@pytest.mark.parametrize("body,status", [
    ({"prompt": 5}, 400),
    ({"prompt": "x", "max_tokens": 0}, 400),
    ({"prompt": "x", "max_tokens": "ten"}, 400),
    ({"prompt": "x", "model": "gpt-4"}, 404),
    ({"messages": []}, 400),
    ({"prompt": "x", "n": 2}, 400),
])
def test_bad_requests_get_4xx(client, body, status):
    url = "/v1/chat/completions" if "messages" in body else "/v1/completions"
    r = client.post(url, json=body)
    assert r.status_code == status
    assert r.json()["error"]["message"]


def test_not_json_is_400(client):
    r = client.post("/v1/completions", content=b"{nope", headers={"content-type": "application/json"})
    assert r.status_code == 400


def test_full_queue_refuses(twin):
    import asyncio

    from suanli.bench.twin import _Engine

    async def go() -> None:
        eng = _Engine(twin, max_queue=2)
        eng.submit(Seq("a", 1, 1))
        eng.submit(Seq("b", 1, 1))
        with pytest.raises(OverflowError):
            eng.submit(Seq("c", 1, 1))

    asyncio.run(go())


def test_expected_endpoint_checks_its_input(client):
    assert client.get("/twin/expected", params={"concurrency": 0}).status_code == 400
    e = client.get("/twin/expected", params={"concurrency": 2, "isl": 32, "osl": 4}).json()
    assert e["ttft_ms"] > 0 and e["tpot_ms"] > 0
