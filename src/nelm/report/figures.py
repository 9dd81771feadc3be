"""Figures of the report (matplotlib, Agg backend, PNG).

* ``ct_axial``: the baseline CT (portal phase, else the first anatomic phase) at the dominant
  lesion's RECIST slice, with the liver and lesion contours and the RECIST long- and short-axis
  calipers of the quantification;
* ``pet_mip``: a coronal maximum-intensity projection of the SSTR PET with each lesion's
  tracking ID at its centroid;
* ``dose_fused``: the Y-90 dose map fused on CT (the planning time point's ``ct_lowdose``, else
  the baseline CT) with isodose lines at :data:`ISODOSE_LEVELS_GY`;
* ``dvh``: the delivered cumulative DVH per compartment, the planned (MAA voxel plan) curves dashed;
* ``waterfall_*`` and ``spider_*``: the response plots of :mod:`nelm.response.plots`.

Display conventions (radiological, DICOM LPS): axial images have the patient's anterior at the top
and the patient's left on the image's right; coronal images have the head at the top and the
patient's left on the right. Planes are sampled in patient millimetres through the volumes' own
affines (:func:`nelm.imaging.volume.resample_array` onto a one-slice grid), so any array axis order
or obliquity displays correctly, and the aspect follows the physical pixel spacing.

Reproducibility: a fixed DPI, no timestamp or software tag in the PNG metadata; the same inputs
give byte-identical files.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Final

import numpy as np

from nelm.atomic import atomic_path
from nelm.imaging.volume import Volume
from nelm.report.planes import axial_plane, canonical_grid, extent_lps, lps_spacing, plane_extent, sample

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from nelm.imaging.labelmap import LabelMap
    from nelm.report.results import RunResults
    from nelm.timepoint_data import TimePointData

__all__ = [
    "DPI",
    "ISODOSE_LEVELS_GY",
    "ct_axial_figure",
    "dose_fused_figure",
    "dvh_figure",
    "pet_mip_figure",
    "write_figures",
]

logger = logging.getLogger(__name__)

#: Resolution of every figure (dots per inch).
DPI: Final[int] = 110
#: Isodose lines of the fused dose figure (Gy): 50/100/150 Gy for orientation and 205 Gy, the
#: tumour threshold quoted for glass microspheres in HCC (y90-dosimetry.md §2.4: "tumour ≥205 Gy
#: HCC glass", a secondary source [V]); a display choice, not a NET dose target.
ISODOSE_LEVELS_GY: Final[tuple[float, ...]] = (50.0, 100.0, 150.0, 205.0)
#: CT soft-tissue window (centre, width) in HU.
CT_WINDOW_HU: Final[tuple[float, float]] = (40.0, 400.0)
#: Preferred anatomic image for the axial figure, in order.
_CT_ROLES: Final[tuple[str, ...]] = ("ct_portal", "ct_arterial", "ct_unenhanced", "mr_hbp")
#: DVH structures drawn (compartments; lesions are in the tables).
_DVH_STRUCTURES: Final[tuple[str, ...]] = (
    "tumour",
    "normal_liver",
    "perfused",
    "liver_normal_total",
    "lungs",
)
#: Dose below this (Gy) is not coloured in the fused figure.
_DOSE_FLOOR_GY: Final[float] = 5.0


# -- writing --------------------------------------------------------------------------------


def _new_figure(width_in: float, height_in: float) -> tuple[Figure, Axes]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in))
    return fig, fig.add_subplot()


def _save(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=DPI, format="png", metadata={"Software": None})
    return path


def _window(image: Volume) -> tuple[float, float]:
    if image.modality == "CT":
        c, w = CT_WINDOW_HU
        return c - w / 2, c + w / 2
    lo, hi = np.percentile(np.asarray(image.array, dtype=np.float64), [1.0, 99.5])
    return float(lo), float(hi)


def _label_axes(ax: Axes, axial: bool = True) -> None:
    ax.set_xlabel("patient right  ←  x (mm)  →  patient left", fontsize=7)
    ax.set_ylabel("posterior  ↓  y (mm)  ↑  anterior" if axial else "z (mm)", fontsize=7)
    ax.tick_params(labelsize=7)


# -- figures --------------------------------------------------------------------------------


def _anatomic(tpd: TimePointData) -> tuple[str, Volume] | None:
    for role in _CT_ROLES:
        if role in tpd.images:
            return role, tpd.images[role]
    return None


def ct_axial_figure(results: RunResults, path: Path) -> Path | None:
    """Baseline CT at the dominant lesion's RECIST slice, contours and calipers; ``None`` if no input."""
    if not results.quants:
        logger.info("figure ct_axial skipped: no quantified time point")
        return None
    quant = results.quants[0]
    tpd = results.data.get(quant.time_point)
    found = None if tpd is None else _anatomic(tpd)
    if tpd is None or found is None:
        logger.info("figure ct_axial skipped: time point %s has no CT/MR phase", quant.time_point)
        return None
    role, image = found
    lesions = {les.lesion_id: les for les in quant.lesions}
    dominant = lesions.get(quant.patient.dominant_lesion_id or "")
    if dominant is None or dominant.axial is None:
        measured = [les for les in quant.lesions if les.axial is not None]
        dominant = max(measured, key=lambda les: les.axial.long_mm if les.axial else 0.0, default=None)
    if dominant is None or dominant.axial is None:
        logger.info("figure ct_axial skipped: no lesion with axial diameters at %s", quant.time_point)
        return None
    axial = dominant.axial
    z = float(np.mean([p[2] for p in axial.long_endpoints_lps_mm]))
    plane = axial_plane(image.geometry, z)
    pixels = sample(image.array, image.geometry, plane, labels=False, fill=float(np.min(image.array)))
    fig, ax = _new_figure(6.4, 5.6)
    lo, hi = _window(image)
    extent = plane_extent(plane)
    ax.imshow(pixels, cmap="gray", vmin=lo, vmax=hi, extent=extent, interpolation="bilinear")
    masks: Mapping[str, LabelMap] = tpd.masks
    xs = np.linspace(extent[0], extent[1], pixels.shape[1])
    ys = np.linspace(extent[3], extent[2], pixels.shape[0])
    for name, colour in (("liver", "#f0c000"), ("lesions", "#ff3030")):
        if name in masks:
            lm = masks[name]
            cut = sample((lm.array > 0).astype(np.uint8), lm.geometry, plane, labels=True, fill=0)
            if cut.any():
                ax.contour(xs, ys, cut, levels=[0.5], colors=colour, linewidths=1.0)
    for ends, colour, what in (
        (axial.long_endpoints_lps_mm, "#00e0ff", f"long {axial.long_mm:.1f} mm"),
        (axial.short_endpoints_lps_mm, "#40ff40", f"short {axial.short_mm:.1f} mm"),
    ):
        (x0, y0, _), (x1, y1, _) = ends
        ax.plot([x0, x1], [y0, y1], color=colour, linewidth=1.6, marker="+", markersize=8, label=what)
    cx, cy, _ = dominant.centroid_lps_mm
    ax.annotate(
        dominant.lesion_id,
        (cx, cy),
        xytext=(12, -12),
        textcoords="offset points",
        color="white",
        fontsize=9,
        fontweight="bold",
    )
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.legend(loc="lower right", fontsize=7, framealpha=0.6)
    ax.set_title(
        f"{quant.time_point} {role}, z = {z:.1f} mm: {dominant.lesion_id} RECIST calipers; "
        "liver (yellow), lesions (red)",
        fontsize=8,
    )
    _label_axes(ax)
    fig.tight_layout()
    return _save(fig, path)


def pet_mip_figure(results: RunResults, path: Path) -> Path | None:
    """Coronal MIP of the first SSTR PET, lesion IDs at their centroids; ``None`` if no PET."""
    found = next(((tp_id, d) for tp_id, d in results.data.items() if "pet_sstr" in d.images), None)
    if found is None:
        logger.info("figure pet_mip skipped: no pet_sstr image in the case")
        return None
    tp_id, tpd = found
    pet = tpd.images["pet_sstr"]
    grid = canonical_grid(pet.geometry)
    cube = sample(pet.array, pet.geometry, grid, labels=False, fill=0.0)
    mip = cube.max(axis=1)  # [S, L]
    lo, hi = extent_lps(grid)
    sx, _, sz = lps_spacing(grid)
    extent = (lo[0] - sx / 2, hi[0] + sx / 2, lo[2] - sz / 2, hi[2] + sz / 2)
    fig, ax = _new_figure(4.8, 6.0)
    vmax = float(np.percentile(mip[mip > 0], 99.8)) if np.any(mip > 0) else 1.0
    shown = ax.imshow(
        mip, cmap="gray_r", origin="lower", extent=extent, vmin=0, vmax=vmax, interpolation="bilinear"
    )
    cbar = fig.colorbar(shown, ax=ax, fraction=0.04, pad=0.02)
    cbar.set_label(pet.units.value, fontsize=7)
    cbar.ax.tick_params(labelsize=6)
    quant = next((q for q in results.quants if q.time_point == tp_id), None)
    if quant is None:
        logger.info("figure pet_mip: time point %s is not quantified; no lesion labels", tp_id)
    else:
        for les in quant.lesions:
            x, _, z = les.centroid_lps_mm
            ax.annotate(
                les.lesion_id,
                (x, z),
                xytext=(6, 4),
                textcoords="offset points",
                color="#c00000",
                fontsize=7,
                fontweight="bold",
            )
            ax.plot([x], [z], marker="o", markersize=3, color="#c00000")
    ax.set_title(f"{tp_id} SSTR PET, coronal MIP (head up, patient left on the right)", fontsize=8)
    ax.set_xlabel("patient right  ←  x (mm)  →  patient left", fontsize=7)
    ax.set_ylabel("inferior  ←  z (mm)  →  superior", fontsize=7)
    ax.tick_params(labelsize=7)
    fig.tight_layout()
    return _save(fig, path)


def _dose_ct(results: RunResults) -> tuple[str, Volume] | None:
    planning = [tp.id for tp in results.case.time_points if tp.kind.value == "planning"]
    for tp_id in planning:
        d = results.data.get(tp_id)
        if d is not None and "ct_lowdose" in d.images:
            return f"{tp_id} ct_lowdose", d.images["ct_lowdose"]
    for tp_id, d in results.data.items():
        found = _anatomic(d)
        if found is not None and found[1].modality == "CT":
            return f"{tp_id} {found[0]}", found[1]
    return None


def dose_fused_figure(results: RunResults, path: Path) -> Path | None:
    """Axial Y-90 dose on CT through the dose maximum, isodose lines; ``None`` without dose or CT."""
    if results.y90_dose is None:
        logger.info("figure dose_fused skipped: no post-treatment dosimetry")
        return None
    ct = _dose_ct(results)
    if ct is None:
        logger.info("figure dose_fused skipped: the case has no CT to fuse the dose on")
        return None
    label, ct_image = ct
    dose = results.y90_dose.dose.dose_gy
    hottest = np.unravel_index(int(np.argmax(dose.array)), dose.shape)
    z = float(dose.index_to_world(np.asarray(hottest, dtype=float))[2])
    plane = axial_plane(ct_image.geometry, z)
    ct_pixels = sample(
        ct_image.array, ct_image.geometry, plane, labels=False, fill=float(np.min(ct_image.array))
    )
    dose_pixels = sample(dose.array, dose.geometry, plane, labels=False, fill=0.0).astype(np.float64)
    extent = plane_extent(plane)
    fig, ax = _new_figure(6.6, 5.6)
    lo, hi = _window(ct_image)
    ax.imshow(ct_pixels, cmap="gray", vmin=lo, vmax=hi, extent=extent, interpolation="bilinear")
    shown_max = max(float(dose_pixels.max()), max(ISODOSE_LEVELS_GY))
    coloured = np.ma.masked_less(dose_pixels, _DOSE_FLOOR_GY)
    shown = ax.imshow(
        coloured, cmap="jet", alpha=0.45, vmin=0.0, vmax=shown_max, extent=extent, interpolation="bilinear"
    )
    xs = np.linspace(extent[0], extent[1], dose_pixels.shape[1])
    ys = np.linspace(extent[3], extent[2], dose_pixels.shape[0])
    levels = [lv for lv in ISODOSE_LEVELS_GY if lv < dose_pixels.max()]
    if levels:
        lines = ax.contour(
            xs,
            ys,
            dose_pixels,
            levels=levels,
            colors=["white", "yellow", "orange", "red"][: len(levels)],
            linewidths=1.0,
        )
        ax.clabel(lines, fmt="%g Gy", fontsize=6)
    cbar = fig.colorbar(shown, ax=ax, fraction=0.04, pad=0.02)
    cbar.set_label("absorbed dose (Gy)", fontsize=7)
    cbar.ax.tick_params(labelsize=6)
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_title(
        f"Y-90 dose ({results.y90_dose.time_point_id} {results.y90_dose.image_role}) on {label}, "
        f"z = {z:.1f} mm; isodoses {', '.join(f'{v:g}' for v in ISODOSE_LEVELS_GY)} Gy",
        fontsize=8,
    )
    _label_axes(ax)
    fig.tight_layout()
    return _save(fig, path)


def dvh_figure(results: RunResults, path: Path) -> Path | None:
    """Delivered DVHs (solid) and planned voxel-plan DVHs (dashed); ``None`` without dosimetry."""
    dose = results.y90_dose
    planned = None
    if dose is not None and dose.planned is not None:
        planned = dose.planned.dvhs
    elif results.y90_plan is not None and results.y90_plan.voxel is not None:
        planned = results.y90_plan.voxel.dvhs
    if dose is None and planned is None:
        logger.info("figure dvh skipped: no Y-90 dosimetry or voxel plan")
        return None
    from matplotlib import colormaps

    fig, ax = _new_figure(7.0, 4.2)
    colours = colormaps["tab10"]
    for i, name in enumerate(_DVH_STRUCTURES):
        for source, style, what in (
            (None if dose is None else dose.dvhs, "-", "delivered"),
            (planned, "--", "planned"),
        ):
            if source is not None and name in source:
                d, v = source[name].curve()
                ax.plot(d, v, linestyle=style, color=colours(i), linewidth=1.3, label=f"{name} ({what})")
    ax.set_xlabel("dose (Gy)")
    ax.set_ylabel("volume (%)")
    ax.set_ylim(0, 101)
    ax.set_xlim(left=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6, ncol=2)
    ax.set_title("cumulative DVH: delivered (solid) vs planned MAA voxel plan (dashed)", fontsize=9)
    fig.tight_layout()
    return _save(fig, path)


def _response_figures(results: RunResults, out_dir: Path) -> dict[str, Path]:
    if results.response is None or results.response_case is None:
        logger.info("figures waterfall/spider skipped: no response assessment")
        return {}
    from nelm.response.plots import write_response_plots

    return write_response_plots(out_dir, results.response_case, results.response)


_FIGURES: Final[dict[str, Callable[[RunResults, Path], Path | None]]] = {
    "ct_axial": ct_axial_figure,
    "pet_mip": pet_mip_figure,
    "dose_fused": dose_fused_figure,
    "dvh": dvh_figure,
}


def write_figures(results: RunResults, out_dir: str | Path) -> dict[str, Path]:
    """Write every figure whose inputs the run has into ``out_dir``; name → PNG path.

    A figure without its inputs is skipped (logged at INFO); the names are ``ct_axial``,
    ``pet_mip``, ``dose_fused``, ``dvh``, ``waterfall_criteria``, ``spider_criteria``,
    ``waterfall_lesions`` and ``spider_lesions``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for name, make in _FIGURES.items():
        made = make(results, out / f"{name}.png")
        if made is not None:
            written[name] = made
    written.update(_response_figures(results, out))
    return written
