"""What the QIBA SUV pseudo-code reads from a PET series: :class:`SuvInputs`, built from the
DICOM headers (:mod:`nelm.imaging.suv_dicom`) or from nelm metadata. Re-exported by
:mod:`nelm.imaging.suv`, whose docstring gives the rules that use these values.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Final

from pydicom.dataset import Dataset

from nelm.errors import InputError, UnitsError
from nelm.imaging.metadata import ValueUnit
from nelm.imaging.suv_dicom import read_suv_header_values
from nelm.imaging.volume import Volume

__all__ = ["UNIT_OF_VALUE", "SuvInputs"]

# Messages keep the logger of nelm.imaging.suv, the module SuvInputs was split from.
logger = logging.getLogger("nelm.imaging.suv")

#: DICOM Units (0054,1001) of the PET voxel units nelm computes SUV from.
UNIT_OF_VALUE: Final[dict[ValueUnit, str]] = {
    ValueUnit.BQ_PER_ML: "BQML",
    ValueUnit.COUNTS: "CNTS",
    ValueUnit.SUV_BW: "GML",
}


def _aware(name: str, value: datetime | None, source: str) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise InputError(f"{source}: {name} {value.isoformat()} has no timezone; SUV decay needs aware times")


@dataclass(frozen=True)
class SuvInputs:
    """Everything the QIBA SUV pseudo-code reads from a PET series, typed and in SI-like units.

    Build it with :meth:`from_datasets` (DICOM headers, the exact QIBA path), :meth:`from_dataset`
    or :meth:`from_volume` (nelm metadata, e.g. the synthetic PET). Values absent from the
    source are ``None``/empty; they are required only by the path that uses them and then raise
    in :func:`suv_factor` naming their tag.

    Parameters
    ----------
    units:
        Units (0054,1001): ``BQML``, ``CNTS``, ``GML`` … (rescaled voxel values).
    decay_correction:
        Decay Correction (0054,1102): ``START``, ``ADMIN`` or ``NONE``.
    injected_activity_bq:
        Radionuclide Total Dose (0018,1074) at the injection, Bq.
    half_life_s:
        Radionuclide Half Life (0018,1075), s.
    injection_datetime:
        Radiopharmaceutical Start DateTime (0018,1078), or Start Time (0018,1072) on an assumed
        date (then ``injection_date_assumed``).
    series_datetime:
        Series Date (0008,0021) + Series Time (0008,0031).
    acquisition_datetime:
        Earliest Acquisition DateTime (0008,002A) / Date + Time (0008,0022/0032) over all slices.
    patient_weight_kg, patient_height_m, patient_sex:
        Patient's Weight (0010,1030), Patient's Size (0010,1020), Patient's Sex (0010,0040).
    manufacturer:
        Manufacturer (0008,0070).
    corrected_image:
        Corrected Image (0028,0051) values, or ``None`` when unknown (then not checked).
    philips_suv_scale_factor, philips_activity_scale_factor:
        Philips private (7053,1000) SUV Scale Factor and (7053,1009) Activity Concentration
        Scale Factor.
    ge_scan_datetime:
        GE private scan DateTime (0009,xx0d), creator ``GEMS_PETD_01``.
    injection_date_assumed:
        Whether the injection date was taken from the Series Date (no (0018,1078)).
    acquisition_time_count:
        Number of distinct acquisition date-times over the slices.
    source:
        Where the values came from, for messages.
    """

    units: str
    decay_correction: str
    injected_activity_bq: float | None = None
    half_life_s: float | None = None
    injection_datetime: datetime | None = None
    series_datetime: datetime | None = None
    acquisition_datetime: datetime | None = None
    patient_weight_kg: float | None = None
    patient_height_m: float | None = None
    patient_sex: str = ""
    manufacturer: str = ""
    corrected_image: tuple[str, ...] | None = None
    philips_suv_scale_factor: float | None = None
    philips_activity_scale_factor: float | None = None
    ge_scan_datetime: datetime | None = None
    injection_date_assumed: bool = False
    acquisition_time_count: int = 1
    source: str = ""

    def __post_init__(self) -> None:
        src = self.source or "SUV inputs"
        object.__setattr__(self, "units", self.units.strip().upper())
        object.__setattr__(self, "decay_correction", self.decay_correction.strip().upper())
        object.__setattr__(self, "patient_sex", self.patient_sex.strip().upper())
        if self.corrected_image is not None:
            object.__setattr__(
                self, "corrected_image", tuple(v.strip().upper() for v in self.corrected_image)
            )
        # Negative or non-finite values are corrupt headers; 0 is kept (often "unknown") and refused
        # by suv_factor only when the value is actually needed.
        for name, tag, value in (
            ("Radionuclide Total Dose", "(0018,1074)", self.injected_activity_bq),
            ("Radionuclide Half Life", "(0018,1075)", self.half_life_s),
            ("Patient's Weight", "(0010,1030)", self.patient_weight_kg),
            ("Patient's Size", "(0010,1020)", self.patient_height_m),
            ("Philips SUV Scale Factor", "(7053,1000)", self.philips_suv_scale_factor),
            (
                "Philips Activity Concentration Scale Factor",
                "(7053,1009)",
                self.philips_activity_scale_factor,
            ),
        ):
            if value is not None and not (math.isfinite(value) and value >= 0):
                raise UnitsError(f"{src}: {name} {tag} is {value}; it must be a finite number ≥ 0")
        for name, dt in (
            ("injection datetime (0018,1078)", self.injection_datetime),
            ("series datetime (0008,0021/0031)", self.series_datetime),
            ("acquisition datetime (0008,0022/0032)", self.acquisition_datetime),
            ("GE private scan datetime (0009,100d)", self.ge_scan_datetime),
        ):
            _aware(name, dt, src)
        if self.acquisition_time_count < 0:
            raise InputError(f"{src}: acquisition_time_count must be ≥ 0, got {self.acquisition_time_count}")

    # -- constructors ----------------------------------------------------------------------
    @classmethod
    def from_dataset(cls, ds: Dataset, *, tz: tzinfo | None = None, source: str = "") -> SuvInputs:
        """The inputs from one PET slice header (see :meth:`from_datasets`)."""
        return cls.from_datasets([ds], tz=tz, source=source)

    @classmethod
    def from_datasets(
        cls, datasets: Iterable[Dataset], *, tz: tzinfo | None = None, source: str = ""
    ) -> SuvInputs:
        """The inputs from the headers of every slice of one PET series.

        Series-level values come from the first header and must agree across the headers
        (calculate-suv refuses mixed series-level tags); the acquisition datetime is the
        earliest over all of them (QIBA).

        Parameters
        ----------
        datasets:
            pydicom datasets of the slices (pixel data not needed).
        tz:
            Zone of the local DICOM dates and times. Default: Timezone Offset From UTC
            (0008,0201) of the first header, else UTC. Pass a ``zoneinfo.ZoneInfo`` to get
            daylight-saving changes between injection and scan right.
        source:
            Name for messages (a path).

        Raises
        ------
        DicomError
            No headers, inconsistent series-level values or malformed dates.
        """
        return cls(**read_suv_header_values(datasets, tz=tz, source=source))

    @classmethod
    def from_volume(
        cls,
        volume: Volume,
        *,
        sex: str | None = None,
        series_datetime: datetime | None = None,
        corrected_image: tuple[str, ...] | None = None,
        manufacturer: str | None = None,
    ) -> SuvInputs:
        """The inputs from a volume's nelm metadata (e.g. the synthetic PET).

        ``metadata.radiopharmaceutical`` gives the dose, half-life, injection time, Units,
        Decay Correction, weight and height; the acquisition datetime is the volume's (the
        earliest over its slices for DICOM input); the Series Date/Time is ``series_datetime`` or
        else ``metadata.series_datetime`` (filled by the DICOM reader). Without either, the scan
        reference is the acquisition datetime, which is the series time of the synthetic PET but
        not the QIBA rule for DICOM series whose Series Time precedes the acquisition (a warning is
        logged for non-synthetic volumes). Vendor private factors (Philips CNTS, GE scan time) are
        only read by :meth:`from_datasets`. ``sex`` defaults to
        ``metadata.identity.sex``.

        Raises
        ------
        InputError
            If the volume carries no radiopharmaceutical information.
        """
        radio = volume.metadata.radiopharmaceutical
        src = volume.metadata.source or f"{volume.modality} volume"
        if radio is None:
            raise InputError(
                f"{src}: the {volume.modality} volume has no radiopharmaceutical information "
                "(dose, injection time, half-life); SUV cannot be computed"
            )
        units = radio.units or UNIT_OF_VALUE.get(volume.units, volume.units.value)
        if series_datetime is None:
            series_datetime = volume.metadata.series_datetime
        if series_datetime is None and radio.decay_correction.upper() == "START" and src != "synthetic":
            logger.warning(
                "%s: no Series Date/Time in nelm metadata; the acquisition datetime is used as the SUV "
                "scan reference (the QIBA rule needs the DICOM headers: SuvInputs.from_datasets)",
                src,
            )
        return cls(
            units=units,
            decay_correction=radio.decay_correction,
            injected_activity_bq=radio.injected_activity_bq,
            half_life_s=radio.half_life_s,
            injection_datetime=radio.injection_datetime,
            series_datetime=series_datetime,
            acquisition_datetime=volume.acquisition_datetime,
            patient_weight_kg=radio.patient_weight_kg,
            patient_height_m=radio.patient_height_m,
            patient_sex=volume.metadata.identity.sex if sex is None else sex,
            manufacturer=volume.metadata.manufacturer if manufacturer is None else manufacturer,
            corrected_image=corrected_image,
            acquisition_time_count=1 if volume.acquisition_datetime is not None else 0,
            source=src,
        )
