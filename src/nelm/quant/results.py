"""JSON-serialisable results of the quantification of one time point.

Pydantic v2 models (frozen), so the CLI, reports, a web server and cohort runners all consume
the same objects and the JSON has a schema (``TimePointQuant.model_json_schema()``). Every value
carries its unit in its name; every method carries a sentence saying how it was computed.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from nelm import RESEARCH_USE_DISCLAIMER

__all__ = [
    "AxialMeasure",
    "EnhancingMeasure",
    "LesionQuant",
    "PatientQuant",
    "PetLesionQuant",
    "PetReferenceQuant",
    "PhaseMeasure",
    "ReferenceQuant",
    "RegionQuant",
    "TimePointQuant",
]

Point = tuple[float, float, float]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AxialMeasure(_Model):
    """RECIST-style axial diameters of a region (edge-to-edge calipers, LPS endpoints)."""

    long_mm: float
    short_mm: float
    slice_index: int
    long_endpoints_lps_mm: tuple[Point, Point]
    short_endpoints_lps_mm: tuple[Point, Point]
    who_product_mm2: float


class PhaseMeasure(_Model):
    """A lesion's intensity on one CT/MR phase and its contrast to the reference parenchyma."""

    units: str
    mean: float
    median: float
    sd: float
    n_voxels: int
    difference_to_parenchyma: float
    """Lesion mean minus parenchyma mean (HU on CT)."""
    ratio_to_parenchyma: float | None
    """Lesion mean over parenchyma mean (MR); ``None`` on CT, where a ratio of HU is meaningless."""


class EnhancingMeasure(_Model):
    """The viable (enhancing) part of a lesion (qEASL-style; mRECIST and EASL diameters)."""

    phase: str
    enhancing_volume_ml: float
    enhancing_fraction: float
    viable_axial: AxialMeasure | None
    """mRECIST viable long axis (``long_mm``) and the EASL bidimensional product
    (``who_product_mm2``) of the enhancing part; ``None`` when nothing enhances."""


class PetLesionQuant(_Model):
    """SSTR PET uptake of a lesion (on the PET grid)."""

    suv_max: float
    suv_peak: float | None
    suv_mean: float
    metabolic_volume_ml: float
    krenning_score: int | None
    voxels_on_pet_grid: int


class LesionQuant(_Model):
    """Every measurement of one lesion at one time point."""

    lesion_id: str
    tracking_uid: str
    centroid_lps_mm: Point
    segment: int | None
    lobe: str | None
    volume_ml: float
    axial: AxialMeasure | None
    max_3d_diameter_mm: float
    phases: dict[str, PhaseMeasure]
    enhancing: EnhancingMeasure | None
    choi_portal_mean_hu: float | None
    pet: PetLesionQuant | None


class ReferenceQuant(_Model):
    """The normal-parenchyma reference of the CT/MR phases."""

    method: str
    volume_ml: float
    phase_means: dict[str, float]
    phase_sds: dict[str, float]
    enhancement_map: str
    """How the enhancing-voxel map was made, e.g. ``ct_arterial - ct_unenhanced``."""
    enhancing_threshold: float | None


class PetReferenceQuant(_Model):
    """SUV normalisation and reference organ uptake of the SSTR PET."""

    suv_formula: str
    normalisation: str
    liver_suv_mean: float | None
    liver_suv_sd: float | None
    spleen_suv_mean: float | None
    method: str
    krenning_scale: str


class RegionQuant(_Model):
    """Tumour in a segment or lobe."""

    region_volume_ml: float
    tumour_volume_ml: float
    tumour_percent: float


class PatientQuant(_Model):
    """Patient-level burden (see :mod:`nelm.quant.burden`)."""

    liver_volume_ml: float
    tumour_volume_ml: float
    hepatic_tumour_burden_percent: float
    burden_category: str
    enhancing_tumour_volume_ml: float | None
    enhancing_tumour_burden_percent: float | None
    lesion_count: int
    distribution: str
    dominant_lesion_id: str | None
    dominant_lesion_volume_ml: float | None
    burden_1d_mm: float | None
    burden_2d_mm2: float | None
    burden_1d_lesions: tuple[str, ...]
    by_segment: dict[str, RegionQuant] | None
    by_lobe: dict[str, RegionQuant] | None


class TimePointQuant(_Model):
    """The quantification of one time point."""

    nelm_quant: int = 1
    disclaimer: str = RESEARCH_USE_DISCLAIMER
    time_point: str
    date: str
    grid: dict[str, object]
    """The grid lesions were measured on (shape, spacing, affine, orientation)."""
    masks: dict[str, str]
    """Mask role → where it came from (``given: path`` or the fallback's provenance)."""
    phases: list[str]
    patient: PatientQuant
    lesions: list[LesionQuant]
    reference: ReferenceQuant | None
    pet: PetReferenceQuant | None
    warnings: list[str]
    settings: dict[str, object]
