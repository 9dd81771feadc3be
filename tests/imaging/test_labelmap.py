"""LabelMap validation, access and nearest-neighbour resampling."""

from __future__ import annotations

import numpy as np
import pytest

from nelm.errors import GeometryError, MaskError
from nelm.imaging import Geometry, Label, LabelMap


def test_validation() -> None:
    g = Geometry.from_spacing((2, 2, 2), (1, 1, 1))
    with pytest.raises(MaskError, match=r"values \[3\] that no label names"):
        LabelMap(np.full(g.shape, 3, np.uint8), g, {})
    with pytest.raises(MaskError, match="non-integer"):
        LabelMap(np.full(g.shape, 0.5), g, {})
    with pytest.raises(GeometryError):
        LabelMap(np.zeros((2, 2, 3), np.uint8), g, {})
    with pytest.raises(MaskError):
        Label(0, "background")
    with pytest.raises(MaskError, match="no label 'spleen'"):
        LabelMap.from_binary(np.ones(g.shape, bool), g, "liver").label("spleen")
    with pytest.raises(MaskError, match="other than 0 and 1"):
        LabelMap.from_binary(np.full(g.shape, 2), g, "liver")


def test_resample_keeps_labels_and_volume() -> None:
    # A 10 mm cube on a 1 mm grid resampled to a 2 mm grid aligned on voxel corners keeps its
    # volume exactly (every 2 mm voxel centre falls inside or outside the cube unambiguously).
    fine = Geometry.from_spacing((20, 20, 20), (1.0, 1.0, 1.0))
    arr = np.zeros(fine.shape, np.uint8)
    arr[4:14, 4:14, 4:14] = 7
    lm = LabelMap(arr, fine, {7: Label(7, "lesion L7", "L7")})
    coarse = Geometry.from_spacing((10, 10, 10), (2.0, 2.0, 2.0), (0.5, 0.5, 0.5))
    out = lm.resample_to(coarse)
    assert set(np.unique(out.array)) == {0, 7}
    assert out.volume_ml("lesion L7") == pytest.approx(1.0)
    assert out.label(7).tracking_id == "L7"


def test_subset() -> None:
    g = Geometry.from_spacing((1, 1, 3), (1, 1, 1))
    lm = LabelMap(np.array([[[1, 2, 3]]], np.uint8), g, {i: Label(i, f"s{i}") for i in (1, 2, 3)})
    sub = lm.subset([1, "s3"])
    np.testing.assert_array_equal(sub.array, [[[1, 0, 3]]])
    assert list(sub.labels) == [1, 3]
