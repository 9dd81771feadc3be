"""Property tests of RECIST 1.1 (hypothesis): monotonicity, new lesions, an integer oracle."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from hypothesis import assume, event, given, settings
from hypothesis import strategies as st
from test_recist_helpers import gone, liver, new, node, row, run, small, tp

from nelm.response.model import Lesion, LesionMeasurement, ResponseCase, TimePoint

# How bad a time-point category is (an NE may become PD or the reverse only through the data
# that are present, never through a smaller measurement).
_RANK = {"CR": 0, "PR": 1, "SD": 2, "non-CR/non-PD": 2, "NE": 3, "PD": 4}


@dataclass(frozen=True)
class _Spec:
    """A generated course: per lesion, is it a node, its baseline size and follow-up states."""

    nodes: tuple[bool, ...]  # targets (measurable at the baseline)
    baseline: tuple[int, ...]  # tenths of a millimetre
    follow_ups: tuple[tuple[tuple[str, int], ...], ...]  # per follow-up, per target: (state, tenths)
    non_target: tuple[str, ...]  # per follow-up: the non-target node's state
    non_target_sa: tuple[int, ...]  # its short axis in tenths when present


_STATES = st.sampled_from(["present", "present", "present", "present", "gone", "small"])


@st.composite
def _specs(draw: st.DrawFn, *, missing: bool = False) -> _Spec:
    n = draw(st.integers(1, 5))
    nodes = tuple(draw(st.booleans()) for _ in range(n))
    baseline = tuple(draw(st.integers(150 if node_ else 100, 900)) for node_ in nodes)
    k = draw(st.integers(1, 3))
    states = (
        st.sampled_from(["present", "present", "present", "gone", "small", "missing"]) if missing else _STATES
    )
    follow_ups = tuple(tuple((draw(states), draw(st.integers(0, 1200))) for _ in range(n)) for _ in range(k))
    non_target = tuple(draw(st.sampled_from(["present", "gone", "small"])) for _ in range(k))
    non_target_sa = tuple(draw(st.integers(0, 200)) for _ in range(k))
    return _Spec(nodes, baseline, follow_ups, non_target, non_target_sa)


def _tenths(value: int) -> Fraction:
    return Fraction(value, 10)


def _measure(lid: str, is_node: bool, st_: str, value: int) -> LesionMeasurement | None:
    if st_ == "missing":
        return None
    if st_ == "gone":
        return gone(lid)
    if st_ == "small":
        return small(lid)
    if is_node:
        return LesionMeasurement(lid, long_mm=_tenths(value) + 2, short_mm=_tenths(value))
    return LesionMeasurement(lid, long_mm=_tenths(value))


def _build(spec: _Spec, *, new_at: int | None = None) -> ResponseCase:
    # targets T0..Tn in distinct organs (so all are selected: ≤ 5, nodes ≤ 2 is ensured below)
    lesions: list[Lesion] = []
    for i, is_node in enumerate(spec.nodes):
        lesions.append(node(f"T{i}") if is_node else liver(f"T{i}", f"organ{i}"))
    lesions.append(node("NT"))  # 12 mm short axis: pathological non-target
    base = [
        _measure(f"T{i}", nd, "present", v)
        for i, (nd, v) in enumerate(zip(spec.nodes, spec.baseline, strict=True))
    ]
    base.append(_measure("NT", True, "present", 120))
    points: list[TimePoint] = [tp("base", 0, *(m for m in base if m is not None))]
    for j, fu in enumerate(spec.follow_ups):
        ms = [_measure(f"T{i}", spec.nodes[i], s, v) for i, (s, v) in enumerate(fu)]
        ms.append(_measure("NT", True, spec.non_target[j], spec.non_target_sa[j]))
        points.append(
            tp(
                f"fu{j + 1}",
                56 * (j + 1),
                *(m for m in ms if m is not None),
                new_lesions=(new("X"),) if new_at == j else (),
            )
        )
    targets = tuple(f"T{i}" for i in range(len(spec.nodes)))
    # reader targets: all lesions, provided the node limit (2 per organ) holds
    return ResponseCase("prop", {les.lesion_id: les for les in lesions}, points, targets=targets)


def _valid(spec: _Spec) -> bool:
    return sum(spec.nodes) <= 2


def _shrunk(spec: _Spec, index: int, factors: tuple[float, ...]) -> _Spec:
    fu = tuple((s, int(v * f)) for (s, v), f in zip(spec.follow_ups[index], factors, strict=False))
    follow_ups = tuple(fu if j == index else spec.follow_ups[j] for j in range(len(spec.follow_ups)))
    nt_sa = tuple(int(v * factors[0]) if j == index else v for j, v in enumerate(spec.non_target_sa))
    return _Spec(spec.nodes, spec.baseline, follow_ups, spec.non_target, nt_sa)


@settings(max_examples=400, deadline=None)
@given(st.one_of(_specs(), _specs(missing=True)), st.data())
def test_shrinking_every_lesion_never_worsens_the_category(spec: _Spec, data: st.DataObject) -> None:
    assume(_valid(spec))
    index = data.draw(st.integers(0, len(spec.follow_ups) - 1))
    factors = tuple(data.draw(st.floats(0, 1)) for _ in spec.nodes)
    before = row(run(_build(spec)), f"fu{index + 1}").category
    after = row(run(_build(_shrunk(spec, index, factors))), f"fu{index + 1}").category
    event(f"{before} -> {after}")
    assert _RANK[after] <= _RANK[before], (before, after)


@settings(max_examples=200, deadline=None)
@given(_specs(missing=True), st.data())
def test_a_definite_new_lesion_always_gives_pd(spec: _Spec, data: st.DataObject) -> None:
    assume(_valid(spec))
    index = data.draw(st.integers(0, len(spec.follow_ups) - 1))
    result = run(_build(spec, new_at=index))
    assert row(result, f"fu{index + 1}").category == "PD"
    assert result.progression_time_point is not None


def _oracle(baseline: int, values: list[int]) -> list[str]:
    """RECIST target categories in integer tenths of a millimetre (RECIST-tracker style)."""
    out = []
    nadir = baseline
    for v in values:
        if v - nadir >= 50 and 5 * (v - nadir) >= nadir:  # +≥ 5.0 mm and ≥ 20 %
            out.append("PD")
        elif v == 0:
            out.append("CR")
        elif 10 * (baseline - v) >= 3 * baseline:  # ≥ 30 % decrease
            out.append("PR")
        else:
            out.append("SD")
        nadir = min(nadir, v)
    return out


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.integers(100, 600), min_size=1, max_size=5),
    st.lists(st.lists(st.integers(0, 900), min_size=5, max_size=5), min_size=1, max_size=4),
)
def test_target_category_matches_an_integer_oracle(baseline: list[int], follow: list[list[int]]) -> None:
    n = len(baseline)
    lesions = [liver(f"L{i}", f"organ{i}") for i in range(n)]
    points = [
        tp("base", 0, *(LesionMeasurement(f"L{i}", long_mm=_tenths(v)) for i, v in enumerate(baseline)))
    ]
    for j, values in enumerate(follow):
        points.append(
            tp(
                f"fu{j + 1}",
                56 * (j + 1),
                *(LesionMeasurement(f"L{i}", long_mm=_tenths(values[i])) for i in range(n)),
            )
        )
    result = run(ResponseCase("oracle", {les.lesion_id: les for les in lesions}, points))
    expected = _oracle(sum(baseline), [sum(values[:n]) for values in follow])
    assert [r.target for r in result.time_points[1:]] == expected
