"""Resection/cytoreduction and liver transplantation rules (clinical-rules.md §2.1, §2.2, §9).

Resection (§2.1): PS acceptable for major liver surgery, G1/G2 (LDT-GRADE-1), no extrahepatic
disease, adequate future liver remnant, and a resectable share of >= 90 % (⚠ 70 %). The JCM 2023
classification is reported from the resectable share the team gives (``resectable_percent``):
Type 1 = completely clearable (100 %); Type 2 = debulking > 70 % achievable (parenchyma-sparing
plus ablation); Type 3 = > 70 % not achievable (non-surgical LDT or systemic therapy). The
debulking threshold is checked first, so a board that sets it to 70 % reads 70 % as appropriate.

Transplantation (§2.2, Milan-NET, Mazzaferro 2007; later variant Citterio 2023): low grade
(G1/G2; Ki-67 >= 10 % CAUTION), portal-drained primary removed before, hepatic involvement <= 50 %,
no extrahepatic disease, stability >= 6 months (⚠ 3-6), age <= 55 (⚠ 60); pancreatic primary is an
adverse factor (Sposito 2017); resection remains first for resectable disease (Maspero 2022).
"""

from __future__ import annotations

from nelm.case.vocabulary import Grade, PrimarySite
from nelm.decision.engine import Context, Outcome, Rule, Therapy
from nelm.decision.levels import Level
from nelm.decision.rulekit import compare, flag_rule, threshold_rule

__all__ = ["RULES"]

R, T = Therapy.RESECTION, Therapy.TRANSPLANT


def _ecog(ctx: Context) -> Outcome:
    ecog = ctx.number("ecog")
    if compare(ecog, ">", ctx.t("resection_ecog_max")):
        return Outcome(
            Level.CONTRAINDICATED,
            f"ECOG {ecog} > {ctx.tt('resection_ecog_max')}: unfit for major liver surgery",
        )
    if compare(ecog, ">", ctx.t("resection_ecog_caution_above")):
        return Outcome(
            Level.CAUTION,
            f"ECOG {ecog} > {ctx.tt('resection_ecog_caution_above')}: fitness for major liver surgery to be "
            "confirmed",
        )
    return Outcome(Level.APPROPRIATE, f"ECOG {ecog} <= {ctx.tt('resection_ecog_caution_above')}")


def _jcm_type(ctx: Context) -> str:
    share = ctx.number("resectable_percent")
    if share == 100:
        return "JCM Type 1 (completely clearable)"
    if compare(share, ">", ctx.t("resection_type2_above_percent")):
        return "JCM Type 2 (debulking > 70 % achievable with parenchyma-sparing resection plus ablation)"
    return "JCM Type 3 (> 70 % debulking not achievable: non-surgical LDT or systemic therapy)"


def _debulking(ctx: Context) -> Outcome:
    share = ctx.number("resectable_percent")
    shown = ctx.show("resectable_percent")
    kind = _jcm_type(ctx)
    if compare(share, ">=", ctx.t("resection_debulking_percent")):
        return Outcome(
            Level.APPROPRIATE, f"resectable share {shown} >= {ctx.tt('resection_debulking_percent')}: {kind}"
        )
    if compare(share, ">", ctx.t("resection_type2_above_percent")):
        return Outcome(
            Level.CAUTION,
            f"resectable share {shown} < {ctx.tt('resection_debulking_percent')} but > "
            f"{ctx.tt('resection_type2_above_percent')}: {kind}; benefit of 70-90 % cytoreduction is debated",
        )
    return Outcome(
        Level.CONTRAINDICATED,
        f"resectable share {shown} <= {ctx.tt('resection_type2_above_percent')}: {kind}",
    )


def _primary_note(ctx: Context) -> Outcome:
    if ctx.value("primary_resected"):
        return Outcome(Level.APPROPRIATE, "primary tumour already resected")
    return Outcome(
        Level.APPROPRIATE,
        "primary tumour in situ: for synchronous resectable NELM, resect the primary (staged or combined); "
        "concomitant ablation is generally safe and widens eligibility",
    )


def _tx_grade(ctx: Context) -> Outcome:
    grade = ctx.value("grade")
    if grade in (Grade.G3, Grade.NEC):
        return Outcome(Level.CONTRAINDICATED, f"grade {grade}: Milan-NET requires a low-grade NET")
    return Outcome(Level.APPROPRIATE, f"grade {grade}: low-grade NET (Milan-NET)")


_PORTAL = {
    PrimarySite.PANCREAS: (Level.APPROPRIATE, "pancreas: portal drainage"),
    PrimarySite.SMALL_INTESTINE: (Level.APPROPRIATE, "small intestine: portal drainage"),
    PrimarySite.STOMACH: (Level.APPROPRIATE, "stomach: portal drainage (distal stomach)"),
    PrimarySite.COLORECTAL: (
        Level.CAUTION,
        "colorectal: portal drainage only to the sigmoid colon; a rectal primary drains partly systemically",
    ),
    PrimarySite.LUNG: (Level.CONTRAINDICATED, "lung: not drained by the portal system"),
    PrimarySite.UNKNOWN: (
        Level.CONTRAINDICATED,
        "unknown primary: Milan-NET requires a portal-drained primary removed before transplant",
    ),
    PrimarySite.OTHER: (Level.CAUTION, "other site: confirm portal drainage"),
}


def _portal(ctx: Context) -> Outcome:
    level, text = _PORTAL[ctx.value("primary_site")]
    return Outcome(level, f"primary site {text}")


def _resectable_first(ctx: Context) -> Outcome:
    if ctx.number("resectable_percent") == 100:
        return Outcome(
            Level.CONSIDER,
            "disease completely resectable: resection remains the first option for resectable NELM; "
            "in Milan-selected patients LT had 10-y OS 93 % vs 75 % (single-centre, retrospective)",
        )
    return Outcome(
        Level.APPROPRIATE, f"resectable share {ctx.show('resectable_percent')}: not fully resectable"
    )


RULES: tuple[Rule, ...] = (
    flag_rule(
        "RES-EHD-1",
        R,
        input="extrahepatic_disease",
        title="extrahepatic disease",
        fires_when=lambda v: v is True,
        level=Level.CONTRAINDICATED,
        yes="extrahepatic disease: curative resection requires liver-only disease",
        no="no extrahepatic disease",
        citations=("nelm_review_2020", "clinical_rules_s9"),
    ),
    Rule(
        "RES-ECOG-1",
        R,
        "performance status for major liver surgery",
        ("ecog",),
        ("resection_ecog_caution_above", "resection_ecog_max"),
        ("nelm_review_2020",),
        _ecog,
    ),
    Rule(
        "RES-DEBULK-1",
        R,
        "resectable share of tumour (JCM Type 1/2/3)",
        ("resectable_percent",),
        ("resection_debulking_percent", "resection_type2_above_percent"),
        ("jcm2023", "nelm_review_2020", "maxwell2016"),
        _debulking,
    ),
    threshold_rule(
        "RES-FLR-1",
        R,
        input="flr_percent",
        threshold="resection_flr_min_percent",
        fires="<",
        level=Level.CONTRAINDICATED,
        what="future liver remnant",
        consequence="inadequate remnant (consider portal vein embolization or staged surgery)",
        citations=("nelm_review_2020", "flr_convention"),
    ),
    Rule(
        "RES-PRIMARY-1",
        R,
        "primary tumour resected",
        ("primary_resected",),
        (),
        ("nelm_review_2020",),
        _primary_note,
    ),
    Rule(
        "TX-GRADE-1",
        T,
        "low-grade NET (Milan-NET)",
        ("grade",),
        (),
        ("mazzaferro2007", "citterio2023"),
        _tx_grade,
    ),
    threshold_rule(
        "TX-KI67-1",
        T,
        input="ki67_percent",
        threshold="transplant_ki67_caution_percent",
        fires=">=",
        level=Level.CAUTION,
        what="Ki-67",
        consequence="outside the later Milan wording 'G1-G2 or Ki-67 < 10 %'; high Ki-67 is an "
        "adverse factor",
        citations=("citterio2023", "sposito2017"),
    ),
    Rule(
        "TX-PORTAL-1",
        T,
        "portal-drained primary",
        ("primary_site",),
        (),
        ("mazzaferro2007",),
        _portal,
    ),
    flag_rule(
        "TX-PRIMARY-1",
        T,
        input="primary_resected",
        title="primary removed before transplant",
        fires_when=lambda v: v is False,
        level=Level.CONTRAINDICATED,
        yes="primary not resected: Milan-NET requires curative removal of the primary in a separate "
        "operation before transplant",
        no="primary resected",
        citations=("mazzaferro2007",),
    ),
    threshold_rule(
        "TX-BURDEN-1",
        T,
        input="hepatic_tumour_burden_percent",
        threshold="transplant_burden_max_percent",
        fires=">",
        level=Level.CONTRAINDICATED,
        what="hepatic tumour burden",
        consequence="outside Milan-NET (hepatic involvement <= 50 %)",
        citations=("mazzaferro2007",),
    ),
    flag_rule(
        "TX-EHD-1",
        T,
        input="extrahepatic_disease",
        title="extrahepatic disease",
        fires_when=lambda v: v is True,
        level=Level.CONTRAINDICATED,
        yes="extrahepatic disease: transplant requires liver-only disease",
        no="no extrahepatic disease",
        citations=("mazzaferro2007", "citterio2023"),
    ),
    threshold_rule(
        "TX-AGE-1",
        T,
        input="age_years",
        threshold="transplant_age_max_years",
        fires=">",
        level=Level.CAUTION,
        what="age",
        consequence="above the Milan-NET age limit (older age is an adverse factor)",
        citations=("mazzaferro2007", "citterio2023", "sposito2017"),
    ),
    threshold_rule(
        "TX-STABLE-1",
        T,
        input="stable_disease_months",
        threshold="transplant_stable_months_min",
        fires="<",
        level=Level.CAUTION,
        what="response or stable disease for",
        consequence="shorter than the Milan-NET observation period",
        citations=("mazzaferro2007", "citterio2023"),
    ),
    flag_rule(
        "TX-PANCREAS-1",
        T,
        input="primary_site",
        title="pancreatic primary",
        fires_when=lambda v: v is PrimarySite.PANCREAS,
        level=Level.CAUTION,
        yes="pancreatic primary: adverse prognostic factor after LT; extended lymphadenectomy in the later "
        "Milan protocol",
        no="primary site {value}: not pancreatic",
        citations=("sposito2017", "citterio2023"),
    ),
    Rule(
        "TX-RESECTABLE-1",
        T,
        "resection first for resectable disease",
        ("resectable_percent",),
        (),
        ("maspero2022",),
        _resectable_first,
    ),
)
