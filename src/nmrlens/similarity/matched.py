"""Matched similarity: an observed peak list assigned one-to-one to a predicted one.

Meant for ranking candidate molecules by how well their *predicted* spectrum explains an
*observed* one (the ``ssr`` score of search, :mod:`nmrlens.models.retrieval`). Units: ppm.

Definition (one nucleus; peaks of the observed list ``i``, of the predicted list ``j``):

- 1H is compared at the level of protons when every observed multiplet carries its nH: both
  lists are expanded (a multiplet of nH protons becomes nH entries at its centre; an unknown
  predicted nH counts 1), so one reported ``7.35 (m, 5H)`` matches three predicted aromatic
  multiplets of 2 + 2 + 1 H. Otherwise (some nH missing, as in half of nmrshiftdb2) multiplets are
  compared one to one, with an nH penalty where both carry nH;
- cost of a pair: ``c_ij = (min(|delta_i - delta_j|, cap) / scale) ** power + penalty_ij``;
  13C: ``penalty_ij = mult_penalty`` when both peaks carry an S/D/T/Q multiplicity and they
  differ; 1H multiplets: ``penalty_ij = nh_penalty * |nH_i - nH_j|`` when both carry nH;
- an optimal assignment (``scipy.optimize.linear_sum_assignment``) matches ``min(n_obs, n_pred)``
  pairs; every peak left over on either side costs ``u = (cap / scale) ** power`` (a shift
  error at the cap);
- score ``S = exp(-(sum of matched costs + u * n_unmatched) / max(n_obs, n_pred))`` in (0, 1];
  identical lists score 1, an empty list against a non-empty one 0, two empty lists 1.

Why not :func:`nmrlens.similarity.peak_similarity` (the NMRPeak formula) for ranking: its kernel
(``exp(-d / 5 ppm)``) is flat at the 1-3 ppm scale of prediction errors and it ignores the DEPT
multiplicities that 99% of nmrshiftdb2 13C lists carry. On 600 validation queries against the
52k-molecule nmrshiftdb2 library (predicted spectra) the parameters below lift 13C top-1 from 0.70
(NMRPeak formula) to 0.81 (``docs/benchmarks.md``, search). The parameters were chosen on the
*validation* split only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from nmrlens.errors import SpectrumFormatError
from nmrlens.spectra.model import Spectrum1D

__all__ = ["MatchParams", "C13_PARAMS", "H1_PARAMS", "NUCLEUS_WEIGHTS", "MULT_INDEX", "combine_nuclei", "params_for", "peak_array", "matched_similarity",
           "matched_similarity_many", "AGREEMENT_FEATURES", "c13_agreement"]

#: 13C multiplicity letter -> label of the peak arrays (number of attached H).
MULT_INDEX: dict[str, int] = {"S": 0, "D": 1, "T": 2, "Q": 3}
#: Largest number of protons (sum of nH) compared proton by proton; larger 1H lists (polymers, bad
#: integrals) are compared multiplet by multiplet, which bounds the assignment's cost.
MAX_PROTONS = 300


@dataclass(frozen=True)
class MatchParams:
    """Parameters of the matched similarity (see the module docstring).

    Attributes:
        cap: shift differences are clipped at this value, ppm (robust to a few bad predictions).
        scale: shift scale, ppm.
        power: exponent of the scaled difference.
        mult_penalty: added for a 13C pair whose known S/D/T/Q multiplicities differ.
        nh_penalty: added per proton of difference for a 1H pair whose nH are both known.
    """

    cap: float
    scale: float
    power: float
    mult_penalty: float = 0.0
    nh_penalty: float = 0.0

    @property
    def unmatched(self) -> float:
        """Cost of a peak left without a partner (a difference at the cap)."""
        return (self.cap / self.scale) ** self.power


#: 13C parameters (validation split, 600 queries: top-1 0.813 vs 0.697 for the NMRPeak formula).
C13_PARAMS = MatchParams(cap=10.0, scale=3.0, power=1.5, mult_penalty=10.0)
#: 1H parameters (multiplet centres; validation split).
H1_PARAMS = MatchParams(cap=1.0, scale=0.3, power=1.5, nh_penalty=1.0)


#: Weights of the nuclei when one score is made of a 13C and a 1H matched similarity (weighted
#: geometric mean; validation split, 142 CH queries: top-1 0.85 with 13C alone, 0.89 with a 1H
#: weight of 0.1-0.25, 0.82 with equal weights: experimental 1H lists are often incomplete).
NUCLEUS_WEIGHTS: dict[str, float] = {"13C": 1.0, "1H": 0.2}


def combine_nuclei(scores: Mapping[str, float | np.ndarray | None]) -> float | np.ndarray | None:
    """Weighted geometric mean (:data:`NUCLEUS_WEIGHTS`) of per-nucleus scores in [0, 1]
    (``{"13C": s, "1H": s}``, each a number or an array of one score per candidate; None entries are
    left out); a 0 for any nucleus gives 0. None when there is no score."""
    num: float | np.ndarray = 0.0
    den = 0.0
    with np.errstate(divide="ignore"):
        for nuc, v in scores.items():
            if v is None:
                continue
            w = NUCLEUS_WEIGHTS.get(nuc, 1.0)
            num = num + w * np.log(np.asarray(v, dtype=np.float64))
            den += w
    if den <= 0:
        return None
    out = np.exp(num / den)
    return float(out) if np.ndim(out) == 0 else out


def params_for(nucleus: str) -> MatchParams:
    """Default parameters of a nucleus (1H, else the 13C ones)."""
    return H1_PARAMS if nucleus == "1H" else C13_PARAMS


def peak_array(spectrum: Spectrum1D) -> np.ndarray:
    """``(n, 2)`` float array of a spectrum: shift (1H: multiplet centre) in ppm and the label used by
    the penalty (13C: 0-3 for S/D/T/Q; 1H: nH), -1 where unknown.

    Raises:
        SpectrumFormatError: when ``spectrum`` is not a Spectrum1D.
    """
    if not isinstance(spectrum, Spectrum1D):
        raise SpectrumFormatError("spectrum", type(spectrum).__name__, "a Spectrum1D")
    out = np.empty((len(spectrum.peaks), 2), dtype=np.float64)
    if spectrum.nucleus == "1H":
        for k, m in enumerate(spectrum.peaks):
            out[k] = (m.shift, -1 if m.nH is None else m.nH)  # type: ignore[union-attr]
    else:
        for k, p in enumerate(spectrum.peaks):
            out[k] = (p.shift, MULT_INDEX.get(getattr(p, "mult", None) or "", -1))
    return out


def _protons(a: np.ndarray) -> np.ndarray:
    """A 1H peak array expanded to one row per proton (unknown nH: one), labels cleared."""
    n = np.where(a[:, 1] >= 1, a[:, 1], 1).astype(np.int64)
    out = np.full((int(n.sum()), 2), -1.0)
    out[:, 0] = np.repeat(a[:, 0], n)
    return out


def _assignment(q: np.ndarray, c: np.ndarray, prm: MatchParams, is_1h: bool
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    """The optimal assignment of two non-empty peak arrays: capped shift differences ``d`` (ppm, all
    pairs), the 13C multiplicity-mismatch mask, matched rows and columns, and the total cost (matched
    pairs plus :attr:`MatchParams.unmatched` per peak left over)."""
    from scipy.optimize import linear_sum_assignment

    d = np.abs(q[:, :1] - c[:, 0])
    np.minimum(d, prm.cap, out=d)
    cost = (d / prm.scale) ** prm.power
    lq, lc = q[:, 1:], c[:, 1]
    known = (lq >= 0) & (lc >= 0)
    mismatch = known & (lq != lc)
    if is_1h:
        if prm.nh_penalty:
            cost += np.where(known, prm.nh_penalty * np.abs(lq - lc), 0.0)
    elif prm.mult_penalty:
        cost += np.where(mismatch, prm.mult_penalty, 0.0)
    r, k = linear_sum_assignment(cost)
    total = float(cost[r, k].sum()) + prm.unmatched * (len(q) + len(c) - 2 * len(r))
    return d, mismatch, r, k, total


def _score(q: np.ndarray, c: np.ndarray, prm: MatchParams, is_1h: bool) -> float:
    if (is_1h and len(q) and len(c) and bool((q[:, 1] >= 1).all())
            and q[:, 1].sum() <= MAX_PROTONS and np.maximum(c[:, 1], 1).sum() <= MAX_PROTONS):
        q, c = _protons(q), _protons(c)

    nq, nc = len(q), len(c)
    if nq == 0 or nc == 0:
        return 1.0 if nq == nc else 0.0
    total = _assignment(q, c, prm, is_1h)[4]
    return math.exp(-total / max(nq, nc))


def matched_similarity(observed: Spectrum1D, predicted: Spectrum1D, params: MatchParams | None = None) -> float:
    """Matched similarity of an observed and a predicted spectrum of one nucleus, in [0, 1].

    Raises:
        SpectrumFormatError: for an argument that is not a spectrum or nuclei that differ.
    """
    return float(matched_similarity_many(observed, [predicted], params)[0])


def matched_similarity_many(observed: Spectrum1D, candidates: Sequence[Spectrum1D | np.ndarray | None],
                            params: MatchParams | None = None) -> np.ndarray:
    """Matched similarity of ``observed`` with every candidate (float64 array, one score each).

    Candidates are spectra of the observed nucleus, arrays from :func:`peak_array` (precomputed
    once for a library), or None (scores 0).

    Raises:
        SpectrumFormatError: for a candidate of another nucleus or a malformed array.
    """
    if not isinstance(observed, Spectrum1D):
        raise SpectrumFormatError("observed", type(observed).__name__, "a Spectrum1D")
    is_1h = observed.nucleus == "1H"
    prm = params or params_for(observed.nucleus)
    q = peak_array(observed)
    out = np.zeros(len(candidates))
    for k, c in enumerate(candidates):
        if c is None:
            continue
        if isinstance(c, Spectrum1D):
            if c.nucleus != observed.nucleus:
                raise SpectrumFormatError(f"candidates[{k}].nucleus", c.nucleus,
                                          f"{observed.nucleus} (the observed nucleus)")
            c = peak_array(c)
        elif not (isinstance(c, np.ndarray) and c.ndim == 2 and c.shape[1] == 2):
            raise SpectrumFormatError(f"candidates[{k}]", type(c).__name__, "a Spectrum1D or an (n, 2) peak array")
        out[k] = _score(q, c, prm, is_1h)
    return out


#: Names of the :func:`c13_agreement` features, in order.
AGREEMENT_FEATURES: tuple[str, ...] = (
    "match_cost", "log_count_ratio", "extra_predicted", "extra_observed", "mean_dev", "frac_dev_gt3",
    "mult_mismatch", "max_dev", "top2_dev", "mult_hist_l1", "h_count_diff")


def c13_agreement(observed: np.ndarray, predicted: np.ndarray | None, params: MatchParams = C13_PARAMS) -> np.ndarray:
    """How an observed and a predicted 13C peak list agree, as the features of the search re-ranker.

    Both arguments are :func:`peak_array` arrays (shift in ppm, S/D/T/Q label 0-3 or -1). From the
    optimal assignment of :func:`matched_similarity` (same cost): ``match_cost`` (-log of the matched
    similarity), ``log_count_ratio`` log(n_pred / n_obs), ``extra_predicted`` / ``extra_observed``
    (peaks without a partner per observed peak), over the matched pairs ``mean_dev`` (ppm, capped),
    ``frac_dev_gt3`` (share further apart than 3 ppm), ``mult_mismatch`` (share with known, different
    S/D/T/Q), ``max_dev`` and ``top2_dev`` (largest and mean of the two largest deviations, as a fraction
    of the cap); ``mult_hist_l1`` (L1 distance of the S/D/T/Q counts) and ``h_count_diff`` (difference
    of the C-bound H counts they imply), both per observed peak and scaled by the share of observed
    peaks with a label. float64 array of ``len(AGREEMENT_FEATURES)``; an empty list on either side
    gives the unmatched cost and zero deviations.

    Raises:
        SpectrumFormatError: when an argument is not an ``(n, 2)`` array.
    """
    for name, a in (("observed", observed), ("predicted", predicted)):
        if a is not None and not (isinstance(a, np.ndarray) and a.ndim == 2 and a.shape[1] == 2):
            raise SpectrumFormatError(name, type(a).__name__, "an (n, 2) peak array")
    prm = params
    c = predicted if predicted is not None else np.zeros((0, 2))
    q = observed
    nq, nc = len(q), len(c)
    out = np.zeros(len(AGREEMENT_FEATURES))
    if nq == 0:
        return out
    out[0] = prm.unmatched
    out[1] = math.log((nc + 1) / (nq + 1))
    out[2] = max(0, nc - nq) / nq
    out[3] = max(0, nq - nc) / nq
    known_q = q[:, 1] >= 0
    frac_known = float(known_q.mean())
    hq = np.bincount(q[known_q, 1].astype(np.int64), minlength=4)[:4]
    hc = np.bincount(c[c[:, 1] >= 0, 1].astype(np.int64), minlength=4)[:4] if nc else np.zeros(4, np.int64)
    out[9] = frac_known * float(np.abs(hq - hc).sum()) / nq
    out[10] = frac_known * abs(float((hq - hc) @ np.arange(4))) / nq
    if nc == 0:
        return out
    d, mm, r, k, total = _assignment(q, c, prm, is_1h=False)
    dm = np.sort(d[r, k])
    out[0] = total / max(nq, nc)
    out[4] = float(dm.mean())
    out[5] = float((dm > 3.0).mean())
    out[6] = float(mm[r, k].mean())
    out[7] = float(dm[-1]) / prm.cap
    out[8] = float(dm[-2:].mean()) / prm.cap
    return out
