"""Plant canary strings in every identifying field of a case's inputs (de-identification tests).

:func:`plant_canaries` rewrites, in place, every DICOM file under a case folder and the case
manifest, putting a unique, recognisable value into each identifying attribute (DICOM PS3.15
Table E.1-1: names, IDs, birth date, accession number, institution, staff, station and device,
descriptions and free-text comments, and a private attribute), and returns the canaries. A test
then asserts that none of them reaches any output file.

The canaries are short upper-case words (``CNRY`` + a number; every DICOM string VR holds them,
SH's 16 characters included) plus one birth date, ``19070319``, a date no synthetic study uses.
UIDs are left as they are: :func:`original_uids` collects them for the "no original UID in any
output" check.
"""

from __future__ import annotations

from pathlib import Path

import pydicom
import yaml
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

__all__ = ["BIRTH_DATE_CANARY", "original_uids", "plant_canaries"]

#: Birth date planted in the manifest and in every DICOM file (DICOM form ``YYYYMMDD``).
BIRTH_DATE_CANARY = "19070319"

#: DICOM keyword → canary; person names get a two-component PN.
_DICOM_CANARIES: dict[str, str] = {
    "PatientName": "CNRY01^PATIENT",
    "PatientID": "CNRY02",
    "OtherPatientIDs": "CNRY03",
    "AccessionNumber": "CNRY04",
    "InstitutionName": "CNRY05",
    "InstitutionAddress": "CNRY06",
    "ReferringPhysicianName": "CNRY07^REFERRER",
    "PerformingPhysicianName": "CNRY08^PERFORMER",
    "OperatorsName": "CNRY09^OPERATOR",
    "StationName": "CNRY10",
    "StudyID": "CNRY11",
    "StudyDescription": "CNRY12",
    "SeriesDescription": "CNRY13",
    "ImageComments": "CNRY14",
    "PatientComments": "CNRY15",
    "DeviceSerialNumber": "CNRY16",
    "InstitutionalDepartmentName": "CNRY17",
    "PhysiciansOfRecord": "CNRY18^RECORD",
    "NameOfPhysiciansReadingStudy": "CNRY19^READER",
    "RequestingPhysician": "CNRY20^REQUESTER",
    "ProtocolName": "CNRY21",
    "PatientAddress": "CNRY22",
    "AdditionalPatientHistory": "CNRY23",
    "MedicalRecordLocator": "CNRY24",
    "PatientTelephoneNumbers": "CNRY25",
    "OtherPatientNames": "CNRY26^OTHER",
}
_PRIVATE_CANARY = "CNRY27"
_NESTED_CANARY = "CNRY28^NESTED"
_MANIFEST_NAME = "CNRY29^MANIFEST"
_MANIFEST_ID = "CNRY30"


def _dicom_files(case_dir: Path) -> list[Path]:
    out = []
    for path in sorted(case_dir.rglob("*")):
        if not path.is_file() or path.suffix in {".gz", ".json", ".yaml", ".nii"}:
            continue
        try:
            pydicom.dcmread(path, stop_before_pixels=True)
        except (InvalidDicomError, OSError, ValueError, EOFError):
            continue
        out.append(path)
    return out


def _plant(ds: Dataset) -> None:
    for keyword, value in _DICOM_CANARIES.items():
        setattr(ds, keyword, value)
    ds.PatientBirthDate = BIRTH_DATE_CANARY
    block = ds.private_block(0x0011, "CNRY PRIVATE CREATOR", create=True)
    block.add_new(0x01, "LO", _PRIVATE_CANARY)
    # A person's name inside a sequence item (de-identification must recurse).
    item = Dataset()
    item.PersonName = _NESTED_CANARY
    item.InstitutionName = _DICOM_CANARIES["InstitutionName"]
    ds.ReferringPhysicianIdentificationSequence = [item]


def plant_canaries(case_dir: Path) -> list[str]:
    """Plant canaries in every DICOM file under ``case_dir`` and in its ``case.yaml``.

    Returns
    -------
    list of str
        Every canary string (as it appears in the files' bytes: person names also by their first
        component), to search the outputs for.
    """
    files = _dicom_files(case_dir)
    if not files:
        raise AssertionError(f"{case_dir}: no DICOM file to plant canaries in")
    for path in files:
        ds = pydicom.dcmread(path)
        _plant(ds)
        ds.save_as(path, enforce_file_format=True)
    manifest = case_dir / "case.yaml"
    doc = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    doc["patient"]["name"] = _MANIFEST_NAME
    doc["patient"]["id"] = _MANIFEST_ID
    doc["patient"]["birth_date"] = f"{BIRTH_DATE_CANARY[:4]}-{BIRTH_DATE_CANARY[4:6]}-{BIRTH_DATE_CANARY[6:]}"
    manifest.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    values = [*_DICOM_CANARIES.values(), _PRIVATE_CANARY, _NESTED_CANARY, _MANIFEST_NAME, _MANIFEST_ID]
    words = {v.split("^")[0] for v in values}
    return sorted(words | {BIRTH_DATE_CANARY, doc["patient"]["birth_date"]})


def original_uids(case_dir: Path) -> set[str]:
    """Study, Series, SOP Instance and Frame of Reference UIDs of every DICOM file of the case."""
    uids: set[str] = set()
    for path in _dicom_files(case_dir):
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "FrameOfReferenceUID"):
            value = str(ds.get(keyword, "") or "")
            if value:
                uids.add(value)
    return uids
