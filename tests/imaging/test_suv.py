"""SUV factors (nelm.imaging.suv): QIBA rules, vendor test vectors, normalisations, decay, bad input.

Expected values are computed here by hand from the header values with the published formulas
(reference/response-criteria.md §5), or are the published cornerstone calculate-suv vendor test
vectors (test/calculateSUV_SampleData.test.ts and test/metadata/*-instances.json, MIT; header
values rebuilt here as pydicom datasets) and its LBM/BSA unit-test values.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence

from nelm.errors import DicomError, InputError, UnitsError
from nelm.imaging.geometry import Geometry
from nelm.imaging.metadata import PatientIdentity, Radiopharmaceutical, SeriesMetadata, ValueUnit
from nelm.imaging.suv import (
    SuvFactor,
    SuvInputs,
    body_surface_area_m2,
    lean_body_mass_kg,
    suv_array,
    suv_factor,
    suv_volume,
)
from nelm.imaging.volume import Volume

F18_S = 6586.2
CET = timezone(timedelta(hours=1))


def pet_header(
    *,
    series: tuple[str, str] | None = ("20201217", "104829"),
    acquisition: tuple[str, str] | None = ("20201217", "104830"),
    weight: float | None = 67.0,
    size: float | None = None,
    sex: str | None = "M",
    units: str | None = "BQML",
    decay: str | None = "START",
    corrected: Sequence[str] | None = ("NORM", "ATTN", "SCAT", "DECY"),
    dose: float | str | None = 374e6,
    half_life: float | str | None = F18_S,
    start_time: str | None = "083045",
    start_datetime: str | None = None,
    manufacturer: str | None = None,
    philips: tuple[str | None, str | None] | None = None,
    ge_scan: str | None = None,
    tz_offset: str | None = None,
) -> Dataset:
    """One PET slice header with only the attributes SUV needs (None omits an attribute)."""
    ds = Dataset()
    ds.Modality = "PT"
    ds.SeriesInstanceUID = "1.2.3"
    if series is not None:
        ds.SeriesDate, ds.SeriesTime = series
    if acquisition is not None:
        ds.AcquisitionDate, ds.AcquisitionTime = acquisition
    for keyword, value in (
        ("PatientWeight", weight),
        ("PatientSize", size),
        ("PatientSex", sex),
        ("Units", units),
        ("DecayCorrection", decay),
        ("Manufacturer", manufacturer),
        ("TimezoneOffsetFromUTC", tz_offset),
    ):
        if value is not None:
            setattr(ds, keyword, value)
    if corrected is not None:
        ds.CorrectedImage = list(corrected)
    item = Dataset()
    if dose is not None:
        item.RadionuclideTotalDose = dose
    if half_life is not None:
        item.RadionuclideHalfLife = half_life
    if start_time is not None:
        item.RadiopharmaceuticalStartTime = start_time
    if start_datetime is not None:
        item.RadiopharmaceuticalStartDateTime = start_datetime
    ds.RadiopharmaceuticalInformationSequence = DicomSequence([item])
    if philips is not None:
        block = ds.private_block(0x7053, "Philips PET Private Group", create=True)
        if philips[0] is not None:
            block.add_new(0x00, "DS", philips[0])
        if philips[1] is not None:
            block.add_new(0x09, "DS", philips[1])
    if ge_scan is not None:
        ds.private_block(0x0009, "GEMS_PETD_01", create=True).add_new(0x0D, "DT", ge_scan)
    return ds


def by_hand(weight_kg: float, dose_bq: float, elapsed_s: float, half_life_s: float) -> float:
    """SUVbw factor W[g] / (D · 2^(−Δt/T½)) (IBSI; response-criteria.md §5.1–5.2)."""
    return weight_kg * 1000.0 / (dose_bq * 2.0 ** (-elapsed_s / half_life_s))


# -- cornerstone calculate-suv vendor vectors (three identical instances each) ---------------
VENDOR_VECTORS: dict[str, tuple[dict[str, object], float]] = {
    "SIEMENS": (
        dict(
            series=("20201217", "104829.000000"),
            acquisition=("20201217", "104830.351370"),
            weight=67,
            dose=374000000,
            start_time="083045.000000",
            start_datetime="20201217083045.000000",
        ),
        0.00042748316187197236,
    ),
    "GE_MEDICAL_AND_BQML": (
        dict(
            series=("20201217", "095621"),
            acquisition=("20201217", "095621"),
            weight=52,
            size=1.65,
            sex="F",
            dose=152022720,
            half_life="6586.2001953125",
            start_time="084500.00",
            start_datetime="20201217084500.00",
        ),
        0.0005367387681819742,
    ),
    "PHILIPS_BQML": (  # Philips private factors present but ignored for BQML
        dict(
            series=("20201217", "110155"),
            acquisition=("20201217", "110156"),
            weight=64,
            size=1.75,
            sex="F",
            dose=126000000,
            half_life="6586.199707",
            start_time="100058",
            start_datetime="20201217100058",
            philips=("0.003515736", "4.709921"),
        ),
        0.0007463747013889488,
    ),
    "PHILIPS_CNTS_AND_BQML_SUV": (  # both factors: the SUV scale factor wins
        dict(
            units="CNTS",
            series=("20201217", "093556"),
            acquisition=("20201217", "095439"),
            weight=54,
            sex="F",
            dose=238000000,
            half_life=6588,
            start_time="083000",
            philips=("0.000551", "1.602563"),
        ),
        0.000551,
    ),
    "PHILIPS_CNTS_AND_SUV": (
        dict(
            units="CNTS",
            series=("20201217", "134551"),
            acquisition=("20201217", "141336"),
            weight=47,
            sex="F",
            dose=208230000,
            half_life=6588,
            start_time="123000",
            philips=("0.000728", None),
        ),
        0.000728,
    ),
    "BQML_AC_DT_BEFORE_S_DT_SIEMENS": (  # series 5 µs after acquisition: earliest acquisition
        dict(
            series=("20201217", "123515.000000"),
            acquisition=("20201217", "123514.999995"),
            weight=65,
            dose=225000000,
            start_time="114100.000000",
        ),
        0.0004069156854009332,
    ),
    "CPS_AND_BQML_AC_DT_-_S_DT": (  # series 45 min after acquisition; start time only
        dict(
            series=("20201217", "134918.000000"),
            acquisition=("20201217", "130348.234000"),
            weight=69,
            dose=388000000,
            start_time="120037.000000",
        ),
        0.00026503312764157046,
    ),
    "RADIOPHARM_DATETIME_UNDEFINED": (
        dict(
            series=("20201217", "135431.843000"),
            acquisition=("20201217", "141555.687000"),
            weight=102,
            dose=412000000,
            start_time="125000.000000",
        ),
        0.0003721089202818729,
    ),
}


@pytest.mark.parametrize("name", sorted(VENDOR_VECTORS))
def test_calculate_suv_vendor_vectors(name: str) -> None:
    kwargs, expected = VENDOR_VECTORS[name]
    headers = [pet_header(**kwargs) for _ in range(3)]  # type: ignore[arg-type]
    factor = suv_factor(SuvInputs.from_datasets(headers, source=name))
    # calculate-suv's own tolerance is 1e-6 absolute; nelm reproduces every vector to 1e-11
    assert factor.factor == pytest.approx(expected, rel=1e-9)


def test_series_after_acquisition_uses_earliest_acquisition_over_slices() -> None:
    headers = [
        pet_header(series=("20201217", "134918"), acquisition=("20201217", t), start_time="120037")
        for t in ("131000", "130348", "132500")
    ]
    f = suv_factor(SuvInputs.from_datasets(headers))
    assert f.decay_time_s == 3 * 60 + 11 + 3600  # 12:00:37 → 13:03:48
    assert f.scan_reference_datetime == datetime(2020, 12, 17, 13, 3, 48, tzinfo=UTC)
    assert "earliest Acquisition" in f.scan_time_rule
    assert "earliest Acquisition" in f.formula


def test_series_after_acquisition_ge_private_scan_datetime() -> None:
    ds = pet_header(
        manufacturer="GE MEDICAL SYSTEMS",
        series=("20201217", "140000"),
        acquisition=("20201217", "131000"),
        start_time="120000",
        ge_scan="20201217130000",
    )
    f = suv_factor(SuvInputs.from_dataset(ds))
    assert f.decay_time_s == 3600.0
    assert f.factor == pytest.approx(by_hand(67, 374e6, 3600, F18_S), rel=1e-12)
    assert "(0009,100d)" in f.formula


def test_series_not_after_acquisition_uses_series_time() -> None:
    ds = pet_header(series=("20201217", "100000"), acquisition=("20201217", "101500"), start_time="090000")
    f = suv_factor(SuvInputs.from_dataset(ds))
    assert f.decay_time_s == 3600.0
    assert "Series Date/Time" in f.scan_time_rule


def test_formula_records_numbers_and_rule() -> None:
    f = suv_factor(SuvInputs.from_dataset(pet_header(weight=72, dose=185e6, start_time="090000")))
    # 09:00:00 → series 10:48:29 = 6509 s
    assert f.formula.startswith(
        "SUVbw = C[Bq/mL] × W 72 kg = 72000 g / (1.85e+08 Bq × 2^(-(6509 s)/6586.2 s)"
    )
    assert "decay START from injection 2020-12-17T09:00:00+00:00" in f.formula
    assert f.decayed_dose_bq == pytest.approx(185e6 * 2 ** (-6509 / F18_S), rel=1e-12)


# -- normalisations --------------------------------------------------------------------------
def test_lbm_bsa_match_calculate_suv_unit_values() -> None:
    """calculate-suv tests for W 75 kg, H 1.85 m (James with male coefficient 120)."""
    assert lean_body_mass_kg(
        75, 1.85, "M", formula="james", james_male_coefficient=120
    ) * 1000 == pytest.approx(62777.57487216947, rel=1e-12)
    assert lean_body_mass_kg(75, 1.85, "F", formula="james") * 1000 == pytest.approx(
        55925.67567567568, rel=1e-12
    )
    assert lean_body_mass_kg(75, 1.85, "M", formula="janmahasatian") == pytest.approx(
        60.91533588651974, rel=1e-12
    )
    assert lean_body_mass_kg(75, 1.85, "F", formula="janmahasatian") == pytest.approx(
        49.21437996837613, rel=1e-12
    )
    assert body_surface_area_m2(75, 1.85) * 1e4 == pytest.approx(19813.758427117766, rel=1e-12)


def test_james128_differs_from_james120_as_documented() -> None:
    lbm128 = lean_body_mass_kg(75, 1.85, "M", formula="james")
    assert lbm128 == pytest.approx(1.10 * 75 - 128 * (75 / 185) ** 2, rel=1e-12)
    lbm120 = lean_body_mass_kg(75, 1.85, "M", formula="james", james_male_coefficient=120)
    assert 1 - lbm128 / lbm120 == pytest.approx(0.021, abs=0.001)  # response-criteria.md §5.1: ~2.1 %


@pytest.mark.parametrize("sex", ["M", "F"])
@pytest.mark.parametrize("normalisation", ["lbm_james128", "lbm_janmahasatian", "bsa"])
def test_normalisation_factors_by_hand(sex: str, normalisation: str) -> None:
    w, h, dose, dt = 80.0, 1.70, 200e6, 3600.0
    ds = pet_header(weight=w, size=h, sex=sex, dose=dose, series=("20201217", "100000"), start_time="090000")
    f = suv_factor(SuvInputs.from_dataset(ds), normalisation=normalisation)  # type: ignore[arg-type]
    decayed = dose * 2 ** (-dt / F18_S)
    h_cm, bmi = h * 100, w / h**2
    if normalisation == "lbm_james128":
        size = (1.10 * w - 128 * (w / h_cm) ** 2) if sex == "M" else (1.07 * w - 148 * (w / h_cm) ** 2)
        size_g = size * 1000
        assert f.lean_body_mass_kg == pytest.approx(size, rel=1e-12)
    elif normalisation == "lbm_janmahasatian":
        size = 9270 * w / ((6680 + 216 * bmi) if sex == "M" else (8780 + 244 * bmi))
        size_g = size * 1000
    else:
        size_g = w**0.425 * h_cm**0.725 * 71.84  # cm²
        assert f.suv_unit == "cm2/mL"
    assert f.factor == pytest.approx(size_g / decayed, rel=1e-12)
    assert f.normalisation == normalisation


def test_cnts_philips_suv_factor_renormalised_to_lbm() -> None:
    ds = pet_header(units="CNTS", weight=80, size=1.7, sex="F", philips=("0.0007", None))
    f = suv_factor(SuvInputs.from_dataset(ds), normalisation="lbm_janmahasatian")
    lbm = 9270 * 80 / (8780 + 244 * 80 / 1.7**2)
    assert f.factor == pytest.approx(0.0007 * lbm / 80, rel=1e-12)


def test_cnts_zero_suv_factor_falls_back_to_activity_factor() -> None:
    ds = pet_header(units="CNTS", weight=54, dose=238e6, start_time="083000", philips=("0", "1.602563"))
    ds.SeriesTime = "093556"
    f = suv_factor(SuvInputs.from_dataset(ds))
    assert f.factor == pytest.approx(1.602563 * by_hand(54, 238e6, 3956, F18_S), rel=1e-12)
    assert "(7053,1009)" in f.formula


def test_gml_is_already_suvbw() -> None:
    f = suv_factor(SuvInputs.from_dataset(pet_header(units="GML", weight=None, dose=None)))
    assert f.factor == 1.0
    assert f.input_units == "GML"


def test_admin_decay_correction_means_no_decay() -> None:
    """Horos#653: ADMIN images are already decay-corrected to the administration (IBSI DRO_3_1)."""
    ds = pet_header(decay="ADMIN", weight=70, dose=300e6, start_time="070000")
    f = suv_factor(SuvInputs.from_dataset(ds))
    assert f.factor == pytest.approx(70000 / 300e6, rel=1e-15)
    assert f.decay_time_s == 0.0


def test_none_decay_correction_decays_to_acquisition_start() -> None:
    ds = pet_header(
        decay="NONE", corrected=("ATTN",), series=("20201217", "110000"), acquisition=("20201217", "100000")
    )
    ds.RadiopharmaceuticalInformationSequence[0].RadiopharmaceuticalStartTime = "090000"
    f = suv_factor(SuvInputs.from_dataset(ds))
    assert f.decay_time_s == 3600.0
    assert f.factor == pytest.approx(by_hand(67, 374e6, 3600, F18_S), rel=1e-12)


# -- full date-times: multi-day, midnight, daylight saving -----------------------------------
def test_y90_three_days_after_injection() -> None:
    y90_s = 64.1 * 3600
    ds = pet_header(
        series=("20260305", "101500"),
        acquisition=("20260305", "101500"),
        dose=2.5e9,
        half_life=y90_s,
        start_time="101500",
        start_datetime="20260302101500",
    )
    f = suv_factor(SuvInputs.from_dataset(ds))
    assert f.decay_time_s == 3 * 86400
    assert f.factor == pytest.approx(67000 / (2.5e9 * 2 ** (-3 * 86400 / y90_s)), rel=1e-12)
    # dropping the date (the Slicer bug) would give Δt = 0, a 2.18× smaller factor
    assert f.factor / (67000 / 2.5e9) == pytest.approx(2 ** (259200 / 230760), rel=1e-12)


def test_start_time_before_midnight_scan_after() -> None:
    ds = pet_header(series=("20201218", "003000"), acquisition=("20201218", "003000"), start_time="233000")
    f = suv_factor(SuvInputs.from_dataset(ds))
    assert f.decay_time_s == 3600.0


@pytest.mark.parametrize(
    ("injection", "scan", "elapsed_s"),
    [
        # 29 March 2026: Zurich clocks go 02:00 CET → 03:00 CEST; 2 h on the wall clock, 1 h elapsed
        (("20260329", "013000"), ("20260329", "033000"), 3600.0),
        # 25 October 2026: 03:00 CEST → 02:00 CET; 2 h on the wall clock, 3 h elapsed
        (("20261025", "013000"), ("20261025", "033000"), 10800.0),
    ],
)
def test_daylight_saving_change_uses_true_elapsed_time(
    injection: tuple[str, str], scan: tuple[str, str], elapsed_s: float
) -> None:
    ga68_s = 4062.6
    ds = pet_header(
        series=scan, acquisition=scan, half_life=ga68_s, start_time=None, start_datetime="".join(injection)
    )
    f = suv_factor(SuvInputs.from_dataset(ds, tz=ZoneInfo("Europe/Zurich")))
    assert f.decay_time_s == elapsed_s
    assert f.factor == pytest.approx(by_hand(67, 374e6, elapsed_s, ga68_s), rel=1e-12)


def test_daylight_saving_change_from_volume_metadata() -> None:
    """Two datetimes with the *same* ZoneInfo: Python's naive subtraction would say 2 h."""
    zurich = ZoneInfo("Europe/Zurich")
    injection = datetime(2026, 3, 29, 1, 30, tzinfo=zurich)
    scan = datetime(2026, 3, 29, 3, 30, tzinfo=zurich)
    assert (scan - injection).total_seconds() == 7200  # the trap
    vol = _bqml_volume(injection=injection, scan=scan)
    f = suv_factor(SuvInputs.from_volume(vol))
    assert f.decay_time_s == 3600.0


# -- IBSI-style digital reference objects: SUV 0.2 / 1 / 4 must come back --------------------
def _bqml_volume(
    *,
    injection: datetime,
    scan: datetime,
    weight_kg: float = 67.0,
    dose_bq: float = 374e6,
    half_life_s: float = F18_S,
    decay: str = "START",
    suv: Sequence[float] = (0.2, 1.0, 4.0),
    elapsed_s: float | None = None,
) -> Volume:
    """Bq/mL = SUV · D_decayed / W[g], with the decay computed here from the true elapsed time."""
    dt = (
        elapsed_s
        if elapsed_s is not None
        else (scan.astimezone(UTC) - injection.astimezone(UTC)).total_seconds()
    )
    per_suv = dose_bq * 2 ** (-dt / half_life_s) / (weight_kg * 1000)
    arr = np.array(suv, dtype=np.float64).reshape(1, 1, -1) * per_suv
    radio = Radiopharmaceutical(
        injected_activity_bq=dose_bq,
        injection_datetime=injection,
        half_life_s=half_life_s,
        decay_correction=decay,
        units="BQML",
        patient_weight_kg=weight_kg,
        patient_height_m=1.7,
    )
    meta = SeriesMetadata(source="dro", radiopharmaceutical=radio, identity=PatientIdentity(sex="F"))
    geometry = Geometry.from_spacing(arr.shape, (2.0, 2.0, 2.0))  # type: ignore[arg-type]
    return Volume(arr.astype(np.float32), geometry, "PT", ValueUnit.BQ_PER_ML, scan, meta)


@pytest.mark.parametrize(
    ("case", "injection", "scan", "half_life_s", "decay", "elapsed_s"),
    [
        (
            "default F-18",
            datetime(2020, 1, 1, 9, 0, tzinfo=UTC),
            datetime(2020, 1, 1, 10, 0, tzinfo=UTC),
            F18_S,
            "START",
            None,
        ),
        (
            "Ga-68",
            datetime(2020, 1, 1, 9, 0, tzinfo=CET),
            datetime(2020, 1, 1, 10, 5, tzinfo=CET),
            4062.6,
            "START",
            None,
        ),
        (
            "midnight",
            datetime(2020, 1, 1, 23, 40, tzinfo=UTC),
            datetime(2020, 1, 2, 0, 50, tzinfo=UTC),
            F18_S,
            "START",
            None,
        ),
        (
            "Zr-89 > 24 h",
            datetime(2020, 1, 1, 9, 0, tzinfo=UTC),
            datetime(2020, 1, 4, 11, 0, tzinfo=UTC),
            78.41 * 3600,
            "START",
            None,
        ),
        (
            "ADMIN",
            datetime(2020, 1, 1, 9, 0, tzinfo=UTC),
            datetime(2020, 1, 1, 10, 0, tzinfo=UTC),
            F18_S,
            "ADMIN",
            0.0,
        ),
    ],
)
def test_dro_style_volumes_give_known_suv(
    case: str, injection: datetime, scan: datetime, half_life_s: float, decay: str, elapsed_s: float | None
) -> None:
    vol = _bqml_volume(
        injection=injection, scan=scan, half_life_s=half_life_s, decay=decay, elapsed_s=elapsed_s
    )
    out = suv_volume(vol, suv_factor(SuvInputs.from_volume(vol)))
    assert out.units is ValueUnit.SUV_BW
    np.testing.assert_allclose(out.array.ravel(), [0.2, 1.0, 4.0], rtol=1e-6)


def test_suv_array_for_lbm_and_volume_refuses_it() -> None:
    vol = _bqml_volume(
        injection=datetime(2020, 1, 1, 9, tzinfo=UTC), scan=datetime(2020, 1, 1, 10, tzinfo=UTC)
    )
    f_bw = suv_factor(SuvInputs.from_volume(vol))
    f_lbm = suv_factor(SuvInputs.from_volume(vol), normalisation="lbm_janmahasatian")
    lbm = 9270 * 67 / (8780 + 244 * 67 / 1.7**2)  # sex F from the identity
    np.testing.assert_allclose(suv_array(vol, f_lbm), suv_array(vol, f_bw) * lbm / 67, rtol=1e-6)
    with pytest.raises(UnitsError, match="suv_array"):
        suv_volume(vol, f_lbm)


def test_suv_volume_refuses_wrong_voxel_units() -> None:
    vol = _bqml_volume(
        injection=datetime(2020, 1, 1, 9, tzinfo=UTC), scan=datetime(2020, 1, 1, 10, tzinfo=UTC)
    )
    factor = suv_factor(SuvInputs.from_volume(vol))
    ct = Volume(np.zeros((1, 1, 3), np.float32), vol.geometry, "CT", ValueUnit.HU)
    with pytest.raises(UnitsError, match="BQML"):
        suv_volume(ct, factor)


# -- bad input: one test per kind, each naming what is wrong ---------------------------------
def _factor(ds: Dataset, **kw: object) -> SuvFactor:
    return suv_factor(SuvInputs.from_dataset(ds), **kw)  # type: ignore[arg-type]


def test_missing_weight() -> None:
    with pytest.raises(UnitsError, match=r"Patient's Weight \(0010,1030\) is missing"):
        _factor(pet_header(weight=None))


def test_zero_weight() -> None:
    with pytest.raises(UnitsError, match=r"\(0010,1030\) is 0"):
        _factor(pet_header(weight=0))


def test_negative_dose() -> None:
    with pytest.raises(UnitsError, match=r"Radionuclide Total Dose \(0018,1074\) is -1"):
        SuvInputs.from_dataset(pet_header(dose=-1e8))


def test_missing_dose() -> None:
    with pytest.raises(UnitsError, match=r"\(0018,1074\) is missing"):
        _factor(pet_header(dose=None))


def test_missing_half_life() -> None:
    with pytest.raises(UnitsError, match=r"Radionuclide Half Life \(0018,1075\) is missing"):
        _factor(pet_header(half_life=None))


def test_missing_start_time() -> None:
    with pytest.raises(UnitsError, match=r"\(0018,1078\) and Start Time \(0018,1072\) are both missing"):
        _factor(pet_header(start_time=None))


def test_injection_after_scan() -> None:
    ds = pet_header(start_time=None, start_datetime="20201217120000")
    with pytest.raises(UnitsError, match="is after the scan reference time"):
        _factor(ds)


def test_missing_decay_correction() -> None:
    with pytest.raises(UnitsError, match=r"Decay Correction \(0054,1102\) is missing"):
        _factor(pet_header(decay=None))


def test_none_with_several_acquisition_times() -> None:
    headers = [pet_header(decay="NONE", acquisition=("20201217", t)) for t in ("100000", "100300")]
    with pytest.raises(UnitsError, match="NONE with 2 different acquisition times"):
        suv_factor(SuvInputs.from_datasets(headers))


def test_unsupported_units() -> None:
    with pytest.raises(UnitsError, match=r"Units \(0054,1001\) is 'PROPCNTS'"):
        _factor(pet_header(units="PROPCNTS"))


def test_cnts_without_philips_factors() -> None:
    with pytest.raises(UnitsError, match=r"\(7053,1000\).*\(7053,1009\)"):
        _factor(pet_header(units="CNTS"))


def test_gml_with_lbm() -> None:
    with pytest.raises(UnitsError, match="GML"):
        _factor(pet_header(units="GML"), normalisation="lbm_james128")


@pytest.mark.parametrize("sex", [None, "O"])
def test_lbm_needs_sex(sex: str | None) -> None:
    with pytest.raises(UnitsError, match=r"Patient's Sex \(0010,0040\) M or F"):
        _factor(pet_header(sex=sex, size=1.8), normalisation="lbm_janmahasatian")


@pytest.mark.parametrize("size", [None, 0.0])
def test_lbm_and_bsa_need_height(size: float | None) -> None:
    with pytest.raises(UnitsError, match=r"Patient's Size \(0010,1020\)"):
        _factor(pet_header(size=size), normalisation="bsa")


def test_james_breaks_down_at_extreme_bmi() -> None:
    with pytest.raises(UnitsError, match="invalid at this BMI"):
        _factor(pet_header(weight=250, size=1.5), normalisation="lbm_james128")


def test_corrected_image_without_attenuation_correction() -> None:
    with pytest.raises(UnitsError, match=r"Corrected Image \(0028,0051\).*ATTN"):
        _factor(pet_header(corrected=("DECY",)))


def test_start_time_only_for_long_lived_nuclide() -> None:
    with pytest.raises(UnitsError, match=r"Start DateTime \(0018,1078\)"):
        _factor(pet_header(half_life=64.1 * 3600))


def test_mixed_series_headers() -> None:
    with pytest.raises(DicomError, match=r"PatientWeight \(0010,1030\)"):
        SuvInputs.from_datasets([pet_header(), pet_header(weight=70)])


@pytest.mark.filterwarnings("ignore:Invalid value for VR TM")
def test_malformed_time() -> None:
    with pytest.raises(DicomError, match="malformed date or time"):
        SuvInputs.from_dataset(pet_header(series=("20201217", "25xx00")))


def test_naive_datetime() -> None:
    with pytest.raises(InputError, match="no timezone"):
        SuvInputs(units="BQML", decay_correction="START", injection_datetime=datetime(2020, 1, 1, 9))


def test_volume_without_radiopharmaceutical() -> None:
    vol = Volume(
        np.zeros((1, 1, 1), np.float32),
        Geometry.from_spacing((1, 1, 1), (1, 1, 1)),
        "PT",
        ValueUnit.BQ_PER_ML,
    )
    with pytest.raises(InputError, match="no radiopharmaceutical information"):
        SuvInputs.from_volume(vol)


def test_unknown_normalisation() -> None:
    with pytest.raises(InputError, match="unknown SUV normalisation"):
        _factor(pet_header(), normalisation="ibw")


def test_factor_is_never_zero_or_infinite() -> None:
    with pytest.raises(UnitsError):
        SuvFactor(math.inf, "bw", "BQML", "g/mL", "x")
    with pytest.raises(UnitsError):
        SuvFactor(0.0, "bw", "BQML", "g/mL", "x")


def test_inputs_are_frozen() -> None:
    inputs = SuvInputs.from_dataset(pet_header())
    with pytest.raises(dataclasses.FrozenInstanceError):
        inputs.units = "GML"  # type: ignore[misc]


def test_from_volume_without_series_time_says_so(caplog: pytest.LogCaptureFixture) -> None:
    vol = _bqml_volume(
        injection=datetime(2020, 1, 1, 9, tzinfo=UTC), scan=datetime(2020, 1, 1, 10, tzinfo=UTC)
    )
    with caplog.at_level("WARNING", logger="nelm.imaging.suv"):
        f = suv_factor(SuvInputs.from_volume(vol))
    assert "no Series Date/Time" in f.scan_time_rule
    assert "SuvInputs.from_datasets" in caplog.text
    series = datetime(2020, 1, 1, 9, 50, tzinfo=UTC)
    assert suv_factor(SuvInputs.from_volume(vol, series_datetime=series)).decay_time_s == 50 * 60
