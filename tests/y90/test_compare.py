"""Planned versus delivered dose comparison: analytic maps, resampling, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nelm.errors import ConfigError, GeometryError, MaskError, UnitsError
from nelm.imaging.geometry import Geometry
from nelm.imaging.metadata import SeriesMetadata, ValueUnit
from nelm.imaging.volume import Volume
from nelm.y90.compare import compare_doses

SHAPE = (12, 14, 16)


def _gauss(
    shape: tuple[int, int, int] = SHAPE, centre: tuple[float, float, float] = (6.0, 7.0, 8.0)
) -> np.ndarray:
    idx = np.indices(shape).astype(float)
    r2 = sum((idx[a] - centre[a]) ** 2 for a in range(3))
    return 200.0 * np.exp(-r2 / (2 * 3.0**2)) + 5.0


def _vol(array: np.ndarray, spacing: float = 3.0, origin=(0.0, 0.0, 0.0), for_uid: str = "") -> Volume:
    g = Geometry.from_spacing(array.shape, (spacing,) * 3, origin)
    meta = SeriesMetadata(frame_of_reference_uid=for_uid)
    return Volume(np.asarray(array, dtype=np.float32), g, "RTDOSE", ValueUnit.GY, metadata=meta)


def _structures() -> dict[str, np.ndarray]:
    tumour = np.zeros(SHAPE, dtype=bool)
    tumour[4:9, 5:10, 6:11] = True
    liver = np.zeros(SHAPE, dtype=bool)
    liver[1:11, 1:13, 1:15] = True
    liver &= ~tumour
    return {"tumour": tumour, "normal liver": liver}


def test_identical_maps_give_zero_difference_and_r_one() -> None:
    planned = _vol(_gauss())
    res = compare_doses(planned, _vol(_gauss()), _structures(), metrics=("mean", "D70", "V100Gy"))
    assert res.difference.array.dtype == np.float32
    assert res.difference.units is ValueUnit.GY
    assert res.difference.same_grid(planned)
    assert np.all(res.difference.array == 0)
    assert res.warnings == ()
    for s in res.structures.values():
        assert s.difference_gy == 0.0
        assert s.difference_percent == 0.0
        assert s.pearson_r == pytest.approx(1.0, abs=1e-12)
        assert s.spearman_rho == pytest.approx(1.0, abs=1e-12)
        assert s.planned_metrics == s.delivered_metrics
    for o in res.isodose_overlaps:
        assert o.dice == 1.0
    d = res.to_dict()
    json.dumps(d)
    assert d["structures"]["tumour"]["metrics"]["D70"]["difference"] == 0.0


def test_delivered_ten_percent_higher_everywhere() -> None:
    planned_arr = _gauss()
    res = compare_doses(_vol(planned_arr), _vol(1.1 * planned_arr), _structures())
    for s in res.structures.values():
        assert s.difference_percent == pytest.approx(10.0, abs=1e-4)
        assert s.difference_gy == pytest.approx(0.1 * s.planned_mean_gy, rel=1e-5)
        assert s.pearson_r == pytest.approx(1.0, abs=1e-9)
    np.testing.assert_allclose(res.difference.array, 0.1 * planned_arr, rtol=1e-5, atol=1e-4)
    # uniform scaling leaves each map's isodose regions (relative to its own maximum) unchanged
    assert [o.dice for o in res.isodose_overlaps] == [1.0, 1.0]


def test_tumour_mean_by_hand() -> None:
    planned = np.full(SHAPE, 20.0)
    delivered = np.full(SHAPE, 20.0)
    st = _structures()
    planned[st["tumour"]] = 150.0
    delivered[st["tumour"]] = 120.0
    res = compare_doses(_vol(planned), _vol(delivered), st, metrics=("mean", "V100Gy"))
    t = res.structures["tumour"]
    assert t.planned_mean_gy == pytest.approx(150.0, rel=1e-12)
    assert t.delivered_mean_gy == pytest.approx(120.0, rel=1e-12)
    assert t.difference_percent == pytest.approx(-20.0)
    assert t.volume_ml == pytest.approx(125 * 27 / 1000)
    assert t.pearson_r is None  # constant dose inside the tumour
    assert any("constant" in n for n in t.notes)
    assert res.structures["normal liver"].difference_gy == 0.0


def test_shifted_map_lowers_correlation_and_overlap() -> None:
    res = compare_doses(_vol(_gauss()), _vol(_gauss(centre=(6.0, 7.0, 10.0))), _structures())
    t = res.structures["tumour"]
    assert t.pearson_r is not None
    assert t.spearman_rho is not None
    assert t.pearson_r < 0.95
    assert t.spearman_rho < 0.95
    assert all(o.dice is not None and o.dice < 1.0 for o in res.isodose_overlaps)


def test_isodose_dice_by_hand() -> None:
    planned = np.zeros(SHAPE)
    delivered = np.zeros(SHAPE)
    planned[2:6, 2:6, 2:6] = 100.0  # 64 voxels
    delivered[2:6, 2:6, 4:8] = 80.0  # 64 voxels, 32 shared
    res = compare_doses(_vol(planned), _vol(delivered), {}, isodose_percent=(50.0,))
    (o,) = res.isodose_overlaps
    assert o.dice == pytest.approx(2 * 32 / (64 + 64))
    assert o.planned_volume_ml == pytest.approx(64 * 27 / 1000)
    assert o.overlap_volume_ml == pytest.approx(32 * 27 / 1000)


def test_different_grids_resampled_trilinearly() -> None:
    """A linear field is reproduced exactly by trilinear interpolation: a planned map on a 4 mm
    grid resampled onto a 2 mm delivered grid inside it must match the same field sampled there."""

    def field(g: Geometry) -> np.ndarray:
        pts = g.index_to_world(np.indices(g.shape).reshape(3, -1).T)
        return (50.0 + 2.0 * pts[:, 0] - 1.0 * pts[:, 1] + 0.5 * pts[:, 2]).reshape(g.shape)

    gp = Geometry.from_spacing((15, 15, 15), (4.0, 4.0, 4.0), (0.0, 0.0, 0.0))
    gd = Geometry.from_spacing((20, 20, 20), (2.0, 2.0, 2.0), (9.0, 10.0, 11.0))
    planned = Volume(field(gp).astype(np.float32), gp, "RTDOSE", ValueUnit.GY)
    delivered = Volume(field(gd).astype(np.float32), gd, "RTDOSE", ValueUnit.GY)
    box = np.zeros(gd.shape, dtype=bool)
    box[3:15, 2:12, 5:17] = True
    res = compare_doses(planned, delivered, {"box": box})
    assert res.difference.same_grid(delivered)
    assert res.uncovered_voxels == 0
    np.testing.assert_allclose(res.difference.array, 0.0, atol=1e-3)
    s = res.structures["box"]
    assert s.pearson_r == pytest.approx(1.0, abs=1e-6)
    assert s.planned_mean_gy == pytest.approx(float(field(gd)[box].mean()), rel=1e-5)

    # the other way: the planned grid is larger, so part of it is not covered by the delivered map
    back = compare_doses(planned, delivered, {}, resample="delivered_to_planned")
    assert back.difference.same_grid(planned)
    assert back.uncovered_voxels > 0
    assert any("outside the delivered dose grid" in w for w in back.warnings)
    liver = np.zeros(gp.shape, dtype=bool)
    liver[0:8, 0:8, 0:8] = True  # reaches outside the delivered map's grid
    with pytest.raises(GeometryError, match=r"'liver'.*outside"):
        compare_doses(planned, delivered, {"liver": liver}, resample="delivered_to_planned")
    with pytest.raises(GeometryError, match="different grid"):
        compare_doses(planned, delivered, {}, resample="none")


def test_mismatched_frames_of_reference_warn() -> None:
    arr = _gauss()
    res = compare_doses(_vol(arr, for_uid="1.2.3"), _vol(arr, for_uid="1.2.4"), {})
    assert len(res.warnings) == 1
    assert "frames of reference" in res.warnings[0]
    assert res.to_dict()["warnings"] == list(res.warnings)
    same = compare_doses(_vol(arr, for_uid="1.2.3"), _vol(arr, for_uid="1.2.3"), {})
    assert same.warnings == ()


def test_bad_input() -> None:
    arr = _gauss()
    st = _structures()
    with pytest.raises(MaskError, match="'empty'"):
        compare_doses(_vol(arr), _vol(arr), {"empty": np.zeros(SHAPE, dtype=bool)})
    with pytest.raises(UnitsError, match="planned"):
        compare_doses(_vol(arr).with_array(arr, units=ValueUnit.BQ_PER_ML), _vol(arr), st)
    with pytest.raises(ConfigError, match="resample"):
        compare_doses(_vol(arr), _vol(arr, spacing=2.0), st, resample="sideways")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="isodose"):
        compare_doses(_vol(arr), _vol(arr), st, isodose_percent=(0.0,))
    with pytest.raises(ConfigError, match="V100"):
        compare_doses(_vol(arr), _vol(arr), st, metrics=("V100",))


def test_zero_planned_dose_gives_no_percentage() -> None:
    delivered = _gauss()
    res = compare_doses(_vol(np.zeros(SHAPE)), _vol(delivered), _structures())
    t = res.structures["tumour"]
    assert t.difference_percent is None
    assert t.to_dict()["difference_percent"] is None
    assert all(o.dice is None for o in res.isodose_overlaps)


def test_structure_on_a_finer_grid() -> None:
    """A tumour mask on a 1 mm grid (the CT) is sampled on the common grid at its own voxel
    centres; its volume is the fine voxel count x 1 mm3."""
    arr = _gauss()
    fg = Geometry.from_spacing((15, 15, 15), (1.0, 1.0, 1.0), (15.0, 15.0, 18.0))
    fine = np.ones(fg.shape, dtype=bool)
    res = compare_doses(_vol(arr), _vol(1.1 * arr), {"tumour": Volume(fine, fg, "OT", ValueUnit.LABEL)})
    t = res.structures["tumour"]
    assert t.volume_ml == pytest.approx(15**3 / 1000)
    assert t.n_samples == 15**3
    assert t.difference_percent == pytest.approx(10.0, abs=1e-4)
    assert t.pearson_r == pytest.approx(1.0, abs=1e-9)
