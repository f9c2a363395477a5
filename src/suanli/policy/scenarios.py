"""Scenarios: named "what if" changes to the rules (a law enacted, a licence revoked, a levy raised).

A scenario is data (see ``suanli/policy/data/scenarios.yaml`` and
``examples/scenarios/``): a list of ``enact``, ``revoke``, ``patch`` and
``add`` changes, each from a date. Built-in scenarios cover every proposed
law in the reference (SAFE Chips, GAIN AI, AI OVERWATCH, Chip Security,
Remote Access Security), the reported draft global licensing rule, revocation
of the H200 pathway and enforcement of the AI Diffusion rule. User files are
validated exactly like the packaged data.

On the command line and in :func:`resolve_scenarios`, ``NAME@YYYY-MM-DD``
moves every change of a scenario to that date.

>>> from suanli.policy.regimes import load_rules
>>> rs = resolve_scenarios(load_rules(), "safe-chips-act@2027-01-01")
>>> rs.applied
('safe-chips-act',)
>>> [v.start.isoformat() for v in rs.versions_of("safe-chips-act")]
['2027-01-01']
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from suanli.errors import DataError
from suanli.policy.regimes import RuleSet, YamlDoc, read_yaml_file, validate_doc
from suanli.policy.schema import Scenario, ScenarioFile, SpecError, UnknownChoiceError


def load_scenario_file(path: str | Path) -> list[tuple[Scenario, YamlDoc, list[Any]]]:
    """Read and validate a scenario YAML file: one scenario, or ``scenarios: [...]``.

    Returns ``[(scenario, doc, location prefix)]``. A single scenario without
    an ``id`` takes the file name.
    """
    doc = read_yaml_file(path)
    data = doc.data
    if not isinstance(data, dict):
        raise DataError(doc.file, "a scenario file must be a YAML mapping",
                        hint="see examples/scenarios/*.yaml: id, name, changes: [{op, target, from, ...}]")
    if "scenarios" in data:
        sf: ScenarioFile = validate_doc(ScenarioFile, doc)
        return [(s, doc, ["scenarios", i]) for i, s in enumerate(sf.scenarios)]
    if "changes" not in data:
        raise DataError(doc.file, "a scenario needs `changes:` (a list of enact/revoke/patch/add steps)",
                        line=doc.line([]), hint="see examples/scenarios/*.yaml")
    if "id" not in data:
        stem = re.sub(r"[^a-z0-9._-]+", "-", Path(path).stem.lower()).strip("-") or "scenario"
        doc = YamlDoc(doc.file, {"id": stem, "name": data.get("name", stem), **data}, doc.node)
    elif "name" not in data:
        doc = YamlDoc(doc.file, {**data, "name": str(data["id"])}, doc.node)
    return [(validate_doc(Scenario, doc), doc, [])]


def shift(scenario: Scenario, when: dt.date) -> Scenario:
    """The same scenario with every change moved to ``when``."""
    return scenario.model_copy(update={"changes": [c.model_copy(update={"from_": when}) for c in scenario.changes]})


def resolve_scenarios(rules: RuleSet, scenario: Any) -> RuleSet:
    """Apply scenarios to a rule set: names (``NAME[@DATE]``), file paths, ``Scenario`` objects, or a list.

    Unknown names raise :class:`~suanli.policy.schema.UnknownChoiceError`;
    malformed files raise :class:`~suanli.errors.DataError` with file and line.
    """
    if scenario is None or scenario == [] or scenario == ():
        return rules
    items = [scenario] if isinstance(scenario, (str, Path, Scenario)) else list(scenario)
    rs = rules
    for item in items:
        if isinstance(item, Scenario):
            rs = rs.with_scenario(item)
            continue
        text = str(item).strip()
        name, at = text, None
        m = re.match(r"^(.*)@(\d{4}-\d{2}-\d{2})$", text)
        if m:
            name, at = m.group(1), m.group(2)
        elif "@" in text and not Path(text).exists():
            raise SpecError(f"bad scenario date in {text!r}", hint="write NAME@YYYY-MM-DD, e.g. safe-chips-act@2027-01-01")
        when = None
        if at:
            try:
                when = dt.date.fromisoformat(at)
            except ValueError:
                raise SpecError(f"bad scenario date {at!r}", hint="write NAME@YYYY-MM-DD") from None
        if name in rules.scenarios:
            scn = rules.scenarios[name]
            rs = rs.with_scenario(shift(scn, when) if when else scn)
        elif name.endswith((".yaml", ".yml")) or Path(name).is_file():
            for scn, doc, loc in load_scenario_file(name):
                rs = rs.with_scenario(shift(scn, when) if when else scn, file=doc.file, doc=doc, loc_prefix=loc)
        else:
            raise UnknownChoiceError("scenario", name, list(rules.scenarios), "suanli policy scenarios list")
    return rs


def list_scenarios(rules: RuleSet) -> list[dict[str, Any]]:
    """The built-in scenarios as plain dicts (id, name, status, description, changes)."""
    out = []
    for s in rules.scenarios.values():
        out.append({
            "id": s.id, "name": s.name, "status": s.status, "description": s.description,
            "changes": [{"op": c.op, "target": c.target or (c.rule.id if c.rule else None), "from": c.from_.isoformat()}
                        for c in s.changes],
            "sources": list(s.sources),
        })
    return out


def scenario_names(items: Sequence[Any] | None) -> list[str]:
    """Display names of scenario arguments (for results)."""
    return [str(i.id if isinstance(i, Scenario) else i) for i in (items or [])]
