"""RECIST 1.1 sums of diameters: thresholds at and either side, the float trap, nadir, CR, NE."""

from __future__ import annotations

from fractions import Fraction

import pytest
from test_recist_helpers import (
    case,
    gone,
    ld,
    liver,
    node,
    one_target,
    present,
    row,
    run,
    sa,
    small,
    state,
    tp,
)

from nelm.response.exact import Change, Direction
from nelm.response.model import LesionMeasurement, LesionState
from nelm.response.recist import RecistSettings
from nelm.response.sums import SumThresholds

# --- PR against the baseline ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("70.0", "PR"),  # 100 -> 70.0: -30.0 % exactly, PR needs ≥ 30 % decrease
        ("70.1", "SD"),  # -29.9 %
        ("69.9", "PR"),  # -30.1 %
    ],
)
def test_partial_response_threshold(value: str, expected: str) -> None:
    result = one_target("100", value)
    assert row(result, "fu1").target == expected
    assert row(result, "fu1").category == expected


# --- PD against the nadir, with the 5 mm floor ---------------------------------------------------


@pytest.mark.parametrize(
    ("baseline", "value", "expected"),
    [
        ("25", "30.0", "PD"),  # +20.0 % and +5.0 mm: both met (both inclusive)
        ("24.5", "29.4", "SD"),  # +20.0 % but +4.9 mm: floor not met
        ("100", "119.9", "SD"),  # +19.9 % (and +19.9 mm): relative not met
        ("50.3", "60.3", "SD"),  # +19.88 % with +10.0 mm: relative not met
        ("50", "60.1", "PD"),  # +20.2 %, +10.1 mm
        ("25", "29.9", "SD"),  # +19.6 %, +4.9 mm
    ],
)
def test_progression_threshold_and_floor(baseline: str, value: str, expected: str) -> None:
    result = one_target(baseline, value)
    assert row(result, "fu1").target == expected


def test_float_trap_25_2_over_21_is_plus_20_percent_but_below_the_floor() -> None:
    # baseline 30 -> 21 (PR, -30 %) -> 25.2: +20 % over the nadir of 21 exactly
    # (100 * 4.2 / 21 = 20), but +4.2 mm < 5 mm: RECIST says not PD; vs the baseline
    # 25.2 / 30 = -16 %: SD.
    result = one_target("30", "21", "25.2")
    assert row(result, "fu1").target == "PR"
    fu2 = row(result, "fu2")
    assert fu2.target == "SD"
    assert fu2.change_from_nadir_percent == 20.0
    assert fu2.change_from_nadir_absolute == pytest.approx(4.2)
    assert "+20.0 %" in fu2.rule


def test_float_trap_with_the_floor_met_is_pd() -> None:
    # baseline 40 -> 25 (PR, -37.5 %) -> 30.0: +20 % and +5.0 mm over the nadir of 25: PD
    result = one_target("40", "25", "30.0")
    fu2 = row(result, "fu2")
    assert fu2.target == "PD"
    assert fu2.category == "PD"
    assert fu2.nadir_time_point == "fu1"
    assert "PD: sum of diameters 30.0 mm is +20.0 % and +5.0 mm over the nadir of 25.0 mm" in fu2.rule


def test_float_trap_without_the_floor_is_pd() -> None:
    # the same 25.2 vs 21 with the 5 mm floor switched off: exactly +20 % is PD
    no_floor = SumThresholds(Change(Direction.DECREASE, "30"), Change(Direction.INCREASE, "20"), None)
    c = case(
        [liver("L1")],
        tp("base", 0, ld("L1", 30)),
        tp("fu1", 56, ld("L1", 21)),
        tp("fu2", 112, ld("L1", "25.2")),
    )
    assert row(run(c, RecistSettings(thresholds=no_floor)), "fu2").target == "PD"
    # a 6 mm floor: 25 -> 30 is +20 % but only +5 mm: SD
    floor_6 = SumThresholds(Change(Direction.DECREASE, "30"), Change(Direction.INCREASE, "20"), Fraction(6))
    c6 = case([liver("L1")], tp("base", 0, ld("L1", 25)), tp("fu1", 56, ld("L1", 30)))
    assert row(run(c6, RecistSettings(thresholds=floor_6)), "fu1").target == "SD"


def test_progression_is_against_the_nadir_not_the_baseline() -> None:
    # EORTC SD clarification: baseline 100, nadir 50, now 65: -35 % from the baseline (PR if
    # compared with the baseline) but +30 % and +15 mm over the nadir: PD.
    result = one_target("100", "50", "65")
    fu2 = row(result, "fu2")
    assert fu2.target == "PD"
    assert fu2.nadir_value == 50.0
    assert fu2.change_from_baseline_percent == -35.0
    assert fu2.change_from_nadir_percent == 30.0


def test_response_is_against_the_baseline_not_the_nadir() -> None:
    # baseline 100, nadir 60, now 70: -30 % from the baseline (PR), +16.7 % / +10 mm over the
    # nadir (not PD)
    assert row(one_target("100", "60", "70"), "fu2").target == "PR"
    # baseline 100 -> 90 -> 64: -28.9 % from the nadir 90 but -36 % from the baseline: PR
    assert row(one_target("100", "90", "64"), "fu2").target == "PR"


def test_nadir_includes_the_baseline_and_skips_not_evaluable_points() -> None:
    c = case(
        [liver("L1")],
        tp("base", 0, ld("L1", 40)),
        tp("fu1", 56, state("L1", LesionState.NOT_EVALUATED)),
        tp("fu2", 112, ld("L1", 48)),
    )
    result = run(c)
    assert row(result, "fu1").category == "NE"
    # 48 vs the nadir 40 (the baseline): +20 % and +8 mm: PD
    assert row(result, "fu2").target == "PD"
    assert row(result, "fu2").nadir_time_point == "base"


# --- CR with nodes -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("node_sa", "expected"),
    [
        ("9.9", "CR"),  # every target node < 10 mm: CR although the sum is 9.9 mm
        ("10.0", "PR"),  # a node at 10.0 mm is not normal: sum 10 / baseline 50 = -80 %: PR
    ],
)
def test_complete_response_with_nodes(node_sa: str, expected: str) -> None:
    c = case(
        [liver("L1"), node("N1")],
        tp("base", 0, ld("L1", 30), sa("N1", 20)),
        tp("fu1", 56, gone("L1"), sa("N1", node_sa)),
    )
    fu1 = row(run(c), "fu1")
    assert fu1.target == expected
    assert fu1.category == expected
    assert fu1.value == float(node_sa)


def test_complete_response_needs_every_non_nodal_target_at_zero() -> None:
    # L1 gone, L2 too small to measure (5 mm default): not CR; (5 + 0) / 50 = -90 %: PR
    c = case(
        [liver("L1"), liver("L2", "lung")],
        tp("base", 0, ld("L1", 30), ld("L2", 20)),
        tp("fu1", 56, gone("L1"), small("L2")),
    )
    fu1 = row(run(c), "fu1")
    assert fu1.target == "PR"
    assert fu1.value == 5.0
    assert any("too small to measure: counted as 5.0 mm" in n for n in fu1.notes)


def test_too_small_default_can_be_changed_and_a_measured_small_lesion_keeps_its_value() -> None:
    base = tp("base", 0, ld("L1", 20))
    c = case([liver("L1")], base, tp("fu1", 56, small("L1")))
    assert row(run(c, RecistSettings(too_small_mm=Fraction(3))), "fu1").value == 3.0
    # a lesion that can be measured keeps its measurement, even below 5 mm
    measured = case([liver("L1")], base, tp("fu1", 56, ld("L1", 3)))
    assert row(run(measured), "fu1").value == 3.0


def test_target_node_keeps_its_actual_short_axis_in_the_sum() -> None:
    c = case(
        [liver("L1"), node("N1")],
        tp("base", 0, ld("L1", 30), sa("N1", 20)),
        tp("fu1", 56, ld("L1", 20), sa("N1", "7.5")),
    )
    assert row(run(c), "fu1").value == 27.5


# --- split and coalesced lesions -----------------------------------------------------------------


def test_split_lesion_fragments_are_summed_upstream() -> None:
    # L1 30 mm splits into fragments of 12 + 10 = 22 mm (summed upstream): 22 / 30 = -26.7 %: SD
    c = case([liver("L1")], tp("base", 0, ld("L1", 30)), tp("fu1", 56, ld("L1", 22, fragments=2)))
    fu1 = row(run(c), "fu1")
    assert fu1.value == 22.0
    assert fu1.target == "SD"
    assert any("2 fragments" in n for n in fu1.notes)


def test_coalesced_lesion_counts_zero_and_the_mass_is_measured_once() -> None:
    # L1 30 + L2 20 = 50; they merge into one 55 mm mass recorded on L1: sum 55 + 0 = 55,
    # +10 % and +5 mm over the nadir 50: not PD (the relative part fails)
    c = case(
        [liver("L1"), liver("L2", "lung")],
        tp("base", 0, ld("L1", 30), ld("L2", 20)),
        tp("fu1", 56, ld("L1", 55), state("L2", LesionState.COALESCED, "L1")),
    )
    fu1 = row(run(c), "fu1")
    assert fu1.value == 55.0
    assert fu1.target == "SD"
    assert any("coalesced into L1: 0 mm" in n for n in fu1.notes)


def test_target_coalesced_into_a_non_target_makes_the_sum_incomplete() -> None:
    c = case(
        [liver("L1"), liver("L2", "lung"), liver("L3")],
        tp("base", 0, ld("L1", 30), ld("L2", 20), ld("L3", 8)),
        tp("fu1", 56, ld("L1", 30), state("L2", LesionState.COALESCED, "L3"), ld("L3", 40)),
    )
    result = run(c)
    assert result.non_targets == ["L3"]
    fu1 = row(result, "fu1")
    assert fu1.target == "NE"
    assert "coalesced into L3" in fu1.rule


# --- NE and the measured-subset rule -------------------------------------------------------------


def _two_targets(fu1_l1: LesionMeasurement, fu1_l2: LesionMeasurement | None) -> str:
    points = [tp("base", 0, ld("L1", 30), ld("L2", 20))]
    measured = [m for m in (fu1_l1, fu1_l2) if m is not None]
    points.append(tp("fu1", 56, *measured))
    result = run(case([liver("L1"), liver("L2", "lung")], *points))
    fu1 = row(result, "fu1")
    assert fu1.value is None  # an incomplete sum has no value
    return f"{fu1.target}/{fu1.category}"


def test_partial_measurement_is_not_evaluable() -> None:
    # L2 not evaluated; L1 alone 30 vs the nadir 50: far from PD -> NE
    assert _two_targets(ld("L1", 30), None) == "NE/NE"
    assert _two_targets(ld("L1", 30), state("L2", LesionState.NOT_EVALUATED)) == "NE/NE"
    # present but without the value RECIST needs
    assert _two_targets(ld("L1", 30), present("L2")) == "NE/NE"
    # even if every measured target shrank a lot: a PR cannot be claimed without the rest
    assert _two_targets(gone("L1"), None) == "NE/NE"


def test_partial_measurement_meeting_pd_on_the_subset_is_pd() -> None:
    # L1 alone 65 vs the nadir 50: +30 %, +15 mm: PD whatever L2 measures (guideline §4.4)
    assert _two_targets(ld("L1", 65), None) == "PD/PD"
    # L1 alone 60 vs the nadir 50: +20 %, +10 mm: PD at the threshold
    assert _two_targets(ld("L1", 60), None) == "PD/PD"
    # L1 alone 59.9: +19.8 %: not enough on its own -> NE
    assert _two_targets(ld("L1", "59.9"), None) == "NE/NE"


def test_subset_pd_rule_is_explained() -> None:
    c = case(
        [liver("L1"), liver("L2", "lung")],
        tp("base", 0, ld("L1", 30), ld("L2", 20)),
        tp("fu1", 56, ld("L1", 65)),
    )
    fu1 = row(run(c), "fu1")
    assert "incomplete" in fu1.rule
    assert "target L2 not evaluated" in fu1.rule
    assert "65.0 mm" in fu1.rule


def test_node_target_without_short_axis_is_incomplete() -> None:
    c = case(
        [liver("L1"), node("N1")],
        tp("base", 0, ld("L1", 30), sa("N1", 20)),
        tp("fu1", 56, ld("L1", 30), LesionMeasurement("N1", long_mm=Fraction(25))),
    )
    fu1 = row(run(c), "fu1")
    assert fu1.target == "NE"
    assert "short_mm" in fu1.rule
