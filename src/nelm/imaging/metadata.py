"""Typed metadata that travels with a :class:`~nelm.imaging.volume.Volume`.

Only what later stages need is lifted out of the source headers into typed fields; everything
stays optional because clinical data is messy. Identifying fields (patient name, ID, birth
date, accession number, institution) are kept separately in :class:`PatientIdentity` so that
de-identification can drop one object rather than hunt for fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

__all__ = ["PatientIdentity", "Radiopharmaceutical", "SeriesMetadata", "ValueUnit"]


class ValueUnit(StrEnum):
    """What a voxel value means, in physical units where there are any."""

    HU = "HU"
    """Hounsfield units (CT after rescale)."""
    BQ_PER_ML = "Bq/mL"
    """Activity concentration (PET Units BQML, quantitative SPECT)."""
    COUNTS = "counts"
    """Detected counts (NM, SPECT, planar; PET Units CNTS)."""
    SUV_BW = "g/mL"
    """Body-weight SUV already applied by the scanner (PET Units GML)."""
    GY = "Gy"
    """Absorbed dose."""
    ARBITRARY = "arbitrary"
    """Unitless signal intensity (MR, cone-beam CT without calibration)."""
    LABEL = "label"
    """Integer labels of a segmentation."""


@dataclass(frozen=True)
class PatientIdentity:
    """Identifying patient and study data, kept apart for de-identification."""

    patient_name: str = ""
    patient_id: str = ""
    birth_date: date | None = None
    sex: str = ""
    accession_number: str = ""
    institution_name: str = ""
    referring_physician_name: str = ""


@dataclass(frozen=True)
class Radiopharmaceutical:
    """Radiopharmaceutical administration of a PET or NM series.

    From the Radiopharmaceutical Information Sequence (0054,0016) and the PET Series module.
    ``injected_activity_bq`` is the Radionuclide Total Dose (0018,1074) at
    ``injection_datetime``; ``half_life_s`` is Radionuclide Half Life (0018,1075).
    """

    radionuclide: str = ""
    """Code meaning of the Radionuclide Code Sequence, e.g. ``"^68^Gallium"``, or the nuclide name."""
    radiopharmaceutical: str = ""
    """Radiopharmaceutical (0018,0031), e.g. ``"Ga-68 DOTATATE"``."""
    injected_activity_bq: float | None = None
    injection_datetime: datetime | None = None
    half_life_s: float | None = None
    positron_fraction: float | None = None
    decay_correction: str = ""
    """Decay Correction (0054,1102): ``START``, ``ADMIN`` or ``NONE``."""
    decay_factor: float | None = None
    """Decay Factor (0054,1321) of the first slice, when present."""
    units: str = ""
    """PET Units (0054,1001) as written: ``BQML``, ``CNTS``, ``GML`` …"""
    patient_weight_kg: float | None = None
    patient_height_m: float | None = None


@dataclass(frozen=True)
class SeriesMetadata:
    """Series-level description of where a volume came from."""

    source: str = ""
    """Path of the file or folder it was read from, or ``"synthetic"``."""
    study_instance_uid: str = ""
    series_instance_uid: str = ""
    frame_of_reference_uid: str = ""
    sop_class_uid: str = ""
    series_description: str = ""
    series_number: int | None = None
    manufacturer: str = ""
    slice_thickness_mm: float | None = None
    """Nominal SliceThickness (0018,0050); spacing comes from positions, never from this."""
    sop_instance_uids: tuple[str, ...] = ()
    """SOP Instance UIDs in slice order (one per frame for single-frame series)."""
    transfer_syntax_uid: str = ""
    frame_duration_s: float | None = None
    """Acquisition duration of one frame (Actual Frame Duration (0018,1242), in s), when known."""
    study_datetime: datetime | None = None
    series_datetime: datetime | None = None
    """Series Date/Time (0008,0021/0031): the SUV scan reference of the QIBA rule for PET."""
    identity: PatientIdentity = field(default_factory=PatientIdentity)
    radiopharmaceutical: Radiopharmaceutical | None = None
    warnings: tuple[str, ...] = ()
    """Problems tolerated while reading (policy WARN), kept for the report."""
