"""CLI shells of bench, twin and calibrate: bad input exits 2 with one message (JSON under --json)."""
from __future__ import annotations

import json

import pytest


def test_twin_expected_json(run_cli):
    code, out, err = run_cli("twin", "expected", "-H", "mtt-s4000", "-m", "llama-3.1-8b", "-c", "1,4", "--isl", "64",
                             "--osl", "8", "--json")
    assert code == 0, err
    d = json.loads(out)
    one, four = d["expected"]
    assert one["tpot_ms"] == pytest.approx(one["step_ms_batch1"], rel=0.02)   # batch 1: TPOT is one decode step
    assert four["output_tps"] > one["output_tps"]


@pytest.mark.parametrize("args,needle", [
    (("twin", "expected", "-H", "h20", "-m", "llama-3.1-8b", "--engine", "vlm"), "unknown --engine"),
    (("twin", "expected", "-H", "h2o", "-m", "llama-3.1-8b"), "unknown accelerator"),
    (("twin", "expected", "-H", "h20", "-m", "llama-3.1-8b", "-c", "0"), "must be >= 1"),
    (("bench", "serve", "--url", "127.0.0.1:8000", "-m", "x"), "must start with http"),
    (("bench", "serve", "--url", "http://127.0.0.1:9/v1", "-m", "x", "-c", "1,a"), "cannot read --concurrency"),
    (("bench", "serve", "--url", "http://127.0.0.1:9/v1", "-m", "x", "--isl-cv", "-1"), "--isl-cv"),
    (("calibrate", "no-such-file.csv"), "no-such-file.csv"),
])
def test_bad_input_exits_2_with_json(run_cli, args, needle):
    code, out, err = run_cli(*args, "--json")
    assert code == 2
    assert needle in json.loads(out)["message"]


def test_serve_against_nothing_counts_errors(run_cli, tmp_path):
    """No server on the port: every request fails, the run still ends, with status 2 and no records."""
    import socket

    with socket.socket() as s:                      # a free loopback port, closed again: nothing listens
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "s.csv"
    code, stdout, err = run_cli("bench", "serve", "--url", f"http://127.0.0.1:{port}/v1", "-m", "x",
                                "-c", "1", "--requests", "2", "--warmup", "0", "--timeout", "5", "-o", str(out),
                                "--json")
    assert code == 2
    d = json.loads(stdout)
    assert d["levels"][0]["errors"] == 2 and d["records"] == []


def test_lengths_file_errors_name_the_line(run_cli, tmp_path):
    f = tmp_path / "lengths.csv"
    f.write_text("isl,osl\n100,20\n100,x\n")
    code, out, _ = run_cli("bench", "serve", "--url", "http://127.0.0.1:9/v1", "-m", "x", "--lengths", str(f),
                           "--json")
    assert code == 2
    d = json.loads(out)
    assert d["line"] == 3 and "whole numbers" in d["message"]
