"""Plotly figure specs (plain dicts: data + layout) of a study: fleet, cost, tornado, risk, error bands."""
from __future__ import annotations

from typing import Any

COLORS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777"]


def fleet_chart(plan: dict) -> dict:
    """Chips in service per period, stacked by option."""
    data = []
    options = list(dict.fromkeys(f["option"] for f in plan["fleet"]))
    for i, o in enumerate(options):
        by = {f["period"]: f["chips_in_service"] for f in plan["fleet"] if f["option"] == o}
        y = [by.get(p, 0) for p in plan["periods"]]
        if any(y):
            data.append({"type": "bar", "name": o, "x": plan["periods"], "y": y, "marker": {"color": COLORS[i % 8]}})
    return {"data": data, "layout": {"barmode": "stack", "yaxis": {"title": {"text": "chips in service"}},
                                     "legend": {"orientation": "h", "y": 1.15}, "margin": {"t": 30}}}


def cost_chart(plan: dict) -> dict:
    """Present value of the plan's cost by part."""
    pv = plan["cost"]["present_value"]
    parts = [k for k in pv if k not in ("all", "fleet") and pv[k] > 0]
    return {"data": [{"type": "bar", "x": parts, "y": [pv[k] for k in parts], "marker": {"color": COLORS[0]}}],
            "layout": {"yaxis": {"title": {"text": f"{plan['currency']} (present value)"}}, "margin": {"t": 10}}}


def tornado_chart(rows: list[dict], currency: str) -> dict:
    """Cost per million output tokens at each input's low and high value, around the base."""
    rows = list(reversed(rows))
    base = [r["base"] for r in rows]
    y = [r["input"] for r in rows]
    return {"data": [
        {"type": "bar", "orientation": "h", "name": "low", "y": y, "base": base,
         "x": [r["per_mtok_low"] - r["base"] for r in rows], "text": [str(r["low"]) for r in rows],
         "marker": {"color": COLORS[2]}},
        {"type": "bar", "orientation": "h", "name": "high", "y": y, "base": base,
         "x": [r["per_mtok_high"] - r["base"] for r in rows], "text": [str(r["high"]) for r in rows],
         "marker": {"color": COLORS[1]}}],
        "layout": {"barmode": "overlay", "margin": {"t": 10, "l": 220},
                   "xaxis": {"title": {"text": f"{currency} per million output tokens"}}}}


def risk_chart(risk: dict) -> dict:
    """Histogram of the cost per million output tokens over the samples, p10/p50/p90 marked."""
    h = risk["histogram"]
    mids = [(a + b) / 2 for a, b in zip(h["edges"][:-1], h["edges"][1:])]
    p = risk["per_mtok"]
    shapes = [{"type": "line", "x0": p[k], "x1": p[k], "yref": "paper", "y0": 0, "y1": 1,
               "line": {"dash": "dot", "color": "#111"}} for k in ("p10", "p50", "p90")]
    return {"data": [{"type": "bar", "x": mids, "y": h["counts"], "marker": {"color": COLORS[3]}}],
            "layout": {"bargap": 0.05, "shapes": shapes, "margin": {"t": 10},
                       "xaxis": {"title": {"text": f"{risk['currency']} per million output tokens "
                                                   f"(p10 {p['p10']:.3g}, p50 {p['p50']:.3g}, p90 {p['p90']:.3g})"}},
                       "yaxis": {"title": {"text": "samples"}}}}


def band_chart(predictions: dict) -> dict:
    """Predicted output tokens/s per chip of each option with the validation error band."""
    keys = list(predictions)
    v = [predictions[k].get("output_tps_per_chip") or 0 for k in keys]
    m = [predictions[k].get("error_band_mape") or 0 for k in keys]
    bands = [predictions[k].get("error_band") or {} for k in keys]
    # the 80% band of held-out errors where the report has it, else +-MAPE
    up = [(b["high"] - a) if b.get("high") else a * e for a, b, e in zip(v, bands, m)]
    down = [(a - b["low"]) if b.get("low") else a * e for a, b, e in zip(v, bands, m)]
    return {"data": [{"type": "bar", "x": keys, "y": v, "marker": {"color": COLORS[0]},
                      "error_y": {"type": "data", "symmetric": False, "array": up, "arrayminus": down}}],
            "layout": {"yaxis": {"title": {"text": "output tokens/s per chip"}}, "margin": {"t": 10, "b": 140}}}


def all_charts(fleet: dict, risk: dict | None) -> dict[str, Any]:
    plan = fleet["plan"]
    out = {"fleet": fleet_chart(plan), "cost": cost_chart(plan), "bands": band_chart(fleet["notes"]["predictions"])}
    if fleet.get("tornado"):
        out["tornado"] = tornado_chart(fleet["tornado"], plan["currency"])
    if risk is not None:
        out["risk"] = risk_chart(risk)
    return out
