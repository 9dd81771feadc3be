"""Lung shunt fraction: planar geometric mean, SPECT counts, given values, lung mass."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from nelm.errors import GeometryError, InputError, MaskError
from nelm.imaging.dicom_geometry import planar_geometry
from nelm.imaging.geometry import Geometry
from nelm.imaging.labelmap import LabelMap
from nelm.imaging.metadata import ValueUnit
from nelm.imaging.volume import Volume
from nelm.phantom import PhantomConfig, SyntheticPatient, generate_patient
from nelm.phantom.config import AcquisitionConfig, TareConfig
from nelm.y90.constants import DEFAULT_CONSTANTS
from nelm.y90.lsf import (
    PLANAR_OVERESTIMATION_WARNING,
    LsfMethod,
    LungMass,
    LungShunt,
    lsf_from_planar,
    lsf_from_spect,
    lsf_given,
    lung_mass,
)

# -- synthetic planar pair ----------------------------------------------------------------------
# A 6 x 8 view. In the anterior frame the lung ROI is the top-left 2 x 3 block, the liver ROI the
# bottom-right 3 x 4 block (asymmetric, so a wrong mirroring changes the answer).
SHAPE = (6, 8)


def _rois() -> tuple[np.ndarray, np.ndarray]:
    lung = np.zeros(SHAPE, dtype=bool)
    lung[0:2, 0:3] = True
    liver = np.zeros(SHAPE, dtype=bool)
    liver[3:6, 4:8] = True
    return lung, liver


def _pair() -> tuple[np.ndarray, np.ndarray]:
    """Anterior image and the posterior image as stored (seen from behind: columns mirrored)."""
    lung, liver = _rois()
    ant = np.where(lung, 10.0, 0.0) + np.where(liver, 50.0, 0.0) + 1.0  # 1 count background
    post_in_anterior_frame = np.where(lung, 8.0, 0.0) + np.where(liver, 30.0, 0.0) + 1.0
    return ant, post_in_anterior_frame[:, ::-1]


def _expected_lsf() -> float:
    # 6 lung pixels: anterior 11 each, posterior 9 each; 12 liver pixels: 51 and 31.
    gm_lung = math.sqrt((6 * 11.0) * (6 * 9.0))
    gm_liver = math.sqrt((12 * 51.0) * (12 * 31.0))
    return gm_lung / (gm_lung + gm_liver)


def test_planar_geometric_mean_by_hand() -> None:
    ant, post = _pair()
    lung, liver = _rois()
    shunt = lsf_from_planar(ant, post, lung, liver)
    assert shunt.fraction == pytest.approx(_expected_lsf(), rel=1e-12)
    assert shunt.method is LsfMethod.PLANAR_GEOMETRIC_MEAN
    assert shunt.lung_counts == pytest.approx(math.sqrt(66.0 * 54.0))
    assert PLANAR_OVERESTIMATION_WARNING in shunt.warnings
    assert "Allred" in shunt.warnings[0]
    json.dumps(shunt.to_dict())


def test_planar_mirroring_matters_and_can_be_switched_off() -> None:
    ant, post = _pair()
    lung, liver = _rois()
    # Without mirroring, the stored posterior pixels under the lung ROI are background only.
    unmirrored = lsf_from_planar(ant, post, lung, liver, posterior_mirrored=False)
    gm_lung = math.sqrt((6 * 11.0) * (6 * 1.0))
    gm_liver = math.sqrt((12 * 51.0) * (12 * 1.0))  # the liver block maps onto background columns 0-3
    assert unmirrored.fraction == pytest.approx(gm_lung / (gm_lung + gm_liver))
    # A posterior already in the anterior frame is used as is with posterior_mirrored=False.
    aligned = lsf_from_planar(ant, post[:, ::-1], lung, liver, posterior_mirrored=False)
    assert aligned.fraction == pytest.approx(_expected_lsf())


def test_planar_volumes_follow_their_grids() -> None:
    """Volumes on nelm's planar grids (posterior columns run to the patient's right) are aligned."""
    ant, post = _pair()
    lung, liver = _rois()
    g_ant = planar_geometry(SHAPE[0], SHAPE[1], (4.8, 4.8), "ANTERIOR")
    g_post = planar_geometry(SHAPE[0], SHAPE[1], (4.8, 4.8), "POSTERIOR")
    v_ant = Volume(ant[None], g_ant, "NM", ValueUnit.COUNTS)
    v_post = Volume(post[None], g_post, "NM", ValueUnit.COUNTS)
    lung_lm = LabelMap.from_binary(lung[None], g_ant, "lungs")
    assert lsf_from_planar(v_ant, v_post, lung_lm, liver[None]).fraction == pytest.approx(_expected_lsf())
    # A posterior view already flipped into the anterior frame (same grid) is not flipped again.
    v_post_aligned = Volume(post[:, ::-1][None].copy(), g_ant, "NM", ValueUnit.COUNTS)
    assert lsf_from_planar(v_ant, v_post_aligned, lung, liver).fraction == pytest.approx(_expected_lsf())


def test_planar_with_posterior_rois() -> None:
    ant, post = _pair()
    lung, liver = _rois()
    shunt = lsf_from_planar(
        ant, post, lung, liver, posterior_lung_roi=lung[:, ::-1], posterior_liver_roi=liver[:, ::-1]
    )
    assert shunt.fraction == pytest.approx(_expected_lsf())


@pytest.mark.parametrize(
    ("change", "error", "words"),
    [
        (lambda a, p, lu, li: (a, p[:, :-1], lu, li), GeometryError, "posterior view"),
        (lambda a, p, lu, li: (a, p, lu[:, :-1], li), GeometryError, "lung ROI"),
        (lambda a, p, lu, li: (a, p, np.zeros_like(lu), li), MaskError, "lung ROI is empty"),
        (lambda a, p, lu, li: (a, p, lu, li | lu), MaskError, "overlap"),
        (lambda a, p, lu, li: (np.where(lu, 0.0, a), p, lu, li), InputError, "lung ROI holds no counts"),
        (lambda a, p, lu, li: (a - 5.0, p, lu, li), InputError, "negative counts"),
        (lambda a, p, lu, li: (np.where(lu, np.nan, a), p, lu, li), InputError, "NaN"),
        (lambda a, p, lu, li: (np.stack([a, a]), p, lu, li), InputError, "one-slice"),
        (lambda a, p, lu, li: (a, p, a, li), InputError, "lung ROI must be a boolean"),
    ],
)
def test_planar_bad_input(change, error, words) -> None:  # type: ignore[no-untyped-def]
    ant, post = _pair()
    lung, liver = _rois()
    with pytest.raises(error, match=words):
        lsf_from_planar(*change(ant, post, lung, liver))


def test_planar_posterior_roi_options_are_checked() -> None:
    ant, post = _pair()
    lung, liver = _rois()
    with pytest.raises(InputError, match="both posterior_lung_roi and posterior_liver_roi"):
        lsf_from_planar(ant, post, lung, liver, posterior_lung_roi=lung)
    with pytest.raises(InputError, match="posterior_mirrored"):
        lsf_from_planar(
            ant,
            post,
            lung,
            liver,
            posterior_lung_roi=lung,
            posterior_liver_roi=liver,
            posterior_mirrored=True,
        )
    with pytest.raises(MaskError, match="posterior view overlap"):
        lsf_from_planar(ant, post, lung, liver, posterior_lung_roi=lung, posterior_liver_roi=lung)


# -- SPECT ----------------------------------------------------------------------------------------
def _spect() -> tuple[Volume, np.ndarray, np.ndarray]:
    g = Geometry.from_spacing((6, 6, 6), (4.0, 4.0, 4.0), (0.0, 0.0, 0.0))
    arr = np.full((6, 6, 6), 0.5)
    lung = np.zeros((6, 6, 6), dtype=bool)
    lung[3:5, 1:3, 1:5] = True  # 2*2*4 = 16 voxels
    liver = np.zeros((6, 6, 6), dtype=bool)
    liver[1:3, 3:5, 1:4] = True  # 2*2*3 = 12 voxels
    arr[lung] = 3.0
    arr[liver] = 40.0
    return Volume(arr, g, "NM", ValueUnit.COUNTS), lung, liver


def test_spect_lsf_by_hand() -> None:
    spect, lung, liver = _spect()
    shunt = lsf_from_spect(spect, lung, liver)
    assert shunt.fraction == pytest.approx(16 * 3.0 / (16 * 3.0 + 12 * 40.0), rel=1e-12)
    assert shunt.method is LsfMethod.SPECT
    assert (shunt.lung_counts, shunt.liver_counts) == (48.0, 480.0)
    assert shunt.warnings == ()
    masks = [Volume(m.astype(np.uint8), spect.geometry, "OT", ValueUnit.LABEL) for m in (lung, liver)]
    assert lsf_from_spect(spect, *masks).fraction == shunt.fraction
    labelmaps = [LabelMap.from_binary(m, spect.geometry, n) for m, n in ((lung, "lungs"), (liver, "liver"))]
    assert lsf_from_spect(spect, *labelmaps).fraction == shunt.fraction


def test_spect_mask_on_another_grid_names_both_grids() -> None:
    spect, lung, liver = _spect()
    other = Geometry.from_spacing((6, 6, 6), (4.0, 4.0, 4.0), (10.0, 0.0, 0.0))
    with pytest.raises(GeometryError) as err:
        lsf_from_spect(spect, LabelMap.from_binary(lung, other, "lungs"), liver)
    message = str(err.value)
    assert "lung mask" in message
    assert "SPECT" in message
    assert "origin (10.00" in message
    with pytest.raises(GeometryError, match="liver mask has shape"):
        lsf_from_spect(spect, lung, liver[:5])


def test_spect_bad_masks_and_counts() -> None:
    spect, lung, liver = _spect()
    with pytest.raises(MaskError, match="lung mask is empty"):
        lsf_from_spect(spect, np.zeros_like(lung), liver)
    with pytest.raises(MaskError, match="overlap"):
        lsf_from_spect(spect, lung | liver, liver)
    with pytest.raises(InputError, match="liver mask holds no counts"):
        lsf_from_spect(spect.with_array(np.where(liver, 0.0, spect.array)), lung, liver)
    with pytest.raises(InputError, match="NaN"):
        lsf_from_spect(spect.with_array(np.where(lung, np.nan, spect.array)), lung, liver)
    with pytest.raises(InputError, match="Volume"):
        lsf_from_spect(np.asarray(spect.array), lung, liver)  # type: ignore[arg-type]


def test_spect_truncation_warning() -> None:
    spect, lung, liver = _spect()
    top = lung.copy()
    top[5, 1:3, 1:5] = True  # lungs reach the last slice: possibly cut off
    shunt = lsf_from_spect(spect, top, liver)
    assert any("touches the edge" in w and "underestimates" in w for w in shunt.warnings)


# -- LungShunt and given values ------------------------------------------------------------------
@pytest.mark.parametrize("bad", [1.0, 1.2, 6.0, -0.01, float("nan"), float("inf"), True, "0.1"])
def test_lung_shunt_rejects_impossible_fractions(bad: object) -> None:
    with pytest.raises(InputError, match="lung shunt fraction"):
        LungShunt(fraction=bad, method=LsfMethod.GIVEN)  # type: ignore[arg-type]


def test_lung_shunt_percent_and_given() -> None:
    shunt = lsf_given(0.075, source="MAA SPECT/CT report")
    assert shunt.percent == pytest.approx(7.5)
    assert shunt.to_dict()["method"] == "given"
    assert shunt.source == "MAA SPECT/CT report"
    with pytest.raises(InputError, match="source"):
        lsf_given(0.05, source=" ")
    with pytest.raises(InputError, match="fraction below 1"):
        lsf_given(6, source="report")


# -- lung mass ------------------------------------------------------------------------------------
def test_lung_mass_from_ct_volume_and_default() -> None:
    assert lung_mass(3000.0) == LungMass(
        mass_kg=3000.0 * 0.3 / 1000.0, method="ct_volume", lung_volume_ml=3000.0
    )
    assert lung_mass() == LungMass(mass_kg=1.0, method="default")
    dense = DEFAULT_CONSTANTS.with_(lung_density_g_per_ml=0.25)
    assert lung_mass(4000.0, dense).mass_kg == pytest.approx(1.0)
    json.dumps(lung_mass(3000.0).to_dict())
    for bad in (0.0, -10.0, float("nan")):
        with pytest.raises(InputError, match="lung_volume_ml"):
            lung_mass(bad)
    with pytest.raises(InputError, match="needs lung_volume_ml"):
        LungMass(mass_kg=1.0, method="ct_volume")


# -- the synthetic patient's MAA study -----------------------------------------------------------
def _phantom(lsf: float) -> SyntheticPatient:
    return generate_patient(
        PhantomConfig(
            seed=3,
            n_lesions=3,
            tare=TareConfig(lung_shunt_fraction=lsf),
            include_mri=False,
            include_pet=False,
            include_lowdose_ct=False,
            follow_ups=(),
            acquisition=AcquisitionConfig(ct_spacing_mm=(5.0, 3.0, 3.0)),
        )
    )


@pytest.fixture(scope="module", params=[0.06, 0.15])
def phantom(request: pytest.FixtureRequest) -> SyntheticPatient:
    return _phantom(request.param)


def test_phantom_spect_lsf_is_close_to_the_truth(phantom: SyntheticPatient) -> None:
    """SPECT LSF within 3 % (relative) of the prescribed LSF.

    The 12 mm FWHM blur moves counts across the mask borders; the thin lungs lose relatively more
    than the liver, so the measured value lies ~1 % low (0.0594 for 0.06 with this seed).
    """
    maa = phantom.time_point("maa")
    masks = maa.masks["spect_maa"]
    shunt = lsf_from_spect(phantom.image("maa", "spect_maa"), masks["lungs"], masks["liver"])
    assert phantom.truth.maa is not None
    assert shunt.fraction == pytest.approx(phantom.truth.maa.lung_shunt_fraction, rel=0.03)


def test_phantom_planar_lsf_matches_the_noise_free_geometric_mean(phantom: SyntheticPatient) -> None:
    """Planar LSF from the written views and ROIs within 2 % of the noise-free projection's value.

    The written views add Poisson noise and 10 mm blur; the ROIs are the projected organ
    silhouettes, so a little counts fall outside them (0.3-0.5 % low in the seeds tried).
    """
    maa = phantom.time_point("maa")
    views, rois = maa.planar["planar_maa"], maa.masks["planar_maa"]
    truth = phantom.truth.maa
    assert truth is not None
    shunt = lsf_from_planar(views["ANTERIOR"], views["POSTERIOR"], rois["planar_lungs"], rois["planar_liver"])
    assert shunt.fraction == pytest.approx(truth.planar.geometric_mean_lsf, rel=0.02)
    assert shunt.fraction > truth.lung_shunt_fraction  # planar overestimates
    # The ROIs are drawn on the anterior view: unflipped posterior pixels give a wrong answer.
    wrong = lsf_from_planar(
        views["ANTERIOR"].array,
        views["POSTERIOR"].array,
        rois["planar_lungs"],
        rois["planar_liver"],
        posterior_mirrored=False,
    )
    assert abs(wrong.fraction - truth.planar.geometric_mean_lsf) > 0.1 * truth.planar.geometric_mean_lsf
