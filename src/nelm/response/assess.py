"""Every criterion on one patient, side by side.

:func:`assess_all` runs the criteria of :data:`CRITERIA` (in that order: the anatomic size
criteria, the enhancement criteria, density, metabolic, volumetric) on one
:class:`~nelm.response.model.ResponseCase` and collects their results in a
:class:`~nelm.response.results.ResponseAssessment`; :func:`side_by_side` turns that into one
table, a row per time point and a column per criterion. In NELM the criteria disagree (size
criteria under-call response after embolization): the table shows it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nelm.errors import ConfigError, InputError
from nelm.response.choi import ChoiSettings, assess_choi
from nelm.response.easl import EaslSettings, assess_easl
from nelm.response.model import ResponseCase
from nelm.response.mrecist import MrecistSettings, assess_mrecist
from nelm.response.percist import PercistSettings, assess_percist
from nelm.response.recist import assess_recist
from nelm.response.recist_targets import RecistSettings
from nelm.response.results import CriterionResult, ResponseAssessment
from nelm.response.settings import override
from nelm.response.volumetric import EtbSettings, VolumetricSettings, assess_etb, assess_qeasl, assess_vrecist
from nelm.response.who import WhoSettings, assess_who

__all__ = ["CRITERIA", "Criterion", "assess_all", "side_by_side"]


@dataclass(frozen=True)
class Criterion:
    """A criterion nelm assesses: its settings key, function and default settings."""

    key: str
    assess: Callable[[ResponseCase, Any], CriterionResult]
    defaults: object


#: The criteria, in the order of the side-by-side table.
CRITERIA: tuple[Criterion, ...] = (
    Criterion("recist", assess_recist, RecistSettings()),
    Criterion("who", assess_who, WhoSettings()),
    Criterion("mrecist", assess_mrecist, MrecistSettings()),
    Criterion("easl", assess_easl, EaslSettings()),
    Criterion("choi", assess_choi, ChoiSettings()),
    Criterion("percist", assess_percist, PercistSettings()),
    Criterion("vrecist", assess_vrecist, VolumetricSettings()),
    Criterion("qeasl", assess_qeasl, VolumetricSettings()),
    Criterion("etb", assess_etb, EtbSettings()),
)


def assess_all(
    case: ResponseCase,
    *,
    settings: Mapping[str, Mapping[str, object]] | None = None,
    only: Sequence[str] | None = None,
    tracking: Sequence[Mapping[str, object]] = (),
    warnings: Sequence[str] = (),
    settings_source: str = "settings",
) -> ResponseAssessment:
    """Run every criterion (or those in ``only``) on ``case``.

    Parameters
    ----------
    case:
        The patient's course.
    settings:
        Per criterion key, the settings to override (see :mod:`nelm.response.settings`).
    only:
        Criterion keys to run (default: all of :data:`CRITERIA`).
    tracking:
        Lesion-tracking records to carry into the result.
    warnings:
        Warnings from building the case (carried into the result).
    settings_source:
        Where ``settings`` came from, for error messages (the file name).

    Raises
    ------
    ConfigError
        An unknown criterion key in ``settings`` or ``only``, or an invalid setting.
    InputError
        Input a criterion named in ``only`` cannot use. When all criteria run, such a criterion
        is left out and the reason is in the warnings (e.g. a reader's target that is a lymph
        node cannot be an mRECIST target), so one criterion never stops the others.
    """
    keys = [c.key for c in CRITERIA]
    unknown = sorted((set(settings or {}) | set(only or ())) - set(keys))
    if unknown:
        raise ConfigError(
            f"{settings_source}: unknown criterion {', '.join(unknown)}; known: {', '.join(keys)}"
        )
    results = []
    notes = list(warnings)
    for crit in CRITERIA:
        if only is not None and crit.key not in only:
            continue
        chosen = crit.defaults
        if settings and crit.key in settings:
            chosen = override(crit.defaults, settings[crit.key], f"{settings_source}: {crit.key}")
        try:
            results.append(crit.assess(case, chosen))
        except InputError as exc:
            if only is not None:
                raise  # a criterion asked for by name must run
            notes.append(f"{crit.key}: not assessed: {exc}")
    return ResponseAssessment(
        case_id=case.case_id,
        baseline=case.baseline.time_point_id,
        time_points=[tp.time_point_id for tp in case.time_points],
        criteria=results,
        tracking=[dict(t) for t in tracking],
        warnings=notes,
    )


def side_by_side(assessment: ResponseAssessment) -> tuple[list[str], list[list[str]]]:
    """One table: a row per time point (then best overall response), a column per criterion.

    Each cell is the category and, when there is one, the change from the baseline
    (``"PR −32.0 %"``).
    """
    header = ["time point", *[c.criterion for c in assessment.criteria]]
    rows = []
    for index, tp in enumerate(assessment.time_points):
        row = [tp]
        for crit in assessment.criteria:
            match = [r for r in crit.time_points if r.time_point == tp]
            if not match:
                row.append("—")
                continue
            r = match[0]
            change = r.change_from_baseline_percent
            text = r.category if index > 0 else "baseline"
            if change is not None and index > 0:
                text += f" {change:+.1f} %"
            row.append(text)
        rows.append(row)
    rows.append(["best overall", *[c.best_overall_response for c in assessment.criteria]])
    return header, rows
