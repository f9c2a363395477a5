"""Serving mechanisms added for accuracy: each checked against hand arithmetic."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from suanli.perf.hardware import HardwareSpec
from suanli.perf.inference import step_time
from suanli.perf.memory import weight_bytes_per_rank
from suanli.perf.ops import Dtypes, ModelShape, dtype_bytes, step_ops

LLAMA70 = ModelShape("llama-2-70b", layers=80, hidden=8192, heads=64, kv_heads=8, head_dim=128, vocab=32000,
                     intermediate=28672)


def h200(**kw):
    base = dict(bf16_tflops=989.4, fp8_tflops=1978.9, mem_bw_tbps=4.8, mem_gb=141.0)
    base.update(kw)
    return HardwareSpec.synthetic(**base)


def test_overlap_scheduler_hides_host_work_shorter_than_the_step():
    """With an overlap scheduler (SGLang) the host work per request runs on the CPU while the device runs
    the step: it costs nothing while it is shorter, and only its excess once it is longer."""
    from dataclasses import replace

    m = ModelShape("moe", layers=24, hidden=4096, heads=32, kv_heads=8, head_dim=128, vocab=32000,
                   intermediate=14336, experts=64, top_k=4, moe_intermediate=1408, dense_layers=1, moe_layers=23)
    kw = dict(decode_seqs=512, ctx=1000, tp=1, dp=8, ep=8)
    dt = Dtypes.of("fp8")
    device = step_time(h200(request_us=0.0), m, dt, **kw)
    serial = step_time(h200(request_us=20.0), m, dt, **kw)
    hw = h200(request_us=20.0)
    hidden = step_time(replace(hw, serving={**hw.serving, "overlap_host": True}), m, dt, **kw)
    host = 512 / 8 * 20e-6                                        # 1.28 ms of host work per step
    assert float(serial.total - device.total) == pytest.approx(host)
    assert float(device.total) > host                             # the device step is longer: all hidden
    assert float(hidden.total) == pytest.approx(float(device.total))
    # 100x the host work outlasts the step: the step is the host work
    slow = replace(hw, request_us=2000.0, serving={**hw.serving, "overlap_host": True})
    assert float(step_time(slow, m, dt, **kw).total) == pytest.approx(100 * host)


def test_step_reports_the_host_work_it_shows():
    """StepTime.host is the host work in the step: all of it run serially, the excess when overlapped."""
    from dataclasses import replace

    m = ModelShape("moe", layers=24, hidden=4096, heads=32, kv_heads=8, head_dim=128, vocab=32000,
                   intermediate=14336, experts=64, top_k=4, moe_intermediate=1408, dense_layers=1, moe_layers=23)
    kw = dict(decode_seqs=512, ctx=1000, tp=1, dp=8, ep=8)
    dt = Dtypes.of("fp8")
    device = step_time(h200(request_us=0.0), m, dt, **kw)
    assert float(device.host) == 0.0
    serial = step_time(h200(request_us=20.0), m, dt, **kw)
    assert float(serial.host) == pytest.approx(512 / 8 * 20e-6)
    hw = h200(request_us=2000.0)
    over = step_time(replace(hw, serving={**hw.serving, "overlap_host": True}), m, dt, **kw)
    host = 512 / 8 * 2000e-6
    assert float(over.host) == pytest.approx(host - float(device.total))   # the device step hides the rest
    assert float(over.total) == pytest.approx(host)


def test_host_bound_prediction_says_so(catalog):
    """A batch whose host work outlasts the device step warns with the chip's idle share, computed by hand."""
    from suanli.perf.hardware import load_params
    from suanli.perf.search import Request, predict_phase

    req = Request("h200-sxm", "llama-3.1-8b", chips=1, isl=128, osl=128, batch_per_chip=512, scenario="fixed",
                  weight_dtype="fp8", engine="trt-llm", tp=1)
    free = predict_phase(catalog, req, "decode", params=load_params({"engines": {"trt-llm": {"request_us": 0.0}}}))
    assert not any(w.startswith("host-bound") for w in free.warnings)
    device_ms = free.metrics["step_ms"]
    us = 4 * device_ms * 1e3 / 512                    # host work per step 4x the device step
    slow = predict_phase(catalog, req, "decode", params=load_params({"engines": {"trt-llm": {"request_us": us}}}))
    assert slow.metrics["step_ms"] == pytest.approx(4 * device_ms, rel=1e-6)   # the overlapped host sets it
    w = [w for w in slow.warnings if w.startswith("host-bound")]
    assert len(w) == 1 and "idle 75% of the decode step" in w[0]           # (4 - 1) / 4


def test_request_overhead_is_per_request_per_dp_rank():
    """20 us per request: 512 requests on 8 attention-DP ranks add 64 x 20 us = 1.28 ms per step."""
    m = ModelShape("moe", layers=24, hidden=4096, heads=32, kv_heads=8, head_dim=128, vocab=32000,
                   intermediate=14336, experts=64, top_k=4, moe_intermediate=1408, dense_layers=1, moe_layers=23)
    kw = dict(decode_seqs=512, ctx=1000, tp=1, dp=8, ep=8)
    a = step_time(h200(request_us=0.0), m, Dtypes.of("fp8"), **kw)
    b = step_time(h200(request_us=20.0), m, Dtypes.of("fp8"), **kw)
    assert float(b.overhead - a.overhead) == pytest.approx(512 / 8 * 20e-6)
    assert float(b.total - a.total) == pytest.approx(1.28e-3)
    # no per-request cost in kernel-level (step_overhead=False) predictions
    c = step_time(h200(request_us=20.0), m, Dtypes.of("fp8"), step_overhead=False, **kw)
    d = step_time(h200(request_us=0.0), m, Dtypes.of("fp8"), step_overhead=False, **kw)
    assert float(c.total) == pytest.approx(float(d.total))


def test_streamed_responses_gathered_to_one_rank_cost_the_whole_instance():
    """TensorRT-LLM gathers every attention-DP rank's responses to rank 0 (stream_gather): for a streaming
    client, 512 requests on 8 ranks at 20 us cost 512 x 20 us = 10.24 ms a step there instead of 64 x 20 us
    = 1.28 ms; an offline run (no per-token responses) and an engine that does not gather keep 1.28 ms."""
    from dataclasses import replace

    m = ModelShape("moe", layers=24, hidden=4096, heads=32, kv_heads=8, head_dim=128, vocab=32000,
                   intermediate=14336, experts=64, top_k=4, moe_intermediate=1408, dense_layers=1, moe_layers=23)
    kw = dict(decode_seqs=512, ctx=1000, tp=1, dp=8, ep=8)
    dt = Dtypes.of("fp8")
    device = step_time(h200(request_us=0.0), m, dt, stream_interval=1, **kw)
    hw = h200(request_us=20.0)
    gathering = replace(hw, serving={**hw.serving, "stream_gather": True})
    streamed = step_time(gathering, m, dt, stream_interval=1, **kw)
    offline = step_time(gathering, m, dt, stream_interval=0, **kw)
    per_rank = step_time(hw, m, dt, stream_interval=1, **kw)
    assert float(streamed.total - device.total) == pytest.approx(512 * 20e-6)
    assert float(offline.total - device.total) == pytest.approx(512 / 8 * 20e-6)
    assert float(per_rank.total - device.total) == pytest.approx(512 / 8 * 20e-6)
    # a response every 4 steps: rank 0 handles its own 64 requests and a quarter of the other 448
    every4 = step_time(gathering, m, dt, stream_interval=4, **kw)
    assert float(every4.total - device.total) == pytest.approx((64 + 448 / 4) * 20e-6)
    # without attention DP one rank holds the whole batch anyway: nothing changes
    tp8 = dict(kw, tp=8, dp=1)
    assert float(step_time(gathering, m, dt, stream_interval=1, **tp8).total) == pytest.approx(
        float(step_time(gathering, m, dt, stream_interval=0, **tp8).total))


def test_only_streaming_scenarios_pay_the_gathered_responses(catalog):
    """The same TensorRT-LLM attention-DP deployment at a fixed batch: a closed-loop benchmark (its client
    streams) pays the instance's requests on one rank each step, an offline run does not; SGLang, whose
    ranks hand their outputs to the detokenizer each on its own, is unaffected by the scenario."""
    import copy

    from suanli.perf.hardware import load_params
    from suanli.perf.search import Request, predict_serve

    shipped = load_params()
    serial = copy.deepcopy(shipped)
    serial["engines"]["trt-llm"]["overlap_host"] = False

    def step_ms(engine, scenario, params=None, batch=256):
        req = Request(hardware="h200-sxm", model="deepseek-v3", chips=8, isl=1000, osl=1000, tp=1, ep=8, dp=8,
                      batch_per_chip=batch, engine=engine, scenario=scenario, weight_dtype="fp8")
        return predict_serve(catalog, req, params=params).metrics["step_ms"]

    us = float(shipped["engines"]["trt-llm"]["request_us"]) * 1e-3          # ms per request
    # host work after the step (no overlap): the gathering rank adds the other 7 ranks' 1,792 requests
    off, fixed = step_ms("trt-llm", "offline", serial), step_ms("trt-llm", "fixed", serial)
    assert fixed - off == pytest.approx(2048 * us * (1 - 1 / 8), rel=1e-6)
    # as shipped, TensorRT-LLM's overlap scheduler runs the host work beside the device's step: a rank's
    # own 256 requests hide behind it (the offline step is the device's alone, the serial one less
    # them), and the gathering rank's 2,048 show where they outlast it
    device = off - 256 * us
    assert 256 * us < device < 2048 * us
    assert step_ms("trt-llm", "offline") == pytest.approx(device, rel=1e-6)
    assert step_ms("trt-llm", "fixed") == pytest.approx(2048 * us, rel=1e-6)
    # (SGLang keeps its KV cache in BF16, so fewer requests fit)
    assert step_ms("sglang", "fixed", batch=64) == pytest.approx(step_ms("sglang", "offline", batch=64), rel=1e-9)


def test_stream_interval_is_checked_and_relieves_the_gathering_rank(catalog):
    """--stream-interval N: a response every N steps. It must be a whole number >= 1 and needs a scenario
    whose clients stream; a larger interval never slows the step, and the prediction states it."""
    from suanli.errors import SuanliError
    from suanli.perf.search import Request, predict_serve

    kw = dict(hardware="h200-sxm", model="deepseek-v3", chips=8, isl=1000, osl=1000, tp=1, ep=8, dp=8,
              batch_per_chip=256, engine="trt-llm", weight_dtype="fp8", scenario="fixed")
    steps = [predict_serve(catalog, Request(**kw, stream_interval=n)).metrics["step_ms"] for n in (1, 2, 4, 16)]
    # the gathered host work shrinks with the interval until the overlap scheduler hides it behind the step
    assert all(a >= b for a, b in zip(steps, steps[1:])) and steps[0] > steps[-1]
    assert predict_serve(catalog, Request(**kw, stream_interval=4)).config["stream_interval"] == 4
    for bad in (0, -1, 2.5, True):
        with pytest.raises(SuanliError, match="stream_interval"):
            Request(**kw, stream_interval=bad)
    with pytest.raises(SuanliError, match="whole outputs"):
        Request(**{**kw, "scenario": "offline"}, stream_interval=2)


def test_prefill_dispatch_crosses_each_node_once():
    """DeepEP's normal kernels send a token once to each other node holding one of its experts. EP32 over
    4 nodes of 8, top-8 routing: a given node holds one of the 8 with probability 1 - (3/4)^8 = 0.8999, so
    a token crosses the NICs 3 x 0.8999 = 2.70 times where one copy per expert sends 8 x 24/32 = 6; a
    decode step (no prompt tokens) keeps one copy per expert, and so does an engine without the switch."""
    from dataclasses import replace

    from suanli.perf import comm

    hw = HardwareSpec.synthetic(scaleup_gbps=450.0, scaleout_gbps=50.0, domain_ranks=8)
    so = 50e9 * float(hw.comm["alltoall_eff_scaleout"])
    lat = float(hw.comm["alltoall_latency_us_scaleout"]) * 1e-6
    tok = 1e8                                                   # a rank's tokens x hidden x bytes
    assert float(comm.alltoall_per_node_time(hw, tok, 8, 32)) == pytest.approx(lat + tok * 3 * (1 - 0.75 ** 8) / so)
    assert float(comm.alltoall_time(hw, tok * 8, 32)) == pytest.approx(lat + tok * 8 * 24 / 32 / so)
    # inside one node nothing crosses a NIC: every copy rides the scale-up links, as before
    assert float(comm.alltoall_per_node_time(hw, tok, 8, 8)) == pytest.approx(float(comm.alltoall_time(hw, tok * 8, 8)))

    m = ModelShape("moe", layers=24, hidden=4096, heads=32, kv_heads=8, head_dim=128, vocab=32000,
                   intermediate=14336, experts=64, top_k=8, moe_intermediate=1408, dense_layers=1, moe_layers=23)
    dt = Dtypes.of("fp8")
    per_node = replace(hw, serving={**hw.serving, "prefill_dispatch_per_node": True})
    prefill = dict(prefill_tokens=32 * 4096, prefill_len=4096, tp=1, dp=32, ep=32, overlap=0.0)
    decode = dict(decode_seqs=32 * 64, ctx=2000, tp=1, dp=32, ep=32, overlap=0.0)
    assert float(step_time(per_node, m, dt, **prefill).communication) < 0.5 * float(
        step_time(hw, m, dt, **prefill).communication)
    assert float(step_time(per_node, m, dt, **decode).communication) == pytest.approx(
        float(step_time(hw, m, dt, **decode).communication))


def test_request_overhead_read_per_engine(catalog):
    from suanli.perf.hardware import load_params

    p = load_params({"engines": {"vllm": {"request_us": 30.0}, "default": {"request_us": 7.0}}})
    assert HardwareSpec.from_catalog(catalog, "h100-sxm", engine="vllm", params=p).request_us == 30.0
    assert HardwareSpec.from_catalog(catalog, "h100-sxm", engine="unknown-engine", params=p).request_us == 7.0


def test_lm_head_sits_whole_on_the_last_stage():
    """With pp = 4 the last stage runs the whole LM head: 32000 x 8192 BF16 = 524 MB, not a quarter."""
    ops = {o.name: o for o in step_ops(LLAMA70, Dtypes.of("bf16"), seqs=1, q=1, ctx=0, pp=4)}
    assert float(ops["lm_head"].weight_bytes) == pytest.approx(32000 * 8192 * 2.0)
    assert float(ops["lm_head"].flops) == pytest.approx(2 * 32000 * 8192)
    # the stage's layers are a quarter of the model
    assert float(ops["attn_proj"].weight_bytes) == pytest.approx(LLAMA70.attn_params * 2.0 * 80 / 4)


def test_pipeline_stages_pay_the_step_overhead_each():
    """0.5 ms of host work per scheduling iteration: every micro-batch step pays it, pp or not."""
    hw = h200(request_us=0.0)
    st1 = step_time(hw, LLAMA70, Dtypes.of("fp8"), decode_seqs=8, ctx=1000, pp=1)
    st4 = step_time(hw, LLAMA70, Dtypes.of("fp8"), decode_seqs=8, ctx=1000, pp=4)
    k1 = float(st1.overhead) - 0.5e-3
    k4 = float(st4.overhead) - 0.5e-3
    assert k1 > 0 and k4 > 0
    assert k4 == pytest.approx(k1 / 4, rel=0.1)    # kernel gaps split with the layers


def test_fp8_weights_carry_128x128_block_scales():
    """One FP32 scale per 128 x 128 block: 4 / 16384 byte per element (DeepSeek-V3's format)."""
    assert dtype_bytes("fp8") == pytest.approx(1.0 + 4 / 16384)
    m = LLAMA70
    w = float(weight_bytes_per_rank(m, Dtypes.of("fp8"), tp=8))
    body = (m.total_params - 2 * m.embed_params) * (1 + 4 / 16384) / 8
    assert w == pytest.approx(body + 2 * m.embed_params * 2.0 / 8)


def test_deepseek_v3_fp8_prefill_fits_on_8_h20(catalog):
    """671 B FP8 weights + BF16 embeddings ~ 675 GB on 8 x 96 GB: SGLang runs it (PUB-015)."""
    from dataclasses import replace

    from suanli.perf.search import Request, predict_phase

    m = ModelShape.from_arch(catalog.model("deepseek-v3"))
    w = float(weight_bytes_per_rank(m, Dtypes.of("fp8"), tp=8)) * 8 / 1e9
    assert 670 < w < 680
    req = Request("h20", "deepseek-v3", chips=8, isl=4096, osl=1, tp=8, concurrency=512, disagg=True,
                  weight_dtype="fp8", kv_dtype="fp8", engine="sglang")
    pred = predict_phase(catalog, req, "prefill")
    # 512 prompts wait; one scheduler packs max_prefill_tokens (16384) into a step, within SGLang's
    # chunk (8192 in its profile): 2 prompts of 4096 per step
    assert pred.config["batch_per_instance"] == pytest.approx(8192)
    assert pred.metrics["input_tps_per_chip"] > 0
    # with a larger chunk the scheduler's own budget binds: 4 prompts
    big = predict_phase(catalog, replace(req, max_num_tokens=32768), "prefill")
    assert big.config["batch_per_instance"] == pytest.approx(16384)


def test_mtp_draft_passes_carry_one_token_per_sequence():
    """The draft cost scales with one new token per sequence, not with the 1 + draft verified."""
    from suanli.perf.serving import evaluate

    m = ModelShape("mla", layers=61, hidden=7168, heads=128, kv_heads=128, head_dim=192, vocab=129280,
                   intermediate=18432, attention="mla", q_lora_rank=1536, kv_lora_rank=512, qk_nope_head_dim=128,
                   qk_rope_head_dim=64, v_head_dim=128, mtp_layers=1)
    hw = h200()
    kw = dict(tp=1, dp=8, ep=1, batch=256, isl=4096, osl=1024, mode="decode", accept_p=0.7)
    e0 = evaluate(hw, m, Dtypes.of("fp8"), draft=0, **kw)
    e2 = evaluate(hw, m, Dtypes.of("fp8"), draft=2, **kw)
    ctx = 4096 + 512
    verify = step_time(hw, m, Dtypes.of("fp8"), decode_seqs=256, q=3, ctx=ctx, dp=8)
    one = step_time(hw, m, Dtypes.of("fp8"), decode_seqs=256, q=1, ctx=ctx, dp=8, step_overhead=False)
    expect = float(verify.total) + 2 * float(one.compute + one.memory + one.overhead) * 1.5 / 61
    assert float(e2.step_s) == pytest.approx(expect)
    assert float(e2.accept) == pytest.approx(1 + 0.7 + 0.49)
    assert float(e0.step_s) < float(e2.step_s)


DSV3 = ModelShape("deepseek-v3", layers=61, hidden=7168, heads=128, kv_heads=128, head_dim=128, vocab=129280,
                  intermediate=18432, attention="mla", experts=256, top_k=8, shared_experts=1,
                  moe_intermediate=2048, dense_layers=3, moe_layers=58, q_lora_rank=1536, kv_lora_rank=512,
                  qk_nope_head_dim=128, qk_rope_head_dim=64, v_head_dim=128)


def test_mla_attention_uses_the_published_mla_efficiency():
    """MLA attention runs at peak x mla_eff (FlashMLA: 660 of 989 TF); GQA keeps attn_eff."""
    hw = h200(mla_eff=0.667, attn_eff=0.55, attn_scale={})
    assert float(hw.attn_rate("bf16", serving=False, attention="mla")) == pytest.approx(989.4e12 * 0.667)
    assert float(hw.attn_rate("fp8", serving=False, attention="mla")) == pytest.approx(1978.9e12 * 0.667)
    assert float(hw.attn_rate("bf16", serving=False, attention="gqa")) == pytest.approx(989.4e12 * 0.55)
    assert float(hw.attn_rate("bf16", serving=False)) == pytest.approx(989.4e12 * 0.55)   # training's call
    # one decode step: 64 sequences at 4096 context, BF16 KV, one rank, compute-bound MLA core
    # FLOPs = 2 x 64 x 4097 x 128 heads x (576 + 512) x 61 layers
    ops = {o.name: o for o in step_ops(DSV3, Dtypes.of("fp8", kv="bf16"), seqs=64, q=1, ctx=4096)}
    fl = 2 * 64 * 4097 * 128 * (576 + 512) * 61
    assert float(ops["attention"].flops) == pytest.approx(fl)
    st = step_time(hw, DSV3, Dtypes.of("fp8", kv="bf16"), decode_seqs=64, ctx=4096, serving=False,
                   step_overhead=False)
    st_half = step_time(hw.replace(mla_eff=0.3335), DSV3, Dtypes.of("fp8", kv="bf16"), decode_seqs=64, ctx=4096,
                        serving=False, step_overhead=False)
    # halving mla_eff doubles the (compute-bound) attention time: the step grows by fl / (peak x 0.667)
    assert float(st_half.total - st.total) == pytest.approx(fl / (989.4e12 * 0.667), rel=1e-6)


def test_mla_attention_scale_is_per_hardware_family(catalog):
    """attn_scale.mla is looked up per family; a family without a fitted value takes the prior and warns."""
    from suanli.perf.hardware import attn_scales, load_params
    from suanli.perf.search import Request, prepare

    p = load_params({"attn_scale": {"mla": 0.9, "by_family": {"mla": {"hopper": 0.5, "blackwell": 0.25}}}})
    assert attn_scales(p, "hopper") == ({"mla": 0.5}, ())
    assert attn_scales(p, "blackwell") == ({"mla": 0.25}, ())
    assert attn_scales(p, "cdna3") == ({"mla": 0.9}, ("mla",))      # no fitted value: the prior
    h = HardwareSpec.from_catalog(catalog, "h200-sxm", params=p)
    b = HardwareSpec.from_catalog(catalog, "b200", params=p)
    a = HardwareSpec.from_catalog(catalog, "mi300x", params=p)
    assert (h.attn_scale["mla"], b.attn_scale["mla"], a.attn_scale["mla"]) == (0.5, 0.25, 0.9)
    assert a.attn_scale_prior == ("mla",) and h.attn_scale_prior == ()
    # the multiplier scales the MLA attention time only: a compute-bound decode step on the
    # family with half the multiplier spends twice as long in the attention core
    dt = Dtypes.of("fp8", kv="bf16")
    kw = dict(decode_seqs=64, ctx=4096, serving=False, step_overhead=False)
    fl = 2 * 64 * 4097 * 128 * (576 + 512) * 61
    t1 = step_time(h200(mla_eff=0.667, attn_scale={"mla": 0.5}), DSV3, dt, **kw).total
    t2 = step_time(h200(mla_eff=0.667, attn_scale={"mla": 0.25}), DSV3, dt, **kw).total
    assert float(t2 - t1) == pytest.approx(fl / (989.4e12 * 0.667 * 0.5), rel=1e-6)
    # an MLA model on a family on the prior carries an extrapolation warning; GQA models do not
    base = dict(chips=8, weight_dtype="fp8", engine="sglang")
    w_amd = prepare(catalog, Request(hardware="mi300x", model="deepseek-v3", **base), p).warnings
    w_nv = prepare(catalog, Request(hardware="h200-sxm", model="deepseek-v3", **base), p).warnings
    w_gqa = prepare(catalog, Request(hardware="mi300x", model="llama-3.1-70b", **base), p).warnings
    assert any("MLA attention efficiency of the cdna3 family" in w for w in w_amd)
    assert not any("MLA attention" in w for w in w_nv + w_gqa)
    # shipped parameters: Hopper and Blackwell fitted, Ascend held at the prior in hardware.yaml
    shipped = load_params()
    assert attn_scales(shipped, "hopper")[1] == () and attn_scales(shipped, "blackwell")[1] == ()
    assert attn_scales(shipped, "ascend") == ({"mla": 1.0}, ())
    assert attn_scales(load_params(calibrated=False), "hopper") == ({"mla": 1.0}, ("mla",))


def test_sglang_kv_cache_defaults_to_bf16(catalog):
    """A record with no kv_dtype on SGLang gets SGLang's default (auto = BF16); TRT-LLM keeps FP8."""
    from suanli.perf.search import Request, prepare

    base = dict(hardware="h200-sxm", model="deepseek-v3", chips=16, weight_dtype="fp8")
    assert prepare(catalog, Request(**base, engine="sglang")).dtypes.kv == "bf16"
    assert prepare(catalog, Request(**base, engine="trt-llm")).dtypes.kv == "fp8"
    assert prepare(catalog, Request(**base, engine="sglang", kv_dtype="fp8")).dtypes.kv == "fp8"


def test_attention_dp_busiest_rank_carries_a_whole_prompt():
    """Mixed step on 8 attention-DP ranks with 1000 prompt tokens of 1000-token prompts: the busiest
    rank projects the whole prompt (1000 tokens), not 1000 / 8; the routed experts see 1000 / 8."""
    hw = h200()
    imb = float(hw.serving["moe_imbalance"])
    dt = Dtypes.of("fp8")
    kw = dict(decode_seqs=8 * 64, ctx=2000, prefill_tokens=1000, prefill_len=1000, tp=1, ep=8,
              serving=False, step_overhead=False)
    dp8 = step_time(hw, DSV3, dt, dp=8, **kw)
    # the same FLOPs of the attention projections by hand: decode 64 + prompt 1000 tokens on one rank
    ap = DSV3.attn_params
    even = step_ops(DSV3, dt, seqs=1.0, q=1000, ctx=0.0, prefill=True, tp=1, dp=8, ep=8, imbalance=imb)
    busy = step_ops(DSV3, dt, seqs=8.0, q=1000, ctx=0.0, prefill=True, tp=1, dp=8, ep=8, imbalance=imb)
    assert float({o.name: o for o in busy}["attn_proj"].flops) == pytest.approx(2 * 1000 * ap * 61)
    assert float({o.name: o for o in even}["attn_proj"].flops) == pytest.approx(2 * 125 * ap * 61)
    dec = step_ops(DSV3, dt, seqs=8 * 64, q=1, ctx=2000, tp=1, dp=8, ep=8, imbalance=imb)
    want = sum(float(o.flops) for o in dec) + sum(
        float(b.flops if b.name != "experts" else e.flops) for e, b in zip(even, busy))
    assert float(dp8.flops) == pytest.approx(want)
    # without attention-DP (dp = 1) the prompt tokens are shared as before
    one = step_time(hw, DSV3, dt, dp=1, **{**kw, "tp": 8})
    d1 = step_ops(DSV3, dt, seqs=8 * 64, q=1, ctx=2000, tp=8, dp=1, ep=8, imbalance=imb)
    p1 = step_ops(DSV3, dt, seqs=1.0, q=1000, ctx=0.0, prefill=True, tp=8, dp=1, ep=8, imbalance=imb)
    assert float(one.flops) == pytest.approx(sum(float(o.flops) for o in d1 + p1))


def test_server_queue_longer_prompts_sustain_less_load(catalog):
    """Server mode: a prompt whose prefill is a larger share of the TTFT SLO leaves less room to queue."""
    from suanli.perf.search import Request, predict_serve

    def util(isl):
        p = predict_serve(catalog, Request("h200-sxm", "llama-3.1-70b", chips=8, isl=isl, osl=256,
                                           scenario="server", ttft_slo_ms=2000, tpot_slo_ms=100))
        assert p.metrics["ttft_p99_ms"] <= 2000 + 1e-6 and p.metrics["tpot_p99_ms"] <= 100 + 1e-6
        return p.config["server_utilization"]   # sustained share of the offline optimum

    assert util(8000) < util(500)


def test_mdl_queue_by_hand():
    """M/D/1 at rho = 0.5: the tail decay x solves 0.5 (e^x - 1) = x, x = 1.2564; p99 = S ln(50) / x."""
    import math

    from suanli.perf.serving import mg1_p99_wait

    x = 1.2564
    assert 0.5 * (math.exp(x) - 1) == pytest.approx(x, abs=1e-3)
    assert float(mg1_p99_wait(0.5, 2.0, 0.0)) == pytest.approx(2.0 * math.log(50) / x, rel=1e-3)
    # more load, longer wait
    assert float(mg1_p99_wait(0.8, 1.0, 0.0)) > float(mg1_p99_wait(0.5, 1.0, 0.0))


def test_prefill_first_engine_cycle_by_hand():
    """An engine that never mixes prompts into decode steps (``mixed_chunk`` False): per request life the
    instance prefills the batch's prompts in prefill-only batches at its batched rate X and decodes osl
    tokens, so out tokens/s = batch x osl / (batch x isl / X + osl x step_decode); in a closed loop of
    fixed-length requests sent at once (waves) TTFT is the mean wait through the burst."""
    from suanli.perf.serving import evaluate

    hw = h200(request_us=0.0)
    dt = Dtypes.of("fp8")
    batch, isl, osl = 64.0, 2000.0, 500.0
    # a prefill-only batch packs max_prefill_tokens, within the engine's chunk (max_num_tokens)
    cap = min(float(hw.serving.get("max_prefill_tokens", 16384)), float(hw.serving.get("max_num_tokens", 8192)))
    dec = step_time(hw, LLAMA70, dt, decode_seqs=batch, q=1.0, ctx=isl + osl / 2, tp=8)
    pre = step_time(hw, LLAMA70, dt, prefill_tokens=min(batch * isl, cap), prefill_len=isl, tp=8)
    x = min(batch * isl, cap) / float(pre.total)            # prefill tokens/s of the instance
    t_pf = batch * isl / x
    want = batch * osl / (t_pf + osl * float(dec.total))
    kw = dict(tp=8, batch=batch, isl=isl, osl=osl, mode="mixed")
    sep = evaluate(hw, LLAMA70, dt, mixed_chunk=False, **kw)
    assert float(sep.out_tps_instance) == pytest.approx(want, rel=1e-9)
    waves = evaluate(hw, LLAMA70, dt, mixed_chunk=False, waves=True, **kw)
    assert float(waves.out_tps_instance) == pytest.approx(want, rel=1e-9)   # the same cycle
    assert float(waves.ttft_s) == pytest.approx(0.5 * (t_pf + float(pre.total)), rel=1e-9)
    assert float(waves.tpot_s) == pytest.approx(float(dec.total) + 0.5 * t_pf / osl, rel=1e-9)
    # without waves the pauses fall on every token: TPOT is the cycle over osl
    assert float(sep.tpot_s) == pytest.approx((t_pf + osl * float(dec.total)) / osl, rel=1e-9)
    # a mixing engine's steps carry the prompt tokens instead; waves change nothing there
    mixed = evaluate(hw, LLAMA70, dt, **kw)
    assert float(evaluate(hw, LLAMA70, dt, waves=True, **kw).ttft_s) == pytest.approx(float(mixed.ttft_s))


def test_mixed_chunk_comes_from_the_request_else_the_engine(catalog):
    from dataclasses import replace

    from suanli.perf.search import Request, engine_limits, prepare

    req = Request(hardware="h200-sxm", model="llama-3.1-70b", chips=8, engine="sglang")
    lim = engine_limits(prepare(catalog, req), req)
    # SGLang runs waiting prompts in prefill-only batches unless --enable-mixed-chunk is given
    assert lim["mixed_chunk"] is False and lim["source"]["mixed_chunk"] == "engine:sglang"
    req2 = replace(req, mixed_chunk=True)
    lim2 = engine_limits(prepare(catalog, req2), req2)
    assert lim2["mixed_chunk"] is True and lim2["source"]["mixed_chunk"] == "request"
    req3 = replace(req, engine="vllm")
    assert engine_limits(prepare(catalog, req3), req3)["mixed_chunk"] is True


def test_attention_dp_ranks_mix_whatever_the_scheduler():
    """With attention DP the ranks run each iteration together through the expert layers, so a
    rank's prefill batch runs beside the others' decode batches: an engine that keeps prompts out
    of its decode steps gives the same steps as a mixing one there, and differs only without DP."""
    from suanli.perf.serving import evaluate

    hw = h200(request_us=0.0)
    dt = Dtypes.of("fp8")
    kw = dict(tp=np.array([1.0, 8.0]), dp=np.array([8.0, 1.0]), ep=np.array([8.0, 8.0]),
              batch=np.array([256.0, 256.0]), isl=2000.0, osl=500.0, mode="mixed")
    mixing = evaluate(hw, DSV3, dt, mixed_chunk=True, **kw)
    first = evaluate(hw, DSV3, dt, mixed_chunk=False, **kw)
    # DP 8: identical; TP 8 without DP: prompts in prefill-only batches, decoding waits for them
    assert float(first.step_s[0]) == pytest.approx(float(mixing.step_s[0]), rel=1e-12)
    assert float(first.out_tps_instance[0]) == pytest.approx(float(mixing.out_tps_instance[0]), rel=1e-12)
    assert float(first.step_s[1]) != pytest.approx(float(mixing.step_s[1]), rel=1e-3)
    # the prefill-first instance, per request life: batch x isl / X of prefill plus osl decode steps
    dec = step_time(hw, DSV3, dt, decode_seqs=256.0, q=1.0, ctx=2250.0, tp=8, ep=8)
    assert float(first.step_s[1]) > float(dec.total)


def _eager(expert_us: float) -> HardwareSpec:
    from dataclasses import replace

    hw = h200(request_us=0.0)
    return replace(hw, serving={**hw.serving, "expert_us": expert_us})


def test_expert_dispatch_per_touched_expert_by_hand():
    """An engine that loops over the routed experts pays ``expert_us`` per expert touched on the rank
    per MoE layer: 16 tokens x top-8 of 256 experts touch 256 (1 - (31/32)^16) = 102.0 experts;
    with no expert parallelism every rank runs all of them, 58 MoE layers x 102.0 x 30 us = 177.4 ms."""
    dt = Dtypes.of("fp8")
    kw = dict(decode_seqs=16, ctx=1000, tp=8)
    base = step_time(h200(request_us=0.0), DSV3, dt, **kw)
    eager = step_time(_eager(30.0), DSV3, dt, **kw)
    touched = 256 * (1 - (1 - 8 / 256) ** 16)
    assert touched == pytest.approx(101.96, abs=0.01)
    assert 30e-6 * touched * 58 == pytest.approx(0.1774, abs=1e-4)
    assert float(eager.overhead - base.overhead) == pytest.approx(30e-6 * touched * 58, rel=1e-9)
    # with 8-way expert parallelism a rank holds 32 experts and touches an eighth of them
    base8 = step_time(h200(request_us=0.0), DSV3, dt, **{**kw, "ep": 8})
    eager8 = step_time(_eager(30.0), DSV3, dt,
                       **{**kw, "ep": 8})
    assert float(eager8.overhead - base8.overhead) == pytest.approx(30e-6 * touched / 8 * 58, rel=1e-9)
    # a dense model has no experts to loop over
    d0 = step_time(h200(request_us=0.0), LLAMA70, dt, **kw)
    d1 = step_time(_eager(30.0), LLAMA70, dt, **kw)
    assert float(d1.overhead) == pytest.approx(float(d0.overhead))


def test_expert_loop_only_where_the_engine_has_no_grouped_moe_kernel(catalog):
    """Chitu runs a layer's experts as grouped kernels on Ascend (torch_npu grouped matmul) and CUDA
    (Triton fused MoE), and one by one elsewhere: only there does the cost per expert touched apply,
    and it is the profile's stated value, not a fitted one."""
    from suanli.perf.calibrate import FIT_PARAMS
    from suanli.perf.hardware import load_params

    p = load_params()
    chitu = p["engines"]["chitu"]
    assert {"cann", "cuda"} <= set(chitu["grouped_experts"])
    assert "engines.chitu.expert_us" not in {fp.name for fp in FIT_PARAMS}
    assert chitu["expert_us"] == load_params(calibrated=False)["engines"]["chitu"]["expert_us"]
    ascend = HardwareSpec.from_catalog(catalog, "ascend-910b2", engine="chitu", params=p)
    h20 = HardwareSpec.from_catalog(catalog, "h20", engine="chitu", params=p)
    metax = HardwareSpec.from_catalog(catalog, "metax-c500", engine="chitu", params=p)
    assert "expert_us" not in ascend.serving and "expert_us" not in h20.serving
    assert metax.serving["expert_us"] == float(chitu["expert_us"])
    # the rest of the engine's profile (eager dispatch per layer, no expert parallelism) still applies
    assert ascend.serving["layer_overhead_us"] == metax.serving["layer_overhead_us"] == chitu["layer_overhead_us"]
    assert ascend.serving["expert_parallel"] is False


def test_engine_without_expert_parallelism_searches_tp_and_pp_only(catalog):
    """Chitu's profile has no expert parallelism: its MoE layouts are TP x PP (unless --ep is fixed)."""
    from suanli.perf.search import Request, parallel_candidates, prepare

    req = Request(hardware="h20", model="deepseek-v3", chips=16, engine="chitu")
    ctx = prepare(catalog, req)
    pc = parallel_candidates(ctx.hw, ctx.model, 16, req)
    assert set(pc["ep"]) == {1.0} and set(pc["dp"]) == {1.0}
    other = Request(hardware="h20", model="deepseek-v3", chips=16, engine="sglang")
    pc2 = parallel_candidates(prepare(catalog, other).hw, ctx.model, 16, other)
    assert max(pc2["ep"]) > 1
    fixed = Request(hardware="h20", model="deepseek-v3", chips=16, engine="chitu", ep=16, dp=16)
    pc3 = parallel_candidates(prepare(catalog, fixed).hw, ctx.model, 16, fixed)
    assert set(pc3["ep"]) == {16.0}


def test_gemm_rows_to_full_rate_scale_with_flops_per_sm(catalog):
    """matmul_m_half holds for the family's reference chip (H100 SXM: 989 BF16 TFLOPS on 132 SMs); the
    H20 (148 TFLOPS on 78 SMs) does a quarter of the work per SM per cycle, so it reaches its full GEMM
    rate at a quarter of the rows: 24 x (148 / 78) / (989 / 132) = 6.1."""
    from suanli.perf.hardware import load_params

    p = load_params(calibrated=False)
    base = float(p["families"]["hopper"]["matmul_m_half"])
    h100 = catalog.accelerator("h100-sxm").peak("bf16").value
    h20 = catalog.accelerator("h20").peak("bf16").value
    want = base * (h20 / 78) / (h100 / 132)
    assert want == pytest.approx(base * 0.253, rel=0.02)
    assert HardwareSpec.from_catalog(catalog, "h20").matmul_m_half == pytest.approx(want, rel=1e-9)
    assert HardwareSpec.from_catalog(catalog, "h100-sxm").matmul_m_half == pytest.approx(base)
    assert HardwareSpec.from_catalog(catalog, "h800-sxm").matmul_m_half == pytest.approx(base)   # same SMs, same peak
    # a chip without a unit count keeps its family's value
    assert HardwareSpec.from_catalog(catalog, "ascend-910c").matmul_m_half == pytest.approx(
        float(p["families"]["ascend"]["matmul_m_half"]))


def test_expert_gemm_rows_are_tokens_per_touched_expert():
    """Each expert a step touches runs a GEMM over the tokens routed to it, at least one row.

    256 experts, top 8 (DeepSeek-V3's routing), one token: it touches 8 experts, one row each (averaging
    over all 256 experts would give 1/32 of a row). 4,096 tokens touch all 256: 4096 x 8 / 256 = 128 rows.
    On an H200 a batch-1 step then streams the 8 experts' weights: memory-bound, not compute-bound."""
    m = ModelShape("ds", layers=61, hidden=7168, heads=128, kv_heads=128, head_dim=128, vocab=129280,
                   intermediate=18432, experts=256, top_k=8, moe_intermediate=2048, moe_layers=58,
                   shared_experts=1)
    for tokens, rows in ((1, 1.0), (4096, 128.0)):
        ops = {o.name: o for o in step_ops(m, Dtypes.of("fp8"), seqs=np.asarray(float(tokens)), q=1.0,
                                           ctx=np.asarray(1000.0), tp=8)}
        assert float(np.asarray(ops["experts"].rows)) == pytest.approx(rows, rel=1e-6 if tokens == 1 else 1e-3)
    st = step_time(h200(), m, Dtypes.of("fp8"), decode_seqs=1, ctx=1000, tp=8)
    assert float(st.memory) > float(st.compute)


def test_mixed_step_keeps_the_dense_format_of_an_fp4_moe(catalog):
    """An NVFP4 MoE checkpoint keeps attention and shared experts in FP8: a step that mixes prompt
    tokens into decoding runs those parts at the FP8 rate, as the decode-only and prefill-only steps do."""
    from dataclasses import replace

    from suanli.perf.inference import _merge

    m = ModelShape.from_arch(catalog.model("deepseek-v3"))
    hw = HardwareSpec.from_catalog(catalog, "b200")
    dt = Dtypes.of("fp4")
    assert dt.dense == "fp8"
    kw = dict(tp=1, dp=8, ep=8)
    dec = step_ops(m, dt, seqs=64, q=1.0, ctx=2000, **kw)
    pre = step_ops(m, dt, seqs=1, q=8192.0, ctx=0, prefill=True, **kw)
    merged = {o.name: o for o in _merge(dec, pre)}
    assert merged["attn_proj"].dtype == "fp8" and merged["shared_experts"].dtype == "fp8"
    assert merged["experts"].dtype is None                       # the routed experts run in FP4
    # with the prompt tokens in, the FP8 dense parts make the step slower than an all-FP4 one would be
    mixed = step_time(hw, m, dt, decode_seqs=64, ctx=2000, prefill_tokens=8192, **kw)
    all_fp4 = step_time(hw, m, replace(dt, dense=None), decode_seqs=64, ctx=2000, prefill_tokens=8192, **kw)
    assert float(mixed.compute) > float(all_fp4.compute)


def test_gemm_k_parts_by_hand():
    """Each projection's contraction length per rank, with its share of the operator's FLOPs."""
    # Llama 70B, TP4: q/k/v read the hidden state, (64 + 2 x 8) x 128 columns; o reads 64 x 128 / 4
    parts = dict((k, w) for w, k in LLAMA70.attn_k_parts(4))
    assert parts[8192] == pytest.approx(80 / 144) and parts[64 * 128 / 4] == pytest.approx(64 / 144)
    # SwiGLU: gate and up read the hidden state (2/3 of the FLOPs), down the width per rank
    assert LLAMA70.ffn_k_parts(28672 / 8) == ((pytest.approx(2 / 3), 8192), (pytest.approx(1 / 3), 3584))
    assert sum(w for w, _ in LLAMA70.attn_k_parts(1)) == pytest.approx(1.0)


def test_narrow_experts_run_slower_per_flop_by_their_short_k():
    """Two MoEs with the same FLOPs and rows per expert: the one with 4x narrower experts runs its down
    projection at K = 768 instead of 3072, so its compute-bound prefill step is longer by the output-write
    factor of k_util on a third of the expert FLOPs (nothing else differs; the plain roofline max, so the
    compute time is the k_util term alone)."""
    from dataclasses import replace

    common = dict(layers=24, hidden=4096, heads=32, kv_heads=8, head_dim=128, vocab=32000, intermediate=14336,
                  dense_layers=0, moe_layers=24)
    narrow = ModelShape("narrow", experts=128, top_k=8, moe_intermediate=768, **common)
    wide = ModelShape("wide", experts=32, top_k=2, moe_intermediate=3072, **common)
    hw, dt = h200(), Dtypes.of("bf16")
    hw = replace(hw, serving={**hw.serving, "roofline_blend": 0.0})
    kw = dict(prefill_tokens=16384, prefill_len=4096, step_overhead=False)
    tn, tw = step_time(hw, narrow, dt, **kw), step_time(hw, wide, dt, **kw)
    assert float(tn.flops) == pytest.approx(float(tw.flops), rel=1e-2)   # same work (the router aside)
    ex = [o for o in step_ops(wide, dt, seqs=4, q=4096, ctx=0.0, prefill=True) if o.name == "experts"][0]
    u = lambda k: float(hw.k_util(k, "bf16"))  # noqa: E731
    rate = float(hw.matmul_rate("bf16", np.maximum(np.asarray(ex.rows, float), 1e-9), serving=True))
    t_wide = float(ex.flops) / rate * (2 / 3 / u(4096) + 1 / 3 / u(3072))
    t_narrow = float(ex.flops) / rate * (2 / 3 / u(4096) + 1 / 3 / u(768))
    assert t_narrow > t_wide
    assert float(tn.compute - tw.compute) == pytest.approx(t_narrow - t_wide, rel=0.02)


# ----------------------------------------------------------------------------- roofline blend
def test_roofline_blend_by_hand():
    """An operator's time is the p-norm of its compute and memory times, p = 1 / blend: the plain max
    at blend 0, the sum at blend 1, and at p = 2 a 1 ms compute and 1 ms memory op takes sqrt(2) ms,
    split evenly between the two."""
    from suanli.perf.inference import roofline_parts

    assert [float(x) for x in roofline_parts(3e-3, 1e-3)] == [3e-3, 0.0]
    c, m = roofline_parts(1e-3, 1e-3, 2.0)
    assert float(c + m) == pytest.approx(math.sqrt(2) * 1e-3) and float(c) == pytest.approx(float(m))
    c, m = roofline_parts(2e-3, 1e-3, 1.0)
    assert float(c) == pytest.approx(2e-3) and float(m) == pytest.approx(1e-3)
    # p = 3: (8 + 1)^(1/3) = 2.0801 ms, compute 8 / 9 of it
    c, m = roofline_parts(2e-3, 1e-3, 3.0)
    assert float(c + m) == pytest.approx(9 ** (1 / 3) * 1e-3) and float(c / (c + m)) == pytest.approx(8 / 9)


TIMES = st.one_of(st.just(0.0), st.floats(1e-12, 10.0))   # seconds: nothing, or a picosecond up


@given(tc=TIMES, tm=TIMES, b1=st.floats(0.0, 1.0), b2=st.floats(0.0, 1.0))
@settings(max_examples=200, deadline=None)
def test_roofline_blend_lies_between_max_and_sum_and_grows_with_the_blend(tc, tm, b1, b2):
    from suanli.perf.inference import roofline_parts

    def t(b: float) -> float:
        return float(sum(roofline_parts(tc, tm, 1.0 / b if b > 0 else None)))

    lo, hi = sorted((b1, b2))
    # each bound with its own rounding slack (the p-norm at p = 1 is the sum to within an ulp or two)
    assert max(tc, tm) * (1 - 1e-9) <= t(lo)
    assert t(lo) <= t(hi) * (1 + 1e-9)
    assert t(hi) <= (tc + tm) * (1 + 1e-9)


def test_the_blend_costs_most_near_the_ridge():
    """A decode step of Llama 70B in FP8 on an H200 at 128 sequences sits near the ridge (weights read
    about as long as the math): the blend lengthens it far more than at 4,096 sequences, where the
    GEMMs are compute-bound and their weight reads small beside the math."""
    from dataclasses import replace

    m = ModelShape("l70", layers=80, hidden=8192, heads=64, kv_heads=8, head_dim=128, vocab=128256,
                   intermediate=28672)
    dt = Dtypes.of("fp8")
    plain = replace(h200(), serving={**h200().serving, "roofline_blend": 0.0})
    blended = replace(plain, serving={**plain.serving, "roofline_blend": 0.5})

    def ratio(seqs: int) -> float:
        kw = dict(decode_seqs=seqs, ctx=1024, step_overhead=False)
        return float(step_time(blended, m, dt, **kw).total / step_time(plain, m, dt, **kw).total)

    near, far = ratio(128), ratio(4096)
    assert near > 1.15 and 1.0 <= far < 1.05 and near > far
