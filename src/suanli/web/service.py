"""The operations the REST API serves, each a thin call into the Python API, returning ``to_dict()`` data.

Every function takes already-validated request models (:mod:`suanli.web.schemas`)
and returns plain JSON-ready dicts. Results of the pure engines are cached per
request (bounded LRU): the engines are deterministic, so a cached answer is the
answer. Nothing here reads a path given by a request: ids are looked up in the
packaged catalog and rules, scenarios are built-in names only.
"""
from __future__ import annotations

import functools
from typing import Any

from suanli.errors import DataError, SuanliError
from suanli.catalog.derived import HEADLINE, accelerator_summary, model_summary  # noqa: F401 (API re-exports)
from suanli.jsonable import jsonable

#: Most entries each engine cache holds.
CACHE_SIZE = 512




def catalog() -> Any:
    from suanli.catalog import get_catalog

    return get_catalog()


def rules() -> Any:
    from suanli.policy.regimes import load_rules

    return load_rules()


# --------------------------------------------------------------------------- catalog
@functools.lru_cache(maxsize=CACHE_SIZE)
def catalog_list(vendor: str | None = None, category: str | None = None) -> dict:
    rows = [accelerator_summary(a) for a in catalog().list_accelerators(vendor, category)]
    return jsonable({"accelerators": rows, "n": len(rows)})


@functools.lru_cache(maxsize=CACHE_SIZE)
def catalog_show(hardware: str) -> dict:
    from suanli.catalog.derived import derived_metrics

    cat = catalog()
    acc = cat.accelerator(hardware)
    return jsonable({"accelerator": acc.to_dict(), "derived": derived_metrics(acc),
                     "systems": [s.id for s in cat.systems.values() if s.hardware == acc.id]})


@functools.lru_cache(maxsize=CACHE_SIZE)
def catalog_compare(hardware: tuple[str, ...]) -> dict:
    """Side by side with ratios to the first (as ``suanli catalog compare --json``)."""
    from suanli.catalog.derived import derived_metrics
    from suanli.catalog.schema import DTYPE_BITS, PEAK_FIELD

    cat = catalog()
    accs = [cat.accelerator(h) for h in hardware]
    base = accs[0]
    fields = [PEAK_FIELD[d] for d in DTYPE_BITS] + ["mem_capacity_gb", "mem_bw_tbps", "scaleup_bw_gbps", "tdp_w",
                                                    "price_usd"]
    derived = {a.id: derived_metrics(a) for a in accs}

    def row(get, conf) -> dict:
        values = {a.id: get(a) for a in accs}
        b = values[base.id]
        ratio = {a.id: (values[a.id] / b if values[a.id] is not None and b not in (None, 0) else None) for a in accs}
        return {"values": values, "ratio": ratio, "confidence": {a.id: conf(a) for a in accs}}

    metrics: dict[str, dict] = {}
    for f in fields:
        metrics[f] = row(lambda a, f=f: getattr(a, f).value, lambda a, f=f: getattr(a, f).confidence)
    for key in ("tpp", "perf_density", "ridge_point_bf16_flop_per_byte", "bf16_gflops_per_w",
                "mem_bw_gbps_per_bf16_tflop"):
        metrics[key] = row(lambda a, key=key: derived[a.id].get(key, {}).get("value"),
                           lambda a, key=key: "estimate" if derived[a.id].get(key, {}).get("estimate") else None)
    return jsonable({"hardware": [a.id for a in accs], "base": base.id, "metrics": metrics})


@functools.lru_cache(maxsize=CACHE_SIZE)
def systems_list() -> dict:
    rows = [s.to_dict() for s in catalog().systems.values()]
    return jsonable({"systems": rows, "n": len(rows)})


@functools.lru_cache(maxsize=CACHE_SIZE)
def system_show(system: str) -> dict:
    return jsonable({"system": catalog().system(system).to_dict()})


@functools.lru_cache(maxsize=CACHE_SIZE)
def models_list() -> dict:
    rows = [model_summary(m) for m in catalog().models.values()]
    return jsonable({"models": rows, "n": len(rows)})


@functools.lru_cache(maxsize=CACHE_SIZE)
def model_show(model: str) -> dict:
    m = known_model(model)
    d = model_summary(m)
    d["kv_bytes_per_token"] = {k: m.kv_bytes_per_token(k) for k in ("bf16", "fp8")}
    d["flops_per_token"] = {"prefill_isl_1024": float(m.flops_per_token(1024, phase="prefill")),
                            "decode_ctx_1024": float(m.flops_per_token(1024, phase="decode"))}
    d["architecture"] = m.to_dict()
    return jsonable(d)


def known_model(model: str) -> Any:
    """A packaged model by id only (the API never opens a config path a request names)."""
    from suanli.errors import UnknownIdError

    cat = catalog()
    if model not in cat.models:
        raise UnknownIdError("model", model, cat.models)
    return cat.models[model]


# --------------------------------------------------------------------------- policy
def _scenarios(names: list[str] | None) -> list[str] | None:
    """Built-in scenario names (``NAME`` or ``NAME@YYYY-MM-DD``) only: a request cannot name a file."""
    if not names:
        return None
    rs = rules()
    for n in names:
        base = n.split("@", 1)[0]
        if base not in rs.scenarios:
            from suanli.policy.schema import UnknownChoiceError

            raise UnknownChoiceError("scenario", base, list(rs.scenarios), "suanli policy scenarios list")
    return list(names)


@functools.lru_cache(maxsize=CACHE_SIZE)
def _classify(hardware: str | None, spec: tuple | None, dest: str, date: str | None, buyer: str,
              scenario: tuple | None) -> dict:
    from suanli.policy.classify import classify
    from suanli.policy.metrics import spec_from_mapping

    rs = rules()
    target: Any = spec_from_mapping(dict(spec), source="request") if spec is not None else hardware
    res = classify(target, dest, date or rs.as_of, buyer, _scenarios(list(scenario) if scenario else None),
                   rules=rs, catalog=None if spec is not None else catalog())
    return jsonable(res.to_dict())


def classify(q: Any) -> dict:
    if (q.hardware is None) == (q.spec is None):
        raise SuanliError("give a chip id or a spec, not both or neither",
                          hint='e.g. {"hardware": "h20"} or {"spec": {"tpp": 3000, "pd": 2.0, "datacenter": true}}')
    if q.hardware is not None:
        catalog().accelerator(q.hardware)
    spec = tuple(sorted(q.spec.items())) if q.spec is not None else None
    return _classify(q.hardware, spec, q.dest, q.date, q.buyer, tuple(q.scenario) if q.scenario else None)


@functools.lru_cache(maxsize=CACHE_SIZE)
def _timeline(hardware: tuple | None, dest: str, start: str | None, end: str | None, buyer: str,
              scenario: tuple | None, all_events: bool) -> dict:
    from suanli.policy.timeline import timeline as tl

    t = tl(list(hardware) if hardware else None, dest, start, end, buyer,
           _scenarios(list(scenario) if scenario else None), rules=rules(), catalog=catalog())
    d = t.to_dict()
    if not all_events:
        for c in d["chips"]:
            c["entries"] = [e for e in c["entries"] if e["outcome_changed"]]
    return jsonable(d)


def timeline(q: Any) -> dict:
    for h in q.hardware or ():
        catalog().accelerator(h)
    return _timeline(tuple(q.hardware) if q.hardware else None, q.dest, q.start, q.end, q.buyer,
                     tuple(q.scenario) if q.scenario else None, q.all_events)


@functools.lru_cache(maxsize=CACHE_SIZE)
def _thresholds(dest: str, date: str | None, buyer: str, scenario: tuple | None) -> dict:
    from suanli.policy.thresholds import thresholds as th

    rs = rules()
    return jsonable(th(dest, date or rs.as_of, buyer, _scenarios(list(scenario) if scenario else None),
                       rules=rs).to_dict())


def thresholds(q: Any) -> dict:
    return _thresholds(q.dest, q.date, q.buyer, tuple(q.scenario) if q.scenario else None)


@functools.lru_cache(maxsize=CACHE_SIZE)
def scenarios_list() -> dict:
    from suanli.policy.scenarios import list_scenarios

    rows = list_scenarios(rules())
    return jsonable({"scenarios": rows, "n": len(rows)})


# --------------------------------------------------------------------------- predictions
def _check_request(req: Any) -> None:
    """Ids must be packaged ones (no config paths); system must hold the chip."""
    cat = catalog()
    cat.accelerator(req.hardware)
    known_model(req.model)
    if req.system and req.system not in ("hgx-8",):
        s = cat.system(req.system)
        if s.hardware and s.hardware != cat.accelerator(req.hardware).id:
            raise SuanliError(f"system {req.system!r} holds {s.hardware}, not {req.hardware}",
                              hint="omit system to use the chip's usual box")


@functools.lru_cache(maxsize=CACHE_SIZE)
def _predict(req: Any, kind: str) -> dict:
    from dataclasses import replace

    from suanli.perf import search

    cat = catalog()
    if kind == "serve":
        return jsonable(search.predict_serve(cat, req).to_dict())
    if kind == "pareto":
        return jsonable(search.pareto(cat, req).to_dict())
    return jsonable(search.predict_phase(cat, replace(req, scenario="fixed"), kind).to_dict())


def predict(req: Any, kind: str) -> dict:
    _check_request(req)
    return _predict(req, kind)


@functools.lru_cache(maxsize=CACHE_SIZE)
def _train(q: Any) -> dict:
    from suanli.perf.training import predict_train

    d = q.model_dump()
    hw, model = d.pop("hardware"), d.pop("model")
    return jsonable(predict_train(hw, model, catalog=catalog(), **d).to_dict())


def train(q: Any) -> dict:
    catalog().accelerator(q.hardware)
    known_model(q.model)
    return _train(q)


@functools.lru_cache(maxsize=CACHE_SIZE)
def _compare(q: Any) -> dict:
    from dataclasses import replace

    from suanli.perf.compare import compare_serving
    from suanli.perf.search import Request, pareto

    cat = catalog()
    out = compare_serving(cat, list(q.hardware), q.model, chips=q.chips, isl=q.isl, osl=q.osl,
                          weight_dtype=q.weight_dtype, ttft_slo_ms=q.ttft_slo_ms, tpot_slo_ms=q.tpot_slo_ms,
                          disagg=q.disagg, scenario=q.scenario)
    if all("error" in r for r in out["results"]):
        raise SuanliError("no chip can serve this model under these settings",
                          hint="; ".join(f"{r['hardware']}: {r['error']}" for r in out["results"]))
    if q.pareto:
        curves: dict[str, Any] = {}
        for r in out["results"]:
            req = Request(hardware=r["hardware"], model=q.model, chips=out["chips"], isl=q.isl, osl=q.osl,
                          weight_dtype=q.weight_dtype, ttft_slo_ms=q.ttft_slo_ms, disagg=q.disagg)
            try:
                curves[r["hardware"]] = pareto(cat, replace(req)).to_dict()
            except SuanliError as exc:
                curves[r["hardware"]] = {"hardware": r["hardware"], "model": q.model, "points": [],
                                         "error": exc.message}
        out["pareto"] = curves
    return jsonable(out)


def compare(q: Any) -> dict:
    """Best tokens/s per chip of a model on each chip, same SLOs (``suanli compare --json``), plus curves."""
    known_model(q.model)
    return _compare(q)


# --------------------------------------------------------------------------- validation and accuracy
def validate_text(text: str, filename: str, kind: str | None, by: str) -> dict:
    """Validate an uploaded records CSV (its text, never a path)."""
    from suanli.perf.validate import records_from_text, validate_records

    records = records_from_text(text, filename)
    return jsonable(validate_records(records, catalog(), kind=kind, by=by, source=filename).to_dict())


@functools.lru_cache(maxsize=1)
def accuracy() -> dict:
    """Predicted vs measured on the packaged validation set, per hardware family, with the error bands."""
    from importlib import resources

    import yaml

    from suanli.perf.validate import records_from_text, validate_records

    text = resources.files("suanli.web").joinpath("data", "validation.csv").read_text(encoding="utf-8")
    rep = validate_records(records_from_text(text, "suanli/web/data/validation.csv"), catalog(), by="family",
                           source="validation set (data/validation/dev.csv)")
    bands_text = resources.files("suanli.perf").joinpath("data", "error_bands.yaml").read_text(encoding="utf-8")
    bands = yaml.safe_load(bands_text).get("groups", {})
    return jsonable({"rows": [r.to_dict() for r in rep.rows], "groups": rep.groups("family"),
                     "summary": rep.summary(), "bands": bands, "notes": rep.notes})


@functools.lru_cache(maxsize=1)
def claims() -> dict:
    """The article's claims, checked (the data do not change while the server runs)."""
    from suanli.claims import check_claims

    return jsonable(check_claims(catalog=catalog()).to_dict())


# --------------------------------------------------------------------------- economics
@functools.lru_cache(maxsize=CACHE_SIZE)
def _cost(q: Any) -> dict:
    from suanli.econ.cost import compare as cost_compare

    request = {k: v for k, v in (("isl", q.isl), ("osl", q.osl), ("weight_dtype", q.weight_dtype),
                                 ("ttft_slo_ms", q.ttft_slo_ms), ("tpot_slo_ms", q.tpot_slo_ms),
                                 ("system", q.system)) if v is not None}
    rows = cost_compare(list(q.hardware), q.model, q.chips, request=request, buyer=q.buyer, site=q.site,
                        date=q.date, scenario=_scenarios(list(q.scenario) if q.scenario else None),
                        currency=q.currency, inputs=q.inputs, catalog=catalog())
    results = [r.to_dict() if hasattr(r, "to_dict") else r for r in rows]
    if all("error" in r for r in results):
        raise SuanliError(results[0]["error"] if len(results) == 1 else "no chip can serve this model at a cost",
                          hint=results[0].get("hint") if len(results) == 1 else
                          "; ".join(f"{r['hardware']}: {r['error']}" for r in results))
    return jsonable({"model": q.model, "chips": q.chips, "currency": q.currency, "results": results})


def cost(q: Any) -> dict:
    """Cost per chip-hour and per million tokens on each chip (as ``suanli cost compare --json``'s rows)."""
    cat = catalog()
    for h in q.hardware:
        cat.accelerator(h)
    known_model(q.model)
    return _cost(q)


# --------------------------------------------------------------------------- planning
def scenario_from(q: Any) -> Any:
    """The scenario of a plan request, validated against the schema and the catalog (422 on any error)."""
    from suanli.plan import load_scenario

    if (q.scenario is None) == (q.scenario_yaml is None):
        raise SuanliError("give a scenario (JSON object) or scenario_yaml (text), one of the two",
                          hint="see GET /api/v1/plan/schema and examples/scenarios/")
    raw = q.scenario
    if raw is None:
        import yaml

        try:
            raw = yaml.safe_load(q.scenario_yaml)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            raise DataError("<scenario>", f"not valid YAML: {getattr(exc, 'problem', exc)}",
                            line=mark.line + 1 if mark else None) from None
        if not isinstance(raw, dict):
            raise DataError("<scenario>", "a scenario must be a mapping of fields", hint="see suanli plan schema")
    return load_scenario(raw, catalog=catalog())


def plan_schema() -> dict:
    from suanli.plan import scenario_schema

    return scenario_schema()


@functools.lru_cache(maxsize=1)
def plan_example() -> dict:
    from importlib import resources

    text = resources.files("suanli.web").joinpath("data", "plan-example.yaml").read_text(encoding="utf-8")
    return {"name": "china-2026-deepseek", "yaml": text}
