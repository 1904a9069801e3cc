"""Interval tables for numerical tokens and the adaptive (chemically-aware) binning procedure.

An :class:`IntervalTable` splits the real line into ``n`` inner intervals between ``edges[0]`` and
``edges[-1]`` plus two overflow intervals::

    index 0        (-inf, e0]          underflow, decodes to e0 (its inner edge)
    index 1        (e0, e1)            first inner bin
    index i        [e_{i-1}, e_i)      inner bins, decode to their midpoint
    index n + 1    [e_n, +inf)         overflow, decodes to e_n (its inner edge)

With this convention every decoded value encodes back to the same index (the table is
idempotent), which the overflow bins need because they decode to their inner edge.

:func:`adaptive_edges` derives the edges from training values; the procedure is described in
:mod:`nmrlens.tokenize` and its parameters are :class:`BinningParams`.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Mapping

from nmrlens.errors import ConfigError, SpectrumFormatError

__all__ = ["IntervalTable", "BinningParams", "adaptive_edges", "histogram", "uniform_edges", "quantum_decimals"]


def quantum_decimals(quantum: float) -> int:
    """Number of decimals of a reporting quantum (0.1 -> 1, 0.01 -> 2, 0.05 -> 2)."""
    for d in range(0, 7):
        if abs(round(quantum, d) - quantum) < 1e-12:
            return d
    return 6


def _fmt(x: float, decimals: int) -> str:
    text = f"{x:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


@dataclass(frozen=True)
class IntervalTable:
    """Non-overlapping intervals covering the real line (see the module docstring).

    Attributes:
        name: token prefix, e.g. ``"13C"``, ``"1H"`` or ``"J"``.
        unit: unit of the values (``"ppm"`` or ``"Hz"``).
        edges: strictly increasing inner edges ``e0 < e1 < ... < en`` (n >= 1).
        decimals: decimals used to write edges into token names.
    """

    name: str
    unit: str
    edges: tuple[float, ...]
    decimals: int = 3

    def __post_init__(self) -> None:
        edges = tuple(float(e) for e in self.edges)
        if len(edges) < 2 or any(not math.isfinite(e) for e in edges) or any(
            b <= a for a, b in zip(edges, edges[1:])
        ):
            raise ConfigError(
                f"{self.name}.edges: got {len(edges)} edges, expected at least 2 finite, strictly increasing numbers"
            )
        object.__setattr__(self, "edges", edges)

    @property
    def n_inner(self) -> int:
        """Number of inner (non-overflow) intervals."""
        return len(self.edges) - 1

    @property
    def size(self) -> int:
        """Number of tokens of this table (inner intervals + 2 overflow intervals)."""
        return len(self.edges) + 1

    @property
    def low(self) -> float:
        """Lower inner edge ``e0`` (values <= it fall into the underflow interval)."""
        return self.edges[0]

    @property
    def high(self) -> float:
        """Upper inner edge ``en`` (values >= it fall into the overflow interval)."""
        return self.edges[-1]

    def index(self, value: float) -> int:
        """Interval index of ``value`` (0 = underflow, 1..n inner, n+1 = overflow).

        Raises:
            SpectrumFormatError: when the value is not a finite number.
        """
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise SpectrumFormatError(f"{self.name} value", value, f"a finite number in {self.unit}")
        v = float(value)
        if v <= self.edges[0]:
            return 0
        if v >= self.edges[-1]:
            return self.n_inner + 1
        return bisect.bisect_right(self.edges, v)

    def is_overflow(self, index: int) -> bool:
        """True for the two overflow intervals."""
        return index == 0 or index == self.n_inner + 1

    def bounds(self, index: int) -> tuple[float, float]:
        """``(low, high)`` bounds of interval ``index`` (infinite for the overflow sides)."""
        self._check_index(index)
        if index == 0:
            return (-math.inf, self.edges[0])
        if index == self.n_inner + 1:
            return (self.edges[-1], math.inf)
        return (self.edges[index - 1], self.edges[index])

    def value(self, index: int) -> float:
        """Decoded value of interval ``index``: the midpoint, or the inner edge for an overflow interval."""
        self._check_index(index)
        if index == 0:
            return self.edges[0]
        if index == self.n_inner + 1:
            return self.edges[-1]
        a, b = self.edges[index - 1], self.edges[index]
        return round(0.5 * (a + b), self.decimals + 1)

    def half_width(self, index: int) -> float:
        """Half the width of inner interval ``index`` (the largest decoding error inside it); inf for overflow."""
        lo, hi = self.bounds(index)
        return 0.5 * (hi - lo)

    def labels(self) -> list[str]:
        """Token names of the intervals, in index order, e.g. ``"13C[128.35,128.45)"``."""
        d = self.decimals
        e = [_fmt(x, d) for x in self.edges]
        out = [f"{self.name}(-inf,{e[0]}]"]
        for i in range(self.n_inner):
            left = "(" if i == 0 else "["
            out.append(f"{self.name}{left}{e[i]},{e[i + 1]})")
        out.append(f"{self.name}[{e[-1]},+inf)")
        return out

    def _check_index(self, index: int) -> None:
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index <= self.n_inner + 1:
            raise SpectrumFormatError(f"{self.name} index", index, f"a whole number in 0..{self.n_inner + 1}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description."""
        return {"name": self.name, "unit": self.unit, "decimals": self.decimals, "edges": list(self.edges)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "IntervalTable":
        """Inverse of :meth:`to_dict`.

        Raises:
            ConfigError: when a key is missing or a value is malformed.
        """
        try:
            return cls(name=str(d["name"]), unit=str(d["unit"]), edges=tuple(d["edges"]), decimals=int(d["decimals"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"interval table: malformed entry ({exc!r}); expected name, unit, decimals, edges") from None


@dataclass(frozen=True)
class BinningParams:
    """Parameters of the adaptive binning of one numerical variable (see :func:`adaptive_edges`).

    Attributes:
        name, unit: the variable (token prefix and unit, ``"ppm"`` or ``"Hz"``).
        quantum: reporting precision of the values (0.1 ppm for 13C, 0.01 ppm for 1H, 0.1 Hz for J):
            values are put on the lattice ``k * quantum`` and every edge lies halfway between two
            lattice points, so a reported value never sits on an edge.
        low, high: inner range; reported values in [low, high] get inner bins, the others overflow.
        n_bins: number of inner bins.
        floor: weight of a uniform density mixed into the training histogram, so that sparse
            regions keep a resolution proportionate to their width (0 = fit the data alone).
        min_width, max_width: bin width limits, same unit as the values (None = no upper limit).
        forced_edges: chemically meaningful boundaries that are always edges (each is placed just
            below the lattice point of its value, e.g. 50 ppm -> 49.95 ppm).
    """

    name: str
    unit: str
    quantum: float
    low: float
    high: float
    n_bins: int
    floor: float = 0.05
    min_width: float = 0.0
    max_width: float | None = None
    forced_edges: tuple[float, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description."""
        d = asdict(self)
        d["forced_edges"] = list(self.forced_edges)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "BinningParams":
        """Inverse of :meth:`to_dict`.

        Raises:
            ConfigError: for unknown or missing keys.
        """
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(map(str, d)) - known)
        if unknown:
            raise ConfigError(f"binning params: unknown key {unknown[0]!r}; expected {', '.join(sorted(known))}")
        kw = dict(d)
        kw["forced_edges"] = tuple(kw.get("forced_edges", ()))
        try:
            return cls(**kw)
        except TypeError as exc:
            raise ConfigError(f"binning params: {exc}") from None


def uniform_edges(low: float, high: float, n: int) -> tuple[float, ...]:
    """``n`` equal-width intervals between ``low`` and ``high`` (the baseline of the benchmark)."""
    if n < 1 or not high > low:
        raise ConfigError(f"uniform bins: got n={n}, range {low}..{high}; expected n >= 1 and low < high")
    return tuple(low + (high - low) * i / n for i in range(n + 1))


def _lattice(params: BinningParams) -> tuple[int, int]:
    q = params.quantum
    if not (isinstance(q, (int, float)) and q > 0 and math.isfinite(q)):
        raise ConfigError(f"{params.name}.quantum: got {q!r}, expected a positive number")
    k_lo, k_hi = round(params.low / q), round(params.high / q)
    if k_hi <= k_lo:
        raise ConfigError(f"{params.name}: low ({params.low}) must be below high ({params.high})")
    return k_lo, k_hi


def histogram(values: Iterable[float], params: BinningParams) -> tuple[list[int], dict[str, int]]:
    """Counts of ``values`` on the lattice cells of the inner range, and the overflow counts."""
    import numpy as np

    k_lo, k_hi = _lattice(params)
    arr = np.asarray([float(v) for v in values], dtype=float)
    arr = arr[np.isfinite(arr)]
    cells = np.floor(arr / params.quantum + 0.5).astype(np.int64)
    inner = cells[(cells >= k_lo) & (cells <= k_hi)] - k_lo
    counts = {
        "n_values": int(arr.size),
        "n_inner": int(inner.size),
        "n_underflow": int((cells < k_lo).sum()),
        "n_overflow": int((cells > k_hi).sum()),
    }
    return np.bincount(inner, minlength=k_hi - k_lo + 1).astype(int).tolist(), counts


def adaptive_edges(values: Iterable[float], params: BinningParams) -> tuple[tuple[float, ...], dict[str, int]]:
    """Derive the inner edges of one variable from training values (deterministic).

    The procedure (all in whole quanta, see :class:`BinningParams`):

    1. Histogram the values on the lattice cells ``k = round(x / quantum)`` of [low, high]; values
       outside are counted as overflow and otherwise ignored.
    2. Normalise to a density ``p`` and mix in a uniform density: ``w = (1 - floor) * p + floor / K``.
    3. Partition the K cells into exactly ``n_bins`` contiguous bins that minimise the expected
       absolute error of midpoint decoding, ``sum_k w_k * |k - midpoint(bin of k)|``, subject to
       ``min_width <= width <= max_width`` and to no bin crossing a forced edge. The optimum is
       found exactly by dynamic programming over (bins used, cells covered).

    Dense regions thus get bins one quantum wide (which decode a value reported at that precision
    exactly), sparse regions wide bins; the floor and ``max_width`` keep sparse regions usable.

    Returns:
        ``(edges, counts)``: the edges (each at ``(k - 1/2) * quantum``) and the counts used
        (``n_values``, ``n_inner``, ``n_underflow``, ``n_overflow``).

    Raises:
        ConfigError: for inconsistent parameters, when no value falls into the inner range, or
            when no partition satisfies the width limits and forced edges.
    """
    import numpy as np

    k_lo, k_hi = _lattice(params)
    q = params.quantum
    hist, counts = histogram(values, params)
    if counts["n_inner"] == 0:
        raise ConfigError(f"{params.name}: no training value falls into {params.low}..{params.high} {params.unit}")
    if not 0.0 <= params.floor <= 1.0:
        raise ConfigError(f"{params.name}.floor: got {params.floor!r}, expected a number in 0..1")
    n_cells = len(hist)
    n_bins = params.n_bins
    w_min = max(1, int(round(params.min_width / q))) if params.min_width > 0 else 1
    w_max = n_cells if params.max_width is None else max(1, int(math.floor(params.max_width / q + 1e-9)))
    w_max = min(w_max, n_cells)
    if not isinstance(n_bins, int) or n_bins < 1 or w_min > w_max:
        raise ConfigError(f"{params.name}: got n_bins={n_bins!r}, widths {w_min}..{w_max} quanta; expected n_bins >= 1")

    h = np.asarray(hist, dtype=float)
    w = (1.0 - params.floor) * h / h.sum() + params.floor / n_cells
    H = np.concatenate([[0.0], np.cumsum(w)])
    M = np.concatenate([[0.0], np.cumsum(w * np.arange(n_cells))])
    forced = sorted({round(fe / q) - k_lo for fe in params.forced_edges} & set(range(1, n_cells)))
    # last forced boundary strictly below each boundary position b (0 when none)
    last_forced = np.zeros(n_cells + 1, dtype=np.int64)
    for f in forced:
        last_forced[f + 1:] = f
    costs = {}
    for width in range(w_min, w_max + 1):
        b = np.arange(width, n_cells + 1)
        a = b - width
        mid = a + (width - 1) / 2.0
        split = a + (width - 1) // 2 + 1
        cost = mid * (H[split] - H[a]) - (M[split] - M[a]) + (M[b] - M[split]) - mid * (H[b] - H[split])
        cost = np.where(a >= last_forced[b], cost, np.inf)
        costs[width] = np.maximum(cost, 0.0)
    best = np.full(n_cells + 1, np.inf)
    best[0] = 0.0
    choice = np.zeros((n_bins, n_cells + 1), dtype=np.int32)
    for j in range(n_bins):
        cur = np.full(n_cells + 1, np.inf)
        arg = choice[j]
        for width in range(w_min, w_max + 1):
            cand = best[: n_cells + 1 - width] + costs[width]
            better = cand < cur[width:]
            cur[width:] = np.where(better, cand, cur[width:])
            arg[width:] = np.where(better, width, arg[width:])
        best = cur
    if not np.isfinite(best[n_cells]):
        raise ConfigError(
            f"{params.name}: {n_bins} bins of {w_min}..{w_max} quanta cannot cover {params.low}..{params.high} "
            f"{params.unit} with the forced edges {list(params.forced_edges)}"
        )
    bounds = [n_cells]
    b = n_cells
    for j in range(n_bins - 1, -1, -1):
        b -= int(choice[j, b])
        bounds.append(b)
    bounds.reverse()
    d = quantum_decimals(q) + 1
    edges = tuple(round((bb + k_lo - 0.5) * q, d) for bb in bounds)
    return edges, counts
