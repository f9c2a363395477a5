"""Performance model: operators, achieved rates, collectives, memory, serving and search.

The public entry points are :func:`suanli.perf.serving.predict_serve` (best
configuration under SLOs), :func:`suanli.perf.serving.predict_phase` (prefill or
decode at fixed settings), :func:`suanli.perf.search.pareto` and
:func:`suanli.perf.validate.validate_file`. Modules import lazily so that the CLI
starts fast.
"""
