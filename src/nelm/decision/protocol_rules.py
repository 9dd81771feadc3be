"""The imaging-protocol rules: what to image, when, and which criteria to read with.

Every recommendation is an :class:`ItemRule` (one row of ``reference/clinical-rules.md`` §4.1-4.3)
with the image roles of the case manifest that show it was done; every interval is a named
module-level constant with its source. Timings are calendar days relative to the procedure
date (the calendar date of the treatment, in its own UTC offset, :func:`nelm.case.calendar_date`);
windows are inclusive at both ends. Where a source gives hours (Y-90 imaging within 24 h) and
both the treatment and the time point carry a time of day, the hours are checked too.

Sources are ids of :data:`nelm.decision.protocol_sources.PROTOCOL_SOURCES`.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Final, Literal

from nelm.case import Grade, ImageRole, TreatmentType
from nelm.decision.protocol_sources import HOW_CROSS_SECTIONAL, HOW_FDG, HOW_MAA, HOW_SSTR

__all__ = [
    "ABLATION_PET_MAX_HOURS",
    "ABLATION_RIM_MONTHS",
    "BASELINE_MAX_DAYS_BEFORE",
    "CT_LATE_ARTERIAL_S",
    "CT_LATE_VENOUS_MIN_S",
    "CT_MAX_SLICE_MM",
    "CT_PORTAL_VENOUS_S",
    "EARLY_MRI_DAYS",
    "FOLLOW_UP_INTERVAL_AFTER_YEAR1_MONTHS",
    "FOLLOW_UP_MONTHS_YEAR1",
    "FOLLOW_UP_TOLERANCE_DAYS",
    "MAA_DAYS_BEFORE",
    "MR_DYNAMIC_S",
    "PROCEDURE_LABELS",
    "Y90_IMAGING_MAX_HOURS",
    "CriterionRule",
    "DayWindow",
    "ItemRule",
    "Phase",
    "ProtocolSettings",
    "add_months",
    "criteria_for",
    "pre_items",
    "procedure_items",
]

Phase = Literal["pre", "intra", "post"]

# --- intervals and acquisition numbers (each with its source) -------------------------------------

#: Baseline cross-sectional imaging at most 28 days (4 weeks) before the procedure: RECIST 1.1
#: (Eisenhauer 2009) "never more than 4 weeks before the beginning of the treatment"
#: [B, "RECIST11-baseline"]; ``reference/clinical-rules.md`` §4.1 gives no recency window.
BASELINE_MAX_DAYS_BEFORE = 28
#: Tc-99m MAA 1-2 weeks (7-14 days) before TARE ["TARE-workup2015"].
MAA_DAYS_BEFORE = (7, 14)
#: Post-TARE Y-90 PET/CT or bremsstrahlung SPECT/CT within 24 h [B practice norm, "B-Y90-24h"].
Y90_IMAGING_MAX_HOURS = 24
#: Optional PET-CT at most 48 h after ablation ["ECIO-ESOI2020" Table 2].
ABLATION_PET_MAX_HOURS = 48
#: Early functional MRI 3-4 weeks (21-28 days) after intra-arterial therapy ["GowdraHalappa2013"].
EARLY_MRI_DAYS = (21, 28)
#: Follow-up at 1, 3, 6, 9 and 12 months in year 1 ["ECIO-ESOI2020" Table 2; CRLM/HCC consensus].
FOLLOW_UP_MONTHS_YEAR1 = (1, 3, 6, 9, 12)
#: Then every 6 months ["ECIO-ESOI2020" Table 2].
FOLLOW_UP_INTERVAL_AFTER_YEAR1_MONTHS = 6
#: Visit window: the due date +/- 14 days. A nelm scheduling convention, not from a source: the
#: cited schedule gives months only. One setting away (:class:`ProtocolSettings`).
FOLLOW_UP_TOLERANCE_DAYS = 14
#: The post-ablation hyperaemic rim is seen in about 90% in month 1 and >50% at 1-3 months: warn
#: for follow-up earlier than 3 months ["Medscape-ablation-rim"].
ABLATION_RIM_MONTHS = 3
#: CT liver timing: late arterial 35-40 s, portal venous 70 s, late venous >=120 s, slices
#: <=3 mm ["ECIO-ESOI2020" Table 2].
CT_LATE_ARTERIAL_S = (35, 40)
CT_PORTAL_VENOUS_S = 70
CT_LATE_VENOUS_MIN_S = 120
CT_MAX_SLICE_MM = 3
#: MRI dynamic phases at 20, 70 and 180 s ["ECIO-ESOI2020" Table 2].
MR_DYNAMIC_S = (20, 70, 180)

#: Human-readable names of the procedures (``"ldt"``: no procedure in the case, common work-up).
PROCEDURE_LABELS: dict[str, str] = {
    "ablation": "Percutaneous thermal ablation",
    "tae": "Bland transarterial embolization (TAE)",
    "ctace": "Conventional (lipiodol) TACE",
    "debtace": "Drug-eluting-bead TACE",
    "tare": "Y-90 radioembolization",
    "prrt": "PRRT (177Lu-DOTATATE)",
    "resection": "Liver resection / cytoreduction",
    "transplant": "Liver transplantation",
    "ldt": "Liver-directed therapy (none planned in the case): common work-up",
}

_ARTERIAL = frozenset({TreatmentType.TAE, TreatmentType.CTACE, TreatmentType.DEBTACE, TreatmentType.TARE})
_IR = _ARTERIAL | {TreatmentType.ABLATION}


@dataclass(frozen=True)
class ProtocolSettings:
    """The advisor's configurable defaults.

    Parameters
    ----------
    baseline_max_days_before:
        Recency of the baseline CT/MRI (default :data:`BASELINE_MAX_DAYS_BEFORE`, RECIST 1.1 [B]).
    follow_up_months_year1:
        Visits in year 1 (default :data:`FOLLOW_UP_MONTHS_YEAR1`). The sources disagree on the first
        visit (1 vs 3 months, "Gaba2015"): ``(3, 6, 9, 12)`` drops the 1-month visit.
    follow_up_interval_after_year1_months:
        Interval after year 1 (default 6 months).
    follow_up_tolerance_days:
        Half-width of each visit window (default :data:`FOLLOW_UP_TOLERANCE_DAYS`, a convention).
    """

    baseline_max_days_before: int = BASELINE_MAX_DAYS_BEFORE
    follow_up_months_year1: tuple[int, ...] = FOLLOW_UP_MONTHS_YEAR1
    follow_up_interval_after_year1_months: int = FOLLOW_UP_INTERVAL_AFTER_YEAR1_MONTHS
    follow_up_tolerance_days: int = FOLLOW_UP_TOLERANCE_DAYS

    def __post_init__(self) -> None:
        months = self.follow_up_months_year1
        if self.baseline_max_days_before < 0 or self.follow_up_tolerance_days < 0:
            raise ValueError("baseline_max_days_before and follow_up_tolerance_days must be >= 0")
        if not months or any(m <= 0 for m in months) or list(months) != sorted(set(months)):
            raise ValueError(f"follow_up_months_year1 must be increasing positive months, got {months}")
        if self.follow_up_interval_after_year1_months <= 0:
            raise ValueError("follow_up_interval_after_year1_months must be positive")


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus calendar months, the day clamped to the month's length (Jan 31 + 1 = Feb 28/29)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class DayWindow:
    """Days relative to the procedure date, inclusive; ``max_hours`` checked when both have a time.

    Parameters
    ----------
    first_day, last_day:
        Offsets in days (negative before the procedure).
    max_hours:
        Upper limit in hours after the procedure, applied when the treatment and the time point
        are both date-times.
    """

    first_day: int
    last_day: int
    max_hours: int | None = None

    def __post_init__(self) -> None:
        if self.first_day > self.last_day:
            raise ValueError(f"window starts after it ends: {self.first_day} > {self.last_day}")

    def dates(self, anchor: dt.date) -> tuple[dt.date, dt.date]:
        """The window's first and last calendar date for a procedure on ``anchor``."""
        return anchor + dt.timedelta(days=self.first_day), anchor + dt.timedelta(days=self.last_day)


#: "any time before the procedure": no recency window in the cited sources.
BEFORE: Final = "before"
#: "any time after the procedure": no interval in the cited sources.
AFTER: Final = "after"
#: A follow-up visit generated from the schedule (window built per visit).
VISIT: Final = "visit"

WindowKind = DayWindow | Literal["before", "after", "visit"]
RoleGroups = tuple[frozenset[ImageRole], ...]


def _groups(*groups: tuple[ImageRole, ...]) -> RoleGroups:
    return tuple(frozenset(g) for g in groups)


_CT_MULTIPHASE = _groups((ImageRole.CT_ARTERIAL, ImageRole.CT_PORTAL))
_MR_CONTRAST = _groups((ImageRole.MR_HBP,), (ImageRole.MR_ARTERIAL,), (ImageRole.MR_PORTAL,))
_MR_ANY = (*_MR_CONTRAST, *_groups((ImageRole.MR_DWI,), (ImageRole.MR_T2,)))
_CT_CONTRAST = _groups((ImageRole.CT_ARTERIAL,), (ImageRole.CT_PORTAL,), (ImageRole.CT_DELAYED,))


@dataclass(frozen=True)
class ItemRule:
    """One recommended examination.

    Parameters
    ----------
    key:
        Stable id of the rule.
    phase:
        ``pre``, ``intra`` or ``post``.
    modality, protocol, timing, purpose:
        What to acquire, how, when (in words) and why.
    citations:
        Source ids.
    window:
        A :class:`DayWindow`, or ``"before"`` / ``"after"`` (no interval cited), or ``"visit"``.
    match:
        Groups of image roles; a time point shows the examination when it has every role of one
        group. Empty: the examination cannot be recorded in a case manifest (e.g. echocardiography).
    wanted:
        Roles reported as absent when the matching time point lacks them (e.g. DWI).
    optional:
        Not required by the sources for this case: ``n/a`` unless recorded.
    missing_input:
        For pre-procedural items: how the gap is named in the advice's ``missing`` list.
    how_to_get:
        The group of that gap (what imaging provides it).
    """

    key: str
    phase: Phase
    modality: str
    protocol: str
    timing: str
    purpose: str
    citations: tuple[str, ...]
    window: WindowKind
    match: RoleGroups
    wanted: frozenset[ImageRole] = field(default_factory=frozenset)
    optional: bool = False
    missing_input: str | None = None
    how_to_get: str | None = None


# --- the rules ---------------------------------------------------------------------------------------

_CT_PROTOCOL = (
    f"contrast CT neck-thorax-abdomen-pelvis with 3-phase liver: unenhanced, late arterial "
    f"{CT_LATE_ARTERIAL_S[0]}-{CT_LATE_ARTERIAL_S[1]} s, portal venous {CT_PORTAL_VENOUS_S} s "
    f"(late venous >={CT_LATE_VENOUS_MIN_S} s optional); slices <={CT_MAX_SLICE_MM} mm"
)
_MR_PROTOCOL = (
    "contrast MRI of the liver with DWI and T2; gadoxetate with hepatobiliary phase (DWI + HBP is the "
    f"best set); dynamic phases {MR_DYNAMIC_S[0]}/{MR_DYNAMIC_S[1]}/{MR_DYNAMIC_S[2]} s"
)


def _baseline_ct(settings: ProtocolSettings) -> ItemRule:
    days = settings.baseline_max_days_before
    return ItemRule(
        key="baseline_ct",
        phase="pre",
        modality="multiphase CT",
        protocol=_CT_PROTOCOL,
        timing=f"within {days} days before the procedure",
        purpose="staging, surveillance and the reference examination for response assessment",
        citations=("ENETS2017-imaging", "ECIO-ESOI2020", "RECIST11-baseline"),
        window=DayWindow(-days, 0),
        match=_CT_MULTIPHASE,
        missing_input=f"multiphase CT (arterial + portal venous) within {days} days before the procedure",
        how_to_get=HOW_CROSS_SECTIONAL,
    )


def _baseline_mri(settings: ProtocolSettings, *, surgical: bool) -> ItemRule:
    days = settings.baseline_max_days_before
    cites = ("ENETS2017-imaging", "Hayoz2020", "dAssignies2013", "Grawe2023", "RECIST11-baseline")
    return ItemRule(
        key="baseline_mri",
        phase="pre",
        modality="MRI (preferred for the liver)",
        protocol=_MR_PROTOCOL,
        timing=f"within {days} days before the procedure",
        purpose="lesion count and segment mapping (MRI finds more lesions than SSTR PET); response reference"
        + ("; mapping before surgery" if surgical else ""),
        citations=(*cites, "JCM2023-surgery") if surgical else cites,
        window=DayWindow(-days, 0),
        match=_MR_CONTRAST,
        wanted=frozenset({ImageRole.MR_DWI, ImageRole.MR_HBP}),
        missing_input=f"contrast liver MRI with DWI within {days} days before the procedure",
        how_to_get=HOW_CROSS_SECTIONAL,
    )


def _sstr_pet(procedure: str) -> ItemRule:
    prrt = procedure == TreatmentType.PRRT
    return ItemRule(
        key="sstr_pet",
        phase="pre",
        modality="68Ga-DOTA-SSA PET/CT (SSTR PET)",
        protocol="68Ga-DOTATATE/-DOTATOC PET/CT (replaces OctreoScan)",
        timing="before the procedure (no recency window in the cited sources)",
        purpose=(
            "SSTR expression (Krenning score) for PRRT eligibility; whole-body staging"
            if prrt
            else "whole-body staging and extrahepatic disease; SSTR status"
        ),
        citations=("ENETS2017-imaging", "SNMMI-AUC-SSTR", "Grawe2023"),
        window=BEFORE,
        match=_groups((ImageRole.PET_SSTR,)),
        missing_input="SSTR PET before PRRT (Krenning score)" if prrt else "SSTR PET before the procedure",
        how_to_get=HOW_SSTR,
    )


def _fdg_pet(procedure: str, grade: Grade | None) -> ItemRule:
    required = grade in (Grade.G3, Grade.NEC)
    if required:
        when = "recommended for G3/NEC"
    elif grade is None:
        when = "optional: recommended for G3 or high-G2 disease; the case gives no grade"
    else:
        when = "optional: only for high-G2 disease; no Ki-67 cut-off in the cited sources"
    cites: tuple[str, ...] = ("ENETS2017-imaging",)
    if procedure == TreatmentType.PRRT:
        cites = (*cites, "NETPET2017")
    return ItemRule(
        key="fdg_pet",
        phase="pre",
        modality="FDG PET/CT",
        protocol=f"FDG PET/CT; {when}",
        timing="before the procedure (no recency window in the cited sources)",
        purpose="prognosis; FDG-avid disease"
        + ("; NETPET grade with the SSTR PET" if procedure == TreatmentType.PRRT else ""),
        citations=cites,
        window=BEFORE,
        match=_groups((ImageRole.PET_FDG,)),
        optional=not required,
        missing_input="FDG PET before the procedure (G3/NEC)",
        how_to_get=HOW_FDG,
    )


def _cardiac() -> ItemRule:
    return ItemRule(
        key="cardiac_workup",
        phase="pre",
        modality="echocardiography",
        protocol="echocardiography and NT-proBNP (not recordable in a case manifest: check the record)",
        timing="before the intervention",
        purpose="carcinoid heart disease (up to about 50% with carcinoid syndrome); crisis planning",
        citations=("ENETS2017-periop",),
        window=BEFORE,
        match=(),
        optional=True,
    )


def _maa() -> ItemRule:
    near, far = MAA_DAYS_BEFORE
    return ItemRule(
        key="maa_spect",
        phase="pre",
        modality="Tc-99m MAA SPECT/CT",
        protocol="planning angiography, then Tc-99m MAA SPECT/CT (attenuation/scatter corrected; planar "
        "overestimates the lung shunt fraction)",
        timing=f"{near}-{far} days before TARE",
        purpose="lung shunt fraction, extrahepatic deposition and activity planning (nelm y90 plan)",
        citations=("TARE-workup2015", "Allred2018", "EANM-dosimetry2021"),
        window=DayWindow(-far, -near),
        match=_groups((ImageRole.SPECT_MAA,)),
        missing_input="Tc-99m MAA SPECT/CT 1-2 weeks before TARE",
        how_to_get=HOW_MAA,
    )


def pre_items(
    procedure: str, grade: Grade | None, carcinoid: bool, settings: ProtocolSettings
) -> list[ItemRule]:
    """The pre-procedural rules for ``procedure`` (a TreatmentType value, or ``"ldt"``)."""
    surgical = procedure in (TreatmentType.RESECTION, TreatmentType.TRANSPLANT)
    items = [
        _baseline_ct(settings),
        _baseline_mri(settings, surgical=surgical),
        _sstr_pet(procedure),
    ]
    if grade not in (Grade.G1,):
        items.append(_fdg_pet(procedure, grade))
    if carcinoid and procedure != TreatmentType.PRRT:
        items.append(_cardiac())
    if procedure == TreatmentType.TARE:
        items.append(_maa())
    return items


def _intra(procedure: str) -> list[ItemRule]:
    if procedure in _ARTERIAL:
        return [
            ItemRule(
                key="cbct",
                phase="intra",
                modality="cone-beam CT",
                protocol="dual-phase cone-beam CT for tumour and feeder detection",
                timing="during the procedure",
                purpose="tumours and feeders missed on DSA (HCC evidence, extrapolated to NELM: optional)",
                citations=("CBCT-EJRNM2019", "CBCT-PLoSOne2021"),
                window=DayWindow(0, 0),
                match=_groups((ImageRole.CBCT,)),
                optional=True,
            )
        ]
    if procedure == TreatmentType.ABLATION:
        return [
            ItemRule(
                key="ablation_margin",
                phase="intra",
                modality="contrast CT or cone-beam CT",
                protocol="intra-procedural or immediate contrast imaging of the ablation zone",
                timing="during or right after the ablation",
                purpose="confirm the ablation margin (practice convention, no NELM protocol checked)",
                citations=("B-ablation-margin",),
                window=DayWindow(0, 0),
                match=(*_CT_CONTRAST, *_groups((ImageRole.CBCT,))),
                optional=True,
            )
        ]
    return []


def _days_spanned(hours: int) -> int:
    # Calendar days after the procedure day that a limit in hours can reach (24 h -> the next day).
    return math.ceil(hours / 24)


def _post_fixed(procedure: str) -> list[ItemRule]:
    items: list[ItemRule] = []
    if procedure == TreatmentType.TARE:
        items.append(
            ItemRule(
                key="y90_imaging",
                phase="post",
                modality="Y-90 PET/CT (or bremsstrahlung SPECT/CT)",
                protocol="Y-90 TOF PET/CT preferred; bremsstrahlung SPECT/CT otherwise",
                timing=f"within {Y90_IMAGING_MAX_HOURS} h of treatment",
                purpose="non-target deposition (stomach, gallbladder) and voxel dosimetry compared with the "
                "MAA plan (nelm y90 post)",
                citations=("Y90-PET2019", "EANM-dosimetry2021", "B-Y90-24h"),
                window=DayWindow(0, _days_spanned(Y90_IMAGING_MAX_HOURS), max_hours=Y90_IMAGING_MAX_HOURS),
                match=_groups((ImageRole.PET_Y90,), (ImageRole.SPECT_Y90,)),
            )
        )
    if procedure == TreatmentType.ABLATION:
        items.append(
            ItemRule(
                key="ablation_pet",
                phase="post",
                modality="PET/CT",
                protocol="PET/CT (only for metastases >2 cm)",
                timing=f"within {ABLATION_PET_MAX_HOURS} h after ablation (optional)",
                purpose="early baseline of the ablation zone",
                citations=("ECIO-ESOI2020",),
                window=DayWindow(0, _days_spanned(ABLATION_PET_MAX_HOURS), max_hours=ABLATION_PET_MAX_HOURS),
                match=_groups((ImageRole.PET_SSTR,), (ImageRole.PET_FDG,)),
                optional=True,
            )
        )
    if procedure in _ARTERIAL:
        first, last = EARLY_MRI_DAYS
        items.append(
            ItemRule(
                key="early_functional_mri",
                phase="post",
                modality="functional MRI (DWI/ADC + contrast)",
                protocol="DWI with ADC map and arterial/portal venous phases, volumetric",
                timing=f"{first}-{last} days after the procedure (optional)",
                purpose="early response: ADC up >=15% and enhancement down >=25% arterial or >=50% portal",
                citations=("GowdraHalappa2013",),
                window=DayWindow(first, last),
                match=_groups(
                    (ImageRole.MR_DWI, ImageRole.MR_ARTERIAL),
                    (ImageRole.MR_DWI, ImageRole.MR_PORTAL),
                    (ImageRole.MR_ADC, ImageRole.MR_ARTERIAL),
                    (ImageRole.MR_ADC, ImageRole.MR_PORTAL),
                ),
                optional=True,
            )
        )
    if procedure == TreatmentType.PRRT:
        items.append(
            ItemRule(
                key="prrt_restaging",
                phase="post",
                modality="CT/MRI (same technique as baseline); SSTR PET at restaging",
                protocol="cross-sectional imaging with the baseline's phases/sequences for RECIST 1.1",
                timing="after PRRT; no interval in the cited sources (follow the local protocol)",
                purpose="response by RECIST 1.1 (trial standard); SSTR PET at clinical progression",
                citations=("NETTER1", "SNMMI-AUC-SSTR"),
                window=AFTER,
                match=(*_CT_CONTRAST, *_MR_ANY),
                optional=True,
            )
        )
    if procedure in (TreatmentType.RESECTION, TreatmentType.TRANSPLANT):
        items.append(
            ItemRule(
                key="postoperative",
                phase="post",
                modality="CT/MRI",
                protocol="cross-sectional imaging with the baseline's technique",
                timing="no post-operative interval in the cited sources (follow the local protocol)",
                purpose="recurrence",
                citations=("ENETS2017-imaging",),
                window=AFTER,
                match=(*_CT_CONTRAST, *_MR_ANY),
                optional=True,
            )
        )
    return items


def follow_up_rule(procedure: str, month: int) -> ItemRule:
    """The scheduled cross-sectional follow-up visit ``month`` months after an IR procedure."""
    lipiodol = procedure == TreatmentType.CTACE
    cites: tuple[str, ...] = ("ECIO-ESOI2020",)
    if month == FOLLOW_UP_MONTHS_YEAR1[0]:
        cites = (*cites, "Gaba2015")
    return ItemRule(
        key=f"follow_up_{month}m",
        phase="post",
        modality="MRI (mandatory after lipiodol cTACE)" if lipiodol else "MRI (primary) or CT",
        protocol="same phases/sequences as the baseline; MRI with DWI and dynamic contrast (HBP with "
        "gadoxetate); CT with late arterial and portal venous phases"
        + ("; CT does not count: lipiodol hides enhancement" if lipiodol else ""),
        timing=f"{month} month{'s' if month > 1 else ''} after the procedure"
        + (" (first imaging at 1 vs 3 months varies in practice)" if "Gaba2015" in cites else ""),
        purpose="response and recurrence",
        citations=cites,
        window=VISIT,
        match=_MR_ANY if lipiodol else (*_CT_CONTRAST, *_MR_ANY),
    )


def schedule_months(settings: ProtocolSettings) -> list[int]:
    """The first visits of the follow-up schedule (year 1, then the interval), up to 30 years."""
    months = list(settings.follow_up_months_year1)
    step = settings.follow_up_interval_after_year1_months
    while months[-1] < 360:
        months.append(months[-1] + step)
    return months


def procedure_items(procedure: str) -> tuple[list[ItemRule], bool]:
    """The intra- and fixed post-procedural rules, and whether the follow-up schedule applies."""
    return [*_intra(procedure), *_post_fixed(procedure)], procedure in _IR


@dataclass(frozen=True)
class CriterionRule:
    """A response criterion to read with, why, its sources and the ``nelm response`` key (or None)."""

    name: str
    why: str
    citations: tuple[str, ...]
    nelm_key: str | None


_RECIST_ARTERIAL = CriterionRule(
    "RECIST 1.1",
    "trial standard; size criteria under-call response after embolization (NELM after TACE: RECIST 2.0% "
    "vs mRECIST 25.5%), so report it with an enhancement criterion",
    ("Sahu2017",),
    "recist",
)
_MRECIST = CriterionRule(
    "mRECIST",
    "enhancement (viable tumour) criterion; favoured in IR practice",
    ("Sahu2017", "Gaba2015"),
    "mrecist",
)


def criteria_for(procedure: str, *, fdg: bool) -> list[CriterionRule]:
    """The response criteria to read with after ``procedure``; ``fdg``: FDG PET in the case."""
    if procedure in (TreatmentType.TAE, TreatmentType.CTACE, TreatmentType.DEBTACE):
        easl_why = "enhancing-tissue criterion (NELM after TACE: EASL 23.5%)"
        cites: tuple[str, ...] = ("Sahu2017",)
        if procedure == TreatmentType.CTACE:
            easl_why += "; on CT lipiodol counts as enhancing tissue: read on MRI"
            cites = (*cites, "Riaz2011", "ECIO-ESOI2020")
        return [
            _RECIST_ARTERIAL,
            _MRECIST,
            CriterionRule("EASL", easl_why, cites, "easl"),
            CriterionRule(
                "whole-liver enhancing tumour burden (ETB, volumetric)",
                "whole-liver enhancing volume tested in NELM after TACE",
                ("Sahu2017",),
                "etb",
            ),
        ]
    if procedure == TreatmentType.TARE:
        return [
            _RECIST_ARTERIAL,
            _MRECIST,
            CriterionRule(
                "EASL",
                "enhancement criterion; after Y-90 in NELM WHO and EASL disagree (CR 1.2% vs 20.5%)",
                ("Memon2012",),
                "easl",
            ),
            CriterionRule(
                "Choi",
                "after TARE Choi outperforms RECIST 1.1 (CRLM data); combined Choi used in NELM after Y-90",
                ("ECIO-ESOI2020", "Neperud2013"),
                "choi",
            ),
        ]
    if procedure == TreatmentType.ABLATION:
        return [
            CriterionRule(
                "RECIST 1.1",
                "untreated and new lesions; ablated lesions are not measurable unless they progress",
                ("RECIST11-treated",),
                "recist",
            ),
            CriterionRule(
                "ablation-zone features (ECIO-ESOI)",
                "growth of the zone, rim discontinuity, nodular/eccentric enhancement (>15 HU on CT), "
                "restricted diffusion at the margin; early false positives from inflammation",
                ("ECIO-ESOI2020",),
                None,
            ),
        ]
    if procedure == TreatmentType.PRRT:
        out = [
            CriterionRule("RECIST 1.1", "trial standard after PRRT (NETTER-1)", ("NETTER1",), "recist"),
            CriterionRule(
                "SSTR PET volumetric response",
                "under study, not a validated criterion: report alongside, never alone",
                ("SSTR-volumetric",),
                None,
            ),
        ]
        if fdg:
            out.append(
                CriterionRule(
                    "PERCIST 1.0",
                    "defined on FDG PET: only for FDG-avid disease followed with FDG PET",
                    ("Wahl2009-PERCIST", "ENETS2017-imaging"),
                    "percist",
                )
            )
        return out
    return []
