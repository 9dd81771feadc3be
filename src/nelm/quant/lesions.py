"""Lesion instances: one record per lesion of a lesion mask, with size, position and segment.

Two kinds of input are accepted (:func:`lesion_instances`):

* a **label map with one label per lesion** (the phantom, a DICOM SEG with one segment per
  lesion, a tracked follow-up): every non-empty label is one lesion and keeps its tracking ID
  and UID; labels without voxels (a lesion that has disappeared) are skipped;
* a **binary lesion mask** (``from_binary=True``, or a map with one label named like
  ``lesions``/``tumour``/``metastases``): lesions are its connected components with
  **26-connectivity** (``scipy.ndimage.label`` with a 3×3×3 structure): voxels touching only at a
  corner belong to the same lesion, the usual choice for 3-D segmentations (two blobs joined
  by one corner voxel are one lesion here; a reader may call them two). Components smaller than
  ``min_volume_ml`` are dropped (:data:`DEFAULT_MIN_LESION_VOLUME_ML`), and the rest are
  numbered deterministically: **by descending voxel count, then by the position of their first
  voxel in raster order** (slice, then row, then column), as ``L1``, ``L2``, … with label values
  1, 2, … in that order (:func:`lesion_label_map` writes that relabelled map).

Per-lesion work is done on the lesion's bounding box only (``scipy.ndimage.find_objects``), so
hundreds of lesions on a full CT grid cost little more than one pass over the array.

Segment and lobe
----------------
With a Couinaud segment mask on the lesion grid, a lesion's segment is the most frequent
segment among its voxels (ties go to the lower segment number; voxels outside every segment are
ignored). Lobes follow Couinaud (*Le foie: études anatomiques et chirurgicales*, 1957) and
Bismuth (World J Surg 1982;6:3-9): ``"right"`` for segments 5–8, ``"left"`` for segments 2–4,
and ``"caudate"`` for segment 1, reported as its own lobe because it has its own portal
inflow and drains directly into the IVC (Couinaud's dorsal sector); rules that split the liver
into two halves (uni-/bilobar disease, lobar TARE) count it with the functional left liver,
as :func:`nelm.phantom.truth.lesion_distribution` does.

Without a segment mask but with a liver mask, the lobe comes from an approximation of Cantlie's
line by a **sagittal plane** (constant patient x, LPS): the plane that leaves the fraction
:data:`DEFAULT_RIGHT_LOBE_VOLUME_FRACTION` of the liver's voxels on the patient's right; a
lesion whose centroid lies to the right of it is ``"right"``, otherwise ``"left"``. Limits: the
true interlobar plane (gallbladder fossa to IVC, the middle hepatic vein) is oblique, not
sagittal; the right-lobe share varies between patients (see the constant) and after
hepatectomy, portal vein embolisation or lobar atrophy; the caudate lobe is not identified;
lesions near the plane (segments 4 and 5/8 near the midline) may be misassigned. Use a
segment mask whenever the lobe matters. Without either mask the segment and lobe are ``None``.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from nelm.anatomy import LOBE_OF_SEGMENT, LOBES
from nelm.errors import ConfigError, MaskError
from nelm.imaging.geometry import Geometry
from nelm.imaging.labelmap import Label, LabelMap

__all__ = [
    "CONNECTIVITY_STRUCTURE",
    "DEFAULT_MIN_LESION_VOLUME_ML",
    "DEFAULT_RIGHT_LOBE_VOLUME_FRACTION",
    "LOBE_OF_SEGMENT",
    "LesionInstance",
    "is_binary_lesion_map",
    "lesion_instances",
    "lesion_label_map",
    "lesion_mask",
]

logger = logging.getLogger(__name__)

#: Smallest connected component kept as a lesion (mL): the volume of a 5 mm sphere,
#: π/6 · (5 mm)³ ≈ 0.065 mL. 5 mm is the size RECIST 1.1 records for a lesion "too small to
#: measure" (EORTC RECIST clarifications; reference/response-criteria.md §1.1) and two slices
#: of a 2.5 mm CT: a smaller component cannot be told apart from segmentation noise. It is
#: about 12 voxels of 1.5 × 1.5 × 2.5 mm and 41 of 0.8 × 0.8 × 2.5 mm. Measurability
#: (longest diameter ≥ 10 mm) is decided later, by the response criteria, not here.
DEFAULT_MIN_LESION_VOLUME_ML: Final[float] = math.pi / 6.0 * 5.0**3 / 1000.0

#: Share of the liver volume in the right lobe (segments 5–8) used to place the sagittal plane
#: standing in for Cantlie's line when no segment mask is given. CT volumetry of living donors
#: found the left lobe (segments 2–4) to be 23–36 % of the liver (Kawasaki et al., Hepatology
#: 1993;18:1115-1120), i.e. a right-lobe share of about 64–77 %; 0.65 sits at the lower end,
#: keeping segment-4 lesions near the midline on the left. [B]: confirm against a larger series.
DEFAULT_RIGHT_LOBE_VOLUME_FRACTION: Final[float] = 0.65

#: 26-connectivity: face, edge and corner neighbours (``scipy.ndimage.label`` structure).
CONNECTIVITY_STRUCTURE: Final[npt.NDArray[np.bool_]] = np.ones((3, 3, 3), dtype=bool)

_LOBES: Final[frozenset[str]] = LOBES
_BINARY_NAME: Final[re.Pattern[str]] = re.compile(
    r"^\s*(liver[ _-]?)?(lesions?|tumou?rs?|metastas[ie]s|mets|nelm)\s*$", re.IGNORECASE
)
_SEGMENT_ARABIC: Final[re.Pattern[str]] = re.compile(r"(?<![0-9])([1-8])(?:[ab])?(?![0-9])", re.IGNORECASE)
_SEGMENT_ROMAN: Final[re.Pattern[str]] = re.compile(
    r"(?<![a-z])(viii|vii|vi|iv|v|iii|ii|i)(?:[ab])?(?![a-z])", re.IGNORECASE
)
_ROMAN: Final[dict[str, int]] = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "vi": 6, "vii": 7, "viii": 8}


@dataclass(frozen=True)
class LesionInstance:
    """One lesion of a lesion mask.

    Parameters
    ----------
    lesion_id:
        The label's tracking ID, else ``"L<n>"`` (label value ``n``, or the component rank).
    label_value:
        Value of the lesion in the label array (the relabelled array for components, see
        :func:`lesion_label_map`).
    tracking_uid:
        DICOM Tracking UID of the label, or ``""``.
    voxel_count, volume_ml:
        Size: voxel count and voxel count × voxel volume.
    bbox:
        Tight bounding box in the label array, three ``slice`` objects with step ``None``.
    centroid_lps_mm:
        Mean position of the lesion's voxel centres, LPS mm.
    segment:
        Couinaud segment 1–8 (majority of voxels) when a segment mask was given, else ``None``.
    lobe:
        ``"right"``, ``"left"``, ``"caudate"`` or ``None`` (see the module docstring).
    seed_index:
        Index of the lesion's first voxel in raster order (always inside the lesion); needed to
        recover a connected component from a binary mask.
    from_components:
        Whether the lesion is a connected component of a binary mask (else a label).

    Raises
    ------
    MaskError
        An empty ID, a non-positive label value or size, a malformed box, a seed outside the box,
        an unknown lobe or a segment outside 1–8.
    """

    lesion_id: str
    label_value: int
    tracking_uid: str
    voxel_count: int
    volume_ml: float
    bbox: tuple[slice, slice, slice]
    centroid_lps_mm: tuple[float, float, float]
    segment: int | None
    lobe: str | None
    seed_index: tuple[int, int, int] | None = None
    from_components: bool = False

    def __post_init__(self) -> None:
        if not self.lesion_id:
            raise MaskError("a lesion instance needs a non-empty lesion_id")
        if int(self.label_value) != self.label_value or self.label_value < 1:
            raise MaskError(f"lesion {self.lesion_id}: label_value must be a positive integer")
        if int(self.voxel_count) != self.voxel_count or self.voxel_count < 1:
            raise MaskError(f"lesion {self.lesion_id}: an instance needs at least one voxel")
        if not (math.isfinite(self.volume_ml) and self.volume_ml > 0):
            raise MaskError(f"lesion {self.lesion_id}: volume_ml must be positive, got {self.volume_ml}")
        if len(self.bbox) != 3 or any(
            not isinstance(s, slice) or s.step not in (None, 1) or not 0 <= s.start < s.stop
            for s in self.bbox
        ):
            raise MaskError(f"lesion {self.lesion_id}: bbox must be three non-empty slices, got {self.bbox}")
        if len(self.centroid_lps_mm) != 3 or not all(math.isfinite(v) for v in self.centroid_lps_mm):
            raise MaskError(f"lesion {self.lesion_id}: centroid must be three finite mm values")
        if self.segment is not None and self.segment not in LOBE_OF_SEGMENT:
            raise MaskError(f"lesion {self.lesion_id}: segment must be 1-8, got {self.segment}")
        if self.lobe is not None and self.lobe not in _LOBES:
            raise MaskError(
                f"lesion {self.lesion_id}: lobe must be one of {sorted(_LOBES)}, got {self.lobe!r}"
            )
        if self.seed_index is not None:
            seed = tuple(int(v) for v in self.seed_index)
            if len(seed) != 3 or any(not s.start <= v < s.stop for v, s in zip(seed, self.bbox, strict=True)):
                raise MaskError(f"lesion {self.lesion_id}: seed {self.seed_index} lies outside its bbox")
            object.__setattr__(self, "seed_index", seed)
        elif self.from_components:
            raise MaskError(f"lesion {self.lesion_id}: a connected-component instance needs a seed_index")

    @property
    def bbox_start(self) -> tuple[int, int, int]:
        """First index of the bounding box on each axis."""
        return (int(self.bbox[0].start), int(self.bbox[1].start), int(self.bbox[2].start))

    @property
    def bbox_stop(self) -> tuple[int, int, int]:
        """One past the last index of the bounding box on each axis."""
        return (int(self.bbox[0].stop), int(self.bbox[1].stop), int(self.bbox[2].stop))


@dataclass(frozen=True)
class _Raw:
    """A lesion found in the input, before segment and lobe are assigned."""

    lesion_id: str
    value: int
    tracking_uid: str
    bbox: tuple[slice, slice, slice]
    mask: npt.NDArray[np.bool_]
    seed: tuple[int, int, int]
    from_components: bool


def is_binary_lesion_map(lesions: LabelMap) -> bool:
    """Whether a map is a binary lesion mask: one label named like lesions/tumour/metastases."""
    if len(lesions.labels) != 1:
        return False
    (label,) = lesions.labels.values()
    return bool(_BINARY_NAME.match(label.name))


def _first_voxel(mask: npt.NDArray[np.bool_], box: tuple[slice, slice, slice]) -> tuple[int, int, int]:
    local = np.unravel_index(int(np.argmax(mask)), mask.shape)
    return (box[0].start + int(local[0]), box[1].start + int(local[1]), box[2].start + int(local[2]))


def _components(lesions: LabelMap, min_volume_ml: float) -> list[_Raw]:
    labelled, n = ndimage.label(lesions.array > 0, structure=CONNECTIVITY_STRUCTURE)
    vml = lesions.geometry.voxel_volume_ml
    found: list[tuple[int, tuple[int, int, int], tuple[slice, slice, slice], npt.NDArray[np.bool_]]] = []
    dropped = 0
    for value, box in enumerate(ndimage.find_objects(labelled), start=1):
        if box is None:
            continue
        m = np.asarray(labelled[box] == value)
        count = int(np.count_nonzero(m))
        if count * vml < min_volume_ml * (1.0 - 1e-12):
            dropped += 1
            continue
        found.append((count, _first_voxel(m, box), box, m))
    if dropped:
        logger.info(
            "%s: dropped %d of %d connected components smaller than %.4g mL",
            lesions.source or "lesion mask",
            dropped,
            n,
            min_volume_ml,
        )
    found.sort(key=lambda f: (-f[0], f[1]))
    return [_Raw(f"L{i}", i, "", box, m, seed, True) for i, (_, seed, box, m) in enumerate(found, start=1)]


def _labels(lesions: LabelMap) -> list[_Raw]:
    where = lesions.source or "lesion label map"
    ids: dict[str, int] = {}
    for value, lab in lesions.labels.items():
        if lab.tracking_id:
            if lab.tracking_id in ids:
                raise MaskError(
                    f"{where}: labels {ids[lab.tracking_id]} and {value} share the tracking ID "
                    f"{lab.tracking_id!r}; a tracking ID must name one lesion"
                )
            ids[lab.tracking_id] = value
    boxes = ndimage.find_objects(lesions.array)
    out = []
    for value, lab in lesions.labels.items():
        lesion_id = lab.tracking_id or f"L{value}"
        if not lab.tracking_id and lesion_id in ids:
            raise MaskError(
                f"{where}: label {value} ({lab.name!r}) has no tracking ID and its default ID "
                f"{lesion_id!r} is the tracking ID of label {ids[lesion_id]}; give every lesion label "
                "a tracking ID"
            )
        box = boxes[value - 1] if value <= len(boxes) else None
        if box is None:
            logger.info("%s: label %d (%s) has no voxels and is skipped", where, value, lab.name)
            continue
        m = np.asarray(lesions.array[box] == value)
        out.append(_Raw(lesion_id, value, lab.tracking_uid, box, m, _first_voxel(m, box), False))
    return out


def _segment_number(label: Label) -> int:
    """Couinaud number of a segment label: from its name (``segment 4a``, ``S7``, ``IVb``) or value."""
    arabic = _SEGMENT_ARABIC.findall(label.name)
    if arabic:
        return int(arabic[-1])
    roman = _SEGMENT_ROMAN.findall(label.name)
    if roman:
        return _ROMAN[roman[-1].lower()]
    if 1 <= label.value <= 8:
        return label.value
    raise MaskError(
        f"segment label {label.value} ({label.name!r}) names no Couinaud segment 1-8; "
        "name segment labels like 'segment 4' or use values 1-8"
    )


def _segment_lookup(segments: LabelMap) -> npt.NDArray[np.int8]:
    lut = np.zeros(max(segments.labels, default=0) + 1, dtype=np.int8)
    for value, lab in segments.labels.items():
        lut[value] = _segment_number(lab)
    return lut


def _right_left_plane_x_mm(liver: LabelMap, right_fraction: float) -> float:
    """Patient x (LPS mm) of the sagittal plane leaving ``right_fraction`` of the liver to the right."""
    labs = [lab for lab in liver.labels.values() if lab.name.lower() == "liver"]
    m = liver.mask(labs[0].value) if labs else liver.any_mask()
    idx = np.nonzero(m)
    if idx[0].size == 0:
        raise MaskError(f"liver mask {liver.source or '(unnamed)'} is empty: it cannot place the lobe plane")
    a = liver.geometry.affine
    x = a[0, 0] * idx[0] + a[0, 1] * idx[1] + a[0, 2] * idx[2] + a[0, 3]
    return float(np.quantile(x, right_fraction))


def _centroid_mm(raw: _Raw, geometry: Geometry, count: int) -> tuple[float, float, float]:
    m = raw.mask
    mean = [
        float(np.arange(m.shape[0]) @ m.sum(axis=(1, 2))) / count + raw.bbox[0].start,
        float(np.arange(m.shape[1]) @ m.sum(axis=(0, 2))) / count + raw.bbox[1].start,
        float(np.arange(m.shape[2]) @ m.sum(axis=(0, 1))) / count + raw.bbox[2].start,
    ]
    p = geometry.index_to_world(np.asarray(mean))
    return (float(p[0]), float(p[1]), float(p[2]))


def lesion_instances(
    lesions: LabelMap,
    *,
    segments: LabelMap | None = None,
    liver: LabelMap | None = None,
    from_binary: bool = False,
    min_volume_ml: float = DEFAULT_MIN_LESION_VOLUME_ML,
    right_lobe_volume_fraction: float = DEFAULT_RIGHT_LOBE_VOLUME_FRACTION,
) -> list[LesionInstance]:
    """The lesions of a lesion mask, in a deterministic order (see the module docstring).

    Parameters
    ----------
    lesions:
        One label per lesion, or a binary lesion mask.
    segments:
        Couinaud segment mask on the same grid; gives ``segment`` and ``lobe``.
    liver:
        Liver mask on the same grid; gives ``lobe`` by the sagittal-plane rule when there is no
        segment mask (or when a lesion lies outside every segment).
    from_binary:
        Treat every non-zero voxel as lesion and split into 26-connected components (automatic
        for a single label named like ``lesions``/``tumour``).
    min_volume_ml:
        Components below this volume are dropped (binary input only; tracked labels are never
        dropped). Default :data:`DEFAULT_MIN_LESION_VOLUME_ML`.
    right_lobe_volume_fraction:
        Right-lobe share of the liver for the sagittal-plane rule
        (:data:`DEFAULT_RIGHT_LOBE_VOLUME_FRACTION`).

    Returns
    -------
    list of LesionInstance
        Label maps: by ascending label value. Components: by descending size, then by the
        raster position of their first voxel. Empty for an empty mask.

    Raises
    ------
    GeometryError
        A segment or liver mask on another grid than the lesions.
    MaskError
        Duplicate tracking IDs, a segment label naming no segment, an empty liver mask.
    ConfigError
        A negative ``min_volume_ml`` or a ``right_lobe_volume_fraction`` outside (0, 1).
    """
    if not math.isfinite(min_volume_ml) or min_volume_ml < 0:
        raise ConfigError(f"min_volume_ml must be a volume ≥ 0 mL, got {min_volume_ml}")
    if not 0.0 < right_lobe_volume_fraction < 1.0:
        raise ConfigError(f"right_lobe_volume_fraction must lie in (0, 1), got {right_lobe_volume_fraction}")
    geometry = lesions.geometry
    grid_name = f"lesion mask {lesions.source or '(unnamed)'}"
    lut = None
    if segments is not None:
        segments.require_on(geometry, image_name=grid_name)
        lut = _segment_lookup(segments)
    if liver is not None:
        liver.require_on(geometry, image_name=grid_name)
    components = from_binary or is_binary_lesion_map(lesions)
    raws = _components(lesions, min_volume_ml) if components else _labels(lesions)
    plane_x: float | None = None
    vml = geometry.voxel_volume_ml
    out = []
    for raw in raws:
        count = int(np.count_nonzero(raw.mask))
        centroid = _centroid_mm(raw, geometry, count)
        segment: int | None = None
        lobe: str | None = None
        if segments is not None and lut is not None:
            seg_values = lut[segments.array[raw.bbox][raw.mask]]
            votes = np.bincount(seg_values.astype(np.intp), minlength=9)[1:9]
            if votes.sum() > 0:
                segment = int(np.argmax(votes)) + 1
                lobe = LOBE_OF_SEGMENT[segment]
            else:
                logger.warning("lesion %s lies outside every segment of the segment mask", raw.lesion_id)
        if lobe is None and liver is not None:
            if plane_x is None:
                plane_x = _right_left_plane_x_mm(liver, right_lobe_volume_fraction)
            lobe = "right" if centroid[0] < plane_x else "left"
        out.append(
            LesionInstance(
                lesion_id=raw.lesion_id,
                label_value=raw.value,
                tracking_uid=raw.tracking_uid,
                voxel_count=count,
                volume_ml=count * vml,
                bbox=raw.bbox,
                centroid_lps_mm=centroid,
                segment=segment,
                lobe=lobe,
                seed_index=raw.seed,
                from_components=raw.from_components,
            )
        )
    logger.info("%s: %d lesion(s)", grid_name, len(out))
    return out


def lesion_mask(lesions: LabelMap, instance: LesionInstance) -> tuple[npt.NDArray[np.bool_], Geometry]:
    """The boolean mask of one lesion cropped to its bounding box, with the cropped geometry.

    Parameters
    ----------
    lesions:
        The map the instance was found in (for components: the binary mask itself).
    instance:
        An instance returned by :func:`lesion_instances` for ``lesions``.

    Raises
    ------
    MaskError
        If the instance does not belong to this map (box outside the grid, label missing, or a
        voxel count that differs from the instance's).
    """
    where = lesions.source or "lesion mask"
    start, stop = instance.bbox_start, instance.bbox_stop
    if any(b > n for b, n in zip(stop, lesions.geometry.shape, strict=True)):
        raise MaskError(f"lesion {instance.lesion_id}: its box {instance.bbox} lies outside {where}")
    crop = lesions.array[instance.bbox]
    if instance.from_components:
        assert instance.seed_index is not None  # guaranteed by LesionInstance
        seed = tuple(s - b for s, b in zip(instance.seed_index, start, strict=True))
        binary = crop > 0
        if not binary[seed]:
            raise MaskError(
                f"lesion {instance.lesion_id} does not belong to {where}: its seed voxel is empty"
            )
        labelled, _ = ndimage.label(binary, structure=CONNECTIVITY_STRUCTURE)
        m = np.asarray(labelled == labelled[seed])
    else:
        if instance.label_value not in lesions.labels:
            raise MaskError(f"lesion {instance.lesion_id}: {where} has no label {instance.label_value}")
        m = np.asarray(crop == instance.label_value)
    count = int(np.count_nonzero(m))
    if count != instance.voxel_count:
        raise MaskError(
            f"lesion {instance.lesion_id} does not belong to {where}: {count} voxel(s) there, "
            f"{instance.voxel_count} in the instance; recompute the instances from this mask"
        )
    return m, lesions.geometry.cropped(start, stop)


def lesion_label_map(
    lesions: LabelMap,
    *,
    from_binary: bool = False,
    min_volume_ml: float = DEFAULT_MIN_LESION_VOLUME_ML,
) -> LabelMap:
    """A label map with one label per lesion (``"lesion L<n>"``, tracking ID ``L<n>``).

    For a binary mask (``from_binary`` or a single lesions/tumour label): its 26-connected
    components of at least ``min_volume_ml``, numbered as in :func:`lesion_instances`. A map that
    already has one label per lesion is returned unchanged.
    """
    if not (from_binary or is_binary_lesion_map(lesions)):
        return lesions
    raws = _components(lesions, min_volume_ml)
    dtype = np.uint16 if len(raws) < 2**16 else np.int32
    out = np.zeros(lesions.geometry.shape, dtype=dtype)
    for raw in raws:
        out[raw.bbox][raw.mask] = raw.value
    labels = {raw.value: Label(raw.value, f"lesion {raw.lesion_id}", raw.lesion_id) for raw in raws}
    return LabelMap(array=out, geometry=lesions.geometry, labels=labels, source=lesions.source)
