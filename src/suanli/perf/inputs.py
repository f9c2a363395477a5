"""Checks and defaults of prediction inputs: the one place every interface (CLI, REST, Python) goes through.

A request's numbers must be finite, inside the bounds of ``data/inputs.yaml``
and whole where they count things; formats and speculative-decoding methods
must be ones the engine supports (any case); the scenario and its SLOs get
their stated defaults here and nowhere else. Every failure is a
:class:`~suanli.errors.SuanliError` with a hint (the CLI exits 2).
"""
from __future__ import annotations

import math
import numbers
import re
from functools import cache
from importlib import resources
from typing import Any

from suanli.errors import SuanliError

_SPEC = re.compile(r"^([a-z][a-z_-]*?)(\d+)?$")


@cache
def rules() -> dict[str, Any]:
    """The bounds, formats and defaults of ``perf/data/inputs.yaml``."""
    import yaml

    text = resources.files("suanli.perf").joinpath("data", "inputs.yaml").read_text(encoding="utf-8")
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 - a safe loader


def _n(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() and abs(x) < 1e16 else f"{x:g}"


def check_number(name: str, value: Any) -> Any:
    """``value`` checked against the bounds of ``name`` (``None`` = not given); whole counts come back as int.

    >>> check_number("chips", 8.0), check_number("isl", 1024.5), check_number("tp", None)
    (8, 1024.5, None)
    >>> check_number("chips", 2.5)
    Traceback (most recent call last):
    ...
    suanli.errors.SuanliError: chips must be a whole number from 1 to 1,000,000 (got 2.5)
      hint: e.g. chips=8 (CLI: --chips 8)
    """
    if value is None:
        return None
    b = rules()["bounds"].get(name)
    if b is None:
        raise KeyError(name)
    lo, hi = b.get("min", b.get("min_exclusive")), b["max"]
    whole = bool(b.get("integer"))
    span = (f"from {_n(lo)} to {_n(hi)}" if "min" in b else f"> {_n(lo)} and at most {_n(hi)}")
    what = f"{name} must be {'a whole number' if whole else 'a number'} {span}"
    hint = f"e.g. {name}={b['example']} (CLI: --{name.replace('_', '-')} {b['example']})"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise SuanliError(f"{what} (got {value!r})", hint=hint)
    v = float(value) if not isinstance(value, numbers.Integral) else value
    if isinstance(v, float) and not math.isfinite(v):
        raise SuanliError(f"{what} (got {value!r})", hint=hint)
    too_low = v < lo if "min" in b else v <= lo
    if too_low or v > hi or (whole and v != int(v)):
        shown = f"{value:,}" if isinstance(value, numbers.Integral) and abs(value) >= 1e6 else repr(value)
        raise SuanliError(f"{what} (got {shown})", hint=hint)
    return int(v) if whole else value


def check_dtype(kind: str, value: str | None) -> str | None:
    """A weight, act or kv format, lower-cased; unknown or unsupported ones are refused.

    >>> check_dtype("weight", "FP8"), check_dtype("kv", None)
    ('fp8', None)
    >>> check_dtype("kv", "fp4")
    Traceback (most recent call last):
    ...
    suanli.errors.SuanliError: kv dtype 'fp4' is not supported
      hint: one of bf16, fp16, fp8, int8
    """
    if value is None:
        return None
    allowed = rules()["dtypes"][kind]
    v = str(value).strip().lower()
    if v not in allowed:
        known = {d for kinds in rules()["dtypes"].values() for d in kinds}
        what = f"{kind} dtype {value!r} is not supported" if v in known else f"unknown {kind} dtype {value!r}"
        raise SuanliError(what, hint=f"one of {', '.join(allowed)}")
    return v


def check_spec_decode(value: str | None) -> str | None:
    """A speculative-decoding setting as ``<method><draft tokens>`` (``mtp3``, ``eagle3``), ``None`` for none.

    >>> check_spec_decode("MTP3"), check_spec_decode("none"), check_spec_decode("eagle")
    ('mtp3', None, 'eagle1')
    >>> check_spec_decode("mtp0")
    Traceback (most recent call last):
    ...
    suanli.errors.SuanliError: spec_decode 'mtp0' drafts no token
      hint: give 1 to 8 draft tokens (mtp1 ... mtp8), or none
    """
    if value is None:
        return None
    v = str(value).strip().lower()
    if v in ("", "none", "no", "off", "0"):
        return None
    sd = rules()["spec_decode"]
    top = int(sd["max_draft"])
    m = _SPEC.match(v)
    if not m or m.group(1) not in sd["methods"]:
        raise SuanliError(f"unknown spec_decode {value!r}",
                          hint="a method and its draft tokens (CLI: --spec-decode), e.g. mtp1, mtp3, eagle3: "
                               + ", ".join(f"{k}N ({d})" for k, d in sd["methods"].items()) + "; or none")
    method, n = m.group(1), int(m.group(2)) if m.group(2) else 1
    if n < 1:
        raise SuanliError(f"spec_decode {value!r} drafts no token",
                          hint=f"give 1 to {top} draft tokens ({method}1 ... {method}{top}), or none")
    if n > top:
        raise SuanliError(f"spec_decode {value!r}: {n} draft tokens is more than the {top} supported",
                          hint=f"give 1 to {top} draft tokens ({method}1 ... {method}{top})")
    return f"{method}{n}"


def check_mtp_head(spec: str | None, model_id: str, mtp_layers: int) -> None:
    """Multi-token prediction drafts with the model's own MTP head: refuse it for a model without one."""
    if spec and spec.startswith("mtp") and mtp_layers < 1:
        raise SuanliError(f"{model_id} has no multi-token-prediction head, so {spec} cannot run",
                          hint=f"use an external draft head (eagle{spec[3:]}) or leave --spec-decode out")


def resolve_scenario(scenario: str | None, *, slo_given: bool) -> tuple[str, bool]:
    """(scenario, whether it is the default): server when an SLO or arrival rate is given, else offline.

    >>> resolve_scenario(None, slo_given=True), resolve_scenario("OFFLINE", slo_given=True)
    (('server', True), ('offline', False))
    """
    if scenario is None:
        d = rules()["scenario_default"]
        return (d["with_slo"] if slo_given else d["without_slo"]), True
    s = str(scenario).strip().lower()
    if s not in ("offline", "server", "fixed"):
        raise SuanliError(f"unknown scenario {scenario!r}",
                          hint="offline (max throughput), server (Poisson arrivals, SLOs at p99) or fixed "
                               "(a benchmark client holding a given concurrency)")
    return s, False


def server_default_ttft_ms() -> float:
    """The p99 TTFT limit of the server scenario when none is given (see ``inputs.yaml``)."""
    return float(rules()["server_default_ttft_p99_ms"])


def streams(scenario: str | None) -> bool:
    """Whether the clients of ``scenario`` take each token as it is made (``streaming_scenarios``).

    >>> streams("server"), streams("fixed"), streams("offline")
    (True, True, False)
    """
    return scenario in rules()["streaming_scenarios"]


#: Parameter keys that switch an engine behaviour on or off (true / false in a ``--perf-params`` file).
SWITCH_KEYS = frozenset({"overlap_host", "expert_parallel", "chunked_prefill", "mixed_chunk", "stream_gather",
                         "prefill_dispatch_per_node"})


#: parameters that are shares (between 0 and 1), and what the share is
SHARE_KEYS = {"roofline_blend": "1/p of the p-norm joining compute and memory time (0: their max, 1: their sum)",
              "overlap": "the share of the expert all-to-all hidden behind compute"}


def check_param_overrides(doc: Any, file: str, path: tuple[str, ...] = ()) -> None:
    """Every number in a ``--perf-params`` file is finite and >= 0, and > 0 where it scales a rate;
    a switch is true or false, and a list of stacks is a list of names.

    Efficiencies, maturity factors and other ``value`` entries multiply achieved rates: 0
    would print "0 tok/s" and an infinite TTFT, so they must be > 0. Times and counts may be 0.

    >>> check_param_overrides({"maturity": {"cuda": {"value": 0.8}}, "engines": {"x": {"request_us": 0}}}, "p.yaml")
    >>> check_param_overrides({"maturity": {"cuda": {"value": 0}}}, "p.yaml")
    Traceback (most recent call last):
    ...
    suanli.errors.DataError: p.yaml, field 'maturity.cuda.value': must be > 0: it scales an achieved rate (got 0)
      hint: leave the key out to keep the packaged value
    >>> check_param_overrides({"serving": {"roofline_blend": 1.5}}, "p.yaml")
    Traceback (most recent call last):
    ...
    suanli.errors.DataError: p.yaml, field 'serving.roofline_blend': must be between 0 and 1: 1/p of the p-norm joining compute and memory time (0: their max, 1: their sum) (got 1.5)
      hint: leave the key out to keep the packaged value
    >>> check_param_overrides({"engines": {"sglang": {"overlap_host": "maybe"}}}, "p.yaml")
    Traceback (most recent call last):
    ...
    suanli.errors.DataError: p.yaml, field 'engines.sglang.overlap_host': must be true or false (got 'maybe')
      hint: write true or false, or leave the key out to keep the packaged value
    """
    from suanli.errors import DataError

    key = path[-1] if path else ""
    if key in SWITCH_KEYS and not isinstance(doc, bool):
        raise DataError(file, f"must be true or false (got {doc!r})", field=".".join(path),
                        hint="write true or false, or leave the key out to keep the packaged value")
    if key == "grouped_experts" and not (isinstance(doc, list) and all(isinstance(x, str) for x in doc)):
        raise DataError(file, f"must be a list of software stacks, e.g. [cuda, cann] (got {doc!r})",
                        field=".".join(path), hint="leave the key out to keep the packaged value")
    if (key == "first_gen_matmul" and len(path) > 1
            and not (isinstance(doc, list) and all(isinstance(x, str) for x in doc))):
        raise DataError(file, f"must be a list of compute formats, e.g. [fp4] (got {doc!r})",
                        field=".".join(path), hint="[] when the engine's kernels use the chip's own instructions")
    if isinstance(doc, dict):
        for k, v in doc.items():
            check_param_overrides(v, file, (*path, str(k)))
        return
    if isinstance(doc, list):
        for i, v in enumerate(doc):
            check_param_overrides(v, file, (*path, str(i)))
        return
    if isinstance(doc, bool) or not isinstance(doc, numbers.Real):
        return
    where = ".".join(path)
    hint = "leave the key out to keep the packaged value"
    if not math.isfinite(doc) or doc < 0:
        raise DataError(file, f"must be a finite number >= 0 (got {doc})", field=where, hint=hint)
    scales = path and (path[-1] == "value" or path[-1].endswith("_eff") or path[0] in ("maturity", "first_gen_matmul", "sustained_matmul"))
    if doc == 0 and scales:
        raise DataError(file, f"must be > 0: it scales an achieved rate (got {doc:g})", field=where, hint=hint)
    if key in SHARE_KEYS and doc > 1:
        raise DataError(file, f"must be between 0 and 1: {SHARE_KEYS[key]} (got {doc:g})", field=where, hint=hint)


def normalize_request(req: Any) -> None:
    """Check a :class:`~suanli.perf.search.Request` in place: bounds, formats, conflicts, stated defaults.

    Sets ``req.defaults`` to the defaults applied (scenario, server TTFT limit), each as a sentence.
    """
    put = object.__setattr__  # the request is a frozen dataclass: normalized once, here
    for name in ("hardware", "system", "engine"):
        v = getattr(req, name)
        if v is not None:
            put(req, name, str(v).strip().lower())
    model = str(req.model).strip()
    if not (model.endswith(".json") or "/" in model or "\\" in model):
        model = model.lower()
    put(req, "model", model)
    for name in rules()["bounds"]:
        if hasattr(req, name):
            put(req, name, check_number(name, getattr(req, name)))
    put(req, "weight_dtype", check_dtype("weight", req.weight_dtype or "bf16"))
    put(req, "act_dtype", check_dtype("act", req.act_dtype))
    put(req, "kv_dtype", check_dtype("kv", req.kv_dtype))
    put(req, "spec_decode", check_spec_decode(req.spec_decode))
    if req.concurrency is not None and req.batch_per_chip is not None:
        raise SuanliError("give either a concurrency or a batch per chip, not both",
                          hint="concurrency counts requests in flight across all chips; batch_per_chip per chip")
    if req.accept_p is not None:
        p = req.accept_p
        if isinstance(p, bool) or not isinstance(p, numbers.Real) or not (0.0 <= float(p) <= 1.0):
            raise SuanliError(f"accept_p must be in [0, 1] (got {p!r})", hint="the chance one draft token is accepted")
    applied: list[str] = []
    slo_given = any(getattr(req, k) is not None for k in ("ttft_slo_ms", "tpot_slo_ms", "arrival_rate"))
    scenario, default = resolve_scenario(req.scenario, slo_given=slo_given)
    put(req, "scenario", scenario)
    if default:
        applied.append(f"scenario {scenario} (the default "
                       + ("when an SLO or arrival rate is given: SLOs hold at p99 under Poisson arrivals)"
                          if scenario == "server" else "without SLOs: maximum throughput)"))
    if scenario == "server" and req.ttft_slo_ms is None:
        put(req, "ttft_slo_ms", server_default_ttft_ms())
        applied.append(f"TTFT p99 limit {server_default_ttft_ms():g} ms (the server default: a Poisson server "
                       f"needs load < 1 and a finite p99 TTFT; {rules()['server_default_source']})")
    put(req, "defaults", tuple(applied))


__all__ = ["check_dtype", "check_mtp_head", "check_number", "check_param_overrides", "check_spec_decode", "normalize_request",
           "resolve_scenario", "rules", "server_default_ttft_ms", "streams"]
