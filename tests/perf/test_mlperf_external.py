"""The serving model against MLPerf Inference v5.1 LLM results outside dev.csv (benchmarks/data/mlperf_external.csv).

None of these rows is a dev.csv record and nothing is fitted to them; the layout, batch and engine
limits are the search's. The offline runs, where no latency limit shapes the submitters' choices,
are held to the dev set's held-out accuracy; the server and interactive runs (known gaps:
docs/accuracy.md) are checked for finite, positive predictions.
"""
from __future__ import annotations

import csv
import math
import re
from pathlib import Path

import pytest

from suanli.perf.search import predict_serve
from suanli.perf.validate import request_from_row

ROOT = Path(__file__).parents[2]
ROWS = list(csv.DictReader((ROOT / "benchmarks/data/mlperf_external.csv").open()))
RUN = re.compile(r"closed/([^/]+)/results/([^/]+)/([^/]+)/([A-Za-z]+)/")
NAMED = re.compile(r"MLPerf Inference v5\.1 closed, (\S+) (\S+) (\S+) ([A-Za-z]+):")


@pytest.fixture(scope="module")
def predicted(catalog):
    return [(r, predict_serve(catalog, request_from_row(r))) for r in ROWS]


def test_rows_are_sourced_runs_outside_the_dev_set():
    dev = [r["source"] for r in csv.DictReader((ROOT / "data/validation/dev.csv").open())]
    dev_runs = {m.groups() for m in map(RUN.search, dev) if m}
    # a run: submitter, system, benchmark, scenario (the notes name it where the source is the system's
    # results table rather than the run's summary file)
    runs = [NAMED.match(r["notes"]) for r in ROWS]
    assert len(ROWS) == 245 and all(runs)
    assert all(r["source"].startswith("ntuhpc/inference_results_v5.1:closed/") for r in ROWS)
    # (one submitter spells the 405B benchmark's folder llama3_1-405b)
    assert all(RUN.search(r["source"].replace("llama3_1", "llama3.1")).groups() == m.groups()
               for r, m in zip(ROWS, runs) if RUN.search(r["source"]))
    assert not {m.groups() for m in runs} & dev_runs
    assert len({r["id"] for r in ROWS}) == len(ROWS)
    # the value is the run's tokens/s per accelerator, as its notes state
    for r in ROWS:
        tps = float(re.search(r": ([\d.]+) tokens/s over (\d+) accelerators", r["notes"]).group(1))
        assert float(r["value"]) == pytest.approx(tps / int(r["chips"]), rel=1e-3)


def test_every_prediction_is_finite_and_positive(predicted):
    for r, p in predicted:
        v = p.metrics[r["metric"]]
        assert math.isfinite(v) and v > 0, r["id"]


def test_offline_runs_hold_the_dev_sets_held_out_accuracy(predicted, error_and_coverage):
    offline = [(r, p) for r, p in predicted if r["scenario"] == "offline"]
    assert len(offline) == 99
    mape, inside = error_and_coverage(offline)
    # serving leave one source out on dev.csv is ~14%; bands from held-out dev rows (see
    # test_serving_external: their coverage of new rows is uncertain by ~0.09)
    assert mape <= 0.15, mape
    assert inside >= 2 / 3, inside
