"""Thermal ablation rules (clinical-rules.md §2.3, §9).

Ablation suits few, small metastases (Cazzato 2021: ablation for few, endovascular treatment for
multiple), each lesion <= 5 cm with no or minimal extrahepatic disease (payer policy CG-SURG-78),
laparoscopic series < 20 % of liver volume (Kose 2020). The 3 cm / 5 cm and "<= 3 nodules" limits
are HCC-derived conventions (no NET-specific standard), so they are configurable and their findings
say so. The largest lesion is the longest axial (RECIST) diameter (see
:mod:`nelm.decision.inputs`). Biliary status and grade: :mod:`nelm.decision.rules_common`.
"""

from __future__ import annotations

from nelm.decision.engine import Rule, Therapy
from nelm.decision.levels import Level
from nelm.decision.rulekit import flag_rule, threshold_rule

__all__ = ["RULES"]

A = Therapy.ABLATION

RULES: tuple[Rule, ...] = (
    threshold_rule(
        "ABL-SIZE-1",
        A,
        input="largest_lesion_mm",
        threshold="ablation_size_caution_mm",
        fires=">",
        level=Level.CAUTION,
        what="largest lesion",
        consequence="above the 3 cm optimum (HCC-derived convention): higher risk of incomplete ablation",
        citations=("hcc_rfa_convention", "ablation_heat_sink"),
    ),
    threshold_rule(
        "ABL-SIZE-2",
        A,
        input="largest_lesion_mm",
        threshold="ablation_size_max_mm",
        fires=">",
        level=Level.CAUTION,
        what="largest lesion",
        consequence="above 5 cm: high risk of incomplete ablation (heat sink); outside payer policy "
        "(<= 5 cm); consider resection or an endovascular treatment",
        citations=("anthem_cg_surg_78", "ablation_heat_sink"),
    ),
    threshold_rule(
        "ABL-COUNT-1",
        A,
        input="lesion_count",
        threshold="ablation_max_lesions",
        fires=">",
        level=Level.CAUTION,
        what="lesion count",
        consequence="multiple metastases: endovascular treatment is preferred; ablation as an adjunct "
        "to surgery",
        citations=("cazzato2021", "hcc_rfa_convention"),
        passes="few metastases, the ablation setting",
    ),
    threshold_rule(
        "ABL-BURDEN-1",
        A,
        input="hepatic_tumour_burden_percent",
        threshold="ablation_burden_below_percent",
        fires=">=",
        level=Level.CAUTION,
        what="hepatic tumour burden",
        consequence="beyond the laparoscopic ablation series (< 20 % of the liver)",
        citations=("kose2020",),
    ),
    flag_rule(
        "ABL-EHD-1",
        A,
        input="extrahepatic_disease",
        title="extrahepatic disease",
        fires_when=lambda v: v is True,
        level=Level.CAUTION,
        yes="extrahepatic disease: ablation policy requires no or minimal extrahepatic metastases",
        no="no extrahepatic disease",
        citations=("anthem_cg_surg_78",),
    ),
)
