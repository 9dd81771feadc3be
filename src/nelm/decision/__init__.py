"""Tumour-board decision support: transparent, cited rules for NELM therapies.

``advise(inputs_from_case(case, quants, y90_plan))`` assesses resection, transplantation,
ablation, TAE, cTACE, DEB-TACE, TARE and PRRT: per therapy the worst level of its findings
(APPROPRIATE < CONSIDER < UNDETERMINED < CAUTION < CONTRAINDICATED, :mod:`nelm.decision.levels`),
each finding with its rule id, inputs, thresholds and citations. It supports a tumour board; it
does not decide. For research use only; not a medical device.
"""

from __future__ import annotations

from nelm.decision.advisor import ALL_RULES, advise
from nelm.decision.engine import DecisionResult, Finding, Therapy, TherapyAssessment, missing_inputs
from nelm.decision.inputs import DecisionInputs, inputs_from_case
from nelm.decision.levels import Level, worst
from nelm.decision.thresholds import PARAMETERS, Thresholds, load_thresholds

__all__ = [
    "ALL_RULES",
    "PARAMETERS",
    "DecisionInputs",
    "DecisionResult",
    "Finding",
    "Level",
    "Therapy",
    "TherapyAssessment",
    "Thresholds",
    "advise",
    "inputs_from_case",
    "load_thresholds",
    "missing_inputs",
    "worst",
]

try:  # the imaging-protocol advisor (nelm.decision.protocol) is written separately
    from nelm.decision.protocol import ImagingAdvice, advise_imaging
except ImportError:  # pragma: no cover - only while protocol.py does not exist
    pass
else:
    __all__ += ["ImagingAdvice", "advise_imaging"]
