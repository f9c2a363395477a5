"""Evaluate the article's claims: each test computes a number with suanli's data and models and compares it.

The claims and their tests are data (``claims/data/claims.yaml``); this module
knows only the generic measures (catalog figure, derived metric, prediction,
classification, timeline, market row, model parameter, ratios) and the verdict
rule. Every number carries its source: the catalog figure's source, the rule
citation, the market row's URL, or "suanli model" with the configuration.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from suanli.errors import DataError, SuanliError

VERDICTS = ("holds", "holds_for_metric", "does_not_hold", "cannot_check")
CLAIMS_FILE = "suanli/claims/data/claims.yaml"
MARKET_FILE = "suanli/claims/data/market_data.csv"


# --------------------------------------------------------------------------- the data's schema
class Expect(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    min: float | None = None
    max: float | None = None
    equals: Any = None
    in_: list[Any] | None = Field(None, alias="in")
    month: str | None = None
    contains: str | None = None


class CheckSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str
    measure: dict[str, Any]
    expect: Expect | None = None


class ClaimSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    claim: str
    claim_zh: str
    kind: str
    note: str | None = None
    tests: list[CheckSpec] = Field(min_length=1)


def load_claims(text: str | None = None, file: str = CLAIMS_FILE) -> list[ClaimSpec]:
    """The packaged claims (or ``text`` of a claims file), validated: errors name the claim and field."""
    if text is None:
        text = resources.files("suanli.claims").joinpath("data", "claims.yaml").read_text(encoding="utf-8")
    doc = yaml.safe_load(text) or {}
    out = []
    for i, raw in enumerate(doc.get("claims", [])):
        try:
            spec = ClaimSpec.model_validate(raw)
        except ValidationError as exc:
            e = exc.errors()[0]
            raise DataError(file, e["msg"], record=(raw or {}).get("id", f"#{i + 1}"),
                            field=".".join(str(x) for x in e["loc"])) from None
        for t in spec.tests:
            _check_measure(t.measure, file, spec.id)
        out.append(spec)
    if not out:
        raise DataError(file, "no claims")
    return out


MEASURES = ("catalog", "derived", "best_peak", "predict", "date", "months_between", "ratio", "per", "times",
            "classify", "timeline_first", "rule_detail", "market", "param", "complement")


def _check_measure(m: Any, file: str, claim: str) -> None:
    if not isinstance(m, dict) or len(m) != 1 or next(iter(m)) not in MEASURES:
        raise DataError(file, f"a measure is one of {', '.join(MEASURES)} (got {m!r})", record=claim,
                        field="measure")
    kind, arg = next(iter(m.items()))
    if kind in ("ratio", "per", "months_between"):
        if not isinstance(arg, list) or len(arg) != 2:
            raise DataError(file, f"{kind} takes two measures", record=claim, field="measure")
        for a in arg:
            _check_measure(a, file, claim)
    elif kind == "times":
        _check_measure(arg.get("of"), file, claim)
        if not isinstance(arg.get("by"), (int, float)) or not arg.get("source"):
            raise DataError(file, "times needs a number 'by' and its 'source'", record=claim, field="measure")
    elif kind == "complement":
        _check_measure(arg, file, claim)


# --------------------------------------------------------------------------- market data
@dataclass(frozen=True)
class MarketRow:
    topic: str
    entity: str
    metric: str
    value: float
    unit: str
    date: str
    source: str
    confidence: str
    notes: str


def load_market(text: str | None = None, file: str = MARKET_FILE) -> list[MarketRow]:
    """Rows of the market reference table (topic, entity, metric, value, unit, date, source, confidence)."""
    if text is None:
        text = resources.files("suanli.claims").joinpath("data", "market_data.csv").read_text(encoding="utf-8")
    rows = []
    for n, r in enumerate(csv.DictReader(io.StringIO(text)), start=2):
        try:
            value = float(r["value"])
        except (TypeError, ValueError):
            raise DataError(file, f"value {r.get('value')!r} is not a number", line=n, field="value") from None
        if not (r.get("source") or "").strip():
            raise DataError(file, "every row needs a source", line=n, field="source")
        rows.append(MarketRow(r["topic"], r["entity"], r["metric"], value, r.get("unit") or "", r.get("date") or "",
                              r["source"], r.get("confidence") or "", r.get("notes") or ""))
    return rows


# --------------------------------------------------------------------------- results
@dataclass
class Number:
    """A number shown with a claim: what it is, its value and unit, and where it comes from."""

    label: str
    value: Any
    unit: str = ""
    source: str = ""

    def to_dict(self) -> dict:
        return {"label": self.label, "value": self.value, "unit": self.unit, "source": self.source}


@dataclass
class CheckResult:
    label: str
    value: Any
    expect: dict | None
    passed: bool | None          # None: context only, or could not be computed
    error: str | None = None
    inputs: list[Number] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"label": self.label, "value": self.value, "expect": self.expect, "passed": self.passed,
                "error": self.error, "inputs": [n.to_dict() for n in self.inputs]}


@dataclass
class ClaimCheck:
    id: str
    claim: str
    claim_zh: str
    kind: str
    verdict: str
    summary: str
    tests: list[CheckResult]
    note: str | None = None

    @property
    def numbers(self) -> list[Number]:
        out: list[Number] = []
        for t in self.tests:
            out.append(Number(t.label, t.value, "", "; ".join(dict.fromkeys(n.source for n in t.inputs if n.source))))
        return out

    def to_dict(self) -> dict:
        return {"id": self.id, "claim": self.claim, "claim_zh": self.claim_zh, "kind": self.kind,
                "verdict": self.verdict, "summary": self.summary, "note": self.note,
                "tests": [t.to_dict() for t in self.tests], "numbers": [n.to_dict() for n in self.numbers]}


@dataclass
class ClaimsReport:
    claims: list[ClaimCheck]
    source: str = "seed article 000_5fd6b2ad8b53fa98.txt (December 2025); claims.md"

    def counts(self) -> dict[str, int]:
        return {v: sum(c.verdict == v for c in self.claims) for v in VERDICTS}

    def to_dict(self) -> dict:
        return {"source": self.source, "verdicts": list(VERDICTS), "counts": self.counts(),
                "claims": [c.to_dict() for c in self.claims]}

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame([{"id": c.id, "kind": c.kind, "verdict": c.verdict, "claim": c.claim,
                              "summary": c.summary} for c in self.claims])


# --------------------------------------------------------------------------- measures
class _Env:
    """What the measures read: catalog, rules, model parameters, market rows (loaded once per check)."""

    def __init__(self, catalog: Any = None, rules: Any = None, params: dict | None = None,
                 market: list[MarketRow] | None = None) -> None:
        from suanli.catalog import get_catalog

        self.catalog = catalog or get_catalog()
        self._rules, self._params, self._market = rules, params, market

    @property
    def rules(self) -> Any:
        if self._rules is None:
            from suanli.policy.regimes import load_rules

            self._rules = load_rules()
        return self._rules

    @property
    def params(self) -> dict:
        if self._params is None:
            from suanli.perf.hardware import load_params

            self._params = load_params()
        return self._params

    @property
    def market(self) -> list[MarketRow]:
        if self._market is None:
            self._market = load_market()
        return self._market


_MONTH = re.compile(r"^(\d{4})-(\d{2})")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])")


def parse_month(text: str) -> int:
    """Months since year 0 of a catalog date: ``YYYY-MM[-DD]`` or ``YYYY-Qn`` (first month of the quarter).

    >>> parse_month("2023-11-13") - parse_month("2022-03-22")
    20
    >>> parse_month("2024-Q2") == parse_month("2024-04")
    True
    """
    t = str(text).strip()
    m = _QUARTER.match(t)
    if m:
        return int(m.group(1)) * 12 + (int(m.group(2)) - 1) * 3
    m = _MONTH.match(t)
    if m:
        return int(m.group(1)) * 12 + int(m.group(2)) - 1
    raise SuanliError(f"cannot read a month from {text!r}", hint="dates are YYYY-MM, YYYY-MM-DD or YYYY-Qn")


def month_text(months: int) -> str:
    return f"{months // 12:04d}-{months % 12 + 1:02d}"


def measure(m: dict, env: _Env) -> tuple[Any, list[Number]]:
    """The value of a measure and the sourced numbers it was computed from."""
    kind, a = next(iter(m.items()))
    cat = env.catalog
    if kind == "catalog":
        acc = cat.accelerator(a["hardware"])
        fig = getattr(acc, a["field"])
        if fig.value is None:
            raise SuanliError(f"{a['hardware']}: {a['field']} is unknown in the catalog")
        return fig.value, [Number(f"{a['hardware']} {a['field']}", fig.value, a["field"].rsplit("_", 1)[-1],
                                  fig.source or "")]
    if kind == "derived":
        from suanli.catalog.derived import derived_metrics

        d = derived_metrics(cat.accelerator(a["hardware"]))[a["metric"]]
        return d["value"], [Number(f"{a['hardware']} {a['metric']}", d["value"], d["unit"],
                                   f"suanli derived ({d['basis']})")]
    if kind == "best_peak":
        from suanli.catalog.schema import DTYPE_BITS, PEAK_FIELD

        acc = cat.accelerator(a["hardware"])
        best = max(((getattr(acc, PEAK_FIELD[d]).value or 0.0, PEAK_FIELD[d]) for d in DTYPE_BITS),
                   key=lambda t: t[0])
        fig = getattr(acc, best[1])
        return best[0], [Number(f"{a['hardware']} {best[1]} (highest dense peak)", best[0], "", fig.source or "")]
    if kind == "predict":
        return _predict(a, env)
    if kind == "date":
        acc = cat.accelerator(a["hardware"])
        text = getattr(acc, a["field"])
        months = parse_month(text)
        src = "; ".join(acc.sources[:2]) if acc.sources else ""
        return month_text(months), [Number(f"{a['hardware']} {a['field']}", text, "", src)]
    if kind == "months_between":
        (d0, n0), (d1, n1) = measure(a[0], env), measure(a[1], env)
        return parse_month(d1) - parse_month(d0), n0 + n1
    if kind in ("ratio", "per"):
        (x, nx), (y, ny) = measure(a[0], env), measure(a[1], env)
        if not y:
            raise SuanliError("division by zero in a ratio")
        return x / y, nx + ny
    if kind == "times":
        v, ns = measure(a["of"], env)
        return v * a["by"], ns + [Number("factor", a["by"], "x", a["source"])]
    if kind == "complement":
        v, ns = measure(a, env)
        return 100.0 - v, ns
    if kind == "classify":
        from suanli.policy.classify import classify

        c = classify(a["hardware"], a.get("dest", "CN"), a["date"], a.get("buyer", "private"), a.get("scenario"),
                     rules=env.rules, catalog=cat)
        d = c.to_dict()
        value = d[a["field"]]
        cites = [r.citation or (r.sources[0] if r.sources else r.id) for r in c.rules
                 if r.role in ("classification", "licence", "levy", "end-user")]
        return value, [Number(f"{a['hardware']} -> {a.get('dest', 'CN')} {a['date']} {a['field']}", value, "",
                              "; ".join(dict.fromkeys(x for x in cites if x)))]
    if kind == "timeline_first":
        from suanli.policy.timeline import timeline

        t = timeline([a["hardware"]], a.get("dest", "CN"), rules=env.rules, catalog=cat).to_dict()
        for e in t["chips"][0]["entries"]:
            if e[a["field"]] == a["value"]:
                cite = ", ".join(e["caused_by"] or e["rules"])
                return e["date"][:7], [Number(f"{a['hardware']} {a['field']} = {a['value']} from", e["date"], "",
                                              f"rules {cite}")]
        raise SuanliError(f"{a['hardware']}: {a['field']} never becomes {a['value']!r} in the timeline")
    if kind == "rule_detail":
        r = env.rules.rule(a["rule"])
        value = (r.details or {}).get(a["key"])
        if value is None:
            raise SuanliError(f"rule {a['rule']} has no detail {a['key']!r}")
        return value, [Number(f"{a['rule']} {a['key']}", value, "", r.citation or "")]
    if kind == "market":
        rows = [r for r in env.market if r.topic == a["topic"] and r.entity == a["entity"] and r.metric == a["metric"]
                and (not a.get("date") or r.date == str(a["date"]))]
        if not rows:
            raise SuanliError(f"no market row {a['topic']}/{a['entity']}/{a['metric']}")
        r = rows[-1]
        return r.value, [Number(f"{r.entity} {r.metric} ({r.date}, {r.confidence})", r.value, r.unit, r.source)]
    if kind == "param":
        v: Any = env.params
        for k in str(a).split("."):
            v = v[k]
        return float(v), [Number(f"model parameter {a}", float(v), "", "suanli/perf/data (fitted on the "
                                                                          "validation set where measured)")]
    raise SuanliError(f"unknown measure {kind!r}")  # pragma: no cover - load_claims refuses it


def _predict(a: dict, env: _Env) -> tuple[float, list[Number]]:
    from suanli.perf.search import Request, predict_phase, predict_serve

    kind = a.get("kind", "serve")
    metric = a.get("metric", "output_tps_per_chip")
    keys = ("hardware", "model", "chips", "isl", "osl", "system", "batch_per_chip", "weight_dtype")
    req = Request(**{k: a[k] for k in keys if k in a}, scenario="offline" if kind == "serve" else "fixed")
    pred = predict_serve(env.catalog, req) if kind == "serve" else predict_phase(env.catalog, req, kind)
    value = float(pred.metrics[metric])
    c = pred.config
    cfg = f"tp{c.get('tp')} pp{c.get('pp')} ep{c.get('ep')} dp{c.get('dp')} batch/chip {c.get('batch_per_chip'):.4g}"
    band = pred.error_band
    src = f"suanli model ({kind}, {cfg}" + (f", error band ±{100 * band.mape:.0f}%" if band and band.mape else "") + ")"
    label = f"{a['hardware']} {a['model']} x{a.get('chips', 8)} {kind} {metric}"
    return value, [Number(label, value, "tokens/s", src)]


# --------------------------------------------------------------------------- verdict
def passes(value: Any, e: Expect) -> bool:
    """Whether a measured value meets what the claim says.

    >>> passes(1.43, Expect(min=1.7, max=2.3)), passes(0.075, Expect(min=0.065, max=0.085))
    (False, True)
    >>> passes("2025-04", Expect(month="2025-04")), passes("2024-04", Expect(month="2024-Q2"))
    (True, True)
    """
    if e.month is not None:
        if _QUARTER.match(e.month):
            q0 = parse_month(e.month)
            return q0 <= parse_month(str(value)) < q0 + 3
        return str(value)[:7] == e.month
    if e.equals is not None:
        return value == e.equals
    if e.in_ is not None:
        return value in e.in_
    if e.contains is not None:
        return isinstance(value, str) and e.contains in value
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    return (e.min is None or value >= e.min) and (e.max is None or value <= e.max)


def _expect_text(e: Expect) -> str:
    if e.month:
        return e.month
    if e.equals is not None:
        return f"= {e.equals}"
    if e.in_ is not None:
        return "one of " + ", ".join(map(str, e.in_))
    if e.contains:
        return f"names {e.contains!r}"
    if e.min is not None and e.max is not None:
        return f"{e.min:g}–{e.max:g}"
    return f">= {e.min:g}" if e.min is not None else f"<= {e.max:g}"


def _show(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1000 else f"{v:,.0f}"
    return str(v)


def verdict(results: list[CheckResult]) -> tuple[str, str]:
    """The verdict over a claim's tests, and a one-line summary naming which held."""
    judged = [t for t in results if t.expect is not None and t.error is None]
    if not judged:
        errs = "; ".join(t.error for t in results if t.error)
        return "cannot_check", "no test could be computed" + (f": {errs}" if errs else "")
    ok = [t for t in judged if t.passed]
    bad = [t for t in judged if not t.passed]
    line = lambda ts: "; ".join(f"{t.label}: {_show(t.value)} (claim {t.expect['text']})" for t in ts)  # noqa: E731
    if not bad:
        return "holds", "holds on every test: " + line(ok)
    if not ok:
        return "does_not_hold", "fails every test: " + line(bad)
    return "holds_for_metric", "holds only for: " + line(ok) + ". Not for: " + line(bad)


def check_claims(*, catalog: Any = None, claims: list[ClaimSpec] | None = None,
                 market: list[MarketRow] | None = None) -> ClaimsReport:
    """Check every claim of the article with suanli's data and models."""
    env = _Env(catalog=catalog, market=market)
    out = []
    for spec in claims or load_claims():
        results = []
        for t in spec.tests:
            exp = None if t.expect is None else {**t.expect.model_dump(by_alias=True, exclude_none=True),
                                                 "text": _expect_text(t.expect)}
            try:
                value, inputs = measure(t.measure, env)
            except SuanliError as exc:
                results.append(CheckResult(t.label, None, exp, None, error=exc.message))
                continue
            if isinstance(value, float):
                value = round(value, 6)
            passed = None if t.expect is None else passes(value, t.expect)
            results.append(CheckResult(t.label, value, exp, passed, inputs=inputs))
        v, summary = verdict(results)
        out.append(ClaimCheck(spec.id, spec.claim, spec.claim_zh, spec.kind, v, summary, results, spec.note))
    return ClaimsReport(out)
