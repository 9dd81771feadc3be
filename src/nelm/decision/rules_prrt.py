"""PRRT (Lu-177-DOTATATE) rules: SSTR status, NETPET, burden, SSA, grade (clinical-rules.md §2.8, §9).

SSTR status from nelm's per-lesion Krenning-type scores on the SSTR PET (lesion SUVmax vs liver
and spleen; :mod:`nelm.quant.pet`): every measured lesion >= 3 (> liver) is SSTR-positive
(APPROPRIATE); every lesion < 2 is SSTR-negative (CONTRAINDICATED); anything between (a lesion at
2, = liver, or mixed uptake) is CAUTION. ⚠ NETTER-1 admitted Krenning 2 and NETPET counts modified
Krenning 2-4 as positive: ``prrt_krenning_positive_min: 2`` selects that school.

NETPET (Chan 2017) needs an FDG PET, which the manifest does not record: the grade is ``given``.
FDG PET is recommended for G3 and high-G2 NET (ENETS 2017); for G1/G2 the rule passes without it
and says so, for G3/NEC it is UNDETERMINED until given.
"""

from __future__ import annotations

from decimal import Decimal

from nelm.case.vocabulary import Grade
from nelm.decision.engine import Context, Outcome, Rule, Therapy
from nelm.decision.levels import Level
from nelm.decision.rulekit import compare, flag_rule, threshold_rule

__all__ = ["RULES"]

P = Therapy.PRRT


def _sstr(ctx: Context) -> Outcome:
    scores: dict[str, int] = ctx.value("krenning_scores")
    positive, negative = ctx.t("prrt_krenning_positive_min"), ctx.t("prrt_krenning_negative_below")
    if not scores:
        return Outcome(Level.UNDETERMINED, "no lesion has a Krenning score", missing=("krenning_scores",))
    low = {k: v for k, v in scores.items() if compare(Decimal(v), "<", positive)}
    if all(compare(Decimal(v), "<", negative) for v in scores.values()):
        return Outcome(
            Level.CONTRAINDICATED,
            f"every lesion Krenning < {ctx.tt('prrt_krenning_negative_below')} (max {max(scores.values())}): "
            "SSTR-negative disease, not suitable for PRRT",
        )
    if not low:
        return Outcome(
            Level.APPROPRIATE,
            f"every lesion Krenning >= {ctx.tt('prrt_krenning_positive_min')} (min {min(scores.values())}, "
            f"{len(scores)} lesions): SSTR uptake above liver",
        )
    listed = ", ".join(f"{k} {v}" for k, v in sorted(low.items(), key=lambda kv: (kv[1], kv[0])))
    return Outcome(
        Level.CAUTION,
        f"{len(low)} of {len(scores)} lesions Krenning < {ctx.tt('prrt_krenning_positive_min')} ({listed}): "
        "uptake not above liver in every target lesion (NETTER-1 admitted Krenning 2)",
    )


def _netpet(ctx: Context) -> Outcome:
    netpet = ctx.value("netpet_grade")
    grade = ctx.value("grade")
    if netpet is None:
        if grade in (Grade.G1, Grade.G2):
            return Outcome(
                Level.APPROPRIATE,
                f"grade {grade}: FDG PET (NETPET) is recommended for G3 and high-G2 NET; not assessed",
                read=("grade",),
            )
        return Outcome(
            Level.UNDETERMINED,
            "NETPET grade unknown (needs SSTR and FDG PET)",
            read=("grade",),
            missing=("netpet_grade",) if grade is not None else ("netpet_grade", "grade"),
        )
    if netpet in ("P0", "P5"):
        return Outcome(Level.CONTRAINDICATED, f"NETPET {netpet}: not suitable for PRRT")
    if netpet == "P4b":
        return Outcome(Level.CAUTION, "NETPET P4b (FDG > SSTR, >= 3 lesions): PRRT needs additional therapy")
    return Outcome(Level.APPROPRIATE, f"NETPET {netpet}: probably suitable for PRRT")


def _grade(ctx: Context) -> Outcome:
    grade = ctx.value("grade")
    if grade in (Grade.G1, Grade.G2):
        return Outcome(Level.APPROPRIATE, f"grade {grade}: the NETTER-1 population (G1-2)")
    return Outcome(Level.CAUTION, f"grade {grade}: outside the NETTER-1 population (G1-2)")


RULES: tuple[Rule, ...] = (
    Rule(
        "PRRT-SSTR-1",
        P,
        "SSTR expression (Krenning)",
        ("krenning_scores",),
        ("prrt_krenning_positive_min", "prrt_krenning_negative_below"),
        ("krenning_scale", "netter1", "clinical_rules_s9"),
        _sstr,
    ),
    Rule(
        "PRRT-NETPET-1",
        P,
        "NETPET grade",
        (),
        (),
        ("netpet", "enets2017_imaging"),
        _netpet,
    ),
    threshold_rule(
        "PRRT-BURDEN-1",
        P,
        input="hepatic_tumour_burden_percent",
        threshold="prrt_burden_caution_percent",
        fires=">",
        level=Level.CAUTION,
        what="hepatic tumour burden",
        consequence="few data (15 of 371 patients); no grade 3-5 hepatotoxicity, so probably safe",
        citations=("jnm2023_burden",),
    ),
    flag_rule(
        "PRRT-SSA-1",
        P,
        input="somatostatin_analogue",
        title="somatostatin analogue",
        fires_when=lambda v: v is False,
        level=Level.CONSIDER,
        yes="not on a somatostatin analogue: NETTER-1 treated progression on SSA",
        no="on a somatostatin analogue: PRRT is indicated at progression on SSA (NETTER-1)",
        citations=("netter1",),
    ),
    Rule("PRRT-GRADE-1", P, "grade for PRRT", ("grade",), (), ("netter1",), _grade),
)
