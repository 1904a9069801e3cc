"""Resumable library builder (``nmrlens library build``).

Input: ``.smi`` (``SMILES [name]`` per line, ``#`` comments), ``.sdf`` (name from the title line),
``.jsonl``/``.jsonl.gz`` (nmrshiftdb2 records, whose experimental 13C/1H spectra are stored and
used in place of predictions, or plain ``{"smiles": ..., "name": ...}`` objects).

The input is cut into chunks of ``chunk_size`` molecules; the molecule at input position ``i``
gets id ``i``. Each chunk is validated, predicted (13C/1H, :func:`nmrlens.api.predict_many`),
embedded (molecule and spectra, :class:`~nmrlens.models.retrieval.CandidateScorer`) and stored in
one SQLite transaction (:mod:`nmrlens.library.store`). A build that stops (Ctrl-C, a crash) keeps
every finished chunk; running the same command again resumes with the first unfinished chunk.
Once all chunks are stored, the FAISS indexes are written (:mod:`nmrlens.library.index`). Duplicate
molecules (same canonical isomeric SMILES) are stored once; invalid or unsupported molecules are
skipped and counted.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np


from nmrlens.errors import FileFormatError, NmrLensError, OutputExistsError
from nmrlens.library.index import VectorIndex, choose_kind
from nmrlens.library.store import EMBEDDING_COLUMNS, LibraryRow, LibraryStore

__all__ = ["MoleculeInput", "BuildReport", "read_molecules", "process_chunk", "build_library", "write_indexes",
           "standing_fingerprints", "FINGERPRINT_INDEXES", "INPUT_SUFFIXES", "MAX_LINE"]

log = logging.getLogger(__name__)
INPUT_SUFFIXES: tuple[str, ...] = (".smi", ".sdf", ".jsonl", ".jsonl.gz")
#: Longest accepted input line (characters).
MAX_LINE = 100_000


@dataclass(frozen=True)
class MoleculeInput:
    """One input molecule: SMILES, optional name and optional experimental spectra (public JSON text)."""

    smiles: str
    name: str | None = None
    experimental: str | None = None


@dataclass
class BuildReport:
    """What a build did."""

    n_input: int = 0
    n_stored: int = 0
    n_new: int = 0
    n_skipped: int = 0
    chunks_done: int = 0
    chunks_total: int = 0
    seconds: float = 0.0
    molecules_per_second: float = 0.0
    complete: bool = False
    skipped: dict[str, int] = field(default_factory=dict)


def _suffix(path: Path) -> str:
    name = path.name.lower()
    for s in INPUT_SUFFIXES:
        if name.endswith(s):
            return s
    raise FileFormatError(f"--molecules: cannot read {str(path)!r}; expected one of {', '.join(INPUT_SUFFIXES)}")


def read_molecules(path: str | Path) -> Iterator[MoleculeInput]:
    """Stream the molecules of an input file (see the module docstring).

    Raises:
        DataNotFoundError: when the file does not exist.
        FileFormatError: for an unknown extension, an over-long line or a malformed JSON line.
    """
    from nmrlens.data._files import open_text_lines

    p = Path(path)
    kind = _suffix(p)
    if kind == ".sdf":
        yield from _read_sdf(p)
        return
    with open_text_lines(p) as lines:
        for lineno, line in enumerate(lines, 1):
            if len(line) > MAX_LINE:
                raise FileFormatError(f"--molecules: line {lineno} of {str(p)!r} has {len(line)} characters, "
                                      f"expected at most {MAX_LINE}")
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            if kind == ".smi":
                parts = text.split(None, 1)
                yield MoleculeInput(parts[0], parts[1].strip() if len(parts) > 1 else None)
                continue
            try:
                rec = json.loads(text)
            except json.JSONDecodeError as exc:
                raise FileFormatError(f"--molecules: line {lineno} of {str(p)!r} is not JSON ({exc.msg})") from None
            if not isinstance(rec, dict) or not isinstance(rec.get("smiles"), str):
                raise FileFormatError(f"--molecules: line {lineno} of {str(p)!r} has no 'smiles' string")
            yield _record_input(rec)


def _record_input(rec: dict[str, Any]) -> MoleculeInput:
    name = rec.get("name") if rec.get("name") is not None else rec.get("nmrshiftdb2_id")
    exp = None
    if isinstance(rec.get("spectra"), list):
        from nmrlens.errors import NmrLensError as _E
        from nmrlens.io.json import query_to_dict
        from nmrlens.io.nmrshiftdb2 import ReadReport, record_to_query
        from nmrlens.spectra.model import Query

        try:
            q = record_to_query(rec, check_smiles=False, errors="skip", report=ReadReport())
            spectra = []
            for nuc in ("13C", "1H"):
                cands = [s for s in q.spectra if s.nucleus == nuc and len(s)]
                if cands:
                    spectra.append(max(cands, key=len))
            if spectra:
                exp = json.dumps(query_to_dict(Query(spectra=spectra)))
        except _E:
            exp = None
    return MoleculeInput(rec["smiles"], None if name is None else str(name), exp)


def _read_sdf(p: Path) -> Iterator[MoleculeInput]:
    from rdkit import Chem

    from nmrlens.chem.mol import _quiet_rdkit

    _quiet_rdkit()
    with open(p, "rb") as fh:
        for i, mol in enumerate(Chem.ForwardSDMolSupplier(fh)):
            if mol is None:
                yield MoleculeInput("", f"record {i + 1}")
                continue
            name = mol.GetProp("_Name") if mol.HasProp("_Name") else None
            yield MoleculeInput(Chem.MolToSmiles(mol), name or None)


@functools.lru_cache(maxsize=2)
def _scorer(checkpoint: str | None) -> Any:
    from nmrlens.models.retrieval import CandidateScorer

    return CandidateScorer.load(checkpoint)


def process_chunk(entries: Sequence[tuple[int, str, str | None, str | None]], checkpoint: str | None = None,
                  use_experimental: bool = True, threads: int = 1) -> tuple[list[LibraryRow], dict[str, int]]:
    """Validate, predict and embed one chunk of ``(id, smiles, name, experimental_json)`` entries.

    Returns:
        (rows, skipped counts by reason). Pure function of its arguments (runs on any engine).
    """
    import torch

    from nmrlens import api
    from nmrlens.chem.mol import canonical_smiles, inchikey_block, mol_formula, mol_inchikey
    from nmrlens.chem.validate import check_supported, to_mol
    from nmrlens.data.featurize import featurize_mol
    from nmrlens.io.json import query_from_dict, query_to_dict
    from nmrlens.models.retrieval import retrieval_view, spectrum_sequence
    from nmrlens.spectra.model import Query

    if threads:
        torch.set_num_threads(threads)
    scorer = _scorer(checkpoint)
    skipped: dict[str, int] = {}
    mols, keep = [], []
    for rid, smi, name, exp in entries:
        try:
            m = to_mol(smi)
            check_supported(m)
            key = mol_inchikey(m)
        except NmrLensError:
            skipped["invalid or unsupported molecule"] = skipped.get("invalid or unsupported molecule", 0) + 1
            continue
        mols.append(m)
        keep.append((rid, name, exp, key))
    if not mols:
        return [], skipped
    preds = api.predict_many(mols)
    m_emb = scorer.embed_graphs([featurize_mol(m) for m in mols])
    rows: list[LibraryRow] = []
    stand_ins: list[Query] = []
    for m, p, (rid, name, exp, key), e in zip(mols, preds, keep, m_emb):
        sources: dict[str, str] = {}
        spectra = []
        exp_q = None
        if exp is not None and use_experimental:
            try:
                exp_q = query_from_dict(json.loads(exp))
            except (NmrLensError, json.JSONDecodeError):
                exp_q = None
        for nuc in ("13C", "1H"):
            sp = exp_q.spectrum(nuc) if exp_q is not None else None
            if sp is not None and len(sp):
                sources[nuc] = "experimental"
            else:
                sp = p.query.spectrum(nuc)
                if sp is None or not len(sp):
                    continue
                sources[nuc] = "predicted"
            spectra.append(sp)
        stand_ins.append(retrieval_view(Query(spectra=spectra)))
        rows.append(LibraryRow(rid, canonical_smiles(m), name, mol_formula(m), key, inchikey_block(key),
                               json.dumps(query_to_dict(p.query.with_(smiles=None, formula=None)), separators=(",", ":")),
                               json.dumps(query_to_dict(exp_q), separators=(",", ":")) if exp_q is not None else None,
                               sources, emb_mol=e))
    max_len = scorer.model.hparams["max_len"]
    for cfg in ("C", "H", "CH"):
        idx = [i for i, q in enumerate(stand_ins)
               if all(q.spectrum(n) is not None for c, n in (("C", "13C"), ("H", "1H")) if c in cfg)]
        if not idx:
            continue
        emb = scorer._embed_seqs([spectrum_sequence(scorer.tokenizer, stand_ins[i], cfg, max_len) for i in idx])
        for i, v in zip(idx, emb):
            setattr(rows[i], f"emb_{cfg}", v)
    return rows, skipped


def _input_signature(path: Path | None, n: int) -> dict[str, Any]:
    if path is None:
        return {"path": None, "n_input": n}
    st = path.stat()
    return {"path": str(path.resolve()), "size": st.st_size, "n_input": n}


def build_library(molecules: str | Path | Sequence[MoleculeInput], out: str | Path, *, checkpoint: str | None = None,
                  chunk_size: int = 1000, engine: str = "local", address: str | None = None,
                  workers: int | None = None, index: str = "auto",
                  use_experimental: bool = True, force: bool = False, threads: int = 1,
                  progress: Callable[[int, int], None] | None = None,
                  max_chunks: int | None = None) -> BuildReport:
    """Build (or resume) the library in folder ``out`` from a molecule file or a list of inputs.

    Args:
        molecules: an input file (see the module docstring) or :class:`MoleculeInput` objects.
        out: the library folder.
        checkpoint: retrieval checkpoint (default: the shipped one).
        chunk_size: molecules per chunk (fixed for the life of a library: a resume reuses it).
        engine: ``local``, ``process`` (``workers`` processes, default one per core) or ``ray``
            (``address``: a Ray cluster, default a local instance).
        index: FAISS index kind (``auto``, ``flat``, ``ivf``, ``hnsw``).
        use_experimental: store experimental spectra of the input and use them in place of predictions.
        force: delete an existing library in ``out`` first.
        progress: called as ``progress(molecules_done, molecules_total)`` after every chunk.
        max_chunks: stop after this many new chunks (leaves a resumable, usable partial library).

    Raises:
        OutputExistsError: when ``out`` holds a library of another input (without ``force``).
    """
    from nmrlens.library.engines import get_engine

    t0 = time.time()
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise NmrLensError(f"--chunk-size: got {chunk_size!r}, expected a whole number >= 1")
    choose_kind(1, index)
    path = Path(molecules) if isinstance(molecules, (str, Path)) else None
    entries = list(read_molecules(path)) if path is not None else list(molecules)  # type: ignore[arg-type]
    out = Path(out)
    if force and (out / "library.sqlite").exists():
        for f in out.iterdir():
            if f.name == "library.sqlite" or f.name.endswith(".faiss") or f.name.endswith(".sqlite-journal"):
                f.unlink()
    signature = _input_signature(path, len(entries))
    from nmrlens.models.retrieval import DEFAULT_RETRIEVAL_CHECKPOINT

    ck_sig = str(checkpoint or f"shipped:{DEFAULT_RETRIEVAL_CHECKPOINT}")
    eng = get_engine(engine, address, workers)  # bad engine options fail before anything is written
    try:
        with LibraryStore(out, create=True) as store:
            old = store.get_meta("input")
            if old is not None and (old != signature or store.get_meta("checkpoint") != ck_sig
                                    or store.get_meta("use_experimental") != use_experimental):
                raise OutputExistsError(f"--out: {str(out)!r} holds a library of another input or model "
                                        f"({old.get('path')}); pass --force to rebuild it")
            chunk_size = int(store.get_meta("chunk_size", chunk_size))
            if old is None:
                scorer = _scorer(checkpoint)
                for key, value in (("input", signature), ("checkpoint", ck_sig), ("chunk_size", chunk_size),
                                   ("embed_dim", scorer.embed_dim), ("use_experimental", use_experimental),
                                   ("created", time.strftime("%Y-%m-%dT%H:%M:%S")), ("complete", False),
                                   ("fusion", scorer.fusion)):
                    store.set_meta(key, value)
            n_chunks = (len(entries) + chunk_size - 1) // chunk_size
            done = store.done_chunks()
            report = BuildReport(n_input=len(entries), chunks_total=n_chunks, chunks_done=len(done))
            todo = [c for c in range(n_chunks) if c not in done]
            if max_chunks is not None:
                todo = todo[:max_chunks]

            def jobs() -> Iterator[tuple[int, tuple[Any, ...]]]:
                for c in todo:
                    part = entries[c * chunk_size:(c + 1) * chunk_size]
                    yield c, ([(c * chunk_size + i, e.smiles, e.name, e.experimental) for i, e in enumerate(part)],
                              checkpoint, use_experimental, threads)

            n_done_mols = sum(min(chunk_size, len(entries) - c * chunk_size) for c in done)
            try:
                for c, (rows, skipped) in eng.map(process_chunk, jobs()):
                    n_in = min(chunk_size, len(entries) - c * chunk_size)
                    report.n_new += store.add_chunk(c, n_in, rows)
                    report.n_skipped += sum(skipped.values())
                    for k, v in skipped.items():
                        report.skipped[k] = report.skipped.get(k, 0) + v
                    report.chunks_done += 1
                    n_done_mols += n_in
                    if progress is not None:
                        progress(n_done_mols, len(entries))
            finally:
                report.n_stored = store.count()
                report.seconds = round(time.time() - t0, 2)
                report.molecules_per_second = round(report.n_new / max(1e-9, report.seconds), 1)
            if report.chunks_done == n_chunks:
                write_indexes(store, index)
                store.set_meta("complete", True)
                report.complete = True
            store.set_meta("last_build", asdict(report))
    finally:
        eng.close()
    return report


#: Fingerprint indexes (name -> nucleus): recall by spectral fingerprint
#: (:mod:`nmrlens.similarity.fingerprint`) next to the learned embeddings; no model involved.
FINGERPRINT_INDEXES: dict[str, str] = {"fp_C": "13C", "fp_H": "1H"}


def standing_fingerprints(store: LibraryStore, nucleus: str) -> tuple[np.ndarray, np.ndarray]:
    """(ids, float32 matrix) of the fingerprints of the standing spectra of ``nucleus`` (13C or 1H)."""
    from nmrlens.similarity.fingerprint import fingerprint_dim, fingerprint_from_arrays

    ids, vecs = [], []
    for rid, shifts, labels in store.standing_peaks(nucleus):
        ids.append(rid)
        vecs.append(fingerprint_from_arrays(nucleus, shifts, labels))
    mat = np.vstack(vecs) if vecs else np.zeros((0, fingerprint_dim(nucleus)), dtype=np.float32)
    return np.asarray(ids, dtype=np.int64), mat


def write_indexes(store: LibraryStore, kind: str = "auto") -> dict[str, Any]:
    """Build and save one FAISS index per embedding column and per fingerprint
    (``index_<name>.faiss``, see :data:`FINGERPRINT_INDEXES`); returns their description."""
    info = {}
    for col in (*EMBEDDING_COLUMNS, *FINGERPRINT_INDEXES):
        if col in FINGERPRINT_INDEXES:
            ids, mat = standing_fingerprints(store, FINGERPRINT_INDEXES[col])
        else:
            ids, mat = store.embeddings(col)
        if not len(ids):
            continue
        idx = VectorIndex.build(mat, ids, kind)
        idx.save(store.folder / f"index_{col}.faiss")
        info[col] = {"kind": idx.kind, "ntotal": idx.ntotal}
    store.set_meta("indexes", info)
    return info
