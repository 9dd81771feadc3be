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
import numpy.typing as npt
from pydicom.uid import (
    CTImageStorage,
    MRImageStorage,
    NuclearMedicineImageStorage,
    PositronEmissionTomographyImageStorage,
    generate_uid,
)
from scipy import ndimage

from nelm import __version__
from nelm.errors import InputError
from nelm.imaging.dicom_common import planar_geometry
from nelm.imaging.geometry import Geometry
from nelm.imaging.labelmap import Label, LabelMap
from nelm.imaging.metadata import PatientIdentity, Radiopharmaceutical, SeriesMetadata, ValueUnit
from nelm.imaging.volume import Volume
from nelm.phantom.anatomy import (
    LEFT_LOBE_SEGMENTS,
    RIGHT_LOBE_SEGMENTS,
    Anatomy,
    OrganVolumes,
    build_anatomy,
    organ_volumes_ml,
)
from nelm.phantom.config import PhantomConfig, Territory
from nelm.phantom.lesions import Lesion, LesionState, evolve_lesions, place_lesions
from nelm.phantom.scene import AnatomyScene, LesionScene, anatomy_scene, lesion_labelmap, lesion_scenes, paint
from nelm.phantom.studies import (
    FWHM_PER_SIGMA,
    GA68_HALF_LIFE_S,
    GA68_POSITRON_FRACTION,
    MU_140KEV_PER_CM,
    NECROSIS_HU,
    TC99M_HALF_LIFE_S,
    Y90_HALF_LIFE_S,
    Y90_POSITRON_FRACTION,
    PerfusionTruth,
    PlanarProjection,
    attenuation_map,
    blur,
    ct_values,
    decay_factor,
    lesion_ct_values,
    noise_seed,
    paint_mr,
    paint_suv,
    perfusion_truth,
    planar_projection,
    poisson_noise,
    rician_noise,
    sstr_suv_values,
    study_grids,
)
from nelm.phantom.truth import (
    CONVENTIONS,
    GridTruth,
    ImageTruth,
    LesionTruth,
    MaaTruth,
    MaskCount,
    OrgansTruth,
    PhantomTruth,
    PlanarTruth,
    SstrPetTruth,
    TareTruth,
    TimePointTruth,
    Y90PetTruth,
    lesion_distribution,
)

__all__ = ["SyntheticPatient", "SyntheticTimePoint", "generate_patient"]

logger = logging.getLogger(__name__)

_SOP_CLASS = {
    "CT": CTImageStorage,
    "MR": MRImageStorage,
    "PT": PositronEmissionTomographyImageStorage,
    "NM": NuclearMedicineImageStorage,
}
_MANUFACTURER = "nelm synthetic phantom"


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


def _iso(dt: datetime) -> str:
    return dt.isoformat()


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


def _grid_truth(g: Geometry) -> GridTruth:
    sp = g.spacing_mm
    return GridTruth(
        shape=g.shape,
        spacing_mm=(sp[0], sp[1], sp[2]),
        affine_lps_mm=[[float(v) for v in row] for row in g.affine],
        orientation=g.orientation,
    )


def _at(day: datetime, hour: int, minute: int) -> datetime:
    return day.replace(hour=hour, minute=minute, second=0, microsecond=0)


class _Builder:
    """Builds one patient; holds the per-grid scene caches."""

    def __init__(self, config: PhantomConfig) -> None:
        self.config = config
        self.acq = config.acquisition
        self.anatomy = build_anatomy(config.anatomy_scale)
        self.organs: OrganVolumes = organ_volumes_ml(config.anatomy_scale)
        self.lesions = place_lesions(self.anatomy, config)
        self.states = evolve_lesions(self.lesions, config)
        self.grids = study_grids(config.anatomy_scale, self.acq)
        self.territory = config.tare.territory.segments if config.tare is not None else frozenset()
        self.identity = PatientIdentity(
            patient_name="Phantom^Synthetic",
            patient_id=config.patient_id,
            birth_date=date(config.patient_birth_year, 4, 12),
            sex=config.patient_sex,
        )
        self._scenes: dict[str, AnatomyScene] = {}
        self._lesions: dict[tuple[str, int], tuple[LesionScene, ...]] = {}
        self.noise_free: dict[str, Volume] = {}
        self.image_truth: dict[str, dict[str, ImageTruth]] = {}
        self.extra: dict[str, Any] = {}

    # -- caches ---------------------------------------------------------------------------
    def scene(self, grid: str) -> AnatomyScene:
        if grid not in self._scenes:
            t = time.perf_counter()
            self._scenes[grid] = anatomy_scene(self.anatomy, self.grids[grid])
            logger.debug("rasterised the anatomy on the %s grid in %.2f s", grid, time.perf_counter() - t)
        return self._scenes[grid]

    def lesion_scenes(self, grid: str, k: int) -> tuple[LesionScene, ...]:
        key = (grid, k)
        if key not in self._lesions:
            self._lesions[key] = lesion_scenes(self.states[k], self.grids[grid])
        return self._lesions[key]

    # -- metadata -------------------------------------------------------------------------
    def uid(self, *parts: str) -> str:
        return str(generate_uid(entropy_srcs=[str(self.config.seed), *parts]))

    def series(
        self,
        tp: str,
        role: str,
        modality: str,
        geometry: Geometry,
        *,
        description: str,
        number: int,
        study_uid: str,
        study_dt: datetime,
        session: str,
        radio: Radiopharmaceutical | None = None,
    ) -> SeriesMetadata:
        n = 1 if modality == "NM" else geometry.shape[0]
        return SeriesMetadata(
            source="synthetic",
            study_instance_uid=study_uid,
            series_instance_uid=self.uid(tp, role),
            frame_of_reference_uid=self.uid(tp, "frame-of-reference", session),
            sop_class_uid=str(_SOP_CLASS[modality]),
            series_description=description,
            series_number=number,
            manufacturer=_MANUFACTURER,
            slice_thickness_mm=geometry.spacing_mm[0],
            sop_instance_uids=tuple(self.uid(tp, role, str(i)) for i in range(n)),
            study_datetime=study_dt,
            identity=self.identity,
            radiopharmaceutical=radio,
        )

    def record(
        self,
        tp: str,
        key: str,
        vol: Volume,
        psf: tuple[float, float, float],
        noise: str,
        truth: npt.NDArray[Any] | None,
    ) -> None:
        assert vol.acquisition_datetime is not None
        self.image_truth.setdefault(tp, {})[key] = ImageTruth(
            modality=vol.modality,
            units=vol.units.value,
            series_instance_uid=vol.metadata.series_instance_uid,
            frame_of_reference_uid=vol.metadata.frame_of_reference_uid,
            series_description=vol.metadata.series_description,
            acquisition_datetime=_iso(vol.acquisition_datetime),
            grid=_grid_truth(vol.geometry),
            psf_fwhm_mm=psf,
            noise=noise if self.acq.noise else "none",
        )
        if truth is not None:
            self.noise_free[f"{tp}/{key}"] = dataclasses.replace(
                vol, array=np.asarray(truth, dtype=np.float32)
            )

    # -- studies --------------------------------------------------------------------------
    def ct(
        self,
        tp: str,
        k: int,
        role: str,
        phase: str,
        when: datetime,
        *,
        grid: str,
        number: int,
        study_uid: str,
        study_dt: datetime,
        noise_hu: float,
        psf: tuple[float, float, float],
        description: str,
    ) -> Volume:
        geometry = self.grids[grid]
        scene, les = self.scene(grid), self.lesion_scenes(grid, k)
        truth = paint(scene, les, ct_values(phase), lesion_ct_values(les, phase))
        img = blur(truth, geometry, psf, conserve=False)
        if self.acq.noise and noise_hu > 0:
            rng = noise_seed(self.config.seed, f"{tp}/{role}")
            img += np.float32(noise_hu) * rng.standard_normal(img.shape, dtype=np.float32)
        arr = np.clip(np.rint(img), -1024, 3071).astype(np.int16)
        meta = self.series(
            tp,
            role,
            "CT",
            geometry,
            description=description,
            number=number,
            study_uid=study_uid,
            study_dt=study_dt,
            session=f"ct-{when.date().isoformat()}",
        )
        vol = Volume(
            array=arr,
            geometry=geometry,
            modality="CT",
            units=ValueUnit.HU,
            acquisition_datetime=when,
            metadata=meta,
        )
        self.record(tp, role, vol, psf, f"gaussian sigma {noise_hu:g} HU", truth)
        return vol

    def mr(self, tp: str, when: datetime, *, number: int, study_uid: str, study_dt: datetime) -> Volume:
        geometry = self.grids["mr"]
        truth = paint_mr(self.scene("mr"), self.lesion_scenes("mr", 0))
        psf = self.acq.mr_spacing_mm
        img = blur(truth, geometry, psf, conserve=False)
        if self.acq.noise:
            img = rician_noise(img, self.acq.mr_noise, noise_seed(self.config.seed, f"{tp}/mr_hbp"))
        meta = self.series(
            tp,
            "mr_hbp",
            "MR",
            geometry,
            description="MR T1 hepatobiliary phase 20 min (synthetic)",
            number=number,
            study_uid=study_uid,
            study_dt=study_dt,
            session="mr",
        )
        vol = Volume(img, geometry, "MR", ValueUnit.ARBITRARY, when, meta)
        self.record(tp, "mr_hbp", vol, psf, f"rician sigma {self.acq.mr_noise:g}", truth)
        return vol

    def pet_sstr(
        self, tp: str, injection: datetime, scan: datetime, *, number: int, study_uid: str, study_dt: datetime
    ) -> Volume:
        cfg = self.config
        geometry = self.grids["pet"]
        injected_bq = cfg.sstr_activity_mbq * 1e6
        dfac = decay_factor((scan - injection).total_seconds(), GA68_HALF_LIFE_S)
        bq_per_ml_per_suv = injected_bq * dfac / (cfg.patient_weight_kg * 1000.0)
        les = self.lesion_scenes("pet", 0)
        truth = paint_suv(self.scene("pet"), les) * np.float32(bq_per_ml_per_suv)
        fwhm = self.acq.pet_psf_fwhm_mm
        img = blur(truth, geometry, fwhm, conserve=True)
        liver_bqml = sstr_suv_values()["liver"] * bq_per_ml_per_suv
        cov = self.acq.pet_liver_noise_cov
        if self.acq.noise and cov > 0:
            img = poisson_noise(img, 1.0 / (cov * cov * liver_bqml), noise_seed(cfg.seed, f"{tp}/pet_sstr"))
        radio = Radiopharmaceutical(
            radionuclide="^68^Gallium",
            radiopharmaceutical="Ga-68 DOTATATE",
            injected_activity_bq=injected_bq,
            injection_datetime=injection,
            half_life_s=GA68_HALF_LIFE_S,
            positron_fraction=GA68_POSITRON_FRACTION,
            decay_correction="START",
            units="BQML",
            patient_weight_kg=cfg.patient_weight_kg,
            patient_height_m=cfg.patient_height_m,
        )
        meta = self.series(
            tp,
            "pet_sstr",
            "PT",
            geometry,
            description="PET Ga-68 DOTATATE (synthetic)",
            number=number,
            study_uid=study_uid,
            study_dt=study_dt,
            session="pet",
            radio=radio,
        )
        vol = Volume(img, geometry, "PT", ValueUnit.BQ_PER_ML, scan, meta)
        self.record(tp, "pet_sstr", vol, (fwhm, fwhm, fwhm), f"poisson, {cov:.0%} in liver", truth)
        suv = sstr_suv_values()
        self.extra["sstr"] = SstrPetTruth(
            radiopharmaceutical="Ga-68 DOTATATE",
            radionuclide="Ga-68",
            half_life_s=GA68_HALF_LIFE_S,
            injected_activity_mbq=cfg.sstr_activity_mbq,
            injection_datetime=_iso(injection),
            scan_datetime=_iso(scan),
            decay_factor_injection_to_scan=dfac,
            decay_correction="START",
            patient_weight_kg=cfg.patient_weight_kg,
            suv_bw={k: suv[k] for k in ("liver", "spleen", "kidney_right", "soft", "lung_right", "aorta")},
            bq_per_ml={k: suv[k] * bq_per_ml_per_suv for k in ("liver", "spleen", "kidney_right", "soft")},
        )
        self.extra["sstr_factor"] = bq_per_ml_per_suv
        return vol

    def maa(
        self, tp: str, injection: datetime, *, study_uid: str, study_dt: datetime
    ) -> tuple[Volume, dict[str, Volume], PerfusionTruth, PlanarProjection]:
        cfg, acq = self.config, self.acq
        assert cfg.tare is not None
        tare = cfg.tare
        planar_dt = injection + timedelta(minutes=45)
        spect_dt = injection + timedelta(minutes=60)
        geometry = self.grids["spect"]
        scene, les = self.scene("spect"), self.lesion_scenes("spect", 0)
        pt = perfusion_truth(
            scene,
            les,
            self.territory,
            tn_ratio=tare.tn_ratio,
            lung_shunt_fraction=tare.lung_shunt_fraction,
            total=acq.spect_total_counts,
        )
        fwhm = acq.spect_psf_fwhm_mm
        img = blur(pt.activity, geometry, fwhm, conserve=True)
        if acq.noise:
            img = poisson_noise(img, 1.0, noise_seed(cfg.seed, f"{tp}/spect_maa"))
        radio = Radiopharmaceutical(
            radionuclide="^99m^Technetium",
            radiopharmaceutical="Tc-99m MAA",
            injected_activity_bq=tare.maa_activity_mbq * 1e6,
            injection_datetime=injection,
            half_life_s=TC99M_HALF_LIFE_S,
            decay_correction="NONE",
            units="CNTS",
            patient_weight_kg=cfg.patient_weight_kg,
            patient_height_m=cfg.patient_height_m,
        )
        meta = self.series(
            tp,
            "spect_maa",
            "NM",
            geometry,
            description="SPECT Tc-99m MAA (synthetic)",
            number=2,
            study_uid=study_uid,
            study_dt=study_dt,
            session="spect-ct",
            radio=radio,
        )
        spect = Volume(img, geometry, "NM", ValueUnit.COUNTS, spect_dt, meta)
        self.record(tp, "spect_maa", spect, (fwhm, fwhm, fwhm), "poisson counts", pt.activity)

        # Planar pair: activity (MBq at the planar time) projected with attenuation.
        mbq = tare.maa_activity_mbq * decay_factor((planar_dt - injection).total_seconds(), TC99M_HALF_LIFE_S)
        to_mbq = mbq / acq.spect_total_counts
        mu = attenuation_map(scene, les)
        proj = planar_projection(
            pt.activity * np.float32(to_mbq),
            pt.lung_activity * np.float32(to_mbq),
            mu,
            geometry,
            acq.planar_sensitivity_cps_per_mbq * acq.planar_duration_s,
        )
        views = self._planar_views(tp, proj, geometry, planar_dt, study_uid, study_dt, radio)
        return spect, views, pt, proj

    @staticmethod
    def _planar_geometry(geometry: Geometry, view: str) -> Geometry:
        """nelm's planar convention grid (:func:`~nelm.imaging.dicom_common.planar_geometry`).

        Planar NM carries no patient position: rows run head to feet, columns to the patient's
        left (anterior view) or right (posterior view), origin (0, 0, 0).
        """
        dz, _, dx = geometry.spacing_mm
        nz, _, nx = geometry.shape
        return planar_geometry(nz, nx, (dz, dx), view)

    @staticmethod
    def _display(image: npt.NDArray[Any], view: str) -> npt.NDArray[Any]:
        """(z, x) grid-order projection → one-slice display array (head at the top)."""
        out = image[::-1, :] if view == "ANTERIOR" else image[::-1, ::-1]
        return np.ascontiguousarray(out)[None, :, :]

    def _planar_views(
        self,
        tp: str,
        proj: PlanarProjection,
        geometry: Geometry,
        when: datetime,
        study_uid: str,
        study_dt: datetime,
        radio: Radiopharmaceutical,
    ) -> dict[str, Volume]:
        acq = self.acq
        dz, _, dx = geometry.spacing_mm
        sigma = (acq.planar_psf_fwhm_mm / FWHM_PER_SIGMA / dz, acq.planar_psf_fwhm_mm / FWHM_PER_SIGMA / dx)
        views: dict[str, Volume] = {}
        for view, expected in (("ANTERIOR", proj.anterior), ("POSTERIOR", proj.posterior)):
            img = ndimage.gaussian_filter(expected, sigma=sigma, mode="constant", cval=0.0, truncate=4.0)
            if acq.noise:
                img = noise_seed(self.config.seed, f"{tp}/planar_maa/{view}").poisson(np.clip(img, 0, None))
            g = self._planar_geometry(geometry, view)
            meta = self.series(
                tp,
                f"planar_maa_{view}",
                "NM",
                g,
                description=f"Planar Tc-99m MAA {view.lower()} (synthetic)",
                number=1,
                study_uid=study_uid,
                study_dt=study_dt,
                session="planar",
                radio=radio,
            )
            # Both views form one series (one NM file with two detector views).
            meta = dataclasses.replace(meta, series_instance_uid=self.uid(tp, "planar_maa"))
            vol = Volume(
                self._display(np.asarray(img, dtype=np.float32), view), g, "NM", ValueUnit.COUNTS, when, meta
            )
            psf = (0.0, acq.planar_psf_fwhm_mm, acq.planar_psf_fwhm_mm)
            self.record(
                tp, f"planar_maa:{view.lower()}", vol, psf, "poisson counts", self._display(expected, view)
            )
            views[view] = vol
        return views

    def pet_y90(
        self, tp: str, scan: datetime, *, study_uid: str, study_dt: datetime
    ) -> tuple[Volume, PerfusionTruth]:
        cfg, acq = self.config, self.acq
        assert cfg.tare is not None
        assert cfg.treatment_datetime is not None
        tare = cfg.tare
        geometry = self.grids["pet"]
        dfac = decay_factor((scan - cfg.treatment_datetime).total_seconds(), Y90_HALF_LIFE_S)
        activity_bq = tare.activity_gbq * 1e9 * dfac
        pt = perfusion_truth(
            self.scene("pet"),
            self.lesion_scenes("pet", 0),
            self.territory,
            tn_ratio=tare.tn_ratio,
            lung_shunt_fraction=tare.lung_shunt_fraction,
            total=activity_bq,
        )
        voxel_ml = geometry.voxel_volume_ml
        truth = pt.activity / np.float32(voxel_ml)
        fwhm = acq.y90_pet_psf_fwhm_mm
        img = blur(truth, geometry, fwhm, conserve=True)
        cov = acq.y90_pet_liver_noise_cov
        if acq.noise and cov > 0:
            normal = pt.normal_liver_per_voxel / voxel_ml
            img = poisson_noise(img, 1.0 / (cov * cov * normal), noise_seed(cfg.seed, f"{tp}/pet_y90"))
        radio = Radiopharmaceutical(
            radionuclide="^90^Yttrium",
            radiopharmaceutical=f"Y-90 {tare.device.value} microspheres",
            injected_activity_bq=tare.activity_gbq * 1e9,
            injection_datetime=cfg.treatment_datetime,
            half_life_s=Y90_HALF_LIFE_S,
            positron_fraction=Y90_POSITRON_FRACTION,
            decay_correction="START",
            units="BQML",
            patient_weight_kg=cfg.patient_weight_kg,
            patient_height_m=cfg.patient_height_m,
        )
        meta = self.series(
            tp,
            "pet_y90",
            "PT",
            geometry,
            description="PET Y-90 microspheres (synthetic)",
            number=1,
            study_uid=study_uid,
            study_dt=study_dt,
            session="pet",
            radio=radio,
        )
        vol = Volume(img, geometry, "PT", ValueUnit.BQ_PER_ML, scan, meta)
        self.record(tp, "pet_y90", vol, (fwhm, fwhm, fwhm), f"poisson, {cov:.0%} in normal liver", truth)
        return vol, pt

    # -- masks ----------------------------------------------------------------------------
    def masks(self, grid: str, k: int, roles: tuple[str, ...], source: str) -> dict[str, LabelMap]:
        scene, les = self.scene(grid), self.lesion_scenes(grid, k)
        g = scene.geometry
        out: dict[str, LabelMap] = {}
        for role in roles:
            name = f"{source}/{role}"
            if role == "liver":
                out[role] = LabelMap.from_binary(scene.full_mask("liver"), g, "liver", source=name)
            elif role == "spleen":
                out[role] = LabelMap.from_binary(scene.full_mask("spleen"), g, "spleen", source=name)
            elif role == "lungs":
                out[role] = LabelMap.from_binary(
                    scene.full_mask("lung_right", "lung_left"), g, "lungs", source=name
                )
            elif role == "segments":
                labels = {i: Label(i, f"segment {i}") for i in range(1, 9)}
                out[role] = LabelMap(scene.segment_array(), g, labels, source=name)
            elif role == "lesions":
                out[role] = lesion_labelmap(scene, les, source=name)
            elif role == "perfused":
                perf = np.zeros(g.shape, dtype=bool)
                liver = scene.liver
                if not liver.is_empty:
                    perf[liver.slices] = (scene.segments > 0) & np.isin(
                        scene.segments, sorted(self.territory)
                    )
                for le in les:
                    if not le.field.is_empty:
                        box = perf[le.field.slices]
                        box[np.broadcast_to(le.field.inside, le.field.box_shape)] = le.state.perfused
                out[role] = LabelMap.from_binary(perf, g, "perfused", source=name)
            else:  # pragma: no cover - internal roles only
                raise ValueError(role)
        return out

    def planar_masks(
        self, spect_masks: Mapping[str, LabelMap], views: Mapping[str, Volume], source: str
    ) -> dict[str, LabelMap]:
        g = views["ANTERIOR"].geometry
        out = {}
        for role in ("lungs", "liver"):
            projected = np.any(spect_masks[role].array > 0, axis=1)
            out[role] = LabelMap.from_binary(
                self._display(projected, "ANTERIOR"), g, role, source=f"{source}/{role}"
            )
        return out


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
    b: _Builder,
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
    b: _Builder,
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
        datetime=_iso(tp.datetime),
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


def _organs_truth(b: _Builder) -> OrgansTruth:
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
    b = _Builder(cfg)
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
        injection = _at(t0 + timedelta(days=tare.maa_days_after_baseline), 9, 30)
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
            )
            # The SPECT and its CT come from one SPECT/CT session: one frame of reference.
            ld = images["ct_lowdose"]
            images["ct_lowdose"] = dataclasses.replace(
                ld,
                metadata=dataclasses.replace(
                    ld.metadata, frame_of_reference_uid=spect.metadata.frame_of_reference_uid
                ),
            )
            b.image_truth["maa"]["ct_lowdose"] = b.image_truth["maa"]["ct_lowdose"].model_copy(
                update={"frame_of_reference_uid": spect.metadata.frame_of_reference_uid}
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
            manifest_masks={r: "spect_maa" for r in ("lungs", "perfused", "liver", "lesions")},
            lesion_states=b.states[0],
        )
        time_points.append(tp)
        truths.append(_time_point_truth(b, tp))
        vml = b.grids["spect"].voxel_volume_ml
        maa_truth = MaaTruth(
            injected_activity_mbq=tare.maa_activity_mbq,
            injection_datetime=_iso(injection),
            spect_datetime=_iso(spect.acquisition_datetime or injection),
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
                acquisition_datetime=_iso(views["ANTERIOR"].acquisition_datetime or injection),
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
            treatment_datetime=_iso(treatment),
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
            scan_datetime=_iso(scan),
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
        day = _at(reference + timedelta(days=fu.days_after_treatment), 9, 0)
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
