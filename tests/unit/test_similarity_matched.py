"""Matched similarity (optimal one-to-one assignment) and spectral fingerprints."""

from __future__ import annotations

import itertools
import math
import random

import numpy as np
import pytest

from nmrlens.errors import SpectrumFormatError
from nmrlens.similarity.fingerprint import (C13_DIM, H1_DIM, fingerprint_dim, fingerprint_from_arrays,
                                            spectrum_fingerprint)
from nmrlens.similarity.matched import (C13_PARAMS, H1_PARAMS, MatchParams, matched_similarity,
                                        matched_similarity_many, peak_array)
from nmrlens.spectra.model import Multiplet, Peak, Spectrum1D


def c13(*peaks: float | tuple[float, str]) -> Spectrum1D:
    return Spectrum1D("13C", [Peak(p) if isinstance(p, float) else Peak(p[0], mult=p[1]) for p in peaks])


def h1(*mults: tuple[float, int | None]) -> Spectrum1D:
    return Spectrum1D("1H", [Multiplet(s, s, nH=n) for s, n in mults])


def brute_force(q: Spectrum1D, c: Spectrum1D, prm: MatchParams) -> float:
    """The definition of the module docstring, by enumerating every one-to-one matching."""
    a, b = peak_array(q), peak_array(c)
    if not len(a) or not len(b):
        return 1.0 if len(a) == len(b) else 0.0
    if q.nucleus == "1H" and (a[:, 1] >= 1).all():  # every observed nH known: compare protons
        a, b = (np.array([(s, -1.0) for s, n in x for _ in range(max(1, int(n)))]) for x in (a, b))
    small, big, swap = (a, b, False) if len(a) <= len(b) else (b, a, True)
    best = math.inf
    for perm in itertools.permutations(range(len(big)), len(small)):
        tot = 0.0
        for i, j in enumerate(perm):
            x, y = (big[j], small[i]) if swap else (small[i], big[j])
            tot += (min(abs(x[0] - y[0]), prm.cap) / prm.scale) ** prm.power
            if x[1] >= 0 and y[1] >= 0:
                if q.nucleus == "1H":
                    tot += prm.nh_penalty * abs(x[1] - y[1])
                elif x[1] != y[1]:
                    tot += prm.mult_penalty
        best = min(best, tot)
    best += prm.unmatched * (len(big) - len(small))
    return math.exp(-best / len(big))


def test_identity_empty_and_range() -> None:
    a = c13((170.2, "S"), (60.1, "T"), (14.0, "Q"))
    assert matched_similarity(a, a) == 1.0
    assert matched_similarity(c13(), c13()) == 1.0
    assert matched_similarity(a, c13()) == 0.0 and matched_similarity(c13(), a) == 0.0
    h = h1((7.26, 5), (4.1, 2), (1.2, 3))
    assert matched_similarity(h, h) == 1.0
    assert 0.0 < matched_similarity(a, c13(171.0, 61.0)) < 1.0


def test_closer_shifts_score_higher_and_the_cap_bounds_outliers() -> None:
    q = c13(100.0, 50.0)
    s = [matched_similarity(q, c13(100.0 + d, 50.0)) for d in (0.5, 2.0, 5.0, 9.0, 10.0, 30.0)]
    assert s[0] > s[1] > s[2] > s[3] > s[4]
    assert s[4] == pytest.approx(s[5])  # beyond the cap every error costs the same


def test_multiplicity_penalty_only_when_both_sides_know_it() -> None:
    pred = c13((128.0, "D"), (20.0, "Q"))
    same = c13((128.5, "D"), (20.5, "Q"))
    swapped = c13((128.5, "S"), (20.5, "Q"))
    unknown = c13(128.5, 20.5)
    assert matched_similarity(same, pred) > matched_similarity(swapped, pred)
    assert matched_similarity(unknown, pred) == pytest.approx(matched_similarity(same, pred))


def test_1h_compares_protons_when_every_nh_is_known_else_multiplets() -> None:
    pred = h1((7.36, 2), (7.33, 2), (7.30, 1), (5.10, 2), (2.08, 3))
    merged = h1((7.35, 5), (5.11, 2), (2.09, 3))  # a literature list: the aromatic protons as one multiplet
    assert matched_similarity(merged, pred) > 0.95
    assert matched_similarity(h1((7.35, 4), (5.11, 2), (2.09, 3)), pred) < matched_similarity(merged, pred)
    # some nH unknown: multiplets one to one, nH penalty only where both sides know it
    pred2 = h1((7.2, 5), (2.3, 3))
    assert matched_similarity(h1((7.25, None), (2.35, 3)), pred2) > matched_similarity(h1((7.25, None), (2.35, 1)), pred2)
    assert matched_similarity(h1((7.25, None), (2.35, None)), pred2) == pytest.approx(
        matched_similarity(h1((7.25, None), (2.35, 3)), pred2))


def test_huge_1h_lists_fall_back_to_multiplets() -> None:
    from nmrlens.similarity import matched

    big = h1(*[(1.0 + 0.01 * k, 3) for k in range(150)])  # 450 protons
    assert matched.MAX_PROTONS < 450
    assert matched_similarity(big, big) == 1.0  # compared multiplet by multiplet, still exact for identity


def test_unmatched_peaks_cost_on_either_side() -> None:
    q = c13(100.0, 50.0)
    assert matched_similarity(q, c13(100.0, 50.0, 20.0)) < 1.0
    assert matched_similarity(c13(100.0, 50.0, 20.0), q) == pytest.approx(matched_similarity(q, c13(100.0, 50.0, 20.0)))


def test_optimal_assignment_matches_brute_force() -> None:
    rng = random.Random(3)
    for _ in range(60):
        nq, nc = rng.randint(1, 5), rng.randint(1, 5)
        q = c13(*[(rng.uniform(10, 60), rng.choice("SDTQ")) for _ in range(nq)])
        c = c13(*[(rng.uniform(10, 60), rng.choice("SDTQ")) for _ in range(nc)])
        assert matched_similarity(q, c) == pytest.approx(brute_force(q, c, C13_PARAMS), rel=1e-9)
        # up to two observed multiplets with known nH (proton level, at most 6 x 6 protons), else one unknown nH
        hq = h1(*[(rng.uniform(0.5, 8), rng.choice([1, 2]) if nq <= 2 else (None if k == 0 else rng.choice([1, 2, 3])))
                  for k in range(nq)])
        hc = h1(*[(rng.uniform(0.5, 8), rng.choice([1, 2, 3])) for _ in range(nc if nq > 2 else min(nc, 2))])
        assert matched_similarity(hq, hc) == pytest.approx(brute_force(hq, hc, H1_PARAMS), rel=1e-9)


def test_many_accepts_spectra_arrays_and_none_and_checks_input() -> None:
    q = c13((100.0, "D"), (50.0, "T"))
    cands = [c13((101.0, "D"), (49.0, "T")), c13(30.0)]
    scores = matched_similarity_many(q, [cands[0], peak_array(cands[1]), None])
    assert scores[0] == pytest.approx(matched_similarity(q, cands[0]))
    assert scores[1] == pytest.approx(matched_similarity(q, cands[1])) and scores[2] == 0.0
    with pytest.raises(SpectrumFormatError, match=r"candidates\[0\].nucleus"):
        matched_similarity_many(q, [h1((1.0, 3))])
    with pytest.raises(SpectrumFormatError, match=r"candidates\[0\]"):
        matched_similarity_many(q, [np.zeros(3)])
    with pytest.raises(SpectrumFormatError, match="observed"):
        matched_similarity_many("13C", [q])  # type: ignore[arg-type]


def test_fingerprints_are_unit_vectors_and_reward_overlap() -> None:
    a = c13((128.0, "D"), (21.0, "Q"), (170.0, "S"))
    assert spectrum_fingerprint(a).shape == (C13_DIM,) == (fingerprint_dim("13C"),)
    assert np.linalg.norm(spectrum_fingerprint(a)) == pytest.approx(1.0, abs=1e-6)
    near = c13((129.0, "D"), (21.5, "Q"), (171.0, "S"))
    far = c13((60.0, "T"), (35.0, "T"), (200.0, "S"))
    fa = spectrum_fingerprint(a)
    assert fa @ spectrum_fingerprint(near) > 0.8 > 0.1 > fa @ spectrum_fingerprint(far)
    # a query without DEPT labels still matches on the all-peaks channel
    plain = spectrum_fingerprint(c13(128.0, 21.0, 170.0))
    assert plain @ fa > plain @ spectrum_fingerprint(far)
    h = spectrum_fingerprint(h1((7.2, 5), (2.3, 3)))
    assert h.shape == (H1_DIM,) and np.linalg.norm(h) == pytest.approx(1.0, abs=1e-6)
    assert not spectrum_fingerprint(None, "13C").any() and not spectrum_fingerprint(c13()).any()
    assert np.array_equal(fingerprint_from_arrays("13C", peak_array(a)[:, 0], peak_array(a)[:, 1]), fa)
    with pytest.raises(SpectrumFormatError, match="nucleus"):
        fingerprint_dim("15N")
