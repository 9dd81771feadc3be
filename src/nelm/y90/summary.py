"""Readable text summaries of Y-90 plans, vials and delivered doses (CLI and report)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from nelm.y90.plan import Y90Plan
from nelm.y90.post import PostTreatmentDosimetry

__all__ = ["dose_lines", "plan_lines", "vial_lines"]


def _g(value: float | None, fmt: str = ".2f", unit: str = "") -> str:
    return "-" if value is None else f"{value:{fmt}}{unit}"


def plan_lines(result: Y90Plan) -> Iterator[str]:
    """Lines describing a plan: inputs and sources, each model, safety, vial."""
    m = result.measurements
    yield f"device: {result.device.value}; constants: " + ", ".join(
        f"{k} {v:g}" for k, v in result.constants.as_dict().items()
    )
    if m is not None:
        yield (
            f"measured on {m.time_point_id!r}: liver {_g(m.liver_volume_ml, '.0f')} mL, perfused "
            f"{_g(m.perfused_volume_ml, '.0f')} mL, tumour {_g(m.tumour_volume_ml, '.1f')} mL, "
            f"LSF {_g(None if m.lung_shunt is None else 100 * m.lung_shunt.fraction, '.1f')} % (SPECT), "
            + (
                ""
                if m.planar_lung_shunt is None
                else f"{100 * m.planar_lung_shunt.fraction:.1f} % (planar, overestimates), "
            )
            + f"TNR {_g(m.tn_ratio)}, activity ratio {_g(m.activity_ratio)}"
        )
    yield "inputs from: " + ", ".join(f"{k} ({v})" for k, v in result.sources.items())
    for plan in result.plans:
        d = plan.doses
        ok = "deliverable" if result.deliverable(plan.model.value) else "NOT DELIVERABLE"
        yield (
            f"[bold]{plan.model.value}[/bold]: inject {plan.activity_gbq:.3f} GBq "
            f"({plan.activity_mci:.1f} mCi), vial {plan.vial_activity_gbq:.3f} GBq — tumour "
            f"{_g(d.tumour_gy, '.1f')} Gy, normal liver {_g(d.normal_liver_gy, '.1f')} Gy, perfused "
            f"{_g(d.perfused_gy, '.1f')} Gy, lungs {_g(d.lung_gy, '.1f')} Gy — {ok}"
        )
        yield f"    {plan.formula}"
        findings = result.findings[plan.model.value]
        for finding in findings:
            if finding.level.value != "info":
                yield f"    {finding.level.value.upper()}: {finding.message}"
        passed = sum(1 for f in findings if f.level.value == "info")
        yield f"    {passed} other check(s) passed or could not run (all listed in the JSON)"
    if result.voxel is not None:
        v = result.voxel
        yield (
            f"[bold]voxel[/bold]: {v.activity_gbq:.3f} GBq ({v.dose.method.value}), "
            f"lungs {v.lung_dose_gy:.1f} Gy"
        )
        for name, dvh in v.dvhs.items():
            yield "    " + _dvh_text(name, dvh.to_dict(("mean", "D70", "D90", "V100Gy", "V205Gy")))
    if result.vial is not None:
        yield from vial_lines(result.vial.to_dict())
    for w in result.warnings:
        yield f"[yellow]warning[/yellow]: {w}"


def _dvh_text(name: str, doc: Mapping[str, Any]) -> str:
    metrics = doc.get("metrics", {})
    parts = [f"{k} {v['value']:.1f} {v['unit']}" for k, v in metrics.items()]
    return f"{name} ({doc.get('volume_ml', 0):.1f} mL): " + ", ".join(parts)


def vial_lines(doc: Mapping[str, Any]) -> Iterator[str]:
    """Lines describing a vial choice or the losses of a given vial."""
    yield "vial: " + ", ".join(
        f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
        for k, v in doc.items()
        if not isinstance(v, dict | list)
    )


def dose_lines(result: PostTreatmentDosimetry) -> Iterator[str]:
    """Lines describing a delivered dose, its DVHs and the comparison with the plan."""
    yield (
        f"{result.time_point_id}: {result.image_role}, administered "
        f"{result.administered_activity_gbq:.3f} GBq, in the image {result.activity_in_image_gbq:.3f} GBq "
        f"at administration; method {result.dose.method.value}"
    )
    for name, dvh in result.dvhs.items():
        yield "  " + _dvh_text(name, dvh.to_dict(("mean", "D50", "D70", "D90", "V100Gy", "V205Gy")))
    if result.comparison is not None:
        for line in result.comparison.to_dict().get("structures", {}).items():
            name, values = line
            yield f"  planned vs delivered {name}: " + ", ".join(
                f"{k} {v:.3g}" for k, v in values.items() if isinstance(v, float)
            )
    for note in result.notes:
        yield f"  note: {note}"
