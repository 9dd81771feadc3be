"""Quantify one time point: lesions, phases, viable tumour, SSTR uptake and burden.

:func:`quantify_time_point` takes the loaded images and masks of a manifest time point
(:class:`~nelm.timepoint_data.TimePointData`) and returns a
:class:`~nelm.quant.results.TimePointQuant`.

Grids
-----
Lesions are measured on the grid of the lesion mask (the *base grid*). The liver and segment
masks must lie on it (or are resampled onto it by nearest neighbour, with a warning). CT/MR
phases on another grid are resampled onto the base grid (trilinear) for their statistics. PET
uptake is measured on the PET's own grid (resampling would change SUVmax): the lesion, liver
and spleen masks are resampled onto it by nearest neighbour; a lesion too small to keep a voxel
there has no PET values.

Masks
-----
A binary lesion mask (one label without a tracking ID) is split into 26-connected components;
components smaller than the minimum lesion volume are not lesions but still count in the tumour
volume (with a warning). A missing liver or lesion mask is segmented by :mod:`nelm.segmentation`
when :attr:`QuantSettings.allow_fallback` is set, and the output's ``masks`` and ``warnings``
say so. A ``reference_liver`` mask, when given, replaces the automatic reference parenchyma.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt

from nelm.case import Patient
from nelm.errors import InputError, MaskError
from nelm.imaging.geometry import Geometry
from nelm.imaging.labelmap import LabelMap
from nelm.imaging.metadata import ValueUnit
from nelm.imaging.suv import Normalisation, SuvInputs, suv_factor
from nelm.imaging.volume import Volume
from nelm.quant.burden import BurdenLesion, liver_burden
from nelm.quant.diameters import AxialDiameters, axial_diameters, lesion_diameters
from nelm.quant.enhancement import (
    EnhancementSettings,
    PhaseStats,
    ReferenceRegion,
    phase_stats,
    reference_region,
    viable_mask,
)
from nelm.quant.lesions import LesionInstance, lesion_instances, lesion_label_map
from nelm.quant.pet import (
    DEFAULT_KRENNING_SCALE,
    KrenningScale,
    krenning_score,
    lesion_uptake,
    reference_uptake,
)
from nelm.quant.results import (
    AxialMeasure,
    EnhancingMeasure,
    LesionQuant,
    PetLesionQuant,
    PetReferenceQuant,
    PhaseMeasure,
    ReferenceQuant,
    TimePointQuant,
)
from nelm.timepoint_data import TimePointData

__all__ = ["ANATOMIC_PHASES", "QuantSettings", "quantify_time_point"]

logger = logging.getLogger(__name__)

#: CT/MR roles measured as phases, in the order they are reported.
ANATOMIC_PHASES: Final[tuple[str, ...]] = (
    "ct_unenhanced",
    "ct_arterial",
    "ct_portal",
    "ct_delayed",
    "mr_t1_pre",
    "mr_arterial",
    "mr_portal",
    "mr_hbp",
)
#: Phases read for viable tumour, in order of preference (mRECIST/EASL: late arterial phase).
VIABLE_PHASES: Final[tuple[str, ...]] = ("ct_arterial", "mr_arterial", "ct_portal", "mr_portal")
#: The unenhanced phase subtracted from each enhanced phase when present on the same study.
_UNENHANCED: Final[dict[str, str]] = {"ct": "ct_unenhanced", "mr": "mr_t1_pre"}


@dataclass(frozen=True)
class QuantSettings:
    """Settings of the quantification; every one is reported in the output.

    Parameters
    ----------
    enhancement:
        Reference region and enhancing-voxel rule.
    suv_normalisation:
        ``"bw"`` (default), ``"lbm_james128"``, ``"lbm_janmahasatian"`` or ``"bsa"``.
    krenning:
        Definitions of the Krenning-type score.
    allow_fallback:
        Segment a missing liver or lesion mask with :mod:`nelm.segmentation` (the output names
        the method and says it is a fallback). Off: a missing mask is an error.
    liver_backend:
        ``"auto"`` (TotalSegmentator when its weights are present locally, else the non-learning
        fallback), ``"fallback"`` or ``"totalsegmentator"``.
    """

    enhancement: EnhancementSettings = field(default_factory=EnhancementSettings)
    suv_normalisation: Normalisation = "bw"
    krenning: KrenningScale = DEFAULT_KRENNING_SCALE
    allow_fallback: bool = True
    liver_backend: str = "auto"

    def describe(self) -> dict[str, object]:
        """JSON-serialisable form for the output."""
        return {
            "enhancement": asdict(self.enhancement),
            "suv_normalisation": self.suv_normalisation,
            "krenning": self.krenning.as_dict(),
            "allow_fallback": self.allow_fallback,
            "liver_backend": self.liver_backend,
        }


def _axial(d: AxialDiameters | None) -> AxialMeasure | None:
    if d is None:
        return None
    return AxialMeasure(
        long_mm=d.long_mm,
        short_mm=d.short_mm,
        slice_index=d.slice_index,
        long_endpoints_lps_mm=d.long_endpoints_lps_mm,
        short_endpoints_lps_mm=d.short_endpoints_lps_mm,
        who_product_mm2=d.who_product_mm2,
    )


def _on_grid(lm: LabelMap, base: Geometry, role: str, warnings: list[str]) -> LabelMap:
    if lm.geometry.same_as(base):
        return lm
    warnings.append(
        f"mask {role} lies on another grid than the lesions; resampled onto it (nearest neighbour)"
    )
    return lm.resample_to(base)


def _phase_on_grid(vol: Volume, base: Geometry) -> npt.NDArray[np.float64]:
    if vol.geometry.same_as(base):
        return np.asarray(vol.array, dtype=np.float64)
    return np.asarray(vol.resample_to(base, interpolation="linear").array, dtype=np.float64)


@dataclass
class _Phases:
    arrays: dict[str, npt.NDArray[np.float64]]
    units: dict[str, str]


def _phases(data: TimePointData, base: Geometry, progress: Callable[[str], None] | None) -> _Phases:
    arrays: dict[str, npt.NDArray[np.float64]] = {}
    units: dict[str, str] = {}
    for role in ANATOMIC_PHASES:
        vol = data.images.get(role)
        if vol is None:
            continue
        if progress:
            progress(f"phase {role}")
        arrays[role] = _phase_on_grid(vol, base)
        units[role] = vol.units.value
    return _Phases(arrays, units)


def _enhancement_map(phases: _Phases) -> tuple[str, npt.NDArray[np.float64], str] | None:
    for role in VIABLE_PHASES:
        if role in phases.arrays:
            pre = _UNENHANCED[role.split("_", 1)[0]]
            if pre in phases.arrays:
                return role, phases.arrays[role] - phases.arrays[pre], f"{role} - {pre}"
            return role, phases.arrays[role], role
    return None


def _lesion_phases(
    phases: _Phases, ref: dict[str, PhaseStats], sl: tuple[slice, slice, slice], mask: npt.NDArray[np.bool_]
) -> dict[str, PhaseMeasure]:
    out: dict[str, PhaseMeasure] = {}
    for role, arr in phases.arrays.items():
        s = phase_stats(arr[sl], mask)
        r = ref[role]
        is_ct = phases.units[role] == ValueUnit.HU.value
        out[role] = PhaseMeasure(
            units=phases.units[role],
            mean=s.mean,
            median=s.median,
            sd=s.sd,
            n_voxels=s.n_voxels,
            difference_to_parenchyma=s.mean - r.mean,
            ratio_to_parenchyma=None if is_ct or r.mean == 0 else s.mean / r.mean,
        )
    return out


@dataclass
class _Pet:
    reference: PetReferenceQuant
    per_lesion: dict[str, PetLesionQuant]


def _pet(
    data: TimePointData,
    lesions: LabelMap,
    instances: list[LesionInstance],
    liver: LabelMap,
    patient: Patient | None,
    settings: QuantSettings,
    warnings: list[str],
) -> _Pet | None:
    pet = data.images.get("pet_sstr")
    if pet is None:
        return None
    sex = str(patient.sex.value) if patient is not None and patient.sex is not None else None
    factor = suv_factor(SuvInputs.from_volume(pet, sex=sex), normalisation=settings.suv_normalisation)
    suv = np.asarray(pet.array, dtype=np.float64) * factor.factor
    g = pet.geometry
    les_pet = lesions.resample_to(g)
    liver_pet = liver.resample_to(g).any_mask() if liver.labels else None
    spleen = data.masks.get("spleen")
    spleen_pet = spleen.resample_to(g).any_mask() if spleen is not None else None
    ref = reference_uptake(suv, g, liver_pet, spleen_pet, exclude=les_pet.any_mask())
    per: dict[str, PetLesionQuant] = {}
    for inst in instances:
        m = les_pet.array == inst.label_value
        n = int(np.count_nonzero(m))
        if n == 0:
            warnings.append(f"lesion {inst.lesion_id} keeps no voxel on the PET grid; no PET values")
            continue
        up = lesion_uptake(suv, g, m)
        per[inst.lesion_id] = PetLesionQuant(
            suv_max=up.suv_max,
            suv_peak=up.suv_peak,
            suv_mean=up.suv_mean,
            metabolic_volume_ml=up.metabolic_volume_ml,
            krenning_score=krenning_score(up, ref, settings.krenning),
            voxels_on_pet_grid=n,
        )
    reference = PetReferenceQuant(
        suv_formula=factor.formula,
        normalisation=factor.normalisation,
        liver_suv_mean=ref.liver_suv_mean,
        liver_suv_sd=ref.liver_suv_sd,
        spleen_suv_mean=ref.spleen_suv_mean,
        method=ref.method,
        krenning_scale=settings.krenning.describe(),
    )
    return _Pet(reference, per)


def _fallback_ct(data: TimePointData) -> tuple[str, Volume] | None:
    for role in ("ct_portal", "ct_arterial", "ct_unenhanced", "ct_delayed"):
        if role in data.images:
            return role, data.images[role]
    return None


def _masks_or_fallback(
    data: TimePointData,
    settings: QuantSettings,
    masks: dict[str, str],
    warnings: list[str],
    progress: Callable[[str], None] | None,
) -> tuple[LabelMap, LabelMap]:
    """The liver and lesion masks: given ones, else nelm's fallback segmentations (said so)."""
    tp = data.time_point
    have = {r: r in data.masks for r in ("liver", "lesions")}
    if all(have.values()):
        return data.masks["liver"], data.masks["lesions"]
    missing = " and ".join(r for r, ok in have.items() if not ok)
    ct = _fallback_ct(data)
    if not settings.allow_fallback or ct is None:
        why = "fallback segmentation is turned off" if ct else "no CT phase to segment"
        raise InputError(
            f"time point {tp.id}: no {missing} mask and {why}; give masks in the manifest "
            "(masks: {liver: ..., lesions: ...})"
        )
    from nelm.segmentation import segment_lesions, segment_liver

    if have["liver"]:
        liver = data.masks["liver"]
    else:
        if progress:
            progress("fallback liver segmentation")
        result = segment_liver(ct[1], backend=settings.liver_backend)
        liver = result.labelmap
        masks["liver"] = f"{result.method} on {ct[0]}: {result.provenance}"
        warnings.append(f"liver: no mask given; {masks['liver']}")
        warnings.extend(f"liver segmentation: {w}" for w in result.warnings)
    if have["lesions"]:
        return liver, data.masks["lesions"]
    if progress:
        progress("fallback lesion segmentation")
    phases = {r: data.images.get(r) for r in ("ct_arterial", "ct_portal")}
    on_liver = {
        r: (v if v is None or v.geometry.same_as(liver.geometry) else v.resample_to(liver.geometry))
        for r, v in phases.items()
    }
    result = segment_lesions(liver, on_liver["ct_arterial"], on_liver["ct_portal"])
    masks["lesions"] = f"{result.method}: {result.provenance}"
    warnings.append(f"lesions: no mask given; {masks['lesions']}")
    warnings.extend(f"lesion segmentation: {w}" for w in result.warnings)
    return liver, result.labelmap


def quantify_time_point(
    data: TimePointData,
    *,
    patient: Patient | None = None,
    settings: QuantSettings = QuantSettings(),
    progress: Callable[[str], None] | None = None,
) -> TimePointQuant:
    """Quantify the liver and its lesions at one time point (see the module docstring).

    Raises
    ------
    InputError
        The time point has no liver or lesion mask and fallback segmentation is off or has no
        CT phase to work on.
    """
    tp = data.time_point
    warnings: list[str] = []
    masks = {role: f"given: {lm.source}" for role, lm in data.masks.items()}
    liver_given, lesions_given = _masks_or_fallback(data, settings, masks, warnings, progress)
    # A binary lesion mask (one label without a tracking ID, or named like "lesions") becomes
    # one label per 26-connected component (nelm.quant.lesions).
    single = len(lesions_given.labels) == 1 and not next(iter(lesions_given.labels.values())).tracking_id
    lesions = lesion_label_map(lesions_given, from_binary=single)
    base = lesions.geometry
    liver = _on_grid(liver_given, base, "liver", warnings)
    segments = (
        _on_grid(data.masks["segments"], base, "segments", warnings) if "segments" in data.masks else None
    )

    if progress:
        progress("lesions")
    instances = lesion_instances(lesions, segments=segments, liver=liver)
    phases = _phases(data, base, progress)
    liver_mask = liver.any_mask()
    # The burden counts every voxel of the given lesion mask, including components too small to
    # count as lesions (they are tumour, only not measurable).
    lesion_union = lesions_given.any_mask()
    dropped = int(np.count_nonzero(lesion_union)) - int(np.count_nonzero(lesions.array))
    if dropped:
        warnings.append(
            f"{dropped} lesion-mask voxels ({dropped * base.voxel_volume_ml:.2f} mL) lie in components "
            "smaller than the minimum lesion volume: counted in the tumour volume, not as lesions"
        )

    reference: ReferenceQuant | None = None
    ref_stats: dict[str, PhaseStats] = {}
    enh = _enhancement_map(phases)
    enh_ref: PhaseStats | None = None
    if phases.arrays:
        if "reference_liver" in data.masks:
            given_ref = _on_grid(data.masks["reference_liver"], base, "reference_liver", warnings).any_mask()
            given_ref &= ~lesion_union
            if not given_ref.any():
                raise MaskError(
                    f"time point {tp.id}: the reference_liver mask holds no voxel outside the lesions"
                )
            region = ReferenceRegion(
                mask=given_ref,
                volume_ml=float(np.count_nonzero(given_ref)) * base.voxel_volume_ml,
                method=f"given: {data.masks['reference_liver'].source} (lesion voxels removed)",
            )
        else:
            region = reference_region(
                liver_mask,
                lesion_union,
                base,
                portal=phases.arrays.get("ct_portal"),
                settings=settings.enhancement,
            )
        ref_stats = {role: phase_stats(arr, region.mask) for role, arr in phases.arrays.items()}
        if enh is not None:
            enh_ref = phase_stats(enh[1], region.mask)
        reference = ReferenceQuant(
            method=region.method,
            volume_ml=region.volume_ml,
            phase_means={r: s.mean for r, s in ref_stats.items()},
            phase_sds={r: s.sd for r, s in ref_stats.items()},
            enhancement_map=enh[2] if enh else "",
            enhancing_threshold=(enh_ref.mean + settings.enhancement.threshold_sd * enh_ref.sd)
            if enh_ref
            else None,
        )

    pet = _pet(data, lesions, instances, liver, patient, settings, warnings)
    vox_ml = base.voxel_volume_ml
    results: list[LesionQuant] = []
    burden_lesions: list[BurdenLesion] = []
    crops = [
        (lesions.array[inst.bbox] == inst.label_value, base.cropped(inst.bbox_start, inst.bbox_stop))
        for inst in instances
    ]
    if progress:
        progress(f"diameters of {len(crops)} lesion(s)")
    sizes = lesion_diameters(crops)
    for inst, (mask, g), size in zip(instances, crops, sizes, strict=True):
        if progress:
            progress(f"lesion {inst.lesion_id}")
        sl = inst.bbox
        axial = size.axial
        enhancing: EnhancingMeasure | None = None
        n_enh: int | None = None
        if enh is not None and enh_ref is not None:
            viable = viable_mask(enh[1][sl], mask, enh_ref, settings.enhancement)
            n_enh = int(np.count_nonzero(viable.mask))
            enhancing = EnhancingMeasure(
                phase=enh[0],
                enhancing_volume_ml=n_enh * vox_ml,
                enhancing_fraction=n_enh / inst.voxel_count,
                viable_axial=_axial(axial_diameters(viable.mask, g)) if n_enh else None,
            )
        lesion_phases = _lesion_phases(phases, ref_stats, sl, mask)
        results.append(
            LesionQuant(
                lesion_id=inst.lesion_id,
                tracking_uid=inst.tracking_uid,
                centroid_lps_mm=inst.centroid_lps_mm,
                segment=inst.segment,
                lobe=inst.lobe,
                volume_ml=inst.volume_ml,
                axial=_axial(axial),
                max_3d_diameter_mm=size.max_3d_mm,
                phases=lesion_phases,
                enhancing=enhancing,
                choi_portal_mean_hu=lesion_phases["ct_portal"].mean if "ct_portal" in lesion_phases else None,
                pet=pet.per_lesion.get(inst.lesion_id) if pet else None,
            )
        )
        burden_lesions.append(
            BurdenLesion(
                lesion_id=inst.lesion_id,
                voxel_count=inst.voxel_count,
                enhancing_voxel_count=n_enh,
                long_mm=axial.long_mm if axial else None,
                who_product_mm2=axial.who_product_mm2 if axial else None,
                lobe=inst.lobe,
            )
        )
    if not liver_mask.any():
        raise MaskError(f"time point {tp.id}: the liver mask is empty")
    patient_quant = liver_burden(
        liver_mask,
        lesion_union,
        burden_lesions,
        vox_ml,
        segments=segments.array if segments is not None else None,
    )
    warnings.extend(lesions.warnings)
    return TimePointQuant(
        time_point=tp.id,
        date=str(tp.date),
        grid=base.to_dict(),
        masks=masks,
        phases=list(phases.arrays),
        patient=patient_quant,
        lesions=results,
        reference=reference,
        pet=pet.reference if pet else None,
        warnings=warnings,
        settings=settings.describe(),
    )
