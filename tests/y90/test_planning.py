"""Activity planning models: every expected number is worked out here from the published formula.

Reference case: DAVYR's defaults (``WilliamJones62/DAVYR`` davyrApp.js; y90-dosimetry.md §1.5):
height 175 cm, weight 75 kg, liver 1500 mL, treated (perfused) 1000 mL, tumour 250 mL, LSF 2.5 %,
lung volume 3000 mL × 0.3 g/mL, T/N 4, MIRD 120 Gy, partition tumour 110 Gy.
"""

from __future__ import annotations

import dataclasses
import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nelm.errors import ConfigError, InputError
from nelm.y90.constants import DEFAULT_CONSTANTS
from nelm.y90.lsf import LsfMethod, lsf_given, lung_mass
from nelm.y90.planning import (
    MIRD_PRESETS,
    BsaForm,
    Compartments,
    PartitionLimits,
    PartitionTarget,
    PlanningModel,
    ResinLsfBands,
    doses_for_activity,
    plan_bsa,
    plan_mird,
    plan_mird_preset,
    plan_partition,
    plan_partition_activity_ratio,
)

K = 49.67  # Gy·kg/GBq (Gulec 2006), nelm's default
RHO = 1.03  # g/mL liver density
LUNG_KG = 3000.0 * 0.3 / 1000.0  # DAVYR lung mass: 0.9 kg
M_PERFUSED = 1000.0 * RHO / 1000.0  # 1.03 kg
M_TUMOUR = 250.0 * RHO / 1000.0  # 0.2575 kg
M_NORMAL = 750.0 * RHO / 1000.0  # 0.7725 kg
LSF = 0.025
TNR = 4.0

DAVYR = Compartments(
    liver_volume_ml=1500.0, perfused_volume_ml=1000.0, tumour_volume_ml=250.0, lung_mass_kg=LUNG_KG
)
SHUNT = lsf_given(LSF, source="DAVYR default")


def _dubois(weight_kg: float, height_cm: float) -> float:
    return 0.007184 * weight_kg**0.425 * height_cm**0.725


def test_dubois_bsa_hand_case() -> None:
    # ln 75 = 4.317488, ln 175 = 5.164786: exp(0.425·4.317488 + 0.725·5.164786) = 264.91; × 0.007184.
    plan = plan_bsa(
        weight_kg=75, height_cm=175, compartments=DAVYR, lung_shunt=SHUNT, form="treated_fraction"
    )
    assert plan.prescription["bsa_m2"] == pytest.approx(1.9031, abs=2e-4)
    # DAVYR writes it 0.20247·H(m)^0.725·W^0.425; the constants agree to 1e-4.
    assert plan.prescription["bsa_m2"] == pytest.approx(0.20247 * 1.75**0.725 * 75**0.425, rel=1e-4)


def test_lung_mass_of_the_davyr_case() -> None:
    assert lung_mass(3000.0).mass_kg == pytest.approx(0.9)


def test_bsa_three_forms_on_davyr_defaults() -> None:
    bsa = _dubois(75.0, 175.0)
    whole = Compartments(1500.0, 1500.0, 250.0, LUNG_KG)
    p_whole = plan_bsa(weight_kg=75, height_cm=175, compartments=whole, lung_shunt=SHUNT)
    assert p_whole.activity_gbq == pytest.approx((bsa - 0.2) + 250.0 / 1500.0, rel=1e-12)
    p_davyr = plan_bsa(
        weight_kg=75, height_cm=175, compartments=DAVYR, lung_shunt=SHUNT, form=BsaForm.TREATED_FRACTION
    )
    assert p_davyr.activity_gbq == pytest.approx((bsa - 0.2) * 1000.0 / 1500.0 + 250.0 / 1500.0, rel=1e-12)
    p_ifu = plan_bsa(
        weight_kg=75, height_cm=175, compartments=DAVYR, lung_shunt=SHUNT, form=BsaForm.IFU_SCALED
    )
    assert p_ifu.activity_gbq == pytest.approx(((bsa - 0.2) + 250.0 / 1500.0) * 1000.0 / 1500.0, rel=1e-12)
    assert p_davyr.activity_gbq != pytest.approx(p_ifu.activity_gbq, rel=1e-3)  # the two lobar forms differ
    assert p_davyr.model is PlanningModel.BSA
    assert p_davyr.not_deliverable_reason is None
    # Doses of the BSA activity, uniform over the perfused territory.
    assert p_davyr.doses.perfused_gy == pytest.approx(K * p_davyr.activity_gbq * (1 - LSF) / M_PERFUSED)
    assert p_davyr.doses.lung_gy == pytest.approx(K * p_davyr.activity_gbq * LSF / LUNG_KG)


def test_bsa_whole_liver_form_refuses_a_lobe() -> None:
    with pytest.raises(InputError, match="perfused_volume_ml"):
        plan_bsa(weight_kg=75, height_cm=175, compartments=DAVYR, lung_shunt=SHUNT, form=BsaForm.WHOLE_LIVER)


def test_mird_on_davyr_defaults() -> None:
    plan = plan_mird(compartments=DAVYR, lung_shunt=SHUNT, dose_gy=120.0)
    expected = 120.0 * M_PERFUSED / (K * (1 - LSF))  # = 123.6 / 48.42825 = 2.5522 GBq
    assert plan.activity_gbq == pytest.approx(expected, rel=1e-12)
    assert plan.activity_gbq == pytest.approx(2.5522, abs=1e-4)
    assert plan.activity_mci == pytest.approx(expected / 0.037)
    assert plan.doses.perfused_gy == pytest.approx(120.0)
    assert plan.doses.lung_gy == pytest.approx(K * expected * LSF / LUNG_KG)  # from the total activity
    # DAVYR's MIRD tab ignores the shunt (A = D·V·1.03/49.7/1000): nelm's activity is larger by 1/(1−LSF).
    davyr_tab = 120.0 * 1000.0 * 1.03 / 49.7 / 1000.0
    with_davyr_k = plan_mird(
        compartments=DAVYR,
        lung_shunt=SHUNT,
        dose_gy=120.0,
        constants=DEFAULT_CONSTANTS.with_(dose_coefficient_gy_kg_per_gbq=49.7),
    )
    assert with_davyr_k.activity_gbq == pytest.approx(davyr_tab / (1 - LSF), rel=1e-12)
    json.dumps(plan.to_dict())


def test_mird_presets() -> None:
    assert MIRD_PRESETS == {"standard": 120.0, "radiation_segmentectomy": 190.0}
    plan = plan_mird_preset("radiation_segmentectomy", compartments=DAVYR, lung_shunt=SHUNT)
    assert plan.activity_gbq == pytest.approx(190.0 * M_PERFUSED / (K * (1 - LSF)))
    assert plan.prescription["preset"] == "radiation_segmentectomy"
    with pytest.raises(ConfigError, match="unknown MIRD preset"):
        plan_mird_preset("ablative", compartments=DAVYR, lung_shunt=SHUNT)


def test_partition_tumour_on_davyr_defaults() -> None:
    plan = plan_partition(
        compartments=DAVYR, lung_shunt=SHUNT, tnr=TNR, prescribe=PartitionTarget.TUMOUR, dose_gy=110.0
    )
    # D_N = D_T / TNR = 27.5 Gy; A(1 − LSF) = D_N (TNR·M_T + M_N) / K.
    expected = 27.5 * (TNR * M_TUMOUR + M_NORMAL) / (K * (1 - LSF))
    assert plan.activity_gbq == pytest.approx(expected, rel=1e-12)
    assert plan.doses.tumour_gy == pytest.approx(110.0)
    assert plan.doses.normal_liver_gy == pytest.approx(27.5)
    assert plan.doses.perfused_gy == pytest.approx(K * expected * (1 - LSF) / M_PERFUSED)
    # DAVYR's partitionCtrl.js: A = D_T·M_T·(V_T·TN + V_N)/(49.7·V_T·TN·(1−LSF)).
    davyr = 110.0 * M_TUMOUR * (250.0 * TNR + 750.0) / (49.7 * 250.0 * TNR * (1 - LSF))
    with_davyr_k = plan_partition(
        compartments=DAVYR,
        lung_shunt=SHUNT,
        tnr=TNR,
        prescribe="tumour",
        dose_gy=110.0,
        constants=DEFAULT_CONSTANTS.with_(dose_coefficient_gy_kg_per_gbq=49.7),
    )
    assert with_davyr_k.activity_gbq == pytest.approx(davyr, rel=1e-12)


def test_partition_normal_liver_and_max_safe() -> None:
    normal = plan_partition(
        compartments=DAVYR, lung_shunt=SHUNT, tnr=TNR, prescribe="normal_liver", dose_gy=40.0
    )
    assert normal.activity_gbq == pytest.approx(40.0 * (TNR * M_TUMOUR + M_NORMAL) / (K * (1 - LSF)))
    best = plan_partition(compartments=DAVYR, lung_shunt=SHUNT, tnr=TNR, prescribe=PartitionTarget.MAX_SAFE)
    by_liver = 70.0 * (TNR * M_TUMOUR + M_NORMAL) / (K * (1 - LSF))  # 2.605 GBq
    by_lung = 30.0 * LUNG_KG / (K * LSF)  # 21.7 GBq
    assert best.activity_gbq == pytest.approx(min(by_liver, by_lung), rel=1e-12)
    assert best.prescription["bound_by"] == "normal_liver"
    assert best.doses.normal_liver_gy <= 70.0
    # A large shunt makes the lung the binding limit.
    shunt = lsf_given(0.3, source="test")
    lung_bound = plan_partition(
        compartments=DAVYR,
        lung_shunt=shunt,
        tnr=TNR,
        prescribe="max_safe",
        limits=PartitionLimits(lung_gy=25.0),
    )
    assert lung_bound.activity_gbq == pytest.approx(25.0 * LUNG_KG / (K * 0.3))
    assert lung_bound.prescription["bound_by"] == "lung"
    assert lung_bound.doses.lung_gy <= 25.0


def test_partition_activity_ratio_kao() -> None:
    r, d_t = 1.5, 110.0
    plan = plan_partition_activity_ratio(
        compartments=DAVYR, lung_shunt=SHUNT, activity_ratio=r, tumour_dose_gy=d_t
    )
    a_t = d_t * M_TUMOUR / K
    a_n = a_t / r
    a_l = a_t * LSF / (1 - LSF)  # TLSF = A_L/(A_T + A_L)
    assert plan.activity_gbq == pytest.approx(a_t + a_n + a_l, rel=1e-12)
    assert plan.model is PlanningModel.PARTITION_ACTIVITY_RATIO
    assert plan.tnr == pytest.approx(r * M_NORMAL / M_TUMOUR)  # concentration ratio ≠ activity ratio
    assert plan.lung_shunt.fraction == pytest.approx(a_l / (a_t + a_n + a_l))
    assert plan.lung_shunt.method is LsfMethod.GIVEN
    assert plan.doses.tumour_gy == pytest.approx(d_t)
    assert plan.doses.normal_liver_gy == pytest.approx(K * a_n / M_NORMAL)
    assert plan.doses.lung_gy == pytest.approx(K * a_l / LUNG_KG)
    assert plan.prescription["tumour_lung_shunt_fraction"] == LSF
    json.dumps(plan.to_dict())


# -- pitfalls (y90-dosimetry.md §6) ---------------------------------------------------------------
def test_lsf_divides_the_activity_never_multiplies() -> None:
    """Radulator's historic bug multiplied by (1 − LSF): A(0.1) must be A(0)/0.9, not A(0)·0.9."""
    a0 = plan_mird(compartments=DAVYR, lung_shunt=lsf_given(0.0, source="t"), dose_gy=120.0).activity_gbq
    a1 = plan_mird(compartments=DAVYR, lung_shunt=lsf_given(0.1, source="t"), dose_gy=120.0).activity_gbq
    assert a1 == pytest.approx(a0 / 0.9, rel=1e-12)


def test_residual_is_kept_apart_from_the_injected_activity() -> None:
    clean = plan_mird(compartments=DAVYR, lung_shunt=SHUNT, dose_gy=120.0)
    lossy = plan_mird(compartments=DAVYR, lung_shunt=SHUNT, dose_gy=120.0, residual_fraction=0.05)
    assert lossy.activity_gbq == pytest.approx(clean.activity_gbq)
    assert lossy.vial_activity_gbq == pytest.approx(clean.activity_gbq / 0.95)
    assert lossy.doses == clean.doses  # doses use the injected activity
    assert clean.vial_activity_gbq == clean.activity_gbq


@pytest.mark.parametrize(
    ("lsf", "band", "factor"),
    [
        (0.0999999, "full", 1.0),
        (0.10, "first_reduction", 0.8),
        (0.1000001, "first_reduction", 0.8),
        (0.1499999, "first_reduction", 0.8),
        (0.15, "second_reduction", 0.6),
        (0.1500001, "second_reduction", 0.6),
        (0.1999999, "second_reduction", 0.6),
        (0.20, "second_reduction", 0.6),
        (0.2000001, "not_deliverable", 1.0),
    ],
)
def test_resin_lsf_band_boundaries(lsf: float, band: str, factor: float) -> None:
    assert ResinLsfBands().band(lsf)[:2] == (band, factor)
    plan = plan_bsa(
        weight_kg=75,
        height_cm=175,
        compartments=DAVYR,
        lung_shunt=lsf_given(lsf, source="t"),
        form=BsaForm.TREATED_FRACTION,
    )
    base = (_dubois(75.0, 175.0) - 0.2) * 1000.0 / 1500.0 + 250.0 / 1500.0
    assert plan.activity_gbq == pytest.approx(base * factor, rel=1e-12)
    assert (plan.not_deliverable_reason is None) is (band != "not_deliverable")


def test_resin_bands_are_settable() -> None:
    sangro = ResinLsfBands(not_deliverable_above=0.15, reduce_more_from=0.15)
    assert sangro.band(0.1500001).name == "not_deliverable"
    for bad in ({"reduce_from": 0.2, "reduce_more_from": 0.15}, {"first_factor": 0.5}, {"second_factor": 0}):
        with pytest.raises(ConfigError, match="ResinLsfBands"):
            ResinLsfBands(**bad)  # type: ignore[arg-type]


# -- properties -----------------------------------------------------------------------------------
volumes = st.tuples(
    st.floats(800.0, 3000.0), st.floats(0.1, 1.0), st.floats(0.0, 0.9), st.floats(0.4, 2.5)
).map(lambda v: Compartments(v[0], v[0] * v[1], v[0] * v[1] * v[2], v[3]))
fractions = st.floats(0.0, 0.6)
ratios = st.floats(0.5, 20.0)
dose_values = st.floats(5.0, 400.0)


@settings(max_examples=60, deadline=None)
@given(c=volumes, lsf=fractions, dose=dose_values, residual=st.floats(0.0, 0.3))
def test_round_trip_mird(c: Compartments, lsf: float, dose: float, residual: float) -> None:
    plan = plan_mird(
        compartments=c, lung_shunt=lsf_given(lsf, source="t"), dose_gy=dose, residual_fraction=residual
    )
    again = doses_for_activity(plan.activity_gbq, c, plan.lung_shunt.fraction, tnr=plan.tnr)
    assert again.perfused_gy == pytest.approx(dose, rel=1e-9)
    assert plan.vial_activity_gbq * (1 - residual) == pytest.approx(plan.activity_gbq, rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(c=volumes, lsf=fractions, tnr=ratios, dose=dose_values)
def test_round_trip_partition(c: Compartments, lsf: float, tnr: float, dose: float) -> None:
    shunt = lsf_given(lsf, source="t")
    normal = plan_partition(compartments=c, lung_shunt=shunt, tnr=tnr, prescribe="normal_liver", dose_gy=dose)
    again = doses_for_activity(normal.activity_gbq, c, normal.lung_shunt.fraction, tnr=normal.tnr)
    assert again.normal_liver_gy == pytest.approx(dose, rel=1e-9)
    if c.tumour_volume_ml > 0:
        tumour = plan_partition(compartments=c, lung_shunt=shunt, tnr=tnr, prescribe="tumour", dose_gy=dose)
        again = doses_for_activity(tumour.activity_gbq, c, tumour.lung_shunt.fraction, tnr=tumour.tnr)
        assert again.tumour_gy == pytest.approx(dose, rel=1e-9)
    best = plan_partition(compartments=c, lung_shunt=shunt, tnr=tnr, prescribe="max_safe")
    assert best.doses.lung_gy <= 30.0
    assert best.doses.normal_liver_gy <= 70.0
    bound = best.doses.lung_gy if best.prescription["bound_by"] == "lung" else best.doses.normal_liver_gy
    assert bound == pytest.approx(30.0 if best.prescription["bound_by"] == "lung" else 70.0, rel=1e-9)


@settings(max_examples=60, deadline=None)
@given(c=volumes, tlsf=fractions, r=st.floats(0.2, 10.0), dose=dose_values)
def test_round_trip_activity_ratio(c: Compartments, tlsf: float, r: float, dose: float) -> None:
    if c.tumour_volume_ml < 1.0:
        return
    plan = plan_partition_activity_ratio(
        compartments=c, lung_shunt=lsf_given(tlsf, source="t"), activity_ratio=r, tumour_dose_gy=dose
    )
    again = doses_for_activity(plan.activity_gbq, c, plan.lung_shunt.fraction, tnr=plan.tnr)
    assert again.tumour_gy == pytest.approx(dose, rel=1e-9)
    # Activities back from the doses: A_T/A_N = R and A_L/(A_T + A_L) = TLSF.
    a_t = again.tumour_gy * c.mass_kg(c.tumour_volume_ml) / K  # type: ignore[operator]
    a_n = again.normal_liver_gy * c.mass_kg(c.normal_perfused_volume_ml) / K
    a_l = again.lung_gy * c.lung_mass_kg / K
    assert a_t / a_n == pytest.approx(r, rel=1e-9)
    assert a_l / (a_t + a_l) == pytest.approx(tlsf, rel=1e-9, abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(c=volumes, lsf=st.floats(0.0, 0.099))
def test_round_trip_bsa_through_mird(c: Compartments, lsf: float) -> None:
    plan = plan_bsa(
        weight_kg=70, height_cm=170, compartments=c, lung_shunt=lsf_given(lsf, source="t"), form="ifu_scaled"
    )
    back = plan_mird(compartments=c, lung_shunt=plan.lung_shunt, dose_gy=plan.doses.perfused_gy)
    assert back.activity_gbq == pytest.approx(plan.activity_gbq, rel=1e-9)


@settings(max_examples=60, deadline=None)
@given(c=volumes, lsf=st.floats(0.0, 0.5), dose=dose_values, tumour_share=st.floats(0.0, 0.9))
def test_tnr_one_activity_does_not_depend_on_the_tumour_volume(
    c: Compartments, lsf: float, dose: float, tumour_share: float
) -> None:
    shunt = lsf_given(lsf, source="t")
    other = dataclasses.replace(c, tumour_volume_ml=c.perfused_volume_ml * tumour_share)
    a = plan_partition(compartments=c, lung_shunt=shunt, tnr=1.0, prescribe="normal_liver", dose_gy=dose)
    b = plan_partition(compartments=other, lung_shunt=shunt, tnr=1.0, prescribe="normal_liver", dose_gy=dose)
    assert a.activity_gbq == pytest.approx(b.activity_gbq, rel=1e-9)
    mass = c.perfused_volume_ml * RHO / 1000.0
    assert a.activity_gbq == pytest.approx(dose * mass / (K * (1 - lsf)), rel=1e-9)


@settings(max_examples=60, deadline=None)
@given(c=volumes, pair=st.tuples(fractions, fractions), tnr=ratios, dose=dose_values)
def test_activity_increases_with_lsf(
    c: Compartments, pair: tuple[float, float], tnr: float, dose: float
) -> None:
    low, high = sorted(pair)
    if high - low < 1e-6:
        return
    s_low, s_high = lsf_given(low, source="t"), lsf_given(high, source="t")
    mird = [plan_mird(compartments=c, lung_shunt=s, dose_gy=dose).activity_gbq for s in (s_low, s_high)]
    part = [
        plan_partition(
            compartments=c, lung_shunt=s, tnr=tnr, prescribe="normal_liver", dose_gy=dose
        ).activity_gbq
        for s in (s_low, s_high)
    ]
    assert mird[0] < mird[1]
    assert part[0] < part[1]


# -- bad input ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("values", "field"),
    [
        ((1500.0, 1000.0, 1000.0, 1.0), "tumour_volume_ml"),  # tumour = perfused
        ((1500.0, 1000.0, 1200.0, 1.0), "tumour_volume_ml"),  # tumour > perfused
        ((1500.0, 1508.0, 250.0, 1.0), "perfused_volume_ml"),  # > liver + 0.5 %
        ((1500.0, 1000.0, -1.0, 1.0), "tumour_volume_ml"),
        ((-1500.0, 1000.0, 250.0, 1.0), "liver_volume_ml"),
        ((1500.0, 0.0, 0.0, 1.0), "perfused_volume_ml"),
        ((1500.0, 1000.0, 250.0, 0.0), "lung_mass_kg"),
        ((float("nan"), 1000.0, 250.0, 1.0), "liver_volume_ml"),
    ],
)
def test_compartments_bad_input(values: tuple[float, float, float, float], field: str) -> None:
    with pytest.raises(InputError, match=field):
        Compartments(*values)


def test_compartments_rounding_tolerance() -> None:
    assert Compartments(1500.0, 1507.0, 250.0, 1.0).perfused_volume_ml == 1507.0  # +0.47 % accepted
    assert DAVYR.normal_perfused_volume_ml == 750.0


@pytest.mark.parametrize("residual", [1.0, -0.1, 3.0, float("nan")])
def test_residual_outside_zero_one(residual: float) -> None:
    with pytest.raises(InputError, match="residual_fraction"):
        plan_mird(compartments=DAVYR, lung_shunt=SHUNT, dose_gy=120.0, residual_fraction=residual)


@pytest.mark.parametrize("dose", [-10.0, 0.0, float("nan"), 12000.0])
def test_bad_dose(dose: float) -> None:
    with pytest.raises(InputError, match="dose_gy"):
        plan_mird(compartments=DAVYR, lung_shunt=SHUNT, dose_gy=dose)
    with pytest.raises(InputError, match="dose_gy"):
        plan_partition(compartments=DAVYR, lung_shunt=SHUNT, tnr=4, prescribe="tumour", dose_gy=dose)


def test_partition_bad_input() -> None:
    for tnr in (0.0, -1.0, float("inf")):
        with pytest.raises(InputError, match="tnr"):
            plan_partition(compartments=DAVYR, lung_shunt=SHUNT, tnr=tnr, prescribe="tumour", dose_gy=100)
    with pytest.raises(InputError, match="needs dose_gy"):
        plan_partition(compartments=DAVYR, lung_shunt=SHUNT, tnr=4, prescribe="tumour")
    with pytest.raises(InputError, match="dose_gy is not used"):
        plan_partition(compartments=DAVYR, lung_shunt=SHUNT, tnr=4, prescribe="max_safe", dose_gy=100)
    no_tumour = Compartments(1500.0, 1000.0, 0.0, 1.0)
    with pytest.raises(InputError, match="tumour_volume_ml > 0"):
        plan_partition(compartments=no_tumour, lung_shunt=SHUNT, tnr=4, prescribe="tumour", dose_gy=100)
    with pytest.raises(InputError, match="activity_ratio"):
        plan_partition_activity_ratio(
            compartments=DAVYR, lung_shunt=SHUNT, activity_ratio=0.0, tumour_dose_gy=100
        )
    with pytest.raises(ConfigError, match=r"PartitionLimits\.lung_gy"):
        PartitionLimits(lung_gy=-30.0)


def test_doses_for_activity_bad_input_and_no_tumour() -> None:
    with pytest.raises(InputError, match="activity_gbq"):
        doses_for_activity(-1.0, DAVYR, 0.05)
    with pytest.raises(InputError, match="lung shunt fraction"):
        doses_for_activity(1.0, DAVYR, 1.0)
    no_tumour = Compartments(1500.0, 1000.0, 0.0, 1.0)
    doses = doses_for_activity(2.0, no_tumour, 0.05, tnr=3.0)
    assert doses.tumour_gy is None
    assert doses.normal_liver_gy == pytest.approx(K * 2.0 * 0.95 / M_PERFUSED)


def test_bsa_bad_body_size() -> None:
    with pytest.raises(InputError, match=r"height_cm.*metres"):
        plan_bsa(weight_kg=75, height_cm=1.75, compartments=DAVYR, lung_shunt=SHUNT, form="ifu_scaled")
    with pytest.raises(InputError, match="weight_kg"):
        plan_bsa(weight_kg=-75, height_cm=175, compartments=DAVYR, lung_shunt=SHUNT, form="ifu_scaled")
    plan = plan_bsa(weight_kg=75, height_cm=175, compartments=DAVYR, lung_shunt=SHUNT, form="ifu_scaled")
    assert math.isclose(plan.activity_mci, plan.activity_gbq * 27.027, rel_tol=1e-4)  # 1 GBq = 27.027 mCi
