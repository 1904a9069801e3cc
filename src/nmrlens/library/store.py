"""The library store: one SQLite file (``library.sqlite``) per library.

Tables
------
``meta(key TEXT PRIMARY KEY, value TEXT)``
    JSON values: ``format_version``, ``embed_dim``, ``checkpoint`` (retrieval model provenance),
    ``created``, ``complete`` (true once a build finished and the indexes were written).
``molecules``
    ``id INTEGER PRIMARY KEY`` (0-based, in input order), ``smiles`` (canonical isomeric, unique),
    ``name``, ``formula`` (Hill), ``inchikey``, ``block`` (first 14 characters of the InChIKey),
    ``predicted`` (public JSON query of the predicted 13C/1H spectra, :mod:`nmrlens.io.json`),
    ``experimental`` (public JSON query of the input's experimental spectra, or NULL),
    ``sources`` (JSON: which spectrum stands for each nucleus, ``experimental`` or ``predicted``),
    ``emb_mol``, ``emb_C``, ``emb_H``, ``emb_CH`` (float32 little-endian blobs; spectrum embeddings
    of the spectra that stand for the molecule: experimental where given, else predicted; NULL when
    the molecule has no spectrum of that kind).
``chunks(chunk INTEGER PRIMARY KEY, n_input INTEGER, n_stored INTEGER)``
    Finished input chunks (a resumed build skips them). Each chunk is one transaction, so an
    interrupted build keeps every finished chunk and nothing half-written.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

from nmrlens.errors import DataNotFoundError, FileFormatError

__all__ = ["STORE_FORMAT_VERSION", "STORE_NAME", "EMBEDDING_COLUMNS", "LibraryRow", "LibraryStore"]

STORE_FORMAT_VERSION = 1
STORE_NAME = "library.sqlite"
#: Embedding columns: the molecule and the spectrum configurations.
EMBEDDING_COLUMNS: tuple[str, ...] = ("emb_mol", "emb_C", "emb_H", "emb_CH")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS molecules (
    id INTEGER PRIMARY KEY,
    smiles TEXT NOT NULL UNIQUE,
    name TEXT,
    formula TEXT NOT NULL,
    inchikey TEXT NOT NULL,
    block TEXT NOT NULL,
    predicted TEXT,
    experimental TEXT,
    sources TEXT,
    emb_mol BLOB,
    emb_C BLOB,
    emb_H BLOB,
    emb_CH BLOB
);
CREATE INDEX IF NOT EXISTS molecules_formula ON molecules (formula);
CREATE INDEX IF NOT EXISTS molecules_block ON molecules (block);
CREATE TABLE IF NOT EXISTS chunks (chunk INTEGER PRIMARY KEY, n_input INTEGER NOT NULL, n_stored INTEGER NOT NULL);
"""


@dataclass
class LibraryRow:
    """One stored molecule (embeddings as float32 arrays or None)."""

    id: int
    smiles: str
    name: str | None
    formula: str
    inchikey: str
    block: str
    predicted: str | None = None
    experimental: str | None = None
    sources: dict[str, str] | None = None
    emb_mol: np.ndarray | None = None
    emb_C: np.ndarray | None = None
    emb_H: np.ndarray | None = None
    emb_CH: np.ndarray | None = None


def _blob(x: np.ndarray | None) -> bytes | None:
    return None if x is None else np.ascontiguousarray(x, dtype="<f4").tobytes()


def _vec(b: bytes | None) -> np.ndarray | None:
    return None if b is None else np.frombuffer(b, dtype="<f4").astype(np.float32)


class LibraryStore:
    """The SQLite store of a library folder (see the module docstring).

    Args:
        folder: the library folder; create: make the folder and the schema when missing.
    """

    def __init__(self, folder: str | Path, *, create: bool = False) -> None:
        self.folder = Path(folder)
        self.path = self.folder / STORE_NAME
        if not self.path.is_file():
            if not create:
                raise DataNotFoundError(f"--library: {str(self.folder)!r} holds no {STORE_NAME}; build one with "
                                        "`nmrlens library build`")
            self.folder.mkdir(parents=True, exist_ok=True)
        try:
            self.conn = sqlite3.connect(str(self.path))
            self.conn.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise FileFormatError(f"--library: {str(self.path)!r} is not a library store ({exc})") from None
        if create and self.get_meta("format_version") is None:
            self.set_meta("format_version", STORE_FORMAT_VERSION)
        version = self.get_meta("format_version")
        if version is not None and version != STORE_FORMAT_VERSION:
            raise FileFormatError(f"--library: store format_version {version!r}, this nmrlens reads {STORE_FORMAT_VERSION}")

    def close(self) -> None:
        """Close the database."""
        self.conn.close()

    def __enter__(self) -> "LibraryStore":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- meta --------------------------------------------------------------------------------------
    def get_meta(self, key: str, default: Any = None) -> Any:
        """A meta value (decoded JSON) or ``default``."""
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    def set_meta(self, key: str, value: Any) -> None:
        """Set a meta value (JSON-encoded) and commit."""
        with self.conn:
            self.conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value)))

    # -- writing -----------------------------------------------------------------------------------
    def add_chunk(self, chunk: int, n_input: int, rows: Sequence[LibraryRow]) -> int:
        """Store the rows of one finished input chunk in one transaction; returns how many were new."""
        before = self.count()
        with self.conn:
            self.conn.executemany(
                "INSERT OR IGNORE INTO molecules (id, smiles, name, formula, inchikey, block, predicted, experimental, "
                "sources, emb_mol, emb_C, emb_H, emb_CH) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(r.id, r.smiles, r.name, r.formula, r.inchikey, r.block, r.predicted, r.experimental,
                  json.dumps(r.sources or {}), _blob(r.emb_mol), _blob(r.emb_C), _blob(r.emb_H), _blob(r.emb_CH))
                 for r in rows])
            n_new = self.count() - before
            self.conn.execute("INSERT OR REPLACE INTO chunks (chunk, n_input, n_stored) VALUES (?, ?, ?)",
                              (chunk, n_input, n_new))
        return n_new

    def done_chunks(self) -> set[int]:
        """Numbers of the finished input chunks."""
        return {r[0] for r in self.conn.execute("SELECT chunk FROM chunks")}

    # -- reading -----------------------------------------------------------------------------------
    def count(self) -> int:
        """Number of stored molecules."""
        return int(self.conn.execute("SELECT COUNT(*) FROM molecules").fetchone()[0])

    def known_smiles(self) -> set[str]:
        """Canonical SMILES already stored."""
        return {r[0] for r in self.conn.execute("SELECT smiles FROM molecules")}

    def next_id(self) -> int:
        """The id the next new molecule gets."""
        row = self.conn.execute("SELECT MAX(id) FROM molecules").fetchone()
        return 0 if row[0] is None else int(row[0]) + 1

    def embeddings(self, column: str = "emb_mol") -> tuple[np.ndarray, np.ndarray]:
        """(ids, float32 matrix) of every molecule with a value in ``column``."""
        if column not in EMBEDDING_COLUMNS:
            raise FileFormatError(f"column: got {column!r}, expected one of {', '.join(EMBEDDING_COLUMNS)}")
        ids, vecs = [], []
        for rid, b in self.conn.execute(f"SELECT id, {column} FROM molecules WHERE {column} IS NOT NULL ORDER BY id"):
            ids.append(rid)
            vecs.append(np.frombuffer(b, dtype="<f4"))
        dim = int(self.get_meta("embed_dim", 0) or (len(vecs[0]) if vecs else 0))
        mat = np.vstack(vecs).astype(np.float32) if vecs else np.zeros((0, dim), dtype=np.float32)
        return np.asarray(ids, dtype=np.int64), mat

    def rows(self, ids: Iterable[int], columns: Sequence[str] | None = None) -> dict[int, LibraryRow]:
        """Rows by id (missing ids are left out)."""
        ids = [int(i) for i in ids]
        out: dict[int, LibraryRow] = {}
        cols = ("id", "smiles", "name", "formula", "inchikey", "block", "predicted", "experimental", "sources",
                *EMBEDDING_COLUMNS)
        for start in range(0, len(ids), 900):
            part = ids[start:start + 900]
            q = f"SELECT {', '.join(cols)} FROM molecules WHERE id IN ({', '.join('?' * len(part))})"
            for r in self.conn.execute(q, part):
                out[r[0]] = LibraryRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], json.loads(r[8] or "{}"),
                                       *(_vec(b) for b in r[9:13]))
        return out

    def ids_with_formula(self, formula: str) -> list[int]:
        """Ids of the molecules of one (Hill) formula."""
        return [r[0] for r in self.conn.execute("SELECT id FROM molecules WHERE formula = ? ORDER BY id", (formula,))]

    def standing_peaks(self, nucleus: str) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        """``(id, shifts, labels)`` of the standing spectrum of ``nucleus`` (13C or 1H) of every
        molecule that has one, by id: the experimental spectrum where ``sources`` says so, else the
        predicted one. Shifts in ppm (1H: multiplet centres); labels: 13C S/D/T/Q as 0-3, 1H nH; -1
        where unknown. Read straight from the stored JSON (fast enough for a million rows)."""
        from nmrlens.similarity.matched import MULT_INDEX

        q = "SELECT id, predicted, experimental, sources FROM molecules ORDER BY id"
        for rid, pred, exp, sources in self.conn.execute(q):
            src = json.loads(sources or "{}").get(nucleus)
            text = exp if src == "experimental" else pred
            if not text:
                continue
            spec = next((sp for sp in json.loads(text).get("spectra", []) if sp.get("nucleus") == nucleus), None)
            if spec is None or not spec.get("peaks"):
                continue
            peaks = spec["peaks"]
            if nucleus == "1H":
                shifts = np.array([0.5 * (p["shift_min"] + p["shift_max"]) for p in peaks])
                labels = np.array([-1 if p.get("nH") is None else p["nH"] for p in peaks], dtype=np.float64)
            else:
                shifts = np.array([p["shift"] for p in peaks], dtype=np.float64)
                labels = np.array([MULT_INDEX.get(p.get("mult") or "", -1) for p in peaks], dtype=np.float64)
            yield rid, shifts, labels

    def iter_rows(self) -> Iterator[tuple[int, str, str, str]]:
        """(id, smiles, formula, inchikey) of every molecule, by id."""
        yield from self.conn.execute("SELECT id, smiles, formula, inchikey FROM molecules ORDER BY id")
