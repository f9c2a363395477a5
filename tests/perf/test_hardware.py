"""Achieved rates, efficiency data and catalog resolution."""
from __future__ import annotations

import pytest

from suanli.errors import UnknownIdError
from suanli.perf.hardware import HardwareSpec, family_of, gemm_time, load_params


def test_families_and_maturity_are_data():
    p = load_params()
    assert family_of("h20", "cuda", p) == "hopper"
    assert family_of("ascend-910c", "cann", p) == "ascend"
    assert family_of("mlu690", "neuware", p) == "default"
    for stack in ("cuda", "rocm", "cann", "neuware", "dtk", "musa", "maca"):
        assert 0 < p["maturity"][stack]["value"] <= 1.5


def test_overrides_change_the_ecosystem_gap(catalog):
    # a CANN chip without a packaged calibration of its own (one would replace the stack's maturity)
    base = HardwareSpec.from_catalog(catalog, "ascend-910b3")
    more = HardwareSpec.from_catalog(catalog, "ascend-910b3", params=load_params({"maturity": {"cann": {"value": 0.9}}}))
    assert more.maturity == 0.9 and base.maturity != 0.9
    # maturity scales every serving rate by new / old maturity, and leaves kernel-level rates alone
    r = 0.9 / base.maturity
    assert float(more.matmul_rate("int8", 4096, serving=True)) == pytest.approx(
        r * float(base.matmul_rate("int8", 4096, serving=True)))
    assert float(more.mem_rate(serving=True)) == pytest.approx(r * float(base.mem_rate(serving=True)))
    assert float(more.matmul_rate("int8", 4096)) == pytest.approx(float(base.matmul_rate("int8", 4096)))
    assert float(more.mem_rate()) == pytest.approx(float(base.mem_rate()))


def test_ascend_910c_is_two_ranks_without_fp8(catalog):
    hw = HardwareSpec.from_catalog(catalog, "ascend-910c")
    assert hw.ranks_per_chip == 2
    assert hw.mem_gb == pytest.approx(64)
    assert hw.compute_dtype("fp8")[0] == "int8"
    assert "no fp8" in hw.compute_dtype("fp8")[1]


def test_unknown_hardware_suggests(catalog):
    with pytest.raises(UnknownIdError) as e:
        HardwareSpec.from_catalog(catalog, "h2000")
    assert "h200-sxm" in e.value.suggestions


def test_every_chip_with_figures_is_covered(catalog):
    ok = 0
    for acc in catalog.accelerators.values():
        if acc.category not in ("chip", "card") or acc.mem_bw_tbps.value is None or acc.mem_capacity_gb.value is None:
            continue
        if all(acc.peak(d).value is None for d in ("bf16", "fp16", "int8", "fp8")):
            continue
        hw = HardwareSpec.from_catalog(catalog, acc.id)
        assert hw.mem_rate() > 0 and hw.matmul_rate("bf16", 1024) > 0
        ok += 1
    assert ok >= 30


def test_gemm_microbenchmark_h200():
    # MB-002: 1300.6 TFLOPS FP8 at 8192^3 on H200
    hw = HardwareSpec.synthetic(bf16_tflops=989.4, fp8_tflops=1978.9, mem_bw_tbps=4.8)
    t = float(gemm_time(hw, 8192, 8192, 8192, "fp8"))
    assert 2 * 8192**3 / t / 1e12 == pytest.approx(1300.6, rel=0.1)


def test_sustained_gemm_clock_scales_the_family_efficiency(catalog):
    """The MI325X and the MI300X share the CDNA3 die and datasheet peaks; AMD's max-achievable FLOPs
    put the MI325X's GEMMs at 1,519 against 1,273 FP8 TFLOPS (1,000 W against 750 W), so its
    achieved GEMM rate is that ratio (hardware.yaml states 1.19) times the MI300X's."""
    import numpy as np

    p = load_params()
    assert p["sustained_matmul"]["mi325x"]["value"] == pytest.approx(1519 / 1273, abs=0.005)
    mi300 = HardwareSpec.from_catalog(catalog, "mi300x")
    mi325 = HardwareSpec.from_catalog(catalog, "mi325x")
    assert mi325.peaks_tflops["fp8"] == pytest.approx(mi300.peaks_tflops["fp8"], rel=1e-3)
    rows = np.array([16.0, 4096.0])
    ratio = mi325.matmul_rate("fp8", rows) / mi300.matmul_rate("fp8", rows)
    np.testing.assert_allclose(ratio, p["sustained_matmul"]["mi325x"]["value"], rtol=1e-9)
    # a chip without an entry keeps its family's efficiency; an override changes only the chip it names
    flat = HardwareSpec.from_catalog(catalog, "mi325x", params=load_params({"sustained_matmul": {"mi325x": {"value": 1.0}}}))
    np.testing.assert_allclose(flat.matmul_rate("fp8", rows), mi300.matmul_rate("fp8", rows), rtol=1e-9)


def test_first_generation_fp4_kernels_on_blackwell_ultra(catalog):
    """Blackwell Ultra's FP4 peak needs its K = 96 MMA; SM100 kernels (vLLM's and SGLang's FlashInfer
    FP4 GEMMs) issue K = 64 and reach 64 / 96 of it: on a GB300 that is the GB200's 10 PF, while
    TensorRT-LLM keeps the chip's 15 PF and a user can state newer kernels."""
    gb300 = catalog.accelerator("gb300").peak("fp4").value
    trt = HardwareSpec.from_catalog(catalog, "gb300", engine="trt-llm")
    vllm = HardwareSpec.from_catalog(catalog, "gb300", engine="vllm")
    assert trt.peaks_tflops["fp4"] == pytest.approx(gb300)
    assert vllm.peaks_tflops["fp4"] == pytest.approx(gb300 * 64 / 96, rel=1e-3)
    assert vllm.peaks_tflops["fp8"] == trt.peaks_tflops["fp8"]          # only the format named
    assert any("first-generation" in w for w in vllm.warnings)
    assert not any("first-generation" in w for w in trt.warnings)
    # a chip of the first generation is unchanged under the same engine
    b200 = HardwareSpec.from_catalog(catalog, "b200", engine="vllm")
    assert b200.peaks_tflops["fp4"] == pytest.approx(catalog.accelerator("b200").peak("fp4").value)
    newer = HardwareSpec.from_catalog(catalog, "gb300", engine="vllm",
                                      params=load_params({"engines": {"vllm": {"first_gen_matmul": []}}}))
    assert newer.peaks_tflops["fp4"] == pytest.approx(gb300)
