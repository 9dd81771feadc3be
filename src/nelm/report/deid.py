"""De-identification of DICOM datasets and series metadata for nelm's DICOM exports.

nelm follows the **Basic Application Level Confidentiality Profile** of DICOM PS3.15 Annex E
(Table E.1-1, "Application Level Confidentiality Profile Attributes") with the **Retain
Longitudinal Temporal Information with Full Dates Option** (PS3.15 E.3.6), and records both in
the de-identified objects (PS3.15 E.1.1 and PS3.3 C.7.1.1 Patient module):

* Patient Identity Removed (0012,0062) ``YES``;
* De-identification Method (0012,0063): a sentence naming the profile, the option, the UID
  remapping and the pseudonym;
* De-identification Method Code Sequence (0012,0064): DCM 113100 "Basic Application
  Confidentiality Profile" and DCM 113106 "Retain Longitudinal Temporal Information Full Dates
  Option" (PS3.16 CID 7050 "De-identification Method");
* Longitudinal Temporal Information Modified (0028,0303) ``UNMODIFIED`` (PS3.15 E.3.6).

Why dates are kept
------------------
Y-90 dosimetry decays activity between calibration, administration and imaging with full
date-times, and response criteria compare time points by their interval (RECIST 1.1 confirmation
and best-overall-response windows). Shifting dates would keep the intervals but break the link to
the treatment record; removing them breaks both. Dates and times are therefore retained (Full Dates
Option); the patient's birth date and time are still removed (they are not study dates). Use
another tool to shift dates when a cohort's sharing agreement requires it.

Actions (PS3.15 E.1.1)
----------------------
``X`` remove; ``Z`` replace with an empty value; ``D`` replace with a dummy value; ``U`` replace a
UID with another, consistently (:class:`UidMap`); ``K`` keep (sequences are still cleaned, item by
item). :data:`BASIC_PROFILE_ACTIONS` holds the attributes of Table E.1-1 that occur in imaging
objects; "X/Z", "X/D", "X/Z/D" entries are applied as ``X`` for these source copies (nelm's own
objects set the Type 1/2 attributes they need themselves), "Z/D" as ``Z`` or, for Patient's Name
and Patient ID, as the pseudonym (``D``). Beyond the table, nelm is deliberately more conservative
(PS3.15 E.1.1 asks a de-identifier to remove identifying information in attributes the table does
not list):

* every **private** attribute (odd group) is removed (the Basic Profile removes private
  attributes unless the Retain Safe Private Option is claimed, which nelm does not);
* curves (groups 50xx) and overlay data and comments (60xx,3000 / 60xx,4000) are removed;
* every other **person name** (VR PN) is emptied;
* every other **free-text** attribute (VR LT, ST, UT) is removed;
* every other **UID** (VR UI) is remapped unless it is a UID defined by the DICOM standard itself
  (root ``1.2.840.10008.``: SOP classes, transfer syntaxes, coding schemes), which identify no
  one.

Pixel data are not cleaned (no Clean Pixel Data Option): CT, MR, PET and SPECT slices of the
abdomen carry no burned-in annotations in the usual case; check secondary captures yourself.

UID remapping and the pseudonym
-------------------------------
:class:`UidMap` maps each original UID to ``2.25.<integer>`` where the integer is the first 128
bits of HMAC-SHA-256(key, UID) (PS3.5 B.2: a UUID-derived 2.25 UID holds a 128-bit integer), so
the same source UID maps to the same new UID in every exported object (SEG, SR and RT Dose
references, Frame of Reference) and re-runs give byte-identical files. The key defaults to
``"nelm:" + case id`` (:func:`default_deid_key`). **This is pseudonymisation, not
anonymisation**: whoever knows the key and an original UID can recompute its replacement. Pass a
secret key (``--deid-key``) when the outputs leave the institution.

The pseudonym (:class:`Pseudonym`, :func:`pseudonym_for`) replaces Patient's Name with
``NELM^<case id>`` and Patient ID with the case id. The case id must therefore not itself be a
patient identifier (a medical record number); choose a study code.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Final, Literal

from pydicom.datadict import tag_for_keyword
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence as DicomSequence
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code

from nelm.errors import ConfigError
from nelm.imaging.metadata import PatientIdentity, SeriesMetadata

__all__ = [
    "BASIC_PROFILE_ACTIONS",
    "DEIDENTIFICATION_CODES",
    "DEIDENTIFICATION_METHOD",
    "DICOM_STANDARD_UID_ROOT",
    "Action",
    "Pseudonym",
    "UidMap",
    "default_deid_key",
    "deidentify_dataset",
    "deidentify_metadata",
    "deidentify_sources",
    "mark_deidentified",
    "pseudonym_for",
]

logger = logging.getLogger(__name__)

Action = Literal["X", "Z", "D", "U", "K"]

#: UIDs under this root are defined by the DICOM standard (PS3.6 Annex A) and identify nobody.
DICOM_STANDARD_UID_ROOT: Final[str] = "1.2.840.10008."

#: De-identification Method (0012,0063) written in every de-identified object.
#: At most 64 characters (VR LO); the code sequence names the profile and option exactly.
DEIDENTIFICATION_METHOD: Final[str] = "nelm: PS3.15 Basic Profile + Full Dates Option; keyed UID remap"

#: De-identification Method Code Sequence (0012,0064) items (PS3.16 CID 7050).
DEIDENTIFICATION_CODES: Final[tuple[Code, ...]] = (
    codes.DCM.BasicApplicationConfidentialityProfile,  # DCM 113100
    codes.DCM.RetainLongitudinalTemporalInformationFullDatesOption,  # DCM 113106
)

_X: Final = "X"
_Z: Final = "Z"

#: PS3.15 Table E.1-1 actions of the Basic Profile for the attributes that occur in imaging
#: objects (see the module docstring for how X/Z/D variants are applied). UIDs (action U) are
#: handled generically for every UI attribute; dates and times are kept (Full Dates Option)
#: except the patient's birth date and time.
BASIC_PROFILE_ACTIONS: Final[dict[str, Action]] = {
    # Patient
    "PatientName": "D",
    "PatientID": "D",
    "PatientBirthDate": _Z,
    "PatientBirthTime": _X,
    "PatientSex": _Z,
    "PatientAge": _X,
    "PatientSize": _X,
    "PatientWeight": _X,
    "PatientAddress": _X,
    "PatientBirthName": _X,
    "PatientMotherBirthName": _X,
    "PatientTelephoneNumbers": _X,
    "PatientReligiousPreference": _X,
    "PatientComments": _X,
    "PatientState": _X,
    "PatientSexNeutered": _X,
    "PatientInsurancePlanCodeSequence": _X,
    "PatientPrimaryLanguageCodeSequence": _X,
    "OtherPatientIDs": _X,
    "OtherPatientIDsSequence": _X,
    "OtherPatientNames": _X,
    "IssuerOfPatientID": _X,
    "EthnicGroup": _X,
    "Occupation": _X,
    "MilitaryRank": _X,
    "BranchOfService": _X,
    "CountryOfResidence": _X,
    "RegionOfResidence": _X,
    "MedicalRecordLocator": _X,
    "MedicalAlerts": _X,
    "Allergies": _X,
    "SmokingStatus": _X,
    "PregnancyStatus": _X,
    "LastMenstrualDate": _X,
    "AdditionalPatientHistory": _X,
    "SpecialNeeds": _X,
    "ReferencedPatientSequence": _X,
    "ReferencedPatientAliasSequence": _X,
    "ResponsiblePerson": _X,
    "ResponsibleOrganization": _X,
    "PatientIdentityRemoved": "K",
    # Study / visit / request
    "AccessionNumber": _Z,
    "StudyID": _Z,
    "StudyDescription": _X,
    "StudyComments": _X,
    "StudyIDIssuer": _X,
    "ReferringPhysicianName": _Z,
    "ReferringPhysicianAddress": _X,
    "ReferringPhysicianTelephoneNumbers": _X,
    "ReferringPhysicianIdentificationSequence": _X,
    "PhysiciansOfRecord": _X,
    "PhysiciansOfRecordIdentificationSequence": _X,
    "NameOfPhysiciansReadingStudy": _X,
    "PhysiciansReadingStudyIdentificationSequence": _X,
    "ConsultingPhysicianName": _X,
    "RequestingPhysician": _X,
    "RequestingService": _X,
    "RequestedProcedureDescription": _X,
    "RequestedProcedureID": _X,
    "RequestedProcedureComments": _X,
    "RequestedProcedureLocation": _X,
    "RequestedContrastAgent": _X,
    "RequestAttributesSequence": _X,
    "ReasonForStudy": _X,
    "ReasonForTheRequestedProcedure": _X,
    "ImagingServiceRequestComments": _X,
    "PlacerOrderNumberImagingServiceRequest": _Z,
    "FillerOrderNumberImagingServiceRequest": _Z,
    "OrderEnteredBy": _X,
    "OrderEntererLocation": _X,
    "OrderCallbackPhoneNumber": _X,
    "AdmissionID": _X,
    "IssuerOfAdmissionID": _X,
    "AdmittingDiagnosesDescription": _X,
    "AdmittingDiagnosesCodeSequence": _X,
    "ServiceEpisodeID": _X,
    "ServiceEpisodeDescription": _X,
    "IssuerOfServiceEpisodeID": _X,
    "CurrentPatientLocation": _X,
    "VisitComments": _X,
    "ScheduledPatientInstitutionResidence": _X,
    "ReferencedStudySequence": "K",
    # Institution, equipment and staff (no Retain Device/Institution Identity Option)
    "InstitutionName": _X,
    "InstitutionAddress": _X,
    "InstitutionalDepartmentName": _X,
    "InstitutionCodeSequence": _X,
    "StationName": _X,
    "DeviceSerialNumber": _X,
    "DetectorID": _X,
    "GantryID": _X,
    "GeneratorID": _X,
    "CassetteID": _X,
    "PlateID": _X,
    "ModifyingDeviceID": _X,
    "ModifyingDeviceManufacturer": _X,
    "OperatorsName": _X,
    "OperatorIdentificationSequence": _X,
    "PerformingPhysicianName": _X,
    "PerformingPhysicianIdentificationSequence": _X,
    "ActualHumanPerformersSequence": _X,
    "HumanPerformerOrganization": _X,
    "ScheduledHumanPerformersSequence": _X,
    "ScheduledPerformingPhysicianName": _X,
    "ScheduledPerformingPhysicianIdentificationSequence": _X,
    "PersonAddress": _X,
    "PersonTelephoneNumbers": _X,
    "PersonName": _Z,
    "ContentCreatorName": _Z,
    "ContentCreatorIdentificationCodeSequence": _X,
    "AuthorObserverSequence": _X,
    "ParticipantSequence": _X,
    "CustodialOrganizationSequence": _X,
    "VerifyingObserverName": _Z,
    "VerifyingObserverIdentificationCodeSequence": _Z,
    "VerifyingOrganization": _X,
    # Procedure steps, performed/scheduled stations
    "PerformedProcedureStepID": _X,
    "PerformedProcedureStepDescription": _X,
    "CommentsOnThePerformedProcedureStep": _X,
    "PerformedLocation": _X,
    "PerformedStationAETitle": _X,
    "PerformedStationName": _X,
    "PerformedStationNameCodeSequence": _X,
    "PerformedStationGeographicLocationCodeSequence": _X,
    "ScheduledProcedureStepDescription": _X,
    "ScheduledProcedureStepID": _X,
    "ScheduledProcedureStepLocation": _X,
    "ScheduledStationAETitle": _X,
    "ScheduledStationName": _X,
    "ScheduledStationNameCodeSequence": _X,
    "ScheduledStationGeographicLocationCodeSequence": _X,
    "ScheduledStudyLocation": _X,
    "ScheduledStudyLocationAETitle": _X,
    "ProtocolName": _X,
    "AcquisitionProtocolDescription": _X,
    "AcquisitionDeviceProcessingDescription": _X,
    "AcquisitionContextSequence": _X,
    # Series, image and free text
    "SeriesDescription": _X,
    "ImageComments": _X,
    "FrameComments": _X,
    "AcquisitionComments": _X,
    "DerivationDescription": _X,
    "ImagePresentationComments": _X,
    "IdentifyingComments": _X,
    "TextComments": _X,
    "TextString": _X,
    "Impressions": _X,
    "ResultsComments": _X,
    "ContributionDescription": _X,
    "ContentSequence": _X,
    "IconImageSequence": _X,
    "DigitalSignaturesSequence": _X,
    "ReferencedDigitalSignatureSequence": _X,
    "ReferencedSOPInstanceMACSequence": _X,
    "ModifiedAttributesSequence": _X,
    "OriginalAttributesSequence": _X,
    "DataSetTrailingPadding": _X,
    "InterpretationText": _X,
    "InterpretationAuthor": _X,
    "InterpretationRecorder": _X,
    "InterpretationTranscriber": _X,
    "InterpretationApproverSequence": _X,
    "InterpretationDiagnosisDescription": _X,
    "PhysicianApprovingInterpretation": _X,
    "DistributionName": _X,
    "DistributionAddress": _X,
    "NamesOfIntendedRecipientsOfResults": _X,
    "IntendedRecipientsOfResultsIdentificationSequence": _X,
    "ResultsDistributionListSequence": _X,
    "TopicTitle": _X,
    "TopicSubject": _X,
    "TopicAuthor": _X,
    "TopicKeywords": _X,
    "PreMedication": _X,
    "InsurancePlanIdentification": _X,
    "ConfidentialityConstraintOnPatientDataDescription": _X,
}

_PERSON_NAME_VR: Final[str] = "PN"
_FREE_TEXT_VRS: Final[frozenset[str]] = frozenset({"LT", "ST", "UT"})
_DATE_VRS: Final[frozenset[str]] = frozenset({"DA", "DT", "TM"})
_UID_LIMIT: Final[int] = 64
_CASE_ID_TEXT: Final[re.Pattern[str]] = re.compile(r"[^A-Za-z0-9 _.\-]")


def default_deid_key(case_id: str) -> str:
    """The UID-remapping key used when the caller gives none: ``"nelm:" + case id``.

    Guessable by anyone who knows the case id: pseudonymisation, not anonymisation (see the
    module docstring). Pass a secret key for data that leave the institution.
    """
    return f"nelm:{case_id}"


@dataclass(frozen=True)
class UidMap:
    """Consistent, keyed replacement of DICOM UIDs (PS3.15 action ``U``).

    Parameters
    ----------
    key:
        Secret (or default, see :func:`default_deid_key`) mixed into every replacement; the
        same key and UID always give the same replacement.

    Raises
    ------
    ConfigError
        An empty key.
    """

    key: str

    def __post_init__(self) -> None:
        if not isinstance(self.key, str) or not self.key:
            raise ConfigError("the de-identification key (--deid-key) must be a non-empty string")

    def _uid(self, text: str) -> str:
        digest = hmac.new(self.key.encode("utf-8"), text.encode("utf-8"), hashlib.sha256).digest()
        number = int.from_bytes(digest[:16], "big") or 1  # a UID component has no leading zero
        uid = f"2.25.{number}"
        assert len(uid) <= _UID_LIMIT  # 5 + at most 39 digits
        return uid

    def map(self, uid: str) -> str:
        """The replacement of ``uid``; standard UIDs (:data:`DICOM_STANDARD_UID_ROOT`) and empty
        values are returned unchanged."""
        text = str(uid).strip().rstrip("\x00")
        if not text or text.startswith(DICOM_STANDARD_UID_ROOT):
            return text
        return self._uid(text)

    def derived(self, purpose: str, *parts: str) -> str:
        """A new UID for an object nelm creates (``purpose`` such as ``"seg series"``), derived
        from the key and ``parts`` so that re-runs give the same UID."""
        # NUL never occurs in a UID, so a derived UID never equals the replacement of an original.
        return self._uid("\x00".join(("new", purpose, *parts)))


@dataclass(frozen=True)
class Pseudonym:
    """Replacement Patient's Name (0010,0010) and Patient ID (0010,0020)."""

    patient_name: str
    patient_id: str

    def __post_init__(self) -> None:
        if not self.patient_id:
            raise ConfigError("a pseudonym needs a non-empty patient ID")
        if len(self.patient_id) > 64:
            raise ConfigError(f"pseudonym patient ID {self.patient_id!r} is longer than 64 characters (LO)")


def pseudonym_for(case_id: str) -> Pseudonym:
    """The pseudonym of a case: name ``NELM^<case id>``, ID ``<case id>`` (characters other than
    letters, digits, space, ``_``, ``.``, ``-`` become ``_``; at most 64 characters)."""
    clean = _CASE_ID_TEXT.sub("_", case_id).strip()[:64] or "case"
    return Pseudonym(patient_name=f"NELM^{clean}"[:64], patient_id=clean)


def _is_private(elem: DataElement) -> bool:
    return bool(elem.tag.is_private)


def _is_curve_or_overlay(elem: DataElement) -> bool:
    group, element = elem.tag.group, elem.tag.element
    if 0x5000 <= group <= 0x50FF:
        return True
    return 0x6000 <= group <= 0x60FF and element in (0x3000, 0x4000)


def _remap_uid_value(elem: DataElement, uid_map: UidMap) -> None:
    value = elem.value
    if value is None or value == "":
        return
    if isinstance(value, MultiValue | list | tuple):
        elem.value = [uid_map.map(str(v)) for v in value]
    else:
        elem.value = uid_map.map(str(value))


def mark_deidentified(ds: Dataset) -> None:
    """Record the de-identification in ``ds`` (in place): Patient Identity Removed ``YES``,
    De-identification Method and its Code Sequence (:data:`DEIDENTIFICATION_CODES`), and
    Longitudinal Temporal Information Modified ``UNMODIFIED`` (PS3.15 E.1.1, E.3.6)."""
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = DEIDENTIFICATION_METHOD
    items = []
    for code in DEIDENTIFICATION_CODES:
        item = Dataset()
        item.CodeValue = code.value
        item.CodingSchemeDesignator = code.scheme_designator
        item.CodeMeaning = code.meaning
        items.append(item)
    ds.DeidentificationMethodCodeSequence = DicomSequence(items)
    ds.LongitudinalTemporalInformationModified = "UNMODIFIED"


def _clean(ds: Dataset, uid_map: UidMap, pseudonym: Pseudonym, top: bool) -> None:
    for elem in list(ds):
        tag = elem.tag
        if _is_private(elem) or _is_curve_or_overlay(elem):
            del ds[tag]
            continue
        keyword = elem.keyword
        action = BASIC_PROFILE_ACTIONS.get(keyword)
        if action == "X":
            del ds[tag]
            continue
        if action == "Z":
            elem.value = [] if elem.VR == "SQ" else ""
            continue
        if action == "D":
            if keyword == "PatientName":
                elem.value = pseudonym.patient_name
            elif keyword == "PatientID":
                elem.value = pseudonym.patient_id
            else:  # pragma: no cover - every D entry of the table is handled above
                elem.value = ""
            continue
        if elem.VR == "SQ":
            for item in elem.value:
                _clean(item, uid_map, pseudonym, top=False)
            continue
        if action == "K" or elem.VR in _DATE_VRS:
            continue
        if elem.VR == "UI":
            _remap_uid_value(elem, uid_map)
        elif elem.VR == _PERSON_NAME_VR:
            elem.value = ""
        elif elem.VR in _FREE_TEXT_VRS:
            del ds[tag]
    if top:
        mark_deidentified(ds)
        if "PatientName" not in ds:
            ds.PatientName = pseudonym.patient_name
        if "PatientID" not in ds:
            ds.PatientID = pseudonym.patient_id


def deidentify_dataset(ds: Dataset, uid_map: UidMap, *, pseudonym: Pseudonym) -> Dataset:
    """A de-identified copy of ``ds`` (the original is not changed).

    Applies :data:`BASIC_PROFILE_ACTIONS` and the generic rules of the module docstring to
    every attribute, recursing into sequence items; remaps the file meta's Media Storage SOP
    Instance UID with the same map; records the method (Patient Identity Removed, De-identification
    Method and its Code Sequence, Longitudinal Temporal Information Modified).

    Parameters
    ----------
    ds:
        A DICOM dataset (pixel data, if loaded, is copied unchanged).
    uid_map:
        The UID replacement shared by every object of the export.
    pseudonym:
        Replacement Patient's Name and Patient ID.

    Returns
    -------
    pydicom.dataset.Dataset
        The de-identified copy.
    """
    out = copy.deepcopy(ds)
    _clean(out, uid_map, pseudonym, top=True)
    meta = getattr(out, "file_meta", None)
    if meta is not None:
        for keyword in ("MediaStorageSOPInstanceUID",):
            if keyword in meta:
                meta[keyword].value = uid_map.map(str(meta[keyword].value))
        for elem in list(meta):
            if elem.tag.is_private:
                del meta[elem.tag]
    filename = getattr(ds, "filename", None)
    if isinstance(filename, str):
        out.filename = None  # a path may name the patient; de-identified copies carry none
    return out


def deidentify_sources(
    datasets: Iterable[Dataset], uid_map: UidMap, *, pseudonym: Pseudonym
) -> list[Dataset]:
    """:func:`deidentify_dataset` applied to each dataset, in order."""
    return [deidentify_dataset(ds, uid_map, pseudonym=pseudonym) for ds in datasets]


def deidentify_metadata(md: SeriesMetadata, uid_map: UidMap, *, pseudonym: Pseudonym) -> SeriesMetadata:
    """De-identified :class:`SeriesMetadata` for objects nelm builds from volumes (RT Dose).

    UIDs remapped with ``uid_map`` (the same replacements as the datasets of the same series);
    the identity replaced by the pseudonym alone (no birth date, sex, accession number,
    institution or referring physician); series description, source path, radiopharmaceutical
    (which carries the patient's weight and height) and reading warnings (which may quote
    header values) dropped. Dates are kept (see the module docstring).
    """
    return replace(
        md,
        source="de-identified series",
        study_instance_uid=uid_map.map(md.study_instance_uid),
        series_instance_uid=uid_map.map(md.series_instance_uid),
        frame_of_reference_uid=uid_map.map(md.frame_of_reference_uid),
        sop_instance_uids=tuple(uid_map.map(u) for u in md.sop_instance_uids),
        series_description="",
        identity=PatientIdentity(patient_name=pseudonym.patient_name, patient_id=pseudonym.patient_id),
        radiopharmaceutical=None,
        warnings=(),
    )


def unknown_profile_keywords(keywords: Sequence[str] = tuple(BASIC_PROFILE_ACTIONS)) -> list[str]:
    """Keywords of the action table that pydicom's data dictionary does not know (for tests)."""
    return [k for k in keywords if tag_for_keyword(k) is None]
