"""The headline comparison: one model on several chips under the same settings, best configuration each.

One function for every interface: ``suanli compare --json``, ``POST /api/v1/compare``
and the Python API return this dict, so they agree by construction.
"""
from __future__ import annotations

from typing import Any

from suanli.errors import SuanliError


def compare_serving(catalog: Any, hardware: list[str], model: str, *, chips: int | None = None,
                    isl: float = 1024.0, osl: float = 1024.0, weight_dtype: str = "fp8",
                    ttft_slo_ms: float | None = None, tpot_slo_ms: float | None = None, disagg: bool = False,
                    scenario: str | None = None, params: dict | None = None) -> dict:
    """Best tokens/s per chip of ``model`` on each of ``hardware``, same workload and SLOs.

    A chip that cannot serve the model gets a row with ``error`` and ``hint``;
    bad settings (the user's, not a chip's) and unknown ids raise
    :class:`~suanli.errors.SuanliError`. ``chips`` defaults to 16 for models
    over 400 GB of weights, else 8.
    """
    from suanli.perf.search import Request, predict_serve

    given = [h.strip().lower() for h in hardware if h and h.strip()]
    if not given:
        raise SuanliError("--hardware names no accelerator", hint="e.g. --hardware h200-sxm,h20,ascend-910c")
    ids = list(dict.fromkeys(given))  # a repeated id is one row
    notes = [f"{h} given {given.count(h)} times: one row" for h in ids if given.count(h) > 1]
    for hid in ids:
        catalog.accelerator(hid)  # an unknown id is a typo: stop with its "did you mean"
    arch = catalog.model(model)
    n = chips or (16 if arch.total_params > 400e9 else 8)
    settings = dict(model=model, chips=n, isl=isl, osl=osl, weight_dtype=weight_dtype, ttft_slo_ms=ttft_slo_ms,
                    tpot_slo_ms=tpot_slo_ms, disagg=disagg, scenario=scenario)
    first = Request(hardware=ids[0], **settings)  # bad settings are the user's, not a chip's: stop here
    results: list[dict] = []
    for hid in ids:
        try:
            d = predict_serve(catalog, Request(hardware=hid, **settings), params=params).to_dict()
        except SuanliError as exc:
            if len(ids) == 1:
                raise
            results.append({"hardware": hid, "model": model, "chips": n, "error": exc.message, "hint": exc.hint})
            continue
        # a rack-scale id (cloudmatrix-384, gb200-nvl72) keeps its name: its scale-up domain is the point
        d["chip"], d["hardware"] = d["hardware"], hid
        used = d["config"].get("chips_used")
        if used is not None and used < n and not d["config"].get("disagg"):
            d.setdefault("warnings", []).insert(0, f"{used:g} of {n} chips used (whole instances of "
                                                   f"{used / max(d['config'].get('instances') or 1, 1):g} chips); "
                                                   "tokens/s per chip counts the idle ones")
        results.append(d)
    return {"model": model, "chips": n, "isl": isl, "osl": osl, "scenario": first.scenario,
            "ttft_slo_ms": first.ttft_slo_ms, "tpot_slo_ms": tpot_slo_ms,
            "slo_basis": "p99" if first.scenario == "server" else "mean", "defaults": list(first.defaults),
            "notes": notes, "results": results,
            "note": "per chip; per equal-cost fleet once prices land (economics issue)"}


__all__ = ["compare_serving"]
