"""``nelm run``: every stage of nelm on one case, then every output.

Stages, in order (:func:`compute`):

1. ``load`` — the case manifest and every image and mask (bad input here stops the run: the
   later stages have nothing to work on);
2. ``quantification`` — each time point with an anatomic CT/MR phase and liver and lesion
   masks (:func:`nelm.quant.timepoint.quantify_time_point`);
3. ``response`` — lesion tracking and every criterion across the time points, when there is a
   follow-up (:func:`nelm.response.course.assess_course`);
4. ``y90_plan`` — the Y-90 plan from the planning time point, when the case has one
   (:func:`nelm.y90.plan.plan_y90`);
5. ``y90_dose`` — delivered dose of the first post-treatment time point with Y-90 imaging
   (:func:`nelm.y90.post.dose_time_point`);
6. ``decision`` — tumour-board decision support (:mod:`nelm.decision`);
7. ``imaging_advice`` — the imaging-protocol advisor (:func:`nelm.decision.protocol.advise_imaging`).

Stages 2–7 are optional: one that fails is recorded as ``failed`` with its error in
:attr:`RunResults.stages` (and so in the JSON and the report) and the run goes on; one whose
inputs the case lacks is ``skipped`` with the reason. Then :func:`write_outputs` writes the JSON
document, the figures, the HTML and PDF report and the DICOM export into one folder, atomically
(the folder appears complete or not at all). Outputs carry no patient identifiers unless
``keep_identifiers`` is set. Nothing depends on the wall clock, so the same inputs give the same
files.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from nelm.atomic import write_text_atomic
from nelm.errors import NelmError
from nelm.report.results import RunResults, StageOutcome

__all__ = ["OUTPUT_STAGES", "STAGES", "RunOutputs", "compute", "run_case", "write_outputs"]

logger = logging.getLogger(__name__)

#: The computing stages of :func:`compute`, in order.
STAGES: tuple[str, ...] = (
    "load",
    "quantification",
    "response",
    "y90_plan",
    "y90_dose",
    "decision",
    "imaging_advice",
)
#: The output stages of :func:`write_outputs`, in order.
OUTPUT_STAGES: tuple[str, ...] = ("figures", "dose_maps", "dicom_export", "report_html", "report_pdf")

Progress = Callable[[str], None]


class _Skip(Exception):
    """A stage whose inputs the case lacks (its message says which)."""


@dataclass
class _Stages:
    """Runs stages, turning a failure of an optional stage into a recorded outcome."""

    progress: Progress | None
    outcomes: list[StageOutcome]
    _note: str = ""

    def note(self, message: str) -> None:
        """A remark for the running stage's outcome (e.g. what it left out)."""
        self._note = message

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        if self.progress is not None:
            self.progress(name)
        self._note = ""
        try:
            yield
        except _Skip as skip:
            logger.info("stage %s skipped: %s", name, skip)
            self.outcomes.append(StageOutcome(name, "skipped", str(skip)))
        except (NelmError, ValueError, ArithmeticError, OSError, LookupError, RuntimeError) as exc:
            # an optional stage failed: record it, go on with the others
            logger.warning("stage %s failed: %s", name, exc)
            self.outcomes.append(StageOutcome(name, "failed", f"{type(exc).__name__}: {exc}"))
        else:
            self.outcomes.append(StageOutcome(name, "ok", self._note))


def _anatomic(data: Any) -> bool:
    from nelm.quant.timepoint import ANATOMIC_PHASES

    return {"liver", "lesions"} <= set(data.masks) and bool(set(data.images) & set(ANATOMIC_PHASES))


def compute(
    case_path: str | os.PathLike[str],
    *,
    keep_identifiers: bool = False,
    dose_method: str = "kernel",
    progress: Progress | None = None,
) -> RunResults:
    """Run every computing stage on the case at ``case_path`` (see the module docstring).

    Parameters
    ----------
    case_path:
        The case manifest (YAML or JSON).
    keep_identifiers:
        Let the outputs carry the patient's name, ID and birth date.
    dose_method:
        ``kernel`` (dose-voxel-kernel convolution, default) or ``local_deposition``.
    progress:
        Called with each stage's name as it starts.

    Raises
    ------
    NelmError
        The manifest or one of its images or masks cannot be read (the ``load`` stage).
    """
    from nelm.case import load_case
    from nelm.case.vocabulary import TimePointKind
    from nelm.timepoint_data import load_case_data
    from nelm.y90.dosimetry import DoseMethod

    method = DoseMethod(dose_method)
    if progress is not None:
        progress("load")
    case = load_case(case_path)
    data = load_case_data(case)
    stages = _Stages(progress, [StageOutcome("load", "ok")])
    results = RunResults(case=case, data=data, include_identifiers=keep_identifiers)

    with stages.stage("quantification"):
        from nelm.quant.timepoint import quantify_time_point

        points = [d for d in data.values() if _anatomic(d)]
        if not points:
            raise _Skip("no time point has an anatomic CT/MR phase with liver and lesion masks")
        results = replace(results, quants=tuple(quantify_time_point(d, patient=case.patient) for d in points))

    with stages.stage("response"):
        from nelm.response.course import assess_course

        if not results.quants:
            raise _Skip("no quantified time point")
        if not any(tp.kind == TimePointKind.FOLLOW_UP for tp in case.time_points):
            raise _Skip("the case has no follow-up time point")
        response_case, assessment = assess_course(case, data, results.quants)
        results = replace(results, response_case=response_case, response=assessment)

    with stages.stage("y90_plan"):
        from nelm.y90.plan import plan_y90
        from nelm.y90.plan_file import PlanFile

        if not any(tp.kind == TimePointKind.PLANNING for tp in case.time_points):
            raise _Skip("the case has no planning (MAA) time point")
        results = replace(results, y90_plan=plan_y90(PlanFile(), case))

    with stages.stage("y90_dose"):
        from nelm.y90.post import dose_time_point

        post = [
            tp
            for tp in case.time_points
            if tp.kind == TimePointKind.POST_TREATMENT
            and (tp.has_image("pet_y90") or tp.has_image("spect_y90"))
        ]
        if not post:
            raise _Skip("the case has no post-treatment time point with Y-90 PET or SPECT")
        results = replace(results, y90_dose=dose_time_point(case, post[0].id, method=method))

    with stages.stage("decision"):
        from nelm.decision import advise, inputs_from_case

        inputs = inputs_from_case(case, quants=results.quants, y90_plan=results.y90_plan)
        results = replace(results, decision=advise(inputs))

    with stages.stage("imaging_advice"):
        from nelm.decision import missing_inputs
        from nelm.decision.protocol import advise_imaging

        missing = missing_inputs(results.decision) if results.decision is not None else ()
        results = replace(results, imaging_advice=advise_imaging(case, missing_inputs=missing))

    return replace(results, stages=tuple(stages.outcomes))


@dataclass(frozen=True)
class RunOutputs:
    """What :func:`write_outputs` wrote (paths inside the output folder)."""

    folder: Path
    results_json: Path
    report_html: Path | None
    report_pdf: Path | None
    figures: dict[str, Path]
    dicom: tuple[Path, ...]
    results: RunResults


def write_outputs(
    results: RunResults,
    out_dir: str | os.PathLike[str],
    *,
    deid_key: str | None = None,
    pdf: bool = True,
    progress: Progress | None = None,
) -> RunOutputs:
    """Write every output of ``results`` into ``out_dir`` (replaced as a whole, atomically).

    Layout: ``results.json`` (the document, :mod:`nelm.report.document`), ``report.html`` and
    ``report.pdf``, ``figures/*.png``, ``dose/*.nii.gz`` (dose maps in Gy) and
    ``dicom/<time point>/…`` (SEG, SR, RT Dose). Each output stage other than the JSON is
    optional: its failure is recorded in the JSON's ``stages`` (the HTML report, written before
    the PDF, shows the stages up to then).
    """
    from nelm.atomic import atomic_dir
    from nelm.report.dicom_export import export_dicom_objects
    from nelm.report.document import build_document, write_document
    from nelm.report.figures import write_figures
    from nelm.report.html import render_html
    from nelm.report.pdf import write_pdf

    out = Path(out_dir)
    stages = _Stages(progress, list(results.stages))
    figures: dict[str, Path] = {}
    dicom: list[Path] = []
    html_path = pdf_path = None
    with atomic_dir(out) as tmp:
        with stages.stage("figures"):
            figures = write_figures(results, tmp / "figures")
        with stages.stage("dose_maps"):
            _write_dose_maps(results, tmp / "dose", deid_key)
        with stages.stage("dicom_export"):
            export = export_dicom_objects(
                results, tmp / "dicom", keep_identifiers=results.include_identifiers, deid_key=deid_key
            )
            dicom = list(export.files)
            if export.skipped:
                stages.note("; ".join(f"{s.item}: {s.reason}" for s in export.skipped))
        planned = {"report.html": _DESCRIPTIONS["report.html"], "results.json": _DESCRIPTIONS["results.json"]}
        if pdf:
            planned["report.pdf"] = _DESCRIPTIONS["report.pdf"]
        html = ""
        with stages.stage("report_html"):
            current = replace(results, stages=tuple(stages.outcomes))
            html = render_html(build_document(current, {**_listing(tmp), **planned}), figures)
            html_path = tmp / "report.html"
            write_text_atomic(html_path, html)
        with stages.stage("report_pdf"):
            if not pdf:
                raise _Skip("--no-pdf")
            if not html:
                raise _Skip("no HTML report to render")
            pdf_path = write_pdf(html, tmp / "report.pdf")
        final = replace(results, stages=tuple(stages.outcomes))
        document = build_document(final, {**_listing(tmp), "results.json": _DESCRIPTIONS["results.json"]})
        write_document(document, tmp / "results.json")

    def relocate(p: Path) -> Path:
        return out / p.relative_to(tmp)

    return RunOutputs(
        folder=out,
        results_json=out / "results.json",
        report_html=None if html_path is None else relocate(html_path),
        report_pdf=None if pdf_path is None else relocate(pdf_path),
        figures={k: relocate(v) for k, v in figures.items()},
        dicom=tuple(relocate(p) for p in dicom),
        results=final,
    )


def _write_dose_maps(results: RunResults, folder: Path, deid_key: str | None) -> None:
    """Delivered, planned and difference dose maps as NIfTI (Gy).

    Their sidecars carry the series' UIDs: de-identified like the DICOM export (the same UID
    replacements) unless the run keeps identifiers.
    """
    from nelm.imaging.volume import Volume
    from nelm.report.deid import UidMap, default_deid_key, deidentify_metadata, pseudonym_for
    from nelm.y90.outputs import write_dose_nifti

    voxel = None if results.y90_plan is None else results.y90_plan.voxel
    if results.y90_dose is None and voxel is None:
        raise _Skip("no dose map was computed")
    case_id = results.case.case_id
    uid_map = UidMap(deid_key if deid_key is not None else default_deid_key(case_id))

    def write(volume: Volume, name: str) -> None:
        if not results.include_identifiers:
            md = deidentify_metadata(volume.metadata, uid_map, pseudonym=pseudonym_for(case_id))
            volume = replace(volume, metadata=md)
        write_dose_nifti(volume, folder / name)

    if results.y90_dose is not None:
        d = results.y90_dose
        write(d.dose.dose_gy, f"{d.time_point_id}_delivered_dose.nii.gz")
        if d.comparison is not None:
            write(d.comparison.difference, f"{d.time_point_id}_dose_difference.nii.gz")
    if voxel is not None:
        write(voxel.dose.dose_gy, "planned_dose.nii.gz")


_DESCRIPTIONS = {
    "report.html": "the report (HTML, self-contained)",
    "report.pdf": "the report (PDF)",
    "results.json": "this document",
}


def _listing(folder: Path) -> dict[str, str]:
    """Every file in ``folder`` (relative POSIX path → what it is), sorted."""
    out: dict[str, str] = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            rel = p.relative_to(folder).as_posix()
            out[rel] = _DESCRIPTIONS.get(rel, _describe(rel))
    return out


def _describe(rel: str) -> str:
    if rel.startswith("figures/"):
        return "figure (PNG)"
    if rel.startswith("dose/"):
        return "dose map (NIfTI, Gy)"
    if rel.endswith("seg.dcm"):
        return "DICOM SEG: liver and lesions"
    if rel.endswith("sr.dcm"):
        return "DICOM SR (TID 1500): lesion measurements"
    if rel.startswith("dicom/"):
        return "DICOM RT Dose" if "dose" in rel else "DICOM object"
    return "output file"


def run_case(
    case_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    keep_identifiers: bool = False,
    deid_key: str | None = None,
    dose_method: str = "kernel",
    pdf: bool = True,
    progress: Progress | None = None,
) -> RunOutputs:
    """:func:`compute` then :func:`write_outputs`: what ``nelm run`` does."""
    results = compute(
        case_path, keep_identifiers=keep_identifiers, dose_method=dose_method, progress=progress
    )
    return write_outputs(results, out_dir, deid_key=deid_key, pdf=pdf, progress=progress)
