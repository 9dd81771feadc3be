"""Bad case manifests (nelm.case): one test per kind, each naming the file and the field."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from nelm.case import ManifestValidationError, load_case
from nelm.errors import InputError, ManifestError

_BASE: dict[str, Any] = {
    "nelm_manifest": 1,
    "case_id": "NELM-0001",
    "patient": {"sex": "F", "weight": "72 kg", "height": "168 cm"},
    "clinical": {"ki67_percent": 8.0, "ecog": 1, "bilirubin_mg_dl": 0.7},
    "time_points": [
        {
            "id": "baseline",
            "date": dt.date(2026, 1, 12),
            "kind": "baseline",
            "images": {"ct_portal": "baseline/ct_portal"},
            "masks": {"liver": {"path": "baseline/liver.nii.gz", "image": "ct_portal"}},
        },
        {
            "id": "fu1",
            "date": dt.datetime(2026, 4, 20, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))),
            "kind": "follow_up",
            "images": {"ct_portal": "fu1/ct_portal", "pet_sstr": "fu1/pet.nii.gz"},
        },
    ],
    "treatments": [
        {"type": "tare", "date": dt.date(2026, 2, 16), "device": "glass", "activity": "2.1 GBq"},
    ],
}


def _tree(root: Path) -> None:
    (root / "baseline" / "ct_portal").mkdir(parents=True)
    (root / "fu1" / "ct_portal").mkdir(parents=True)
    (root / "baseline" / "liver.nii.gz").write_bytes(b"")
    (root / "fu1" / "pet.nii.gz").write_bytes(b"")


def _error(tmp_path: Path, change: Callable[[dict[str, Any]], None]) -> str:
    """Load the base manifest after ``change``; return the single ManifestError's message."""
    _tree(tmp_path)
    data = copy.deepcopy(_BASE)
    change(data)
    path = tmp_path / "case.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    with pytest.raises(ManifestError) as caught:
        load_case(path)
    message = str(caught.value)
    for line in message.splitlines():
        assert line.startswith(f"{path}: "), line  # every problem names the file
    return message


def _file_error(path: Path, text: str | bytes) -> str:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(ManifestError) as caught:
        load_case(path)
    assert str(path) in str(caught.value)
    return str(caught.value)


def test_base_manifest_is_valid(tmp_path: Path) -> None:
    _tree(tmp_path)
    path = tmp_path / "case.yaml"
    path.write_text(yaml.safe_dump(_BASE), encoding="utf-8")
    assert load_case(path).time_point("fu1").image("pet_sstr").path == tmp_path / "fu1" / "pet.nii.gz"


# --- the file itself ---------------------------------------------------------------------------


def test_manifest_file_missing(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match=r"nope\.yaml: case manifest not found"):
        load_case(tmp_path / "nope.yaml")


def test_manifest_is_a_folder(tmp_path: Path) -> None:
    (tmp_path / "case.yaml").mkdir()
    with pytest.raises(ManifestError, match=r"case\.yaml: is a folder"):
        load_case(tmp_path / "case.yaml")


def test_unsupported_manifest_suffix(tmp_path: Path) -> None:
    message = _file_error(tmp_path / "case.toml", "nelm_manifest = 1")
    assert "unknown file type '.toml' for a case manifest" in message


def test_yaml_syntax_error_gives_line(tmp_path: Path) -> None:
    text = "nelm_manifest: 1\ncase_id: c1\ntime_points: [\n  {id: t0\n"
    message = _file_error(tmp_path / "case.yaml", text)
    assert "invalid YAML" in message
    assert "line 5" in message  # the flow sequence is still open at the end (line 5)


def test_yaml_bad_indentation_gives_line(tmp_path: Path) -> None:
    text = "nelm_manifest: 1\ncase_id: c1\npatient:\n  sex: F\n weight: 72 kg\n"
    message = _file_error(tmp_path / "case.yaml", text)
    assert "line 5, column 2" in message


def test_json_syntax_error_gives_line(tmp_path: Path) -> None:
    text = '{\n  "nelm_manifest": 1,\n  "case_id": "c1",\n}\n'
    message = _file_error(tmp_path / "case.json", text)
    assert "line 4, column 1: invalid JSON" in message


def test_duplicate_yaml_key(tmp_path: Path) -> None:
    text = "nelm_manifest: 1\ncase_id: c1\ncase_id: c2\n"
    message = _file_error(tmp_path / "case.yaml", text)
    assert "duplicate key 'case_id' (first given on line 2)" in message
    assert "line 3" in message


def test_duplicate_json_key(tmp_path: Path) -> None:
    message = _file_error(tmp_path / "case.json", '{"nelm_manifest": 1, "case_id": "a", "case_id": "b"}')
    assert "duplicate key 'case_id'" in message


def test_empty_file(tmp_path: Path) -> None:
    assert "the file is empty" in _file_error(tmp_path / "case.yaml", "  \n\n")


def test_comments_only_file(tmp_path: Path) -> None:
    assert "holds no data" in _file_error(tmp_path / "case.yaml", "# nothing yet\n")


def test_top_level_list(tmp_path: Path) -> None:
    message = _file_error(tmp_path / "case.yaml", "- nelm_manifest: 1\n- case_id: c1\n")
    assert "the top level must be a mapping" in message
    assert "got a list" in message


def test_not_utf8(tmp_path: Path) -> None:
    message = _file_error(tmp_path / "case.yaml", "case_id: café\n".encode("latin-1"))
    assert "not UTF-8" in message


# --- schema version ------------------------------------------------------------------------


def test_wrong_schema_version(tmp_path: Path) -> None:
    message = _error(tmp_path, lambda d: d.update(nelm_manifest=2))
    assert "nelm_manifest: schema version 2 is not supported; this nelm reads versions: 1" in message


def test_missing_schema_version(tmp_path: Path) -> None:
    message = _error(tmp_path, lambda d: d.pop("nelm_manifest"))
    assert "nelm_manifest: required; add 'nelm_manifest: 1'" in message


def test_schema_version_true_is_not_1(tmp_path: Path) -> None:
    assert "schema version True" in _error(tmp_path, lambda d: d.update(nelm_manifest=True))


# --- referenced files --------------------------------------------------------------------------


def test_missing_image_folder(tmp_path: Path) -> None:
    message = _error(tmp_path, lambda d: d["time_points"][1]["images"].update(ct_portal="fu1/ct_portl"))
    assert "time_points[1].images.ct_portal: image 'fu1/ct_portl' resolves to" in message
    assert str(tmp_path / "fu1" / "ct_portl") in message
    assert "does not exist" in message


def test_missing_mask_file(tmp_path: Path) -> None:
    message = _error(
        tmp_path, lambda d: d["time_points"][0]["masks"]["liver"].update(path="baseline/lvr.nii.gz")
    )
    assert "time_points[0].masks.liver.path: mask 'baseline/lvr.nii.gz' resolves to" in message
    assert str(tmp_path / "baseline" / "lvr.nii.gz") in message


def test_unknown_image_file_type(tmp_path: Path) -> None:
    def change(d: dict[str, Any]) -> None:
        (tmp_path / "fu1" / "pet.mha").write_bytes(b"\0" * 200)
        d["time_points"][1]["images"]["pet_sstr"] = "fu1/pet.mha"

    message = _error(tmp_path, change)
    assert "time_points[1].images.pet_sstr: image 'fu1/pet.mha': unknown file type" in message


def test_invalid_series_uid(tmp_path: Path) -> None:
    change = {"path": "baseline/ct_portal", "series_uid": "1.2.abc"}
    message = _error(tmp_path, lambda d: d["time_points"][0]["images"].update(ct_portal=change))
    assert "time_points[0].images.ct_portal.series_uid: '1.2.abc' is not a DICOM UID" in message


def test_series_uid_on_nifti(tmp_path: Path) -> None:
    change = {"path": "fu1/pet.nii.gz", "series_uid": "1.2.3"}
    message = _error(tmp_path, lambda d: d["time_points"][1]["images"].update(pet_sstr=change))
    assert "time_points[1].images.pet_sstr.series_uid: a series UID applies only to DICOM" in message


# --- units ----------------------------------------------------------------------------------


def test_bare_number_activity(tmp_path: Path) -> None:
    message = _error(tmp_path, lambda d: d["treatments"][0].update(activity=2.1))
    assert "treatments[0].activity: bare number 2.1 has no unit; write '2.1 GBq'" in message


def test_bare_number_text_weight(tmp_path: Path) -> None:
    message = _error(tmp_path, lambda d: d["patient"].update(weight="72"))
    assert "patient.weight: bare number 72 has no unit; write '72 kg'" in message


def test_unknown_unit(tmp_path: Path) -> None:
    message = _error(tmp_path, lambda d: d["treatments"][0].update(activity="2.1 GBqs"))
    assert "treatments[0].activity: unknown unit 'GBqs'" in message


def test_wrong_dimension_unit(tmp_path: Path) -> None:
    message = _error(tmp_path, lambda d: d["patient"].update(height="72 kg"))
    assert "patient.height: '72 kg' is a mass" in message


def test_negative_activity(tmp_path: Path) -> None:
    message = _error(tmp_path, lambda d: d["treatments"][0].update(activity="-2.1 GBq"))
    assert "treatments[0].activity: '-2.1 GBq' is negative" in message


def test_zero_activity(tmp_path: Path) -> None:
    message = _error(tmp_path, lambda d: d["treatments"][0].update(activity="0 MBq"))
    assert "treatments[0].activity: '0 MBq' is zero" in message


def test_canonical_name_is_not_a_manifest_key(tmp_path: Path) -> None:
    def change(d: dict[str, Any]) -> None:
        d["patient"].pop("weight")
        d["patient"]["weight_kg"] = 72

    message = _error(tmp_path, change)
    assert "patient.weight_kg: unknown key; known: name, id, birth_date, sex, weight, height" in message


# --- dates and time points ----------------------------------------------------------------------


def test_naive_datetime(tmp_path: Path) -> None:
    message = _error(tmp_path, lambda d: d["time_points"][1].update(date=dt.datetime(2026, 4, 20, 9, 0)))
    assert "time_points[1].date: date-time 2026-04-20T09:00:00 has no UTC offset" in message
    assert "add a UTC offset, e.g. 2026-04-20T09:00:00+01:00" in message


def test_unreadable_date_text(tmp_path: Path) -> None:
    message = _error(tmp_path, lambda d: d["treatments"][0].update(date="16.02.2026"))
    assert "treatments[0].date: cannot read '16.02.2026' as a date (YYYY-MM-DD)" in message


def test_birth_date_with_time(tmp_path: Path) -> None:
    message = _error(tmp_path, lambda d: d["patient"].update(birth_date="1961-04-12T10:00:00+01:00"))
    assert "patient.birth_date: 1961-04-12T10:00:00+01:00 has a time of day" in message


def test_follow_up_before_baseline_names_both_dates(tmp_path: Path) -> None:
    message = _error(tmp_path, lambda d: d["time_points"][1].update(date=dt.date(2025, 12, 1)))
    assert (
        "time_points[1].date: follow-up 'fu1' dated 2025-12-01 is before the baseline 'baseline' "
        "dated 2026-01-12" in message
    )


def test_two_baselines(tmp_path: Path) -> None:
    message = _error(tmp_path, lambda d: d["time_points"][1].update(kind="baseline"))
    assert (
        "time_points[1].kind: second baseline 'fu1': time_points[0] ('baseline') is already the baseline"
        in message
    )


def test_no_baseline(tmp_path: Path) -> None:
    message = _error(tmp_path, lambda d: d["time_points"][0].update(kind="planning"))
    assert "time_points: no time point has kind 'baseline'" in message


def test_no_time_points(tmp_path: Path) -> None:
    message = _error(tmp_path, lambda d: d.update(time_points=[]))
    assert "time_points: needs at least 1 entry" in message


def test_duplicate_time_point_ids(tmp_path: Path) -> None:
    message = _error(tmp_path, lambda d: d["time_points"][1].update(id="baseline"))
    assert "time_points[1].id: duplicate time point id 'baseline' (also time_points[0])" in message


def test_id_given_as_number(tmp_path: Path) -> None:
    message = _error(tmp_path, lambda d: d["time_points"][1].update(id=1))
    assert "time_points[1].id: expected text, got int 1; put it in quotes" in message


# --- unknown keys and roles -----------------------------------------------------------------


def test_unknown_key_typo(tmp_path: Path) -> None:
    message = _error(tmp_path, lambda d: d["time_points"][0].update(maks={}))
    assert (
        "time_points[0].maks: unknown key; did you mean 'masks'? known: id, date, kind, images, masks"
        in message
    )


def test_unknown_top_level_key(tmp_path: Path) -> None:
    message = _error(tmp_path, lambda d: d.update(treatment=[]))
    assert "treatment: unknown key; did you mean 'treatments'?" in message


def test_unknown_image_role(tmp_path: Path) -> None:
    message = _error(tmp_path, lambda d: d["time_points"][1]["images"].update(ct_portl="fu1/ct_portal"))
    assert (
        "time_points[1].images.ct_portl: unknown image role; did you mean 'ct_portal'? known: ct_unenhanced"
        in message
    )
    assert "spect_y90" in message


def test_unknown_mask_role(tmp_path: Path) -> None:
    message = _error(tmp_path, lambda d: d["time_points"][0]["masks"].update(tumour="baseline/liver.nii.gz"))
    assert "time_points[0].masks.tumour: unknown mask role; known: liver, lesions, segments" in message


def test_derived_format_key_is_not_a_manifest_key(tmp_path: Path) -> None:
    message = _error(tmp_path, lambda d: d["time_points"][0]["masks"]["liver"].update(format="nifti"))
    assert "time_points[0].masks.liver.format: unknown key; known: path, image" in message


def test_mask_refers_to_absent_image_role(tmp_path: Path) -> None:
    message = _error(tmp_path, lambda d: d["time_points"][0]["masks"]["liver"].update(image="ct_arterial"))
    assert "time_points[0].masks.liver.image: refers to image role 'ct_arterial'" in message
    assert "images present: ct_portal" in message


# --- treatments and clinical values -----------------------------------------------------------


def test_tare_without_activity(tmp_path: Path) -> None:
    message = _error(tmp_path, lambda d: d["treatments"][0].pop("activity"))
    assert "treatments[0].activity: required for a tare treatment" in message


def test_prrt_without_activity(tmp_path: Path) -> None:
    message = _error(tmp_path, lambda d: d["treatments"].append({"type": "prrt", "date": "2026-06-01"}))
    assert "treatments[1].activity: required for a prrt treatment" in message


def test_tare_device_not_glass_or_resin(tmp_path: Path) -> None:
    message = _error(tmp_path, lambda d: d["treatments"][0].update(device="glas"))
    assert "treatments[0].device: 'glas' is not a Y-90 device; use glass or resin" in message


def test_unknown_treatment_type(tmp_path: Path) -> None:
    message = _error(tmp_path, lambda d: d["treatments"][0].update(type="sirt"))
    assert "treatments[0].type: 'sirt' is not allowed; use one of 'ablation'" in message


def test_segment_target_outside_couinaud(tmp_path: Path) -> None:
    message = _error(tmp_path, lambda d: d["treatments"][0].update(target="segment_9"))
    assert "treatments[0].target: 'segment_9' is not a Couinaud segment" in message


def test_sex_not_m_f_o(tmp_path: Path) -> None:
    message = _error(tmp_path, lambda d: d["patient"].update(sex="female"))
    assert "patient.sex: 'female' is not allowed; use one of 'M', 'F' or 'O'" in message


def test_ki67_above_100(tmp_path: Path) -> None:
    message = _error(tmp_path, lambda d: d["clinical"].update(ki67_percent=120.0))
    assert "clinical.ki67_percent: 120.0 is out of range; it must be <= 100" in message


def test_ecog_above_4(tmp_path: Path) -> None:
    message = _error(tmp_path, lambda d: d["clinical"].update(ecog=5))
    assert "clinical.ecog: 5 is out of range; it must be <= 4" in message


def test_ecog_not_whole(tmp_path: Path) -> None:
    message = _error(tmp_path, lambda d: d["clinical"].update(ecog=1.5))
    assert "clinical.ecog: expected a whole number, got 1.5" in message


@pytest.mark.parametrize(
    "field", ["bilirubin_mg_dl", "leukocytes_10e9_l", "granulocytes_10e9_l", "ldh_u_l", "ast_u_l"]
)
def test_negative_lab_value(tmp_path: Path, field: str) -> None:
    message = _error(tmp_path, lambda d: d["clinical"].update({field: -0.7}))
    assert f"clinical.{field}: -0.7 is out of range; it must be >= 0" in message


def test_boolean_given_as_text(tmp_path: Path) -> None:
    message = _error(tmp_path, lambda d: d["clinical"].update(ascites="maybe"))
    assert "clinical.ascites: expected true or false, got 'maybe'" in message


# --- several problems at once ------------------------------------------------------------------


def test_every_problem_in_one_error(tmp_path: Path) -> None:
    def change(d: dict[str, Any]) -> None:
        d["patient"]["weight"] = 72
        d["time_points"][1]["images"]["ct_portl"] = "fu1/ct_portal"
        d["treatments"][0]["activity"] = 2.1

    _tree(tmp_path)
    data = copy.deepcopy(_BASE)
    change(data)
    path = tmp_path / "case.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ManifestValidationError) as caught:
        load_case(path)
    assert isinstance(caught.value, InputError)  # the CLI exits 2 for it
    fields = sorted(line.split(": ")[1] for line in caught.value.problems)
    assert fields == ["patient.weight", "time_points[1].images.ct_portl", "treatments[0].activity"]
