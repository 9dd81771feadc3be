"""Worst-level aggregation, UNDETERMINED for missing inputs, the result's JSON shape."""

from __future__ import annotations

from decimal import Decimal

import pytest
from decision_helpers import finding, run

from nelm.decision import ALL_RULES, Level, Therapy, missing_inputs, worst
from nelm.decision.citations import CITATIONS
from nelm.decision.engine import Context, Outcome, Rule
from nelm.decision.inputs import DecisionInputs
from nelm.decision.thresholds import Thresholds
from nelm.errors import InputError

A, K, U, C, X = (Level.APPROPRIATE, Level.CONSIDER, Level.UNDETERMINED, Level.CAUTION, Level.CONTRAINDICATED)


@pytest.mark.parametrize(
    ("levels", "expected"),
    [
        ([A, A], A),
        ([A, K], K),
        ([K, U], U),  # an unchecked rule could have contraindicated: not "consider"
        ([U, C], C),  # a known caution is not hidden behind "undetermined"
        ([C, X, U], X),
        ([], U),  # nothing evaluated
    ],
)
def test_worst(levels: list[Level], expected: Level) -> None:
    assert worst(levels) is expected


def test_missing_input_is_undetermined_and_listed() -> None:
    result = run(bilirubin_mg_dl=Decimal("0.5"))
    f = finding(result, "EMB-ALB-1", "tae")
    assert f.level is U
    assert "albumin_g_dl" in f.message
    assert "albumin_g_dl" in missing_inputs(result)
    needed = {m.input: m.needed_by for m in result.missing_inputs}
    assert "EMB-ALB-1" in needed["albumin_g_dl"]
    assert finding(result, "EMB-BILI-1", "tae").level is A


def test_therapy_level_is_worst_of_its_findings() -> None:
    result = run(bilirubin_mg_dl=Decimal("2.4"))
    for therapy in result.therapies:
        assert therapy.level is worst(f.level for f in therapy.findings)
    assert result.level("tae") is X  # bilirubin 2.4 > 2.0 (RETNET)
    assert result.level("resection") is U  # nothing known but bilirubin, which resection does not read


def test_caution_beats_undetermined_in_a_therapy() -> None:
    # TARE with prior PRRT (Braat) and nothing else known: CAUTION, undetermined findings still listed
    result = run(prior_prrt=True)
    tare = result.therapy("tare")
    assert tare.level is C
    assert any(f.level is U for f in tare.findings)


def test_cross_cutting_does_not_change_therapy_levels() -> None:
    result = run(functional_syndrome="carcinoid")
    assert finding(result, "COMMON-SYNDROME-1", None).level is C
    assert "cardiac" in finding(result, "COMMON-SYNDROME-1", None).message
    assert result.level("prrt") is U


def test_every_rule_cites_known_sources() -> None:
    for rule in ALL_RULES:
        assert rule.citations
        assert all(c in CITATIONS for c in rule.citations)


def test_rule_without_citation_is_refused() -> None:
    with pytest.raises(ValueError, match="cites no source"):
        Rule("X-1", None, "x", (), (), (), lambda ctx: Outcome(A, "x"))


def test_rule_with_unknown_threshold_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown"):
        Rule("X-1", None, "x", (), ("no_such_threshold",), ("who2019",), lambda ctx: Outcome(A, "x"))


def test_json_shape() -> None:
    doc = run(bilirubin_mg_dl=Decimal("0.5"), hepatic_tumour_burden_percent=Decimal(40)).model_dump(
        mode="json"
    )
    assert set(doc) == {
        "disclaimer",
        "assessment_date",
        "therapies",
        "cross_cutting",
        "missing_inputs",
        "disagreements",
        "citations",
        "inputs",
        "not_encoded",
    }
    assert "not a medical device" in doc["disclaimer"]
    assert [t["therapy"] for t in doc["therapies"]] == [t.value for t in Therapy]
    f = doc["therapies"][0]["findings"][0]
    assert set(f) == {
        "rule_id",
        "therapy",
        "level",
        "message",
        "inputs",
        "thresholds",
        "citations",
        "disagreement",
    }
    assert doc["inputs"]["bilirubin_mg_dl"] == {"value": 0.5, "source": "test"}
    cited = {c for t in doc["therapies"] for f in t["findings"] for c in f["citations"]}
    assert cited <= set(doc["citations"])
    assert all(set(d) == {"parameter", "default", "alternatives", "citations"} for d in doc["disagreements"])
    names = {d["parameter"] for d in doc["disagreements"]}
    assert {"resection_debulking_percent", "transplant_age_max_years", "prrt_krenning_positive_min"} <= names
    assert {"debtace_level", "tare_lsf_policy_percent", "BILIARY-1", "TARE-WHOLE-1"} <= names
    assert doc["not_encoded"]
    assert all(set(n) == {"rule", "reason"} for n in doc["not_encoded"])


def test_finding_values_in_message() -> None:
    f = finding(run(largest_lesion_mm=Decimal("32.0")), "ABL-SIZE-1", "ablation")
    assert f.message.startswith("largest lesion 32 mm > 30 mm")
    assert f.inputs == {"largest_lesion_mm": "32 mm (test)"}
    assert f.thresholds == {"ablation_size_caution_mm": "30 mm"}


def test_summary_lines() -> None:
    lines = run(bilirubin_mg_dl=Decimal("2.4")).summary_lines()
    assert "not a medical device" in lines[0]
    assert any(line.strip().startswith("Bland embolization (TAE): CONTRAINDICATED") for line in lines)
    assert any("EMB-BILI-1" in line for line in lines)


def test_biliary_by_modality() -> None:
    # bilioenteric anastomosis: abscess risk by modality (clinical-rules §2.3, §2.5, §2.7)
    result = run(bilioenteric_anastomosis=True)
    assert finding(result, "BILIARY-1", "ablation").level is C  # Odisio: aggressive prophylaxis
    assert finding(result, "BILIARY-1", "tae").level is C
    assert finding(result, "BILIARY-1", "ctace").level is X  # VanderWalde, 6/7 Whipple abscesses
    assert finding(result, "BILIARY-1", "tare").level is C  # Agahi 6.6 %
    stent = run(biliary_stent=True)
    assert finding(stent, "BILIARY-1", "ctace").level is C
    sphincterotomy = run(bilioenteric_anastomosis=False, biliary_stent=False, sphincterotomy=True)
    assert finding(sphincterotomy, "BILIARY-1", "tare").level is A  # van Roekel: papillotomy exception
    assert finding(sphincterotomy, "BILIARY-1", "tae").level is C
    unknown = run(biliary_stent=False)
    assert finding(unknown, "BILIARY-1", "tae").level is U


def test_grade_disagreement_cross_cutting() -> None:
    # Ki-67 2.5 %: G1 under WHO 2019, G2 under WHO 2010
    agrees = run(grade="G1", ki67_percent=Decimal("2.5"), who_classification="WHO 2019")
    assert finding(agrees, "COMMON-GRADE-1", None).level is A
    differs = run(grade="G1", ki67_percent=Decimal("2.5"), who_classification="WHO 2010")
    assert finding(differs, "COMMON-GRADE-1", None).level is C


def test_nec_contraindicates_ldt() -> None:
    result = run(grade="NEC")
    for therapy in ("resection", "ablation", "tae", "ctace", "debtace", "tare"):
        assert finding(result, "LDT-GRADE-1", therapy).level is X
    assert finding(result, "TX-GRADE-1", "transplant").level is X
    g3 = run(grade="G3")
    assert finding(g3, "LDT-GRADE-1", "tae").level is C


def test_netpet() -> None:
    assert finding(run(netpet_grade="P5"), "PRRT-NETPET-1", "prrt").level is X
    assert finding(run(netpet_grade="P4b"), "PRRT-NETPET-1", "prrt").level is C
    assert finding(run(netpet_grade="P1"), "PRRT-NETPET-1", "prrt").level is A
    assert finding(run(grade="G3"), "PRRT-NETPET-1", "prrt").level is U
    assert finding(run(grade="G1"), "PRRT-NETPET-1", "prrt").level is A


def test_bad_netpet_grade() -> None:
    with pytest.raises(InputError, match="netpet_grade"):
        DecisionInputs(netpet_grade="P9")


def test_bad_krenning_score() -> None:
    with pytest.raises(InputError, match="Krenning"):
        DecisionInputs(krenning_scores={"L1": 5})


def test_context_derived_grade_source() -> None:
    ctx = Context(DecisionInputs(ki67_percent=Decimal(8)), Thresholds())
    assert ctx.value("grade") == "G2"
    assert "WHO 2019" in ctx.source("grade")
