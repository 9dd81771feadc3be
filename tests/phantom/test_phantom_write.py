"""Writing the synthetic patient: manifest, truth, images and masks; determinism."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from nelm.case import load_case
from nelm.errors import InputError
from nelm.imaging import ValueUnit
from nelm.imaging.nifti import read_labelmap, read_nifti
from nelm.phantom import (
    AcquisitionConfig,
    FollowUpConfig,
    PhantomConfig,
    PhantomTruth,
    SyntheticPatient,
    generate_patient,
    write_patient,
)

_SMALL = AcquisitionConfig(ct_spacing_mm=(4.0, 3.0, 3.0), lowdose_ct_spacing_mm=(6.0, 4.0, 4.0))


def _small(seed: int = 3, **kw: object) -> PhantomConfig:
    base: dict[str, object] = {
        "seed": seed,
        "n_lesions": 5,
        "acquisition": _SMALL,
        "follow_ups": (FollowUpConfig(days_after_treatment=90.0, new_lesions=1),),
    }
    base.update(kw)
    return PhantomConfig(**base)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def small() -> SyntheticPatient:
    return generate_patient(_small())


@pytest.fixture(scope="module")
def written(small: SyntheticPatient, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_patient(small, tmp_path_factory.mktemp("phantom") / "case")


def test_manifest_validates_and_every_path_exists(written: Path) -> None:
    assert written.name == "case.yaml"
    case = load_case(written)
    assert case.case_id == "NELM-PHANTOM-0003"
    assert [tp.id for tp in case.time_points] == ["baseline", "maa", "y90", "fu1"]
    doc = yaml.safe_load(written.read_text(encoding="utf-8"))
    for tp in doc["time_points"]:
        for ref in tp.get("images", {}).values():
            assert (written.parent / (ref if isinstance(ref, str) else ref["path"])).exists()
        for ref in tp.get("masks", {}).values():
            assert (written.parent / ref["path"]).exists()
            assert ref["image"] in tp["images"]
    assert doc["treatments"][0]["type"] == "tare"
    assert doc["treatments"][0]["activity"] == "2.5 GBq"
    assert doc["patient"]["name"] == "Phantom^Synthetic"


def test_dicom_series_and_nifti_written(written: Path) -> None:
    root = written.parent
    assert len(list((root / "baseline" / "ct_portal").glob("*.dcm"))) > 10
    assert len(list((root / "maa" / "spect_maa").glob("*.dcm"))) == 1  # NM multi-frame
    assert (root / "maa" / "planar_maa.dcm").is_file()
    assert (root / "baseline" / "ct_portal.nii.gz").is_file()
    assert len(list((root / "baseline" / "mr_hbp").glob("MR_*.dcm"))) > 10  # MR Image Storage
    assert (root / "baseline" / "mr_hbp.nii.gz").is_file()
    doc = yaml.safe_load(written.read_text(encoding="utf-8"))
    assert doc["time_points"][0]["images"]["mr_hbp"] == "baseline/mr_hbp"  # the DICOM folder


def test_truth_json_parses(written: Path, small: SyntheticPatient) -> None:
    text = (written.parent / "truth.json").read_text(encoding="utf-8")
    doc = json.loads(text)
    assert doc["nelm_truth"] == 1
    truth = PhantomTruth.model_validate_json(text)
    assert truth == small.truth
    assert truth.time_point("fu1").lesions[-1].status == "new"


def test_written_masks_and_images_read_back(written: Path, small: SyntheticPatient) -> None:
    root = written.parent
    lm = read_labelmap(root / "baseline" / "masks" / "ct_portal" / "lesions.nii.gz")
    original = small.mask("baseline", "lesions")
    assert np.array_equal(lm.array, original.array)
    assert lm.geometry.same_as(original.geometry)
    assert {v: lab.tracking_id for v, lab in lm.labels.items()} == {
        v: lab.tracking_id for v, lab in original.labels.items()
    }
    ct = read_nifti(root / "baseline" / "ct_arterial.nii.gz")
    assert np.array_equal(ct.array, small.image("baseline", "ct_arterial").array)
    assert ct.modality == "CT"


def test_nifti_only_manifest_points_to_nifti(small: SyntheticPatient, tmp_path: Path) -> None:
    manifest = write_patient(small, tmp_path, formats=("nifti",))
    case = load_case(manifest)
    assert case.time_points[0].images
    doc = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    assert doc["time_points"][0]["images"]["ct_portal"] == "baseline/ct_portal.nii.gz"
    assert not (tmp_path / "baseline" / "ct_portal").exists()


def test_unknown_format_is_rejected(small: SyntheticPatient, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="formats"):
        write_patient(small, tmp_path, formats=("png",))


def test_same_seed_gives_identical_arrays_and_truth(small: SyntheticPatient) -> None:
    again = generate_patient(_small())
    assert again.truth.model_dump_json() == small.truth.model_dump_json()
    for tp_a, tp_b in zip(small.time_points, again.time_points, strict=True):
        for role in tp_a.images:
            assert np.array_equal(tp_a.images[role].array, tp_b.images[role].array), (tp_a.id, role)
    other = generate_patient(_small(seed=4))
    assert other.truth.time_point("baseline").lesions != small.truth.time_point("baseline").lesions
    assert not np.array_equal(
        other.image("baseline", "ct_portal").array, small.image("baseline", "ct_portal").array
    )


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    config = _small(seed=7, tare=None, follow_ups=(), include_mri=False, include_pet=False)
    a = write_patient(generate_patient(config), tmp_path / "a", formats=("nifti",)).parent
    b = write_patient(generate_patient(config), tmp_path / "b", formats=("nifti",)).parent
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert any(str(f).endswith(".nii.gz") for f in files)
    for f in files:
        assert (a / f).read_bytes() == (b / f).read_bytes(), f


def test_dicom_round_trip_through_the_project_loader(written: Path, small: SyntheticPatient) -> None:
    """The manifest's DICOM series load back on the same grid with the same values."""
    from nelm.imaging.load import load_image, load_planar

    case = load_case(written)
    base = case.time_points[0]
    ct = load_image(base.image("ct_portal").path, role="ct_portal")
    original = small.image("baseline", "ct_portal")
    assert ct.geometry.same_as(original.geometry)
    assert np.array_equal(ct.array, original.array)
    assert ct.metadata.series_instance_uid == original.metadata.series_instance_uid
    pet = load_image(base.image("pet_sstr").path, role="pet_sstr")
    ref = small.image("baseline", "pet_sstr").array
    assert pet.geometry.same_as(small.image("baseline", "pet_sstr").geometry)
    # PET is stored as int16 with a per-slice slope max|v|/32760: error ≤ slope / 2.
    slope = np.abs(ref).max(axis=(1, 2), keepdims=True) / 32760.0
    assert np.all(np.abs(pet.array - ref) <= slope / 2 + 1e-6 * np.abs(ref))
    mr = load_image(base.image("mr_hbp").path, role="mr_hbp")
    ref = small.image("baseline", "mr_hbp").array
    assert (mr.modality, mr.units) == ("MR", ValueUnit.ARBITRARY)
    assert mr.geometry.same_as(small.image("baseline", "mr_hbp").geometry)
    # MR signal (>= 0) is stored as uint16 with one Real World Value slope max/65535: error <= slope / 2.
    assert ref.min() >= 0
    slope = ref.max() / 65535.0
    assert np.all(np.abs(mr.array - ref) <= slope / 2 + 2**-23 * np.abs(ref))
    views = load_planar(written.parent / "maa" / "planar_maa.dcm")
    for name, view in small.time_point("maa").planar["planar_maa"].items():
        assert np.array_equal(views[name].array, view.array)  # integer counts stored exactly
        assert views[name].geometry.same_as(view.geometry)
