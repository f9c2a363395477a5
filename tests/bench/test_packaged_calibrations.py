"""Packaged calibrations: each loads, names a catalog chip, and makes its predictions say what they rest on."""
from __future__ import annotations

import math

import pytest

from suanli.catalog.registry import _calibrated_paths


def test_packaged_calibrations_load(catalog):
    assert _calibrated_paths(), "catalog/data/calibrated/ ships at least one calibration"
    for hid, cal in catalog.calibrations.items():
        assert hid in catalog.accelerators
        assert cal.rows >= 2 and cal.source and cal.error_band.mape is not None
        for name, p in cal.params.items():   # every fitted parameter rests on two records or is a definition
            assert p.rows >= 2 or p.note, name


def test_bi_v150_is_predictable_and_says_measured(catalog):
    """The catalog has no memory bandwidth for the BI-V150: its calibration measured one from a copy record."""
    acc = catalog.accelerator("iluvatar-bi-v150")
    assert acc.mem_bw_tbps.confidence == "measured"
    from suanli.perf.search import Request, predict_serve

    pred = predict_serve(catalog, Request(hardware="iluvatar-bi-v150", model="llama-3.1-8b", chips=1,
                                          weight_dtype="bf16"))
    assert pred.metrics["output_tps_per_chip"] > 0
    text = " ".join(pred.warnings)
    assert "calibrated on" in text and "measured figures" in text and "memory bandwidth" in text
    assert "microbenchmarks alone" in pred.error_band.group


def test_calibrated_bandwidth_bounds_decode(catalog):
    """Batch-1 decode cannot beat weight bytes / measured bandwidth (x the CoreX maturity estimate)."""
    from suanli.perf.hardware import HardwareSpec
    from suanli.perf.search import Request, predict_phase

    hw = HardwareSpec.from_catalog(catalog, "iluvatar-bi-v150")
    arch = catalog.model("llama-3.1-8b")
    floor_ms = arch.total_params * 2 / float(hw.mem_rate(serving=True) * hw.ranks_per_chip) * 1e3
    pred = predict_phase(catalog, Request(hardware="iluvatar-bi-v150", model="llama-3.1-8b", chips=1,
                                          weight_dtype="bf16", batch_per_chip=1, scenario="fixed"), "decode")
    assert pred.metrics["tpot_ms"] == pytest.approx(floor_ms, rel=0.25)
    assert pred.metrics["tpot_ms"] >= floor_ms * 0.95


def test_calibrated_band_is_the_80_percent_interval_of_its_held_out_errors(calibrated_910c):
    """A calibration with enough held-out serving rows carries a conformal 80% band, which predictions carry."""
    from suanli.catalog import get_catalog
    from suanli.perf.accuracy import MIN_BAND_ROWS
    from suanli.perf.search import Request, predict_serve

    catalog = get_catalog((calibrated_910c,))

    eb = catalog.calibrations["ascend-910c"].error_band
    assert eb.n >= MIN_BAND_ROWS and eb.p80 is not None and 0.5 <= eb.coverage <= 1
    # the conformal quantile of |ln| errors is wider than the MAPE read as a symmetric fraction
    assert eb.p80 > eb.mape
    pred = predict_serve(catalog, Request(hardware="ascend-910c", model="qwen3-32b", chips=8))
    band, v = pred.error_band, pred.metrics["output_tps_per_chip"]
    assert band.p80 == eb.p80 and band.metric == "output_tps_per_chip"
    assert band.low == pytest.approx(v * math.exp(-eb.p80)) and band.high == pytest.approx(v * math.exp(eb.p80))
    assert band.label == f"{100 * (math.exp(-eb.p80) - 1):+.0f}%/{100 * (math.exp(eb.p80) - 1):+.0f}%"
    # the prediction's warning says the same band
    assert f"{band.label} holds 80% of the errors" in catalog.calibrations["ascend-910c"].describe()
