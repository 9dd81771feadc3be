"""Unit parsing at nelm's boundaries (nelm.units)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nelm.errors import UnitsError
from nelm.units import (
    Dimension,
    convert,
    parse_activity_gbq,
    parse_dose_gy,
    parse_duration_s,
    parse_length_mm,
    parse_mass_kg,
    parse_quantity,
    parse_volume_ml,
)


def test_activity_units() -> None:
    assert parse_activity_gbq("2.5 GBq") == 2.5
    assert parse_activity_gbq("800 MBq") == pytest.approx(0.8)
    # 1 Ci = 3.7e10 Bq by definition, so 67 mCi = 67 * 3.7e7 Bq = 2.479 GBq.
    assert parse_activity_gbq("67 mCi") == pytest.approx(67 * 3.7e7 / 1e9)
    assert parse_activity_gbq("67mCi") == pytest.approx(2.479)
    # 1 GBq = 27.027 mCi (y90-dosimetry reference).
    assert convert(1.0, "GBq", "mCi") == pytest.approx(27.027, abs=1e-3)


def test_other_dimensions() -> None:
    assert parse_duration_s("45 min") == 2700
    assert parse_duration_s("64.1 h") == pytest.approx(64.1 * 3600)
    assert parse_dose_gy("500 cGy") == pytest.approx(5.0)
    assert parse_volume_ml("1.5 L") == pytest.approx(1500.0)
    assert parse_volume_ml("30 cc") == 30.0
    assert parse_length_mm("2.5 cm") == pytest.approx(25.0)
    assert parse_mass_kg("160 lb") == pytest.approx(72.5747792)
    assert parse_mass_kg("1600 g") == pytest.approx(1.6)


@pytest.mark.parametrize("bare", [2.5, 3, "2.5", " 7 "])
def test_bare_number_is_an_error(bare: object) -> None:
    with pytest.raises(UnitsError, match=r"activity.*(no unit|bare number)"):
        parse_activity_gbq(bare, field="activity")


def test_wrong_dimension_names_field() -> None:
    with pytest.raises(UnitsError, match=r"treatments\[0\]\.activity.*is a dose"):
        parse_activity_gbq("2 Gy", field="treatments[0].activity")


def test_unknown_unit_and_garbage() -> None:
    with pytest.raises(UnitsError, match="unknown unit 'furlong'"):
        parse_length_mm("3 furlong")
    with pytest.raises(UnitsError, match="cannot read"):
        parse_length_mm("about three mm")
    with pytest.raises(UnitsError):
        parse_length_mm(None)
    with pytest.raises(UnitsError):
        parse_length_mm(True)


def test_impossible_values() -> None:
    with pytest.raises(UnitsError, match="negative"):
        parse_activity_gbq("-1 GBq")
    with pytest.raises(UnitsError, match="zero"):
        parse_quantity("0 GBq", Dimension.ACTIVITY, allow_zero=False)
    with pytest.raises(UnitsError, match="finite"):
        parse_activity_gbq("1e999 GBq")
    assert parse_duration_s("-2 h", allow_negative=True) == -7200


def test_convert_rejects_mixed_dimensions() -> None:
    with pytest.raises(UnitsError, match="cannot convert"):
        convert(1.0, "GBq", "Gy")


@given(st.floats(min_value=1e-6, max_value=1e6, allow_nan=False, allow_infinity=False))
def test_round_trip_mci_gbq(value: float) -> None:
    gbq = parse_activity_gbq(f"{value!r} mCi")
    assert math.isclose(convert(gbq, "GBq", "mCi"), value, rel_tol=1e-12)
