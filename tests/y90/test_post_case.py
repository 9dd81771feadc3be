"""``nelm y90 dose`` on the synthetic patient's Y-90 PET against its prescribed truth."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from scipy import ndimage

from nelm.case import load_case
from nelm.cli.main import main
from nelm.errors import InputError
from nelm.imaging.nifti import read_nifti
from nelm.imaging.rtdose import read_rtdose
from nelm.phantom.truth import PhantomTruth
from nelm.y90.dosimetry import DoseMethod
from nelm.y90.post import dose_time_point

K = 49.67  # Gy·kg/GBq
RHO = 1.03  # g/mL


def _led_dose_gy(bq_per_ml_at_scan: float, elapsed_h: float) -> float:
    """Local deposition of a uniform concentration: K · C0 / ρ, decayed back to administration."""
    c0_gbq_per_ml = bq_per_ml_at_scan * 2 ** (elapsed_h / 64.1) * 1e-9
    return K * c0_gbq_per_ml / (RHO / 1000.0)


def test_pet_dose_matches_the_prescribed_truth(tare_case: tuple[Path, PhantomTruth]) -> None:
    case_path, truth = tare_case
    assert truth.pet_y90 is not None
    assert truth.tare is not None
    result = dose_time_point(load_case(case_path), "y90")
    # All activity in the field of view, decayed back: the administered 2.5 GBq (partial volume at
    # the field's edge aside).
    assert result.activity_in_image_gbq == pytest.approx(truth.tare.activity_gbq, rel=0.01)
    expected_normal = _led_dose_gy(truth.pet_y90.normal_liver_bq_per_ml, truth.pet_y90.elapsed_h)
    # The interior of the normal perfused liver (eroded 3 voxels, away from blur and lesions).
    interior = ndimage.binary_erosion(result_mask(result, "normal_liver"), iterations=3)
    dose = np.asarray(result.dose.dose_gy.array, dtype=np.float64)
    assert float(np.median(dose[interior])) == pytest.approx(expected_normal, rel=0.02)
    # Kernel convolution: the same interior dose (β range ≪ the erosion margin).
    kernel = dose_time_point(load_case(case_path), "y90", method=DoseMethod.KERNEL, compare_with_plan=False)
    kdose = np.asarray(kernel.dose.dose_gy.array, dtype=np.float64)
    assert float(np.median(kdose[interior])) == pytest.approx(expected_normal, rel=0.02)
    # Planned (MAA voxel plan at the same activity) against delivered: normal liver within 10 %.
    assert result.comparison is not None
    normal = result.comparison.structures["normal_liver"]
    assert normal.difference_percent is not None
    assert abs(normal.difference_percent) < 10.0


def result_mask(result: object, name: str) -> np.ndarray:
    from nelm.y90.post import PostTreatmentDosimetry

    assert isinstance(result, PostTreatmentDosimetry)
    return result.structure_masks[name]


def test_cli_dose_writes_nifti_rtdose_and_json(tmp_path: Path, tare_case: tuple[Path, PhantomTruth]) -> None:
    out = tmp_path / "dose"
    argv = ["y90", "dose", str(tare_case[0]), "--timepoint", "y90", "--out", str(out)]
    assert main([*argv, "--json", str(tmp_path / "d.json")]) == 0
    nifti = read_nifti(out / "y90_delivered_dose.nii.gz")
    rtdose = read_rtdose(out / "y90_delivered_dose.dcm")
    assert rtdose.same_grid(nifti)
    scale = float(np.max(nifti.array)) / 4_294_967_000
    assert np.max(np.abs(np.asarray(rtdose.array) - np.asarray(nifti.array, dtype=np.float64))) <= scale
    doc = json.loads((tmp_path / "d.json").read_text())
    assert doc["structures"]["tumour"]["metrics"]["D90"]["unit"] == "Gy"


def test_bad_dose_inputs(
    tmp_path: Path, tare_case: tuple[Path, PhantomTruth], capsys: pytest.CaptureFixture[str]
) -> None:
    case = load_case(tare_case[0])
    with pytest.raises(InputError, match="no pet_y90 or spect_y90"):
        dose_time_point(case, "maa")
    late = yaml.safe_load(tare_case[0].read_text())
    late["treatments"][0]["date"] = "2026-02-18T10:30:00+01:00"  # after the Y-90 PET
    late_path = tare_case[0].parent / "case_late.yaml"
    late_path.write_text(yaml.safe_dump(late), encoding="utf-8")
    with pytest.raises(InputError, match="no TARE treatment dated before time point 'y90'"):
        dose_time_point(load_case(late_path), "y90")
    # A treatment written as a date only cannot decay-correct the PET.
    doc = yaml.safe_load(tare_case[0].read_text())
    doc["treatments"][0]["date"] = "2026-02-16"
    moved = tare_case[0].parent / "case_date_only.yaml"
    moved.write_text(yaml.safe_dump(doc), encoding="utf-8")
    with pytest.raises(InputError, match=r"treatments\[0\]\.date 2026-02-16 has no time of day"):
        dose_time_point(load_case(moved), "y90")
    assert main(["y90", "dose", str(moved), "--timepoint", "y90"]) == 2
    assert "no time of day" in capsys.readouterr().err
