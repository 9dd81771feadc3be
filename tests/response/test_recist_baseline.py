"""RECIST 1.1 at the baseline: measurability, node classes, slice thickness, target selection."""

from __future__ import annotations

from fractions import Fraction

import pytest
from test_recist_helpers import case, gone, ld, liver, node, present, run, sa, small, tp

from nelm.errors import ConfigError, InputError
from nelm.response.bor import BorSettings
from nelm.response.model import Lesion, LesionMeasurement, LesionState
from nelm.response.recist import RecistSettings, is_measurable, select_targets

# --- measurability -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("thickness", "value", "measurable"),
    [
        # ≤ 5 mm slices (or unknown: assumed thin): LD ≥ 10 mm
        (None, "10.0", True),
        (None, "9.9", False),
        ("5", "10.0", True),
        ("5", "9.9", False),
        # 7 mm slices: 2 × 7 = 14 mm
        ("7", "14.0", True),
        ("7", "13.9", False),
        ("7", "10.0", False),
        # 5.1 mm slices (just above 5): 2 × 5.1 = 10.2 mm
        ("5.1", "10.2", True),
        ("5.1", "10.1", False),
    ],
)
def test_non_nodal_measurability_with_slice_thickness(
    thickness: str | None, value: str, measurable: bool
) -> None:
    base = tp("base", 0, ld("L1", value), thickness=thickness)
    ok, why = is_measurable(liver("L1"), base.measurements["L1"], base, RecistSettings())
    assert ok is measurable
    assert "L1" in why
    if thickness is None:
        assert "unknown" in why


def test_unknown_slice_thickness_is_noted_in_the_result() -> None:
    result = run(case([liver("L1")], tp("base", 0, ld("L1", 30)), tp("fu1", 56, ld("L1", 30))))
    assert any("slice thickness unknown" in note for note in result.notes)
    known = run(
        case([liver("L1")], tp("base", 0, ld("L1", 30), thickness="2.5"), tp("fu1", 56, ld("L1", 30)))
    )
    assert not any("slice thickness" in note for note in known.notes)


@pytest.mark.parametrize(
    ("short_axis", "role"),
    [
        ("9.9", "excluded"),  # < 10 mm: normal, not recorded
        ("10.0", "non-target"),  # 10 to < 15 mm: pathological, not measurable
        ("14.9", "non-target"),
        ("15.0", "target"),  # ≥ 15 mm: measurable
    ],
)
def test_node_classes_by_short_axis(short_axis: str, role: str) -> None:
    c = case(
        [liver("L1"), node("N1")],
        tp("base", 0, ld("L1", 40), sa("N1", short_axis)),
        tp("fu1", 56, ld("L1", 40), sa("N1", short_axis)),
    )
    result = run(c)
    assert ("N1" in result.targets) is (role == "target")
    assert ("N1" in result.non_targets) is (role == "non-target")
    excluded = any(n.startswith("not recorded") and "N1" in n for n in result.notes)
    assert excluded is (role == "excluded")


def test_node_is_measured_by_short_axis_not_long_axis() -> None:
    # long axis 30 mm but short axis 12 mm: pathological non-target, not a target
    base = tp("base", 0, LesionMeasurement("N1", long_mm=Fraction(30), short_mm=Fraction(12)))
    ok, why = is_measurable(node("N1"), base.measurements["N1"], base, RecistSettings())
    assert not ok
    assert "12.0 mm" in why


def test_node_too_small_at_baseline_is_not_recorded() -> None:
    c = case([liver("L1"), node("N1")], tp("base", 0, ld("L1", 40), small("N1")), tp("fu1", 56, ld("L1", 40)))
    result = run(c)
    assert result.targets == ["L1"]
    assert result.non_targets == []


def test_previously_treated_lesion_is_not_a_target() -> None:
    c = case(
        [liver("L1", treated=True), liver("L2")],
        tp("base", 0, ld("L1", 50), ld("L2", 20)),
        tp("fu1", 56, ld("L1", 50), ld("L2", 20)),
    )
    result = run(c)
    assert result.targets == ["L2"]
    assert result.non_targets == ["L1"]
    assert any("previously treated" in n for n in result.notes)


@pytest.mark.parametrize(
    "measurement",
    [small("L1"), present("L1"), LesionMeasurement("L1", state=LesionState.NOT_EVALUATED)],
)
def test_too_small_or_unmeasured_lesion_is_a_non_target(measurement: LesionMeasurement) -> None:
    c = case(
        [liver("L1"), liver("L2")], tp("base", 0, measurement, ld("L2", 20)), tp("fu1", 56, ld("L2", 20))
    )
    result = run(c)
    assert result.targets == ["L2"]
    assert result.non_targets == ["L1"]


def test_lesion_without_baseline_measurement_is_a_non_target() -> None:
    c = case([liver("L1"), liver("L2")], tp("base", 0, ld("L2", 20)), tp("fu1", 56, ld("L2", 20)))
    assert run(c).non_targets == ["L1"]


def test_lesion_gone_at_the_baseline_is_an_input_error() -> None:
    c = case([liver("L1"), liver("L2")], tp("base", 0, gone("L1"), ld("L2", 20)))
    with pytest.raises(InputError, match="L1"):
        run(c)


# --- target selection ----------------------------------------------------------------------------


def test_six_liver_lesions_give_two_targets_largest_first() -> None:
    sizes = {"L1": 12, "L2": 45, "L3": 30, "L4": 18, "L5": 60, "L6": 25}
    lesions = [liver(k) for k in sizes]
    c = case(lesions, tp("base", 0, *(ld(k, v) for k, v in sizes.items())))
    result = run(c)
    # by hand: the two largest are L5 (60) and L2 (45); the other four are non-targets
    assert result.targets == ["L5", "L2"]
    assert result.non_targets == ["L1", "L3", "L4", "L6"]
    assert "at most 5 in total and 2 per organ" in result.target_selection


def test_five_targets_at_most_with_nodes_as_one_organ() -> None:
    lesions = [
        liver("L1"),
        liver("L2"),
        liver("L3"),
        liver("P1", "lung"),
        liver("P2", "lung"),
        liver("B1", "adrenal"),
        node("N1"),
        node("N2"),
        node("N3"),
    ]
    base = tp(
        "base",
        0,
        ld("L1", 50),
        ld("L2", 40),
        ld("L3", 35),
        ld("P1", 22),
        ld("P2", 11),
        ld("B1", 15),
        sa("N1", 30),
        sa("N2", 25),
        sa("N3", 20),
    )
    result = run(case(lesions, base))
    # by hand, largest first with ≤ 2 per organ (nodes one organ): L1 50, L2 40, (L3 35: liver full),
    # N1 30, N2 25, (N3 20: nodes full), P1 22 -> five targets; B1 15 and P2 11 are left over.
    assert result.targets == ["L1", "L2", "N1", "N2", "P1"]
    assert set(result.non_targets) == {"L3", "N3", "B1", "P2"}


def test_ties_are_broken_by_natural_lesion_id_order() -> None:
    c = case(
        [liver("L10"), liver("L2"), liver("L1")], tp("base", 0, ld("L10", 30), ld("L2", 30), ld("L1", 30))
    )
    # three equal lesions in one organ: L1, L2 (natural order: L2 before L10)
    assert run(c).targets == ["L1", "L2"]


def test_reader_targets_win_and_are_checked() -> None:
    c = case(
        [liver("L1"), liver("L2"), liver("L3")],
        tp("base", 0, ld("L1", 50), ld("L2", 15), ld("L3", 40)),
        targets=("L2",),
    )
    result = run(c)
    assert result.targets == ["L2"]
    assert result.non_targets == ["L1", "L3"]
    assert result.target_selection.startswith("targets given by the reader")


@pytest.mark.parametrize(
    ("measurement", "lesion"),
    [(ld("L2", "9.9"), liver("L2")), (small("L2"), liver("L2")), (sa("L2", "14.9"), node("L2"))],
)
def test_reader_target_that_is_not_measurable_is_an_input_error(
    measurement: LesionMeasurement, lesion: Lesion
) -> None:
    c = case([liver("L1"), lesion], tp("base", 0, ld("L1", 50), measurement), targets=("L1", "L2"))
    with pytest.raises(InputError, match="target lesion L2"):
        run(c)


def test_reader_targets_beyond_the_limits_are_an_input_error() -> None:
    three = case(
        [liver("L1"), liver("L2"), liver("L3")],
        tp("base", 0, ld("L1", 50), ld("L2", 40), ld("L3", 30)),
        targets=("L1", "L2", "L3"),
    )
    with pytest.raises(InputError, match="per organ"):
        run(three)
    organs = ["liver", "lung", "bone", "adrenal", "spleen", "kidney"]
    lesions = [liver(f"L{i}", organ) for i, organ in enumerate(organs)]
    six = case(
        lesions, tp("base", 0, *(ld(f"L{i}", 20) for i in range(6))), targets=tuple(f"L{i}" for i in range(6))
    )
    with pytest.raises(InputError, match="at most 5"):
        run(six)
    # a protocol that allows more is one setting away
    assert len(run(six, RecistSettings(max_targets=6)).targets) == 6


def test_no_measurable_lesion_gives_no_targets() -> None:
    c = case([liver("L1")], tp("base", 0, ld("L1", 8)), tp("fu1", 56, ld("L1", 8)))
    result = run(c)
    assert result.targets == []
    assert result.non_targets == ["L1"]
    assert result.time_points[1].target is None


def test_select_targets_hooks_for_other_criteria() -> None:
    c = case([liver("L1"), liver("L2"), liver("L3")], tp("base", 0, ld("L1", 50), ld("L2", 40), ld("L3", 30)))
    # e.g. a criterion without a per-organ limit, choosing the smallest lesions
    sel = select_targets(
        c, max_targets=2, max_per_organ=10, size=lambda lesion, m: -(m.long_mm or Fraction(0))
    )
    assert sel.targets == ("L3", "L2")
    assert sel.non_targets == ("L1",)


# --- settings ------------------------------------------------------------------------------------


def test_settings_text_records_every_threshold() -> None:
    text = RecistSettings().settings_text()
    assert text["min_measurable_mm"] == "10"
    assert text["node_target_min_sa_mm"] == "15"
    assert text["node_pathological_min_sa_mm"] == "10"
    assert text["too_small_mm"] == "5"
    assert text["max_targets"] == "5"
    assert text["max_per_organ"] == "2"
    assert "30" in text["response"]
    assert "20" in text["progression"]
    assert text["progression_floor_mm"] == "≥ 5"
    assert text["reappearance_after_cr_is_pd"] == "true"
    assert text["bor_confirmation"] == "not required"
    assert RecistSettings(too_small_mm=Fraction(1, 3)).settings_text()["too_small_mm"] == "1/3"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"min_measurable_mm": Fraction(0)},
        {"too_small_mm": -1},
        {"max_targets": 0},
        {"max_per_organ": True},
        {"node_pathological_min_sa_mm": Fraction(16)},
        {"reappearance_after_cr_is_pd": "yes"},
        {"bor": {"confirmation": True}},
        {"min_measurable_mm": 10.0},
    ],
)
def test_bad_settings_are_config_errors(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        RecistSettings(**kwargs)  # type: ignore[arg-type]


def test_bor_settings_are_recorded() -> None:
    text = RecistSettings(bor=BorSettings(confirmation=True)).settings_text()
    assert text["bor_confirmation"] == "required"
