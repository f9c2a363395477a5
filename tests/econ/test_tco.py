"""Cost arithmetic checked by hand on one chip, and against published cost-per-token figures."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from suanli.econ import tco
from suanli.econ.cost import chip_hour_cost, serving_cost
from suanli.errors import SuanliError

HAND = {  # every input of the owning model set explicitly
    "chip_price": 27500, "price_currency": "USD", "fx_cny_per_usd": 7.0, "levy_fraction": 0.25,
    "levy_pass_through": 1.0, "server_multiplier": 1.64, "network_share": 0.19, "cost_of_capital": 0.07,
    "life_years": 4, "residual_fraction": 0.0, "maintenance_fraction": 0.03, "facility_capex_usd_per_kw": 11550,
    "facility_life_years": 15, "kw_per_chip": 1.274, "power_utilisation": 0.75, "pue": 1.25,
    "electricity_price": 0.6, "electricity_currency": "CNY", "power_subsidy_fraction": 0.0, "import_vat": 0.13,
    "vat_recoverable": 1.0,
}


def test_owning_cost_of_one_h200_by_hand():
    ch = chip_hour_cost("h200-sxm", date="2026-06-01", inputs=HAND)
    # hardware capex, CNY: chip 27,500 x 7 = 192,500; levy 25% = 48,125; server 0.64 x chip = 123,200;
    # the network is 19% of the whole: (192,500 + 48,125 + 123,200) x 0.19 / 0.81 = 85,341.7
    rest = 192_500 + 48_125 + 123_200
    capex = rest / 0.81
    assert ch.capex_per_chip["levy"] == pytest.approx(48_125)
    assert ch.capex_per_chip["network"] == pytest.approx(rest * 0.19 / 0.81)
    assert ch.capex_per_chip["total"] == pytest.approx(capex)
    crf4 = 0.07 / (1 - 1.07 ** -4)           # 0.29523
    crf15 = 0.07 / (1 - 1.07 ** -15)         # 0.10979
    facility = 11_550 * 7.0 * 1.274
    assert ch.parts["capital"] == pytest.approx(capex * crf4 / 8760)
    assert ch.parts["facility"] == pytest.approx(facility * crf15 / 8760)
    assert ch.parts["maintenance"] == pytest.approx(capex * 0.03 / 8760)
    assert ch.parts["power"] == pytest.approx(1.274 * 0.75 * 1.25 * 0.6)
    total = (capex * (crf4 + 0.03) + facility * crf15) / 8760 + 1.274 * 0.75 * 1.25 * 0.6
    assert ch.per_chip_hour == pytest.approx(total)
    assert 18.0 < total < 19.5  # about 2.7 USD per H200-hour for a Chinese buyer paying the levy


def test_usd_output_is_cny_over_fx():
    cny = chip_hour_cost("h200-sxm", date="2026-06-01", inputs=HAND).per_chip_hour
    usd = chip_hour_cost("h200-sxm", date="2026-06-01", inputs=HAND, currency="USD").per_chip_hour
    assert usd == pytest.approx(cny / 7.0)


def test_levy_comes_from_the_policy_engine():
    x = {k: v for k, v in HAND.items() if k != "levy_fraction"}
    h200 = chip_hour_cost("h200-sxm", date="2026-06-01", inputs=x)
    h20 = chip_hour_cost("h20", date="2026-06-01", inputs={**x, "chip_price": 12000})
    assert h200.capex_per_chip["levy"] == pytest.approx(0.25 * 27500 * 7)   # Jan-2026 rule, s.232 band 1
    assert h20.capex_per_chip["levy"] == pytest.approx(0.15 * 12000 * 7)    # Aug-2025 H20 deal
    assert "policy engine" in h200.inputs["levy_fraction"]["source"]


def test_power_subsidy_only_for_domestic_chips_at_subsidised_sites():
    a = chip_hour_cost("ascend-910c", system="cloudmatrix-384", site="guizhou", date="2026-06-01")
    b = chip_hour_cost("ascend-910c", system="cloudmatrix-384", site="national-average", date="2026-06-01")
    c = chip_hour_cost("h20", site="guizhou", date="2026-06-01")
    assert a.inputs["power_subsidy_fraction"]["value"] == 0.5
    assert b.inputs["power_subsidy_fraction"]["value"] == 0.0
    assert c.inputs["power_subsidy_fraction"]["value"] == 0.0
    # 1.456 kW x 0.75 x 1.25 x 0.35 CNY/kWh x (1 - 0.5)
    assert a.parts["power"] == pytest.approx(1.456 * 0.75 * 1.25 * 0.35 * 0.5)
    # no import VAT or levy on a domestic chip
    assert a.capex_per_chip["levy"] == 0 and a.capex_per_chip["import_vat"] == 0


def test_state_funded_buyer_cannot_buy_nvidia():
    ch = chip_hour_cost("h200-sxm", buyer="state-funded", date="2026-06-01")
    assert not ch.access.allowed
    assert any("China" in r for r in ch.access.reasons)
    assert chip_hour_cost("ascend-910c", buyer="state-funded", date="2026-06-01").access.allowed


def test_rent_and_tier_modes():
    r = chip_hour_cost("h200-sxm", inputs={"rent": 2.9, "rent_currency": "USD", "fx_cny_per_usd": 7.0})
    assert r.mode == "rent" and r.per_chip_hour == pytest.approx(2.9 * 7.0)
    t = chip_hour_cost("h200-sxm", inputs={"tier": "semianalysis-own-hyperscaler-2026-07"}, currency="USD")
    assert t.per_chip_hour == pytest.approx(1.22)
    off = chip_hour_cost("b200", rent_region="offshore", destination="MY", currency="USD", date="2026-09-01")
    assert off.per_chip_hour == pytest.approx(3.70) and off.access.allowed


def test_deepseek_published_fleet_cost_per_million_tokens():
    # DeepSeek, 2025-03-01: 608 bn input and 168 bn output tokens a day, 73.7k input tokens/s per prefill
    # node, 14.8k output tokens/s per decode node, 2 USD per H800-hour, 226.75 nodes, 87,072 USD/day
    nodes = tco.pooled_chips(608e9 / 86400, 168e9 / 86400, 73.7e3, 14.8e3)
    day = float(nodes) * 8 * 2.0 * 24
    assert day == pytest.approx(87_072, rel=0.002)
    per_mtok_total = day / (608e9 + 168e9) * 1e6
    assert per_mtok_total == pytest.approx(0.112, abs=0.0005)


def test_inferencex_b200_and_h100_figures_from_their_rate():
    # InferenceX DeepSeek-R1: B200 5,857 tok/s/GPU -> 0.092 USD/Mtok; H100 266 tok/s/GPU -> 1.365 USD/Mtok;
    # the implied rates are SemiAnalysis' Aug-2025 owning tier (1.95 and 1.30 USD/GPU-hour)
    assert float(tco.cost_per_mtok(1.95, 5857)) == pytest.approx(0.092, rel=0.01)
    assert float(tco.cost_per_mtok(1.30, 266)) == pytest.approx(1.365, rel=0.01)


def test_serving_cost_band_and_token_split(catalog):
    c = serving_cost("h200-sxm", "llama-3.1-70b", 8, request={"tpot_slo_ms": 50}, date="2026-06-01",
                     catalog=catalog)
    eb = c.prediction["error_band"]
    lo, hi = c.per_mtok_band["output"]
    tps = c.throughput["output"]
    # cost moves against throughput: the band's high throughput gives the low cost
    assert lo == pytest.approx(c.per_mtok["output"] * tps / eb["high"])
    assert hi == pytest.approx(c.per_mtok["output"] * tps / eb["low"])
    assert lo < c.per_mtok["output"] < hi
    # total tokens = input + output, so the total price is the harmonic combination
    assert 1 / c.per_mtok["total"] == pytest.approx(1 / c.per_mtok["output"] + 1 / c.per_mtok["input"])
    assert c.per_mtok["output"] == pytest.approx(c.chip_hour.per_chip_hour * 1e6 / 3600 / c.throughput["output"])
    assert c.energy["tokens_per_kwh"] > 0 and c.tco["total"] > c.tco["capex_upfront"] * 0.5


@pytest.mark.parametrize("bad,field", [({"chip_price": -5}, "chip_price"), ({"pue": 0.5}, "pue"),
                                       ({"life_years": 0}, "life_years"), ({"bogus": 1}, "bogus"),
                                       ({"rent": 1, "tier": "x"}, "inputs")])
def test_bad_economics_inputs_are_refused(bad, field):
    with pytest.raises(SuanliError) as e:
        chip_hour_cost("h200-sxm", inputs=bad)
    assert field in e.value.message


@given(r=st.floats(0.0, 0.5), n=st.floats(0.5, 30))
def test_annuity_bounds(r, n):
    f = float(tco.annuity(r, n))
    # recovering 1 over n years costs at least 1/n a year (no interest) and at least r (interest alone)
    assert f >= (1 / n) * (1 - 1e-9) and f >= r * (1 - 1e-9)
    assert math.isfinite(f)


@given(price=st.floats(1, 1e6), levy=st.floats(0, 1), share=st.floats(0, 0.8), mult=st.floats(1, 3))
def test_capex_grows_with_every_part(price, levy, share, mult):
    base = tco.hardware_capex(price, levy_fraction=levy, server_multiplier=mult, network_share=share)["total"]
    more = tco.hardware_capex(price, levy_fraction=levy + 0.1, server_multiplier=mult, network_share=share)["total"]
    assert more > base >= price


def test_vectorized_cost_per_mtok():
    x = tco.cost_per_mtok(np.array([1.0, 2.0]), np.array([1000.0, 1000.0]))
    assert x.shape == (2,) and x[1] == pytest.approx(2 * x[0])


_num = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**12, 10**12))


@given(pue=_num, life=_num, price=_num, coc=_num, kw=_num)
def test_any_economics_input_gives_a_finite_cost_or_a_clear_error(pue, life, price, coc, kw):
    try:
        ch = chip_hour_cost("h20", date="2026-06-01", inputs={"pue": pue, "life_years": life, "chip_price": price,
                                                             "cost_of_capital": coc, "kw_per_chip": kw})
    except SuanliError as exc:
        assert exc.message and "\n" not in exc.message
        return
    assert math.isfinite(ch.per_chip_hour) and ch.per_chip_hour > 0
    assert all(math.isfinite(v) and v >= 0 for v in ch.parts.values())
