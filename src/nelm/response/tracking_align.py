"""Settings and geometry of lesion tracking: liver-centroid alignment, overlaps across two grids.

Used by :mod:`nelm.response.tracking` (which re-exports :class:`TrackingSettings`).

Alignment
---------
The only alignment is a **translation**: the follow-up liver centroid minus the reference liver
centroid (both the mean LPS position of the liver's voxel centres, each on its own grid). It
removes the largest difference between two scans of the abdomen, the position of the liver
(patient position on the table, breath hold), and it is exactly the change to liver-relative
coordinates the centroid rule asks for: ``(c_fu − liver_fu) − (c_ref − liver_ref) = c_fu − t −
c_ref``. Rotation and deformation are not modelled: a full rigid or deformable registration
needs SimpleITK (a development extra only) and image data; liver lesions that move by more than
the lesion size relative to the liver centroid (lobar atrophy after radioembolisation, partial
hepatectomy) can be matched by a reader's override instead.

Overlap across grids
--------------------
The follow-up lesion label map is resampled **onto the reference grid** by nearest neighbour
(:func:`nelm.imaging.volume.resample_array`; reference voxel centre ``p`` takes the follow-up
label at ``p + t``), and voxels are counted there: the intersection of a reference and a
follow-up lesion, and each lesion's size on the reference grid. A follow-up lesion smaller than
a reference voxel may vanish in this step; it then has no overlap and is matched by its
centroid, which (like every volume) is always computed on the lesion's own grid.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import numpy.typing as npt

from nelm.errors import ConfigError, InputError, MaskError
from nelm.imaging.geometry import Geometry
from nelm.imaging.labelmap import LabelMap
from nelm.imaging.volume import resample_array
from nelm.quant.lesions import (
    DEFAULT_MIN_LESION_VOLUME_ML,
    LesionInstance,
    lesion_instances,
    lesion_label_map,
)

__all__ = [
    "AlignedLesions",
    "Overlap",
    "OverlapTable",
    "TimePointLesions",
    "TrackingSettings",
    "equivalent_diameter_mm",
    "liver_centroid_mm",
    "overlap_table",
]


def _fraction(value: Fraction | float | str, name: str) -> Fraction:
    try:
        f = value if isinstance(value, Fraction) else Fraction(str(value))
    except (ValueError, ZeroDivisionError):
        raise ConfigError(f"tracking setting {name} must be a number, got {value!r}") from None
    if not 0 < f <= 1:
        raise ConfigError(f"tracking setting {name} must lie in (0, 1], got {value!r}")
    return f


@dataclass(frozen=True)
class TrackingSettings:
    """Thresholds of :func:`~nelm.response.tracking.track_lesions` (nelm's choices: no standard exists).

    Parameters
    ----------
    min_dice:
        Smallest Dice coefficient linking two overlapping lesions (default 0.1, inclusive).
        Two equal spheres offset by ``x`` radii overlap by ``1 − 3x/4 + x³/16`` of their volume
        [D], so 0.1 links the same lesion misplaced by up to ≈ 1.45 radii.
    min_contained_fraction:
        Smallest share of the smaller lesion lying inside the other that links them (default
        0.5, inclusive): a lesion shrinking or growing in place, a fragment of a split lesion,
        a small lesion swallowed by a mass, however different their sizes (a lesion shrinking
        to ``v`` of its volume in place has Dice ``2v / (1 + v)``, below 0.1 for v < 5.3 % [D]).
    max_centroid_distance_mm:
        Largest centroid distance (after the alignment) for matching lesions that do not
        overlap (default 10 mm, inclusive) [B]: to be confirmed on longitudinal data.
    centroid_distance_diameter_fraction:
        The distance limit is at least this fraction of the reference lesion's
        equivalent-sphere diameter (default 0.5: a centroid inside the lesion's sphere).
    align_livers:
        Translate by the liver centroids when both liver masks are given (default True).
    from_binary:
        Treat both lesion maps as binary masks split into connected components.
    min_volume_ml:
        Smallest connected component kept as a lesion (binary masks only); default
        :data:`nelm.quant.lesions.DEFAULT_MIN_LESION_VOLUME_ML`, as the quantification uses.
    new_id_prefix:
        Prefix of generated tracking IDs of new lesions (default ``"N"``: ``N1``, ``N2``, …).
    """

    min_dice: Fraction = Fraction(1, 10)
    min_contained_fraction: Fraction = Fraction(1, 2)
    max_centroid_distance_mm: float = 10.0
    centroid_distance_diameter_fraction: float = 0.5
    align_livers: bool = True
    from_binary: bool = False
    min_volume_ml: float = DEFAULT_MIN_LESION_VOLUME_ML
    new_id_prefix: str = "N"

    def __post_init__(self) -> None:
        object.__setattr__(self, "min_dice", _fraction(self.min_dice, "min_dice"))
        object.__setattr__(
            self, "min_contained_fraction", _fraction(self.min_contained_fraction, "min_contained_fraction")
        )
        for name in ("max_centroid_distance_mm", "centroid_distance_diameter_fraction", "min_volume_ml"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ConfigError(f"tracking setting {name} must be a finite number, got {value!r}")
            if value < 0:
                raise ConfigError(f"tracking setting {name} must be ≥ 0, got {value!r}")
        prefix = self.new_id_prefix
        if not isinstance(prefix, str) or not prefix or prefix != prefix.strip():
            raise ConfigError(f"tracking setting new_id_prefix must be a non-empty word, got {prefix!r}")

    def settings_text(self) -> dict[str, str]:
        """The settings as text, for a result."""
        return {
            "tracking_min_dice": str(float(self.min_dice)),
            "tracking_min_contained_fraction": str(float(self.min_contained_fraction)),
            "tracking_max_centroid_distance_mm": str(self.max_centroid_distance_mm),
            "tracking_centroid_distance_diameter_fraction": str(self.centroid_distance_diameter_fraction),
            "tracking_align_livers": str(self.align_livers).lower(),
            "tracking_from_binary": str(self.from_binary).lower(),
            "tracking_min_volume_ml": f"{self.min_volume_ml:.4g}",
            "tracking_new_id_prefix": self.new_id_prefix,
        }


@dataclass(frozen=True)
class Overlap:
    """Voxel overlap of one reference and one follow-up lesion, counted on the reference grid.

    Parameters
    ----------
    intersection:
        Reference-grid voxels in both lesions (after alignment).
    reference_voxels, follow_up_voxels:
        Size of each lesion on the reference grid.
    """

    intersection: int
    reference_voxels: int
    follow_up_voxels: int

    @property
    def dice(self) -> Fraction:
        """Dice coefficient ``2|A∩B| / (|A| + |B|)``, exact."""
        return Fraction(2 * self.intersection, self.reference_voxels + self.follow_up_voxels)

    @property
    def contained(self) -> Fraction:
        """Share of the smaller lesion inside the other, ``|A∩B| / min(|A|, |B|)``, exact (0 if empty)."""
        smaller = min(self.reference_voxels, self.follow_up_voxels)
        return Fraction(self.intersection, smaller) if smaller else Fraction(0)


@dataclass(frozen=True)
class OverlapTable:
    """Voxel counts of two lesion label arrays on the reference grid.

    Parameters
    ----------
    pairs:
        ``(reference value, follow-up value) → intersection`` for pairs sharing a voxel.
    reference_voxels, follow_up_voxels:
        Label value → voxel count on the reference grid (absent: 0).
    """

    pairs: Mapping[tuple[int, int], int]
    reference_voxels: Mapping[int, int]
    follow_up_voxels: Mapping[int, int]

    def overlap(self, reference: int, follow_up: Sequence[int]) -> Overlap:
        """Overlap of one reference lesion with the union of (disjoint) follow-up lesions."""
        return Overlap(
            sum(self.pairs.get((reference, f), 0) for f in follow_up),
            self.reference_voxels.get(reference, 0),
            sum(self.follow_up_voxels.get(f, 0) for f in follow_up),
        )


def liver_centroid_mm(liver: LabelMap, what: str) -> npt.NDArray[np.float64]:
    """Mean LPS position (mm) of the liver's voxel centres.

    The label named ``liver`` when there is one, else every labelled voxel.

    Raises
    ------
    MaskError
        An empty liver mask.
    """
    labs = [lab for lab in liver.labels.values() if lab.name.strip().lower() == "liver"]
    mask = liver.mask(labs[0].value) if labs else liver.any_mask()
    idx = np.argwhere(mask)
    if idx.shape[0] == 0:
        raise MaskError(
            f"{what} liver mask {liver.source or '(unnamed)'} is empty: it cannot align the time points; "
            "supply a liver mask with voxels or none for both time points"
        )
    return np.asarray(liver.geometry.index_to_world(idx.mean(axis=0)), dtype=np.float64)


def equivalent_diameter_mm(volume_ml: float) -> float:
    """Diameter (mm) of the sphere of the given volume, ``(6 V / π)^(1/3)``."""
    return math.pow(6.0 * volume_ml * 1000.0 / math.pi, 1.0 / 3.0)


def _bbox(array: npt.NDArray[np.generic]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]] | None:
    """First and last index of the non-zero voxels on each axis, or ``None``."""
    lo, hi = [], []
    for axis in range(3):
        hits = np.flatnonzero(np.any(array, axis=tuple(a for a in range(3) if a != axis)))
        if hits.size == 0:
            return None
        lo.append(int(hits[0]))
        hi.append(int(hits[-1]))
    return np.array(lo), np.array(hi)


def _region(
    reference: npt.NDArray[np.generic],
    target: Geometry,
    follow_up: npt.NDArray[np.generic],
    geometry: Geometry,
) -> tuple[slice, slice, slice] | None:
    """The part of the (shifted) reference grid that can hold lesion voxels of either map.

    The follow-up box, widened by half a follow-up voxel, is mapped through both affines and
    widened by one reference voxel, so nearest-neighbour sampling never reaches outside it.
    """
    boxes = []
    ref_box = _bbox(reference)
    if ref_box is not None:
        boxes.append(ref_box)
    fu_box = _bbox(follow_up)
    if fu_box is not None:
        lo, hi = fu_box[0] - 0.5, fu_box[1] + 0.5
        corners = np.array([[(lo, hi)[k >> a & 1][a] for a in range(3)] for k in range(8)])
        idx = target.world_to_index(geometry.index_to_world(corners))
        boxes.append(
            (np.floor(idx.min(axis=0)).astype(np.int64) - 1, np.ceil(idx.max(axis=0)).astype(np.int64) + 1)
        )
    if not boxes:
        return None
    start = np.maximum(np.min([b[0] for b in boxes], axis=0), 0)
    stop = np.minimum(np.max([b[1] for b in boxes], axis=0) + 1, np.asarray(target.shape))
    if np.any(stop <= start):
        return None
    return (
        slice(int(start[0]), int(stop[0])),
        slice(int(start[1]), int(stop[1])),
        slice(int(start[2]), int(stop[2])),
    )


def _moved_onto(
    array: npt.NDArray[np.generic],
    geometry: Geometry,
    target: Geometry,
    region: tuple[slice, slice, slice],
) -> npt.NDArray[np.generic]:
    """``array`` sampled by nearest neighbour at the voxel centres of a region of ``target``."""
    if geometry.same_as(target):
        return array[region]
    start = (region[0].start, region[1].start, region[2].start)
    stop = (region[0].stop, region[1].stop, region[2].stop)
    crop = target.cropped(start, stop)
    return resample_array(array, geometry, crop, interpolation="nearest", fill_value=0)


def _counts(array: npt.NDArray[np.generic]) -> dict[int, int]:
    arr = np.asarray(array)
    sizes = np.bincount(arr[arr > 0].astype(np.intp))
    return {v: int(n) for v, n in enumerate(sizes.tolist()) if v > 0 and n > 0}


def overlap_table(
    reference: npt.NDArray[np.generic],
    reference_geometry: Geometry,
    follow_up: npt.NDArray[np.generic],
    follow_up_geometry: Geometry,
    translation_mm: npt.NDArray[np.float64],
) -> OverlapTable:
    """Voxel overlaps of two lesion label arrays, counted on the reference grid.

    Only the part of the reference grid that can hold lesion voxels of either map is resampled.

    Parameters
    ----------
    reference, follow_up:
        Integer arrays, one value per lesion, 0 background, each on its own grid.
    translation_mm:
        Follow-up position minus reference position of the same anatomy (LPS mm).
    """
    affine = np.array(reference_geometry.affine)
    affine[:3, 3] += translation_mm
    target = Geometry(shape=reference_geometry.shape, affine=affine)
    region = _region(reference, target, follow_up, follow_up_geometry)
    if region is None:
        return OverlapTable({}, {}, {})
    moved = np.asarray(_moved_onto(follow_up, follow_up_geometry, target, region))
    ref = np.asarray(reference)[region]
    pairs: dict[tuple[int, int], int] = {}
    both = (ref > 0) & (moved > 0)
    if both.any():
        base = int(moved.max()) + 1
        keys, counts = np.unique(
            ref[both].astype(np.int64) * base + moved[both].astype(np.int64), return_counts=True
        )
        for key, count in zip(keys.tolist(), counts.tolist(), strict=True):
            r, f = divmod(int(key), base)
            pairs[(r, f)] = int(count)
    return OverlapTable(pairs, _counts(ref), _counts(moved))


@dataclass(frozen=True, eq=False)
class TimePointLesions:
    """The lesions of one lesion mask: instances by ID and the label array they index.

    Parameters
    ----------
    instances:
        Lesion ID → :class:`~nelm.quant.lesions.LesionInstance`, in the order of
        :func:`~nelm.quant.lesions.lesion_instances`.
    array:
        Label array whose values are the instances' ``label_value`` (the relabelled components
        of a binary mask).
    real_ids:
        IDs that are tracking IDs carried by labels (not a default ``L<value>`` nor a component rank).
    """

    instances: Mapping[str, LesionInstance]
    array: npt.NDArray[np.generic]
    real_ids: frozenset[str]

    @classmethod
    def from_map(cls, lesions: LabelMap, settings: TrackingSettings) -> TimePointLesions:
        """The lesions of a label map (see :func:`~nelm.quant.lesions.lesion_instances`)."""
        binary, min_ml = settings.from_binary, settings.min_volume_ml
        found = lesion_instances(lesions, from_binary=binary, min_volume_ml=min_ml)
        array = lesion_label_map(lesions, from_binary=binary, min_volume_ml=min_ml).array
        real = frozenset(
            i.lesion_id for i in found if not i.from_components and lesions.labels[i.label_value].tracking_id
        )
        return cls({i.lesion_id: i for i in found}, array, real)


class AlignedLesions:
    """Both time points' lesions after the alignment: overlaps and centroid distances.

    Parameters
    ----------
    reference, follow_up:
        Lesion masks, each on its own grid.
    reference_liver, follow_up_liver:
        Liver masks, both or neither; with both and ``settings.align_livers``, the follow-up is
        translated by the difference of the liver centroids (see the module docstring).
    settings:
        ``from_binary`` and ``min_volume_ml`` select the lesions, ``align_livers`` the alignment.

    Raises
    ------
    InputError
        Only one of the two liver masks.
    MaskError
        An empty liver mask, duplicate tracking IDs.
    """

    def __init__(
        self,
        reference: LabelMap,
        follow_up: LabelMap,
        reference_liver: LabelMap | None,
        follow_up_liver: LabelMap | None,
        settings: TrackingSettings,
    ) -> None:
        if (reference_liver is None) != (follow_up_liver is None):
            missing = "follow-up" if follow_up_liver is None else "reference"
            raise InputError(
                f"lesion tracking: the {missing} liver mask is missing; give both liver masks to "
                "align the time points by their liver centroids, or neither"
            )
        self.ref = TimePointLesions.from_map(reference, settings)
        self.fu = TimePointLesions.from_map(follow_up, settings)
        shift = np.zeros(3)
        self.translation_mm: tuple[float, float, float] | None = None
        if reference_liver is not None and follow_up_liver is not None and settings.align_livers:
            shift = liver_centroid_mm(follow_up_liver, "follow-up") - liver_centroid_mm(
                reference_liver, "reference"
            )
            self.translation_mm = (float(shift[0]), float(shift[1]), float(shift[2]))
        self.table = overlap_table(
            self.ref.array, reference.geometry, self.fu.array, follow_up.geometry, shift
        )
        self.ref_c = {k: np.asarray(i.centroid_lps_mm) for k, i in self.ref.instances.items()}
        self.fu_c = {k: np.asarray(i.centroid_lps_mm) - shift for k, i in self.fu.instances.items()}

    def overlap(self, r: str, fus: Sequence[str]) -> Overlap:
        """Overlap of reference lesion ``r`` with the union of follow-up lesions ``fus``."""
        rv = self.ref.instances[r].label_value
        return self.table.overlap(rv, [self.fu.instances[f].label_value for f in fus])

    def overlapping_pairs(self) -> list[tuple[str, str]]:
        """Every (reference ID, follow-up ID) pair sharing at least one voxel."""
        ref_of = {i.label_value: k for k, i in self.ref.instances.items()}
        fu_of = {i.label_value: k for k, i in self.fu.instances.items()}
        return [(ref_of[r], fu_of[f]) for r, f in self.table.pairs if r in ref_of and f in fu_of]

    def shared(self, r: str, f: str) -> int:
        """Reference-grid voxels shared by one reference and one follow-up lesion."""
        return self.table.pairs.get((self.ref.instances[r].label_value, self.fu.instances[f].label_value), 0)

    def distance(self, r: str, fus: Sequence[str]) -> float:
        """Distance (mm) from ``r``'s centroid to the volume-weighted centroid of ``fus`` (aligned)."""
        w = np.array([self.fu.instances[f].volume_ml for f in fus])
        c = np.sum([self.fu_c[f] * wi for f, wi in zip(fus, w, strict=True)], axis=0) / w.sum()
        return float(np.linalg.norm(c - self.ref_c[r]))

    def reference_diameter_mm(self, r: str) -> float:
        """Equivalent-sphere diameter of a reference lesion."""
        return equivalent_diameter_mm(self.ref.instances[r].volume_ml)

    def nearest(self, point: npt.NDArray[np.float64], among: Mapping[str, npt.NDArray[np.float64]]) -> str:
        """``"nearest L3 at 12.0 mm"`` among some centroids, for messages."""
        if not among:
            return "none left"
        k = min(among, key=lambda o: float(np.linalg.norm(among[o] - point)))
        return f"nearest {k} at {float(np.linalg.norm(among[k] - point)):.1f} mm"
