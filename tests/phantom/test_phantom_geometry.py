"""Analytic solids, partial-volume rasterisation and the phantom anatomy.

Every expected value is derived here from geometry (4/3·π·r³, the voxel-centre sandwich bound,
the documented segment planes), never copied from the code's output.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from nelm.errors import ConfigError
from nelm.imaging.geometry import Geometry
from nelm.phantom.anatomy import build_anatomy, organ_volumes_ml
from nelm.phantom.rasterize import integrate_volume_ml, rasterize
from nelm.phantom.shapes import (
    Capsule,
    Difference,
    Ellipsoid,
    EllipticCylinder,
    HalfSpace,
    Intersection,
    Union,
)


def _sphere_volume_ml(r_mm: float) -> float:
    return 4.0 / 3.0 * math.pi * max(r_mm, 0.0) ** 3 / 1000.0


def _grid(spacing: tuple[float, float, float], n: int = 40) -> Geometry:
    # Spacing is (slice, row, column) = (z, y, x); the origin is (x, y, z). Off-centre so that
    # sphere centres do not fall on voxel centres or faces.
    sz, sy, sx = spacing
    origin = (-(n - 1) / 2 * sx + 0.37 * sx, -(n - 1) / 2 * sy + 0.21 * sy, -(n - 1) / 2 * sz + 0.13 * sz)
    return Geometry.from_spacing((n, n, n), spacing, origin_mm=origin)


@pytest.mark.parametrize("r", [2.0, 5.3, 12.7])
def test_sphere_mask_volume_within_voxel_centre_sandwich(r: float) -> None:
    """The voxel-centre mask of a sphere lies between the spheres of radius r ∓ δ.

    δ is half the voxel diagonal: a voxel whose centre is inside lies entirely within r + δ,
    and every point within r - δ belongs to a voxel whose centre is inside.
    """
    spacing = (2.5, 1.5, 1.5)
    g = _grid(spacing)
    field = rasterize(Ellipsoid((0.4, -0.3, 0.9), (r, r, r)), g)
    mask_ml = float(np.broadcast_to(field.inside, field.box_shape).sum()) * g.voxel_volume_ml
    delta = 0.5 * math.sqrt(sum(s * s for s in spacing))
    assert _sphere_volume_ml(r - delta) <= mask_ml <= _sphere_volume_ml(r + delta)


@pytest.mark.parametrize("r", [3.0, 8.0, 20.0])
def test_partial_volume_fraction_sums_to_analytic_volume(r: float) -> None:
    """The supersampled fractions integrate a sphere to within 2 % even when r ≈ one voxel."""
    g = _grid((2.5, 1.5, 1.5), n=48)
    field = rasterize(Ellipsoid((0.4, -0.3, 0.9), (r, r, r)), g)
    pv_ml = field.fraction_sum() * g.voxel_volume_ml
    assert pv_ml == pytest.approx(_sphere_volume_ml(r), rel=0.02)


def test_fractions_are_bounded_and_nested_and_disjoint() -> None:
    g = _grid((2.0, 2.0, 2.0), n=30)
    outer = Ellipsoid((0.0, 0.0, 0.0), (20.0, 15.0, 12.0))
    inner = Ellipsoid((1.0, 0.0, 0.0), (8.0, 6.0, 5.0))
    other = Ellipsoid((0.0, 0.0, 0.0), (3.0, 3.0, 3.0))
    rest = Difference(outer, (other,))
    f_outer = rasterize(outer, g).full_fraction(g.shape)
    f_inner = rasterize(inner, g).full_fraction(g.shape)
    f_other = rasterize(other, g).full_fraction(g.shape)
    f_rest = rasterize(rest, g).full_fraction(g.shape)
    assert f_outer.min() >= 0.0
    assert f_outer.max() <= 1.0
    assert np.all(f_inner <= f_outer + 1e-7)  # nested solid never exceeds its container
    np.testing.assert_allclose(f_rest + f_other, f_outer, atol=1e-6)  # disjoint parts add up


def test_ellipsoid_integration_matches_four_thirds_pi_abc() -> None:
    """High-resolution integration (used for the liver) reproduces an ellipsoid's volume."""
    e = Ellipsoid((1.1, -2.3, 0.7), (30.0, 22.0, 41.0))
    volume, _ = integrate_volume_ml(e, spacing_mm=2.0)
    assert volume == pytest.approx(4.0 / 3.0 * math.pi * 30 * 22 * 41 / 1000.0, rel=1e-3)


def test_csg_signs_are_exact() -> None:
    ball = Ellipsoid((0.0, 0.0, 0.0), (10.0, 10.0, 10.0))
    upper = HalfSpace((0.0, 0.0, 0.0), (0.0, 0.0, -1.0))  # z >= 0
    half = Intersection((ball, upper))
    rod = Capsule((-20.0, 0.0, 0.0), (20.0, 0.0, 0.0), 2.0)
    cyl = EllipticCylinder((50.0, 0.0), (5.0, 3.0), z_min=-1.0, z_max=1.0)
    shape = Union((Difference(half, (rod,)), cyl))
    pts = np.array(
        [
            [0.0, 0.0, 5.0],  # in the upper half-ball, clear of the rod
            [0.0, 0.0, -5.0],  # lower half: cut away
            [0.0, 0.0, 1.0],  # inside the rod: removed
            [50.0, 2.9, 0.5],  # inside the cylinder
            [50.0, 3.1, 0.5],  # just outside it
        ]
    )
    assert shape.contains_points(pts).tolist() == [True, False, False, True, False]


def test_bad_shapes_raise_config_error() -> None:
    with pytest.raises(ConfigError, match="semi-axes must be positive"):
        Ellipsoid((0, 0, 0), (1.0, 0.0, 1.0))
    with pytest.raises(ConfigError, match="z range"):
        EllipticCylinder((0, 0), (1, 1), z_min=5.0, z_max=1.0)
    with pytest.raises(ConfigError, match="radius"):
        Capsule((0, 0, 0), (1, 0, 0), -1.0)
    with pytest.raises(ConfigError, match="anatomy_scale"):
        build_anatomy(2.0)


def test_organ_volumes_are_realistic() -> None:
    """Liver ~1.5 L, spleen ~200 mL, lungs a few litres (adult reference values, ICRP 89)."""
    v = organ_volumes_ml(1.0)
    assert 1300.0 <= v.liver_ml <= 1800.0
    assert 150.0 <= v.spleen_ml <= 250.0
    assert 2000.0 <= v.lungs_ml <= 6000.0
    assert sum(v.segments_ml.values()) == pytest.approx(v.liver_ml, rel=1e-9)
    assert set(v.segments_ml) == set(range(1, 9))
    right = sum(v.segments_ml[k] for k in (5, 6, 7, 8))
    assert 0.5 < right / v.liver_ml < 0.8  # the right lobe is the larger one


def test_spleen_volume_matches_its_ellipsoid() -> None:
    """The spleen is a plain ellipsoid: high-res integration must equal 4/3·π·abc."""
    a = build_anatomy(1.0)
    assert isinstance(a.spleen, Ellipsoid)
    ax = a.spleen.semi_axes
    assert organ_volumes_ml(1.0).spleen_ml == pytest.approx(
        4 / 3 * math.pi * ax[0] * ax[1] * ax[2] / 1000, rel=1e-3
    )


def test_anatomy_scale_scales_volumes_by_its_cube() -> None:
    big = integrate_volume_ml(build_anatomy(1.2).spleen, spacing_mm=2.0)[0]
    small = integrate_volume_ml(build_anatomy(1.0).spleen, spacing_mm=2.0)[0]
    assert big / small == pytest.approx(1.2**3, rel=2e-3)


def _point_at(theta_deg: float, radius: float, z: float) -> tuple[float, float, float]:
    """A point at azimuth θ (0 = patient right, 90 = anterior) around the IVC axis (-22, 36)."""
    t = math.radians(theta_deg)
    return (-22.0 - radius * math.cos(t), 36.0 - radius * math.sin(t), z)


@pytest.mark.parametrize(
    ("theta", "z", "segment"),
    [
        (10.0, 30.0, 7),  # right posterior, above the portal plane
        (10.0, -30.0, 6),  # right posterior, below
        (70.0, 30.0, 8),  # right anterior, above
        (70.0, -30.0, 5),  # right anterior, below
        (110.0, 20.0, 4),  # between Cantlie's line and the umbilical fissure
        (110.0, -20.0, 4),
        (150.0, 20.0, 2),  # left lateral, above
        (150.0, -20.0, 3),  # left lateral, below
    ],
)
def test_segment_rule_follows_the_documented_planes(theta: float, z: float, segment: int) -> None:
    a = build_anatomy(1.0)
    assert a.segment_at(_point_at(theta, 60.0, z)) == segment


def test_caudate_is_segment_one() -> None:
    a = build_anatomy(1.0)
    assert a.segment_at((-2.0, 22.0, 20.0)) == 1  # centre of the caudate cylinder, z in 0..55
    assert a.segment_at((-2.0, 22.0, -20.0)) != 1  # below the portal plane


def test_lungs_stay_above_the_liver() -> None:
    """Lung and liver never overlap in a frontal projection (needed for planar LSF ROIs)."""
    a = build_anatomy(1.0)
    liver_top = a.liver.bounds()[1][2]
    lung_bottom = min(a.lung_right.bounds()[0][2], a.lung_left.bounds()[0][2])
    assert lung_bottom - liver_top >= 10.0


def test_organs_are_disjoint_and_inside_the_body() -> None:
    """Summed organ fractions never exceed one, and every organ lies within the inner body."""
    from nelm.phantom.config import AcquisitionConfig
    from nelm.phantom.scene import ORGANS, anatomy_scene
    from nelm.phantom.studies import study_grids

    g = study_grids(1.0, AcquisitionConfig())["pet"]
    scene = anatomy_scene(build_anatomy(1.0), g)
    inner = scene.fields["body_inner"].full_fraction(g.shape)
    total = np.zeros(g.shape, dtype=np.float64)
    owners = np.zeros(g.shape, dtype=np.int16)
    for organ in ORGANS:
        f = scene.fields[organ].full_fraction(g.shape)
        assert np.all(f <= inner + 1e-6), organ
        total += f
        owners += scene.fields[organ].full_inside(g.shape)
    assert total.max() <= 1.0 + 1e-6
    assert owners.max() == 1  # no voxel centre belongs to two organs
