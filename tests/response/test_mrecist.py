"""mRECIST (Lencioni & Llovet 2010): viable diameters, no 5 mm floor, enhancement-based CR, new lesions.

Every expected category is derived in the test from the published rule: PR ≥ 30 % decrease of the
sum of viable diameters from the baseline, PD ≥ 20 % increase over the nadir with no absolute
floor, CR no arterial enhancement in any target.
"""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_recist_helpers import case, gone, ld, liver, mm, node, row, small, state, tp

from nelm.errors import ConfigError, InputError
from nelm.response.model import (
    Certainty,
    LesionMeasurement,
    LesionState,
    NewLesionFinding,
    ResponseCase,
    TimePoint,
)
from nelm.response.mrecist import MrecistSettings, assess_mrecist
from nelm.response.recist import assess_recist
from nelm.response.results import CriterionResult
from nelm.response.settings import override

_RANK = {"CR": 0, "PR": 1, "SD": 2, "non-CR/non-PD": 2, "NE": 3, "PD": 4}


def viable(lid: str, value: str | int | None, long: str | int = 100) -> LesionMeasurement:
    """A present lesion: RECIST longest diameter ``long`` and longest viable diameter ``value``."""
    return LesionMeasurement(lid, long_mm=mm(long), viable_long_mm=None if value is None else mm(value))


def one_target(*values: str, settings: MrecistSettings | None = None, step: int = 56) -> CriterionResult:
    """One enhancing liver target L1 with the given viable diameters at baseline, fu1, fu2 …"""
    points = [tp("base", 0, viable("L1", values[0]))]
    points += [tp(f"fu{i}", i * step, viable("L1", v)) for i, v in enumerate(values[1:], start=1)]
    return assess_mrecist(case([liver("L1")], *points), settings)


# --- PR against the baseline ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("35.0", "PR"),  # 50 -> 35.0: -30.0 % exactly; PR needs ≥ 30 % decrease
        ("35.1", "SD"),  # -29.8 %
        ("34.9", "PR"),  # -30.2 %
    ],
)
def test_partial_response_threshold(value: str, expected: str) -> None:
    r = row(one_target("50", value), "fu1")
    assert (r.target, r.category) == (expected, expected)


# --- PD against the nadir, without a floor -------------------------------------------------------


@pytest.mark.parametrize(
    ("baseline", "value", "expected"),
    [
        ("21", "25.2", "PD"),  # +20.0 % exactly (4.2 mm): PD; the float trap 100*(25.2-21)/21 = 19.999…
        ("5", "6", "PD"),  # +20.0 % with only +1.0 mm: PD, mRECIST has no 5 mm floor
        ("5", "5.9", "SD"),  # +18.0 %
        ("50.3", "60.3", "SD"),  # +19.88 % with +10.0 mm: the relative threshold is not met
        ("50", "60.1", "PD"),  # +20.2 %
    ],
)
def test_progression_threshold_without_floor(baseline: str, value: str, expected: str) -> None:
    r = row(one_target(baseline, value), "fu1")
    assert (r.target, r.category) == (expected, expected)


def test_recist_keeps_its_floor_on_the_same_numbers() -> None:
    # The same 21 -> 25.2 mm as a RECIST longest diameter: +20.0 % but +4.2 mm < 5 mm, so SD there.
    recist = assess_recist(
        case([liver("L1")], tp("base", 0, ld("L1", "21")), tp("fu1", 56, ld("L1", "25.2")))
    )
    assert row(recist, "fu1").category == "SD"
    assert row(one_target("21", "25.2"), "fu1").category == "PD"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("25.2", "SD"),  # +20.0 % but +4.2 mm < 5 mm
        ("26.0", "PD"),  # +23.8 % and +5.0 mm
    ],
)
def test_a_floor_can_be_set(value: str, expected: str) -> None:
    s = MrecistSettings(progression_floor_mm=Fraction(5))
    assert row(one_target("21", value, settings=s), "fu1").category == expected


def test_progression_is_measured_from_the_nadir_not_the_baseline() -> None:
    # 50 -> 30 (-40 %: PR) -> 36: +20.0 % over the nadir 30 (PD) although -28 % from the baseline.
    result = one_target("50", "30", "36")
    assert [r.category for r in result.time_points] == ["baseline", "PR", "PD"]
    assert row(result, "fu2").nadir_value == 30.0
    assert "over the nadir of 30.0 mm" in row(result, "fu2").rule


def test_enhancement_returning_after_complete_necrosis_is_progression() -> None:
    # 30 -> 0 (CR) -> 2: any growth from a nadir of 0 is an unbounded increase.
    result = one_target("30", "0", "2")
    assert [r.category for r in result.time_points] == ["baseline", "CR", "PD"]


# --- CR and the non-target enhancement rule ------------------------------------------------------


def _with_non_target(target_value: str, nt: LesionMeasurement | None, **kwargs: object) -> str:
    """L1 (viable 30 mm) target; P1 (8 mm, not measurable) a non-target; the fu1 category."""
    base = tp("base", 0, viable("L1", "30"), viable("P1", "5", long="8"))
    fu_ms = [viable("L1", target_value, long="40")] + ([nt] if nt is not None else [])
    fu = tp("fu1", 56, *fu_ms, **kwargs)  # type: ignore[arg-type]
    result = assess_mrecist(case([liver("L1"), liver("P1", "peritoneum")], base, fu))
    assert result.targets == ["L1"]
    assert result.non_targets == ["P1"]
    return row(result, "fu1").category


@pytest.mark.parametrize(
    ("target_value", "nt", "progression_called", "expected"),
    [
        # target CR (viable 0 while the lesion is still there) + non-target enhancement gone -> CR
        ("0", viable("P1", "0", long="8"), False, "CR"),
        ("0", gone("P1"), False, "CR"),
        # target CR + non-target IR/SD (persistent enhancement) -> PR
        ("0", viable("P1", "3", long="8"), False, "PR"),
        ("0", viable("P1", None, long="8"), False, "PR"),  # enhancement not recorded: not known gone
        ("0", small("P1"), False, "PR"),  # too small to tell
        # target CR + non-target not evaluated -> PR
        ("0", None, False, "PR"),
        # target PR (-33.3 %) + non-target CR or IR/SD -> PR
        ("20", viable("P1", "0", long="8"), False, "PR"),
        ("20", viable("P1", "3", long="8"), False, "PR"),
        # target SD (-10 %) + non-target IR/SD -> SD
        ("27", viable("P1", "3", long="8"), False, "SD"),
        # target PD (+20 %) whatever the non-target
        ("36", viable("P1", "0", long="8"), False, "PD"),
        # non-target PD (the reader's call) whatever the target
        ("0", viable("P1", "3", long="8"), True, "PD"),
    ],
)
def test_overall_response_table(
    target_value: str, nt: LesionMeasurement | None, progression_called: bool, expected: str
) -> None:
    kwargs = {"progression_called": progression_called}
    assert _with_non_target(target_value, nt, **kwargs) == expected


def test_target_not_evaluated_with_non_progressing_disease_is_ne() -> None:
    base = tp("base", 0, viable("L1", "30"), viable("P1", "5", long="8"))
    fu = tp("fu1", 56, viable("P1", "3", long="8"))
    r = row(assess_mrecist(case([liver("L1"), liver("P1", "peritoneum")], base, fu)), "fu1")
    assert (r.target, r.non_target, r.category) == ("NE", "non-CR/non-PD", "NE")
    assert "target L1 not evaluated" in r.rule


def test_a_new_lesion_is_progression_in_every_row() -> None:
    new = (NewLesionFinding("X1", Certainty.DEFINITE, long_mm=mm(12)),)
    assert _with_non_target("0", viable("P1", "0", long="8"), new_lesions=new) == "PD"


def test_cr_rule_names_the_missing_enhancement() -> None:
    r = row(one_target("30", "0"), "fu1")
    assert r.category == "CR"
    assert "no intratumoral arterial enhancement" in r.rule


# --- states, NE ------------------------------------------------------------------------------------


def test_too_small_counts_five_mm_disappeared_zero() -> None:
    lesions = [liver("L1"), liver("L2")]
    base = tp("base", 0, viable("L1", "20"), viable("L2", "20"))
    fu = tp("fu1", 56, small("L1"), gone("L2"))
    r = row(assess_mrecist(case(lesions, base, fu)), "fu1")
    # 5 + 0 = 5 mm against 40 mm: -87.5 %, PR (not CR: a lesion too small to measure is still there)
    assert r.value == 5.0
    assert r.category == "PR"


def test_a_coalesced_target_counts_zero_and_its_mass_is_measured_on_the_other() -> None:
    lesions = [liver("L1"), liver("L2")]
    base = tp("base", 0, viable("L1", "30"), viable("L2", "20"))
    fu = tp("fu1", 56, state("L1", LesionState.COALESCED, into="L2"), viable("L2", "40"))
    r = row(assess_mrecist(case(lesions, base, fu)), "fu1")
    assert r.value == 40.0  # 0 + 40 against 50: -20 %, SD
    assert r.category == "SD"


def test_present_without_viable_diameter_is_ne() -> None:
    result = assess_mrecist(
        case([liver("L1")], tp("base", 0, viable("L1", "30")), tp("fu1", 56, ld("L1", "30")))
    )
    r = row(result, "fu1")
    assert r.category == "NE"
    assert "viable_long_mm is not given" in r.rule


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("48", "PD"),  # L1 alone: 48 over the nadir 40 (20 + 20) is +20.0 %: PD although L2 is missing
        ("47.9", "NE"),  # +19.75 %: the missing L2 could change the outcome
    ],
)
def test_a_measured_subset_already_meeting_pd_is_pd(value: str, expected: str) -> None:
    lesions = [liver("L1"), liver("L2")]
    base = tp("base", 0, viable("L1", "20"), viable("L2", "20"))
    fu = tp("fu1", 56, viable("L1", value))
    assert row(assess_mrecist(case(lesions, base, fu)), "fu1").category == expected


# --- target eligibility ----------------------------------------------------------------------------


def test_eligibility_measurable_enhancing_not_a_node_not_treated() -> None:
    lesions = [
        liver("L1"),  # 10.0 mm, enhancing: a target
        liver("L2", "lung"),  # 9.9 mm: not measurable
        liver("L3", "bone", treated=True),  # treated before the baseline
        liver("L4", "adrenal"),  # no viable diameter recorded
        node("N1"),  # a node: followed as a non-target
    ]
    base = tp(
        "base",
        0,
        viable("L1", "8", long="10.0"),
        viable("L2", "8", long="9.9"),
        viable("L3", "20", long="30"),
        ld("L4", "30"),
        LesionMeasurement("N1", long_mm=mm(30), short_mm=mm(20), viable_long_mm=mm(10)),
    )
    result = assess_mrecist(case(lesions, base, tp("fu1", 56, viable("L1", "8", long="10"))))
    assert result.targets == ["L1"]
    assert set(result.non_targets) == {"L2", "L3", "L4", "N1"}
    assert "not given at the baseline" in result.target_selection


def test_targets_are_the_largest_viable_diameters_two_per_organ() -> None:
    lesions = [liver("L1"), liver("L2"), liver("L3")]
    # RECIST LDs would choose L1 and L2; the viable diameters choose L3 and L2.
    base = tp("base", 0, viable("L1", "10", long="60"), viable("L2", "30", long="50"), viable("L3", "40"))
    result = assess_mrecist(case(lesions, base, tp("fu1", 56)))
    assert result.targets == ["L3", "L2"]
    assert result.non_targets == ["L1"]


def test_atypical_target_is_measured_by_its_recist_diameter() -> None:
    # L1 shows no arterial enhancement: measured by its longest diameter, 30 -> 21 is -30.0 %: PR.
    base = tp("base", 0, viable("L1", "0", long="30"))
    fu = tp("fu1", 56, viable("L1", "0", long="21"))
    result = assess_mrecist(case([liver("L1")], base, fu))
    assert result.targets == ["L1"]
    assert row(result, "fu1").category == "PR"
    assert any("atypical" in n for n in result.notes)


def test_atypical_lesions_can_be_left_out() -> None:
    s = MrecistSettings(atypical_by_recist=False)
    base = tp("base", 0, viable("L1", "0", long="30"))
    fu = tp("fu1", 56, viable("L1", "0", long="21"))
    result = assess_mrecist(case([liver("L1")], base, fu), s)
    assert result.targets == []
    assert row(result, "fu1").category == "non-CR/non-PD"  # non-target disease only (Table 2)
    with pytest.raises(InputError, match="no arterial enhancement"):
        assess_mrecist(case([liver("L1")], base, fu, targets=("L1",)), s)


# --- new lesions -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("long", "certainty", "organ", "expected"),
    [
        ("10", Certainty.DEFINITE, "liver", "PD"),  # exactly 1 cm: counts
        ("9.9", Certainty.DEFINITE, "liver", "SD"),  # below 1 cm: not progression by mRECIST
        (None, Certainty.DEFINITE, "liver", "PD"),  # size unknown: counted as reported, with a note
        ("15", Certainty.EQUIVOCAL, "liver", "SD"),  # equivocal: never by itself
        ("5", Certainty.DEFINITE, "lung", "PD"),  # outside the liver: RECIST 1.1 (any definite lesion)
    ],
)
def test_new_lesions(long: str | None, certainty: Certainty, organ: str, expected: str) -> None:
    finding = NewLesionFinding("X1", certainty, organ=organ, long_mm=None if long is None else mm(long))
    base = tp("base", 0, viable("L1", "30"))
    fu = tp("fu1", 56, viable("L1", "30"), new_lesions=(finding,))
    r = row(assess_mrecist(case([liver("L1")], base, fu)), "fu1")
    assert r.category == expected
    if long is None:
        assert any("has no size" in n for n in r.notes)


def test_a_small_new_liver_lesion_counts_once_it_reaches_one_centimetre() -> None:
    base = tp("base", 0, viable("L1", "30"))
    fu1 = tp("fu1", 56, viable("L1", "30"), new_lesions=(NewLesionFinding("X1", long_mm=mm("8")),))
    fu2 = tp("fu2", 112, viable("L1", "30"), LesionMeasurement("X1", long_mm=mm("9.9")))
    fu3 = tp("fu3", 168, viable("L1", "30"), LesionMeasurement("X1", long_mm=mm("10")))
    result = assess_mrecist(case([liver("L1")], base, fu1, fu2, fu3))
    assert [r.category for r in result.time_points] == ["baseline", "SD", "SD", "PD"]
    assert "X1" in row(result, "fu3").rule
    assert result.progression_time_point == "fu3"


def test_an_equivocal_new_lesion_confirmed_later_dates_progression_back() -> None:
    base = tp("base", 0, viable("L1", "30"))
    finding = NewLesionFinding("X1", Certainty.EQUIVOCAL, long_mm=mm("12"))
    fu1 = tp("fu1", 56, viable("L1", "30"), new_lesions=(finding,))
    fu2 = tp("fu2", 112, viable("L1", "30"), LesionMeasurement("X1", long_mm=mm("14")))
    result = assess_mrecist(case([liver("L1")], base, fu1, fu2))
    assert row(result, "fu1").category == "PD"
    assert result.progression_time_point == "fu1"


# --- best overall response, settings ---------------------------------------------------------------


def test_best_overall_response_and_time_to_progression() -> None:
    # 50 -> 30 (-40 %, PR, day 56) -> 40 (+33.3 % over the nadir 30, PD, day 112)
    result = one_target("50", "30", "40")
    assert result.criterion == "mRECIST"
    assert "Lencioni" in result.source
    assert result.best_overall_response == "PR"
    assert result.time_to_progression_days == 112.0
    assert result.progression_time_point == "fu2"


def test_settings_text_and_overrides() -> None:
    text = MrecistSettings().settings_text()
    assert text["progression_floor_mm"] == "none"
    assert text["response"] == "≥ 30.0 % decrease from the baseline"
    assert text["progression"] == "≥ 20.0 % increase over the nadir"
    assert text["new_lesion_min_mm"] == "10"
    changed = override(MrecistSettings(), {"progression_floor_mm": "5", "atypical_by_recist": False}, "test")
    assert changed.progression_floor_mm == Fraction(5)
    assert changed.settings_text()["progression_floor_mm"] == "≥ 5"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"response_percent": Fraction(0)},
        {"max_targets": 0},
        {"progression_floor_mm": Fraction(-1)},
        {"atypical_by_recist": "yes"},
        {"too_small_mm": 5.0},
    ],
)
def test_bad_settings(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        MrecistSettings(**kwargs)  # type: ignore[arg-type]


# --- properties --------------------------------------------------------------------------------------


_STATES = st.sampled_from(["present", "present", "present", "gone", "small", "missing"])


@st.composite
def _course(draw: st.DrawFn) -> tuple[list[int], list[list[tuple[str, int]]]]:
    """Per target (one per organ) its baseline viable diameter and per follow-up (state, tenths)."""
    n = draw(st.integers(1, 4))
    baseline = [draw(st.integers(10, 500)) for _ in range(n)]
    k = draw(st.integers(1, 3))
    follow = [[(draw(_STATES), draw(st.integers(0, 900))) for _ in range(n)] for _ in range(k)]
    return baseline, follow


def _measurement(lid: str, st_: str, tenths: int) -> LesionMeasurement | None:
    if st_ == "missing":
        return None
    if st_ == "gone":
        return gone(lid)
    if st_ == "small":
        return small(lid)
    value = Fraction(tenths, 10)
    return LesionMeasurement(lid, long_mm=value + 100, viable_long_mm=value)


def _build(
    baseline: list[int],
    follow: list[list[tuple[str, int]]],
    new_at: int | None = None,
    new_mm: int | None = None,
) -> ResponseCase:
    lesions = [liver(f"T{i}", f"organ{i}") for i in range(len(baseline))]
    base = [
        LesionMeasurement(f"T{i}", long_mm=Fraction(v, 10) + 100, viable_long_mm=Fraction(v, 10))
        for i, v in enumerate(baseline)
    ]
    points: list[TimePoint] = [tp("base", 0, *base)]
    for j, fu in enumerate(follow):
        ms = [_measurement(f"T{i}", s, v) for i, (s, v) in enumerate(fu)]
        finding = NewLesionFinding("X", long_mm=None if new_mm is None else Fraction(new_mm, 10))
        points.append(
            tp(
                f"fu{j + 1}",
                56 * (j + 1),
                *(m for m in ms if m is not None),
                new_lesions=(finding,) if new_at == j else (),
            )
        )
    return case(lesions, *points)


@settings(max_examples=300, deadline=None)
@given(_course(), st.data())
def test_shrinking_every_lesion_never_worsens_the_category(
    course: tuple[list[int], list[list[tuple[str, int]]]], data: st.DataObject
) -> None:
    baseline, follow = course
    index = data.draw(st.integers(0, len(follow) - 1))
    factors = [data.draw(st.floats(0, 1)) for _ in baseline]
    shrunk = [list(fu) for fu in follow]
    shrunk[index] = [(s, int(v * f)) for (s, v), f in zip(follow[index], factors, strict=True)]
    before = row(assess_mrecist(_build(baseline, follow)), f"fu{index + 1}").category
    after = row(assess_mrecist(_build(baseline, shrunk)), f"fu{index + 1}").category
    assert _RANK[after] <= _RANK[before], (before, after)


@settings(max_examples=150, deadline=None)
@given(_course(), st.data())
def test_a_definite_new_lesion_of_one_centimetre_or_unknown_size_always_gives_pd(
    course: tuple[list[int], list[list[tuple[str, int]]]], data: st.DataObject
) -> None:
    baseline, follow = course
    index = data.draw(st.integers(0, len(follow) - 1))
    size = data.draw(st.one_of(st.none(), st.integers(100, 600)))
    result = assess_mrecist(_build(baseline, follow, new_at=index, new_mm=size))
    assert row(result, f"fu{index + 1}").category == "PD"


def _oracle(baseline: int, values: list[int]) -> list[str]:
    """mRECIST target categories in integer tenths of a millimetre (no floor)."""
    out = []
    nadir = baseline
    for v in values:
        if (nadir == 0 and v > 0) or (nadir > 0 and 5 * (v - nadir) >= nadir):  # ≥ 20 % over the nadir
            out.append("PD")
        elif v == 0:
            out.append("CR")
        elif 10 * (baseline - v) >= 3 * baseline:  # ≥ 30 % below the baseline
            out.append("PR")
        else:
            out.append("SD")
        nadir = min(nadir, v)
    return out


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(10, 500), min_size=1, max_size=4),
    st.lists(st.lists(st.integers(0, 700), min_size=4, max_size=4), min_size=1, max_size=4),
)
def test_target_category_matches_an_integer_oracle(baseline: list[int], follow: list[list[int]]) -> None:
    n = len(baseline)
    result = assess_mrecist(_build(baseline, [[("present", v) for v in values[:n]] for values in follow]))
    expected = _oracle(sum(baseline), [sum(values[:n]) for values in follow])
    assert [r.target for r in result.time_points[1:]] == expected
