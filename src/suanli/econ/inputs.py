"""The economics inputs a user can set: one validated model shared by the CLI, YAML scenarios, the API and Python.

Every field defaults to ``None``, meaning "take the sourced default from the
price book"; the cost result lists which defaults it used and their sources.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from suanli.errors import SuanliError

Currency = Literal["CNY", "USD"]


class EconInputs(BaseModel):
    """Overrides of the cost model's inputs (``None``: the sourced default)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fx_cny_per_usd: float | None = Field(None, gt=0, le=100, description="exchange rate, CNY per USD")
    chip_price: float | None = Field(None, gt=0, le=1e9, description="price per accelerator (or per system with "
                                     "price_unit=system), in price_currency")
    price_currency: Currency | None = Field(None, description="currency of chip_price (default USD)")
    price_unit: Literal["chip", "system"] | None = Field(None, description="what chip_price prices")
    levy_in_price: bool | None = Field(None, description="chip_price already includes the export levy")
    levy_fraction: float | None = Field(None, ge=0, le=2, description="export levy as a share of the price "
                                        "(default: the policy engine's fee_fraction)")
    levy_pass_through: float | None = Field(None, ge=0, le=1, description="share of the levy the buyer pays")
    import_vat: float | None = Field(None, ge=0, le=1, description="import VAT rate on imported hardware")
    vat_recoverable: float | None = Field(None, ge=0, le=1, description="share of import VAT credited")
    server_multiplier: float | None = Field(None, ge=1, le=10, description="server cost / accelerator cost")
    network_share: float | None = Field(None, ge=0, lt=0.9, description="network share of cluster cost")
    cost_of_capital: float | None = Field(None, ge=0, le=1, description="cost of capital per year")
    life_years: float | None = Field(None, gt=0, le=30, description="depreciation life in years")
    residual_fraction: float | None = Field(None, ge=0, le=1, description="residual value at end of life, "
                                            "share of hardware capex")
    maintenance_fraction: float | None = Field(None, ge=0, le=1, description="maintenance per year, share of "
                                               "hardware capex")
    facility_capex_usd_per_kw: float | None = Field(None, ge=0, le=1e6, description="facility capex per kW IT")
    facility_life_years: float | None = Field(None, gt=0, le=60, description="facility life in years")
    kw_per_chip: float | None = Field(None, gt=0, le=20, description="IT power per accelerator at the wall, kW")
    server_power_factor: float | None = Field(None, ge=1, le=5, description="server power / accelerator TDP")
    power_utilisation: float | None = Field(None, gt=0, le=1, description="average / maximum power draw")
    pue: float | None = Field(None, ge=1, le=3, description="power usage effectiveness")
    electricity_price: float | None = Field(None, ge=0, le=100, description="electricity price per kWh before "
                                            "subsidy, in electricity_currency")
    electricity_currency: Currency | None = None
    power_subsidy_fraction: float | None = Field(None, ge=0, le=1, description="share of the power bill "
                                                 "subsidised (default: the policy engine's, where the site pays it)")
    serving_utilisation: float | None = Field(None, gt=0, le=1, description="share of hours at the predicted "
                                              "throughput")
    rent: float | None = Field(None, gt=0, le=1e6, description="rental rate per accelerator-hour, in "
                               "rent_currency (switches to renting)")
    rent_currency: Currency | None = None
    rent_overhead: float | None = Field(None, ge=0, le=5, description="share added to the rental rate")
    tier: str | None = Field(None, description="a published owning-cost tier (USD per chip-hour) to use as the "
                             "cost per chip-hour instead of the bottom-up model")
    horizon_years: float | None = Field(None, gt=0, le=30, description="TCO horizon in years (default: life)")
    api_price: str | None = Field(None, description="API price id for break-even")
    api_input_per_mtok: float | None = Field(None, ge=0, le=1e4, description="API price per M input tokens, "
                                             "in the output currency")
    api_output_per_mtok: float | None = Field(None, ge=0, le=1e4, description="API price per M output tokens")

    @model_validator(mode="after")
    def _consistent(self) -> EconInputs:
        if self.rent is not None and self.tier is not None:
            raise ValueError("give either rent or tier, not both")
        if (self.api_input_per_mtok is None) != (self.api_output_per_mtok is None):
            raise ValueError("give both api_input_per_mtok and api_output_per_mtok")
        return self

    def merged(self, other: EconInputs | dict | None) -> EconInputs:
        """These inputs with the fields ``other`` sets replacing them."""
        if other is None:
            return self
        upd = other.model_dump(exclude_none=True) if isinstance(other, EconInputs) else dict(other)
        return parse_inputs({**self.model_dump(exclude_none=True), **upd})


def parse_inputs(values: dict[str, Any] | EconInputs | None, *, where: str = "economics input") -> EconInputs:
    """Validate economics overrides from any interface; errors name the field and the reason."""
    if values is None:
        return EconInputs()
    if isinstance(values, EconInputs):
        return values
    try:
        return EconInputs.model_validate(values)
    except ValidationError as exc:
        e = exc.errors()[0]
        field = ".".join(str(p) for p in e["loc"]) or "inputs"
        known = ", ".join(EconInputs.model_fields)
        hint = f"known inputs: {known}" if e["type"] == "extra_forbidden" else \
            EconInputs.model_fields[field].description if field in EconInputs.model_fields else None
        raise SuanliError(f"{where} {field!r}: {e['msg'].removeprefix('Value error, ')} (got {e.get('input')!r})",
                          hint=hint) from None


def parse_assignments(items: list[str] | None) -> dict[str, Any]:
    """``["pue=1.3", "life_years=5"]`` -> a dict for :func:`parse_inputs` (values parsed as YAML scalars).

    >>> parse_assignments(["pue=1.3", "levy_in_price=true", "price_currency=CNY"])
    {'pue': 1.3, 'levy_in_price': True, 'price_currency': 'CNY'}
    """
    import yaml

    out: dict[str, Any] = {}
    for item in items or []:
        if "=" not in item:
            raise SuanliError(f"--set expects NAME=VALUE (got {item!r})", hint="e.g. --set pue=1.3")
        k, v = item.split("=", 1)
        out[k.strip()] = yaml.safe_load(v.strip())
    return out


def parse_date(value: str | dt.date | None) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise SuanliError(f"date must be YYYY-MM-DD (got {value!r})", hint="e.g. 2026-12-01") from None


__all__ = ["EconInputs", "parse_assignments", "parse_date", "parse_inputs"]
