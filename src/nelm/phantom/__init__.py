"""The synthetic NELM patient: procedural images with ground truth known by construction.

>>> from nelm.phantom import PhantomConfig, generate_patient, write_patient
>>> patient = generate_patient(PhantomConfig(seed=0))          # doctest: +SKIP
>>> manifest = write_patient(patient, "out/phantom")            # doctest: +SKIP

Modules: :mod:`~nelm.phantom.config` (settings), :mod:`~nelm.phantom.anatomy` (organs and
segments in LPS mm), :mod:`~nelm.phantom.lesions` (metastases and their evolution),
:mod:`~nelm.phantom.shapes` and :mod:`~nelm.phantom.rasterize` (analytic solids and their
partial-volume rasterisation), :mod:`~nelm.phantom.scene`, :mod:`~nelm.phantom.studies` and
:mod:`~nelm.phantom.synthesis` (image synthesis), :mod:`~nelm.phantom.truth` (``truth.json``),
:mod:`~nelm.phantom.generate` (:func:`generate_patient`) and :mod:`~nelm.phantom.write`
(:func:`write_patient`).

For research use only; not a medical device.
"""

from __future__ import annotations

from nelm.phantom.config import (
    AcquisitionConfig,
    FollowUpConfig,
    LesionChange,
    LesionShape,
    PhantomConfig,
    Placement,
    TareConfig,
    TareDevice,
    Territory,
)
from nelm.phantom.generate import SyntheticPatient, SyntheticTimePoint, generate_patient
from nelm.phantom.truth import PhantomTruth
from nelm.phantom.write import write_patient

__all__ = [
    "AcquisitionConfig",
    "FollowUpConfig",
    "LesionChange",
    "LesionShape",
    "PhantomConfig",
    "PhantomTruth",
    "Placement",
    "SyntheticPatient",
    "SyntheticTimePoint",
    "TareConfig",
    "TareDevice",
    "Territory",
    "generate_patient",
    "write_patient",
]
