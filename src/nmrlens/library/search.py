"""Searching a library: spectrum -> molecules (S2M) and molecule -> spectra (M2S).

S2M (:meth:`Library.search`): candidates are recalled from FAISS indexes, ``recall`` from each:
the query spectrum embedding searches the molecule embeddings (SME) and the embeddings of the
library spectra of the same configuration (SSE), and the query's spectral fingerprints
(:mod:`nmrlens.similarity.fingerprint`) search those of the library spectra (13C and/or 1H); with a formula, the candidates are instead *every* molecule of that
formula (exact filter). Candidates are re-ranked by ``sme``, ``sse``, ``ssr`` or ``combine``
(:class:`~nmrlens.models.retrieval.CandidateScorer`). The library spectrum of a molecule is its
experimental one when the build input had it, else its predicted one.

M2S (:meth:`Library.search_molecule`): a molecule embedding ranks the library spectra of one
configuration (C, H or CH) by cosine.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from nmrlens.errors import NmrLensError
from nmrlens.library.index import VectorIndex
from nmrlens.library.store import LibraryRow, LibraryStore
from nmrlens.spectra.model import Query

__all__ = ["Hit", "Library", "SCORES", "shipped_or_path"]

log = logging.getLogger(__name__)
SCORES: tuple[str, ...] = ("combine", "ssr", "sse", "sme")
#: With a formula, at most this many molecules of that formula are re-ranked (the best by SME).
MAX_FORMULA_CANDIDATES = 5000


@dataclass
class Hit:
    """One ranked library entry."""

    rank: int
    id: int
    smiles: str
    formula: str
    inchikey: str
    name: str | None
    scores: dict[str, float] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {"rank": self.rank, "id": self.id, "smiles": self.smiles, "formula": self.formula,
                "inchikey": self.inchikey, "name": self.name,
                "scores": {k: (None if not np.isfinite(v) else round(float(v), 6)) for k, v in self.scores.items()},
                "sources": self.sources}


def shipped_or_path(signature: str) -> str:
    """The retrieval checkpoint a library's ``checkpoint`` signature names: ``shipped:NAME`` is the shipped
    checkpoint NAME (its embeddings are in the library, whatever the default is now); anything else is a path.

    Raises:
        NmrLensError: when the shipped checkpoint NAME is no longer part of this installation.
    """
    from nmrlens.models.checkpoint import weights_path

    if not signature.startswith("shipped:"):
        return signature
    name = signature.split(":", 1)[1]
    if not weights_path(name).with_suffix(".json").is_file():
        raise NmrLensError(f"--library: built with the retrieval model {name!r}, which this installation does not "
                           "ship; rebuild the library (`nmrlens library build --force`)")
    return name


class Library:
    """An opened library folder (store + indexes) with a scorer.

    Args:
        folder: the library folder (``nmrlens library build --out``).
        scorer: a :class:`CandidateScorer` (default: loaded from ``checkpoint``, else the shipped one).
        cache_size: parsed library spectra kept in memory.
    """

    def __init__(self, folder: str | Path, scorer: Any = None, *, checkpoint: str | None = None,
                 cache_size: int = 200_000) -> None:
        self.store = LibraryStore(folder)
        if scorer is None:
            from nmrlens.models.retrieval import CandidateScorer

            scorer = CandidateScorer.load(checkpoint)
        self.scorer = scorer
        dim = self.store.get_meta("embed_dim")
        if dim is not None and int(dim) != scorer.embed_dim:
            raise NmrLensError(f"--library: built with {dim}-dimensional embeddings, the model has {scorer.embed_dim}; "
                               "rebuild the library with this model")
        self.cache_size = cache_size
        self._indexes: dict[str, VectorIndex] = {}
        self._spectra: dict[int, Query] = {}
        self._arrays: dict[int, dict[str, np.ndarray]] = {}

    @classmethod
    def open(cls, folder: str | Path, checkpoint: str | None = None) -> "Library":
        """Open a library folder with the retrieval checkpoint it was built with (or ``checkpoint``).

        Raises:
            DataNotFoundError: when ``folder`` holds no ``library.sqlite``.
        """
        from nmrlens.errors import DataNotFoundError

        folder = Path(folder)
        if not (folder / "library.sqlite").is_file():
            raise DataNotFoundError(f"--library: {str(folder)!r} holds no library.sqlite; build one with "
                                    "`nmrlens library build`")
        if checkpoint is None:
            with LibraryStore(folder) as st:
                ck = st.get_meta("checkpoint")
            checkpoint = None if ck is None else shipped_or_path(str(ck))
        return cls(folder, checkpoint=checkpoint)

    @property
    def size(self) -> int:
        """Number of molecules."""
        return self.store.count()

    def close(self) -> None:
        """Close the store."""
        self.store.close()

    def index(self, column: str) -> VectorIndex | None:
        """The FAISS index of an embedding column or a fingerprint (``fp_C``, ``fp_H``): read from disk
        when current, else built in memory (a partial or older library: index what is stored)."""
        from nmrlens.library.build import FINGERPRINT_INDEXES, standing_fingerprints

        if column in self._indexes:
            return self._indexes[column]
        info = (self.store.get_meta("indexes") or {}).get(column)
        path = self.store.folder / f"index_{column}.faiss"
        if info and path.is_file():
            idx = VectorIndex.load(path, info["kind"])
            if column in FINGERPRINT_INDEXES or idx.ntotal == self._count_column(column):
                self._indexes[column] = idx
                return idx
        if column in FINGERPRINT_INDEXES:
            ids, mat = standing_fingerprints(self.store, FINGERPRINT_INDEXES[column])
        else:
            ids, mat = self.store.embeddings(column)
        if not len(ids):
            return None
        idx = VectorIndex.build(mat, ids, "auto")
        self._indexes[column] = idx
        return idx

    def _count_column(self, column: str) -> int:
        return int(self.store.conn.execute(f"SELECT COUNT(*) FROM molecules WHERE {column} IS NOT NULL").fetchone()[0])

    def standing_spectra(self, row: LibraryRow) -> Query:
        """The library spectrum set of a molecule as stored: experimental where the build input had
        it, else predicted (13C and 1H only; multiplicities and nH kept)."""
        q = self._spectra.get(row.id)
        if q is not None:
            return q
        from nmrlens.io.json import query_from_dict

        pred = query_from_dict(json.loads(row.predicted)) if row.predicted else Query()
        exp = query_from_dict(json.loads(row.experimental)) if row.experimental else None
        spectra = []
        for nuc in ("13C", "1H"):
            src = (row.sources or {}).get(nuc)
            sp = exp.spectrum(nuc) if (src == "experimental" and exp is not None) else pred.spectrum(nuc)
            if sp is not None:
                spectra.append(sp)
        q = Query(spectra=spectra, smiles=row.smiles, formula=row.formula)
        if len(self._spectra) >= self.cache_size:
            self._spectra.clear()
            self._arrays.clear()
        self._spectra[row.id] = q
        return q

    def spectra_of(self, row: LibraryRow) -> Query:
        """:meth:`standing_spectra` in the retrieval view (:func:`~nmrlens.models.retrieval.retrieval_view`:
        13C shifts, 1H centres and nH)."""
        from nmrlens.models.retrieval import retrieval_view

        return retrieval_view(self.standing_spectra(row))

    def peak_arrays_of(self, row: LibraryRow) -> dict[str, np.ndarray]:
        """``{"13C": array, "1H": array}`` of :func:`~nmrlens.similarity.matched.peak_array` for the
        standing spectra of a molecule (what the ``ssr`` score compares), cached."""
        arrays = self._arrays.get(row.id)
        if arrays is None:
            from nmrlens.similarity.matched import peak_array

            q = self.standing_spectra(row)
            arrays = {sp.nucleus: peak_array(sp) for sp in q.spectra}  # type: ignore[arg-type]
            self._arrays[row.id] = arrays
        return arrays

    # -- S2M -----------------------------------------------------------------------------------------
    def candidates(self, q_emb: np.ndarray, config: str, *, formula: str | None = None, recall: int = 100,
                   query: Query | None = None) -> list[int]:
        """Candidate ids for a query (see the module docstring): ``recall`` from each index, i.e. the
        molecule and spectrum embeddings of ``q_emb`` and, when ``query`` is given, the spectral
        fingerprints of its nuclei in ``config``; with a formula, the molecules of that formula."""
        if formula:
            ids = self.store.ids_with_formula(formula)
            if len(ids) > MAX_FORMULA_CANDIDATES:
                rows = self.store.rows(ids)
                sme = np.asarray([rows[i].emb_mol @ q_emb for i in ids])
                ids = [ids[j] for j in np.argsort(-sme)[:MAX_FORMULA_CANDIDATES]]
            return ids
        from nmrlens.similarity.fingerprint import spectrum_fingerprint

        searches: list[tuple[str, np.ndarray]] = [("emb_mol", q_emb), (f"emb_{config}", q_emb)]
        if query is not None:
            for ch, nuc in (("C", "13C"), ("H", "1H")):
                sp = query.spectrum(nuc) if ch in config else None
                if sp is not None and len(sp):
                    searches.append((f"fp_{ch}", spectrum_fingerprint(sp)))  # type: ignore[arg-type]
        out: dict[int, None] = {}
        for col, vec in searches:
            idx = self.index(col)
            if idx is None:
                continue
            _, found = idx.search(vec[None], recall)
            out.update((int(i), None) for i in found[0] if i >= 0)
        return list(out)

    def score_candidates(self, query: Query, ids: Sequence[int], config: str,
                         q_emb: np.ndarray | None = None, *, rerank: bool = True
                         ) -> tuple[list[LibraryRow], dict[str, np.ndarray]]:
        """Rows and the four scores of library molecules ``ids`` for ``query``.

        ``combine`` is the fused score, re-ranked by the scorer's learned re-ranker of ``config``
        when it has one and ``rerank`` is true (:mod:`nmrlens.models.rerank`: a probability among the
        top candidates, 0 for the rest); ``fused`` is always the fused score."""
        from nmrlens.models.retrieval import ssr_scores

        rows_by_id = self.store.rows(ids)
        rows = [rows_by_id[i] for i in ids if i in rows_by_id]
        if q_emb is None:
            q_emb = self.scorer.embed_spectra([query], config)[0]
        if not rows:
            empty = np.zeros(0)
            return rows, {k: empty for k in ("sme", "sse", "ssr", "combine", "fused")}
        sme = np.asarray([r.emb_mol @ q_emb if r.emb_mol is not None else -1.0 for r in rows], dtype=np.float64)
        sse = np.asarray([getattr(r, f"emb_{config}") @ q_emb if getattr(r, f"emb_{config}") is not None else -1.0
                          for r in rows], dtype=np.float64)
        ssr = ssr_scores(query, [self.peak_arrays_of(r) for r in rows], config)
        fused = self.scorer.combine(sme, sse, ssr, config)
        scores = {"sme": sme, "sse": sse, "ssr": ssr, "combine": fused, "fused": fused}
        reranker = self.scorer.rerankers.get(config) if rerank else None
        q13 = query.spectrum("13C")
        if reranker is not None and q13 is not None and len(q13):
            from nmrlens.models.rerank import rerank_scores
            from nmrlens.similarity.matched import peak_array

            scores["combine"] = rerank_scores(reranker, peak_array(q13), scores,  # type: ignore[arg-type]
                                              lambda j: self.peak_arrays_of(rows[j]).get("13C"))
        return rows, scores

    def search(self, query: Query, *, k: int = 10, formula: str | None = None, score: str = "combine",
               recall: int = 1000, config: str | None = None) -> list[Hit]:
        """Rank library molecules for a query spectrum set (S2M).

        Args:
            query: 13C and/or 1H spectra; its ``formula`` is used when ``formula`` is not given.
            k: number of hits; formula: keep only molecules of this formula;
            score: ``combine``, ``ssr``, ``sse`` or ``sme``; recall: candidates per index;
            config: C, H or CH (default: every nucleus the query has).

        Raises:
            SpectrumFormatError: for a query without a usable 13C/1H spectrum.
            NmrLensError: for a bad ``score``, ``k`` or ``recall``.
        """
        from nmrlens.chem.formula import normalize_formula
        from nmrlens.models.retrieval import spectrum_config

        if score not in SCORES:
            raise NmrLensError(f"--score: got {score!r}, expected one of {', '.join(SCORES)}")
        for name, v in (("k", k), ("recall", recall)):
            if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 10_000:
                raise NmrLensError(f"{name}: got {v!r}, expected a whole number in 1..10000")
        cfg = spectrum_config(query, config)
        f = normalize_formula(formula) if formula else query.formula
        q_emb = self.scorer.embed_spectra([query], cfg)[0]
        ids = self.candidates(q_emb, cfg, formula=f, recall=max(recall, k), query=query)
        rows, scores = self.score_candidates(query, ids, cfg, q_emb, rerank=not f)
        # combine: re-ranked candidates first, then the rest (combine 0) in fused order
        order = (np.lexsort((-scores["fused"], -scores[score])) if score == "combine"
                 else np.argsort(-scores[score], kind="stable"))[:k]
        return [Hit(r + 1, rows[j].id, rows[j].smiles, rows[j].formula, rows[j].inchikey, rows[j].name,
                    {s: float(scores[s][j]) for s in ("combine", "sme", "sse", "ssr")}, rows[j].sources or {})
                for r, j in enumerate(order) if np.isfinite(scores[score][j])]

    # -- M2S -----------------------------------------------------------------------------------------
    def search_molecule(self, molecule: Any, *, k: int = 10, config: str = "CH", formula: bool = False) -> list[Hit]:
        """Rank library spectra (configuration C, H or CH) for a molecule (M2S) by embedding cosine.

        ``formula``: keep only spectra of molecules with the query molecule's formula.
        """
        from nmrlens.chem.mol import mol_formula
        from nmrlens.chem.validate import to_mol

        cfg = str(config).upper()
        if cfg not in ("C", "H", "CH"):
            raise NmrLensError(f"config: got {config!r}, expected one of C, H, CH")
        m_emb = self.scorer.embed_molecules([molecule])[0]
        col = f"emb_{cfg}"
        if formula:
            f = mol_formula(to_mol(molecule))
            rows_by_id = self.store.rows(self.store.ids_with_formula(f))
            rows = [r for r in rows_by_id.values() if getattr(r, col) is not None]
            sc = np.asarray([getattr(r, col) @ m_emb for r in rows])
            order = np.argsort(-sc, kind="stable")[:k]
            picked = [(rows[j], float(sc[j])) for j in order]
        else:
            idx = self.index(col)
            if idx is None:
                return []
            s, found = idx.search(m_emb[None], k)
            rows_by_id = self.store.rows([int(i) for i in found[0] if i >= 0])
            picked = [(rows_by_id[int(i)], float(v)) for v, i in zip(s[0], found[0]) if int(i) in rows_by_id]
        return [Hit(r + 1, row.id, row.smiles, row.formula, row.inchikey, row.name, {"sme": v}, row.sources or {})
                for r, (row, v) in enumerate(picked)]
