"""Rules as data: load and validate the regimes, then evaluate them as predicates.

This is the one module of :mod:`suanli.policy` that reads files. It loads the
packaged YAML (``regimes.yaml``, ``measures_cn.yaml``, ``proposed.yaml``,
``scenarios.yaml`` and the vocabularies ``parameters.yaml``,
``destinations.yaml``, ``buyers.yaml``, ``products.yaml``), validates every
record with the pydantic models in :mod:`suanli.policy.schema` plus semantic
checks (known parameters, operators that fit the parameter's type, known
destinations, buyers, products and families), and turns any failure into a
:class:`~suanli.errors.DataError` naming the file, line, record and field.

A loaded :class:`RuleSet` holds *versions* of rules: a rule amended from a
date (Macau added in Jan 2023, NAC split in Apr 2024) or changed by a scenario
becomes two versions with adjacent validity windows. The same change
mechanics (:func:`apply_changes`) serve published amendments and "what if"
scenarios.

>>> rs = load_rules()
>>> rs.coverage_from.isoformat(), "us-ear-acs-2023-10" in rs.rule_ids()
('2022-10-07', True)
>>> import datetime as dt
>>> [v.rule.id for v in rs.active(dt.date(2023, 6, 1)) if v.rule.side == "us"]
['us-entity-list-huawei-parts', 'us-ear-acr-2022-10', 'us-entity-list-fdp-buyers']
"""
from __future__ import annotations

import copy
import datetime as dt
import difflib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from suanli.errors import DataError
from suanli.policy.schema import (
    STAGE_ORDER,
    AllOf,
    AnyOf,
    Buyer,
    BuyersFile,
    Change,
    Cond,
    Country,
    DestGroup,
    DestinationsFile,
    Not,
    ParametersFile,
    ProductsFile,
    Rule,
    RuleFile,
    Scenario,
    ScenarioFile,
    UnknownChoiceError,
    iter_conds,
)
from suanli.policy.yamldoc import YamlDoc, _packaged, read_yaml_file, validate_doc

RULE_FILES = ("regimes.yaml", "measures_cn.yaml", "proposed.yaml")
ONE_DAY = dt.timedelta(days=1)


# =============================================================================
# Vocabulary: what names the rules may use
# =============================================================================


@dataclass(frozen=True)
class Vocab:
    """Known parameters, destinations, buyers, products and families (for validation and matching)."""

    parameters: ParametersFile
    destinations: DestinationsFile
    buyers: BuyersFile
    products: ProductsFile

    def canonical(self, param: str) -> str:
        return self.parameters.aliases.get(param, param)

    @property
    def dest_tokens(self) -> set[str]:
        return {"*"} | set(self.destinations.countries) | set(self.destinations.groups)

    @property
    def buyer_tokens(self) -> set[str]:
        toks = {"*"} | set(self.buyers.buyers)
        for b in self.buyers.buyers.values():
            toks |= set(b.tags)
        return toks

    @property
    def families(self) -> set[str]:
        return {p.family for p in self.products.products.values() if p.family}

    @property
    def vendor_orgs(self) -> set[str]:
        return {v.org for v in self.products.vendors.values()}

    def groups_of(self, code: str | None) -> set[str]:
        if not code:
            return set()
        c = self.destinations.countries.get(code)
        return {code} | (set(c.groups) if c else set())


def check_rule(rule: Rule, vocab: Vocab) -> list[tuple[str, str, str | None]]:
    """Semantic problems in one rule: ``[(field path, reason, hint)]`` (empty if fine)."""
    problems: list[tuple[str, str, str | None]] = []

    def crit(where: str, c: Any) -> None:
        for cond in iter_conds(c):
            problems.extend((where, r, h) for r, h in check_cond(cond, vocab))

    def dests(where: str, sels: Iterable[Any]) -> None:
        for sel in sels:
            toks = [sel] if isinstance(sel, str) else list(sel.any_of) + list(sel.except_)
            for t in toks:
                base = t[3:] if t.startswith("HQ:") else t
                if base not in vocab.dest_tokens or (t.startswith("HQ:") and base == "*"):
                    close = difflib.get_close_matches(base, sorted(vocab.dest_tokens), n=3)
                    problems.append((where, f"unknown destination token {t!r}",
                                     ("did you mean: " + ", ".join(close)) if close else
                                     "use a country code, a group (D1, D4, D5, A5_A6, ...), '*' or HQ:<group>"))

    def buyers(where: str, toks: Iterable[str]) -> None:
        for t in toks:
            if t not in vocab.buyer_tokens:
                close = difflib.get_close_matches(t, sorted(vocab.buyer_tokens), n=3)
                problems.append((where, f"unknown buyer or buyer tag {t!r}",
                                 ("did you mean: " + ", ".join(close)) if close else None))

    crit("applies_to", rule.applies_to)
    dests("destinations", rule.destinations)
    buyers("buyers", rule.buyers)
    for i, t in enumerate(rule.classification):
        crit(f"classification.{i}.when", t.when)
    for p in rule.provisions:
        crit(f"provisions.{p.id}.when", p.when)
        if p.destinations is not None:
            dests(f"provisions.{p.id}.destinations", p.destinations)
        if p.buyers is not None:
            buyers(f"provisions.{p.id}.buyers", p.buyers)
        for fact in p.effect.facts:
            if fact not in vocab.parameters.parameters or vocab.parameters.parameters[fact].kind != "state":
                problems.append((f"provisions.{p.id}.effect.facts", f"unknown fact {fact!r}",
                                 "facts must be `state` parameters in parameters.yaml"))
    return problems


_NUMERIC_OPS = {">=", ">", "<", "<=", "==", "!="}


def check_cond(cond: Cond, vocab: Vocab) -> list[tuple[str, str | None]]:
    """Problems with one condition: unknown parameter, operator or value of the wrong type."""
    name = vocab.canonical(cond.param)
    pdef = vocab.parameters.parameters.get(name)
    if pdef is None:
        close = difflib.get_close_matches(cond.param, list(vocab.parameters.parameters) + list(vocab.parameters.aliases), n=3)
        return [(f"unknown parameter {cond.param!r}",
                 ("did you mean: " + ", ".join(close)) if close else "parameters are listed in suanli/policy/data/parameters.yaml")]
    values = cond.value if isinstance(cond.value, list) else [cond.value]
    out: list[tuple[str, str | None]] = []
    t = pdef.type
    if t == "number":
        if cond.op == "startswith":
            out.append((f"op 'startswith' does not apply to number parameter {name!r}", None))
        if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in values):
            out.append((f"parameter {name!r} is a number; value {cond.value!r} is not", None))
    elif t == "date":
        if cond.op == "startswith":
            out.append((f"op 'startswith' does not apply to date parameter {name!r}", None))
        if any(not isinstance(v, dt.date) for v in values):
            out.append((f"parameter {name!r} is a date; value {cond.value!r} is not (write YYYY-MM-DD unquoted)", None))
    elif t == "bool":
        if cond.op not in ("==", "!="):
            out.append((f"parameter {name!r} is true/false; use == or !=", None))
        if any(not isinstance(v, bool) for v in values):
            out.append((f"parameter {name!r} is true/false; value {cond.value!r} is not", None))
    else:  # str
        if cond.op in (">=", ">", "<", "<="):
            out.append((f"op {cond.op!r} does not apply to text parameter {name!r}", None))
        if any(not isinstance(v, str) for v in values):
            out.append((f"parameter {name!r} is text; value {cond.value!r} is not", None))
        else:
            allowed: set[str] | None = None
            if pdef.values:
                allowed = set(pdef.values)
            elif name == "product":
                allowed = set(vocab.products.products)
            elif name == "family":
                allowed = vocab.families
            elif name == "vendor_org":
                allowed = vocab.vendor_orgs
            if allowed is not None and cond.op != "startswith":
                bad = [v for v in values if v not in allowed]
                if bad:
                    out.append((f"unknown {name} value(s) {bad!r}", f"known: {', '.join(sorted(allowed))}"))
    return out


def _raise_semantic(rule: Rule, vocab: Vocab, doc: YamlDoc | None, loc_prefix: Sequence[Any], file: str,
                    record: str | None = None) -> None:
    problems = check_rule(rule, vocab)
    if not problems:
        return
    where, reason, hint = problems[0]
    line = None
    if doc is not None:
        path: list[Any] = list(loc_prefix)
        parts = where.split(".")
        # provisions.<id>... -> provisions.<index>...
        if parts[0] == "provisions" and len(parts) > 1:
            idx = next((i for i, p in enumerate(rule.provisions) if p.id == parts[1]), None)
            path += ["provisions", idx if idx is not None else parts[1]] + parts[2:]
        else:
            path += [int(p) if p.isdigit() else p for p in parts]
        line = doc.line(path)
    raise DataError(file, reason, record=record or rule.id, field=where, line=line, hint=hint)


# =============================================================================
# Predicates
# =============================================================================


def evaluate(crit: Any, get: Callable[[str], Any]) -> bool | None:
    """Three-valued evaluation of a criteria tree: True, False, or None when a value is unknown.

    ``all_of`` is False if any part is False, else None if any is unknown;
    ``any_of`` is True if any part is True, else None if any is unknown.

    >>> vals = {"tpp": 2368, "pd": None}
    >>> evaluate(Cond(param="tpp", op=">=", value=2400), vals.get)
    False
    >>> evaluate(AllOf(all_of=[Cond(param="tpp", op=">=", value=1600), Cond(param="pd", op=">=", value=3.2)]), vals.get) is None
    True
    >>> evaluate(AnyOf(any_of=[Cond(param="tpp", op="<", value=2400), Cond(param="pd", op=">=", value=3.2)]), vals.get)
    True
    """
    if crit is None:
        return True
    if isinstance(crit, Cond):
        return compare(get(crit.param), crit.op, crit.value)
    if isinstance(crit, AllOf):
        res = [evaluate(c, get) for c in crit.all_of]
        if any(r is False for r in res):
            return False
        return None if any(r is None for r in res) else True
    if isinstance(crit, AnyOf):
        res = [evaluate(c, get) for c in crit.any_of]
        if any(r is True for r in res):
            return True
        return None if any(r is None for r in res) else False
    if isinstance(crit, Not):
        r = evaluate(crit.not_, get)
        return None if r is None else not r
    raise TypeError(f"not a criteria node: {crit!r}")


class OneOf(tuple):
    """A value known only to be one of several (e.g. an ECCN that depends on an unknown PD).

    Comparisons are decided when every candidate gives the same answer.

    >>> compare(OneOf(("3A090.b.2", "")), "==", "3A090.c"), compare(OneOf(("3A090.b.2", "")), "startswith", "3A090")
    (False, None)
    """


def compare(v: Any, op: str, ref: Any) -> bool | None:
    """``v op ref``; None when ``v`` is unknown.

    >>> compare(4992, ">=", 4800), compare(None, ">=", 4800), compare("3A090.a.1", "startswith", "3A090")
    (True, None, True)
    """
    if v is None:
        return None
    if isinstance(v, OneOf):
        res = {compare(x, op, ref) for x in v}
        return res.pop() if len(res) == 1 else None
    if op == "in":
        return v in ref
    if op == "not_in":
        return v not in ref
    if op == "startswith":
        return isinstance(v, str) and v.startswith(ref)
    if op == "==":
        return v == ref
    if op == "!=":
        return v != ref
    if isinstance(v, bool) or isinstance(ref, bool):
        raise TypeError(f"cannot order booleans ({v!r} {op} {ref!r})")
    if op == ">=":
        return v >= ref
    if op == ">":
        return v > ref
    if op == "<":
        return v < ref
    if op == "<=":
        return v <= ref
    raise ValueError(f"unknown operator {op!r}")


def dest_matches(selectors: Sequence[Any], dest: str, buyer: Buyer | None, vocab: Vocab) -> bool:
    """Whether a destination (and the buyer's headquarters) matches any selector.

    Tokens: ``*``, a country code, a group, or ``HQ:<code|group>`` (tested
    against the buyer's headquarters country). ``except`` tokens are tested
    against the destination.
    """
    dest_groups = vocab.groups_of(dest)
    hq_groups = vocab.groups_of(buyer.hq) if buyer is not None else set()

    def tok(t: str) -> bool:
        if t == "*":
            return True
        if t.startswith("HQ:"):
            return t[3:] in hq_groups
        return t in dest_groups

    for sel in selectors:
        if isinstance(sel, str):
            if tok(sel):
                return True
        elif isinstance(sel, DestGroup):
            if any(tok(t) for t in sel.any_of) and not any(t in dest_groups for t in sel.except_):
                return True
    return False


def buyer_matches(tokens: Sequence[str], buyer_id: str, buyer: Buyer) -> bool:
    """Whether the buyer (by id or tag) is among ``tokens`` (``*`` matches every buyer)."""
    return any(t == "*" or t == buyer_id or t in buyer.tags for t in tokens)


# =============================================================================
# Versions and changes
# =============================================================================


@dataclass(frozen=True)
class RuleVersion:
    """A rule as it reads during one validity window ``[start, end]`` (``start=None``: never)."""

    rule: Rule
    start: dt.date | None
    end: dt.date | None
    order: int
    file: str
    changed_by: tuple[str, ...] = ()

    @property
    def begin(self) -> dt.date | None:
        if self.start is None:
            return None
        c = self.rule.compliance_from
        return max(self.start, c) if c else self.start

    def active_on(self, d: dt.date) -> bool:
        b = self.begin
        if b is None or d < b or (self.end is not None and d > self.end):
            return False
        return not any(s.from_ <= d and (s.to is None or d <= s.to) for s in self.rule.suspensions)

    @property
    def sort_date(self) -> dt.date:
        return self.rule.effective_from or self.start or dt.date.max


def apply_changes(
    versions: Sequence[RuleVersion],
    changes: Sequence[Change],
    *,
    source: str,
    file: str,
    vocab: Vocab,
    doc: YamlDoc | None = None,
    loc_prefix: Sequence[Any] = (),
) -> list[RuleVersion]:
    """Apply enact/revoke/patch/add changes (an amendment or a scenario) to rule versions.

    Pure: returns new versions. ``source`` (the amendment or scenario id) is
    recorded in each version it shapes.
    """
    out = list(versions)
    ids = {v.rule.id for v in out}
    for i, ch in enumerate(changes):
        loc = list(loc_prefix) + ["changes", i]
        line = doc.line(loc) if doc is not None else None
        if ch.op == "add":
            rule = ch.rule
            assert rule is not None
            if rule.id in ids:
                raise DataError(file, f"op 'add': rule {rule.id!r} already exists", record=source, line=line,
                                hint="use op 'patch' to change it, or pick a new id")
            start = max(ch.from_, rule.effective_from) if rule.effective_from else ch.from_
            start += dt.timedelta(days=rule.lag_days)
            new_rule = rule.model_copy(update={"effective_from": start})
            _raise_semantic(new_rule, vocab, doc, loc + ["rule"], file, record=source)
            out.append(RuleVersion(new_rule, start, rule.effective_to, len(out) + 10_000, file, (source,)))
            ids.add(rule.id)
            continue
        target = ch.target or ""
        if target not in ids:
            close = difflib.get_close_matches(target, sorted(ids), n=3, cutoff=0.5)
            raise DataError(file, f"op {ch.op!r}: unknown rule {target!r}", record=source, field="target", line=line,
                            hint=("did you mean: " + ", ".join(close)) if close else "run `suanli policy rules list`")
        mine = [v for v in out if v.rule.id == target]
        rest = [v for v in out if v.rule.id != target]
        if ch.op == "enact":
            if any(v.start is not None for v in mine):
                raise DataError(file, f"op 'enact': rule {target!r} is already in force (from {mine[0].start})",
                                record=source, line=line, hint="use op 'patch' or 'revoke' for rules in force")
            new = []
            for v in mine:
                start = ch.from_ + dt.timedelta(days=v.rule.lag_days)
                new.append(replace(v, rule=v.rule.model_copy(update={"effective_from": start}), start=start,
                                   changed_by=v.changed_by + (source,)))
            mine = new
        elif ch.op == "revoke":
            new = []
            for v in mine:
                if v.start is None or v.start >= ch.from_:
                    continue
                if v.end is None or v.end >= ch.from_:
                    new.append(replace(v, end=ch.from_ - ONE_DAY, changed_by=v.changed_by + (source,)))
                else:
                    new.append(v)
            mine = new
        else:  # patch
            new = []
            for v in mine:
                if v.start is None or v.start >= ch.from_:
                    new.append(replace(v, rule=_patched(v.rule, ch, vocab, file, source, doc, loc),
                                       changed_by=v.changed_by + (source,)))
                elif v.end is not None and v.end < ch.from_:
                    new.append(v)
                else:
                    new.append(replace(v, end=ch.from_ - ONE_DAY))
                    new.append(replace(v, rule=_patched(v.rule, ch, vocab, file, source, doc, loc),
                                       start=ch.from_, changed_by=v.changed_by + (source,)))
            mine = new
        out = rest + mine
    out.sort(key=lambda v: (v.order, v.start or dt.date.max))
    return out


_PATCH_FORBIDDEN = {"id", "effective_from", "effective_to", "side"}


def _patched(rule: Rule, ch: Change, vocab: Vocab, file: str, source: str, doc: YamlDoc | None,
             loc: Sequence[Any]) -> Rule:
    d = rule.model_dump(by_alias=True)
    for path, value in ch.set.items():
        head = path.split(".")[0]
        if head in _PATCH_FORBIDDEN:
            raise DataError(file, f"op 'patch' cannot set {path!r}", record=source, field=f"set.{path}",
                            line=doc.line(list(loc) + ["set", path]) if doc else None,
                            hint="use op 'revoke' to end a rule, 'enact' or 'add' to start one")
        try:
            _set_path(d, path, copy.deepcopy(value))
        except (KeyError, IndexError, TypeError) as exc:
            raise DataError(file, f"op 'patch' on {rule.id!r}: cannot set {path!r}: {exc.args[0] if exc.args else exc}",
                            record=source, field=f"set.{path}",
                            line=doc.line(list(loc) + ["set", path]) if doc else None,
                            hint="paths are dotted: provisions.<provision id>.effect.fee.fraction") from None
    if ch.fee_fraction is not None:
        n = 0
        for p in d["provisions"]:
            if p["effect"].get("fee"):
                p["effect"]["fee"]["fraction"] = ch.fee_fraction
                n += 1
        if not n:
            raise DataError(file, f"op 'patch': rule {rule.id!r} has no fee to change", record=source,
                            field="fee_fraction", line=doc.line(list(loc) + ["fee_fraction"]) if doc else None,
                            hint="add a fee with `set: {provisions.<id>.effect.fee: {fraction: ..., base: ...}}`")
    if ch.review is not None:
        n = 0
        for p in d["provisions"]:
            if p["effect"].get("review"):
                p["effect"]["review"] = ch.review
                n += 1
        if not n:
            raise DataError(file, f"op 'patch': rule {rule.id!r} sets no review policy to change", record=source,
                            field="review", line=doc.line(list(loc) + ["review"]) if doc else None)
    try:
        new = Rule.model_validate(d)
    except ValidationError as exc:
        err = max(exc.errors(), key=lambda e: len(e.get("loc", ())))
        fld = ".".join(str(x) for x in err.get("loc", ()))
        raise DataError(file, f"patched rule {rule.id!r} is invalid: {err.get('msg')}", record=source, field=fld,
                        line=doc.line(list(loc)) if doc else None) from None
    try:
        _raise_semantic(new, vocab, None, (), file, record=source)
    except DataError as exc:
        if exc.line is not None or doc is None:
            raise
        keys = list(ch.set) or ["fee_fraction" if ch.fee_fraction is not None else "review"]
        raise DataError(file, exc.reason, record=source, field=exc.field,
                        line=doc.line(list(loc) + ["set", keys[0]]) if ch.set else doc.line(list(loc)),
                        hint=getattr(exc, "hint", None)) from None
    return new


def _set_path(d: Any, path: str, value: Any) -> None:
    parts = path.split(".")
    cur = d
    for i, seg in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(cur, dict):
            if last:
                cur[seg] = value
                return
            if seg not in cur or cur[seg] is None:
                cur[seg] = {}
            cur = cur[seg]
        elif isinstance(cur, list):
            if seg.isdigit():
                idx = int(seg)
            else:
                idx = next((j for j, x in enumerate(cur) if isinstance(x, dict) and seg in (x.get("id"), x.get("eccn"))), None)
                if idx is None:
                    known = [str(x.get("id") or x.get("eccn")) for x in cur if isinstance(x, dict)]
                    raise KeyError(f"no item {seg!r} (known: {', '.join(known) or 'none'})")
            if last:
                cur[idx] = value
                return
            cur = cur[idx]
        else:
            raise TypeError(f"{'.'.join(parts[:i])!r} is not a mapping or list")


# =============================================================================
# The rule set
# =============================================================================


@dataclass(frozen=True)
class RuleSet:
    """All rules (as dated versions), the vocabularies, and the built-in scenarios."""

    versions: tuple[RuleVersion, ...]
    vocab: Vocab
    amendments: tuple[Any, ...]
    scenarios: Mapping[str, Scenario]
    as_of: dt.date
    coverage_from: dt.date
    files: Mapping[str, str]
    applied: tuple[str, ...] = ()
    _base: Mapping[str, Rule] = field(default_factory=dict)

    # --- lookups -------------------------------------------------------------
    def rule_ids(self) -> list[str]:
        seen: dict[str, None] = {}
        for v in self.versions:
            seen.setdefault(v.rule.id, None)
        return list(seen)

    def rule(self, rule_id: str) -> Rule:
        """The rule's base definition (as first in force); :class:`UnknownChoiceError` if unknown."""
        if rule_id in self._base:
            return self._base[rule_id]
        for v in self.versions:
            if v.rule.id == rule_id:
                return v.rule
        raise UnknownChoiceError("rule", rule_id, self.rule_ids(), "suanli policy rules list")

    def versions_of(self, rule_id: str) -> list[RuleVersion]:
        self.rule(rule_id)
        return [v for v in self.versions if v.rule.id == rule_id]

    def destination(self, code: str) -> tuple[str, Country]:
        """Resolve a destination code or alias (``CN``, ``china``) to ``(code, Country)``."""
        raw = (code or "").strip()
        countries = self.vocab.destinations.countries
        if raw.upper() in countries:
            return raw.upper(), countries[raw.upper()]
        low = raw.lower()
        for c, info in countries.items():
            if low in info.aliases or low == info.name.lower():
                return c, info
        if raw.upper().replace(":", "") in self.vocab.destinations.groups or raw.upper() == "HQ_D5_MO":
            err = UnknownChoiceError("destination", raw, countries, "suanli policy destinations")
            err.hint = f"{raw!r} is a country group; give a country code such as CN, HK, MO, RU, MY"
            raise err
        raise UnknownChoiceError("destination", raw, countries, "suanli policy destinations")

    def buyer(self, buyer_id: str) -> Buyer:
        buyers = self.vocab.buyers.buyers
        if buyer_id in buyers:
            return buyers[buyer_id]
        raise UnknownChoiceError("buyer", buyer_id, buyers, "suanli policy buyers")

    # --- time ------------------------------------------------------------------
    def active(self, d: dt.date) -> list[RuleVersion]:
        """Versions in force on ``d``, in evaluation order (stage, effective date, file order)."""
        act = [v for v in self.versions if v.active_on(d)]
        act.sort(key=lambda v: (STAGE_ORDER.index(v.rule.stage or "license"), v.sort_date, v.order))
        return act

    def change_dates(self, start: dt.date, end: dt.date) -> list[dt.date]:
        """Every date in ``[start, end]`` on which the set of rules in force, or a date threshold, changes."""
        pts: set[dt.date] = set()
        for v in self.versions:
            if v.start is None:
                continue
            pts.add(v.start)
            if v.begin:
                pts.add(v.begin)
            if v.end is not None:
                pts.add(v.end + ONE_DAY)
            for s in v.rule.suspensions:
                pts.add(s.from_)
                if s.to is not None:
                    pts.add(s.to + ONE_DAY)
            crits = [v.rule.applies_to] + [t.when for t in v.rule.classification] + [p.when for p in v.rule.provisions]
            for c in crits:
                for cond in iter_conds(c):
                    if self.vocab.canonical(cond.param) == "date" and isinstance(cond.value, dt.date):
                        pts.add(cond.value + (ONE_DAY if cond.op in (">", "<=") else dt.timedelta(0)))
        return sorted(p for p in pts if start <= p <= end)

    # --- scenarios -------------------------------------------------------------
    def with_scenario(self, scenario: Scenario, *, file: str = "scenario", doc: YamlDoc | None = None,
                      loc_prefix: Sequence[Any] = ()) -> RuleSet:
        """A new rule set with the scenario's changes applied (pure)."""
        versions = apply_changes(self.versions, scenario.changes, source=scenario.id, file=file,
                                 vocab=self.vocab, doc=doc, loc_prefix=loc_prefix)
        return replace(self, versions=tuple(versions), applied=self.applied + (scenario.id,))

    def to_frame(self):
        """All rule versions as a pandas DataFrame (one row per version)."""
        import pandas as pd

        return pd.DataFrame([
            {"id": v.rule.id, "name": v.rule.name, "side": v.rule.side, "kind": v.rule.kind,
             "status": v.rule.status, "start": v.start, "end": v.end, "changed_by": ",".join(v.changed_by)}
            for v in self.versions
        ])


def load_vocab(data_dir: Path | None = None) -> Vocab:
    """Load the vocabularies (parameters, destinations, buyers, products)."""
    doc = _doc_loader(data_dir)
    params = validate_doc(ParametersFile, doc("parameters.yaml"))
    for alias, target in params.aliases.items():
        if target not in params.parameters:
            raise DataError("parameters.yaml", f"alias {alias!r} points to unknown parameter {target!r}")
    dests = validate_doc(DestinationsFile, doc("destinations.yaml"))
    for code, c in dests.countries.items():
        for g in c.groups:
            if g not in dests.groups:
                d = doc("destinations.yaml")
                raise DataError(d.file, f"unknown group {g!r}", record=code, field="groups",
                                line=d.line(["countries", code, "groups"]),
                                hint=f"groups: {', '.join(dests.groups)}")
    buyers = validate_doc(BuyersFile, doc("buyers.yaml"))
    for bid, b in buyers.buyers.items():
        if b.hq is not None and b.hq not in dests.countries:
            d = doc("buyers.yaml")
            raise DataError(d.file, f"unknown headquarters country {b.hq!r}", record=bid, field="hq",
                            line=d.line(["buyers", bid, "hq"]))
    products = validate_doc(ProductsFile, doc("products.yaml"))
    return Vocab(params, dests, buyers, products)


def _doc_loader(data_dir: Path | None) -> Callable[[str], YamlDoc]:
    if data_dir is None:
        return _packaged
    return lambda name: read_yaml_file(Path(data_dir) / name)


@lru_cache(maxsize=4)
def load_rules(data_dir: str | None = None) -> RuleSet:
    """Load and validate the packaged rules (or those in ``data_dir``); cached.

    Raises :class:`~suanli.errors.DataError` with file, line, record and field
    for any invalid record.
    """
    path = Path(data_dir) if data_dir else None
    doc = _doc_loader(path)
    vocab = load_vocab(path)
    versions: list[RuleVersion] = []
    files: dict[str, str] = {}
    amendments: list[tuple[Any, YamlDoc, int]] = []
    as_of = coverage = None
    order = 0
    for name in RULE_FILES:
        d = doc(name)
        rf: RuleFile = validate_doc(RuleFile, d)
        as_of = as_of or rf.as_of
        coverage = coverage or rf.coverage_from
        for i, rule in enumerate(rf.rules):
            if rule.id in files:
                raise DataError(d.file, f"duplicate rule id {rule.id!r} (also in {files[rule.id]})", record=rule.id,
                                line=d.line(["rules", i, "id"]))
            _raise_semantic(rule, vocab, d, ["rules", i], d.file)
            files[rule.id] = d.file
            versions.append(RuleVersion(rule, rule.effective_from, rule.effective_to, order, d.file))
            order += 1
        for j, am in enumerate(rf.amendments):
            amendments.append((am, d, j))
    if as_of is None or coverage is None:
        raise DataError("regimes.yaml", "needs `as_of` and `coverage_from` dates")
    base = {v.rule.id: v.rule for v in versions}
    # Published amendments, in date order.
    for am, d, j in sorted(amendments, key=lambda t: min(c.from_ for c in t[0].changes)):
        versions = apply_changes(versions, am.changes, source=am.id, file=d.file, vocab=vocab, doc=d,
                                 loc_prefix=["amendments", j])
    sdoc = doc("scenarios.yaml")
    sf: ScenarioFile = validate_doc(ScenarioFile, sdoc)
    scenarios = {s.id: s for s in sf.scenarios}
    rs = RuleSet(tuple(versions), vocab, tuple(a for a, _, _ in amendments), scenarios, as_of, coverage, files,
                 _base=base)
    # Every built-in scenario must apply cleanly.
    for k, s in enumerate(sf.scenarios):
        rs.with_scenario(s, file=sdoc.file, doc=sdoc, loc_prefix=["scenarios", k])
    return rs
