"""Classify a chip for a buyer, destination and date: ECCN, licence, review, fees, caps, Chinese access.

:func:`classify` answers "can this buyer get this chip on this date, and on
what terms": it evaluates every rule in force (US controls, letters, deals,
the Jan 2026 rule, tariffs, Chinese measures, and any scenario's changes) as
predicates over the chip's metrics and returns a :class:`Classification` with
the rules applied, their citations, and the distance to every threshold.

Evaluation order: classification tiers give the ECCN; then rules apply in
stage order (licence, end-user, levy, import) and, within a stage, in order
of their effective date, so a later rule overrides an earlier one for the
items it covers. End-user controls (Entity List, Affiliates Rule) come after
the item-based licence policies, so no review-policy relaxation reaches a
listed buyer. ``tighten`` effects only make the outcome stricter; ``set`` effects
(the Aug 2025 deal, the Jan 2026 case-by-case rule) replace it.

>>> c = classify("h20", "CN", "2025-09-01")
>>> c.license_required, c.review, c.fee_fraction
(True, 'case_by_case', 0.15)
>>> m = next(m for m in c.margins if m.param == "tpp" and m.threshold == 2400)
>>> m.value, m.margin                   # H20: 296 x 8 = 2,368, 32 under the 2,400 line
(2368.0, -32.0)
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from suanli.errors import UnknownIdError
from suanli.policy.metrics import ChipSpec, parse_spec, spec_from_accelerator, spec_from_mapping
from suanli.policy.regimes import OneOf, RuleSet, RuleVersion, buyer_matches, compare, dest_matches, evaluate, load_rules
from suanli.policy.schema import (
    ACCESS_ORDER,
    REVIEW_ORDER,
    AllOf,
    AnyOf,
    Access,
    Buyer,
    Cond,
    Country,
    Effect,
    NoRuleError,
    Review,
    SpecError,
    iter_conds,
)

_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")

#: Rule statuses that are facts; anything else gets a warning when applied.
SETTLED_STATUSES = {"in_force", "superseded", "implemented"}


# =============================================================================
# Result records
# =============================================================================


class _Result(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def to_dict(self) -> dict:
        return self.model_dump(mode="json")


class Margin(_Result):
    """Distance from the chip's value to one threshold: ``margin = value - threshold``.

    Negative means below the line (the H20's TPP is 32 under 2,400: margin -32).
    """

    rule: str
    where: str
    param: str
    op: str
    threshold: float
    value: float | None
    margin: float | None
    met: bool | None
    unit: str | None = None
    estimate: bool = False
    confidence: str
    note: str | None = None


class RuleRef(_Result):
    """A rule that applied, how, and where it comes from.

    A rule can appear more than once (e.g. the Oct 2023 rule classifies the
    item, then sets the licence policy); ``role`` says what each entry did:
    ``classification`` (gave the ECCN), ``not-controlled`` (tested, no tier
    met), ``licence`` (licence requirement or review policy), ``end-user``
    (Entity List / Affiliates Rule), ``levy`` (fee or tariff), ``china-import``
    (a Chinese measure), ``conditions`` (conditions or notes only),
    ``no-change`` (matched, but the outcome was already as strict) or
    ``overridden`` (a relaxation that a later, stricter rule took away).
    """

    id: str
    name: str
    side: str
    kind: str
    status: str
    confidence: str
    citation: str | None
    sources: list[str]
    effective_from: dt.date | None
    applied_as: str
    role: str = "licence"
    effect: str
    scenario: list[str] = Field(default_factory=list)


class FeeItem(_Result):
    rule: str
    fraction: float
    base: str
    mechanism: str | None = None


class ChinaAccess(_Result):
    """The Chinese side: can this buyer type bring in and use the chip (with the measures that decide it)."""

    status: Access = "allowed"
    measures: list[str] = Field(default_factory=list)
    conditions: list[str] = Field(default_factory=list)
    power_subsidy_fraction: float = 0.0


class Classification(_Result):
    """The answer for one chip, destination, buyer and date (see module docstring)."""

    hardware: str | None
    name: str | None = None
    destination: str
    date: dt.date
    buyer: str
    scenarios: list[str] = Field(default_factory=list)
    eccn: str | None
    eccn_if_subject_to_ear: str | None = None
    license_required: bool
    review: Review
    license_exception: str | None = None
    fee_fraction: float
    fees: list[FeeItem] = Field(default_factory=list)
    volume_cap: str | None = None
    conditions: list[str] = Field(default_factory=list)
    china_access: ChinaAccess
    rules: list[RuleRef] = Field(default_factory=list)
    margins: list[Margin] = Field(default_factory=list)
    metrics: dict[str, Any] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)

    @property
    def severity(self) -> tuple[int, int]:
        """US-side strictness: (review rank, licence required). Larger is stricter."""
        return REVIEW_ORDER.index(self.review), int(self.license_required)

    def signature(self) -> tuple:
        """What changes count as a change of outcome (for timelines)."""
        return (self.eccn, self.license_required, self.review, self.license_exception, self.fee_fraction,
                self.volume_cap, self.china_access.status)

    def to_frame(self):
        """One row: the outcome fields (rules and margins as counts)."""
        import pandas as pd

        d = self.to_dict()
        row = {k: d[k] for k in ("hardware", "destination", "date", "buyer", "eccn", "license_required", "review",
                                 "license_exception", "fee_fraction", "volume_cap")}
        row["china_access"] = self.china_access.status
        row["rules"] = ",".join(r.id for r in self.rules)
        return pd.DataFrame([row])


# =============================================================================
# Public API
# =============================================================================


def classify(
    hardware: Any,
    destination: str = "CN",
    date: str | dt.date | None = None,
    buyer: str = "private",
    scenario: Any = None,
    *,
    rules: RuleSet | None = None,
    catalog: Any = None,
) -> Classification:
    """Classify ``hardware`` for export to ``destination`` on ``date`` for a ``buyer`` type.

    Parameters
    ----------
    hardware
        A catalog id (``"h200-sxm"``), an inline spec (``"tpp=3000,pd=2.0"``),
        a :class:`~suanli.policy.metrics.ChipSpec`, a mapping of spec keys, or
        a catalog ``Accelerator``.
    destination
        Country code or alias (``CN``, ``HK``, ``MO``, ``MY``, ``china``).
    date
        ``YYYY-MM-DD`` or a date. Dates before the first rule raise
        :class:`~suanli.policy.schema.NoRuleError`.
    buyer
        ``private``, ``state-funded``, ``soe``, ``foreign-hq``, ``entity-listed``
        or ``listed-affiliate`` (buyers.yaml).
    scenario
        None, a built-in scenario name (``safe-chips-act``, optionally
        ``@YYYY-MM-DD``), a scenario YAML path, a ``Scenario``, or a list of these.

    Returns
    -------
    Classification
        ``eccn``, ``license_required``, ``review``, ``fee_fraction``,
        ``volume_cap``, ``conditions``, ``china_access``, ``rules`` (with
        citations), ``margins`` and ``warnings``.

    Examples
    --------
    >>> classify("h20", "CN", "2024-06-01").license_required
    False
    >>> c = classify("h200-sxm", "CN", "2026-03-01")
    >>> c.review, c.fee_fraction, c.eccn
    ('case_by_case', 0.25, '3A090.a.1')
    """
    from suanli.policy.scenarios import resolve_scenarios

    base = rules or load_rules()
    d = parse_date(date)
    code, country = base.destination(destination)
    b = base.buyer(buyer)
    check_date(d, base)
    spec, system_id = resolve_spec(hardware, base, catalog)
    rs = resolve_scenarios(base, scenario)
    return evaluate_spec(spec, code, country, buyer, b, d, rs, system_id=system_id)


def parse_date(value: str | dt.date | None) -> dt.date:
    """A date from ``YYYY-MM-DD`` (or a ``date``); errors say how to write it."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if value is None:
        raise SpecError("a date is required", hint="give --date YYYY-MM-DD")
    text = str(value).strip()
    # Strict: exactly YYYY-MM-DD (fromisoformat alone also takes 20260301 and 2026-W09-7).
    if not _DATE_RE.fullmatch(text):
        raise SpecError(f"not a date: {value!r}", hint="write dates as YYYY-MM-DD, e.g. 2026-03-01")
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise SpecError(f"not a date: {value!r} ({exc})", hint="write dates as YYYY-MM-DD, e.g. 2026-03-01") from None


def check_date(d: dt.date, rules: RuleSet) -> None:
    """Raise :class:`NoRuleError` for a date before the first advanced-computing rule."""
    if d < rules.coverage_from:
        first = [v.rule for v in rules.versions if v.start == rules.coverage_from]
        name = f" ({first[0].id}, {first[0].citation})" if first else ""
        raise NoRuleError(
            f"no rule: no advanced-computing export rule was in force on {d.isoformat()}; "
            f"the first took effect {rules.coverage_from.isoformat()}{name}",
            hint=f"ask about a date on or after {rules.coverage_from.isoformat()}")


def resolve_spec(hardware: Any, rules: RuleSet, catalog: Any = None) -> tuple[ChipSpec, str | None]:
    """Turn a catalog id, inline spec, mapping or record into a :class:`ChipSpec`.

    Returns ``(spec, system_id)``; ``system_id`` is set when a rack-scale system
    was asked for and its chip is classified instead (ECCN 4A090 for 3A090).
    """
    if isinstance(hardware, ChipSpec):
        return hardware, None
    if isinstance(hardware, Mapping):
        return spec_from_mapping(hardware), None
    if isinstance(hardware, str) and "=" in hardware:
        return parse_spec(hardware), None
    if isinstance(hardware, str):
        if catalog is None:
            from suanli.catalog import get_catalog

            catalog = get_catalog()
        try:
            acc = catalog.accelerator(hardware)
        except UnknownIdError:
            systems = getattr(catalog, "systems", {}) or {}
            if hardware in systems and getattr(systems[hardware], "hardware", None):
                spec, _ = resolve_spec(systems[hardware].hardware, rules, catalog)
                return spec, hardware
            raise
    else:
        acc = hardware
    vocab = rules.vocab
    if getattr(acc, "category", "chip") == "system":
        prod = vocab.products.products.get(acc.id)
        if prod is None or not prod.system_of:
            raise SpecError(f"{acc.id!r} is a system; the rules classify the IC inside it",
                            hint="classify its chip id instead, or add `system_of` to policy products.yaml")
        if catalog is None:
            from suanli.catalog import get_catalog

            catalog = get_catalog()
        spec = spec_from_accelerator(catalog.accelerator(prod.system_of), vocab.parameters, vocab.products)
        return spec, acc.id
    return spec_from_accelerator(acc, vocab.parameters, vocab.products), None


# =============================================================================
# The engine
# =============================================================================


class _State:
    __slots__ = ("eccn", "license_required", "review", "exception", "conditions", "caps", "fees", "facts",
                 "access", "access_measures", "cn_conditions", "subsidy", "pathways")

    def __init__(self) -> None:
        self.eccn: str | None = ""
        self.license_required = False
        self.review = "none"
        self.exception: str | None = None
        self.conditions: list[str] = []
        self.caps: list[str] = []
        self.fees: list[FeeItem] = []
        self.facts: dict[str, Any] = {"us_import": False}
        self.access = "allowed"
        self.access_measures: list[str] = []
        self.cn_conditions: list[str] = []
        self.subsidy = 0.0
        #: Relaxations (``mode: set`` effects) in force: what each added, so a stricter later rule can undo it.
        self.pathways: list[dict[str, Any]] = []


def evaluate_spec(
    spec: ChipSpec,
    dest_code: str,
    country: Country,
    buyer_id: str,
    buyer: Buyer,
    date: dt.date,
    rs: RuleSet,
    *,
    system_id: str | None = None,
    with_margins: bool = True,
) -> Classification:
    """The engine behind :func:`classify`, on resolved inputs (pure; used by timeline and thresholds)."""
    vocab = rs.vocab
    base = spec.params()
    st = _State()
    warnings = list(spec.warnings)
    notes: list[str] = list(spec.notes)
    refs: list[RuleRef] = []
    margins: dict[tuple, Margin] = {}
    unconfirmed: list[str] = []

    def get(name: str) -> Any:
        name = vocab.canonical(name)
        if name == "date":
            return date
        if name == "eccn":
            return st.eccn
        if name == "license_required":
            return st.license_required
        if name == "review":
            return st.review
        if name in st.facts:
            return st.facts[name]
        return base.get(name)

    active = rs.active(date)

    # --- 1. classification: the ECCN ------------------------------------------
    chosen: tuple[str, bool, RuleVersion, Any] | None = None
    undecided: list[str] = []
    cleared: list[RuleVersion] = []
    for v in active:
        r = v.rule
        if not r.classification:
            continue
        app = evaluate(r.applies_to, get)
        if app is False:
            continue
        matched = False
        for t in r.classification:
            if with_margins:
                _margins(margins, r, f"tier {t.eccn}", t.when, get, spec, vocab)
            res = evaluate(t.when, get)
            if res is True and app is True:
                if chosen is None or _eccn_rank(t.eccn, t.presumption) < _eccn_rank(chosen[0], chosen[1]):
                    chosen = (t.eccn, t.presumption, v, t)
                matched = True
                break
            if res is None or (res is True and app is None):
                undecided.append(f"{t.eccn} ({r.id}: {_unknowns(t.when, get) or _unknowns(r.applies_to, get)} unknown)")
        if (not matched and app is True and not any(t.presumption for t in r.classification)
                and any(_gates(t.when, get, vocab) is not False for t in r.classification)):
            cleared.append(v)
    if chosen is not None:
        st.eccn = chosen[0]
        r = chosen[2].rule
        refs.append(_ref(chosen[2], f"tier {chosen[0]}",
                         f"classified {chosen[0]}" + (" (presumption, rebuttable)" if chosen[1] else ""),
                         role="classification"))
        if undecided:
            warnings.append("ECCN may be stricter than " + chosen[0] + ": undecided " + "; ".join(undecided))
    elif undecided:
        st.eccn = OneOf(sorted({u.split(" ")[0] for u in undecided}) + [""])
        warnings.append("cannot decide the ECCN: " + "; ".join(undecided))
    if chosen is None and not undecided:
        for v in cleared:
            refs.append(_ref(v, "classification", "no tier met: not controlled under this rule", role="not-controlled"))

    if not spec.subject_to_ear:
        as_if = _as_if_eccn(active, get, base)
        notes.append(
            f"{spec.label} is {spec.ear_scope} (origin {spec.origin}): US export licensing does not govern a sale "
            "inside China; US rules reach it through the Entity List and GP10 guidance"
            + (f"; if it were subject to the EAR it would be {as_if}" if as_if else ""))
    else:
        as_if = None
    if country.domestic_us:
        notes.append("destination is the United States: not an export, so US export licensing does not apply")

    # --- 2. provisions, stage by stage ----------------------------------------
    for v in active:
        r = v.rule
        if not r.provisions:
            continue
        if r.side == "us" and r.stage in ("license", "end_user") and country.domestic_us:
            continue
        app = evaluate(r.applies_to, get)
        if app is False:
            continue
        if app is None:
            warnings.append(f"cannot tell whether {r.id} applies: {_unknowns(r.applies_to, get)} unknown")
            continue
        for p in r.provisions:
            dests = p.destinations if p.destinations is not None else r.destinations
            buyers = p.buyers if p.buyers is not None else r.buyers
            if not dest_matches(dests, dest_code, buyer, vocab) or not buyer_matches(buyers, buyer_id, buyer):
                continue
            if with_margins:
                _margins(margins, r, f"provision {p.id}", p.when, get, spec, vocab)
            res = evaluate(p.when, get)
            if res is None:
                warnings.append(f"{r.id} ({p.id}): cannot decide, {_unknowns(p.when, get)} unknown; provision skipped")
                continue
            if res:
                text, undone = _apply(st, p.effect, r.id, r.side, f"provision {p.id}")
                refs.append(_ref(v, f"provision {p.id}", text, role=_role(r, p.effect, text)))
                for pw in undone:
                    for ref in refs:
                        if ref.id == pw["rule"] and ref.applied_as == pw["applied_as"]:
                            ref.role = "overridden"
                            ref.effect += f" [overridden by {r.id}]"
                    notes.append(
                        f"{pw['rule']} ({pw['review']}) no longer applies: {r.id} makes the review {st.review}; "
                        "its volume cap, fees, facts and conditions are dropped"
                        + (f" ({', '.join(pw['dropped'])})" if pw["dropped"] else ""))
                if r.confidence in ("reported", "estimate"):
                    unconfirmed.append(r.id)
                if r.status not in SETTLED_STATUSES and r.status != "in_force_reported":
                    by = [x for x in v.changed_by if x in rs.applied]
                    warnings.append(f"{r.id} has status {r.status}"
                                    + (f" (applied because scenario {', '.join(by)} changes it)" if by else ""))
                break

    if st.license_required:
        st.exception = None
    fee_fraction = round(sum(f.fraction for f in st.fees), 6)
    if st.review == "denial" and fee_fraction:
        notes.append(f"fees ({fee_fraction:.0%}) are moot: the licence is denied, so none are charged")
        fee_fraction = 0.0
    if unconfirmed:
        warnings.append("applied from reported or estimated sources, not officially confirmed: "
                        + ", ".join(_dedupe(unconfirmed)))
    eccn_out = st.eccn if isinstance(st.eccn, str) and st.eccn else None
    if system_id and eccn_out:
        for old, new in vocab.parameters.system_eccn_map.items():
            if eccn_out.startswith(old):
                eccn_out = new + eccn_out[len(old):]
                notes.append(f"{system_id} is a system of {spec.label}: its ECCN follows the chip ({st.eccn} -> {eccn_out})")
                break
    if date > rs.as_of:
        warnings.append(f"{date.isoformat()} is after the data's as-of date {rs.as_of.isoformat()}: rules as known then")
    for sid in rs.applied:
        starts = [v.start for v in rs.versions if sid in v.changed_by and v.start is not None]
        if starts and date < min(starts):
            notes.append(f"scenario {sid} takes effect from {min(starts).isoformat()}, after {date.isoformat()}; "
                         f"use {sid}@{date.isoformat()} to apply it from this date")

    return Classification(
        hardware=system_id or spec.id, name=spec.name, destination=dest_code, date=date, buyer=buyer_id,
        scenarios=list(rs.applied), eccn=eccn_out, eccn_if_subject_to_ear=as_if,
        license_required=st.license_required, review=st.review, license_exception=st.exception,
        fee_fraction=fee_fraction, fees=st.fees,
        volume_cap="; ".join(st.caps) or None, conditions=st.conditions,
        china_access=ChinaAccess(status=st.access, measures=st.access_measures, conditions=st.cn_conditions,
                                 power_subsidy_fraction=st.subsidy),
        rules=refs, margins=list(margins.values()), metrics=spec.metrics(),
        warnings=_dedupe(warnings), notes=notes,
    )


def _eccn_rank(eccn: str, presumption: bool) -> tuple[str, bool]:
    """Order ECCN candidates: the stricter paragraph first (.a before .b before .c), then a match on
    the item's own figures before a rebuttable presumption of the same paragraph.

    >>> sorted([("3A090.b.1", False), ("3A090.a", True), ("3A090.a.1", False)], key=lambda c: _eccn_rank(*c))
    [('3A090.a.1', False), ('3A090.a', True), ('3A090.b.1', False)]
    """
    parts = eccn.split(".")
    return (parts[1] if len(parts) > 1 else "~"), presumption


def _apply(st: _State, e: Effect, rule_id: str, side: str, applied_as: str = "") -> tuple[str, list[dict]]:
    """Apply one effect to the running state.

    Returns a short description and the relaxations (``mode: set`` effects)
    that this effect undoes: when a later rule makes the review stricter than
    a relaxation granted (an Entity List buyer after the Jan 2026 case-by-case
    rule, a law mandating denial), the relaxation's route is closed, so its
    volume cap, fees, facts (e.g. the US import that triggers the s.232
    tariff) and conditions go with it.
    """
    parts: list[str] = []
    before = (st.license_required, st.review)
    n_caps, n_fees, n_cond = len(st.caps), len(st.fees), len(st.conditions)
    facts_before = {k: st.facts.get(k) for k in e.facts}
    if e.mode == "set":
        if e.license_required is not None:
            st.license_required = e.license_required
        if e.review is not None:
            st.review = e.review
        st.exception = e.license_exception
    else:
        if e.license_required:
            st.license_required = True
        if e.review is not None and REVIEW_ORDER.index(e.review) > REVIEW_ORDER.index(st.review):
            st.review = e.review
        if e.license_exception and not st.license_required:
            st.exception = e.license_exception
    if e.license_required is not None or e.review is not None:
        lic = "licence required" if e.license_required else (
            f"no licence ({e.license_exception})" if e.license_exception else "no licence")
        parts.append(f"{lic}; review {e.review or 'unchanged'}" + (" (replaces earlier review)" if e.mode == "set" else ""))
        if (st.license_required, st.review) == before and e.mode == "tighten":
            parts[-1] += " [no change: already as strict]"
    if e.fee is not None:
        st.fees.append(FeeItem(rule=rule_id, fraction=e.fee.fraction, base=e.fee.base, mechanism=e.fee.mechanism))
        parts.append(f"fee {e.fee.fraction:.0%} of {e.fee.base}")
    if e.volume_cap:
        if e.volume_cap not in st.caps:
            st.caps.append(e.volume_cap)
        parts.append("volume cap")
    if e.facts:
        st.facts.update(e.facts)
    if e.china_access is not None:
        rank, cur = ACCESS_ORDER.index(e.china_access), ACCESS_ORDER.index(st.access)
        if rank > cur:
            st.access, st.access_measures = e.china_access, [rule_id]
        elif rank == cur and rank > 0:
            st.access_measures.append(rule_id)
        parts.append(f"china access {e.china_access}")
    if e.power_subsidy_fraction is not None:
        st.subsidy = max(st.subsidy, e.power_subsidy_fraction)
        parts.append(f"power subsidy up to {e.power_subsidy_fraction:.0%}")
    target = st.cn_conditions if side == "cn" else st.conditions
    for c in e.conditions:
        if c not in target:
            target.append(c)
    if e.conditions and not parts:
        parts.append("conditions")

    undone: list[dict] = []
    if e.mode == "set" and e.review is not None and side != "cn":
        st.pathways.append({
            "rule": rule_id, "applied_as": applied_as, "review": e.review,
            "caps": st.caps[n_caps:], "fees": st.fees[n_fees:], "conditions": st.conditions[n_cond:],
            "facts": facts_before,
        })
    elif e.mode == "tighten" and st.pathways:
        rank = REVIEW_ORDER.index(st.review)
        keep = []
        for pw in st.pathways:
            if rank > REVIEW_ORDER.index(pw["review"]):
                dropped = []
                st.caps[:] = [c for c in st.caps if c not in pw["caps"]]
                if pw["caps"]:
                    dropped.append("volume cap")
                st.fees[:] = [f for f in st.fees if all(f is not g for g in pw["fees"])]
                if pw["fees"]:
                    dropped.append("fee " + ", ".join(f"{f.fraction:.0%}" for f in pw["fees"]))
                st.conditions[:] = [c for c in st.conditions if c not in pw["conditions"] or c in e.conditions]
                for k, old in pw["facts"].items():
                    if old is None:
                        st.facts.pop(k, None)
                    else:
                        st.facts[k] = old
                    if k == "us_import":
                        st.facts.setdefault("us_import", False)
                pw["dropped"] = dropped
                undone.append(pw)
            else:
                keep.append(pw)
        st.pathways = keep
    return "; ".join(parts) or "no effect", undone


def _role(r: Any, e: Effect, text: str) -> str:
    """What a provision's entry did, for :class:`RuleRef` (see its docstring)."""
    if "[no change" in text:
        return "no-change"
    if r.side == "cn":
        return "china-import"
    if r.stage == "levy" or (e.fee is not None and e.license_required is None and e.review is None):
        return "levy"
    if e.license_required is not None or e.review is not None:
        return "end-user" if r.stage == "end_user" else "licence"
    if e.fee is not None:
        return "levy"
    return "conditions"


def _ref(v: RuleVersion, applied_as: str, effect: str, role: str = "licence") -> RuleRef:
    r = v.rule
    return RuleRef(id=r.id, name=r.name, side=r.side, kind=r.kind, status=r.status, confidence=r.confidence,
                   citation=r.citation, sources=list(r.sources), effective_from=v.start, applied_as=applied_as,
                   role=role, effect=effect, scenario=[s for s in v.changed_by if not s.startswith(("us-", "cn-"))])


def _as_if_eccn(active: Sequence[RuleVersion], get: Any, base: Mapping[str, Any]) -> str | None:
    """ECCN the item would get if it were subject to the EAR (for domestic Chinese parts)."""
    def get2(name: str) -> Any:
        if name == "subject_to_ear":
            return True
        if name == "ear_scope":
            return "us-origin"
        return get(name)

    for v in active:
        r = v.rule
        if not r.classification or evaluate(r.applies_to, get2) is not True:
            continue
        for t in r.classification:
            if evaluate(t.when, get2) is True:
                return t.eccn
    return None


def _unknowns(crit: Any, get: Any) -> str:
    names = sorted({c.param for c in iter_conds(crit) if get(c.param) is None or isinstance(get(c.param), OneOf)})
    return ", ".join(names) or "a value"


def _is_numeric_metric(c: Cond, vocab: Any) -> bool:
    pdef = vocab.parameters.parameters.get(vocab.canonical(c.param))
    return (pdef is not None and pdef.kind == "metric" and pdef.type == "number"
            and isinstance(c.value, (int, float)) and not isinstance(c.value, bool))


def _gates(crit: Any, get: Any, vocab: Any) -> bool | None:
    """Evaluate only the non-numeric gates of a criteria tree (numeric metric tests count as met)."""
    if crit is None:
        return True
    if isinstance(crit, Cond):
        return True if _is_numeric_metric(crit, vocab) else evaluate(crit, get)
    if isinstance(crit, AllOf):
        res = [_gates(c, get, vocab) for c in crit.all_of]
        return False if any(r is False for r in res) else (None if any(r is None for r in res) else True)
    if isinstance(crit, AnyOf):
        res = [_gates(c, get, vocab) for c in crit.any_of]
        return True if any(r is True for r in res) else (None if any(r is None for r in res) else False)
    return True


def _margins(out: dict, r: Any, where: str, crit: Any, get: Any, spec: ChipSpec, vocab: Any) -> None:
    """Distance to each numeric line of a tier or provision whose non-numeric gates pass."""
    if _gates(crit, get, vocab) is False:
        return
    for c in iter_conds(crit):
        name = vocab.canonical(c.param)
        pdef = vocab.parameters.parameters.get(name)
        if pdef is None or pdef.kind != "metric" or pdef.type != "number":
            continue
        if isinstance(c.value, bool) or not isinstance(c.value, (int, float)):
            continue
        key = (r.id, name, c.op, float(c.value))
        if key in out:
            continue
        val = get(name)
        val = float(val) if val is not None else None
        est = name in spec.estimates or (name == "pd" and "die_area_mm2" in spec.estimates) or (
            name == "dram_plus_io_gbps" and ("dram_bw_gbps" in spec.estimates or "io_bidir_gbps" in spec.estimates))
        out[key] = Margin(
            rule=r.id, where=where, param=name, op=c.op, threshold=float(c.value), value=val,
            margin=None if val is None else round(val - float(c.value), 6),
            met=compare(val, c.op, c.value), unit=pdef.unit, estimate=est,
            confidence=c.confidence or r.confidence, note=c.note)


def _dedupe(items: Sequence[str]) -> list[str]:
    seen: dict[str, None] = {}
    for i in items:
        seen.setdefault(i, None)
    return list(seen)


__all__ = [
    "ChinaAccess", "Classification", "FeeItem", "Margin", "RuleRef", "check_date", "classify", "evaluate_spec",
    "parse_date", "resolve_spec",
]
