"""Y-90 vial logistics: decay across time zones and DST, vial choice, delivery losses.

Every expected value is written out from the published formula ``A = A0 · 2^(−Δt/T½)``
(reference/y90-dosimetry.md §2.6, T½ = 64.1 h) with Δt counted by hand in UTC.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nelm.case.vocabulary import TareDevice
from nelm.errors import InputError
from nelm.y90.constants import DEFAULT_CONSTANTS, HALF_LIFE_H_ALTERNATIVE
from nelm.y90.decay import (
    DEFAULT_GLASS_VIAL_SIZES_GBQ,
    DEFAULT_RESIN_VIAL_SIZES_GBQ,
    Vial,
    activity_at,
    activity_needed_at,
    choose_vial,
    decay_factor,
    delivery_losses,
    require_aware,
)

T_HALF_H = 64.1
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
# TheraSphere calibration: 12:00 US Eastern on a Sunday (2026-02-15 is a Sunday; EST = UTC-5).
CALIBRATION = datetime(2026, 2, 15, 12, 0, tzinfo=NEW_YORK)


def by_hand(hours: float, half_life_h: float = T_HALF_H) -> float:
    return float(2.0 ** (-hours / half_life_h))


# -- decay factor -----------------------------------------------------------------------------
def test_one_half_life_halves() -> None:
    start = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    # 64.1 h = 2 d 16 h 6 min
    assert decay_factor(start, start + timedelta(days=2, hours=16, minutes=6)) == pytest.approx(
        0.5, rel=1e-12
    )


def test_spring_forward_loses_an_hour_berlin() -> None:
    # 2026-03-29 02:00 CET -> 03:00 CEST: 00:00 to 06:00 wall clock is 5 h of real time
    # (23:00 UTC to 04:00 UTC). Plain datetime subtraction in one zone would say 6 h.
    start = datetime(2026, 3, 29, 0, 0, tzinfo=BERLIN)
    end = datetime(2026, 3, 29, 6, 0, tzinfo=BERLIN)
    assert end - start == timedelta(hours=6)  # the trap
    assert decay_factor(start, end) == pytest.approx(by_hand(5.0), rel=1e-12)
    assert decay_factor(start, end) != pytest.approx(by_hand(6.0), rel=1e-6)


def test_fall_back_gains_an_hour_berlin() -> None:
    # 2026-10-25 03:00 CEST -> 02:00 CET: 00:00 to 06:00 wall clock is 7 h of real time.
    start = datetime(2026, 10, 25, 0, 0, tzinfo=BERLIN)
    end = datetime(2026, 10, 25, 6, 0, tzinfo=BERLIN)
    assert decay_factor(start, end) == pytest.approx(by_hand(7.0), rel=1e-12)


def test_zones_mix() -> None:
    # 12:00 EST (17:00 UTC) to 09:30 CET three days later (08:30 UTC) = 3 d − 8.5 h = 63.5 h.
    end = datetime(2026, 2, 18, 9, 30, tzinfo=BERLIN)
    assert decay_factor(CALIBRATION, end) == pytest.approx(by_hand(63.5), rel=1e-12)


def test_half_life_is_a_constant_away() -> None:
    start = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    end = start + timedelta(hours=100)
    c = DEFAULT_CONSTANTS.with_(half_life_h=HALF_LIFE_H_ALTERNATIVE)
    assert decay_factor(start, end, c) == pytest.approx(by_hand(100.0, 64.2), rel=1e-12)


def test_before_is_refused_with_both_datetimes_unless_allowed() -> None:
    start = datetime(2026, 2, 18, 9, 0, tzinfo=BERLIN)
    end = datetime(2026, 2, 17, 9, 0, tzinfo=BERLIN)
    with pytest.raises(InputError) as info:
        decay_factor(start, end)
    assert start.isoformat() in str(info.value)
    assert end.isoformat() in str(info.value)
    assert "24.00 h before" in str(info.value)
    assert decay_factor(start, end, allow_before=True) == pytest.approx(2.0 ** (24 / T_HALF_H), rel=1e-12)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (datetime(2026, 2, 15, 12, 0), "start 2026-02-15T12:00:00 has no timezone; write e.g."),
        (date(2026, 2, 15), "must be a date-time with a timezone"),
        ("2026-02-15T12:00:00-05:00", "must be a date-time with a timezone"),
        (datetime(2026, 3, 29, 2, 30, tzinfo=BERLIN), "does not exist in time zone Europe/Berlin"),
    ],
)
def test_bad_datetimes(value: object, fragment: str) -> None:
    with pytest.raises(InputError, match=fragment):
        decay_factor(value, datetime(2026, 4, 1, tzinfo=UTC))  # type: ignore[arg-type]


def test_naive_calibration_names_the_field() -> None:
    with pytest.raises(
        InputError, match=r"calibration_datetime .* has no timezone; write e\.g\. 2026-02-15T12:00:00-05:00"
    ):
        choose_vial(3.0, datetime(2026, 2, 18, 9, 0, tzinfo=BERLIN), datetime(2026, 2, 15, 12, 0))
    with pytest.raises(InputError, match="calibration_datetime"):
        Vial(3.0, datetime(2026, 2, 15, 12, 0))
    assert require_aware(CALIBRATION, "x") is CALIBRATION


@settings(max_examples=60, deadline=None)
@given(
    a_gbq=st.floats(0.01, 50.0),
    h1=st.floats(0.0, 400.0),
    h2=st.floats(0.0, 400.0),
)
def test_activity_round_trip_and_multiplicativity(a_gbq: float, h1: float, h2: float) -> None:
    t0 = datetime(2026, 3, 28, 12, 0, tzinfo=BERLIN)  # intervals cross the DST change
    # Add real time in UTC (adding a timedelta to a zoned datetime is wall-clock arithmetic).
    t1 = (t0.astimezone(UTC) + timedelta(hours=h1)).astimezone(BERLIN)
    t2 = (t1.astimezone(UTC) + timedelta(hours=h2)).astimezone(BERLIN)
    later = activity_at(a_gbq, t1, t0)
    assert later == pytest.approx(a_gbq * by_hand(h1), rel=1e-9)  # timedelta keeps whole µs
    assert activity_needed_at(later, t1, t0) == pytest.approx(a_gbq, rel=1e-12)
    assert decay_factor(t0, t1) * decay_factor(t1, t2) == pytest.approx(decay_factor(t0, t2), rel=1e-12)
    assert decay_factor(t0, t2) <= decay_factor(t0, t1) <= 1.0


@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan, math.inf, "3 GBq", True, None])
def test_bad_activities(bad: object) -> None:
    t = datetime(2026, 2, 18, 9, 0, tzinfo=BERLIN)
    with pytest.raises(InputError, match="activity_gbq"):
        activity_at(bad, t, CALIBRATION)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="prescribed_activity_gbq"):
        choose_vial(bad, t, CALIBRATION)  # type: ignore[arg-type]


# -- vial choice ------------------------------------------------------------------------------
def test_choose_glass_vial_by_hand() -> None:
    # Treatment 72 h after calibration (Wed 12:00 EST = 18:00 CET).
    treatment = datetime(2026, 2, 18, 18, 0, tzinfo=BERLIN)
    presc, r = 4.0, 0.02
    f = 2.0 ** (-72 / T_HALF_H)  # 0.45908
    need_t = presc / (1 - r)  # 4.0816 GBq
    need_c = need_t / f  # 8.891 GBq -> the 10 GBq vial
    choice = choose_vial(presc, treatment, CALIBRATION, residual_fraction=r)
    assert choice.vial.nominal_activity_gbq == 10.0
    assert choice.vial.device is TareDevice.GLASS
    assert choice.needed_at_treatment_gbq == pytest.approx(need_t, rel=1e-12)
    assert choice.needed_at_calibration_gbq == pytest.approx(need_c, rel=1e-12)
    assert 8.88 < choice.needed_at_calibration_gbq < 8.90
    assert choice.vial_activity_at_treatment_gbq == pytest.approx(10 * f, rel=1e-12)
    assert choice.excess_gbq == pytest.approx(10 * f - need_t, rel=1e-9)
    assert choice.excess_percent == pytest.approx(100 * (10 * f - need_t) / need_t, rel=1e-9)
    # Best time: 10 · 2^(−t/T½) = need_t  =>  t = T½ · log2(10 / need_t) after calibration.
    t_best_h = T_HALF_H * math.log2(10 / need_t)  # 82.87 h
    expected = datetime(2026, 2, 15, 17, 0, tzinfo=UTC) + timedelta(hours=t_best_h)
    assert abs((choice.best_infusion_datetime - expected).total_seconds()) < 1e-3
    assert choice.best_infusion_datetime.tzinfo is BERLIN
    assert choice.best_infusion_datetime >= treatment
    assert activity_at(10.0, choice.best_infusion_datetime, CALIBRATION) == pytest.approx(need_t, rel=1e-9)
    assert choice.draw_fraction is None
    assert choice.draw_volume_ml is None


def test_vial_boundary_is_inclusive_and_exact() -> None:
    # At the calibration time the factor is exactly 1: 4.9 GBq with R = 0.02 needs 4.9 / 0.98 = 5 GBq
    # exactly (in floating point 5.000000000000001), and 5 GBq qualifies (inclusive).
    assert 4.9 / 0.98 > 5.0
    choice = choose_vial(4.9, CALIBRATION, CALIBRATION, residual_fraction=0.02)
    assert choice.vial.nominal_activity_gbq == 5.0
    assert choice.excess_gbq == 0.0
    assert choice.best_infusion_datetime == CALIBRATION
    just_over = choose_vial(4.9000001, CALIBRATION, CALIBRATION, residual_fraction=0.02)
    assert just_over.vial.nominal_activity_gbq == 7.0


def test_custom_sizes_and_sorted() -> None:
    sizes = (9.5, 3.0, 6.5, 6.0)
    choice = choose_vial(6.2, CALIBRATION, CALIBRATION, sizes_gbq=sizes)
    assert choice.vial.nominal_activity_gbq == 6.5
    assert choice.sizes_gbq == (3.0, 6.0, 6.5, 9.5)
    assert DEFAULT_GLASS_VIAL_SIZES_GBQ == (3.0, 5.0, 7.0, 10.0, 15.0, 20.0)


def test_no_vial_large_enough() -> None:
    treatment = CALIBRATION + timedelta(days=7)
    # 12 GBq one week later: 12 · 2^(168/64.1) = 73.8 GBq at calibration.
    need_c = 12 * 2 ** (168 / T_HALF_H)
    with pytest.raises(InputError) as info:
        choose_vial(12.0, treatment, CALIBRATION)
    message = str(info.value)
    assert "largest size is 20 GBq" in message
    assert f"{need_c:.3f} GBq is needed at calibration" in message


def test_treatment_before_calibration() -> None:
    treatment = CALIBRATION - timedelta(hours=12)
    with pytest.raises(InputError, match=r"treatment_datetime .* before calibration_datetime"):
        choose_vial(3.0, treatment, CALIBRATION)
    # On purpose (e.g. a resin vial used before its calibration): need at calibration is smaller.
    choice = choose_vial(3.0, treatment, CALIBRATION, allow_before=True)
    assert choice.needed_at_calibration_gbq == pytest.approx(3.0 * 2 ** (-12 / T_HALF_H), rel=1e-12)
    assert choice.vial.nominal_activity_gbq == 3.0


def test_resin_draw_fraction_and_volume() -> None:
    treatment = CALIBRATION + timedelta(hours=24)
    presc, r = 1.8, 0.0301
    need_t = presc / (1 - r)
    at_t = 3.0 * 2 ** (-24 / T_HALF_H)  # 2.315 GBq in the vial at treatment
    choice = choose_vial(
        presc, treatment, CALIBRATION, residual_fraction=r, device="resin", vial_volume_ml=5.0
    )
    assert DEFAULT_RESIN_VIAL_SIZES_GBQ == (3.0,)
    assert choice.vial.device is TareDevice.RESIN
    assert choice.draw_fraction == pytest.approx(need_t / at_t, rel=1e-12)
    assert choice.draw_volume_ml == pytest.approx(5.0 * need_t / at_t, rel=1e-12)
    assert 3.9 < choice.draw_volume_ml < 4.1  # type: ignore[operator]
    without_volume = choose_vial(presc, treatment, CALIBRATION, device=TareDevice.RESIN)
    assert without_volume.draw_volume_ml is None


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"residual_fraction": 1.0}, "residual_fraction must be a fraction"),
        ({"residual_fraction": 3.0}, r"3 % is 0.03"),
        ({"residual_fraction": -0.01}, "residual_fraction"),
        ({"residual_fraction": math.nan}, "residual_fraction"),
        ({"sizes_gbq": ()}, "sizes_gbq is empty"),
        ({"sizes_gbq": (3.0, -5.0)}, "sizes_gbq entry"),
        ({"sizes_gbq": 5.0}, "sizes_gbq must be a sequence"),
        ({"device": "ceramic"}, "device must be one of"),
        ({"vial_volume_ml": -5.0}, "volume_ml"),
    ],
)
def test_choose_vial_bad_input(kwargs: dict[str, object], fragment: str) -> None:
    with pytest.raises(InputError, match=fragment):
        choose_vial(3.0, CALIBRATION + timedelta(hours=1), CALIBRATION, **kwargs)  # type: ignore[arg-type]


def test_vial_object() -> None:
    v = Vial(5.0, CALIBRATION, "glass")
    assert v.device is TareDevice.GLASS
    when = CALIBRATION + timedelta(hours=T_HALF_H * 2)
    assert v.activity_at(when) == pytest.approx(1.25, rel=1e-12)
    with pytest.raises(InputError, match="nominal_activity_gbq"):
        Vial(-5.0, CALIBRATION)
    with pytest.raises(InputError, match=r"when .* before calibration_datetime"):
        v.activity_at(CALIBRATION - timedelta(hours=1))


def test_to_dict_is_json_with_offsets() -> None:
    treatment = datetime(2026, 2, 18, 9, 30, tzinfo=BERLIN)
    d = json.loads(json.dumps(choose_vial(3.5, treatment, CALIBRATION, residual_fraction=0.01).to_dict()))
    assert d["vial"]["calibration_datetime"] == "2026-02-15T12:00:00-05:00"
    assert d["vial"]["device"] == "glass"
    assert d["treatment_datetime"] == "2026-02-18T09:30:00+01:00"
    assert datetime.fromisoformat(d["best_infusion_datetime"]).utcoffset() == timedelta(hours=1)
    assert d["constants"]["half_life_h"] == 64.1


# -- delivery losses --------------------------------------------------------------------------
def test_hoang_median_decay_loss() -> None:
    # Hoang et al. (JVIR): median 2.20 h premeasurement -> administration, 2.35 % decay loss.
    assay = datetime(2026, 2, 18, 7, 0, tzinfo=BERLIN)
    losses = delivery_losses(5.0, assay, assay + timedelta(hours=2.2), 0.0061)
    assert losses.decay_loss_percent == pytest.approx(100 * (1 - 2 ** (-2.2 / 64.1)), rel=1e-12)
    assert round(losses.decay_loss_percent, 2) == 2.35
    assert losses.elapsed_h == pytest.approx(2.2, rel=1e-12)


def test_delivery_losses_by_hand() -> None:
    assay = datetime(2026, 3, 29, 0, 30, tzinfo=BERLIN)  # 23:30 UTC
    administration = datetime(2026, 3, 29, 4, 30, tzinfo=BERLIN)  # 02:30 UTC: 3 h, not 4
    a, r = 4.0, 0.0301
    f = 2 ** (-3 / T_HALF_H)
    losses = delivery_losses(a, assay, administration, r)
    assert losses.elapsed_h == pytest.approx(3.0, rel=1e-12)
    assert losses.activity_at_administration_gbq == pytest.approx(a * f, rel=1e-12)
    assert losses.decay_loss_gbq == pytest.approx(a * (1 - f), rel=1e-12)
    assert losses.residual_gbq == pytest.approx(r * a * f, rel=1e-12)
    assert losses.residual_percent == pytest.approx(3.01, rel=1e-12)
    assert losses.injected_activity_gbq == pytest.approx(a * f * (1 - r), rel=1e-12)
    assert losses.total_loss_percent == pytest.approx(100 * (1 - f * (1 - r)), rel=1e-12)
    assert losses.total_loss_gbq + losses.injected_activity_gbq == pytest.approx(a, rel=1e-12)
    d = json.loads(json.dumps(losses.to_dict()))
    assert d["assay_datetime"] == "2026-03-29T00:30:00+01:00"
    assert d["administration_datetime"] == "2026-03-29T04:30:00+02:00"


def test_delivery_losses_bad_input() -> None:
    t = datetime(2026, 2, 18, 9, 0, tzinfo=BERLIN)
    with pytest.raises(InputError, match=r"administration_datetime .* before assay_datetime"):
        delivery_losses(3.0, t, t - timedelta(minutes=5), 0.01)
    with pytest.raises(InputError, match="residual_fraction"):
        delivery_losses(3.0, t, t, 1.5)
    with pytest.raises(InputError, match="vial_activity_gbq"):
        delivery_losses(-3.0, t, t, 0.01)
    with pytest.raises(InputError, match=r"assay_datetime .* has no timezone"):
        delivery_losses(3.0, datetime(2026, 2, 18, 9, 0), t, 0.01)
