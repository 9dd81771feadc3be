"""Rules of clinical-rules.md §1, §2 and §9 that nelm does not encode, and why.

Listed in every :class:`~nelm.decision.engine.DecisionResult` (``not_encoded``) and in the README.
The usual reason is an input the case manifest (schema 1) has no field for; a tumour board weighs
these items itself.
"""

from __future__ import annotations

from typing import Final

__all__ = ["NOT_ENCODED"]

_NO_FIELD = "the case manifest has no field for it"

NOT_ENCODED: Final[tuple[tuple[str, str], ...]] = (
    (
        "§1 FDG avidity from an FDG PET (prognosis, G3/high-G2)",
        f"{_NO_FIELD} (no FDG uptake measure); only a given NETPET grade is used (PRRT-NETPET-1)",
    ),
    (
        "§1/§2.4 symptoms uncontrolled on SSA; hepatic RECIST progression (RETNET indication)",
        f"{_NO_FIELD}; symptom control and progression are stated as conditions in EMB-INDICATION-1",
    ),
    (
        "§2.1 feasibility of resecting > 90 % / JCM Type from imaging",
        "needs a surgeon's judgement: used only when given as resectable_percent (RES-DEBULK-1)",
    ),
    (
        "§2.1 FLR thresholds 30 % after chemotherapy and 40 % in cirrhosis",
        f"{_NO_FIELD} (chemotherapy exposure, cirrhosis); the 20 % default is configurable",
    ),
    ("§2.1 pre-operative imaging (DOTATATE PET + gadoxetate MRI)", "imaging advice: nelm.decision.protocol"),
    (
        "§2.2 serious comorbidity; extended lymphadenectomy; short waiting time; OPTN/UNOS MELD exception",
        f"{_NO_FIELD}; OPTN criteria not checked [B]",
    ),
    (
        "§2.3 lesion not fully ablatable/targetable; proximity to major vessels (heat sink); dome, "
        "subcapsular, near-bile-duct or near-bowel location",
        "needs vessel and organ-at-risk segmentation and operator judgement; not measured by nelm",
    ),
    (
        "§2.3 'poor surgical candidate' and 'all foci amenable' (payer policy)",
        "payer policy, not a guideline; needs a surgical assessment",
    ),
    (
        "§2.4 RETNET exclusions: prior hepatic arterial therapy or liver RT, active infection, "
        "'not a surgical candidate', >= 1 lesion >= 1 cm",
        "trial eligibility rather than clinical contraindications; active infection has no manifest field",
    ),
    (
        "§2.4 urgent (inpatient) HAE (Sofocleous risk factor; 30-day mortality 8.5 %)",
        _NO_FIELD,
    ),
    ("§2.5 cTACE follow-up by MRI (lipiodol)", "imaging advice: nelm.decision.protocol"),
    (
        "§2.7 extensive untreated portal hypertension, varices, active hepatitis, life expectancy "
        "< 3 months, anti-angiogenic therapy, occluded coeliac/SMA or intrahepatic "
        "arteries, prior liver RT, Child-Pugh",
        _NO_FIELD,
    ),
    (
        "§2.7 uncorrectable gastrointestinal microsphere deposition",
        "read on the MAA SPECT/CT and angiography by the team; nelm does not detect extrahepatic uptake",
    ),
    (
        "§2.7 UK commissioning (NICE IPG786 'option' vs NHS England 'not routinely commissioned')",
        "jurisdiction-specific funding policy, not a patient rule",
    ),
    (
        "§2.8 NANETS/SNMMI PRRT contraindications (renal, marrow, liver function)",
        "thresholds not checked against the source [B]",
    ),
    ("§2.9 octreotide dosing", "no guideline text checked [B]; only AI-generated pages found"),
    (
        "§9 'any LDT' positive triggers: liver-only/dominant disease, symptoms uncontrolled on SSA, "
        "hepatic progression",
        "liver-only disease is encoded (extrahepatic-disease rules); symptoms and progression have no field",
    ),
)
