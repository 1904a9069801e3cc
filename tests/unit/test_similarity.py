"""The peak-aware similarity (NMRPeak Methods 5.3): hand-computed terms, edge cases, properties.

Hand computations use e = exp: phi(d, sigma) = e^(-d/sigma); 13C sigma 5, tau 20 ppm; 1H sigma 1,
tau 2 ppm; J scale 10 Hz.
"""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment

from nmrlens.similarity import nmrpeak as sim
from nmrlens.errors import SpectrumFormatError
from nmrlens.similarity import PreparedSpectrum, peak_similarity, peak_similarity_many, prepare_spectrum
from nmrlens.spectra import Multiplet, Peak, Spectrum1D
from tests.strategies import spectra

E = math.exp


def c13(*shifts: float, nucleus: str = "13C") -> Spectrum1D:
    return Spectrum1D(nucleus, [Peak(shift=s) for s in shifts])


def h(*multiplets: tuple) -> Spectrum1D:
    """1H spectrum from (shift_min, shift_max, mult, J, nH) tuples."""
    return Spectrum1D("1H", [Multiplet(lo, hi, mult, J, nH) for lo, hi, mult, J, nH in multiplets])


def both(a: Spectrum1D, b: Spectrum1D) -> float:
    """peak_similarity(a, b), checked against b->a and the batched form."""
    s = peak_similarity(a, b)
    assert peak_similarity(b, a) == pytest.approx(s, abs=1e-12)
    assert peak_similarity_many(a, [b])[0] == pytest.approx(s, abs=1e-12)
    assert peak_similarity_many(b, [a])[0] == pytest.approx(s, abs=1e-12)
    return s


# ----------------------------------------------------------------------------------------------
# A literal, loop-based implementation of eq. 1-19 (linear_sum_assignment for every Stage I,
# including 1H of equal sizes), used to check the vectorised one.


def reference(a: Spectrum1D, b: Spectrum1D) -> float:
    is_h = a.nucleus == "1H"
    A = [p for p in a.peaks for _ in range((p.nH or 1) if is_h else 1)]
    B = [p for p in b.peaks for _ in range((p.nH or 1) if is_h else 1)]
    if not A and not B:
        return 1.0
    if not A or not B:
        return 0.0
    if len(A) > len(B):
        A, B = B, A
    sigma, tau = (1.0, 2.0) if is_h else (5.0, 20.0)

    def d(p, q) -> float:
        return abs(p.shift - q.shift)

    def s(p, q) -> float:
        if not is_h:
            return E(-d(p, q) / sigma)
        ja, jb = sorted(p.J), sorted(q.J)
        if len(ja) != len(jb):
            sc = 0.0
        elif not ja:
            sc = 1.0
        else:
            sc = sum(E(-abs(x - y) / 10.0) for x, y in zip(ja, jb)) / len(ja)
        return (0.4 * E(-abs(p.shift_min - q.shift_min)) + 0.4 * E(-abs(p.shift_max - q.shift_max))
                + 0.05 * (p.mult == q.mult) + 0.1 * ((p.nH or 1) == (q.nH or 1)) + 0.05 * sc)

    cost = [[(p.shift - q.shift) ** 2 if is_h else 1.0 - E(-d(p, q) / sigma) for q in B] for p in A]
    rows, cols = linear_sum_assignment(np.array(cost))
    m1 = list(zip(rows.tolist(), cols.tolist()))
    used = set(cols.tolist())
    m2 = [(min(range(len(A)), key=lambda i: (d(A[i], B[j]), i)), j) for j in range(len(B)) if j not in used]
    total = sum(s(A[i], B[j]) for i, j in m1 if d(A[i], B[j]) <= tau)
    total += sum(0.8 * s(A[i], B[j]) for i, j in m2 if d(A[i], B[j]) <= tau)
    n = len(m1) + len(m2)
    valid1 = sum(1 for i, j in m1 if d(A[i], B[j]) <= tau)
    p_struct = max(len(A), len(B)) / (n + abs(len(A) - len(B)) + (n - valid1))
    score = 0.8 * total / n + 0.2 * p_struct
    return score * len(A) / len(B) if is_h else score


def random_c13(rng: random.Random, n: int) -> Spectrum1D:
    return c13(*(rng.uniform(-10.0, 230.0) for _ in range(n)))


def random_h(rng: random.Random, nhs: list[int | None]) -> Spectrum1D:
    mults = [None, "s", "d", "t", "dd", "m", "br s", "q"]
    peaks = []
    for nh in nhs:
        lo = rng.uniform(0.0, 10.0)
        hi = lo + rng.choice([0.0, rng.uniform(0.0, 0.3)])
        J = tuple(rng.uniform(1.0, 16.0) for _ in range(rng.choice([0, 0, 1, 1, 2, 3])))
        peaks.append(Multiplet(lo, hi, rng.choice(mults), J, nh))
    return Spectrum1D("1H", peaks)


# ----------------------------------------------------------------------------------------------
# 13C, hand-computed


def test_c13_identity_is_one() -> None:
    a = c13(170.0, 128.0, 128.0, 21.0)
    assert peak_similarity(a, a) == 1.0
    assert peak_similarity(a, c13(21.0, 128.0, 170.0, 128.0)) == 1.0


def test_c13_one_pair_within_tau() -> None:
    # d = 5: s = e^-1; mean = e^-1; p_struct = 1/(1+0+0) = 1; S = 0.8 e^-1 + 0.2 = 0.494304
    assert both(c13(100.0), c13(105.0)) == pytest.approx(0.8 * E(-1) + 0.2, abs=1e-14)
    assert both(c13(100.0), c13(105.0)) == pytest.approx(0.4943035529, abs=1e-10)


def test_c13_distance_equal_to_tau_is_valid() -> None:
    # d = 20 = tau is valid (eq. 8 "<="): S = 0.8 e^-4 + 0.2 = 0.214653
    assert both(c13(100.0), c13(120.0)) == pytest.approx(0.8 * E(-4) + 0.2, abs=1e-14)


def test_c13_invalid_stage1_match_scores_zero_and_is_penalised() -> None:
    # d = 30 > tau: s~ = 0; |M1 u M2| = 1, |M1 valid| = 0: p_struct = 1/(1 + 0 + 1) = 0.5; S = 0.2*0.5 = 0.1
    assert both(c13(100.0), c13(130.0)) == pytest.approx(0.1, abs=1e-14)


def test_c13_stage2_dampened_and_penalty_counts_stage2_matches() -> None:
    # A = {100}, B = {100, 110}. Stage I: 100-100 (s = 1). Stage II: 110 -> 100, d = 10,
    # s~ = 0.8 e^-2 = 0.108268. mean = (1 + 0.108268)/2 = 0.554134 (divides by |M1 u M2| = 2).
    # p_struct = 2 / (2 + |1-2| + (2 - 1)) = 0.5 (the Stage II match is not in M1_valid).
    # S = 0.8 * 0.554134 + 0.2 * 0.5 = 0.543307
    mean = (1 + 0.8 * E(-2)) / 2
    assert both(c13(100.0), c13(100.0, 110.0)) == pytest.approx(0.8 * mean + 0.1, abs=1e-14)


def test_c13_stage2_beyond_tau_scores_zero() -> None:
    # Stage II: 150 -> 100, d = 50 > 20: 0. mean = 1/2; p_struct = 0.5; S = 0.4 + 0.1 = 0.5
    assert both(c13(100.0), c13(100.0, 150.0)) == pytest.approx(0.5, abs=1e-14)


def test_c13_uses_the_optimal_assignment_of_the_concave_cost() -> None:
    # A = {10, 11}, B = {11, 12}. Cost 1 - e^(-d/5) is concave, so crossing wins:
    # 10-12 (d=2) + 11-11 (d=0): cost (1 - e^-0.4) = 0.3297 < order-preserving 2 (1 - e^-0.2) = 0.3625.
    # sum s = e^-0.4 + 1 = 1.670320; mean = 0.835160; p_struct = 1; S = 0.868128
    crossed = 0.8 * (E(-0.4) + 1) / 2 + 0.2
    sorted_pairs = 0.8 * E(-0.2) + 0.2
    s = both(c13(10.0, 11.0), c13(11.0, 12.0))
    assert s == pytest.approx(crossed, abs=1e-14)
    assert abs(s - sorted_pairs) > 0.01


def test_other_nuclei_use_the_13c_formula() -> None:
    # 19F, d = 5 ppm: the 13C formula with sigma 5, tau 20 (same numbers as the 13C case)
    assert both(c13(-120.0, nucleus="19F"), c13(-125.0, nucleus="19F")) == pytest.approx(0.8 * E(-1) + 0.2)


def test_c13_count_is_not_used() -> None:
    a = Spectrum1D("13C", [Peak(shift=128.0, count=2), Peak(shift=20.0)])
    assert peak_similarity(a, c13(128.0, 20.0)) == 1.0


# ----------------------------------------------------------------------------------------------
# 1H, hand-computed (each term of eq. 13-19)


def test_h1_identity_is_one() -> None:
    a = h((7.2, 7.35, "m", (), 5), (4.12, 4.12, "q", (7.1,), 2), (1.25, 1.25, "t", (7.1,), 3), (2.0, 2.0, None, (), None))
    assert peak_similarity(a, a) == 1.0


def test_h1_identity_with_equal_centres_pairs_each_multiplet_with_itself() -> None:
    # Two multiplets share the centre 1.0; the sorted matching breaks the tie by content.
    peaks = [(1.0, 1.0, "s", (), 1), (0.9, 1.1, "m", (), 1), (1.0, 1.0, "d", (3.0,), 1), (0.95, 1.05, None, (), 2)]
    a = h(*peaks)
    b = h(*reversed(peaks))
    assert peak_similarity(a, a) == 1.0
    assert peak_similarity(a, b) == 1.0
    assert peak_similarity_many(b, [a, b])[0] == 1.0


def test_h1_range_bound_terms() -> None:
    # [7.0, 7.2] vs [7.1, 7.5]: centres 7.1 / 7.3, d = 0.2 <= 2.
    # s = 0.4 e^-0.1 + 0.4 e^-0.3 + 0.05 (m = m) + 0.1 (1 = 1) + 0.05 (no J on both: 1) = 0.858262
    # S = (0.8 s + 0.2 * 1) * 1 = 0.886610
    s = 0.4 * E(-0.1) + 0.4 * E(-0.3) + 0.2
    assert both(h((7.0, 7.2, "m", (), 1)), h((7.1, 7.5, "m", (), 1))) == pytest.approx(0.8 * s + 0.2, abs=1e-14)


def test_h1_multiplicity_term() -> None:
    # s vs d, same shift, no J on both: s = 0.8 + 0 + 0.1 + 0.05 = 0.95; S = 0.8 * 0.95 + 0.2 = 0.96
    assert both(h((2.0, 2.0, "s", (), 1)), h((2.0, 2.0, "d", (), 1))) == pytest.approx(0.96, abs=1e-14)
    # labels compared as strings: "br s" is not "s"
    assert both(h((2.0, 2.0, "s", (), 1)), h((2.0, 2.0, "br s", (), 1))) == pytest.approx(0.96, abs=1e-14)
    # None equals None, and differs from a label
    assert both(h((2.0, 2.0, None, (), 1)), h((2.0, 2.0, None, (), 1))) == 1.0
    assert both(h((2.0, 2.0, None, (), 1)), h((2.0, 2.0, "s", (), 1))) == pytest.approx(0.96, abs=1e-14)


def test_h1_hydrogen_count_terms_and_penalties() -> None:
    # A: 3 H at 2.0, B: 2 H at 2.0 -> expanded 3 vs 2. Pair score: 0.8 + 0.05 + 0 (3 != 2) + 0.05 = 0.9.
    # Stage I: the 2 copies of B take 2 copies of A (0.9 each); Stage II: the third copy of A -> B, 0.8*0.9.
    # mean = (0.9 + 0.9 + 0.72)/3 = 0.84; p_struct = 3/(3 + 1 + (3 - 2)) = 0.6; p_H = 2/3
    # S = (0.8 * 0.84 + 0.2 * 0.6) * 2/3 = 0.792 * 2/3 = 0.528
    assert both(h((2.0, 2.0, "s", (), 3)), h((2.0, 2.0, "s", (), 2))) == pytest.approx(0.528, abs=1e-14)


def test_h1_unknown_nh_counts_as_one() -> None:
    assert both(h((2.0, 2.0, "s", (), None)), h((2.0, 2.0, "s", (), 1))) == 1.0
    # None vs 2: like 1 vs 2: pair 0.9; mean (0.9 + 0.72)/2 = 0.81; p_struct = 2/(2+1+1) = 0.5; p_H = 0.5
    # S = (0.648 + 0.1) * 0.5 = 0.374
    assert both(h((2.0, 2.0, "s", (), None)), h((2.0, 2.0, "s", (), 2))) == pytest.approx(0.374, abs=1e-14)
    assert prepare_spectrum(h((2.0, 2.0, "s", (), None), (1.0, 1.0, "s", (), 3))).size == 4


def test_h1_coupling_term() -> None:
    # d, J 7 vs 8 Hz: s_c = e^-0.1; s = 0.8 + 0.05 + 0.1 + 0.05 e^-0.1 = 0.995242; S = 0.8 s + 0.2 = 0.996194
    s = 0.95 + 0.05 * E(-0.1)
    assert both(h((4.1, 4.1, "d", (7.0,), 1)), h((4.1, 4.1, "d", (8.0,), 1))) == pytest.approx(0.8 * s + 0.2, abs=1e-14)
    # J lists are sorted before comparison: (8, 2) ~ (2, 8) vs (3, 8): s_c = (e^-0.1 + e^0)/2
    s = 0.95 + 0.05 * (E(-0.1) + 1) / 2
    got = both(h((4.1, 4.1, "dd", (8.0, 2.0), 1)), h((4.1, 4.1, "dd", (8.0, 3.0), 1)))
    assert got == pytest.approx(0.8 * s + 0.2, abs=1e-14)
    # different lengths: s_c = 0 (and d vs dd differ): s = 0.8 + 0 + 0.1 + 0 = 0.9; S = 0.92
    assert both(h((4.1, 4.1, "d", (7.0,), 1)), h((4.1, 4.1, "dd", (7.0, 2.0), 1))) == pytest.approx(0.92, abs=1e-14)
    # empty vs non-empty: lengths differ -> 0; s = 0.8 + 0.05 + 0.1 = 0.95; S = 0.96
    assert both(h((4.1, 4.1, "m", (), 1)), h((4.1, 4.1, "m", (7.0,), 1))) == pytest.approx(0.96, abs=1e-14)


def test_h1_beyond_tau_scores_zero() -> None:
    # centres 1.0 and 3.5: d = 2.5 > 2, s~ = 0 although the bounds alone would score; p_struct = 1/(1+0+1)
    # S = (0 + 0.2 * 0.5) * 1 = 0.1
    assert both(h((1.0, 1.0, "s", (), 1)), h((3.5, 3.5, "s", (), 1))) == pytest.approx(0.1, abs=1e-14)


def test_h1_stage2_tie_goes_to_the_lowest_index() -> None:
    # A = {3.0 s, 1.0 d J7}, B = A + {2.0 s}. Stage I pairs A with its copies in B (score 1 each).
    # The left-over 2.0 s is 1 ppm from both; peaks are in decreasing-shift order, so index 0 is 3.0 s.
    # s(2.0 s, 3.0 s) = 0.8 e^-1 + 0.05 + 0.1 + 0.05 = 0.494304 (to 1.0 d it would be 0.8 e^-1 + 0.1).
    # mean = (2 + 0.8 * 0.494304)/3 = 0.798481; p_struct = 3/(3 + 1 + 1) = 0.6; p_H = 2/3
    # S = (0.8 * 0.798481 + 0.12) * 2/3 = 0.505857
    a = h((3.0, 3.0, "s", (), 1), (1.0, 1.0, "d", (7.0,), 1))
    b = h((3.0, 3.0, "s", (), 1), (1.0, 1.0, "d", (7.0,), 1), (2.0, 2.0, "s", (), 1))
    mean = (2 + 0.8 * (0.8 * E(-1) + 0.2)) / 3
    expected = (0.8 * mean + 0.2 * 0.6) * 2 / 3
    assert both(a, b) == pytest.approx(expected, abs=1e-14)
    assert expected == pytest.approx(0.5058565, abs=1e-7)


# ----------------------------------------------------------------------------------------------
# Edge cases and errors


@pytest.mark.parametrize("nucleus", ["13C", "1H"])
def test_empty_spectra(nucleus: str) -> None:
    empty = Spectrum1D(nucleus, [])
    full = c13(100.0) if nucleus == "13C" else h((1.0, 1.0, "s", (), 1))
    assert peak_similarity(empty, empty) == 1.0
    assert peak_similarity(empty, full) == 0.0
    assert peak_similarity(full, empty) == 0.0
    assert peak_similarity_many(empty, [full, empty]).tolist() == [0.0, 1.0]
    assert peak_similarity_many(empty, [full]).tolist() == [0.0]
    assert peak_similarity_many(full, [empty, full, empty]).tolist() == [0.0, 1.0, 0.0]
    assert peak_similarity_many(full, []).shape == (0,)


def test_different_nuclei_are_rejected() -> None:
    with pytest.raises(SpectrumFormatError, match="nucleus.*'1H'.*13C"):
        peak_similarity(c13(100.0), h((1.0, 1.0, "s", (), 1)))
    with pytest.raises(SpectrumFormatError, match=r"candidates\[1\]\.nucleus.*'19F'"):
        peak_similarity_many(c13(100.0), [c13(1.0), c13(1.0, nucleus="19F")])


def test_bad_arguments_are_rejected() -> None:
    with pytest.raises(SpectrumFormatError, match="^a: got 'list'"):
        peak_similarity([100.0], c13(1.0))  # type: ignore[arg-type]
    with pytest.raises(SpectrumFormatError, match="candidates: got 'Spectrum1D'"):
        peak_similarity_many(c13(1.0), c13(1.0))  # type: ignore[arg-type]
    with pytest.raises(SpectrumFormatError, match=r"candidates\[0\]: got 'str'"):
        peak_similarity_many(c13(1.0), ["13C"])  # type: ignore[list-item]


def test_too_many_protons_are_rejected() -> None:
    big = h(*[(1.0 + i * 0.01, 1.0 + i * 0.01, "s", (), 500) for i in range(5)])  # 2500 H
    with pytest.raises(SpectrumFormatError, match="2500 protons.*at most 2000"):
        peak_similarity(big, big)


def test_prepared_spectra_are_accepted_and_read_only() -> None:
    a, b = c13(100.0, 50.0), c13(105.0)
    pa = prepare_spectrum(a)
    assert isinstance(pa, PreparedSpectrum) and prepare_spectrum(pa) is pa
    assert peak_similarity(pa, b) == peak_similarity(a, b)
    assert peak_similarity_many(pa, [prepare_spectrum(b), b]).tolist() == [peak_similarity(a, b)] * 2
    with pytest.raises(ValueError):
        pa.centre[0] = 1.0


def test_batched_chunks_agree_with_scalar(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(5)
    for nucleus in ("13C", "1H"):
        make = (lambda: random_c13(rng, rng.randint(0, 8))) if nucleus == "13C" else \
            (lambda: random_h(rng, [rng.randint(1, 3) for _ in range(rng.randint(0, 5))]))
        query = make()
        while not query.peaks:
            query = make()
        cands = [make() for _ in range(40)]
        scalar = [peak_similarity(query, c) for c in cands]
        monkeypatch.setattr(sim, "_CHUNK_ENTRIES", 30)
        small_chunks = peak_similarity_many(query, cands)
        monkeypatch.undo()
        np.testing.assert_allclose(small_chunks, scalar, rtol=0, atol=1e-12)
        np.testing.assert_allclose(peak_similarity_many(query, cands), scalar, rtol=0, atol=1e-12)


# ----------------------------------------------------------------------------------------------
# The sorted fast path (1H, equal sizes) and the reference implementation


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 30).flatmap(lambda n: st.tuples(
    st.lists(st.floats(-3.0, 17.0), min_size=n, max_size=n), st.lists(st.floats(-3.0, 17.0), min_size=n, max_size=n))))
def test_sorted_matching_is_optimal_for_squared_distance(ab: tuple[list[float], list[float]]) -> None:
    a, b = (np.array(x) for x in ab)
    cost = (a[:, None] - b[None, :]) ** 2
    r, c = linear_sum_assignment(cost)
    hungarian = cost[r, c].sum()
    fast = ((np.sort(a) - np.sort(b)) ** 2).sum()
    assert fast <= hungarian + 1e-9 * (1.0 + hungarian)


def test_sorted_matching_is_not_optimal_for_the_concave_13c_cost() -> None:
    a, b = np.array([10.0, 11.0]), np.array([11.0, 12.0])
    cost = 1.0 - np.exp(-np.abs(a[:, None] - b[None, :]) / 5.0)
    r, c = linear_sum_assignment(cost)
    assert cost[r, c].sum() < cost[0, 0] + cost[1, 1] - 0.03


@settings(max_examples=100, deadline=None)
@given(spectra("1H"))
def test_prepared_order_sorts_the_expanded_centres(sp: Spectrum1D) -> None:
    p = prepare_spectrum(sp)
    assert sorted(p.order.tolist()) == list(range(p.size))
    assert np.all(np.diff(p.centre[p.order]) >= 0)
    assert p.centre.tolist() == [m.shift for m in sp.peaks for _ in range(m.nH or 1)]


def test_equal_size_1h_does_not_call_the_hungarian_solver(monkeypatch: pytest.MonkeyPatch) -> None:
    import scipy.optimize

    a = h((7.2, 7.3, "m", (), 5), (2.1, 2.1, "s", (), 3))
    b = h((7.1, 7.3, "m", (), 4), (2.0, 2.0, "s", (), 3), (1.0, 1.0, "s", (), 1))

    def refuse(*args: object) -> None:
        raise AssertionError("linear_sum_assignment called")

    monkeypatch.setattr(scipy.optimize, "linear_sum_assignment", refuse)
    assert 0.0 < peak_similarity(a, b) < 1.0
    assert 0.0 < peak_similarity_many(a, [b, a])[0] < 1.0


@pytest.mark.parametrize("seed", range(6))
def test_matches_the_literal_reference_implementation(seed: int) -> None:
    # Continuous random values (no ties), so the optimal assignments are unique up to swapping the
    # identical expanded copies; equal-size 1H pairs compare the sorted path with the Hungarian one.
    rng = random.Random(seed)
    for _ in range(25):
        a, b = random_c13(rng, rng.randint(1, 25)), random_c13(rng, rng.randint(1, 25))
        assert peak_similarity(a, b) == pytest.approx(reference(a, b), abs=1e-12)
        nhs = [rng.choice([1, 1, 2, 3, None]) for _ in range(rng.randint(1, 12))]
        a = random_h(rng, nhs)
        b = random_h(rng, rng.sample(nhs, len(nhs)))  # equal sizes: sorted fast path
        c = random_h(rng, [rng.choice([1, 2, 3]) for _ in range(rng.randint(1, 12))])  # mostly unequal
        assert peak_similarity(a, b) == pytest.approx(reference(a, b), abs=1e-12)
        assert peak_similarity(a, c) == pytest.approx(reference(a, c), abs=1e-12)
        assert peak_similarity_many(a, [b, c]) == pytest.approx([reference(a, b), reference(a, c)], abs=1e-12)


# ----------------------------------------------------------------------------------------------
# Properties


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["13C", "1H"]).flatmap(lambda n: spectra(n)), st.randoms(use_true_random=False))
def test_identity_is_one(sp: Spectrum1D, rnd: random.Random) -> None:
    assert peak_similarity(sp, sp) == 1.0
    shuffled = Spectrum1D(sp.nucleus, rnd.sample(list(sp.peaks), len(sp.peaks)))
    assert peak_similarity(sp, shuffled) == 1.0


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["13C", "1H"]).flatmap(lambda n: st.tuples(spectra(n), spectra(n))))
def test_symmetric_and_bounded(ab: tuple[Spectrum1D, Spectrum1D]) -> None:
    a, b = ab
    s = peak_similarity(a, b)
    assert 0.0 <= s <= 1.0
    assert peak_similarity(b, a) == pytest.approx(s, abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(["13C", "1H"]).flatmap(lambda n: st.tuples(spectra(n), st.lists(spectra(n), max_size=6))))
def test_batched_equals_scalar(qc: tuple[Spectrum1D, list[Spectrum1D]]) -> None:
    query, cands = qc
    many = peak_similarity_many(query, cands)
    assert many.dtype == np.float64 and many.shape == (len(cands),)
    np.testing.assert_allclose(many, [peak_similarity(query, c) for c in cands], rtol=0, atol=1e-12)
    assert np.all((many >= 0.0) & (many <= 1.0))
