"""Lesion tracking across time points (nelm.response.tracking) on synthetic label maps.

Every expected value is derived here from the construction: which sphere or box sits where,
how many voxels two boxes share (Dice and containment counted by hand), which phantom lesion
the truth says disappeared or is new.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from fractions import Fraction

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from nelm.errors import ConfigError, InputError, MaskError
from nelm.imaging.geometry import Geometry
from nelm.imaging.labelmap import Label, LabelMap
from nelm.phantom import PhantomConfig, SyntheticPatient, generate_patient
from nelm.phantom.config import AcquisitionConfig, FollowUpConfig, LesionChange
from nelm.response.tracking import (
    Method,
    Outcome,
    TrackingResult,
    TrackingSettings,
    follow_up_ids,
    track_lesions,
)

Point = tuple[float, float, float]
Sphere = tuple[str, Point, float]  # tracking ID ("" for none), centre LPS mm, radius mm

# Axial grid: slices along S (z), rows along P (y), columns along L (x).
_AXIAL = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])


def _grid(
    n: int = 48, spacing: float = 1.0, origin: Point = (0.0, 0.0, 0.0), directions: npt.ArrayLike = _AXIAL
) -> Geometry:
    return Geometry.from_spacing((n, n, n), (spacing, spacing, spacing), origin, directions)


def _points(g: Geometry) -> npt.NDArray[np.float64]:
    idx = np.indices(g.shape).reshape(3, -1).T
    return g.index_to_world(idx).reshape((*g.shape, 3))


def _spheres(g: Geometry, spheres: Sequence[Sphere], source: str = "") -> LabelMap:
    """One label per sphere (value = position in the list + 1), voxel centres within the radius."""
    pts = _points(g)
    arr = np.zeros(g.shape, dtype=np.uint16)
    labels = {}
    for value, (tid, centre, radius) in enumerate(spheres, start=1):
        arr[np.linalg.norm(pts - np.asarray(centre), axis=-1) <= radius] = value
        labels[value] = Label(value, f"lesion {tid or value}", tid)
    return LabelMap(array=arr, geometry=g, labels=labels, source=source)


def _binary(lm: LabelMap) -> LabelMap:
    return LabelMap.from_binary(lm.array > 0, lm.geometry, "lesions", source=lm.source)


def _liver(g: Geometry, centre: Point, radius: float = 12.0) -> LabelMap:
    pts = _points(g)
    return LabelMap.from_binary(np.linalg.norm(pts - np.asarray(centre), axis=-1) <= radius, g, "liver")


def _by_ref(result: TrackingResult) -> dict[str, tuple[Outcome, tuple[str, ...]]]:
    return {d.reference_id: (d.outcome, d.follow_up_ids) for d in result.decisions if d.reference_id}


def _new(result: TrackingResult) -> dict[str, str]:
    """New follow-up lesion → its tracking ID."""
    return {d.follow_up_ids[0]: str(d.tracking_id) for d in result.with_outcome(Outcome.NEW)}


def _dice(a: npt.NDArray[np.bool_], b: npt.NDArray[np.bool_]) -> float:
    return 2.0 * np.count_nonzero(a & b) / (np.count_nonzero(a) + np.count_nonzero(b))


# -- identity, renumbering, consistent IDs ----------------------------------------------------------
def test_identical_ids_match_by_id_and_overlap() -> None:
    g = _grid()
    ref = _spheres(g, [("L1", (12, 12, 12), 6), ("L2", (34, 34, 30), 5)])
    fu = _spheres(g, [("L1", (12, 12, 12), 4), ("L2", (34, 34, 30), 6)])
    r = track_lesions(ref, fu)
    assert _by_ref(r) == {"L1": (Outcome.MATCHED, ("L1",)), "L2": (Outcome.MATCHED, ("L2",))}
    assert all(d.method is Method.ID_OVERLAP for d in r.decisions)
    assert follow_up_ids(r) == {"L1": "L1", "L2": "L2"}
    # Dice counted here on the arrays; the centroids coincide (concentric spheres)
    d1 = r.decision("L1")
    assert d1.dice == pytest.approx(_dice(ref.array == 1, fu.array == 1))
    assert d1.contained == 1.0  # the shrunk sphere lies inside the original
    assert d1.distance_mm == pytest.approx(0.0, abs=1e-9)
    assert r.translation_mm is None


def test_renumbered_labels_match_by_overlap() -> None:
    g = _grid()
    ref = _spheres(g, [("L1", (12, 12, 12), 6), ("L2", (34, 34, 30), 5)])
    # labels without tracking IDs, in the other order: IDs are the defaults L1 (value 1), L2
    fu = _spheres(g, [("", (34, 34, 30), 5), ("", (12, 12, 12), 6)])
    r = track_lesions(ref, fu)
    assert _by_ref(r) == {"L1": (Outcome.MATCHED, ("L2",)), "L2": (Outcome.MATCHED, ("L1",))}
    assert all(d.method is Method.OVERLAP for d in r.decisions)
    assert follow_up_ids(r) == {"L2": "L1", "L1": "L2"}
    assert r.decision("L1").dice == 1.0  # the same sphere on the same grid


def test_swapped_tracking_ids_are_not_trusted_without_overlap() -> None:
    g = _grid()
    ref = _spheres(g, [("L1", (12, 12, 12), 6), ("L2", (34, 34, 30), 5)])
    fu = _spheres(g, [("L2", (12, 12, 12), 6), ("L1", (34, 34, 30), 5)])
    r = track_lesions(ref, fu)
    assert follow_up_ids(r) == {"L2": "L1", "L1": "L2"}
    assert all(d.method is Method.OVERLAP for d in r.decisions)


def test_same_id_links_below_the_overlap_thresholds() -> None:
    g = _grid()
    ref = _spheres(g, [("L1", (20, 20, 20), 6)])
    # shifted by 11 mm: a sliver overlaps (Dice < 0.1, far less than half inside)
    fu_same = _spheres(g, [("L1", (31, 20, 20), 6)])
    fu_other = _spheres(g, [("X", (31, 20, 20), 6)])
    m1, m2 = ref.array == 1, fu_same.array == 1
    assert 0 < _dice(m1, m2) < 0.1
    s = TrackingSettings(max_centroid_distance_mm=5.0, centroid_distance_diameter_fraction=0.0)
    same = track_lesions(ref, fu_same, settings=s)
    assert _by_ref(same) == {"L1": (Outcome.MATCHED, ("L1",))}
    assert same.decision("L1").method is Method.ID_OVERLAP
    other = track_lesions(ref, fu_other, settings=s)  # 11 mm > 5 mm: no centroid match either
    assert _by_ref(other) == {"L1": (Outcome.DISAPPEARED, ())}
    assert _new(other) == {"X": "X"}


# -- alignment and grids ------------------------------------------------------------------------
def test_liver_centroid_alignment_recovers_a_translation() -> None:
    g = _grid(64)
    shift = np.array([14.0, -11.0, 9.0])  # a whole number of 1 mm voxels
    liver_c = np.array([30.0, 34.0, 30.0])  # the liver stays inside the grid at both time points
    lesions = [("L1", (24.0, 30.0, 26.0), 4.0), ("L2", (38.0, 38.0, 34.0), 3.0)]
    ref = _spheres(g, lesions)
    moved = [(tid, tuple(np.asarray(c) + shift), rad) for tid, c, rad in lesions]
    fu = _spheres(g, [("", c, rad) for _, c, rad in moved])
    ref_liver, fu_liver = _liver(g, tuple(liver_c)), _liver(g, tuple(liver_c + shift))
    plain = track_lesions(ref, fu)  # 20 mm apart, no overlap: nothing matches
    assert {o for o, _ in _by_ref(plain).values()} == {Outcome.DISAPPEARED}
    assert len(_new(plain)) == 2
    aligned = track_lesions(ref, fu, reference_liver=ref_liver, follow_up_liver=fu_liver)
    assert aligned.translation_mm == pytest.approx(tuple(shift), abs=1e-9)
    assert _by_ref(aligned) == {"L1": (Outcome.MATCHED, ("L1",)), "L2": (Outcome.MATCHED, ("L2",))}
    assert all(d.dice == 1.0 and d.method is Method.OVERLAP for d in aligned.decisions)
    off = track_lesions(
        ref,
        fu,
        reference_liver=ref_liver,
        follow_up_liver=fu_liver,
        settings=TrackingSettings(align_livers=False),
    )
    assert off.translation_mm is None
    assert len(off.with_outcome(Outcome.NEW)) == 2


@settings(max_examples=12, deadline=None)
@given(st.tuples(*(st.integers(-12, 12) for _ in range(3))))
def test_any_translation_of_the_whole_scene_is_undone(shift_mm: tuple[int, int, int]) -> None:
    g = _grid(56)
    liver_c = np.array([28.0, 28.0, 28.0])
    lesions = [("L1", (22.0, 24.0, 26.0), 3.5), ("L2", (34.0, 31.0, 30.0), 3.0)]
    ref = _spheres(g, lesions)
    fu = _spheres(g, [("", tuple(np.asarray(c) + shift_mm), rad) for _, c, rad in lesions])
    r = track_lesions(
        ref,
        fu,
        reference_liver=_liver(g, tuple(liver_c)),
        follow_up_liver=_liver(g, tuple(liver_c + shift_mm)),
    )
    assert follow_up_ids(r) == {"L1": "L1", "L2": "L2"}
    assert all(d.dice == 1.0 for d in r.decisions)


def test_follow_up_on_a_coarser_flipped_grid() -> None:
    g = _grid(48)
    ref = _spheres(g, [("L1", (14, 14, 14), 6), ("L2", (32, 30, 34), 5), ("L3", (36, 12, 12), 4)])
    # 2 mm voxels, origin off by half a reference voxel, rows running anterior (−y)
    flipped = np.array([[0.0, 0.0, 1.0], [0.0, -1.0, 0.0], [1.0, 0.0, 0.0]])
    g2 = _grid(26, 2.0, (-0.5, 49.5, -0.5), flipped)
    fu = _spheres(g2, [("", (32, 30, 34), 5), ("", (36, 12, 12), 4), ("", (14, 14, 14), 6)])
    r = track_lesions(ref, fu)
    assert follow_up_ids(r) == {"L3": "L1", "L1": "L2", "L2": "L3"}
    # nearest neighbour done here: each reference voxel centre takes the follow-up voxel whose
    # index is the rounded fractional index (no ties on these grids)
    idx = np.rint(g2.world_to_index(_points(g).reshape(-1, 3))).astype(int)
    inside = np.all((idx >= 0) & (idx < 26), axis=1)
    on_ref = np.zeros(idx.shape[0], dtype=np.int64)
    on_ref[inside] = fu.array[tuple(idx[inside].T)]
    on_ref = on_ref.reshape(g.shape)
    for d in r.decisions:
        assert d.method is Method.OVERLAP
        rv, fv = int(d.reference_id[1:]), int(d.follow_up_ids[0][1:])  # type: ignore[index]
        assert d.dice == pytest.approx(_dice(ref.array == rv, on_ref == fv), abs=1e-12)
        assert d.distance_mm is not None
        assert d.distance_mm < 1.0  # the same sphere, voxelised twice


def test_follow_up_grid_reaching_beyond_the_reference() -> None:
    g = _grid(32)  # 0..31 mm
    big = _grid(64, 1.0, (-16.0, -16.0, -16.0))  # -16..47 mm
    ref = _spheres(g, [("L1", (16, 16, 16), 5)])
    fu = _spheres(big, [("L1", (16, 16, 16), 5), ("X", (40, 40, 40), 4), ("Y", (-10, 16, 16), 3)])
    r = track_lesions(ref, fu)
    assert r.decision("L1").dice == 1.0
    assert _new(r) == {"X": "X", "Y": "Y"}  # outside the reference field of view
    only_outside = _spheres(big, [("X", (40, 40, 40), 4)])
    assert _by_ref(track_lesions(ref, only_outside)) == {"L1": (Outcome.DISAPPEARED, ())}


# -- split, coalesced, disappeared, new ----------------------------------------------------------
def test_split_into_two_components() -> None:
    g = _grid()
    ref = _spheres(g, [("L1", (24, 24, 24), 9)])
    fu = _binary(_spheres(g, [("", (19, 24, 24), 4), ("", (30, 24, 24), 3)]))  # both inside L1
    r = track_lesions(ref, fu)
    d = r.decision("L1")
    # components: the larger (radius 4) is L1, the smaller L2
    assert (d.outcome, d.follow_up_ids, d.tracking_id) == (Outcome.SPLIT, ("L1", "L2"), "L1")
    assert d.contained == 1.0
    assert follow_up_ids(r) == {"L1": "L1", "L2": "L1"}
    assert not r.with_outcome(Outcome.NEW)


def test_coalesced_into_the_largest_overlap() -> None:
    g = _grid()
    ref = _spheres(g, [("L1", (18, 24, 24), 5), ("L2", (30, 24, 24), 4), ("L3", (8, 8, 40), 3)])
    fu = _spheres(g, [("M", (24, 24, 24), 13), ("L3", (8, 8, 40), 3)])  # M holds L1 and L2 whole
    r = track_lesions(ref, fu)
    l1, l2 = r.decision("L1"), r.decision("L2")
    assert (l1.outcome, l1.follow_up_ids, l1.tracking_id, l1.absorbs) == (
        Outcome.MATCHED,
        ("M",),
        "L1",
        ("L2",),
    )
    assert (l2.outcome, l2.coalesced_into, l2.tracking_id, l2.follow_up_ids) == (
        Outcome.COALESCED,
        "L1",
        None,
        ("M",),
    )
    assert r.decision("L3").method is Method.ID_OVERLAP
    assert follow_up_ids(r) == {"M": "L1", "L3": "L3"}


def test_a_lesion_keeping_its_own_fragment_is_not_coalesced() -> None:
    g = _grid()
    ref = _spheres(g, [("A", (12, 24, 24), 6), ("B", (26, 24, 24), 6)])
    x = ("X", (18.5, 24.0, 24.0), 6.0)  # between A and B, nearer A
    y = ("Y", (30.0, 24.0, 24.0), 3.0)  # mostly inside B
    both = _spheres(g, [x, y])
    a, b, fx, fy = ref.array == 1, ref.array == 2, both.array == 1, both.array == 2
    # premises, counted here: X is linked to both (Dice ≥ 0.1) and shares more with A; Y lies in B
    assert np.count_nonzero(a & fx) > np.count_nonzero(b & fx) > 0
    assert _dice(b, fx) >= 0.1
    assert np.count_nonzero(b & fy) / np.count_nonzero(fy) >= 0.5
    r = track_lesions(ref, both)
    assert _by_ref(r) == {"A": (Outcome.MATCHED, ("X",)), "B": (Outcome.MATCHED, ("Y",))}
    # without Y, B owns nothing: it coalesced into A through X
    r2 = track_lesions(ref, _spheres(g, [x]))
    assert (r2.decision("B").outcome, r2.decision("B").coalesced_into) == (Outcome.COALESCED, "A")
    assert r2.decision("A").absorbs == ("B",)


def test_disappeared_and_new_lesions() -> None:
    g = _grid()
    ref = _spheres(g, [("L1", (12, 12, 12), 5), ("L2", (36, 36, 36), 4)])
    fu = _spheres(
        g,
        [
            ("L1", (12, 12, 12), 5),
            ("L9", (36, 12, 36), 3),  # unused ID: kept
            ("", (12, 36, 36), 3),  # no ID: N1
            ("L2", (24, 40, 8), 3),  # a reference ID, but far from L2: a new ID
        ],
    )
    r = track_lesions(ref, fu)
    assert _by_ref(r) == {"L1": (Outcome.MATCHED, ("L1",)), "L2": (Outcome.DISAPPEARED, ())}
    dis = r.decision("L2")
    assert dis.method is None
    assert dis.tracking_id is None
    assert dis.follow_up_ids == ()
    assert _new(r) == {"L9": "L9", "L3": "N1", "L2": "N2"}
    assert follow_up_ids(r) == {"L1": "L1", "L9": "L9", "L3": "N1", "L2": "N2"}


def test_new_ids_avoid_reserved_and_kept_ids() -> None:
    g = _grid()
    ref = _spheres(g, [("L1", (12, 12, 12), 5)])
    fu = _spheres(g, [("L1", (12, 12, 12), 5), ("N1", (36, 36, 36), 3), ("", (36, 12, 36), 3)])
    r = track_lesions(ref, fu, reserved_ids={"N2"})
    assert _new(r) == {"N1": "N1", "L3": "N3"}  # N1 is taken by the label, N2 reserved
    r2 = track_lesions(ref, fu, reserved_ids={"N1"}, settings=TrackingSettings(new_id_prefix="T"))
    assert _new(r2) == {"N1": "T1", "L3": "T2"}


def test_empty_maps() -> None:
    g = _grid(24)
    empty = LabelMap(array=np.zeros(g.shape, np.uint8), geometry=g, labels={})
    one = _spheres(g, [("L1", (12, 12, 12), 4)])
    assert _by_ref(track_lesions(one, empty)) == {"L1": (Outcome.DISAPPEARED, ())}
    assert _new(track_lesions(empty, one)) == {"L1": "L1"}


# -- centroid matching ------------------------------------------------------------------------
def test_centroid_match_without_overlap_at_the_limit() -> None:
    g = _grid()
    ref = _spheres(g, [("L1", (20, 20, 20), 2)])
    s = TrackingSettings()  # 10 mm; half of a ~4 mm sphere's diameter is below that
    at = track_lesions(ref, _spheres(g, [("", (30, 20, 20), 2)]), settings=s)
    d = at.decision("L1")
    assert (d.outcome, d.method, d.follow_up_ids) == (Outcome.MATCHED, Method.CENTROID, ("L1",))
    assert d.distance_mm == 10.0  # symmetric spheres: exact centroids
    assert d.dice == 0.0
    beyond = track_lesions(ref, _spheres(g, [("", (31, 20, 20), 2)]), settings=s)
    assert beyond.decision("L1").outcome is Outcome.DISAPPEARED


def test_centroid_limit_grows_with_the_lesion() -> None:
    g = _grid()
    ref = _spheres(g, [("L1", (20, 24, 24), 6)])
    fu = _spheres(g, [("", (31, 24, 24), 2)])  # 11 mm away, a 3 mm gap: no overlap
    diameter = (6 * np.count_nonzero(ref.array) / np.pi) ** (1 / 3)  # 1 mm³ voxels
    assert 11 < diameter < 12.5
    wide = TrackingSettings(max_centroid_distance_mm=5.0, centroid_distance_diameter_fraction=1.0)
    d = track_lesions(ref, fu, settings=wide).decision("L1")
    assert (d.outcome, d.method, d.distance_mm) == (Outcome.MATCHED, Method.CENTROID, 11.0)
    narrow = TrackingSettings(max_centroid_distance_mm=5.0, centroid_distance_diameter_fraction=0.5)
    assert track_lesions(ref, fu, settings=narrow).decision("L1").outcome is Outcome.DISAPPEARED


def test_centroid_pairs_closest_first() -> None:
    g = _grid()
    ref = _spheres(g, [("A", (10, 24, 24), 2), ("B", (20, 24, 24), 2)])
    fu = _spheres(g, [("", (16, 24, 24), 2), ("", (27, 24, 24), 2)])  # 6/4 mm and 17/7 mm
    r = track_lesions(ref, fu)
    # closest pair first: B–L1 (4 mm); then A–L2 is 17 mm (> 10): A disappears, L2 is new
    assert _by_ref(r) == {"A": (Outcome.DISAPPEARED, ()), "B": (Outcome.MATCHED, ("L1",))}
    assert r.decision("B").method is Method.CENTROID  # they touch in one voxel: far below the thresholds
    assert _new(r) == {"L2": "N1"}


# -- overlap thresholds, exactly at and either side -------------------------------------------
def _boxes(g: Geometry, boxes: Sequence[tuple[str, tuple[slice, slice, slice]]]) -> LabelMap:
    arr = np.zeros(g.shape, dtype=np.uint8)
    for v, (_, box) in enumerate(boxes, start=1):
        arr[box] = v
    return LabelMap(arr, g, {v: Label(v, f"lesion {t}", t) for v, (t, _) in enumerate(boxes, start=1)})


@pytest.mark.parametrize(("shift", "linked"), [(6, True), (7, True), (8, False)])
def test_dice_threshold_is_inclusive(shift: int, linked: bool) -> None:
    g = _grid(40)
    ref = _boxes(g, [("A", np.s_[5:15, 5:15, 5:15])])  # 1000 voxels
    fu = _boxes(g, [("B", np.s_[5:15, 5:15, 5 + shift : 15 + shift])])  # shares (10 − shift)·100
    # Dice = 2·(10 − shift)·100 / 2000 = (10 − shift)/10: 0.4, 0.3 (at the threshold), 0.2
    s = TrackingSettings(
        min_dice=Fraction(3, 10),
        min_contained_fraction=Fraction(9, 10),
        max_centroid_distance_mm=0.0,
        centroid_distance_diameter_fraction=0.0,
    )
    d = track_lesions(ref, fu, settings=s).decision("A")
    assert d.outcome is (Outcome.MATCHED if linked else Outcome.DISAPPEARED)
    if linked:
        assert d.dice == (10 - shift) / 10


@pytest.mark.parametrize(("inside", "linked"), [(6, True), (5, True), (4, False)])
def test_containment_threshold_is_inclusive(inside: int, linked: bool) -> None:
    g = _grid(40)
    ref = _boxes(g, [("A", np.s_[5:15, 5:15, 5:15])])  # 1000 voxels
    fu = _boxes(g, [("B", np.s_[5:15, 5:15, 15 - inside : 25 - inside])])  # 10x10x10, `inside` columns in A
    small = _boxes(g, [("B", np.s_[5:15, 5:7, 15 - inside : 25 - inside])])  # 200 voxels, inside·20 shared
    # contained = inside·20 / 200 = inside/10: 0.6, 0.5 (at the threshold), 0.4; Dice ≤ 0.2
    s = TrackingSettings(
        min_dice=Fraction(9, 10),
        min_contained_fraction=Fraction(1, 2),
        max_centroid_distance_mm=0.0,
        centroid_distance_diameter_fraction=0.0,
    )
    d = track_lesions(ref, small, settings=s).decision("A")
    assert d.outcome is (Outcome.MATCHED if linked else Outcome.DISAPPEARED)
    if linked:
        assert d.contained == inside / 10
    # the same overlap between equal boxes is below both thresholds (Dice = contained = inside/10)
    assert track_lesions(ref, fu, settings=s).decision("A").outcome is (
        Outcome.MATCHED if inside / 10 >= 0.5 else Outcome.DISAPPEARED
    )


# -- overrides -------------------------------------------------------------------------------
def test_override_forces_a_match_a_split_and_a_new_lesion() -> None:
    g = _grid()
    ref = _spheres(g, [("L1", (12, 12, 12), 5), ("L2", (36, 36, 36), 4)])
    fu = _spheres(g, [("A", (12, 12, 12), 5), ("B", (36, 12, 36), 3), ("C", (12, 36, 36), 3)])
    auto = track_lesions(ref, fu)
    assert _by_ref(auto) == {"L1": (Outcome.MATCHED, ("A",)), "L2": (Outcome.DISAPPEARED, ())}
    forced = track_lesions(ref, fu, overrides={"B": "L2", "C": "L2", "A": "new"})
    l1, l2 = forced.decision("L1"), forced.decision("L2")
    assert (l2.outcome, l2.follow_up_ids, l2.method) == (Outcome.SPLIT, ("B", "C"), Method.OVERRIDE)
    assert l2.dice == 0.0
    assert l1.outcome is Outcome.DISAPPEARED  # its only overlap was declared new
    (new,) = forced.with_outcome(Outcome.NEW)
    assert (new.follow_up_ids, new.method, new.tracking_id) == (("A",), Method.OVERRIDE, "A")
    assert follow_up_ids(forced) == {"B": "L2", "C": "L2", "A": "A"}


def test_override_naming_unknown_lesions_is_an_input_error() -> None:
    g = _grid(24)
    ref = _spheres(g, [("L1", (12, 12, 12), 4)])
    fu = _spheres(g, [("A", (12, 12, 12), 4)])
    with pytest.raises(InputError, match=r"follow-up lesion 'Z'.*A"):
        track_lesions(ref, fu, overrides={"Z": "L1"})
    with pytest.raises(InputError, match=r"reference lesion 'L7'.*L1"):
        track_lesions(ref, fu, overrides={"A": "L7"})


# -- bad input and settings --------------------------------------------------------------------
def test_liver_masks_both_or_neither() -> None:
    g = _grid(24)
    one = _spheres(g, [("L1", (12, 12, 12), 4)])
    with pytest.raises(InputError, match="follow-up liver mask is missing"):
        track_lesions(one, one, reference_liver=_liver(g, (12, 12, 12), 10))
    empty = LabelMap.from_binary(np.zeros(g.shape, bool), g, "liver", source="liver_fu.nii.gz")
    with pytest.raises(MaskError, match=r"liver_fu\.nii\.gz is empty"):
        track_lesions(one, one, reference_liver=_liver(g, (12, 12, 12), 10), follow_up_liver=empty)


@pytest.mark.parametrize(
    "kw",
    [
        {"min_dice": Fraction(0)},
        {"min_dice": Fraction(11, 10)},
        {"min_contained_fraction": Fraction(-1, 2)},
        {"max_centroid_distance_mm": -1.0},
        {"centroid_distance_diameter_fraction": float("nan")},
        {"new_id_prefix": ""},
    ],
)
def test_bad_settings(kw: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        TrackingSettings(**kw)  # type: ignore[arg-type]


def test_result_is_json_serialisable() -> None:
    g = _grid()
    ref = _spheres(g, [("L1", (18, 24, 24), 5), ("L2", (30, 24, 24), 4)])
    fu = _spheres(g, [("M", (24, 24, 24), 13), ("", (8, 8, 40), 3)])
    data = json.loads(json.dumps(track_lesions(ref, fu).to_dict()))
    assert data["alignment"] == "none"
    assert data["settings"]["tracking_min_dice"] == "0.1"
    assert [d["outcome"] for d in data["decisions"]] == ["matched", "coalesced", "new"]
    assert data["decisions"][1]["coalesced_into"] == "L1"
    assert all(d["reason"] for d in data["decisions"])


# -- the phantom: baseline → fu2 ----------------------------------------------------------------
@pytest.fixture(scope="module")
def patient() -> SyntheticPatient:
    # five spheres, no treatment (all grow) except the overrides: L2 gone at fu2, L3 halved;
    # two new lesions at fu2
    return generate_patient(
        PhantomConfig(
            seed=3,
            n_lesions=5,
            lesion_shape="sphere",  # type: ignore[arg-type]
            tare=None,
            include_mri=False,
            include_pet=False,
            include_lowdose_ct=False,
            acquisition=AcquisitionConfig(ct_spacing_mm=(3.0, 2.0, 2.0), noise=False),
            follow_ups=(
                FollowUpConfig(days_after_treatment=90),
                FollowUpConfig(
                    days_after_treatment=180,
                    new_lesions=2,
                    overrides={"L2": LesionChange(disappeared=True), "L3": LesionChange(scale=0.5)},
                ),
            ),
        )
    )


def _truth_status(patient: SyntheticPatient, tp: str) -> dict[str, str]:
    return {les.tracking_id: les.status for les in patient.truth.time_point(tp).lesions}


def test_phantom_baseline_to_fu2_with_tracking_ids(patient: SyntheticPatient) -> None:
    truth = _truth_status(patient, "fu2")
    r = track_lesions(
        patient.mask("baseline", "lesions"),
        patient.mask("fu2", "lesions"),
        reference_liver=patient.mask("baseline", "liver"),
        follow_up_liver=patient.mask("fu2", "liver"),
    )
    assert r.translation_mm == pytest.approx((0.0, 0.0, 0.0))  # the phantom does not move
    gone = {k for k, v in truth.items() if v == "disappeared"}
    new = {k for k, v in truth.items() if v == "new"}
    assert gone == {"L2"}
    assert len(new) == 2
    assert {d.reference_id for d in r.with_outcome(Outcome.DISAPPEARED)} == gone
    assert set(_new(r)) == new
    assert all(k == v for k, v in _new(r).items())
    for k, v in truth.items():
        if v not in ("disappeared", "new"):
            d = r.decision(k)
            assert (d.outcome, d.follow_up_ids, d.method) == (Outcome.MATCHED, (k,), Method.ID_OVERLAP)


def test_phantom_baseline_to_fu2_from_binary_masks(patient: SyntheticPatient) -> None:
    """Without tracking IDs (binary masks): components are matched by overlap, as the truth says."""
    base, fu2 = patient.mask("baseline", "lesions"), patient.mask("fu2", "lesions")
    r = track_lesions(_binary(base), _binary(fu2))

    def component_of(lm: LabelMap, centre: Point) -> str:
        # the component holding the truth centre; components are numbered by size (L1 largest)
        arr = np.asarray(lm.array > 0)
        lab, _ = ndimage.label(arr, structure=np.ones((3, 3, 3)))
        sizes = np.bincount(lab.ravel())[1:]
        order = sorted(range(1, len(sizes) + 1), key=lambda v: (-sizes[v - 1], np.argmax(lab.ravel() == v)))
        idx = tuple(int(i) for i in np.rint(lm.geometry.world_to_index(np.asarray(centre))))
        return f"L{order.index(int(lab[idx])) + 1}"

    truth = {les.tracking_id: les for les in patient.truth.time_point("fu2").lesions}
    base_truth = {les.tracking_id: les for les in patient.truth.time_point("baseline").lesions}
    expected_map = {
        component_of(fu2, t.centroid_lps_mm): component_of(base, base_truth[k].centroid_lps_mm)
        for k, t in truth.items()
        if t.status not in ("disappeared", "new")
    }
    got = follow_up_ids(r)
    assert {f: got[f] for f in expected_map} == expected_map
    gone = {
        component_of(base, base_truth[k].centroid_lps_mm)
        for k, t in truth.items()
        if t.status == "disappeared"
    }
    assert {d.reference_id for d in r.with_outcome(Outcome.DISAPPEARED)} == gone
    new = {component_of(fu2, t.centroid_lps_mm) for t in truth.values() if t.status == "new"}
    assert set(_new(r)) == new
    assert sorted(_new(r).values()) == ["N1", "N2"]  # component IDs are not tracking IDs
