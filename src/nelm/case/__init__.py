"""The case manifest: one YAML or JSON file describing a patient (schema version 1).

>>> from nelm.case import load_case           # doctest: +SKIP
>>> case = load_case("cases/p1/case.yaml")    # doctest: +SKIP
>>> case.baseline.image("ct_portal").path     # doctest: +SKIP

See :mod:`nelm.case.model` for the fields, the unit and date rules, and the consistency checks;
:mod:`nelm.case.load` for reading and writing.
"""

from __future__ import annotations

from nelm.case.load import SUPPORTED_VERSIONS, case_from_dict, dump_case, load_case, manifest_dict
from nelm.case.messages import ManifestValidationError
from nelm.case.model import Case, Clinical, ImageRef, MaskRef, Patient, TimePoint, Treatment
from nelm.case.validation import calendar_date, detect_format, is_earlier
from nelm.case.vocabulary import (
    Differentiation,
    FileFormat,
    FunctionalSyndrome,
    Grade,
    ImageRole,
    MaskRole,
    PortalVeinThrombosis,
    PrimarySite,
    Sex,
    TareDevice,
    TimePointKind,
    TreatmentType,
)

__all__ = [
    "SUPPORTED_VERSIONS",
    "Case",
    "Clinical",
    "Differentiation",
    "FileFormat",
    "FunctionalSyndrome",
    "Grade",
    "ImageRef",
    "ImageRole",
    "ManifestValidationError",
    "MaskRef",
    "MaskRole",
    "Patient",
    "PortalVeinThrombosis",
    "PrimarySite",
    "Sex",
    "TareDevice",
    "TimePoint",
    "TimePointKind",
    "Treatment",
    "TreatmentType",
    "calendar_date",
    "case_from_dict",
    "detect_format",
    "dump_case",
    "is_earlier",
    "load_case",
    "manifest_dict",
]
