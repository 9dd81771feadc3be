"""The synthetic patient's anatomy, defined analytically in patient LPS millimetres.

Coordinates: x to the patient's **left**, y to the **back**, z to the **head** (DICOM LPS), origin
on the midline at the level of the portal bifurcation. All organs are solids from
:mod:`nelm.phantom.shapes`; at ``scale = 1`` their sizes are those of a slim adult
(body 32 × 22.4 cm; sizes below, volumes measured by :func:`organ_volumes_ml`):

=================  ===========================================================  ============
structure          definition                                                   volume
=================  ===========================================================  ============
body outline       vertical elliptic cylinder, semi-axes 160 × 112 mm           (infinite)
subcutaneous fat   body minus an inner cylinder 142 × 95 mm                     (infinite)
liver              union of a right-lobe ellipsoid (semi-axes 62, 68, 74 mm,    ≈ 1.55 L
                   centre (-58, 8, 0)) and a left-lobe ellipsoid (70, 40,
                   38 mm, centre (22, -24, 4)), minus the IVC, the portal
                   vein, and the right kidney and spleen grown by 6 mm
spleen             ellipsoid (26, 36, 46 mm) in the left upper quadrant         ≈ 180 mL
kidneys            ellipsoids (28, 22, 52 mm) at z ≈ -60 mm                     ≈ 134 mL each
lungs              half-ellipsoids above the diaphragm plane z = 90 mm, clipped ≈ 2.9 L
                   to the chest wall; the liver dome (z ≤ 74 mm) stays 16 mm
                   below them, so lung and liver never overlap in a frontal
                   projection (planar lung-shunt images)
aorta, IVC         vertical cylinders (radius 12 and 11 mm) ending 5 mm below the
                   diaphragm plane (the thoracic course is not modelled)
portal vein        capsule (radius 7 mm) from the splenoportal confluence to
                   the hilum at the portal bifurcation (z = 0)
vertebral column   vertical cylinder, radius 18 mm
=================  ===========================================================  ============

Volumes are those of :func:`organ_volumes_ml` at ``scale = 1`` (segments 1–8 ≈ 2, 9, 7, 11,
16, 17, 21 and 17 % of the liver). Organs are disjoint solids: no voxel fraction of two organs
ever sums above one.

Couinaud-like liver segments
----------------------------
The hepatic veins are modelled as vertical planes radiating from the IVC axis
(x = -22 mm, y = 36 mm) and the portal bifurcation as the horizontal plane z = 0. With the
azimuth ``θ = atan2(-(y - y_ivc), -(x - x_ivc))`` in degrees (0° = patient right, 90° =
anterior, ±180° = patient left, -90° = posterior):

* **segment 1 (caudate)**: liver inside the vertical elliptic cylinder centred at
  (-2, 22) mm with semi-axes 24 × 16 mm, between z = 0 and z = 55 mm (takes precedence);
* right posterior section, ``-100° < θ ≤ 40°`` (behind the right hepatic vein plane):
  **7** above the portal plane, **6** below;
* right anterior section, ``40° < θ ≤ 95°`` (between right and middle hepatic vein planes):
  **8** above, **5** below;
* **segment 4** (left medial), ``95° < θ ≤ 125°`` (between the middle hepatic vein plane,
  Cantlie's line, and the umbilical fissure), not split into 4a/4b;
* left lateral section, ``θ > 125°`` or ``θ ≤ -100°``: **2** above, **3** below.

Lobes: right = segments 5–8, left = segments 2–4, caudate = segment 1 (its own lobe; counted
with the left liver for the uni-/bilobar rule in :mod:`nelm.phantom.truth`).
Reference for the scheme: Couinaud, *Le foie: études anatomiques et chirurgicales*, 1957; the
vertical-planes/portal-plane simplification is the one of Bismuth, World J Surg 1982;6:3-9.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from nelm.anatomy import LOBE_OF_SEGMENT, SEGMENTS_OF_LOBE
from nelm.errors import ConfigError
from nelm.phantom.rasterize import integrate_volume_ml
from nelm.phantom.shapes import (
    Capsule,
    Difference,
    Ellipsoid,
    EllipticCylinder,
    FloatArray,
    HalfSpace,
    Intersection,
    Shape,
    Union,
)

__all__ = [
    "LEFT_LOBE_SEGMENTS",
    "LOBE_OF_SEGMENT",
    "RIGHT_LOBE_SEGMENTS",
    "Anatomy",
    "OrganVolumes",
    "build_anatomy",
    "organ_volumes_ml",
]

#: Segments of the right lobe (right anterior 5, 8; right posterior 6, 7).
RIGHT_LOBE_SEGMENTS: Final[frozenset[int]] = frozenset(SEGMENTS_OF_LOBE["right"])
#: Segments of the left lobe (left medial 4; left lateral 2, 3).
LEFT_LOBE_SEGMENTS: Final[frozenset[int]] = frozenset(SEGMENTS_OF_LOBE["left"])

# Azimuths (degrees) of the vertical planes standing in for the hepatic veins.
_RHV_DEG: Final[float] = 40.0
_MHV_DEG: Final[float] = 95.0
_UMBILICAL_DEG: Final[float] = 125.0
_POSTERIOR_CUT_DEG: Final[float] = -100.0


@dataclass(frozen=True)
class Anatomy:
    """All organs of the synthetic patient as analytic solids (LPS mm).

    Build with :func:`build_anatomy`. ``scale`` multiplies every length about the origin.
    """

    scale: float
    body: Shape
    body_inner: Shape
    spine: Shape
    liver: Shape
    spleen: Shape
    kidney_right: Shape
    kidney_left: Shape
    lung_right: Shape
    lung_left: Shape
    aorta: Shape
    ivc: Shape
    portal_vein: Shape
    caudate_region: Shape
    ivc_axis_xy: tuple[float, float]
    portal_plane_z: float
    diaphragm_z: float

    @property
    def lungs(self) -> Shape:
        """Both lungs."""
        return Union((self.lung_right, self.lung_left))

    @property
    def kidneys(self) -> Shape:
        """Both kidneys."""
        return Union((self.kidney_right, self.kidney_left))

    def segment_of(self, x: FloatArray, y: FloatArray, z: FloatArray) -> npt.NDArray[np.int8]:
        """Couinaud-like segment (1..8) of points, by the plane rule in the module docstring.

        Defined for every point; callers restrict it to the liver.
        """
        xi, yi = self.ivc_axis_xy
        theta = np.degrees(np.arctan2(-(y - yi), -(x - xi)))
        sup = np.asarray(z >= self.portal_plane_z)
        right_post = (theta > _POSTERIOR_CUT_DEG) & (theta <= _RHV_DEG)
        right_ant = (theta > _RHV_DEG) & (theta <= _MHV_DEG)
        medial = (theta > _MHV_DEG) & (theta <= _UMBILICAL_DEG)
        seg = np.where(
            right_post,
            np.where(sup, 7, 6),
            np.where(right_ant, np.where(sup, 8, 5), np.where(medial, 4, np.where(sup, 2, 3))),
        )
        seg = np.where(self.caudate_region.contains(x, y, z), 1, seg)
        return np.asarray(seg, dtype=np.int8)

    def segment_at(self, point_mm: tuple[float, float, float]) -> int:
        """Segment of one point."""
        p = np.asarray(point_mm, dtype=float)
        return int(self.segment_of(p[0:1], p[1:2], p[2:3])[0])


def build_anatomy(scale: float = 1.0) -> Anatomy:
    """The analytic anatomy, every length multiplied by ``scale`` (0.8 to 1.25).

    Raises
    ------
    ConfigError
        If ``scale`` is outside 0.8–1.25 (beyond it organs would leave the body or overlap).
    """
    if not 0.8 <= scale <= 1.25 or not math.isfinite(scale):
        raise ConfigError(f"anatomy_scale must be between 0.8 and 1.25, got {scale}")
    s = float(scale)

    def v(*p: float) -> tuple[float, float, float]:
        return (p[0] * s, p[1] * s, p[2] * s)

    def xy(*p: float) -> tuple[float, float]:
        return (p[0] * s, p[1] * s)

    diaphragm_z = 90.0 * s
    body = EllipticCylinder(xy(0, 0), xy(160, 112))
    body_inner = EllipticCylinder(xy(0, 2), xy(142, 95))
    chest_wall = EllipticCylinder(xy(0, 2), xy(132, 85))
    spine = EllipticCylinder(xy(0, 72), xy(18, 18))
    vessel_top = diaphragm_z - 5.0 * s
    aorta = EllipticCylinder(xy(20, 40), xy(12, 12), z_max=vessel_top)
    ivc = EllipticCylinder(xy(-22, 36), xy(11, 11), z_max=vessel_top)
    portal_vein = Capsule(v(5, 5, -50), v(-25, 12, 0), 7.0 * s)
    kidney_right = Ellipsoid(v(-68, 56, -62), v(28, 22, 52))
    kidney_left = Ellipsoid(v(68, 56, -52), v(28, 22, 52))
    spleen = Ellipsoid(v(88, 36, 38), v(26, 36, 46))
    margin = 6.0 * s
    liver = Difference(
        Union((Ellipsoid(v(-58, 8, 0), v(62, 68, 74)), Ellipsoid(v(22, -24, 4), v(70, 40, 38)))),
        (
            ivc,
            portal_vein,
            Ellipsoid(kidney_right.center, tuple(a + margin for a in kidney_right.semi_axes)),  # type: ignore[arg-type]
            Ellipsoid(spleen.center, tuple(a + margin for a in spleen.semi_axes)),  # type: ignore[arg-type]
        ),
    )
    above = HalfSpace((0.0, 0.0, diaphragm_z), (0.0, 0.0, -1.0))
    lung_right = Intersection((Ellipsoid(v(-82, 12, 90), v(56, 80, 185)), above, chest_wall))
    lung_left = Intersection((Ellipsoid(v(82, 12, 90), v(52, 78, 180)), above, chest_wall))
    caudate = EllipticCylinder(xy(-2, 22), xy(24, 16), z_min=0.0, z_max=55.0 * s)
    return Anatomy(
        scale=s,
        body=body,
        body_inner=body_inner,
        spine=spine,
        liver=liver,
        spleen=spleen,
        kidney_right=kidney_right,
        kidney_left=kidney_left,
        lung_right=lung_right,
        lung_left=lung_left,
        aorta=aorta,
        ivc=ivc,
        portal_vein=portal_vein,
        caudate_region=caudate,
        ivc_axis_xy=xy(-22, 36),
        portal_plane_z=0.0,
        diaphragm_z=diaphragm_z,
    )


@dataclass(frozen=True)
class OrganVolumes:
    """High-resolution organ volumes (mL) of an :class:`Anatomy`.

    Computed by :func:`nelm.phantom.rasterize.integrate_volume_ml` on a 2 mm grid with 4×4×4
    supersampling at the surfaces (the liver has no closed-form volume; the method reproduces
    4/3·π·abc of an organ-sized ellipsoid to 0.1 %, see the tests); segment volumes give each
    fine voxel to the segment of its centre.
    """

    liver_ml: float
    segments_ml: dict[int, float]
    spleen_ml: float
    kidneys_ml: float
    lungs_ml: float
    method: str


@functools.lru_cache(maxsize=8)
def organ_volumes_ml(scale: float = 1.0) -> OrganVolumes:
    """High-resolution organ volumes of ``build_anatomy(scale)`` (cached per scale)."""
    anatomy = build_anatomy(scale)
    spacing = 2.0
    liver, segments = integrate_volume_ml(anatomy.liver, spacing_mm=spacing, labeler=anatomy.segment_of)
    spleen, _ = integrate_volume_ml(anatomy.spleen, spacing_mm=spacing)
    kidneys = sum(
        integrate_volume_ml(k, spacing_mm=spacing)[0] for k in (anatomy.kidney_right, anatomy.kidney_left)
    )
    lungs = sum(
        integrate_volume_ml(lg, spacing_mm=spacing)[0] for lg in (anatomy.lung_right, anatomy.lung_left)
    )
    return OrganVolumes(
        liver_ml=liver,
        segments_ml={int(k): float(val) for k, val in segments.items()},
        spleen_ml=spleen,
        kidneys_ml=kidneys,
        lungs_ml=lungs,
        method=f"partial-volume integration on a {spacing:g} mm grid, 4x4x4 supersampled at surfaces",
    )
