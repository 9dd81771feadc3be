"""Build a :class:`~nelm.response.model.ResponseCase` from nelm's quantification of each time point.

The time points are the case's ``baseline`` and ``follow_up`` time points that were quantified
(:class:`~nelm.quant.results.TimePointQuant`), in date order. Lesions are identified by their
tracking IDs (the label names of the lesion masks, made consistent by
:mod:`nelm.response.tracking` when the masks were drawn independently). Rules, each stated in
the result's warnings where it applies:

* a baseline lesion that is absent from a follow-up's lesion mask has **disappeared** (0 mm): the
  lesion mask covers the whole liver; a lesion that :class:`LesionLinks` says coalesced into
  another is **coalesced** (0; the mass is measured on the other, RECIST 1.1);
* several quantified lesions linked to one tracking ID are the **fragments** of a split lesion:
  diameters, products and volumes are summed (RECIST 1.1), the portal-phase mean HU is the
  volume-weighted mean, SULpeak the largest, TLG the sum;
* a lesion first seen at a follow-up is a **definite new lesion** (it is in the mask), with its
  long diameter and whether it enhances;
* measurements are rounded once, half-to-even, to the resolutions of :mod:`nelm.response.exact`;
* PET values enter PERCIST only when the PET was normalised to lean body mass (SUL); otherwise
  they are left out and a warning says so;
* the slice thickness is the slice spacing of the grid the lesions were measured on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from nelm.case import Case
from nelm.case.vocabulary import TimePointKind
from nelm.errors import InputError
from nelm.quant.results import LesionQuant, TimePointQuant
from nelm.response.exact import AREA_MM2, HU, LENGTH_MM, SUV, VOLUME_ML, Resolution, exact
from nelm.response.model import (
    Certainty,
    Lesion,
    LesionMeasurement,
    LesionState,
    NewLesionFinding,
    ResponseCase,
    Therapy,
    TimePoint,
    as_aware_datetime,
)

__all__ = ["LesionLinks", "response_case_from_quant"]

_RESPONSE_KINDS = (TimePointKind.BASELINE, TimePointKind.FOLLOW_UP)


@dataclass(frozen=True)
class LesionLinks:
    """How one time point's quantified lesions map to tracking IDs.

    Parameters
    ----------
    tracking_id_of:
        Quantified lesion ID → tracking ID; IDs not listed keep their own. Several lesions with
        one tracking ID are the fragments of a split lesion.
    coalesced_into:
        Tracking ID of a lesion that merged → tracking ID of the lesion that now holds the mass.
    """

    tracking_id_of: Mapping[str, str] = field(default_factory=dict)
    coalesced_into: Mapping[str, str] = field(default_factory=dict)


def _x(value: float | None, resolution: Resolution, where: str, *, negative: bool = False) -> Fraction | None:
    return None if value is None else exact(value, resolution, field=where, allow_negative=negative)


def _values(lesion: LesionQuant, sul: bool, where: str) -> dict[str, Fraction | None]:
    """The exact values of one quantified lesion (or fragment)."""
    axial = lesion.axial
    enhancing = lesion.enhancing
    viable = enhancing.viable_axial if enhancing is not None else None
    pet = lesion.pet if sul else None
    return {
        "long_mm": _x(axial.long_mm if axial else None, LENGTH_MM, f"{where} long_mm"),
        "short_mm": _x(axial.short_mm if axial else None, LENGTH_MM, f"{where} short_mm"),
        "viable_long_mm": (
            None
            if enhancing is None
            else _x(viable.long_mm if viable else 0.0, LENGTH_MM, f"{where} viable_long_mm")
        ),
        "enhancing_area_mm2": (
            None
            if enhancing is None
            else _x(viable.who_product_mm2 if viable else 0.0, AREA_MM2, f"{where} enhancing_area_mm2")
        ),
        "volume_ml": _x(lesion.volume_ml, VOLUME_ML, f"{where} volume_ml"),
        "enhancing_volume_ml": _x(
            enhancing.enhancing_volume_ml if enhancing else None, VOLUME_ML, f"{where} enhancing_volume_ml"
        ),
        "mean_hu_portal": _x(lesion.choi_portal_mean_hu, HU, f"{where} mean_hu_portal", negative=True),
        "sul_peak": _x(pet.suv_peak if pet else None, SUV, f"{where} sul_peak"),
        "tlg": _x(pet.suv_mean * pet.metabolic_volume_ml if pet else None, SUV, f"{where} tlg"),
    }


def _combine(parts: Sequence[dict[str, Fraction | None]]) -> dict[str, Fraction | None]:
    """Sum the fragments of a split lesion (see the module docstring)."""
    if len(parts) == 1:
        return parts[0]
    out: dict[str, Fraction | None] = {}
    for name in parts[0]:
        values = [p[name] for p in parts]
        if any(v is None for v in values):
            out[name] = None
        elif name == "sul_peak":
            out[name] = max(v for v in values if v is not None)
        elif name == "mean_hu_portal":
            volumes = [p["volume_ml"] for p in parts]
            if any(v is None for v in volumes) or sum(v for v in volumes if v is not None) == 0:
                out[name] = None
            else:
                total = sum(v for v in volumes if v is not None)
                weighted = sum(
                    h * v for h, v in zip(values, volumes, strict=True) if h is not None and v is not None
                )
                out[name] = exact(
                    Fraction(weighted) / total, HU, field="fragments mean_hu_portal", allow_negative=True
                )
        else:
            out[name] = sum((v for v in values if v is not None), Fraction(0))
    short, long = out.get("short_mm"), out.get("long_mm")
    if short is not None and long is not None and short > long:
        out["short_mm"] = long  # summed fragments: the sum of short axes may not exceed the sum of long axes
    return out


def response_case_from_quant(
    case: Case,
    quants: Sequence[TimePointQuant],
    *,
    links: Mapping[str, LesionLinks] | None = None,
) -> tuple[ResponseCase, list[str]]:
    """The response case of a patient from the quantification of its time points.

    Parameters
    ----------
    case:
        The case manifest (dates, kinds, treatments).
    quants:
        Quantification results; those of baseline and follow-up time points are used.
    links:
        Per time point ID, how its lesions map to tracking IDs (:class:`LesionLinks`).

    Returns
    -------
    (ResponseCase, list of str)
        The case and warnings about the rules applied.

    Raises
    ------
    InputError
        No quantified baseline, a quantification of a time point the case does not have, or
        a link to a lesion that does not exist.
    """
    kinds = {tp.id: tp for tp in case.time_points}
    unknown = sorted({q.time_point for q in quants} - set(kinds))
    if unknown:
        raise InputError(f"case {case.case_id}: quantification of unknown time point(s) {', '.join(unknown)}")
    used = sorted(
        (q for q in quants if kinds[q.time_point].kind in _RESPONSE_KINDS),
        key=lambda q: as_aware_datetime(kinds[q.time_point].date),
    )
    if not used or kinds[used[0].time_point].kind is not TimePointKind.BASELINE:
        raise InputError(f"case {case.case_id}: response assessment needs the quantified baseline time point")
    warnings: list[str] = []
    lesions: dict[str, Lesion] = {}
    seen: set[str] = set()
    time_points: list[TimePoint] = []
    for index, quant in enumerate(used):
        tp_id = quant.time_point
        link = (links or {}).get(tp_id, LesionLinks())
        known = {lq.lesion_id for lq in quant.lesions}
        bad = sorted(
            (set(link.tracking_id_of) | set(link.coalesced_into.values())) - known - set(link.coalesced_into)
        )
        if bad:
            raise InputError(f"time point {tp_id}: lesion links name unknown lesion(s) {', '.join(bad)}")
        sul = quant.pet is not None and quant.pet.normalisation.startswith("lbm")
        if quant.pet is not None and not sul:
            warnings.append(
                f"{tp_id}: the PET was normalised by {quant.pet.normalisation}, not lean body mass; PERCIST "
                "needs SUL, so its values were left out"
            )
        groups: dict[str, list[dict[str, Fraction | None]]] = {}
        for lq in quant.lesions:
            tid = link.tracking_id_of.get(lq.lesion_id, lq.lesion_id)
            groups.setdefault(tid, []).append(_values(lq, sul, f"{tp_id}: lesion {lq.lesion_id}"))
        measurements: dict[str, LesionMeasurement] = {}
        new: list[NewLesionFinding] = []
        for tid, parts in groups.items():
            values = _combine(parts)
            if len(parts) > 1:
                warnings.append(
                    f"{tp_id}: lesion {tid} is split into {len(parts)} fragments; their values are summed"
                )
            if index > 0 and tid not in lesions and tid not in seen:
                viable = values["viable_long_mm"]
                new.append(
                    NewLesionFinding(
                        tid,
                        certainty=Certainty.DEFINITE,
                        long_mm=values["long_mm"],
                        enhancing=None if viable is None else viable > 0,
                        avid=None if values["sul_peak"] is None else True,
                    )
                )
                seen.add(tid)
                continue
            measurements[tid] = LesionMeasurement(
                tid,
                long_mm=values["long_mm"],
                short_mm=values["short_mm"],
                viable_long_mm=values["viable_long_mm"],
                enhancing_area_mm2=values["enhancing_area_mm2"],
                volume_ml=values["volume_ml"],
                enhancing_volume_ml=values["enhancing_volume_ml"],
                mean_hu_portal=values["mean_hu_portal"],
                sul_peak=values["sul_peak"],
                tlg=values["tlg"],
                fragments=len(parts),
            )
        if index == 0:
            lesions = {tid: Lesion(tid) for tid in measurements}
        else:
            for tid in sorted((set(lesions) | (seen - {n.lesion_id for n in new})) - set(measurements)):
                into = link.coalesced_into.get(tid)
                if into is not None:
                    measurements[tid] = LesionMeasurement(
                        tid, state=LesionState.COALESCED, coalesced_into=into
                    )
                else:
                    measurements[tid] = LesionMeasurement(tid, state=LesionState.DISAPPEARED)
                    warnings.append(
                        f"{tp_id}: lesion {tid} is not in the lesion mask, so it counts as disappeared"
                    )
        patient = quant.patient
        spacing = quant.grid.get("spacing_mm")
        thickness = float(spacing[0]) if isinstance(spacing, list) and spacing else None
        ref = quant.pet
        time_points.append(
            TimePoint(
                tp_id,
                as_aware_datetime(kinds[tp_id].date),
                measurements=measurements,
                new_lesions=new,
                slice_thickness_mm=_x(thickness, LENGTH_MM, f"{tp_id}: slice thickness"),
                liver_sul_mean=_x(ref.liver_suv_mean if ref and sul else None, SUV, f"{tp_id}: liver SUL"),
                liver_sul_sd=_x(ref.liver_suv_sd if ref and sul else None, SUV, f"{tp_id}: liver SUL SD"),
                liver_volume_ml=_x(patient.liver_volume_ml, VOLUME_ML, f"{tp_id}: liver volume"),
                liver_enhancing_tumour_ml=_x(
                    patient.enhancing_tumour_volume_ml, VOLUME_ML, f"{tp_id}: enhancing tumour volume"
                ),
            )
        )
    therapies = [Therapy(t.type.value, as_aware_datetime(t.date)) for t in case.treatments]
    return ResponseCase(case.case_id, lesions, time_points, therapies=therapies), warnings
