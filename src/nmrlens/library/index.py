"""FAISS vector indexes over L2-normalised embeddings (inner product = cosine).

Kinds: ``flat`` (exact, ``IndexFlatIP``), ``ivf`` (``IndexIVFFlat`` with ``nlist = 4 sqrt(n)`` lists,
``nprobe`` chosen for recall), ``hnsw`` (``IndexHNSWFlat``, 32 links). ``auto`` picks flat up to
:data:`FLAT_MAX` vectors and IVF above. Every index maps its vectors to the caller's integer ids.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from nmrlens.errors import ConfigError, NmrLensError

__all__ = ["INDEX_KINDS", "FLAT_MAX", "VectorIndex", "choose_kind"]

INDEX_KINDS: tuple[str, ...] = ("auto", "flat", "ivf", "hnsw")
#: Largest library indexed exactly by ``auto``.
FLAT_MAX = 200_000


def choose_kind(n: int, kind: str = "auto") -> str:
    """The index kind for ``n`` vectors (``auto``: flat up to FLAT_MAX, else ivf)."""
    if kind not in INDEX_KINDS:
        raise ConfigError(f"index: got {kind!r}, expected one of {', '.join(INDEX_KINDS)}")
    if kind != "auto":
        return kind
    return "flat" if n <= FLAT_MAX else "ivf"


class VectorIndex:
    """A FAISS index plus its id mapping.

    Args:
        index: the FAISS index (an ``IndexIDMap`` over the inner index, or an IVF index with ids).
        kind: ``flat``, ``ivf`` or ``hnsw``.
    """

    def __init__(self, index: Any, kind: str) -> None:
        self.index = index
        self.kind = kind

    @property
    def ntotal(self) -> int:
        """Number of vectors."""
        return int(self.index.ntotal)

    @classmethod
    def build(cls, vectors: np.ndarray, ids: np.ndarray, kind: str = "auto", *, seed: int = 0,
              threads: int | None = None) -> "VectorIndex":
        """Index ``vectors`` (n, d float32, L2-normalised) under integer ``ids`` (n,)."""
        import faiss

        if threads:
            faiss.omp_set_num_threads(threads)
        x = np.ascontiguousarray(vectors, dtype=np.float32)
        if x.ndim != 2 or len(x) != len(ids):
            raise NmrLensError(f"vectors: got shape {x.shape} for {len(ids)} ids, expected (n, d) with one row per id")
        n, d = x.shape
        ids64 = np.ascontiguousarray(ids, dtype=np.int64)
        k = choose_kind(n, kind)
        if k == "flat" or n < 1000:
            k = "flat" if k == "ivf" else k
        if k == "flat":
            index = faiss.IndexIDMap(faiss.IndexFlatIP(d))
            index.add_with_ids(x, ids64)
        elif k == "hnsw":
            inner = faiss.IndexHNSWFlat(d, 32, faiss.METRIC_INNER_PRODUCT)
            inner.hnsw.efConstruction = 64
            inner.hnsw.efSearch = 128
            index = faiss.IndexIDMap(inner)
            index.add_with_ids(x, ids64)
        else:
            nlist = max(16, int(4 * math.sqrt(n)))
            quant = faiss.IndexFlatIP(d)
            index = faiss.IndexIVFFlat(quant, d, nlist, faiss.METRIC_INNER_PRODUCT)
            rng = np.random.default_rng(seed)
            sample = x[rng.choice(n, size=min(n, 40 * nlist), replace=False)]
            index.train(sample)
            index.add_with_ids(x, ids64)
            index.nprobe = max(16, nlist // 32)
        return cls(index, k)

    def search(self, queries: np.ndarray, k: int, *, threads: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` (scores, ids) per query row; missing entries have id -1 and score -inf.

        ``threads``: OpenMP threads of FAISS (one is fastest for single queries on a busy machine).
        """
        import faiss

        faiss.omp_set_num_threads(threads)
        q = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        k = max(1, min(int(k), max(1, self.ntotal)))
        scores, ids = self.index.search(q, k)
        scores = np.where(ids >= 0, scores, -np.inf)
        return scores, ids

    def save(self, path: str | Path) -> None:
        """Write the index (``faiss.write_index``) atomically."""
        import os

        import faiss

        p = Path(path)
        tmp = p.with_name(f".{p.name}.tmp")
        faiss.write_index(self.index, str(tmp))
        os.replace(tmp, p)

    @classmethod
    def load(cls, path: str | Path, kind: str) -> "VectorIndex":
        """Read an index written by :meth:`save`."""
        import faiss

        index = faiss.read_index(str(path))
        if kind == "ivf":
            index.nprobe = max(16, index.nlist // 32)
        return cls(index, kind)
