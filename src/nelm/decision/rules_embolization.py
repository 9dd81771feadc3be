"""Bland embolization (TAE), conventional TACE and DEB-TACE (clinical-rules.md §2.4-§2.6, §9).

The three share the RETNET eligibility (Trials 2018, Table 1): PS 0-2, bilirubin <= 2.0 mg/dL,
albumin >= 3.0 g/dL, platelets >= 50 x10^9/L, INR <= 1.5, creatinine <= 2.0 mg/dL, liver burden
<= 70 %, indication = symptoms uncontrolled on SSA, hepatic progression or burden > 25 %.
§9 makes bilirubin > 2 and PS > 2 hard contraindications and the rest cautions; > 50 % liver
replacement and extrahepatic disease predict shorter survival (Sofocleous 2014); all four of > 50 %
replacement, bilirubin > 2 mg/dL, LDH > 425 U/L and AST > 100 U/L together are a caution (the
HCC-derived 4-factor rule; one factor known to be absent settles it); main portal vein
occlusion is a caution (an absolute TACE contraindication in HCC tables). Doxorubicin DEB-TACE is
CONTRAINDICATED by default for its biliary toxicity in NELM (⚠ configurable: ``debtace_level``).
Biliary status, grade and the interval since the last therapy: :mod:`nelm.decision.rules_common`.
"""

from __future__ import annotations

from decimal import Decimal

from nelm.case.vocabulary import PortalVeinThrombosis
from nelm.decision.engine import Context, Outcome, Rule, Therapy
from nelm.decision.levels import Level
from nelm.decision.rulekit import compare, flag_rule, threshold_rule

__all__ = ["RULES"]

_EMBOLIZATION = (Therapy.TAE, Therapy.CTACE, Therapy.DEBTACE)


def _indication(ctx: Context) -> Outcome:
    burden = ctx.number("hepatic_tumour_burden_percent")
    count = Decimal(ctx.value("lesion_count"))
    if compare(burden, ">", ctx.t("embolization_indication_burden_percent")):
        return Outcome(
            Level.APPROPRIATE,
            f"hepatic tumour burden {ctx.show('hepatic_tumour_burden_percent')} > "
            f"{ctx.tt('embolization_indication_burden_percent')}: meets the RETNET indication",
        )
    if compare(count, ">", ctx.t("ablation_max_lesions")):
        return Outcome(
            Level.APPROPRIATE,
            f"{count} lesions > {ctx.tt('ablation_max_lesions')}: multiple metastases, the endovascular "
            "setting; indicated when progressive or symptomatic",
        )
    return Outcome(
        Level.CONSIDER,
        f"burden {ctx.show('hepatic_tumour_burden_percent')} <= "
        f"{ctx.tt('embolization_indication_burden_percent')} and {count} lesion(s): embolotherapy is for "
        "progressive or symptomatic (uncontrolled on SSA) disease; few lesions suit ablation or resection",
    )


# (input, threshold, name) of the four factors, each present when the input exceeds its threshold
_FOUR_FACTORS = (
    ("hepatic_tumour_burden_percent", "embolization_four_factor_burden_percent", "liver replacement"),
    ("bilirubin_mg_dl", "embolization_four_factor_bilirubin_mg_dl", "bilirubin"),
    ("ldh_u_l", "embolization_four_factor_ldh_u_l", "LDH"),
    ("ast_u_l", "embolization_four_factor_ast_u_l", "AST"),
)


def _four_factor(ctx: Context) -> Outcome:
    """CAUTION when all four factors are present; one known to be absent settles it."""
    present, absent, unknown = [], [], []
    for name, limit, what in _FOUR_FACTORS:
        if ctx.value(name) is None:
            unknown.append(name)
        elif compare(ctx.number(name), ">", ctx.t(limit)):
            present.append(f"{what} {ctx.show(name)} > {ctx.tt(limit)}")
        else:
            absent.append(f"{what} {ctx.show(name)} <= {ctx.tt(limit)}")
    known = tuple(name for name, _, _ in _FOUR_FACTORS if name not in unknown)
    if absent:
        return Outcome(
            Level.APPROPRIATE,
            f"not all four risk factors are present ({'; '.join(absent)}); individually they do not "
            "predict post-procedural mortality",
            read=known,
        )
    if unknown:
        return Outcome(
            Level.UNDETERMINED,
            f"4-factor rule: {len(present)} of 4 factors present"
            + (f" ({'; '.join(present)})" if present else "")
            + f"; unknown: {', '.join(unknown)}",
            read=known,
            missing=tuple(unknown),
        )
    return Outcome(
        Level.CAUTION,
        f"all four risk factors present ({'; '.join(present)}): together strongly associated with "
        "post-procedural mortality (HCC-derived rule)",
        read=known,
    )


def _portal(therapy: Therapy) -> Rule:
    return flag_rule(
        "EMB-PV-1",
        therapy,
        input="portal_vein_thrombosis",
        title="portal vein thrombosis",
        fires_when=lambda v: v is PortalVeinThrombosis.MAIN,
        level=Level.CAUTION,
        yes="main portal vein thrombosis: severely reduced portal flow is an absolute TACE "
        "contraindication in HCC-derived tables; assess the portal flow",
        no="portal vein thrombosis: {value}",
        citations=("wjh2015_tace", "clinical_rules_s9"),
    )


def _gates(t: Therapy) -> tuple[Rule, ...]:
    return (
        threshold_rule(
            "EMB-BILI-1",
            t,
            input="bilirubin_mg_dl",
            threshold="embolization_bilirubin_max_mg_dl",
            fires=">",
            level=Level.CONTRAINDICATED,
            what="bilirubin",
            consequence="above the RETNET limit (<= 2.0 mg/dL)",
            citations=("retnet_table1", "clinical_rules_s9"),
        ),
        threshold_rule(
            "EMB-ECOG-1",
            t,
            input="ecog",
            threshold="embolization_ecog_max",
            fires=">",
            level=Level.CONTRAINDICATED,
            what="ECOG",
            consequence="performance status outside 0-2",
            citations=("retnet_table1", "clinical_rules_s9"),
        ),
        threshold_rule(
            "EMB-ALB-1",
            t,
            input="albumin_g_dl",
            threshold="embolization_albumin_min_g_dl",
            fires="<",
            level=Level.CAUTION,
            what="albumin",
            consequence="below the RETNET limit (>= 3.0 g/dL)",
            citations=("retnet_table1", "clinical_rules_s9"),
        ),
        threshold_rule(
            "EMB-PLT-1",
            t,
            input="platelets_10e9_l",
            threshold="embolization_platelets_min_10e9_l",
            fires="<",
            level=Level.CAUTION,
            what="platelets",
            consequence="below the RETNET limit (>= 50 x10^9/L)",
            citations=("retnet_table1",),
        ),
        threshold_rule(
            "EMB-INR-1",
            t,
            input="inr",
            threshold="embolization_inr_max",
            fires=">",
            level=Level.CAUTION,
            what="INR",
            consequence="above the RETNET limit (<= 1.5)",
            citations=("retnet_table1",),
        ),
        threshold_rule(
            "EMB-CREAT-1",
            t,
            input="creatinine_mg_dl",
            threshold="embolization_creatinine_max_mg_dl",
            fires=">",
            level=Level.CAUTION,
            what="creatinine",
            consequence="above the RETNET limit (<= 2.0 mg/dL)",
            citations=("retnet_table1",),
        ),
        threshold_rule(
            "EMB-BURDEN-1",
            t,
            input="hepatic_tumour_burden_percent",
            threshold="embolization_burden_caution_percent",
            fires=">",
            level=Level.CAUTION,
            what="hepatic tumour burden",
            consequence="> 50 % liver replacement predicts shorter survival after embolization",
            citations=("sofocleous2014", "clinical_rules_s9"),
        ),
        threshold_rule(
            "EMB-BURDEN-2",
            t,
            input="hepatic_tumour_burden_percent",
            threshold="embolization_burden_max_percent",
            fires=">",
            level=Level.CAUTION,
            what="hepatic tumour burden",
            consequence="outside the RETNET inclusion (<= 70 %)",
            citations=("retnet_table1",),
        ),
        Rule(
            "EMB-4FACTOR-1",
            t,
            "4-factor rule (liver replacement, bilirubin, LDH, AST)",
            (),
            tuple(limit for _, limit, _ in _FOUR_FACTORS),
            ("tace_four_factor", "clinical_rules_s9"),
            _four_factor,
        ),
        _portal(t),
        flag_rule(
            "EMB-EHD-1",
            t,
            input="extrahepatic_disease",
            title="extrahepatic disease",
            fires_when=lambda v: v is True,
            level=Level.CAUTION,
            yes="extrahepatic disease: predicts shorter survival after embolization; RETNET allows only "
            "nodes < 2 cm and/or bone",
            no="no extrahepatic disease (liver-only)",
            citations=("sofocleous2014", "retnet_table1"),
        ),
        Rule(
            "EMB-INDICATION-1",
            t,
            "indication for embolotherapy",
            ("hepatic_tumour_burden_percent", "lesion_count"),
            ("embolization_indication_burden_percent", "ablation_max_lesions"),
            ("retnet_protocol", "retnet_table1", "cazzato2021", "de_baere2015"),
            _indication,
        ),
    )


def _debtace(ctx: Context) -> Outcome:
    level = ctx.thresholds.level("debtace_level")
    return Outcome(
        level,
        "doxorubicin DEB-TACE in NELM: bilomas in 7/13 (Bhagat 2013), liver/biliary injury OR 6.63 (Guiu "
        f"2009), RETNET DEB-TACE arm halted; default {level.value} (override with a stated reason)",
    )


RULES: tuple[Rule, ...] = (
    *(rule for t in _EMBOLIZATION for rule in _gates(t)),
    Rule(
        "DEB-DEFAULT-1",
        Therapy.DEBTACE,
        "DEB-TACE biliary toxicity in NELM",
        (),
        ("debtace_level",),
        ("bhagat2013", "guiu2009", "retnet_debtace_halt", "gaur2011", "bonne2017"),
        _debtace,
    ),
)
