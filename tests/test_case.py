"""The case manifest model and loader (nelm.case): valid manifests, accessors, round trips."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pydantic
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nelm.case import (
    Case,
    FileFormat,
    ImageRef,
    ImageRole,
    MaskRole,
    Sex,
    TimePoint,
    TimePointKind,
    Treatment,
    TreatmentType,
    calendar_date,
    case_from_dict,
    dump_case,
    is_earlier,
    load_case,
    manifest_dict,
)
from nelm.errors import ManifestError

CET = dt.timezone(dt.timedelta(hours=1))

#: The schema's example manifest, verbatim (shared contract, version 1).
EXAMPLE_YAML = """\
nelm_manifest: 1
case_id: NELM-PHANTOM-0001
patient:
  name: "Phantom^Demo"
  id: "PH0001"
  birth_date: 1961-04-12
  sex: F
  weight: "72 kg"
  height: "168 cm"
clinical:
  primary_site: small_intestine
  primary_resected: true
  who_classification: "WHO 2019"
  grade: G2
  ki67_percent: 8.0
  differentiation: well
  extrahepatic_disease: false
  functional_syndrome: carcinoid
  somatostatin_analogue: true
  ecog: 1
  bilirubin_mg_dl: 0.7
  albumin_g_dl: 4.1
  inr: 1.0
  platelets_10e9_l: 210
  leukocytes_10e9_l: 5.4
  granulocytes_10e9_l: 3.1
  ldh_u_l: 212
  ast_u_l: 31
  creatinine_mg_dl: 0.9
  egfr_ml_min: 85
  ascites: false
  portal_vein_thrombosis: none
  bilioenteric_anastomosis: false
  biliary_stent: false
  sphincterotomy: false
time_points:
  - id: baseline
    date: 2026-01-12
    kind: baseline
    images:
      ct_unenhanced: baseline/ct_unenhanced
      ct_arterial: baseline/ct_arterial
      ct_portal: baseline/ct_portal
      pet_sstr: baseline/pet_sstr
    masks:
      liver: {path: baseline/masks/liver.nii.gz, image: ct_portal}
      lesions: {path: baseline/masks/lesions.nii.gz, image: ct_portal}
      segments: {path: baseline/masks/segments.nii.gz, image: ct_portal}
  - id: maa
    date: 2026-02-02T09:30:00+01:00
    kind: planning
    images:
      spect_maa: maa/spect_maa
      planar_maa: maa/planar_maa.dcm
      ct_lowdose: maa/ct_lowdose
    masks:
      lungs: {path: maa/masks/lungs.nii.gz, image: spect_maa}
      perfused: {path: maa/masks/perfused.nii.gz, image: spect_maa}
treatments:
  - type: tare
    date: 2026-02-16T10:30:00+01:00
    device: glass
    activity: "2.1 GBq"
    target: right_lobe
    lung_dose: "4.2 Gy"
    notes: ""
"""

_FOLDERS = (
    "baseline/ct_unenhanced",
    "baseline/ct_arterial",
    "baseline/ct_portal",
    "baseline/pet_sstr",
    "maa/spect_maa",
    "maa/ct_lowdose",
    "fu1/ct_portal",
    "fu2/ct_portal",
)
_FILES = (
    "baseline/masks/liver.nii.gz",
    "baseline/masks/lesions.nii.gz",
    "baseline/masks/segments.nii.gz",
    "maa/planar_maa.dcm",
    "maa/masks/lungs.nii.gz",
    "maa/masks/perfused.nii.gz",
)


def make_tree(root: Path) -> Path:
    """Create the dummy series folders and mask files the example refers to."""
    for folder in _FOLDERS:
        (root / folder).mkdir(parents=True, exist_ok=True)
    for name in _FILES:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"")
    return root


def example_dict() -> dict[str, Any]:
    """The example as the mapping YAML gives (dates as date/datetime objects)."""
    data = yaml.safe_load(EXAMPLE_YAML)
    assert isinstance(data, dict)
    return data


def write_yaml(root: Path, data: dict[str, Any], name: str = "case.yaml") -> Path:
    path = root / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def example(tmp_path: Path) -> Path:
    make_tree(tmp_path)
    path = tmp_path / "case.yaml"
    path.write_text(EXAMPLE_YAML, encoding="utf-8")
    return path


# --- a complete valid manifest ---------------------------------------------------------------


def test_example_yaml_loads_with_canonical_units(example: Path) -> None:
    case = load_case(example)
    assert case.case_id == "NELM-PHANTOM-0001"
    assert case.manifest_path == example.absolute()
    assert case.root == example.parent.absolute()
    p = case.patient
    assert (p.name, p.id, p.birth_date, p.sex) == ("Phantom^Demo", "PH0001", dt.date(1961, 4, 12), Sex.F)
    assert p.weight_kg == 72.0
    assert p.height_cm == 168.0
    tare = case.treatments[0]
    assert tare.type is TreatmentType.TARE
    assert tare.activity_gbq == 2.1
    assert tare.lung_dose_gy == 4.2
    assert tare.date == dt.datetime(2026, 2, 16, 10, 30, tzinfo=CET)
    assert tare.device == "glass"
    assert tare.tare_device is not None
    assert tare.tare_device.value == "glass"
    assert case.clinical.ecog == 1
    assert case.clinical.platelets_10e9_l == 210
    assert (case.clinical.leukocytes_10e9_l, case.clinical.granulocytes_10e9_l) == (5.4, 3.1)
    assert (case.clinical.ldh_u_l, case.clinical.ast_u_l) == (212, 31)
    assert case.clinical.ki67_percent == 8.0


def test_example_paths_resolve_against_the_manifest_folder_with_formats(example: Path) -> None:
    case = load_case(example)
    base, maa = case.time_points
    assert base.date == dt.date(2026, 1, 12)
    assert maa.date == dt.datetime(2026, 2, 2, 8, 30, tzinfo=dt.UTC)  # 09:30+01:00 is 08:30 UTC
    portal = base.image("ct_portal")
    assert portal.path == example.parent / "baseline" / "ct_portal"
    assert portal.format is FileFormat.DICOM_SERIES  # a folder
    assert maa.image(ImageRole.PLANAR_MAA).format is FileFormat.DICOM_FILE  # .dcm
    liver = base.mask("liver")
    assert liver.format is FileFormat.NIFTI  # .nii.gz
    assert liver.image is ImageRole.CT_PORTAL
    assert liver.path == example.parent / "baseline" / "masks" / "liver.nii.gz"
    assert maa.mask(MaskRole.LUNGS).image is ImageRole.SPECT_MAA


def test_json_manifest_equals_yaml(example: Path) -> None:
    data = example_dict()
    json_path = example.parent / "case.json"
    json_path.write_text(json.dumps(data, default=lambda d: d.isoformat()), encoding="utf-8")
    assert load_case(json_path) == load_case(example)


def test_units_are_converted_once_at_load(tmp_path: Path) -> None:
    make_tree(tmp_path)
    data = example_dict()
    data["patient"].update(weight="160 lb", height="1.68 m")
    data["treatments"][0].update(activity="67 mCi", lung_dose="420 cGy")
    case = load_case(write_yaml(tmp_path, data))
    # 1 lb = 0.45359237 kg exactly (international pound, 1959); 1 m = 100 cm.
    assert case.patient.weight_kg == pytest.approx(160 * 0.45359237, rel=1e-12)
    assert case.patient.height_cm == pytest.approx(168.0, rel=1e-12)
    # 1 mCi = 3.7e7 Bq (curie definition); 1 cGy = 0.01 Gy.
    assert case.treatments[0].activity_gbq == pytest.approx(67 * 3.7e7 / 1e9, rel=1e-12)
    assert case.treatments[0].lung_dose_gy == pytest.approx(4.2, rel=1e-12)


def test_minimal_manifest_has_empty_optional_parts(tmp_path: Path) -> None:
    data = {
        "nelm_manifest": 1,
        "case_id": "c1",
        "time_points": [{"id": "t0", "date": "2026-01-12", "kind": "baseline"}],
    }
    case = load_case(write_yaml(tmp_path, data))
    assert case.patient.weight_kg is None
    assert case.clinical.grade is None
    assert case.treatments == ()
    assert case.baseline.images == {}
    assert case.follow_ups == ()


# --- accessors ---------------------------------------------------------------------------------


def test_time_point_lookup_and_baseline(example: Path) -> None:
    case = load_case(example)
    assert case.time_point("maa").kind is TimePointKind.PLANNING
    assert case.baseline.id == "baseline"
    with pytest.raises(ManifestError, match=r"no time point 'fu9'.*'baseline', 'maa'"):
        case.time_point("fu9")


def test_image_and_mask_lookup_errors_name_role_and_present(example: Path) -> None:
    base = load_case(example).baseline
    assert base.has_image("ct_arterial")
    assert not base.has_image(ImageRole.MR_HBP)
    assert base.has_mask("segments")
    with pytest.raises(ManifestError, match=r"no image 'mr_hbp'; present: ct_unenhanced, ct_arterial"):
        base.image("mr_hbp")
    with pytest.raises(ManifestError, match=r"unknown image role 'ct_portl'; known: ct_unenhanced"):
        base.image("ct_portl")
    with pytest.raises(ManifestError, match=r"no mask 'lungs'; present: liver, lesions, segments"):
        base.mask(MaskRole.LUNGS)
    with pytest.raises(ManifestError, match=r"unknown mask role 'tumour'; known: liver"):
        base.mask("tumour")


def test_follow_ups_sorted_by_date(tmp_path: Path) -> None:
    make_tree(tmp_path)
    data = example_dict()
    data["time_points"] += [
        {"id": "fu2", "date": "2026-08-01", "kind": "follow_up", "images": {"ct_portal": "fu2/ct_portal"}},
        {"id": "fu1b", "date": "2026-05-04T12:00:00+02:00", "kind": "follow_up"},
        {"id": "fu1a", "date": "2026-05-04T09:00:00+00:00", "kind": "follow_up"},
        {"id": "fu0", "date": "2026-05-04", "kind": "follow_up"},
    ]
    case = load_case(write_yaml(tmp_path, data))
    # Calendar date first; on 2026-05-04 the plain date, then 10:00Z (12:00+02:00) after 09:00Z.
    assert [p.id for p in case.follow_ups] == ["fu0", "fu1a", "fu1b", "fu2"]
    assert case.time_point("fu2").image("ct_portal").path == tmp_path / "fu2" / "ct_portal"


def test_ordering_rule_dates_and_datetimes() -> None:
    morning = dt.datetime(2026, 1, 12, 8, 0, tzinfo=CET)
    evening_utc = dt.datetime(2026, 1, 12, 20, 0, tzinfo=dt.UTC)
    day = dt.date(2026, 1, 12)
    # Same calendar day as a plain date: neither is earlier.
    assert not is_earlier(morning, day)
    assert not is_earlier(day, morning)
    assert is_earlier(dt.date(2026, 1, 11), morning)
    # Two date-times compare as instants: 00:30+05:00 is 19:30 UTC the previous day.
    early = dt.datetime(2026, 1, 13, 0, 30, tzinfo=dt.timezone(dt.timedelta(hours=5)))
    assert is_earlier(early, evening_utc)
    assert calendar_date(early) == dt.date(2026, 1, 13)


def test_follow_up_on_the_baseline_day_is_allowed(tmp_path: Path) -> None:
    make_tree(tmp_path)
    data = example_dict()
    data["time_points"].append({"id": "same_day", "date": "2026-01-12T07:00:00+01:00", "kind": "follow_up"})
    assert [p.id for p in load_case(write_yaml(tmp_path, data)).follow_ups] == ["same_day"]


def test_to_json_dict_omits_identifiers_unless_asked(example: Path) -> None:
    case = load_case(example)
    out = case.to_json_dict()
    assert set(out["patient"]) == {"sex", "weight_kg", "height_cm"}
    assert out["patient"]["weight_kg"] == 72.0
    assert out["treatments"][0]["activity_gbq"] == 2.1
    assert out["time_points"][0]["images"]["ct_portal"] == {
        "path": "baseline/ct_portal",
        "format": "dicom_series",
        "series_uid": None,
    }
    assert out["time_points"][1]["date"] == "2026-02-02T09:30:00+01:00"
    text = json.dumps(out)
    for identifying in ("Phantom^Demo", "PH0001", "1961-04-12"):
        assert identifying not in text
    full = case.to_json_dict(include_identifiers=True)
    assert full["patient"]["name"] == "Phantom^Demo"
    assert full["patient"]["id"] == "PH0001"
    assert full["patient"]["birth_date"] == "1961-04-12"


# --- dump and round trip ----------------------------------------------------------------------


def test_dump_yaml_round_trip_to_another_folder(example: Path) -> None:
    case = load_case(example)
    target = example.parent / "copies" / "case_copy.yaml"
    assert dump_case(case, target) == target
    text = target.read_text(encoding="utf-8")
    assert "../baseline/ct_portal" in text  # relative to the new file's folder
    assert "activity: 2.1 GBq" in text
    again = load_case(target)
    assert again == case
    assert again.manifest_path == target.absolute()
    assert [p.name for p in target.parent.iterdir()] == ["case_copy.yaml"]  # no temporary left


def test_dump_json_round_trip(example: Path) -> None:
    case = load_case(example)
    target = dump_case(case, example.parent / "case_copy.json")
    data = json.loads(target.read_text(encoding="utf-8"))
    assert data["patient"]["weight"] == "72 kg"
    assert data["time_points"][1]["masks"]["lungs"] == {
        "path": "maa/masks/lungs.nii.gz",
        "image": "spect_maa",
    }
    assert load_case(target) == case


def test_dump_can_leave_out_identifiers(example: Path) -> None:
    case = load_case(example)
    data = manifest_dict(case, include_identifiers=False)
    assert "name" not in data["patient"]
    assert "birth_date" not in data["patient"]
    assert case_from_dict(data, root=example.parent).patient.name is None


def test_dump_refuses_unknown_suffix(example: Path) -> None:
    with pytest.raises(ManifestError, match=r"case\.txt.*use \.yaml, \.yml or \.json"):
        dump_case(load_case(example), example.parent / "case.txt")
    assert not (example.parent / "case.txt").exists()


_offsets = st.integers(min_value=-12 * 4, max_value=14 * 4).map(
    lambda q: dt.timezone(dt.timedelta(minutes=15 * q))
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    weight=st.floats(min_value=0.5, max_value=400, allow_nan=False),
    height=st.floats(min_value=30, max_value=250, allow_nan=False),
    height_unit=st.sampled_from(["cm", "mm", "m", "in"]),
    activity=st.floats(min_value=1e-3, max_value=20, allow_nan=False),
    activity_unit=st.sampled_from(["GBq", "MBq", "mCi"]),
    ki67=st.floats(min_value=0, max_value=100, allow_nan=False),
    when=st.datetimes(min_value=dt.datetime(2026, 1, 13), max_value=dt.datetime(2030, 1, 1)),
    offset=_offsets,
)
def test_round_trip_property(
    weight: float,
    height: float,
    height_unit: str,
    activity: float,
    activity_unit: str,
    ki67: float,
    when: dt.datetime,
    offset: dt.timezone,
) -> None:
    """load(dump(load(x))) == load(x) for unit strings in any accepted unit."""
    scale = {"cm": 1.0, "mm": 10.0, "m": 0.01, "in": 1 / 2.54}[height_unit]
    amount = {"GBq": 1.0, "MBq": 1000.0, "mCi": 1 / 0.037}[activity_unit]
    with tempfile.TemporaryDirectory() as folder:
        root = make_tree(Path(folder))
        data = example_dict()
        data["patient"].update(weight=f"{weight!r} kg", height=f"{height * scale!r} {height_unit}")
        data["clinical"]["ki67_percent"] = ki67
        data["treatments"][0].update(
            activity=f"{activity * amount!r} {activity_unit}", date=when.replace(tzinfo=offset)
        )
        first = load_case(write_yaml(root, data))
        again = load_case(dump_case(first, root / "elsewhere" / "dumped.yaml"))
        assert again == first
        assert again.treatments[0].date.utcoffset() == offset.utcoffset(None)
        assert first.patient.weight_kg == weight


# --- Python construction ----------------------------------------------------------------------


def test_python_construction_takes_canonical_numbers(tmp_path: Path) -> None:
    make_tree(tmp_path)
    image = ImageRef(path=tmp_path / "baseline" / "ct_portal")
    assert image.format is FileFormat.DICOM_SERIES
    point = TimePoint(
        id="t0", date=dt.date(2026, 1, 12), kind=TimePointKind.BASELINE, images={"ct_portal": image}
    )
    tare = Treatment(type=TreatmentType.TARE, date=dt.date(2026, 2, 16), activity_gbq=2.1, device="resin")
    case = Case(case_id="c1", time_points=(point,), treatments=(tare,))
    assert case.manifest_path is None
    assert case.root is None
    assert case.baseline.image("ct_portal").path == tmp_path / "baseline" / "ct_portal"
    # The JSON dict falls back to absolute paths without a root.
    assert case.to_json_dict()["time_points"][0]["images"]["ct_portal"]["path"] == image.path.as_posix()
    # Dumped and loaded again, the same case.
    assert load_case(dump_case(case, tmp_path / "built.yaml")) == case


def test_python_construction_rejects_a_number_under_a_unitless_key() -> None:
    with pytest.raises(pydantic.ValidationError, match=r"bare number 2\.1 has no unit; write '2\.1 GBq'"):
        Treatment.model_validate({"type": "tare", "date": dt.date(2026, 2, 16), "activity": 2.1})


def test_cases_are_frozen(example: Path) -> None:
    case = load_case(example)
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        case.case_id = "other"  # type: ignore[misc]


# --- real data --------------------------------------------------------------------------------


def test_real_files_absolute_paths_and_dicom_preamble(data_file: Any, tmp_path: Path) -> None:
    """Real CT series and NIfTI (TotalSegmentator test files, Apache-2.0) and a real DICOM slice
    without a .dcm suffix (dcmqi test data, BSD-3): recognised by folder, suffix and preamble."""
    series = data_file("ct/totalsegmentator/example_ct_dicom")
    nifti = data_file("ct/totalsegmentator/example_ct_sm.nii.gz")
    no_suffix = tmp_path / "IM0001"
    shutil.copyfile(data_file("dicom/dcmqi/ct-3slice/01.dcm"), no_suffix)
    data = {
        "nelm_manifest": 1,
        "case_id": "real",
        "time_points": [
            {
                "id": "t0",
                "date": "2026-01-12",
                "kind": "baseline",
                "images": {"ct_portal": str(series), "ct_arterial": str(nifti), "ct_unenhanced": "IM0001"},
            }
        ],
    }
    point = load_case(write_yaml(tmp_path, data)).baseline
    assert point.image("ct_portal").format is FileFormat.DICOM_SERIES
    assert point.image("ct_portal").path == series
    assert point.image("ct_arterial").format is FileFormat.NIFTI
    assert point.image("ct_unenhanced").format is FileFormat.DICOM_FILE
    assert point.image("ct_unenhanced").path == no_suffix
