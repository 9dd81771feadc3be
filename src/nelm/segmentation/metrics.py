"""Agreement between two segmentations: voxel overlap (Dice) and lesion-wise detection.

* **Dice similarity coefficient** ``2|A∩B| / (|A| + |B|)`` (Dice, Ecology 1945;26:297). Two
  empty masks agree perfectly (1.0 by convention, as in most evaluation tools).
* **Detection**: a truth lesion *T* counts as detected when one found lesion *F* covers at
  least ``min_overlap`` of it, ``|T∩F| ≥ min_overlap·|T|`` (default one half). A found lesion
  is a false positive when it detects no truth lesion *and* less than ``min_overlap`` of it lies
  in truth lesions. Sensitivity = TP / (TP + FN); false positives are counted per case (per
  patient). Lesion-wise criteria vary between studies (the LiTS benchmark reports lesion-wise
  recall and precision; Bilic et al., Med Image Anal 2023;84:102680); this one is nelm's,
  stated here and in every result.

Lesions are either the labels of a label map (one label per lesion, as the phantom and the
lesion fallback write them) or the 26-connected components of its union (LiTS-style masks with
one "tumour" label).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict
from scipy import ndimage

from nelm.errors import ConfigError, GeometryError, InputError
from nelm.imaging.labelmap import LabelMap

__all__ = ["DEFAULT_MIN_OVERLAP", "DetectionResult", "LesionUnits", "detection_rate", "dice"]

#: Default fraction of a truth lesion that one found lesion must cover to detect it.
DEFAULT_MIN_OVERLAP = 0.5

LesionUnits = Literal["labels", "components"]


def _as_mask(x: LabelMap | npt.ArrayLike) -> npt.NDArray[np.bool_]:
    if isinstance(x, LabelMap):
        return x.any_mask()
    return np.asarray(np.asarray(x) != 0, dtype=bool)


def dice(a: LabelMap | npt.ArrayLike, b: LabelMap | npt.ArrayLike) -> float:
    """Dice coefficient of the non-zero voxels of two masks on the same grid.

    Parameters
    ----------
    a, b:
        Label maps (their grids must match) or arrays of the same shape; non-zero = inside.

    Returns
    -------
    float
        In [0, 1]; 1.0 when both are empty.

    Raises
    ------
    GeometryError
        Different shapes, or label maps on different grids.
    """
    if isinstance(a, LabelMap) and isinstance(b, LabelMap):
        a.geometry.require_same(
            b.geometry, what=f"mask {a.source or 'A'}", other_what=f"mask {b.source or 'B'}"
        )
    ma, mb = _as_mask(a), _as_mask(b)
    if ma.shape != mb.shape:
        raise GeometryError(f"Dice needs masks of the same shape, got {ma.shape} and {mb.shape}")
    total = int(np.count_nonzero(ma)) + int(np.count_nonzero(mb))
    if total == 0:
        return 1.0
    return 2.0 * int(np.count_nonzero(ma & mb)) / total


class DetectionResult(BaseModel):
    """Lesion-wise detection of ``found`` against ``truth`` (JSON-serialisable)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    criterion: str
    min_overlap: float
    n_truth: int
    """Truth lesions counted (those at least ``min_truth_volume_ml``)."""
    n_truth_ignored: int
    """Truth lesions below ``min_truth_volume_ml``: neither detected nor missed."""
    n_found: int
    true_positives: int
    false_negatives: int
    false_positives: int
    detected: list[str]
    missed: list[str]
    false_positive_ids: list[str]

    @property
    def sensitivity(self) -> float | None:
        """TP / (TP + FN), or ``None`` when there is no truth lesion."""
        n = self.true_positives + self.false_negatives
        return self.true_positives / n if n else None

    @property
    def false_positives_per_case(self) -> int:
        """False positives in this case (one patient or one scan)."""
        return self.false_positives


def _lesions(lm: LabelMap, units: LesionUnits, what: str) -> tuple[npt.NDArray[np.int64], list[str]]:
    if units == "labels":
        arr = lm.array.astype(np.int64)
        present = np.bincount(arr.ravel())
        values = [v for v in lm.labels if v < present.size and present[v] > 0]
        remap = np.zeros(int(arr.max(initial=0)) + 1, dtype=np.int64)
        names = []
        for i, v in enumerate(values, start=1):
            remap[v] = i
            lab = lm.labels[v]
            names.append(lab.tracking_id or lab.name)
        return remap[arr], names
    if units == "components":
        comp, n = ndimage.label(lm.any_mask(), structure=np.ones((3, 3, 3), dtype=bool))
        return comp.astype(np.int64), [f"{what} component {i}" for i in range(1, n + 1)]
    raise ConfigError(f"lesion units must be 'labels' or 'components', got {units!r}")


def detection_rate(
    truth: LabelMap,
    found: LabelMap,
    *,
    min_overlap: float = DEFAULT_MIN_OVERLAP,
    truth_units: LesionUnits = "labels",
    found_units: LesionUnits = "labels",
    min_truth_volume_ml: float = 0.0,
) -> DetectionResult:
    """Count detected, missed and false-positive lesions (criterion in the module docstring).

    Parameters
    ----------
    truth, found:
        Reference and tested lesion maps on the same grid.
    min_overlap:
        Fraction in (0, 1] of a truth lesion one found lesion must cover to detect it.
    truth_units, found_units:
        ``"labels"`` (one label per lesion) or ``"components"`` (26-connected components).
    min_truth_volume_ml:
        Truth lesions smaller than this are ignored; found lesions lying on them are not false
        positives.

    Raises
    ------
    GeometryError
        The maps lie on different grids.
    ConfigError
        ``min_overlap`` outside (0, 1], a negative ``min_truth_volume_ml`` or unknown units.
    """
    if not 0.0 < min_overlap <= 1.0:
        raise ConfigError(f"detection: min_overlap must be in (0, 1], got {min_overlap}")
    if min_truth_volume_ml < 0:
        raise ConfigError(f"detection: min_truth_volume_ml must be ≥ 0, got {min_truth_volume_ml}")
    if not isinstance(truth, LabelMap) or not isinstance(found, LabelMap):
        raise InputError("detection_rate compares two LabelMaps")
    truth.geometry.require_same(
        found.geometry, what=f"truth {truth.source or 'mask'}", other_what=f"found {found.source or 'mask'}"
    )
    t_arr, t_names = _lesions(truth, truth_units, "truth")
    f_arr, f_names = _lesions(found, found_units, "found")
    nt, nf = len(t_names), len(f_names)
    t_size = np.bincount(t_arr.ravel(), minlength=nt + 1)
    f_size = np.bincount(f_arr.ravel(), minlength=nf + 1)
    both = (t_arr > 0) & (f_arr > 0)
    pair = np.bincount(t_arr[both] * (nf + 1) + f_arr[both], minlength=(nt + 1) * (nf + 1))
    overlap = pair.reshape(nt + 1, nf + 1)
    counted = t_size[1:] * truth.geometry.voxel_volume_ml >= min_truth_volume_ml

    detects = overlap[1:, 1:] >= min_overlap * t_size[1:, None]  # [truth, found]
    detected = [t_names[i] for i in range(nt) if counted[i] and detects[i].any()]
    missed = [t_names[i] for i in range(nt) if counted[i] and not detects[i].any()]
    in_truth = overlap[1:, 1:].sum(axis=0)
    false_pos = [
        f_names[j] for j in range(nf) if not detects[:, j].any() and in_truth[j] < min_overlap * f_size[j + 1]
    ]
    return DetectionResult(
        criterion=(
            f"truth lesion detected when one found lesion covers ≥ {min_overlap:g} of it; found lesion false "
            f"positive when it detects none and < {min_overlap:g} of it lies in truth lesions"
        ),
        min_overlap=min_overlap,
        n_truth=int(np.count_nonzero(counted)),
        n_truth_ignored=int(nt - np.count_nonzero(counted)),
        n_found=nf,
        true_positives=len(detected),
        false_negatives=len(missed),
        false_positives=len(false_pos),
        detected=detected,
        missed=missed,
        false_positive_ids=false_pos,
    )
