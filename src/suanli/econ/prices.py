"""Prices, rents, power, sites, exchange rates and cost defaults: loaded from data, validated, looked up by date.

Every figure is a :class:`Sourced` value (value, range, date, source,
confidence); look-ups return the record itself so the figure's provenance
travels with it into every cost the user sees.
"""
from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from suanli.catalog.load import packaged_text, read_yaml, strip_lines
from suanli.errors import DataError, SuanliError, suggest

Confidence = Literal["high", "medium", "low", "assumption"]
Currency = Literal["USD", "CNY"]


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Sourced(_Data):
    """A number that knows where it came from."""

    value: float
    low: float | None = None
    high: float | None = None
    unit: str | None = None
    currency: Currency | None = None
    date: dt.date | None = None
    confidence: Confidence
    source: str = Field(min_length=1)
    note: str | None = None

    def cite(self) -> dict:
        """The provenance fields for output."""
        return {k: v for k, v in self.model_dump(mode="json").items() if v is not None}


class FxRate(_Data):
    cny_per_usd: float = Field(gt=0)
    date: dt.date
    confidence: Confidence
    source: str
    note: str | None = None


class PriceRecord(_Data):
    hardware: str
    system: str | None = None
    unit: Literal["chip", "system"]
    chips: int = Field(1, ge=1)
    value: float = Field(gt=0)
    low: float | None = Field(None, gt=0)
    high: float | None = Field(None, gt=0)
    currency: Currency
    date: dt.date
    region: Literal["US", "CN", "global", "offshore"]
    levy_in_price: bool
    includes: tuple[Literal["server", "network"], ...] = ()
    confidence: Confidence
    source: str
    note: str | None = None

    @model_validator(mode="after")
    def _range(self) -> PriceRecord:
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"low {self.low} > high {self.high}")
        if self.unit == "system" and self.system is None:
            raise ValueError("a system price names its system")
        return self


class RentRecord(_Data):
    hardware: str
    value: float = Field(gt=0)
    low: float | None = Field(None, gt=0)
    high: float | None = Field(None, gt=0)
    currency: Currency
    date: dt.date
    region: Literal["CN", "offshore"]
    term: str
    confidence: Confidence
    source: str
    note: str | None = None


class Tier(_Data):
    id: str
    name: str
    date: dt.date
    currency: Currency
    confidence: Confidence
    source: str
    rates: dict[str, float]


class PowerRecord(_Data):
    hardware: str | None = None
    system: str | None = None
    kw_per_chip: float = Field(gt=0, le=20)
    confidence: Confidence
    source: str
    note: str | None = None


class Site(_Data):
    name: str
    name_zh: str
    electricity: Sourced
    subsidy_eligible: bool
    subsidy_source: str | None = None


class ApiPrice(_Data):
    id: str
    name: str
    input_per_mtok: float = Field(ge=0)
    output_per_mtok: float = Field(ge=0)
    currency: Currency
    date: dt.date
    confidence: Confidence
    source: str


class PriceBook(_Data):
    """Everything the cost model reads from data."""

    schema_version: Literal[1]
    as_of: dt.date
    fx: tuple[FxRate, ...] = Field(min_length=1)
    defaults: dict[str, Sourced]
    prices: tuple[PriceRecord, ...]
    rents: tuple[RentRecord, ...]
    tiers: tuple[Tier, ...]
    power: tuple[PowerRecord, ...]
    sites: dict[str, Site]
    api_prices: tuple[ApiPrice, ...]
    remote_access_rules: tuple[str, ...] = ()

    # ------------------------------------------------------------------ look-ups
    def fx_on(self, date: dt.date | None = None) -> FxRate:
        """The latest exchange rate on or before ``date`` (the earliest if none is)."""
        rows = sorted(self.fx, key=lambda r: r.date)
        if date is None:
            return rows[-1]
        before = [r for r in rows if r.date <= date]
        return before[-1] if before else rows[0]

    def default(self, name: str) -> Sourced:
        try:
            return self.defaults[name]
        except KeyError:
            raise SuanliError(f"unknown economics input {name!r}",
                              hint="known: " + ", ".join(sorted(self.defaults))) from None

    def price(self, hardware: str, system: str | None = None, date: dt.date | None = None,
              region: str | None = None) -> PriceRecord | None:
        """The price to use: a system price for ``system`` if one exists, else the chip's.

        Among matching records the latest dated on or before ``date`` wins
        (any date if none is that old); ``region`` narrows the choice when given.
        """
        cands = [p for p in self.prices if system and p.system == system]
        if not cands:
            cands = [p for p in self.prices if p.unit == "chip" and p.hardware == hardware]
        if region:
            cands = [p for p in cands if p.region == region] or cands
        return _latest(cands, date)

    def rent(self, hardware: str, region: str, date: dt.date | None = None) -> RentRecord | None:
        cands = [r for r in self.rents if r.hardware == hardware and r.region == region]
        return _latest(cands, date)

    def tier(self, tier_id: str) -> Tier:
        for t in self.tiers:
            if t.id == tier_id:
                return t
        raise SuanliError(f"unknown cost tier {tier_id!r}",
                          hint="known: " + ", ".join(t.id for t in self.tiers))

    def power_for(self, hardware: str, system: str | None) -> PowerRecord | None:
        for p in self.power:
            if system and p.system == system:
                return p
        for p in self.power:
            if p.hardware == hardware and p.system is None:
                return p
        return None

    def site(self, site_id: str) -> Site:
        key = site_id.strip().lower()
        if key not in self.sites:
            hint = suggest(key, self.sites)
            raise SuanliError(f"unknown site {site_id!r}",
                              hint=("did you mean: " + ", ".join(hint)) if hint else
                              "known sites: " + ", ".join(self.sites))
        return self.sites[key]

    def api_price(self, api_id: str) -> ApiPrice:
        for a in self.api_prices:
            if a.id == api_id:
                return a
        raise SuanliError(f"unknown API price {api_id!r}",
                          hint="known: " + ", ".join(a.id for a in self.api_prices))


def _latest(cands: list, date: dt.date | None):
    if not cands:
        return None
    cands = sorted(cands, key=lambda r: r.date)
    if date is None:
        return cands[-1]
    before = [r for r in cands if r.date <= date]
    return before[-1] if before else cands[0]


def parse_pricebook(raw: object, file: str) -> PriceBook:
    """Validate a raw price-book mapping; errors name the file, line and field."""
    from pydantic import ValidationError

    from suanli.econ.validation import pydantic_error

    try:
        return PriceBook.model_validate(strip_lines(raw))
    except ValidationError as exc:
        raise pydantic_error(exc, raw, file) from None


@lru_cache(maxsize=1)
def load_pricebook() -> PriceBook:
    """The packaged price book (cached)."""
    path, text = packaged_text("suanli.econ", "prices.yaml")
    book = parse_pricebook(read_yaml(path, text), path)
    if not book.fx:
        raise DataError(path, "no exchange rate")
    return book


def to_cny(value: float, currency: str | None, fx: float) -> float:
    """Convert ``value`` in ``currency`` to CNY at ``fx`` CNY per USD.

    >>> to_cny(10.0, "USD", 7.0), to_cny(10.0, "CNY", 7.0)
    (70.0, 10.0)
    """
    return value * fx if currency == "USD" else value


__all__ = ["ApiPrice", "FxRate", "PowerRecord", "PriceBook", "PriceRecord", "RentRecord", "Site", "Sourced",
           "Tier", "load_pricebook", "parse_pricebook", "to_cny"]
