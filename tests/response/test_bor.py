"""Best overall response with and without confirmation (RECIST 1.1 Table 3), time to progression."""

from __future__ import annotations

import pytest

from nelm.errors import ConfigError
from nelm.response.bor import BorSettings, best_overall_response, time_to_progression
from nelm.response.results import TimePointResponse


def _rows(*course: tuple[str, float]) -> list[TimePointResponse]:
    rows = [_row("baseline", 0.0, "baseline")]
    for i, (category, day) in enumerate(course, start=1):
        rows.append(_row(f"fu{i}", day, category))
    return rows


def _row(tp: str, day: float, category: str) -> TimePointResponse:
    return TimePointResponse(
        time_point=tp,
        date=f"day {day:g}",
        days_from_baseline=day,
        category=category,
        target=None,
        non_target=None,
        new_lesions="none",
        measure="sum",
        unit="mm",
        value=None,
        baseline_value=None,
        nadir_value=None,
        nadir_time_point=None,
        change_from_baseline_percent=None,
        change_from_nadir_percent=None,
        change_from_nadir_absolute=None,
        rule="",
        notes=[],
    )


NO_CONFIRM = BorSettings()
CONFIRM = BorSettings(confirmation=True, min_confirmation_days=28, sd_min_days=42, max_ne_between=1)


@pytest.mark.parametrize(
    ("course", "expected"),
    [
        ((("PR", 60), ("CR", 120)), "CR"),
        ((("SD", 60), ("PR", 120), ("PD", 180)), "PR"),
        ((("SD", 60), ("PD", 120)), "SD"),
        ((("SD", 30), ("PD", 60)), "PD"),  # SD before the 42-day minimum does not count
        ((("SD", 30), ("NE", 60)), "NE"),
        ((("PD", 30), ("CR", 60)), "PD"),  # nothing after progression counts
        ((("NE", 60),), "NE"),
        ((("non-CR/non-PD", 60),), "non-CR/non-PD"),
        ((("SD", 42),), "SD"),  # exactly the minimum counts
        ((("SD", 41),), "NE"),
    ],
)
def test_without_confirmation(course: tuple[tuple[str, float], ...], expected: str) -> None:
    assert best_overall_response(_rows(*course), NO_CONFIRM)[0] == expected


# RECIST 1.1 Table 3 (first → second time point), confirmation required; second 4+ weeks later.
@pytest.mark.parametrize(
    ("first", "second", "sd_met", "expected"),
    [
        ("CR", "CR", True, "CR"),
        ("CR", "PR", True, "PR"),  # the Table 3 note's "PR" option (a true CR would make this PD upstream)
        ("CR", "SD", True, "SD"),
        ("CR", "SD", False, "PD"),  # then PD follows in this course
        ("CR", "PD", True, "SD"),
        ("CR", "PD", False, "PD"),
        ("CR", "NE", True, "SD"),
        ("CR", "NE", False, "NE"),
        ("PR", "CR", True, "PR"),
        ("PR", "PR", True, "PR"),
        ("PR", "SD", True, "SD"),
        ("PR", "PD", True, "SD"),
        ("PR", "PD", False, "PD"),
        ("PR", "NE", True, "SD"),
        ("PR", "NE", False, "NE"),
        ("NE", "NE", True, "NE"),
    ],
)
def test_confirmation_table(first: str, second: str, sd_met: bool, expected: str) -> None:
    day1 = 56.0 if sd_met else 7.0  # not met: both scans before day 42
    course = [(first, day1), (second, day1 + 30.0)]
    if expected == "PD" and second not in ("PD",):
        course.append(("PD", day1 + 70.0))
    bor, rule = best_overall_response(_rows(*course), CONFIRM)
    assert bor == expected, rule


def test_confirmation_interval_and_ne_tolerance() -> None:
    # the confirming scan must be ≥ 28 days later: 27 days is too early, 28 is enough
    assert best_overall_response(_rows(("PR", 60), ("PR", 87)), CONFIRM)[0] == "SD"
    assert best_overall_response(_rows(("PR", 60), ("PR", 88)), CONFIRM)[0] == "PR"
    # the early PR may be confirmed by a later scan past an NE (at most one NE in between)
    assert best_overall_response(_rows(("PR", 60), ("PR", 70), ("PR", 100)), CONFIRM)[0] == "PR"
    assert best_overall_response(_rows(("PR", 60), ("NE", 80), ("PR", 100)), CONFIRM)[0] == "PR"
    two_ne = _rows(("PR", 60), ("NE", 80), ("NE", 90), ("PR", 100))
    assert best_overall_response(two_ne, CONFIRM)[0] == "SD"
    relaxed = BorSettings(confirmation=True, max_ne_between=2)
    assert best_overall_response(two_ne, relaxed)[0] == "PR"
    # an SD in between breaks the confirmation
    assert best_overall_response(_rows(("PR", 60), ("SD", 80), ("PR", 100)), CONFIRM)[0] == "SD"


def test_rule_text_and_aliases() -> None:
    bor, rule = best_overall_response(_rows(("PR", 60), ("PR", 100)), CONFIRM)
    assert bor == "PR"
    assert "confirmed by PR at fu2" in rule
    assert "40 days later" in rule
    aliases = {"CMR": "CR", "PMR": "PR", "SMD": "SD", "PMD": "PD"}
    rows = _rows(("SMD", 60), ("PMR", 100), ("PMD", 150))
    assert best_overall_response(rows, NO_CONFIRM, aliases=aliases)[0] == "PMR"
    assert time_to_progression(rows, aliases=aliases) == ("fu3", 150.0)
    with pytest.raises(ConfigError, match="no best-overall-response rank"):
        best_overall_response(rows, NO_CONFIRM)


def test_time_to_progression() -> None:
    assert time_to_progression(_rows(("SD", 60), ("PD", 120), ("PD", 180))) == ("fu2", 120.0)
    assert time_to_progression(_rows(("SD", 60))) == (None, None)
    assert best_overall_response(_rows(), NO_CONFIRM)[0] == "NE"


@pytest.mark.parametrize("name", ["min_confirmation_days", "sd_min_days", "max_ne_between"])
def test_settings_validate(name: str) -> None:
    with pytest.raises(ConfigError, match=name):
        BorSettings(**{name: -1})  # type: ignore[arg-type]
    assert BorSettings().settings_text()["bor_confirmation"] == "not required"
