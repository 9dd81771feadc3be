"""The patient rasterised on one grid: tissue fractions, value painting and truth masks.

An :class:`AnatomyScene` holds the partial-volume fraction (and voxel-centre mask) of every
organ on one grid, plus the liver segment of every voxel centre; :class:`LesionScene` does the
same for one lesion (and its necrotic core) at one time point. Organs do not change between
time points, so a scene is computed once per grid and reused for every phase and study on it.

Painting
--------
An image is composed as nested layers, each replacing the value beneath it in proportion to
its partial-volume fraction ``f``::

    air → body (subcutaneous fat) → inner body (soft tissue) → organs → lesions → necrotic cores
    image += (v_layer - v_beneath) · f_layer

Because a layer lies inside the one beneath (an organ inside the inner body, a lesion inside
the liver, a core inside its lesion) and sibling layers are disjoint, this is exactly the
fraction-weighted mean of the tissue values in each voxel.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from nelm.imaging.geometry import Geometry
from nelm.imaging.labelmap import Label, LabelMap
from nelm.phantom.anatomy import Anatomy
from nelm.phantom.lesions import LesionState
from nelm.phantom.rasterize import DEFAULT_SUPERSAMPLING, Field, grid_coordinates, rasterize

__all__ = [
    "ORGANS",
    "AnatomyScene",
    "LesionScene",
    "Value",
    "anatomy_scene",
    "lesion_labelmap",
    "lesion_scenes",
    "paint",
]

#: Organ layers painted over the inner body, in order (all disjoint).
ORGANS: Final[tuple[str, ...]] = (
    "spine",
    "lung_right",
    "lung_left",
    "liver",
    "spleen",
    "kidney_right",
    "kidney_left",
    "aorta",
    "ivc",
    "portal_vein",
)

#: A tissue value: a number, or (liver only) an array over the liver field's box.
Value = float | npt.NDArray[np.floating]


@dataclass(frozen=True, eq=False)
class AnatomyScene:
    """Organ fractions on one grid.

    Parameters
    ----------
    geometry:
        The grid.
    fields:
        ``"body"``, ``"body_inner"`` and every name in :data:`ORGANS` → :class:`Field`.
    segments:
        Couinaud-like segment (1..8) of each voxel centre in the liver field's box, 0 where the
        centre is outside the liver.
    """

    geometry: Geometry
    fields: Mapping[str, Field]
    segments: npt.NDArray[np.int8]

    @property
    def liver(self) -> Field:
        """The liver field."""
        return self.fields["liver"]

    def full_mask(self, *names: str) -> npt.NDArray[np.bool_]:
        """Voxel-centre mask of the union of the named organs on the whole grid."""
        out = np.zeros(self.geometry.shape, dtype=bool)
        for name in names:
            f = self.fields[name]
            if not f.is_empty:
                out[f.slices] |= f.inside
        return out

    def segment_array(self) -> npt.NDArray[np.uint8]:
        """Segments (0 outside the liver) on the whole grid."""
        out = np.zeros(self.geometry.shape, dtype=np.uint8)
        if not self.liver.is_empty:
            out[self.liver.slices] = self.segments
        return out

    def territory_weight(self, segments: frozenset[int]) -> npt.NDArray[np.float32]:
        """1 where the liver voxel centre lies in one of ``segments``, else 0 (liver box)."""
        return np.isin(self.segments, sorted(segments)).astype(np.float32)


@dataclass(frozen=True, eq=False)
class LesionScene:
    """One present lesion rasterised on a grid."""

    state: LesionState
    field: Field
    core: Field | None


def anatomy_scene(
    anatomy: Anatomy, geometry: Geometry, *, supersampling: int = DEFAULT_SUPERSAMPLING
) -> AnatomyScene:
    """Rasterise every organ of ``anatomy`` on ``geometry``."""
    shapes = {
        "body": anatomy.body,
        "body_inner": anatomy.body_inner,
        "spine": anatomy.spine,
        "lung_right": anatomy.lung_right,
        "lung_left": anatomy.lung_left,
        "liver": anatomy.liver,
        "spleen": anatomy.spleen,
        "kidney_right": anatomy.kidney_right,
        "kidney_left": anatomy.kidney_left,
        "aorta": anatomy.aorta,
        "ivc": anatomy.ivc,
        "portal_vein": anatomy.portal_vein,
    }
    fields = {name: rasterize(shape, geometry, supersampling=supersampling) for name, shape in shapes.items()}
    liver = fields["liver"]
    if liver.is_empty:
        segments = np.zeros((0, 0, 0), dtype=np.int8)
    else:
        x, y, z = grid_coordinates(geometry, liver.start, liver.stop)
        seg = np.broadcast_to(anatomy.segment_of(x, y, z), liver.box_shape)
        segments = np.where(np.broadcast_to(liver.inside, liver.box_shape), seg, 0).astype(np.int8)
    return AnatomyScene(geometry=geometry, fields=fields, segments=segments)


def lesion_scenes(
    states: Sequence[LesionState], geometry: Geometry, *, supersampling: int = DEFAULT_SUPERSAMPLING
) -> tuple[LesionScene, ...]:
    """Rasterise the present lesions (and their cores) on ``geometry``."""
    out = []
    for state in states:
        if not state.present:
            continue
        core_shape = state.core_shape()
        out.append(
            LesionScene(
                state=state,
                field=rasterize(state.shape(), geometry, supersampling=supersampling),
                core=None
                if core_shape is None
                else rasterize(core_shape, geometry, supersampling=supersampling),
            )
        )
    return tuple(out)


def _liver_value_at(liver: Field, value: Value, field: Field) -> Value:
    """The liver value over ``field``'s box (``field`` lies within the liver box)."""
    if np.ndim(value) == 0:
        return float(value)
    arr = np.asarray(value)
    sl = tuple(
        slice(f0 - l0, f1 - l0) for f0, f1, l0 in zip(field.start, field.stop, liver.start, strict=True)
    )
    return np.asarray(arr[sl])


def paint(
    scene: AnatomyScene,
    lesions: Sequence[LesionScene],
    values: Mapping[str, Value],
    lesion_values: Mapping[int, tuple[float, float]],
) -> npt.NDArray[np.float32]:
    """Compose an image from tissue values (see the module docstring).

    Parameters
    ----------
    values:
        ``"air"``, ``"fat"`` (body), ``"soft"`` (inner body) and every organ of :data:`ORGANS`.
        ``values["liver"]`` may be an array over the liver field's box (e.g. a perfused
        territory).
    lesion_values:
        Lesion number → (viable tumour value, necrotic core value).
    """
    img = np.full(scene.geometry.shape, values["air"], dtype=np.float32)

    def add(field: Field, delta: Value) -> None:
        if field.is_empty:
            return
        d = np.asarray(delta, dtype=np.float32) if np.ndim(delta) else np.float32(delta)
        img[field.slices] += d * field.fraction

    add(scene.fields["body"], float(values["fat"]) - float(values["air"]))
    add(scene.fields["body_inner"], float(values["soft"]) - float(values["fat"]))
    for organ in ORGANS:
        v = values[organ]
        add(scene.fields[organ], (np.asarray(v) if np.ndim(v) else float(v)) - float(values["soft"]))
    liver = scene.liver
    for les in lesions:
        viable, core = lesion_values[les.state.lesion.number]
        beneath = _liver_value_at(liver, values["liver"], les.field)
        add(les.field, viable - beneath)
        if les.core is not None:
            add(les.core, core - viable)
    return img


def lesion_labelmap(scene: AnatomyScene, lesions: Sequence[LesionScene], source: str = "") -> LabelMap:
    """One label per present lesion (value = tracking number, name ``lesion L<n>``).

    Every present lesion is listed, even when it is smaller than a voxel and no voxel centre
    falls inside it (its truth voxel count is then 0).
    """
    arr = np.zeros(scene.geometry.shape, dtype=np.uint16)
    labels = {}
    for les in lesions:
        n = les.state.lesion.number
        labels[n] = Label(n, f"lesion {les.state.tracking_id}", tracking_id=les.state.tracking_id)
        if not les.field.is_empty:
            arr[les.field.slices][np.broadcast_to(les.field.inside, les.field.box_shape)] = n
    return LabelMap(array=arr, geometry=scene.geometry, labels=labels, source=source)
