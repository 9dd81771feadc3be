"""Criterion settings from a file: nested overrides, exact numbers, clear errors."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from nelm.errors import ConfigError
from nelm.response.bor import BorSettings
from nelm.response.exact import Direction
from nelm.response.recist_targets import RecistSettings
from nelm.response.settings import load_settings_file, override


def test_nested_override_keeps_other_fields() -> None:
    base = RecistSettings()
    s = override(
        base,
        {"too_small_mm": "4.5", "bor": {"confirmation": True}, "thresholds": {"response": {"percent": 0.3}}},
        "t.yaml: recist",
    )
    assert s.too_small_mm == Fraction(9, 2)
    assert s.bor == BorSettings(confirmation=True)
    assert s.thresholds.response.fraction == Fraction(3, 10)  # a float is read through its decimal form
    assert s.thresholds.response.direction is Direction.DECREASE
    assert s.thresholds.progression == base.thresholds.progression
    assert s.min_measurable_mm == base.min_measurable_mm


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"too_small": "5"}, r"t.yaml: recist: unknown setting\(s\) too_small"),
        ({"too_small_mm": "five"}, "recist.too_small_mm: cannot read 'five'"),
        ({"too_small_mm": True}, "recist.too_small_mm: expected a number"),
        ({"max_targets": "5"}, "recist.max_targets: expected a whole number"),
        ({"reappearance_after_cr_is_pd": "yes"}, "expected true or false"),
        ({"bor": {"sd_min_days": -1}}, "sd_min_days"),
        ({"bor": 3}, "recist.bor: expected a mapping"),
        ({"thresholds": {"response": {"direction": "sideways"}}}, "direction: expected one of"),
    ],
)
def test_bad_values_name_the_field(values: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        override(RecistSettings(), values, "t.yaml: recist")


def test_settings_file(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("recist:\n  too_small_mm: '5'\nwho: {}\n")
    assert load_settings_file(path) == {"recist": {"too_small_mm": "5"}, "who": {}}
    json_path = tmp_path / "t.json"
    json_path.write_text('{"recist": {"max_targets": 3}}')
    assert load_settings_file(json_path) == {"recist": {"max_targets": 3}}
    empty = tmp_path / "e.yaml"
    empty.write_text("")
    assert load_settings_file(empty) == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [("recist: [1]\n", "one mapping per criterion"), ("a: [\n", "cannot read"), ("- 1\n", "one mapping")],
)
def test_bad_settings_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_settings_file(path)
    with pytest.raises(ConfigError, match="not found"):
        load_settings_file(tmp_path / "none.yaml")
