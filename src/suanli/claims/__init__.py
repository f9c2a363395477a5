"""The seed article's claims, each checked with suanli's own catalog, models, rules and market data.

A decision-layer package (above catalog, policy and perf; below the
interfaces): :func:`check_claims` returns a :class:`ClaimsReport` whose
``to_dict()`` is what ``suanli claims --json`` prints and ``/api/v1/claims``
returns.
"""
from suanli.claims.check import (
    VERDICTS, ClaimCheck, ClaimsReport, MarketRow, check_claims, load_claims, load_market,
)

__all__ = ["VERDICTS", "ClaimCheck", "ClaimsReport", "MarketRow", "check_claims", "load_claims", "load_market"]
