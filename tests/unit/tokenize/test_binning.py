"""Interval tables and the adaptive binning procedure."""

from __future__ import annotations

import itertools
import math

import pytest

from nmrlens.errors import ConfigError, SpectrumFormatError
from nmrlens.tokenize.binning import BinningParams, IntervalTable, adaptive_edges, histogram, uniform_edges


def test_interval_conventions() -> None:
    t = IntervalTable("X", "ppm", (0.0, 1.0, 3.0), decimals=1)
    assert t.n_inner == 2 and t.size == 4
    assert [t.index(v) for v in (-5.0, 0.0, 0.5, 1.0, 2.9, 3.0, 10.0)] == [0, 0, 1, 2, 2, 3, 3]
    assert [t.value(i) for i in range(4)] == [0.0, 0.5, 2.0, 3.0]
    assert t.bounds(0) == (-math.inf, 0.0) and t.bounds(3) == (3.0, math.inf)
    assert t.half_width(2) == 1.0 and t.half_width(0) == math.inf
    assert t.is_overflow(0) and t.is_overflow(3) and not t.is_overflow(1)
    assert t.labels() == ["X(-inf,0]", "X(0,1)", "X[1,3)", "X[3,+inf)"]


def test_table_is_idempotent() -> None:
    t = IntervalTable("X", "ppm", (-0.05, 0.05, 0.35, 1.25, 4.05), decimals=2)
    for i in range(t.size):
        assert t.index(t.value(i)) == i


@pytest.mark.parametrize("edges", [(), (1.0,), (1.0, 1.0), (2.0, 1.0), (0.0, math.nan)])
def test_bad_edges(edges: tuple[float, ...]) -> None:
    with pytest.raises(ConfigError):
        IntervalTable("X", "ppm", edges)


@pytest.mark.parametrize("value", [math.nan, math.inf, "1.0", None, True])
def test_bad_values(value: object) -> None:
    t = IntervalTable("X", "ppm", (0.0, 1.0))
    with pytest.raises(SpectrumFormatError, match="X value"):
        t.index(value)  # type: ignore[arg-type]
    with pytest.raises(SpectrumFormatError):
        t.value(7)


def test_table_dict_round_trip() -> None:
    t = IntervalTable("J", "Hz", (0.0, 0.5, 2.0), decimals=2)
    assert IntervalTable.from_dict(t.to_dict()) == t
    with pytest.raises(ConfigError):
        IntervalTable.from_dict({"name": "J"})


def _params(**kw: object) -> BinningParams:
    base = dict(name="X", unit="ppm", quantum=0.1, low=0.0, high=10.0, n_bins=10, floor=0.05)
    base.update(kw)
    return BinningParams(**base)  # type: ignore[arg-type]


def _values() -> list[float]:
    # dense around 2.0 (reported to 0.1), sparse elsewhere
    dense = [round(2.0 + 0.1 * (i % 7 - 3), 1) for i in range(700)]
    sparse = [round(0.37 * i, 1) for i in range(27)]
    return dense + sparse


def test_adaptive_edges_basic_properties() -> None:
    p = _params(n_bins=12, min_width=0.1, max_width=3.0, forced_edges=(5.0,))
    edges, counts = adaptive_edges(_values(), p)
    assert len(edges) == 13
    assert edges[0] == pytest.approx(-0.05) and edges[-1] == pytest.approx(10.05)
    assert 4.95 in edges  # forced edge, just below the lattice point 5.0
    widths = [b - a for a, b in zip(edges, edges[1:])]
    assert min(widths) >= 0.1 - 1e-9 and max(widths) <= 3.0 + 1e-9
    # every edge halfway between lattice points
    assert all(abs((e / 0.1) % 1 - 0.5) < 1e-6 for e in edges)
    # bins in the dense region are narrower than elsewhere
    t = IntervalTable("X", "ppm", edges)
    assert t.half_width(t.index(2.0)) < t.half_width(t.index(8.0))
    assert counts == {"n_values": 727, "n_inner": 727, "n_underflow": 0, "n_overflow": 0}
    # deterministic
    assert adaptive_edges(_values(), p) == (edges, counts)


def test_adaptive_edges_dense_values_decode_exactly() -> None:
    edges, _ = adaptive_edges(_values(), _params(n_bins=20, floor=0.0, max_width=None))
    t = IntervalTable("X", "ppm", edges)
    for v in (1.7, 1.8, 1.9, 2.0, 2.1, 2.2, 2.3):
        assert t.value(t.index(v)) == pytest.approx(v)


def _cost(bounds: list[int], w: list[float]) -> float:
    total = 0.0
    for a, b in zip(bounds, bounds[1:]):
        mid = (a + b - 1) / 2
        total += sum(w[k] * abs(k - mid) for k in range(a, b))
    return total


@pytest.mark.parametrize("floor", [0.0, 0.3])
def test_adaptive_edges_is_optimal(floor: float) -> None:
    values = [0.0, 0.0, 0.1, 0.3, 0.3, 0.3, 0.4, 0.7, 0.7, 0.7, 0.7]
    p = BinningParams(name="X", unit="u", quantum=0.1, low=0.0, high=0.7, n_bins=3, floor=floor)
    hist, _ = histogram(values, p)
    total = sum(hist)
    w = [(1 - floor) * h / total + floor / len(hist) for h in hist]
    best = min(
        _cost([0, *cut, len(hist)], w) for cut in itertools.combinations(range(1, len(hist)), 2)
    )
    edges, _ = adaptive_edges(values, p)
    bounds = [round(e / 0.1 + 0.5) for e in edges]
    assert _cost(bounds, w) == pytest.approx(best)


def test_overflow_counted() -> None:
    _, counts = adaptive_edges([-1.0, 0.5, 11.0, 12.0], _params(n_bins=2))
    assert counts == {"n_values": 4, "n_inner": 1, "n_underflow": 1, "n_overflow": 2}


@pytest.mark.parametrize(
    "kw",
    [
        {"n_bins": 0},
        {"n_bins": 500},  # more bins than lattice cells
        {"n_bins": 2, "max_width": 1.0},  # cannot cover 10 ppm
        {"quantum": 0.0},
        {"low": 5.0, "high": 5.0},
        {"floor": 2.0},
    ],
)
def test_bad_params(kw: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        adaptive_edges(_values(), _params(**kw))


def test_no_values_in_range() -> None:
    with pytest.raises(ConfigError, match="no training value"):
        adaptive_edges([50.0], _params())


def test_params_dict_round_trip() -> None:
    p = _params(forced_edges=(1.0, 2.0), max_width=None)
    assert BinningParams.from_dict(p.to_dict()) == p
    with pytest.raises(ConfigError, match="unknown key"):
        BinningParams.from_dict({**p.to_dict(), "bins": 3})


def test_uniform_edges() -> None:
    assert uniform_edges(0.0, 1.0, 4) == (0.0, 0.25, 0.5, 0.75, 1.0)
    with pytest.raises(ConfigError):
        uniform_edges(1.0, 0.0, 4)
