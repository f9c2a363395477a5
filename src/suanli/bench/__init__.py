"""Measure what you have: microbenchmarks, a serving load generator and a digital twin.

Everything here writes measurement records in the validation format
(``validation/SCHEMA.md``), so that a run goes straight into ``suanli validate``
and ``suanli calibrate``. PyTorch (``pip install 'suanli[bench]'``) is needed
only by :mod:`suanli.bench.micro`; httpx, FastAPI and uvicorn by the load
generator and the twin.
"""
