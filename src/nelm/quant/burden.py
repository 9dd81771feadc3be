"""Patient-level tumour burden of the liver.

Definitions
-----------
* **Liver volume** is the union of the liver mask and the lesion mask: metastases are part of
  the liver (a segmentation that cut them out would otherwise lower the denominator).
* **Hepatic tumour burden (HTB)** = tumour volume / liver volume × 100 %, computed exactly from
  voxel counts on one grid (a :class:`fractions.Fraction`), and its category ≤ 10 %, 11–25 %,
  26–50 %, > 50 % (ENETS categories as used by Luo et al., Eur Radiol 2019;29(11); see
  response-criteria.md §1.10). The category boundaries are compared exactly: 25 % of the liver
  is "11–25 %", one voxel more is "26–50 %".
* **Enhancing tumour burden (ETB)** = enhancing (viable) tumour volume / liver volume (Sahu et
  al., Radiology 2017;283:883; Miszczuk et al., CVIR 2022).
* **1D and 2D burden** (Miszczuk et al., CVIR 2022): the sum of the longest axial diameters of
  the (up to) 3 lesions with the longest axial diameter, and the sum of their WHO bidimensional
  products (long × perpendicular axis) as their areas.
* **Distribution**: ``unilobar right``, ``unilobar left`` or ``bilobar`` from the lesions' lobes
  (lesions whose lobe is unknown are ignored; ``unknown`` if none is known).
* **Burden per segment / lobe** (when a Couinaud segment mask is given): tumour voxels in the
  segment over the segment's voxels (the segment mask includes the lesions it contains). Right
  lobe = segments 5–8, left lobe = segments 2–4, caudate = segment 1 (Couinaud).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Final

import numpy as np
import numpy.typing as npt

from nelm.anatomy import SEGMENTS_OF_LOBE
from nelm.errors import MaskError
from nelm.quant.results import PatientQuant, RegionQuant

__all__ = [
    "BURDEN_CATEGORIES",
    "LOBE_SEGMENTS",
    "BurdenLesion",
    "burden_category",
    "liver_burden",
]

#: Upper bounds (inclusive, in %) and names of the HTB categories (Luo et al., Eur Radiol 2019).
BURDEN_CATEGORIES: Final[tuple[tuple[Fraction | None, str], ...]] = (
    (Fraction(10), "<=10%"),
    (Fraction(25), "11-25%"),
    (Fraction(50), "26-50%"),
    (None, ">50%"),
)

#: Couinaud segments of each lobe (shared with the rest of nelm).
LOBE_SEGMENTS: Final[dict[str, tuple[int, ...]]] = SEGMENTS_OF_LOBE


def burden_category(percent: Fraction) -> str:
    """The HTB category of an exact percentage (boundaries inclusive at their upper end)."""
    for upper, name in BURDEN_CATEGORIES:
        if upper is None or percent <= upper:
            return name
    raise AssertionError("unreachable")  # pragma: no cover


@dataclass(frozen=True)
class BurdenLesion:
    """What the burden needs of one lesion."""

    lesion_id: str
    voxel_count: int
    enhancing_voxel_count: int | None
    long_mm: float | None
    who_product_mm2: float | None
    lobe: str | None


def _distribution(lobes: Sequence[str | None]) -> str:
    known = {lobe for lobe in lobes if lobe is not None}
    sides = {"left" if lobe == "caudate" else lobe for lobe in known}
    if not sides:
        return "unknown"
    if sides == {"right"}:
        return "unilobar right"
    if sides == {"left"}:
        return "unilobar left"
    return "bilobar"


def liver_burden(
    liver: npt.NDArray[np.bool_],
    lesion_union: npt.NDArray[np.bool_],
    lesions: Sequence[BurdenLesion],
    voxel_volume_ml: float,
    *,
    segments: npt.NDArray[np.integer] | None = None,
) -> PatientQuant:
    """Compute the patient-level burden from masks on one grid.

    Parameters
    ----------
    liver:
        Liver mask.
    lesion_union:
        All lesion voxels (the union of the lesions).
    lesions:
        Per-lesion counts and diameters (same grid).
    voxel_volume_ml:
        Volume of one voxel.
    segments:
        Couinaud label array (values 1–8) on the same grid, for burden per segment and lobe.

    Raises
    ------
    MaskError
        Empty liver, or masks of different shapes.
    """
    if liver.shape != lesion_union.shape or (segments is not None and segments.shape != liver.shape):
        raise MaskError("liver, lesion and segment masks must lie on one grid to compute the burden")
    whole = liver | lesion_union
    n_liver = int(np.count_nonzero(whole))
    if n_liver == 0:
        raise MaskError("the liver mask is empty: no tumour burden can be computed")
    n_tumour = int(np.count_nonzero(lesion_union))
    percent = Fraction(100 * n_tumour, n_liver)
    enh_counts = [les.enhancing_voxel_count for les in lesions]
    n_enh = None if any(c is None for c in enh_counts) else sum(c for c in enh_counts if c is not None)
    measured = [les for les in lesions if les.long_mm is not None]
    top3 = sorted(measured, key=lambda les: (-(les.long_mm or 0.0), les.lesion_id))[:3]
    dominant = max(lesions, key=lambda les: (les.voxel_count, les.lesion_id), default=None)
    by_segment: dict[str, RegionQuant] | None = None
    by_lobe: dict[str, RegionQuant] | None = None
    if segments is not None:
        seg = np.where(whole, segments, 0)
        seg_counts = np.bincount(seg.ravel().astype(np.int64), minlength=9)
        tum_counts = np.bincount(seg[lesion_union].ravel().astype(np.int64), minlength=9)

        def region(values: Sequence[int]) -> RegionQuant:
            n_region = int(sum(seg_counts[v] for v in values))
            n_tum = int(sum(tum_counts[v] for v in values))
            return RegionQuant(
                region_volume_ml=n_region * voxel_volume_ml,
                tumour_volume_ml=n_tum * voxel_volume_ml,
                tumour_percent=100.0 * n_tum / n_region if n_region else 0.0,
            )

        by_segment = {str(s): region((s,)) for s in range(1, 9) if seg_counts[s] > 0}
        by_lobe = {name: region(values) for name, values in LOBE_SEGMENTS.items()}
    return PatientQuant(
        liver_volume_ml=n_liver * voxel_volume_ml,
        tumour_volume_ml=n_tumour * voxel_volume_ml,
        hepatic_tumour_burden_percent=float(percent),
        burden_category=burden_category(percent),
        enhancing_tumour_volume_ml=None if n_enh is None else n_enh * voxel_volume_ml,
        enhancing_tumour_burden_percent=None if n_enh is None else 100.0 * n_enh / n_liver,
        lesion_count=len(lesions),
        distribution=_distribution([les.lobe for les in lesions]),
        dominant_lesion_id=dominant.lesion_id if dominant else None,
        dominant_lesion_volume_ml=dominant.voxel_count * voxel_volume_ml if dominant else None,
        burden_1d_mm=sum(les.long_mm or 0.0 for les in top3) if top3 else None,
        burden_2d_mm2=sum(les.who_product_mm2 or 0.0 for les in top3) if top3 else None,
        burden_1d_lesions=tuple(les.lesion_id for les in top3),
        by_segment=by_segment,
        by_lobe=by_lobe,
    )
