"""The rules as data: completeness against the reference, validation errors, predicates, amendments."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from suanli.errors import DataError
from suanli.policy.regimes import OneOf, compare, dest_matches, evaluate, load_rules
from suanli.policy.schema import AllOf, Cond

REFERENCE = Path("/work/shared/reference/export_rules.yaml")


def test_every_reference_regime_and_measure_is_in_the_data(rules):
    ids = set(rules.rule_ids()) | {a.id for a in rules.amendments} | set(rules.scenarios)
    expected = {
        # US regimes
        "us-ear-acr-2022-10", "us-ear-acr-macau-2023-01", "us-ear-acs-2023-10", "us-ear-acs-corrections-2024-04",
        "us-ear-fdp-hbm-2024-12", "us-ear-ai-diffusion-2025-01", "us-ear-foundry-dd-2025-01",
        "us-ear-foundry-dd-extension-2026-04", "us-bis-gp10-ascend-guidance-2025-05",
        "us-isinformed-h20-mi308-2025-04", "us-h20-mi308-revenue-share-2025-08", "us-h200-announcement-2025-12",
        "us-ear-h200-case-by-case-2026-01", "us-s232-advanced-chips-tariff-2026-01", "us-bis-guidance-d5-hq-2026-05",
        "us-ear-affiliates-rule-2025-09", "us-b30a-withheld-2025-11", "us-entity-list-huawei-parts",
        # proposed laws and drafts
        "gain-ai-act", "safe-chips-act", "ai-overwatch-act", "chip-security-act", "remote-access-security-act",
        "draft-global-ai-chip-licensing-2026", "h200-revocation",
        # Chinese measures
        "cn-shanghai-domestic-share-2024-03", "cn-samr-nvidia-antitrust", "cn-cac-h20-summons-2025-07",
        "cn-h20-discouragement-2025-08", "cn-mofcom-analog-probes-2025-09", "cn-cac-rtx6000d-ban-2025-09",
        "cn-customs-crackdown-2025-10", "cn-energy-subsidy-2025-11", "cn-state-funded-dc-domestic-only-2025-11",
        "cn-xinchuang-procurement-2025-12", "cn-h200-customs-block-2026-01", "cn-h200-ndrc-approval-2026",
    }
    assert expected <= ids, sorted(expected - ids)


def test_reference_ids_all_covered(rules):
    if not REFERENCE.exists():
        pytest.skip("shared reference not present")
    ref = yaml.safe_load(REFERENCE.read_text())
    ours = set(rules.rule_ids()) | {a.id for a in rules.amendments} | set(rules.scenarios)
    aliases = {"h200-permission-revocation": "h200-revocation", "cn-h200-gatekeeping-2026": "cn-h200-ndrc-approval-2026",
               "us-ear-acs-corrections-2024-04": "us-ear-acs-corrections-2024-04"}
    for section in ("regimes", "scenarios", "china_measures"):
        for rec in ref[section]:
            assert aliases.get(rec["id"], rec["id"]) in ours, rec["id"]


def test_every_rule_is_sourced_and_dated(rules):
    for rid in rules.rule_ids():
        r = rules.rule(rid)
        assert r.sources and all(s.startswith("http") for s in r.sources), rid
        assert r.status and r.confidence
        if r.side == "us" and r.kind in ("control", "licence_policy", "tariff", "legislation"):
            assert r.citation, rid
        if r.status == "proposed":
            assert r.effective_from is None, rid
        else:
            assert r.effective_from is not None or r.status in ("passed_house", "reported_draft"), rid


def test_thresholds_match_the_reference_text(rules):
    def values(rule_id):
        r = rules.rule(rule_id)
        crits = [t.when for t in r.classification] + [p.when for p in r.provisions]
        from suanli.policy.schema import iter_conds

        return {(c.param, c.op, c.value) for crit in crits for c in iter_conds(crit)}

    assert {("io_bidir_gbps", ">=", 600), ("tpp", ">=", 4800)} <= values("us-ear-acr-2022-10")
    assert {("tpp", ">=", 4800), ("pd", ">=", 5.92), ("tpp", ">=", 2400), ("pd", ">=", 1.6), ("pd", ">=", 3.2),
            ("tpp", ">=", 1600)} <= values("us-ear-acs-2023-10")
    assert {("tpp", "<", 21000), ("dram_bw_gbps", "<", 6500)} <= values("us-ear-h200-case-by-case-2026-01")
    assert {("tpp", ">=", 14000), ("tpp", "<=", 17500), ("dram_bw_gbps", ">=", 4500), ("dram_bw_gbps", "<=", 5000),
            ("tpp", ">=", 20800), ("tpp", "<=", 21100), ("dram_bw_gbps", ">=", 5800),
            ("dram_bw_gbps", "<=", 6200)} <= values("us-s232-advanced-chips-tariff-2026-01")
    assert {("hbm_mbd", ">", 2.0)} <= values("us-ear-fdp-hbm-2024-12")
    assert {("dram_bw_gbps", ">=", 4100), ("io_bidir_gbps", ">=", 1100), ("dram_plus_io_gbps", ">=", 5000)} <= values("safe-chips-act")
    fees = {p.effect.fee.fraction for p in rules.rule("us-s232-advanced-chips-tariff-2026-01").provisions}
    assert fees == {0.25}
    assert rules.rule("us-h20-mi308-revenue-share-2025-08").provisions[0].effect.fee.fraction == 0.15


def test_products_in_policy_data_exist_in_catalog(rules, catalog):
    ids = set(catalog.accelerator_ids())
    for pid, p in rules.vocab.products.products.items():
        assert pid in ids, pid
        if p.system_of:
            assert p.system_of in ids
    for acc in catalog.accelerators.values():
        assert acc.vendor in rules.vocab.products.vendors, acc.vendor


def test_amendments_split_rules_into_dated_versions(rules):
    vs = rules.versions_of("us-ear-acr-2022-10")
    assert [(v.start, v.end) for v in vs] == [(dt.date(2022, 10, 7), dt.date(2023, 1, 17)),
                                                (dt.date(2023, 1, 18), dt.date(2023, 11, 16))]
    assert "MO" in vs[1].rule.destinations and "MO" not in vs[0].rule.destinations
    aca = rules.versions_of("us-ear-acs-2023-10")
    assert aca[1].start == dt.date(2024, 4, 4) and "us-ear-acs-corrections-2024-04" in aca[1].changed_by


def test_ai_diffusion_never_binding_and_affiliates_suspended(rules):
    ai = rules.versions_of("us-ear-ai-diffusion-2025-01")[0]
    assert not any(ai.active_on(dt.date(2025, 1, 13) + dt.timedelta(days=i)) for i in range(0, 700, 7))
    aff = rules.versions_of("us-ear-affiliates-rule-2025-09")[0]
    assert aff.active_on(dt.date(2025, 10, 1))
    assert not aff.active_on(dt.date(2026, 6, 1))
    assert aff.active_on(dt.date(2026, 11, 10))


def test_three_valued_predicates():
    vals = {"tpp": 1840, "pd": None}
    b2 = AllOf(all_of=[Cond(param="tpp", op=">=", value=1600), Cond(param="pd", op=">=", value=3.2)])
    assert evaluate(b2, vals.get) is None        # MI308X: PD unknown, tier undecidable
    assert evaluate(Cond(param="tpp", op=">=", value=2400), vals.get) is False
    assert compare(OneOf(("3A090.a.2", "")), "==", "3A090.c") is False


def test_destination_tokens(rules):
    v = rules.vocab
    b = rules.buyer("private")
    f = rules.buyer("foreign-hq")
    assert dest_matches(["D5"], "HK", b, v)                      # HK treated as China under the EAR
    assert not dest_matches(["CN"], "HK", b, v)                  # ...but not the CN customs territory
    assert dest_matches(["HQ:D5"], "MY", b, v) and not dest_matches(["HQ:D5"], "MY", f, v)
    from suanli.policy.schema import DestGroup

    sel = DestGroup.model_validate({"any_of": ["D1", "D4"], "except": ["A5_A6", "D5"]})
    assert dest_matches([sel], "AE", f, v) and not dest_matches([sel], "IL", f, v) and not dest_matches([sel], "CN", f, v)


# --- validation errors: file, line, record, field, hint --------------------------


def _load(data_dir):
    load_rules.cache_clear()
    try:
        return load_rules(str(data_dir))
    finally:
        load_rules.cache_clear()


def test_packaged_data_reloads_from_a_copy(data_copy):
    rs = _load(data_copy)
    assert "us-ear-acs-2023-10" in rs.rule_ids()


def _break(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def test_bad_review_value_names_file_line_record_field(data_copy):
    f = data_copy / "regimes.yaml"
    _break(f, "review: presumption_of_approval", "review: presumption_of_approvel")
    with pytest.raises(DataError) as exc:
        _load(data_copy)
    e = exc.value
    assert e.file.endswith("regimes.yaml") and e.record == "us-ear-acs-2023-10"
    assert "review" in e.field and e.line and "presumption_of_approvel" in f.read_text().splitlines()[e.line - 1]


def test_unknown_parameter_is_an_error_with_suggestion(data_copy):
    _break(data_copy / "regimes.yaml", "{param: io_bidir_gbps, op: \">=\", value: 600}",
           "{param: io_bidir_gbs, op: \">=\", value: 600}")
    with pytest.raises(DataError) as exc:
        _load(data_copy)
    assert "unknown parameter 'io_bidir_gbs'" in exc.value.message
    assert "io_bidir_gbps" in exc.value.hint and exc.value.record == "us-ear-acr-2022-10" and exc.value.line


def test_wrong_value_type_and_unknown_destination(data_copy):
    _break(data_copy / "regimes.yaml", "{param: tpp, op: \"<\", value: 21000}", "{param: tpp, op: \"<\", value: \"21k\"}")
    with pytest.raises(DataError, match="is a number"):
        _load(data_copy)


def test_unknown_destination_token(data_copy):
    _break(data_copy / "measures_cn.yaml", "destinations: [CN]", "destinations: [CNN]")
    with pytest.raises(DataError) as exc:
        _load(data_copy)
    assert "unknown destination token 'CNN'" in exc.value.message and exc.value.file.endswith("measures_cn.yaml")


def test_extra_key_and_bad_dates(data_copy):
    _break(data_copy / "regimes.yaml", "    effective_to: 2023-11-16", "    effective_to: 2021-11-16")
    with pytest.raises(DataError, match="before effective_from"):
        _load(data_copy)


def test_extra_key_forbidden(data_copy):
    _break(data_copy / "proposed.yaml", "    lag_days: 180", "    lag_days: 180\n    lagdays: 180")
    with pytest.raises(DataError) as exc:
        _load(data_copy)
    assert exc.value.record == "chip-security-act" and "lagdays" in (exc.value.field or "")


def test_yaml_syntax_error_has_line(data_copy):
    _break(data_copy / "buyers.yaml", "  private:", "  private: [")
    with pytest.raises(DataError) as exc:
        _load(data_copy)
    assert "not valid YAML" in exc.value.message and exc.value.line


def test_duplicate_rule_id(data_copy):
    _break(data_copy / "measures_cn.yaml", "id: cn-samr-nvidia-antitrust", "id: us-ear-acs-2023-10")
    with pytest.raises(DataError, match="duplicate rule id"):
        _load(data_copy)


def test_chinese_measure_cannot_set_us_review(data_copy):
    _break(data_copy / "measures_cn.yaml", "china_access: prohibited", "review: denial")
    with pytest.raises(DataError, match="cannot set a US licence"):
        _load(data_copy)


def test_amendment_with_unknown_target(data_copy):
    _break(data_copy / "regimes.yaml", "target: us-ear-acr-2022-10, from: 2023-01-18",
           "target: us-ear-acr-2022-11, from: 2023-01-18")
    with pytest.raises(DataError) as exc:
        _load(data_copy)
    assert "unknown rule 'us-ear-acr-2022-11'" in exc.value.message and "us-ear-acr-2022-10" in exc.value.hint
