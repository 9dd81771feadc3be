"""Geometry and Volume: coordinates, crop, resample, equality with tolerance."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nelm.errors import GeometryError, InputError
from nelm.imaging import Geometry, ValueUnit, Volume


def oblique_geometry() -> Geometry:
    # Rotation of 30 degrees about z applied to the axial directions.
    c, s = np.cos(np.pi / 6), np.sin(np.pi / 6)
    rot = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    d = rot @ np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    return Geometry.from_spacing((8, 10, 12), (3.0, 0.7, 0.9), (-10.0, 20.0, 5.0), d)


def test_index_world_round_trip_and_hand_computed_position() -> None:
    g = oblique_geometry()
    # Voxel (2, 3, 4): origin + 2*3 mm along z + 3*0.7 mm along rotated y + 4*0.9 mm along rotated x.
    c, s = np.cos(np.pi / 6), np.sin(np.pi / 6)
    expected = np.array([-10.0, 20.0, 5.0]) + 2 * 3.0 * np.array([0, 0, 1])
    expected = expected + 3 * 0.7 * np.array([-s, c, 0]) + 4 * 0.9 * np.array([c, s, 0])
    np.testing.assert_allclose(g.index_to_world([2, 3, 4]), expected, atol=1e-12)
    np.testing.assert_allclose(g.world_to_index(expected), [2, 3, 4], atol=1e-12)
    assert g.spacing_mm == pytest.approx((3.0, 0.7, 0.9))
    assert g.voxel_volume_ml == pytest.approx(3.0 * 0.7 * 0.9 / 1000)
    assert g.is_orthogonal


def test_orientation_code() -> None:
    g = Geometry.from_spacing((2, 2, 2), (1, 1, 1))
    assert g.orientation == "SPL"
    flipped = Geometry.from_spacing((2, 2, 2), (1, 1, 1), directions=-np.eye(3))
    assert flipped.orientation == "RAI"


def test_same_as_tolerance() -> None:
    g = Geometry.from_spacing((4, 5, 6), (2.0, 1.0, 1.0))
    near = Geometry.from_spacing((4, 5, 6), (2.0, 1.0, 1.0), (0.005, 0.0, 0.0))
    far = Geometry.from_spacing((4, 5, 6), (2.0, 1.0, 1.0), (0.5, 0.0, 0.0))
    assert g.same_as(near)
    assert not g.same_as(far)
    assert g.same_as(far, tolerance_mm=0.6)
    with pytest.raises(GeometryError, match=r"mask lesions\.nii\.gz is on a different grid than CT"):
        g.require_same(far, what="CT", other_what="mask lesions.nii.gz")


@pytest.mark.parametrize(
    ("shape", "affine"),
    [
        ((0, 2, 2), np.eye(4)),
        ((2, 2), np.eye(4)),
        ((2, 2, 2), np.eye(3)),
        ((2, 2, 2), np.diag([1.0, 1.0, 0.0, 1.0])),
        ((2, 2, 2), np.full((4, 4), np.nan)),
    ],
)
def test_invalid_geometries(shape: tuple[int, ...], affine: np.ndarray) -> None:
    with pytest.raises(GeometryError):
        Geometry(shape=shape, affine=affine)  # type: ignore[arg-type]


def test_volume_validation() -> None:
    g = Geometry.from_spacing((2, 3, 4), (1, 1, 1))
    with pytest.raises(GeometryError, match="does not match"):
        Volume(np.zeros((2, 3, 5)), g, "CT", ValueUnit.HU)
    with pytest.raises(InputError, match="modality"):
        Volume(np.zeros((2, 3, 4)), g, "XX", ValueUnit.HU)
    from datetime import datetime

    with pytest.raises(InputError, match="timezone"):
        Volume(np.zeros((2, 3, 4)), g, "CT", ValueUnit.HU, acquisition_datetime=datetime(2026, 1, 1))


def test_crop_keeps_world_positions() -> None:
    g = oblique_geometry()
    arr = np.arange(np.prod(g.shape), dtype=np.float32).reshape(g.shape)
    v = Volume(arr, g, "CT", ValueUnit.HU)
    c = v.crop((1, 2, 3), (5, 9, 10))
    assert c.shape == (4, 7, 7)
    assert c.array[0, 0, 0] == arr[1, 2, 3]
    np.testing.assert_allclose(c.index_to_world([0, 0, 0]), g.index_to_world([1, 2, 3]))
    with pytest.raises(GeometryError, match="outside"):
        v.crop((0, 0, 0), (9, 1, 1))


def test_resample_linear_reproduces_linear_field() -> None:
    # A field linear in world coordinates is reproduced exactly by trilinear interpolation.
    src = oblique_geometry()
    world = src.index_to_world(np.indices(src.shape).reshape(3, -1).T)
    field = (0.5 * world[:, 0] - 0.25 * world[:, 1] + 2.0 * world[:, 2]).reshape(src.shape)
    v = Volume(field, src, "CT", ValueUnit.HU)
    # Target: an axial grid strictly inside the source.
    centre = src.index_to_world(np.array(src.shape) / 2 - 0.5)
    tgt = Geometry.from_spacing((4, 5, 5), (2.0, 0.5, 0.5), tuple(centre - [1.0, 1.0, 3.0]))
    out = v.resample_to(tgt)
    tw = tgt.index_to_world(np.indices(tgt.shape).reshape(3, -1).T)
    expected = (0.5 * tw[:, 0] - 0.25 * tw[:, 1] + 2.0 * tw[:, 2]).reshape(tgt.shape)
    np.testing.assert_allclose(out.array, expected, rtol=0, atol=1e-3)
    assert out.geometry.same_as(tgt)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 3), st.integers(0, 4))
def test_resample_identity_and_integer_shift(step: int, shift: int) -> None:
    src = Geometry.from_spacing((6, 7, 8), (2.0, 1.0, 1.0))
    arr = np.random.default_rng(0).integers(0, 5, size=src.shape).astype(np.int16)
    v = Volume(arr, src, "OT", ValueUnit.LABEL)
    # Target: every `step`-th column starting at `shift`: nearest is an exact sub-sampling.
    n = len(range(shift, 8, step)) if shift < 8 else 0
    if n == 0:
        return
    tgt = Geometry.from_spacing((6, 7, n), (2.0, 1.0, float(step)), (float(shift), 0.0, 0.0))
    out = v.resample_to(tgt, interpolation="nearest")
    np.testing.assert_array_equal(out.array, arr[:, :, shift::step])
    assert out.array.dtype == np.int16
