"""Cost formulas: capital recovery, cost per chip-hour, cost per million tokens, power per token.

Pure and numpy-vectorized: every argument may be an array (one value per
sample or per option) and the results broadcast. Money is in one currency
throughout (the caller converts); power in kW; time in hours.
"""
from __future__ import annotations

import numpy as np

HOURS_PER_YEAR = 8760.0


def annuity(rate, years):
    """Capital-recovery factor: the yearly payment that repays 1 over ``years`` at ``rate``.

    ``r / (1 - (1 + r)^-n)``; at ``r = 0`` it is ``1 / n`` (straight line), and
    as ``n`` grows it tends to ``r``.

    >>> round(float(annuity(0.07, 4)), 4)
    0.2952
    >>> float(annuity(0.0, 4))
    0.25
    >>> round(float(annuity(0.05, 1e6)), 4)
    0.05
    """
    r = np.asarray(rate, dtype=float)
    n = np.asarray(years, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # 1 - (1 + r)^-n written with expm1/log1p: exact for tiny rates too
        f = r / -np.expm1(-n * np.log1p(r))
    return np.where(np.abs(r) < 1e-15, 1.0 / n, f)


def sinking_fund(rate, years):
    """Yearly equivalent of 1 received after ``years`` (a residual value): ``r / ((1 + r)^n - 1)``.

    >>> round(float(sinking_fund(0.07, 4)), 4)
    0.2252
    >>> float(sinking_fund(0.0, 4))
    0.25
    """
    r = np.asarray(rate, dtype=float)
    n = np.asarray(years, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        f = r / np.expm1(n * np.log1p(r))
    return np.where(np.abs(r) < 1e-15, 1.0 / n, f)


def hardware_capex(price, *, levy_fraction=0.0, pass_through=1.0, levy_in_price=False, import_vat=0.0,
                   vat_recoverable=1.0, server_multiplier=1.0, network_share=0.0):
    """Hardware capex per chip and its parts, from the accelerator's price.

    ``levy = price x levy_fraction x pass_through`` (zero when the price already
    holds it); ``vat = (price + levy) x import_vat x (1 - vat_recoverable)``;
    ``server = price x (server_multiplier - 1)``; the network is
    ``network_share`` of the whole, so it adds ``share / (1 - share)`` of the rest.

    >>> d = hardware_capex(100.0, levy_fraction=0.25, server_multiplier=1.5, network_share=0.2)
    >>> [round(float(d[k]), 2) for k in ("chip", "levy", "server", "network", "total")]
    [100.0, 25.0, 50.0, 43.75, 218.75]
    """
    price = np.asarray(price, dtype=float)
    levy = np.where(levy_in_price, 0.0, price * np.asarray(levy_fraction, float) * np.asarray(pass_through, float))
    vat = (price + levy) * np.asarray(import_vat, float) * (1.0 - np.asarray(vat_recoverable, float))
    server = price * (np.asarray(server_multiplier, float) - 1.0)
    share = np.asarray(network_share, float)
    rest = price + levy + vat + server
    network = rest * share / (1.0 - share)
    return {"chip": price, "levy": levy, "import_vat": vat, "server": server, "network": network,
            "total": rest + network}


def power_cost_per_hour(kw_per_chip, *, utilisation, pue, price_per_kwh, subsidy_fraction=0.0):
    """Electricity per chip-hour: ``kW x utilisation x PUE x price x (1 - subsidy)``.

    >>> round(float(power_cost_per_hour(1.0, utilisation=0.75, pue=1.2, price_per_kwh=0.5, subsidy_fraction=0.5)), 4)
    0.225
    """
    return (np.asarray(kw_per_chip, float) * np.asarray(utilisation, float) * np.asarray(pue, float)
            * np.asarray(price_per_kwh, float) * (1.0 - np.asarray(subsidy_fraction, float)))


def own_cost_per_hour(hw_capex, *, cost_of_capital, life_years, residual_fraction=0.0, maintenance_fraction=0.0,
                      facility_capex=0.0, facility_life_years=15.0, power_per_hour=0.0):
    """Owning cost per chip-hour and its parts: capital recovery, facility, maintenance, power.

    Capital: ``capex x annuity(r, n) - residual x capex x sinking_fund(r, n)`` per
    year; the facility's capex recovers over its own life; maintenance is a
    share of hardware capex per year.

    >>> d = own_cost_per_hour(8760.0, cost_of_capital=0.0, life_years=4, maintenance_fraction=0.1)
    >>> round(float(d["capital"]), 3), round(float(d["maintenance"]), 3), round(float(d["total"]), 3)
    (0.25, 0.1, 0.35)
    """
    capex = np.asarray(hw_capex, float)
    cap = capex * annuity(cost_of_capital, life_years) - \
        capex * np.asarray(residual_fraction, float) * sinking_fund(cost_of_capital, life_years)
    fac = np.asarray(facility_capex, float) * annuity(cost_of_capital, facility_life_years)
    maint = capex * np.asarray(maintenance_fraction, float)
    parts = {"capital": cap / HOURS_PER_YEAR, "facility": fac / HOURS_PER_YEAR,
             "maintenance": maint / HOURS_PER_YEAR, "power": np.asarray(power_per_hour, float)}
    parts["total"] = parts["capital"] + parts["facility"] + parts["maintenance"] + parts["power"]
    return parts


def cost_per_mtok(cost_per_chip_hour, tokens_per_s_per_chip, utilisation=1.0):
    """Cost per million tokens: ``cost/h x 10^6 / (3600 x tokens/s x utilisation)``.

    InferenceX's formula; with DeepSeek's 2 USD per H800-hour and one
    decode node's 14,800 output tokens/s (1,850 per GPU): 0.300 USD per
    million output tokens charged to decode alone.

    >>> round(float(cost_per_mtok(2.0, 1850.0)), 3)
    0.3
    """
    tps = np.asarray(tokens_per_s_per_chip, float) * np.asarray(utilisation, float)
    with np.errstate(divide="ignore"):
        return np.asarray(cost_per_chip_hour, float) * 1e6 / (3600.0 * tps)


def pooled_chips(input_tps, output_tps, prefill_tps_per_chip, decode_tps_per_chip):
    """Chips that serve ``input_tps`` and ``output_tps`` in separate prefill and decode pools.

    DeepSeek's published day: 608 bn input and 168 bn output tokens per day at
    73.7k input tokens/s per prefill node and 14.8k output tokens/s per decode
    node -> 226.9 nodes (they report 226.75 on average).

    >>> round(float(pooled_chips(608e9 / 86400, 168e9 / 86400, 73.7e3, 14.8e3)), 1)
    226.9
    """
    return (np.asarray(input_tps, float) / np.asarray(prefill_tps_per_chip, float)
            + np.asarray(output_tps, float) / np.asarray(decode_tps_per_chip, float))


def energy_per_token(kw_per_chip, pue, utilisation, tokens_per_s_per_chip):
    """Tokens per kWh at the wall and tokens/s per MW of facility power.

    >>> d = energy_per_token(1.0, 1.25, 0.8, 1000.0)
    >>> round(float(d["tokens_per_kwh"])), round(float(d["tps_per_mw"]))
    (3600000, 800000)
    """
    facility_kw = np.asarray(kw_per_chip, float) * np.asarray(pue, float)
    tps = np.asarray(tokens_per_s_per_chip, float)
    return {"tokens_per_kwh": tps * 3600.0 / (facility_kw * np.asarray(utilisation, float)),
            "tps_per_mw": tps * 1000.0 / facility_kw}


__all__ = ["HOURS_PER_YEAR", "annuity", "cost_per_mtok", "energy_per_token", "hardware_capex", "own_cost_per_hour",
           "pooled_chips", "power_cost_per_hour", "sinking_fund"]
