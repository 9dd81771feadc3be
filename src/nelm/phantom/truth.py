"""The ground truth of the synthetic patient, as written to ``truth.json``.

Two kinds of truth are recorded, so that a measurement can be compared with either:

* **analytic** values from the continuous model: lesion volumes ``4/3·π·a·b·c``, diameters,
  prescribed tissue values, activities and ratios; organ volumes from high-resolution
  integration (:class:`~nelm.phantom.anatomy.OrganVolumes`);
* **discretised** values on each image grid: voxel counts (voxel centre inside the solid) and
  volumes of every mask, and the concentrations actually painted on each nuclear grid.

Conventions (also stored in the document under ``conventions``): LPS millimetres; lesion axes
parallel to the patient axes; the "axial long diameter" is the longest diameter in the axial
plane through the lesion centre (``2·max(a, b)``), the short diameter its perpendicular in the
same plane (``2·min(a, b)``); the liver volume includes its tumours; hepatic tumour burden is
tumour volume / liver volume × 100.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from nelm import RESEARCH_USE_DISCLAIMER

__all__ = [
    "CONVENTIONS",
    "GridTruth",
    "ImageTruth",
    "LesionTruth",
    "MaaTruth",
    "MaskCount",
    "OrgansTruth",
    "PhantomTruth",
    "PlanarTruth",
    "SstrPetTruth",
    "TareTruth",
    "TimePointTruth",
    "Y90PetTruth",
    "lesion_distribution",
]

#: Human-readable conventions stored in ``truth.json``.
CONVENTIONS: dict[str, str] = {
    "coordinates": "patient LPS mm (x left, y posterior, z superior); arrays indexed [slice, row, column]",
    "masks": "a voxel belongs to a mask when its centre lies inside the analytic solid",
    "partial_volume": "images are painted with 4x4x4-supersampled partial-volume fractions, then blurred",
    "lesion_axes": "lesion semi-axes are parallel to the patient x, y, z axes",
    "axial_long_diameter": "longest diameter in the axial plane through the centre, 2*max(a, b)",
    "axial_short_diameter": "longest diameter perpendicular to it in that plane, 2*min(a, b)",
    "max_3d_diameter": "largest 3-D diameter, 2*max(a, b, c)",
    "necrotic_core": "concentric ellipsoid with semi-axes f*(a, b, c); enhancing volume = shell",
    "liver_volume": "whole liver including tumours; high-resolution integration, not a voxel count",
    "hepatic_tumour_burden_percent": "sum of lesion volumes / liver volume * 100",
    "distribution": "bilobar when lesions lie in the right lobe (segments 5-8) and the left liver (1-4)",
    "segments": "Couinaud-like: vertical planes through the IVC axis and the portal plane "
    "(see nelm.phantom.anatomy)",
    "perfused": "normal liver whose voxel centre lies in the territory's segments, plus lesions whose "
    "centroid does",
    "tn_ratio": "concentration of viable perfused tumour / normal perfused liver; necrosis receives none",
    "lung_shunt_fraction": "lung activity / (lung + liver activity) in the noise-free truth",
}


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class GridTruth(_Model):
    """One image grid."""

    shape: tuple[int, int, int]
    spacing_mm: tuple[float, float, float]
    affine_lps_mm: list[list[float]]
    orientation: str


class ImageTruth(_Model):
    """One synthetic series."""

    modality: str
    units: str
    series_instance_uid: str
    frame_of_reference_uid: str
    series_description: str
    acquisition_datetime: str
    grid: GridTruth
    psf_fwhm_mm: tuple[float, float, float]
    noise: str


class MaskCount(_Model):
    """Discretised size of one label of one mask on one grid."""

    voxel_count: int
    volume_ml: float


class LesionTruth(_Model):
    """One lesion at one time point."""

    tracking_id: str
    label_value: int
    status: str
    present: bool
    shape: str
    centroid_lps_mm: tuple[float, float, float]
    semi_axes_mm: tuple[float, float, float]
    size_factor: float
    volume_ml: float
    enhancing_volume_ml: float
    necrotic_volume_ml: float
    necrotic_core_fraction: float
    axial_long_diameter_mm: float
    axial_short_diameter_mm: float
    max_3d_diameter_mm: float
    segment: int
    lobe: str
    perfused: bool
    hypervascular: bool
    ct_hu: dict[str, float]
    ct_hu_necrotic: float
    mr_hbp_ratio_to_liver: float
    sstr_uptake_ratio_to_liver: float
    sstr_suv: float
    sstr_bq_per_ml: float | None
    maa_concentration_ratio_to_normal_liver: float
    y90_bq_per_ml: float | None
    voxel_counts: dict[str, int]


class TimePointTruth(_Model):
    """Patient-level truth at one time point."""

    id: str
    kind: str
    datetime: str
    study_instance_uid: str
    images: dict[str, ImageTruth]
    lesions: list[LesionTruth]
    lesion_count: int
    liver_volume_ml: float
    tumour_volume_ml: float
    enhancing_tumour_volume_ml: float
    necrotic_tumour_volume_ml: float
    hepatic_tumour_burden_percent: float
    enhancing_tumour_burden_percent: float
    distribution: str
    mask_counts: dict[str, dict[str, dict[str, MaskCount]]]
    """Image role of the grid → mask role → label name → discretised size."""


class OrgansTruth(_Model):
    """High-resolution organ volumes (time-invariant)."""

    liver_volume_ml: float
    segment_volumes_ml: dict[str, float]
    right_lobe_volume_ml: float
    left_lobe_volume_ml: float
    caudate_volume_ml: float
    spleen_volume_ml: float
    kidneys_volume_ml: float
    lungs_volume_ml: float
    perfused_territory_volume_ml: float | None
    method: str


class SstrPetTruth(_Model):
    """Baseline 68Ga-DOTATATE PET."""

    radiopharmaceutical: str
    radionuclide: str
    half_life_s: float
    injected_activity_mbq: float
    injection_datetime: str
    scan_datetime: str
    decay_factor_injection_to_scan: float
    decay_correction: str
    patient_weight_kg: float
    suv_bw: dict[str, float]
    bq_per_ml: dict[str, float]


class PlanarTruth(_Model):
    """Planar MAA anterior/posterior pair (noise-free, without collimator blur)."""

    acquisition_datetime: str
    lung_anterior_counts: float
    lung_posterior_counts: float
    liver_anterior_counts: float
    liver_posterior_counts: float
    geometric_mean_lsf: float
    true_lsf: float
    mu_soft_tissue_per_cm: float
    mu_lung_per_cm: float
    sensitivity_cps_per_mbq: float
    duration_s: float


class MaaTruth(_Model):
    """Tc-99m MAA planning study."""

    injected_activity_mbq: float
    injection_datetime: str
    spect_datetime: str
    half_life_s: float
    territory: str
    perfused_segments: list[int]
    tn_ratio: float
    lung_shunt_fraction: float
    spect_total_counts: float
    spect_normal_liver_counts_per_ml: float
    spect_tumour_counts_per_ml: float
    spect_lung_counts_per_ml: float
    spect_lung_counts: float
    spect_liver_counts: float
    planar: PlanarTruth


class TareTruth(_Model):
    """The Y-90 treatment."""

    device: str
    activity_gbq: float
    treatment_datetime: str
    territory: str
    manifest_target: str
    lung_shunt_fraction: float
    tn_ratio: float
    lung_activity_gbq: float
    liver_activity_gbq: float


class Y90PetTruth(_Model):
    """Post-treatment Y-90 PET."""

    scan_datetime: str
    elapsed_h: float
    half_life_s: float
    positron_fraction: float
    decay_factor_treatment_to_scan: float
    activity_at_scan_gbq: float
    normal_liver_bq_per_ml: float
    tumour_bq_per_ml: float
    lung_bq_per_ml: float
    lung_shunt_fraction: float


class PhantomTruth(_Model):
    """The whole ``truth.json`` document."""

    nelm_truth: Literal[1] = 1
    disclaimer: str = RESEARCH_USE_DISCLAIMER
    generator: str
    seed: int
    case_id: str
    config: dict[str, object]
    conventions: dict[str, str]
    organs: OrgansTruth
    time_points: list[TimePointTruth]
    pet_sstr: SstrPetTruth | None
    maa: MaaTruth | None
    tare: TareTruth | None
    pet_y90: Y90PetTruth | None

    def time_point(self, tp_id: str) -> TimePointTruth:
        """The truth of one time point by id."""
        for tp in self.time_points:
            if tp.id == tp_id:
                return tp
        raise KeyError(f"no time point {tp_id!r}; have {[tp.id for tp in self.time_points]}")


def lesion_distribution(lobes: list[str]) -> str:
    """``bilobar``, ``right`` (right lobe only), ``left`` (left liver only) or ``none``.

    The caudate lobe counts with the left liver (segments 1–4).
    """
    right = "right" in lobes
    left = any(lobe in ("left", "caudate") for lobe in lobes)
    if right and left:
        return "bilobar"
    if right:
        return "right"
    if left:
        return "left"
    return "none"
