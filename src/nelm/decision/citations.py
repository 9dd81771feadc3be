"""The sources the decision rules cite: id -> short citation and address.

Every entry is taken from /work/shared/reference/clinical-rules.md (the project's checked
reference; its provenance tags are kept in the text: ``[V]`` checked, ``[B]`` background, not
checked against the primary source). A rule cites ids from :data:`CITATIONS`; an unknown id is a
programming error caught by the tests.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

__all__ = ["CITATIONS", "Citation", "CitationOut", "citation"]


@dataclass(frozen=True)
class Citation:
    """A cited source: a short citation with its provenance tag, and its URL or DOI.

    Both registries use it: the decision rules' (:data:`CITATIONS`) and the imaging-protocol
    advisor's (:data:`nelm.decision.protocol_sources.PROTOCOL_SOURCES`).

    Parameters
    ----------
    text:
        Authors, venue and what the source supports, with its provenance tag.
    url:
        Where the checked text was read, or ``None`` (a [B] practice convention).
    """

    text: str
    url: str | None = None

    def __post_init__(self) -> None:
        if not self.text.strip():
            raise ValueError("a citation needs a text")

    def to_dict(self) -> dict[str, str | None]:
        """JSON-ready dict."""
        return {"text": self.text, "url": self.url}


class CitationOut(BaseModel):
    """A cited source in an output document (decision result, imaging advice)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str
    url: str | None


CITATIONS: dict[str, Citation] = {
    "who2019": Citation(
        "WHO 2019 grading of digestive NET (G1 Ki-67 <3 %, G2 3-20 %, G3 >20 %) [V]",
        "https://www.proquest.com/publiccontent/docview/2836305556",
    ),
    "who2010": Citation(
        "WHO 2010 grading (G1 Ki-67 <=2 %), as quoted in J Exp Clin Cancer Res 2014;33:43 [V]",
        "https://jeccr.biomedcentral.com/articles/10.1186/1756-9966-33-43",
    ),
    "nelm_review_2020": Citation(
        "Surgical management of NELM: review, PMC7423566 (G1/G2, no extrahepatic disease, FLR, >90 %) [V]",
        "https://pmc.ncbi.nlm.nih.gov/articles/PMC7423566/",
    ),
    "jcm2023": Citation(
        "J Clin Med 2023;12:2456: debulking 90 % vs 70 % table; surgical Type 1/2/3 classification [V]",
        "https://www.mdpi.com/2077-0383/12/7/2456",
    ),
    "maxwell2016": Citation(
        "Maxwell et al., Surgery 2016: liver-directed surgery of NET metastases, 70 % cytoreduction [V]",
        "https://www.themednet.org/publications/liver-directed-surgery-of-neuroendocrine-metastases-what-is-the-optimal-strategy",
    ),
    "flr_convention": Citation(
        "Future liver remnant >=20 % (normal liver), >=30 % after chemotherapy, >=40 % cirrhosis: "
        "generic HPB convention (Vauthey/Abdalla), not NET-specific [B]",
        "clinical-rules.md §2.1",
    ),
    "mazzaferro2007": Citation(
        "Milan-NET criteria (Mazzaferro 2007) as listed by medicalalgorithms.com [V]",
        "https://www.medicalalgorithms.com/criteria-of-mazzaferro-et-al-for-liver-transplantation-in-a-patient-with-unresectable-liver-metastases-from-a-neuroendocrine-tumor",
    ),
    "citterio2023": Citation(
        "Citterio et al., Curr Treat Options Oncol 2023 (G1-G2 or Ki-67 <10 %, 3-6 months stability) [V]; "
        "age <=60 in secondary summaries [B]",
        "https://ouci.dntb.gov.ua/works/4Nw85AOl",
    ),
    "sposito2017": Citation(
        "Sposito/Mazzaferro, Rev Endocr Metab Disord 2017: adverse factors after LT for NET [V]",
        "https://rd.springer.com/article/10.1007/s11154-017-9439-7",
    ),
    "maspero2022": Citation(
        "Maspero et al., Am J Transplant 2022 (LT vs resection in Milan-selected NELM) [V]",
        "https://pmc.ncbi.nlm.nih.gov/articles/PMC9805141/",
    ),
    "cazzato2021": Citation(
        "Cazzato et al., Cancers 2021;13:6368 (ablation for few, endovascular for multiple NELM) "
        "[V abstract]",
        "https://biomed.reviewer.ly/app/publication/a7917af8-17ca-451a-92d9-1789f8270b36",
    ),
    "anthem_cg_surg_78": Citation(
        "Anthem/Healthy Blue CG-SURG-78 (payer policy): each lesion <=5 cm, all foci amenable [V]",
        "https://provider.healthybluela.com/dam/medpolicies/healthybluela/active/guidelines/gl_pw_d080179.html",
    ),
    "kose2020": Citation(
        "Kose et al. 2020 (Cleveland Clinic summary): laparoscopic ablation for NELM <20 % of liver [V]",
        "https://consultqd.clevelandclinic.org/laparoscopic-ablation-for-neuroendocrine-liver-metastases/",
    ),
    "ablation_heat_sink": Citation(
        "Planning and follow-up after ablation of hepatic tumours: >5 cm and perivascular tumours "
        "have a higher incomplete-ablation risk (generic hepatic ablation) [V]",
        "https://oncohemakey.com/planning-and-follow-up-after-ablation-of-hepatic-tumors-imaging-evaluation",
    ),
    "hcc_rfa_convention": Citation(
        "HCC RFA inclusion example (<=3 nodules <=3 cm or single <=5 cm), HCC-derived [V]",
        "https://synapse.koreamed.org/DOIx.php?id=10.3348%2Fjksr.2017.77.4.229",
    ),
    "odisio2016": Citation(
        "Odisio et al., J Gastrointest Surg 2016: ablation after hepaticojejunostomy, abscess 2/2 standard "
        "vs 0/10 aggressive prophylaxis [V]",
        "https://pmc.ncbi.nlm.nih.gov/articles/PMC4938743/",
    ),
    "retnet_table1": Citation(
        "RETNET eligibility, Trials 2018, Table 1 (PS 0-2, bilirubin <=2.0, albumin >=3.0, plt >=50, "
        "INR <=1.5, creatinine <=2.0, burden <=70 %, indication burden >25 %) [V]",
        "https://pmc.ncbi.nlm.nih.gov/articles/PMC6050671/table/Tab1",
    ),
    "retnet_protocol": Citation(
        "RETNET protocol, Trials 2018: embolotherapy for progressive or symptomatic NELM [V]",
        "https://trialsjournal.biomedcentral.com/articles/10.1186/s13063-018-2782-5",
    ),
    "de_baere2015": Citation(
        "de Baere et al., HPB 2015 (NET liver metastases consensus): TAE, TACE, RE moderate quality, "
        "none superior; RE for liver-only or limited extrahepatic disease [V]",
        "https://dx.doi.org/10.1111/hpb.12326",
    ),
    "sofocleous2014": Citation(
        "Sofocleous et al., JVIR 2014;25:22: >50 % liver replacement, extrahepatic disease, urgent HAE "
        "predict shorter OS [V]",
        "https://pubmed.ncbi.nlm.nih.gov/24365504",
    ),
    "wjh2015_tace": Citation(
        "World J Hepatol 2015 Table 1: severely reduced portal flow = absolute TACE contraindication "
        "(HCC-derived) [V]",
        "http://wjgnet.com/1948-5182/full/v7/i16/2009-T1.htm",
    ),
    "vanderwalde2009": Citation(
        "VanderWalde et al., Gastrointest Cancer Res 2009: TACE should not be offered after "
        "bilioenteric anastomosis except with aggressive prophylaxis [V]",
        "http://pubmedcentralcanada.ca/pmcc/articles/PMC3000072/",
    ),
    "scvir_whipple": Citation(
        "SCVIR report (AuntMinnie): abscess in 6 of 7 Whipple patients after chemoembolization [V]",
        "https://www.auntminnie.com/index.aspx?sec=nws&sub=rad&pag=dis&ItemId=50324",
    ),
    "lv2016": Citation(
        "Lv et al., Medicine 2016: 57.1 % of post-TACE abscesses had bilioenteric anastomosis or "
        "biliary stent [V]",
        "https://pmc.ncbi.nlm.nih.gov/articles/PMC4998718/",
    ),
    "sir_qi_tace": Citation(
        "SIR quality-improvement guideline for TACE (2009, rev. 2012): abscess with "
        "biliary-enteric anastomosis/stent/sphincterotomy as major complication [V]",
        "https://www.guidelinecentral.com/summaries/quality-improvement-guidelines-for-transhepatic-arterial-chemoembolization-embolization-and-chemotherapeutic-infusion-for-hepatic-malignancy/",
    ),
    "bhagat2013": Citation(
        "Bhagat et al., CVIR 2013: phase II DEB-TACE in NELM, bilomas in 7/13, trial interrupted [V]",
        "https://pmc.ncbi.nlm.nih.gov/articles/PMC3596485/",
    ),
    "guiu2009": Citation(
        "Guiu et al. 2009: liver/biliary injury after DEB-TACE (OR 6.63), NET/non-cirrhotic liver "
        "(OR 8.13) [V]",
        "https://pure.gustaveroussy.fr/en/publications/liverbiliary-injuries-following-chemoembolisation-of-endocrine-tu",
    ),
    "retnet_debtace_halt": Citation(
        "RETNET DEB-TACE arm halted by the DSMB for serious adverse events (CIRSE 2019) [V]",
        "https://blearning.net/retnet-deb-dox-treatment/",
    ),
    "gaur2011": Citation(
        "Gaur et al. 2011: 2 biliary injuries in 38 DEB-TACE procedures [V]", "PMID 21431978"
    ),
    "bonne2017": Citation(
        "Bonne et al. 2017: 50-100 µm HepaSphere DEB-TACE, 1 ischaemic cholecystitis [V]",
        "https://pmc.ncbi.nlm.nih.gov/articles/PMC5330173/",
    ),
    "van_roekel": Citation(
        "van Roekel, PhD thesis: Y-90 RE indications and contraindications (ECOG <=2; bilirubin >2 mg/dL; "
        "leukocytes <2x10^9/L; plt <50; GFR <35; INR >1.5; main PV thrombosis; lung dose 30/50 Gy; LSF "
        "policy) [V]",
        "https://publicatie-online.nl/uploaded/flipbook/143091-Caren-van-Roekel/21",
    ),
    "reboc_list": Citation(
        "REBOC-type RE contraindications (>70 % tumour replacement unless synthetic function maintained; "
        "granulocytes <1.5x10^9/L), secondary page; original Kennedy 2007 [B]",
        "https://www.seekhealthz.com/health/contraindications-of-90-y-radioembolization/",
    ),
    "tace_four_factor": Citation(
        "HCC TACE '4-factor' rule: >50 % liver replacement, bilirubin >2 mg/dL, LDH >425, AST >100 together "
        "strongly associated with post-procedural mortality, individually not predictive; some operators "
        "use bilirubin >3 mg/dL; secondary summary, original Berger et al. [B]",
        "https://www.seekhealthz.com/health/contraindications-for-tace-in-hcc/",
    ),
    "sangro_lsf": Citation(
        "Sangro: withhold RE at LSF >=15 % vs resin reduction at LSF >10/15/20 % (van Roekel p.41) [V]",
        "https://publicatie-online.nl/uploaded/flipbook/143091-Caren-van-Roekel/41",
    ),
    "ludwig_lsf": Citation(
        "Ludwig et al.: LSF >=10 % before Y-90 in NET, median OS 4.8 vs 42.8 months; bilirubin >1.2 mg/dL "
        "poor prognosis [V]",
        "https://jhu.pure.elsevier.com/en/publications/lung-shunt-fraction-prior-to-yttrium-90-radioembolization-predict",
    ),
    "su2017": Citation(
        "Su et al., JVIR 2017: long-term hepatotoxicity of whole-liver glass Y-90 (cirrhosis-like "
        "morphology 56.4 % vs 26.7 %) [V]",
        "https://www.scholars.northwestern.edu/en/publications/long-term-hepatotoxicity-of-yttrium-90-radioembolization-as-treat",
    ),
    "tomozawa2018": Citation(
        "Tomozawa et al., JVIR 2018: resin RE, no RE-related liver failure; baseline ascites poor "
        "survival [V]",
        "https://ohsu.elsevierpure.com/en/publications/long-term-toxicity-after-transarterial-radioembolization-with-ytt",
    ),
    "braat2019": Citation(
        "Braat et al. 2019: RE after PRRT, fatal REILD 2 % (1 patient), 'safe; REILD rare' [V]",
        "https://pmc.ncbi.nlm.nih.gov/articles/PMC6965040/",
    ),
    "agahi2022": Citation(
        "Agahi et al., Curr Oncol 2022: TARE after biliary intervention, abscess 1/15 (6.6 %) [V]",
        "https://scribd.com/document/625977114/curroncol-29-00553-1",
    ),
    "netter1": Citation(
        "NETTER-1 (Strosberg, N Engl J Med 2017; JNM abstract): G1-2 midgut, progression on SSA, "
        "Krenning 2-4 [V]",
        "https://ascopost.com/News/46289",
    ),
    "krenning_scale": Citation(
        "Krenning score wording and PRRT eligibility 'usually >2' (Radiopaedia; Cancer Imaging 2022 "
        "table) [V]",
        "https://radiopaedia.org/articles/krenning-score-of-neuroendocrine-tumour-uptake",
    ),
    "netpet": Citation(
        "Chan et al., Theranostics 2017;7:1149: NETPET grade P0-P5 [V]",
        "http://thno.org/v07p1149",
    ),
    "jnm2023_burden": Citation(
        "JNM 2023;64:880: PRRT with >75 % liver involvement, no grade 3-5 hepatotoxicity [V]",
        "https://peeref.com/works/27460058",
    ),
    "enets2017_imaging": Citation(
        "ENETS 2017 imaging standards (Sundin): FDG PET for G3 and high-G2 NET [V]",
        "https://iris.unige.it/handle/11567/935674",
    ),
    "enets2017_periop": Citation(
        "ENETS 2017 CoP pre-/peri-operative therapy (PMC5637287): cardiac work-up in carcinoid syndrome, "
        "SSA to prevent crisis during interventions [V]",
        "https://pmc.ncbi.nlm.nih.gov/articles/PMC5637287/",
    ),
    "condron2016": Citation(
        "Condron et al., Surgery 2016: continuous octreotide infusion did not prevent carcinoid crisis [V]",
        "https://ohsu.elsevierpure.com/en/publications/continuous-infusion-of-octreotide-combined-with-perioperative-oct",
    ),
    "kwon2019": Citation(
        "Kwon et al., Pancreas 2019: periprocedural crisis in 32 % of LDT, octreotide not protective [V]",
        "https://journals.lww.com/pancreasjournal/Abstract/2019/04000/Periprocedural_Management_of_Patients_Undergoing.5.aspx",
    ),
    "prrt_crisis": Citation(
        "Hormonal crisis after the first Lu-177 octreotate cycle: 1 % (6/479) [V]",
        "https://pmc.ncbi.nlm.nih.gov/articles/PMC2668649/",
    ),
    "du2015": Citation(
        "Du et al., Medicine 2015: aggressive LRT in G3 GEP-NET liver metastases (weak counter-evidence) [V]",
        "https://pmc.ncbi.nlm.nih.gov/articles/PMC4602914/",
    ),
    "nelm_y90_safety": Citation(
        "nelm y90 plan safety checks (nelm.y90.safety): deliverability, resin LSF bands (20/40/100 % at "
        ">10/15/20 %), normal-liver dose < 70 Gy (< 40 Gy cirrhotic), perfused-volume mismatch; sources in "
        "y90-dosimetry.md §2.3-§2.4 and clinical-rules.md §2.7",
        "y90-dosimetry.md §2.3-§2.4",
    ),
    "clinical_rules_s9": Citation(
        "nelm reference clinical-rules.md §9: suggested default rule set (a synthesis, not a guideline)",
        "clinical-rules.md §9",
    ),
}


def citation(key: str) -> Citation:
    """The citation of ``key`` (``KeyError`` names the unknown id)."""
    try:
        return CITATIONS[key]
    except KeyError:
        raise KeyError(f"unknown citation id {key!r}") from None
