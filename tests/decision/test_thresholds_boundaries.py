"""Each threshold rule fires exactly at its boundary as its source words it, and not otherwise.

Boundaries (clinical-rules.md): RETNET bilirubin <= 2.0, albumin >= 3.0, platelets >= 50, INR <= 1.5,
creatinine <= 2.0, PS 0-2, burden <= 70 %; > 50 % liver replacement (Sofocleous); Milan-NET <= 50 %,
age <= 55, stability 6 months, Ki-67 < 10 % (Citterio); ablation 3 cm / 5 cm, <= 3 lesions, < 20 %
(Kose); TARE bilirubin > 2, > 1.2 (Ludwig), ECOG <= 2, > 70 %, leukocytes < 2, granulocytes < 1.5,
plt < 50, INR > 1.5, GFR < 35, lung 30 Gy / 50 Gy, LSF >= 10 % (Ludwig), >= 15 % (Sangro); PRRT
> 75 %; FLR >= 20 % [B]; the 4-factor rule > 50 %, bilirubin > 2, LDH > 425, AST > 100 (all four).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from decision_helpers import finding, run

from nelm.decision import Level

C, X, K, A = Level.CAUTION, Level.CONTRAINDICATED, Level.CONSIDER, Level.APPROPRIATE

# rule, therapy, input, boundary, does the boundary value fire, level when fired, step
CASES = [
    ("EMB-BILI-1", "tae", "bilirubin_mg_dl", "2.0", False, X, "0.01"),
    ("EMB-BILI-1", "ctace", "bilirubin_mg_dl", "2.0", False, X, "0.01"),
    ("EMB-ECOG-1", "debtace", "ecog", 2, False, X, 1),
    ("EMB-ALB-1", "tae", "albumin_g_dl", "3.0", False, C, "-0.01"),
    ("EMB-PLT-1", "tae", "platelets_10e9_l", "50", False, C, "-0.1"),
    ("EMB-INR-1", "tae", "inr", "1.5", False, C, "0.01"),
    ("EMB-CREAT-1", "tae", "creatinine_mg_dl", "2.0", False, C, "0.01"),
    ("EMB-BURDEN-1", "tae", "hepatic_tumour_burden_percent", "50", False, C, "0.001"),
    ("EMB-BURDEN-2", "ctace", "hepatic_tumour_burden_percent", "70", False, C, "0.001"),
    ("TX-BURDEN-1", "transplant", "hepatic_tumour_burden_percent", "50", False, X, "0.000001"),
    ("TX-AGE-1", "transplant", "age_years", 55, False, C, 1),
    ("TX-STABLE-1", "transplant", "stable_disease_months", "6", False, C, "-0.5"),
    ("TX-KI67-1", "transplant", "ki67_percent", "10", True, C, "0.1"),
    ("ABL-SIZE-1", "ablation", "largest_lesion_mm", "30", False, C, "0.1"),
    ("ABL-SIZE-2", "ablation", "largest_lesion_mm", "50", False, C, "0.1"),
    ("ABL-COUNT-1", "ablation", "lesion_count", 3, False, C, 1),
    ("ABL-BURDEN-1", "ablation", "hepatic_tumour_burden_percent", "20", True, C, "0.01"),
    ("RES-FLR-1", "resection", "flr_percent", "20", False, X, "-0.1"),
    ("TARE-BILI-1", "tare", "bilirubin_mg_dl", "2.0", False, X, "0.01"),
    ("TARE-BILI-2", "tare", "bilirubin_mg_dl", "1.2", False, K, "0.01"),
    ("TARE-ECOG-1", "tare", "ecog", 2, False, X, 1),
    ("TARE-PLT-1", "tare", "platelets_10e9_l", "50", False, C, "-1"),
    ("TARE-WBC-1", "tare", "leukocytes_10e9_l", "2", False, C, "-0.1"),
    ("TARE-GRAN-1", "tare", "granulocytes_10e9_l", "1.5", False, C, "-0.01"),
    ("TARE-INR-1", "tare", "inr", "1.5", False, C, "0.01"),
    ("TARE-GFR-1", "tare", "egfr_ml_min", "35", False, C, "-0.1"),
    ("TARE-LUNG-1", "tare", "planned_lung_dose_gy", "30", False, X, "0.000001"),
    ("TARE-LSF-1", "tare", "lsf_percent", "10", True, C, "0.01"),
    ("TARE-LSF-2", "tare", "lsf_percent", "15", True, C, "0.01"),
    ("PRRT-BURDEN-1", "prrt", "hepatic_tumour_burden_percent", "75", False, C, "0.01"),
]


def _value(boundary: str | int, step: str | int, times: int) -> Decimal | int:
    if isinstance(boundary, int):
        return boundary + times * int(step)
    return Decimal(boundary) + times * Decimal(str(step))


@pytest.mark.parametrize(("rule", "therapy", "name", "boundary", "at", "fired", "step"), CASES)
def test_boundary(
    rule: str, therapy: str, name: str, boundary: str | int, at: bool, fired: Level, step: str | int
) -> None:
    # "step" moves the value to the firing side; minus step is the safe side
    on_side = finding(run(**{name: _value(boundary, step, 1)}), rule, therapy)
    off_side = finding(run(**{name: _value(boundary, step, -1)}), rule, therapy)
    exact = finding(run(**{name: _value(boundary, step, 0)}), rule, therapy)
    assert on_side.level is fired
    assert off_side.level is Level.APPROPRIATE
    assert exact.level is (fired if at else Level.APPROPRIATE)
    assert name in exact.inputs
    assert exact.thresholds


_FOUR = {
    "hepatic_tumour_burden_percent": Decimal(50),
    "bilirubin_mg_dl": Decimal(2),
    "ldh_u_l": Decimal(425),
    "ast_u_l": Decimal(100),
}


@pytest.mark.parametrize("therapy", ["tae", "ctace", "debtace"])
def test_four_factor_rule_needs_all_four_above(therapy: str) -> None:
    """Each factor exactly at its limit is absent (the rule says '>'); all four just above: CAUTION."""
    above = {k: v + Decimal("0.01") for k, v in _FOUR.items()}
    assert finding(run(**above), "EMB-4FACTOR-1", therapy).level is C
    for name, limit in _FOUR.items():
        at_limit = finding(run(**{**above, name: limit}), "EMB-4FACTOR-1", therapy)
        assert at_limit.level is A, name
        assert name in at_limit.inputs


def test_four_factor_rule_with_unknown_factors() -> None:
    """One factor known to be absent settles the rule; otherwise unknown factors leave it open."""
    settled = finding(run(hepatic_tumour_burden_percent=Decimal(30)), "EMB-4FACTOR-1", "tae")
    assert settled.level is A
    assert "liver replacement 30 % <= 50 %" in settled.message
    open_ = run(hepatic_tumour_burden_percent=Decimal(60), bilirubin_mg_dl=Decimal("2.5"))
    pending = finding(open_, "EMB-4FACTOR-1", "tae")
    assert pending.level is Level.UNDETERMINED
    assert "2 of 4 factors present" in pending.message
    assert {m.input for m in open_.missing_inputs} >= {"ldh_u_l", "ast_u_l"}
    nothing = finding(run(), "EMB-4FACTOR-1", "ctace")
    assert nothing.level is Level.UNDETERMINED
    assert "0 of 4 factors present" in nothing.message


def test_float_boundary_is_exact() -> None:
    # 0.1 + 0.2 written as 0.3 is exactly 0.3: a float input is taken as its written decimal
    from nelm.decision.inputs import _number

    assert _number(0.3) == Decimal("0.3")
    at = finding(run(hepatic_tumour_burden_percent=_number(50.0)), "TX-BURDEN-1", "transplant")
    assert at.level is Level.APPROPRIATE


@pytest.mark.parametrize(
    ("prior", "planned", "level"),
    [("20", "30", A), ("20", "30.000001", X), ("0", "30", A), ("49.99", "0.01", A), ("49.99", "0.02", X)],
)
def test_cumulative_lung_dose(prior: str, planned: str, level: Level) -> None:
    # van Roekel: 50 Gy cumulative; > 50 contraindicated, 50 itself passes
    result = run(prior_lung_dose_gy=Decimal(prior), planned_lung_dose_gy=Decimal(planned))
    assert finding(result, "TARE-LUNG-2", "tare").level is level


@pytest.mark.parametrize(
    ("share", "level", "kind"),
    [
        ("100", A, "Type 1"),
        ("90", A, "Type 2"),
        ("89.99", C, "Type 2"),
        ("70.01", C, "Type 2"),
        ("70", X, "Type 3"),
        ("10", X, "Type 3"),
    ],
)
def test_debulking_and_jcm_type(share: str, level: Level, kind: str) -> None:
    # >= 90 % appropriate (Mayo default); Type 2 needs > 70 % (JCM 2023, exclusive)
    f = finding(run(resectable_percent=Decimal(share)), "RES-DEBULK-1", "resection")
    assert f.level is level
    assert kind in f.message


@pytest.mark.parametrize(("ecog", "level"), [(0, A), (1, A), (2, C), (3, X), (4, X)])
def test_resection_ecog(ecog: int, level: Level) -> None:
    assert finding(run(ecog=ecog), "RES-ECOG-1", "resection").level is level


@pytest.mark.parametrize(
    ("scores", "level"),
    [
        ({"L1": 3, "L2": 4}, A),  # all > liver
        ({"L1": 3, "L2": 2}, C),  # one = liver
        ({"L1": 2, "L2": 2}, C),  # Krenning 2 disease: NETTER-1 admitted it, default cut-off 3
        ({"L1": 1, "L2": 0}, X),  # all < liver: SSTR-negative
        ({"L1": 2, "L2": 1}, C),  # max 2 is not < 2
    ],
)
def test_krenning(scores: dict[str, int], level: Level) -> None:
    assert finding(run(krenning_scores=scores), "PRRT-SSTR-1", "prrt").level is level


@pytest.mark.parametrize(
    ("ki67", "who", "differentiation", "grade"),
    [
        ("2.99", "WHO 2019", None, "G1"),
        ("3", "WHO 2019", None, "G2"),
        ("2", "WHO 2010", None, "G1"),
        ("2.5", "WHO 2010", None, "G2"),
        ("2.5", None, None, "G1"),  # default WHO 2019
        ("20", "WHO 2019", None, "G2"),
        ("20.01", "WHO 2019", "well", "G3"),
        ("50", "WHO 2019", "poor", "NEC"),
    ],
)
def test_grade_from_ki67(ki67: str, who: str | None, differentiation: str | None, grade: str) -> None:
    values: dict[str, object] = {"ki67_percent": Decimal(ki67)}
    if who:
        values["who_classification"] = who
    if differentiation:
        values["differentiation"] = differentiation
    f = finding(run(**values), "PRRT-GRADE-1", "prrt")
    assert f"grade {grade}" in f.message


def test_grade_above_20_without_differentiation_is_undetermined() -> None:
    f = finding(run(ki67_percent=Decimal(25)), "LDT-GRADE-1", "tare")
    assert f.level is Level.UNDETERMINED
