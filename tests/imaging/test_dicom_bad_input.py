"""Bad DICOM input: one test per kind, each ending in a clear nelm error that names the file,
the tag or the position — never a raw pydicom or struct traceback."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from nelm.errors import DicomError, GeometryError, NelmError
from nelm.imaging.dicom_read import read_series
from nelm.policy import Policy

SERIES = "1.2.826.0.1.3680043.8.498.3001"


def _slice(path: Path, z: float, *, rows: int = 4, columns: int = 4, **attrs: Any) -> Path:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    uid = generate_uid()
    sop_class = attrs.pop("SOPClassUID", pydicom.uid.CTImageStorage)
    ds.file_meta.MediaStorageSOPClassUID, ds.file_meta.MediaStorageSOPInstanceUID = sop_class, uid
    ds.file_meta.TransferSyntaxUID = attrs.pop("TransferSyntaxUID", ExplicitVRLittleEndian)
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, uid
    ds.Modality, ds.SeriesInstanceUID = "CT", attrs.pop("SeriesInstanceUID", SERIES)
    ds.ImagePositionPatient = [0, 0, z]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.PixelSpacing = [0.7, 0.7]
    ds.Rows, ds.Columns, ds.SamplesPerPixel, ds.PhotometricInterpretation = rows, columns, 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
    for key, value in attrs.items():
        if value is None:
            delattr(ds, key)
        else:
            setattr(ds, key, value)
    ds.PixelData = np.arange(rows * columns, dtype=np.int16).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


def _series(folder: Path, zs: list[float]) -> list[Path]:
    return [_slice(folder / f"s{k:02d}.dcm", z) for k, z in enumerate(zs)]


def test_truncated_pixel_data_names_the_file(tmp_path: Path) -> None:
    files = _series(tmp_path, [0, 1, 2])
    data = files[1].read_bytes()
    files[1].write_bytes(data[:-10])
    with pytest.raises(DicomError, match=r"s01\.dcm.*truncated"):
        read_series(tmp_path)


def test_truncated_header_names_the_file(tmp_path: Path) -> None:
    f = _slice(tmp_path / "cut.dcm", 0)
    f.write_bytes(f.read_bytes()[:300])  # cut inside the dataset, before the pixel data
    with pytest.raises(DicomError, match=r"cut\.dcm"):
        read_series(f)


def test_corrupt_file_names_the_file(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    f = tmp_path / "garbage.dcm"
    f.write_bytes(bytes(128) + b"DICM" + rng.integers(0, 256, 2000, dtype=np.uint8).tobytes())
    with pytest.raises(DicomError, match=r"garbage\.dcm") as info:
        read_series(f)
    assert isinstance(info.value, NelmError)


def test_truncated_compressed_frame_names_the_file(tmp_path: Path) -> None:
    f = _slice(tmp_path / "j2k.dcm", 0, rows=32, columns=32)
    ds = pydicom.dcmread(f)
    ds.compress(pydicom.uid.JPEG2000Lossless, generate_instance_uid=False)
    ds.save_as(f, enforce_file_format=True)
    f.write_bytes(f.read_bytes()[:-200])
    with pytest.raises(DicomError, match=r"j2k\.dcm"):
        read_series(f)


@pytest.mark.parametrize(
    ("keyword", "tag"),
    [
        ("ImagePositionPatient", "(0020,0032)"),
        ("ImageOrientationPatient", "(0020,0037)"),
        ("PixelSpacing", "(0028,0030)"),
    ],
)
def test_missing_geometry_tag_names_file_and_tag(tmp_path: Path, keyword: str, tag: str) -> None:
    _series(tmp_path, [0, 1])
    _slice(tmp_path / "bad.dcm", 2, **{keyword: None})
    with pytest.raises(DicomError, match=re.escape(f"bad.dcm: {keyword} {tag} is missing")):
        read_series(tmp_path)


def test_gap_names_its_position(tmp_path: Path) -> None:
    _series(tmp_path, [0, 2, 4, 8, 10])  # 6 mm missing
    with pytest.raises(
        GeometryError, match=r"a gap .*s02\.dcm at \(0\.00, 0\.00, 4\.00\) mm.*s03\.dcm"
    ) as info:
        read_series(tmp_path)
    assert "median slice spacing of 2.000 mm" in str(info.value)


def test_duplicate_slice_names_both_files(tmp_path: Path) -> None:
    _series(tmp_path, [0, 1, 2])
    _slice(tmp_path / "dup.dcm", 1)
    with pytest.raises(GeometryError, match="same position") as info:
        read_series(tmp_path)
    assert "s01.dcm" in str(info.value)
    assert "dup.dcm" in str(info.value)


def test_non_parallel_slices(tmp_path: Path) -> None:
    _series(tmp_path, [0, 1, 2])
    _slice(tmp_path / "tilted.dcm", 3, ImageOrientationPatient=[1, 0, 0, 0, 0.9848078, -0.1736482])  # 10°
    with pytest.raises(GeometryError, match=r"not parallel.*tilted\.dcm"):
        read_series(tmp_path)


def test_positions_off_a_straight_line(tmp_path: Path) -> None:
    _series(tmp_path, [0, 1, 2])
    _slice(tmp_path / "shifted.dcm", 3, ImagePositionPatient=[5, 0, 3])  # in-plane jump of 5 mm
    with pytest.raises(GeometryError, match=r"straight line.*shifted\.dcm"):
        read_series(tmp_path)


@pytest.mark.parametrize("uid", [pydicom.uid.MPEG2MPML, pydicom.uid.HEVCMP51, "1.2.3.4.5.6.7"])
def test_unsupported_transfer_syntax_names_file_and_uid(tmp_path: Path, uid: str) -> None:
    f = _slice(tmp_path / "video.dcm", 0)
    ds = pydicom.dcmread(f)
    ds.PixelData = pydicom.encaps.encapsulate([b"\x00\x00\x01\xb3" + bytes(60)])  # stand-in stream
    ds.file_meta.TransferSyntaxUID = uid
    ds.save_as(f, enforce_file_format=True)
    with pytest.raises(DicomError, match=rf"video\.dcm: Transfer Syntax UID \(0002,0010\) {uid}"):
        read_series(f)


def test_mixed_series_in_file_list(tmp_path: Path) -> None:
    a = _slice(tmp_path / "a.dcm", 0)
    b = _slice(tmp_path / "b.dcm", 1, SeriesInstanceUID="1.2.826.0.1.3680043.8.498.3999")
    with pytest.raises(DicomError, match="2 different series") as info:
        read_series([a, b])
    assert "a.dcm" in str(info.value)
    assert "b.dcm" in str(info.value)


def test_different_rows_and_columns(tmp_path: Path) -> None:
    _series(tmp_path, [0, 1])
    _slice(tmp_path / "big.dcm", 2, rows=8, columns=8)
    with pytest.raises(DicomError, match=r"differ in size.*big\.dcm is 8x8"):
        read_series(tmp_path)


def test_non_image_sop_class(tmp_path: Path) -> None:
    f = _slice(tmp_path / "sr.dcm", 0, SOPClassUID=pydicom.uid.BasicTextSRStorage, Modality="SR")
    with pytest.raises(DicomError, match=r"sr\.dcm: SOP Class .* is not an image"):
        read_series(f)


def test_folder_without_image_series(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("nothing here")
    with pytest.raises(DicomError, match="no CT, MR, PET or NM image series"):
        read_series(tmp_path)


def test_zero_rescale_slope(tmp_path: Path) -> None:
    f = _slice(tmp_path / "flat.dcm", 0, RescaleSlope=0)
    with pytest.raises(DicomError, match=r"flat\.dcm: Rescale Slope \(0028,1053\) is 0"):
        read_series(f)


def test_malformed_timezone_offset_under_raise(tmp_path: Path) -> None:
    f = _slice(tmp_path / "tz.dcm", 0, TimezoneOffsetFromUTC="+25:00")
    with pytest.raises(DicomError, match=r"tz\.dcm: malformed Timezone Offset From UTC \(0008,0201\)"):
        read_series(f, policy=Policy.RAISE)
    assert any("Timezone" in w for w in read_series(f, policy=Policy.WARN).metadata.warnings)
