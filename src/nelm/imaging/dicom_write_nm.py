"""NM files for :mod:`nelm.imaging.dicom_write`: one RECON TOMO file per volume
(:func:`nm_tomo_dataset`) and one STATIC file for planar views (:func:`nm_planar_dataset`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Final

import numpy as np
import numpy.typing as npt
import pydicom
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from nelm.errors import GeometryError, InputError, UnitsError
from nelm.imaging import dicom_common as dc
from nelm.imaging.dicom_write_common import (
    Uids,
    base_dataset,
    check_finite,
    decimal_string,
    file_meta,
    frame_duration_ms,
    in_plane,
    pixel_module,
    radiopharmaceutical_sequence,
    series_uids,
)
from nelm.imaging.geometry import Geometry
from nelm.imaging.metadata import ValueUnit
from nelm.imaging.volume import Volume
from nelm.policy import Policy, apply_policy

__all__ = ["UNKNOWN_FRAME_DURATION_MS", "nm_planar_dataset", "nm_tomo_dataset"]

# Messages keep the logger of nelm.imaging.dicom_write, the module this code was split from.
logger = logging.getLogger("nelm.imaging.dicom_write")

#: Actual Frame Duration (0018,1242, ms) written for planar NM when the volume's
#: ``frame_duration_s`` is ``None``. The attribute must have a value there (Type 1C, PS3.3
#: C.8.4.8 NM Image module) but nelm does not invent a duration: 0 ms cannot be a real
#: acquisition, so it reads as "not known", and nelm's reader turns it back into ``None``.
#: No policy message: nothing is lost or altered.
UNKNOWN_FRAME_DURATION_MS: Final[int] = 0

#: View codes of DICOM CID 26 "Nuclear Medicine Projection" (SNOMED CT).
_VIEW_CODES: Final[dict[str, tuple[str, str, str]]] = {
    "ANTERIOR": ("399321004", "SCT", "Anterior projection"),
    "POSTERIOR": ("399001007", "SCT", "Posterior projection"),
}

_NM_HEADROOM: Final[float] = 65530.0


def _quantise_nm(values: npt.NDArray[np.float64], where: str) -> tuple[npt.NDArray[np.uint16], str | None]:
    if values.min() < 0:
        raise InputError(f"{where}: NM counts cannot be negative (minimum {values.min():g})")
    if np.all(values == np.rint(values)) and values.max() <= 65535:
        return values.astype(np.uint16), None
    peak = float(values.max())
    slope_text, slope = decimal_string(peak / _NM_HEADROOM if peak > 0 else 1.0)
    return np.rint(values / slope).astype(np.uint16), slope_text


def _nm_common(volume: Volume, uids: Uids, policy: Policy, warnings: list[str]) -> Dataset:
    ds = base_dataset(volume, uids, pydicom.uid.NuclearMedicineImageStorage, policy, warnings)
    ds.InstanceNumber = 1
    ds.PatientOrientationCodeSequence = Sequence([])
    ds.PatientGantryRelationshipCodeSequence = Sequence([])
    ds.AcquisitionContextSequence = Sequence([])
    window = Dataset()
    window.EnergyWindowName = "PHOTOPEAK"
    ds.EnergyWindowInformationSequence = Sequence([window])
    ds.RadiopharmaceuticalInformationSequence = radiopharmaceutical_sequence(volume)
    ds.NumberOfEnergyWindows = 1
    ds.CountsAccumulated = ""
    if volume.units is ValueUnit.BQ_PER_ML:
        ds.Units = "BQML"
    elif volume.units is not ValueUnit.COUNTS:
        raise UnitsError(f"NM values must be counts or Bq/mL, the volume is in {volume.units.value}")
    return ds


def _detector_item(view: str | None = None) -> Dataset:
    item = Dataset()
    item.CollimatorType = ""
    item.FocalDistance = ""
    item.XFocusCenter = ""
    item.YFocusCenter = ""
    item.ZoomFactor = ""
    if view is not None:
        code = Dataset()
        if view.upper() in _VIEW_CODES:
            code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = _VIEW_CODES[view.upper()]
        else:
            code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = view[:16], "99NELM", view[:64]
        item.ViewCodeSequence = Sequence([code])
    return item


def nm_tomo_dataset(volume: Volume, policy: Policy, warnings: list[str]) -> Dataset:
    """The multi-frame RECON TOMO NM dataset of a volume."""
    where = volume.metadata.source or "volume"
    values = check_finite(volume)
    geometry = volume.geometry
    d = geometry.directions
    normal = np.cross(d[:, 2], d[:, 1])
    step = volume.affine[:3, 0]
    along = float(step @ normal)
    if np.linalg.norm(step - along * normal) > 1e-3 * abs(along):
        raise GeometryError(
            f"{where}: the slice axis is not perpendicular to the slices ({geometry.describe()}); "
            "NM images (Spacing Between Slices along the normal) cannot represent a tilted grid"
        )
    first = 0
    if along < 0:  # store frames in increasing position along the normal
        values = values[::-1]
        first = volume.shape[0] - 1
    stored, slope = _quantise_nm(values, where)
    uids = series_uids(volume)
    ds = _nm_common(volume, uids, policy, warnings)
    iop, pixel_spacing = in_plane(volume)
    n = volume.shape[0]
    ds.ImageType = ["DERIVED", "SECONDARY", "RECON TOMO", "EMISSION"]
    ds.NumberOfFrames = n
    ds.FrameIncrementPointer = pydicom.tag.Tag("SliceVector")
    ds.SliceVector = list(range(1, n + 1))
    ds.NumberOfSlices = n
    ds.NumberOfDetectors = 1
    ds.NumberOfRotations = 1
    detector = _detector_item()
    detector.ImagePositionPatient = [decimal_string(v)[0] for v in volume.index_to_world([first, 0, 0])]
    detector.ImageOrientationPatient = iop
    ds.DetectorInformationSequence = Sequence([detector])
    ds.RotationInformationSequence = Sequence([])
    ds.PixelSpacing = pixel_spacing
    ds.SpacingBetweenSlices = decimal_string(abs(along))[0]
    ds.SliceThickness = decimal_string(volume.metadata.slice_thickness_mm or abs(along))[0]
    if slope is not None:
        ds.RescaleIntercept, ds.RescaleSlope = "0", slope
    pixel_module(ds, stored)
    file_meta(ds, dc.deterministic_uid("instance", uids.series, uids.content, "0"))
    return ds


def nm_planar_dataset(views: Mapping[str, Volume], policy: Policy, warnings: list[str]) -> Dataset:
    """The STATIC NM dataset of planar views (:func:`nelm.imaging.dicom_write.write_planar_nm`)."""
    names = list(views)
    first = views[names[0]]
    for name, view in views.items():
        if view.modality != "NM" or view.shape[0] != 1:
            raise InputError(
                f"view {name}: a planar view must be a one-slice NM volume, got {view.describe()}"
            )
        if view.shape != first.shape or not np.allclose(view.spacing_mm[1:], first.spacing_mm[1:], atol=1e-6):
            raise InputError(f"view {name} differs in size or pixel spacing from view {names[0]}")
        conventional = dc.planar_geometry(
            view.shape[1], view.shape[2], (view.spacing_mm[1], view.spacing_mm[2]), name
        )
        if not view.geometry.same_as(conventional):
            apply_policy(
                policy,
                f"view {name}: its grid ({view.geometry.describe()}) cannot be stored in planar NM; it will "
                "read back on nelm's planar convention grid",
                logger=logger,
                warnings=warnings,
                error=GeometryError,
            )
    values = np.concatenate([check_finite(views[n]) for n in names], axis=0)
    stored, slope = _quantise_nm(values, f"planar views {names}")
    stack = Volume(
        array=values,
        geometry=Geometry(shape=(len(names), first.shape[1], first.shape[2]), affine=first.affine),
        modality="NM",
        units=first.units,
        acquisition_datetime=first.acquisition_datetime,
        metadata=first.metadata,
    )
    uids = series_uids(stack)
    ds = _nm_common(stack, uids, policy, warnings)
    ds.ImageType = ["DERIVED", "SECONDARY", "STATIC", "EMISSION"]
    ds.NumberOfFrames = len(names)
    ds.FrameIncrementPointer = [pydicom.tag.Tag("EnergyWindowVector"), pydicom.tag.Tag("DetectorVector")]
    ds.EnergyWindowVector = [1] * len(names)
    ds.DetectorVector = list(range(1, len(names) + 1))
    ds.NumberOfDetectors = len(names)
    ds.DetectorInformationSequence = Sequence([_detector_item(n) for n in names])
    ds.PatientOrientation = _patient_orientation(first)
    ds.PixelSpacing = [decimal_string(first.spacing_mm[1])[0], decimal_string(first.spacing_mm[2])[0]]
    ds.ActualFrameDuration = frame_duration_ms(first) or str(UNKNOWN_FRAME_DURATION_MS)  # Type 1C
    if slope is not None:
        ds.RescaleIntercept, ds.RescaleSlope = "0", slope
    pixel_module(ds, stored)
    file_meta(ds, dc.deterministic_uid("instance", uids.series, uids.content, "planar"))
    return ds


def _patient_orientation(view: Volume) -> list[str]:
    """Patient Orientation (0020,0020): directions of increasing column and row index."""
    letters = (("R", "L"), ("A", "P"), ("F", "H"))
    out = []
    for axis in (2, 1):
        direction = view.geometry.directions[:, axis]
        k = int(np.argmax(np.abs(direction)))
        out.append(letters[k][1] if direction[k] > 0 else letters[k][0])
    return out
