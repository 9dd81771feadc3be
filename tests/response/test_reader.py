"""A reader's table (CSV and JSON) becomes the same exact ResponseCase; bad tables are named."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest

from nelm.errors import InputError
from nelm.response.model import Certainty, LesionState, LesionType, NonTargetCall
from nelm.response.reader import load_reader_table

HEADER = (
    "time_point,date,lesion_id,lesion_type,organ,target,state,long_mm,short_mm,new,certainty,"
    "tp_slice_thickness_mm,tp_non_target_call\n"
)
CSV = (
    HEADER
    + """baseline,2026-01-12,L1,,liver,yes,,25.2,20.0,,,2.5,
baseline,2026-01-12,L2,,liver,yes,,21,15,,,2.5,
baseline,2026-01-12,N1,node,,,,,16,,,2.5,
fu1,2026-04-12T10:00:00+02:00,L1,,liver,,disappeared,,,,,,no_progression
fu1,2026-04-12T10:00:00+02:00,L2,,liver,,too_small,,,,,,
fu1,2026-04-12T10:00:00+02:00,N1,node,,,,,9.9,,,,
fu1,2026-04-12T10:00:00+02:00,X1,,liver,,,8,,yes,equivocal,,
fu2,2026-07-01,X1,,liver,,,12.25,,,,,
"""
)


def _write(tmp_path: Path, text: str, name: str = "reads.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_table(tmp_path: Path) -> None:
    case = load_reader_table(_write(tmp_path, CSV))
    assert case.case_id == "reads"
    assert [tp.time_point_id for tp in case.time_points] == ["baseline", "fu1", "fu2"]
    assert case.targets == ("L1", "L2")
    assert case.lesions["N1"].lesion_type is LesionType.NODE
    base, fu1, fu2 = case.time_points
    assert base.measurements["L1"].long_mm == Fraction(252, 10)  # exact, not 25.199999…
    assert base.slice_thickness_mm == Fraction(5, 2)
    assert fu1.measurements["L1"].state is LesionState.DISAPPEARED
    assert fu1.measurements["N1"].short_mm == Fraction(99, 10)
    assert fu1.non_target_call is NonTargetCall.NO_PROGRESSION
    assert fu1.new_lesions[0].certainty is Certainty.EQUIVOCAL
    assert fu1.new_lesions[0].long_mm == 8
    assert fu2.measurements["X1"].long_mm == Fraction(122, 10)  # 12.25 rounds half-to-even to 12.2
    assert fu1.date.utcoffset() is not None
    assert base.date.isoformat() == "2026-01-12T00:00:00+00:00"


def test_json_table_is_the_same_case(tmp_path: Path) -> None:
    lines = CSV.strip().splitlines()
    header = lines[0].split(",")
    rows: list[dict[str, object]] = [
        {k: v for k, v in zip(header, line.split(","), strict=True) if v} for line in lines[1:]
    ]
    rows[0]["long_mm"] = 25.2  # JSON numbers are read exactly as well
    doc = {"nelm_reader_table": 1, "case_id": "reads", "rows": rows}
    case_json = load_reader_table(_write(tmp_path, json.dumps(doc), "reads.json"))
    case_csv = load_reader_table(_write(tmp_path, CSV))
    assert case_json == case_csv


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda t: t.replace("tp_non_target_call", "tp_non_target_cal"), "unknown column"),
        (
            lambda t: t.replace("baseline,2026-01-12,L2", ",2026-01-12,L2"),
            "line 3, column time_point: required",
        ),
        (lambda t: t.replace("baseline,2026-01-12,L2", "baseline,12/01/2026,L2"), "line 3, column date"),
        (lambda t: t.replace("baseline,2026-01-12,L2", "baseline,2026-01-13,L2"), "two dates"),
        (lambda t: t.replace("2026-04-12T10:00:00+02:00,L1", "2026-04-12T10:00:00,L1"), "no UTC offset"),
        (lambda t: t.replace(",25.2,", ",25,2,"), "more values than header"),
        (lambda t: t.replace(",25.2,", ",abc,"), "line 2, column long_mm: expected a number"),
        (lambda t: t.replace(",25.2,", ",-25.2,"), "line 2, column long_mm: must not be negative"),
        (lambda t: t.replace(",liver,yes,,25.2", ",liver,maybe,,25.2"), "column target: expected yes or no"),
        (lambda t: t.replace(",,disappeared,", ",,vanished,"), "column state: expected one of"),
        (lambda t: t.replace(",,disappeared,,", ",,disappeared,3,"), "only a present lesion"),
        (lambda t: t.replace("N1,node,,,,,9.9", "N1,,,,,,9.9"), "described differently"),
        (
            lambda t: t.replace(",2.5,\nbaseline,2026-01-12,N1", ",3.0,\nbaseline,2026-01-12,N1"),
            "differs from an earlier",
        ),
        (lambda t: t + "fu2,2026-07-01,X1,,liver,,,12,,,,,\n", "appears twice"),
        (lambda t: t + "fu2,2026-07-01,Z9,,liver,,,12,,,,,\n", "neither a baseline lesion nor a new lesion"),
        (lambda t: t.replace("yes,equivocal", "yes,probable"), "column certainty"),
        (lambda t: t.replace("no_progression", "worse"), "column tp_non_target_call"),
    ],
)
def test_bad_csv_names_file_line_and_column(tmp_path: Path, mutate: object, message: str) -> None:
    path = _write(tmp_path, mutate(CSV))  # type: ignore[operator]
    with pytest.raises(InputError, match=message) as info:
        load_reader_table(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("text", "name", "message"),
    [
        ("", "t.csv", "no header row"),
        ("time_point,date,lesion_id\n", "t.csv", "no rows"),
        ("{", "t.json", "not valid JSON"),
        ('{"rows": []}', "t.json", "nelm_reader_table"),
        ('{"nelm_reader_table": 1, "rows": {}}', "t.json", "field rows"),
        ('{"nelm_reader_table": 1, "rows": [3]}', "t.json", r"rows\[0\]: expected an object"),
        ("x", "t.xlsx", "unknown reader-table type"),
    ],
)
def test_bad_files(tmp_path: Path, text: str, name: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        load_reader_table(_write(tmp_path, text, name))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        load_reader_table(tmp_path / "none.csv")


def test_reader_table_through_every_criterion(tmp_path: Path) -> None:
    from nelm.response.assess import CRITERIA, assess_all

    # N1 (a node) is a reader's target: RECIST accepts it, mRECIST and EASL cannot and are left
    # out with the reason, the other criteria still run
    text = CSV.replace("baseline,2026-01-12,N1,node,,,", "baseline,2026-01-12,N1,node,,yes,")
    assessment = assess_all(load_reader_table(_write(tmp_path, text)))
    assessed = {c.criterion for c in assessment.criteria}
    assert "RECIST 1.1" in assessed
    assert "mRECIST" not in assessed
    assert any(w.startswith("mrecist: not assessed") for w in assessment.warnings)
    assert len(assessed) + sum("not assessed" in w for w in assessment.warnings) == len(CRITERIA)
    recist = next(c for c in assessment.criteria if c.criterion == "RECIST 1.1")
    # baseline sum 25.2 + 21 + 16 = 62.2 mm; fu1: L1 gone (0), L2 too small (5 mm), N1 9.9 mm → 14.9 mm
    rows = {r.time_point: r for r in recist.time_points}
    assert rows["baseline"].value == 62.2
    assert rows["fu1"].value == 14.9
    # the sum alone is PR (-76 %), but the equivocal new lesion X1 of fu1 is measured at fu2: confirmed,
    # so progression dates back to fu1 (RECIST 1.1)
    assert rows["fu1"].change_from_baseline_percent == pytest.approx(-76.0, abs=0.05)
    assert rows["fu1"].new_lesions == "definite"
    assert rows["fu1"].category == "PD"
    with pytest.raises(InputError, match="not eligible"):
        assess_all(load_reader_table(_write(tmp_path, text)), only=["mrecist"])
