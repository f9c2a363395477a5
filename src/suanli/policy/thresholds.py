"""The lines in force for a destination and date, and the largest part that stays under each ("design under the line").

:func:`thresholds` lists every numeric threshold of the rules in force
(``lines``) and, for a datacenter part, finds the largest TPP (for each band
of performance density), DRAM bandwidth and I/O bandwidth that keeps the
outcome within each access tier: licence-free, no licence (notification
allowed), and case-by-case at worst.

The bounds are found by probing the engine itself, not restated by hand: the
outcome of a rule set, as a function of one parameter with the others fixed,
changes only at that parameter's thresholds, so testing just below, at and
just above each threshold gives the exact supremum (outcomes only get
stricter as a parameter rises -- a property the tests check).

>>> t = thresholds("CN", "2024-06-01")
>>> row = next(r for r in t.design if r.target == "licence-free" and r.param == "tpp" and r.given.get("pd") == "pd < 1.6")
>>> row.op, row.limit
('<', 4800.0)
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from suanli.policy.classify import Classification, check_date, evaluate_spec, parse_date
from suanli.policy.metrics import ChipSpec
from suanli.policy.regimes import RuleSet, buyer_matches, dest_matches, load_rules
from suanli.policy.scenarios import resolve_scenarios
from suanli.policy.schema import REVIEW_ORDER, iter_conds

#: Access tiers a designer aims for, as tests on a classification.
TARGETS: dict[str, tuple[str, Any]] = {
    "licence-free": ("no licence, no notification", lambda c: not c.license_required and c.review == "none"),
    "no-licence": ("no licence (License Exception with notification allowed)", lambda c: not c.license_required),
    "case-by-case": ("licence reviewed case by case at worst",
                     lambda c: REVIEW_ORDER.index(c.review) <= REVIEW_ORDER.index("case_by_case")),
}
PROBE_PARAMS = ("tpp", "dram_bw_gbps", "io_bidir_gbps")


class _Result(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def to_dict(self) -> dict:
        return self.model_dump(mode="json")


class Line(_Result):
    """One threshold of a rule in force."""

    rule: str
    citation: str | None
    where: str
    outcome: str
    param: str
    op: str
    value: float
    unit: str | None = None
    confidence: str
    note: str | None = None


class DesignBound(_Result):
    """The largest value of ``param`` that keeps a datacenter part within ``target``, given other values."""

    target: str
    description: str
    param: str
    given: dict[str, str]
    op: str | None
    limit: float | None
    binding_rules: list[str] = Field(default_factory=list)
    text: str


class Thresholds(_Result):
    destination: str
    date: dt.date
    buyer: str
    scenarios: list[str] = Field(default_factory=list)
    lines: list[Line]
    design: list[DesignBound]
    assumptions: list[str]

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame([x.to_dict() for x in self.lines])


def thresholds(
    destination: str = "CN",
    date: str | dt.date | None = None,
    buyer: str = "private",
    scenario: Any = None,
    *,
    rules: RuleSet | None = None,
    targets: Sequence[str] = tuple(TARGETS),
) -> Thresholds:
    """The lines in force for ``destination`` and ``buyer`` on ``date``, and the design bounds under them.

    Returns
    -------
    Thresholds
        ``lines``: each numeric threshold (rule, tier or provision, outcome,
        citation); ``design``: for each target tier, the largest TPP per PD
        band, and the largest DRAM and I/O bandwidth (at low TPP and just under
        the tier's TPP limit).
    """
    base = rules or load_rules()
    d = parse_date(date)
    code, country = base.destination(destination)
    b = base.buyer(buyer)
    check_date(d, base)
    rs = resolve_scenarios(base, scenario)
    vocab = rs.vocab
    lines: list[Line] = []
    seen: set[tuple] = set()
    for v in rs.active(d):
        r = v.rule
        if r.side == "us" and r.stage in ("license", "end_user") and country.domestic_us:
            continue
        blocks = [(f"tier {t.eccn}", t.eccn, t.when) for t in r.classification]
        for p in r.provisions:
            dests = p.destinations if p.destinations is not None else r.destinations
            buyers = p.buyers if p.buyers is not None else r.buyers
            if dest_matches(dests, code, b, vocab) and buyer_matches(buyers, buyer, b):
                blocks.append((f"provision {p.id}", _effect_text(p.effect), p.when))
        for where, outcome, crit in blocks:
            for c in iter_conds(crit):
                name = vocab.canonical(c.param)
                pdef = vocab.parameters.parameters.get(name)
                if pdef is None or pdef.kind != "metric" or pdef.type != "number" or isinstance(c.value, bool):
                    continue
                key = (r.id, where, name, c.op, c.value)
                if key in seen:
                    continue
                seen.add(key)
                lines.append(Line(rule=r.id, citation=r.citation, where=where, outcome=outcome, param=name, op=c.op,
                                  value=float(c.value), unit=pdef.unit, confidence=c.confidence or r.confidence,
                                  note=c.note))

    cuts = {p: sorted({ln.value for ln in lines if ln.param == p}) for p in ("tpp", "pd", "dram_bw_gbps",
                                                                          "io_bidir_gbps", "dram_plus_io_gbps")}
    assumptions = [
        "datacenter part, subject to the EAR (US-origin design), not a named product",
        "commercially available in the US before the Jan 2026 rule (so its case-by-case path is open)",
        "parameters not varied are ~0 (PD given as a band; DRAM and I/O 0 unless probed)",
    ]

    def run(**kw: float) -> Classification:
        spec = ChipSpec(tpp=max(kw.get("tpp", 0.0), 1e-6), pd=kw.get("pd", 0.0), dram_bw_gbps=kw.get("dram_bw_gbps", 0.0),
                        io_bidir_gbps=kw.get("io_bidir_gbps", 0.0), datacenter=True, us_available=True,
                        hbm=True, transistors_bn=0.0)
        return evaluate_spec(spec, code, country, buyer, b, d, rs, with_margins=False)

    design: list[DesignBound] = []
    pd_bands = _bands(cuts["pd"])
    # Bandwidths above every bandwidth line: a rule that tests TPP AND bandwidth (the Oct 2022
    # rule: I/O >= 600 AND TPP >= 4,800) only shows its TPP line when the bandwidth prong is met.
    hi_bw = {p: 2 * max(cuts[p] + cuts["dram_plus_io_gbps"]) for p in ("dram_bw_gbps", "io_bidir_gbps")
             if cuts[p] or cuts["dram_plus_io_gbps"]}
    hi_label = ", ".join(f"{p} >= every line" for p in hi_bw)
    for tname in targets:
        desc, ok = TARGETS[tname]
        tpp_bounds = []
        for label, pd_val in pd_bands:
            op, lim = _sup(lambda x, ok=ok, pd_val=pd_val: ok(run(tpp=x, pd=pd_val)), cuts["tpp"])
            tpp_bounds.append((op, lim))
            design.append(_bound(tname, desc, "tpp", {"pd": label}, op, lim, lines))
            if hi_bw:
                op_h, lim_h = _sup(lambda x, ok=ok, pd_val=pd_val: ok(run(tpp=x, pd=pd_val, **hi_bw)), cuts["tpp"])
                if (op_h, lim_h) != (op, lim) and op_h != "none":
                    design.append(_bound(tname, desc, "tpp", {"pd": label, "bandwidth": hi_label}, op_h, lim_h,
                                         lines))
        # Bandwidths: at low TPP, just under the tier's TPP limit at low PD, and above every TPP line.
        low_pd = pd_bands[0][1]
        tpp_levels = [("tpp ~0", 0.0)]
        op0, lim0 = tpp_bounds[0]
        if lim0 is not None and lim0 > 0:
            just = lim0 * (1 - 1e-6) if op0 == "<" else lim0
            tpp_levels.append((f"tpp just {'under' if op0 == '<' else 'at'} {lim0:g} ({pd_bands[0][0]})", just))
        elif op0 is None and cuts["tpp"]:
            tpp_levels.append((f"tpp >= {max(cuts['tpp']):g} (every TPP line)", max(cuts["tpp"]) * 1.5))
        for pname in ("dram_bw_gbps", "io_bidir_gbps"):
            for glabel, tval in tpp_levels:
                if not ok(run(tpp=tval, pd=low_pd)):
                    continue
                op, lim = _sup(lambda x, p=pname, t=tval, ok=ok, low_pd=low_pd: ok(run(tpp=t, pd=low_pd, **{p: x})),
                               sorted(set(cuts[pname]) | set(cuts["dram_plus_io_gbps"])))
                design.append(_bound(tname, desc, pname, {"tpp": glabel}, op, lim, lines))
    return Thresholds(destination=code, date=d, buyer=buyer, scenarios=list(rs.applied), lines=lines,
                      design=design, assumptions=assumptions)


def _bands(cuts: Sequence[float]) -> list[tuple[str, float]]:
    """PD bands between the PD thresholds, each with a representative value."""
    if not cuts:
        return [("any pd", 0.0)]
    out = [(f"pd < {cuts[0]:g}", cuts[0] / 2)]
    for lo, hi in zip(cuts, cuts[1:]):
        out.append((f"{lo:g} <= pd < {hi:g}", (lo + hi) / 2))
    out.append((f"pd >= {cuts[-1]:g}", cuts[-1] * 1.5))
    return out


def _sup(ok: Any, cuts: Sequence[float]) -> tuple[str | None, float | None]:
    """The supremum of x >= 0 with ok(x), assuming ok is monotone (True then False), checked at the cuts."""
    if not ok(0.0):
        return "none", 0.0
    for t in cuts:
        if t <= 0:
            continue
        eps = max(abs(t) * 1e-9, 1e-9)
        below, at, above = ok(t - eps), ok(t), ok(t + eps)
        if below and not at:
            return "<", t
        if at and not above:
            return "<=", t
    return None, None


def _bound(target: str, desc: str, param: str, given: dict[str, str], op: str | None, lim: float | None,
           lines: Sequence[Line]) -> DesignBound:
    binding = sorted({ln.rule for ln in lines if lim is not None and ln.value == lim
                      and (ln.param == param or (param != "tpp" and ln.param == "dram_plus_io_gbps"))})
    if op is None:
        text = f"no {param} limit"
    elif op == "none":
        text = "not reachable: the tier fails even at 0"
    else:
        text = f"{param} {op} {lim:g}"
    return DesignBound(target=target, description=desc, param=param, given=given, op=op, limit=lim,
                       binding_rules=binding, text=text)


def _effect_text(e: Any) -> str:
    parts = []
    if e.license_required is not None or e.review:
        parts.append(("licence" if e.license_required else "no licence") + (f", {e.review}" if e.review else ""))
    if e.license_exception:
        parts.append(e.license_exception)
    if e.fee:
        parts.append(f"fee {e.fee.fraction:.0%}")
    if e.volume_cap:
        parts.append("volume cap")
    if e.china_access:
        parts.append(f"china {e.china_access}")
    return "; ".join(parts) or "conditions"
