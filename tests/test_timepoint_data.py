"""Loading a time point's images and masks, with label selection from multi-label files."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from nelm.case import load_case
from nelm.errors import ManifestError, MaskError
from nelm.imaging import Geometry, Label, LabelMap, ValueUnit, Volume
from nelm.imaging.nifti import write_labelmap, write_nifti
from nelm.timepoint_data import load_time_point


def _files(tmp_path: Path) -> None:
    g = Geometry.from_spacing((4, 6, 6), (2.0, 1.0, 1.0))
    write_nifti(
        Volume(np.zeros(g.shape, np.int16), g, "CT", ValueUnit.HU, datetime(2026, 1, 1, tzinfo=UTC)),
        tmp_path / "ct.nii.gz",
    )
    arr = np.zeros(g.shape, np.uint8)
    arr[:, :3] = 5  # liver
    arr[:, 3:] = 1  # spleen
    arr[1, 1, 1] = 2  # a lesion inside the liver
    labels = {1: Label(1, "spleen"), 2: Label(2, "tumour"), 5: Label(5, "liver")}
    write_labelmap(LabelMap(arr, g, labels), tmp_path / "seg.nii.gz")


def _manifest(tmp_path: Path, masks: str) -> Path:
    p = tmp_path / "case.yaml"
    p.write_text(
        "nelm_manifest: 1\ncase_id: T\ntime_points:\n  - id: b\n    date: 2026-01-01\n    kind: baseline\n"
        f"    images: {{ct_portal: ct.nii.gz}}\n    masks: {masks}\n"
    )
    return p


def test_labels_select_part_of_a_multilabel_file(tmp_path: Path) -> None:
    _files(tmp_path)
    case = load_case(
        _manifest(
            tmp_path,
            "{liver: {path: seg.nii.gz, labels: [5, 2], image: ct_portal}, "
            "spleen: {path: seg.nii.gz, labels: [1]}}",
        )
    )
    data = load_time_point(case.baseline)
    assert data.masks["liver"].voxel_count(5) + data.masks["liver"].voxel_count(2) == 4 * 3 * 6
    assert sorted(data.masks["liver"].labels) == [2, 5]
    assert data.masks["spleen"].voxel_count(1) == 4 * 3 * 6 - 0
    assert data.mask_image == {"liver": "ct_portal"}


def test_labels_absent_from_the_file(tmp_path: Path) -> None:
    _files(tmp_path)
    case = load_case(_manifest(tmp_path, "{liver: {path: seg.nii.gz, labels: [7]}}"))
    with pytest.raises(MaskError, match=r"labels \[7\].*holds \[1, 2, 5\]"):
        load_time_point(case.baseline)


@pytest.mark.parametrize("labels", ["[0]", "[]", "[3, 3]"])
def test_invalid_label_lists(tmp_path: Path, labels: str) -> None:
    _files(tmp_path)
    with pytest.raises(ManifestError, match=r"masks\.liver\.labels"):
        load_case(_manifest(tmp_path, f"{{liver: {{path: seg.nii.gz, labels: {labels}}}}}"))


def test_empty_organ_mask_is_refused_but_empty_lesions_are_not(tmp_path: Path) -> None:
    _files(tmp_path)
    g = Geometry.from_spacing((4, 6, 6), (2.0, 1.0, 1.0))
    write_labelmap(LabelMap(np.zeros(g.shape, np.uint8), g, {}), tmp_path / "empty.nii.gz")
    ok = load_case(_manifest(tmp_path, "{lesions: empty.nii.gz}"))
    assert load_time_point(ok.baseline).masks["lesions"].array.sum() == 0
    bad = load_case(_manifest(tmp_path, "{liver: empty.nii.gz}"))
    with pytest.raises(MaskError, match="empty"):
        load_time_point(bad.baseline)
