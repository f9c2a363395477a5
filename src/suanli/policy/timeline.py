"""Status of chips over time: every change of outcome, with the rule that caused it.

:func:`timeline` classifies each chip on every date where the rules in force
change (effective dates, amendments, expiries, suspensions, date thresholds),
and keeps the dates where the outcome (ECCN, licence, review, fee, volume cap,
Chinese access) or the set of rules applied changes.

>>> t = timeline(["h20"], "CN", "2024-01-01", "2025-12-31")
>>> [(e.date.isoformat(), e.license_required, e.fee_fraction) for e in t.chips[0].entries if e.outcome_changed]
[('2024-01-01', False, 0.0), ('2025-04-09', True, 0.0), ('2025-08-08', True, 0.15), ('2025-08-12', True, 0.15)]
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from suanli.policy.classify import Classification, evaluate_spec, parse_date, resolve_spec
from suanli.policy.regimes import RuleSet, load_rules
from suanli.policy.scenarios import resolve_scenarios
from suanli.policy.schema import SpecError


#: Prefix of the classification warning that lists rules applied from reported or estimated sources.
_UNCONFIRMED = "applied from reported or estimated sources, not officially confirmed: "


class _Result(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def to_dict(self) -> dict:
        return self.model_dump(mode="json")


class TimelineEntry(_Result):
    """The outcome from ``date`` until the next entry."""

    date: dt.date
    eccn: str | None
    license_required: bool
    review: str
    license_exception: str | None
    fee_fraction: float
    volume_cap: str | None
    china_access: str
    china_measures: list[str]
    rules: list[str]
    changes: list[str] = Field(default_factory=list)
    caused_by: list[str] = Field(default_factory=list)
    rules_added: list[str] = Field(default_factory=list)
    rules_removed: list[str] = Field(default_factory=list)
    outcome_changed: bool = True


class ChipTimeline(_Result):
    hardware: str | None
    name: str | None = None
    entries: list[TimelineEntry]
    warnings: list[str] = Field(default_factory=list)


class Timeline(_Result):
    """Status by chip and date for one destination and buyer."""

    destination: str
    buyer: str
    scenarios: list[str] = Field(default_factory=list)
    start: dt.date
    end: dt.date
    chips: list[ChipTimeline]
    notes: list[str] = Field(default_factory=list)

    def to_frame(self):
        """One row per chip and entry."""
        import pandas as pd

        rows = []
        for c in self.chips:
            for e in c.entries:
                d = e.to_dict()
                d["hardware"] = c.hardware
                for k in ("china_measures", "rules", "changes", "caused_by", "rules_added", "rules_removed"):
                    d[k] = ", ".join(d[k])
                rows.append(d)
        return pd.DataFrame(rows)


def timeline(
    hardware: Sequence[Any] | None = None,
    destination: str = "CN",
    start: str | dt.date | None = None,
    end: str | dt.date | None = None,
    buyer: str = "private",
    scenario: Any = None,
    *,
    rules: RuleSet | None = None,
    catalog: Any = None,
) -> Timeline:
    """Status of each chip for ``destination`` and ``buyer`` from ``start`` to ``end``.

    Parameters
    ----------
    hardware
        Catalog ids or specs; default: every catalog chip and card.
    start, end
        Default: the first rule's date (2022-10-07) and the data's as-of date
        ("today", 2026-11-30). A start before the first rule begins there.

    Returns
    -------
    Timeline
        Per chip, the entries where the outcome or the rules applied change;
        ``outcome_changed`` is False for entries where only the rules changed.
    """
    base = rules or load_rules()
    code, country = base.destination(destination)
    b = base.buyer(buyer)
    rs = resolve_scenarios(base, scenario)
    notes: list[str] = []
    d0 = parse_date(start) if start is not None else base.coverage_from
    d1 = parse_date(end) if end is not None else base.as_of
    if d1 < d0:
        raise SpecError(f"--to {d1.isoformat()} is before --from {d0.isoformat()}", hint="swap the dates")
    if d0 < base.coverage_from:
        notes.append(f"no rule before {base.coverage_from.isoformat()}: timeline starts there")
        d0 = base.coverage_from
        if d1 < d0:
            raise SpecError(f"no rule in force between the dates asked (first rule {base.coverage_from.isoformat()})",
                            hint=f"use --to on or after {base.coverage_from.isoformat()}")
    if hardware is None or len(hardware) == 0:
        if catalog is None:
            from suanli.catalog import get_catalog

            catalog = get_catalog()
        hardware = [a.id for a in catalog.accelerators.values() if a.category in ("chip", "card")]
    dates = [d0] + [d for d in rs.change_dates(d0, d1) if d > d0]
    chips = []
    for hw in hardware:
        spec, system_id = resolve_spec(hw, base, catalog)
        entries: list[TimelineEntry] = []
        prev: Classification | None = None
        warns: list[str] = []
        unconfirmed: dict[str, None] = {}
        for d in dates:
            c = evaluate_spec(spec, code, country, buyer, b, d, rs, system_id=system_id, with_margins=False)
            for w in c.warnings:
                if w.startswith(_UNCONFIRMED):
                    for rid in w[len(_UNCONFIRMED):].split(", "):
                        unconfirmed.setdefault(rid, None)
                elif w not in warns and "after the data's as-of date" not in w:
                    warns.append(w)
            applied = _applied(c)
            if prev is None:
                entries.append(_entry(c, applied, [], [], [], True, ["initial status"]))
            else:
                p_applied = _applied(prev)
                added = [r for r in applied if r not in p_applied]
                removed = [r for r in p_applied if r not in applied]
                changed = c.signature() != prev.signature()
                if changed or added or removed:
                    ids_added = _ids(added)
                    ids_removed = _ids(removed)
                    caused = ids_added + [i for i in ids_removed if i not in ids_added]
                    if not caused:
                        caused = [v.rule.id for v in rs.versions if d in (v.start, v.begin)
                                  and v.rule.id in {r[0] for r in applied}]
                    entries.append(_entry(c, applied, caused, ids_added, ids_removed, changed, _diff(prev, c)))
            prev = c
        if unconfirmed:
            warns.append(_UNCONFIRMED + ", ".join(unconfirmed))
        chips.append(ChipTimeline(hardware=system_id or spec.id or spec.label, name=spec.name, entries=entries,
                                  warnings=warns))
    return Timeline(destination=code, buyer=buyer, scenarios=list(rs.applied), start=d0, end=d1, chips=chips,
                    notes=notes)


def _applied(c: Classification) -> list[tuple[str, str, str]]:
    return [(r.id, r.applied_as, r.effect) for r in c.rules]


def _ids(items: Sequence[tuple[str, str, str]]) -> list[str]:
    out: dict[str, None] = {}
    for i in items:
        out.setdefault(i[0], None)
    return list(out)


def _entry(c: Classification, applied: Sequence[tuple[str, str, str]], caused: list[str], added: list[str],
           removed: list[str], changed: bool, changes: list[str]) -> TimelineEntry:
    return TimelineEntry(
        date=c.date, eccn=c.eccn, license_required=c.license_required, review=c.review,
        license_exception=c.license_exception, fee_fraction=c.fee_fraction, volume_cap=c.volume_cap,
        china_access=c.china_access.status, china_measures=list(c.china_access.measures),
        rules=_ids(applied), changes=changes, caused_by=caused, rules_added=added, rules_removed=removed,
        outcome_changed=changed)


def _diff(a: Classification, b: Classification) -> list[str]:
    out = []
    for name, x, y in (("eccn", a.eccn, b.eccn), ("licence", a.license_required, b.license_required),
                       ("review", a.review, b.review), ("exception", a.license_exception, b.license_exception),
                       ("fee", a.fee_fraction, b.fee_fraction), ("volume cap", a.volume_cap, b.volume_cap),
                       ("china access", a.china_access.status, b.china_access.status)):
        if x != y:
            fx = f"{x:.0%}" if name == "fee" else ("yes" if x is True else "no" if x is False else x)
            fy = f"{y:.0%}" if name == "fee" else ("yes" if y is True else "no" if y is False else y)
            if name == "volume cap":
                fx, fy = ("none" if x is None else "cap"), ("none" if y is None else "cap")
            out.append(f"{name}: {fx if fx is not None else 'none'} -> {fy if fy is not None else 'none'}")
    return out or ["rules applied changed"]
