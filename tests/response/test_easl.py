"""EASL (Bruix 2001; Riaz 2011 Table 1): sum of enhancing areas, ≥ 50 % PR, > 25 % PD (a setting).

Every expected category is derived in the test from the published rule: CR 100 % decrease (no
enhancing tissue), PR ≥ 50 % decrease from the baseline, PD > 25 % increase over the nadir
(≥ 25 % with ``progression_inclusive``), SD otherwise; new lesions are PD.
"""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_recist_helpers import case, gone, ld, liver, mm, new, node, row, small, tp

from nelm.errors import ConfigError, InputError
from nelm.response.easl import EaslSettings, assess_easl
from nelm.response.model import LesionMeasurement, ResponseCase, TimePoint
from nelm.response.results import CriterionResult
from nelm.response.settings import override

_RANK = {"CR": 0, "PR": 1, "SD": 2, "non-CR/non-PD": 2, "NE": 3, "PD": 4}


def area(lid: str, value: str | int | None, long: str | int = 50) -> LesionMeasurement:
    """A present lesion: longest diameter ``long`` mm and enhancing area ``value`` mm²."""
    return LesionMeasurement(lid, long_mm=mm(long), enhancing_area_mm2=None if value is None else mm(value))


def one_target(*values: str, settings: EaslSettings | None = None) -> CriterionResult:
    """One enhancing liver target L1 with the given enhancing areas at baseline, fu1, fu2 …"""
    points = [tp("base", 0, area("L1", values[0]))]
    points += [tp(f"fu{i}", i * 56, area("L1", v)) for i, v in enumerate(values[1:], start=1)]
    return assess_easl(case([liver("L1")], *points), settings)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("200", "PR"),  # 400 -> 200: -50.0 % exactly; PR needs ≥ 50 % decrease
        ("200.4", "SD"),  # -49.9 %
        ("199.6", "PR"),  # -50.1 %
        ("0", "CR"),  # -100 %: no enhancing tissue
    ],
)
def test_response_thresholds(value: str, expected: str) -> None:
    r = row(one_target("400", value), "fu1")
    assert (r.target, r.category) == (expected, expected)


@pytest.mark.parametrize(
    ("value", "inclusive", "expected"),
    [
        ("500", False, "SD"),  # +25.0 % exactly: not more than 25 % (default, Riaz "> 25 %")
        ("500", True, "PD"),  # +25.0 % with the inclusive reading (≥ 25 %)
        ("500.04", False, "PD"),  # +25.01 %
        ("499.96", True, "SD"),  # +24.99 %
    ],
)
def test_progression_boundary_and_its_inclusiveness(value: str, inclusive: bool, expected: str) -> None:
    s = EaslSettings(progression_inclusive=inclusive)
    assert row(one_target("400", value, settings=s), "fu1").category == expected


def test_progression_is_measured_from_the_nadir() -> None:
    # 400 -> 200 (PR) -> 250.04: +25.02 % over the nadir 200 (PD) though -37.5 % from the baseline
    result = one_target("400", "200", "250.04")
    assert [r.category for r in result.time_points] == ["baseline", "PR", "PD"]
    assert row(result, "fu2").nadir_value == 200.0


def test_float_trap_at_the_boundary() -> None:
    # 21 -> 26.25 mm² is +25 % exactly (in floats 100 * (26.25 - 21) / 21 = 25.000000000000004):
    # SD by default (> 25 % needed), PD with ≥ 25 %.
    assert row(one_target("21", "26.25"), "fu1").category == "SD"
    assert (
        row(one_target("21", "26.25", settings=EaslSettings(progression_inclusive=True)), "fu1").category
        == "PD"
    )


def test_too_small_counts_25_mm2() -> None:
    result = assess_easl(case([liver("L1")], tp("base", 0, area("L1", "100")), tp("fu1", 56, small("L1"))))
    r = row(result, "fu1")
    assert r.value == 25.0  # 5 mm × 5 mm; -75 % from 100 mm²: PR
    assert r.category == "PR"


def test_selection_enhancing_measurable_largest_area_first() -> None:
    lesions = [liver("L1"), liver("L2"), liver("L3"), liver("L4", "lung"), liver("L5", "bone"), node("N1")]
    base = tp(
        "base",
        0,
        area("L1", "100", long="60"),  # enhancing, but the smallest area in the liver: a non-target
        area("L2", "300"),
        area("L3", "200"),
        area("L4", "0"),  # not enhancing: nothing to measure, a non-target
        area("L5", "80", long="9.9"),  # not measurable
        LesionMeasurement("N1", long_mm=mm(30), short_mm=mm(20), enhancing_area_mm2=mm(100)),
    )
    result = assess_easl(case(lesions, base, tp("fu1", 56)))
    assert result.targets == ["L2", "L3"]
    assert set(result.non_targets) == {"L1", "L4", "L5", "N1"}


def test_a_reader_target_without_enhancement_is_refused() -> None:
    c = case([liver("L1")], tp("base", 0, area("L1", "0")), tp("fu1", 56), targets=("L1",))
    with pytest.raises(InputError, match="no arterial enhancement"):
        assess_easl(c)


@pytest.mark.parametrize(
    ("target_value", "nt", "expected"),
    [
        ("0", area("P1", "0", long="8"), "CR"),  # target CR, non-target enhancement gone
        ("0", gone("P1"), "CR"),
        ("0", area("P1", "10", long="8"), "PR"),  # target CR, non-target still enhancing
        ("0", None, "PR"),  # target CR, non-target not evaluated
        ("150", area("P1", "10", long="8"), "PR"),  # -50 %
        ("250", area("P1", "10", long="8"), "SD"),  # -16.7 %
        ("375.04", area("P1", "0", long="8"), "PD"),  # +25.01 % over the nadir 300
    ],
)
def test_overall_response_table(target_value: str, nt: LesionMeasurement | None, expected: str) -> None:
    base = tp("base", 0, area("L1", "300"), area("P1", "20", long="8"))
    fu = tp("fu1", 56, area("L1", target_value), *([nt] if nt is not None else []))
    result = assess_easl(case([liver("L1"), liver("P1", "peritoneum")], base, fu))
    assert result.non_targets == ["P1"]
    assert row(result, "fu1").category == expected


def test_a_non_target_that_never_enhanced_must_disappear() -> None:
    base = tp("base", 0, area("L1", "300"), area("P1", "0", long="8"))
    fu = tp("fu1", 56, area("L1", "0"), area("P1", "0", long="8"))
    r = row(assess_easl(case([liver("L1"), liver("P1", "peritoneum")], base, fu)), "fu1")
    assert (r.non_target, r.category) == ("non-CR/non-PD", "PR")


@pytest.mark.parametrize(
    ("finding", "expected"),
    [(new("X1"), "PD"), (new("X1", equivocal=True), "SD")],
)
def test_new_lesions(finding: object, expected: str) -> None:
    base = tp("base", 0, area("L1", "300"))
    fu = tp("fu1", 56, area("L1", "300"), new_lesions=(finding,))  # type: ignore[arg-type]
    assert row(assess_easl(case([liver("L1")], base, fu)), "fu1").category == expected


def test_missing_area_is_ne_and_a_measured_subset_meeting_pd_is_pd() -> None:
    lesions = [liver("L1"), liver("L2")]
    base = tp("base", 0, area("L1", "100"), area("L2", "100"))
    ne = assess_easl(case(lesions, base, tp("fu1", 56, area("L1", "100"), ld("L2", "50"))))
    assert row(ne, "fu1").category == "NE"
    assert "enhancing_area_mm2 is not given" in row(ne, "fu1").rule
    # L1 alone: 250.01 > 1.25 × 200 = 250, so PD although L2 was not evaluated
    pd = assess_easl(case(lesions, base, tp("fu1", 56, area("L1", "250.01"))))
    assert row(pd, "fu1").category == "PD"


def test_result_fields_bor_and_settings() -> None:
    result = one_target("400", "150", "300")  # -62.5 % PR, then +100 % over the nadir 150: PD
    assert result.criterion == "EASL"
    assert "Bruix" in result.source
    assert result.best_overall_response == "PR"
    assert result.progression_time_point == "fu2"
    assert result.time_to_progression_days == 112.0
    assert result.settings["progression"] == "> 25.0 % increase over the nadir"
    assert result.settings["progression_inclusive"] == "false"
    assert override(EaslSettings(), {"progression_inclusive": True}, "t").settings_text()["progression"] == (
        "≥ 25.0 % increase over the nadir"
    )
    with pytest.raises(ConfigError):
        EaslSettings(response_percent=Fraction(-50))
    with pytest.raises(ConfigError):
        EaslSettings(progression_inclusive="no")  # type: ignore[arg-type]


# --- properties --------------------------------------------------------------------------------------


_STATES = st.sampled_from(["present", "present", "present", "gone", "small", "missing"])


def _measurement(lid: str, st_: str, hundredths: int) -> LesionMeasurement | None:
    if st_ == "missing":
        return None
    if st_ == "gone":
        return gone(lid)
    if st_ == "small":
        return small(lid)
    return LesionMeasurement(lid, long_mm=mm(50), enhancing_area_mm2=Fraction(hundredths, 100))


def _build(
    baseline: list[int], follow: list[list[tuple[str, int]]], new_at: int | None = None
) -> ResponseCase:
    lesions = [liver(f"T{i}", f"organ{i}") for i in range(len(baseline))]
    base = [
        LesionMeasurement(f"T{i}", long_mm=mm(50), enhancing_area_mm2=Fraction(v, 100))
        for i, v in enumerate(baseline)
    ]
    points: list[TimePoint] = [tp("base", 0, *base)]
    for j, fu in enumerate(follow):
        ms = [_measurement(f"T{i}", s, v) for i, (s, v) in enumerate(fu)]
        points.append(
            tp(
                f"fu{j + 1}",
                56 * (j + 1),
                *(m for m in ms if m is not None),
                new_lesions=(new("X"),) if new_at == j else (),
            )
        )
    return case(lesions, *points)


@st.composite
def _course(draw: st.DrawFn) -> tuple[list[int], list[list[tuple[str, int]]]]:
    n = draw(st.integers(1, 4))
    baseline = [draw(st.integers(1, 200_000)) for _ in range(n)]
    k = draw(st.integers(1, 3))
    follow = [[(draw(_STATES), draw(st.integers(0, 300_000))) for _ in range(n)] for _ in range(k)]
    return baseline, follow


@settings(max_examples=300, deadline=None)
@given(_course(), st.booleans(), st.data())
def test_shrinking_every_lesion_never_worsens_the_category(
    course: tuple[list[int], list[list[tuple[str, int]]]], inclusive: bool, data: st.DataObject
) -> None:
    baseline, follow = course
    s = EaslSettings(progression_inclusive=inclusive)
    index = data.draw(st.integers(0, len(follow) - 1))
    factors = [data.draw(st.floats(0, 1)) for _ in baseline]
    shrunk = [list(fu) for fu in follow]
    shrunk[index] = [(st_, int(v * f)) for (st_, v), f in zip(follow[index], factors, strict=True)]
    before = row(assess_easl(_build(baseline, follow), s), f"fu{index + 1}").category
    after = row(assess_easl(_build(baseline, shrunk), s), f"fu{index + 1}").category
    assert _RANK[after] <= _RANK[before], (before, after)


@settings(max_examples=150, deadline=None)
@given(_course(), st.data())
def test_a_definite_new_lesion_always_gives_pd(
    course: tuple[list[int], list[list[tuple[str, int]]]], data: st.DataObject
) -> None:
    baseline, follow = course
    index = data.draw(st.integers(0, len(follow) - 1))
    assert row(assess_easl(_build(baseline, follow, new_at=index)), f"fu{index + 1}").category == "PD"


def _oracle(baseline: int, values: list[int], inclusive: bool) -> list[str]:
    """EASL target categories in integer hundredths of a mm² (25 % PD, 50 % PR)."""
    out = []
    nadir = baseline
    for v in values:
        rise = 4 * (v - nadir)  # compare 100·(v − nadir)/nadir with 25, i.e. 4·(v − nadir) with nadir
        if (nadir == 0 and v > 0) or (nadir > 0 and (rise >= nadir if inclusive else rise > nadir)):
            out.append("PD")
        elif v == 0:
            out.append("CR")
        elif 2 * (baseline - v) >= baseline:
            out.append("PR")
        else:
            out.append("SD")
        nadir = min(nadir, v)
    return out


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(1, 100_000), min_size=1, max_size=4),
    st.lists(st.lists(st.integers(0, 150_000), min_size=4, max_size=4), min_size=1, max_size=4),
    st.booleans(),
)
def test_target_category_matches_an_integer_oracle(
    baseline: list[int], follow: list[list[int]], inclusive: bool
) -> None:
    n = len(baseline)
    s = EaslSettings(progression_inclusive=inclusive)
    result = assess_easl(_build(baseline, [[("present", v) for v in values[:n]] for values in follow]), s)
    expected = _oracle(sum(baseline), [sum(values[:n]) for values in follow], inclusive)
    assert [r.target for r in result.time_points[1:]] == expected
