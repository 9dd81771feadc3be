"""Lesion tracking across two time points from masks: :func:`track_lesions`.

The lesions of a follow-up lesion mask are matched to those of an earlier time point (the
baseline or the previous follow-up), and every decision is recorded (:class:`TrackingDecision`)
so that a reader can check it and override it.

Lesions
    Each map's lesions are :func:`nelm.quant.lesions.lesion_instances`: one label per lesion,
    keeping its tracking ID, or the 26-connected components of a binary lesion mask (``L1``,
    ``L2``, … by size). The follow-up IDs used in decisions and overrides are these IDs.

Alignment (:mod:`nelm.response.tracking_align`)
    With both liver masks (and ``align_livers``), the follow-up is shifted by the difference of
    the liver centroids, so positions are compared in liver-relative coordinates. Without
    livers there is no alignment (the scanners' patient coordinates are used as they are).
    Rotation and deformation are not modelled.

Matching, in this order
    1. **Overrides**: ``overrides`` maps a follow-up lesion ID to a reference ID (forced match;
       several follow-up lesions naming the same reference lesion are its fragments) or to
       ``"new"``. Those lesions, and the reference lesions they name, take no further part.
    2. **Overlap**: the follow-up map is resampled onto the reference grid (nearest neighbour,
       after the alignment) and voxels are counted there. A reference and a follow-up lesion are
       *linked* when they share a voxel and either carry the same tracking ID (the IDs the masks
       carry are kept when they are consistent; method ``id+overlap``), or their Dice coefficient
       is at least ``min_dice``, or at least ``min_contained_fraction`` of the smaller of the two
       lies inside the other (method ``overlap``). Every linked follow-up lesion belongs to one
       reference lesion: the one with the same ID, else the one it shares most voxels with (ties:
       the earlier reference lesion). A reference lesion owning several follow-up lesions is
       **split**: one decision listing the fragments, whose measurements RECIST 1.1 sums. A
       linked reference lesion owning none is **coalesced** into the owner of the follow-up
       lesion it shares most voxels with: the mass is measured once, on that lesion, and this
       one counts 0 (RECIST 1.1; reference/response-criteria.md §1.1).
    3. **Centroid**: the remaining lesions (no link at all) are paired closest first (ties:
       reference order, then follow-up order), one to one, when their centroids (each on its own
       grid) lie within ``max(max_centroid_distance_mm, centroid_distance_diameter_fraction ×
       the reference lesion's equivalent-sphere diameter)`` after the alignment.
    4. A reference lesion left over has **disappeared**; a follow-up lesion left over is **new**
       and gets its own tracking ID when the label carries one that no reference lesion (and no
       ``reserved_ids``) uses, else ``N1``, ``N2``, … (``new_id_prefix``), skipping used IDs.

Tracking decides which lesion is which, not how it is counted: whether a matched lesion is
"too small to measure" (RECIST 5 mm) or 0 mm is decided by its measurement.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from fractions import Fraction

import numpy as np

from nelm.errors import InputError
from nelm.imaging.labelmap import LabelMap
from nelm.response.tracking_align import AlignedLesions, Overlap, TimePointLesions, TrackingSettings

__all__ = [
    "Method",
    "Outcome",
    "TrackingDecision",
    "TrackingResult",
    "TrackingSettings",
    "follow_up_ids",
    "track_lesions",
]

logger = logging.getLogger(__name__)

NEW = "new"
"""Override value declaring a follow-up lesion new."""


class Outcome(StrEnum):
    """What became of a reference lesion (or where a follow-up lesion came from)."""

    MATCHED = "matched"
    SPLIT = "split"
    COALESCED = "coalesced"
    DISAPPEARED = "disappeared"
    NEW = "new"


class Method(StrEnum):
    """How a decision was reached."""

    ID_OVERLAP = "id+overlap"
    OVERLAP = "overlap"
    CENTROID = "centroid"
    OVERRIDE = "override"


@dataclass(frozen=True)
class TrackingDecision:
    """One tracking decision.

    Parameters
    ----------
    outcome:
        matched, split, coalesced, disappeared (one per reference lesion) or new (one per new
        follow-up lesion).
    reference_id:
        The reference lesion (``None`` for a new lesion).
    follow_up_ids:
        The follow-up lesions concerned, by their own IDs in the follow-up map: the match, the
        fragments, the mass a lesion coalesced into, or the new lesion; empty when disappeared.
    tracking_id:
        The ID the follow-up lesions carry from now on (the reference ID, or the new ID);
        ``None`` for coalesced and disappeared lesions.
    method:
        How the decision was reached; ``None`` for disappeared and (not overridden) new lesions.
    dice, contained:
        Dice coefficient and share of the smaller inside the other, between the reference lesion
        and the union of ``follow_up_ids`` on the reference grid after the alignment.
    distance_mm:
        Centroid distance after the alignment (fragments: their volume-weighted centroid).
    coalesced_into:
        For a coalesced lesion, the reference lesion now carrying the mass.
    absorbs:
        For the lesion carrying a coalesced mass, the reference lesions merged into it.
    reason:
        The decision in one sentence, with its numbers and thresholds.
    """

    outcome: Outcome
    reference_id: str | None
    follow_up_ids: tuple[str, ...]
    tracking_id: str | None
    method: Method | None
    dice: float | None = None
    contained: float | None = None
    distance_mm: float | None = None
    coalesced_into: str | None = None
    absorbs: tuple[str, ...] = ()
    reason: str = ""

    def to_dict(self) -> dict[str, object]:
        """JSON-serialisable form."""
        return {
            "outcome": self.outcome.value,
            "reference_id": self.reference_id,
            "follow_up_ids": list(self.follow_up_ids),
            "tracking_id": self.tracking_id,
            "method": None if self.method is None else self.method.value,
            "dice": self.dice,
            "contained": self.contained,
            "distance_mm": self.distance_mm,
            "coalesced_into": self.coalesced_into,
            "absorbs": list(self.absorbs),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class TrackingResult:
    """All decisions of one tracking: reference lesions in their order, then the new lesions."""

    decisions: tuple[TrackingDecision, ...]
    translation_mm: tuple[float, float, float] | None
    """Follow-up minus reference liver centroid (LPS mm) applied to the follow-up; ``None``: none."""
    settings: TrackingSettings = field(default_factory=TrackingSettings)
    reference_source: str = ""
    follow_up_source: str = ""

    def decision(self, reference_id: str) -> TrackingDecision:
        """The decision on one reference lesion."""
        for d in self.decisions:
            if d.reference_id == reference_id:
                return d
        raise InputError(f"lesion tracking: no reference lesion {reference_id!r}")

    def with_outcome(self, outcome: Outcome | str) -> tuple[TrackingDecision, ...]:
        """The decisions with one outcome."""
        return tuple(d for d in self.decisions if d.outcome == Outcome(outcome))

    def to_dict(self) -> dict[str, object]:
        """JSON-serialisable form."""
        return {
            "reference": self.reference_source,
            "follow_up": self.follow_up_source,
            "alignment": "none" if self.translation_mm is None else "liver centroids (translation)",
            "translation_mm": None if self.translation_mm is None else list(self.translation_mm),
            "settings": self.settings.settings_text(),
            "decisions": [d.to_dict() for d in self.decisions],
        }


def follow_up_ids(result: TrackingResult) -> dict[str, str]:
    """Follow-up lesion ID → its tracking ID after tracking (fragments share their lesion's ID)."""
    out: dict[str, str] = {}
    for d in result.decisions:
        if d.tracking_id is not None and d.outcome is not Outcome.COALESCED:
            for f in d.follow_up_ids:
                out[f] = d.tracking_id
    return out


# -- internals --------------------------------------------------------------------------------
def _pct(value: Fraction) -> str:
    return f"{float(value) * 100:.0f} %"


def _ov_text(o: Overlap) -> str:
    return f"Dice {float(o.dice):.2f}, {_pct(o.contained)} of the smaller inside the other"


def _decision(
    a: AlignedLesions,
    outcome: Outcome,
    r: str,
    fus: tuple[str, ...],
    method: Method,
    reason: str,
    coalesced_into: str | None = None,
) -> TrackingDecision:
    o = a.overlap(r, fus)
    return TrackingDecision(
        outcome,
        r,
        fus,
        None if outcome is Outcome.COALESCED else r,
        method,
        dice=float(o.dice),
        contained=float(o.contained),
        distance_mm=round(a.distance(r, fus), 3),
        coalesced_into=coalesced_into,
        reason=reason,
    )


def _check_overrides(
    overrides: Mapping[str, str], ref: TimePointLesions, fu: TimePointLesions, where: str
) -> dict[str, str | None]:
    forced: dict[str, str | None] = {}
    for f, target in overrides.items():
        if f not in fu.instances:
            raise InputError(
                f"lesion tracking override: follow-up lesion {f!r} is not in {where}; "
                f"its lesions are {', '.join(fu.instances) or 'none'}"
            )
        if target.strip().lower() == NEW:
            forced[f] = None
        elif target in ref.instances:
            forced[f] = target
        else:
            raise InputError(
                f"lesion tracking override: follow-up lesion {f!r} is assigned to reference lesion "
                f"{target!r}, which the reference does not hold; its lesions are "
                f"{', '.join(ref.instances) or 'none'} (or use {NEW!r})"
            )
    return forced


def track_lesions(
    reference: LabelMap,
    follow_up: LabelMap,
    *,
    reference_liver: LabelMap | None = None,
    follow_up_liver: LabelMap | None = None,
    settings: TrackingSettings | None = None,
    overrides: Mapping[str, str] | None = None,
    reserved_ids: Collection[str] = (),
) -> TrackingResult:
    """Match the lesions of a follow-up lesion mask to those of an earlier time point.

    Parameters
    ----------
    reference:
        Lesion mask of the earlier time point (baseline or previous follow-up, relabelled with
        the tracking IDs of earlier decisions).
    follow_up:
        Lesion mask of the later time point, on any grid.
    reference_liver, follow_up_liver:
        Liver masks (each on any grid); both or neither. With both, the follow-up is aligned by
        the liver centroids (see the module docstring).
    settings:
        Thresholds (:class:`TrackingSettings`).
    overrides:
        Follow-up lesion ID → reference lesion ID, or ``"new"``: forced decisions.
    reserved_ids:
        IDs a new lesion must not get besides the reference's (e.g. every ID used at an earlier
        time point, including lesions that have since disappeared).

    Returns
    -------
    TrackingResult
        One decision per reference lesion (in reference order), then one per new lesion.

    Raises
    ------
    InputError
        Only one liver mask, or an override naming a lesion that does not exist.
    MaskError
        Duplicate tracking IDs in a map, an empty liver mask.
    """
    s = settings if settings is not None else TrackingSettings()
    where = follow_up.source or "the follow-up lesion mask"
    a = AlignedLesions(reference, follow_up, reference_liver, follow_up_liver, s)
    forced = _check_overrides(overrides or {}, a.ref, a.fu, where)
    decided = _forced(a, forced)
    auto_fus = [f for f in a.fu.instances if f not in forced]
    links = _overlap_stage(a, s, decided, auto_fus)
    limits = _centroid_stage(a, s, decided, [f for f in auto_fus if not links[f]])
    decisions = _leftovers(a, s, decided, forced, limits, reserved_ids)
    result = TrackingResult(tuple(decisions), a.translation_mm, s, reference.source, follow_up.source)
    counts = {o.value: len(result.with_outcome(o)) for o in Outcome}
    logger.info("lesion tracking %s → %s: %s", reference.source or "reference", where, counts)
    return result


def _forced(a: AlignedLesions, forced: Mapping[str, str | None]) -> dict[str, TrackingDecision]:
    """Stage 1: the reference lesions that overrides assign follow-up lesions to."""
    decided: dict[str, TrackingDecision] = {}
    for r in a.ref.instances:
        frags = tuple(f for f in a.fu.instances if forced.get(f) == r)
        if frags:
            o = a.overlap(r, frags)
            decided[r] = _decision(
                a,
                Outcome.SPLIT if len(frags) > 1 else Outcome.MATCHED,
                r,
                frags,
                Method.OVERRIDE,
                f"override: follow-up {', '.join(frags)} assigned to {r} by the reader ({_ov_text(o)}, "
                f"{a.distance(r, frags):.1f} mm apart)",
            )
    return decided


def _overlap_stage(
    a: AlignedLesions, s: TrackingSettings, decided: dict[str, TrackingDecision], auto_fus: list[str]
) -> dict[str, list[str]]:
    """Stage 2: overlap links, matches, splits and coalescence; returns follow-up → linked references."""
    ref_ids, fu_ids = list(a.ref.instances), list(a.fu.instances)
    auto_refs = [r for r in ref_ids if r not in decided]
    links: dict[str, list[str]] = {f: [] for f in auto_fus}
    id_link: set[str] = set()
    for r, f in a.overlapping_pairs():
        if r not in decided and f in links:
            o = a.overlap(r, (f,))
            same_id = f == r and f in a.fu.real_ids
            if same_id or o.dice >= s.min_dice or o.contained >= s.min_contained_fraction:
                links[f].append(r)
                if same_id:
                    id_link.add(f)
    owner = {
        f: f if f in id_link else max(rs, key=lambda r: (a.shared(r, f), -ref_ids.index(r)))
        for f, rs in links.items()
        if rs
    }
    absorbs: dict[str, list[str]] = {}
    for r in auto_refs:
        frags = tuple(f for f in auto_fus if owner.get(f) == r)
        linked = tuple(f for f in auto_fus if r in links[f])
        if not linked:
            continue
        method = Method.ID_OVERLAP if r in id_link and r in linked else Method.OVERLAP
        o = a.overlap(r, frags or linked)
        if not frags:
            into = owner[max(linked, key=lambda f: (a.shared(r, f), -fu_ids.index(f)))]
            absorbs.setdefault(into, []).append(r)
            text = (
                f"coalesced into {into}: follow-up {', '.join(linked)} ({_ov_text(o)}) belongs to {into}; "
                f"the mass is measured on {into} and {r} counts 0 (RECIST 1.1)"
            )
            decided[r] = _decision(a, Outcome.COALESCED, r, linked, method, text, coalesced_into=into)
        elif len(frags) == 1:
            how = "tracking ID and overlap" if method is Method.ID_OVERLAP else "overlap"
            text = f"matched by {how}: follow-up {frags[0]} ({_ov_text(o)})"
            decided[r] = _decision(a, Outcome.MATCHED, r, frags, method, text)
        else:
            text = (
                f"split: follow-up {', '.join(frags)} overlap {r} (union: {_ov_text(o)}); "
                "their measurements are summed (RECIST 1.1)"
            )
            decided[r] = _decision(a, Outcome.SPLIT, r, frags, method, text)
    for r, rs in absorbs.items():
        d = decided[r]
        decided[r] = replace(d, absorbs=tuple(rs), reason=f"{d.reason}; {', '.join(rs)} coalesced into it")
    return links


def _centroid_stage(
    a: AlignedLesions, s: TrackingSettings, decided: dict[str, TrackingDecision], free_fus: list[str]
) -> dict[str, float]:
    """Stage 3: closest-first centroid matching of unlinked lesions; returns each free reference's limit."""
    free_refs = [r for r in a.ref.instances if r not in decided]
    limits = {
        r: max(s.max_centroid_distance_mm, s.centroid_distance_diameter_fraction * a.reference_diameter_mm(r))
        for r in free_refs
    }
    pairs = sorted(
        (float(np.linalg.norm(a.fu_c[f] - a.ref_c[r])), i, j)
        for i, r in enumerate(free_refs)
        for j, f in enumerate(free_fus)
    )
    taken: set[str] = set()
    for dist, i, j in pairs:
        r, f = free_refs[i], free_fus[j]
        if dist <= limits[r] and r not in decided and f not in taken:
            taken.add(f)
            text = (
                f"matched by centroid: follow-up {f} lies {dist:.1f} mm from {r} after the alignment "
                f"(limit {limits[r]:.1f} mm; no overlap link)"
            )
            decided[r] = _decision(a, Outcome.MATCHED, r, (f,), Method.CENTROID, text)
    return limits


def _leftovers(
    a: AlignedLesions,
    s: TrackingSettings,
    decided: dict[str, TrackingDecision],
    forced: Mapping[str, str | None],
    limits: Mapping[str, float],
    reserved_ids: Collection[str],
) -> list[TrackingDecision]:
    """Stage 4: disappeared reference lesions and new follow-up lesions (with their new IDs)."""
    ref_ids = list(a.ref.instances)
    matched = {f for d in decided.values() if d.outcome is not Outcome.COALESCED for f in d.follow_up_ids}
    new_fus = [f for f in a.fu.instances if f not in matched]
    left_fu = {f: a.fu_c[f] for f in new_fus}
    for r in ref_ids:
        if r not in decided:
            decided[r] = TrackingDecision(
                Outcome.DISAPPEARED,
                r,
                (),
                None,
                None,
                reason=f"disappeared: no follow-up lesion overlaps {r} or lies within {limits[r]:.1f} mm "
                f"of it ({a.nearest(a.ref_c[r], left_fu)})",
            )
    decisions = [decided[r] for r in ref_ids]
    left_ref = {r: a.ref_c[r] for r in ref_ids if decided[r].outcome is Outcome.DISAPPEARED}
    used = set(ref_ids) | set(reserved_ids)
    used |= {f for f in new_fus if f in a.fu.real_ids and f not in used}
    counter = 0
    for f in new_fus:
        tid = f
        if f not in a.fu.real_ids or f in ref_ids or f in reserved_ids:
            counter += 1
            while f"{s.new_id_prefix}{counter}" in used:
                counter += 1
            tid = f"{s.new_id_prefix}{counter}"
        method: Method | None = None
        if f in forced:
            reason, method = f"new by override: follow-up {f} declared new by the reader", Method.OVERRIDE
        else:
            reason = (
                f"new: follow-up {f} is linked to no reference lesion by overlap, and no unmatched "
                f"reference lesion lies within its matching distance ({a.nearest(a.fu_c[f], left_ref)})"
            )
        decisions.append(
            TrackingDecision(Outcome.NEW, None, (f,), tid, method, reason=f"{reason}; tracking ID {tid}")
        )
    return decisions
