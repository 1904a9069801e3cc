"""Learned re-ranking of library search candidates (S2M without a formula).

The fused score of search (``combine`` = a weighted sum of ``sme``, ``sse`` and ``ssr``, weights
chosen on the validation split) sees only one number per spectrum comparison. The re-ranker looks
at *how* the query's 13C peaks and a candidate's predicted ones agree
(:func:`nmrlens.similarity.matched.c13_agreement`: peak-count balance, the deviations of the matched
pairs, S/D/T/Q agreement) next to the three scores, and re-orders the ``top`` candidates of the fused
score with a linear listwise model:

``p_j = softmax_j(w . (x_j - mean) / scale)`` over the top candidates of one query, fitted by
maximising the log-probability of the right molecule(s) on validation queries
(:meth:`Reranker.fit`, L-BFGS with a small L2 penalty). The re-ranked ``combine`` of a top candidate
is ``p_j`` (a probability among the top candidates, in (0, 1]); every other candidate gets 0.

Which configurations use it is chosen on the validation split by cross-validation against the fused
score (``python -m nmrlens.evaluate.retrieval --fit-fusion``); the fitted re-rankers are stored in the
retrieval checkpoint's sidecar (``extra.rerank``) as plain numbers. Only the formula-free search
uses them: with a formula the candidate lists are of another kind (all isomers) than those fitted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from nmrlens.errors import NmrLensError
from nmrlens.similarity.matched import AGREEMENT_FEATURES, c13_agreement

__all__ = ["RERANK_TOP", "FEATURE_NAMES", "Reranker", "candidate_features", "top_indices", "rerank_scores"]

#: Candidates of the fused score that the re-ranker re-orders.
RERANK_TOP = 60
#: Features of one candidate: the three search scores and the 13C agreement features.
FEATURE_NAMES: tuple[str, ...] = ("sme", "sse", "ssr", *AGREEMENT_FEATURES)


@dataclass(frozen=True)
class Reranker:
    """A fitted linear listwise re-ranker (see the module docstring).

    Attributes:
        names: feature names (:data:`FEATURE_NAMES`); mean, scale: standardisation of each feature;
        weights: one weight per standardised feature; top: candidates re-ordered per query.
    """

    names: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    top: int = RERANK_TOP

    def __post_init__(self) -> None:
        n = len(self.names)
        if not (len(self.mean) == len(self.scale) == len(self.weights) == n) or n == 0:
            raise NmrLensError(f"rerank: {n} names but {len(self.mean)} / {len(self.scale)} / {len(self.weights)} "
                               "mean / scale / weights")
        unknown = [x for x in self.names if x not in FEATURE_NAMES]
        if unknown:
            raise NmrLensError(f"rerank: unknown features {unknown}; allowed: {', '.join(FEATURE_NAMES)}")
        if not 1 <= int(self.top) <= 10_000:
            raise NmrLensError(f"rerank.top: got {self.top!r}, expected 1..10000")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (floats as Python floats: they round-trip exactly)."""
        return {"names": list(self.names), "mean": list(self.mean), "scale": list(self.scale),
                "weights": list(self.weights), "top": int(self.top)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Reranker":
        """Inverse of :meth:`to_dict`.

        Raises:
            NmrLensError: for a malformed dict.
        """
        try:
            return cls(tuple(str(x) for x in d["names"]), tuple(float(x) for x in d["mean"]),
                       tuple(float(x) for x in d["scale"]), tuple(float(x) for x in d["weights"]),
                       int(d.get("top", RERANK_TOP)))
        except (KeyError, TypeError, ValueError) as exc:
            raise NmrLensError(f"rerank: malformed entry ({exc})") from exc

    def logits(self, features: np.ndarray) -> np.ndarray:
        """Linear scores of feature rows ``(n, len(FEATURE_NAMES))`` (all features, in that order)."""
        cols = [FEATURE_NAMES.index(x) for x in self.names]
        x = (np.asarray(features, dtype=np.float64)[:, cols] - np.asarray(self.mean)) / np.asarray(self.scale)
        return x @ np.asarray(self.weights)

    @classmethod
    def fit(cls, groups: Sequence[tuple[np.ndarray, np.ndarray]], names: Sequence[str] = FEATURE_NAMES, *,
            top: int = RERANK_TOP, l2: float = 1e-3) -> "Reranker":
        """Fit on queries ``[(features (n, len(FEATURE_NAMES)), hit mask (n,)), ...]``; queries without a
        hit among their rows are ignored.

        Raises:
            NmrLensError: when no query has a hit.
        """
        import torch

        groups = [(np.asarray(x, np.float64), np.asarray(h, bool)) for x, h in groups if np.asarray(h).any()]
        if not groups:
            raise NmrLensError("rerank: no training query has the right molecule among its candidates")
        cols = [FEATURE_NAMES.index(x) for x in names]
        allx = np.concatenate([x[:, cols] for x, _ in groups])
        mean, scale = allx.mean(0), allx.std(0) + 1e-9
        xs = [torch.tensor((x[:, cols] - mean) / scale) for x, _ in groups]
        hs = [torch.tensor(h) for _, h in groups]
        w = torch.zeros(len(cols), dtype=torch.float64, requires_grad=True)
        opt = torch.optim.LBFGS([w], max_iter=200, line_search_fn="strong_wolfe")

        def closure() -> torch.Tensor:
            opt.zero_grad()
            loss = torch.zeros((), dtype=torch.float64)
            for x, h in zip(xs, hs):
                z = x @ w
                loss = loss - (torch.logsumexp(z[h], 0) - torch.logsumexp(z, 0))
            loss = loss / len(xs) + l2 * (w ** 2).sum()
            loss.backward()
            return loss

        opt.step(closure)
        return cls(tuple(names), tuple(float(v) for v in mean), tuple(float(v) for v in scale),
                   tuple(float(v) for v in w.detach().numpy()), int(top))


def candidate_features(query_c13: np.ndarray, sme: np.ndarray, sse: np.ndarray, ssr: np.ndarray,
                       predicted_c13: Sequence[np.ndarray | None]) -> np.ndarray:
    """Feature rows ``(n, len(FEATURE_NAMES))`` of ``n`` candidates: their scores and the 13C agreement of
    the query's peak array with each candidate's predicted one (:func:`~nmrlens.similarity.matched.peak_array`
    arrays; None: no predicted 13C spectrum). Non-finite scores become -10."""
    rows = [[sme[j], sse[j], ssr[j], *c13_agreement(query_c13, predicted_c13[j])] for j in range(len(predicted_c13))]
    x = np.asarray(rows, dtype=np.float64).reshape(len(rows), len(FEATURE_NAMES))
    x[~np.isfinite(x)] = -10.0
    return x


def top_indices(combine: np.ndarray, top: int) -> np.ndarray:
    """Indices of the ``top`` best finite fused scores, best first (ties: lower index first)."""
    order = np.argsort(-np.asarray(combine), kind="stable")[:top]
    return order[np.isfinite(np.asarray(combine)[order])]


def rerank_scores(reranker: Reranker, query_c13: np.ndarray, scores: Mapping[str, np.ndarray],
                  predicted_c13: Callable[[int], np.ndarray | None]) -> np.ndarray:
    """The re-ranked ``combine`` of every candidate (see the module docstring): softmax probabilities
    over the ``reranker.top`` best of ``scores["combine"]``, 0 for the others, -inf where the fused
    score is -inf. ``predicted_c13(j)``: candidate ``j``'s predicted 13C peak array."""
    combine = np.asarray(scores["combine"], dtype=np.float64)
    out = np.where(np.isfinite(combine), 0.0, -np.inf)
    idx = top_indices(combine, reranker.top)
    if len(idx) == 0:
        return out
    x = candidate_features(query_c13, scores["sme"][idx], scores["sse"][idx], scores["ssr"][idx],
                           [predicted_c13(int(j)) for j in idx])
    z = reranker.logits(x)
    p = np.exp(z - z.max())
    out[idx] = p / p.sum()
    return out
