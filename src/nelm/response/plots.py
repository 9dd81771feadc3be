"""Waterfall and spider plots of a response assessment: their data, and matplotlib figures.

* **Spider** (per criterion): the percent change of each criterion's measure from the baseline
  at every follow-up, against days from the baseline; and (per lesion) the percent change of
  each baseline lesion's long axis (0 mm once disappeared or coalesced).
* **Waterfall** (per criterion): each criterion's best (lowest) percent change from the baseline
  up to its first progression — for one patient this shows where the criteria disagree, the
  point of reading them side by side; and (per lesion) each baseline lesion's best change of
  its long axis.

The data functions return plain lists so that the report and the JSON use the same numbers as
the figures. Figures are written with matplotlib's Agg backend (no display), atomically.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from nelm.atomic import atomic_path
from nelm.response.exact import percent_change
from nelm.response.model import LesionState, ResponseCase
from nelm.response.results import ResponseAssessment

__all__ = [
    "SeriesLine",
    "WaterfallBar",
    "lesion_spider",
    "lesion_waterfall",
    "plot_spider",
    "plot_waterfall",
    "spider",
    "waterfall",
    "write_response_plots",
]


@dataclass(frozen=True)
class SeriesLine:
    """One line of a spider plot: ``(days from baseline, percent change)`` points."""

    label: str
    points: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class WaterfallBar:
    """One bar of a waterfall plot: the best percent change and the category it came with."""

    label: str
    percent: float
    category: str


def spider(assessment: ResponseAssessment) -> list[SeriesLine]:
    """Per criterion, the percent change of its measure from the baseline over time."""
    lines = []
    for crit in assessment.criteria:
        pts = [(0.0, 0.0)] if crit.time_points and crit.time_points[0].value is not None else []
        pts += [
            (row.days_from_baseline, row.change_from_baseline_percent)
            for row in crit.time_points[1:]
            if row.change_from_baseline_percent is not None
        ]
        if len(pts) > 1:
            lines.append(SeriesLine(crit.criterion, tuple(pts)))
    return lines


def waterfall(assessment: ResponseAssessment) -> list[WaterfallBar]:
    """Per criterion, its best percent change from the baseline up to its first progression.

    Sorted from the largest change to the smallest (the usual waterfall order).
    """
    bars = []
    for crit in assessment.criteria:
        best: tuple[float, str] | None = None
        for row in crit.time_points[1:]:
            if row.change_from_baseline_percent is not None and (
                best is None or row.change_from_baseline_percent < best[0]
            ):
                best = (row.change_from_baseline_percent, row.category)
            if row.time_point == crit.progression_time_point:
                break
        if best is not None:
            bars.append(WaterfallBar(crit.criterion, best[0], best[1]))
    return sorted(bars, key=lambda b: -b.percent)


def _lesion_changes(case: ResponseCase) -> dict[str, list[tuple[float, Fraction]]]:
    base = case.baseline
    out: dict[str, list[tuple[float, Fraction]]] = {}
    for lid in sorted(case.lesions):
        m0 = base.measurements.get(lid)
        if m0 is None or not m0.long_mm:
            continue
        series: list[tuple[float, Fraction]] = [(0.0, Fraction(0))]
        for tp in case.follow_ups:
            m = tp.measurements.get(lid)
            if m is None:
                continue
            if m.state in (LesionState.DISAPPEARED, LesionState.COALESCED):
                value: Fraction | None = Fraction(0)
            else:
                value = m.long_mm
            change = None if value is None else percent_change(value, m0.long_mm)
            if change is not None:
                days = case.days_from_baseline(tp)
                series.append((days, change))
        out[lid] = series
    return out


def lesion_spider(case: ResponseCase) -> list[SeriesLine]:
    """Per baseline lesion, the percent change of its long axis over time."""
    return [
        SeriesLine(lid, tuple((d, float(c)) for d, c in series))
        for lid, series in _lesion_changes(case).items()
        if len(series) > 1
    ]


def lesion_waterfall(case: ResponseCase) -> list[WaterfallBar]:
    """Per baseline lesion, the best (lowest) percent change of its long axis at any follow-up."""
    bars = []
    for lid, series in _lesion_changes(case).items():
        if len(series) > 1:
            best = min(c for _, c in series[1:])
            bars.append(WaterfallBar(lid, float(best), "disappeared" if best == -100 else ""))
    return sorted(bars, key=lambda b: -b.percent)


def _save(fig: object, path: str | os.PathLike[str]) -> Path:
    from matplotlib.figure import Figure

    assert isinstance(fig, Figure)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png", metadata={"Software": None})
    return Path(path)


def plot_spider(lines: list[SeriesLine], path: str | os.PathLike[str], *, title: str) -> Path:
    """Write a spider plot (PNG) with the RECIST reference lines at −30 % and +20 %."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.0, 4.2))
    ax = fig.add_subplot()
    for line in lines:
        xs, ys = zip(*line.points, strict=True)
        ax.plot(xs, ys, marker="o", label=line.label)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.axhline(-30, color="tab:green", linestyle="--", linewidth=0.8)
    ax.axhline(20, color="tab:red", linestyle="--", linewidth=0.8)
    ax.set_xlabel("days from baseline")
    ax.set_ylabel("change from baseline (%)")
    ax.set_title(title)
    if lines:
        ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return _save(fig, path)


def plot_waterfall(bars: list[WaterfallBar], path: str | os.PathLike[str], *, title: str) -> Path:
    """Write a waterfall plot (PNG): one bar per criterion or lesion, best change from baseline."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.0, 4.2))
    ax = fig.add_subplot()
    labels = [b.label for b in bars]
    values = [b.percent for b in bars]
    colours = ["tab:red" if v >= 20 else "tab:green" if v <= -30 else "tab:gray" for v in values]
    ax.bar(range(len(bars)), values, color=colours)
    ax.set_xticks(range(len(bars)), labels, rotation=45, ha="right", fontsize=8)
    for i, b in enumerate(bars):
        if b.category:
            ax.annotate(
                b.category, (i, b.percent), ha="center", va="bottom" if b.percent >= 0 else "top", fontsize=7
            )
    ax.axhline(0, color="black", linewidth=0.8)
    ax.axhline(-30, color="tab:green", linestyle="--", linewidth=0.8)
    ax.axhline(20, color="tab:red", linestyle="--", linewidth=0.8)
    ax.set_ylabel("best change from baseline (%)")
    ax.set_title(title)
    fig.tight_layout()
    return _save(fig, path)


def write_response_plots(
    out: Path, response_case: ResponseCase, assessment: ResponseAssessment
) -> dict[str, Path]:
    """Waterfall and spider plots of the criteria and of the lesions as PNG files in ``out``.

    Returns
    -------
    dict
        ``waterfall_criteria``, ``spider_criteria``, ``waterfall_lesions``, ``spider_lesions`` → path.
    """
    out.mkdir(parents=True, exist_ok=True)
    return {
        "waterfall_criteria": plot_waterfall(
            waterfall(assessment), out / "waterfall_criteria.png", title="best change by criterion"
        ),
        "spider_criteria": plot_spider(
            spider(assessment), out / "spider_criteria.png", title="change from baseline by criterion"
        ),
        "waterfall_lesions": plot_waterfall(
            lesion_waterfall(response_case), out / "waterfall_lesions.png", title="best change by lesion"
        ),
        "spider_lesions": plot_spider(
            lesion_spider(response_case), out / "spider_lesions.png", title="long axis by lesion"
        ),
    }
