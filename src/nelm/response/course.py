"""A patient's course from masks: lesion tracking along the time points, then the response case.

:func:`track_course` walks the baseline and follow-up time points in date order and matches each
follow-up's lesion mask to the previous time point's (relabelled with the tracking IDs decided
so far) with :func:`nelm.response.tracking.track_lesions`, aligning the livers when both have a
liver mask. IDs already used at any earlier time point are reserved, so a new lesion never
takes the ID of a lesion that has gone. The result is, per follow-up, the
:class:`~nelm.response.from_quant.LesionLinks` that :func:`~nelm.response.from_quant.response_case_from_quant`
needs (which quantified lesion is which tracked lesion; which coalesced), and every decision as
JSON-ready records.

A lesion that disappeared and reappears later is matched against the previous time point only,
so it comes back as a new lesion with a new ID (nelm does not yet look further back); the
decision records show it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from nelm.case import Case
from nelm.case.vocabulary import TimePointKind
from nelm.errors import InputError
from nelm.imaging.labelmap import Label, LabelMap
from nelm.quant.lesions import lesion_label_map
from nelm.quant.results import TimePointQuant
from nelm.response.assess import assess_all
from nelm.response.from_quant import LesionLinks, response_case_from_quant
from nelm.response.model import ResponseCase, as_aware_datetime
from nelm.response.results import ResponseAssessment
from nelm.response.tracking import Outcome, TrackingSettings, follow_up_ids, track_lesions
from nelm.timepoint_data import TimePointData

__all__ = ["assess_course", "relabel_lesions", "response_time_points", "track_course"]


def relabel_lesions(lesions: LabelMap, tracking_id_of: Mapping[str, str]) -> LabelMap:
    """The lesion map with each lesion renamed to its tracking ID (fragments merged into one label).

    ``tracking_id_of`` maps the map's own lesion IDs (label tracking IDs, else ``L<value>``, or
    the components of a binary mask) to tracking IDs; lesions not listed keep their ID.
    """
    per_lesion = lesion_label_map(lesions)
    new_ids: dict[int, str] = {}
    for value, lab in per_lesion.labels.items():
        own = lab.tracking_id or f"L{value}"
        new_ids[value] = tracking_id_of.get(own, own)
    ordered = sorted(set(new_ids.values()))
    value_of = {tid: i for i, tid in enumerate(ordered, start=1)}
    lut = np.zeros(int(per_lesion.array.max(initial=0)) + 1, dtype=np.int32)
    for value, tid in new_ids.items():
        if value < lut.size:
            lut[value] = value_of[tid]
    array = lut[per_lesion.array]
    labels = {v: Label(v, f"lesion {tid}", tid) for tid, v in value_of.items()}
    return LabelMap(array=array, geometry=per_lesion.geometry, labels=labels, source=lesions.source)


def track_course(
    time_points: Sequence[TimePointData],
    *,
    settings: TrackingSettings | None = None,
    overrides: Mapping[str, Mapping[str, str]] | None = None,
) -> tuple[dict[str, LesionLinks], list[dict[str, object]]]:
    """Track lesions from the first time point (the baseline) through the follow-ups.

    Parameters
    ----------
    time_points:
        The baseline then the follow-ups, in date order, each with a ``lesions`` mask (and
        ideally a ``liver`` mask for the alignment).
    settings:
        Tracking thresholds.
    overrides:
        Per follow-up time point ID, the reader's forced decisions (follow-up lesion ID →
        reference ID or ``"new"``).

    Returns
    -------
    (dict, list)
        :class:`LesionLinks` per follow-up time point ID, and one record per follow-up with the
        tracking decisions.
    """
    links: dict[str, LesionLinks] = {}
    records: list[dict[str, object]] = []
    if not time_points:
        return links, records
    first = time_points[0]
    reference = lesion_label_map(first.masks["lesions"])
    reference_liver = first.masks.get("liver")
    reserved = {lab.tracking_id or f"L{v}" for v, lab in reference.labels.items()}
    for tpd in time_points[1:]:
        tp_id = tpd.time_point.id
        follow_up = tpd.masks["lesions"]
        liver = tpd.masks.get("liver")
        both_livers = reference_liver is not None and liver is not None
        result = track_lesions(
            reference,
            follow_up,
            reference_liver=reference_liver if both_livers else None,
            follow_up_liver=liver if both_livers else None,
            settings=settings,
            overrides=(overrides or {}).get(tp_id),
            reserved_ids=reserved,
        )
        ids = follow_up_ids(result)
        coalesced = {
            d.reference_id: d.coalesced_into
            for d in result.decisions
            if d.outcome is Outcome.COALESCED and d.reference_id is not None and d.coalesced_into is not None
        }
        links[tp_id] = LesionLinks(tracking_id_of=ids, coalesced_into=coalesced)
        records.append({"time_point": tp_id, **result.to_dict()})
        reference = relabel_lesions(follow_up, ids)
        reference_liver = liver
        reserved |= set(ids.values())
    return links, records


def response_time_points(case: Case, data: Mapping[str, TimePointData]) -> list[TimePointData]:
    """The baseline and follow-up time points that have a lesion mask, in date order."""
    chosen = [
        data[tp.id]
        for tp in case.time_points
        if tp.kind in (TimePointKind.BASELINE, TimePointKind.FOLLOW_UP)
        and tp.id in data
        and "lesions" in data[tp.id].masks
    ]
    return sorted(chosen, key=lambda d: as_aware_datetime(d.time_point.date))


def assess_course(
    case: Case,
    data: Mapping[str, TimePointData],
    quants: Sequence[TimePointQuant],
    *,
    settings: Mapping[str, Mapping[str, object]] | None = None,
    settings_source: str = "settings",
    only: Sequence[str] | None = None,
    tracking_settings: TrackingSettings | None = None,
    overrides: Mapping[str, Mapping[str, str]] | None = None,
) -> tuple[ResponseCase, ResponseAssessment]:
    """Track the lesions, build the response case from the quantification, and run every criterion.

    Raises
    ------
    InputError
        No baseline with a lesion mask, or the errors of the steps.
    """
    course = response_time_points(case, data)
    if not course or course[0].time_point.kind is not TimePointKind.BASELINE:
        raise InputError(
            f"case {case.case_id}: response assessment needs a baseline time point with a lesion mask"
        )
    links, records = track_course(course, settings=tracking_settings, overrides=overrides)
    wanted = {d.time_point.id for d in course}
    response_case, warnings = response_case_from_quant(
        case, [q for q in quants if q.time_point in wanted], links=links
    )
    assessment = assess_all(
        response_case,
        settings=settings,
        settings_source=settings_source,
        only=only,
        tracking=records,
        warnings=warnings,
    )
    return response_case, assessment
