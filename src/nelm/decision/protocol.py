"""Imaging-protocol advisor: which imaging, when, read with which criteria, and what to watch for.

:func:`advise_imaging` takes a case and, for each liver-directed or PRRT treatment in it (or a
named procedure), lists the recommended examinations before, during and after the procedure
(``reference/clinical-rules.md`` §4.1-4.3), with concrete due dates computed from the treatment
date and the cited intervals (:mod:`nelm.decision.protocol_rules`) and a status per item, checked
against the time points of the case:

``done``
    a time point up to ``on`` has the item's image roles inside the window (named in ``evidence``);
``due``
    the window contains ``on``; ``upcoming``: it starts after ``on``; ``overdue``: it ended before
    ``on`` without a matching examination;
``n/a``
    optional for this case (e.g. cone-beam CT, whose evidence is HCC-only) and not recorded, or
    no date to compute a window from.

It names the response criteria to read with (``response-criteria.md`` §1; computed by
``nelm response CASE.yaml --criteria KEY``), the pitfalls of §4.4 as warnings (checked against the
case where they can be: a CT after cTACE, a follow-up on another phase or sequence than the
baseline, a planar-only MAA), and what the case still lacks for the decision rules. The advice is
reproducible: ``on`` defaults to the date of the latest time point, never to today.

Decisions recorded here:

* Dates are calendar dates (a date-time's date in its own UTC offset); windows are inclusive.
  Time points after ``on`` are ignored.
* A procedure is ``performed`` when dated on or before ``on``, ``planned`` when later, and
  ``hypothetical`` when named but not in the case (its windows cannot be computed; an examination
  counts as done when it would still be recent enough for a procedure on ``on``).
* The follow-up schedule of a procedure stops at the next liver-directed or PRRT treatment of the
  case; it is listed up to the first visit that starts after ``on``.
* Gaps in the pre-procedural imaging are listed in ``missing`` only for planned and hypothetical
  procedures: for a performed one the decision has been taken (its items still say ``overdue``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator

from nelm import RESEARCH_USE_DISCLAIMER
from nelm.case import (
    Case,
    FunctionalSyndrome,
    ImageRole,
    MaskRole,
    TimePoint,
    Treatment,
    TreatmentType,
    calendar_date,
    is_earlier,
)
from nelm.decision import protocol_rules as rules
from nelm.decision.citations import CitationOut
from nelm.decision.protocol_rules import DayWindow, ItemRule, ProtocolSettings
from nelm.decision.protocol_sources import PROTOCOL_SOURCES, how_to_get
from nelm.errors import InputError

__all__ = [
    "ADVISED_PROCEDURES",
    "AdviceItem",
    "AdviceWarning",
    "CriterionAdvice",
    "ImagingAdvice",
    "MissingInput",
    "ProcedureAdvice",
    "ProtocolSettings",
    "advise_imaging",
    "how_to_get",
]

logger = logging.getLogger(__name__)

#: Treatments the advisor covers: the liver-directed ones and PRRT.
ADVISED_PROCEDURES: tuple[TreatmentType, ...] = (
    TreatmentType.ABLATION,
    TreatmentType.TAE,
    TreatmentType.CTACE,
    TreatmentType.DEBTACE,
    TreatmentType.TARE,
    TreatmentType.PRRT,
    TreatmentType.RESECTION,
    TreatmentType.TRANSPLANT,
)

ItemStatus = Literal["done", "due", "overdue", "upcoming", "n/a"]
ProcedureStatus = Literal["planned", "performed", "hypothetical"]

_CT_ROLES = frozenset(
    {ImageRole.CT_UNENHANCED, ImageRole.CT_ARTERIAL, ImageRole.CT_PORTAL, ImageRole.CT_DELAYED}
)
_MR_ROLES = frozenset(
    {
        ImageRole.MR_T1_PRE,
        ImageRole.MR_ARTERIAL,
        ImageRole.MR_PORTAL,
        ImageRole.MR_HBP,
        ImageRole.MR_T2,
        ImageRole.MR_DWI,
    }
)
_MEASURE_ROLES = _CT_ROLES | _MR_ROLES
_ROLE_ORDER = {role: index for index, role in enumerate(ImageRole)}


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AdviceItem(_Model):
    """One recommended examination, its window and whether the case shows it."""

    phase: Literal["pre", "intra", "post"]
    modality: str
    protocol: str
    timing: str
    window: tuple[dt.date, dt.date] | None
    status: ItemStatus
    evidence: str | None
    purpose: str
    citations: tuple[str, ...]

    @model_validator(mode="after")
    def _ordered(self) -> AdviceItem:
        if self.window is not None and self.window[0] > self.window[1]:
            raise ValueError(f"window starts {self.window[0]} after it ends {self.window[1]}")
        if not self.citations:
            raise ValueError(f"{self.modality}: every item cites a source")
        return self


class CriterionAdvice(_Model):
    """A response criterion to read with, and why."""

    name: str
    why: str
    citations: tuple[str, ...]


class AdviceWarning(_Model):
    """A known imaging pitfall that applies to the procedure (or was found in the case)."""

    code: str
    message: str
    citations: tuple[str, ...]


class ProcedureAdvice(_Model):
    """The advice for one procedure."""

    procedure: str
    label: str
    date: dt.date | None
    status: ProcedureStatus
    items: tuple[AdviceItem, ...]
    criteria: tuple[CriterionAdvice, ...]
    warnings: tuple[AdviceWarning, ...]

    def cited(self) -> set[str]:
        """The source ids this procedure's items, criteria and warnings cite."""
        ids: set[str] = set()
        for group in (self.items, self.criteria, self.warnings):
            for entry in group:
                ids.update(entry.citations)
        return ids


class MissingInput(_Model):
    """An input the decision rules lack, and what provides it."""

    input: str
    how_to_get: str


class ImagingAdvice(_Model):
    """The imaging-protocol advice of a case on one date.

    ``model_dump(mode="json")`` is what the report renders; :meth:`summary_lines` is the text form.
    Every citation id used in the advice is defined in ``citations``.
    """

    disclaimer: str
    on: dt.date
    procedures: tuple[ProcedureAdvice, ...]
    missing: tuple[MissingInput, ...]
    citations: dict[str, CitationOut]

    @model_validator(mode="after")
    def _cited(self) -> ImagingAdvice:
        used = set().union(*(p.cited() for p in self.procedures))
        undefined = sorted(used - set(self.citations))
        if undefined:
            raise ValueError(f"citation ids used but not defined: {', '.join(undefined)}")
        return self

    def summary_lines(self) -> list[str]:
        """The advice as readable lines, one advice per line, citation ids in brackets."""
        lines = [self.disclaimer, f"Imaging advice as of {self.on.isoformat()}."]
        for p in self.procedures:
            when = f" {p.status} {p.date.isoformat()}" if p.date else f" ({p.status})"
            lines.append(f"{p.label} [{p.procedure}]{when}:")
            if p.procedure == "ldt":
                lines.append("  No procedure is planned in the case: common pre-procedural work-up.")
            for item in p.items:
                window = (
                    f": {item.window[0].isoformat()} to {item.window[1].isoformat()}" if item.window else ""
                )
                evidence = f" ({item.evidence})" if item.evidence else ""
                lines.append(
                    f"  [{item.phase}] {item.modality} {item.timing}{window} - {item.status}{evidence}; "
                    f"{item.protocol} [{', '.join(item.citations)}]"
                )
            lines.extend(f"  read with {c.name}: {c.why} [{', '.join(c.citations)}]" for c in p.criteria)
            lines.extend(f"  warning {w.code}: {w.message} [{', '.join(w.citations)}]" for w in p.warnings)
        groups: dict[str, list[str]] = {}
        for m in self.missing:
            groups.setdefault(m.how_to_get, []).append(m.input)
        for how, inputs in groups.items():
            lines.append(f"The case still lacks: {'; '.join(inputs)} (from: {how}).")
        return lines


# --- evaluation -------------------------------------------------------------------------------------


def _day(point: TimePoint) -> dt.date:
    return calendar_date(point.date)


def _roles_text(roles: Iterable[ImageRole]) -> str:
    return ", ".join(r.value for r in sorted(roles, key=_ROLE_ORDER.__getitem__))


def _matching(point: TimePoint, rule: ItemRule) -> frozenset[ImageRole] | None:
    present = frozenset(point.images)
    if not any(group <= present for group in rule.match):
        return None
    relevant = frozenset().union(*rule.match) | rule.wanted
    return present & relevant


def _describe(
    point: TimePoint, roles: frozenset[ImageRole], rule: ItemRule, anchor: Treatment | None, extra: str = ""
) -> str:
    text = f"time point {point.id} ({_roles_text(roles)}) on {_day(point).isoformat()}{extra}"
    if (
        anchor is not None
        and isinstance(rule.window, DayWindow)
        and rule.window.max_hours is not None
        and isinstance(anchor.date, dt.datetime)
        and isinstance(point.date, dt.datetime)
    ):
        hours = (point.date - anchor.date).total_seconds() / 3600
        text += f", {hours:.0f} h after treatment"
    absent = rule.wanted - roles
    if absent:
        text += f"; no {_roles_text(absent)}"
    return text


def _hours_ok(point: TimePoint, rule: ItemRule, anchor: Treatment) -> bool:
    window = rule.window
    if not isinstance(window, DayWindow) or window.max_hours is None:
        return True
    if isinstance(anchor.date, dt.datetime) and isinstance(point.date, dt.datetime):
        hours = (point.date - anchor.date).total_seconds() / 3600
        return 0 <= hours <= window.max_hours
    return True


def _item(
    rule: ItemRule,
    *,
    window: tuple[dt.date, dt.date] | None,
    status: ItemStatus,
    evidence: str | None,
    timing: str | None = None,
) -> AdviceItem:
    return AdviceItem(
        phase=rule.phase,
        modality=rule.modality,
        protocol=rule.protocol,
        timing=timing or rule.timing,
        window=window,
        status=status,
        evidence=evidence,
        purpose=rule.purpose,
        citations=rule.citations,
    )


def _window_status(window: tuple[dt.date, dt.date], on: dt.date) -> ItemStatus:
    if on < window[0]:
        return "upcoming"
    if on <= window[1]:
        return "due"
    return "overdue"


def _evaluate(
    rule: ItemRule,
    treatment: Treatment | None,
    points: Sequence[TimePoint],
    on: dt.date,
    window: tuple[dt.date, dt.date] | None = None,
) -> AdviceItem:
    """Status and evidence of one rule for a procedure (``treatment`` None: hypothetical)."""
    if treatment is None:
        return _evaluate_hypothetical(rule, points, on)
    anchor = calendar_date(treatment.date)
    found = [(p, roles) for p in points if (roles := _matching(p, rule)) is not None]
    if isinstance(rule.window, DayWindow):
        window = rule.window.dates(anchor)
    if window is not None:
        inside = [
            (p, r) for p, r in found if window[0] <= _day(p) <= window[1] and _hours_ok(p, rule, treatment)
        ]
        if inside:
            point, roles = inside[-1] if rule.phase == "pre" else inside[0]
            return _item(
                rule, window=window, status="done", evidence=_describe(point, roles, rule, treatment)
            )
        status: ItemStatus = "n/a" if rule.optional else _window_status(window, on)
        evidence = None
        earlier = [(p, r) for p, r in found if _day(p) < window[0]]
        if rule.phase == "pre" and earlier:
            point, roles = earlier[-1]
            days = (anchor - _day(point)).days
            evidence = "outside the window: " + _describe(point, roles, rule, None, f", {days} days before")
        return _item(rule, window=window, status=status, evidence=evidence)
    if rule.window == rules.BEFORE:
        before = [(p, r) for p, r in found if _day(p) <= anchor]
        if before:
            point, roles = before[-1]
            return _item(rule, window=None, status="done", evidence=_describe(point, roles, rule, None))
        return _item(
            rule,
            window=None,
            status="n/a" if rule.optional else ("due" if anchor >= on else "overdue"),
            evidence=None,
        )
    after = [(p, r) for p, r in found if is_earlier(treatment.date, p.date)]
    if after:
        point, roles = after[0]
        return _item(rule, window=None, status="done", evidence=_describe(point, roles, rule, None))
    return _item(rule, window=None, status="n/a", evidence=None)


def _evaluate_hypothetical(rule: ItemRule, points: Sequence[TimePoint], on: dt.date) -> AdviceItem:
    if rule.phase != "pre":
        return _item(rule, window=None, status="n/a", evidence=None)
    earliest = dt.date.min
    if isinstance(rule.window, DayWindow):
        earliest = on + dt.timedelta(days=rule.window.first_day)
    found = [(p, r) for p in points if (r := _matching(p, rule)) is not None and _day(p) >= earliest]
    if found:
        point, roles = found[-1]
        return _item(rule, window=None, status="done", evidence=_describe(point, roles, rule, None))
    return _item(rule, window=None, status="n/a" if rule.optional else "due", evidence=None)


def _visits(
    procedure: str,
    treatment: Treatment,
    next_date: dt.date | None,
    points: Sequence[TimePoint],
    on: dt.date,
    settings: ProtocolSettings,
) -> list[AdviceItem]:
    anchor = calendar_date(treatment.date)
    tolerance = dt.timedelta(days=settings.follow_up_tolerance_days)
    out: list[AdviceItem] = []
    for month in rules.schedule_months(settings):
        due = rules.add_months(anchor, month)
        if next_date is not None and due >= next_date:
            break
        rule = rules.follow_up_rule(procedure, month)
        window = (due - tolerance, due + tolerance)
        item = _evaluate(rule, treatment, points, on, window)
        if item.status != "done" and procedure == TreatmentType.CTACE:
            cts = [p for p in points if window[0] <= _day(p) <= window[1] and _CT_ROLES & set(p.images)]
            if cts:
                named = "; ".join(f"{p.id} ({_roles_text(_CT_ROLES & set(p.images))})" for p in cts)
                item = item.model_copy(
                    update={"evidence": f"CT only: {named}; MRI is mandatory after lipiodol cTACE"}
                )
        out.append(item)
        if window[0] > on:
            break
    return out


# --- warnings ---------------------------------------------------------------------------------------


def _after(
    points: Sequence[TimePoint], treatment: Treatment | None, roles: frozenset[ImageRole]
) -> list[TimePoint]:
    if treatment is None:
        return []
    anchor = calendar_date(treatment.date)
    return [p for p in points if _day(p) > anchor and roles & set(p.images)]


def _procedure_warnings(
    procedure: str, treatment: Treatment | None, points: Sequence[TimePoint]
) -> list[AdviceWarning]:
    out: list[AdviceWarning] = []
    if procedure == TreatmentType.ABLATION:
        message = (
            f"a hyperaemic rim around the ablation zone is seen in about 90% in month 1 and >50% at 1-3 "
            f"months: thin and uniform is benign, nodular or thick suggests residual tumour; inflammation "
            f"gives early false positives. Read imaging earlier than {rules.ABLATION_RIM_MONTHS} months "
            f"after ablation with care"
        )
        if treatment is not None:
            limit = rules.add_months(calendar_date(treatment.date), rules.ABLATION_RIM_MONTHS)
            early = [p for p in _after(points, treatment, _MEASURE_ROLES) if _day(p) < limit]
            if early:
                message += "; in the case: " + ", ".join(f"{p.id} ({_day(p).isoformat()})" for p in early)
        out.append(
            AdviceWarning(
                code="ABLATION_RIM", message=message, citations=("Medscape-ablation-rim", "ECIO-ESOI2020")
            )
        )
    if procedure == TreatmentType.CTACE:
        message = (
            "lipiodol deposits hide arterial enhancement on CT (and count as enhancing tissue for EASL): "
            "read the follow-up on MRI"
        )
        cts = _after(points, treatment, _CT_ROLES)
        if cts:
            message += "; CT after the cTACE in the case: " + ", ".join(
                f"{p.id} ({_roles_text(_CT_ROLES & set(p.images))})" for p in cts
            )
        out.append(
            AdviceWarning(code="LIPIODOL_CT", message=message, citations=("ECIO-ESOI2020", "Riaz2011"))
        )
    if procedure == TreatmentType.PRRT:
        message = (
            "do not call progression on the first scan after PRRT alone (pseudoprogression); confirm later"
        )
        first = _after(points, treatment, _MEASURE_ROLES | {ImageRole.PET_SSTR})
        if first:
            message += f"; first scan after PRRT in the case: {first[0].id} ({_day(first[0]).isoformat()})"
        out.append(
            AdviceWarning(
                code="PRRT_PSEUDOPROGRESSION", message=message, citations=("Brabander2017-pitfalls",)
            )
        )
    return out


def _planar_lsf(points: Sequence[TimePoint]) -> AdviceWarning | None:
    planar = [p for p in points if ImageRole.PLANAR_MAA in p.images and ImageRole.SPECT_MAA not in p.images]
    if not planar:
        return None
    named = ", ".join(f"{p.id} ({_day(p).isoformat()})" for p in planar)
    return AdviceWarning(
        code="PLANAR_LSF",
        message=f"planar MAA without SPECT/CT at {named}: planar imaging overestimates the lung shunt "
        "fraction by up to 44% (SPECT/CT within 13%); acquire MAA SPECT/CT before relying on the LSF",
        citations=("Allred2018", "vanRoekel-LSF"),
    )


def _same_sequence(case: Case, points: Sequence[TimePoint]) -> list[tuple[TimePoint, AdviceWarning]]:
    base = case.baseline
    if base not in points:
        return []
    base_roles = frozenset(base.images) & _MEASURE_ROLES
    cites = ("Tirumani2018-sequence", "DLD2017-sequence", "Huh2018-phase")
    out: list[tuple[TimePoint, AdviceWarning]] = []
    for fu in case.follow_ups:
        if fu not in points:
            continue
        fu_roles = frozenset(fu.images) & _MEASURE_ROLES
        if not base_roles or not fu_roles:
            continue
        message = None
        if not base_roles & fu_roles:
            message = (
                f"{fu.id} ({_roles_text(fu_roles)}) shares no phase or sequence with the baseline {base.id} "
                f"({_roles_text(base_roles)}): measure on the same sequence/phase each time"
            )
            if bool(base_roles & _CT_ROLES) != bool(fu_roles & _CT_ROLES):
                message += " (CT and MRI sizes are not interchangeable)"
        else:
            b_mask, f_mask = base.masks.get(MaskRole.LESIONS), fu.masks.get(MaskRole.LESIONS)
            if b_mask and f_mask and b_mask.image and f_mask.image and b_mask.image != f_mask.image:
                message = (
                    f"lesions are outlined on {b_mask.image.value} at the baseline {base.id} but on "
                    f"{f_mask.image.value} at {fu.id}: measure on the same sequence/phase each time"
                )
        if message is not None:
            message += (
                "; prefer HBP or T2 on MRI, pre-contrast or portal venous on CT; "
                "never mix DWI and post-contrast sizes"
            )
            out.append((fu, AdviceWarning(code="SAME_SEQUENCE", message=message, citations=cites)))
    return out


# --- the advisor --------------------------------------------------------------------------------------


def _parse_procedure(procedure: str | None) -> TreatmentType | None:
    if procedure is None:
        return None
    try:
        kind = TreatmentType(procedure)
    except ValueError:
        kind = None
    if kind not in ADVISED_PROCEDURES:
        known = ", ".join(p.value for p in ADVISED_PROCEDURES)
        raise InputError(
            f"procedure {procedure!r} is not one the imaging advisor covers; use one of: {known}"
        )
    return kind


def advise_imaging(
    case: Case,
    *,
    procedure: str | None = None,
    on: dt.date | None = None,
    missing_inputs: Sequence[str] = (),
    settings: ProtocolSettings | None = None,
) -> ImagingAdvice:
    """Advise the imaging around the procedures of a case.

    Parameters
    ----------
    case:
        The patient's case.
    procedure:
        A treatment type (``ablation``, ``tae``, ``ctace``, ``debtace``, ``tare``, ``prrt``,
        ``resection``, ``transplant``). Default: every such treatment of the case; with none, the
        work-up common to all liver-directed therapy.
    on:
        The date the advice is for (default: the date of the latest time point of the case).
    missing_inputs:
        Names of inputs the decision rules lack (from the rule engine); listed with what provides
        them (:func:`how_to_get`).
    settings:
        The configurable defaults (:class:`ProtocolSettings`).

    Returns
    -------
    ImagingAdvice
        One :class:`ProcedureAdvice` per procedure, in date order; with no procedure in the case and
        none named, a single ``hypothetical`` entry whose ``procedure`` is ``"ldt"`` (the work-up
        common to all liver-directed therapy).

    Raises
    ------
    InputError
        ``procedure`` is not one of the covered treatment types.
    """
    settings = settings or ProtocolSettings()
    kind = _parse_procedure(procedure)
    if on is None:
        on = max(_day(p) for p in case.time_points)
    elif isinstance(on, dt.datetime):
        on = on.date()
    points = sorted((p for p in case.time_points if _day(p) <= on), key=lambda p: (_day(p), p.id))
    advised = sorted(
        (t for t in case.treatments if t.type in ADVISED_PROCEDURES), key=lambda t: calendar_date(t.date)
    )
    selected: list[tuple[str, Treatment | None]]
    if kind is not None:
        selected = [(kind.value, t) for t in advised if t.type is kind] or [(kind.value, None)]
    else:
        selected = [(t.type.value, t) for t in advised] or [("ldt", None)]

    grade = case.clinical.grade
    carcinoid = case.clinical.functional_syndrome is FunctionalSyndrome.CARCINOID
    has_fdg = any(ImageRole.PET_FDG in p.images for p in points)
    planar = _planar_lsf(points)
    missing: dict[str, MissingInput] = {}
    for name in missing_inputs:
        missing.setdefault(name, MissingInput(input=name, how_to_get=how_to_get(name)))

    procedures: list[ProcedureAdvice] = []
    for proc, treatment in selected:
        anchor = calendar_date(treatment.date) if treatment is not None else None
        status: ProcedureStatus = (
            "hypothetical" if anchor is None else ("performed" if anchor <= on else "planned")
        )
        pre = [
            (r, _evaluate(r, treatment, points, on))
            for r in rules.pre_items(proc, grade, carcinoid, settings)
        ]
        items = [item for _, item in pre]
        extra, scheduled = rules.procedure_items(proc)
        items += [_evaluate(r, treatment, points, on) for r in extra]
        if scheduled and treatment is not None and anchor is not None:
            later = [calendar_date(t.date) for t in advised if calendar_date(t.date) > anchor]
            items += _visits(proc, treatment, min(later, default=None), points, on, settings)
        if status != "performed":
            for rule, item in pre:
                if item.status in ("due", "overdue") and rule.missing_input and rule.how_to_get:
                    missing.setdefault(
                        rule.missing_input, MissingInput(input=rule.missing_input, how_to_get=rule.how_to_get)
                    )
        warnings = _procedure_warnings(proc, treatment, points)
        if planar is not None and proc in (TreatmentType.TARE, "ldt"):
            warnings.append(planar)
        criteria = [
            CriterionAdvice(
                name=c.name,
                why=c.why + (f" (nelm response CASE.yaml --criteria {c.nelm_key})" if c.nelm_key else ""),
                citations=c.citations,
            )
            for c in rules.criteria_for(proc, fdg=has_fdg)
        ]
        procedures.append(
            ProcedureAdvice(
                procedure=proc,
                label=rules.PROCEDURE_LABELS[proc],
                date=anchor,
                status=status,
                items=tuple(items),
                criteria=tuple(criteria),
                warnings=tuple(warnings),
            )
        )

    _attach_same_sequence(case, points, procedures)
    used = sorted(set().union(*(p.cited() for p in procedures)))
    citations = {cid: CitationOut(**PROTOCOL_SOURCES[cid].to_dict()) for cid in used}
    logger.debug("imaging advice for %s on %s: %d procedure(s)", case.case_id, on, len(procedures))
    return ImagingAdvice(
        disclaimer=RESEARCH_USE_DISCLAIMER,
        on=on,
        procedures=tuple(procedures),
        missing=tuple(missing.values()),
        citations=citations,
    )


def _attach_same_sequence(case: Case, points: Sequence[TimePoint], procedures: list[ProcedureAdvice]) -> None:
    """Add each follow-up's same-sequence warning to the latest procedure dated on or before it."""
    for fu, warning in _same_sequence(case, points):
        dated = [i for i, p in enumerate(procedures) if p.date is not None and p.date <= _day(fu)]
        index = max(dated, key=lambda i: procedures[i].date or dt.date.min) if dated else 0
        target = procedures[index]
        procedures[index] = target.model_copy(update={"warnings": (*target.warnings, warning)})
