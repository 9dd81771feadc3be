"""DICOM Segmentation (SEG) objects to and from :class:`~nelm.imaging.labelmap.LabelMap`.

Reading (:func:`read_seg`, :func:`read_seg_segments`) and writing (:func:`write_seg`) use
highdicom (``highdicom.seg.Segmentation``) for the parsing, frame decoding and encoding; the
geometry — where each frame lies on a grid — is done here, explicitly, in nelm's convention
(array ``[slice, row, column]``, affine to LPS mm; DESIGN §4).

Segmentation types (DICOM PS3.3 C.8.20.2, Segmentation Image Module)
--------------------------------------------------------------------
``BINARY``
    One 1-bit frame per segment and plane; 1 means "in the segment".
``FRACTIONAL``
    8-bit frames holding a probability or an occupancy scaled to ``MaximumFractionalValue``
    (PS3.3 C.8.20.2.3). nelm thresholds at one half: a pixel belongs to the segment when its
    stored value ``v`` satisfies ``2·v ≥ MaximumFractionalValue`` (probability or occupancy
    ≥ 0.5). The comparison is exact integer arithmetic, so no pixel at the boundary flips with
    floating-point rounding.
``LABELMAP``
    Label Map Segmentation Storage (DICOM Supplement 243, 2024; highdicom ≥ 0.23): one frame
    per plane whose pixel values are segment numbers; the background is
    ``PixelPaddingValue`` (0 when highdicom writes it).

Geometry
--------
Every frame carries (per frame or shared) Plane Position (Patient), Plane Orientation
(Patient) and Pixel Measures. A frame is *placed* on a grid by mapping its corner pixel
centres through the grid's inverse affine: they must land on integer voxel indices within
``tolerance_mm`` (default :data:`PLANE_TOLERANCE_MM`), the frame's rows and columns must run
along grid axes (flips and axis permutations of the grid are allowed), and its normal along the
remaining axis. A frame between two slices, a frame with another pixel spacing or orientation,
or one that falls outside the grid with segmented pixels, raises
:class:`~nelm.errors.GeometryError` naming both grids. SEGs usually omit empty frames; their
slices are simply left empty.

Without a reference grid the grid is derived from the SEG itself: in-plane axes from the
orientation and pixel spacing, slice direction ``n = row cosines × column cosines`` (slices
ascend along ``n``: feet to head for axial planes, orientation ``SPL`` as for a DICOM CT read
by nelm), slice spacing from Spacing Between Slices (0018,0088) when present and consistent
with the frame positions, else the smallest step between distinct frame positions, and empty
slices filled in between.

Writing
-------
:func:`write_seg` places one segment per label; the label map must lie on the grid of the
source series (checked with :meth:`Geometry.require_same`). Segmented property codes come from
SNOMED CT via ``pydicom.sr.codedict`` (see :data:`PROPERTY_KINDS`). Tracking UIDs that the
label does not carry are derived deterministically (see :func:`tracking_uid_for`). Image
Comments (0020,4000) carries nelm's research-use disclaimer.

Modules
-------
:mod:`~nelm.imaging.seg.read`
    :func:`read_seg`, :func:`read_seg_segments`.
:mod:`~nelm.imaging.seg.write`
    :func:`write_seg`.
:mod:`~nelm.imaging.seg.planes`
    Frame planes and their placement on a grid (:data:`PLANE_TOLERANCE_MM`).
:mod:`~nelm.imaging.seg.codes`
    Segmented property codes (:data:`PROPERTY_KINDS`, :func:`property_codes`) and
    :func:`tracking_uid_for`.
:mod:`~nelm.imaging.seg.highdicom_log`
    highdicom's warnings routed to the log.
"""

from __future__ import annotations

from nelm.imaging.seg.codes import PROPERTY_KINDS, property_codes, tracking_uid_for
from nelm.imaging.seg.planes import PLANE_TOLERANCE_MM
from nelm.imaging.seg.read import SEG_SOP_CLASS_UIDS, read_seg, read_seg_segments
from nelm.imaging.seg.write import LABELMAP_MIN_HIGHDICOM, SegmentationType, write_seg

__all__ = [
    "LABELMAP_MIN_HIGHDICOM",
    "PLANE_TOLERANCE_MM",
    "PROPERTY_KINDS",
    "SEG_SOP_CLASS_UIDS",
    "SegmentationType",
    "property_codes",
    "read_seg",
    "read_seg_segments",
    "tracking_uid_for",
    "write_seg",
]
