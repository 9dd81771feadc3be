"""Time-point overall response from target, non-target and new-lesion status (RECIST 1.1 Tables 1-2).

The anatomic criteria (RECIST 1.1, mRECIST, WHO, EASL, Choi, the volumetric ones) combine their
target category with the non-target status and new lesions the same way; this module holds that
one table (Eisenhauer et al., Eur J Cancer 2009;45:228-247, Tables 1 and 2; see
reference/response-criteria.md §1.1):

======  ================================  =====  =======
Target  Non-target                        New    Overall
======  ================================  =====  =======
CR      CR (or no non-target lesions)     no     CR
CR      non-CR/non-PD                     no     PR
CR      NE                                no     PR
PR      non-PD or NE                      no     PR
SD      non-PD or NE                      no     SD
NE      non-PD                            no     NE
PD      any                               any    PD
any     PD                                any    PD
any     any                               yes    PD
======  ================================  =====  =======

Without target lesions (Table 2): non-target CR → CR, non-CR/non-PD → non-CR/non-PD, NE → NE,
PD or a new lesion → PD. Only a **definite** new lesion is progression; an equivocal one is
noted and, if a later scan confirms it, progression is dated back to it (applied by
:func:`new_lesion_status`).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from enum import StrEnum

from nelm.response.model import Certainty, LesionState, NonTargetCall, ResponseCase, TimePoint
from nelm.response.sums import TargetCategory

__all__ = [
    "NewLesions",
    "NonTargetCategory",
    "confirmed_new_lesion_ids",
    "new_lesion_status",
    "non_target_category",
    "overall_response",
]


class NonTargetCategory(StrEnum):
    """Non-target disease at a time point."""

    CR = "CR"
    NON_CR_NON_PD = "non-CR/non-PD"
    PD = "PD"
    NE = "NE"
    NONE = "none"  # no non-target lesions at baseline


class NewLesions(StrEnum):
    """New-lesion status at a time point."""

    NONE = "none"
    EQUIVOCAL = "equivocal"
    DEFINITE = "definite"


def confirmed_new_lesion_ids(case: ResponseCase) -> set[str]:
    """New lesions that a later time point shows definitely (or measures as present).

    RECIST 1.1: an equivocal new lesion that is confirmed later makes the progression date the
    scan where it was first seen.
    """
    confirmed: set[str] = set()
    for tp in case.time_points:
        for finding in tp.new_lesions:
            if finding.certainty is Certainty.DEFINITE:
                confirmed.add(finding.lesion_id)
        for m in tp.measurements.values():
            if m.lesion_id not in case.lesions and m.state is LesionState.PRESENT:
                confirmed.add(m.lesion_id)
    return confirmed


def new_lesion_status(tp: TimePoint, confirmed: set[str]) -> tuple[NewLesions, str]:
    """New-lesion status of a time point, with equivocal findings confirmed later upgraded."""
    definite = [f.lesion_id for f in tp.new_lesions if f.certainty is Certainty.DEFINITE]
    upgraded = [
        f.lesion_id for f in tp.new_lesions if f.certainty is Certainty.EQUIVOCAL and f.lesion_id in confirmed
    ]
    equivocal = [
        f.lesion_id
        for f in tp.new_lesions
        if f.certainty is Certainty.EQUIVOCAL and f.lesion_id not in confirmed
    ]
    if definite or upgraded:
        parts = []
        if definite:
            parts.append(f"definite new lesion(s) {', '.join(definite)}")
        if upgraded:
            parts.append(
                f"equivocal new lesion(s) {', '.join(upgraded)} confirmed at a later scan, so progression "
                "dates from this one"
            )
        return NewLesions.DEFINITE, "; ".join(parts)
    if equivocal:
        return NewLesions.EQUIVOCAL, (
            f"equivocal new lesion(s) {', '.join(equivocal)}: not progression unless confirmed later"
        )
    return NewLesions.NONE, "no new lesions"


def non_target_category(
    tp: TimePoint, non_targets: Sequence[str], *, normal: Collection[str] = ()
) -> tuple[NonTargetCategory, str]:
    """Non-target category of a follow-up from the lesions' states and the reader's call.

    * the reader's ``unequivocal_progression`` call → PD (RECIST: a substantial worsening of
      non-target disease, a judgement nelm does not make from sizes);
    * every non-target lesion gone (``disappeared`` or ``coalesced``) or in ``normal`` (lymph
      nodes back to normal size, < 10 mm short axis in RECIST 1.1, decided by the criterion)
      → CR;
    * any not evaluated → NE (unless PD was called);
    * otherwise non-CR/non-PD.
    """
    if not non_targets:
        return NonTargetCategory.NONE, "no non-target lesions"
    if tp.non_target_call is NonTargetCall.UNEQUIVOCAL_PROGRESSION:
        return NonTargetCategory.PD, "the reader called unequivocal progression of non-target disease"
    states = {
        lid: tp.measurements[lid].state if lid in tp.measurements else LesionState.NOT_EVALUATED
        for lid in non_targets
    }
    missing = [lid for lid, s in states.items() if s is LesionState.NOT_EVALUATED]
    if missing:
        return NonTargetCategory.NE, f"non-target lesion(s) {', '.join(missing)} not evaluated"
    present = [lid for lid, s in states.items() if s not in (LesionState.DISAPPEARED, LesionState.COALESCED)]
    abnormal = [lid for lid in present if lid not in normal]
    if not abnormal:
        if present:
            return NonTargetCategory.CR, (
                f"every non-target lesion has disappeared or, for node(s) {', '.join(present)}, "
                "returned to normal size"
            )
        return NonTargetCategory.CR, "every non-target lesion has disappeared"
    return NonTargetCategory.NON_CR_NON_PD, f"non-target lesion(s) {', '.join(abnormal)} persist"


def overall_response(
    target: TargetCategory | None,
    non_target: NonTargetCategory,
    new: NewLesions,
) -> tuple[str, str]:
    """Overall time-point response and the table row that gave it.

    ``target`` is ``None`` for a patient without target lesions (RECIST Table 2).
    """
    if new is NewLesions.DEFINITE:
        return "PD", "a definite new lesion is progression whatever the other findings"
    if non_target is NonTargetCategory.PD:
        return "PD", "unequivocal progression of non-target disease is progression"
    if target is None:
        if non_target is NonTargetCategory.CR:
            return "CR", "no target lesions; every non-target lesion gone, no new lesion"
        if non_target is NonTargetCategory.NON_CR_NON_PD:
            return "non-CR/non-PD", "no target lesions; non-target disease persists without progression"
        if non_target is NonTargetCategory.NONE:
            return "NE", "no target and no non-target lesions to assess"
        return "NE", "no target lesions and non-target disease not fully evaluated"
    if target is TargetCategory.PD:
        return "PD", "target disease progressed"
    if target is TargetCategory.CR:
        if non_target in (NonTargetCategory.CR, NonTargetCategory.NONE):
            return "CR", "target CR, non-target CR (or none), no new lesion"
        if non_target is NonTargetCategory.NON_CR_NON_PD:
            return "PR", "target CR with persisting non-target disease is PR"
        return "PR", "target CR with non-target disease not evaluated is PR"
    if target is TargetCategory.PR:
        return "PR", "target PR, non-target not progressing (or not evaluated), no new lesion"
    if target is TargetCategory.SD:
        return "SD", "target SD, non-target not progressing (or not evaluated), no new lesion"
    return "NE", "target disease not evaluable and no progression elsewhere"
