"""The images and masks of a case's time points, loaded and checked.

:func:`load_time_point` turns the paths of one manifest time point into volumes and label maps
through :mod:`nelm.imaging.load` (the one way to load anything). A mask that names the image
it lies on (``masks: {liver: {path: ..., image: ct_portal}}``) is checked against that image's
grid (or, for SEG and RTSTRUCT, placed on it); a mismatch is a
:class:`~nelm.errors.GeometryError` naming both. Planar NM images hold several views and are
kept apart in :attr:`TimePointData.planar`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from nelm.case import Case, TimePoint
from nelm.errors import GeometryError, MaskError
from nelm.imaging.labelmap import LabelMap
from nelm.imaging.load import load_image, load_mask, load_planar
from nelm.imaging.volume import Volume
from nelm.policy import Policy

__all__ = ["TimePointData", "load_case_data", "load_time_point"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TimePointData:
    """Everything one time point holds, loaded."""

    time_point: TimePoint
    images: dict[str, Volume] = field(default_factory=dict)
    planar: dict[str, dict[str, Volume]] = field(default_factory=dict)
    masks: dict[str, LabelMap] = field(default_factory=dict)
    mask_image: dict[str, str] = field(default_factory=dict)
    """Mask role → the image role whose grid it lies on (when the manifest says)."""


def load_time_point(
    tp: TimePoint,
    *,
    policy: Policy = Policy.WARN,
    progress: Callable[[str], None] | None = None,
) -> TimePointData:
    """Load every image and mask of one time point.

    Parameters
    ----------
    tp:
        A validated manifest time point.
    policy:
        Tolerance for messy DICOM.
    progress:
        Called with a short label before each item is loaded (for a CLI progress bar).

    Raises
    ------
    GeometryError
        A mask does not lie on the image it names.
    MaskError
        An organ mask is empty (a lesion mask may be: a complete response leaves none), or a
        mask names labels its file does not hold.
    """
    images: dict[str, Volume] = {}
    planar: dict[str, dict[str, Volume]] = {}
    for role, ref in tp.images.items():
        if progress:
            progress(f"{tp.id}: {role}")
        if str(role).startswith("planar"):
            planar[str(role)] = load_planar(ref.path, policy=policy)
        else:
            images[str(role)] = load_image(ref.path, role=str(role), series_uid=ref.series_uid, policy=policy)
    masks: dict[str, LabelMap] = {}
    mask_image: dict[str, str] = {}
    for mrole, mref in tp.masks.items():
        if progress:
            progress(f"{tp.id}: mask {mrole}")
        reference = images.get(str(mref.image)) if mref.image else None
        if mref.image and str(mref.image) in planar:
            # ROIs of a planar pair are drawn on its anterior view (nelm.y90.lsf.lsf_from_planar)
            reference = planar[str(mref.image)].get("ANTERIOR")
        if mref.image and reference is None:
            raise MaskError(
                f"time point {tp.id}: mask {mrole} lies on image {mref.image}, which is not a volume"
            )
        try:
            lm = load_mask(mref.path, reference=reference, policy=policy)
        except GeometryError as exc:
            raise GeometryError(f"time point {tp.id}, mask {mrole} on image {mref.image}: {exc}") from exc
        if mref.labels is not None:
            missing = [v for v in mref.labels if v not in lm.labels]
            if missing:
                raise MaskError(
                    f"time point {tp.id}: mask {mrole} asks for labels {missing} that {mref.path} "
                    f"does not hold (it holds {sorted(lm.labels)})"
                )
            lm = lm.subset(list(mref.labels))
        if str(mrole) != "lesions":
            # An organ mask must hold voxels; a lesion mask may be empty (no lesion left).
            lm.require_nonempty()
        masks[str(mrole)] = lm
        if mref.image:
            mask_image[str(mrole)] = str(mref.image)
    return TimePointData(tp, images, planar, masks, mask_image)


def load_case_data(
    case: Case, *, policy: Policy = Policy.WARN, progress: Callable[[str], None] | None = None
) -> dict[str, TimePointData]:
    """Load every time point of a case, by time point id, in manifest order."""
    return {tp.id: load_time_point(tp, policy=policy, progress=progress) for tp in case.time_points}
