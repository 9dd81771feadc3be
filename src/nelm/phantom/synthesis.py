"""Synthesis of every study of the synthetic patient on its own grid, with metadata and masks.

:class:`StudyBuilder` holds one patient's anatomy, lesions and per-grid rasterisations (computed
once per grid and reused for every phase and time point) and makes each study: it paints the
noise-free truth (:mod:`nelm.phantom.scene`), blurs it and adds seeded noise
(:mod:`nelm.phantom.studies`), and wraps it in a :class:`~nelm.imaging.volume.Volume` with its
DICOM-like metadata. Used by :func:`nelm.phantom.generate.generate_patient`.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Mapping
from datetime import date, datetime, timedelta
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

from nelm.imaging.dicom_common import planar_geometry
from nelm.imaging.geometry import Geometry
from nelm.imaging.labelmap import Label, LabelMap
from nelm.imaging.metadata import PatientIdentity, Radiopharmaceutical, SeriesMetadata, ValueUnit
from nelm.imaging.volume import Volume
from nelm.phantom.anatomy import OrganVolumes, build_anatomy, organ_volumes_ml
from nelm.phantom.config import PhantomConfig
from nelm.phantom.lesions import evolve_lesions, place_lesions
from nelm.phantom.scene import AnatomyScene, LesionScene, anatomy_scene, lesion_labelmap, lesion_scenes, paint
from nelm.phantom.studies import (
    FWHM_PER_SIGMA,
    GA68_HALF_LIFE_S,
    GA68_POSITRON_FRACTION,
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
from nelm.phantom.truth import GridTruth, ImageTruth, SstrPetTruth

__all__ = ["StudyBuilder", "at_time", "grid_truth", "iso"]

logger = logging.getLogger(__name__)

_SOP_CLASS = {
    "CT": CTImageStorage,
    "MR": MRImageStorage,
    "PT": PositronEmissionTomographyImageStorage,
    "NM": NuclearMedicineImageStorage,
}
_MANUFACTURER = "nelm synthetic phantom"


def iso(dt: datetime) -> str:
    return dt.isoformat()


def grid_truth(g: Geometry) -> GridTruth:
    sp = g.spacing_mm
    return GridTruth(
        shape=g.shape,
        spacing_mm=(sp[0], sp[1], sp[2]),
        affine_lps_mm=[[float(v) for v in row] for row in g.affine],
        orientation=g.orientation,
    )


def at_time(day: datetime, hour: int, minute: int) -> datetime:
    return day.replace(hour=hour, minute=minute, second=0, microsecond=0)


class StudyBuilder:
    """Builds the studies of one patient; holds the per-grid scene caches.

    Attributes
    ----------
    noise_free:
        ``"<time point>/<image role>"`` → the painted truth before blur and noise.
    image_truth:
        Time point → image key → :class:`~nelm.phantom.truth.ImageTruth`.
    extra:
        Study-level truth gathered on the way (``"sstr"``, ``"sstr_factor"``).
    """

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
            acquisition_datetime=iso(vol.acquisition_datetime),
            grid=grid_truth(vol.geometry),
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
        session: str | None = None,
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
            session=session or f"ct-{when.date().isoformat()}",
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
        meta = dataclasses.replace(meta, series_datetime=scan)  # the PET series starts at the scan
        vol = Volume(img, geometry, "PT", ValueUnit.BQ_PER_ML, scan, meta)
        self.record(tp, "pet_sstr", vol, (fwhm, fwhm, fwhm), f"poisson, {cov:.0%} in liver", truth)
        suv = sstr_suv_values()
        self.extra["sstr"] = SstrPetTruth(
            radiopharmaceutical="Ga-68 DOTATATE",
            radionuclide="Ga-68",
            half_life_s=GA68_HALF_LIFE_S,
            injected_activity_mbq=cfg.sstr_activity_mbq,
            injection_datetime=iso(injection),
            scan_datetime=iso(scan),
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
        meta = dataclasses.replace(meta, series_datetime=scan)  # the PET series starts at the scan
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
        for organ in ("lungs", "liver"):
            role = f"planar_{organ}"
            projected = np.any(spect_masks[organ].array > 0, axis=1)
            out[role] = LabelMap.from_binary(
                self._display(projected, "ANTERIOR"), g, organ, source=f"{source}/{role}"
            )
        return out
