"""The local backend: chunks run one after another in this process (the reference for every other backend)."""
from __future__ import annotations

from typing import Any, Callable


def run_local(fn: Callable, shared: tuple, chunks: list, *, progress: Callable[[int, int], None] | None = None
              ) -> list[Any]:
    out = []
    for i, c in enumerate(chunks):
        out.append(fn(*shared, c))
        if progress:
            progress(i + 1, len(chunks))
    return out
