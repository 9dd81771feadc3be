"""Validation of the phantom configuration: one test per kind of bad input."""

from __future__ import annotations

from datetime import datetime

import pytest

from nelm.errors import ConfigError, InputError
from nelm.phantom import (
    AcquisitionConfig,
    FollowUpConfig,
    LesionChange,
    PhantomConfig,
    Placement,
    TareConfig,
    Territory,
)


def test_defaults_are_the_demo_patient() -> None:
    cfg = PhantomConfig()
    assert cfg.seed == 0
    assert cfg.n_lesions == 12
    assert cfg.placement is Placement.BILOBAR
    assert cfg.tare is not None
    assert cfg.tare.territory is Territory.RIGHT_LOBE
    assert len(cfg.follow_ups) == 2
    assert cfg.effective_diameter_range_mm == (8.0, 40.0)


def test_strings_are_accepted_for_enumerations() -> None:
    cfg = PhantomConfig(
        placement="left", lesion_shape="sphere", tare=TareConfig(device="resin", territory="whole_liver")
    )  # type: ignore[arg-type]
    assert cfg.placement is Placement.LEFT
    assert cfg.tare is not None
    assert cfg.tare.territory.segments == frozenset(range(1, 9))


def test_many_lesions_shrink_the_automatic_diameter_range() -> None:
    lo, hi = PhantomConfig(n_lesions=300).effective_diameter_range_mm
    assert (lo, hi) == (4.0, pytest.approx(40.0 * (12 / 300) ** (1 / 3)))


def test_config_errors_are_input_errors() -> None:
    assert issubclass(ConfigError, InputError)  # the CLI exits 2 on them


@pytest.mark.parametrize("n", [0, 301, True, 2.5])
def test_lesion_count_out_of_range(n: object) -> None:
    with pytest.raises(ConfigError, match="n_lesions"):
        PhantomConfig(n_lesions=n)  # type: ignore[arg-type]


def test_negative_seed() -> None:
    with pytest.raises(ConfigError, match="seed"):
        PhantomConfig(seed=-1)


def test_unknown_placement() -> None:
    with pytest.raises(ConfigError, match="placement = 'both'"):
        PhantomConfig(placement="both")  # type: ignore[arg-type]


def test_reversed_diameter_range() -> None:
    with pytest.raises(ConfigError, match="diameter_range_mm"):
        PhantomConfig(diameter_range_mm=(30.0, 10.0))


def test_naive_baseline_datetime() -> None:
    with pytest.raises(ConfigError, match="timezone-aware"):
        PhantomConfig(baseline_datetime=datetime(2026, 1, 12, 9, 0))


def test_height_in_centimetres() -> None:
    with pytest.raises(ConfigError, match="metres, not cm"):
        PhantomConfig(patient_height_m=168.0)


def test_lung_shunt_fraction_given_as_percentage() -> None:
    with pytest.raises(ConfigError, match="not a percentage"):
        TareConfig(lung_shunt_fraction=6.0)


def test_negative_activity() -> None:
    with pytest.raises(ConfigError, match="activity_gbq"):
        TareConfig(activity_gbq=-2.0)


def test_impossible_tn_ratio() -> None:
    with pytest.raises(ConfigError, match="tn_ratio"):
        TareConfig(tn_ratio=0.0)


def test_treatment_before_maa() -> None:
    with pytest.raises(ConfigError, match="must come after"):
        TareConfig(maa_days_after_baseline=30.0, treatment_days_after_baseline=20.0)


def test_follow_ups_out_of_order() -> None:
    with pytest.raises(ConfigError, match="strictly increasing"):
        PhantomConfig(follow_ups=(FollowUpConfig(180.0), FollowUpConfig(90.0)))


def test_follow_up_before_treatment() -> None:
    with pytest.raises(ConfigError, match="days_after_treatment"):
        FollowUpConfig(days_after_treatment=-5.0)


def test_implausible_lesion_change() -> None:
    with pytest.raises(ConfigError, match="scale"):
        LesionChange(scale=10.0)
    with pytest.raises(ConfigError, match="necrotic_fraction"):
        LesionChange(necrotic_fraction=1.5)


def test_negative_noise() -> None:
    with pytest.raises(ConfigError, match="ct_noise_hu"):
        AcquisitionConfig(ct_noise_hu=-1.0)


def test_grid_too_fine() -> None:
    with pytest.raises(ConfigError, match="too slow"):
        AcquisitionConfig(ct_spacing_mm=(0.2, 0.2, 0.2))
