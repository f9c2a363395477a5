"""Request checks and stated defaults (perf.inputs): every interface gets the same answer."""
from __future__ import annotations

import math

import pytest

from suanli.errors import SuanliError
from suanli.perf.inputs import check_number, check_spec_decode, server_default_ttft_ms
from suanli.perf.search import Request, predict_serve, prepare


def _req(**kw):
    return Request(**{"hardware": "h200-sxm", "model": "llama-3.1-70b", "chips": 8, **kw})


# --------------------------------------------------------------------------- item 1: server load < 1
def test_server_point_has_load_below_one_and_finite_p99(catalog):
    """`--tpot-slo-ms 75` once gave load 1 with p99 TTFT inf: now the p99 TTFT is finite and under the stated limit."""
    p = predict_serve(catalog, _req(tpot_slo_ms=75))
    assert p.config["scenario"] == "server" and p.config["slo_basis"] == "p99"
    assert p.config["server_utilization"] < 1.0
    assert math.isfinite(p.metrics["ttft_p99_ms"]) and p.metrics["ttft_p99_ms"] <= server_default_ttft_ms()
    assert p.metrics["tpot_p99_ms"] <= 75
    assert any("TTFT p99 limit" in d for d in p.config["defaults"])  # the default is stated


def test_arrival_rate_beyond_capacity_is_refused_not_printed_with_a_140_s_p99(catalog):
    with pytest.raises(SuanliError, match="TTFT p99 <= 6000 ms"):
        predict_serve(catalog, _req(arrival_rate=20.5))


def test_a_given_ttft_limit_replaces_the_default(catalog):
    p = predict_serve(catalog, _req(tpot_slo_ms=75, ttft_slo_ms=500))
    assert p.metrics["ttft_p99_ms"] <= 500 and not any("TTFT" in d for d in p.config["defaults"])


# --------------------------------------------------------------------------- item 2: one default, explicit respected
def test_scenario_default_and_explicit_choice():
    assert _req().scenario == "offline" and _req(tpot_slo_ms=50).scenario == "server"
    assert _req(arrival_rate=5).scenario == "server"
    off = _req(tpot_slo_ms=50, scenario="offline")
    assert off.scenario == "offline" and off.ttft_slo_ms is None and off.defaults == ()


def test_python_api_and_request_agree(catalog):
    import suanli

    api = suanli.predict_serve("h200-sxm", "llama-3.1-70b", 8, tpot_slo_ms=50)
    core = predict_serve(catalog, _req(tpot_slo_ms=50))
    assert api.metrics["output_tps_per_chip"] == pytest.approx(core.metrics["output_tps_per_chip"])
    off = suanli.predict_serve("h200-sxm", "llama-3.1-70b", 8, tpot_slo_ms=50, scenario="offline")
    # SLO on the mean (offline) admits at least what the p99 limits (server) do
    assert off.config["scenario"] == "offline"
    assert off.metrics["output_tps_per_chip"] >= api.metrics["output_tps_per_chip"]


# --------------------------------------------------------------------------- item 3: no silent substitution
@pytest.mark.parametrize("spec", ["foo", "mtp0", "mtp99", "eagle9", "mtp-1"])
def test_unknown_or_impossible_speculative_decoding_is_refused(spec):
    with pytest.raises(SuanliError):
        _req(spec_decode=spec)


def test_mtp_needs_a_model_with_an_mtp_head(catalog):
    with pytest.raises(SuanliError, match="no multi-token-prediction head"):
        prepare(catalog, _req(spec_decode="mtp1"))
    assert check_spec_decode("EAGLE3") == "eagle3"
    prepare(catalog, _req(spec_decode="eagle3"))  # an external draft head works on any model


@pytest.mark.parametrize("kw", [{"act_dtype": "int4"}, {"kv_dtype": "fp4"}, {"weight_dtype": "fp3"},
                                {"kv_dtype": "w4a16"}])
def test_unsupported_formats_are_refused(kw):
    with pytest.raises(SuanliError):
        _req(**kw)


def test_fp4_fallback_changes_only_the_weights(catalog):
    """H200 has no FP4: weights are stored as FP8; the KV cache stays FP8, as on a chip with FP4 (B200)."""
    h200 = prepare(catalog, _req(weight_dtype="fp4"))
    b200 = prepare(catalog, _req(hardware="b200", weight_dtype="fp4"))
    assert h200.dtypes.weight == "fp8" and b200.dtypes.weight == "fp4"
    assert h200.dtypes.kv == b200.dtypes.kv == "fp8"
    assert any("weights stored as fp8" in w for w in h200.warnings)


def test_fp8_kv_on_a_chip_without_fp8_says_so(catalog):
    ctx = prepare(catalog, _req(hardware="ascend-910b3", kv_dtype="fp8", weight_dtype="int8"))
    assert ctx.dtypes.kv != "fp8" and any("KV cache kept in" in w for w in ctx.warnings)


def test_formats_and_ids_are_case_insensitive():
    r = Request(hardware="H200-SXM", model="Llama-3.1-70B", weight_dtype="FP8", kv_dtype="BF16", scenario="Server")
    assert (r.hardware, r.model, r.weight_dtype, r.kv_dtype, r.scenario) == ("h200-sxm", "llama-3.1-70b", "fp8",
                                                                          "bf16", "server")


# --------------------------------------------------------------------------- items 8, 11, 12: sizes and conflicts
@pytest.mark.parametrize("kw", [{"chips": 99999999999999999999}, {"chips": 2.5}, {"chips": 0}, {"chips": True},
                                {"osl": 0.5}, {"isl": float("inf")}, {"tp": 2**70}, {"concurrency": 5,
                                                                                   "batch_per_chip": 3},
                                {"arrival_rate": float("nan")}, {"tpot_slo_ms": -1}])
def test_sizes_are_bounded_and_conflicts_refused(kw):
    with pytest.raises(SuanliError):
        _req(**kw)


def test_the_chips_error_carries_its_own_hint():
    with pytest.raises(SuanliError) as ei:
        _req(chips=0)
    assert "chips=8" in ei.value.hint and "searched" not in ei.value.hint


def test_whole_counts_come_back_as_int():
    assert check_number("chips", 8.0) == 8 and isinstance(check_number("tp", 4.0), int)
    assert _req(chips=16.0).chips == 16


def test_training_bounds_the_chip_count(catalog):
    from suanli.perf.training import predict_train

    with pytest.raises(SuanliError, match="chips must be a whole number"):
        predict_train("h100-sxm", "llama-3.1-405b", chips=10**20, seq_len=8192, global_batch=2048, catalog=catalog)


def test_training_pipeline_candidates_do_not_scan_every_divisor(catalog):
    """The layout search tests at most min(layers, 128) pipeline depths, whatever the chip count."""
    from suanli.perf.training import predict_train

    r = predict_train("h100-sxm", "llama-3.1-405b", chips=1_000_000, seq_len=8192, global_batch=4_000_000,
                      catalog=catalog)
    assert r.layout.pp <= 126 and r.tps_per_chip > 0


@pytest.mark.parametrize("body,field", [("maturity:\n  cuda: {value: 0}\n", "maturity.cuda.value"),
                                        ("families:\n  hopper: {mem_eff: .nan}\n", "families.hopper.mem_eff"),
                                        ("families:\n  hopper: {kernel_us: -3}\n", "families.hopper.kernel_us"),
                                        ("maturity:\n  cann: {value: .inf}\n", "maturity.cann.value")])
def test_perf_params_must_be_physical(tmp_path, body, field):
    """A --perf-params file is data too: zero rates, NaN and infinity are refused with the key path."""
    from suanli.errors import DataError
    from suanli.perf.hardware import load_params

    p = tmp_path / "params.yaml"
    p.write_text(body, encoding="utf-8")
    with pytest.raises(DataError) as ei:
        load_params(p)
    assert ei.value.field == field and ei.value.file == str(p)


def test_perf_params_may_zero_a_time(tmp_path):
    from suanli.perf.hardware import load_params

    p = tmp_path / "params.yaml"
    p.write_text("families:\n  hopper: {kernel_us: 0}\n", encoding="utf-8")
    assert load_params(p)["families"]["hopper"]["kernel_us"] == 0
