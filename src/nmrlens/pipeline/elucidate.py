"""elucidate: candidates from a library and de novo generation -> predicted spectra -> fused score
-> assignment of the top candidates.

>>> from nmrlens.pipeline import Elucidator
>>> el = Elucidator.default(library="lib.jsonl.gz")               # doctest: +SKIP
>>> res = el.run("examples/benzyl_acetate.txt", formula="C9H10O2") # doctest: +SKIP
>>> res.candidates[0].smiles                                      # doctest: +SKIP

Every component is an object handed to :class:`Elucidator` (candidate sources, the spectrum
predictor, the embedding scorer, the assigner). :meth:`Elucidator.default` finds the installed
ones by import; a missing one is listed in :attr:`ElucidationResult.components` as
"not available: <reason>" and is not replaced by anything else.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from nmrlens.errors import NmrLensError, SpectrumFormatError
from nmrlens.pipeline.assignment import Assigner, Assignment, ModelAssigner, ShiftMatchAssigner
from nmrlens.pipeline.candidates import (
    Candidate,
    CandidateSource,
    ComponentUnavailable,
    GeneratorSource,
    InvertSource,
    LibrarySource,
    formula_matches,
    merge_candidates,
)
from nmrlens.pipeline.query import load_query, with_formula
from nmrlens.pipeline.scoring import PARTS, EmbeddingScorer, FusionWeights, SpectrumPredictor, fuse
from nmrlens.similarity.matched import combine_nuclei
from nmrlens.spectra.model import Query

__all__ = ["RankedCandidate", "ElucidationResult", "Elucidator", "MAX_K", "MAX_POOL", "MAX_BEAM", "library_source"]

logger = logging.getLogger(__name__)

#: Largest number of ranked candidates returned.
MAX_K = 100
#: Largest number of candidates one source may propose per query.
MAX_POOL = 500
#: Largest beam width passed to the generator.
MAX_BEAM = 64


@dataclass(frozen=True)
class RankedCandidate:
    """One ranked candidate of an elucidation.

    Attributes:
        rank: 1-based rank.
        smiles, inchikey, formula: the structure.
        origins: sources that proposed it.
        score: the fused score (0..1).
        parts: score parts (see :mod:`nmrlens.pipeline.scoring`; None where not available).
        predicted: the candidate's predicted 13C/1H spectra (None when the shift model rejected it).
        reference: experimental spectra of the structure from the library, or None.
        assignment: atom <-> peak assignment (top candidates only), or None.
    """

    rank: int
    smiles: str
    inchikey: str
    formula: str
    origins: tuple[str, ...]
    score: float
    parts: dict[str, float | None]
    predicted: Query | None = None
    reference: Query | None = None
    assignment: Assignment | None = None
    library_id: str | None = None

    @property
    def unexplained(self) -> list[str]:
        """Observed peaks the assignment leaves unexplained, as ``"13C 170.9"`` texts."""
        if self.assignment is None:
            return []
        return [f"{p.nucleus} {p.shift:g}" for p in self.assignment.unexplained]

    def to_dict(self, *, spectra: bool = True) -> dict[str, Any]:
        """JSON object (spectra in the nmrlens JSON format)."""
        from nmrlens.io.json import query_to_dict

        out: dict[str, Any] = {
            "rank": self.rank, "smiles": self.smiles, "inchikey": self.inchikey, "formula": self.formula,
            "origins": list(self.origins), "score": round(self.score, 6),
            "parts": {k: (None if v is None else round(v, 6)) for k, v in self.parts.items()},
            "library_id": self.library_id, "unexplained": self.unexplained,
            "assignment": None if self.assignment is None else self.assignment.to_dict(),
        }
        if spectra:
            out["predicted"] = None if self.predicted is None else query_to_dict(self.predicted)
            out["reference"] = None if self.reference is None else query_to_dict(
                Query(spectra=self.reference.spectra, smiles=self.reference.smiles, formula=self.reference.formula))
        return out


@dataclass(frozen=True)
class ElucidationResult:
    """The ranked candidates of one query and how they were obtained.

    Attributes:
        query: the observed spectra (with the formula used).
        candidates: best first.
        components: component -> "used", "not used: ..." or "not available: ...".
        n_proposed: distinct candidates the sources proposed.
        n_rejected: candidates removed (wrong formula, no prediction possible).
        seconds: wall time of the run.
        warnings: things a user should know (e.g. a source that failed on this query).
    """

    query: Query
    candidates: tuple[RankedCandidate, ...]
    components: dict[str, str]
    n_proposed: int
    n_rejected: int
    seconds: float
    warnings: tuple[str, ...] = ()
    weights: dict[str, float] = field(default_factory=dict)

    def to_dict(self, *, spectra: bool = True) -> dict[str, Any]:
        """JSON object of the whole result (the query and spectra in the nmrlens JSON format)."""
        from nmrlens.io.json import query_to_dict

        q = Query(spectra=self.query.spectra, formula=self.query.formula)
        return {
            "query": query_to_dict(q), "formula": self.query.formula,
            "candidates": [c.to_dict(spectra=spectra) for c in self.candidates],
            "components": dict(self.components), "n_proposed": self.n_proposed, "n_rejected": self.n_rejected,
            "seconds": round(self.seconds, 4), "warnings": list(self.warnings), "weights": dict(self.weights),
        }


def library_source(library: Any) -> tuple[CandidateSource, str]:
    """A candidate source for ``library``: a source object as is, a folder of the project's
    library store (``nmrlens.library``), or a file read into an in-memory :class:`LibrarySource`.

    Returns:
        (source, description for the components table).

    Raises:
        ComponentUnavailable: for a library folder when ``nmrlens.library`` is not installed.
        DataNotFoundError / FileFormatError: for a file that cannot be read.
    """
    from pathlib import Path

    if hasattr(library, "candidates") and hasattr(library, "name"):
        return library, f"used ({type(library).__name__})"
    p = Path(library)
    if p.is_dir():
        from nmrlens.pipeline.candidates import StoreSource

        src = StoreSource.create(p)
        return src, f"used (library store {p})"
    if not p.exists():
        from nmrlens.errors import DataNotFoundError

        raise DataNotFoundError(f"library: {str(p)!r} does not exist (a library folder or a spectra file)")
    src = LibrarySource.from_path(p)
    return src, f"used ({len(src)} entries from {p.name})"


class Elucidator:
    """The elucidation pipeline (thread-safe once built: :meth:`run` keeps no per-call state on self).

    Args:
        sources: candidate sources (see :class:`~nmrlens.pipeline.candidates.CandidateSource`).
        predictor: the spectrum predictor (None: scores without predicted spectra).
        embedding: the search module's scorer adapter, or None.
        assigner: the assigner of the top candidates (default: shift matching).
        weights: fusion weights.
        components: what was found / not found when the pipeline was built (shown in results).
        pool: candidates asked from each source.
        assign_top: how many of the top candidates get an assignment.
        expander: a second-stage source (``expand(smiles best first) -> candidates``, e.g.
            :class:`~nmrlens.pipeline.expand.NeighbourSource`; ``expand(smiles, query=q)`` when it has
            ``needs_query``, e.g. :class:`~nmrlens.pipeline.expand.SearchExpander`) run on the first
            ranking; its candidates are scored and ranked with the others. None: no second stage.
    """

    def __init__(self, sources: Sequence[CandidateSource], *, predictor: SpectrumPredictor | None = None,
                 embedding: EmbeddingScorer | None = None, assigner: Assigner | None = None,
                 weights: FusionWeights | None = None, components: Mapping[str, str] | None = None,
                 pool: int = 50, assign_top: int = 3, expander: Any = None) -> None:
        for s in sources:
            if not isinstance(s, CandidateSource):
                raise NmrLensError(f"sources: got {type(s).__name__}, expected objects with name and candidates()")
        self.sources = list(sources)
        self.predictor = predictor
        self.embedding = embedding
        self.assigner = assigner or ShiftMatchAssigner()
        self.weights = weights or FusionWeights()
        self.components = dict(components or {})
        self.pool = _bounded("pool", pool, 1, MAX_POOL)
        self.assign_top = _bounded("assign_top", assign_top, 0, MAX_K)
        self.expander = expander

    @classmethod
    def default(cls, *, library: Any = None, generate: bool = True, invert: bool = False, beam: int = 10,
                checkpoint: str | None = None, embedding: bool = True, weights: FusionWeights | None = None,
                pool: int = 50, assign_top: int = 3, library_required: bool = True,
                generate_checkpoint: str | None = None, expand: bool = True, seed_library: Any = None,
                search: int = 0) -> "Elucidator":
        """Build the pipeline from the installed components (feature detection by import).

        Args:
            library: a library folder (``nmrlens.library``), a spectra file, a source object, or None.
            generate: use the generation model when installed.
            invert: also use the reversible network (13C only; off by default: it is slow and
                rarely finds the structure outside the hydrocarbons it was built for).
            beam: default beam width of the generator.
            checkpoint: shift-model checkpoint (default: the shipped one).
            embedding: use the search module's embedding scorer when installed.
            generate_checkpoint: generation-model checkpoint (default: the shipped one).
            expand: add formula-preserving neighbours of the best candidates (second stage,
                :class:`~nmrlens.pipeline.expand.NeighbourSource`).
            library_required: raise when ``library`` cannot be opened (else it is reported as
                "not available" and the pipeline runs without it, as the web service does).
            search: with ``expand``, N > 0 makes the second stage one structure search of N structures
                (:class:`~nmrlens.pipeline.expand.SearchExpander`) instead of greedy rounds of neighbours.
            seed_library: known structures whose molecules of the query's formula join as starting
                points (origin ``seed``, expanded like de novo candidates): a
                :class:`~nmrlens.pipeline.expand.SeedLibrary` or a path (``.smi``, ``.sdf``,
                ``.jsonl[.gz]``, library folder).
        """
        comps: dict[str, str] = {}
        sources: list[CandidateSource] = []
        if library is not None:
            try:
                src, text = library_source(library)
                sources.append(src)
                comps["library"] = text
            except NmrLensError as exc:
                if library_required:
                    raise
                comps["library"] = f"not available: {exc}"
        else:
            comps["library"] = "not used: no library given"
        makers = (
            (generate, "generate", lambda: GeneratorSource.create(beam=beam, checkpoint=generate_checkpoint)),
            (invert, "invert", lambda: InvertSource.create()),
        )
        if seed_library is not None:
            from nmrlens.pipeline.expand import SeedSource

            seeds = SeedSource(seed_library)
            sources.append(seeds)
            comps["seed"] = f"used ({len(seeds.library)} molecules of {seeds.library.n_formulas} formulas)"
        else:
            comps["seed"] = "not used: no seed library given"
        for flag, name, make in makers:
            if not flag:
                comps[name] = "not used: switched off" if name == "generate" else "not used: off by default (--invert)"
                continue
            try:
                sources.append(make())
                comps[name] = "used"
            except ComponentUnavailable as exc:
                comps[name] = f"not available: {exc}"
        predictor = SpectrumPredictor(checkpoint).load()
        from nmrlens.models.shifts import DEFAULT_CHECKPOINT as _SHIFTS

        comps["predict"] = f"used ({checkpoint or 'shipped ' + _SHIFTS})"
        emb = None
        if embedding:
            try:
                emb = EmbeddingScorer.create()
                comps["embedding"] = "used"
            except ComponentUnavailable as exc:
                comps["embedding"] = f"not available: {exc}"
        else:
            comps["embedding"] = "not used: switched off"
        try:
            assigner: Assigner = ModelAssigner.create()
            comps["assign"] = "used (assignment model)"
        except ComponentUnavailable as exc:
            assigner = ShiftMatchAssigner()
            comps["assign"] = f"not available: {exc}; peaks assigned by matching predicted shifts"
        expander = None
        if expand and search:
            from nmrlens.pipeline.expand import SearchExpander

            expander = SearchExpander(budget=search, checkpoint=checkpoint)
            comps["expand"] = (f"used (structure search: {expander.budget} structures from the best "
                               f"{expander.seeds} candidates)")
        elif expand:
            from nmrlens.pipeline.expand import NeighbourSource

            # 3 rounds: val-split nmrshiftdb2 de novo top-1 1/40 with one round, 2/40 with 3 or 6
            expander = NeighbourSource(rounds=3, time_budget_s=3.0)
            comps["expand"] = (f"used ({expander.rounds} rounds of neighbours of the best {expander.seeds} "
                               "candidates)")
        else:
            comps["expand"] = "not used: switched off"
        return cls(sources, predictor=predictor, embedding=emb, assigner=assigner, weights=weights,
                   components=comps, pool=pool, assign_top=assign_top, expander=expander)

    # ------------------------------------------------------------------------------------------
    def run(self, query: Any, *, formula: str | None = None, k: int = 10, beam: int | None = None,
            assign_top: int | None = None) -> ElucidationResult:
        """Rank candidate structures for ``query`` (a Query, JSON dict, file path or text).

        Args:
            formula: the molecular formula (overrides the query's); candidates of another formula are removed.
            k: number of ranked candidates returned (1..100).
            beam: beam width for the generator (1..64; default: the source's).
            assign_top: how many top candidates get an assignment (default: the pipeline's).

        Raises:
            NmrLensError (subclasses): for unreadable queries or out-of-range options.
        """
        t0 = time.perf_counter()
        k = _bounded("k", k, 1, MAX_K)
        if beam is not None:
            beam = _bounded("beam", beam, 1, MAX_BEAM)
        n_assign = self.assign_top if assign_top is None else _bounded("assign_top", assign_top, 0, MAX_K)
        q = with_formula(load_query(query), formula)
        form = q.formula
        warnings: list[str] = []
        groups = []
        for src in self.sources:
            try:
                groups.append(src.candidates(q, formula=form, k=max(self.pool, k), beam=beam))
            except NmrLensError as exc:
                warnings.append(f"{src.name}: {exc}")
        pool = merge_candidates(groups)
        n_proposed = len(pool)
        if form is not None:
            pool = [c for c in pool if formula_matches(c.formula, form)]
        n_first = len(pool)
        predicted = self._predict(pool)
        scored = self._score(q, pool, predicted)
        if self.expander is not None and any("library" not in c.origins for c in pool):
            self._local_search(q, pool, predicted, scored, warnings, t0)
        n_proposed += len(pool) - n_first
        keep = [i for i in range(len(pool)) if predicted[i] is not None or pool[i].reference is not None]
        n_rejected = n_proposed - len(keep)
        keep.sort(key=lambda i: (-scored[i][0], pool[i].smiles))
        ranked = []
        for r, i in enumerate(keep[:k]):
            c = pool[i]
            assignment = None
            if r < n_assign:
                try:
                    assignment = self.assigner.assign(c.smiles, q, predicted[i])
                except NmrLensError as exc:
                    warnings.append(f"assign {c.smiles}: {exc}")
            ranked.append(RankedCandidate(r + 1, c.smiles, c.inchikey, c.formula, c.origins, scored[i][0], scored[i][1],
                                          predicted[i], c.reference, assignment, c.library_id))
        if self.sources == []:
            warnings.append("no candidate source: give a library or install the generation model")
        return ElucidationResult(q, tuple(ranked), dict(self.components), n_proposed, n_rejected,
                                 time.perf_counter() - t0, tuple(warnings), self.weights.as_dict())

    def _local_search(self, q: Query, pool: list[Candidate], predicted: list[Query | None],
                      scored: list[Any], warnings: list[str], t0: float) -> None:
        """Second stage, in place: rounds of the expander on the best de novo candidates not yet
        expanded (library entries are known compounds, not near misses), each round's neighbours
        scored like the rest, until ``expander.rounds`` rounds, no new candidate, or
        ``expander.time_budget_s`` seconds since the query started."""
        form = q.formula
        known = {c.inchikey for c in pool}
        expanded: set[str] = set()
        rounds = int(getattr(self.expander, "rounds", 1))
        budget = getattr(self.expander, "time_budget_s", None)
        n_seeds = int(getattr(self.expander, "seeds", 3))
        for _ in range(rounds):
            order = sorted(range(len(pool)), key=lambda i: (-scored[i][0], pool[i].smiles))
            seeds = [pool[i].smiles for i in order
                     if "library" not in pool[i].origins and pool[i].smiles not in expanded][:n_seeds]
            if not seeds:
                break
            expanded.update(seeds)
            try:
                found = (self.expander.expand(seeds, query=q) if getattr(self.expander, "needs_query", False)
                         else self.expander.expand(seeds))
                extra = [c for c in found
                         if c.inchikey not in known and (form is None or formula_matches(c.formula, form))]
            except NmrLensError as exc:
                warnings.append(f"{getattr(self.expander, 'name', 'expand')}: {exc}")
                break
            if not extra:
                break
            known.update(c.inchikey for c in extra)
            extra_pred = self._predict(extra)
            scored += self._score(q, extra, extra_pred)
            pool += extra
            predicted += extra_pred
            if budget is not None and time.perf_counter() - t0 > budget:
                break

    def _predict(self, pool: Sequence[Candidate]) -> list[Query | None]:
        if self.predictor is None:
            return [None] * len(pool)
        return [p.query if p is not None else None for p in self.predictor.predict([c.smiles for c in pool])]

    def _score(self, q: Query, pool: Sequence[Candidate], predicted: Sequence[Query | None]) -> list[tuple[float, dict[str, float | None]]]:
        n = len(pool)
        sims = SpectrumPredictor.similarities(q, predicted) if n else {}
        emb = self.embedding.score(q, [c.smiles for c in pool], predicted) if (self.embedding is not None and n) else {}
        lib_sims = self._library_similarity(q, pool)
        out = []
        for i, c in enumerate(pool):
            parts: dict[str, float | None] = {p: None for p in PARTS}
            for key in ("c13", "h1"):
                if key in sims:
                    parts[key] = sims[key][i]
            parts["ssr"] = combine_nuclei({"13C": parts["c13"], "1H": parts["h1"]})
            parts["library"] = lib_sims[i]
            for key in ("sme", "sse"):
                if key in emb:
                    parts[key] = emb[key][i]
            if "generate" in c.source_scores:
                parts["beam"] = c.source_scores["generate"]
            out.append((fuse(parts, self.weights), parts))
        return out

    @staticmethod
    def _library_similarity(q: Query, pool: Sequence[Candidate]) -> list[float | None]:
        from nmrlens.similarity import peak_similarity

        out: list[float | None] = []
        for c in pool:
            if "library" in c.source_scores:
                out.append(c.source_scores["library"])
                continue
            if c.reference is None:
                out.append(None)
                continue
            vals = []
            for nuc in ("13C", "1H"):
                a, b = q.spectrum(nuc), c.reference.spectrum(nuc)
                if a is not None and b is not None and len(a) and len(b):
                    vals.append(peak_similarity(a, b))
            out.append(sum(vals) / len(vals) if vals else None)
        return out


def _bounded(name: str, value: Any, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise SpectrumFormatError(name, value, f"a whole number in {lo}..{hi}")
    return int(value)

