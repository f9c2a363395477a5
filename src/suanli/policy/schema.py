"""Typed records of the policy data: rules, criteria, effects, scenarios, destinations.

Every data file under ``suanli/policy/data`` and every user scenario file is
validated against these pydantic models (``extra='forbid'``: an unknown key is
an error, not a silent no-op). Dates are :class:`datetime.date`. Every rule
carries its ``status``, ``confidence``, ``citation`` and ``sources``.

Criteria are small trees::

    {param: tpp, op: ">=", value: 4800}
    {all_of: [cond, ...]}   {any_of: [cond, ...]}   {not: cond}

>>> c = Cond(param="tpp", op=">=", value=4800)
>>> c.param, c.op, c.value
('tpp', '>=', 4800)
>>> REVIEW_ORDER.index("case_by_case") < REVIEW_ORDER.index("presumption_of_denial")
True
"""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal, Union, get_args

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator, model_validator

from suanli.errors import SuanliError, UnknownIdError

# --- vocabularies -------------------------------------------------------------

Review = Literal[
    "none", "notification", "presumption_of_approval", "case_by_case", "presumption_of_denial", "denial",
]
#: Review policies from most to least permissive.
REVIEW_ORDER: tuple[str, ...] = get_args(Review)

Access = Literal["allowed", "restricted", "prohibited"]
#: Chinese-side access from most to least permissive.
ACCESS_ORDER: tuple[str, ...] = get_args(Access)

Status = Literal[
    "in_force", "superseded", "revoked", "proposed", "not_enforced", "lapsed_in_practice",
    "implemented", "in_force_reported", "hypothetical", "reported_draft", "passed_house",
    "scheduled_reactivation_unverified", "suspended",
]
Confidence = Literal["primary", "secondary", "reported", "estimate"]
Op = Literal[">=", ">", "<", "<=", "==", "!=", "in", "not_in", "startswith"]
Stage = Literal["license", "end_user", "levy", "import"]
#: Order in which stages are evaluated.
STAGE_ORDER: tuple[str, ...] = get_args(Stage)
RuleKind = Literal[
    "control", "licence_letter", "informal_deal", "announcement", "licence_policy", "tariff",
    "guidance", "entity_list", "executive_decision", "legislation", "draft_rule",
    "import_measure", "subsidy", "informational",
]
EarScope = Literal["us-origin", "foreign-fdp", "domestic-cn"]

SLUG = r"^[a-z0-9][a-z0-9._\-]*$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# --- criteria -----------------------------------------------------------------

Scalar = Union[bool, int, float, dt.date, str]


class Cond(_Model):
    """One test of a parameter against a threshold: ``{param, op, value}``."""

    param: str
    op: Op
    value: Union[Scalar, list[Scalar]]
    note: str | None = None
    confidence: Confidence | None = None

    @model_validator(mode="after")
    def _value_shape(self) -> Cond:
        if self.op in ("in", "not_in") and not isinstance(self.value, list):
            raise ValueError(f"op {self.op!r} needs a list value (got {self.value!r})")
        if self.op not in ("in", "not_in") and isinstance(self.value, list):
            raise ValueError(f"op {self.op!r} needs a single value, not a list")
        if self.op == "startswith" and not isinstance(self.value, str):
            raise ValueError("op 'startswith' needs a string value")
        return self


class AllOf(_Model):
    all_of: list[Criteria] = Field(min_length=1)


class AnyOf(_Model):
    any_of: list[Criteria] = Field(min_length=1)


class Not(_Model):
    not_: Criteria = Field(alias="not")


def _criteria_tag(v: Any) -> str | None:
    if isinstance(v, dict):
        for key in ("all_of", "any_of", "not"):
            if key in v:
                return key
        return "cond"
    if isinstance(v, AllOf):
        return "all_of"
    if isinstance(v, AnyOf):
        return "any_of"
    if isinstance(v, Not):
        return "not"
    if isinstance(v, Cond):
        return "cond"
    return None


Criteria = Annotated[
    Union[
        Annotated[Cond, Tag("cond")],
        Annotated[AllOf, Tag("all_of")],
        Annotated[AnyOf, Tag("any_of")],
        Annotated[Not, Tag("not")],
    ],
    Discriminator(_criteria_tag),
]
for _m in (AllOf, AnyOf, Not):
    _m.model_rebuild()


def iter_conds(c: Any):
    """Every :class:`Cond` in a criteria tree, depth first.

    >>> crit = AllOf(all_of=[Cond(param="tpp", op=">=", value=1), Cond(param="pd", op="<", value=2)])
    >>> [x.param for x in iter_conds(crit)]
    ['tpp', 'pd']
    """
    if c is None:
        return
    if isinstance(c, Cond):
        yield c
    elif isinstance(c, AllOf):
        for x in c.all_of:
            yield from iter_conds(x)
    elif isinstance(c, AnyOf):
        for x in c.any_of:
            yield from iter_conds(x)
    elif isinstance(c, Not):
        yield from iter_conds(c.not_)


# --- destinations, effects, rules --------------------------------------------


class DestGroup(_Model):
    """Destinations matching any token in ``any_of`` but none in ``except``."""

    any_of: list[str] = Field(min_length=1)
    except_: list[str] = Field(default_factory=list, alias="except")


DestSelector = Union[str, DestGroup]


class Fee(_Model):
    """A levy or tariff as a fraction of the price (0.25 = 25%)."""

    fraction: float = Field(ge=0, le=1)
    base: str
    mechanism: str | None = None


class Effect(_Model):
    """What a provision does when it matches.

    ``mode: tighten`` (default) only adds a licence requirement or makes the
    review stricter; ``mode: set`` replaces the licence requirement and review
    (a relaxation such as the Jan 2026 case-by-case policy).
    """

    mode: Literal["tighten", "set"] = "tighten"
    license_required: bool | None = None
    review: Review | None = None
    license_exception: str | None = None
    fee: Fee | None = None
    volume_cap: str | None = None
    conditions: list[str] = Field(default_factory=list)
    china_access: Access | None = None
    power_subsidy_fraction: float | None = Field(None, ge=0, le=1)
    facts: dict[str, Union[bool, float, str]] = Field(default_factory=dict)


class Provision(_Model):
    """One branch of a rule: when it matches (item, destination, buyer), its effect."""

    id: str = Field(pattern=SLUG)
    when: Criteria | None = None
    destinations: list[DestSelector] | None = None
    buyers: list[str] | None = None
    effect: Effect
    note: str | None = None


class Tier(_Model):
    """A classification tier: the ECCN an item gets when ``when`` holds."""

    eccn: str
    when: Criteria
    presumption: bool = False
    note: str | None = None


class Suspension(_Model):
    from_: dt.date = Field(alias="from")
    to: dt.date | None = None
    reason: str

    @model_validator(mode="after")
    def _order(self) -> Suspension:
        if self.to is not None and self.to < self.from_:
            raise ValueError(f"suspension ends ({self.to}) before it starts ({self.from_})")
        return self


class HistoryEvent(_Model):
    date: dt.date
    event: str


class Rule(_Model):
    """A regime, measure or proposed law, with dates, scope, criteria and effects."""

    id: str = Field(pattern=SLUG)
    name: str
    side: Literal["us", "cn"]
    kind: RuleKind
    stage: Stage | None = None
    jurisdiction: str
    issuer: str | None = None
    instrument: str | None = None
    citation: str | None = None
    status: Status
    confidence: Confidence
    announced: dt.date | None = None
    effective_from: dt.date | None = None
    effective_to: dt.date | None = None
    compliance_from: dt.date | None = None
    lag_days: int = Field(0, ge=0)
    date_precision: Literal["day", "month"] = "day"
    suspensions: list[Suspension] = Field(default_factory=list)
    destinations: list[DestSelector] = Field(default_factory=lambda: ["*"])
    buyers: list[str] = Field(default_factory=lambda: ["*"])
    applies_to: Criteria | None = None
    classification: list[Tier] = Field(default_factory=list)
    provisions: list[Provision] = Field(default_factory=list)
    details: dict[str, Any] = Field(default_factory=dict)
    history: list[HistoryEvent] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    sources: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> Rule:
        if self.stage is None:
            object.__setattr__(self, "stage", "license" if self.side == "us" else "import")
        if self.effective_from and self.effective_to and self.effective_to < self.effective_from:
            raise ValueError(f"effective_to {self.effective_to} is before effective_from {self.effective_from}")
        if self.effective_from is None and self.status not in ("proposed", "passed_house", "reported_draft", "hypothetical"):
            raise ValueError(f"status {self.status!r} needs an effective_from date (only proposed rules may omit it)")
        ids = [p.id for p in self.provisions]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"duplicate provision ids: {', '.join(dup)}")
        for p in self.provisions:
            e = p.effect
            if self.side == "cn" and (e.license_required is not None or e.review is not None):
                raise ValueError(f"provision {p.id!r}: a Chinese measure cannot set a US licence or review (use china_access)")
            if self.side == "us" and e.china_access is not None:
                raise ValueError(f"provision {p.id!r}: a US rule cannot set china_access")
        return self

    @property
    def proposed(self) -> bool:
        return self.effective_from is None


class Change(_Model):
    """One scenario or amendment step: enact, revoke, patch or add a rule from a date."""

    op: Literal["enact", "revoke", "patch", "add"]
    target: str | None = None
    from_: dt.date = Field(alias="from")
    set: dict[str, Any] = Field(default_factory=dict)
    fee_fraction: float | None = Field(None, ge=0, le=1)
    review: Review | None = None
    rule: Rule | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _check(self) -> Change:
        if self.op == "add":
            if self.rule is None:
                raise ValueError("op 'add' needs a `rule`")
            if self.target or self.set or self.fee_fraction is not None or self.review:
                raise ValueError("op 'add' takes only `from` and `rule`")
        else:
            if not self.target:
                raise ValueError(f"op {self.op!r} needs a `target` rule id")
            if self.rule is not None:
                raise ValueError(f"op {self.op!r} does not take a `rule` (use op 'add')")
        if self.op == "patch":
            if not self.set and self.fee_fraction is None and self.review is None:
                raise ValueError("op 'patch' needs `set`, `fee_fraction` or `review`")
        elif self.set or self.fee_fraction is not None or self.review is not None:
            if self.op != "add":
                raise ValueError(f"op {self.op!r} does not take set/fee_fraction/review (use op 'patch')")
        return self


class Amendment(_Model):
    """A published change to a rule (Macau added, NAC split into NAC + ACA, ...)."""

    id: str = Field(pattern=SLUG)
    name: str
    citation: str | None = None
    status: Status
    confidence: Confidence
    changes: list[Change] = Field(min_length=1)
    notes: list[str] = Field(default_factory=list)
    sources: list[str] = Field(min_length=1)


class Scenario(_Model):
    """A named set of changes to the rules: a proposed law enacted, a licence revoked, a levy raised."""

    id: str = Field(pattern=SLUG)
    name: str
    description: str | None = None
    status: str = "user"
    changes: list[Change] = Field(min_length=1)
    notes: list[str] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)


# --- data files ---------------------------------------------------------------


class RuleFile(_Model):
    schema_version: int
    as_of: dt.date | None = None
    coverage_from: dt.date | None = None
    rules: list[Rule] = Field(default_factory=list)
    amendments: list[Amendment] = Field(default_factory=list)


class ScenarioFile(_Model):
    schema_version: int
    scenarios: list[Scenario]


class GroupDef(_Model):
    description: str
    source: str | None = None


class Country(_Model):
    name: str
    groups: list[str] = Field(default_factory=list)
    aliases: list[str] = Field(default_factory=list)
    note: str | None = None
    domestic_us: bool = False


class DestinationsFile(_Model):
    schema_version: int
    groups: dict[str, GroupDef]
    countries: dict[str, Country]

    @field_validator("countries", mode="before")
    @classmethod
    def _keys_are_codes(cls, v: Any) -> Any:
        if isinstance(v, dict):
            bad = [k for k in v if not isinstance(k, str) or len(k) != 2 or not k.isupper()]
            if bad:
                raise ValueError(f"country keys must be 2-letter codes (got {bad!r}; quote NO, YES, ON ...)")
        return v


class Buyer(_Model):
    name: str
    description: str
    hq: str | None = None
    tags: list[str] = Field(default_factory=list)


class BuyersFile(_Model):
    schema_version: int
    buyers: dict[str, Buyer]


class ParamDef(_Model):
    kind: Literal["metric", "item", "state", "context"]
    type: Literal["number", "bool", "str", "date"]
    unit: str | None = None
    description: str
    source: str | None = None
    derived: str | None = None
    values: list[str] | None = None


class ParametersFile(_Model):
    schema_version: int
    parameters: dict[str, ParamDef]
    aliases: dict[str, str] = Field(default_factory=dict)
    bit_lengths: dict[str, int]
    system_eccn_map: dict[str, str] = Field(default_factory=dict)


class VendorInfo(_Model):
    org: str
    origin: str
    ear_scope: EarScope
    approved_designer: bool = False


class ProductInfo(_Model):
    family: str | None = None
    china_specific: bool = False
    us_commercial_from: dt.date | Literal["never"] | None = None
    datacenter: bool | None = None
    system_of: str | None = None
    origin: str | None = None
    ear_scope: EarScope | None = None
    note: str | None = None
    #: Figures the export-policy reference states for this product where the catalog has none or a
    #: different one (inline spec keys: fp4, fp8, fp16, dram_bw, io, die_area, transistors). They
    #: replace the catalog's figure for classification only and are always flagged as estimates.
    figures: dict[str, float] = Field(default_factory=dict)
    figures_source: str | None = None

    @model_validator(mode="after")
    def _figures_cited(self) -> ProductInfo:
        if self.figures and not self.figures_source:
            raise ValueError("`figures` need a `figures_source` (the reference they come from)")
        return self


class ProductsFile(_Model):
    schema_version: int
    vendors: dict[str, VendorInfo]
    products: dict[str, ProductInfo]


# --- errors -------------------------------------------------------------------


class SpecError(SuanliError, ValueError):
    """A chip spec that is malformed or contradicts itself."""


class NoRuleError(SuanliError):
    """A question about a date before the first rule the data covers."""


class UnknownChoiceError(UnknownIdError):
    """An unknown destination, buyer, scenario or rule id, with close matches."""

    def __init__(self, kind: str, key: str, known, command: str) -> None:
        super().__init__(kind, key, known)
        if not self.suggestions:
            self.hint = f"run `{command}` to see the known {kind} ids"
