"""Dice and lesion-wise detection on shapes whose overlaps are counted by hand."""

from __future__ import annotations

import numpy as np
import pytest

from nelm.errors import ConfigError, GeometryError
from nelm.imaging import Geometry, Label, LabelMap
from nelm.segmentation.metrics import detection_rate, dice


def _grid(n: int = 20) -> Geometry:
    return Geometry.from_spacing((n, n, n), (1.0, 1.0, 1.0))


def test_dice_of_two_shifted_cubes_matches_hand_count() -> None:
    # Cube A: 10×10×10 = 1000 voxels; cube B the same shifted by 2 along one axis: the overlap
    # is 8×10×10 = 800, so Dice = 2·800 / 2000 = 0.8.
    a = np.zeros((20, 20, 20), bool)
    b = np.zeros_like(a)
    a[2:12, 2:12, 2:12] = True
    b[4:14, 2:12, 2:12] = True
    assert dice(a, b) == pytest.approx(0.8)
    assert dice(a, a) == 1.0
    assert dice(a, ~a) == 0.0


def test_dice_conventions_and_label_maps() -> None:
    g = _grid()
    empty = np.zeros(g.shape, bool)
    assert dice(empty, empty) == 1.0  # two empty masks agree (documented convention)
    arr = np.zeros(g.shape, np.uint8)
    arr[0:5, 0:5, 0:5] = 1
    arr[10:15, 10:15, 10:15] = 2  # every non-zero label counts as inside
    lm = LabelMap(arr, g, {1: Label(1, "a"), 2: Label(2, "b")})
    assert dice(lm, arr > 0) == 1.0


def test_dice_rejects_different_shapes() -> None:
    with pytest.raises(GeometryError, match="same shape"):
        dice(np.zeros((2, 2, 2)), np.zeros((2, 2, 3)))


def test_dice_rejects_label_maps_on_different_grids() -> None:
    a = LabelMap.from_binary(np.ones((4, 4, 4), bool), Geometry.from_spacing((4, 4, 4), (1, 1, 1)), "x")
    b = LabelMap.from_binary(np.ones((4, 4, 4), bool), Geometry.from_spacing((4, 4, 4), (2, 1, 1)), "x")
    with pytest.raises(GeometryError, match="different grid"):
        dice(a, b)


def _truth_and_found() -> tuple[LabelMap, LabelMap]:
    """Three 4×4×4 truth cubes (64 voxels) and three found regions.

    * found 1 covers truth L1 entirely → L1 detected;
    * found 2 covers 40 of the 64 voxels of L2 (62.5 % ≥ 50 %) → L2 detected;
    * L3 is covered by 16 voxels (25 %) of found 3 → L3 missed; found 3 has 16 of its 64 voxels
      in truth (25 % < 50 %) → false positive;
    * found 4 lies away from every truth lesion → false positive.
    """
    g = _grid()
    t = np.zeros(g.shape, np.uint8)
    t[0:4, 0:4, 0:4] = 1
    t[8:12, 0:4, 0:4] = 2
    t[0:4, 10:14, 10:14] = 3
    f = np.zeros(g.shape, np.uint8)
    f[0:4, 0:4, 0:4] = 1
    f[8:12, 0:4, 0:2] = 2  # 4·4·2 = 32 voxels inside L2 …
    f[8:10, 0:2, 2:4] = 2  # … + 2·2·2 = 8 more: 40 of 64
    f[3:7, 10:14, 10:14] = 3  # one slice (16 voxels) inside L3
    f[15:19, 15:19, 15:19] = 4
    truth = LabelMap(t, g, {v: Label(v, f"lesion L{v}", f"L{v}") for v in (1, 2, 3)})
    found = LabelMap(f, g, {v: Label(v, f"lesion F{v}", f"F{v}") for v in (1, 2, 3, 4)})
    return truth, found


def test_detection_counts_match_hand_analysis() -> None:
    truth, found = _truth_and_found()
    r = detection_rate(truth, found)
    assert (r.true_positives, r.false_negatives, r.false_positives) == (2, 1, 2)
    assert r.detected == ["L1", "L2"]
    assert r.missed == ["L3"]
    assert r.false_positive_ids == ["F3", "F4"]
    assert r.sensitivity == pytest.approx(2 / 3)
    assert r.n_truth == 3
    assert r.n_found == 4
    # A lower threshold (20 %) turns L3 into a detection and found 3 into a match.
    r20 = detection_rate(truth, found, min_overlap=0.2)
    assert (r20.true_positives, r20.false_negatives, r20.false_positives) == (3, 0, 1)
    assert r.model_dump()["criterion"].startswith("truth lesion detected")


def test_detection_by_components_and_minimum_size() -> None:
    truth, found = _truth_and_found()
    one_label = LabelMap.from_binary(truth.any_mask(), truth.geometry, "tumour")
    r = detection_rate(one_label, found, truth_units="components")
    assert (r.true_positives, r.false_negatives) == (2, 1)
    # Ignoring truth lesions below 0.1 mL (all of them: 64 voxels of 1 mm³ = 0.064 mL) leaves
    # nothing to detect; found 1 and 2, which cover them, are not false positives; found 3 (25 %
    # on truth) and found 4 still are.
    r_big = detection_rate(truth, found, min_truth_volume_ml=0.1)
    assert (r_big.n_truth, r_big.n_truth_ignored, r_big.true_positives) == (0, 3, 0)
    assert r_big.sensitivity is None
    assert r_big.false_positive_ids == ["F3", "F4"]


def test_detection_rejects_bad_settings() -> None:
    truth, found = _truth_and_found()
    with pytest.raises(ConfigError, match="min_overlap"):
        detection_rate(truth, found, min_overlap=0.0)
    with pytest.raises(ConfigError, match="min_truth_volume_ml"):
        detection_rate(truth, found, min_truth_volume_ml=-1.0)
    with pytest.raises(ConfigError, match="lesion units"):
        detection_rate(truth, found, truth_units="blobs")  # type: ignore[arg-type]


def test_detection_rejects_different_grids() -> None:
    truth, _ = _truth_and_found()
    other = LabelMap.from_binary(
        np.zeros((20, 20, 20), bool), Geometry.from_spacing((20, 20, 20), (2, 2, 2)), "x"
    )
    with pytest.raises(GeometryError, match="different grid"):
        detection_rate(truth, other)
