"""The serving fit keeps the lowest loss over its starting points (the loss has more than one basin)."""
from __future__ import annotations

import numpy as np

from suanli.perf import calibrate as C


def test_fit_from_several_starts_keeps_the_lower_basin(monkeypatch):
    # one parameter, two basins: a shallow one at 15 near the prior start (5) and the deeper one at 60
    fp = C.FitParam("engines.trt-llm.request_us", ("engines", "trt-llm", "request_us"), 0.0, 200.0, 5.0, "test")

    def residuals(rows, catalog, params):
        x = params["engines"]["trt-llm"]["request_us"]
        shallow = 0.3 - 0.25 * np.exp(-((x - 15.0) / 6.0) ** 2)
        deep = 0.3 - 0.29 * np.exp(-((x - 60.0) / 6.0) ** 2)
        return np.array([min(shallow, deep)])

    monkeypatch.setattr(C, "_residuals", residuals)
    rows = [{"kind": "serve"}]
    base = {"engines": {"trt-llm": {"request_us": 5.0}}}
    alone = C.fit(rows, None, base=base, fit_params=(fp,))
    both = C.fit(rows, None, base=base, fit_params=(fp,), starts=({fp.name: 55.0},))
    assert abs(alone[fp.name] - 15.0) < 1.0          # the optimiser stays in the basin it starts in
    assert abs(both[fp.name] - 60.0) < 1.0           # the second start reaches the deeper one, which is kept
    # a start that lands in the shallower basin does not displace a deeper one found first
    kept = C.fit(rows, None, base=base, fit_params=(fp,), x0={fp.name: 58.0}, starts=({fp.name: 12.0},))
    assert abs(kept[fp.name] - 60.0) < 1.0
