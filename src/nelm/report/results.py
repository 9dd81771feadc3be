"""What one ``nelm run`` produced: :class:`RunResults`, the input of every output writer.

The pipeline (:mod:`nelm.report.pipeline`) fills it stage by stage; the JSON document, the HTML/PDF
report and the DICOM export read it and nothing else. A stage that did not run leaves its field
``None`` and says why in :attr:`RunResults.stages`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from nelm.case import Case
    from nelm.quant.results import TimePointQuant
    from nelm.response.model import ResponseCase
    from nelm.response.results import ResponseAssessment
    from nelm.timepoint_data import TimePointData
    from nelm.y90.plan import Y90Plan
    from nelm.y90.post import PostTreatmentDosimetry

__all__ = ["RunResults", "StageOutcome", "StageStatus"]

StageStatus = Literal["ok", "skipped", "failed"]


@dataclass(frozen=True)
class StageOutcome:
    """How one stage of the run ended.

    Parameters
    ----------
    name:
        The stage: ``quantification``, ``response``, ``y90_plan``, ``y90_dose``, ``decision``,
        ``imaging_advice``, ``report_html``, ``report_pdf``, ``dicom_export``.
    status:
        ``ok``; ``skipped`` (the case lacks its inputs; :attr:`message` says which); ``failed``
        (an error; :attr:`message` is the error's text, the run went on without it).
    message:
        Why it was skipped or how it failed; empty when ``ok``.
    """

    name: str
    status: StageStatus
    message: str = ""

    def __post_init__(self) -> None:
        if self.status not in ("ok", "skipped", "failed"):
            raise ValueError(f"stage {self.name!r}: unknown status {self.status!r}")

    def to_dict(self) -> dict[str, str]:
        """JSON-ready form."""
        return {"name": self.name, "status": self.status, "message": self.message}


@dataclass(frozen=True)
class RunResults:
    """Everything one run of ``nelm run`` computed for a case.

    Parameters
    ----------
    case:
        The case manifest.
    data:
        Loaded images and masks per time point id.
    quants:
        Quantification of each time point that has liver and lesion masks, in time order.
    response_case, response:
        The response case (tracked lesions and their measurements) and the assessment by every
        criterion; ``None`` without a baseline and a follow-up.
    y90_plan:
        The Y-90 plan from the planning (MAA) time point; ``None`` without one.
    y90_dose:
        Post-treatment dosimetry of the first post-treatment time point with Y-90 imaging.
    decision:
        The tumour-board decision support result (:mod:`nelm.decision`), a pydantic model.
    imaging_advice:
        The imaging-protocol advice (:func:`nelm.decision.protocol.advise_imaging`).
    stages:
        How each stage ended, in run order.
    include_identifiers:
        Whether the outputs may carry patient identifiers (``--keep-identifiers``); off by default.
    """

    case: Case
    data: Mapping[str, TimePointData]
    quants: tuple[TimePointQuant, ...] = ()
    response_case: ResponseCase | None = None
    response: ResponseAssessment | None = None
    y90_plan: Y90Plan | None = None
    y90_dose: PostTreatmentDosimetry | None = None
    decision: Any | None = None
    imaging_advice: Any | None = None
    stages: tuple[StageOutcome, ...] = field(default=())
    include_identifiers: bool = False

    def stage(self, name: str) -> StageOutcome | None:
        """The outcome of stage ``name``, or ``None`` when it has not run."""
        for s in self.stages:
            if s.name == name:
                return s
        return None
