"""Finding series in folder trees: nesting, interleaving, non-DICOM files, DICOMDIR, damaged
files, and choosing a series by UID."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from nelm.errors import DicomError, InputError
from nelm.imaging.dicom_discover import find_series
from nelm.imaging.dicom_read import read_series
from nelm.policy import Policy

UID_A = "1.2.826.0.1.3680043.8.498.2001"
UID_B = "1.2.826.0.1.3680043.8.498.2002"


def _slice(
    path: Path, series: str, z: float, *, modality: str = "CT", description: str = "", value: int = 0
) -> Path:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    sop_class = (
        pydicom.uid.CTImageStorage if modality == "CT" else pydicom.uid.PositronEmissionTomographyImageStorage
    )
    uid = generate_uid()
    ds.file_meta.MediaStorageSOPClassUID, ds.file_meta.MediaStorageSOPInstanceUID = sop_class, uid
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, uid
    ds.Modality, ds.SeriesInstanceUID, ds.StudyInstanceUID = (
        modality,
        series,
        "1.2.826.0.1.3680043.8.498.2000",
    )
    ds.SeriesDescription, ds.SeriesNumber = description, 3 if series == UID_A else 4
    ds.ImagePositionPatient, ds.ImageOrientationPatient, ds.PixelSpacing = (
        [0, 0, z],
        [1, 0, 0, 0, 1, 0],
        [1, 1],
    )
    ds.Rows, ds.Columns, ds.SamplesPerPixel, ds.PhotometricInterpretation = 2, 3, 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.PixelData = np.full((2, 3), value, np.int16).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def _interleaved(folder: Path) -> None:
    for k in range(3):
        _slice(folder / f"IM{2 * k:03d}", UID_A, 2.0 * k, description="arterial", value=1)
        _slice(folder / f"IM{2 * k + 1:03d}", UID_B, 2.0 * k, modality="PT", description="pet", value=2)


def test_nested_folders_with_non_dicom_files(tmp_path: Path) -> None:
    for k in range(2):
        _slice(tmp_path / "patient" / "study" / f"s{k}.dcm", UID_A, k)
    _slice(tmp_path / "patient" / "other" / "deeper" / "s2.dcm", UID_A, 2)
    (tmp_path / "patient" / "notes.txt").write_text("not DICOM")
    (tmp_path / "patient" / "study" / "meta.json").write_text('{"a": 1}')
    (tmp_path / "patient" / "thumb.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    (tmp_path / "empty.dcm").write_bytes(b"")
    series = find_series(tmp_path, policy=Policy.RAISE)
    assert len(series) == 1
    info = series[0]
    assert info.series_instance_uid == UID_A
    assert info.modality == "CT"
    assert [f.name for f in info.files] == ["s2.dcm", "s0.dcm", "s1.dcm"]  # sorted by full path
    assert (info.n_frames, info.rows, info.columns) == (3, 2, 3)
    assert read_series(tmp_path, policy=Policy.IGNORE).shape == (3, 2, 3)


def test_interleaved_series_are_separated(tmp_path: Path) -> None:
    _interleaved(tmp_path)
    series = find_series(tmp_path)
    assert [(s.series_instance_uid, s.modality, s.series_number, len(s.files)) for s in series] == [
        (UID_A, "CT", 3, 3),
        (UID_B, "PT", 4, 3),
    ]


def test_folder_with_two_series_needs_a_uid_and_lists_both(tmp_path: Path) -> None:
    _interleaved(tmp_path)
    with pytest.raises(DicomError, match="2 image series") as info:
        read_series(tmp_path)
    message = str(info.value)
    for expected in (UID_A, UID_B, "arterial", "pet"):
        assert expected in message
    assert "3 file(s)" in message
    ct = read_series(tmp_path, series_uid=UID_A, policy=Policy.IGNORE)
    pet = read_series(tmp_path, series_uid=UID_B, policy=Policy.IGNORE)
    assert (ct.modality, int(ct.array.max())) == ("CT", 1)
    assert (pet.modality, int(pet.array.max())) == ("PT", 2)
    with pytest.raises(DicomError, match=r"no image series with Series Instance UID 1\.2\.3"):
        read_series(tmp_path, series_uid="1.2.3")


def test_dicomdir_is_skipped(tmp_path: Path) -> None:
    _slice(tmp_path / "IMG" / "a.dcm", UID_A, 0)
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = pydicom.uid.MediaStorageDirectoryStorage
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.FileSetID = "NELM"
    ds.save_as(tmp_path / "DICOMDIR", enforce_file_format=True)
    assert [s.series_instance_uid for s in find_series(tmp_path, policy=Policy.RAISE)] == [UID_A]


def test_unreadable_dicom_looking_file_follows_policy(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _slice(tmp_path / "good.dcm", UID_A, 0)
    (tmp_path / "broken.dcm").write_bytes(bytes(128) + b"DICM" + b"\x02\x00\x10\x00UI\xff\x7f")  # cut short
    with caplog.at_level(logging.WARNING):
        assert len(find_series(tmp_path, policy=Policy.WARN)) == 1
    assert "broken.dcm" in caplog.text
    assert len(find_series(tmp_path, policy=Policy.IGNORE)) == 1
    with pytest.raises(DicomError, match=r"broken\.dcm"):
        find_series(tmp_path, policy=Policy.RAISE)


def test_series_without_uid_grouped_by_folder_and_description(tmp_path: Path) -> None:
    for k in range(2):
        _slice(tmp_path / "a" / f"{k}.dcm", "", k, description="no uid")
    _slice(tmp_path / "b" / "0.dcm", "", 0, description="no uid")
    series = find_series(tmp_path, policy=Policy.IGNORE)
    assert sorted(len(s.files) for s in series) == [1, 2]
    assert all(s.series_instance_uid == "" for s in series)


def test_not_a_folder_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a folder"):
        find_series(tmp_path / "missing")
