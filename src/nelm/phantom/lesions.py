"""Liver metastases of the synthetic patient: placement, properties and evolution.

Placement
---------
Largest diameters are drawn log-uniform from the configured range and sorted, so ``L1`` is the
largest baseline lesion; new lesions of later follow-ups get the next numbers. Each lesion is
then placed by rejection sampling (centres uniform in the liver's bounding box) and accepted
only if

* its solid, grown to the **largest size it reaches in any follow-up** and offset outwards by
  ``min_gap_mm`` along its normals, lies inside the liver (tested at 134 points of that offset
  surface: 128 on a Fibonacci spiral plus the 6 axis tips) and, for lobar placements, in the
  allowed segments at all those points;
* the distance between its centre and every other lesion's centre is at least the sum of their
  bounding-sphere radii (largest semi-axis at the largest reserved size) plus ``min_gap_mm``.

So lesions never overlap or touch, never leave the liver, and follow-up growth needs no
further checks. Lesion axes are parallel to the patient axes, so volume ``4/3·π·a·b·c``, the
longest axial diameter ``2·max(a, b)`` (in the axial plane through the centre), its
perpendicular ``2·min(a, b)`` and the largest 3-D diameter ``2·max(a, b, c)`` are exact.

Evolution
---------
See :class:`~nelm.phantom.config.FollowUpConfig`: sizes are relative to a lesion's first
appearance; a disappeared lesion stays gone; a lesion is *treated* when its centroid lies in
the perfused territory of the TARE.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Final

import numpy as np
import numpy.typing as npt

from nelm.errors import ConfigError
from nelm.phantom.anatomy import LOBE_OF_SEGMENT, Anatomy
from nelm.phantom.config import LesionShape, PhantomConfig, Placement
from nelm.phantom.shapes import Ellipsoid

__all__ = [
    "Lesion",
    "LesionState",
    "evolve_lesions",
    "place_lesions",
]

logger = logging.getLogger(__name__)

_RIGHT: Final[frozenset[int]] = frozenset({5, 6, 7, 8})
_LEFT_WITH_CAUDATE: Final[frozenset[int]] = frozenset({1, 2, 3, 4})
_LEFT: Final[frozenset[int]] = frozenset({2, 3, 4})
_ALL: Final[frozenset[int]] = frozenset(range(1, 9))

_BATCH: Final[int] = 256
_MAX_BATCHES: Final[int] = 400


def _fibonacci_directions(n: int) -> npt.NDArray[np.float64]:
    """``n`` near-uniform unit vectors (golden-angle spiral) plus the six axis directions."""
    i = np.arange(n, dtype=float) + 0.5
    z = 1.0 - 2.0 * i / n
    r = np.sqrt(1.0 - z * z)
    phi = math.pi * (3.0 - math.sqrt(5.0)) * i
    spiral = np.stack([r * np.cos(phi), r * np.sin(phi), z], axis=1)
    axes = np.vstack([np.eye(3), -np.eye(3)])
    return np.vstack([spiral, axes])


_DIRECTIONS: Final = _fibonacci_directions(128)


@dataclass(frozen=True)
class Lesion:
    """One metastasis as it is when it first appears.

    Parameters
    ----------
    number:
        Tracking number; the tracking ID is ``f"L{number}"``.
    center_mm:
        Centroid (LPS mm).
    semi_axes_mm:
        Semi-axes along x, y, z (mm) at first appearance.
    necrotic_fraction:
        Size of the concentric non-enhancing core as a fraction of the semi-axes (0: none).
    hypervascular:
        Arterial hyperenhancement with portal-venous washout (else hypoenhancing).
    unenhanced_delta_hu, arterial_delta_hu, portal_delta_hu:
        Attenuation of viable tumour minus normal liver in each CT phase (HU).
    sstr_ratio:
        SSTR-PET concentration of viable tumour / normal liver.
    mr_hbp_ratio:
        Hepatobiliary-phase MR signal of viable tumour / normal liver (< 1: hypointense).
    segment:
        Couinaud-like segment (1..8) of the centroid.
    appears_at:
        0 for a baseline lesion, ``k`` for a lesion new at follow-up ``k``.
    reserve_scale:
        Largest size factor the lesion reaches in any follow-up (room kept at placement).
    """

    number: int
    center_mm: tuple[float, float, float]
    semi_axes_mm: tuple[float, float, float]
    necrotic_fraction: float
    hypervascular: bool
    unenhanced_delta_hu: float
    arterial_delta_hu: float
    portal_delta_hu: float
    sstr_ratio: float
    mr_hbp_ratio: float
    segment: int
    appears_at: int
    reserve_scale: float = 1.0

    def __post_init__(self) -> None:
        if self.number < 1:
            raise ConfigError(f"lesion number must be ≥ 1, got {self.number}")
        if min(self.semi_axes_mm) <= 0:
            raise ConfigError(f"lesion L{self.number}: semi-axes must be positive, got {self.semi_axes_mm}")
        if not 0.0 <= self.necrotic_fraction <= 1.0:
            raise ConfigError(
                f"lesion L{self.number}: necrotic fraction {self.necrotic_fraction} outside 0–1"
            )

    @property
    def tracking_id(self) -> str:
        """Stable identifier across time points, ``L<number>``."""
        return f"L{self.number}"

    @property
    def lobe(self) -> str:
        """``right``, ``left`` or ``caudate``."""
        return LOBE_OF_SEGMENT[self.segment]


@dataclass(frozen=True)
class LesionState:
    """A lesion at one time point.

    Parameters
    ----------
    lesion:
        The lesion (its first-appearance size and properties).
    scale:
        Linear size factor relative to first appearance.
    necrotic_fraction:
        Core size as a fraction of the current semi-axes.
    present:
        False once the lesion has disappeared.
    status:
        ``baseline``, ``new``, ``stable``, ``decreased``, ``increased`` or ``disappeared``.
    perfused:
        Centroid in the TARE territory (the lesion receives MAA and Y-90).
    """

    lesion: Lesion
    scale: float
    necrotic_fraction: float
    present: bool
    status: str
    perfused: bool

    @property
    def tracking_id(self) -> str:
        """The lesion's tracking ID."""
        return self.lesion.tracking_id

    @property
    def semi_axes_mm(self) -> tuple[float, float, float]:
        """Current semi-axes (mm)."""
        a, b, c = self.lesion.semi_axes_mm
        return (a * self.scale, b * self.scale, c * self.scale)

    @property
    def volume_ml(self) -> float:
        """Analytic volume 4/3·π·a·b·c (mL); 0 when absent."""
        if not self.present:
            return 0.0
        a, b, c = self.semi_axes_mm
        return 4.0 / 3.0 * math.pi * a * b * c / 1000.0

    @property
    def necrotic_volume_ml(self) -> float:
        """Volume of the non-enhancing core (f³ of the lesion volume)."""
        return self.volume_ml * self.necrotic_fraction**3

    @property
    def enhancing_volume_ml(self) -> float:
        """Volume of the enhancing (viable) shell."""
        return self.volume_ml - self.necrotic_volume_ml

    @property
    def axial_long_diameter_mm(self) -> float:
        """Longest diameter in the axial plane through the centre, ``2·max(a, b)``; 0 when absent."""
        a, b, _ = self.semi_axes_mm
        return 2.0 * max(a, b) if self.present else 0.0

    @property
    def axial_short_diameter_mm(self) -> float:
        """Longest diameter perpendicular to it in the same plane, ``2·min(a, b)``."""
        a, b, _ = self.semi_axes_mm
        return 2.0 * min(a, b) if self.present else 0.0

    @property
    def max_diameter_mm(self) -> float:
        """Largest 3-D diameter, ``2·max(a, b, c)``."""
        return 2.0 * max(self.semi_axes_mm) if self.present else 0.0

    @property
    def viable_axial_long_diameter_mm(self) -> float:
        """Longest axial diameter of enhancing tissue: the whole lesion unless entirely necrotic."""
        return 0.0 if self.necrotic_fraction >= 1.0 else self.axial_long_diameter_mm

    def shape(self) -> Ellipsoid:
        """The lesion solid."""
        return Ellipsoid(self.lesion.center_mm, self.semi_axes_mm)

    def core_shape(self) -> Ellipsoid | None:
        """The necrotic core solid, or ``None`` without necrosis."""
        if self.necrotic_fraction <= 0:
            return None
        f = self.necrotic_fraction
        a, b, c = self.semi_axes_mm
        return Ellipsoid(self.lesion.center_mm, (a * f, b * f, c * f))


def _log_uniform(rng: np.random.Generator, lo: float, hi: float, n: int) -> npt.NDArray[np.float64]:
    if hi <= lo:
        return np.full(n, lo)
    return np.asarray(lo * (hi / lo) ** rng.random(n))


def _semi_axes(
    rng: np.random.Generator, diameter: float, config: PhantomConfig
) -> tuple[float, float, float]:
    r = diameter / 2.0
    if config.lesion_shape is LesionShape.SPHERE:
        return (r, r, r)
    lo, hi = config.ellipsoid_axis_ratio_range
    axes = np.array([r, r * rng.uniform(lo, hi), r * rng.uniform(lo, hi)])
    axes = axes[rng.permutation(3)]
    return (float(axes[0]), float(axes[1]), float(axes[2]))


def _reserve_scale(config: PhantomConfig, tracking_id: str, appears_at: int, treated: bool) -> float:
    """Largest size factor a lesion can reach in any later follow-up."""
    scale = 1.0
    base = 1.0 if appears_at == 0 else config.follow_ups[appears_at - 1].untreated_scale
    for k, fu in enumerate(config.follow_ups, start=1):
        if k <= appears_at:
            continue
        change = fu.overrides.get(tracking_id)
        if change is not None:
            scale = max(scale, change.scale)
        elif treated:
            scale = max(scale, fu.treated_scale)
        else:
            scale = max(scale, fu.untreated_scale / base)
    return scale


class _Placer:
    """Rejection sampler keeping the accepted lesions' centres and bounding radii."""

    def __init__(self, anatomy: Anatomy, gap: float, rng: np.random.Generator) -> None:
        self.anatomy = anatomy
        self.gap = gap
        self.rng = rng
        lo, hi = anatomy.liver.bounds()
        self.lo = np.asarray(lo)
        self.hi = np.asarray(hi)
        self.centres = np.zeros((0, 3))
        self.radii = np.zeros(0)

    def _fits(
        self, centres: npt.NDArray[np.float64], axes: npt.NDArray[np.float64], allowed: frozenset[int]
    ) -> npt.NDArray[np.bool_]:
        # Offset surface: p = c + a·u with outward normal n ∝ u / a; test p + gap·n.
        u = _DIRECTIONS[None, :, :]
        a = axes[:, None, :]
        normals = u / a
        normals /= np.linalg.norm(normals, axis=2, keepdims=True)
        pts = centres[:, None, :] + u * a + self.gap * normals
        x, y, z = pts[..., 0], pts[..., 1], pts[..., 2]
        ok = np.all(self.anatomy.liver.contains(x, y, z), axis=1)
        if allowed != _ALL:
            ok &= np.all(np.isin(self.anatomy.segment_of(x, y, z), list(allowed)), axis=1)
        return np.asarray(ok)

    def place(
        self,
        axes_mm: tuple[float, float, float],
        reserve: Callable[[bool], float],
        territory: frozenset[int],
        allowed: frozenset[int],
        what: str,
    ) -> tuple[npt.NDArray[np.float64], float]:
        """Centre of an accepted position and the reserve scale used there."""
        axes = np.asarray(axes_mm)
        scales = {True: reserve(True), False: reserve(False)}
        r_max = float(axes.max()) * max(scales.values())
        lo = self.lo + r_max + self.gap
        hi = self.hi - r_max - self.gap
        if np.any(hi <= lo):
            raise ConfigError(
                f"{what} (diameter {2 * r_max:.1f} mm with room for growth) cannot fit in the liver"
            )
        for _ in range(_MAX_BATCHES):
            cand = lo + (hi - lo) * self.rng.random((_BATCH, 3))
            x, y, z = cand[:, 0], cand[:, 1], cand[:, 2]
            seg = self.anatomy.segment_of(x, y, z)
            keep = self.anatomy.liver.contains(x, y, z) & np.isin(seg, list(allowed))
            cand, seg = cand[keep], seg[keep]
            if not cand.shape[0]:
                continue
            treated = np.isin(seg, list(territory))
            scale = np.where(treated, scales[True], scales[False])
            radius = float(axes.max()) * scale
            if self.centres.shape[0]:
                diff = cand[:, None, :] - self.centres[None, :, :]
                d2 = np.einsum("ijk,ijk->ij", diff, diff)
                need = radius[:, None] + self.radii[None, :] + self.gap
                free = np.all(d2 >= need * need, axis=1)
                cand, scale, radius = cand[free], scale[free], radius[free]
            for lo_i in range(0, cand.shape[0], 64):
                sl = slice(lo_i, lo_i + 64)
                ok = self._fits(cand[sl], axes[None, :] * scale[sl, None], allowed)
                if ok.any():
                    j = lo_i + int(np.argmax(ok))
                    self.centres = np.vstack([self.centres, cand[j]])
                    self.radii = np.append(self.radii, radius[j])
                    return np.asarray(cand[j]), float(scale[j])
        raise ConfigError(
            f"could not place {what} (largest diameter {2 * float(axes.max()):.1f} mm plus room for "
            f"follow-up growth) after {_MAX_BATCHES * _BATCH} tries: the liver is too full. Lower "
            "n_lesions, diameter_range_mm, min_gap_mm or the follow-up growth factors"
        )


def place_lesions(anatomy: Anatomy, config: PhantomConfig) -> tuple[Lesion, ...]:
    """Draw and place every lesion of the patient (baseline and new at follow-ups).

    Deterministic from ``config.seed`` (independent random streams for sizes, positions and
    properties).

    Raises
    ------
    ConfigError
        If the lesions cannot be placed (too many or too large for the liver), or a follow-up
        override names a lesion that does not exist.
    """
    ss = np.random.SeedSequence([config.seed, 0x1E5])
    rng_size, rng_place, rng_props = (np.random.default_rng(s) for s in ss.spawn(3))
    d_lo, d_hi = config.effective_diameter_range_mm
    baseline_d = np.sort(_log_uniform(rng_size, d_lo, d_hi, config.n_lesions))[::-1]
    new_hi = min(d_hi, max(d_lo * 1.6, 15.0))
    plan: list[tuple[float, int]] = [(float(d), 0) for d in baseline_d]
    for k, fu in enumerate(config.follow_ups, start=1):
        plan += [(float(d), k) for d in np.sort(_log_uniform(rng_size, d_lo, new_hi, fu.new_lesions))[::-1]]
    known = {f"L{i}" for i in range(1, len(plan) + 1)}
    for k, fu in enumerate(config.follow_ups, start=1):
        for key in fu.overrides:
            if key not in known:
                raise ConfigError(
                    f"phantom config: follow_ups[{k - 1}].overrides names lesion {key!r}, but the patient "
                    f"has L1..L{len(plan)}"
                )
    if config.placement is Placement.RIGHT:
        groups = [_RIGHT] * len(plan)
    elif config.placement is Placement.LEFT:
        groups = [_LEFT] * len(plan)
    else:
        draws = rng_place.random(len(plan))
        groups = [_RIGHT if u < 0.65 else _LEFT_WITH_CAUDATE for u in draws]
        if config.n_lesions >= 2:
            groups[0], groups[1] = _RIGHT, _LEFT_WITH_CAUDATE
        groups[config.n_lesions :] = [_ALL] * (len(plan) - config.n_lesions)
    placer = _Placer(anatomy, config.min_gap_mm, rng_place)
    territory = config.tare.territory.segments if config.tare is not None else frozenset()
    lesions: list[Lesion] = []
    for i, ((diameter, appears_at), allowed) in enumerate(zip(plan, groups, strict=True)):
        number = i + 1
        axes = _semi_axes(rng_props, diameter, config)
        what = f"lesion L{number} of {len(plan)}"

        def reserve(treated: bool, number: int = number, appears_at: int = appears_at) -> float:
            return _reserve_scale(config, f"L{number}", appears_at, treated and appears_at == 0)

        centre, reserve_scale = placer.place(axes, reserve, territory, allowed, what)
        hyper = bool(rng_props.random() < config.hypervascular_fraction)
        unenh = float(rng_props.uniform(-20.0, -8.0))
        art = float(rng_props.uniform(30.0, 80.0) if hyper else rng_props.uniform(-35.0, -15.0))
        port = float(rng_props.uniform(-25.0, -5.0) if hyper else rng_props.uniform(-35.0, -15.0))
        s_lo, s_hi = config.sstr_ratio_range
        sstr = float(_log_uniform(rng_props, s_lo, s_hi, 1)[0])
        mr = float(rng_props.uniform(0.3, 0.5))
        necrotic = 0.0
        draw_core = rng_props.random()
        core = float(rng_props.uniform(*config.necrotic_core_range))
        if (
            appears_at == 0
            and diameter >= config.necrosis_min_diameter_mm
            and draw_core < config.necrotic_lesion_fraction
        ):
            necrotic = core
        c = (float(centre[0]), float(centre[1]), float(centre[2]))
        lesions.append(
            Lesion(
                number=number,
                center_mm=c,
                semi_axes_mm=axes,
                necrotic_fraction=necrotic,
                hypervascular=hyper,
                unenhanced_delta_hu=unenh,
                arterial_delta_hu=art,
                portal_delta_hu=port,
                sstr_ratio=sstr,
                mr_hbp_ratio=mr,
                segment=anatomy.segment_at(c),
                appears_at=appears_at,
                reserve_scale=reserve_scale,
            )
        )
    logger.debug("placed %d lesions (%d at baseline)", len(lesions), config.n_lesions)
    return tuple(lesions)


def _status(scale: float) -> str:
    if scale < 0.97:
        return "decreased"
    if scale > 1.03:
        return "increased"
    return "stable"


def evolve_lesions(lesions: tuple[Lesion, ...], config: PhantomConfig) -> tuple[tuple[LesionState, ...], ...]:
    """Lesion states at baseline (index 0) and at each follow-up (index k).

    Every lesion that has appeared by a time point is listed (absent ones with
    ``present=False``, status ``disappeared``).
    """
    territory = config.tare.territory.segments if config.tare is not None else frozenset()
    perfused = {les.number: les.segment in territory for les in lesions}
    states: list[tuple[LesionState, ...]] = [
        tuple(
            LesionState(les, 1.0, les.necrotic_fraction, True, "baseline", perfused[les.number])
            for les in lesions
            if les.appears_at == 0
        )
    ]
    gone: set[int] = set()
    previous = {s.lesion.number: s for s in states[0]}
    for k, fu in enumerate(config.follow_ups, start=1):
        current: list[LesionState] = []
        for les in lesions:
            if les.appears_at > k:
                continue
            treated = config.tare is not None and les.appears_at == 0 and perfused[les.number]
            if les.appears_at == k:
                state = LesionState(les, 1.0, les.necrotic_fraction, True, "new", perfused[les.number])
            elif les.number in gone:
                state = replace(previous[les.number], present=False, status="disappeared")
            else:
                prev = previous[les.number]
                change = fu.overrides.get(les.tracking_id)
                base_scale = (
                    1.0 if les.appears_at == 0 else config.follow_ups[les.appears_at - 1].untreated_scale
                )
                if change is not None:
                    nf = (
                        prev.necrotic_fraction
                        if change.necrotic_fraction is None
                        else change.necrotic_fraction
                    )
                    state = replace(
                        prev, scale=change.scale, necrotic_fraction=nf, present=not change.disappeared
                    )
                elif treated and 2.0 * max(les.semi_axes_mm) < fu.disappear_below_mm:
                    state = replace(prev, present=False)
                elif treated:
                    nf = max(les.necrotic_fraction, prev.necrotic_fraction, fu.treated_necrotic_fraction)
                    state = replace(prev, scale=fu.treated_scale, necrotic_fraction=nf)
                else:
                    state = replace(prev, scale=fu.untreated_scale / base_scale)
                if not state.present:
                    gone.add(les.number)
                    state = replace(state, status="disappeared")
                else:
                    state = replace(state, status=_status(state.scale))
            current.append(state)
        states.append(tuple(current))
        previous = {s.lesion.number: s for s in current}
    return tuple(states)
