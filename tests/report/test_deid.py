"""De-identification (PS3.15 Basic Profile + Full Dates Option) on synthetic datasets."""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import date

import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.tag import Tag

from nelm.errors import ConfigError
from nelm.imaging.metadata import PatientIdentity, Radiopharmaceutical, SeriesMetadata
from nelm.report.deid import (
    Pseudonym,
    UidMap,
    default_deid_key,
    deidentify_dataset,
    deidentify_metadata,
    deidentify_sources,
    pseudonym_for,
    unknown_profile_keywords,
)

_UID = re.compile(r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$")  # PS3.5 9.1
CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
PSEUDONYM = Pseudonym(patient_name="NELM^CASE-7", patient_id="CASE-7")


def _expected_uid(key: str, uid: str) -> str:
    """The documented mapping: 2.25 + the first 128 bits of HMAC-SHA-256(key, UID)."""
    digest = hmac.new(key.encode(), uid.encode(), hashlib.sha256).digest()
    return "2.25." + str(int.from_bytes(digest[:16], "big"))


def _image(sop_uid: str = "1.2.3.4.100") -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = CT_IMAGE_STORAGE
    ds.file_meta.MediaStorageSOPInstanceUID = sop_uid
    ds.SOPClassUID = CT_IMAGE_STORAGE
    ds.SOPInstanceUID = sop_uid
    ds.StudyInstanceUID = "1.2.3.4.1"
    ds.SeriesInstanceUID = "1.2.3.4.2"
    ds.FrameOfReferenceUID = "1.2.3.4.3"
    ds.PatientName = "Doe^Jane"
    ds.PatientID = "MRN12345"
    ds.PatientBirthDate = "19500101"
    ds.PatientSex = "F"
    ds.PatientWeight = "70"
    ds.OtherPatientIDs = "OTHER999"
    ds.AccessionNumber = "ACC42"
    ds.InstitutionName = "General Hospital"
    ds.ReferringPhysicianName = "House^Gregory"
    ds.StudyDescription = "CT liver Jane"
    ds.SeriesDescription = "portal venous"
    ds.StudyDate = "20260112"
    ds.StudyTime = "090000"
    ds.Modality = "CT"
    ds.Manufacturer = "ACME"
    ds.PixelSpacing = ["0.8", "0.8"]
    ds.ReviewerName = "Reviewer^Rita"  # a PN the table does not list: emptied anyway
    ds.DetectorDescription = "bay 3, Dr Smith's room"  # an LT the table does not list: removed
    ref = Dataset()
    ref.ReferencedSOPClassUID = CT_IMAGE_STORAGE
    ref.ReferencedSOPInstanceUID = "1.2.3.4.101"
    ref.PerformingPhysicianName = "Nested^Name"
    inner = Dataset()
    inner.InstitutionName = "Nested Hospital"
    inner.ReferencedSOPInstanceUID = "1.2.3.4.102"
    ref.ReferencedImageSequence = Sequence([inner])
    ds.SourceImageSequence = Sequence([ref])
    block = ds.private_block(0x0009, "ACME PRIVATE", create=True)
    block.add_new(0x01, "LO", "Jane Doe private")
    ds.add_new(Tag(0x6000, 0x3000), "OW", b"\x00\x01")  # overlay data
    ds.add_new(Tag(0x6000, 0x4000), "LT", "overlay by Dr Smith")  # overlay comments
    ds.add_new(Tag(0x5000, 0x3000), "OW", b"\x00\x01")  # curve data (retired)
    return ds


@pytest.fixture
def uid_map() -> UidMap:
    return UidMap("secret-key")


def test_table_keywords_are_dicom_keywords() -> None:
    assert unknown_profile_keywords() == []


def test_removed_attributes(uid_map: UidMap) -> None:
    out = deidentify_dataset(_image(), uid_map, pseudonym=PSEUDONYM)
    for keyword in (
        "InstitutionName",
        "StudyDescription",
        "SeriesDescription",
        "OtherPatientIDs",
        "PatientWeight",
    ):
        assert keyword not in out


def test_emptied_attributes(uid_map: UidMap) -> None:
    out = deidentify_dataset(_image(), uid_map, pseudonym=PSEUDONYM)
    for keyword in ("AccessionNumber", "PatientBirthDate", "ReferringPhysicianName", "PatientSex"):
        assert keyword in out
        assert out[keyword].value in ("", None)


def test_patient_replaced_by_the_pseudonym(uid_map: UidMap) -> None:
    out = deidentify_dataset(_image(), uid_map, pseudonym=PSEUDONYM)
    assert str(out.PatientName) == "NELM^CASE-7"
    assert out.PatientID == "CASE-7"


def test_uids_remapped_as_documented(uid_map: UidMap) -> None:
    out = deidentify_dataset(_image(), uid_map, pseudonym=PSEUDONYM)
    assert out.StudyInstanceUID == _expected_uid("secret-key", "1.2.3.4.1")
    assert out.SeriesInstanceUID == _expected_uid("secret-key", "1.2.3.4.2")
    assert out.FrameOfReferenceUID == _expected_uid("secret-key", "1.2.3.4.3")
    assert out.SOPInstanceUID == _expected_uid("secret-key", "1.2.3.4.100")
    assert out.file_meta.MediaStorageSOPInstanceUID == out.SOPInstanceUID
    for uid in (out.StudyInstanceUID, out.SOPInstanceUID):
        assert _UID.match(uid)
        assert len(uid) <= 64


def test_standard_uids_kept(uid_map: UidMap) -> None:
    out = deidentify_dataset(_image(), uid_map, pseudonym=PSEUDONYM)
    assert out.SOPClassUID == CT_IMAGE_STORAGE
    assert out.SourceImageSequence[0].ReferencedSOPClassUID == CT_IMAGE_STORAGE


def test_references_remapped_consistently_across_datasets(uid_map: UidMap) -> None:
    """A reference in one dataset maps to the same UID as the referenced dataset's own UID."""
    first, referenced = deidentify_sources(
        [_image("1.2.3.4.100"), _image("1.2.3.4.101")], uid_map, pseudonym=PSEUDONYM
    )
    assert first.SourceImageSequence[0].ReferencedSOPInstanceUID == referenced.SOPInstanceUID
    assert first.StudyInstanceUID == referenced.StudyInstanceUID


def test_nested_sequences_cleaned(uid_map: UidMap) -> None:
    out = deidentify_dataset(_image(), uid_map, pseudonym=PSEUDONYM)
    item = out.SourceImageSequence[0]
    assert "PerformingPhysicianName" not in item
    inner = item.ReferencedImageSequence[0]
    assert "InstitutionName" not in inner
    assert inner.ReferencedSOPInstanceUID == _expected_uid("secret-key", "1.2.3.4.102")


def test_private_curve_and_overlay_removed(uid_map: UidMap) -> None:
    out = deidentify_dataset(_image(), uid_map, pseudonym=PSEUDONYM)
    assert not any(elem.tag.is_private for elem in out.iterall())
    assert Tag(0x6000, 0x3000) not in out
    assert Tag(0x6000, 0x4000) not in out
    assert Tag(0x5000, 0x3000) not in out


def test_unlisted_person_names_and_free_text(uid_map: UidMap) -> None:
    out = deidentify_dataset(_image(), uid_map, pseudonym=PSEUDONYM)
    assert out.ReviewerName in ("", None)
    assert "DetectorDescription" not in out


def test_dates_and_technical_attributes_kept(uid_map: UidMap) -> None:
    out = deidentify_dataset(_image(), uid_map, pseudonym=PSEUDONYM)
    assert out.StudyDate == "20260112"
    assert out.StudyTime == "090000"
    assert out.Modality == "CT"
    assert out.Manufacturer == "ACME"
    assert [float(v) for v in out.PixelSpacing] == [0.8, 0.8]


def test_method_recorded(uid_map: UidMap) -> None:
    out = deidentify_dataset(_image(), uid_map, pseudonym=PSEUDONYM)
    assert out.PatientIdentityRemoved == "YES"
    assert len(out.DeidentificationMethod) <= 64
    assert [(c.CodeValue, c.CodingSchemeDesignator) for c in out.DeidentificationMethodCodeSequence] == [
        ("113100", "DCM"),
        ("113106", "DCM"),
    ]
    assert out.LongitudinalTemporalInformationModified == "UNMODIFIED"


def test_original_not_changed(uid_map: UidMap) -> None:
    ds = _image()
    deidentify_dataset(ds, uid_map, pseudonym=PSEUDONYM)
    assert str(ds.PatientName) == "Doe^Jane"
    assert ds.InstitutionName == "General Hospital"
    assert ds.StudyInstanceUID == "1.2.3.4.1"


def test_uid_map_is_keyed_and_deterministic() -> None:
    a, b = UidMap("k1"), UidMap("k2")
    assert a.map("1.2.3") == UidMap("k1").map("1.2.3")
    assert a.map("1.2.3") != b.map("1.2.3")
    assert a.map("1.2.3") != a.map("1.2.4")
    assert a.map("") == ""
    assert a.derived("seg series", "case", "baseline") == UidMap("k1").derived(
        "seg series", "case", "baseline"
    )
    assert a.derived("seg series", "case", "baseline") != a.derived("sr series", "case", "baseline")


def test_uid_map_rejects_an_empty_key() -> None:
    with pytest.raises(ConfigError, match="deid-key"):
        UidMap("")


def test_default_key_and_pseudonym_come_from_the_case_id() -> None:
    assert default_deid_key("NELM-7") == "nelm:NELM-7"
    assert pseudonym_for("NELM-7") == Pseudonym("NELM^NELM-7", "NELM-7")
    assert pseudonym_for("a/b\\c^d").patient_id == "a_b_c_d"


def test_metadata_deidentified(uid_map: UidMap) -> None:
    md = SeriesMetadata(
        source="/data/Doe_Jane/pet",
        study_instance_uid="1.2.3.4.1",
        series_instance_uid="1.2.3.4.2",
        frame_of_reference_uid="1.2.3.4.3",
        sop_instance_uids=("1.2.3.4.100",),
        series_description="Jane's PET",
        identity=PatientIdentity(
            "Doe^Jane", "MRN12345", date(1950, 1, 1), "F", "ACC42", "General Hospital", "House"
        ),
        radiopharmaceutical=Radiopharmaceutical(patient_weight_kg=70.0),
        warnings=("PatientName Doe^Jane has a caret",),
    )
    out = deidentify_metadata(md, uid_map, pseudonym=PSEUDONYM)
    assert out.identity == PatientIdentity(patient_name="NELM^CASE-7", patient_id="CASE-7")
    assert out.study_instance_uid == _expected_uid("secret-key", "1.2.3.4.1")
    assert out.frame_of_reference_uid == _expected_uid("secret-key", "1.2.3.4.3")
    assert out.sop_instance_uids == (_expected_uid("secret-key", "1.2.3.4.100"),)
    assert "Doe" not in out.source
    assert out.series_description == ""
    assert out.radiopharmaceutical is None
    assert out.warnings == ()
