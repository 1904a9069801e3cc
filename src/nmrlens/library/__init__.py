"""Molecule/spectrum libraries: an embedded SQLite store plus FAISS vector indexes.

- :mod:`nmrlens.library.store`: the SQLite store (one row per molecule: SMILES, formula, InChIKey,
  predicted and experimental spectra as public JSON, embeddings).
- :mod:`nmrlens.library.index`: FAISS indexes (flat / IVF / HNSW, chosen by size, overridable).
- :mod:`nmrlens.library.build`: resumable builder (``nmrlens library build``) with local and Ray engines.
- :mod:`nmrlens.library.search`: :class:`~nmrlens.library.search.Library`, spectrum -> molecules
  (S2M, with SME/SSE/SSR/combine re-ranking and a formula filter) and molecule -> spectra (M2S).

Heavy dependencies (faiss, torch, rdkit) are imported by the functions that need them.
"""

__all__ = ["store", "index", "build", "search", "engines"]
