"""Segmentation when no mask is given: non-learning fallbacks and optional external backends.

Every result is a :class:`SegmentationResult` that names its ``method`` and carries a
``provenance`` sentence (with the parameters used) for reports, so a fallback mask can never
pass for a reviewed one.

* :func:`segment_liver` — liver on a contrast CT: TotalSegmentator when installed with local
  weights (``backend="auto"`` or ``"totalsegmentator"``), else the classical HU-window fallback
  (:mod:`nelm.segmentation.liver`), with a warning that says so.
* :func:`segment_lesions` — lesions inside a liver mask from arterial and/or portal venous
  contrast (:mod:`nelm.segmentation.lesions`).
* :func:`get_segmenter` — the registry of liver segmenters by name.
* :mod:`nelm.segmentation.metrics` — Dice and lesion-wise detection for scoring them.

>>> from nelm.segmentation import segment_liver                     # doctest: +SKIP
>>> result = segment_liver(ct)                                      # doctest: +SKIP
>>> result.method, result.warnings                                  # doctest: +SKIP

For research use only; not a medical device.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Final

from nelm.errors import ConfigError
from nelm.imaging.volume import Volume
from nelm.segmentation.base import FALLBACK_DISCLAIMER, SegmentationResult, Segmenter
from nelm.segmentation.external import TOTALSEGMENTATOR_METHOD, TotalSegmentatorSegmenter
from nelm.segmentation.lesions import LESION_FALLBACK_METHOD, LesionFallbackParams, segment_lesions
from nelm.segmentation.liver import (
    LIVER_FALLBACK_METHOD,
    LiverFallbackParams,
    LiverHuSegmenter,
    segment_liver_fallback,
)
from nelm.segmentation.metrics import DetectionResult, detection_rate, dice

__all__ = [
    "FALLBACK_DISCLAIMER",
    "LESION_FALLBACK_METHOD",
    "LIVER_BACKENDS",
    "LIVER_FALLBACK_METHOD",
    "SEGMENTERS",
    "TOTALSEGMENTATOR_METHOD",
    "DetectionResult",
    "LesionFallbackParams",
    "LiverFallbackParams",
    "LiverHuSegmenter",
    "SegmentationResult",
    "Segmenter",
    "TotalSegmentatorSegmenter",
    "detection_rate",
    "dice",
    "get_segmenter",
    "segment_lesions",
    "segment_liver",
    "segment_liver_fallback",
]

logger = logging.getLogger(__name__)

#: Registered liver segmenters: name → factory. ``"fallback"`` is an alias of the HU fallback.
SEGMENTERS: Final[dict[str, Callable[[], Segmenter]]] = {
    LIVER_FALLBACK_METHOD: LiverHuSegmenter,
    "fallback": LiverHuSegmenter,
    TOTALSEGMENTATOR_METHOD: TotalSegmentatorSegmenter,
}

#: Choices of :func:`segment_liver`'s ``backend``.
LIVER_BACKENDS: Final[tuple[str, ...]] = ("auto", "fallback", TOTALSEGMENTATOR_METHOD)


def get_segmenter(name: str) -> Segmenter:
    """A new segmenter by registry name.

    Raises
    ------
    ConfigError
        For an unknown name; the message lists the known ones.
    """
    factory = SEGMENTERS.get(str(name).strip().lower())
    if factory is None:
        raise ConfigError(f"unknown segmenter {name!r}; known segmenters: {', '.join(sorted(SEGMENTERS))}")
    return factory()


def segment_liver(ct: Volume, *, backend: str = "auto") -> SegmentationResult:
    """Segment the liver on a CT with the chosen backend.

    Parameters
    ----------
    ct:
        CT volume in HU.
    backend:
        ``"auto"``: TotalSegmentator when it is available here (package and local weights), else
        the HU fallback with a warning naming why; ``"fallback"``: always the HU fallback;
        ``"totalsegmentator"``: TotalSegmentator or a :class:`~nelm.errors.ConfigError` saying
        what to install.

    Raises
    ------
    ConfigError
        Unknown backend (the message lists the choices), or an unavailable TotalSegmentator
        requested explicitly.
    InputError, UnitsError
        ``ct`` is not a CT in HU.
    """
    choice = str(backend).strip().lower()
    if choice not in LIVER_BACKENDS:
        raise ConfigError(
            f"unknown liver segmentation backend {backend!r}; choose one of {', '.join(LIVER_BACKENDS)}"
        )
    if choice == "fallback":
        return LiverHuSegmenter().segment(ct)
    external = TotalSegmentatorSegmenter()
    if choice == TOTALSEGMENTATOR_METHOD:
        return external.segment(ct)
    ok, why = external.available()
    if ok:
        return external.segment(ct)
    logger.warning("TotalSegmentator not available (%s); using the non-learning liver fallback", why)
    result = LiverHuSegmenter().segment(ct)
    note = (
        f"TotalSegmentator is not available ({why}); the liver comes from the non-learning nelm fallback "
        f"({LIVER_FALLBACK_METHOD}): review it"
    )
    return SegmentationResult(result.labelmap, result.method, result.provenance, (note, *result.warnings))
