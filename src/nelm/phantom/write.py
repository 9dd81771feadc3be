"""Write a :class:`~nelm.phantom.generate.SyntheticPatient` to disk with its manifest and truth.

Layout under ``out_dir`` (``<tp>`` is a time-point id: ``baseline``, ``maa``, ``y90``, ``fu1`` …)::

    case.yaml                          the case manifest (schema version 1)
    truth.json                         the ground truth (nelm.phantom.truth.PhantomTruth)
    <tp>/<role>/                       DICOM series (CT, PET and MR one file per slice, NM one file)
    <tp>/<role>.nii.gz (+ .json)       NIfTI image with its nelm sidecar
    maa/planar_maa.dcm                 planar MAA pair (one NM file, anterior + posterior)
    maa/planar_maa_{anterior,posterior}.nii.gz
    <tp>/masks/<image role>/<mask>.nii.gz (+ .labels.json)   truth label maps on that image's grid

Every file is written atomically (:mod:`nelm.atomic`). The manifest points to the DICOM series
when DICOM is written, else to the NIfTI files; that holds for every study, the hepatobiliary
MR included (MR Image Storage, its float signal kept through a Real World Value Mapping, see
:mod:`nelm.imaging.dicom_write`). Files of an earlier, different phantom in ``out_dir`` are
replaced where the names coincide and otherwise left alone.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final

import yaml

from nelm import RESEARCH_USE_DISCLAIMER
from nelm.atomic import write_text_atomic
from nelm.errors import InputError
from nelm.imaging.dicom_write import write_planar_nm, write_series
from nelm.imaging.nifti import write_labelmap, write_nifti
from nelm.phantom.generate import SyntheticPatient

__all__ = ["FORMATS", "SYNTHETIC_CLINICAL", "manifest_document", "write_patient"]

logger = logging.getLogger(__name__)

#: Image formats :func:`write_patient` can write.
FORMATS: Final[tuple[str, ...]] = ("dicom", "nifti")

#: Clinical section of the synthetic manifest: a plausible well-differentiated small-intestinal
#: NET G2 with liver-dominant disease and good liver function (invented, not a real patient).
SYNTHETIC_CLINICAL: Final[dict[str, Any]] = {
    "primary_site": "small_intestine",
    "primary_resected": True,
    "who_classification": "WHO 2019",
    "grade": "G2",
    "ki67_percent": 8.0,
    "differentiation": "well",
    "extrahepatic_disease": False,
    "functional_syndrome": "carcinoid",
    "somatostatin_analogue": True,
    "ecog": 0,
    "bilirubin_mg_dl": 0.6,
    "albumin_g_dl": 4.2,
    "inr": 1.0,
    "platelets_10e9_l": 230,
    "leukocytes_10e9_l": 6.1,
    "granulocytes_10e9_l": 3.7,
    "ldh_u_l": 180,
    "ast_u_l": 24,
    "creatinine_mg_dl": 0.8,
    "egfr_ml_min": 90,
    "ascites": False,
    "portal_vein_thrombosis": "none",
    "bilioenteric_anastomosis": False,
    "biliary_stent": False,
    "sphincterotomy": False,
}

#: Modalities of the 3-D studies :func:`~nelm.imaging.dicom_write.write_series` writes as DICOM.
_DICOM_MODALITIES: Final[frozenset[str]] = frozenset({"CT", "PT", "MR", "NM"})


def _check_formats(formats: Iterable[str]) -> tuple[str, ...]:
    if isinstance(formats, str):
        formats = (formats,)
    out = tuple(dict.fromkeys(str(f).strip().lower() for f in formats))
    bad = [f for f in out if f not in FORMATS]
    if not out or bad:
        raise InputError(
            f"formats must be a non-empty selection of {', '.join(FORMATS)}; got {list(formats)!r}"
        )
    return out


def _rel(path: Path, root: Path) -> str:
    return Path(os.path.relpath(path, root)).as_posix()


def _number(value: float) -> str:
    return repr(float(value)).removesuffix(".0")


def manifest_document(
    patient: SyntheticPatient, image_paths: dict[str, dict[str, str]], mask_paths: dict[str, dict[str, str]]
) -> dict[str, Any]:
    """The manifest (as a mapping) for written files.

    Parameters
    ----------
    image_paths, mask_paths:
        Time-point id → role → path relative to the manifest's folder.
    """
    cfg = patient.config
    ident = patient.identity
    doc: dict[str, Any] = {
        "nelm_manifest": 1,
        "case_id": cfg.case_id,
        "patient": {
            "name": ident.patient_name,
            "id": ident.patient_id,
            "birth_date": ident.birth_date.isoformat() if ident.birth_date else None,
            "sex": ident.sex,
            "weight": f"{_number(cfg.patient_weight_kg)} kg",
            "height": f"{_number(cfg.patient_height_m * 100.0)} cm",
        },
        "clinical": dict(SYNTHETIC_CLINICAL),
    }
    doc["patient"] = {k: v for k, v in doc["patient"].items() if v is not None}
    points = []
    for tp in patient.time_points:
        entry: dict[str, Any] = {"id": tp.id, "date": tp.datetime.isoformat(), "kind": tp.kind}
        if image_paths.get(tp.id):
            entry["images"] = dict(image_paths[tp.id])
        masks = {
            role: {"path": mask_paths[tp.id][role], "image": grid}
            for role, grid in tp.manifest_masks.items()
            if role in mask_paths.get(tp.id, {})
        }
        if masks:
            entry["masks"] = masks
        points.append(entry)
    doc["time_points"] = points
    if cfg.tare is not None and cfg.treatment_datetime is not None:
        doc["treatments"] = [
            {
                "type": "tare",
                "date": cfg.treatment_datetime.isoformat(),
                "device": cfg.tare.device.value,
                "activity": f"{_number(cfg.tare.activity_gbq)} GBq",
                "target": cfg.tare.territory.value,
                "notes": "synthetic phantom; planned from the Tc-99m MAA time point 'maa'",
            }
        ]
    return doc


def write_patient(
    patient: SyntheticPatient,
    out_dir: str | os.PathLike[str],
    *,
    formats: Iterable[str] = FORMATS,
) -> Path:
    """Write every study, mask, ``truth.json`` and ``case.yaml`` into ``out_dir``.

    Parameters
    ----------
    patient:
        From :func:`~nelm.phantom.generate.generate_patient`.
    out_dir:
        Output folder (created if needed).
    formats:
        ``"dicom"`` and/or ``"nifti"`` for the images (masks are always NIfTI label maps).

    Returns
    -------
    Path
        The manifest ``out_dir/case.yaml``.

    Raises
    ------
    InputError
        Unknown format, or an output that cannot be written.
    """
    fmts = _check_formats(formats)
    started = time.perf_counter()
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    image_paths: dict[str, dict[str, str]] = {}
    mask_paths: dict[str, dict[str, str]] = {}
    for tp in patient.time_points:
        folder = root / tp.id
        images: dict[str, str] = {}
        for role, vol in tp.images.items():
            written: Path | None = None
            if "dicom" in fmts and vol.modality in _DICOM_MODALITIES:
                written = root / tp.id / role
                write_series(vol, written, overwrite=True)
            if "nifti" in fmts or written is None:
                nifti = write_nifti(vol, folder / f"{role}.nii.gz")
                written = written or nifti
            images[role] = _rel(written, root)
            logger.info("wrote %s/%s", tp.id, role)
        for role, views in tp.planar.items():
            written = None
            if "dicom" in fmts:
                written = write_planar_nm(views, folder / f"{role}.dcm")
            if "nifti" in fmts:
                paths = [
                    write_nifti(v, folder / f"{role}_{name.lower()}.nii.gz") for name, v in views.items()
                ]
                written = written or paths[0]
            assert written is not None
            images[role] = _rel(written, root)
        masks: dict[str, str] = {}
        for grid, by_role in tp.masks.items():
            for role, labelmap in by_role.items():
                path = write_labelmap(labelmap, folder / "masks" / grid / f"{role}.nii.gz")
                if tp.manifest_masks.get(role) == grid:
                    masks[role] = _rel(path, root)
        image_paths[tp.id] = images
        mask_paths[tp.id] = masks
    write_text_atomic(root / "truth.json", patient.truth.model_dump_json(indent=2) + "\n")
    doc = manifest_document(patient, image_paths, mask_paths)
    header = (
        f"# Synthetic NELM patient generated by nelm.phantom (seed {patient.config.seed}).\n"
        f"# {RESEARCH_USE_DISCLAIMER}\n# Ground truth: truth.json\n"
    )
    manifest = write_text_atomic(
        root / "case.yaml", header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)
    )
    logger.info("synthetic patient written to %s in %.1f s", root, time.perf_counter() - started)
    return manifest
