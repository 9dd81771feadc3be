"""Y-90 radioembolization (TARE/SIRT) rules (clinical-rules.md §2.7, §9).

Hard (CONTRAINDICATED): planned lung dose > 30 Gy per treatment or > 50 Gy cumulative; bilirubin
> 2 mg/dL without reversible cause (level configurable, ⚠ relative in van Roekel); ECOG > 2.
Cautions: LSF >= 10 % (NET prognosis, Ludwig) and >= 15 % (⚠ withhold vs reduce); > 70 % burden
unless synthetic function preserved; main PV thrombosis; ascites; leukocytes < 2 and granulocytes
< 1.5 x10^9/L; platelets < 50; INR > 1.5; GFR < 35; extrahepatic disease; prior PRRT (Braat
2019); whole-liver treatment planned or given (⚠ Su 2017 vs Tomozawa 2018). Bilirubin > 1.2 mg/dL
is CONSIDER (poor prognosis, Ludwig).

The lung dose and LSF come from nelm's Y-90 plan (:func:`nelm.y90.plan.plan_y90`, primary model),
whose own safety checks (:mod:`nelm.y90.safety`: deliverability, resin LSF bands, normal-liver
dose, perfused-volume mismatch) are carried into TARE-Y90-1 rather than re-implemented. The lung
and LSF thresholds default to :class:`nelm.y90.safety.SafetyLimits`.
"""

from __future__ import annotations

from decimal import Decimal

from nelm.case.vocabulary import PortalVeinThrombosis
from nelm.decision.engine import Context, Outcome, Rule, Therapy
from nelm.decision.inputs import decimal_text
from nelm.decision.levels import Level, worst
from nelm.decision.rulekit import compare, flag_rule, threshold_rule

__all__ = ["RULES"]

Y = Therapy.TARE

_PLAN_CODES = {
    "plan_not_deliverable",
    "normal_liver_dose",
    "lsf_resin_band",
    "perfused_volume_mismatch",
    "model_device",
}
"""Checks of nelm.y90.safety carried into TARE-Y90-1 (the others are rules of their own here)."""

_SAFETY_LEVEL = {"block": Level.CONTRAINDICATED, "warn": Level.CAUTION, "info": Level.APPROPRIATE}

_WHOLE_DISAGREE = (
    "long-term hepatotoxicity after whole-liver glass Y-90 is substantial (Su 2017: cirrhosis-like "
    "morphology 56 % vs 27 %) vs 'high safety profile' with resin (Tomozawa 2018)"
)


def _cumulative(ctx: Context) -> Outcome:
    prior = ctx.number("prior_lung_dose_gy")
    planned = ctx.number("planned_lung_dose_gy")
    total = prior + planned
    limit = ctx.t("tare_lung_dose_cumulative_max_gy")
    shown = (
        f"cumulative lung dose {decimal_text(total)} Gy (prior {ctx.show('prior_lung_dose_gy')} + planned "
        f"{ctx.show('planned_lung_dose_gy')})"
    )
    if compare(total, ">", limit):
        return Outcome(Level.CONTRAINDICATED, f"{shown} > {ctx.tt('tare_lung_dose_cumulative_max_gy')}")
    return Outcome(Level.APPROPRIATE, f"{shown} <= {ctx.tt('tare_lung_dose_cumulative_max_gy')}")


def _whole_liver(ctx: Context) -> Outcome:
    planned = ctx.value("planned_tare_target")
    prior = ctx.value("prior_whole_liver_tare")
    read = ("planned_tare_target", "prior_whole_liver_tare")
    reasons = []
    if planned == "whole_liver":
        reasons.append("whole-liver treatment planned")
    if prior is True:
        reasons.append("whole-liver radioembolization given before")
    if reasons:
        return Outcome(
            Level.CAUTION,
            f"{'; '.join(reasons)}: long-term hepatotoxicity in long survivors (cirrhosis-like morphology, "
            "ascites, portal hypertension); prefer lobar or segmental treatment",
            read,
        )
    if prior is None:
        return Outcome(
            Level.UNDETERMINED,
            "an earlier TARE has no target: whether the whole liver was treated is unknown",
            read,
            missing=("prior_whole_liver_tare",),
        )
    target = "not recorded" if planned is None else planned
    return Outcome(Level.APPROPRIATE, f"no whole-liver treatment (planned target: {target})", read)


def _burden(ctx: Context) -> Outcome:
    burden = ctx.number("hepatic_tumour_burden_percent")
    shown = ctx.show("hepatic_tumour_burden_percent")
    if compare(burden, ">", ctx.t("tare_burden_max_percent")):
        return Outcome(
            Level.CAUTION,
            f"hepatic tumour burden {shown} > {ctx.tt('tare_burden_max_percent')}: TARE only if liver "
            f"synthetic function is preserved (albumin {ctx.show('albumin_g_dl')}, "
            f"bilirubin {ctx.show('bilirubin_mg_dl')})",
            read=("albumin_g_dl", "bilirubin_mg_dl"),
        )
    return Outcome(Level.APPROPRIATE, f"hepatic tumour burden {shown} <= {ctx.tt('tare_burden_max_percent')}")


def _plan_checks(ctx: Context) -> Outcome:
    findings = [f for f in ctx.value("y90_plan_findings") if f[0] in _PLAN_CODES]
    flagged = [f for f in findings if f[1] != "info"]
    if not flagged:
        return Outcome(Level.APPROPRIATE, "Y-90 plan safety checks (nelm y90 plan): nothing flagged")
    level = worst(_SAFETY_LEVEL[f[1]] for f in flagged)
    text = "; ".join(f"{f[1].upper()} {f[0]}: {f[2]}" for f in flagged)
    return Outcome(level, f"Y-90 plan safety checks (nelm y90 plan): {text}")


def _indication(ctx: Context) -> Outcome:
    burden = ctx.number("hepatic_tumour_burden_percent")
    count = Decimal(ctx.value("lesion_count"))
    if compare(burden, ">", ctx.t("embolization_indication_burden_percent")) or compare(
        count, ">", ctx.t("ablation_max_lesions")
    ):
        return Outcome(
            Level.APPROPRIATE,
            f"{count} lesion(s), burden {ctx.show('hepatic_tumour_burden_percent')}, "
            f"{ctx.show('distribution')}: liver-dominant multifocal disease, where RE substitutes "
            "for TAE/TACE",
            read=("distribution",),
        )
    return Outcome(
        Level.CONSIDER,
        f"{count} lesion(s), burden {ctx.show('hepatic_tumour_burden_percent')}: few lesions suit "
        "ablation or resection; RE (e.g. radiation segmentectomy) is an alternative",
    )


RULES: tuple[Rule, ...] = (
    threshold_rule(
        "TARE-BILI-1",
        Y,
        input="bilirubin_mg_dl",
        threshold="tare_bilirubin_max_mg_dl",
        fires=">",
        level="tare_bilirubin_level",
        what="bilirubin",
        consequence="TARE contraindicated unless a reversible cause is treated",
        citations=("van_roekel", "reboc_list", "clinical_rules_s9"),
    ),
    threshold_rule(
        "TARE-BILI-2",
        Y,
        input="bilirubin_mg_dl",
        threshold="tare_bilirubin_prognosis_mg_dl",
        fires=">",
        level=Level.CONSIDER,
        what="bilirubin",
        consequence="an independent poor-prognosis factor after Y-90 in NET",
        citations=("ludwig_lsf",),
    ),
    threshold_rule(
        "TARE-ECOG-1",
        Y,
        input="ecog",
        threshold="tare_ecog_max",
        fires=">",
        level=Level.CONTRAINDICATED,
        what="ECOG",
        consequence="TARE is indicated for ECOG <= 2",
        citations=("van_roekel",),
    ),
    Rule(
        "TARE-BURDEN-1",
        Y,
        "tumour burden for TARE",
        ("hepatic_tumour_burden_percent",),
        ("tare_burden_max_percent",),
        ("reboc_list", "clinical_rules_s9"),
        _burden,
    ),
    threshold_rule(
        "TARE-PLT-1",
        Y,
        input="platelets_10e9_l",
        threshold="tare_platelets_min_10e9_l",
        fires="<",
        level=Level.CAUTION,
        what="platelets",
        consequence="listed among TARE contraindications",
        citations=("van_roekel",),
    ),
    threshold_rule(
        "TARE-WBC-1",
        Y,
        input="leukocytes_10e9_l",
        threshold="tare_leukocytes_min_10e9_l",
        fires="<",
        level=Level.CAUTION,
        what="leukocytes",
        consequence="listed among TARE contraindications",
        citations=("van_roekel",),
    ),
    threshold_rule(
        "TARE-GRAN-1",
        Y,
        input="granulocytes_10e9_l",
        threshold="tare_granulocytes_min_10e9_l",
        fires="<",
        level=Level.CAUTION,
        what="granulocytes",
        consequence="listed among radioembolization contraindications (REBOC-type list)",
        citations=("reboc_list",),
    ),
    threshold_rule(
        "TARE-INR-1",
        Y,
        input="inr",
        threshold="tare_inr_max",
        fires=">",
        level=Level.CAUTION,
        what="INR",
        consequence="listed among TARE contraindications",
        citations=("van_roekel",),
    ),
    threshold_rule(
        "TARE-GFR-1",
        Y,
        input="egfr_ml_min",
        threshold="tare_gfr_min_ml_min",
        fires="<",
        level=Level.CAUTION,
        what="GFR",
        consequence="listed among TARE contraindications",
        citations=("van_roekel",),
    ),
    flag_rule(
        "TARE-PV-1",
        Y,
        input="portal_vein_thrombosis",
        title="portal vein thrombosis",
        fires_when=lambda v: v is PortalVeinThrombosis.MAIN,
        level=Level.CAUTION,
        yes="main portal vein thrombosis: listed as a TARE contraindication outside HCC",
        no="portal vein thrombosis: {value}",
        citations=("van_roekel", "clinical_rules_s9"),
    ),
    flag_rule(
        "TARE-ASCITES-1",
        Y,
        input="ascites",
        title="ascites",
        fires_when=lambda v: v is True,
        level=Level.CAUTION,
        yes="ascites: an independent poor-survival factor after resin TARE",
        no="no ascites",
        citations=("tomozawa2018",),
    ),
    flag_rule(
        "TARE-EHD-1",
        Y,
        input="extrahepatic_disease",
        title="extrahepatic disease",
        fires_when=lambda v: v is True,
        level=Level.CAUTION,
        yes="extrahepatic disease: RE is for liver-only or limited extrahepatic disease",
        no="no extrahepatic disease (liver-only)",
        citations=("de_baere2015",),
    ),
    flag_rule(
        "TARE-PRRT-1",
        Y,
        input="prior_prrt",
        title="prior PRRT",
        fires_when=lambda v: v is True,
        level=Level.CAUTION,
        yes="prior PRRT: cumulative radiation to the liver; RE after PRRT is feasible but fatal REILD "
        "occurred in 2 % (Braat 2019)",
        no="no prior PRRT",
        citations=("braat2019",),
    ),
    Rule(
        "TARE-WHOLE-1",
        Y,
        "whole-liver radioembolization",
        (),
        (),
        ("su2017", "tomozawa2018"),
        _whole_liver,
        disagreement=_WHOLE_DISAGREE,
    ),
    threshold_rule(
        "TARE-LUNG-1",
        Y,
        input="planned_lung_dose_gy",
        threshold="tare_lung_dose_max_gy",
        fires=">",
        level=Level.CONTRAINDICATED,
        what="planned lung dose",
        consequence="above the per-treatment lung dose limit",
        citations=("van_roekel", "sangro_lsf"),
    ),
    Rule(
        "TARE-LUNG-2",
        Y,
        "cumulative lung dose",
        ("planned_lung_dose_gy", "prior_lung_dose_gy"),
        ("tare_lung_dose_cumulative_max_gy",),
        ("van_roekel", "sangro_lsf"),
        _cumulative,
    ),
    threshold_rule(
        "TARE-LSF-1",
        Y,
        input="lsf_percent",
        threshold="tare_lsf_prognosis_percent",
        fires=">=",
        level=Level.CAUTION,
        what="lung shunt fraction",
        consequence="median OS 4.8 vs 42.8 months in NET (Ludwig)",
        citations=("ludwig_lsf",),
    ),
    threshold_rule(
        "TARE-LSF-2",
        Y,
        input="lsf_percent",
        threshold="tare_lsf_policy_percent",
        fires=">=",
        level=Level.CAUTION,
        what="lung shunt fraction",
        consequence="withhold (Sangro) or reduce the activity (resin bands) by local policy; the lung dose "
        "limit governs",
        citations=("sangro_lsf", "van_roekel"),
    ),
    Rule(
        "TARE-Y90-1",
        Y,
        "Y-90 plan safety checks",
        ("y90_plan_findings",),
        (),
        ("nelm_y90_safety",),
        _plan_checks,
        applies=lambda ctx: ctx.value("y90_plan_findings") is not None,
    ),
    Rule(
        "TARE-INDICATION-1",
        Y,
        "indication for radioembolization",
        ("hepatic_tumour_burden_percent", "lesion_count"),
        ("embolization_indication_burden_percent", "ablation_max_lesions"),
        ("de_baere2015", "retnet_table1", "clinical_rules_s9"),
        _indication,
    ),
)
