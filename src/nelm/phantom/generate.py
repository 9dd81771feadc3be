"""Generate the synthetic patient: :func:`generate_patient` → :class:`SyntheticPatient`.

Time points (ids as in the manifest):

============  ==============  =================================================================
id            kind            studies
============  ==============  =================================================================
baseline      baseline        CT unenhanced / late arterial (+2 min) / portal venous (+2 min 35 s);
                              68Ga-DOTATATE PET (injected +1 h, imaged +2 h); MRI
                              hepatobiliary phase (+5 h)
maa           planning        planar MAA pair (45 min p.i.), MAA SPECT (60 min p.i.) and its
                              low-dose CT (same frame of reference)
y90           post_treatment  Y-90 PET ``y90_pet_delay_h`` after the treatment
fu1, fu2, …   follow_up       CT late arterial and portal venous
============  ==============  =================================================================

UIDs are deterministic: ``pydicom.uid.generate_uid(entropy_srcs=[seed, time point, series])``;
one Study Instance UID per time point; CT phases of one visit share a Frame of Reference UID,
as do the MAA SPECT and its low-dose CT; PET and MRI have their own. (The phantom does not
move, so all studies are in fact registered; the UIDs say what a scanner would.)
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Any

import numpy as np

from nelm import __version__
from nelm.errors import InputError
from nelm.imaging.labelmap import LabelMap
from nelm.imaging.metadata import PatientIdentity
from nelm.imaging.volume import Volume
from nelm.phantom.anatomy import (
    LEFT_LOBE_SEGMENTS,
    RIGHT_LOBE_SEGMENTS,
    Anatomy,
)
from nelm.phantom.config import PhantomConfig, Territory
from nelm.phantom.lesions import Lesion, LesionState
from nelm.phantom.studies import (
    MU_140KEV_PER_CM,
    NECROSIS_HU,
    TC99M_HALF_LIFE_S,
    Y90_HALF_LIFE_S,
    Y90_POSITRON_FRACTION,
    PerfusionTruth,
    ct_values,
    decay_factor,
    sstr_suv_values,
)
from nelm.phantom.synthesis import StudyBuilder, at_time, iso
from nelm.phantom.truth import (
    CONVENTIONS,
    LesionTruth,
    MaaTruth,
    MaskCount,
    OrgansTruth,
    PhantomTruth,
    PlanarTruth,
    TareTruth,
    TimePointTruth,
    Y90PetTruth,
    lesion_distribution,
)

__all__ = ["SyntheticPatient", "SyntheticTimePoint", "generate_patient"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class SyntheticTimePoint:
    """The studies and truth masks of one time point.

    Parameters
    ----------
    id, kind:
        Manifest time-point id and kind (``baseline``, ``planning``, ``post_treatment``,
        ``follow_up``).
    datetime:
        Start of the first acquisition (the manifest date).
    study_instance_uid:
        Shared by every series of the time point.
    images:
        Image role (manifest vocabulary) → 3-D volume.
    planar:
        Image role → view name (``ANTERIOR``, ``POSTERIOR``) → one-slice volume on nelm's planar
        convention grid (rows head to feet; columns to the patient's left on the anterior view
        and to the right on the posterior view, as seen from the detector).
    masks:
        Image role whose grid the masks lie on → mask role → label map.
    manifest_masks:
        Mask role → image role, the masks listed in the manifest.
    lesion_states:
        Every lesion that has appeared by this time point.
    """

    id: str
    kind: str
    datetime: datetime
    study_instance_uid: str
    images: Mapping[str, Volume]
    planar: Mapping[str, Mapping[str, Volume]]
    masks: Mapping[str, Mapping[str, LabelMap]]
    manifest_masks: Mapping[str, str]
    lesion_states: tuple[LesionState, ...]


@dataclass(frozen=True, eq=False)
class SyntheticPatient:
    """The generated patient: studies, masks, truth and noise-free truth images.

    ``noise_free`` maps ``"<time point>/<image role>"`` to the painted image before blur and
    noise (same grid, modality and units as the study): the reference for tests of
    quantification (e.g. the MAA lung shunt fraction and T/N hold exactly on it).
    """

    config: PhantomConfig
    anatomy: Anatomy
    lesions: tuple[Lesion, ...]
    time_points: tuple[SyntheticTimePoint, ...]
    truth: PhantomTruth
    noise_free: Mapping[str, Volume]
    identity: PatientIdentity

    def time_point(self, tp_id: str) -> SyntheticTimePoint:
        """A time point by id."""
        for tp in self.time_points:
            if tp.id == tp_id:
                return tp
        raise InputError(
            f"the synthetic patient has no time point {tp_id!r}; it has {[t.id for t in self.time_points]}"
        )

    def image(self, tp_id: str, role: str) -> Volume:
        """One study volume."""
        tp = self.time_point(tp_id)
        if role not in tp.images:
            raise InputError(f"time point {tp_id!r} has no image {role!r}; it has {sorted(tp.images)}")
        return tp.images[role]

    def mask(self, tp_id: str, role: str, grid: str | None = None) -> LabelMap:
        """A truth mask; ``grid`` is the image role it lies on (default: the manifest's choice)."""
        tp = self.time_point(tp_id)
        g = grid or tp.manifest_masks.get(role)
        if g is None or g not in tp.masks or role not in tp.masks[g]:
            raise InputError(f"time point {tp_id!r} has no mask {role!r} on grid {g!r}")
        return tp.masks[g][role]


def _jsonable(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _mask_counts(masks: Mapping[str, LabelMap]) -> dict[str, dict[str, MaskCount]]:
    out: dict[str, dict[str, MaskCount]] = {}
    for role, lm in masks.items():
        counts = np.bincount(lm.array.ravel().astype(np.int64), minlength=max(lm.labels, default=0) + 1)
        vml = lm.geometry.voxel_volume_ml
        out[role] = {
            lab.name: MaskCount(voxel_count=int(counts[v]), volume_ml=int(counts[v]) * vml)
            for v, lab in lm.labels.items()
        }
    return out


def _lesion_truth(
    state: LesionState,
    b: StudyBuilder,
    masks: Mapping[str, Mapping[str, LabelMap]],
    counts: Mapping[str, Mapping[str, Mapping[str, MaskCount]]],
    *,
    sstr: bool,
    y90: PerfusionTruth | None,
) -> LesionTruth:
    les = state.lesion
    cfg = b.config
    liver_hu = {phase: ct_values(phase)["liver"] for phase in ("unenhanced", "arterial", "portal")}
    deltas = {
        "unenhanced": les.unenhanced_delta_hu,
        "arterial": les.arterial_delta_hu,
        "portal": les.portal_delta_hu,
    }
    suv = sstr_suv_values()["liver"] * les.sstr_ratio
    voxel_counts = {}
    for grid, by_role in counts.items():
        if "lesions" in by_role and f"lesion {state.tracking_id}" in by_role["lesions"]:
            voxel_counts[grid] = by_role["lesions"][f"lesion {state.tracking_id}"].voxel_count
    y90_conc = None
    if y90 is not None:
        vml = b.grids["pet"].voxel_volume_ml
        y90_conc = (y90.tumour_per_voxel / vml) if state.perfused else 0.0
    return LesionTruth(
        tracking_id=state.tracking_id,
        label_value=les.number,
        status=state.status,
        present=state.present,
        shape=cfg.lesion_shape.value,
        centroid_lps_mm=les.center_mm,
        semi_axes_mm=state.semi_axes_mm,
        size_factor=state.scale,
        volume_ml=state.volume_ml,
        enhancing_volume_ml=state.enhancing_volume_ml,
        necrotic_volume_ml=state.necrotic_volume_ml,
        necrotic_core_fraction=state.necrotic_fraction,
        axial_long_diameter_mm=state.axial_long_diameter_mm,
        axial_short_diameter_mm=state.axial_short_diameter_mm,
        max_3d_diameter_mm=state.max_diameter_mm,
        segment=les.segment,
        lobe=les.lobe,
        perfused=state.perfused,
        hypervascular=les.hypervascular,
        ct_hu={phase: liver_hu[phase] + deltas[phase] for phase in liver_hu},
        ct_hu_necrotic=NECROSIS_HU,
        mr_hbp_ratio_to_liver=les.mr_hbp_ratio,
        sstr_uptake_ratio_to_liver=les.sstr_ratio,
        sstr_suv=suv,
        sstr_bq_per_ml=suv * b.extra["sstr_factor"] if sstr and "sstr_factor" in b.extra else None,
        maa_concentration_ratio_to_normal_liver=(
            cfg.tare.tn_ratio if cfg.tare is not None and state.perfused else 0.0
        ),
        y90_bq_per_ml=y90_conc,
        voxel_counts=voxel_counts,
    )


def _time_point_truth(
    b: StudyBuilder,
    tp: SyntheticTimePoint,
    *,
    sstr: bool = False,
    y90: PerfusionTruth | None = None,
) -> TimePointTruth:
    counts = {grid: _mask_counts(m) for grid, m in tp.masks.items()}
    lesions = [_lesion_truth(s, b, tp.masks, counts, sstr=sstr, y90=y90) for s in tp.lesion_states]
    present = [s for s in tp.lesion_states if s.present]
    tumour = sum(s.volume_ml for s in present)
    enhancing = sum(s.enhancing_volume_ml for s in present)
    liver = b.organs.liver_ml
    return TimePointTruth(
        id=tp.id,
        kind=tp.kind,
        datetime=iso(tp.datetime),
        study_instance_uid=tp.study_instance_uid,
        images=b.image_truth.get(tp.id, {}),
        lesions=lesions,
        lesion_count=len(present),
        liver_volume_ml=liver,
        tumour_volume_ml=tumour,
        enhancing_tumour_volume_ml=enhancing,
        necrotic_tumour_volume_ml=tumour - enhancing,
        hepatic_tumour_burden_percent=100.0 * tumour / liver,
        enhancing_tumour_burden_percent=100.0 * enhancing / liver,
        distribution=lesion_distribution([s.lesion.lobe for s in present]),
        mask_counts=counts,
    )


def _organs_truth(b: StudyBuilder) -> OrgansTruth:
    seg = b.organs.segments_ml
    return OrgansTruth(
        liver_volume_ml=b.organs.liver_ml,
        segment_volumes_ml={str(k): v for k, v in seg.items() if k > 0},
        right_lobe_volume_ml=sum(seg.get(k, 0.0) for k in RIGHT_LOBE_SEGMENTS),
        left_lobe_volume_ml=sum(seg.get(k, 0.0) for k in LEFT_LOBE_SEGMENTS),
        caudate_volume_ml=seg.get(1, 0.0),
        spleen_volume_ml=b.organs.spleen_ml,
        kidneys_volume_ml=b.organs.kidneys_ml,
        lungs_volume_ml=b.organs.lungs_ml,
        perfused_territory_volume_ml=(
            sum(seg.get(k, 0.0) for k in b.territory) if b.config.tare is not None else None
        ),
        method=b.organs.method,
    )


def _manifest_target(territory: Territory) -> str:
    return territory.value


def generate_patient(config: PhantomConfig | None = None) -> SyntheticPatient:
    """Generate the synthetic NELM patient described by ``config`` (default: the demo patient).

    Deterministic: the same configuration gives identical arrays, UIDs and truth.

    Raises
    ------
    ConfigError
        If the configuration is invalid or its lesions cannot be placed.
    """
    cfg = config if config is not None else PhantomConfig()
    started = time.perf_counter()
    logger.info("generating synthetic patient (seed %d, %d lesions)", cfg.seed, cfg.n_lesions)
    b = StudyBuilder(cfg)
    acq = b.acq
    t0 = cfg.baseline_datetime
    time_points: list[SyntheticTimePoint] = []
    truths: list[TimePointTruth] = []

    # Baseline -------------------------------------------------------------------------------
    study = b.uid("baseline")
    images: dict[str, Volume] = {}
    ct_kw: dict[str, Any] = {
        "grid": "ct",
        "study_uid": study,
        "study_dt": t0,
        "noise_hu": acq.ct_noise_hu,
        "psf": acq.ct_psf_fwhm_mm,
    }
    for number, (role, phase, offset, desc) in enumerate(
        (
            ("ct_unenhanced", "unenhanced", timedelta(0), "CT abdomen unenhanced"),
            ("ct_arterial", "arterial", timedelta(minutes=2), "CT abdomen late arterial"),
            ("ct_portal", "portal", timedelta(minutes=2, seconds=35), "CT abdomen portal venous"),
        ),
        start=2,
    ):
        logger.info("baseline %s", role)
        images[role] = b.ct(
            "baseline", 0, role, phase, t0 + offset, number=number, description=desc + " (synthetic)", **ct_kw
        )
    if cfg.include_pet:
        logger.info("baseline pet_sstr")
        images["pet_sstr"] = b.pet_sstr(
            "baseline",
            t0 + timedelta(hours=1),
            t0 + timedelta(hours=2),
            number=5,
            study_uid=study,
            study_dt=t0,
        )
    if cfg.include_mri:
        logger.info("baseline mr_hbp")
        images["mr_hbp"] = b.mr("baseline", t0 + timedelta(hours=5), number=6, study_uid=study, study_dt=t0)
    masks = {"ct_portal": b.masks("ct", 0, ("liver", "lesions", "segments", "spleen"), "baseline/ct_portal")}
    if cfg.include_pet:
        masks["pet_sstr"] = b.masks("pet", 0, ("liver", "lesions", "spleen"), "baseline/pet_sstr")
    if cfg.include_mri:
        masks["mr_hbp"] = b.masks("mr", 0, ("liver", "lesions"), "baseline/mr_hbp")
    tp = SyntheticTimePoint(
        id="baseline",
        kind="baseline",
        datetime=t0,
        study_instance_uid=study,
        images=images,
        planar={},
        masks=masks,
        manifest_masks={r: "ct_portal" for r in ("liver", "lesions", "segments", "spleen")},
        lesion_states=b.states[0],
    )
    time_points.append(tp)
    truths.append(_time_point_truth(b, tp, sstr=cfg.include_pet))

    # MAA planning, treatment, Y-90 PET -------------------------------------------------------
    maa_truth = tare_truth = y90_truth = None
    if cfg.tare is not None:
        tare = cfg.tare
        treatment = cfg.treatment_datetime
        assert treatment is not None
        injection = at_time(t0 + timedelta(days=tare.maa_days_after_baseline), 9, 30)
        study = b.uid("maa")
        logger.info("MAA SPECT and planar")
        spect, views, pt, proj = b.maa("maa", injection, study_uid=study, study_dt=injection)
        images = {"spect_maa": spect}
        if cfg.include_lowdose_ct:
            images["ct_lowdose"] = b.ct(
                "maa",
                0,
                "ct_lowdose",
                "unenhanced",
                injection + timedelta(minutes=80),
                grid="lowdose_ct",
                number=3,
                study_uid=study,
                study_dt=injection,
                noise_hu=acq.lowdose_ct_noise_hu,
                psf=acq.lowdose_ct_spacing_mm,
                description="CT low dose of SPECT/CT (synthetic)",
                session="spect-ct",  # one SPECT/CT session: the SPECT's frame of reference
            )
        spect_masks = b.masks("spect", 0, ("lungs", "perfused", "liver", "lesions"), "maa/spect_maa")
        masks = {"spect_maa": spect_masks, "planar_maa": b.planar_masks(spect_masks, views, "maa/planar_maa")}
        tp = SyntheticTimePoint(
            id="maa",
            kind="planning",
            datetime=injection,
            study_instance_uid=study,
            images=images,
            planar={"planar_maa": views},
            masks=masks,
            manifest_masks={
                **{r: "spect_maa" for r in ("lungs", "perfused", "liver", "lesions")},
                **{r: "planar_maa" for r in ("planar_lungs", "planar_liver")},
            },
            lesion_states=b.states[0],
        )
        time_points.append(tp)
        truths.append(_time_point_truth(b, tp))
        vml = b.grids["spect"].voxel_volume_ml
        maa_truth = MaaTruth(
            injected_activity_mbq=tare.maa_activity_mbq,
            injection_datetime=iso(injection),
            spect_datetime=iso(spect.acquisition_datetime or injection),
            half_life_s=TC99M_HALF_LIFE_S,
            territory=tare.territory.value,
            perfused_segments=sorted(b.territory),
            tn_ratio=tare.tn_ratio,
            lung_shunt_fraction=tare.lung_shunt_fraction,
            spect_total_counts=acq.spect_total_counts,
            spect_normal_liver_counts_per_ml=pt.normal_liver_per_voxel / vml,
            spect_tumour_counts_per_ml=pt.tumour_per_voxel / vml,
            spect_lung_counts_per_ml=pt.lung_per_voxel / vml,
            spect_lung_counts=pt.lung_total,
            spect_liver_counts=pt.liver_total,
            planar=PlanarTruth(
                acquisition_datetime=iso(views["ANTERIOR"].acquisition_datetime or injection),
                lung_anterior_counts=proj.lung_anterior,
                lung_posterior_counts=proj.lung_posterior,
                liver_anterior_counts=proj.liver_anterior,
                liver_posterior_counts=proj.liver_posterior,
                geometric_mean_lsf=proj.geometric_mean_lsf,
                true_lsf=tare.lung_shunt_fraction,
                mu_soft_tissue_per_cm=MU_140KEV_PER_CM["soft"],
                mu_lung_per_cm=MU_140KEV_PER_CM["lung_right"],
                sensitivity_cps_per_mbq=acq.planar_sensitivity_cps_per_mbq,
                duration_s=acq.planar_duration_s,
            ),
        )
        tare_truth = TareTruth(
            device=tare.device.value,
            activity_gbq=tare.activity_gbq,
            treatment_datetime=iso(treatment),
            territory=tare.territory.value,
            manifest_target=_manifest_target(tare.territory),
            lung_shunt_fraction=tare.lung_shunt_fraction,
            tn_ratio=tare.tn_ratio,
            lung_activity_gbq=tare.activity_gbq * tare.lung_shunt_fraction,
            liver_activity_gbq=tare.activity_gbq * (1.0 - tare.lung_shunt_fraction),
        )
        scan = treatment + timedelta(hours=tare.y90_pet_delay_h)
        study = b.uid("y90")
        logger.info("post-treatment Y-90 PET")
        y90, ypt = b.pet_y90("y90", scan, study_uid=study, study_dt=scan)
        masks = {"pet_y90": b.masks("pet", 0, ("liver", "lesions", "lungs", "perfused"), "y90/pet_y90")}
        tp = SyntheticTimePoint(
            id="y90",
            kind="post_treatment",
            datetime=scan,
            study_instance_uid=study,
            images={"pet_y90": y90},
            planar={},
            masks=masks,
            manifest_masks={r: "pet_y90" for r in ("liver", "lesions", "lungs", "perfused")},
            lesion_states=b.states[0],
        )
        time_points.append(tp)
        truths.append(_time_point_truth(b, tp, y90=ypt))
        vml = b.grids["pet"].voxel_volume_ml
        elapsed = (scan - treatment).total_seconds()
        dfac = decay_factor(elapsed, Y90_HALF_LIFE_S)
        y90_truth = Y90PetTruth(
            scan_datetime=iso(scan),
            elapsed_h=elapsed / 3600.0,
            half_life_s=Y90_HALF_LIFE_S,
            positron_fraction=Y90_POSITRON_FRACTION,
            decay_factor_treatment_to_scan=dfac,
            activity_at_scan_gbq=tare.activity_gbq * dfac,
            normal_liver_bq_per_ml=ypt.normal_liver_per_voxel / vml,
            tumour_bq_per_ml=ypt.tumour_per_voxel / vml,
            lung_bq_per_ml=ypt.lung_per_voxel / vml,
            lung_shunt_fraction=tare.lung_shunt_fraction,
        )

    # Follow-ups -----------------------------------------------------------------------------
    reference = cfg.treatment_datetime or t0
    for k, fu in enumerate(cfg.follow_ups, start=1):
        tp_id = f"fu{k}"
        day = at_time(reference + timedelta(days=fu.days_after_treatment), 9, 0)
        study = b.uid(tp_id)
        images = {}
        ct_kw = {
            "grid": "ct",
            "study_uid": study,
            "study_dt": day,
            "noise_hu": acq.ct_noise_hu,
            "psf": acq.ct_psf_fwhm_mm,
        }
        for number, (role, phase, offset, desc) in enumerate(
            (
                ("ct_arterial", "arterial", timedelta(minutes=2), "CT abdomen late arterial"),
                ("ct_portal", "portal", timedelta(minutes=2, seconds=35), "CT abdomen portal venous"),
            ),
            start=2,
        ):
            logger.info("%s %s", tp_id, role)
            images[role] = b.ct(
                tp_id, k, role, phase, day + offset, number=number, description=desc + " (synthetic)", **ct_kw
            )
        masks = {"ct_portal": b.masks("ct", k, ("liver", "lesions", "segments"), f"{tp_id}/ct_portal")}
        tp = SyntheticTimePoint(
            id=tp_id,
            kind="follow_up",
            datetime=day + timedelta(minutes=2),
            study_instance_uid=study,
            images=images,
            planar={},
            masks=masks,
            manifest_masks={r: "ct_portal" for r in ("liver", "lesions", "segments")},
            lesion_states=b.states[k],
        )
        time_points.append(tp)
        truths.append(_time_point_truth(b, tp))

    truth = PhantomTruth(
        generator=f"nelm.phantom {__version__}",
        seed=cfg.seed,
        case_id=cfg.case_id,
        config=_jsonable(cfg),
        conventions=dict(CONVENTIONS),
        organs=_organs_truth(b),
        time_points=truths,
        pet_sstr=b.extra.get("sstr"),
        maa=maa_truth,
        tare=tare_truth,
        pet_y90=y90_truth,
    )
    logger.info("synthetic patient generated in %.1f s", time.perf_counter() - started)
    return SyntheticPatient(
        config=cfg,
        anatomy=b.anatomy,
        lesions=b.lesions,
        time_points=tuple(time_points),
        truth=truth,
        noise_free=dict(b.noise_free),
        identity=b.identity,
    )
