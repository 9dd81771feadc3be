"""Quantification at one time point: lesion instances and their sizes.

For research use only; not a medical device.
"""

from __future__ import annotations

from nelm.quant.diameters import (
    MAX_AXIAL_TILT_DEG,
    AxialDiameters,
    LesionDiameters,
    axial_diameters,
    lesion_diameters,
    mask_volume_ml,
    max_3d_diameter_mm,
)
from nelm.quant.lesions import (
    CONNECTIVITY_STRUCTURE,
    DEFAULT_MIN_LESION_VOLUME_ML,
    DEFAULT_RIGHT_LOBE_VOLUME_FRACTION,
    LOBE_OF_SEGMENT,
    LesionInstance,
    is_binary_lesion_map,
    lesion_instances,
    lesion_label_map,
    lesion_mask,
)

__all__ = [
    "CONNECTIVITY_STRUCTURE",
    "DEFAULT_MIN_LESION_VOLUME_ML",
    "DEFAULT_RIGHT_LOBE_VOLUME_FRACTION",
    "LOBE_OF_SEGMENT",
    "MAX_AXIAL_TILT_DEG",
    "AxialDiameters",
    "LesionDiameters",
    "LesionInstance",
    "axial_diameters",
    "is_binary_lesion_map",
    "lesion_diameters",
    "lesion_instances",
    "lesion_label_map",
    "lesion_mask",
    "mask_volume_ml",
    "max_3d_diameter_mm",
]
