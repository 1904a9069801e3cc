"""Scores of candidates against the observed spectra, and their fusion into one ranking score.

Score parts (all 0..1, higher is better; a part a candidate has no value for is left out):

=========  ================================================================================
part       meaning
=========  ================================================================================
c13, h1    matched similarity (:mod:`nmrlens.similarity.matched`) of the observed spectrum with
           the candidate's *predicted* spectrum (shift model); 13C S/D/T/Q and 1H nH count when given
ssr        geometric mean of c13 and h1 over the nuclei the query has, weighted as search weighs
           them (:func:`nmrlens.similarity.matched.combine_nuclei`)
library    similarity of the observed spectra with the library entry's *experimental* spectra
sme, sse   spectrum-to-molecule / spectrum-to-spectrum embedding scores of the search module's
           ``CandidateScorer`` (mapped to 0..1), when that module is installed
beam       the generator's beam probability of the candidate (softmax over its candidates)
=========  ================================================================================

The fused score is the weighted mean of the parts a candidate has (:class:`FusionWeights`).
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass
from typing import Any, Sequence

from nmrlens.errors import NmrLensError
from nmrlens.spectra.model import Query

__all__ = ["FusionWeights", "SpectrumPredictor", "EmbeddingScorer", "fuse", "PARTS"]

logger = logging.getLogger(__name__)

#: Score parts, in the order tables show them.
PARTS: tuple[str, ...] = ("ssr", "c13", "h1", "library", "sme", "sse", "beam")


@dataclass(frozen=True)
class FusionWeights:
    """Weights of the score parts in the fused score (c13/h1 enter through ssr)."""

    ssr: float = 1.0
    library: float = 1.0
    sme: float = 0.25
    sse: float = 0.25
    beam: float = 0.25

    def as_dict(self) -> dict[str, float]:
        """Part -> weight."""
        return asdict(self)


def fuse(parts: dict[str, float | None], weights: FusionWeights) -> float:
    """Weighted mean of the available parts (0 when none is available)."""
    w = weights.as_dict()
    num = den = 0.0
    for key, weight in w.items():
        value = parts.get(key)
        if value is None or weight <= 0 or not math.isfinite(value):
            continue
        num += weight * value
        den += weight
    return num / den if den > 0 else 0.0


class SpectrumPredictor:
    """Predicted 13C/1H spectra of candidates (the shift model via :func:`nmrlens.api.predict_many`).

    Molecules the model does not support get None (predicted one by one after a failed batch).
    """

    name = "predict"

    def __init__(self, checkpoint: str | None = None, frequency_MHz: float = 400.0, batch_size: int = 128) -> None:
        self.checkpoint = checkpoint
        self.frequency_MHz = float(frequency_MHz)
        self.batch_size = int(batch_size)

    def load(self) -> "SpectrumPredictor":
        """Load the shift model now (it is cached per process); returns self."""
        from nmrlens import api

        api.shift_predictor(self.checkpoint)
        return self

    def predict(self, smiles: Sequence[str]) -> list[Any]:
        """One :class:`nmrlens.api.Prediction` (or None) per SMILES."""
        from nmrlens import api

        return api.predict_smiles(smiles, checkpoint=self.checkpoint, frequency_MHz=self.frequency_MHz,
                                  batch_size=self.batch_size)

    @staticmethod
    def similarities(query: Query, predicted: Sequence[Query | None]) -> dict[str, list[float | None]]:
        """Per nucleus of the query ("c13", "h1"): similarity of each predicted spectrum (None: no prediction)."""
        from nmrlens.similarity.matched import matched_similarity_many

        out: dict[str, list[float | None]] = {}
        for nuc, key in (("13C", "c13"), ("1H", "h1")):
            obs = query.spectrum(nuc)
            if obs is None or not len(obs):
                continue
            vals: list[float | None] = [None] * len(predicted)
            have = [(i, p.spectrum(nuc)) for i, p in enumerate(predicted) if p is not None]
            have = [(i, s) for i, s in have if s is not None]
            if have:
                try:
                    sims = matched_similarity_many(obs, [s for _, s in have])
                    for (i, _), v in zip(have, sims):
                        vals[i] = float(v)
                except NmrLensError as exc:
                    logger.info("similarity of %s failed (%s)", nuc, exc)
            for i, p in enumerate(predicted):
                if p is not None and vals[i] is None:
                    vals[i] = 0.0  # the model predicts no peak of this nucleus (e.g. no H): nothing explained
            out[key] = vals
        return out


class EmbeddingScorer:
    """The search module's ``CandidateScorer`` (spectrum/molecule embeddings), adapted to 0..1 parts.

    Create with :meth:`create`, which raises
    :class:`~nmrlens.pipeline.candidates.ComponentUnavailable` when the module is not installed.
    """

    name = "embedding"

    def __init__(self, scorer: Any) -> None:
        self.scorer = scorer

    @classmethod
    def create(cls) -> "EmbeddingScorer":
        """Load ``nmrlens.models.retrieval.CandidateScorer``.

        Raises:
            ComponentUnavailable: when it cannot be imported or loaded.
        """
        from nmrlens.pipeline.candidates import ComponentUnavailable

        try:
            from nmrlens.models.retrieval import CandidateScorer  # type: ignore[import-not-found]
        except ImportError as exc:
            raise ComponentUnavailable(f"embedding: nmrlens.models.retrieval is not importable ({exc})") from None
        try:
            return cls(CandidateScorer.load())
        except NmrLensError as exc:
            raise ComponentUnavailable(f"embedding: CandidateScorer could not be loaded ({exc})") from None

    def score(self, query: Query, smiles: Sequence[str], predicted: Sequence[Query | None]) -> dict[str, list[float | None]]:
        """Parts "sme" and "sse" per candidate: cosine similarities mapped to 0..1 by (1 + cos) / 2
        (None for a candidate the scorer rejects)."""
        n = len(smiles)
        out: dict[str, list[float | None]] = {"sme": [None] * n, "sse": [None] * n}
        if not n:
            return out
        q = Query(spectra=[s for s in query.spectra if s.nucleus in ("13C", "1H") and len(s)], formula=query.formula)
        try:
            got = self.scorer.score(q, list(smiles), predicted=list(predicted), use_formula=False)
        except NmrLensError as exc:
            logger.info("embedding scores failed (%s)", exc)
            return out
        for key in ("sme", "sse"):
            values = got.get(key)
            if values is None:
                continue
            for i, v in enumerate(list(values)[:n]):
                v = float(v)
                if math.isfinite(v):
                    out[key][i] = min(1.0, max(0.0, 0.5 * (1.0 + v)))
        return out
