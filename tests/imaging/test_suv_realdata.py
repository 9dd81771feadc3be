"""SUV factors of the two real ACRIN-FLT-Breast PET slices, checked against a hand computation.

The hand computation reads the header values with pydicom and applies the QIBA rule and the
SUVbw formula directly (reference/response-criteria.md §5.1–5.2): scan time = Series Time unless
it is after the Acquisition Time; Δt from Radiopharmaceutical Start Time on the Series Date;
factor = W[g] / (D · 2^(−Δt/T½)). The slices carry no Timezone Offset From UTC, so both sides
read the local times as UTC.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pydicom
import pytest

from nelm.imaging.dicom_read import read_series
from nelm.imaging.metadata import ValueUnit
from nelm.imaging.suv import SuvInputs, suv_factor, suv_volume

DataFile = Callable[[str], Path]
SLICES = ("pet_flt_breast_028_slice.dcm", "pet_flt_breast_029_slice.dcm")


def _when(date: str, time: str) -> datetime:
    fmt = "%Y%m%d%H%M%S.%f" if "." in time else "%Y%m%d%H%M%S"
    return datetime.strptime(date + time, fmt).replace(tzinfo=UTC)


def _hand_factor(ds: pydicom.Dataset) -> tuple[float, float]:
    item = ds.RadiopharmaceuticalInformationSequence[0]
    series = _when(ds.SeriesDate, ds.SeriesTime)
    acquisition = _when(ds.AcquisitionDate, ds.AcquisitionTime)
    scan = series if series <= acquisition else acquisition
    injection = _when(ds.SeriesDate, item.RadiopharmaceuticalStartTime)
    elapsed_s = (scan - injection).total_seconds()
    decayed = float(item.RadionuclideTotalDose) * 2.0 ** (-elapsed_s / float(item.RadionuclideHalfLife))
    return float(ds.PatientWeight) * 1000.0 / decayed, elapsed_s


@pytest.mark.parametrize("name", SLICES)
def test_acrin_suvbw_factor_by_hand(data_file: DataFile, name: str) -> None:
    path = data_file(f"pet/acrin-flt-breast/{name}")
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    assert ds.Units == "BQML"
    assert ds.DecayCorrection == "START"
    expected, elapsed_s = _hand_factor(ds)
    factor = suv_factor(SuvInputs.from_dataset(ds, source=name))
    assert factor.factor == pytest.approx(expected, rel=1e-12)
    assert factor.decay_time_s == pytest.approx(elapsed_s, abs=1e-6)
    assert "Series Date/Time" in factor.scan_time_rule


def test_acrin_decay_times(data_file: DataFile) -> None:
    """028 is a series started at the injection (Δt 0.109 s); 029 was scanned 66 min later."""
    times = []
    for name in SLICES:
        ds = pydicom.dcmread(data_file(f"pet/acrin-flt-breast/{name}"), stop_before_pixels=True)
        times.append(suv_factor(SuvInputs.from_dataset(ds)).decay_time_s)
    assert times == pytest.approx([0.109, 3600 + 6 * 60 + 16.921], abs=1e-6)


@pytest.mark.parametrize("name", SLICES)
def test_acrin_suv_volume(data_file: DataFile, name: str) -> None:
    """The SUV image is pixel × RescaleSlope × factor; from_volume matches from_dataset when the
    Series Date/Time (not kept in nelm metadata) is passed."""
    path = data_file(f"pet/acrin-flt-breast/{name}")
    ds = pydicom.dcmread(path)
    expected, _ = _hand_factor(ds)
    vol = read_series(path)
    inputs = SuvInputs.from_volume(vol, series_datetime=_when(ds.SeriesDate, ds.SeriesTime))
    factor = suv_factor(inputs)
    assert factor.factor == pytest.approx(expected, rel=1e-12)
    out = suv_volume(vol, factor)
    assert out.units is ValueUnit.SUV_BW
    np.testing.assert_allclose(
        out.array[0], ds.pixel_array * float(ds.RescaleSlope) * expected, rtol=1e-6, atol=1e-6
    )
