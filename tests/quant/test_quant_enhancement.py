"""Reference parenchyma, intensity statistics and viable (enhancing) tumour."""

from __future__ import annotations

import numpy as np
import pytest

from nelm.errors import ConfigError, MaskError
from nelm.imaging import Geometry
from nelm.quant.enhancement import EnhancementSettings, phase_stats, reference_region, viable_mask

SPACING = (2.0, 1.0, 1.0)
SHAPE = (40, 80, 80)


def _world(g: Geometry) -> np.ndarray:
    return g.index_to_world(np.indices(g.shape).reshape(3, -1).T).reshape((*g.shape, 3))


@pytest.fixture(scope="module")
def scene() -> dict[str, object]:
    g = Geometry.from_spacing(SHAPE, SPACING)
    w = _world(g)
    centre_liver = np.array([40.0, 40.0, 40.0])
    # Liver: ellipsoid, semi-axes 35 x 35 x 35 mm around (40, 40, 40) mm (x, y, z in LPS).
    liver = np.sum(((w - centre_liver) / 35.0) ** 2, axis=-1) <= 1.0
    lesion_c = np.array([30.0, 40.0, 40.0])
    d_lesion = np.linalg.norm(w - lesion_c, axis=-1)
    lesion = d_lesion <= 8.0
    core = d_lesion <= 4.0
    # A vessel: a tube along z at x = 60, y = 40, radius 2 mm, bright on the portal phase.
    d_vessel = np.hypot(w[..., 0] - 60.0, w[..., 1] - 40.0)
    vessel = (d_vessel <= 2.0) & liver
    rng = np.random.default_rng(5)
    arterial = np.where(liver, 75.0, -100.0) + rng.normal(0, 5.0, SHAPE)
    arterial[lesion] = 130.0 + rng.normal(0, 5.0, int(lesion.sum()))
    arterial[core] = 20.0
    portal = np.where(liver, 110.0, -100.0) + rng.normal(0, 5.0, SHAPE)
    portal[vessel] = 200.0
    return {
        "g": g,
        "w": w,
        "liver": liver,
        "lesion": lesion,
        "core": core,
        "vessel": vessel,
        "arterial": arterial,
        "portal": portal,
        "lesion_c": lesion_c,
        "d_vessel": d_vessel,
    }


def test_reference_region_keeps_its_distances(scene: dict[str, object]) -> None:
    g, w = scene["g"], scene["w"]
    assert isinstance(g, Geometry)
    assert isinstance(w, np.ndarray)
    ref = reference_region(scene["liver"], scene["lesion"], g, portal=scene["portal"])  # type: ignore[arg-type]
    pts = w[ref.mask]
    # At least 10 mm from the lesion surface (sphere of radius 8 mm at lesion_c), measured
    # between voxel centres: distance to the centre >= 8 + 10 mm minus one voxel diagonal.
    diag = float(np.linalg.norm(SPACING))
    assert np.min(np.linalg.norm(pts - scene["lesion_c"], axis=1)) >= 18.0 - diag
    # At least 10 mm inside the liver surface (sphere of radius 35 mm).
    assert np.max(np.linalg.norm(pts - np.array([40.0, 40.0, 40.0]), axis=1)) <= 25.0 + diag
    # Vessel excluded with its 3 mm margin: nothing within 2 + 3 mm of the tube axis.
    d_vessel = scene["d_vessel"]
    assert isinstance(d_vessel, np.ndarray)
    assert np.min(d_vessel[ref.mask]) > 5.0 - diag
    assert ref.volume_ml == pytest.approx(np.count_nonzero(ref.mask) * 0.002)
    assert "vessels" in ref.method


def test_viable_part_of_a_necrotic_lesion(scene: dict[str, object]) -> None:
    g = scene["g"]
    assert isinstance(g, Geometry)
    arterial, lesion, core = scene["arterial"], scene["lesion"], scene["core"]
    assert isinstance(arterial, np.ndarray)
    assert isinstance(lesion, np.ndarray)
    assert isinstance(core, np.ndarray)
    ref = reference_region(scene["liver"], lesion, g, portal=scene["portal"])  # type: ignore[arg-type]
    ref_stats = phase_stats(arterial, ref.mask)
    # Parenchyma 75 HU with noise SD 5: the reference recovers both.
    assert ref_stats.mean == pytest.approx(75.0, abs=0.5)
    assert ref_stats.sd == pytest.approx(5.0, abs=0.3)
    viable = viable_mask(arterial, lesion, ref_stats)
    assert viable.threshold == pytest.approx(ref_stats.mean + 2 * ref_stats.sd)
    # The rim (130 HU, 11 SD above the threshold) is enhancing, the core (20 HU) is not.
    expected = lesion & ~core
    assert np.count_nonzero(viable.mask) == np.count_nonzero(expected)
    assert np.array_equal(viable.mask, expected)


def test_phase_stats_values_and_empty() -> None:
    v = np.arange(10, dtype=float).reshape(1, 2, 5)
    m = v >= 5
    s = phase_stats(v, m)
    assert (s.mean, s.median, s.n_voxels) == (7.0, 7.0, 5)
    assert s.sd == pytest.approx(np.sqrt(2.0))
    with pytest.raises(MaskError, match="empty"):
        phase_stats(v, np.zeros_like(m))


def test_all_tumour_liver_has_no_reference() -> None:
    g = Geometry.from_spacing((4, 4, 4), (1.0, 1.0, 1.0))
    liver = np.ones(g.shape, bool)
    with pytest.raises(MaskError, match="no normal liver parenchyma"):
        reference_region(liver, liver.copy(), g)


def test_small_liver_reduces_margins_and_says_so() -> None:
    g = Geometry.from_spacing((10, 30, 30), (1.0, 1.0, 1.0))
    liver = np.zeros(g.shape, bool)
    liver[2:8, 5:25, 5:25] = True  # 2.4 mL, too thin for a 10 mm erosion
    ref = reference_region(liver, np.zeros_like(liver), g, settings=EnhancementSettings(min_reference_ml=0.5))
    assert ref.volume_ml >= 0.5
    assert "margins reduced" in ref.method


def test_invalid_settings() -> None:
    with pytest.raises(ConfigError, match="threshold_sd"):
        EnhancementSettings(threshold_sd=-1)
    with pytest.raises(ConfigError):
        EnhancementSettings(vessel_z=0)
