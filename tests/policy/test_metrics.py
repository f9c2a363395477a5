"""The metrics the rule texts define: TPP, performance density, I/O, and specs built from them."""
from __future__ import annotations

import pytest

from suanli.policy.metrics import ChipSpec, parse_spec, performance_density, spec_from_mapping, tpp_from_rates
from suanli.policy.schema import SpecError


def test_tpp_is_max_over_bit_lengths_of_dense_tops_times_bits():
    # H20: FP8 296 x 8 = 2,368 and FP16 148 x 16 = 2,368 (export_policy.md s.3.1)
    assert tpp_from_rates({8: 296, 16: 148}) == 296 * 8 == 2368
    # B30A estimate: FP4 7,500 x 4 = 30,000 beats FP8 2,250 x 8 = 18,000 -- FP4 governs
    assert tpp_from_rates({8: 2250, 4: 7500}) == 7500 * 4
    # BIS's worked example: the 4,800 line = 600 dense TOPS at 8 bits = 300 dense TFLOPS at 16 bits
    assert tpp_from_rates({8: 600}) == tpp_from_rates({16: 300}) == 4800


def test_performance_density_over_applicable_die_area():
    assert performance_density(2368, 814) == pytest.approx(2.909, abs=1e-3)  # H20 on the full GH100 die
    assert performance_density(4992, 826) == pytest.approx(6.04, abs=5e-3)   # A100 over 5.92
    assert performance_density(20919, 2400) == pytest.approx(8.72, abs=5e-3)  # MI325X, all FinFET dies (est.)
    assert performance_density(20919, 8 * 115) == pytest.approx(22.7, abs=0.05)  # "22.7 if only XCDs"
    assert performance_density(None, 814) is None and performance_density(100, 0) is None


def test_catalog_h20_h100_a800_io_and_tpp(rules, catalog):
    from suanli.policy.metrics import spec_from_accelerator

    v = rules.vocab
    h20 = spec_from_accelerator(catalog.accelerator("h20"), v.parameters, v.products)
    assert h20.tpp == 296 * 8
    assert h20.pd == pytest.approx(2368 / 814)
    assert h20.io_bidir_gbps == 900 + 128          # NVLink 900 + PCIe5 x16 128
    assert h20.dram_bw_gbps == pytest.approx(4000)
    assert h20.china_specific and h20.us_available is False and h20.ear_scope == "us-origin"
    a800 = spec_from_accelerator(catalog.accelerator("a800-sxm"), v.parameters, v.products)
    assert a800.io_bidir_gbps == 400 + 64          # NVLink cut to 400 + PCIe4 64 = 464 < 600
    h100 = spec_from_accelerator(catalog.accelerator("h100-sxm"), v.parameters, v.products)
    assert h100.io_bidir_gbps == 1028
    assert h100.tpp == pytest.approx(15832, abs=2)


def test_pcie_only_card_is_not_double_counted(rules, catalog):
    from suanli.policy.metrics import spec_from_accelerator

    v = rules.vocab
    l20 = spec_from_accelerator(catalog.accelerator("l20"), v.parameters, v.products)
    assert l20.io_bidir_gbps == 64                 # the "scale-up" figure is the PCIe link itself
    assert l20.pd == pytest.approx(l20.tpp / 608.5)


def test_estimated_die_area_flags_pd_as_estimate(rules, catalog):
    from suanli.policy.metrics import spec_from_accelerator

    v = rules.vocab
    b200 = spec_from_accelerator(catalog.accelerator("b200"), v.parameters, v.products)
    assert b200.tpp == 36000
    assert "die_area_mm2" in b200.estimates and "pd" in b200.estimates
    mi325 = spec_from_accelerator(catalog.accelerator("mi325x"), v.parameters, v.products)
    assert mi325.pd == pytest.approx(mi325.tpp / 2400) and "pd" in mi325.estimates
    h20 = spec_from_accelerator(catalog.accelerator("h20"), v.parameters, v.products)
    assert "pd" not in h20.estimates


def test_domestic_parts_are_not_subject_to_the_ear(rules, catalog):
    from suanli.policy.metrics import spec_from_accelerator

    v = rules.vocab
    s = spec_from_accelerator(catalog.accelerator("ascend-910c"), v.parameters, v.products)
    assert s.origin == "CN" and s.ear_scope == "domestic-cn" and not s.subject_to_ear
    assert s.family == "ascend-910" and s.vendor_org == "huawei"


def test_parse_inline_spec_derives_die_area():
    s = parse_spec("tpp=3000,pd=2.0,datacenter=true")
    assert (s.tpp, s.pd, s.datacenter) == (3000, 2.0, True)
    assert s.die_area_mm2 == 1500                     # 3000 / 2.0
    s2 = parse_spec("fp8=296; fp16=148 die_area=814 dram_bw=4000 io=1028 us_available=never")
    assert s2.tpp == 2368 and s2.dram_plus_io_gbps == 5028 and s2.us_available is False


@pytest.mark.parametrize("text, fragment", [
    ("tpp=3000,pd=2.0,die_area=500", "contradictory spec: pd=2"),      # 3000/500 = 6, not 2
    ("tpp=5000,fp8=296", "contradictory spec: tpp=5000"),               # rates give 2,368
    ("tpp=3000,pdd=2", "unknown spec key 'pdd'"),
    ("tpp=-1", "must be >= 0"),
    ("tpp=3000,datacenter=maybe", "expected true or false"),
    ("tpp=3000,tpp=4000", "given twice"),
    ("tpp=3000,dram_bw=1,bw=2", "both set dram_bw_gbps"),
    ("pd=2.0", "needs tpp"),
    ("tpp", "not key=value"),
    ("", "empty spec"),
    ("tpp=3000,us_available=soon", "never or YYYY-MM-DD"),
    ("tpp=0,pd=2", "pd=2 with tpp=0"),
])
def test_bad_specs_are_clear_errors(text, fragment):
    with pytest.raises(SpecError) as exc:
        parse_spec(text)
    assert fragment in str(exc.value)
    assert exc.value.exit_code == 2


def test_spec_mapping_from_yaml_record():
    s = spec_from_mapping({"fp8_tflops": 296, "fp16_tflops": 148, "die_area_mm2": 814, "dram_bw_gbps": 4000,
                           "us_available": "2025-01-01"})
    assert s.tpp == 2368 and s.us_commercial_from.isoformat() == "2025-01-01" and s.us_available


def test_hbm_item_needs_density():
    with pytest.raises(SpecError, match="hbm_mbd"):
        parse_spec("item=hbm")
    s = parse_spec("item=hbm,hbm_mbd=2.5")
    assert s.item_type == "hbm"


def test_chipspec_metrics_report_estimates():
    s = ChipSpec(tpp=100, die_area_mm2=50, estimates={"die_area_mm2": "approx"})
    assert s.pd == 2.0 and "pd" in s.estimates
    assert s.metrics()["estimates"]["pd"]


def test_policy_tpp_agrees_with_catalog_derived_tpp(rules, catalog):
    from suanli.catalog.derived import tpp as catalog_tpp
    from suanli.policy.metrics import spec_from_accelerator

    v = rules.vocab
    for acc in catalog.accelerators.values():
        if acc.category == "system":
            continue
        prod = v.products.products.get(acc.id)
        spec = spec_from_accelerator(acc, v.parameters, v.products)
        if prod is not None and any(k in ("fp4", "fp8", "fp16", "bf16", "int8", "tf32", "fp32", "fp64")
                                    for k in prod.figures):
            # products.yaml supplies reference figures the catalog lacks: flagged as estimates
            assert "tpp" in spec.estimates and prod.figures_source, acc.id
            continue
        ours = spec.tpp
        theirs = catalog_tpp(acc).value
        assert (ours is None and theirs is None) or ours == pytest.approx(theirs), acc.id


def test_reference_figures_fill_catalog_gaps(rules, catalog):
    """B30A has no catalog compute; the export reference's estimate (FP4 ~7,500 x 4) gives TPP 30,000."""
    from suanli.policy.metrics import spec_from_accelerator

    v = rules.vocab
    b30a = spec_from_accelerator(catalog.accelerator("b30a"), v.parameters, v.products)
    assert b30a.tpp == 30000 and b30a.dram_bw_gbps == 4000
    assert {"tpp", "dram_bw_gbps"} <= set(b30a.estimates)
    rtx = spec_from_accelerator(catalog.accelerator("rtx-pro-6000d"), v.parameters, v.products)
    assert rtx.dram_bw_gbps == 1398 and "catalog" in rtx.estimates["dram_bw_gbps"]
