"""Liver fallback: an analytic abdomen, the synthetic patient and real CT scored against references."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from scipy import ndimage

from nelm.errors import ConfigError, InputError, MaskError, UnitsError
from nelm.imaging import Geometry, ValueUnit, Volume
from nelm.imaging.nifti import read_labelmap, read_nifti
from nelm.phantom import PhantomConfig, generate_patient
from nelm.segmentation import LiverFallbackParams, LiverHuSegmenter, segment_liver
from nelm.segmentation.liver import estimate_liver_window, segment_liver_fallback
from nelm.segmentation.metrics import dice

TS_DIR = "ct/totalsegmentator"
#: Label of the liver in TotalSegmentator's ``total`` task (data README, totalseg_labels.json).
TS_LIVER = 5


def _ellipsoid(
    world: npt.NDArray[np.float64], centre: tuple[float, float, float], semi: tuple[float, float, float]
) -> npt.NDArray[np.bool_]:
    d = (world - np.asarray(centre)) / np.asarray(semi)
    return np.asarray((d**2).sum(axis=-1) <= 1.0)


def _analytic_abdomen() -> tuple[Volume, dict[str, npt.NDArray[np.bool_]]]:
    """A 3 mm CT: soft-tissue body, liver (110 HU) on the right, spleen (120 HU) on the left joined
    to the liver by a 6 mm bridge of 115 HU, right kidney (160 HU); Gaussian noise σ 10 HU."""
    shape = (30, 90, 120)
    g = Geometry.from_spacing(shape, (3.0, 3.0, 3.0), origin_mm=(-178.5, -133.5, 0.0))
    idx = np.indices(shape).reshape(3, -1).T
    world = g.index_to_world(idx).reshape(*shape, 3)
    x, y, z = world[..., 0], world[..., 1], world[..., 2]
    body = (x / 170.0) ** 2 + (y / 120.0) ** 2 <= 1.0
    liver = _ellipsoid(world, (-80.0, 0.0, 45.0), (70.0, 80.0, 33.0))
    spleen = _ellipsoid(world, (95.0, 30.0, 45.0), (35.0, 45.0, 25.0))
    kidney = _ellipsoid(world, (-60.0, 85.0, 45.0), (25.0, 25.0, 30.0)) & ~liver
    bridge = (x > -15.0) & (x < 65.0) & (np.abs(y) <= 3.0) & (np.abs(z - 45.0) <= 3.0) & ~liver & ~spleen
    hu = np.full(shape, -1000.0)
    hu[body] = 40.0
    hu[liver] = 110.0
    hu[spleen] = 120.0
    hu[bridge] = 115.0
    hu[kidney] = 160.0
    hu += np.random.default_rng(7).normal(0.0, 10.0, shape)
    ct = Volume(hu.astype(np.float32), g, "CT", ValueUnit.HU)
    return ct, {"liver": liver, "spleen": spleen, "bridge": bridge}


def test_analytic_abdomen_liver_is_found_and_spleen_left_out() -> None:
    ct, truth = _analytic_abdomen()
    result = segment_liver_fallback(ct)
    mask = result.labelmap.mask("liver")
    assert result.labelmap.geometry.same_as(ct.geometry)
    assert dice(mask, truth["liver"]) >= 0.95
    assert not np.any(mask & truth["spleen"])  # same HU, patient's left, cut off at the bridge
    assert result.method == "fallback-liver-hu"
    assert result.provenance.startswith("nelm fallback: liver by HU window + largest component")
    assert "not a validated segmentation" in result.provenance
    assert result.warnings == ()  # the liver ends inside the scan and its volume is plausible


def test_adaptive_window_is_centred_on_the_highest_large_peak() -> None:
    # Two populations: 20 000 muscle-like values at 40 HU and 8 000 liver-like ones at 110 HU
    # with σ 8 HU. The window must sit on 110 HU (the higher peak holds 40 % ≥ 20 % of the
    # tallest), σ must come out near 8 HU once the histogram's own smoothing is removed, and the
    # half-width is 3.5σ ≈ 28 HU.
    rng = np.random.default_rng(1)
    values = np.concatenate([rng.normal(40, 8, 20_000), rng.normal(110, 8, 8_000)]).astype(np.float32)
    w = estimate_liver_window(values, LiverFallbackParams())
    assert w.peak_hu == pytest.approx(110.0, abs=2.0)
    assert w.sigma_hu == pytest.approx(8.0, rel=0.15)
    assert w.high_hu - w.peak_hu == pytest.approx(3.5 * w.sigma_hu)
    assert w.peak_hu - w.low_hu == pytest.approx(3.5 * w.sigma_hu)
    # A narrow peak (σ 2 HU) gets the 15 HU minimum half-width.
    narrow = np.concatenate([rng.normal(40, 2, 20_000), rng.normal(110, 2, 8_000)]).astype(np.float32)
    wn = estimate_liver_window(narrow, LiverFallbackParams())
    assert wn.high_hu - wn.low_hu == pytest.approx(30.0)


def test_fixed_window_and_final_adjustment() -> None:
    ct, truth = _analytic_abdomen()
    fixed = segment_liver_fallback(ct, LiverFallbackParams(hu_window=(95.0, 125.0)))
    assert "(given)" in fixed.provenance
    assert dice(fixed.labelmap.mask("liver"), truth["liver"]) >= 0.95
    # A 3 mm ball on this 3 mm isotropic grid is the 6-neighbour cross: the final erosion must
    # equal scipy's binary erosion with that cross (outside the array not counted as background).
    plain = LiverHuSegmenter().segment(ct, hu_window=(95.0, 125.0), final_adjust_mm=0.0)
    eroded = LiverHuSegmenter().segment(ct, hu_window=(95.0, 125.0), final_adjust_mm=-3.0)
    expected = ndimage.binary_erosion(plain.labelmap.mask("liver"), border_value=1)
    np.testing.assert_array_equal(eroded.labelmap.mask("liver"), expected)
    assert "final erosion 3 mm" in eroded.provenance
    assert "final erosion" not in plain.provenance
    assert "final dilation" not in plain.provenance


@pytest.fixture(scope="module")
def phantom() -> Any:
    """The default synthetic patient (seed 0, 12 lesions) without the studies this test skips."""
    return generate_patient(
        PhantomConfig(seed=0, tare=None, include_mri=False, include_pet=False, include_lowdose_ct=False)
    )


def test_phantom_portal_venous_ct(phantom: Any) -> None:
    """Measured Dice 0.972 against the phantom's liver mask (lesions included); floor 0.95."""
    ct = phantom.image("baseline", "ct_portal")
    result = segment_liver(ct, backend="fallback")
    assert dice(result.labelmap.mask("liver"), phantom.mask("baseline", "liver").any_mask()) >= 0.95


def test_realdata_totalsegmentator_example_ct_sm(data_file: Any) -> None:
    """TotalSegmentator example CT crop (Apache-2.0 / CC BY 4.0, Wasserthal et al. 2023): 30 slices
    of 3 mm, liver on every slice. Reference: TotalSegmentator's own liver prediction (label 5).
    Measured Dice 0.915; floor 0.89. The liver is cut by the scan range: the result says so."""
    ct = read_nifti(data_file(f"{TS_DIR}/example_ct_sm.nii.gz"), modality="CT", units=ValueUnit.HU)
    ref = read_labelmap(data_file(f"{TS_DIR}/example_seg.nii.gz"))
    result = segment_liver_fallback(ct)
    ref.require_on(ct)
    assert dice(result.labelmap.mask("liver"), ref.array == TS_LIVER) >= 0.89
    assert any("truncated" in w for w in result.warnings)


def test_realdata_totalsegmentator_full_ct_in_the_labelled_slab(data_file: Any) -> None:
    """The 112-slice CT (pelvis to liver dome) whose last 30 slices hold exactly the voxels of
    example_ct_sm (checked here; the crop kept the full CT's affine, so the two are aligned by
    slice index, not by their headers). Scored on the slab the reference covers: measured Dice
    0.922; floor 0.90. Below the slab the fallback continues the liver tip, which the reference
    cannot judge."""
    full = read_nifti(data_file(f"{TS_DIR}/example_ct.nii.gz"), modality="CT", units=ValueUnit.HU)
    crop = read_nifti(data_file(f"{TS_DIR}/example_ct_sm.nii.gz"), modality="CT", units=ValueUnit.HU)
    ref = read_labelmap(data_file(f"{TS_DIR}/example_seg.nii.gz"))
    start = full.shape[0] - crop.shape[0]
    np.testing.assert_array_equal(full.array[start:], crop.array)
    mask = segment_liver_fallback(full).labelmap.mask("liver")
    assert dice(mask[start:], ref.array == TS_LIVER) >= 0.90


# -- bad input ---------------------------------------------------------------------------------
def _small(modality: str = "CT", units: ValueUnit = ValueUnit.HU, value: float = 0.0) -> Volume:
    g = Geometry.from_spacing((8, 8, 8), (3.0, 3.0, 3.0))
    return Volume(np.full(g.shape, value, np.float32), g, modality, units)


def test_non_ct_volume_is_rejected() -> None:
    with pytest.raises(InputError, match="MR volume; the nelm fallback needs a contrast CT"):
        segment_liver_fallback(_small("MR", ValueUnit.ARBITRARY))


def test_ct_without_hounsfield_units_is_rejected() -> None:
    with pytest.raises(UnitsError, match="'arbitrary', not HU"):
        segment_liver_fallback(_small("CT", ValueUnit.ARBITRARY))


def test_ct_of_air_has_no_body() -> None:
    with pytest.raises(MaskError, match="no body found"):
        segment_liver_fallback(_small(value=-1000.0))


def test_invalid_settings_are_rejected() -> None:
    with pytest.raises(ConfigError, match="seed_erosion_mm"):
        LiverFallbackParams(seed_erosion_mm=-1.0)
    with pytest.raises(ConfigError, match="hu_window"):
        LiverFallbackParams(hu_window=(150.0, 90.0))
    with pytest.raises(ConfigError, match="unknown settings"):
        LiverHuSegmenter().segment(_small(), window=3)


def test_unknown_backend_lists_the_choices() -> None:
    with pytest.raises(ConfigError, match="auto, fallback, totalsegmentator"):
        segment_liver(_small(), backend="magic")
