"""The HTML study: one self-contained file (no external script or style), the answer equal to the plan's."""
from __future__ import annotations

import json
import math
import re

import pytest

pytest.importorskip("plotly")
pytest.importorskip("jinja2")

from suanli.errors import SuanliError  # noqa: E402
from suanli.report import render_study, study_report  # noqa: E402

SCENARIO = {"name": "small", "periods": {"start": "2026Q1", "end": "2026Q2"},
            "workloads": [{"id": "w", "model": "llama-3.1-8b",
                           "demand": {"start": 1000, "end": 2000, "unmet_penalty_per_mtok": 50}}],
            "options": [{"id": "h20", "hardware": "h20"}]}


@pytest.fixture(scope="module")
def study():
    return study_report(SCENARIO, samples=50, seed=1, tornado=True)


def test_self_contained_html(study, tmp_path):
    out = tmp_path / "study.html"
    html = render_study(study, out)
    assert out.read_text(encoding="utf-8") == html
    assert not re.search(r"<script[^>]+src=", html)          # plotly.js inlined: opens offline
    assert not re.search(r"<link[^>]+stylesheet", html)
    assert "Plotly.newPlot" in html and "plotly.js" in html[:200_000].lower()
    charts = json.loads(re.search(r'<script id="charts" type="application/json">(.*?)</script>', html, re.S)
                        .group(1).replace("<\\/", "</"))
    assert {"fleet", "cost", "tornado", "risk", "bands"} <= set(charts)
    assert sum(charts["risk"]["data"][0]["y"]) == 50          # every sample in the histogram
    assert not list(tmp_path.glob("*.partial"))


def test_answer_and_error_bands_shown(study):
    html = render_study(study)
    a = study.fleet["answer"]
    assert f"{a['per_mtok']['output']:.3g} {a['currency']} per million output tokens" in html
    # 8 H20 at the end: 2000 output tokens/s of demand needs a whole node of 8
    assert a["fleet_end"][0]["chips"] == 8 and "8 × h20" in html
    # the 80% band of held-out errors, from its log quantile: -16%/+19% for p80 0.1709
    p80 = study.fleet["notes"]["predictions"]["w/h20"]["error_band"]["p80"]
    assert f"{100 * (math.exp(-p80) - 1):+.0f}%/{100 * (math.exp(p80) - 1):+.0f}%" in html
    assert "Sources" in html and "https://" in html


def test_bad_output_path(study, tmp_path):
    with pytest.raises(SuanliError):
        render_study(study, tmp_path / "missing" / "x.html")
    with pytest.raises(SuanliError):
        render_study(study, tmp_path)


def test_cli_report_json(run_cli, tmp_path):
    import yaml

    sc = tmp_path / "s.yaml"
    sc.write_text(yaml.safe_dump(SCENARIO), encoding="utf-8")
    out = tmp_path / "r.html"
    code, stdout, _ = run_cli("report", str(sc), "-o", str(out), "--samples", "20", "--no-tornado", "--json")
    assert code == 0, stdout
    d = json.loads(stdout)
    assert d["output"] == str(out) and out.stat().st_size == d["bytes"]
    code, _, err = run_cli("report", str(tmp_path / "nope.yaml"), "-o", str(out))
    assert code == 2 and "not found" in err
