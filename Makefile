# Two entry points for a fresh machine (Python 3.11+, pip, make):
#   make demo   -- the main job: the flagship study (a private Chinese cloud serving DeepSeek-V3, 2026-2028)
#   make test   -- the test suite (what .ci/run runs)
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# PyTorch for `suanli bench micro` (the bench extra), pinned to the CPU build that this kind of
# machine carries as a local wheel (about a minute to install); an unpinned torch from PyPI is
# a CUDA build of several GB.
TORCH  ?= torch==2.13.0

.PHONY: demo test test-fast install clean accuracy bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,bench]' '$(TORCH)'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/suanli cost compare --hardware h200-sxm,h20,ascend-910c,b200 --model deepseek-v3 --tpot-slo-ms 50 --site inner-mongolia
	$(VENV)/bin/suanli plan study examples/scenarios/china-2026-deepseek.yaml --samples 2000

test: $(STAMP)
	$(PY) -m pytest src tests

test-fast: $(STAMP)
	$(PY) -m pytest src tests -m "not slow"

accuracy: $(STAMP)
	$(VENV)/bin/suanli validate data/validation/dev.csv --report docs/accuracy.md --bands src/suanli/perf/data/error_bands.yaml

bench: $(STAMP)
	$(PY) -m pip install --quiet -e '.[genz]'
	$(PY) benchmarks/run_all.py
	$(PY) benchmarks/serving_external.py
	$(PY) benchmarks/mlperf_external.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache
