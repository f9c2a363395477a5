"""Record errata: a record whose own artefacts contradict a column is read corrected, and only that record."""
from __future__ import annotations

from pathlib import Path

import pytest

from suanli.errors import DataError
from suanli.perf.errata import Erratum, correct, errata, errata_md, in_force, parse_errata
from suanli.perf.validate import read_records, records_from_text

DEV = Path(__file__).resolve().parents[2] / "data" / "validation" / "dev.csv"

GOOD = """errata:
  - id: X-1
    source: "lab/report-7"
    was: {weight_dtype: fp8, act_dtype: fp8}
    now: {weight_dtype: fp4, act_dtype: fp4}
    evidence: "the run's own log prints fp4: true (lab/report-7, page 3)"
"""


def _row(**kw: str) -> dict:
    r = {"id": "X-1", "kind": "train", "hardware": "b300", "chips": "8", "metric": "train_tps_per_chip",
         "value": "100", "source": "lab/report-7/run1.txt", "weight_dtype": "fp8", "act_dtype": "fp8", "notes": ""}
    r.update(kw)
    return r


def test_the_packaged_errata_validate_and_each_names_a_record_of_the_dev_set():
    table = errata()
    assert table, "the packaged file holds at least the MLT-018 correction"
    ids = {r["id"] for r in read_records(DEV)}
    for e in table:
        assert e.id in ids
        assert len(e.evidence) > 40


def test_mlt_018_is_read_as_the_nvfp4_run_its_log_shows():
    raw = DEV.read_text(encoding="utf-8")
    line = next(ln for ln in raw.splitlines() if ln.startswith("MLT-018,"))
    assert ",fp8,fp8," in line  # the file itself still says FP8
    r = next(x for x in read_records(DEV) if x["id"] == "MLT-018")
    assert (r["weight_dtype"], r["act_dtype"]) == ("fp4", "fp4")
    assert "suanli erratum: weight_dtype fp8 -> fp4, act_dtype fp8 -> fp4" in r["notes"]
    # an untouched neighbour keeps its values
    r19 = next(x for x in read_records(DEV) if x["id"] == "MLT-014")
    assert r19["act_dtype"] == "fp8" and "erratum" not in r19["notes"]


def test_a_correction_applies_only_to_its_record_with_the_recorded_values():
    table = parse_errata(GOOD)
    rows = [_row(), _row(id="X-2"), _row(source="other/report"), _row(act_dtype="bf16")]
    rows[2]["id"] = "X-1b"  # ids are unique in a file; the third row is another source's record
    applied = correct(rows, table)
    assert [e.id for e in applied] == ["X-1"]
    assert (rows[0]["weight_dtype"], rows[0]["act_dtype"]) == ("fp4", "fp4")
    assert rows[0]["notes"].startswith("suanli erratum: weight_dtype fp8 -> fp4")
    assert rows[1]["act_dtype"] == "fp8" and rows[2]["act_dtype"] == "fp8"
    # same id, but the record no longer holds every recorded value (fixed or changed upstream): untouched
    other = [_row(act_dtype="bf16")]
    assert correct(other, table) == [] and other[0]["weight_dtype"] == "fp8"
    # same id from another source: untouched
    foreign = [_row(source="someone-else/run.txt")]
    assert correct(foreign, table) == [] and foreign[0]["act_dtype"] == "fp8"
    # applying twice changes nothing more; the reports see it in force
    assert correct(rows, table) == []
    assert [e.id for e in in_force(rows, table)] == ["X-1"]
    md = "\n".join(errata_md(rows, table))
    assert "| X-1 | weight_dtype fp8 -> fp4, act_dtype fp8 -> fp4 |" in md
    assert errata_md([_row(id="Z")], table) == []
    # a record that already holds the right values (fixed at its source) was not corrected: not listed
    fixed = [_row(weight_dtype="fp4", act_dtype="fp4")]
    assert correct(fixed, table) == [] and in_force(fixed, table) == []


def test_an_upload_is_corrected_the_same_way():
    text = ("id,kind,hardware,chips,metric,value,source,weight_dtype,act_dtype,notes\n"
            "MLT-018,train,b300,8,train_tps_per_chip,7626.9,"
            "mlcommons/training_results_v5.1:Nebius/results/nebius_b300_n1/llama2_70b_lora/result_*.txt,fp8,fp8,\n")
    (r,) = records_from_text(text, "up.csv")
    assert r["act_dtype"] == "fp4" and "erratum" in r["notes"]


@pytest.mark.parametrize("bad, what", [
    (GOOD.replace("    now: {weight_dtype: fp4, act_dtype: fp4}\n", "    now: {weight_dtype: fp4}\n"), "same columns"),
    (GOOD.replace("weight_dtype: fp8, act_dtype: fp8}", "value: '1', act_dtype: fp8}")
         .replace("weight_dtype: fp4, act_dtype: fp4}", "value: '2', act_dtype: fp4}"), "cannot be corrected"),
    (GOOD.replace("act_dtype: fp4}", "act_dtype: fp8}"), "repeats"),
    (GOOD.replace('    evidence: "the run\'s own log prints fp4: true (lab/report-7, page 3)"\n', ""), "evidence"),
    (GOOD + GOOD.split("\n", 1)[1], "two errata"),
    ("errata: {}\n", "top-level 'errata:' list"),
])
def test_a_bad_errata_file_names_what_is_wrong(bad: str, what: str):
    with pytest.raises(DataError) as exc:
        parse_errata(bad, "record_errata.yaml")
    assert what in str(exc.value)
    assert "record_errata.yaml" in str(exc.value)


def test_an_erratum_cannot_touch_a_measured_value():
    with pytest.raises(ValueError, match="cannot be corrected"):
        Erratum(id="A", source="s", was={"value": "1"}, now={"value": "2"}, evidence="x" * 30)


def test_validation_says_which_records_it_read_corrected(run_cli, tmp_path):
    import json

    from suanli.catalog import get_catalog
    from suanli.perf.validate import validate_file

    lines = DEV.read_text(encoding="utf-8").splitlines()
    keep = [lines[0]] + [ln for ln in lines if ln.startswith(("MLT-018,", "MLT-014,"))]
    p = tmp_path / "two.csv"
    p.write_text("\n".join(keep) + "\n", encoding="utf-8")
    rep = validate_file(p, get_catalog())
    assert len(rep.notes) == 1 and rep.notes[0].startswith("MLT-018 read corrected: weight_dtype fp8 -> fp4")
    assert rep.to_dict()["notes"] == rep.notes
    # a kind the corrected record is not of: no note
    assert validate_file(p, get_catalog(), kind="serve").notes == []
    code, out, _ = run_cli("validate", str(p), "--json")
    assert code == 0 and json.loads(out)["notes"] == rep.notes
    code, out, _ = run_cli("validate", str(p))
    assert code == 0 and "MLT-018 read corrected" in " ".join(out.split())
