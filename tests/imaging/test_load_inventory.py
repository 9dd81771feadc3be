"""The one-way loaders (nelm.imaging.load) and the inventory behind `nelm info`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from nelm.errors import GeometryError, InputError, MaskError
from nelm.imaging import Geometry, LabelMap, SeriesMetadata, ValueUnit, Volume
from nelm.imaging.dicom_write import write_series
from nelm.imaging.inventory import inventory
from nelm.imaging.load import load_image, load_mask, modality_for_role
from nelm.imaging.nifti import write_labelmap, write_nifti


def _ct(shape: tuple[int, int, int] = (6, 32, 32)) -> Volume:
    g = Geometry.from_spacing(shape, (2.5, 1.0, 1.0), (-16.0, -16.0, 100.0))
    _z, y, x = np.indices(shape)
    arr = np.where((y - 16) ** 2 + (x - 16) ** 2 < 100, 60, -1000).astype(np.int16)
    meta = SeriesMetadata(
        series_description="test CT", study_instance_uid="1.2.3.4", series_instance_uid="1.2.3.4.5"
    )
    return Volume(arr, g, "CT", ValueUnit.HU, datetime(2026, 1, 5, 9, 0, tzinfo=UTC), meta)


def test_nifti_without_sidecar_takes_modality_from_role(tmp_path: Path) -> None:
    ct = _ct()
    p = write_nifti(ct, tmp_path / "ct.nii.gz")
    p.with_name("ct.json").unlink()
    assert load_image(p).modality == "OT"
    v = load_image(p, role="ct_portal")
    assert (v.modality, v.units) == ("CT", ValueUnit.HU)
    assert modality_for_role("pet_y90") == ("PT", ValueUnit.BQ_PER_ML)
    assert modality_for_role("spect_maa") == ("NM", ValueUnit.COUNTS)


def test_dicom_folder_and_nifti_load_to_the_same_grid(tmp_path: Path) -> None:
    ct = _ct()
    write_series(ct, tmp_path / "ct")
    write_nifti(ct, tmp_path / "ct.nii.gz")
    a, b = load_image(tmp_path / "ct"), load_image(tmp_path / "ct.nii.gz")
    assert a.geometry.same_as(b.geometry)
    np.testing.assert_array_equal(a.array, b.array)


def test_load_mask_checks_the_grid(tmp_path: Path) -> None:
    ct = _ct()
    liver = LabelMap.from_binary(ct.array > 0, ct.geometry, "liver")
    p = write_labelmap(liver, tmp_path / "liver.nii.gz")
    assert load_mask(p, reference=ct).voxel_count("liver") == int(np.count_nonzero(ct.array > 0))
    other = _ct((6, 32, 30))
    with pytest.raises(GeometryError, match=r"liver\.nii\.gz"):
        load_mask(p, reference=other)


def test_load_mask_bad_inputs(tmp_path: Path) -> None:
    write_series(_ct(), tmp_path / "ct")
    a_ct_file = sorted((tmp_path / "ct").iterdir())[0]
    with pytest.raises(MaskError, match="not a mask"):
        load_mask(a_ct_file)
    with pytest.raises(InputError, match="does not exist"):
        load_mask(tmp_path / "nothing.nii.gz")
    with pytest.raises(InputError, match="does not exist"):
        load_image(tmp_path / "nothing")


def test_inventory_lists_series_nifti_and_labels(tmp_path: Path) -> None:
    ct = _ct()
    write_series(ct, tmp_path / "dicom" / "ct")
    write_labelmap(
        LabelMap.from_binary(ct.array > 0, ct.geometry, "liver", tracking_id="LIV"), tmp_path / "liver.nii.gz"
    )
    (tmp_path / "notes.txt").write_text("not an image")
    items = inventory(tmp_path)
    kinds = sorted(i.kind for i in items)
    assert kinds == ["dicom-series", "nifti-labelmap"]
    series = next(i for i in items if i.kind == "dicom-series")
    assert series.details["modality"] == "CT"
    assert series.details["files"] == 6
    assert series.details["geometry"]["spacing_mm"] == pytest.approx([2.5, 1.0, 1.0])
    labels = next(i for i in items if i.kind == "nifti-labelmap").details["labels"]
    # The disc of radius 10 px (squared distance < 100) on 6 slices of 2.5 mm x 1 mm x 1 mm.
    n_disc = sum(1 for y in range(32) for x in range(32) if (y - 16) ** 2 + (x - 16) ** 2 < 100)
    assert labels[0]["volume_ml"] == pytest.approx(6 * n_disc * 2.5 / 1000)
    assert labels[0]["tracking_id"] == "LIV"
