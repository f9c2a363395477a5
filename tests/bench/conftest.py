"""Fixtures for the bench tests: a twin server on loopback in its own process."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def twin_server():
    """``suanli twin serve`` for Qwen3-32B (INT8) on one Moore Threads S4000, at most 32 sequences in flight.

    A slow chip and a large model: ~125 ms per decode step, so 32 streams make ~250 token events a
    second, which a shared 2-core machine handles with HTTP overheads small against the step times.

    Yields its base URL; bound to 127.0.0.1, stopped at the end of the module.
    """
    httpx = pytest.importorskip("httpx")
    pytest.importorskip("uvicorn")
    port = free_port()
    env = {**os.environ, "SUANLI_CATALOG": ""}
    proc = subprocess.Popen([sys.executable, "-m", "suanli", "twin", "serve", "-H", "mtt-s4000", "-m", "qwen3-32b",
                             "--weight-dtype", "int8", "--max-batch", "32", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.time() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail("twin exited: " + proc.stderr.read().decode()[-500:])
            try:
                if httpx.get(url + "/models", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.time() > deadline:
                pytest.fail("twin did not start within 60 s")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
