"""Patient-level burden: exact categories, ETB, 1D/2D burden, distribution, per segment."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from nelm.errors import MaskError
from nelm.quant.burden import BurdenLesion, burden_category, liver_burden


def _liver_with_tumour(n_liver: int, n_tumour: int) -> tuple[np.ndarray, np.ndarray]:
    liver = np.zeros((1, 1, n_liver), bool)
    liver[:] = True
    tumour = np.zeros_like(liver)
    tumour[0, 0, :n_tumour] = True
    return liver, tumour


@pytest.mark.parametrize(
    ("n_tumour", "category"),
    [(100, "<=10%"), (101, "11-25%"), (250, "11-25%"), (251, "26-50%"), (500, "26-50%"), (501, ">50%")],
)
def test_category_boundaries_are_exact(n_tumour: int, category: str) -> None:
    # 1000 liver voxels: 250 tumour voxels is exactly 25 %, 251 is 25.1 %.
    liver, tumour = _liver_with_tumour(1000, n_tumour)
    b = liver_burden(liver, tumour, [BurdenLesion("L1", n_tumour, None, None, None, "right")], 0.001)
    assert b.burden_category == category
    assert b.hepatic_tumour_burden_percent == pytest.approx(n_tumour / 10)


def test_category_function_on_floating_trap() -> None:
    # 100*(25.2-21)/21 is 19.999... in floating point; as a Fraction it is exactly 20.
    assert Fraction(100) * (Fraction("25.2") - 21) / 21 == 20
    assert burden_category(Fraction(25)) == "11-25%"
    assert burden_category(Fraction(2501, 100)) == "26-50%"


def test_liver_volume_includes_lesions_and_etb() -> None:
    liver = np.zeros((2, 10, 10), bool)
    liver[:, :, :5] = True  # 100 voxels
    tumour = np.zeros_like(liver)
    tumour[:, :, 5:7] = True  # 40 voxels outside the liver mask (cut out of it)
    lesions = [
        BurdenLesion("L1", 30, 20, 12.0, 80.0, "right"),
        BurdenLesion("L2", 10, 5, 30.0, 300.0, "left"),
    ]
    b = liver_burden(liver, tumour, lesions, voxel_volume_ml=0.5)
    assert b.liver_volume_ml == pytest.approx(140 * 0.5)
    assert b.tumour_volume_ml == pytest.approx(40 * 0.5)
    assert b.hepatic_tumour_burden_percent == pytest.approx(100 * 40 / 140)
    assert b.enhancing_tumour_volume_ml == pytest.approx(25 * 0.5)
    assert b.enhancing_tumour_burden_percent == pytest.approx(100 * 25 / 140)
    assert b.distribution == "bilobar"
    assert b.dominant_lesion_id == "L1"
    # 1D/2D burden: up to the 3 lesions with the longest diameter: 30 + 12 mm, 300 + 80 mm².
    assert b.burden_1d_mm == pytest.approx(42.0)
    assert b.burden_2d_mm2 == pytest.approx(380.0)
    assert b.burden_1d_lesions == ("L2", "L1")


def test_three_largest_by_diameter_and_unilobar() -> None:
    liver, tumour = _liver_with_tumour(100, 4)
    lesions = [
        BurdenLesion(f"L{i}", 1, None, float(d), float(d * d), "right") for i, d in enumerate([5, 40, 20, 30])
    ]
    b = liver_burden(liver, tumour, lesions, 1.0)
    assert b.burden_1d_mm == pytest.approx(90.0)
    assert b.burden_1d_lesions == ("L1", "L3", "L2")
    assert b.distribution == "unilobar right"
    assert b.enhancing_tumour_volume_ml is None


def test_by_segment_and_lobe() -> None:
    segments = np.zeros((1, 1, 80), np.uint8)
    for s in range(1, 9):
        segments[0, 0, (s - 1) * 10 : s * 10] = s
    liver = segments > 0
    tumour = np.zeros_like(liver)
    tumour[0, 0, 40:45] = True  # half of segment 5
    tumour[0, 0, 10:12] = True  # 2 voxels of segment 2
    b = liver_burden(
        liver, tumour, [BurdenLesion("L1", 5, None, None, None, "right")], 1.0, segments=segments
    )
    assert b.by_segment is not None
    assert b.by_lobe is not None
    assert b.by_segment["5"].tumour_percent == pytest.approx(50.0)
    assert b.by_segment["2"].tumour_volume_ml == pytest.approx(2.0)
    assert b.by_lobe["right"].tumour_percent == pytest.approx(100 * 5 / 40)
    assert b.by_lobe["left"].tumour_percent == pytest.approx(100 * 2 / 30)
    assert b.by_lobe["caudate"].tumour_volume_ml == 0.0


def test_bad_inputs() -> None:
    with pytest.raises(MaskError, match="empty"):
        liver_burden(np.zeros((2, 2, 2), bool), np.zeros((2, 2, 2), bool), [], 1.0)
    with pytest.raises(MaskError, match="one grid"):
        liver_burden(np.ones((2, 2, 2), bool), np.zeros((2, 2, 3), bool), [], 1.0)
