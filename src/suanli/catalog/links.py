"""Host links: the PCIe bandwidth a card's ``pcie_gen`` text stands for (``data/links.yaml``).

>>> pcie_unidir_gbps("Gen5 x16")
(64.0, None)
>>> pcie_unidir_gbps("Gen4 x8")
(16.0, None)
>>> pcie_unidir_gbps("Gen5")
(64.0, "PCIe lanes not stated ('Gen5'); x16 assumed")
>>> pcie_unidir_gbps(None)
(None, None)
"""
from __future__ import annotations

import re
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, PositiveFloat, ValidationError

from suanli.catalog.load import packaged_text, read_yaml, strip_lines
from suanli.errors import DataError

_GENS = ("gen3", "gen4", "gen5", "gen6")


class PcieTable(BaseModel):
    """Nominal x16 bandwidth per direction, GB/s, per PCIe generation."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    source: str
    gen3: PositiveFloat
    gen4: PositiveFloat
    gen5: PositiveFloat
    gen6: PositiveFloat


@lru_cache(maxsize=1)
def pcie_table() -> PcieTable:
    """The packaged table, validated (a bad file names its field)."""
    path, text = packaged_text("suanli.catalog", "links.yaml")
    doc = read_yaml(path, text)
    raw = doc.get("pcie_x16_unidir_gbps") if isinstance(doc, dict) else None
    if not isinstance(raw, dict):
        raise DataError(path, "expected a top-level 'pcie_x16_unidir_gbps:' mapping")
    try:
        return PcieTable.model_validate(strip_lines(raw))
    except ValidationError as exc:
        err = exc.errors()[0]
        raise DataError(path, f"pcie_x16_unidir_gbps.{'.'.join(map(str, err['loc']))}: {err['msg']}",
                        hint="each generation gen3..gen6 takes a positive GB/s per direction") from None


def pcie_unidir_gbps(pcie_gen: str | None) -> tuple[float | None, str | None]:
    """Bandwidth per direction (GB/s) of a host link written as ``"Gen5 x16"``.

    Returns ``(GB/s, estimate reason)``: lanes default to x16 and an ambiguous text
    (``"Gen4/Gen5"``) takes its first generation, each flagged; an unparsed text gives ``None``.
    """
    if not pcie_gen:
        return None, None
    m = re.search(r"gen\s*(\d)", pcie_gen, re.I)
    if not m or f"gen{m.group(1)}" not in _GENS:
        return None, None
    value = float(getattr(pcie_table(), f"gen{m.group(1)}"))
    lanes = re.search(r"x\s*(\d+)", pcie_gen)
    reason = None
    if lanes:
        value *= int(lanes.group(1)) / 16
    else:
        reason = f"PCIe lanes not stated ({pcie_gen!r}); x16 assumed"
    if "/" in pcie_gen.split("(")[0]:
        reason = f"PCIe generation ambiguous ({pcie_gen!r}); first one taken"
    return value, reason
