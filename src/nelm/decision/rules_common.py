"""Cross-cutting rules (clinical-rules.md §1, §2.9 and the "Any LDT" row of §9).

========================  =========================  ==================================================
rule                      applies to                 rule (source)
========================  =========================  ==================================================
COMMON-SYNDROME-1         cross-cutting              functional syndrome -> crisis plan; carcinoid ->
                                                     cardiac work-up (ENETS 2017 CoP; octreotide ⚠)
COMMON-SSA-1              cross-cutting              functional syndrome without SSA -> CAUTION
COMMON-GRADE-1            cross-cutting              given grade disagrees with Ki-67 under the WHO
                                                     version -> CAUTION (WHO 2010 vs 2019 ⚠)
LDT-GRADE-1               every LDT                  NEC/poorly differentiated -> CONTRAINDICATED; G3 ->
                                                     CAUTION (§9; Du 2015 weak counter-evidence)
BILIARY-1                 ablation, TAE, cTACE,      bilioenteric anastomosis / stent / sphincterotomy
                          DEB-TACE, TARE             -> abscess risk by modality (§2.3, §2.5, §2.7)
INTERVAL-1                TAE, cTACE, DEB-TACE       < 30 days since the last therapy -> CAUTION (RETNET)
INTERVAL-2                TARE                       < 28 days since systemic therapy -> CAUTION
========================  =========================  ==================================================
"""

from __future__ import annotations

from nelm.case.vocabulary import FunctionalSyndrome, Grade
from nelm.decision.engine import LDT, Context, Outcome, Rule, Therapy, derive_grade
from nelm.decision.inputs import DecisionInputs
from nelm.decision.levels import Level
from nelm.decision.rulekit import compare

__all__ = ["RULES"]

_OCTREOTIDE = (
    "octreotide prophylaxis is standard practice, but continuous intra-operative infusion did not prevent "
    "crises (Condron 2016) and octreotide was not protective in an LDT cohort (Kwon 2019)"
)
_BILIARY_DISAGREE = (
    "abscess risk after bilioenteric anastomosis is high with TACE (6/7 after Whipple) but low with "
    "TARE (1/15, 6.6 %, Agahi 2022)"
)


def _syndrome(ctx: Context) -> Outcome:
    syndrome = ctx.value("functional_syndrome")
    if syndrome is FunctionalSyndrome.NONE:
        return Outcome(Level.APPROPRIATE, "no functional syndrome: no hormonal-crisis plan needed")
    if syndrome is FunctionalSyndrome.CARCINOID:
        return Outcome(
            Level.CAUTION,
            "carcinoid syndrome: before any intervention plan carcinoid-crisis prophylaxis and management "
            "(vasopressors at hand) and a cardiac work-up (NT-proBNP, echocardiography; carcinoid heart "
            "disease in up to about 50 %); crisis or instability in 32 % of LDT procedures (Kwon 2019), "
            "1 % after the first PRRT cycle",
        )
    return Outcome(
        Level.CAUTION,
        f"functional syndrome ({ctx.show('functional_syndrome')}): plan hormonal-crisis prevention and "
        "management before any intervention; symptom control is itself an indication for LDT (RETNET)",
    )


def _ssa(ctx: Context) -> Outcome:
    if ctx.value("somatostatin_analogue"):
        return Outcome(
            Level.APPROPRIATE, "on a somatostatin analogue: continue it around interventions (ENETS 2017)"
        )
    return Outcome(
        Level.CAUTION,
        f"functional syndrome ({ctx.show('functional_syndrome')}) without a somatostatin analogue: a "
        "long-acting SSA controls hormone output and is given to prevent crisis during interventions",
        read=("functional_syndrome",),
    )


def _grade_consistency(ctx: Context) -> Outcome:
    inputs = ctx.inputs
    given = inputs.grade
    bare = DecisionInputs(
        ki67_percent=inputs.ki67_percent,
        who_classification=inputs.who_classification,
        differentiation=inputs.differentiation,
    )
    derived = derive_grade(bare, ctx.thresholds)
    read = ("ki67_percent", "who_classification", "differentiation")
    if derived is None:
        return Outcome(Level.APPROPRIATE, f"grade {given} given; Ki-67 does not fix a grade on its own", read)
    if derived[0] is given:
        return Outcome(Level.APPROPRIATE, f"grade {given} agrees with Ki-67 ({derived[1]})", read)
    version = "" if inputs.who_classification else " (WHO version not recorded; WHO 2019 assumed)"
    return Outcome(
        Level.CAUTION,
        f"grade {given} given but Ki-67 {ctx.show('ki67_percent')} gives {derived[0]}{version}: check the "
        "pathology report and the WHO classification version (G1 <=2 % in WHO 2010, <3 % in WHO 2017/2019)",
        read,
    )


def _ldt_grade(therapy: Therapy) -> Rule:
    def check(ctx: Context) -> Outcome:
        grade = ctx.value("grade")
        if grade is Grade.NEC:
            return Outcome(
                Level.CONTRAINDICATED,
                "neuroendocrine carcinoma (poorly differentiated): liver-directed therapy not "
                "indicated unless the tumour board overrides (weak counter-evidence: Du 2015, G3 series)",
            )
        if grade is Grade.G3:
            return Outcome(
                Level.CAUTION,
                "G3 NET: the LDT evidence is for G1/G2; consider FDG PET and systemic options",
            )
        return Outcome(Level.APPROPRIATE, f"grade {grade}: well-differentiated G1/G2, the LDT population")

    return Rule(
        rule_id="LDT-GRADE-1",
        therapy=therapy,
        title="WHO grade for liver-directed therapy",
        needs=("grade",),
        thresholds=("g3_above_ki67_percent",),
        citations=("clinical_rules_s9", "nelm_review_2020", "cazzato2021", "du2015"),
        check=check,
    )


_BILIARY_INPUTS = ("bilioenteric_anastomosis", "biliary_stent", "sphincterotomy")


def _biliary(therapy: Therapy) -> Rule:
    counted = ("bilioenteric_anastomosis", "biliary_stent") if therapy is Therapy.TARE else _BILIARY_INPUTS
    level_name = "ctace_bilioenteric_level" if therapy in (Therapy.CTACE, Therapy.DEBTACE) else None

    def check(ctx: Context) -> Outcome:
        present = [n for n in counted if ctx.value(n) is True]
        unknown = tuple(n for n in counted if ctx.value(n) is None)
        if not present:
            if unknown:
                return Outcome(
                    Level.UNDETERMINED,
                    f"biliary status unknown ({', '.join(unknown)}): abscess risk cannot be assessed",
                    missing=unknown,
                )
            tail = (
                " (a sphincterotomy alone is an exception for TARE, van Roekel)"
                if therapy is Therapy.TARE and ctx.value("sphincterotomy")
                else ""
            )
            return Outcome(
                Level.APPROPRIATE, "no bilioenteric anastomosis, biliary stent or sphincterotomy" + tail
            )
        names = ", ".join(n.replace("_", " ") for n in present)
        if therapy is Therapy.ABLATION:
            return Outcome(
                Level.CAUTION,
                f"{names}: high liver-abscess risk after ablation; aggressive antibiotic prophylaxis is "
                "mandatory (abscess 2/2 with standard vs 0/10 with an aggressive regimen, Odisio 2016)",
            )
        if level_name is not None and ctx.value("bilioenteric_anastomosis") is True:
            return Outcome(
                ctx.thresholds.level(level_name),
                "bilioenteric anastomosis: liver abscess after chemoembolization in 6 of 7 Whipple patients "
                "despite prophylaxis; TACE should not be offered except in rare cases with aggressive "
                "prophylaxis",
            )
        if therapy is Therapy.TARE:
            return Outcome(
                Level.CAUTION,
                f"{names}: hepatobiliary infection risk after TARE (abscess 1/15, 6.6 %, Agahi 2022; lower "
                "than after TACE); antibiotic prophylaxis",
            )
        return Outcome(
            Level.CAUTION,
            f"{names}: abscess risk after embolization (57 % of post-TACE abscesses had an anastomosis or "
            "stent, Lv 2016; SIR major complication); aggressive antibiotic prophylaxis",
        )

    citations = {
        Therapy.ABLATION: ("odisio2016",),
        Therapy.TAE: ("sir_qi_tace", "lv2016"),
        Therapy.CTACE: ("scvir_whipple", "vanderwalde2009", "lv2016", "sir_qi_tace"),
        Therapy.DEBTACE: ("scvir_whipple", "vanderwalde2009", "lv2016", "sir_qi_tace"),
        Therapy.TARE: ("agahi2022", "van_roekel"),
    }[therapy]
    return Rule(
        rule_id="BILIARY-1",
        therapy=therapy,
        title="biliary status (abscess risk)",
        needs=(),
        thresholds=() if level_name is None else (level_name,),
        citations=citations,
        check=check,
        disagreement=_BILIARY_DISAGREE,
    )


def _interval(therapy: Therapy, rule_id: str, days_input: str, threshold: str, what: str) -> Rule:
    def check(ctx: Context) -> Outcome:
        days = ctx.value(days_input)
        if days is None:
            return Outcome(Level.APPROPRIATE, f"no prior {what} in the case", read=("prior_therapies",))
        from decimal import Decimal

        if compare(Decimal(days), "<", ctx.t(threshold)):
            return Outcome(
                Level.CAUTION,
                f"{ctx.show(days_input)} since the last {what} < {ctx.tt(threshold)}",
                read=(days_input, "prior_therapies"),
            )
        return Outcome(
            Level.APPROPRIATE,
            f"{ctx.show(days_input)} since the last {what} >= {ctx.tt(threshold)}",
            read=(days_input, "prior_therapies"),
        )

    return Rule(
        rule_id=rule_id,
        therapy=therapy,
        title=f"interval since the last {what}",
        needs=(),
        thresholds=(threshold,),
        citations=("retnet_table1",) if threshold.startswith("embolization") else ("van_roekel",),
        check=check,
    )


def _syndrome_known_functional(ctx: Context) -> bool:
    value = ctx.value("functional_syndrome")
    return value is not None and value is not FunctionalSyndrome.NONE


RULES: tuple[Rule, ...] = (
    Rule(
        rule_id="COMMON-SYNDROME-1",
        therapy=None,
        title="functional syndrome (carcinoid crisis)",
        needs=("functional_syndrome",),
        thresholds=(),
        citations=("enets2017_periop", "kwon2019", "condron2016", "prrt_crisis", "retnet_table1"),
        check=_syndrome,
        disagreement=_OCTREOTIDE,
    ),
    Rule(
        rule_id="COMMON-SSA-1",
        therapy=None,
        title="somatostatin analogue in a functional syndrome",
        needs=("somatostatin_analogue",),
        thresholds=(),
        citations=("enets2017_periop",),
        check=_ssa,
        applies=_syndrome_known_functional,
    ),
    Rule(
        rule_id="COMMON-GRADE-1",
        therapy=None,
        title="grade and Ki-67 agree",
        needs=("ki67_percent",),
        thresholds=("who2019_g1_below_ki67_percent", "who2010_g1_max_ki67_percent", "g3_above_ki67_percent"),
        citations=("who2019", "who2010"),
        check=_grade_consistency,
        applies=lambda ctx: ctx.inputs.grade is not None,
    ),
    *(_ldt_grade(t) for t in LDT),
    *(_biliary(t) for t in (Therapy.ABLATION, Therapy.TAE, Therapy.CTACE, Therapy.DEBTACE, Therapy.TARE)),
    *(
        _interval(t, "INTERVAL-1", "days_since_last_therapy", "embolization_interval_min_days", "therapy")
        for t in (Therapy.TAE, Therapy.CTACE, Therapy.DEBTACE)
    ),
    _interval(
        Therapy.TARE,
        "INTERVAL-2",
        "days_since_last_systemic_therapy",
        "tare_interval_min_days",
        "systemic therapy",
    ),
)
