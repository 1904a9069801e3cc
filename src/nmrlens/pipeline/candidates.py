"""Candidate structures and the sources that propose them.

A *source* is any object with a ``name`` and ``candidates(query, *, formula, k) -> list[Candidate]``
(see :class:`CandidateSource`). The pipeline takes sources as objects (dependency injection), so
the same orchestration runs with an in-memory library, the project's library store, de novo
generation or the reversible network, and tests can hand it a fixed list.

Sources that depend on optional modules are created through ``<Source>.create(...)``, which raises
:class:`ComponentUnavailable` (with the reason) when the module cannot be imported; the pipeline
then reports that component as "not available" instead of faking it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Protocol, Sequence, runtime_checkable

from nmrlens.errors import InvalidMoleculeError, NmrLensError, SpectrumFormatError
from nmrlens.spectra.model import Query, Spectrum1D

if TYPE_CHECKING:  # pragma: no cover
    from rdkit.Chem import Mol

__all__ = [
    "Candidate",
    "CandidateSource",
    "ComponentUnavailable",
    "make_candidate",
    "merge_candidates",
    "formula_matches",
    "ListSource",
    "LibraryEntry",
    "LibrarySource",
    "InvertSource",
    "GeneratorSource",
    "MAX_LIBRARY_ENTRIES",
]

logger = logging.getLogger(__name__)

#: Largest in-memory library (entries).
MAX_LIBRARY_ENTRIES = 200_000


class ComponentUnavailable(NmrLensError):
    """An optional component (module or checkpoint) is not installed; the message says which and why."""


@dataclass(frozen=True)
class Candidate:
    """One candidate structure.

    Attributes:
        smiles: RDKit canonical isomeric SMILES.
        inchikey: standard InChIKey (27 characters).
        formula: molecular formula (Hill order).
        origins: the sources that proposed it (e.g. ``("library", "generate")``).
        source_scores: per source, the source's own score (higher is better; e.g. library
            spectrum similarity in 0..1, generator log-probability).
        reference: experimental spectra of this structure from a library (or None).
        library_id: the library's id of the entry (or None).
    """

    smiles: str
    inchikey: str
    formula: str
    origins: tuple[str, ...] = ()
    source_scores: Mapping[str, float] = field(default_factory=dict)
    reference: Query | None = None
    library_id: str | None = None

    @property
    def block(self) -> str:
        """First InChIKey block (topology without stereo)."""
        return self.inchikey[:14]


@runtime_checkable
class CandidateSource(Protocol):
    """What the pipeline needs from a candidate source."""

    name: str

    def candidates(self, query: Query, *, formula: str | None, k: int, **options: Any) -> list[Candidate]:
        """Up to ``k`` candidates for ``query`` (formula: the required formula or None; options such
        as ``beam`` are used by the sources that know them and ignored by the others)."""
        ...


def make_candidate(molecule: "str | Mol", origin: str, score: float | None = None, *,
                   reference: Query | None = None, library_id: str | None = None) -> Candidate:
    """A :class:`Candidate` from a SMILES or Mol (canonicalised; InChIKey and formula computed).

    Raises:
        InvalidMoleculeError: when the molecule cannot be parsed or has no InChIKey.
    """
    from nmrlens.chem.mol import canonical_smiles, mol_formula, mol_inchikey
    from nmrlens.chem.validate import to_mol

    mol = to_mol(molecule)
    scores = {} if score is None else {origin: float(score)}
    return Candidate(canonical_smiles(mol), mol_inchikey(mol), mol_formula(mol), (origin,), scores, reference, library_id)


def merge_candidates(groups: Iterable[Sequence[Candidate]]) -> list[Candidate]:
    """Union of candidate lists, one entry per InChIKey (origins and scores merged, first reference kept)."""
    out: dict[str, Candidate] = {}
    for group in groups:
        for c in group:
            old = out.get(c.inchikey)
            if old is None:
                out[c.inchikey] = c
                continue
            origins = old.origins + tuple(o for o in c.origins if o not in old.origins)
            scores = dict(old.source_scores)
            for key, value in c.source_scores.items():
                scores[key] = max(value, scores.get(key, value))
            out[c.inchikey] = replace(old, origins=origins, source_scores=scores,
                                      reference=old.reference or c.reference, library_id=old.library_id or c.library_id)
    return list(out.values())


def _neutral(formula: str) -> dict[str, int]:
    from nmrlens.chem.formula import parse_formula_charge

    counts, _ = parse_formula_charge(formula)
    return counts


def formula_matches(candidate_formula: str, formula: str) -> bool:
    """True when two formulas have the same element counts (the net charge is ignored)."""
    try:
        return _neutral(candidate_formula) == _neutral(formula)
    except InvalidMoleculeError:
        return False


class ListSource:
    """A fixed list of structures (SMILES); every one is a candidate (``origin`` names it)."""

    def __init__(self, smiles: Sequence[str], name: str = "given") -> None:
        self.name = name
        self._candidates: list[Candidate] = []
        for i, s in enumerate(smiles):
            try:
                self._candidates.append(make_candidate(s, name))
            except InvalidMoleculeError as exc:
                raise InvalidMoleculeError(f"candidates[{i}]: {exc}") from None

    def candidates(self, query: Query, *, formula: str | None, k: int, **options: Any) -> list[Candidate]:
        """The given structures (those of ``formula`` when given), at most ``k``."""
        cs = [c for c in self._candidates if formula is None or formula_matches(c.formula, formula)]
        return cs[:k]


@dataclass(frozen=True)
class LibraryEntry:
    """One library structure with its experimental spectra (13C and/or 1H)."""

    id: str
    smiles: str
    inchikey: str
    formula: str
    spectra: tuple[Spectrum1D, ...]

    def spectrum(self, nucleus: str) -> Spectrum1D | None:
        """The first spectrum of ``nucleus``, or None."""
        return next((s for s in self.spectra if s.nucleus == nucleus), None)


class LibrarySource:
    """An in-memory spectrum library searched by peak-aware similarity (:mod:`nmrlens.similarity`).

    Every entry whose formula matches (all entries without a formula) is compared with the query's
    13C and 1H spectra; the score is the mean similarity over the nuclei both have (0..1). Use
    :meth:`from_queries`, :meth:`from_records` (nmrshiftdb2 record dicts) or :meth:`from_path`.
    """

    name = "library"

    def __init__(self, entries: Sequence[LibraryEntry]) -> None:
        if len(entries) > MAX_LIBRARY_ENTRIES:
            raise NmrLensError(f"library: got {len(entries)} entries, expected at most {MAX_LIBRARY_ENTRIES}")
        self.entries = list(entries)
        self._by_formula: dict[tuple[tuple[str, int], ...], list[int]] = {}
        for i, e in enumerate(self.entries):
            try:
                key = tuple(sorted(_neutral(e.formula).items()))
            except InvalidMoleculeError:
                continue
            self._by_formula.setdefault(key, []).append(i)
        self._prepared: dict[tuple[int, str], Any] = {}

    def __len__(self) -> int:
        return len(self.entries)

    @classmethod
    def from_queries(cls, queries: Iterable[Query], *, skip_invalid: bool = True) -> "LibrarySource":
        """Entries from queries that have a SMILES and a 13C or 1H spectrum."""
        from nmrlens.chem.mol import mol_formula, mol_inchikey, parse_smiles, canonical_smiles

        entries = []
        for i, q in enumerate(queries):
            spectra = tuple(s for s in q.spectra if s.nucleus in ("13C", "1H") and len(s))
            if not q.smiles or not spectra:
                continue
            try:
                mol = parse_smiles(q.smiles)
                entries.append(LibraryEntry(q.id or str(i), canonical_smiles(mol), mol_inchikey(mol), mol_formula(mol), spectra))
            except InvalidMoleculeError:
                if not skip_invalid:
                    raise
            if len(entries) > MAX_LIBRARY_ENTRIES:
                raise NmrLensError(f"library: more than {MAX_LIBRARY_ENTRIES} entries")
        return cls(entries)

    @classmethod
    def from_records(cls, records: Iterable[Mapping[str, Any]], *, exclude: Any = None,
                     formulas: Iterable[str] | None = None) -> "LibrarySource":
        """Entries from nmrshiftdb2 record dicts (experimental 13C/1H spectra; malformed ones skipped).

        ``exclude``: an optional predicate on the record; records it is true for are left out.
        ``formulas``: keep only records of these formulas (charge ignored), e.g. those of a batch of
        queries that all give their formula (a library entry of another formula can never be a
        candidate for them).
        """
        from nmrlens.io.nmrshiftdb2 import spectrum_from_record

        keep = None
        if formulas is not None:
            keep = set()
            for f in formulas:
                try:
                    keep.add(tuple(sorted(_neutral(f).items())))
                except InvalidMoleculeError:
                    continue
        entries = []
        for rec in records:
            if exclude is not None and exclude(rec):
                continue
            smiles, key, formula = rec.get("smiles"), rec.get("inchikey"), rec.get("formula")
            if not (isinstance(smiles, str) and isinstance(key, str) and len(key) == 27 and isinstance(formula, str)):
                continue
            if keep is not None:
                try:
                    if tuple(sorted(_neutral(formula).items())) not in keep:
                        continue
                except InvalidMoleculeError:
                    continue
            spectra = []
            for sp in rec.get("spectra") or ():
                if not isinstance(sp, Mapping) or sp.get("nucleus") not in ("13C", "1H"):
                    continue
                if any(s.nucleus == sp["nucleus"] for s in spectra):
                    continue
                try:
                    s, _ = spectrum_from_record(sp)
                except SpectrumFormatError:
                    continue
                if len(s):
                    spectra.append(s)
            if spectra:
                entries.append(LibraryEntry(str(rec.get("nmrshiftdb2_id", len(entries))), smiles, key, formula, tuple(spectra)))
            if len(entries) > MAX_LIBRARY_ENTRIES:
                raise NmrLensError(f"library: more than {MAX_LIBRARY_ENTRIES} entries")
        return cls(entries)

    @classmethod
    def from_path(cls, path: "str | Path", *, limit: int | None = None,
                  formulas: Iterable[str] | None = None) -> "LibrarySource":
        """Entries from a file: nmrshiftdb2 JSON lines (``.jsonl``/``.jsonl.gz``) or any file
        :func:`nmrlens.io.read` reads whose queries carry a SMILES (JSON list, NMReDATA, ...);
        ``formulas``: keep only entries of these formulas (see :meth:`from_records`).

        Raises:
            DataNotFoundError / FileFormatError: when the file cannot be read.
        """
        from itertools import islice

        from nmrlens import io

        p = Path(path)
        fmt = io.guess_format(p)
        if fmt == "nmrshiftdb2" and not p.name.lower().endswith(".sd"):
            from nmrlens.data._files import iter_json_lines

            return cls.from_records(islice(iter_json_lines(p), limit), formulas=formulas)
        lib = cls.from_queries(islice(io.read(p, fmt), limit))
        if formulas is not None:
            wanted = list(formulas)
            lib = cls([e for e in lib.entries if any(formula_matches(e.formula, f) for f in wanted)])
        return lib

    def _matching(self, formula: str | None) -> list[int]:
        if formula is None:
            return list(range(len(self.entries)))
        try:
            key = tuple(sorted(_neutral(formula).items()))
        except InvalidMoleculeError:
            return []
        return self._by_formula.get(key, [])

    def _prep(self, i: int, nucleus: str) -> Any:
        from nmrlens.similarity import prepare_spectrum

        key = (i, nucleus)
        p = self._prepared.get(key)
        if p is None:
            sp = self.entries[i].spectrum(nucleus)
            p = None if sp is None else prepare_spectrum(sp)
            if len(self._prepared) < 4 * MAX_LIBRARY_ENTRIES:
                self._prepared[key] = p
        return p

    def scores(self, query: Query, formula: str | None) -> tuple[list[int], "Any"]:
        """(entry indices, mean similarity per entry) for the entries of ``formula`` (all without)."""
        import numpy as np

        from nmrlens.similarity import peak_similarity_many

        idx = self._matching(formula)
        total = np.zeros(len(idx))
        count = np.zeros(len(idx))
        for nucleus in ("13C", "1H"):
            q = query.spectrum(nucleus)
            if q is None or not len(q):
                continue
            have = [(j, self._prep(i, nucleus)) for j, i in enumerate(idx)]
            have = [(j, p) for j, p in have if p is not None]
            if not have:
                continue
            sims = peak_similarity_many(q, [p for _, p in have])
            cols = np.array([j for j, _ in have], dtype=np.int64)
            total[cols] += sims
            count[cols] += 1
        return idx, np.where(count > 0, total / np.maximum(count, 1), 0.0)

    def candidates(self, query: Query, *, formula: str | None, k: int, **options: Any) -> list[Candidate]:
        """The ``k`` entries whose experimental spectra are most similar to the query's."""
        import numpy as np

        idx, score = self.scores(query, formula)
        if not idx:
            return []
        order = np.argsort(-score, kind="stable")[:k]
        out = []
        for j in order:
            e = self.entries[idx[int(j)]]
            out.append(Candidate(e.smiles, e.inchikey, e.formula, (self.name,), {self.name: float(score[j])},
                                 Query(spectra=e.spectra, smiles=e.smiles, formula=e.formula, id=e.id), e.id))
        return out


class InvertSource:
    """De novo candidates from the reversible network (:mod:`nmrlens.models.invert`), 13C only.

    Needs a 13C spectrum in the query; the network's own ranking score is kept as the source score.
    """

    name = "invert"

    def __init__(self, predictor: Any, samples: int = 100, seed: int = 0) -> None:
        self.predictor = predictor
        self.samples = int(samples)
        self.seed = int(seed)

    @classmethod
    def create(cls, variant: str = "general", samples: int = 100, seed: int = 0) -> "InvertSource":
        """Load the shipped network of ``variant``.

        Raises:
            ComponentUnavailable: when the module or its checkpoint is missing.
        """
        try:
            from nmrlens.models.checkpoint import weights_path
            from nmrlens.models.invert import DEFAULT_CHECKPOINTS, InversePredictor
        except ImportError as exc:  # pragma: no cover - part of the package
            raise ComponentUnavailable(f"invert: module not importable ({exc})") from None
        name = DEFAULT_CHECKPOINTS.get(variant)
        if name is None or not weights_path(name).with_suffix(".json").is_file():
            raise ComponentUnavailable(f"invert: the shipped {variant!r} checkpoint is not installed")
        return cls(InversePredictor.load(variant=variant), samples, seed)

    def candidates(self, query: Query, *, formula: str | None, k: int, **options: Any) -> list[Candidate]:
        """Decoded structures for the query's 13C peak list (those of ``formula`` when given)."""
        sp = query.spectrum("13C")
        if sp is None or not len(sp):
            return []
        code, structures = self._structures(sp)
        out = []
        for smi, _key, count in structures:
            try:
                c = make_candidate(smi, self.name, float(count))
            except InvalidMoleculeError:
                continue
            if formula is None or formula_matches(c.formula, formula):
                out.append(c)
        return out[:k]

    def _structures(self, sp: Spectrum1D) -> tuple[Any, list[tuple[str, str, int]]]:
        from nmrlens.spectra.code import code_of_spectrum

        code = code_of_spectrum(sp)
        samples = self.predictor.sample_structures(code, self.samples, seed=self.seed)
        return code, sorted(samples.structures, key=lambda t: -t[2])


class GeneratorSource:
    """De novo candidates from the generation model (:mod:`nmrlens.models.generate`, beam search).

    Valid, unique structures (of ``formula`` when given) in beam order; the source score is the
    beam probability (softmax of the beam log-probabilities over the kept candidates, 0..1).
    """

    name = "generate"

    def __init__(self, generator: Any, beam: int = 10) -> None:
        self.generator = generator
        self.beam = int(beam)

    @classmethod
    def create(cls, beam: int = 10, checkpoint: str | None = None) -> "GeneratorSource":
        """Load the generation model (default: the shipped checkpoint).

        Raises:
            ComponentUnavailable: when the module or its checkpoint is missing.
        """
        try:
            from nmrlens.models.generate import DEFAULT_GENERATE_CHECKPOINT, Generator
        except ImportError as exc:
            raise ComponentUnavailable(f"generate: nmrlens.models.generate is not importable ({exc})") from None
        from nmrlens.models.checkpoint import weights_path

        if checkpoint is None and not weights_path(DEFAULT_GENERATE_CHECKPOINT).with_suffix(".json").is_file():
            raise ComponentUnavailable(f"generate: the shipped checkpoint {DEFAULT_GENERATE_CHECKPOINT} is not installed")
        return cls(Generator.load(checkpoint), beam)

    def candidates(self, query: Query, *, formula: str | None, k: int, **options: Any) -> list[Candidate]:
        """Beam-search candidates (``options["beam"]``: beam width, default the source's)."""
        import math

        from nmrlens.models.generate import rerank_base

        beam = int(options.get("beam") or self.beam)
        q = Query(spectra=[s for s in query.spectra if s.nucleus in ("13C", "1H") and len(s)], formula=formula)
        try:
            raw = self.generator.beams([q], beam=beam)[0]
        except SpectrumFormatError as exc:
            logger.info("generate: query not usable (%s)", exc)
            return []
        base = [c for c in rerank_base(raw, formula) if c.inchikey]
        if not base:
            return []
        top = max(c.logp for c in base)
        z = [math.exp(c.logp - top) for c in base]
        total = sum(z)
        return [Candidate(c.smiles, c.inchikey, c.formula or "", (self.name,), {self.name: w / total})
                for c, w in zip(base, z)][:k]


class StoreSource:
    """Candidates from the project's library store (:class:`nmrlens.library.search.Library`: SQLite +
    FAISS), ranked by the library's own fused score; the source score is the library's peak-aware
    similarity (``ssr``, 0..1) of the query with the entry's library spectrum (experimental where
    stored, else predicted), which is kept as the candidate's reference.

    SQLite connections belong to one thread, so every thread opens its own store (the embedding
    model is shared).
    """

    name = "library"

    def __init__(self, folder: "str | Path", scorer: Any = None) -> None:
        import threading

        from nmrlens.library.search import Library  # type: ignore[import-not-found]

        self.folder = Path(folder)
        first = Library(self.folder, scorer)
        self.scorer = first.scorer
        self.size = first.size
        self._local = threading.local()
        self._local.library = first

    def __len__(self) -> int:
        return int(self.size)

    @classmethod
    def create(cls, path: "str | Path") -> "StoreSource":
        """Open the library folder ``path``.

        Raises:
            ComponentUnavailable: when ``nmrlens.library`` (or its embedding model) is not installed.
        """
        try:
            import nmrlens.library.search  # type: ignore[import-not-found]  # noqa: F401
        except ImportError as exc:
            raise ComponentUnavailable(
                f"library: {str(path)!r} is a folder, which needs nmrlens.library (not importable: {exc}); "
                "give a spectra file (.jsonl.gz, .json) instead") from None
        from nmrlens.errors import DataNotFoundError

        try:
            return cls(path)
        except DataNotFoundError as exc:
            raise ComponentUnavailable(f"library: {exc}") from None

    def _library(self) -> Any:
        lib = getattr(self._local, "library", None)
        if lib is None:
            from nmrlens.library.search import Library  # type: ignore[import-not-found]

            lib = self._local.library = Library(self.folder, self.scorer)
        return lib

    def candidates(self, query: Query, *, formula: str | None, k: int, **options: Any) -> list[Candidate]:
        """The library's ``k`` best molecules for the query (of ``formula`` when given)."""
        import math

        lib = self._library()
        q = Query(spectra=[s for s in query.spectra if s.nucleus in ("13C", "1H") and len(s)], formula=formula)
        hits = lib.search(q, k=k, formula=formula, score="combine")
        rows = lib.store.rows([h.id for h in hits])
        out = []
        for h in hits:
            ssr = float(h.scores.get("ssr", float("nan")))
            ref = lib.spectra_of(rows[h.id]) if h.id in rows else None
            scores = {self.name: ssr} if math.isfinite(ssr) else {}
            out.append(Candidate(h.smiles, h.inchikey, h.formula, (self.name,), scores, ref, str(h.id)))
        return out
