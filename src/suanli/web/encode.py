"""JSON bodies encoded once: the engines' cached answers are served as cached bytes.

The service functions return the same dict object for the same request (their
results are cached); :func:`ok` remembers the encoded body of each such dict,
so a repeated question costs no re-serialisation. Dicts handed here are never
mutated afterwards.
"""
from __future__ import annotations

import json
import threading
from collections import OrderedDict
from typing import Any

from fastapi.responses import Response

#: Encoded bodies kept (most recently used first out).
MAX_ENTRIES = 2048

_lock = threading.Lock()
_bodies: OrderedDict[int, tuple[Any, bytes]] = OrderedDict()


class JSONBytes(Response):
    """A response whose content is already-encoded JSON (or a dict, encoded here)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return content if isinstance(content, bytes) else dumps(content)


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


def encoded(obj: Any) -> bytes:
    """The JSON bytes of ``obj``, computed once per object."""
    key = id(obj)
    with _lock:
        hit = _bodies.get(key)
        if hit is not None and hit[0] is obj:
            _bodies.move_to_end(key)
            return hit[1]
    body = dumps(obj)
    with _lock:
        _bodies[key] = (obj, body)
        while len(_bodies) > MAX_ENTRIES:
            _bodies.popitem(last=False)
    return body


def ok(obj: Any, *, remember: bool = True) -> JSONBytes:
    """A JSON response; ``remember=False`` for one-off answers (an upload's report)."""
    return JSONBytes(encoded(obj) if remember else dumps(obj))
