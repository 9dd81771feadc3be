"""Lesion placement and evolution of the synthetic patient (fast CT-only configurations)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage

from nelm.errors import ConfigError
from nelm.imaging.geometry import Geometry
from nelm.phantom import (
    AcquisitionConfig,
    FollowUpConfig,
    LesionChange,
    PhantomConfig,
    SyntheticPatient,
    TareConfig,
    generate_patient,
)
from nelm.phantom.truth import LesionTruth

# A coarse CT and no nuclear studies keep these tests fast; geometry is what they check.
_FAST = AcquisitionConfig(ct_spacing_mm=(3.0, 2.0, 2.0), noise=False)


def _fast(**kw: object) -> PhantomConfig:
    base: dict[str, object] = {
        "include_mri": False,
        "include_pet": False,
        "include_lowdose_ct": False,
        "acquisition": _FAST,
    }
    base.update(kw)
    return PhantomConfig(**base)  # type: ignore[arg-type]


def _centres_inside(les: LesionTruth, g: Geometry) -> np.ndarray:
    """Voxel-centre mask of the lesion computed here from its truth (x/a)²+(y/b)²+(z/c)² ≤ 1."""
    assert g.orientation == "SPL"  # axial grid: z, y, x vary along slices, rows, columns
    (ox, oy, oz), (sz, sy, sx) = g.origin_mm, g.spacing_mm
    z = oz + sz * np.arange(g.shape[0])[:, None, None]
    y = oy + sy * np.arange(g.shape[1])[None, :, None]
    x = ox + sx * np.arange(g.shape[2])[None, None, :]
    (cx, cy, cz), (a, b, c) = les.centroid_lps_mm, les.semi_axes_mm
    return np.asarray(((x - cx) / a) ** 2 + ((y - cy) / b) ** 2 + ((z - cz) / c) ** 2 <= 1.0)


@pytest.fixture(scope="module")
def many() -> SyntheticPatient:
    return generate_patient(_fast(n_lesions=200, tare=None, follow_ups=()))


def test_two_hundred_lesions_are_placed(many: SyntheticPatient) -> None:
    tp = many.truth.time_point("baseline")
    assert tp.lesion_count == 200
    assert [les.tracking_id for les in tp.lesions] == [f"L{i}" for i in range(1, 201)]
    lm = many.mask("baseline", "lesions")
    assert len(lm.labels) == 200
    assert {lab.tracking_id for lab in lm.labels.values()} == {f"L{i}" for i in range(1, 201)}


def test_two_hundred_lesions_do_not_overlap(many: SyntheticPatient) -> None:
    """Bounding spheres are disjoint (a sufficient condition for disjoint ellipsoids)."""
    lesions = many.truth.time_point("baseline").lesions
    c = np.array([les.centroid_lps_mm for les in lesions])
    r = np.array([max(les.semi_axes_mm) for les in lesions])
    d = np.linalg.norm(c[:, None, :] - c[None, :, :], axis=2)
    np.fill_diagonal(d, np.inf)
    assert np.all(d >= r[:, None] + r[None, :] + many.config.min_gap_mm - 1e-9)


def test_lesion_label_map_is_the_voxel_centre_truth(many: SyntheticPatient) -> None:
    """Each lesion's label equals the voxel centres inside its own ellipsoid: no voxel lost to another."""
    lm = many.mask("baseline", "lesions")
    for les in many.truth.time_point("baseline").lesions[::20]:
        expected = _centres_inside(les, lm.geometry)
        assert np.array_equal(lm.array == les.label_value, expected), les.tracking_id
        assert les.voxel_counts["ct_portal"] == int(expected.sum())


def test_all_lesions_lie_inside_the_liver(many: SyntheticPatient) -> None:
    liver = many.mask("baseline", "liver").array > 0
    lesions = many.mask("baseline", "lesions").array > 0
    # Grow the lesions by one voxel in-plane (2 mm < the 3 mm minimum gap): still liver.
    in_plane = np.zeros((3, 3, 3), dtype=bool)
    in_plane[1] = [[0, 1, 0], [1, 1, 1], [0, 1, 0]]
    grown = ndimage.binary_dilation(lesions, structure=in_plane)
    assert not np.any(grown & ~liver)


def test_single_lesion() -> None:
    p = generate_patient(_fast(n_lesions=1, follow_ups=()))
    tp = p.truth.time_point("baseline")
    assert tp.lesion_count == 1
    les = tp.lesions[0]
    a, b, c = les.semi_axes_mm
    assert les.volume_ml == pytest.approx(4 / 3 * math.pi * a * b * c / 1000)
    assert les.axial_long_diameter_mm == pytest.approx(2 * max(a, b))
    assert les.axial_short_diameter_mm == pytest.approx(2 * min(a, b))
    assert les.max_3d_diameter_mm == pytest.approx(2 * max(a, b, c))


def test_spheres_have_analytic_mask_volumes() -> None:
    """Mask volume of each sphere between 4/3·π·(r ∓ δ)³, δ = half voxel diagonal."""
    p = generate_patient(_fast(n_lesions=8, lesion_shape="sphere", follow_ups=(), tare=None))
    lm = p.mask("baseline", "lesions")
    delta = 0.5 * math.sqrt(sum(s * s for s in lm.geometry.spacing_mm))
    for les in p.truth.time_point("baseline").lesions:
        r = les.semi_axes_mm[0]
        assert les.semi_axes_mm == (r, r, r)
        assert les.volume_ml == pytest.approx(4 / 3 * math.pi * r**3 / 1000)
        v = lm.volume_ml(les.label_value)
        lo = 4 / 3 * math.pi * max(r - delta, 0) ** 3 / 1000
        hi = 4 / 3 * math.pi * (r + delta) ** 3 / 1000
        assert lo <= v <= hi, (les.tracking_id, r, v)


@pytest.mark.parametrize(("placement", "lobes"), [("right", {"right"}), ("left", {"left"})])
def test_lobar_placement(placement: str, lobes: set[str]) -> None:
    p = generate_patient(_fast(n_lesions=6, placement=placement, follow_ups=(), tare=None))
    tp = p.truth.time_point("baseline")
    assert {les.lobe for les in tp.lesions} == lobes
    assert tp.distribution == placement
    # Every lesion voxel lies in the lobe's segments (right 5-8, left 2-4).
    seg = p.mask("baseline", "segments").array
    les_mask = p.mask("baseline", "lesions").array > 0
    allowed = {5, 6, 7, 8} if placement == "right" else {2, 3, 4}
    assert set(np.unique(seg[les_mask]).tolist()) <= allowed


def test_bilobar_is_the_default_distribution() -> None:
    p = generate_patient(_fast(follow_ups=(), tare=None))
    tp = p.truth.time_point("baseline")
    assert tp.lesion_count == 12
    assert tp.distribution == "bilobar"
    assert tp.hepatic_tumour_burden_percent == pytest.approx(
        100 * sum(les.volume_ml for les in tp.lesions) / tp.liver_volume_ml
    )


def test_follow_up_changes_follow_the_prescription() -> None:
    """Treated (perfused) lesions shrink by 0.7 and necrose; untreated grow by 1.25; new lesions appear."""
    fu = FollowUpConfig(
        days_after_treatment=90.0,
        treated_scale=0.7,
        untreated_scale=1.25,
        treated_necrotic_fraction=0.6,
        disappear_below_mm=0.0,
        new_lesions=2,
        overrides={"L2": LesionChange(disappeared=True)},
    )
    p = generate_patient(_fast(n_lesions=8, follow_ups=(fu,), tare=TareConfig(territory="right_lobe")))
    base = {les.tracking_id: les for les in p.truth.time_point("baseline").lesions}
    after = {les.tracking_id: les for les in p.truth.time_point("fu1").lesions}
    assert set(after) == set(base) | {"L9", "L10"}
    for tid, les in base.items():
        now = after[tid]
        if tid == "L2":
            assert not now.present
            assert now.volume_ml == 0.0
            assert now.status == "disappeared"
            continue
        treated = les.segment in (5, 6, 7, 8)
        assert les.perfused == treated
        scale = 0.7 if treated else 1.25
        assert now.volume_ml == pytest.approx(les.volume_ml * scale**3)
        assert now.axial_long_diameter_mm == pytest.approx(les.axial_long_diameter_mm * scale)
        assert now.centroid_lps_mm == les.centroid_lps_mm  # lesions do not move
        if treated:
            assert now.necrotic_core_fraction >= 0.6
            assert now.enhancing_volume_ml == pytest.approx(
                now.volume_ml * (1 - now.necrotic_core_fraction**3)
            )
        assert now.status == ("decreased" if treated else "increased")
    assert after["L9"].status == after["L10"].status == "new"
    assert p.truth.time_point("fu1").lesion_count == len(base) - 1 + 2
    # The new lesion is in the follow-up mask with its own label; the disappeared one is not.
    lm = p.mask("fu1", "lesions")
    assert lm.label(9).tracking_id == "L9"
    assert not np.any(lm.array == 2)


def test_small_treated_lesions_disappear() -> None:
    fu = FollowUpConfig(days_after_treatment=60.0, disappear_below_mm=1000.0)
    p = generate_patient(_fast(n_lesions=5, follow_ups=(fu,), tare=TareConfig(territory="whole_liver")))
    assert all(not les.present for les in p.truth.time_point("fu1").lesions)
    assert p.truth.time_point("fu1").lesion_count == 0
    assert p.truth.time_point("fu1").distribution == "none"


def test_too_many_large_lesions_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="too full"):
        generate_patient(_fast(n_lesions=60, diameter_range_mm=(60.0, 80.0), follow_ups=(), tare=None))


def test_override_of_an_unknown_lesion_is_a_config_error() -> None:
    fu = FollowUpConfig(days_after_treatment=60.0, overrides={"L99": LesionChange(scale=0.5)})
    with pytest.raises(ConfigError, match="L99"):
        generate_patient(_fast(n_lesions=3, follow_ups=(fu,)))
