"""Search, serving modes, memory limits and the Pareto curve."""
from __future__ import annotations

import numpy as np
import pytest

from suanli.errors import SuanliError
from suanli.perf.search import Request, pareto, pareto_front, predict_phase, predict_serve


def test_deepseek_on_16_h200_under_slos(catalog):
    req = Request("h200-sxm", "deepseek-v3", chips=16, isl=1024, osl=1024, ttft_slo_ms=2000, tpot_slo_ms=50,
                  scenario="server")
    p = predict_serve(catalog, req)
    # server scenario: the SLOs bind the p99 values, which sit above the means
    assert p.metrics["tpot_p99_ms"] <= 50 + 1e-6 and p.metrics["ttft_p99_ms"] <= 2000
    assert p.metrics["tpot_ms"] <= p.metrics["tpot_p99_ms"] and p.metrics["ttft_ms"] <= p.metrics["ttft_p99_ms"]
    assert 0 < p.config["server_utilization"] < 1
    assert 300 < p.metrics["output_tps_per_chip"] < 10000
    assert p.memory["total_gb"] <= p.memory["capacity_gb"] + 1e-6
    assert set(p.bottleneck) >= {"decode", "prefill"}
    assert p.error_band is not None and p.error_band.low < p.metrics["output_tps_per_chip"] < p.error_band.high
    d = p.to_dict()
    assert {"config", "metrics", "bottleneck", "memory_per_rank", "error_band", "warnings"} <= set(d)


def test_model_that_does_not_fit_says_how_much(catalog):
    with pytest.raises(SuanliError) as e:
        predict_serve(catalog, Request("h20", "deepseek-v3", chips=2, weight_dtype="bf16"))
    assert "GB" in e.value.message and "add chips" in e.value.hint


def test_fp8_on_ascend_falls_back_with_warning(catalog):
    p = predict_serve(catalog, Request("ascend-910c", "llama-3.1-70b", chips=8, weight_dtype="fp8"))
    assert any("no fp8" in w for w in p.warnings)
    assert p.config["dtypes"]["act"] == "int8"


def test_extrapolation_warning_for_unmeasured_stack(catalog):
    p = predict_serve(catalog, Request("mlu690", "llama-3.1-8b", chips=8, weight_dtype="bf16"))
    assert any("extrapolation" in w for w in p.warnings)


def test_more_chips_never_less_total_throughput(catalog):
    prev = 0.0
    for n in (8, 16, 32):
        p = predict_serve(catalog, Request("h200-sxm", "deepseek-v3", chips=n, isl=2048, osl=512))
        total = p.metrics["output_tps_per_chip"] * n
        assert total >= prev * 0.999
        prev = total


def test_disagg_reports_ratio(catalog):
    p = predict_serve(catalog, Request("h200-sxm", "deepseek-v3", chips=32, isl=4096, osl=1024, disagg=True,
                                       tpot_slo_ms=50, ttft_slo_ms=3000, scenario="server"))
    assert p.config["disagg"] and 0 < p.config["prefill_share"] < 1
    assert p.config["prefill_chips"] + p.config["decode_chips"] == 32


def test_decode_fixed_batch_and_mtp(catalog):
    base = Request("h20", "deepseek-v3", chips=16, isl=4096, osl=1536, batch_per_chip=12, tp=1, ep=16, dp=16,
                   attn_dp=True)
    a = predict_phase(catalog, base, "decode")
    b = predict_phase(catalog, Request(**{**base.__dict__, "spec_decode": "mtp2"}), "decode")
    assert b.config["accept_length"] > 2.0
    assert b.metrics["output_tps_per_chip"] > a.metrics["output_tps_per_chip"]


def test_pareto_curve_is_a_front(catalog):
    c = pareto(catalog, Request("h200-sxm", "llama-3.1-70b", chips=8))
    x = [p["tps_per_user"] for p in c.points]
    y = [p["output_tps_per_chip"] for p in c.points]
    assert len(c.points) >= 5 and x == sorted(x)
    assert all(y[i] >= y[i + 1] for i in range(len(y) - 1))
    assert list(c.to_frame().columns)[:2] == ["tps_per_user", "output_tps_per_chip"]


def test_pareto_front_helper():
    idx = pareto_front(np.array([1.0, 2, 3, 1.5]), np.array([3.0, 2, 1, 1]))
    assert idx.tolist() == [0, 1, 2]


def test_disagg_plan_uses_whole_instances():
    """16 chips; prefill instances need 8 chips, decode instances 4.

    Prefill 8-chip instance: 80,000 input tok/s; decode 4-chip instance: 4,000 output tok/s; isl = osl.
    n_p=1 (8 chips) + n_d=2 (8 chips): min(2 x 4000, 1 x 80000) = 8000 -> 500 per chip.
    The continuous fleet ratio would claim 1 / (1/10000 + 1/1000) = 909 per chip, which 16 chips cannot reach.
    """
    from types import SimpleNamespace

    from suanli.perf.search import disagg_plan

    pev = SimpleNamespace(chips=np.array([8.0]), in_tps_instance=np.array([80000.0]))
    dev = SimpleNamespace(chips=np.array([4.0, 16.0]), out_tps_instance=np.array([4000.0, 30000.0]))
    plan = disagg_plan(pev, np.array([True]), dev, np.array([True, True]), 16, 1000, 1000)
    assert plan["output_tps_per_chip"] == pytest.approx(8000 / 16)
    assert (plan["prefill_chips"], plan["decode_chips"]) == (8, 8)
    assert (plan["prefill_instances"], plan["decode_instances"]) == (1, 2)
    # 8 chips cannot hold one prefill (8) and one decode (4) instance
    assert disagg_plan(pev, np.array([True]), dev, np.array([True, True]), 8, 1000, 1000) is None


def test_disagg_serve_never_uses_more_chips_than_given(catalog):
    from suanli.perf.search import Request, predict_serve

    p = predict_serve(catalog, Request(hardware="h200-sxm", model="llama-3.1-70b", chips=16, disagg=True,
                                       ttft_slo_ms=2000, tpot_slo_ms=50))
    c = p.config
    assert c["prefill_chips"] + c["decode_chips"] <= 16
    assert c["prefill_chips"] >= 1 and c["decode_chips"] >= 1


@pytest.mark.parametrize("bad", [{"chips": 0}, {"isl": -5}, {"osl": float("nan")}, {"tpot_slo_ms": 0},
                                 {"tp": 0}, {"tp": 1.5}, {"scenario": "batch"}, {"accept_p": 1.5}])
def test_request_refuses_impossible_settings(bad):
    with pytest.raises(SuanliError):
        Request(hardware="h200-sxm", model="llama-3.1-8b", **bad)


def test_server_at_a_given_arrival_rate(catalog):
    """The load is given: throughput is the load (lambda x osl / chips); latency grows with it."""
    def at(rate):
        return predict_serve(catalog, Request("h200-sxm", "llama-3.1-70b", chips=8, isl=1024, osl=256,
                                              scenario="server", ttft_slo_ms=2000, arrival_rate=rate))

    lo, hi = at(2.0), at(10.0)
    assert lo.metrics["output_tps_per_chip"] == pytest.approx(2.0 * 256 / 8)   # 64 tok/s per chip
    assert hi.metrics["output_tps_per_chip"] == pytest.approx(10.0 * 256 / 8)
    assert lo.metrics["tpot_p99_ms"] <= hi.metrics["tpot_p99_ms"]
    for p in (lo, hi):
        assert p.metrics["ttft_p99_ms"] <= 2000
        # the chosen operating point keeps up with its share of the arrivals
        assert p.metrics["requests_per_s_per_instance"] * p.config["instances"] == pytest.approx(p.config["arrival_rate"])
    with pytest.raises(SuanliError, match="serves"):
        at(1e6)
    with pytest.raises(SuanliError):
        Request("h200-sxm", "llama-3.1-70b", arrival_rate=5.0, scenario="offline")  # offline has no arrival rate
    assert Request("h200-sxm", "llama-3.1-70b", arrival_rate=5.0).scenario == "server"  # the default with a load


def test_disagg_fixed_concurrency_sits_on_the_decode_instances(catalog):
    """A closed loop of C clients on a disaggregated deployment: all C requests are held by the
    decode instances (not spread over every chip), and the throughput obeys Little's law:
    C requests each cycle through TTFT + (osl - 1) x TPOT. Fixed-length requests sent at once arrive in
    waves: TTFT is the mean wait through the wave's prefill, (C + 1) prompts' service / 2."""
    C, isl, osl, chips = 64, 3500, 1500, 32
    for isl_cv in (0.0, 0.3):           # 0: waves; 0.3: lengths differ, the loop spreads out
        p = predict_serve(catalog, Request("ascend-910c", "deepseek-v3", chips=chips, isl=isl, osl=osl,
                                           weight_dtype="int8", disagg=True, concurrency=C, scenario="fixed",
                                           isl_cv=isl_cv))
        cfg, m = p.config, p.metrics
        assert cfg["batch_per_instance"] * cfg["decode_instances"] == pytest.approx(C)
        cycle_s = m["ttft_ms"] / 1e3 + (osl - 1) * m["tpot_ms"] / 1e3
        assert m["output_tps_per_chip"] * chips == pytest.approx(C * osl / cycle_s, rel=1e-6)
        one_s = isl / (m["prefill_input_tps_per_chip"] * cfg["prefill_chips"])   # a prompt on all prefill chips
        if isl_cv == 0.0:
            assert m["ttft_ms"] / 1e3 == pytest.approx(0.5 * (C + 1) * one_s, rel=1e-6)
            # the rest of the wave's prefill falls on the decode: TPOT = decode step + half the wave / osl
            assert m["tpot_ms"] > p.metrics["step_ms"] / p.config["accept_length"]
        else:
            # the prefill instances are not the bottleneck at this load, so TTFT is about one prompt's prefill
            assert m["ttft_ms"] / 1e3 < 2.0 * one_s


def test_disagg_closed_loop_is_capped_by_prefill():
    """When the prompts arrive faster than the prefill instances take them, output = their rate."""
    from suanli.perf.search import disagg_plan_closed

    class Ev:  # one prefill layout (1 chip, 1000 prompt tokens/s) and one decode layout (1 chip)
        pass

    pev, dev = Ev(), Ev()
    pev.chips, pev.in_tps_instance = np.array([1.0]), np.array([1000.0])
    dev.chips = np.array([[1.0, 1.0]])
    dev.tpot_s = np.array([[0.001, 0.001]])         # decode far faster than prefill
    plan = disagg_plan_closed(pev, np.array([True]), dev, np.array([[True, True]]), 2, 1000, 100, 50)
    # one prefill chip feeds 1 prompt/s = 100 output tokens/s over 2 chips
    assert plan["output_tps_per_chip"] == pytest.approx(50.0, rel=1e-3)
    assert plan["ttft_s"] > 1.0                       # prompts queue at the prefill instance


def test_spec_acceptance_per_method():
    """EAGLE drafts are accepted less often than the model's own MTP head (published accept lengths)."""
    from suanli.perf.hardware import load_params
    from suanli.perf.serving import acceptance_length, spec_acceptance

    sv = load_params()["serving"]
    p_mtp, p_eagle = spec_acceptance("mtp2", sv), spec_acceptance("eagle3", sv)
    assert p_eagle < p_mtp
    # SGLang's DeepSeek MTP accept length 2.18 with 2 drafts; EAGLE-3 on Qwen3-32B 2.03-2.15 with 4
    assert float(acceptance_length(2, p_mtp)) == pytest.approx(2.18, abs=0.05)
    assert float(acceptance_length(4, p_eagle)) == pytest.approx(2.07, abs=0.05)


def test_ascend_group_inside_one_package_uses_the_die_link(catalog):
    """Two dies of one Ascend 910C talk over their package link, not one of the node's mesh links."""
    from suanli.perf import comm
    from suanli.perf.hardware import HardwareSpec

    hw = HardwareSpec.from_catalog(catalog, "ascend-910c", system="atlas-800-a3")
    assert float(comm._link_share(hw, 2.0)) == 1.0


def test_fixed_concurrency_beyond_the_engine_cap_warns(catalog):
    """More requests in flight than the engine runs at once: the rest queue, and the prediction says how many."""
    p = predict_serve(catalog, Request("h200-sxm", "llama-3.1-70b", chips=8, isl=1024, osl=1024,
                                       concurrency=100000, scenario="fixed"))
    running = p.config["batch_per_instance"] * p.config["instances"]
    per_rank = p.config["engine_limits"]["max_batch_per_rank"]
    assert running <= per_rank * p.config["dp"] * p.config["pp"] * p.config["instances"]
    warn = [w for w in p.warnings if "wait in its queue" in w]
    assert warn and f"{100000 - running:,.0f}" in warn[0]
    q = predict_serve(catalog, Request("h200-sxm", "llama-3.1-70b", chips=8, isl=1024, osl=1024,
                                       concurrency=64, scenario="fixed"))
    assert not [w for w in q.warnings if "wait in its queue" in w]
