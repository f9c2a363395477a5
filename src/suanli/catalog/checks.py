"""Plausibility checks on accelerator figures: per-field ranges and one name per vendor.

The schema already refuses what physics forbids (a figure that is zero,
negative, NaN or infinite); these checks catch what is possible but cannot be
right, such as a product code read as a number (``106M 400`` -> 106,000,000 W)
or two spellings of one vendor. The ranges live in ``data/checks.yaml``.
"""
from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

from suanli.catalog.load import packaged_text, read_yaml, strip_lines


@cache
def _checks() -> dict[str, Any]:
    path, text = packaged_text("suanli.catalog", "checks.yaml")
    return strip_lines(read_yaml(path, text))


def field_range(field: str, category: str) -> tuple[float, float] | None:
    """The plausible (low, high) of ``field`` for a record of ``category``; ``None`` when unchecked.

    >>> field_range("tdp_w", "chip")
    (5, 10000)
    >>> field_range("tdp_w", "system")[1] > 1e8
    True
    """
    rng = _checks()["ranges"].get(field)
    if rng is None:
        return None
    low, high = rng
    return (low, high * _checks()["system_scale"]) if category == "system" else (low, high)


def range_problems(record: dict[str, Any]) -> list[str]:
    """Figures of a raw accelerator record (``{field: {"value": ...}}``) outside their plausible range.

    >>> range_problems({"id": "x", "category": "chip", "tdp_w": {"value": 106e6, "text": "106M 400"}})
    ["x: tdp_w = 1.06e+08 outside the plausible range [5, 10000] (cell '106M 400')"]
    """
    out = []
    for field, fig in record.items():
        rng = field_range(field, record.get("category", "chip"))
        if rng is None or not isinstance(fig, dict):
            continue
        values = [fig.get("value")] + [a.get("value") for a in fig.get("alternatives") or []]
        for v in values:
            if v is not None and not (rng[0] <= v <= rng[1]):
                cell = f" (cell {fig['text']!r})" if fig.get("text") else ""
                out.append(f"{record.get('id')}: {field} = {v:g} outside the plausible range "
                           f"[{rng[0]:g}, {rng[1]:g}]{cell}")
    return out


def canonical_vendor(name: str) -> str:
    """The one spelling of a vendor.

    >>> canonical_vendor("Huawei (HiSilicon)"), canonical_vendor("NVIDIA")
    ('Huawei', 'NVIDIA')
    """
    for canon, aliases in _checks()["vendors"].items():
        if name in aliases:
            return canon
    return name


def vendor_problems(vendors: Iterable[str]) -> list[str]:
    """Vendor names that look like two spellings of one vendor (same first word, any case).

    >>> vendor_problems(["Huawei", "Huawei (HiSilicon)", "NVIDIA"])
    ["two spellings of one vendor: 'Huawei', 'Huawei (HiSilicon)'"]
    """
    by_word: dict[str, set[str]] = {}
    for v in vendors:
        by_word.setdefault(v.split()[0].lower() if v.split() else v, set()).add(v)
    return ["two spellings of one vendor: " + ", ".join(repr(n) for n in sorted(names))
            for names in by_word.values() if len(names) > 1]
