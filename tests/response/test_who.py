"""WHO (Miller 1981): sum of products of all measurable lesions, ≥ 50 % PR, 25 % PD by sum or per lesion.

Every expected category is derived in the test from the published rule: each lesion's product is
its longest diameter × the greatest perpendicular diameter; PR ≥ 50 % decrease of the sum from the
baseline; PD a 25 % increase (of the sum, or of any one lesion) over the nadir; CR and PR need
confirmation at ≥ 4 weeks for the best overall response.
"""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_recist_helpers import case, gone, ld, liver, mm, new, node, row, small, tp

from nelm.errors import ConfigError
from nelm.response.bor import BorSettings
from nelm.response.model import LesionMeasurement, ResponseCase, TimePoint
from nelm.response.results import CriterionResult
from nelm.response.settings import override
from nelm.response.who import WhoSettings, assess_who

_RANK = {"CR": 0, "PR": 1, "SD": 2, "non-CR/non-PD": 2, "NE": 3, "PD": 4}


def bi(lid: str, long: str | int, short: str | int) -> LesionMeasurement:
    """A present lesion measured in two dimensions (mm)."""
    return LesionMeasurement(lid, long_mm=mm(long), short_mm=mm(short))


def one_lesion(
    *dims: tuple[str, str], settings: WhoSettings | None = None, step: int = 56
) -> CriterionResult:
    points = [tp("base", 0, bi("L1", *dims[0]))]
    points += [tp(f"fu{i}", i * step, bi("L1", *d)) for i, d in enumerate(dims[1:], start=1)]
    return assess_who(case([liver("L1")], *points), settings)


@pytest.mark.parametrize(
    ("dims", "expected"),
    [
        (("25", "20"), "PR"),  # 40 × 25 = 1000 -> 25 × 20 = 500: -50.0 % exactly
        (("30", "16.7"), "SD"),  # 501: -49.9 %
        (("22.5", "22.2"), "PR"),  # 499.5: -50.05 %
    ],
)
def test_partial_response_threshold(dims: tuple[str, str], expected: str) -> None:
    assert row(one_lesion(("40", "25"), dims), "fu1").category == expected


@pytest.mark.parametrize(
    ("dims", "inclusive", "expected"),
    [
        (("50", "25"), True, "PD"),  # 1250: +25.0 % exactly, "an increase of 25 %" (≥, default)
        (("50", "25"), False, "SD"),  # the exclusive reading
        (("45.4", "27.5"), True, "SD"),  # 1248.5: +24.85 %
        (("50.1", "25"), False, "PD"),  # 1252.5: +25.25 %
    ],
)
def test_progression_threshold_and_inclusiveness(
    dims: tuple[str, str], inclusive: bool, expected: str
) -> None:
    s = WhoSettings(progression_inclusive=inclusive)
    assert row(one_lesion(("40", "25"), dims, settings=s), "fu1").category == expected


def _two_lesions(l1: tuple[str, str], mode: str) -> str:
    """L1 20 × 20 = 400 and L2 40 × 40 = 1600 (sum 2000); at fu1 L1 changes, L2 does not."""
    base = tp("base", 0, bi("L1", "20", "20"), bi("L2", "40", "40"))
    fu = tp("fu1", 56, bi("L1", *l1), bi("L2", "40", "40"))
    s = WhoSettings(progression_mode=mode)  # type: ignore[arg-type]
    return row(assess_who(case([liver("L1"), liver("L2")], base, fu), s), "fu1").category


@pytest.mark.parametrize(
    ("l1", "mode", "expected"),
    [
        (("25", "20"), "sum", "SD"),  # sum 2100: +5 %
        (("25", "20"), "per_lesion", "PD"),  # L1 500: +25.0 % over its own nadir 400
        (("24.9", "20"), "per_lesion", "SD"),  # L1 498: +24.5 %
    ],
)
def test_per_lesion_versus_sum_progression(l1: tuple[str, str], mode: str, expected: str) -> None:
    assert _two_lesions(l1, mode) == expected


def test_per_lesion_rule_names_the_lesion() -> None:
    base = tp("base", 0, bi("L1", "20", "20"), bi("L2", "40", "40"))
    fu = tp("fu1", 56, bi("L1", "25", "20"), bi("L2", "40", "40"))
    result = assess_who(
        case([liver("L1"), liver("L2")], base, fu), WhoSettings(progression_mode="per_lesion")
    )
    rule = row(result, "fu1").rule
    assert "product of L1 500.00 mm² is +25.0 %" in rule
    assert result.settings["progression_mode"] == "per_lesion"


def test_per_lesion_reappearance_from_zero_is_progression() -> None:
    # L1 gone at fu1 (its nadir 0) and back at 5 × 5 = 25 mm² at fu2; the sum rises only 1.6 %.
    base = tp("base", 0, bi("L1", "20", "20"), bi("L2", "40", "40"))
    fu1 = tp("fu1", 56, gone("L1"), bi("L2", "40", "40"))
    fu2 = tp("fu2", 112, bi("L1", "5", "5"), bi("L2", "40", "40"))
    c = case([liver("L1"), liver("L2")], base, fu1, fu2)
    assert row(assess_who(c), "fu2").category == "SD"
    assert row(assess_who(c, WhoSettings(progression_mode="per_lesion")), "fu2").category == "PD"


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("nadir", "PD"),  # 1000 -> 500 -> 650: +30 % over the nadir 500
        ("baseline", "SD"),  # -35 % from the baseline: neither PR (-50 %) nor a 25 % rise over 1000
    ],
)
def test_progression_reference(reference: str, expected: str) -> None:
    s = WhoSettings(progression_reference=reference)  # type: ignore[arg-type]
    result = one_lesion(("40", "25"), ("25", "20"), ("26", "25"), settings=s)
    r = row(result, "fu2")
    assert r.category == expected
    if reference == "baseline":
        assert r.nadir_value == 1000.0
        assert "the baseline of 1000.00 mm²" in r.rule


def test_baseline_reference_per_lesion() -> None:
    # L1 400 -> 200 -> 260: +30 % over its nadir, -35 % from its baseline
    base = tp("base", 0, bi("L1", "20", "20"), bi("L2", "40", "40"))
    fu1 = tp("fu1", 56, bi("L1", "20", "10"), bi("L2", "40", "40"))
    fu2 = tp("fu2", 112, bi("L1", "26", "10"), bi("L2", "40", "40"))
    c = case([liver("L1"), liver("L2")], base, fu1, fu2)
    nadir = WhoSettings(progression_mode="per_lesion")
    baseline = WhoSettings(progression_mode="per_lesion", progression_reference="baseline")
    assert row(assess_who(c, nadir), "fu2").category == "PD"
    assert row(assess_who(c, baseline), "fu2").category == "SD"


def test_every_measurable_lesion_is_measured() -> None:
    lesions = [liver(f"L{i}") for i in range(1, 8)] + [liver("P1", "peritoneum"), node("N1")]
    base = tp(
        "base",
        0,
        *(bi(f"L{i}", "20", "10") for i in range(1, 8)),
        ld("P1", "30"),  # one diameter only: not measurable in two dimensions
        bi("N1", "12", "8"),  # a node (WHO has no normal-node rule)
    )
    c = case(lesions, base, tp("fu1", 56), targets=("L1",))
    result = assess_who(c)
    assert sorted(result.targets) == sorted([f"L{i}" for i in range(1, 8)] + ["N1"])
    assert result.non_targets == ["P1"]
    assert row(result, "fu1").baseline_value == 7 * 200 + 96  # 7 × 20 × 10 + 12 × 8
    assert any("reader's targets" in n for n in result.notes)
    limited = assess_who(c, WhoSettings(max_targets=5, max_per_organ=2))
    assert limited.targets == ["L1"]  # with limits, the reader's targets are used


def test_complete_response_and_its_confirmation() -> None:
    base = tp("base", 0, bi("L1", "40", "25"), ld("P1", "8"))
    fu1 = tp("fu1", 56, gone("L1"), gone("P1"))
    fu2 = tp("fu2", 84, gone("L1"), gone("P1"))  # 28 days later: confirmed
    c = case([liver("L1"), liver("P1", "peritoneum")], base, fu1, fu2)
    result = assess_who(c)
    assert [r.category for r in result.time_points] == ["baseline", "CR", "CR"]
    assert result.best_overall_response == "CR"
    assert result.settings["bor_confirmation"] == "required"


def test_an_unconfirmed_partial_response_is_stable_disease() -> None:
    # 1000 -> 500 (PR, day 56) -> 600 (-40 % from the baseline, +20 % over the nadir: SD): PR not confirmed
    result = one_lesion(("40", "25"), ("25", "20"), ("30", "20"))
    assert [r.category for r in result.time_points] == ["baseline", "PR", "SD"]
    assert result.best_overall_response == "SD"
    no_confirmation = one_lesion(
        ("40", "25"), ("25", "20"), ("30", "20"), settings=WhoSettings(bor=BorSettings())
    )
    assert no_confirmation.best_overall_response == "PR"


def test_target_cr_with_non_measurable_disease_left_is_pr() -> None:
    base = tp("base", 0, bi("L1", "40", "25"), ld("P1", "8"))
    fu = tp("fu1", 56, gone("L1"), ld("P1", "8"))
    assert row(assess_who(case([liver("L1"), liver("P1", "peritoneum")], base, fu)), "fu1").category == "PR"


def test_too_small_counts_25_mm2_and_missing_values_are_ne() -> None:
    assert (
        row(
            assess_who(case([liver("L1")], tp("b", 0, bi("L1", "20", "10")), tp("f", 56, small("L1")))), "f"
        ).value
        == 25.0
    )
    ne = assess_who(case([liver("L1")], tp("b", 0, bi("L1", "20", "10")), tp("f", 56, ld("L1", "20"))))
    assert row(ne, "f").category == "NE"
    assert "long_mm × short_mm is not given" in row(ne, "f").rule


@pytest.mark.parametrize(("mode", "expected"), [("sum", "NE"), ("per_lesion", "PD")])
def test_one_lesion_missing(mode: str, expected: str) -> None:
    # L1 400 -> 500 (+25 %), L2 (1600) not evaluated; the subset 500 does not reach 1.25 × 2000
    base = tp("base", 0, bi("L1", "20", "20"), bi("L2", "40", "40"))
    fu = tp("fu1", 56, bi("L1", "25", "20"))
    s = WhoSettings(progression_mode=mode)  # type: ignore[arg-type]
    assert row(assess_who(case([liver("L1"), liver("L2")], base, fu), s), "fu1").category == expected


def test_new_lesion_is_progression() -> None:
    base = tp("base", 0, bi("L1", "40", "25"))
    fu = tp("fu1", 56, bi("L1", "25", "20"), new_lesions=(new("X1"),))
    result = assess_who(case([liver("L1")], base, fu))
    assert row(result, "fu1").category == "PD"
    assert result.criterion == "WHO"
    assert "Miller" in result.source


def test_settings() -> None:
    text = WhoSettings().settings_text()
    assert text["progression"] == "≥ 25.0 % increase of the sum of products over the nadir"
    assert text["max_targets"] == "no limit"
    per = override(WhoSettings(), {"progression_mode": "per_lesion"}, "t")
    assert per.progression_mode == "per_lesion"
    with pytest.raises(ConfigError):
        override(WhoSettings(), {"progression_mode": "lesion"}, "t")
    with pytest.raises(ConfigError):
        WhoSettings(progression_reference="maximum")  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        WhoSettings(max_targets=5)
    with pytest.raises(ConfigError):
        WhoSettings(progression_percent=Fraction(0))


# --- properties --------------------------------------------------------------------------------------


_STATES = st.sampled_from(["present", "present", "present", "gone", "small", "missing"])
_Course = tuple[list[tuple[int, int]], list[list[tuple[str, int, int]]]]


def _m(lid: str, st_: str, long: int, short: int) -> LesionMeasurement | None:
    if st_ == "missing":
        return None
    if st_ == "gone":
        return gone(lid)
    if st_ == "small":
        return small(lid)
    return LesionMeasurement(
        lid, long_mm=Fraction(max(long, short), 10), short_mm=Fraction(min(long, short), 10)
    )


def _build(course: _Course, new_at: int | None = None) -> ResponseCase:
    baseline, follow = course
    lesions = [liver(f"T{i}") for i in range(len(baseline))]
    base = [_m(f"T{i}", "present", a, b) for i, (a, b) in enumerate(baseline)]
    points: list[TimePoint] = [tp("base", 0, *(m for m in base if m is not None))]
    for j, fu in enumerate(follow):
        ms = [_m(f"T{i}", s, a, b) for i, (s, a, b) in enumerate(fu)]
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
def _course(draw: st.DrawFn) -> _Course:
    n = draw(st.integers(1, 6))
    baseline = [(draw(st.integers(1, 800)), draw(st.integers(1, 800))) for _ in range(n)]
    k = draw(st.integers(1, 3))
    follow = [
        [(draw(_STATES), draw(st.integers(0, 1000)), draw(st.integers(0, 1000))) for _ in range(n)]
        for _ in range(k)
    ]
    return baseline, follow


_SETTINGS = st.builds(
    WhoSettings,
    progression_mode=st.sampled_from(["sum", "per_lesion"]),
    progression_reference=st.sampled_from(["nadir", "baseline"]),
    progression_inclusive=st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(_course(), _SETTINGS, st.data())
def test_shrinking_every_lesion_never_worsens_the_category(
    course: _Course, s: WhoSettings, data: st.DataObject
) -> None:
    baseline, follow = course
    index = data.draw(st.integers(0, len(follow) - 1))
    factors = [data.draw(st.floats(0, 1)) for _ in baseline]
    shrunk = [list(fu) for fu in follow]
    shrunk[index] = [
        (st_, int(a * f), int(b * f)) for (st_, a, b), f in zip(follow[index], factors, strict=True)
    ]
    before = row(assess_who(_build(course), s), f"fu{index + 1}").category
    after = row(assess_who(_build((baseline, shrunk)), s), f"fu{index + 1}").category
    assert _RANK[after] <= _RANK[before], (before, after)


@settings(max_examples=150, deadline=None)
@given(_course(), _SETTINGS, st.data())
def test_a_definite_new_lesion_always_gives_pd(course: _Course, s: WhoSettings, data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(course[1]) - 1))
    assert row(assess_who(_build(course, new_at=index), s), f"fu{index + 1}").category == "PD"


@settings(max_examples=200, deadline=None)
@given(_course())
def test_per_lesion_progression_includes_sum_progression(course: _Course) -> None:
    # Every sum progression is a per-lesion progression too (the sum can only rise 25 % if a lesion does).
    by_sum = assess_who(_build(course))
    by_lesion = assess_who(_build(course), WhoSettings(progression_mode="per_lesion"))
    for a, b in zip(by_sum.time_points[1:], by_lesion.time_points[1:], strict=True):
        if a.target == "PD":
            assert b.target == "PD"
