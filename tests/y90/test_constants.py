"""Y-90 constants: defaults, alternatives and derived values (reference/y90-dosimetry.md §2.1)."""

from __future__ import annotations

import math

import pytest

from nelm.errors import ConfigError
from nelm.y90.constants import (
    DEFAULT_CONSTANTS,
    DOSE_COEFFICIENT_MANUFACTURER,
    HALF_LIFE_H_ALTERNATIVE,
    Y90Constants,
)


def test_defaults_are_the_documented_ones() -> None:
    c = DEFAULT_CONSTANTS
    assert (c.half_life_h, c.dose_coefficient_gy_kg_per_gbq) == (64.1, 49.67)
    assert (c.liver_density_g_per_ml, c.lung_mass_kg, c.lung_density_g_per_ml) == (1.03, 1.0, 0.3)


def test_derived_values_by_hand() -> None:
    c = DEFAULT_CONSTANTS
    # λ(64.1 h) = 3.00376e-6 /s and τ = 332 916 s (reference §2.1, derived).
    assert c.decay_constant_per_s == pytest.approx(3.00376e-6, rel=1e-5)
    assert c.mean_life_s == pytest.approx(332_916, abs=1)
    # K = Ē τ  =>  Ē = 49.67 J / (1e9 · 332 916.3 s) / 1.602e-13 J/MeV ≈ 0.9312 MeV.
    assert c.energy_per_decay_mev == pytest.approx(49.67 / (1e9 * 332_916.3076) / 1.602176634e-13, rel=1e-6)
    assert 0.9267 < c.energy_per_decay_mev < 0.9367


def test_alternatives_one_setting_away() -> None:
    c = DEFAULT_CONSTANTS.with_(
        half_life_h=HALF_LIFE_H_ALTERNATIVE, dose_coefficient_gy_kg_per_gbq=DOSE_COEFFICIENT_MANUFACTURER
    )
    assert c.half_life_s == 64.2 * 3600
    assert c.as_dict()["dose_coefficient_gy_kg_per_gbq"] == 50.0
    assert c.decay_constant_per_s == pytest.approx(math.log(2) / (64.2 * 3600))


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"half_life_h": 641.0}, "half_life_h"),
        ({"dose_coefficient_gy_kg_per_gbq": 0.4967}, "dose_coefficient"),
        ({"liver_density_g_per_ml": float("nan")}, "liver_density"),
        ({"lung_mass_kg": "1 kg"}, "lung_mass_kg"),
        ({"lung_mass_kg": True}, "lung_mass_kg"),
        ({"spleen_mass_kg": 0.2}, "unknown setting"),
    ],
)
def test_bad_constants_name_the_field(changes: dict[str, object], needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        DEFAULT_CONSTANTS.with_(**changes)


def test_constructor_validates() -> None:
    with pytest.raises(ConfigError, match="half_life_h"):
        Y90Constants(half_life_h=-64.1)
