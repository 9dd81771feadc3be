"""The nelm error tree.

Every error raised on purpose by nelm is a :class:`NelmError`. Messages are written for the
person who has to act on them: they name the file and the field, give the offending value, and
say what would fix it. The CLI prints the message without a traceback and exits with status 2
for an :class:`InputError` (bad input the user can fix) and 1 for anything else.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DicomError",
    "GeometryError",
    "InputError",
    "ManifestError",
    "MaskError",
    "NelmError",
    "UnitsError",
]


class NelmError(Exception):
    """Base class of every error nelm raises on purpose."""


class InputError(NelmError):
    """Input the user supplied cannot be used as it is (a file, a value, a manifest)."""


class UnitsError(InputError):
    """A value lacks a unit where one matters, has an unknown unit, or an impossible value."""


class GeometryError(InputError):
    """Two grids that must match do not, or a series has no consistent geometry."""


class DicomError(InputError):
    """A DICOM file or series is unreadable, incomplete or inconsistent."""


class MaskError(InputError):
    """A mask or label map is empty, malformed or does not fit its image."""


class ManifestError(InputError):
    """A case manifest is invalid; the message names the file and the field."""


class ConfigError(InputError):
    """A setting or threshold file is invalid."""
