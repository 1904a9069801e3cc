"""The public Python facade of nmrlens.

>>> from nmrlens import api
>>> pred = api.predict("CC(=O)OCc1ccccc1")          # doctest: +SKIP
>>> pred.query.spectrum("13C").shifts                 # ppm, decreasing  # doctest: +SKIP

Models are loaded once per process (on first use) and shared.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from nmrlens.spectra.model import Query, normalize_nucleus

if TYPE_CHECKING:  # pragma: no cover
    from nmrlens.models.shifts import AtomShifts, ShiftPredictor

__all__ = ["AtomPrediction", "Prediction", "predict", "predict_many", "predict_smiles", "shift_predictor", "generate", "generator", "seed_library_of"]


@dataclass(frozen=True)
class AtomPrediction:
    """Predicted shifts of one heavy atom (ppm; standard deviations in ppm; None where not applicable)."""

    index: int
    element: str
    n_h: int
    c13: float | None
    c13_sd: float | None
    h1: float | None
    h1_sd: float | None


@dataclass(frozen=True)
class Prediction:
    """A predicted spectrum set: peak lists (in ``query``) and per-atom shifts with uncertainty."""

    smiles: str
    query: Query
    atoms: tuple[AtomPrediction, ...]


@functools.lru_cache(maxsize=4)
def shift_predictor(checkpoint: str | None = None) -> "ShiftPredictor":
    """The loaded atom-level shift model (default: the shipped checkpoint), cached per process."""
    from nmrlens.models.shifts import ShiftPredictor

    return ShiftPredictor.load(checkpoint)


def _nuclei(nuclei: Iterable[str]) -> tuple[str, ...]:
    from nmrlens.errors import NmrLensError

    out = tuple(normalize_nucleus(n) for n in nuclei)
    bad = [n for n in out if n not in ("13C", "1H")]
    if bad or not out:
        raise NmrLensError(f"nucleus: got {', '.join(bad) or 'none'}, expected 13C and/or 1H")
    return out


def _build(mol: Any, atoms: "AtomShifts", nuclei: tuple[str, ...], frequency_MHz: float) -> Prediction:
    from nmrlens.chem.mol import canonical_smiles
    from nmrlens.spectra.from_shifts import c13_spectrum, h1_spectrum

    n = mol.GetNumAtoms()
    c13: list[float | None] = [None] * n
    h1: list[float | None] = [None] * n
    rows = []
    for k, idx in enumerate(atoms.atom_indices):
        c, h = atoms.c13[k], atoms.h1[k]
        c13[idx] = c[0] if c else None
        h1[idx] = h[0] if h else None
        rows.append(AtomPrediction(idx, atoms.elements[k], atoms.n_hs[k], c[0] if c else None, c[1] if c else None,
                                   h[0] if h else None, h[1] if h else None))
    spectra = []
    if "13C" in nuclei:
        spectra.append(c13_spectrum(mol, c13))
    if "1H" in nuclei:
        spectra.append(h1_spectrum(mol, h1, frequency_MHz=frequency_MHz))
    from nmrlens.chem.mol import mol_formula

    smiles = canonical_smiles(mol)
    return Prediction(smiles, Query(spectra=spectra, smiles=smiles, formula=mol_formula(mol)), tuple(rows))


def predict(molecule: Any, *, nuclei: Sequence[str] = ("13C", "1H"), frequency_MHz: float = 400.0,
            checkpoint: str | None = None) -> Prediction:
    """Predict the 13C peak list, the 1H multiplet list and per-atom shifts of one molecule.

    Args:
        molecule: SMILES, molblock or RDKit Mol.
        nuclei: which spectra to build (13C and/or 1H).
        frequency_MHz: spectrometer frequency used for the widths of 1H multiplets (MHz).
        checkpoint: a shift-model checkpoint path (default: the shipped one).

    Raises:
        InvalidMoleculeError: for an invalid or unsupported molecule (unknown elements, radicals,
            more than 100 heavy atoms, disconnected salts).
    """
    return predict_many([molecule], nuclei=nuclei, frequency_MHz=frequency_MHz, checkpoint=checkpoint)[0]


def predict_many(molecules: Sequence[Any], *, nuclei: Sequence[str] = ("13C", "1H"), frequency_MHz: float = 400.0,
                 checkpoint: str | None = None, batch_size: int = 256) -> list[Prediction]:
    """Predict several molecules at once (faster than one by one); raises on the first invalid one."""
    from nmrlens.chem.validate import check_supported, to_mol

    nucs = _nuclei(nuclei)
    mols = [to_mol(m) for m in molecules]
    for m in mols:
        check_supported(m)
    atoms = shift_predictor(checkpoint).predict_mols(mols, batch_size=batch_size)
    return [_build(m, a, nucs, frequency_MHz) for m, a in zip(mols, atoms)]


def predict_smiles(smiles: Sequence[str], *, nuclei: Sequence[str] = ("13C", "1H"), frequency_MHz: float = 400.0,
                   checkpoint: str | None = None, batch_size: int = 256) -> list[Prediction | None]:
    """Predict many candidate SMILES tolerantly: one :class:`Prediction` per SMILES, None where the SMILES
    does not parse or the molecule is not supported (shifts in ppm, ``frequency_MHz`` for multiplet widths)."""
    from nmrlens.chem.mol import parse_smiles
    from nmrlens.chem.validate import check_supported
    from nmrlens.errors import NmrLensError

    out: list[Prediction | None] = [None] * len(smiles)
    mols, idx = [], []
    for i, s in enumerate(smiles):
        try:
            m = parse_smiles(s)
            check_supported(m)
        except NmrLensError:
            continue
        mols.append(m)
        idx.append(i)
    for start in range(0, len(mols), batch_size):
        chunk = mols[start:start + batch_size]
        try:
            preds: list[Prediction | None] = list(predict_many(chunk, nuclei=nuclei, frequency_MHz=frequency_MHz,
                                                               checkpoint=checkpoint, batch_size=batch_size))
        except NmrLensError:  # one bad molecule in the chunk: fall back to one by one
            preds = []
            for m in chunk:
                try:
                    preds.append(predict(m, nuclei=nuclei, frequency_MHz=frequency_MHz, checkpoint=checkpoint))
                except NmrLensError:
                    preds.append(None)
        for i, pred in zip(idx[start:start + batch_size], preds):
            out[i] = pred
    return out


# --- assign (issue 7) -------------------------------------------------------------------------
__all__ += ["assigner", "assign"]


@functools.lru_cache(maxsize=4)
def assigner(checkpoint: str | None = None, shifts_checkpoint: str | None = None) -> Any:
    """The loaded :class:`~nmrlens.models.assign.Assigner` (default: the shipped AssignModel fused with the
    shipped shift model; ``checkpoint="none"``: the shift-prediction baseline alone), cached per process."""
    from nmrlens.models.assign import Assigner

    return Assigner.load(checkpoint, shifts_checkpoint=shifts_checkpoint)


def assign(molecule: Any, spectrum: Any, *, checkpoint: str | None = None,
           shifts_checkpoint: str | None = None) -> Any:
    """Assign a molecule's carbons to 13C peaks and its proton groups to 1H multiplets.

    Args:
        molecule: SMILES, molblock or RDKit Mol.
        spectrum: a :class:`~nmrlens.spectra.model.Query`, a :class:`~nmrlens.spectra.model.Spectrum1D`
            or a list of them (13C and/or 1H; shifts in ppm; S/D/T/Q and nH are used when given).
        checkpoint: AssignModel checkpoint (default: shipped; ``"none"``: baseline only).
        shifts_checkpoint: shift-model checkpoint (default: shipped).

    Returns:
        An :class:`~nmrlens.models.assign.Assignment`: rows per atom with the assigned peak and a
        confidence (0..1), and a query whose peaks carry the assigned atoms (write it as NMReDATA).

    Raises:
        InvalidMoleculeError: for an invalid or unsupported molecule.
        SpectrumFormatError: when no non-empty 13C or 1H spectrum is given.
    """
    return assigner(checkpoint, shifts_checkpoint).assign(molecule, spectrum)


# --- search (issue 5) -------------------------------------------------------------------------
__all__ += ["library", "search", "search_molecule"]


@functools.lru_cache(maxsize=4)
def library(folder: str, checkpoint: str | None = None) -> Any:
    """An opened :class:`~nmrlens.library.search.Library` (``nmrlens library build`` output), with the
    retrieval checkpoint it was built with unless ``checkpoint`` is given; cached per process and
    folder (use it from one thread).

    Raises:
        DataNotFoundError: when the folder holds no library.
    """
    from nmrlens.library.search import Library

    return Library.open(folder, checkpoint)


def search(query: Any, library_folder: str | Path, *, formula: str | None = None, k: int = 10,
           score: str = "combine", recall: int = 1000, config: str | None = None) -> list[Any]:
    """Rank the molecules of a library for a spectrum (S2M).

    Args:
        query: a :class:`Query` (13C and/or 1H; shifts in ppm; 13C S/D/T/Q and 1H nH are used when
            given), a spectrum file or literature text (anything :func:`nmrlens.io.read_query` or the
            literature parser reads).
        library_folder: the library folder.
        formula: keep only molecules of this formula (default: the query's, if any).
        k: hits returned (1..10000); score: ``combine``, ``ssr``, ``sse`` or ``sme``;
        recall: candidates recalled per index (1..10000); config: C, H or CH (default: all the query has).

    Returns:
        :class:`~nmrlens.library.search.Hit` objects, best first (``.to_dict()`` for JSON).

    Raises:
        DataNotFoundError: for a folder without a library; SpectrumFormatError: for a query without a
        usable 13C/1H spectrum; NmrLensError: for a bad k, recall or score.
    """
    from nmrlens.pipeline.query import load_query

    q = query if isinstance(query, Query) else load_query(query)
    return library(str(library_folder)).search(q, k=k, formula=formula, score=score, recall=recall, config=config)


def search_molecule(molecule: Any, library_folder: str | Path, *, k: int = 10, config: str = "CH",
                    same_formula: bool = False) -> list[Any]:
    """Rank the spectra of a library (configuration C, H or CH) for a molecule (M2S, embedding cosine).

    Args:
        molecule: SMILES, molblock or RDKit Mol; library_folder: the library folder; k: hits returned;
        same_formula: keep only spectra of molecules with the molecule's formula.

    Raises:
        InvalidMoleculeError: for an invalid molecule; DataNotFoundError: for a folder without a library.
    """
    return library(str(library_folder)).search_molecule(molecule, k=k, config=config, formula=same_formula)


# --- elucidate (issue 10) ---------------------------------------------------------------------
__all__ += ["elucidator", "elucidate"]


@functools.lru_cache(maxsize=4)
def elucidator(library: str | None = None, *, invert: bool = False, checkpoint: str | None = None,
               expand: bool = True, seed_library: str | None = None, search: int = 0) -> Any:
    """The elucidation pipeline with the installed components (cached per process; see
    :meth:`nmrlens.pipeline.Elucidator.default`)."""
    from nmrlens.pipeline import Elucidator

    return Elucidator.default(library=library, invert=invert, checkpoint=checkpoint, expand=expand,
                              seed_library=seed_library, search=search)


def elucidate(query: Any, *, formula: str | None = None, library: str | None = None, k: int = 10,
              beam: int | None = None, invert: bool = False, checkpoint: str | None = None,
              expand: bool = True, seed_library: str | Path | None = None, search: int = 0) -> Any:
    """Rank candidate structures for a spectrum: library hits and de novo candidates, scored with
    predicted spectra, the top ones assigned (atom <-> peak).

    Args:
        query: a Query, an nmrlens JSON object, a file (JSON, literature text, JCAMP-DX, NMReDATA,
            CSV) or literature text.
        formula: the molecular formula; candidates of another formula are removed.
        library: a library folder or spectra file to search (None: de novo only).
        k: number of candidates returned (1..100); beam: generator beam width (1..64).
        invert: also propose structures with the reversible network (13C only).
        checkpoint: shift-model checkpoint (default: the shipped one).
        expand: add formula-preserving neighbours of the best de novo candidates.
        seed_library: known structures (``.smi``, ``.sdf``, ``.jsonl[.gz]``, library folder) whose
            molecules of the formula join as starting points of the expansion (origin ``seed``).
        search: N > 0: the expansion is one structure search of N structures (``SearchExpander``).

    Returns:
        :class:`nmrlens.pipeline.ElucidationResult` (``.candidates`` best first, ``.to_dict()``).
    """
    return elucidator(None if library is None else str(library), invert=invert, checkpoint=checkpoint,
                      expand=expand, seed_library=None if seed_library is None else str(seed_library),
                      search=search).run(query, formula=formula, k=k, beam=beam)


@functools.lru_cache(maxsize=2)
def generator(checkpoint: str | None = None) -> Any:
    """The loaded generation model (:class:`nmrlens.models.generate.Generator`), cached per process."""
    from nmrlens.models.generate import Generator

    return Generator.load(checkpoint)


def generate(query: Query, *, formula: str | None = None, config: str | None = None, beam: int = 10, k: int = 10,
             variant: str = "rerank_combine", constrain_formula: bool = True, constrain_valid: bool = True,
             constrain_hydrogens: bool | None = None, checkpoint: str | None = None, search: int = 0,
             seed_library: Any = None) -> list[Any]:
    """Generate candidate structures (de novo) from a query's 13C and/or 1H spectra and formula.

    Args:
        query: a :class:`Query` with a 13C and/or 1H spectrum (shifts in ppm) and optionally a formula.
        formula: molecular formula (e.g. ``"C9H10O2"``; replaces the query's).
        config: input configuration (C, H, CH, CF, HF, CHF; default: everything the query has).
        beam: beam width (1..100); k: candidates returned; variant: refinement variant
            (see :data:`nmrlens.models.generate.VARIANTS`).
        constrain_formula: restrict decoding to the formula's heavy atoms (with a formula only).
        constrain_valid: decode only continuations that keep every atom within its valence and let a
            hypothesis end only as a molecule RDKit accepts (of exactly the formula, with one);
            fewer than ``k`` candidates (even none) come back when the beam finds no valid end.
        constrain_hydrogens: with a formula and ``constrain_valid``, also stop hypotheses whose hydrogen
            count can no longer match the formula (None: the default,
            :data:`nmrlens.models.generate.DEFAULT_HYDROGEN_BOUND`, on: nearly every candidate valid at the
            same exact-hit rate on validation, docs/generate.md).
        search: when > 0, refine the ranked candidates by a structure search
            (:func:`nmrlens.pipeline.expand.search_candidates`: formula-preserving neighbours, ``search``
            structures scored by their predicted-spectrum similarity with the query) and rank by that
            similarity (``scores["ssr"]``); 0 (default): no search.
        seed_library: with ``search`` and a formula, known structures that seed the search besides the
            generator's candidates: a :class:`nmrlens.pipeline.expand.SeedLibrary`, or a path read by
            :meth:`~nmrlens.pipeline.expand.SeedLibrary.from_path` (``.smi``, ``.sdf``, ``.jsonl[.gz]``,
            a library folder; read once per process); its molecules of the formula are scored first.

    Returns:
        Up to ``k`` :class:`nmrlens.models.generate.Candidate` objects, best first (canonical isomeric
        ``smiles``, ``formula``, ``inchikey``, beam ``logp`` and the re-ranking ``scores``).

    Raises:
        SpectrumFormatError: when the query has no 13C/1H spectrum or lacks a part of ``config``.
        InvalidMoleculeError: for an unreadable or charged formula.
        ConfigError: for a bad beam width, k or variant.
    """
    from nmrlens.errors import SpectrumFormatError

    if not isinstance(query, Query):
        raise SpectrumFormatError("query", type(query).__name__, "a Query")
    if formula is not None:
        from nmrlens.chem.formula import format_formula, parse_formula_charge
        from nmrlens.errors import InvalidMoleculeError

        counts, charge = parse_formula_charge(formula)
        if charge:
            raise InvalidMoleculeError(f"formula: got {formula!r}, expected a neutral formula such as C9H10O2")
        query = query.with_(formula=format_formula(counts))
    if constrain_hydrogens is None:
        from nmrlens.models.generate import DEFAULT_HYDROGEN_BOUND

        constrain_hydrogens = DEFAULT_HYDROGEN_BOUND
    from nmrlens.pipeline.expand import MAX_SEARCH_BUDGET

    if isinstance(search, bool) or not isinstance(search, int) or not 0 <= search <= MAX_SEARCH_BUDGET:
        from nmrlens.errors import ConfigError

        raise ConfigError(f"search: got {search!r}, expected a whole number in 0..{MAX_SEARCH_BUDGET}")
    if seed_library is not None:
        from nmrlens.errors import ConfigError

        if not search:
            raise ConfigError("seed_library: used by the structure search only; give search > 0 (--search N) too")
        if not query.formula:
            raise ConfigError("seed_library: its molecules are chosen by formula; give a formula (--formula) too")
        seed_library = seed_library_of(seed_library)
    gen = generator(checkpoint)
    cands = gen.generate(query, config=config, beam=beam, k=max(k, beam) if search else k, variant=variant,
                         constrain_formula=constrain_formula, constrain_valid=constrain_valid,
                         constrain_hydrogens=constrain_hydrogens)
    if not search:
        return cands
    from nmrlens.pipeline.expand import search_candidates

    _, cfg = gen.source(query, config)
    extra = seed_library.seeds(query.formula) if seed_library is not None and query.formula else []
    return search_candidates(query, cfg, cands, search, keep=k, library_seeds=extra)


@functools.lru_cache(maxsize=4)
def _seed_library_from(path: str) -> Any:
    from nmrlens.pipeline.expand import SeedLibrary

    return SeedLibrary.from_path(path)


def seed_library_of(library: Any) -> Any:
    """A :class:`nmrlens.pipeline.expand.SeedLibrary` as is, or one read from a path (cached per process).

    Raises:
        DataNotFoundError, FileFormatError: for a path that cannot be read (see ``SeedLibrary.from_path``).
    """
    from nmrlens.pipeline.expand import SeedLibrary

    if isinstance(library, SeedLibrary):
        return library
    return _seed_library_from(str(Path(library).resolve()))
