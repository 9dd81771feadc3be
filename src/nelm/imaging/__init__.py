"""Images and masks on explicit patient-space grids (LPS mm), with units and time."""

from __future__ import annotations

from nelm.imaging.geometry import DEFAULT_TOLERANCE_MM, Geometry
from nelm.imaging.labelmap import Label, LabelMap
from nelm.imaging.metadata import PatientIdentity, Radiopharmaceutical, SeriesMetadata, ValueUnit
from nelm.imaging.volume import Volume

__all__ = [
    "DEFAULT_TOLERANCE_MM",
    "Geometry",
    "Label",
    "LabelMap",
    "PatientIdentity",
    "Radiopharmaceutical",
    "SeriesMetadata",
    "ValueUnit",
    "Volume",
]
