"""`suanli policy`: who can get which chip, when, on what terms -- and what if.

A thin shell over :mod:`suanli.policy`: every command's ``--json`` prints the
result's ``to_dict()``; errors a user can fix exit with status 2.
"""
from __future__ import annotations

from typing import Any, Optional

import typer
from rich.markup import escape

from suanli.cli.common import (
    CATALOG_OPTION, FORMAT_OPTION, JSON_OPTION, check_choice, check_format, console, guarded, print_csv, print_json,
    table,
)
from suanli.errors import SuanliError

app = typer.Typer(
    help=(
        "Market access: export-control classification, licences, fees and Chinese import measures, "
        "by chip, destination, buyer and date, with 'what if' scenarios.\n\n"
        "Examples:\n\n"
        "  suanli policy classify h200-sxm --dest CN --date 2026-03-01\n\n"
        "  suanli policy classify --spec tpp=3000,pd=2.0,datacenter=true --dest CN --date 2026-03-01 --json\n\n"
        "  suanli policy timeline h100-sxm h800-sxm h20 h200-sxm b200 --dest CN\n\n"
        "  suanli policy thresholds --dest CN --date 2026-03-01\n\n"
        "  suanli policy classify h200-sxm --dest CN --date 2027-03-01 --scenario safe-chips-act"
    ),
    no_args_is_help=True,
)
rules_app = typer.Typer(help="The regimes and measures, as data, with citations.", no_args_is_help=True)
scenarios_app = typer.Typer(help="Built-in 'what if' scenarios (proposed laws, revocations).", no_args_is_help=True)
app.add_typer(rules_app, name="rules")
app.add_typer(scenarios_app, name="scenarios")

DEST_OPTION = typer.Option("CN", "--dest", help="Destination country code or alias: CN, HK, MO, RU, MY, ...")
BUYER_OPTION = typer.Option(
    "private", "--buyer",
    help="Buyer type: private, state-funded, soe, foreign-hq, entity-listed, listed-affiliate.")
SCENARIO_OPTION = typer.Option(
    None, "--scenario",
    help="Built-in scenario NAME (or NAME@YYYY-MM-DD to move its changes to that date) or a scenario "
         "YAML file; repeatable. See `suanli policy scenarios list`.")

_REVIEW_STYLE = {
    "none": "green", "notification": "green", "presumption_of_approval": "yellow", "case_by_case": "yellow",
    "presumption_of_denial": "red", "denial": "bold red",
}
_ACCESS_STYLE = {"allowed": "green", "restricted": "yellow", "prohibited": "red"}


def _rules():
    from suanli.policy.regimes import load_rules

    return load_rules()


def _catalog(overlays: Optional[list[str]]):
    from suanli.catalog import get_catalog

    return get_catalog(overlays or ())


# =============================================================================
# classify
# =============================================================================


@app.command("classify")
@guarded
def classify_cmd(
    hardware: Optional[str] = typer.Argument(None, help="Catalog id, e.g. h20, h200-sxm, mi325x."),
    spec: Optional[str] = typer.Option(
        None, "--spec",
        help="A hypothetical chip instead of an id: key=value pairs (tpp, pd, die_area, dram_bw, io, hbm_mbd, "
             "transistors, datacenter, us_available, fp8, fp16, ...) or a YAML file."),
    dest: str = DEST_OPTION,
    date: Optional[str] = typer.Option(None, "--date", help="YYYY-MM-DD (default: the data's as-of date)."),
    buyer: str = BUYER_OPTION,
    scenario: Optional[list[str]] = SCENARIO_OPTION,
    catalog: Optional[list[str]] = CATALOG_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Can this buyer get this chip on this date, and on what terms?

    Prints the ECCN, whether a licence is required, the review policy, levies
    and tariffs as a fraction of price, volume caps, conditions, access on the
    Chinese side for the buyer type, every rule applied (with citations) and
    the distance to every threshold.

    Examples:
      suanli policy classify h20 --dest CN --date 2025-09-01
      suanli policy classify h200-sxm --dest CN --date 2026-03-01 --json
      suanli policy classify h200-sxm --dest CN --date 2026-03-01 --buyer state-funded
      suanli policy classify --spec tpp=3000,pd=2.0,datacenter=true --dest CN --date 2026-03-01
      suanli policy classify --spec examples/scenarios/spec-h20-successor.yaml --dest CN --date 2026-03-01
      suanli policy classify h200-sxm --date 2027-03-01 --scenario examples/scenarios/h200-revoked-2027.yaml
    """
    from suanli.policy.classify import classify
    from suanli.policy.metrics import spec_from_mapping

    if hardware and spec:
        raise SuanliError("give a chip id or --spec, not both", hint="e.g. suanli policy classify h20 --date 2025-09-01")
    if not hardware and not spec:
        raise SuanliError("which chip?", hint="give a catalog id (suanli catalog list) or --spec tpp=3000,pd=2.0")
    rs = _rules()
    target: Any = hardware
    cat = None
    if spec:
        target = _spec_arg(spec, spec_from_mapping)
    else:
        cat = _catalog(catalog)
    result = classify(target, dest, date or rs.as_of, buyer, scenario or None, rules=rs, catalog=cat)
    context = _buyer_context(result, rs, lambda b: classify(target, dest, date or rs.as_of, b, scenario or None,
                                                            rules=rs, catalog=cat))
    if json_out:
        print_json({**result.to_dict(), **context})
        return
    _print_classification(result, context)


#: The buyer type whose headquarters are outside China (and outside every group the rules name).
NON_CHINESE_BUYER = "foreign-hq"


def _buyer_context(c: Any, rs: Any, classify_as: Any) -> dict:
    """Where the buyer is headquartered and, for a China-headquartered buyer abroad, what a non-Chinese one gets.

    Export rules look at the buyer's headquarters as well as the destination ("HQ rules"), so
    ``--dest DE`` with the default buyer answers for a Chinese company in Germany.
    """
    b = rs.vocab.buyers.buyers.get(c.buyer)
    out: dict = {"buyer_name": b.name if b else None, "buyer_hq": b.hq if b else None}
    if b is not None and b.hq == "CN" and c.destination != "CN" and NON_CHINESE_BUYER in rs.vocab.buyers.buyers:
        o = classify_as(NON_CHINESE_BUYER)
        out["non_chinese_buyer"] = {"buyer": NON_CHINESE_BUYER, "eccn": o.eccn, "license_required": o.license_required,
                                    "license_exception": o.license_exception, "review": o.review,
                                    "fee_fraction": o.fee_fraction}
    return out


def _terms(d: dict) -> str:
    lic = "licence required" if d["license_required"] else (
        f"no licence (License Exception {d['license_exception']})" if d["license_exception"] else "no licence required")
    return f"ECCN {d['eccn'] or 'none'}, {lic}, review {d['review']}, fees {d['fee_fraction']:.0%}"


def _spec_arg(spec: str, from_mapping: Any) -> Any:
    from pathlib import Path

    from suanli.policy.metrics import parse_spec
    from suanli.policy.regimes import read_yaml_file

    p = Path(spec)
    if spec.endswith((".yaml", ".yml")) or (p.is_file() and "=" not in spec):
        doc = read_yaml_file(p)
        data = doc.data.get("spec", doc.data) if isinstance(doc.data, dict) else doc.data
        if not isinstance(data, dict):
            from suanli.errors import DataError

            raise DataError(doc.file, "a spec file must be a YAML mapping of spec keys",
                            hint="e.g. tpp: 3000, pd: 2.0, datacenter: true")
        return from_mapping(data, source=doc.file)
    return parse_spec(spec)


def _short(text: str, n: int = 48) -> str:
    first = text.split(";")[0].strip()
    return first if len(first) <= n else first[: n - 1] + "…"


def _why(c: Any) -> list[str]:
    """One line per deciding rule: what it did, on which thresholds, with the margin to each."""
    out = []
    for r in c.rules:
        if r.role not in ("classification", "licence", "end-user", "levy", "overridden", "not-controlled"):
            continue
        ms = [m for m in c.margins if m.rule == r.id and m.where == (r.applied_as if r.role != "not-controlled"
                                                                         else m.where) and m.value is not None]
        if r.role == "not-controlled":
            # the lines it stayed under, closest first (relative margin)
            seen: set = set()
            unmet = []
            for m in sorted((m for m in ms if m.where.startswith("tier") and m.met is False),
                            key=lambda m: abs(m.margin) / max(abs(m.threshold), 1e-9)):
                if (m.param, m.op, m.threshold) not in seen:
                    seen.add((m.param, m.op, m.threshold))
                    unmet.append(m)
            ms = unmet
        tests = "; ".join(
            f"{m.param} {m.value:,.6g} {m.op} {m.threshold:,.6g}: {'met' if m.met else 'not met'}, margin {m.margin:+,.6g}"
            + (" (est.)" if m.estimate else "") for m in ms[:6])
        out.append(f"{r.role}: {r.id} ({r.applied_as}) -> {r.effect}" + (f" [{tests}]" if tests else ""))
    return out


def _print_classification(c: Any, context: dict | None = None) -> None:
    rv = c.review
    context = context or {}
    who = ""
    if context.get("buyer_name"):
        hq = context.get("buyer_hq")
        who = f" ({escape(context['buyer_name'])}; headquartered {'in ' + hq if hq else 'outside China'})"
    head = (f"[bold]{escape(c.hardware or 'spec')}[/] -> {c.destination}, {c.date}, buyer {c.buyer}{who}"
            + (f", scenario {', '.join(c.scenarios)}" if c.scenarios else ""))
    console.print(head)
    other = context.get("non_chinese_buyer")
    if other:
        console.print(f"  [cyan]note:[/] this answers for a China-headquartered buyer in {c.destination}; a buyer "
                      f"headquartered outside China (--buyer {other['buyer']}) gets: {_terms(other)}", highlight=False)
    lic = "licence required" if c.license_required else (
        f"no licence (License Exception {c.license_exception})" if c.license_exception else "no licence required")
    acc = c.china_access.status
    console.print(
        f"  ECCN [bold]{c.eccn or 'none'}[/]   {lic}   review [{_REVIEW_STYLE.get(rv, 'white')}]{rv}[/]   "
        f"fees {c.fee_fraction:.0%}   China side [{_ACCESS_STYLE[acc]}]{acc}[/]", highlight=False)
    if c.eccn_if_subject_to_ear:
        console.print(f"  (as if subject to the EAR: {c.eccn_if_subject_to_ear})")
    if c.volume_cap:
        console.print(f"  volume cap: {escape(c.volume_cap)}")
    for f in c.fees:
        console.print(f"  fee {f.fraction:.0%} ({escape(f.rule)}): {escape(f.base)}")
    if c.conditions:
        console.print("[bold]Conditions[/]")
        for x in c.conditions:
            console.print(f"  - {escape(x)}")
    if c.china_access.conditions or c.china_access.measures:
        console.print(f"[bold]China side[/] ({acc}; measures: {', '.join(c.china_access.measures) or 'none'})")
        for x in c.china_access.conditions:
            console.print(f"  - {escape(x)}")
        if c.china_access.power_subsidy_fraction:
            console.print(f"  power subsidy up to {c.china_access.power_subsidy_fraction:.0%}")
    why = _why(c)
    if why:
        console.print("[bold]Why[/]")
        for line in why:
            console.print(f"  - {escape(line)}", highlight=False)
    if c.rules:
        console.print(table("Rules applied", ["rule", "role", "as", "effect", "status", "citation"],
                            [[r.id, r.role, r.applied_as, r.effect, r.status,
                              _short(r.citation or (r.sources[0] if r.sources else ""))] for r in c.rules]))
    if c.margins:
        console.print(table("Margins (value - threshold; negative = under the line)",
                            ["rule", "where", "param", "line", "value", "margin", "met", "est."],
                            [[m.rule, m.where, m.param, f"{m.op} {m.threshold:g}", m.value, m.margin, m.met,
                              "est." if m.estimate else ""] for m in c.margins]))
    for w in c.warnings:
        console.print(f"[yellow]warning:[/] {escape(w)}")
    for n in c.notes:
        console.print(f"[cyan]note:[/] {escape(n)}")


# =============================================================================
# timeline
# =============================================================================


@app.command("timeline")
@guarded
def timeline_cmd(
    hardware: Optional[list[str]] = typer.Argument(None, help="Catalog ids (default: every chip and card)."),
    dest: str = DEST_OPTION,
    from_: Optional[str] = typer.Option(None, "--from", help="Start date (default: the first rule, 2022-10-07)."),
    to: Optional[str] = typer.Option(None, "--to", help="End date (default: the data's as-of date, today)."),
    buyer: str = BUYER_OPTION,
    scenario: Optional[list[str]] = SCENARIO_OPTION,
    all_events: bool = typer.Option(
        False, "--all", help="Also list dates where only the rules applied changed, not the outcome (table and --json)."),
    catalog: Optional[list[str]] = CATALOG_OPTION,
    output_format: str = FORMAT_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Status by chip and date: every change, with the rule that caused it.

    Examples:
      suanli policy timeline h100-sxm h800-sxm h20 h200-sxm b200 --dest CN
      suanli policy timeline h20 --dest CN --from 2025-01-01 --json
      suanli policy timeline h100-sxm h20 h200-sxm --format csv > timeline.csv
      suanli policy timeline h200-sxm --buyer state-funded --scenario safe-chips-act@2027-01-01 --to 2027-12-31
    """
    json_out = json_out or check_format(output_format) == "json"
    from suanli.policy.timeline import timeline

    rs = _rules()
    t = timeline(hardware or None, dest, from_, to, buyer, scenario or None, rules=rs, catalog=_catalog(catalog))
    if json_out:
        d = t.to_dict()
        if not all_events:
            for c in d["chips"]:
                c["entries"] = [e for e in c["entries"] if e["outcome_changed"]]
        print_json(d)
        return
    if output_format.lower() == "csv":
        print_csv(["hardware", "from", "eccn", "license_required", "review", "fee_fraction", "volume_cap",
                   "china_access", "caused_by", "changes"],
                  [[chip.hardware, str(e.date), e.eccn or "", e.license_required, e.review, e.fee_fraction,
                    e.volume_cap or "", e.china_access, "; ".join(e.caused_by), "; ".join(e.changes)]
                   for chip in t.chips for e in chip.entries if e.outcome_changed or all_events])
        return
    console.print(f"[bold]Timeline[/] {t.destination}, buyer {t.buyer}, {t.start} to {t.end}"
                  + (f", scenario {', '.join(t.scenarios)}" if t.scenarios else ""))
    for n in t.notes:
        console.print(f"[cyan]note:[/] {escape(n)}")
    for chip in t.chips:
        rows = []
        for e in chip.entries:
            if not e.outcome_changed and not all_events:
                continue
            rows.append([str(e.date), e.eccn or "none", e.license_required, e.review, f"{e.fee_fraction:.0%}",
                         "cap" if e.volume_cap else "", e.china_access, ", ".join(e.caused_by) or "-",
                         "; ".join(e.changes)])
        console.print(table(chip.hardware, ["from", "ECCN", "licence", "review", "fee", "cap", "China",
                                            "caused by", "change"], rows))


# =============================================================================
# thresholds
# =============================================================================


@app.command("thresholds")
@guarded
def thresholds_cmd(
    dest: str = DEST_OPTION,
    date: Optional[str] = typer.Option(None, "--date", help="YYYY-MM-DD (default: the data's as-of date)."),
    buyer: str = BUYER_OPTION,
    scenario: Optional[list[str]] = SCENARIO_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """The lines in force, and the largest datacenter part under each ("design under the line").

    Examples:
      suanli policy thresholds --dest CN --date 2024-06-01
      suanli policy thresholds --dest CN --date 2026-03-01 --json
      suanli policy thresholds --dest CN --date 2027-03-01 --scenario safe-chips-act
    """
    from suanli.policy.thresholds import thresholds

    rs = _rules()
    t = thresholds(dest, date or rs.as_of, buyer, scenario or None, rules=rs)
    if json_out:
        print_json(t.to_dict())
        return
    console.print(f"[bold]Lines in force[/] for {t.destination}, {t.date}, buyer {t.buyer}"
                  + (f", scenario {', '.join(t.scenarios)}" if t.scenarios else ""))
    console.print(table(None, ["rule", "where", "param", "line", "outcome", "conf."],
                        [[ln.rule, ln.where, ln.param, f"{ln.op} {ln.value:g}", ln.outcome, ln.confidence]
                         for ln in t.lines]))
    console.print(table("Design under the line (datacenter part)", ["target", "param", "given", "largest", "rule"],
                        [[d.target, d.param, ", ".join(d.given.values()), d.text, ", ".join(d.binding_rules)]
                         for d in t.design]))
    for a in t.assumptions:
        console.print(f"[cyan]assumes:[/] {escape(a)}")


# =============================================================================
# rules, scenarios, destinations, buyers
# =============================================================================


def _rule_row(rs: Any, rule_id: str) -> dict:
    r = rs.rule(rule_id)
    vs = rs.versions_of(rule_id)
    return {
        "id": r.id, "name": r.name, "side": r.side, "kind": r.kind, "status": r.status,
        "confidence": r.confidence, "effective_from": r.effective_from.isoformat() if r.effective_from else None,
        "effective_to": vs[-1].end.isoformat() if vs and vs[-1].end else None,
        "citation": r.citation, "file": rs.files.get(r.id),
    }


@rules_app.command("list")
@guarded
def rules_list_cmd(
    side: Optional[str] = typer.Option(None, "--side", help="us or cn."),
    status: Optional[str] = typer.Option(None, "--status", help="in_force, superseded, proposed, ..."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Every regime, measure and proposed law, with dates, status and citation.

    Examples:
      suanli policy rules list
      suanli policy rules list --side cn --json
    """
    rs = _rules()
    rows = [_rule_row(rs, i) for i in rs.rule_ids()]
    check_choice("--side", side, ("us", "cn"))
    if status:
        from typing import get_args

        from suanli.policy.schema import Status

        check_choice("--status", status, get_args(Status))
    if side:
        rows = [r for r in rows if r["side"] == side]
    if status:
        rows = [r for r in rows if r["status"] == status]
    amend = [{"id": a.id, "name": a.name, "status": a.status, "citation": a.citation,
              "changes": [{"op": c.op, "target": c.target, "from": c.from_.isoformat()} for c in a.changes]}
             for a in rs.amendments]
    if json_out:
        print_json({"as_of": rs.as_of.isoformat(), "coverage_from": rs.coverage_from.isoformat(),
                    "rules": rows, "amendments": amend, "n": len(rows)})
        return
    console.print(table(f"{len(rows)} rules (as of {rs.as_of})", ["id", "side", "kind", "status", "from", "to", "citation"],
                        [[r["id"], r["side"], r["kind"], r["status"], r["effective_from"] or "-",
                          r["effective_to"] or "", r["citation"] or ""] for r in rows]))
    console.print(table("Amendments", ["id", "changes", "citation"],
                        [[a["id"], "; ".join(f"{c['op']} {c['target']} from {c['from']}" for c in a["changes"]),
                          a["citation"] or ""] for a in amend]))


@rules_app.command("show")
@guarded
def rules_show_cmd(
    rule_id: str = typer.Argument(..., help="Rule id, e.g. us-ear-h200-case-by-case-2026-01."),
    json_out: bool = JSON_OPTION,
) -> None:
    """One rule in full: criteria, provisions, effects, history, sources, and its dated versions.

    Examples:
      suanli policy rules show us-ear-acs-2023-10
      suanli policy rules show safe-chips-act --json
    """
    rs = _rules()
    r = rs.rule(rule_id)
    versions = [{"from": v.start.isoformat() if v.start else None, "to": v.end.isoformat() if v.end else None,
                 "changed_by": list(v.changed_by)} for v in rs.versions_of(rule_id)]
    d = {"rule": r.model_dump(mode="json", by_alias=True, exclude_defaults=True), "versions": versions,
         "file": rs.files.get(r.id)}
    if json_out:
        print_json(d)
        return
    import yaml

    console.print(f"[bold]{escape(r.id)}[/]: {escape(r.name)}  ({rs.files.get(r.id)})")
    for v in versions:
        console.print(f"  in force {v['from'] or 'never (proposed)'} to {v['to'] or 'open'}"
                      + (f"  [changed by {', '.join(v['changed_by'])}]" if v["changed_by"] else ""))
    console.print(escape(yaml.safe_dump(d["rule"], sort_keys=False, allow_unicode=True, width=110)))


@scenarios_app.command("list")
@guarded
def scenarios_list_cmd(json_out: bool = JSON_OPTION) -> None:
    """Built-in scenarios: each proposed law enacted, H200 pathway revoked, AI Diffusion enforced.

    Use one with --scenario NAME or NAME@YYYY-MM-DD; write your own as YAML (see examples/scenarios/).

    Examples:
      suanli policy scenarios list
      suanli policy classify h20 --date 2027-01-01 --scenario safe-chips-act
    """
    from suanli.policy.scenarios import list_scenarios

    rows = list_scenarios(_rules())
    if json_out:
        print_json({"scenarios": rows, "n": len(rows)})
        return
    console.print(table(f"{len(rows)} scenarios", ["id", "status", "changes", "description"],
                        [[s["id"], s["status"], "; ".join(f"{c['op']} {c['target']} from {c['from']}"
                                                          for c in s["changes"]), s["description"] or ""]
                         for s in rows]))


@scenarios_app.command("show")
@guarded
def scenarios_show_cmd(
    name: str = typer.Argument(..., help="Built-in scenario name or a scenario YAML file (validated)."),
    json_out: bool = JSON_OPTION,
) -> None:
    """One scenario: its changes (a file is validated, as when used with --scenario).

    Examples:
      suanli policy scenarios show safe-chips-act
      suanli policy scenarios show examples/scenarios/levy-40-percent.yaml --json
    """
    from suanli.policy.scenarios import resolve_scenarios

    rs = _rules()
    applied = resolve_scenarios(rs, name)
    changed = sorted({v.rule.id for v in applied.versions
                      if any(s in v.changed_by for s in applied.applied)})
    out = {"scenarios": list(applied.applied), "rules_changed": changed,
           "versions": [{"rule": v.rule.id, "from": v.start.isoformat() if v.start else None,
                         "to": v.end.isoformat() if v.end else None, "changed_by": list(v.changed_by)}
                        for v in applied.versions if v.rule.id in changed]}
    if json_out:
        print_json(out)
        return
    console.print(table(f"scenario {', '.join(applied.applied)}", ["rule", "from", "to", "changed by"],
                        [[x["rule"], x["from"] or "never", x["to"] or "open", ", ".join(x["changed_by"])]
                         for x in out["versions"]]))


@app.command("destinations")
@guarded
def destinations_cmd(json_out: bool = JSON_OPTION) -> None:
    """Destination codes the rules know, with their EAR country groups.

    Examples:
      suanli policy destinations --json
    """
    dests = _rules().vocab.destinations
    rows = [{"code": k, "name": c.name, "groups": c.groups, "aliases": c.aliases} for k, c in dests.countries.items()]
    if json_out:
        print_json({"destinations": rows, "groups": {k: g.description for k, g in dests.groups.items()}})
        return
    console.print(table("destinations", ["code", "name", "groups"],
                        [[r["code"], r["name"], ", ".join(r["groups"])] for r in rows]))


@app.command("buyers")
@guarded
def buyers_cmd(json_out: bool = JSON_OPTION) -> None:
    """Buyer types (--buyer) and what distinguishes them.

    Examples:
      suanli policy buyers
    """
    buyers = _rules().vocab.buyers.buyers
    rows = [{"id": k, "name": b.name, "hq": b.hq, "tags": b.tags, "description": b.description}
            for k, b in buyers.items()]
    if json_out:
        print_json({"buyers": rows})
        return
    console.print(table("buyers", ["id", "hq", "tags", "description"],
                        [[r["id"], r["hq"] or "outside D:5/MO", ", ".join(r["tags"]), r["description"]] for r in rows]))

