"""Sources of the imaging-protocol advisor (:mod:`nelm.decision.protocol`), and what provides an input.

A small registry of the publications behind each recommendation, timing and warning the advisor
gives, keyed by a short stable id (``"ECIO-ESOI2020"``). The entries follow
``reference/clinical-rules.md`` §4 (imaging per phase) and ``reference/response-criteria.md``
§1; each text says what the source supports and carries the reference's provenance tag:
``[V]`` checked against the cited text, ``[B]`` background knowledge not checked against the
primary text (confirm before relying on it). The decision rules of §1/§2/§9 keep their own
registry (``nelm.decision.citations``).

:func:`how_to_get` names what provides an input the decision rules lack (an imaging examination, a
laboratory panel, the pathology report, the history), for the advice's ``missing`` list.
"""

from __future__ import annotations

import re
from types import MappingProxyType

from nelm.decision.citations import Citation

__all__ = [
    "HOW_BILIARY",
    "HOW_CARDIAC",
    "HOW_CLINICAL",
    "HOW_CROSS_SECTIONAL",
    "HOW_FDG",
    "HOW_HISTORY",
    "HOW_LAB",
    "HOW_MAA",
    "HOW_OTHER",
    "HOW_PATHOLOGY",
    "HOW_RESPONSE",
    "HOW_SSTR",
    "HOW_STAGING",
    "PROTOCOL_SOURCES",
    "how_to_get",
    "source",
]


_SOURCES: dict[str, Citation] = {
    "Kumari2024": Citation(
        "Kumari D, de Bruyn E, Al-Qawasmi F. Semin Intervent Radiol 2024;41(3):270-277: review of pre-, "
        "intra- and post-procedural imaging for interventional therapy of NELM [V abstract].",
        "https://thieme-connect.de/products/ejournals/abstract/10.1055/s-0044-1788338",
    ),
    "ENETS2017-imaging": Citation(
        "Sundin et al. ENETS consensus guidelines for the standards of care in neuroendocrine tumours: "
        "radiological, nuclear medicine and hybrid imaging (2017): contrast CT with 3-phase liver for "
        "staging and monitoring; contrast MRI with DWI preferred for the liver; 68Ga-DOTA-SSA PET/CT for "
        "staging, pre-operative imaging and restaging; FDG PET for G3/high-G2 [V abstract].",
        "https://iris.unige.it/handle/11567/935674",
    ),
    "SNMMI-AUC-SSTR": Citation(
        "SNMMI multi-society appropriate use criteria for SSTR PET: SSTR PET replaces OctreoScan; "
        "appropriate for initial staging, staging before planned surgery and restaging at clinical "
        "progression [V].",
        "https://pmc.ncbi.nlm.nih.gov/articles/PMC6910630",
    ),
    "Hayoz2020": Citation(
        "Hayoz et al. Eur Radiol 2020;30:6593: gadoxetate MRI, DWI + hepatobiliary phase best set for "
        "NELM (sensitivity 86%, specificity 94%) [V].",
        "https://cibm.ch/publications/the-combination-of-hepatobiliary-phase-with-gd-eob-dtpa-and-dwi-is-"
        "highly-accurate-for-the-detection-and-characterization-of-liver-metastases-from-neuroendocrine-tumor/",
    ),
    "dAssignies2013": Citation(
        "d'Assignies et al. Radiology 2013: DWI sensitivity about 71% vs T2-FSE 56% for NELM [V].",
        "http://www.pubmed.gov/23533288/",
    ),
    "Grawe2023": Citation(
        "Grawe et al. Cancer Imaging 2023 / Drucker Iarovich 2024: SSTR PET 97% sensitive for hepatic "
        "involvement, but gadoxetate MRI finds more lesions in 40% of patients: MRI for lesion count and "
        "segment mapping, PET for whole-body and SSTR status [V].",
        "https://ouci.dntb.gov.ua/en/works/l1wymeY7",
    ),
    "ECIO-ESOI2020": Citation(
        "Maas et al. (ECIO-ESOI consensus) Insights Imaging 2020, follow-up after interventional "
        "oncology of the liver, Tables 2-3: CT late arterial 35-40 s, portal venous 70 s, late venous "
        ">=120 s, slices <=3 mm, MRI 20/70/180 s; follow-up at 1, 3, 6, 9, 12 months in year 1 then every "
        "6 months; MRI primary and mandatory after lipiodol TACE; optional PET-CT <=48 h after ablation; "
        "residual-tumour features and early false positives from inflammation; Choi outperforms "
        "RECIST 1.1 after TARE (written for CRLM/HCC, not NET) [V].",
        "https://insightsimaging.springeropen.com/articles/10.1186/s13244-020-00884-5/tables/2",
    ),
    "RECIST11-baseline": Citation(
        "Eisenhauer et al. RECIST 1.1, Eur J Cancer 2009;45:228-247: baseline evaluations as close as "
        "possible to the start of treatment and never more than 4 weeks before it [B: not in the project "
        "reference; confirm against the guideline text].",
        "http://docplayer.net/35944-New-response-evaluation-criteria-in-solid-tumours-revised-recist-"
        "guideline-version-1-1.html",
    ),
    "RECIST11-treated": Citation(
        "RECIST 1.1 clarifications: lesions treated by loco-regional therapy are usually not measurable "
        "unless they have progressed since treatment [V].",
        "https://pmc.ncbi.nlm.nih.gov/articles/PMC4671850",
    ),
    "TARE-workup2015": Citation(
        "TARE work-up (Thieme e-journal, doi:10.1055/s-0035-1564708): planning angiography and Tc-99m "
        "MAA for shunting and extrahepatic deposition, typically 1-2 weeks before treatment [V].",
        "https://thieme-connect.com/products/ejournals/html/10.1055/s-0035-1564708",
    ),
    "Allred2018": Citation(
        "Allred et al. EJNMMI Res 2018: planar LSF overestimates by up to 44%; attenuation/scatter-"
        "corrected Tc-99m MAA SPECT/CT is within 13% (phantom) [V].",
        "https://www.springermedizin.de/the-value-of-99mtc-maa-spect-ct-for-lung-shunt-estimation-in-90y/"
        "15849026",
    ),
    "vanRoekel-LSF": Citation(
        "van Roekel, thesis p. 41: lung dose limits 30 Gy per treatment / 50 Gy cumulative; resin "
        "activity reduction by LSF; planar LSF is often overestimated [V].",
        "https://publicatie-online.nl/uploaded/flipbook/143091-Caren-van-Roekel/41",
    ),
    "EANM-dosimetry2021": Citation(
        "EANM dosimetry SOP for radioembolization (EJNMMI Phys 2021): MAA is an imperfect surrogate; plan "
        "on the mean absorbed dose to non-tumoural liver and compute doses pre and post; fully corrected "
        "MAA SPECT/CT and Y-90 TOF PET/CT are optimal [V].",
        "https://ejnmmiphys.springeropen.com/articles/10.1186/s40658-021-00394-3",
    ),
    "Y90-PET2019": Citation(
        "Clin Transl Imaging 2019 review: Y-90 TOF PET/CT has better resolution and voxel dosimetry than "
        "bremsstrahlung SPECT/CT and detects non-target activity (stomach, gallbladder) [V].",
        "https://link.springer.com/article/10.1007/s40336-019-00335-2/fulltext.html",
    ),
    "B-Y90-24h": Citation(
        "Post-TARE imaging within 24 h of treatment: practice norm, not checked against a source "
        "(clinical-rules.md §4.3) [B].",
        None,
    ),
    "CBCT-EJRNM2019": Citation(
        "Cone-beam CT in TACE (Egypt J Radiol Nucl Med 2019): CBCT found 87 vs 51 lesions on DSA, 130 vs "
        "87 feeders; HCC data, extrapolated to NELM [V].",
        "https://ejrnm.springeropen.com/articles/10.1186/s43055-019-0053-4",
    ),
    "CBCT-PLoSOne2021": Citation(
        "Dual-phase cone-beam CT sensitivity 94.7% vs 89.0% arterial-only (PLoS One 2021; HCC) [V].",
        "https://researchpad.co/article/doi/10.1371/journal.pone.0245911",
    ),
    "B-ablation-margin": Citation(
        "Intra-procedural or immediate contrast imaging to confirm the ablation margin: practice "
        "convention; no NELM-specific protocol was checked (clinical-rules.md §4.2) [B].",
        None,
    ),
    "GowdraHalappa2013": Citation(
        "Gowdra Halappa et al. Radiology 2013;266:502 (71 NELM, intra-arterial therapy): functional MRI "
        "3-4 weeks after treatment; response = volumetric ADC up >=15% and enhancement down >=25% "
        "(arterial) or >=50% (portal venous); predicted survival [V].",
        "https://pmc.ncbi.nlm.nih.gov/articles/mid/NIHMS565341",
    ),
    "Gaba2015": Citation(
        "Gaba et al. Acad Radiol 2015;22(12): US practice survey after transarterial therapy; first "
        "imaging at 1 vs 3 months varied; mRECIST favoured [V].",
        "https://github.com/ClinicalTree/ClinicalTree.github.io",
    ),
    "Sahu2017": Citation(
        "Sahu et al. Radiology 2017;283:883 (51 NELM, first TACE): response rate WHO 5.9%, RECIST 2.0%, "
        "mRECIST 25.5%, EASL 23.5%; whole-liver enhancing tumour burden tested; size criteria under-call "
        "response: report RECIST 1.1 plus an enhancement criterion [V].",
        "https://pmc.ncbi.nlm.nih.gov/articles/PMC5425309",
    ),
    "Memon2012": Citation(
        "Memon et al. Int J Radiat Oncol Biol Phys 2012 (NELM, Y-90): WHO CR 1.2% / PR 62.7% vs EASL "
        "CR 20.5% / PR 43.4%: criteria disagree after radioembolization [V].",
        "https://www.scholars.northwestern.edu/en/publications/radioembolization-for-neuroendocrine-liver-"
        "metastases-safety-imag",
    ),
    "Neperud2013": Citation(
        "Neperud et al. 2013 (NELM, Y-90): lesions <5 cm respond better by RECIST, WHO and combined "
        "Choi [V].",
        "https://pmc.ncbi.nlm.nih.gov/articles/PMC3692962",
    ),
    "Riaz2011": Citation(
        "Riaz et al. J Hepatol 2011 (EASL table): lipiodol deposits counted as enhancing tissue on CT, a "
        "conservative choice [V].",
        "https://pmc.ncbi.nlm.nih.gov/articles/PMC3094725",
    ),
    "NETTER1": Citation(
        "NETTER-1 (177Lu-DOTATATE, G1-2 midgut NET): RECIST 1.1 is the trial standard for response after "
        "PRRT [V abstract].",
        "https://ascopost.com/News/46289",
    ),
    "SSTR-volumetric": Citation(
        "SSTR PET volumetric response after PRRT: under study, not a validated criterion [V].",
        "https://pmc.ncbi.nlm.nih.gov/articles/PMC10382388",
    ),
    "Wahl2009-PERCIST": Citation(
        "Wahl et al. J Nucl Med 2009;50 Suppl 1:122S (PERCIST 1.0): metabolic response on FDG PET by "
        "SULpeak [V].",
        "https://pmc.ncbi.nlm.nih.gov/articles/PMC2938069",
    ),
    "NETPET2017": Citation(
        "Chan et al. Theranostics 2017 (NETPET): dual SSTR + FDG PET grade P0-P5 for PRRT selection [V].",
        "http://thno.org/v07p1149",
    ),
    "Brabander2017-pitfalls": Citation(
        "Brabander et al. Endocr Relat Cancer 2017;24(5): 'Pitfalls in the response evaluation after "
        "PRRT' - do not call progression on the first scan after PRRT alone [V title; details B].",
        "https://erc.bioscientifica.com/view/journals/erc/24/5/243.xml",
    ),
    "Medscape-ablation-rim": Citation(
        "Post-ablation hyperaemic rim: about 90% in month 1 and >50% at 1-3 months; thin and uniform = "
        "benign, nodular or thick = residual/recurrent tumour (generic liver RFA) [V].",
        "https://www.medscape.com/answers/1390475-195845/what-is-the-role-of-ct-scanning-in-the-"
        "postprocedural-follow-up-of-radiofrequency-ablation-rfa-of-liver-tumors",
    ),
    "DLD2017-sequence": Citation(
        "Dig Liver Dis 2017: T2W had the lowest MRI measurement variability; MRI beat CT (inter-observer "
        "variability <20% in 96.8% MRI vs 81% CT) [V].",
        "http://www.pubmed.gov/28844707/",
    ),
    "Tirumani2018-sequence": Citation(
        "Tirumani et al. Abdom Radiol 2018 and JCAT 2016: HBP had the smallest inter-reader "
        "variability; DWI measured larger; measure on the same sequence each time, never mix DWI and "
        "post-contrast sizes [V].",
        "https://www.pubmed.gov/27636124/",
    ),
    "Huh2018-phase": Citation(
        "Huh et al. Korean J Radiol 2018: on CT, pre-contrast had the best agreement and diameters "
        "increased pre < portal < arterial: measure on the same phase [V].",
        "https://synapse.koreamed.org/articles/1105316",
    ),
    "ENETS2017-periop": Citation(
        "ENETS 2017 consensus on pre-/peri-operative therapy (Neuroendocrinology, PMC5637287; title "
        "inferred): carcinoid syndrome needs a pre-intervention cardiac work-up, low threshold for "
        "NT-proBNP and echocardiography (carcinoid heart disease in up to about 50%) [V].",
        "https://pmc.ncbi.nlm.nih.gov/articles/PMC5637287",
    ),
    "JCM2023-surgery": Citation(
        "J Clin Med 2023;12:2456: before liver surgery for NELM, 68Ga-DOTATATE PET plus gadoxetate MRI "
        "improve mapping of hepatic disease [V].",
        "https://www.mdpi.com/2077-0383/12/7/2456",
    ),
}

#: Source id -> :class:`~nelm.decision.citations.Citation`, read-only.
PROTOCOL_SOURCES = MappingProxyType(_SOURCES)


def source(source_id: str) -> Citation:
    """The source with this id.

    Raises
    ------
    KeyError
        Unknown id (a programming error: every rule cites a registered source).
    """
    return PROTOCOL_SOURCES[source_id]


# --- what provides an input the decision rules lack (groups of the advice's "missing" list) -----

HOW_CROSS_SECTIONAL = "contrast CT/MRI of the liver, with liver and lesion masks (nelm quantify)"
HOW_SSTR = "68Ga-DOTA-SSA PET/CT (SSTR PET): SSTR status, Krenning score, extrahepatic disease"
HOW_FDG = "FDG PET/CT (with the SSTR PET: NETPET grade)"
HOW_MAA = "Tc-99m MAA SPECT/CT after planning angiography (nelm y90 plan)"
HOW_LAB = "laboratory: liver function, blood count, coagulation, renal function"
HOW_PATHOLOGY = "pathology report: WHO grade, Ki-67, differentiation"
HOW_CLINICAL = "clinical assessment and history (case manifest, clinical section)"
HOW_STAGING = "whole-body staging: SSTR PET/CT and contrast CT neck-thorax-abdomen-pelvis"
HOW_BILIARY = "surgical and endoscopic history (bilioenteric anastomosis, biliary stent, sphincterotomy)"
HOW_CARDIAC = "echocardiography and NT-proBNP (cardiac work-up)"
HOW_HISTORY = "treatment history (case manifest, treatments)"
HOW_RESPONSE = "serial CT/MRI with the same technique, read with RECIST 1.1 (nelm response)"
HOW_OTHER = "not derivable from imaging: add it to the case manifest"


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_HOW_BY_TOKEN: tuple[tuple[tuple[str, ...], str], ...] = (
    (("prior",), HOW_HISTORY),  # first: a prior lung dose comes from the earlier treatment's record
    (("lsf", "shunt", "maa", "lung", "y90"), HOW_MAA),
    (("krenning", "sstr", "dotatate", "dotatoc"), HOW_SSTR),
    (("fdg", "netpet"), HOW_FDG),
    (_words("extrahepatic"), HOW_STAGING),
    (("echo", "echocardiography", "ntprobnp", "cardiac"), HOW_CARDIAC),
    (
        _words("bilirubin albumin inr platelet creatinine egfr gfr ldh ast alt leukocyte granulocyte lab"),
        HOW_LAB,
    ),
    (("grade", "ki67", "differentiation", "who", "histology", "pathology"), HOW_PATHOLOGY),
    (("bilioenteric", "biliary", "sphincterotomy", "stent", "anastomosis", "whipple"), HOW_BILIARY),
    (("planned", "therapies", "therapy", "since", "tare", "prrt"), HOW_HISTORY),
    (("stable", "response"), HOW_RESPONSE),
    (
        _words(
            "burden lesion volume liver diameter size segment tumour tumor flr remnant lobar bilobar "
            "distribution portal ascites enhancing resectable debulking"
        ),
        HOW_CROSS_SECTIONAL,
    ),
    (
        _words(
            "ecog performance syndrome functional somatostatin ssa symptoms symptomatic age primary "
            "progression carcinoid life"
        ),
        HOW_CLINICAL,
    ),
)


def how_to_get(name: str) -> str:
    """What provides the decision-rule input ``name`` (imaging, laboratory, pathology, history).

    Matched on the words of the name (``clinical.bilirubin_mg_dl`` -> laboratory); a word matches a
    keyword when equal to it, or, for keywords of 4+ letters, when it starts with it
    (``platelets``). Unknown names: add it to the case manifest.
    """
    tokens = [t for t in re.split(r"[^a-z0-9]+", name.lower()) if t]
    for keywords, how in _HOW_BY_TOKEN:
        for token in tokens:
            if any(token == kw or (len(kw) >= 4 and token.startswith(kw)) for kw in keywords):
                return how
    return HOW_OTHER
