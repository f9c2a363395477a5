"""Export-control metrics of a chip (TPP, performance density, bandwidths) and the spec they live in.

The rule texts define the metrics; this module computes them, from a catalog
record (:func:`spec_from_accelerator`), from an inline spec
(:func:`parse_spec`, ``"tpp=3000,pd=2.0,datacenter=true"``) or from a YAML
record (:func:`spec_from_mapping`), and says which ones rest on estimates.

- TPP = max over dtypes of dense TOPS x bit length (2 x MacTOPS x bits).
- PD = TPP / applicable die area (logic dies on a non-planar process).
- I/O = scale-up links (bidirectional) + host PCIe link (bidirectional).
- DRAM bandwidth = peak package memory bandwidth, GB/s.

>>> tpp_from_rates({16: 148, 8: 296})          # Nvidia H20: FP16 and FP8 dense
2368.0
>>> round(performance_density(2368, 814), 2)   # over the full GH100 die
2.91
>>> s = parse_spec("tpp=3000,pd=2.0,datacenter=true")
>>> s.tpp, s.pd, s.datacenter, s.die_area_mm2
(3000.0, 2.0, True, 1500.0)
"""
from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from suanli.catalog.links import pcie_unidir_gbps
from suanli.policy.schema import EarScope, ParametersFile, ProductInfo, ProductsFile, SpecError, VendorInfo

#: Relative tolerance when a spec states both a value and the figures it derives from.
CONSISTENCY_RTOL = 0.01


def tpp_from_rates(dense_tops_by_bits: Mapping[int, float]) -> float | None:
    """Total processing performance: ``max(bits * dense TOPS)`` over the supported bit lengths.

    ``None`` when no rate is known. Dense (non-sparse) rates only.

    >>> tpp_from_rates({16: 2250, 8: 4500, 4: 9000})   # B200: every format gives 36,000
    36000.0
    >>> tpp_from_rates({}) is None
    True
    """
    vals = [float(b) * float(t) for b, t in dense_tops_by_bits.items() if t is not None]
    return max(vals) if vals else None


def performance_density(tpp: float | None, die_area_mm2: float | None) -> float | None:
    """PD = TPP / applicable die area (mm2); ``None`` if either is unknown or the area is not positive.

    >>> round(performance_density(15832, 814), 2)
    19.45
    >>> performance_density(2368, None) is None
    True
    """
    if tpp is None or die_area_mm2 is None or die_area_mm2 <= 0:
        return None
    return tpp / die_area_mm2


class ChipSpec(BaseModel):
    """The figures and facts the export rules test, for a real or hypothetical chip.

    Derived values fill in: TPP from ``dense_tops`` (bits -> dense TOPS), PD
    from TPP and die area, die area from TPP and PD. A spec that states a
    value and the figures it derives from, and they disagree by more than 1%,
    is contradictory and raises :class:`~suanli.policy.schema.SpecError`.
    ``estimates`` maps each metric that rests on an estimate to the reason.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=False)

    id: str | None = None
    name: str | None = None
    vendor: str | None = None
    vendor_org: str | None = None
    family: str | None = None
    origin: str = "US"
    ear_scope: EarScope = "us-origin"
    approved_designer: bool | None = None
    category: str = "chip"
    item_type: Literal["accelerator", "hbm"] = "accelerator"
    datacenter: bool = True
    hbm: bool | None = None
    nonplanar: bool = True
    dense_tops: dict[int, float] = Field(default_factory=dict)
    tpp: float | None = Field(None, ge=0)
    pd: float | None = Field(None, ge=0)
    die_area_mm2: float | None = Field(None, gt=0)
    dram_bw_gbps: float | None = Field(None, ge=0)
    io_bidir_gbps: float | None = Field(None, ge=0)
    hbm_mbd: float | None = Field(None, ge=0)
    transistors_bn: float | None = Field(None, ge=0)
    us_available: bool | None = None
    us_commercial_from: dt.date | None = None
    china_specific: bool = False
    estimates: dict[str, str] = Field(default_factory=dict)
    basis: dict[str, str] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _derive_and_check(self) -> ChipSpec:
        for bits, tops in self.dense_tops.items():
            if bits <= 0 or tops < 0:
                raise ValueError(f"dense rate at {bits} bits must be >= 0 (got {tops})")
        rates_tpp = tpp_from_rates(self.dense_tops)
        if rates_tpp is not None:
            if self.tpp is None:
                self.tpp = rates_tpp
                best = max(self.dense_tops.items(), key=lambda kv: (kv[0] * kv[1], -kv[0]))
                self.basis.setdefault("tpp", f"{best[1]:g} dense TOPS x {best[0]} bits")
            elif not _close(self.tpp, rates_tpp):
                raise ValueError(
                    f"contradictory spec: tpp={self.tpp:g} but the dense rates give {rates_tpp:g} "
                    "(TPP = max over bit lengths of dense TOPS x bits)")
        if self.tpp is not None and self.die_area_mm2 is not None:
            pd = self.tpp / self.die_area_mm2
            if self.pd is None:
                self.pd = pd
                self.basis.setdefault("pd", f"TPP {self.tpp:g} / {self.die_area_mm2:g} mm2")
                if "tpp" in self.estimates or "die_area_mm2" in self.estimates:
                    self.estimates.setdefault(
                        "pd", "; ".join(self.estimates[k] for k in ("tpp", "die_area_mm2") if k in self.estimates))
            elif not _close(self.pd, pd):
                raise ValueError(
                    f"contradictory spec: pd={self.pd:g} but tpp/die_area = {self.tpp:g}/{self.die_area_mm2:g} = {pd:.4g}")
        elif self.tpp is not None and self.pd is not None and self.pd > 0 and self.die_area_mm2 is None:
            self.die_area_mm2 = self.tpp / self.pd
            self.basis.setdefault("die_area_mm2", f"TPP {self.tpp:g} / PD {self.pd:g}")
        if self.tpp == 0 and self.pd:
            raise ValueError(f"contradictory spec: pd={self.pd:g} with tpp=0")
        if self.us_available is False and self.us_commercial_from is not None:
            raise ValueError("contradictory spec: us_available=false with a us_commercial_from date")
        if self.item_type == "hbm" and self.hbm_mbd is None:
            raise ValueError("an HBM item (item=hbm) needs hbm_mbd (GB/s per mm2)")
        return self

    @property
    def dram_plus_io_gbps(self) -> float | None:
        if self.dram_bw_gbps is None or self.io_bidir_gbps is None:
            return None
        return self.dram_bw_gbps + self.io_bidir_gbps

    @property
    def subject_to_ear(self) -> bool:
        return self.ear_scope in ("us-origin", "foreign-fdp")

    @property
    def label(self) -> str:
        return self.id or self.name or "spec"

    def us_commercial_param(self) -> dt.date | None:
        """The date the Jan 2026 rule tests: availability date, ``date.min`` if available, ``date.max`` if never."""
        if self.us_commercial_from is not None:
            return self.us_commercial_from
        if self.us_available is True:
            return dt.date.min
        if self.us_available is False:
            return dt.date.max
        return None

    def params(self) -> dict[str, Any]:
        """The metric and item parameters the rule criteria read (see parameters.yaml)."""
        return {
            "tpp": self.tpp, "pd": self.pd, "die_area_mm2": self.die_area_mm2,
            "dram_bw_gbps": self.dram_bw_gbps, "io_bidir_gbps": self.io_bidir_gbps,
            "dram_plus_io_gbps": self.dram_plus_io_gbps, "hbm_mbd": self.hbm_mbd,
            "transistors_bn": self.transistors_bn, "datacenter": self.datacenter,
            "hbm": self.hbm, "nonplanar": self.nonplanar, "item_type": self.item_type,
            "product": self.id or "", "family": self.family or "", "vendor_org": self.vendor_org or "",
            "origin": self.origin, "ear_scope": self.ear_scope, "subject_to_ear": self.subject_to_ear,
            "approved_designer": bool(self.approved_designer) if self.approved_designer is not None
            else self.ear_scope == "us-origin",
            "us_commercial_from": self.us_commercial_param(), "china_specific": self.china_specific,
        }

    def metrics(self) -> dict[str, Any]:
        """The figures as shown in results: values plus what they rest on."""
        out: dict[str, Any] = {}
        for k in ("tpp", "pd", "die_area_mm2", "dram_bw_gbps", "io_bidir_gbps", "hbm_mbd", "transistors_bn"):
            out[k] = getattr(self, k)
        out["dram_plus_io_gbps"] = self.dram_plus_io_gbps
        out.update(datacenter=self.datacenter, item_type=self.item_type, origin=self.origin,
                   ear_scope=self.ear_scope, family=self.family, vendor=self.vendor,
                   us_commercial_from=("never" if self.us_available is False else
                                       (self.us_commercial_from.isoformat() if self.us_commercial_from else
                                        (True if self.us_available else None))),
                   china_specific=self.china_specific)
        out["estimates"] = dict(self.estimates)
        out["basis"] = dict(self.basis)
        return out


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= CONSISTENCY_RTOL * max(abs(a), abs(b), 1e-9)


# --- building specs -----------------------------------------------------------

#: Inline spec keys and the ChipSpec field each one sets.
SPEC_KEYS: dict[str, str] = {
    "tpp": "tpp", "pd": "pd", "density": "pd", "perf_density": "pd",
    "die_area": "die_area_mm2", "die_area_mm2": "die_area_mm2", "area": "die_area_mm2",
    "dram_bw": "dram_bw_gbps", "dram_bw_gbps": "dram_bw_gbps", "mem_bw": "dram_bw_gbps", "bw": "dram_bw_gbps",
    "io": "io_bidir_gbps", "io_bidir": "io_bidir_gbps", "io_bidir_gbps": "io_bidir_gbps", "interconnect": "io_bidir_gbps",
    "hbm_mbd": "hbm_mbd", "mbd": "hbm_mbd",
    "transistors": "transistors_bn", "transistors_bn": "transistors_bn", "transistors_b": "transistors_bn",
    "datacenter": "datacenter", "dc": "datacenter", "hbm": "hbm", "nonplanar": "nonplanar",
    "item": "item_type", "item_type": "item_type",
    "vendor": "vendor", "origin": "origin", "family": "family", "ear_scope": "ear_scope", "scope": "ear_scope",
    "approved_designer": "approved_designer", "china_specific": "china_specific",
    "us_available": "us_available", "us_commercial_from": "us_available",
    "name": "name", "id": "id", "product": "id",
}
#: Dense-rate keys (TOPS or TFLOPS) and their bit lengths.
RATE_KEYS: dict[str, int] = {
    "fp4": 4, "fp8": 8, "int8": 8, "fp16": 16, "bf16": 16, "tf32": 32, "fp32": 32, "fp64": 64,
}
_BOOL_FIELDS = {"datacenter", "hbm", "nonplanar", "approved_designer", "china_specific"}
_NUM_FIELDS = {"tpp", "pd", "die_area_mm2", "dram_bw_gbps", "io_bidir_gbps", "hbm_mbd", "transistors_bn"}


def _parse_bool(key: str, v: Any) -> bool:
    if isinstance(v, bool):
        return v
    s = str(v).strip().lower()
    if s in ("true", "yes", "y", "1", "on"):
        return True
    if s in ("false", "no", "n", "0", "off"):
        return False
    raise SpecError(f"spec key {key!r}: expected true or false (got {v!r})")


def _parse_num(key: str, v: Any) -> float:
    if isinstance(v, bool):
        raise SpecError(f"spec key {key!r}: expected a number (got {v!r})")
    try:
        x = float(str(v).replace("_", "")) if not isinstance(v, (int, float)) else float(v)
    except ValueError:
        raise SpecError(f"spec key {key!r}: expected a number (got {v!r})") from None
    if x != x or x in (float("inf"), float("-inf")):
        raise SpecError(f"spec key {key!r}: expected a finite number (got {v!r})")
    if x < 0:
        raise SpecError(f"spec key {key!r}: must be >= 0 (got {v!r})")
    return x


def spec_from_mapping(data: Mapping[str, Any], *, source: str = "spec") -> ChipSpec:
    """Build a :class:`ChipSpec` from a mapping of spec keys (inline keys or YAML record).

    Keys: ``tpp, pd, die_area, dram_bw, io, hbm_mbd, transistors, datacenter, hbm,
    item (accelerator|hbm), vendor, origin, family, ear_scope, approved_designer,
    china_specific, us_available (true|false|never|YYYY-MM-DD), name, id`` and
    dense rates ``fp4, fp8, int8, fp16, bf16, tf32, fp32, fp64`` (TOPS/TFLOPS).

    >>> spec_from_mapping({"fp8": 296, "fp16": 148, "die_area": 814, "dram_bw": 4000}).tpp
    2368.0
    >>> spec_from_mapping({"tpp": 3000, "pd": 2.0, "die_area": 500})
    Traceback (most recent call last):
    ...
    suanli.policy.schema.SpecError: contradictory spec: pd=2 but tpp/die_area = 3000/500 = 6
      hint: give two of tpp, pd, die_area, or make them agree (pd = tpp / die_area)
    """
    if not data:
        raise SpecError(f"{source}: empty spec", hint="e.g. --spec tpp=3000,pd=2.0,datacenter=true")
    fields: dict[str, Any] = {}
    rates: dict[int, float] = {}
    seen: dict[str, str] = {}
    for raw_key, v in data.items():
        key = str(raw_key).strip().lower().replace("-", "_")
        if key in RATE_KEYS or key.removesuffix("_tflops").removesuffix("_tops") in RATE_KEYS:
            bits = RATE_KEYS[key.removesuffix("_tflops").removesuffix("_tops")]
            rates[bits] = max(rates.get(bits, 0.0), _parse_num(raw_key, v))
            continue
        if key not in SPEC_KEYS:
            close = difflib.get_close_matches(key, list(SPEC_KEYS) + list(RATE_KEYS), n=3, cutoff=0.6)
            raise SpecError(
                f"{source}: unknown spec key {raw_key!r}",
                hint=("did you mean: " + ", ".join(close)) if close else
                "keys: tpp, pd, die_area, dram_bw, io, hbm_mbd, transistors, datacenter, hbm, item, vendor, "
                "origin, family, us_available, china_specific, fp8, fp16, int8, fp4 ...")
        field = SPEC_KEYS[key]
        if field in seen:
            raise SpecError(f"{source}: {raw_key!r} and {seen[field]!r} both set {field}",
                            hint="give each figure once")
        seen[field] = str(raw_key)
        if field in _NUM_FIELDS:
            fields[field] = _parse_num(raw_key, v)
        elif field in _BOOL_FIELDS:
            fields[field] = _parse_bool(raw_key, v)
        elif field == "us_available":
            _set_availability(fields, raw_key, v)
        elif field == "origin":
            fields["origin"] = str(v).strip().upper()
        else:
            fields[field] = v if not isinstance(v, str) else v.strip()
    if "origin" in fields and "ear_scope" not in fields:
        fields["ear_scope"] = "us-origin" if fields["origin"] != "CN" else "domestic-cn"
    if rates:
        fields["dense_tops"] = rates
    fields.setdefault("us_available", None)
    if fields.get("item_type", "accelerator") == "accelerator" and "tpp" not in fields and not rates:
        raise SpecError(f"{source}: a chip spec needs tpp (or dense rates such as fp8=..., fp16=...)",
                        hint="e.g. --spec tpp=3000,pd=2.0,datacenter=true")
    try:
        return ChipSpec(**fields)
    except ValidationError as exc:
        err = exc.errors()[0]
        msg = str(err.get("msg", exc)).removeprefix("Value error, ")
        loc = ".".join(str(x) for x in err.get("loc", ()))
        hint = "give two of tpp, pd, die_area, or make them agree (pd = tpp / die_area)" if "pd=" in msg else None
        if "dense rates give" in msg:
            hint = "drop tpp or the rates, or make them agree (TPP = max of TOPS x bits)"
        raise SpecError(msg if not loc or loc in msg else f"{source}: {loc}: {msg}", hint=hint) from None


def _set_availability(fields: dict[str, Any], key: str, v: Any) -> None:
    if isinstance(v, dt.date):
        fields["us_available"], fields["us_commercial_from"] = True, v
        return
    s = str(v).strip().lower()
    if s in ("never", "no", "false", "0"):
        fields["us_available"] = False
    elif s in ("true", "yes", "1"):
        fields["us_available"] = True
    else:
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", s):
                raise ValueError(s)
            fields["us_commercial_from"] = dt.date.fromisoformat(s)
            fields["us_available"] = True
        except ValueError:
            raise SpecError(f"spec key {key!r}: expected true, false, never or YYYY-MM-DD (got {v!r})") from None


def parse_spec(text: str) -> ChipSpec:
    """Parse an inline spec: ``key=value`` pairs separated by commas or semicolons.

    >>> parse_spec("tpp=2368, die_area=814, dram_bw=4000, io=1028").pd > 2.9
    True
    >>> parse_spec("tpp=3000,pd=two")
    Traceback (most recent call last):
    ...
    suanli.policy.schema.SpecError: spec key 'pd': expected a number (got 'two')
    """
    text = (text or "").strip()
    if not text:
        raise SpecError("empty spec", hint="e.g. --spec tpp=3000,pd=2.0,datacenter=true")
    pairs: dict[str, str] = {}
    for part in re.split(r"[,;]\s*|\s+", text):
        if not part:
            continue
        if "=" not in part:
            raise SpecError(f"spec item {part!r} is not key=value", hint="e.g. --spec tpp=3000,pd=2.0,datacenter=true")
        k, v = part.split("=", 1)
        k = k.strip()
        if k in pairs:
            raise SpecError(f"spec key {k!r} given twice", hint="give each figure once")
        pairs[k] = v.strip()
    return spec_from_mapping(pairs, source="--spec")


def _tpp_with_basis(rates: dict[int, float], rate_est: dict[int, str], basis: dict[str, str],
                    estimates: dict[str, str]) -> float | None:
    """TPP from dense rates by bit length, recording its basis and whether it rests on an estimate."""
    tpp = tpp_from_rates(rates)
    if tpp is not None:
        best_bits = max(rates, key=lambda b: (b * rates[b], -b))
        basis["tpp"] = f"{rates[best_bits]:g} dense TOPS x {best_bits} bits"
        if best_bits in rate_est:
            estimates["tpp"] = rate_est[best_bits]
        else:
            estimates.pop("tpp", None)
    return tpp


def spec_from_accelerator(
    acc: Any,
    params: ParametersFile,
    products: ProductsFile,
) -> ChipSpec:
    """The export-control metrics of a catalog :class:`~suanli.catalog.schema.Accelerator`.

    Dense peaks (catalog fields ``*_tflops``, ``int8_tops``) give TPP with the
    bit lengths in parameters.yaml; approximate or estimate-confidence figures
    make the metrics that use them estimates. I/O is the scale-up figure (made
    bidirectional) plus the PCIe host link. Policy facts (origin, family, US
    availability) come from products.yaml.
    """
    vendor_info, product = product_facts(acc.id, acc.vendor, products)
    estimates: dict[str, str] = {}
    basis: dict[str, str] = {}
    warnings: list[str] = []
    if vendor_info is None:
        warnings.append(f"vendor {acc.vendor!r} is not in policy products.yaml; assumed US-origin (subject to the EAR)")

    rates: dict[int, float] = {}
    rate_est: dict[int, str] = {}
    for fieldname, bits in params.bit_lengths.items():
        fig = getattr(acc, fieldname, None)
        if fig is None or fig.value is None:
            continue
        if fig.value * bits > rates.get(bits, -1) * bits:
            rates[bits] = fig.value
            if fig.is_estimate:
                rate_est[bits] = f"{fieldname} {fig.value:g} is an estimate"
            else:
                rate_est.pop(bits, None)
    tpp = _tpp_with_basis(rates, rate_est, basis, estimates)

    area_fig = acc.logic_die_area_mm2
    area = area_fig.value
    if area is not None:
        basis["die_area_mm2"] = acc.die_area_basis or "catalog logic_die_area_mm2"
        if area_fig.is_estimate:
            estimates["die_area_mm2"] = f"die area ~{area:g} mm2 is an estimate ({acc.die_area_basis or 'approx'})"

    dram = acc.mem_bw_tbps.value * 1000 if acc.mem_bw_tbps.value is not None else None
    if dram is not None and acc.mem_bw_tbps.is_estimate:
        estimates["dram_bw_gbps"] = f"memory bandwidth {acc.mem_bw_tbps.value:g} TB/s is an estimate"

    io, io_reason = _io_bidir(acc)
    if io is not None:
        basis["io_bidir_gbps"] = io_reason[0]
        if io_reason[1]:
            estimates["io_bidir_gbps"] = io_reason[1]

    transistors = acc.transistors_b.value
    if transistors is not None and acc.transistors_b.is_estimate:
        estimates["transistors_bn"] = "transistor count is an estimate"

    if product is not None and product.figures:
        src = product.figures_source or "policy reference"
        for key, val in product.figures.items():
            k = key.strip().lower()
            if k in RATE_KEYS:
                bits = RATE_KEYS[k]
                old = rates.get(bits)
                rates[bits] = float(val)
                rate_est[bits] = f"{k} {val:g} dense from {src}" + (f" (catalog: {old:g})" if old is not None else "")
                continue
            field = SPEC_KEYS.get(k)
            if field == "dram_bw_gbps":
                old, dram = dram, float(val)
            elif field == "io_bidir_gbps":
                old, io = io, float(val)
                basis["io_bidir_gbps"] = f"{val:g} GB/s from {src}"
            elif field == "die_area_mm2":
                old, area = area, float(val)
                basis["die_area_mm2"] = f"{val:g} mm2 from {src}"
            elif field == "transistors_bn":
                old, transistors = transistors, float(val)
            else:
                raise SpecError(f"products.yaml {acc.id}: figure {key!r} is not a spec figure",
                                hint="use fp4, fp8, fp16, int8, dram_bw, io, die_area or transistors")
            estimates[field] = f"{val:g} from {src}" + (f" (catalog: {old:g})" if old is not None else "")
        tpp = _tpp_with_basis(rates, rate_est, basis, estimates)

    if getattr(acc, "devices_per_package", 1) > 1:
        warnings.append(f"figures are per package of {acc.devices_per_package} devices; the rules classify each IC")

    mem_type = (acc.mem_type or "").upper()
    origin = (product.origin if product and product.origin else None) or (vendor_info.origin if vendor_info else "US")
    scope = (product.ear_scope if product and product.ear_scope else None) or (
        vendor_info.ear_scope if vendor_info else "us-origin")
    datacenter = product.datacenter if product and product.datacenter is not None else True
    ucf = product.us_commercial_from if product else None
    return ChipSpec(
        id=acc.id, name=acc.name, vendor=acc.vendor,
        vendor_org=vendor_info.org if vendor_info else None,
        family=product.family if product else None,
        origin=origin, ear_scope=scope,
        approved_designer=vendor_info.approved_designer if vendor_info else None,
        category=acc.category, datacenter=datacenter,
        hbm=("HBM" in mem_type) if mem_type else None,
        dense_tops=rates, tpp=tpp, die_area_mm2=area, dram_bw_gbps=dram, io_bidir_gbps=io,
        transistors_bn=transistors,
        us_available=(False if ucf == "never" else (True if isinstance(ucf, dt.date) else None)),
        us_commercial_from=ucf if isinstance(ucf, dt.date) else None,
        china_specific=bool(product and product.china_specific),
        estimates=estimates, basis=basis, warnings=warnings,
        notes=[f"{acc.id}: {product.note}"] if product and product.note else [],
    )


def product_facts(hardware: str, vendor: str | None, products: ProductsFile) -> tuple[VendorInfo | None, ProductInfo | None]:
    """Vendor defaults and per-product policy facts for a catalog id."""
    vinfo = products.vendors.get(vendor or "")
    if vinfo is None and vendor:
        low = vendor.lower()
        for name, vi in products.vendors.items():
            if name.lower() == low or low.startswith(name.lower()):
                vinfo = vi
                break
    return vinfo, products.products.get(hardware)


def _io_bidir(acc: Any) -> tuple[float | None, tuple[str, str | None]]:
    """Scale-up (bidirectional) + PCIe; returns (GB/s, (basis, estimate reason))."""
    pcie, pcie_reason = pcie_unidir_gbps(acc.pcie_gen)
    pcie = None if pcie is None else 2 * pcie  # both directions, as the rules count I/O
    link_text = (acc.scaleup_interconnect or "").lower()
    no_fabric = link_text.startswith("none") or "pcie only" in link_text
    fig = acc.scaleup_bw_gbps
    reasons = [r for r in (pcie_reason,) if r]
    if no_fabric:
        scale = 0.0
    elif fig.value is None:
        return None, ("scale-up bandwidth unknown", None)
    else:
        scale = fig.value
        direction = acc.scaleup_bw_direction
        if direction == "unidirectional":
            scale *= 2
        elif direction in ("aggregate", "unstated"):
            reasons.append(f"scale-up {fig.value:g} GB/s direction {direction}; taken as bidirectional")
        if fig.is_estimate:
            reasons.append(f"scale-up {fig.value:g} GB/s is an estimate")
    if pcie is None:
        if acc.pcie_gen:
            reasons.append(f"PCIe {acc.pcie_gen!r} not parsed; host link left out")
        elif not no_fabric:
            reasons.append("no PCIe host link stated")
        pcie = 0.0
    total = scale + pcie
    basis = f"scale-up {scale:g} + PCIe {pcie:g} GB/s (bidirectional)"
    return total, (basis, "; ".join(reasons) or None)
