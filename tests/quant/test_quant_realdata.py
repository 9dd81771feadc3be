"""`nelm quantify` on cases built from the real data in ../shared/data (see its README).

* TotalSegmentator example (Wasserthal et al., Radiol AI 2023; CC BY 4.0): the liver of
  ``example_seg`` (label 5, 38,634 voxels of 27 mm³ = 1.0431 L) on ``example_ct_sm``; no lesion.
* LiTS case 117 crop (Bilic et al., Med Image Anal 2023; CC BY-NC-SA 4.0, tests only): liver
  label 1 (485,268 voxels) and tumour label 2 (130,083 voxels) at a 1 mm placeholder spacing, so
  the hepatic tumour burden is 130,083 / 615,351 = 21.14 % (category 11–25 %).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from nelm.cli.main import main
from nelm.imaging import LabelMap
from nelm.imaging.nifti import read_labelmap, write_labelmap


def _case(tmp_path: Path, ct: Path, masks: dict[str, dict[str, object]]) -> Path:
    lines = [
        "nelm_manifest: 1",
        "case_id: REAL",
        "time_points:",
        "  - id: scan",
        "    date: 2026-01-01",
        "    kind: baseline",
        f"    images: {{ct_portal: {ct}}}",
        "    masks:",
    ]
    for role, ref in masks.items():
        lines.append(f"      {role}: {json.dumps(ref)}")
    p = tmp_path / "case.yaml"
    p.write_text("\n".join(lines) + "\n")
    return p


@pytest.mark.realdata
def test_totalsegmentator_liver_without_lesions(
    data_file: Callable[[str], Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ct = data_file("ct/totalsegmentator/example_ct_sm.nii.gz")
    seg = data_file("ct/totalsegmentator/example_seg.nii.gz")
    liver = read_labelmap(seg).subset([5])
    empty = LabelMap(np.zeros_like(liver.array), liver.geometry, {})
    none = write_labelmap(empty, tmp_path / "no_lesions.nii.gz")
    case = _case(
        tmp_path,
        ct,
        {
            "liver": {"path": str(seg), "labels": [5], "image": "ct_portal"},
            "spleen": {"path": str(seg), "labels": [1], "image": "ct_portal"},
            "lesions": {"path": str(none), "image": "ct_portal"},
        },
    )
    out = tmp_path / "q.json"
    assert main(["quantify", str(case), "--json", str(out)]) == 0
    q = json.loads(out.read_text())["time_points"][0]
    assert q["patient"]["liver_volume_ml"] == pytest.approx(38_634 * 27 / 1000)
    assert q["patient"]["lesion_count"] == 0
    assert q["patient"]["hepatic_tumour_burden_percent"] == 0.0
    assert q["patient"]["burden_category"] == "<=10%"
    # The reference parenchyma of this portal-venous-like CT is soft tissue.
    assert 20 < q["reference"]["phase_means"]["ct_portal"] < 200


@pytest.mark.realdata
def test_lits_burden_and_lesion_count(data_file: Callable[[str], Path], tmp_path: Path) -> None:
    ct = data_file("ct/lits117/lits117_crop128_ct.nii.gz")
    label = data_file("ct/lits117/lits117_crop128_label.nii.gz")
    case = _case(
        tmp_path,
        ct,
        {
            "liver": {"path": str(label), "labels": [1, 2], "image": "ct_portal"},
            "lesions": {"path": str(label), "labels": [2], "image": "ct_portal"},
        },
    )
    out = tmp_path / "q.json"
    assert main(["quantify", str(case), "--json", str(out)]) == 0
    p = json.loads(out.read_text())["time_points"][0]["patient"]
    assert p["liver_volume_ml"] == pytest.approx((485_268 + 130_083) / 1000)
    assert p["hepatic_tumour_burden_percent"] == pytest.approx(100 * 130_083 / 615_351)
    assert p["burden_category"] == "11-25%"
    # Independent count: SimpleITK's fully connected (26-neighbour) components of label 2 that
    # hold at least the default minimum lesion volume (a 5 mm sphere, 65.4 voxels of 1 mm³).
    import SimpleITK as sitk  # noqa: N813 - the library's own idiom

    arr = (read_labelmap(label).array == 2).astype(np.uint8)
    cc = sitk.GetArrayFromImage(sitk.ConnectedComponent(sitk.GetImageFromArray(arr), True))
    sizes = np.bincount(cc.ravel())[1:]
    expected = int(np.count_nonzero(sizes >= np.pi / 6 * 5**3))
    assert p["lesion_count"] == expected
