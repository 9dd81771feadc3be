"""The input of response assessment: a patient's lesions and their measurements over time.

One :class:`ResponseCase` holds everything every criterion reads: the lesions with stable
tracking IDs (:class:`Lesion`), the time points in date order, the first being the baseline
(:class:`TimePoint`), each with its per-lesion measurements (:class:`LesionMeasurement`), its
new-lesion findings (:class:`NewLesionFinding`) and the reader's non-target call, and the
therapy dates. Measurements are exact (:mod:`nelm.response.exact`): lengths in 0.1 mm, areas in
0.01 mm², volumes in 0.001 mL, HU in 0.1, SUV/SUL in 0.01.

The same model is built from nelm's quantification (:mod:`nelm.response.from_quant`) and from a
reader's table (:mod:`nelm.response.reader`). Constructors validate (highdicom style) and raise
:class:`~nelm.errors.InputError` naming the time point, lesion and field.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from fractions import Fraction

from nelm.errors import InputError

__all__ = [
    "Certainty",
    "Lesion",
    "LesionMeasurement",
    "LesionState",
    "LesionType",
    "NewLesionFinding",
    "NonTargetCall",
    "ResponseCase",
    "Therapy",
    "TimePoint",
    "as_aware_datetime",
]


class LesionType(StrEnum):
    """RECIST lesion type: nodes are measured by their short axis, everything else by its long axis."""

    NON_NODAL = "non_nodal"
    NODE = "node"


class LesionState(StrEnum):
    """What was seen of a known lesion at one time point.

    * ``present``: seen and measured (the values are in the measurement);
    * ``too_small``: seen but too small to measure (RECIST: counts as the default 5 mm);
    * ``disappeared``: gone (counts as 0 mm);
    * ``coalesced``: merged into another lesion (``coalesced_into``), which carries the
      measurement of the whole mass; this one counts as 0 (RECIST 1.1);
    * ``not_evaluated``: not assessed (not imaged, not visible for technical reasons).
    """

    PRESENT = "present"
    TOO_SMALL = "too_small"
    DISAPPEARED = "disappeared"
    COALESCED = "coalesced"
    NOT_EVALUATED = "not_evaluated"


class Certainty(StrEnum):
    """How sure the reader is of a new lesion (RECIST: only an unequivocal one is PD)."""

    DEFINITE = "definite"
    EQUIVOCAL = "equivocal"


class NonTargetCall(StrEnum):
    """The reader's overall call of non-target disease at a time point, when one was made."""

    UNEQUIVOCAL_PROGRESSION = "unequivocal_progression"
    NO_PROGRESSION = "no_progression"


def as_aware_datetime(value: dt.date | datetime) -> datetime:
    """A manifest date as an aware date-time: a date-only value is 00:00 UTC of that day."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise InputError(f"date-time {value.isoformat()} has no UTC offset")
        return value
    return dt.datetime.combine(value, dt.time(0, 0), tzinfo=dt.UTC)


def _opt_fraction(value: object, where: str, *, negative: bool = False) -> Fraction | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (Fraction, int)):
        raise InputError(f"{where}: expected an exact number (Fraction) or nothing, got {value!r}")
    frac = Fraction(value)
    if frac < 0 and not negative:
        raise InputError(f"{where}: must not be negative, got {frac}")
    return frac


def _require_id(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.strip() or value != value.strip():
        raise InputError(
            f"{where}: an ID must be a non-empty string without surrounding spaces, got {value!r}"
        )
    return value


def _require_aware(value: object, where: str) -> datetime:
    if not isinstance(value, datetime):
        raise InputError(f"{where}: expected a date-time, got {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InputError(
            f"{where}: the date-time {value.isoformat()} has no time zone; give one (e.g. +01:00)"
        )
    return value


@dataclass(frozen=True)
class Lesion:
    """A lesion followed over time (its properties that do not change between time points).

    Parameters
    ----------
    lesion_id:
        Stable tracking ID (``"L3"``).
    organ:
        Organ for the RECIST per-organ target limit (``"liver"``; all nodes count as one organ,
        ``"lymph_nodes"``, whatever is given here).
    lesion_type:
        :class:`LesionType`.
    previously_treated:
        The lesion had loco-regional therapy (ablation, embolization, radiation) before the
        baseline: RECIST 1.1 does not select it as a target unless it progressed since (then set
        ``False``).
    """

    lesion_id: str
    organ: str = "liver"
    lesion_type: LesionType = LesionType.NON_NODAL
    previously_treated: bool = False

    def __post_init__(self) -> None:
        _require_id(self.lesion_id, "lesion")
        _require_id(self.organ, f"lesion {self.lesion_id}: organ")
        try:
            object.__setattr__(self, "lesion_type", LesionType(self.lesion_type))
        except ValueError as exc:
            raise InputError(
                f"lesion {self.lesion_id}: lesion_type must be one of "
                f"{', '.join(t.value for t in LesionType)}, got {self.lesion_type!r}"
            ) from exc

    @property
    def organ_key(self) -> str:
        """The organ for target limits: every node belongs to one organ, ``lymph_nodes``."""
        return "lymph_nodes" if self.lesion_type is LesionType.NODE else self.organ


@dataclass(frozen=True)
class LesionMeasurement:
    """One lesion at one time point. Every value is optional: a criterion that needs a missing
    value makes the time point not evaluable (NE) for that criterion and says why.

    Parameters
    ----------
    lesion_id:
        The lesion's tracking ID.
    state:
        :class:`LesionState`; measured values are only allowed for ``present`` lesions.
    long_mm:
        Longest axial diameter (RECIST, WHO, Choi).
    short_mm:
        Longest diameter perpendicular to it on the same slice (nodes' short axis; WHO).
    viable_long_mm:
        Longest axial diameter of the arterially enhancing (viable) part (mRECIST); 0 when
        nothing enhances.
    enhancing_area_mm2:
        Bidimensional product of the enhancing part (EASL); 0 when nothing enhances.
    volume_ml, enhancing_volume_ml:
        Lesion volume and its enhancing (viable) volume (vRECIST, qEASL).
    mean_hu_portal:
        Mean attenuation on the portal venous phase (Choi density), in HU.
    sul_peak:
        PET SULpeak (SUV normalised to lean body mass, 1 cm³ sphere at the hottest point).
    tlg:
        Total lesion glycolysis, SULmean × metabolic volume (mL).
    coalesced_into:
        For ``coalesced`` lesions, the lesion that now carries the measurement of the mass.
    fragments:
        Number of fragments summed into the values (a split lesion; RECIST 1.1 sums them).
    """

    lesion_id: str
    state: LesionState = LesionState.PRESENT
    long_mm: Fraction | None = None
    short_mm: Fraction | None = None
    viable_long_mm: Fraction | None = None
    enhancing_area_mm2: Fraction | None = None
    volume_ml: Fraction | None = None
    enhancing_volume_ml: Fraction | None = None
    mean_hu_portal: Fraction | None = None
    sul_peak: Fraction | None = None
    tlg: Fraction | None = None
    coalesced_into: str | None = None
    fragments: int = 1

    _VALUES = (
        "long_mm",
        "short_mm",
        "viable_long_mm",
        "enhancing_area_mm2",
        "volume_ml",
        "enhancing_volume_ml",
        "mean_hu_portal",
        "sul_peak",
        "tlg",
    )

    def __post_init__(self) -> None:
        where = f"lesion {self.lesion_id!r}"
        _require_id(self.lesion_id, "measurement")
        try:
            state = LesionState(self.state)
        except ValueError as exc:
            raise InputError(
                f"{where}: state must be one of {', '.join(s.value for s in LesionState)}, got {self.state!r}"
            ) from exc
        object.__setattr__(self, "state", state)
        for name in self._VALUES:
            value = _opt_fraction(getattr(self, name), f"{where}: {name}", negative=name == "mean_hu_portal")
            object.__setattr__(self, name, value)
            if value is not None and state is not LesionState.PRESENT:
                raise InputError(
                    f"{where}: {name} is given, but the lesion is {state.value}; "
                    "only a present lesion has values"
                )
        if self.long_mm is not None and self.short_mm is not None and self.short_mm > self.long_mm:
            raise InputError(f"{where}: short_mm {self.short_mm} exceeds long_mm {self.long_mm}")
        if (
            self.viable_long_mm is not None
            and self.long_mm is not None
            and self.viable_long_mm > self.long_mm
        ):
            raise InputError(
                f"{where}: viable_long_mm {float(self.viable_long_mm)} exceeds long_mm {float(self.long_mm)}"
            )
        if (
            self.enhancing_volume_ml is not None
            and self.volume_ml is not None
            and self.enhancing_volume_ml > self.volume_ml
        ):
            raise InputError(f"{where}: enhancing_volume_ml exceeds volume_ml")
        if (state is LesionState.COALESCED) != (self.coalesced_into is not None):
            raise InputError(f"{where}: coalesced_into is required for, and only for, a coalesced lesion")
        if self.coalesced_into is not None:
            _require_id(self.coalesced_into, f"{where}: coalesced_into")
            if self.coalesced_into == self.lesion_id:
                raise InputError(f"{where}: a lesion cannot coalesce into itself")
        if isinstance(self.fragments, bool) or not isinstance(self.fragments, int) or self.fragments < 1:
            raise InputError(f"{where}: fragments must be an integer ≥ 1, got {self.fragments!r}")

    def values(self) -> dict[str, Fraction]:
        """The values that are given, by field name."""
        out: dict[str, Fraction] = {}
        for f in fields(self):
            if f.name in self._VALUES and getattr(self, f.name) is not None:
                out[f.name] = getattr(self, f.name)
        return out


@dataclass(frozen=True)
class NewLesionFinding:
    """A lesion first seen at a follow-up.

    Parameters
    ----------
    lesion_id:
        Its tracking ID (the same ID at later time points, so that an equivocal finding can be
        confirmed: RECIST 1.1 then dates the progression to the first scan that showed it).
    certainty:
        :class:`Certainty`.
    organ:
        Where it is.
    long_mm:
        Its longest diameter when measured (mRECIST: a new liver lesion counts at ≥ 10 mm).
    enhancing:
        Arterial-phase enhancement (mRECIST typical pattern), when known.
    avid:
        Uptake above background on PET (PERCIST: a new avid lesion), when known.
    """

    lesion_id: str
    certainty: Certainty = Certainty.DEFINITE
    organ: str = "liver"
    long_mm: Fraction | None = None
    enhancing: bool | None = None
    avid: bool | None = None

    def __post_init__(self) -> None:
        _require_id(self.lesion_id, "new lesion")
        try:
            object.__setattr__(self, "certainty", Certainty(self.certainty))
        except ValueError as exc:
            raise InputError(
                f"new lesion {self.lesion_id}: certainty must be definite or equivocal, "
                f"got {self.certainty!r}"
            ) from exc
        object.__setattr__(
            self, "long_mm", _opt_fraction(self.long_mm, f"new lesion {self.lesion_id}: long_mm")
        )


@dataclass(frozen=True)
class TimePoint:
    """One imaging time point: its measurements and findings.

    Parameters
    ----------
    time_point_id:
        ID (``"baseline"``, ``"fu1"``).
    date:
        Timezone-aware date-time of the imaging.
    measurements:
        Per-lesion measurements by tracking ID; a known lesion absent from the mapping was not
        evaluated at this time point.
    new_lesions:
        New-lesion findings (none at the baseline).
    non_target_call:
        The reader's call of unequivocal progression of non-target disease, when made; without
        it the criteria derive the non-target status from the lesions' states.
    slice_thickness_mm:
        Reconstructed slice thickness of the images measured (RECIST measurability: 2 × the
        thickness when above 5 mm).
    liver_sul_mean, liver_sul_sd:
        PERCIST liver reference (3 cm sphere in the normal right lobe).
    uptake_time_min:
        PET uptake time (PERCIST quality check).
    liver_volume_ml, liver_enhancing_tumour_ml:
        Whole-liver volume and enhancing tumour volume (ETB).
    """

    time_point_id: str
    date: datetime
    measurements: Mapping[str, LesionMeasurement] = field(default_factory=dict)
    new_lesions: Sequence[NewLesionFinding] = ()
    non_target_call: NonTargetCall | None = None
    slice_thickness_mm: Fraction | None = None
    liver_sul_mean: Fraction | None = None
    liver_sul_sd: Fraction | None = None
    uptake_time_min: Fraction | None = None
    liver_volume_ml: Fraction | None = None
    liver_enhancing_tumour_ml: Fraction | None = None

    def __post_init__(self) -> None:
        tp = _require_id(self.time_point_id, "time point")
        _require_aware(self.date, f"time point {tp}: date")
        measurements = dict(self.measurements)
        for key, m in measurements.items():
            if not isinstance(m, LesionMeasurement):
                raise InputError(f"time point {tp}: measurement {key!r} must be a LesionMeasurement")
            if key != m.lesion_id:
                raise InputError(
                    f"time point {tp}: measurement stored under {key!r} is for lesion {m.lesion_id!r}"
                )
        new = tuple(self.new_lesions)
        ids = [n.lesion_id for n in new]
        if len(set(ids)) != len(ids):
            raise InputError(f"time point {tp}: a new lesion is listed twice")
        clash = sorted(set(ids) & set(measurements))
        if clash:
            raise InputError(
                f"time point {tp}: {', '.join(clash)} listed both as a new lesion and as a known lesion"
            )
        object.__setattr__(self, "measurements", measurements)
        object.__setattr__(self, "new_lesions", new)
        if self.non_target_call is not None:
            object.__setattr__(self, "non_target_call", NonTargetCall(self.non_target_call))
        for name in (
            "slice_thickness_mm",
            "liver_sul_mean",
            "liver_sul_sd",
            "uptake_time_min",
            "liver_volume_ml",
            "liver_enhancing_tumour_ml",
        ):
            object.__setattr__(self, name, _opt_fraction(getattr(self, name), f"time point {tp}: {name}"))
        for m in measurements.values():
            if m.coalesced_into is not None and m.coalesced_into not in measurements:
                raise InputError(
                    f"time point {tp}: lesion {m.lesion_id} coalesced into {m.coalesced_into}, "
                    "which has no measurement at this time point"
                )

    @property
    def date_text(self) -> str:
        """The date as ``YYYY-MM-DD`` for messages."""
        return self.date.date().isoformat()


@dataclass(frozen=True)
class Therapy:
    """A liver-directed or systemic therapy given during the course (for the timeline)."""

    label: str
    date: datetime

    def __post_init__(self) -> None:
        _require_id(self.label, "therapy")
        _require_aware(self.date, f"therapy {self.label}: date")


@dataclass(frozen=True)
class ResponseCase:
    """A patient's course: lesions, time points (the first is the baseline) and therapies.

    Parameters
    ----------
    case_id:
        The case's ID (de-identified).
    lesions:
        Every baseline lesion by tracking ID (new lesions are findings of their time points).
    time_points:
        At least the baseline; dates strictly increasing.
    therapies:
        Therapies with dates (context for plots and time to progression).
    targets:
        Target lesion IDs chosen by a reader; ``None`` lets each criterion propose its own.

    Raises
    ------
    InputError
        No time point, dates not strictly increasing, duplicate IDs, measurements of unknown
        lesions at the baseline, a new lesion at the baseline, unknown target IDs.
    """

    case_id: str
    lesions: Mapping[str, Lesion]
    time_points: Sequence[TimePoint]
    therapies: Sequence[Therapy] = ()
    targets: Sequence[str] | None = None

    def __post_init__(self) -> None:
        _require_id(self.case_id, "case")
        lesions = dict(self.lesions)
        for key, lesion in lesions.items():
            if not isinstance(lesion, Lesion) or lesion.lesion_id != key:
                raise InputError(f"case {self.case_id}: lesion entry {key!r} must be the Lesion {key!r}")
        tps = tuple(self.time_points)
        if not tps:
            raise InputError(f"case {self.case_id}: at least the baseline time point is needed")
        ids = [tp.time_point_id for tp in tps]
        if len(set(ids)) != len(ids):
            raise InputError(f"case {self.case_id}: time point IDs repeat: {ids}")
        for prev, cur in itertools.pairwise(tps):
            if cur.date <= prev.date:
                raise InputError(
                    f"case {self.case_id}: time point {cur.time_point_id} ({cur.date.isoformat()}) "
                    "is not after "
                    f"{prev.time_point_id} ({prev.date.isoformat()}); time points must be in date order"
                )
        baseline = tps[0]
        if baseline.new_lesions:
            raise InputError(
                f"case {self.case_id}: the baseline {baseline.time_point_id} cannot have new lesions"
            )
        seen_new: set[str] = set()
        for tp in tps:
            unknown = sorted(set(tp.measurements) - set(lesions) - seen_new)
            if unknown:
                raise InputError(
                    f"case {self.case_id}: time point {tp.time_point_id} measures {', '.join(unknown)}, "
                    "which is neither a baseline lesion nor a new lesion found earlier"
                )
            clash = sorted({n.lesion_id for n in tp.new_lesions} & set(lesions))
            if clash:
                raise InputError(
                    f"case {self.case_id}: time point {tp.time_point_id} reports baseline lesion(s) "
                    f"{', '.join(clash)} as new"
                )
            seen_new |= {n.lesion_id for n in tp.new_lesions}
        targets = None if self.targets is None else tuple(self.targets)
        if targets is not None:
            unknown = sorted(set(targets) - set(lesions))
            if unknown:
                raise InputError(
                    f"case {self.case_id}: target(s) {', '.join(unknown)} are not baseline lesions"
                )
            if len(set(targets)) != len(targets):
                raise InputError(f"case {self.case_id}: a target lesion is listed twice")
        object.__setattr__(self, "lesions", lesions)
        object.__setattr__(self, "time_points", tps)
        object.__setattr__(self, "therapies", tuple(self.therapies))
        object.__setattr__(self, "targets", targets)

    @property
    def baseline(self) -> TimePoint:
        """The first time point."""
        return self.time_points[0]

    @property
    def follow_ups(self) -> tuple[TimePoint, ...]:
        """Every time point after the baseline."""
        return tuple(self.time_points[1:])

    def days_from_baseline(self, tp: TimePoint) -> float:
        """Calendar days from the baseline's date to ``tp``'s, each in its own time zone.

        Criteria intervals (confirmation ≥ 4 weeks, SD ≥ 6 weeks) are counted in days; counting
        calendar dates keeps six weeks 42 days across a daylight-saving change, where elapsed
        time would give 41.96.
        """
        return float((tp.date.date() - self.baseline.date.date()).days)
