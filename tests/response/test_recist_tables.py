"""RECIST 1.1 overall response: Table 1 and Table 2, new lesions, reappearance, BOR and TTP."""

from __future__ import annotations

import pytest
from test_recist_helpers import (
    START,
    case,
    gone,
    ld,
    liver,
    new,
    node,
    present,
    row,
    run,
    sa,
    state,
    tp,
)

from nelm.response.bor import BorSettings
from nelm.response.model import LesionMeasurement, LesionState, ResponseCase
from nelm.response.recist import RecistSettings

# Target L1 (liver, 30 mm at the baseline) and non-target L2 (lung, 8 mm: too small to be a target).
_TARGET: dict[str, LesionMeasurement | None] = {
    "CR": gone("L1"),  # 0 mm: every target gone
    "PR": ld("L1", 20),  # 20 / 30 = -33.3 %
    "SD": ld("L1", 30),  # 0 %
    "NE": None,  # not evaluated
    "PD": ld("L1", 40),  # +33.3 % and +10 mm over the nadir 30
}
_NON_TARGET: dict[str, tuple[LesionMeasurement | None, bool]] = {
    "CR": (gone("L2"), False),
    "non-CR/non-PD": (present("L2"), False),
    "NE": (None, False),
    "PD": (present("L2"), True),  # the reader calls unequivocal progression
}

# RECIST 1.1 Table 1 (Eisenhauer 2009): target, non-target, new lesion -> overall
_TABLE_1 = [
    ("CR", "CR", False, "CR"),
    ("CR", "non-CR/non-PD", False, "PR"),
    ("CR", "NE", False, "PR"),
    ("PR", "non-CR/non-PD", False, "PR"),
    ("PR", "NE", False, "PR"),
    ("PR", "CR", False, "PR"),
    ("SD", "non-CR/non-PD", False, "SD"),
    ("SD", "NE", False, "SD"),
    ("SD", "CR", False, "SD"),
    ("NE", "non-CR/non-PD", False, "NE"),
    ("NE", "CR", False, "NE"),
    ("NE", "NE", False, "NE"),
    ("PD", "CR", False, "PD"),
    ("PD", "non-CR/non-PD", False, "PD"),
    ("PD", "NE", False, "PD"),
    ("PD", "PD", True, "PD"),
    ("CR", "PD", False, "PD"),
    ("PR", "PD", False, "PD"),
    ("SD", "PD", False, "PD"),
    ("NE", "PD", False, "PD"),
    ("CR", "CR", True, "PD"),
    ("PR", "non-CR/non-PD", True, "PD"),
    ("SD", "NE", True, "PD"),
    ("NE", "NE", True, "PD"),
]


def _table_1_case(target: str, non_target: str, new_lesion: bool) -> ResponseCase:
    t = _TARGET[target]
    nt, called = _NON_TARGET[non_target]
    measured = [m for m in (t, nt) if m is not None]
    fu1 = tp("fu1", 56, *measured, new_lesions=(new("X1"),) if new_lesion else (), progression_called=called)
    return case([liver("L1"), liver("L2", "lung")], tp("base", 0, ld("L1", 30), ld("L2", 8)), fu1)


@pytest.mark.parametrize(("target", "non_target", "new_lesion", "overall"), _TABLE_1)
def test_table_1_patients_with_target_disease(
    target: str, non_target: str, new_lesion: bool, overall: str
) -> None:
    result = run(_table_1_case(target, non_target, new_lesion))
    assert result.targets == ["L1"]
    assert result.non_targets == ["L2"]
    fu1 = row(result, "fu1")
    assert fu1.target == target
    assert fu1.non_target == non_target
    assert fu1.new_lesions == ("definite" if new_lesion else "none")
    assert fu1.category == overall


def test_target_cr_without_non_target_lesions_is_cr() -> None:
    c = case([liver("L1")], tp("base", 0, ld("L1", 30)), tp("fu1", 56, gone("L1")))
    fu1 = row(run(c), "fu1")
    assert (fu1.target, fu1.non_target, fu1.category) == ("CR", "none", "CR")


# RECIST 1.1 Table 2: non-target disease only (L2, 8 mm: no target)
_TABLE_2 = [
    ("CR", False, "CR"),
    ("non-CR/non-PD", False, "non-CR/non-PD"),
    ("NE", False, "NE"),
    ("PD", False, "PD"),
    ("PD", True, "PD"),
    ("CR", True, "PD"),
    ("non-CR/non-PD", True, "PD"),
    ("NE", True, "PD"),
]


@pytest.mark.parametrize(("non_target", "new_lesion", "overall"), _TABLE_2)
def test_table_2_patients_with_non_target_disease_only(
    non_target: str, new_lesion: bool, overall: str
) -> None:
    nt, called = _NON_TARGET[non_target]
    fu1 = tp(
        "fu1",
        56,
        *([nt] if nt is not None else []),
        new_lesions=(new("X1"),) if new_lesion else (),
        progression_called=called,
    )
    result = run(case([liver("L2", "lung")], tp("base", 0, ld("L2", 8)), fu1))
    assert result.targets == []
    r = row(result, "fu1")
    assert r.target is None
    assert r.non_target == non_target
    assert r.category == overall


def test_non_target_cr_allows_normal_sized_nodes() -> None:
    # non-target node N1 12 mm SA at the baseline (pathological, not measurable)
    def at(n1: str) -> str:
        c = case(
            [liver("L1"), node("N1")],
            tp("base", 0, ld("L1", 30), sa("N1", 12)),
            tp("fu1", 56, gone("L1"), sa("N1", n1)),
        )
        fu1 = row(run(c), "fu1")
        return f"{fu1.non_target}/{fu1.category}"

    assert at("9.9") == "CR/CR"  # < 10 mm: normal, non-target CR
    assert at("10.0") == "non-CR/non-PD/PR"  # still pathological: target CR + non-target persisting = PR


# --- new lesions ---------------------------------------------------------------------------------


def test_equivocal_new_lesion_is_not_pd_until_confirmed_then_pd_dates_back() -> None:
    lesions = [liver("L1")]
    base = tp("base", 0, ld("L1", 30))
    unconfirmed = run(
        case(
            lesions,
            base,
            tp("fu1", 56, ld("L1", 30), new_lesions=(new("X1", equivocal=True),)),
            tp("fu2", 112, ld("L1", 30)),
        )
    )
    fu1 = row(unconfirmed, "fu1")
    assert (fu1.new_lesions, fu1.category) == ("equivocal", "SD")
    assert row(unconfirmed, "fu2").category == "SD"
    assert unconfirmed.progression_time_point is None

    confirmed = run(
        case(
            lesions,
            base,
            tp("fu1", 56, ld("L1", 30), new_lesions=(new("X1", equivocal=True),)),
            tp("fu2", 112, ld("L1", 30), new_lesions=(new("X1"),)),
        )
    )
    assert row(confirmed, "fu1").category == "PD"
    assert row(confirmed, "fu1").new_lesions == "definite"
    assert "confirmed at a later scan" in row(confirmed, "fu1").rule
    assert confirmed.progression_time_point == "fu1"
    assert confirmed.time_to_progression_days == 56.0


def test_equivocal_new_lesion_confirmed_by_a_later_measurement() -> None:
    c = case(
        [liver("L1")],
        tp("base", 0, ld("L1", 30)),
        tp("fu1", 56, ld("L1", 30), new_lesions=(new("X1", equivocal=True),)),
        tp("fu2", 112, ld("L1", 30), ld("X1", 12)),
    )
    assert run(c).progression_time_point == "fu1"


# --- reappearance --------------------------------------------------------------------------------


def test_reappearance_after_an_overall_cr_is_pd() -> None:
    # fu1: L1 gone -> CR (nadir 0). fu2: L1 back at 3 mm: +3 mm over the nadir 0 is below the 5 mm
    # floor, so the sums alone say PR (3 / 30 = -90 %); after an overall CR any reappearance is PD.
    points = (tp("base", 0, ld("L1", 30)), tp("fu1", 56, gone("L1")), tp("fu2", 112, ld("L1", 3)))
    result = run(case([liver("L1")], *points))
    assert row(result, "fu1").category == "CR"
    fu2 = row(result, "fu2")
    assert fu2.target == "PR"
    assert fu2.category == "PD"
    assert "reappear after the overall CR at fu1" in fu2.rule
    assert result.progression_time_point == "fu2"
    assert result.best_overall_response == "CR"

    off = run(case([liver("L1")], *points), RecistSettings(reappearance_after_cr_is_pd=False))
    fu2_off = row(off, "fu2")
    assert fu2_off.category == "PR"
    assert any("reappearance_after_cr_is_pd is off" in n for n in fu2_off.notes)


def test_reappearance_without_an_earlier_cr_is_left_to_the_sums() -> None:
    # L1 30 + L2 20 = 50; fu1 L1 gone, L2 20: sum 20 (-60 %: PR); fu2 L1 back at 3 mm: sum 23,
    # +15 % and +3 mm over the nadir 20 (not PD), -54 % from the baseline: PR
    c = case(
        [liver("L1"), liver("L2", "lung")],
        tp("base", 0, ld("L1", 30), ld("L2", 20)),
        tp("fu1", 56, gone("L1"), ld("L2", 20)),
        tp("fu2", 112, ld("L1", 3), ld("L2", 20)),
    )
    fu2 = row(run(c), "fu2")
    assert fu2.category == "PR"
    assert any("without an earlier overall CR" in n for n in fu2.notes)


def test_reappearing_lesion_that_meets_pd_by_the_sums_is_pd_anyway() -> None:
    # L1 30 + L2 20; fu1 L1 gone, L2 20 (nadir 20); fu2 L1 back at 8 mm: 28 = +40 %, +8 mm: PD
    c = case(
        [liver("L1"), liver("L2", "lung")],
        tp("base", 0, ld("L1", 30), ld("L2", 20)),
        tp("fu1", 56, gone("L1"), ld("L2", 20)),
        tp("fu2", 112, ld("L1", 8), ld("L2", 20)),
    )
    assert row(run(c), "fu2").target == "PD"


def test_non_target_reappearing_after_cr_is_pd() -> None:
    c = case(
        [liver("L1"), liver("L2", "lung")],
        tp("base", 0, ld("L1", 30), ld("L2", 8)),
        tp("fu1", 56, gone("L1"), gone("L2")),
        tp("fu2", 112, gone("L1"), present("L2")),
    )
    result = run(c)
    assert row(result, "fu1").category == "CR"
    fu2 = row(result, "fu2")
    assert fu2.non_target == "non-CR/non-PD"
    assert fu2.category == "PD"


@pytest.mark.parametrize(
    ("fu2_sa", "expected"),
    [
        ("10.0", "PD"),  # back to ≥ 10 mm after an overall CR: reappearance (EORTC clarification)
        ("9.5", "CR"),  # still normal: no reappearance, target CR
    ],
)
def test_target_node_back_to_pathological_after_cr(fu2_sa: str, expected: str) -> None:
    # N1 20 mm; fu1 9.0 mm -> CR; fu2: sums alone would say 10.0 vs nadir 9.0 = +11 %, +1 mm (not PD)
    c = case(
        [node("N1")],
        tp("base", 0, sa("N1", 20)),
        tp("fu1", 56, sa("N1", 9)),
        tp("fu2", 112, sa("N1", fu2_sa)),
    )
    result = run(c)
    assert row(result, "fu1").category == "CR"
    assert row(result, "fu2").category == expected


def test_reappearance_after_cr_across_a_not_evaluated_time_point() -> None:
    c = case(
        [liver("L1")],
        tp("base", 0, ld("L1", 30)),
        tp("fu1", 56, gone("L1")),
        tp("fu2", 112, state("L1", LesionState.NOT_EVALUATED)),
        tp("fu3", 168, ld("L1", 4)),
    )
    result = run(c)
    assert row(result, "fu2").category == "NE"
    assert row(result, "fu3").category == "PD"
    assert "gone at fu1" in row(result, "fu3").rule


# --- the whole result ----------------------------------------------------------------------------


def test_result_fields_bor_and_time_to_progression() -> None:
    # 50 -> 40 (SD, day 56) -> 30 (PR -40 %, day 112) -> 37 (+23 %, +7 mm over 30: PD, day 168)
    c = case(
        [liver("L1"), liver("L2", "lung")],
        tp("base", 0, ld("L1", 30), ld("L2", 20)),
        tp("fu1", 56, ld("L1", 25), ld("L2", 15)),
        tp("fu2", 112, ld("L1", 18), ld("L2", 12)),
        tp("fu3", 168, ld("L1", 22), ld("L2", 15)),
    )
    result = run(c)
    assert result.criterion == "RECIST 1.1"
    assert result.source == "Eisenhauer EA et al. Eur J Cancer 2009;45:228-247"
    assert [r.category for r in result.time_points] == ["baseline", "SD", "PR", "PD"]
    base = result.time_points[0]
    assert (base.time_point, base.target, base.value, base.date) == (
        "base",
        None,
        50.0,
        START.date().isoformat(),
    )
    assert [r.value for r in result.time_points] == [50.0, 40.0, 30.0, 37.0]
    assert [r.days_from_baseline for r in result.time_points] == [0.0, 56.0, 112.0, 168.0]
    assert result.best_overall_response == "PR"
    assert "fu2" in result.best_overall_response_rule
    assert result.progression_time_point == "fu3"
    assert result.time_to_progression_days == 168.0
    assert result.settings["bor_confirmation"] == "not required"
    assert result.targets == ["L1", "L2"]
    assert result.target_selection.startswith("automatic proposal")
    assert row(result, "fu3").rule.startswith(
        "PD: target disease progressed. Target lesions: PD: sum of diameters 37.0 mm"
    )


def test_bor_with_confirmation() -> None:
    # PR at day 56 and day 112 (56 days apart ≥ 28): confirmed PR; a single PR is not
    lesions = [liver("L1")]
    confirmed = case(
        lesions, tp("base", 0, ld("L1", 30)), tp("fu1", 56, ld("L1", 20)), tp("fu2", 112, ld("L1", 20))
    )
    settings = RecistSettings(bor=BorSettings(confirmation=True))
    assert run(confirmed, settings).best_overall_response == "PR"
    single = case(
        lesions, tp("base", 0, ld("L1", 30)), tp("fu1", 56, ld("L1", 20)), tp("fu2", 112, ld("L1", 30))
    )
    # unconfirmed PR at day 56 counts as SD (≥ 42 days)
    assert run(single, settings).best_overall_response == "SD"
    assert run(single).best_overall_response == "PR"


def test_baseline_only_case() -> None:
    result = run(case([liver("L1")], tp("base", 0, ld("L1", 30))))
    assert [r.category for r in result.time_points] == ["baseline"]
    assert result.best_overall_response == "NE"
    assert result.progression_time_point is None
