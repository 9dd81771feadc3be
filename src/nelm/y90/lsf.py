"""Lung shunt fraction (LSF) from Tc-99m MAA imaging, and the lung mass that turns it into a dose.

``LSF = C_lung / (C_lung + C_liver)``: the share of the hepatic-arterial injection that reaches
the lungs (``reference/y90-dosimetry.md`` §2.4). Three ways in:

* :func:`lsf_from_planar` — anterior/posterior planar pair, geometric mean per organ
  ``GM = sqrt(ant · post)`` (manufacturer-recommended; van Roekel, PhD thesis ch.2);
* :func:`lsf_from_spect` — counts inside lung and liver masks on the SPECT(/CT) grid
  (Taranis ``LSFcalc``; EANM SOP, Chiesa et al., EJNMMI Phys 2021);
* :func:`lsf_given` — a value from a report, with where it came from.

Planar LSF overestimates the SPECT/CT LSF (:data:`PLANAR_OVERESTIMATION_WARNING`), and every
planar result carries that warning.

:func:`lung_mass` gives the lung mass of the lung-dose formula: CT lung volume × 0.3 g/mL (DAVYR)
when a volume is known, else the 1 kg default of the TheraSphere IFU.

The two helpers :func:`finite_number` and :func:`decimal_fraction` are shared by
:mod:`nelm.y90.planning` and :mod:`nelm.y90.safety`.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt

from nelm.errors import GeometryError, InputError, MaskError
from nelm.imaging.geometry import Geometry
from nelm.imaging.labelmap import LabelMap
from nelm.imaging.volume import Volume
from nelm.y90.checks import decimal_fraction, finite_number
from nelm.y90.constants import DEFAULT_CONSTANTS, Y90Constants

__all__ = [
    "PLANAR_OVERESTIMATION_WARNING",
    "LsfMethod",
    "LungMass",
    "LungShunt",
    "decimal_fraction",
    "finite_number",
    "lsf_from_planar",
    "lsf_from_spect",
    "lsf_given",
    "lung_mass",
    "percent_text",
]

logger = logging.getLogger(__name__)

#: Attached to every planar LSF. Sources: clinical-rules.md §2.7 (Allred et al., EJNMMI Res
#: 2018: planar up to 44 % higher; attenuation- and scatter-corrected SPECT/CT within 13 % in a
#: phantom; van Roekel thesis p.41 "planar LSF is often overestimated"); nelm's synthetic patient
#: (true LSF 6 %, noise-free planar geometric mean 10.3 %).
PLANAR_OVERESTIMATION_WARNING: Final[str] = (
    "planar geometric-mean LSF overestimates the SPECT/CT LSF: scatter and the lower attenuation of "
    "the lungs than of the liver add counts to the lung ROI (planar up to 44 % higher than corrected "
    "SPECT/CT, Allred et al. EJNMMI Res 2018; nelm's phantom: planar 10.3 % vs true 6 %). "
    "Prefer the SPECT/CT LSF for planning"
)

_MaskLike = Volume | LabelMap | npt.NDArray[Any]


def percent_text(fraction: float, *boundaries: float) -> str:
    """A fraction as a percentage for messages, e.g. ``0.025`` -> ``"2.5"``.

    Rounded to two decimals, except when the rounding would make it equal to one of the
    ``boundaries`` it differs from (0.1499999 is shown as 14.99999, not 15, beside a 15 % band).
    Decimal arithmetic on the float's shortest repr, so 0.15 is exactly 15.
    """
    exact = Decimal(repr(float(fraction))) * 100
    short = exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
    for b in boundaries:
        edge = Decimal(repr(float(b))) * 100
        if exact != edge and short == edge:
            return format(exact.normalize(), "f")
    return format(short.normalize(), "f")


class LsfMethod(StrEnum):
    """How a lung shunt fraction was measured."""

    PLANAR_GEOMETRIC_MEAN = "planar_geometric_mean"
    SPECT = "spect"
    GIVEN = "given"


@dataclass(frozen=True)
class LungShunt:
    """A lung shunt fraction with its provenance.

    Parameters
    ----------
    fraction:
        Lung / (lung + liver) activity, ``0 <= fraction < 1`` (a fraction, not a percentage).
    method:
        How it was obtained (:class:`LsfMethod`).
    lung_counts, liver_counts:
        The counts it came from (geometric means for planar), ``None`` for a given value.
    warnings:
        Caveats a reader must see (e.g. :data:`PLANAR_OVERESTIMATION_WARNING`).
    source:
        Where it came from (a file, a report).

    Raises
    ------
    InputError
        ``fraction`` not finite, negative, 1 or more (a percentage such as 6 for 6 % says so),
        or negative counts.
    """

    fraction: float
    method: LsfMethod
    lung_counts: float | None = None
    liver_counts: float | None = None
    warnings: tuple[str, ...] = ()
    source: str = ""

    def __post_init__(self) -> None:
        f = finite_number(self.fraction, "lung shunt fraction")
        if f >= 1.0 and f <= 100.0:
            raise InputError(
                f"lung shunt fraction {self.fraction!r} is 1 or more: an LSF is a fraction below 1 "
                f"(write 0.06 for 6 %); at 1 all activity would reach the lungs"
            )
        if not 0.0 <= f < 1.0:
            raise InputError(f"lung shunt fraction {self.fraction!r} is outside [0, 1)")
        object.__setattr__(self, "fraction", f)
        try:
            object.__setattr__(self, "method", LsfMethod(self.method))
        except ValueError:
            known = ", ".join(m.value for m in LsfMethod)
            raise InputError(f"lung shunt method {self.method!r} is unknown; known: {known}") from None
        for name in ("lung_counts", "liver_counts"):
            value = getattr(self, name)
            if value is not None:
                v = finite_number(value, f"lung shunt {name}")
                if v < 0:
                    raise InputError(f"lung shunt {name} must be >= 0, got {value!r}")
                object.__setattr__(self, name, v)
        object.__setattr__(self, "warnings", tuple(str(w) for w in self.warnings))
        object.__setattr__(self, "source", str(self.source))

    @property
    def percent(self) -> float:
        """The LSF in percent."""
        return self.fraction * 100.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (``fraction``, ``percent``, ``method`` …)."""
        return {
            "fraction": self.fraction,
            "percent": self.percent,
            "method": self.method.value,
            "lung_counts": self.lung_counts,
            "liver_counts": self.liver_counts,
            "warnings": list(self.warnings),
            "source": self.source,
        }


# -- planar -----------------------------------------------------------------------------------
def _plane(image: object, name: str) -> tuple[npt.NDArray[np.float64], Geometry | None]:
    """A planar view as a 2-D float array (and its grid when it is a Volume)."""
    geometry = image.geometry if isinstance(image, Volume) else None
    arr = np.asarray(image.array if isinstance(image, Volume) else image)
    if arr.ndim == 3 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim != 2:
        raise InputError(f"{name} must be a 2-D image or a one-slice volume, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
        raise InputError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    out = arr.astype(np.float64)
    if not np.all(np.isfinite(out)):
        raise InputError(f"{name} holds NaN or infinite pixels; a planar image holds finite counts")
    if out.size and out.min() < 0:
        raise InputError(
            f"{name} holds negative counts (minimum {out.min():.6g}); planar counts cannot be "
            "negative: use the unprocessed image, not a background-subtracted one"
        )
    return out, geometry


def _boolean(mask: object, name: str) -> tuple[npt.NDArray[np.bool_], Geometry | None]:
    """A mask (bool, integer labels, or 0/1 floats) as a boolean array with its grid."""
    geometry = mask.geometry if isinstance(mask, Volume | LabelMap) else None
    arr = np.asarray(mask.array if isinstance(mask, Volume | LabelMap) else mask)
    if arr.dtype == np.bool_:
        return arr, geometry
    if np.issubdtype(arr.dtype, np.integer):
        return arr != 0, geometry
    if np.issubdtype(arr.dtype, np.floating) and np.all(np.isin(arr, (0.0, 1.0))):
        return arr != 0, geometry
    raise InputError(
        f"{name} must be a boolean or label mask; got dtype {arr.dtype} with values other than 0 and 1 "
        "(an image was probably passed as a mask)"
    )


def _roi(mask: object, name: str, image_shape: tuple[int, ...], image_name: str) -> npt.NDArray[np.bool_]:
    arr, _ = _boolean(mask, name)
    if arr.ndim == 3 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.shape != image_shape:
        raise GeometryError(f"{name} has shape {arr.shape} but the {image_name} has {image_shape}")
    if not arr.any():
        raise MaskError(f"{name} is empty: it holds no pixels; draw the ROI on the {image_name}")
    return arr


def _posterior_flips(anterior: Geometry, posterior: Geometry) -> tuple[bool, bool]:
    """Whether the posterior rows / columns run opposite to the anterior ones."""
    flips = []
    for axis, what in ((1, "rows"), (2, "columns")):
        dot = float(anterior.directions[:, axis] @ posterior.directions[:, axis])
        if abs(dot) < 0.99:
            raise GeometryError(
                f"planar views: the {what} of the posterior view ({posterior.describe()}) are neither "
                f"parallel nor opposite to those of the anterior view ({anterior.describe()}); "
                "give posterior_lung_roi and posterior_liver_roi drawn on the posterior view"
            )
        flips.append(dot < 0)
    return flips[0], flips[1]


def _require_disjoint(lung: npt.NDArray[np.bool_], liver: npt.NDArray[np.bool_], where: str) -> None:
    n = int(np.count_nonzero(lung & liver))
    if n:
        raise MaskError(
            f"the lung and liver ROIs of the {where} overlap in {n} pixels; counts in the overlap "
            "would be given to both organs. Redraw the ROIs so that they do not overlap"
        )


def _organ_total(image: npt.NDArray[np.float64], roi: npt.NDArray[np.bool_], organ: str, view: str) -> float:
    total = float(image[roi].sum())
    if total <= 0:
        raise InputError(
            f"the {organ} ROI holds no counts on the {view} view; check that the ROI lies on the {organ} "
            "and that the right image was given"
        )
    return total


def lsf_from_planar(
    anterior: Volume | npt.NDArray[Any],
    posterior: Volume | npt.NDArray[Any],
    lung_roi: _MaskLike,
    liver_roi: _MaskLike,
    *,
    posterior_lung_roi: _MaskLike | None = None,
    posterior_liver_roi: _MaskLike | None = None,
    posterior_mirrored: bool | None = None,
    source: str = "",
) -> LungShunt:
    """LSF from an anterior/posterior planar MAA pair by the geometric mean of organ counts.

    ``GM_organ = sqrt(total_anterior · total_posterior)``, ``LSF = GM_lung / (GM_lung + GM_liver)``
    (y90-dosimetry.md §2.4; van Roekel, PhD thesis ch.2). The result always carries
    :data:`PLANAR_OVERESTIMATION_WARNING`.

    Parameters
    ----------
    anterior, posterior:
        The two views: 2-D arrays, one-slice 3-D arrays, or one-slice :class:`Volume`\\ s
        (as :func:`nelm.imaging.dicom_nm.read_nm_planar` returns them). Counts, ``>= 0``.
    lung_roi, liver_roi:
        Boolean (or 0/1, or label) masks drawn on the **anterior** view.
    posterior_lung_roi, posterior_liver_roi:
        ROIs drawn on the posterior view, as displayed. Give both or neither; without them the
        anterior ROIs are used for the posterior view (see Notes).
    posterior_mirrored:
        Only when the anterior ROIs are reused: whether the posterior image is the left-right
        mirror of the anterior one. ``None`` (default): from the grids when both views are
        Volumes (rows and columns whose directions are opposite are flipped), else ``True``,
        the DICOM NM convention.
    source:
        Where the images came from, for the record.

    Notes
    -----
    In planar NM a posterior view is stored as seen from the posterior detector: its columns run
    to the patient's right where the anterior view's run to the left (nelm's planar convention,
    :data:`nelm.imaging.dicom_geometry.PLANAR_ORIENTATIONS`, which :func:`read_nm_planar` and the
    synthetic patient follow). Applying the anterior ROIs to the posterior pixels unflipped would
    give the lung ROI part of the liver: on nelm's phantom (true LSF 6 %) unflipped gives 14.4 %,
    mirrored 10.2 % against the 10.3 % of the noise-free projection. So by default the posterior
    image is mirrored into the anterior frame before the anterior ROIs are applied. Volumes whose
    grids say the views already share one frame (e.g. a posterior view flipped on export) are
    not flipped.

    Raises
    ------
    InputError
        A view not 2-D, NaN or negative counts, an ROI without counts, only one posterior ROI,
        or ``posterior_mirrored`` together with posterior ROIs.
    GeometryError
        Views or ROIs of different shapes, or views whose axes are not (anti)parallel.
    MaskError
        An empty ROI, or lung and liver ROIs that overlap.
    """
    ant, ant_geometry = _plane(anterior, "anterior planar view")
    post, post_geometry = _plane(posterior, "posterior planar view")
    if ant.shape != post.shape:
        raise GeometryError(
            f"the anterior view has shape {ant.shape} but the posterior view {post.shape}; "
            "both views of one planar acquisition have the same size"
        )
    lung_a = _roi(lung_roi, "lung ROI", ant.shape, "anterior view")
    liver_a = _roi(liver_roi, "liver ROI", ant.shape, "anterior view")
    _require_disjoint(lung_a, liver_a, "anterior view")
    if (posterior_lung_roi is None) != (posterior_liver_roi is None):
        raise InputError(
            "give both posterior_lung_roi and posterior_liver_roi, or neither (then the anterior ROIs "
            "are used for the posterior view)"
        )
    if posterior_lung_roi is not None and posterior_liver_roi is not None:
        if posterior_mirrored is not None:
            raise InputError(
                "posterior_mirrored applies only when the anterior ROIs are reused for the posterior "
                "view; with posterior ROIs drawn on the posterior view leave it out"
            )
        lung_p = _roi(posterior_lung_roi, "posterior lung ROI", post.shape, "posterior view")
        liver_p = _roi(posterior_liver_roi, "posterior liver ROI", post.shape, "posterior view")
        _require_disjoint(lung_p, liver_p, "posterior view")
        how = "posterior ROIs drawn on the posterior view"
    else:
        if posterior_mirrored is None and ant_geometry is not None and post_geometry is not None:
            flip_rows, flip_columns = _posterior_flips(ant_geometry, post_geometry)
            how = "anterior ROIs; posterior view aligned by its grid"
        else:
            flip_rows, flip_columns = False, True if posterior_mirrored is None else bool(posterior_mirrored)
            how = f"anterior ROIs; posterior view {'mirrored left-right' if flip_columns else 'as given'}"
        if flip_rows:
            post = post[::-1, :]
        if flip_columns:
            post = post[:, ::-1]
        lung_p, liver_p = lung_a, liver_a
    gm_lung = math.sqrt(
        _organ_total(ant, lung_a, "lung", "anterior") * _organ_total(post, lung_p, "lung", "posterior")
    )
    gm_liver = math.sqrt(
        _organ_total(ant, liver_a, "liver", "anterior") * _organ_total(post, liver_p, "liver", "posterior")
    )
    fraction = gm_lung / (gm_lung + gm_liver)
    logger.info("planar geometric-mean LSF %.4f (%s)", fraction, how)
    return LungShunt(
        fraction=fraction,
        method=LsfMethod.PLANAR_GEOMETRIC_MEAN,
        lung_counts=gm_lung,
        liver_counts=gm_liver,
        warnings=(PLANAR_OVERESTIMATION_WARNING,),
        source=source or f"planar MAA anterior/posterior pair ({how})",
    )


# -- SPECT ------------------------------------------------------------------------------------
def _spect_mask(mask: object, name: str, spect: Volume) -> npt.NDArray[np.bool_]:
    arr, geometry = _boolean(mask, name)
    if geometry is not None:
        spect.geometry.require_same(geometry, what="SPECT", other_what=name)
    elif arr.shape != spect.shape:
        raise GeometryError(
            f"{name} has shape {arr.shape} but the SPECT {spect.geometry.describe()}; "
            "resample the mask onto the SPECT grid"
        )
    if not arr.any():
        raise MaskError(f"{name} is empty: it holds no voxels on the SPECT grid")
    return arr


def _touches_edge(mask: npt.NDArray[np.bool_]) -> bool:
    return any(
        bool(np.take(mask, 0, axis=a).any() or np.take(mask, -1, axis=a).any()) for a in range(mask.ndim)
    )


def lsf_from_spect(
    spect: Volume,
    lung_mask: _MaskLike,
    liver_mask: _MaskLike,
    *,
    source: str = "",
) -> LungShunt:
    """LSF from the counts inside lung and liver masks on a SPECT(/CT): ``lung / (lung + liver)``.

    Any voxel unit proportional to activity works (counts, Bq/mL): the voxels are equal, so
    the ratio of sums is the ratio of activities (Taranis ``LSFcalc``; EANM SOP 2021).

    Parameters
    ----------
    spect:
        The MAA SPECT.
    lung_mask, liver_mask:
        Masks on the SPECT grid: :class:`Volume`\\ s or :class:`LabelMap`\\ s (their grid is
        checked with :meth:`Geometry.require_same`) or arrays of the SPECT's shape. Non-zero is
        inside. The liver mask is the one the liver activity is counted in (whole liver, or the
        perfused territory).
    source:
        Where the SPECT came from, for the record.

    Warnings added to the result: a mask touching the edge of the field of view (the organ may
    be truncated: lungs cut off at the top of the SPECT lower the LSF), negative voxels inside a
    mask, and a lung mask without counts.

    Raises
    ------
    InputError
        ``spect`` not a Volume, NaN in a mask, or no (or negative) counts in the liver mask,
        negative lung total.
    GeometryError
        A mask not on the SPECT grid (the message names both grids).
    MaskError
        An empty mask, or lung and liver masks that overlap.
    """
    if not isinstance(spect, Volume):
        raise InputError(f"spect must be a Volume, got {type(spect).__name__}")
    lung = _spect_mask(lung_mask, "lung mask", spect)
    liver = _spect_mask(liver_mask, "liver mask", spect)
    _require_disjoint(lung, liver, "SPECT")
    values = np.asarray(spect.array, dtype=np.float64)
    warnings: list[str] = []
    totals = {}
    for organ, mask in (("lung", lung), ("liver", liver)):
        inside = values[mask]
        if not np.all(np.isfinite(inside)):
            raise InputError(f"the SPECT holds NaN or infinite voxels inside the {organ} mask")
        if inside.min() < 0:
            warnings.append(
                f"the SPECT has negative voxels inside the {organ} mask (minimum {inside.min():.4g}); "
                "they were summed as they are"
            )
        if _touches_edge(mask):
            warnings.append(
                f"the {organ} mask touches the edge of the SPECT field of view: the {organ} may be "
                f"truncated and its counts missed"
                + ("; a truncated lung underestimates the LSF" if organ == "lung" else "")
            )
        totals[organ] = float(inside.sum())
    if totals["liver"] <= 0:
        raise InputError(
            f"the liver mask holds no counts on the SPECT (total {totals['liver']:.6g}); check that the "
            "mask lies on the liver and that the MAA SPECT was given"
        )
    if totals["lung"] < 0:
        raise InputError(f"the lung mask holds a negative count total ({totals['lung']:.6g})")
    if totals["lung"] == 0:
        warnings.append("the lung mask holds no counts: LSF 0; check that the lungs are in the field of view")
    fraction = totals["lung"] / (totals["lung"] + totals["liver"])
    logger.info("SPECT LSF %.4f", fraction)
    return LungShunt(
        fraction=fraction,
        method=LsfMethod.SPECT,
        lung_counts=totals["lung"],
        liver_counts=totals["liver"],
        warnings=tuple(warnings),
        source=source or f"MAA SPECT {spect.geometry.describe()} ({spect.units.value})",
    )


def lsf_given(fraction: float, *, source: str) -> LungShunt:
    """An LSF taken from elsewhere (a report, another system), with where it came from.

    Raises
    ------
    InputError
        ``source`` empty, or an invalid fraction (see :class:`LungShunt`).
    """
    if not str(source).strip():
        raise InputError(
            "a given lung shunt fraction needs its source, e.g. 'MAA SPECT/CT report 2026-02-02'"
        )
    return LungShunt(fraction=fraction, method=LsfMethod.GIVEN, source=str(source).strip())


# -- lung mass --------------------------------------------------------------------------------
@dataclass(frozen=True)
class LungMass:
    """The lung mass of the lung-dose formula ``D_L = K · A · LSF / M_L``.

    Parameters
    ----------
    mass_kg:
        Lung mass, > 0.
    method:
        ``"ct_volume"`` (CT lung volume × lung density) or ``"default"`` (the constant).
    lung_volume_ml:
        The CT lung volume for ``"ct_volume"``, else ``None``.

    Raises
    ------
    InputError
        A non-positive mass or volume, an unknown method, or a volume missing for ``ct_volume``
        (present for ``default``).
    """

    mass_kg: float
    method: Literal["ct_volume", "default"]
    lung_volume_ml: float | None = None

    def __post_init__(self) -> None:
        mass = finite_number(self.mass_kg, "lung mass_kg")
        if mass <= 0:
            raise InputError(f"lung mass_kg must be > 0, got {self.mass_kg!r}")
        object.__setattr__(self, "mass_kg", mass)
        if self.method not in ("ct_volume", "default"):
            raise InputError(f"lung mass method {self.method!r} is unknown; use 'ct_volume' or 'default'")
        if self.method == "ct_volume":
            if self.lung_volume_ml is None:
                raise InputError("lung mass method 'ct_volume' needs lung_volume_ml")
            volume = finite_number(self.lung_volume_ml, "lung_volume_ml")
            if volume <= 0:
                raise InputError(f"lung_volume_ml must be > 0, got {self.lung_volume_ml!r}")
            object.__setattr__(self, "lung_volume_ml", volume)
        elif self.lung_volume_ml is not None:
            raise InputError("lung mass method 'default' takes no lung_volume_ml")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {"mass_kg": self.mass_kg, "method": self.method, "lung_volume_ml": self.lung_volume_ml}


def lung_mass(lung_volume_ml: float | None = None, constants: Y90Constants = DEFAULT_CONSTANTS) -> LungMass:
    """Lung mass from a CT lung volume (× ``constants.lung_density_g_per_ml``, DAVYR 0.3 g/mL) or
    the default ``constants.lung_mass_kg`` (1 kg, TheraSphere IFU) when no volume is known.

    The EANM SOP (Chiesa et al. 2021) recommends the patient's CT lung mass. A volume outside
    1-10 L (adult lungs hold about 2.5-6 L at inspiration) is logged as implausible: a volume
    in litres given as millilitres would make the lung dose a thousand times too high.

    Raises
    ------
    InputError
        A non-finite or non-positive volume.
    """
    if lung_volume_ml is None:
        return LungMass(mass_kg=constants.lung_mass_kg, method="default")
    volume = finite_number(lung_volume_ml, "lung_volume_ml")
    if volume <= 0:
        raise InputError(f"lung_volume_ml must be > 0, got {lung_volume_ml!r}")
    if not 1000.0 <= volume <= 10000.0:
        logger.warning("lung volume %.6g mL is outside the plausible adult range 1000-10000 mL", volume)
    return LungMass(
        mass_kg=volume * constants.lung_density_g_per_ml / 1000.0, method="ct_volume", lung_volume_ml=volume
    )
