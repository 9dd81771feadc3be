"""Write a :class:`~nelm.imaging.volume.Volume` as a DICOM series: CT, PET, MR or NM.

=====  ======================================  =================================================
 kind   SOP class / layout                      stored values
=====  ======================================  =================================================
 CT     CT Image Storage, one file per slice    int16, Rescale Slope 1 / Intercept 0 when the HU
                                                values fit (rounded to 1 HU), else one linear
                                                scale for the series
 PT     PET Image Storage, one file per slice   int16 with a per-slice Rescale Slope
                                                ``max|v|/32760`` and Intercept 0 (PS3.3
                                                C.8.9.4.1.2), as scanners do; Units BQML/CNTS/GML
 MR     MR Image Storage, one file per slice    uint16 (int16 when a value is negative); when the
                                                values are not integers that fit, one linear
                                                scale for the series, recorded as a Real World
                                                Value Mapping, not as Rescale (see below)
 NM     NM Image Storage, one multi-frame file  uint16 counts; when the values are not integers
        (RECON TOMO)                            in 0..65535, one Rescale Slope for the file
                                                (a standard extension of the NM IOD)
=====  ======================================  =================================================

Round trips are exact to the quantisation: every read-back value is within ``slope / 2`` of the
written one (the slope is first rounded to its 16-character DS text, then used to quantise).

MR values (:attr:`~nelm.imaging.metadata.ValueUnit.ARBITRARY` signal intensity, usually floats)
cannot use Rescale Slope/Intercept: the MR Image IOD (PS3.3 A.4, Table A.4-1) has no Modality
LUT module, and PS3.3 A.4.1 says the Modality LUT is not a component of it. Its General Image
module (PS3.3 C.7.6.1) does include the Real World Value Mapping Sequence (0040,9096; Type 3;
items per the Real World Value Mapping Item macro, PS3.3 C.7.6.16.2.11), which maps stored values
to real-world values ``v = slope · sv + intercept``. So an MR series is written as integers plus
one such mapping, identical in every file: values that are all integers fitting uint16 (or int16)
are stored as they are (slope 1, intercept 0); otherwise ``slope = max v / 65535`` into uint16, or
``max |v| / 32767`` into int16 when a value is negative, intercept 0 (zero stays exactly zero).
Slope and intercept are FD (binary64), so no DS rounding is involved; the item's Measurement Units
Code Sequence is UCUM ``[arb'U]`` "arbitrary unit", its First/Last Value Mapped the whole stored
range. :func:`~nelm.imaging.dicom_read.read_series` applies this mapping to a single-frame image
that has no Rescale Slope/Intercept, so MR values read back within ``slope / 2``; a reader that
ignores it sees the stored integers. The MR Image module's Type 1 acquisition attributes are
written as what nelm knows, nothing more: Scanning Sequence ``RM`` (research mode) and Sequence
Variant ``NONE``; Scan Options, MR Acquisition Type, Repetition Time, Echo Time and Echo Train
Length are Type 2 and left empty. The Contrast/Bolus module is not written (nelm does not know
whether contrast was given), as for CT.

Everything comes from the volume: geometry (Image Position/Orientation (Patient), Pixel
Spacing; for NM the Detector Information Sequence and Spacing Between Slices), its metadata
(UIDs, description, number, identity, radiopharmaceutical, study datetime) and its acquisition
datetime, written as local times in the acquisition's own zone together with Timezone Offset
From UTC (0008,0201). Empty UIDs are derived deterministically from the content
(:func:`~nelm.imaging.dicom_common.deterministic_uid` over a SHA-256 of the voxels, the affine
and the identity), so the same input always gives byte-identical files. A volume whose metadata
still carries the Series Instance UID of a source series keeps it: clear it
(``dataclasses.replace``) when writing derived data as a new series.

Frame duration: :attr:`~nelm.imaging.metadata.SeriesMetadata.frame_duration_s` is written as
Actual Frame Duration (0018,1242; VR IS, so in whole milliseconds, rounded) for PET (Type 2 in
the PET Image module: left empty when unknown) and planar NM (Type 1C in the NM Image module,
required for STATIC and WHOLE BODY images: :data:`UNKNOWN_FRAME_DURATION_MS` when unknown).

Every file says "for research use" in Image Comments (0020,4000). Output folders are written
atomically (:func:`nelm.atomic.atomic_dir`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Final

import pydicom
from pydicom.dataset import Dataset
from pydicom.uid import UID

from nelm.atomic import atomic_dir, atomic_path
from nelm.errors import InputError
from nelm.imaging.dicom_write_nm import UNKNOWN_FRAME_DURATION_MS, nm_planar_dataset, nm_tomo_dataset
from nelm.imaging.dicom_write_slices import slice_datasets
from nelm.imaging.volume import Volume
from nelm.policy import Policy

__all__ = ["UNKNOWN_FRAME_DURATION_MS", "WRITABLE_TRANSFER_SYNTAXES", "write_planar_nm", "write_series"]

logger = logging.getLogger(__name__)

#: Transfer syntaxes the writer produces; all lossless.
WRITABLE_TRANSFER_SYNTAXES: Final[frozenset[str]] = frozenset(
    {
        pydicom.uid.ImplicitVRLittleEndian,
        pydicom.uid.ExplicitVRLittleEndian,
        pydicom.uid.DeflatedExplicitVRLittleEndian,
        pydicom.uid.RLELossless,
        pydicom.uid.JPEGLSLossless,
        pydicom.uid.JPEG2000Lossless,
    }
)

_J2K_MIN_SIZE: Final[int] = 32  # 2**(6 - 1): openjpeg's fixed 6 DWT resolutions


def _save(ds: Dataset, path: Path, transfer_syntax_uid: UID) -> None:
    if transfer_syntax_uid == pydicom.uid.JPEG2000Lossless and min(ds.Rows, ds.Columns) < _J2K_MIN_SIZE:
        raise InputError(
            f"JPEG 2000 needs images of at least {_J2K_MIN_SIZE}x{_J2K_MIN_SIZE} pixels (the openjpeg "
            f"encoder uses 6 wavelet resolutions); this one is {ds.Rows}x{ds.Columns}: choose another "
            "transfer syntax"
        )
    if transfer_syntax_uid.is_compressed:
        ds.compress(transfer_syntax_uid, generate_instance_uid=False)
    else:
        ds.file_meta.TransferSyntaxUID = transfer_syntax_uid
    ds.save_as(path, enforce_file_format=True)


# -- public API -------------------------------------------------------------------------------
def _transfer_syntax(uid: str) -> UID:
    ts = UID(uid)
    if ts not in WRITABLE_TRANSFER_SYNTAXES:
        raise InputError(
            f"transfer syntax {ts} ({ts.name}) cannot be written; choose a lossless one: "
            + ", ".join(sorted(UID(u).name for u in WRITABLE_TRANSFER_SYNTAXES))
        )
    return ts


def _prepare_folder(folder: Path, overwrite: bool) -> None:
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())) and not overwrite:
        raise InputError(f"{folder} exists and is not empty; pass overwrite=True to replace it as a whole")


def write_series(
    volume: Volume,
    folder: str | os.PathLike[str],
    *,
    transfer_syntax_uid: str = pydicom.uid.ExplicitVRLittleEndian,
    policy: Policy = Policy.WARN,
    overwrite: bool = False,
) -> list[Path]:
    """Write a CT, PT, MR or NM volume as a DICOM series into ``folder`` (see the module docstring).

    Parameters
    ----------
    volume:
        Modality CT (units HU), PT (Bq/mL, counts or SUVbw), MR (arbitrary units; values kept
        through a Real World Value Mapping) or NM (counts or Bq/mL; written as one RECON TOMO
        file).
    folder:
        Output folder, created atomically; it must not exist or be empty unless ``overwrite``.
    transfer_syntax_uid:
        One of :data:`WRITABLE_TRANSFER_SYNTAXES` (uncompressed, deflate, RLE, JPEG-LS lossless,
        JPEG 2000 lossless).
    policy:
        What to do about tolerable problems (text fields too long for their VR are truncated).
    overwrite:
        Replace an existing non-empty ``folder`` as a whole.

    Returns
    -------
    list of Path
        The files written, in slice order (``CT_0001.dcm``, ``PT_0001.dcm``, ``MR_0001.dcm`` …,
        or ``NM_0001.dcm``).

    Raises
    ------
    InputError
        Unsupported modality, lossy or unknown transfer syntax, NaN voxels, a non-empty folder,
        a PET frame duration that is not 1 ms to 2**31 − 1 ms.
    UnitsError
        Units the modality cannot carry.
    GeometryError
        A grid DICOM cannot represent (non-perpendicular rows and columns; a tilted NM grid).
    """
    ts = _transfer_syntax(transfer_syntax_uid)
    target = Path(folder)
    _prepare_folder(target, overwrite)
    warnings: list[str] = []
    if volume.modality in {"CT", "PT", "MR"}:
        datasets = slice_datasets(volume, policy, warnings)
    elif volume.modality == "NM":
        datasets = [nm_tomo_dataset(volume, policy, warnings)]
    else:
        raise InputError(f"writing {volume.modality} series is not supported; nelm writes CT, PT, MR and NM")
    names = [f"{volume.modality}_{k + 1:04d}.dcm" for k in range(len(datasets))]
    with atomic_dir(target) as tmp:
        for ds, name in zip(datasets, names, strict=True):
            _save(ds, tmp / name, ts)
    logger.info("wrote %d %s file(s) to %s", len(names), volume.modality, target)
    return [target / name for name in names]


def write_planar_nm(
    views: Mapping[str, Volume],
    path: str | os.PathLike[str],
    *,
    transfer_syntax_uid: str = pydicom.uid.ExplicitVRLittleEndian,
    policy: Policy = Policy.WARN,
) -> Path:
    """Write planar NM views (e.g. ``{"ANTERIOR": v1, "POSTERIOR": v2}``) as one STATIC NM file.

    Each view is a one-slice NM volume; all share rows, columns and pixel spacing. Frame *i* is
    detector *i* (Detector Vector), one energy window; each detector item carries the view's
    View Code Sequence (CID 26 codes for anterior/posterior). Planar NM has no patient
    position: a view whose grid differs from nelm's planar convention
    (:func:`~nelm.imaging.dicom_geometry.planar_geometry`) is reported by ``policy`` and will read
    back on the convention's grid. Metadata, identity, time and frame duration come from the
    first view; Actual Frame Duration is :data:`UNKNOWN_FRAME_DURATION_MS` when the duration is
    not known.

    Raises
    ------
    InputError
        No views, views that are not one-slice NM volumes or differ in size or spacing, or a
        frame duration that is not 1 ms to 2**31 − 1 ms.
    """
    if not views:
        raise InputError("write_planar_nm needs at least one view")
    ts = _transfer_syntax(transfer_syntax_uid)
    warnings: list[str] = []
    ds = nm_planar_dataset(views, policy, warnings)
    target = Path(path)
    with atomic_path(target) as tmp:
        _save(ds, tmp, ts)
    return target
