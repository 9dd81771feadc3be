"""JPEG (ISO 10918) DICOM pixel data, which no installed library can encode.

The JPEG Extended (Process 2 & 4, 12-bit) fragment of pydicom's bundled test file
``JPGExtended.dcm`` (installed with pydicom; read at test time, never copied into nelm) is put
into a one-slice CT with a known geometry and rescale; nelm must decode it through the
pylibjpeg-libjpeg plugin and apply the rescale, giving pydicom's own decode of the original
file minus 1024 HU.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import FileMetaDataset
from pydicom.uid import CTImageStorage, generate_uid

from nelm.imaging.dicom_read import read_series


@pytest.fixture
def jpeg_ct(tmp_path: Path) -> tuple[Path, np.ndarray]:
    src_path = get_testdata_file("JPGExtended.dcm")
    assert src_path is not None
    src = pydicom.dcmread(src_path)
    expected = src.pixel_array.astype(np.int32) - 1024
    ds = copy.deepcopy(src)
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = generate_uid(entropy_srcs=["nelm-jpeg-test"])
    ds.SeriesInstanceUID = generate_uid(entropy_srcs=["nelm-jpeg-test-series"])
    ds.Modality = "CT"
    ds.ImagePositionPatient = [-10.0, 20.0, 30.0]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.PixelSpacing = [0.5, 0.75]
    ds.SliceThickness = 2.0
    ds.RescaleSlope = 1
    ds.RescaleIntercept = -1024
    meta = FileMetaDataset(src.file_meta)
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta = meta
    out = tmp_path / "ct_jpeg.dcm"
    ds.save_as(out, enforce_file_format=True)
    return out, expected


def test_jpeg_extended_ct_decodes_and_rescales(jpeg_ct: tuple[Path, np.ndarray]) -> None:
    path, expected = jpeg_ct
    vol = read_series(path)
    assert vol.metadata.transfer_syntax_uid == pydicom.uid.JPEGExtended12Bit
    assert vol.shape == (1, 1024, 256)
    np.testing.assert_array_equal(vol.array[0], expected)
    # Pixel (row 3, column 5): x = -10 + 5 * 0.75, y = 20 + 3 * 0.5 (IOP row/column cosines).
    np.testing.assert_allclose(vol.index_to_world([0, 3, 5]), [-6.25, 21.5, 30.0])
