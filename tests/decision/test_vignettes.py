"""Patient vignettes written from the references, with the level per therapy derived by hand.

Each expected level cites the rule that decides it (clinical-rules.md sections in brackets).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from decision_helpers import finding, run

from nelm.case.model import Case, Clinical, Patient, TimePoint, Treatment
from nelm.decision import Level, advise, inputs_from_case

A, K, U, C, X = (Level.APPROPRIATE, Level.CONSIDER, Level.UNDETERMINED, Level.CAUTION, Level.CONTRAINDICATED)

_FIT = {
    "ecog": 0,
    "bilirubin_mg_dl": Decimal("0.5"),
    "albumin_g_dl": Decimal("4.0"),
    "inr": Decimal("1.0"),
    "platelets_10e9_l": Decimal(250),
    "leukocytes_10e9_l": Decimal("6.5"),
    "granulocytes_10e9_l": Decimal("4.0"),
    "creatinine_mg_dl": Decimal("0.8"),
    "egfr_ml_min": Decimal(90),
    "ascites": False,
    "portal_vein_thrombosis": "none",
    "bilioenteric_anastomosis": False,
    "biliary_stent": False,
    "sphincterotomy": False,
    "extrahepatic_disease": False,
    "primary_resected": True,
    "differentiation": "well",
    "who_classification": "WHO 2019",
}


def _levels(result: object) -> dict[str, Level]:
    return {t.therapy: t.level for t in result.therapies}  # type: ignore[attr-defined]


def test_solitary_small_g1_lesion() -> None:
    # 2.5 cm sphere = 8.2 mL in a 1500 mL liver: burden 0.55 %; surgeon: fully resectable, FLR 70 %
    result = run(
        **_FIT,
        grade="G1",
        ki67_percent=Decimal("1.5"),
        primary_site="small_intestine",
        functional_syndrome="none",
        somatostatin_analogue=False,
        age_years=50,
        hepatic_tumour_burden_percent=Decimal("0.55"),
        lesion_count=1,
        largest_lesion_mm=Decimal(25),
        krenning_scores={"L1": 3},
        resectable_percent=Decimal(100),
        flr_percent=Decimal(70),
        stable_disease_months=Decimal(12),
        prior_prrt=False,
        prior_whole_liver_tare=False,
        prior_lung_dose_gy=Decimal(0),
    )
    assert _levels(result) == {
        "resection": A,  # Type 1, 100 % >= 90 %, FLR 70 >= 20, ECOG 0, liver-only (§2.1)
        "transplant": K,  # all Milan-NET items met, but resectable -> resection first (Maspero 2022)
        "ablation": A,  # 25 mm <= 30 mm, 1 lesion <= 3, 0.55 % < 20 % (§2.3)
        "tae": K,  # burden <= 25 % and 1 lesion: not the embolization setting (RETNET, Cazzato)
        "ctace": K,
        "debtace": X,  # DEB-TACE default (§2.6)
        "tare": U,  # no MAA: lung dose and LSF unknown; otherwise CONSIDER
        "prrt": K,  # SSTR-positive but not on SSA (NETTER-1: progression on SSA)
    }
    assert "Type 1" in finding(result, "RES-DEBULK-1", "resection").message
    assert {m.input for m in result.missing_inputs} == {"lsf_percent", "planned_lung_dose_gy"}


def test_bilobar_40_percent_after_whipple() -> None:
    result = run(
        **{**_FIT, "bilioenteric_anastomosis": True, "ecog": 1},
        grade="G2",
        ki67_percent=Decimal(5),
        primary_site="pancreas",
        functional_syndrome="none",
        somatostatin_analogue=True,
        age_years=60,
        hepatic_tumour_burden_percent=Decimal(40),
        lesion_count=15,
        largest_lesion_mm=Decimal(45),
        distribution="bilobar",
        krenning_scores={"L1": 3, "L2": 4},
        days_since_last_therapy=730,
        prior_therapies=("resection 2024-01-10",),
        prior_prrt=False,
    )
    assert _levels(result) == {
        "resection": U,  # resectable share and FLR not given (surgeon's judgement)
        "transplant": C,  # age 60 > 55 and pancreatic primary (Sposito); burden 40 <= 50
        "ablation": C,  # abscess risk (Odisio), 45 mm > 30, 15 lesions, 40 % >= 20 %
        "tae": C,  # bilioenteric anastomosis: abscess (SIR, Lv 2016)
        "ctace": X,  # 6/7 Whipple abscesses; should not be offered (VanderWalde)
        "debtace": X,
        "tare": C,  # abscess risk lower (6.6 %, Agahi) but a caution; lung dose unknown
        "prrt": A,  # Krenning >= 3 everywhere, on SSA, G2, burden <= 75 %
    }


def test_75_percent_burden_bilirubin_2_4() -> None:
    result = run(
        **{**_FIT, "bilirubin_mg_dl": Decimal("2.4"), "albumin_g_dl": Decimal("2.9"), "ascites": True},
        grade="G2",
        ki67_percent=Decimal(12),
        primary_site="small_intestine",
        functional_syndrome="carcinoid",
        somatostatin_analogue=True,
        age_years=58,
        hepatic_tumour_burden_percent=Decimal(75),
        lesion_count=30,
        largest_lesion_mm=Decimal(80),
        distribution="bilobar",
        krenning_scores={"L1": 3, "L2": 4},
        resectable_percent=Decimal(40),
    )
    assert _levels(result) == {
        "resection": X,  # 40 % <= 70 %: JCM Type 3
        "transplant": X,  # 75 % > 50 % (Milan-NET)
        "ablation": C,  # size, count and burden cautions; no hard ablation rule is encoded
        "tae": X,  # bilirubin 2.4 > 2.0 (RETNET)
        "ctace": X,
        "debtace": X,
        "tare": X,  # bilirubin 2.4 > 2 mg/dL (van Roekel); also > 70 % burden, ascites
        "prrt": A,  # 75 % is not > 75 % (JNM 2023); SSTR-positive, on SSA
    }
    assert finding(result, "COMMON-SYNDROME-1", None).level is C  # carcinoid: crisis plan, cardiac work-up
    assert finding(result, "TARE-BURDEN-1", "tare").level is C
    assert "albumin 2.9 g/dL" in finding(result, "TARE-BURDEN-1", "tare").message


def test_krenning_2_prior_prrt_planned_whole_liver_tare() -> None:
    # built as a case: PRRT a year before; a whole-liver resin TARE planned after the baseline
    baseline = dt.date(2026, 3, 2)
    case = Case(
        case_id="VIGNETTE-4",
        patient=Patient(birth_date=dt.date(1960, 5, 1)),
        clinical=Clinical(
            **{
                **_FIT,
                "bilirubin_mg_dl": 0.5,
                "albumin_g_dl": 4.0,
                "inr": 1.0,
                "platelets_10e9_l": 250,
                "creatinine_mg_dl": 0.8,
                "egfr_ml_min": 90,
            },
            grade="G2",
            ki67_percent=6,
            primary_site="small_intestine",
            functional_syndrome="none",
            somatostatin_analogue=True,
        ),
        time_points=(TimePoint(id="baseline", date=baseline, kind="baseline"),),
        treatments=(
            Treatment(type="prrt", date=dt.date(2025, 3, 2), activity_gbq=7.4),
            Treatment(
                type="tare", date=dt.date(2026, 3, 20), device="resin", activity_gbq=1.6, target="whole_liver"
            ),
        ),
    )
    inputs = inputs_from_case(
        case,
        given={
            "krenning_scores": {"L1": 2, "L2": 2, "L3": 2},
            "hepatic_tumour_burden_percent": 30,
            "lesion_count": 20,
            "largest_lesion_mm": 35,
        },
    )
    assert inputs.assessment_date == baseline
    assert inputs.age_years == 65
    assert inputs.prior_prrt is True
    assert inputs.days_since_last_systemic_therapy == 365
    assert inputs.planned_tare_target == "whole_liver"
    assert inputs.prior_lung_dose_gy == 0
    assert inputs.source("bilirubin_mg_dl") == "case: clinical.bilirubin_mg_dl"
    assert inputs.source("krenning_scores") == "given"
    result = advise(inputs)
    assert _levels(result) == {
        "resection": U,  # resectable share, FLR not given
        "transplant": C,  # age 65 > 55
        "ablation": C,  # 35 mm > 30 mm, 20 lesions, burden 30 % >= 20 %
        "tae": A,  # labs fine, 365 d >= 30 d since PRRT, burden 30 % > 25 % (RETNET indication)
        "ctace": A,
        "debtace": X,
        "tare": C,  # prior PRRT (Braat 2019) and planned whole-liver (Su 2017); lung dose unknown
        "prrt": C,  # Krenning 2 everywhere: = liver (default cut-off >= 3; NETTER-1 admitted 2)
    }
    assert finding(result, "TARE-PRRT-1", "tare").level is C
    assert finding(result, "TARE-WHOLE-1", "tare").level is C
    assert finding(result, "INTERVAL-2", "tare").level is A


def test_phantom_clinical_data_only(tmp_path: object) -> None:
    # the phantom's clinical block (nelm phantom, seed 0) without measurements
    case = Case(
        case_id="NELM-PHANTOM-0000",
        patient=Patient(birth_date=dt.date(1961, 4, 12)),
        clinical=Clinical(
            primary_site="small_intestine",
            primary_resected=True,
            who_classification="WHO 2019",
            grade="G2",
            ki67_percent=8.0,
            differentiation="well",
            extrahepatic_disease=False,
            functional_syndrome="carcinoid",
            somatostatin_analogue=True,
            ecog=0,
            bilirubin_mg_dl=0.6,
            albumin_g_dl=4.2,
            inr=1.0,
            platelets_10e9_l=230,
            creatinine_mg_dl=0.8,
            egfr_ml_min=90,
            ascites=False,
            portal_vein_thrombosis="none",
            bilioenteric_anastomosis=False,
            biliary_stent=False,
            sphincterotomy=False,
        ),
        time_points=(TimePoint(id="baseline", date=dt.date(2026, 1, 12), kind="baseline"),),
        treatments=(
            Treatment(
                type="tare", date=dt.date(2026, 2, 16), device="glass", activity_gbq=2.5, target="right_lobe"
            ),
        ),
    )
    result = advise(inputs_from_case(case))
    assert _levels(result) == {
        "resection": U,
        "transplant": C,  # age 64 > 55 (Milan-NET)
        "ablation": U,  # no measurements
        "tae": U,
        "ctace": U,
        "debtace": X,
        "tare": U,
        "prrt": U,
    }
    assert finding(result, "COMMON-SYNDROME-1", None).level is C
    assert result.inputs["planned_therapies"].value == ["tare"]
    assert "hepatic_tumour_burden_percent" in {m.input for m in result.missing_inputs}
