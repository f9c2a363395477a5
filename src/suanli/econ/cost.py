"""Cost of serving a model on an accelerator: per chip-hour (own or rent) and per million tokens.

:func:`chip_hour_cost` prices one accelerator-hour from the price book, the
policy engine (export levy, China access, power subsidy) and the user's
overrides; :func:`serving_cost` adds the performance model's throughput under
the SLOs (with its error band) to give cost per million input, output and
total tokens, tokens per kWh and per MW, TCO over a horizon and the
break-even against an API price. :func:`compare` does it for several chips.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from suanli.econ import tco
from suanli.econ.inputs import EconInputs, parse_date, parse_inputs
from suanli.econ.prices import PriceBook, load_pricebook, to_cny
from suanli.errors import SuanliError

#: US review outcomes under which a purchase is not expected to go through
BLOCKING_REVIEWS = ("presumption_of_denial", "denial")


@dataclass
class Access:
    """What the policy engine says about buying this chip: may we, and at what levy."""

    hardware: str
    destination: str
    date: str
    buyer: str
    us_review: str
    license_required: bool
    china_access: str
    fee_fraction: float
    volume_cap: str | None
    power_subsidy_fraction: float
    allowed: bool
    origin: str = "US"
    reasons: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return dict(vars(self))


def access(hardware: str, *, destination: str = "CN", date: dt.date | None = None, buyer: str = "private",
           scenario: Any = None, catalog: Any = None, rent_offshore: bool = False,
           remote_access_rules: tuple[str, ...] = ()) -> Access:
    """Market access for ``buyer`` from the policy engine.

    Owning (or renting onshore): the classification of ``hardware`` to
    ``destination``. Renting offshore from a foreign provider: the provider
    buys (``foreign-hq``); the Chinese user is only blocked where a rule named
    in ``remote_access_rules`` makes remote access an export to China, and
    then the China classification for ``buyer`` decides.
    """
    from suanli.policy import classify

    d = date or dt.date.today()
    if rent_offshore:
        prov = classify(hardware, destination, d, "foreign-hq", scenario, catalog=catalog)
        home = classify(hardware, "CN", d, buyer, scenario, catalog=catalog)
        gated = [r.id for r in home.rules if r.id in remote_access_rules]
        reasons, ok = [], prov.review not in BLOCKING_REVIEWS
        if not ok:
            reasons.append(f"US review for the offshore provider in {destination}: {prov.review}")
        if gated and home.review in BLOCKING_REVIEWS:
            ok = False
            reasons.append(f"remote access is an export under {', '.join(gated)}; China review: {home.review}")
        return Access(hardware, destination, d.isoformat(), buyer, prov.review if not gated else home.review,
                      prov.license_required, "allowed", 0.0, None, 0.0, ok, str(prov.metrics.get("origin", "US")),
                      reasons,
                      [r.id for r in prov.rules if r.role != "classification"] + gated)
    c = classify(hardware, destination, d, buyer, scenario, catalog=catalog)
    reasons = []
    if c.review in BLOCKING_REVIEWS:
        reasons.append(f"US review: {c.review}")
    if c.china_access.status == "prohibited":
        reasons.append("China: prohibited for this buyer (" + ", ".join(c.china_access.measures) + ")")
    rules = [f.rule for f in c.fees] + list(c.china_access.measures)
    return Access(hardware, destination, d.isoformat(), buyer, c.review, c.license_required, c.china_access.status,
                  float(c.fee_fraction), c.volume_cap, float(c.china_access.power_subsidy_fraction),
                  not reasons, str(c.metrics.get("origin", "US")), reasons, rules)


@dataclass
class ChipHour:
    """Cost of one accelerator-hour, its parts and every input with its source."""

    hardware: str
    system: str | None
    mode: str                       # own | rent | tier
    currency: str
    fx_cny_per_usd: float
    per_chip_hour: float
    parts: dict[str, float]
    capex_per_chip: dict[str, float]
    kw_per_chip: float
    pue: float
    power_utilisation: float
    serving_utilisation: float
    inputs: dict[str, dict]
    access: Access | None
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        d = dict(vars(self))
        d["access"] = self.access.to_dict() if self.access else None
        return d


def _pick(name: str, override: Any, book: PriceBook, used: dict, *, value: Any = None, cite: dict | None = None):
    """Take the override, else the given value with its citation, else the book's default; record it."""
    if override is not None:
        used[name] = {"value": override, "source": "user input"}
        return override
    if value is not None:
        used[name] = {"value": value, **(cite or {})}
        return value
    s = book.default(name)
    used[name] = s.cite()
    return s.value


def check_currency(currency: str) -> None:
    """The currencies costs are reported in."""
    if currency not in ("CNY", "USD"):
        raise SuanliError(f"unknown currency {currency!r}", hint="use CNY or USD")


def chip_hour_cost(hardware: str, *, system: str | None = None, buyer: str = "private",
                   site: str = "national-average", date: str | dt.date | None = None, scenario: Any = None,
                   destination: str = "CN", currency: str = "CNY", inputs: EconInputs | dict | None = None,
                   catalog: Any = None, book: PriceBook | None = None, rent_region: str | None = None,
                   check_access: bool = True) -> ChipHour:
    """Cost of one ``hardware`` accelerator-hour for ``buyer`` at ``site`` on ``date``.

    Owning: capital recovery of (price + levy + unrecovered import VAT +
    server + network) over the life at the cost of capital, less the
    residual; the facility's capex per kW over its life; maintenance; power
    = kW x utilisation x PUE x electricity price x (1 - subsidy). Renting:
    the rate (``inputs.rent`` or the book's rate for ``rent_region``) plus
    its overhead. ``inputs.tier``: a published all-in rate.
    """
    from suanli.catalog import get_catalog

    cat = catalog or get_catalog()
    book = book or load_pricebook()
    x = parse_inputs(inputs)
    check_currency(currency)
    acc = cat.accelerator(hardware)  # unknown id -> UnknownIdError with suggestions
    sys_rec = cat.system(system, hardware) if system else None
    sys_id = sys_rec.id if sys_rec else None
    d = parse_date(date) or book.as_of
    used: dict[str, dict] = {}
    warnings: list[str] = []
    fxr = book.fx_on(d)
    fx = _pick("fx_cny_per_usd", x.fx_cny_per_usd, book, used, value=fxr.cny_per_usd,
               cite={"source": fxr.source, "date": fxr.date.isoformat(), "confidence": fxr.confidence})
    out = (lambda cny: cny) if currency == "CNY" else (lambda cny: cny / fx)
    st = book.site(site)
    serving_util = _pick("serving_utilisation", x.serving_utilisation, book, used)
    rent_mode = x.rent is not None or rent_region is not None
    offshore = rent_mode and (rent_region == "offshore" or destination != "CN")
    acc_info = None
    if check_access:
        acc_info = access(hardware, destination=destination, date=d, buyer=buyer, scenario=scenario, catalog=cat,
                          rent_offshore=offshore and rent_mode,
                          remote_access_rules=book.remote_access_rules)
        if not acc_info.allowed:
            warnings.append(f"{hardware} is not open to a {buyer} buyer on {d}: " + "; ".join(acc_info.reasons)
                            + " (costed anyway, as a what-if)")

    kw = pue = putil = 0.0
    if x.tier is not None:
        t = book.tier(x.tier)
        if hardware not in t.rates:
            raise SuanliError(f"tier {t.id!r} has no rate for {hardware!r}",
                              hint="it has: " + ", ".join(t.rates))
        rate = to_cny(t.rates[hardware], t.currency, fx)
        used["tier"] = {"value": t.rates[hardware], "currency": t.currency, "source": t.source, "name": t.name,
                        "date": t.date.isoformat(), "confidence": t.confidence}
        parts = {"tier_rate": rate}
        capex: dict[str, float] = {}
        mode = "tier"
    elif rent_mode:
        if x.rent is not None:
            rate = to_cny(x.rent, x.rent_currency or "USD", fx)
            used["rent"] = {"value": x.rent, "currency": x.rent_currency or "USD", "source": "user input"}
        else:
            r = book.rent(hardware, rent_region or "CN", d)
            if r is None:
                raise SuanliError(f"no rental rate for {hardware} ({rent_region}) in the price book",
                                  hint="give one: --rent RATE (per chip-hour) with --rent-currency")
            rate = to_cny(r.value, r.currency, fx)
            used["rent"] = {"value": r.value, "currency": r.currency, "term": r.term, "region": r.region,
                            "date": r.date.isoformat(), "source": r.source, "confidence": r.confidence}
        overhead = _pick("rent_overhead", x.rent_overhead, book, used)
        parts = {"rent": rate, "rent_overhead": rate * overhead}
        capex = {}
        mode = "rent"
    else:
        mode = "own"
        parts, capex, kw, pue, putil = _own_parts(hardware, sys_rec, acc, x, book, used, d, fx, st, acc_info,
                                                  warnings)
    total_cny = float(sum(parts.values()))
    return ChipHour(hardware, sys_id, mode, currency, fx, out(total_cny), {k: out(float(v)) for k, v in parts.items()},
                    {k: out(float(v)) for k, v in capex.items()}, kw, pue, putil, serving_util, used, acc_info,
                    warnings)


def _own_parts(hardware, sys_rec, acc, x: EconInputs, book: PriceBook, used, d, fx, st, acc_info, warnings):
    sys_id = sys_rec.id if sys_rec else None
    # --- price per chip
    if x.chip_price is not None:
        unit = x.price_unit or "chip"
        chips = sys_rec.chips if (unit == "system" and sys_rec) else 1
        price = to_cny(x.chip_price, x.price_currency or "USD", fx) / chips
        includes: tuple = ("server", "network") if unit == "system" else ()
        levy_in = bool(x.levy_in_price)
        used["chip_price"] = {"value": x.chip_price, "currency": x.price_currency or "USD", "unit": unit,
                              "source": "user input"}
    else:
        rec = book.price(hardware, sys_id, d)
        if rec is None:
            raise SuanliError(f"no price for {hardware} in the price book",
                              hint="give one: --chip-price PRICE --price-currency USD|CNY")
        price = to_cny(rec.value, rec.currency, fx) / rec.chips
        includes = rec.includes
        levy_in = rec.levy_in_price if x.levy_in_price is None else x.levy_in_price
        used["chip_price"] = {"value": rec.value, "currency": rec.currency, "unit": rec.unit, "chips": rec.chips,
                              "date": rec.date.isoformat(), "region": rec.region, "levy_in_price": rec.levy_in_price,
                              "source": rec.source, "confidence": rec.confidence,
                              **({"note": rec.note} if rec.note else {})}
        if rec.date < d - dt.timedelta(days=730):
            warnings.append(f"the price of {hardware} dates from {rec.date} (more than two years before {d})")
    levy = _pick("levy_fraction", x.levy_fraction, book, used,
                 value=acc_info.fee_fraction if acc_info else 0.0,
                 cite={"source": "policy engine: fee_fraction", "rules": acc_info.rules if acc_info else []})
    pt = _pick("levy_pass_through", x.levy_pass_through, book, used)
    imported = (acc_info.origin != "CN") if acc_info else True
    vat = _pick("import_vat", x.import_vat, book, used) if imported else 0.0
    vat_rec = _pick("vat_recoverable", x.vat_recoverable, book, used) if imported else 1.0
    srv = 1.0 if "server" in includes else _pick("server_multiplier", x.server_multiplier, book, used)
    net = 0.0 if "network" in includes else _pick("network_share", x.network_share, book, used)
    capex = tco.hardware_capex(price, levy_fraction=levy, pass_through=pt, levy_in_price=levy_in, import_vat=vat,
                               vat_recoverable=vat_rec, server_multiplier=srv, network_share=net)
    # --- power
    kw = x.kw_per_chip
    if kw is not None:
        used["kw_per_chip"] = {"value": kw, "source": "user input"}
    else:
        prec = book.power_for(hardware, sys_id)
        if prec is not None:
            kw = prec.kw_per_chip
            used["kw_per_chip"] = {"value": kw, "source": prec.source, "confidence": prec.confidence,
                                   **({"note": prec.note} if prec.note else {})}
        elif acc.tdp_w.value:
            f = _pick("server_power_factor", x.server_power_factor, book, used)
            kw = acc.tdp_w.value / 1000.0 * f
            used["kw_per_chip"] = {"value": kw, "source": f"catalog TDP {acc.tdp_w.value:g} W x server_power_factor",
                                   "tdp_source": acc.tdp_w.source}
        else:
            raise SuanliError(f"no power figure for {hardware} (no TDP in the catalog, no power record)",
                              hint="give one: --set kw_per_chip=1.2")
    putil = _pick("power_utilisation", x.power_utilisation, book, used)
    pue = _pick("pue", x.pue, book, used)
    if x.electricity_price is not None:
        elec = to_cny(x.electricity_price, x.electricity_currency or "CNY", fx)
        used["electricity_price"] = {"value": x.electricity_price, "currency": x.electricity_currency or "CNY",
                                     "source": "user input"}
    else:
        e = st.electricity
        elec = to_cny(e.value, e.currency, fx)
        used["electricity_price"] = {**e.cite(), "site": st.name}
    sub_default = (acc_info.power_subsidy_fraction if acc_info else 0.0) if st.subsidy_eligible else 0.0
    sub = _pick("power_subsidy_fraction", x.power_subsidy_fraction, book, used, value=sub_default,
                cite={"source": "policy engine: power_subsidy_fraction" + (
                    f" (paid at {st.name})" if st.subsidy_eligible else f" (not paid at {st.name})")})
    power_h = tco.power_cost_per_hour(kw, utilisation=putil, pue=pue, price_per_kwh=elec, subsidy_fraction=sub)
    fac = to_cny(_pick("facility_capex_usd_per_kw", x.facility_capex_usd_per_kw, book, used), "USD", fx) * kw
    parts = tco.own_cost_per_hour(
        capex["total"], cost_of_capital=_pick("cost_of_capital", x.cost_of_capital, book, used),
        life_years=_pick("life_years", x.life_years, book, used),
        residual_fraction=_pick("residual_fraction", x.residual_fraction, book, used),
        maintenance_fraction=_pick("maintenance_fraction", x.maintenance_fraction, book, used),
        facility_capex=fac, facility_life_years=_pick("facility_life_years", x.facility_life_years, book, used),
        power_per_hour=power_h)
    parts = {k: float(v) for k, v in parts.items() if k != "total"}
    capex_out = {k: float(v) for k, v in capex.items()}
    capex_out["facility"] = float(fac)
    return parts, capex_out, float(kw), float(pue), float(putil)


@dataclass
class ServingCost:
    """Cost per million tokens of serving ``model`` on ``hardware`` under the SLOs, with its band."""

    hardware: str
    model: str
    chips: int
    currency: str
    chip_hour: ChipHour
    throughput: dict[str, float]
    prediction: dict
    per_mtok: dict[str, float]
    per_mtok_band: dict[str, list[float]] | None
    energy: dict[str, float]
    tco: dict[str, float]
    break_even: dict | None
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        d = dict(vars(self))
        d["chip_hour"] = self.chip_hour.to_dict()
        return d

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame([{"hardware": self.hardware, "model": self.model, "currency": self.currency,
                              **{f"per_mtok_{k}": v for k, v in self.per_mtok.items()},
                              "per_chip_hour": self.chip_hour.per_chip_hour}])


def serving_cost(hardware: str, model: str, chips: int = 8, *, request: dict | None = None, buyer: str = "private",
                 site: str = "national-average", date: str | dt.date | None = None, scenario: Any = None,
                 currency: str = "CNY", inputs: EconInputs | dict | None = None, catalog: Any = None,
                 params: dict | None = None, book: PriceBook | None = None,
                 rent_region: str | None = None) -> ServingCost:
    """Cost per million tokens of serving ``model`` on ``chips`` x ``hardware`` at the SLOs in ``request``.

    ``request`` holds the fields of :class:`suanli.perf.search.Request`
    (``isl``, ``osl``, ``tpot_slo_ms``, ``ttft_slo_ms``, ``system``...). The
    throughput is the performance model's best configuration; its error band
    carries through to the cost (:func:`band_ratios`).
    """
    from suanli.catalog import get_catalog
    from suanli.perf.search import Request, predict_serve

    cat = catalog or get_catalog()
    book = book or load_pricebook()
    x = parse_inputs(inputs)
    req_kw = dict(request or {})
    pred = predict_serve(cat, Request(hardware=hardware, model=model, chips=chips, **req_kw), params=params)
    ch = chip_hour_cost(hardware, system=pred.config.get("system") or req_kw.get("system"), buyer=buyer, site=site,
                        date=date, scenario=scenario, currency=currency, inputs=x, catalog=cat, book=book,
                        rent_region=rent_region)
    m = pred.metrics
    tput = {"output": float(m["output_tps_per_chip"]), "input": float(m["input_tps_per_chip"]),
            "total": float(m["total_tps_per_chip"])}
    u = ch.serving_utilisation
    per = {k: float(tco.cost_per_mtok(ch.per_chip_hour, v, u)) for k, v in tput.items()}
    # the input and output shares of one chip-hour, split by tokens (InferenceX's blended price)
    band = None
    eb = pred.error_band
    r = band_ratios(eb, tput["output"])
    if r is not None:
        # cost moves against throughput: the throughput band's high end is the cost band's low end
        band = {k: [v * r[0], v * r[1]] for k, v in per.items()}
    energy: dict[str, float] = {}
    if ch.kw_per_chip:
        e = tco.energy_per_token(ch.kw_per_chip, ch.pue, ch.power_utilisation, tput["total"])
        energy = {"tokens_per_kwh": float(e["tokens_per_kwh"]), "tps_per_mw": float(e["tps_per_mw"]),
                  "output_tokens_per_kwh": float(e["tokens_per_kwh"]) * tput["output"] / tput["total"],
                  "kw_per_chip_facility": ch.kw_per_chip * ch.pue}
    horizon = x.horizon_years or ch.inputs.get("life_years", {}).get("value") or book.default("life_years").value
    hours = horizon * tco.HOURS_PER_YEAR
    tco_d = {"horizon_years": float(horizon), "chips": chips,
             "total": ch.per_chip_hour * hours * chips,
             "capex_upfront": float(ch.capex_per_chip.get("total", 0.0) + ch.capex_per_chip.get("facility", 0.0))
             * chips,
             "tokens_total": tput["total"] * u * 3600 * hours * chips}
    be = _break_even(x, book, ch, tput, u, currency, model)
    warnings = list(dict.fromkeys(pred.warnings + ch.warnings))
    pd = pred.to_dict()
    return ServingCost(hardware, model, chips, currency, ch, tput,
                       {"config": pd.get("config"), "metrics": pd.get("metrics"),
                        "error_band": pd.get("error_band"), "bottleneck": pd.get("bottleneck")},
                       per, band, energy, tco_d, be, warnings)


def band_ratios(eb: Any, tps: float) -> tuple[float, float] | None:
    """(low, high) multipliers of cost from a throughput error band: ``tps / high`` and ``tps / low``.

    The performance model's band spans its 80% interval of held-out errors
    (``low``/``high`` around the prediction); a band with only a MAPE is read
    as ``tps (1 -/+ mape)``.

    >>> from types import SimpleNamespace as B
    >>> band_ratios(B(low=80.0, high=125.0, mape=0.1), 100.0)
    (0.8, 1.25)
    >>> band_ratios(B(low=None, high=None, mape=0.2), 100.0)
    (0.8, 1.25)
    """
    if eb is None or not tps:
        return None
    if eb.low and eb.high:
        return tps / eb.high, tps / eb.low
    if eb.mape is not None and 0 <= eb.mape < 1:
        return 1 - eb.mape, 1 / (1 - eb.mape)
    return None


def log_band(eb: Any) -> float:
    """Half-width of the throughput band in log terms (its 80% interval: ``ln(high / prediction)``).

    >>> from types import SimpleNamespace as B
    >>> round(log_band(B(p80=0.19, mape=0.11)), 2), round(log_band(B(p80=None, mape=0.1)), 2)
    (0.19, 0.16)
    """
    if eb is None:
        return 0.0
    if getattr(eb, "p80", None):
        return float(eb.p80)
    # only a MAPE: for normal errors the 80th percentile of |error| is 1.28 sd and the MAPE 0.80 sd
    return float(eb.mape) * 1.2816 / 0.7979 if eb.mape else 0.0


def _break_even(x: EconInputs, book: PriceBook, ch: ChipHour, tput: dict, util: float, currency: str,
                model: str) -> dict | None:
    """Revenue per chip-hour at an API's list prices, the margin, and the utilisation that breaks even."""
    if x.api_input_per_mtok is not None:
        p_in, p_out, src = x.api_input_per_mtok, x.api_output_per_mtok, {"source": "user input"}
    else:
        api_id = x.api_price or ("deepseek-v4-pro-offpeak" if model.startswith("deepseek") else None)
        if api_id is None:
            return None
        a = book.api_price(api_id)
        conv = (lambda v: to_cny(v, a.currency, ch.fx_cny_per_usd)) if currency == "CNY" else \
            (lambda v: v if a.currency == "USD" else v / ch.fx_cny_per_usd)
        p_in, p_out = conv(a.input_per_mtok), conv(a.output_per_mtok)
        src = {"id": a.id, "name": a.name, "source": a.source, "date": a.date.isoformat()}
    revenue = (tput["input"] * p_in + tput["output"] * p_out) * 3600 / 1e6 * util
    cost = ch.per_chip_hour
    return {"api": src, "input_per_mtok": p_in, "output_per_mtok": p_out, "revenue_per_chip_hour": revenue,
            "margin_per_chip_hour": revenue - cost, "margin_share": (revenue - cost) / revenue if revenue else None,
            "break_even_utilisation": cost / (revenue / util) if revenue else None}


def _check_shared(model: str, kw: dict) -> None:
    """The inputs every chip of a comparison shares: one that is wrong is the user's error, not a chip's."""
    from suanli.catalog import get_catalog
    from suanli.policy.regimes import load_rules

    check_currency(kw.get("currency", "CNY"))
    parse_date(kw.get("date"))
    (kw.get("book") or load_pricebook()).site(kw.get("site", "national-average"))
    load_rules().buyer(kw.get("buyer", "private"))
    (kw.get("catalog") or get_catalog()).model(model)


def compare(hardware: list[str], model: str, chips: int = 16, **kw: Any) -> list[ServingCost | dict]:
    """:func:`serving_cost` for each chip; a chip that cannot serve gives ``{"hardware", "error"}``.

    A wrong input all chips share (model, site, buyer, date, currency) raises instead.
    """
    _check_shared(model, kw)
    out: list[ServingCost | dict] = []
    for h in hardware:
        try:
            out.append(serving_cost(h, model, chips, **kw))
        except SuanliError as exc:
            out.append({"hardware": h, "error": exc.message, "hint": exc.hint})
    return out


#: the public API's name for :func:`compare`
compare_costs = compare

__all__ = ["Access", "ChipHour", "ServingCost", "access", "band_ratios", "chip_hour_cost", "compare", "compare_costs",
           "log_band", "serving_cost"]
