"""Market access: can this buyer get this chip, on this date, on what terms -- and what if.

Rules (US export controls, letters, deals, tariffs, Chinese import measures,
proposed laws) are data in ``suanli/policy/data``; this package loads them
(:mod:`~suanli.policy.regimes`), computes the metrics the rules test
(:mod:`~suanli.policy.metrics`), classifies a chip for a destination, buyer
and date (:mod:`~suanli.policy.classify`), tracks status over time
(:mod:`~suanli.policy.timeline`), finds the lines to design under
(:mod:`~suanli.policy.thresholds`) and applies "what if" scenarios
(:mod:`~suanli.policy.scenarios`).
"""
from suanli.policy.classify import Classification, classify
from suanli.policy.metrics import ChipSpec, parse_spec, spec_from_accelerator, spec_from_mapping
from suanli.policy.regimes import RuleSet, load_rules
from suanli.policy.scenarios import list_scenarios, load_scenario_file, resolve_scenarios
from suanli.policy.thresholds import Thresholds, thresholds
from suanli.policy.timeline import Timeline, timeline

__all__ = [
    "ChipSpec", "Classification", "RuleSet", "Thresholds", "Timeline", "classify", "list_scenarios", "load_rules",
    "load_scenario_file", "parse_spec", "resolve_scenarios", "spec_from_accelerator", "spec_from_mapping",
    "thresholds", "timeline",
]
