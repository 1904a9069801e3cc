"""Local search around the best candidates: formula-preserving neighbours, scored by predicted spectra.

A de novo generator is often *close*. Two searches use the moves of :mod:`nmrlens.chem.isomers`
(terminal-atom moves, element swaps, bond switches, double-bond shifts, ring closure and opening;
products keep the formula and pass a chemistry filter):

- :class:`NeighbourSource`, the second stage of :class:`nmrlens.pipeline.Elucidator`: rounds of
  neighbours of the best de novo candidates, each round scored by the pipeline like every other
  candidate (origin ``"expand"``);
- :func:`structure_search`, a beam search in structure space on its own: from seed structures, keep
  the ``width`` best found so far, draw ``per_step`` new neighbours of each, score them with the
  query's predicted-spectrum similarity (ssr), until ``budget`` structures were scored. The
  generation benchmark measures it as the ``search`` variant (``nmrlens evaluate generation
  --search-budget N``), ``nmrlens generate --search N`` applies it.

Moves keep the formula, so a search can only reach isomers of its seeds. Besides the generator's
candidates, a :class:`SeedLibrary` of known structures (e.g. the nmrshiftdb2 training molecules, or
any ``.smi``/``.sdf``/``.jsonl`` file or library folder) supplies the molecules of the query's formula
as further seeds (``nmrlens generate --search N --seed-library FILE``).
"""

from __future__ import annotations

import itertools
import logging
import math
import sqlite3
import time
import zlib
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from nmrlens.chem.isomers import DEFAULT_MOVES, MAX_NEIGHBOURS, MOVES, iter_neighbours, neighbours
from nmrlens.errors import InvalidMoleculeError, NmrLensError

__all__ = ["NeighbourSource", "SearchExpander", "SeedLibrary", "SeedSource", "structure_search", "ssr_scorer", "search_candidates", "MAX_SEARCH_BUDGET",
           "MAX_LIBRARY_SEEDS"]

logger = logging.getLogger(__name__)

#: Largest number of structures one :func:`structure_search` may score.
MAX_SEARCH_BUDGET = 100_000
#: Most seed-library molecules of one formula handed to a search (the first ones of the library's order).
MAX_LIBRARY_SEEDS = 200


def _formula_key(formula: str) -> str:
    """The Hill spelling of a formula's element counts (the net charge is ignored)."""
    from nmrlens.chem.formula import format_formula, parse_formula_charge

    return format_formula(parse_formula_charge(formula)[0])


def _check_whole(*bounds: tuple[str, Any, int]) -> None:
    """Raise NmrLensError naming the first (name, value, upper bound) whose value is not a whole number in 1..bound."""
    for name, v, hi in bounds:
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= hi:
            raise NmrLensError(f"{name}: got {v!r}, expected a whole number in 1..{hi}")


def _check_moves(moves: Sequence[str]) -> tuple[str, ...]:
    """``moves`` as a tuple, or NmrLensError when it is empty or names an unknown move."""
    if not moves or any(m not in MOVES for m in moves):
        raise NmrLensError(f"moves: got {list(moves)!r}, expected a non-empty subset of {', '.join(MOVES)}")
    return tuple(moves)


def _as_candidates(smiles: Iterable[str], origin: str, limit: int | None = None) -> list[Any]:
    """Pipeline candidates (origin ``origin``) of up to ``limit`` of ``smiles``; unreadable ones are skipped."""
    from nmrlens.pipeline.candidates import make_candidate

    out: list[Any] = []
    for smi in smiles:
        if limit is not None and len(out) >= limit:
            break
        try:
            out.append(make_candidate(smi, origin))
        except InvalidMoleculeError:
            continue
    return out


class SeedLibrary:
    """Known structures grouped by molecular formula: starting points of :func:`structure_search`.

    The formula-preserving moves cannot leave a formula, so a search started only from the generator's
    candidates has nothing to start from when none has the query's formula. The molecules of a seed
    library with that formula are such starting points: a known isomer is often a few moves away.

    Args:
        smiles_by_formula: formula (Hill or any order; charge ignored) -> canonical SMILES.
        name: where the molecules came from (reports).
    """

    def __init__(self, smiles_by_formula: Mapping[str, Sequence[str]], name: str = "seeds") -> None:
        self._by: dict[str, list[str]] = {}
        for formula, smiles in smiles_by_formula.items():
            self._by.setdefault(_formula_key(formula), []).extend(smiles)
        self._by = {k: list(dict.fromkeys(v)) for k, v in self._by.items()}
        self.name = name
        self.n_skipped = 0

    def __len__(self) -> int:
        return sum(len(v) for v in self._by.values())

    @property
    def n_formulas(self) -> int:
        """Number of distinct formulas."""
        return len(self._by)

    def seeds(self, formula: str, limit: int = MAX_LIBRARY_SEEDS) -> list[str]:
        """Up to ``limit`` canonical SMILES of the library with the element counts of ``formula``.

        Raises:
            InvalidMoleculeError: when ``formula`` cannot be parsed.
        """
        return list(self._by.get(_formula_key(formula), ()))[: max(0, int(limit))]

    @classmethod
    def from_smiles(cls, smiles: Iterable[str], *, split: str | None = None, name: str = "seeds") -> "SeedLibrary":
        """A seed library of SMILES (unparsable ones are skipped and counted in ``n_skipped``).

        ``split`` ("train", "val" or "test"): keep only molecules whose InChIKey block falls in that
        split of :func:`nmrlens.data.splits.split_of_block` (evaluations seed from ``"train"`` only).
        """
        return cls._collect(((s, None) for s in smiles), split=split, name=name)

    @classmethod
    def _collect(cls, items: Iterable[tuple[str, str | None]], *, split: str | None, name: str) -> "SeedLibrary":
        from nmrlens.chem.mol import canonical_smiles, mol_formula, mol_inchikey, parse_smiles
        from nmrlens.data.splits import split_of_block

        if split is not None and split not in ("train", "val", "test"):
            raise NmrLensError(f"split: got {split!r}, expected train, val, test or None")
        by: dict[str, list[str]] = {}
        skipped = 0
        for smi, inchikey in items:
            # the given InChIKey's block decides the split; without one, the molecule's own key does
            block = inchikey[:14].upper() if inchikey and len(inchikey) >= 14 and inchikey[:14].isalpha() else None
            if split is not None and block is not None and split_of_block(block) != split:
                continue
            try:
                mol = parse_smiles(smi)
                if split is not None and block is None and split_of_block(mol_inchikey(mol)[:14]) != split:
                    continue
                by.setdefault(mol_formula(mol), []).append(canonical_smiles(mol))
            except (InvalidMoleculeError, ValueError):
                skipped += 1
        lib = cls(by, name=name)
        lib.n_skipped = skipped
        return lib

    @classmethod
    def from_path(cls, path: "str | Path", *, split: str | None = None) -> "SeedLibrary":
        """Read a seed library: a molecule file (``.smi``, ``.sdf``, ``.jsonl[.gz]`` with a ``smiles``
        and optionally an ``inchikey`` per line, e.g. the shared nmrshiftdb2 records) or a library
        folder of ``nmrlens library build``. ``split``: see :meth:`from_smiles`.

        Raises:
            DataNotFoundError: when ``path`` does not exist.
            FileFormatError: for an unknown file type or a malformed line.
        """
        from nmrlens.errors import DataNotFoundError, FileFormatError

        p = Path(path)
        if p.is_dir():
            db = p / "library.sqlite"
            if not db.is_file():
                raise DataNotFoundError(f"--seed-library: {str(p)!r} holds no library.sqlite")
            con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
            try:
                rows = con.execute("SELECT smiles, inchikey FROM molecules ORDER BY id").fetchall()
            finally:
                con.close()
            return cls._collect(((str(s), k) for s, k in rows), split=split, name=str(p))
        if not p.is_file():
            raise DataNotFoundError(f"--seed-library: {str(p)!r} does not exist (a molecule file or a library folder)")
        low = p.name.lower()
        if low.endswith((".jsonl", ".jsonl.gz")):
            from nmrlens.data._files import iter_json_lines

            def items() -> Iterator[tuple[str, str | None]]:
                for rec in iter_json_lines(p):
                    smi = rec.get("smiles")
                    if isinstance(smi, str) and smi.strip():
                        key = rec.get("inchikey") or rec.get("source_inchikey")
                        yield smi, key if isinstance(key, str) else None

            return cls._collect(items(), split=split, name=str(p))
        if low.endswith((".smi", ".sdf")):
            from nmrlens.library.build import read_molecules

            return cls._collect(((m.smiles, None) for m in read_molecules(p)), split=split, name=str(p))
        raise FileFormatError(f"--seed-library: cannot read {str(p)!r}; expected .smi, .sdf, .jsonl, .jsonl.gz "
                              "or a library folder")


class NeighbourSource:
    """Neighbours of the best candidates found so far (a second-stage source, see
    :meth:`nmrlens.pipeline.Elucidator.run`).

    The pipeline runs it for up to ``rounds`` rounds (a greedy local search: each round expands the
    best candidates not expanded yet, after the previous round's neighbours were scored) and stops
    early when a round brings nothing new or ``time_budget_s`` seconds have passed since the query
    started.

    Args:
        seeds: how many of the best candidates are expanded per round.
        per_seed: at most this many neighbours per seed.
        rounds: rounds of expansion (1 = the neighbours of the first ranking only).
        time_budget_s: no new round after this many seconds from the start of the query (None: no limit).
        moves: the moves of :func:`nmrlens.chem.isomers.neighbours` to use (default: terminal moves and swaps).
    """

    name = "expand"

    def __init__(self, seeds: int = 3, per_seed: int = 60, rounds: int = 1, time_budget_s: float | None = None,
                 moves: Sequence[str] = DEFAULT_MOVES) -> None:
        if not 1 <= int(seeds) <= 50:
            raise NmrLensError(f"seeds: got {seeds!r}, expected 1..50")
        if not 1 <= int(per_seed) <= MAX_NEIGHBOURS:
            raise NmrLensError(f"per_seed: got {per_seed!r}, expected 1..{MAX_NEIGHBOURS}")
        if not 1 <= int(rounds) <= 20:
            raise NmrLensError(f"rounds: got {rounds!r}, expected 1..20")
        moves = _check_moves(moves)
        self.seeds = int(seeds)
        self.per_seed = int(per_seed)
        self.rounds = int(rounds)
        self.time_budget_s = None if time_budget_s is None else float(time_budget_s)
        self.moves = tuple(moves)

    def expand(self, smiles: Sequence[str]) -> list[Any]:
        """Candidates from the neighbours of the first ``seeds`` SMILES (best first)."""
        from nmrlens.pipeline.candidates import make_candidate

        out = []
        seen: set[str] = set(smiles)
        for s in list(smiles)[: self.seeds]:
            try:
                found = neighbours(s, limit=self.per_seed, moves=self.moves)
            except InvalidMoleculeError:
                continue
            for smi in found:
                if smi in seen:
                    continue
                seen.add(smi)
                try:
                    out.append(make_candidate(smi, self.name))
                except InvalidMoleculeError:
                    continue
        return out


class SearchExpander:
    """The second stage of :class:`nmrlens.pipeline.Elucidator` as one :func:`structure_search` (instead of
    the greedy rounds of :class:`NeighbourSource`): from the best ``seeds`` candidates (not library
    entries), ``budget`` structures are scored by their predicted-spectrum similarity with the query
    (ssr); the ``keep`` best new ones join the pool (origin ``"expand"``) and are scored by the pipeline
    like every other candidate.

    Args:
        budget: structures scored by the search (1..:data:`MAX_SEARCH_BUDGET`).
        seeds: best candidates the search starts from; keep: new structures handed back.
        time_budget_s: stop the search after this many seconds (None: only the budget limits).
        moves: moves of :func:`nmrlens.chem.isomers.neighbours`; checkpoint: shift model of the ssr score.
    """

    name = "expand"
    rounds = 1
    needs_query = True

    def __init__(self, budget: int = 600, seeds: int = 10, keep: int = 30, time_budget_s: float | None = None,
                 moves: Sequence[str] = DEFAULT_MOVES, checkpoint: str | None = None) -> None:
        _check_whole(("budget", budget, MAX_SEARCH_BUDGET), ("seeds", seeds, 50), ("keep", keep, 1000))
        self.budget, self.seeds, self.keep = budget, seeds, keep
        self.time_budget_s = None if time_budget_s is None else float(time_budget_s)
        self.moves = _check_moves(moves)
        self.checkpoint = checkpoint

    def expand(self, smiles: Sequence[str], query: Any = None) -> list[Any]:
        """The ``keep`` best new structures found from ``smiles`` (best first) for ``query``.

        Raises:
            NmrLensError: without a query (the search is scored with its spectra).
        """
        if query is None:
            raise NmrLensError("expand: the structure search needs the query's spectra")
        found = structure_search(list(smiles), ssr_scorer(query, None, self.checkpoint), budget=self.budget,
                                 time_budget_s=self.time_budget_s, moves=self.moves)
        seen = set(smiles)
        return _as_candidates((smi for smi, _ in found if smi not in seen), self.name, self.keep)


class SeedSource:
    """A candidate source of :class:`nmrlens.pipeline.Elucidator`: the seed library's molecules of the
    query's formula (origin ``"seed"``). Unlike library entries they are starting points, not answers
    with a reference spectrum: they are scored by their predicted spectra and the expansion stage
    expands the best of them like de novo candidates. Without a formula there are no seeds.

    Args:
        library: a :class:`SeedLibrary` or a path for :meth:`SeedLibrary.from_path`.
        limit: most seeds per query.
    """

    name = "seed"

    def __init__(self, library: "SeedLibrary | str | Path", limit: int = MAX_LIBRARY_SEEDS) -> None:
        self.library = library if isinstance(library, SeedLibrary) else SeedLibrary.from_path(library)
        _check_whole(("limit", limit, 10_000))
        self.limit = limit

    def candidates(self, query: Any, *, formula: str | None, k: int, **options: Any) -> list[Any]:
        """Up to ``limit`` seeds of ``formula`` as candidates (``k`` is not used: the pipeline ranks them)."""
        return _as_candidates(self.library.seeds(formula, self.limit), self.name) if formula else []


def ssr_scorer(query: Any, config: str | None = None, checkpoint: str | None = None) -> Callable[[Sequence[str]], list[float]]:
    """A scoring function for :func:`structure_search`: SMILES -> the matched similarity (0..1) of
    the query's 13C and/or 1H spectra (``config``: C, H or CH; default: what the query has) with each
    molecule's predicted spectra (the shift model ``checkpoint``; -inf where it cannot predict)."""
    from nmrlens import api
    from nmrlens.models.retrieval import spectrum_config, ssr_scores

    cfg = spectrum_config(query, None if config is None else "".join(x for x in "CH" if x in config))
    nuclei = tuple(nuc for ch, nuc in (("C", "13C"), ("H", "1H")) if ch in cfg)

    def score(smiles: Sequence[str]) -> list[float]:
        preds = api.predict_smiles(list(smiles), nuclei=nuclei, checkpoint=checkpoint)
        vals = ssr_scores(query, [p.query if p is not None else None for p in preds], cfg)
        return [float(v) if math.isfinite(v) else -math.inf for v in vals]

    return score


def structure_search(seeds: Sequence[str], score: Callable[[Sequence[str]], Sequence[float]], *, budget: int = 600,
                     width: int = 5, per_step: int = 30, time_budget_s: float | None = None, seed: int = 0,
                     moves: Sequence[str] = DEFAULT_MOVES) -> list[tuple[str, float]]:
    """Beam search over formula-preserving neighbours (see the module docstring).

    Args:
        seeds: starting structures (SMILES, e.g. the generator's candidates of the formula).
        score: SMILES list -> one score each, higher better (e.g. :func:`ssr_scorer`).
        budget: structures scored in all, the seeds included (1..:data:`MAX_SEARCH_BUDGET`).
        width: structures whose neighbours are drawn at each step (the best found so far).
        per_step: new neighbours drawn per structure and step.
        time_budget_s: stop after this many seconds (None: only the budget limits).
        seed: seeds the random order of the moves.
        moves: moves of :func:`nmrlens.chem.isomers.neighbours` (default
            :data:`~nmrlens.chem.isomers.DEFAULT_MOVES`; :data:`~nmrlens.chem.isomers.MOVES` for all six).

    Returns:
        Every scored structure as (canonical SMILES, score), best first (ties in order of discovery).

    Raises:
        NmrLensError: for an out-of-range budget, width or per_step.
    """
    from nmrlens.chem.mol import canonical_smiles, parse_smiles

    _check_whole(("budget", budget, MAX_SEARCH_BUDGET), ("width", width, 100), ("per_step", per_step, MAX_NEIGHBOURS))
    t0 = time.perf_counter()
    start: list[str] = []
    for s in seeds:
        try:
            start.append(canonical_smiles(parse_smiles(s)))
        except InvalidMoleculeError:
            continue
    start = list(dict.fromkeys(start))[:budget]
    scores: dict[str, float] = {}
    order: dict[str, int] = {}

    def add(smiles: list[str]) -> None:
        for s, v in zip(smiles, score(smiles)):
            scores[s] = float(v)
            order[s] = len(order)

    if start:
        add(start)
    # per structure, its neighbours in a fixed random order, drawn ``per_step`` at a time; a structure whose
    # stream ran dry (or gave MAX_NEIGHBOURS) leaves the beam
    streams: dict[str, Iterator[str]] = {}
    drawn: dict[str, int] = {}
    used_up: set[str] = set()

    def ranked_open() -> list[str]:
        return [s for s in sorted(scores, key=lambda s: (-scores[s], order[s])) if s not in used_up]

    beam = ranked_open()[:width]
    while len(scores) < budget and beam:
        if time_budget_s is not None and time.perf_counter() - t0 > time_budget_s:
            break
        new: dict[str, None] = {}
        for s in beam:
            if s not in streams:
                try:
                    streams[s] = iter_neighbours(s, seed=zlib.crc32(s.encode()) ^ seed, moves=moves)
                except InvalidMoleculeError:
                    streams[s] = iter(())
            want = min(per_step, MAX_NEIGHBOURS - drawn.get(s, 0))
            got = list(itertools.islice(streams[s], want))
            drawn[s] = drawn.get(s, 0) + len(got)
            if len(got) < want or drawn[s] >= MAX_NEIGHBOURS:
                used_up.add(s)
            new.update((x, None) for x in got if x not in scores)
        if new:
            add(list(new)[: budget - len(scores)])
        beam = ranked_open()[:width]
    logger.debug("structure search: %d scored in %.2f s", len(scores), time.perf_counter() - t0)
    return sorted(scores.items(), key=lambda kv: (-kv[1], order[kv[0]]))


def search_candidates(query: Any, config: str, seeds: Sequence[Any], budget: int, *, keep: int = 20,
                      checkpoint: str | None = None, library_seeds: Sequence[str] = (), **options: Any) -> list[Any]:
    """Generator candidates refined by :func:`structure_search` (the ``search`` variant of generation).

    Args:
        query: the query (its 13C/1H spectra of ``config`` score the structures).
        config: input configuration (C, H, CH, CF, HF, CHF; F is not used here: the moves keep each
            seed's formula).
        seeds: :class:`nmrlens.models.generate.Candidate` objects, best first (invalid ones are skipped).
        budget: structures scored in all (the seeds included); keep: candidates returned; checkpoint: shift model.
        library_seeds: further seed SMILES, e.g. :meth:`SeedLibrary.seeds` of the query's formula.
        options: passed to :func:`structure_search` (width, per_step, time_budget_s, seed, moves).

    Returns:
        Up to ``keep`` Candidates by decreasing ssr (``scores["ssr"]``); a generator seed keeps its beam
        ``logp`` and ``beam_rank``; any other structure (a library seed or one found by the search) has
        logp 0 and beam_rank -1 (not from the beam).
    """
    from dataclasses import replace

    from nmrlens.models.generate import make_candidate

    valid = [c for c in seeds if c.smiles]
    start = [c.smiles for c in valid] + [s for s in library_seeds if s]
    if not start:
        return []
    found = structure_search(start, ssr_scorer(query, config, checkpoint), budget=budget, **options)
    by_smiles = {c.smiles: c for c in valid}
    out = []
    for smi, v in found[:keep]:
        c = by_smiles.get(smi)
        c = replace(c, scores=dict(c.scores)) if c is not None else make_candidate(smi, 0.0, -1)
        c.scores["ssr"] = v
        out.append(c)
    return out
