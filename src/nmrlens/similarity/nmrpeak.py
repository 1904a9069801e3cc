"""Peak-aware, assignment-free similarity of two 1D peak lists (NMRPeak paper, Methods 5.3).

The score compares two spectra of one nucleus without any atom assignment and lies in [0, 1]
(1 for identical peak lists). Units: shifts in ppm, couplings in Hz.

Equations implemented (numbers as in the paper)
-----------------------------------------------
(1)  phi(d, sigma) = exp(-d / sigma).
     13C: sigma = 5 ppm, tau = 20 ppm.  1H: sigma = 1 ppm, tau = 2 ppm.

Peak expansion (1H only): multiplet i is replicated nH_i times, giving the expanded sets A', B' of
sizes n'_A = sum nH, n'_B = sum nH. For 13C A' = A and B' = B. Below m = min(|A'|, |B'|) and
L = max(|A'|, |B'|); the shorter set is called A'.

Stage I, optimal assignment of the shorter set (every peak of A' gets a distinct peak of B'):
(2)  13C: S_ij = phi(|delta_a_i - delta_b_j|, sigma)
(3)  13C: C_ij = 1 - S_ij
(4)  1H:  C_ij = (centre_a_i - centre_b_j)^2, centre = (shift_min + shift_max) / 2
(5)  pi* = argmin_pi sum_i C_{i, pi(i)}        (scipy.optimize.linear_sum_assignment)

Stage II, greedy: every peak b_j of B' left over by Stage I is matched to its best peak of A'
(6)  13C: i* = argmax_i phi(|delta_a_i - delta_b_j|, sigma)
(7)  1H:  i* = argmax_i phi(|centre_a_i - centre_b_j|, sigma)
     i.e. the nearest centre; the match is valid when d* <= tau.

13C scoring:
(8)  s_ij = phi(|delta_a_i - delta_b_j|, sigma) if |delta_a_i - delta_b_j| <= tau, else 0
(9)  s~_ij = s_ij for Stage I matches, 0.8 * s_ij for Stage II matches
(10) s_bar = sum over M1 u M2 of s~_ij / |M1 u M2|
(11) p_struct = max(|A|, |B|) / (|M1 u M2| + ||A| - |B|| + (|M1 u M2| - |M1_valid|))
(12) S = 0.8 * s_bar + 0.2 * p_struct

1H scoring (i, j expanded peaks; mu(i), nu(j) the multiplets they come from):
(13) s_ij = 0.4 * phi(|min_mu(i) - min_nu(j)|, sigma) + 0.4 * phi(|max_mu(i) - max_nu(j)|, sigma)
            + 0.05 * [mult equal] + 0.1 * [nH equal] + 0.05 * s_coupling
(14) s_coupling = (1/|J_a|) sum_k phi(|J_a(k) - J_b(k)|, 10 Hz) if |J_a| = |J_b| else 0,
     with J_a, J_b sorted (ascending)
(15) s~_ij = s_ij (Stage I, d_ij <= tau); 0.8 * s_ij (Stage II, d_ij <= tau); 0 otherwise,
     d_ij = |centre_mu(i) - centre_nu(j)|
(16) s_bar = sum over M1 u M2 of s~_ij / |M1 u M2|
(17) p_struct = max(|A'|, |B'|) / (|M1 u M2| + ||A'| - |B'|| + (|M1 u M2| - |M1_valid|))
(18) p_H = min(|A'|, |B'|) / max(|A'|, |B'|)
(19) S = (0.8 * s_bar + 0.2 * p_struct) * p_H

Choices where the paper is silent (each is tested in tests/unit/test_similarity.py)
-----------------------------------------------------------------------------------
- Eq. 10/16, the mean: Stage I matches every peak of the shorter set once and Stage II every
  left-over peak of the longer set once, so |M1 u M2| = L and the mean divides by L = max(|A'|,
  |B'|). Invalid matches (beyond tau) count in the denominator with score 0.
- Eq. 11/17 are taken literally: the "invalid" term |M1 u M2| - |M1_valid| counts the invalid
  Stage I matches *and every* Stage II match (valid or not), so with m = min and L = max sizes the
  denominator is 3L - 2m + (Stage I invalid). Equal sizes with all matches within tau give 1.
- Eq. 13, range bounds: the two terms compare shift_min with shift_min and shift_max with
  shift_max of the two multiplets (not the centres), sigma = 1 ppm, no tau cut on them; a
  multiplet reported as one shift has shift_min = shift_max. tau only applies through eq. 15.
- Eq. 13, multiplicity: the canonical labels of the data model are compared as strings ("br s"
  and "s" differ); None equals None (so identity scores 1) and differs from every label.
- Eq. 13/expansion, unknown nH: a multiplet with nH=None counts as 1 H, for the expansion, for the
  nH indicator (None vs 1 is "equal") and for p_H (eq. 18).
- Eq. 14: two empty J lists give 1.0; lists of different lengths give 0.
- Eq. 5 ties: 1H costs are a convex function of the centre distance, so when |A'| = |B'| the
  order-preserving matching of the centres, sorted ascending, is an optimal assignment (for
  a1 <= a2, b1 <= b2: (a1-b1)^2 + (a2-b2)^2 - (a1-b2)^2 - (a2-b1)^2 = -2 (a2-a1)(b2-b1) <= 0, so
  uncrossing never increases the cost). That matching is used (it is exact, and it breaks ties of
  equal centres by shift_max, nH, multiplicity and J, so a spectrum compared with itself always
  pairs each multiplet with itself). Unequal sizes use linear_sum_assignment. 13C costs
  1 - exp(-d/sigma) are *concave* in d, where the sorted matching is not optimal (A = {0, 1},
  B = {1, 2} ppm: crossing costs less), so 13C always uses linear_sum_assignment.
- Eq. 6/7 ties: the nearest centre is found with argmin of the distance (not argmax of phi, which
  can round two distances to one value); ties go to the lowest index of the shorter spectrum in
  ``Spectrum1D.peaks`` order (decreasing shift), expanded copies of peak k sitting together.
- Empty spectra: two empty spectra score 1.0; exactly one empty scores 0.0.
- Nuclei: both spectra must have the same nucleus. Any nucleus other than 1H is scored with the
  13C formula (eq. 2-3, 8-12) and the 13C parameters sigma = 5 ppm, tau = 20 ppm; ``Peak.count``
  (equivalent nuclei) is not used, as in the paper (no expansion for 13C).
- Rounding: the final score is clipped to [0, 1]; identical inputs give exactly 1.0.
- Size limit: a 1H spectrum may hold at most :data:`MAX_EXPANDED` protons after expansion.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from nmrlens.errors import SpectrumFormatError
from nmrlens.spectra.model import MAX_J, Spectrum1D

__all__ = [
    "SIGMA_C",
    "TAU_C",
    "SIGMA_H",
    "TAU_H",
    "J_SCALE_HZ",
    "STAGE2_DAMPING",
    "MAX_EXPANDED",
    "PreparedSpectrum",
    "prepare_spectrum",
    "peak_similarity",
    "peak_similarity_many",
]

#: 13C (and other non-1H nuclei) scale of phi (eq. 1) and validity threshold, ppm.
SIGMA_C = 5.0
TAU_C = 20.0
#: 1H scale of phi (eq. 1, also for the range bounds of eq. 13) and validity threshold, ppm.
SIGMA_H = 1.0
TAU_H = 2.0
#: Scale of phi for coupling constants (eq. 14), Hz.
J_SCALE_HZ = 10.0
#: Factor applied to Stage II matches (eq. 9, 15).
STAGE2_DAMPING = 0.8
#: Largest number of protons (sum of nH) of a 1H spectrum after expansion.
MAX_EXPANDED = 2000
# Entries of the distance matrix computed at once by the batched form (bounds its memory).
_CHUNK_ENTRIES = 1 << 19


@dataclass(frozen=True, eq=False)
class PreparedSpectrum:
    """Arrays of one spectrum, computed once and reused for many comparisons.

    Made by :func:`prepare_spectrum`; both :func:`peak_similarity` and
    :func:`peak_similarity_many` accept it in place of a :class:`Spectrum1D`. Shifts in ppm, J in
    Hz, arrays in ``Spectrum1D.peaks`` order (decreasing shift).

    Attributes:
        nucleus: canonical nucleus label.
        n: number of peaks (multiplets for 1H).
        size: number of peaks after expansion (sum of nH for 1H, unknown nH counted as 1; n else).
        centre: (size,) shift (13C) or multiplet centre (1H) of every expanded peak, ppm.
        owner: (size,) index of the peak each expanded peak comes from.
        order: (size,) expanded indices sorted by centre (ties: shift_max, nH, mult, J); 1H only.
        lo, hi: (n,) shift_min, shift_max of the multiplets, ppm (1H only).
        nh: (n,) nH with None counted as 1 (1H only).
        mult: (n,) multiplicity labels, "" for None (1H only).
        J: (n, MAX_J) sorted couplings, zero padded, Hz; jmask: 1.0 where J holds a value (1H only).
        nj: (n,) number of couplings; jmax: largest nj (1H only).
    """

    nucleus: str
    n: int
    size: int
    centre: np.ndarray
    owner: np.ndarray
    order: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    nh: np.ndarray
    mult: np.ndarray
    J: np.ndarray
    jmask: np.ndarray
    nj: np.ndarray
    jmax: int

    @property
    def is_1h(self) -> bool:
        """True for a 1H spectrum (scored with eq. 13-19)."""
        return self.nucleus == "1H"


def _frozen(*arrays: np.ndarray) -> None:
    for arr in arrays:
        arr.flags.writeable = False


# Read-only empty arrays for the 1H-only fields of other nuclei (constants, never written).
_EMPTY_F = np.zeros(0)
_EMPTY_I = np.zeros(0, dtype=np.int64)
_EMPTY_U = np.zeros(0, dtype="U1")
_EMPTY_J = np.zeros((0, MAX_J))
_frozen(_EMPTY_F, _EMPTY_I, _EMPTY_U, _EMPTY_J)


def prepare_spectrum(spectrum: Spectrum1D | PreparedSpectrum, where: str = "spectrum") -> PreparedSpectrum:
    """Precompute the arrays the similarity needs (returns a :class:`PreparedSpectrum` as is).

    Raises:
        SpectrumFormatError: when ``spectrum`` is not a Spectrum1D, or a 1H spectrum holds more
            than :data:`MAX_EXPANDED` protons.
    """
    if isinstance(spectrum, PreparedSpectrum):
        return spectrum
    if not isinstance(spectrum, Spectrum1D):
        raise SpectrumFormatError(where, type(spectrum).__name__, "a Spectrum1D (or a PreparedSpectrum)")
    peaks = spectrum.peaks
    n = len(peaks)
    if spectrum.nucleus != "1H":
        centre = np.fromiter((p.shift for p in peaks), np.float64, n)
        owner = np.arange(n, dtype=np.int64)
        _frozen(centre, owner)
        return PreparedSpectrum(
            nucleus=spectrum.nucleus, n=n, size=n, centre=centre, owner=owner, order=owner, lo=_EMPTY_F,
            hi=_EMPTY_F, nh=_EMPTY_I, mult=_EMPTY_U, J=_EMPTY_J, jmask=_EMPTY_J, nj=_EMPTY_I, jmax=0,
        )
    lo_l = [p.shift_min for p in peaks]
    hi_l = [p.shift_max for p in peaks]
    nh_l = [1 if p.nH is None else p.nH for p in peaks]
    size = sum(nh_l)
    if size > MAX_EXPANDED:
        raise SpectrumFormatError(
            f"{where}.peaks", f"{size} protons (sum of nH)", f"at most {MAX_EXPANDED} protons for the similarity"
        )
    mult_l = ["" if p.mult is None else p.mult for p in peaks]
    j_l = [js if len(js) < 2 else tuple(sorted(js)) for js in [p.J for p in peaks]]
    lo = np.array(lo_l, dtype=np.float64)
    hi = np.array(hi_l, dtype=np.float64)
    nh = np.array(nh_l, dtype=np.int64)
    mult = np.array(mult_l, dtype="U") if n else np.zeros(0, dtype="U1")
    nj = np.array([len(js) for js in j_l], dtype=np.int64)
    pad = [(0.0,) * (MAX_J - k) for k in range(MAX_J + 1)]
    J = np.array([js + pad[len(js)] for js in j_l], dtype=np.float64).reshape(n, MAX_J)
    jmask = (np.arange(MAX_J) < nj[:, None]).astype(np.float64)
    centre_o = 0.5 * (lo + hi)  # same formula as Multiplet.shift
    owner = np.repeat(np.arange(n, dtype=np.int64), nh)
    centre = centre_o[owner]
    # Order of the sorted (order-preserving) matching: by centre, ties broken by content so that
    # equal multiplets of two spectra line up (eq. 5 tie rule, see the module docstring).
    keys = sorted(zip(centre_o.tolist(), hi_l, nh_l, mult_l, j_l, range(n)))
    ordp = np.array([k[-1] for k in keys], dtype=np.int64)
    starts = np.cumsum(nh) - nh
    reps = nh[ordp]
    order = np.repeat(starts[ordp] - (np.cumsum(reps) - reps), reps) + np.arange(size, dtype=np.int64)
    _frozen(lo, hi, nh, mult, nj, J, jmask, centre, owner, order)
    return PreparedSpectrum(
        nucleus="1H", n=n, size=size, centre=centre, owner=owner, order=order, lo=lo, hi=hi, nh=nh,
        mult=mult, J=J, jmask=jmask, nj=nj, jmax=int(nj.max()) if n else 0,
    )


def _check_same_nucleus(query: PreparedSpectrum, other: PreparedSpectrum, where: str) -> None:
    if other.nucleus != query.nucleus:
        raise SpectrumFormatError(
            f"{where}.nucleus", other.nucleus, f"{query.nucleus} (the nucleus of the first spectrum)"
        )


def peak_similarity(a: Spectrum1D | PreparedSpectrum, b: Spectrum1D | PreparedSpectrum) -> float:
    """Peak-aware similarity of two spectra of one nucleus, in [0, 1] (Methods 5.3, eq. 1-19).

    See the module docstring for the equations and the choices made where the paper is silent.

    Raises:
        SpectrumFormatError: when an argument is not a spectrum or the nuclei differ.
    """
    pa = prepare_spectrum(a, "a")
    pb = prepare_spectrum(b, "b")
    _check_same_nucleus(pa, pb, "b")
    return _score_pair(pa, pb)


def peak_similarity_many(
    query: Spectrum1D | PreparedSpectrum, candidates: Sequence[Spectrum1D | PreparedSpectrum]
) -> np.ndarray:
    """Similarity of ``query`` with every candidate: a float64 array of ``len(candidates)`` scores.

    ``peak_similarity_many(q, cs)[k]`` equals ``peak_similarity(q, cs[k])`` up to floating-point
    rounding (below 1e-12); the cost matrices and pair scores of many candidates are computed
    together, in chunks of bounded memory. Candidates may be :class:`PreparedSpectrum` objects
    (see :func:`prepare_spectrum`) to skip their preparation when they are reused.

    Raises:
        SpectrumFormatError: when an argument is not a spectrum or a candidate's nucleus differs
            from the query's (the field names the candidate's index).
    """
    pq = prepare_spectrum(query, "query")
    if isinstance(candidates, (str, bytes, Spectrum1D, PreparedSpectrum)) or not isinstance(candidates, Sequence):
        raise SpectrumFormatError("candidates", type(candidates).__name__, "a sequence of Spectrum1D")
    prepared = []
    for i, c in enumerate(candidates):
        pc = prepare_spectrum(c, f"candidates[{i}]")
        _check_same_nucleus(pq, pc, f"candidates[{i}]")
        prepared.append(pc)
    return _score_many(pq, prepared)


# ----------------------------------------------------------------------------------------------
# The batched core. Candidates are concatenated along the columns of one distance matrix (query
# rows x all candidate columns), so that phi, the costs and the pair scores are computed by a few
# numpy calls for a whole chunk of candidates; only the assignment itself runs once per candidate.


def _score_many(q: PreparedSpectrum, cands: Sequence[PreparedSpectrum]) -> np.ndarray:
    out = np.zeros(len(cands))
    if q.size == 0:  # both empty -> 1.0, only one empty -> 0.0
        out[[k for k, c in enumerate(cands) if c.size == 0]] = 1.0
        return out
    todo = [k for k, c in enumerate(cands) if c.size > 0]
    chunk: list[int] = []
    width = 0
    for k in todo:
        chunk.append(k)
        width += cands[k].size
        if width * q.size >= _CHUNK_ENTRIES:
            out[chunk] = _score_chunk(q, [cands[i] for i in chunk])
            chunk, width = [], 0
    if chunk:
        out[chunk] = _score_chunk(q, [cands[i] for i in chunk])
    return out


def _pair_matrix_h(q: PreparedSpectrum, c: PreparedSpectrum) -> np.ndarray:
    """Eq. 13-14 for every (multiplet of q, multiplet of c) pair: a (q.n, c.n) array."""
    K = max(q.jmax, c.jmax)
    shift = np.exp(np.abs(q.lo[:, None] - c.lo) / -SIGMA_H)
    shift += np.exp(np.abs(q.hi[:, None] - c.hi) / -SIGMA_H)
    mult_eq = q.mult[:, None] == c.mult
    nh_eq = q.nh[:, None] == c.nh
    len_eq = q.nj[:, None] == c.nj
    if K:
        t = np.exp(np.abs(q.J[:, None, :K] - c.J[:, :K]) / -J_SCALE_HZ)
        t *= q.jmask[:, None, :K]
        total = t.sum(axis=2)
        total += (q.nj == 0)[:, None]  # two empty lists -> 1 (eq. 14 choice)
        coupling = np.where(len_eq, total / np.maximum(q.nj, 1)[:, None], 0.0)
    else:
        coupling = len_eq.astype(np.float64)
    # Grouped so that identical multiplets give exactly 0.8 + 0.2 = 1.0.
    return 0.4 * shift + (0.1 * nh_eq + 0.05 * (mult_eq + coupling))


def _concat(cands: Sequence[PreparedSpectrum]) -> PreparedSpectrum:
    """The multiplet arrays of several 1H spectra stacked (for one (q.n, sum of c.n) eq. 13 matrix)."""
    if len(cands) == 1:
        return cands[0]
    cat = np.concatenate
    return PreparedSpectrum(
        nucleus="1H", n=sum(c.n for c in cands), size=0, centre=np.zeros(0), owner=np.zeros(0, np.int64),
        order=np.zeros(0, np.int64), lo=cat([c.lo for c in cands]), hi=cat([c.hi for c in cands]),
        nh=cat([c.nh for c in cands]), mult=cat([c.mult for c in cands]), J=cat([c.J for c in cands]),
        jmask=np.zeros((0, MAX_J)), nj=cat([c.nj for c in cands]), jmax=max(c.jmax for c in cands),
    )


def _score_pair(a: PreparedSpectrum, b: PreparedSpectrum) -> float:
    """The scalar form of :func:`_score_chunk` (same steps, no concatenation or bincount)."""
    from scipy.optimize import linear_sum_assignment

    if a.size == 0 or b.size == 0:
        return 1.0 if a.size == b.size else 0.0
    if a.size > b.size:  # a is the shorter set A' (eq. 5); its index order decides ties (eq. 6/7)
        a, b = b, a
    m, big = a.size, b.size
    dist = np.abs(a.centre[:, None] - b.centre)
    if a.is_1h:
        tau = TAU_H
        if m == big:
            r, c = a.order, b.order  # exact sorted matching for the convex 1H cost (eq. 4-5)
        else:
            r, c = linear_sum_assignment(dist * dist)  # eq. 4-5
        sim_h = _pair_matrix_h(a, b)  # eq. 13-14
        a_owner, b_owner = a.owner, b.owner

        def pair_sim(r: np.ndarray, c: np.ndarray) -> np.ndarray:
            return sim_h[a_owner[r], b_owner[c]]
    else:
        tau = TAU_C
        sim_c = np.exp(dist / -SIGMA_C)  # eq. 2
        r, c = linear_sum_assignment(1.0 - sim_c)  # eq. 3, 5

        def pair_sim(r: np.ndarray, c: np.ndarray) -> np.ndarray:
            return sim_c[r, c]

    valid1 = dist[r, c] <= tau
    total = float(np.where(valid1, pair_sim(r, c), 0.0).sum())  # eq. 8/15, Stage I
    n_valid1 = int(np.count_nonzero(valid1))
    if big > m:  # Stage II (eq. 6/7): each left-over column to its nearest row, lowest index on ties
        free = np.ones(big, dtype=bool)
        free[c] = False
        c2 = np.flatnonzero(free)
        r2 = dist[:, c2].argmin(axis=0)
        valid2 = dist[r2, c2] <= tau
        total += float(np.where(valid2, STAGE2_DAMPING * pair_sim(r2, c2), 0.0).sum())  # eq. 9/15
    mean = total / big  # eq. 10/16
    p_struct = big / (big + (big - m) + (big - n_valid1))  # eq. 11/17
    score = 0.8 * mean + 0.2 * p_struct  # eq. 12
    if a.is_1h:
        score *= m / big  # eq. 18-19
    return min(1.0, max(0.0, score))


def _score_chunk(q: PreparedSpectrum, cands: Sequence[PreparedSpectrum]) -> np.ndarray:
    from scipy.optimize import linear_sum_assignment

    N = len(cands)
    m_q = q.size
    sizes = np.array([c.size for c in cands], dtype=np.int64)
    offsets = np.zeros(N + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    centre = np.concatenate([c.centre for c in cands])
    dist = np.abs(q.centre[:, None] - centre)  # (m_q, total) expanded-centre distances, ppm
    pair_sim: Callable[[np.ndarray, np.ndarray], np.ndarray]
    if q.is_1h:
        tau = TAU_H
        cost = dist * dist  # eq. 4
        sim_h = _pair_matrix_h(q, _concat(cands))  # eq. 13 on original multiplets
        n_off = np.zeros(N, dtype=np.int64)
        np.cumsum([c.n for c in cands[:-1]], out=n_off[1:])
        c_owner = np.concatenate([c.owner for c in cands]) + np.repeat(n_off, sizes)
        q_owner = q.owner

        def pair_sim(r: np.ndarray, c: np.ndarray) -> np.ndarray:
            return sim_h[q_owner[r], c_owner[c]]
    else:
        tau = TAU_C
        sim_c = np.exp(dist / -SIGMA_C)  # eq. 2 (and eq. 8 before the tau cut)
        cost = 1.0 - sim_c  # eq. 3

        def pair_sim(r: np.ndarray, c: np.ndarray) -> np.ndarray:
            return sim_c[r, c]

    rows1: list[np.ndarray] = []
    cols1: list[np.ndarray] = []
    rows2: list[np.ndarray] = []
    cols2: list[np.ndarray] = []
    all_rows = np.arange(m_q)
    for k, c in enumerate(cands):
        a, b = int(offsets[k]), int(offsets[k + 1])
        if q.is_1h and c.size == m_q:
            r, cc = q.order, c.order  # exact sorted matching for the convex 1H cost (eq. 5)
        else:
            r, cc = linear_sum_assignment(cost[:, a:b])  # eq. 5
            if c.size < m_q:  # the query is the longer set: Stage II over its left-over rows
                free = np.ones(m_q, dtype=bool)
                free[r] = False
                fr = all_rows[free]
                rows2.append(fr)
                cols2.append(dist[fr, a:b].argmin(axis=1) + a)  # eq. 6/7, lowest index on ties
        rows1.append(r)
        cols1.append(cc + a)
    r1 = np.concatenate(rows1)
    c1 = np.concatenate(cols1)
    pid1 = np.repeat(np.arange(N), np.minimum(sizes, m_q))
    # Stage II for candidates longer than the query: their left-over columns (eq. 6/7).
    col_cand = np.repeat(np.arange(N), sizes)
    free_col = np.repeat(sizes > m_q, sizes)
    free_col[c1] = False
    fc = np.flatnonzero(free_col)
    r2 = np.concatenate([dist[:, fc].argmin(axis=0), *rows2])
    c2 = np.concatenate([fc, *cols2])
    pid2 = col_cand[c2]

    valid1 = dist[r1, c1] <= tau
    valid2 = dist[r2, c2] <= tau
    sum1 = np.bincount(pid1, weights=np.where(valid1, pair_sim(r1, c1), 0.0), minlength=N)  # eq. 8/15
    sum2 = np.bincount(pid2, weights=np.where(valid2, STAGE2_DAMPING * pair_sim(r2, c2), 0.0), minlength=N)  # eq. 9/15
    n_valid1 = np.bincount(pid1, weights=valid1, minlength=N)
    big = np.maximum(sizes, m_q).astype(np.float64)  # |M1 u M2| = max(|A'|, |B'|)
    small = np.minimum(sizes, m_q).astype(np.float64)
    mean = (sum1 + sum2) / big  # eq. 10/16
    p_struct = big / (big + (big - small) + (big - n_valid1))  # eq. 11/17
    score = 0.8 * mean + 0.2 * p_struct  # eq. 12
    if q.is_1h:
        score *= small / big  # eq. 18-19
    return np.clip(score, 0.0, 1.0)
