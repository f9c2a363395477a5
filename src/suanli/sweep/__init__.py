"""Sweep backends: map a pure function over chunks of work, in this process or on a Ray cluster.

``map_chunks(fn, *shared, chunks, backend="local"|"ray")`` calls
``fn(*shared, chunk)`` for every chunk and returns the results in chunk
order. The function and its inputs are pure, so both backends give the same
results; the local backend is the default and the reference.
"""
from __future__ import annotations

from typing import Any, Callable

from suanli.errors import SuanliError

BACKENDS = ("local", "ray")


def map_chunks(fn: Callable, *shared: Any, chunks: list | None = None, backend: str = "local",
               address: str | None = None, workers: int | None = None,
               progress: Callable[[int, int], None] | None = None) -> list:
    """``[fn(*shared, c) for c in chunks]`` on the chosen backend, results in chunk order."""
    if chunks is None:
        *shared, chunks = shared  # type: ignore[assignment]
    if backend == "local":
        from suanli.sweep.local import run_local

        return run_local(fn, tuple(shared), list(chunks), progress=progress)
    if backend == "ray":
        from suanli.sweep.ray_backend import run_ray

        return run_ray(fn, tuple(shared), list(chunks), address=address, workers=workers, progress=progress)
    raise SuanliError(f"unknown backend {backend!r}", hint="use local or ray")


__all__ = ["BACKENDS", "map_chunks"]
