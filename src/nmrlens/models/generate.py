"""De novo structure generation from spectra (the NMRPeak-G idea): spectral tokens (+ formula) -> SMILES.

Model (:class:`GenerationModel`): a transformer encoder over the adaptive spectral token sequence
(:class:`~nmrlens.tokenize.SpectralTokenizer`: ``<bos> <13C> .. </13C> <1H> .. </1H> <formula> .. </formula> <eos>``,
each segment optional) with learned position and segment embeddings, and a transformer decoder over the
closed-vocabulary SMILES tokens (:class:`~nmrlens.tokenize.SmilesTokenizer`), trained on canonical
isomeric SMILES (stereo included). One model serves every input configuration C, H, CH, CF, HF, CHF
(segment dropout during training).

Decoding (:func:`beam_search`): batched beam search with a key/value cache (width 1..100) that sets
finished hypotheses aside in a pool, so that ended or refused hypotheses free their slots. With a
formula, the optional *formula constraint* allows an atom token only while the formula still has an
atom of that element left and ``<eos>`` only when every heavy atom is used (hydrogens are not
constrained by it). The *syntax constraint* (default on, :class:`SyntaxConstraint`) keeps branches,
brackets and ring-closure labels balanced. The *validity constraint* (default on) adds
:class:`ValenceConstraint` (no atom beyond its largest valence, bracket atoms well formed) and
:class:`EndCheck` (a hypothesis may end only as a molecule RDKit accepts, of exactly the query's
formula, hydrogens included, when one is given; an end it refuses is dropped, the hypothesis may go on).
The constraints live in :mod:`nmrlens.models.constraints`.

Refinement variants (:data:`VARIANTS`), applied by :func:`refine`:

- ``raw``: beam order, candidates as decoded (invalid and duplicate SMILES kept);
- ``rerank_base``: RDKit-invalid and duplicate (canonical isomeric SMILES) candidates removed, and
  with a formula, candidates of another formula removed; beam order otherwise;
- ``rerank_ssr``: rerank_base re-ordered by the matched spectrum similarity (:mod:`nmrlens.similarity.matched`)
  of each candidate's predicted spectra (:func:`nmrlens.api.predict_many`) with the query's spectra
  (weighted geometric mean over the nuclei the configuration uses);
- ``rerank_sme`` / ``rerank_sse``: re-ordered by the search module's spectrum-to-molecule /
  spectrum-to-spectrum embedding scores (``nmrlens.models.retrieval.CandidateScorer``; unavailable,
  i.e. None, when that module is not installed);
- ``rerank_combine``: a weighted sum of the available scores (sme, sse, ssr) and the candidate's beam
  probability (softmax of the beam log-probabilities over the remaining candidates); weights chosen
  on the validation split (:data:`DEFAULT_COMBINE_WEIGHTS`, overridable).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import torch
from torch import Tensor, nn

from nmrlens.errors import ConfigError, NmrLensError, SpectrumFormatError
from nmrlens.models.constraints import (EndCheck, FormulaConstraint, HydrogenBound, SyntaxConstraint, ValenceConstraint,
                                        _normalized, cannot_finish)
from nmrlens.nn.transformer import TransformerDecoder, TransformerEncoder

__all__ = [
    "GenerationModel", "Generator", "Candidate", "FormulaConstraint", "SyntaxConstraint", "ValenceConstraint",
    "HydrogenBound", "EndCheck", "beam_search", "query_segments",
    "compose_source", "collate_sources", "refine", "rerank_base", "ssr_scores", "config_nuclei",
    "VARIANTS", "DEFAULT_GENERATE_CHECKPOINT", "DEFAULT_COMBINE_WEIGHTS", "MAX_BEAM", "RETRY_FACTOR", "candidate_scorer",
]

log = logging.getLogger(__name__)

DEFAULT_GENERATE_CHECKPOINT = "generate_v5"
MAX_BEAM = 100
#: Width of the second search for a query whose beam found no valid candidate, as a multiple of the beam
#: (chosen on 200 validation records with generate_v2: mean top-1 0.141 -> 0.157, 0.12 -> 0.24 s per query).
RETRY_FACTOR = 4
#: Hydrogen bound on by default (tenth session, 500 validation records with the pooled beam search and
#: the length bound: mean rerank_combine top-1 0.1797 vs 0.1807 without it, within three queries, and
#: valid fraction 0.999 vs 0.808; docs/generate.md).
DEFAULT_HYDROGEN_BOUND = True
VARIANTS: tuple[str, ...] = ("raw", "rerank_base", "rerank_sme", "rerank_sse", "rerank_ssr", "rerank_combine")
#: Default weights of rerank_combine (score name -> weight); "beam" is the softmax beam probability.
#: A checkpoint may carry its own (``extra.combine_weights``, chosen on the validation split, see
#: docs/generate.md); scores that are unavailable are left out of the sum.
DEFAULT_COMBINE_WEIGHTS: dict[str, float] = {"ssr": 1.0, "beam": 0.5, "sme": 0.5, "sse": 0.5}
#: Segment ids of the source sequence: 0 special, 1 13C, 2 1H, 3 formula.
_SEGMENT_ID = {"C": 1, "H": 2, "F": 3}


# ---------------------------------------------------------------------------------------------
# model


class GenerationModel(nn.Module):
    """Transformer encoder (spectral tokens) + decoder (SMILES tokens).

    Args:
        src_vocab, tgt_vocab: spectral and SMILES vocabulary sizes; dim: model width; heads;
        enc_layers, dec_layers: depth; ff: feed-forward width; dropout;
        max_src, max_tgt: longest source / target sequence (tokens, with <bos>/<eos>).
    """

    def __init__(self, src_vocab: int, tgt_vocab: int, dim: int = 256, heads: int = 8, enc_layers: int = 3,
                 dec_layers: int = 3, ff: int = 1024, dropout: float = 0.1, max_src: int = 256,
                 max_tgt: int = 128) -> None:
        super().__init__()
        self.hparams: dict[str, Any] = dict(src_vocab=src_vocab, tgt_vocab=tgt_vocab, dim=dim, heads=heads,
                                            enc_layers=enc_layers, dec_layers=dec_layers, ff=ff, dropout=dropout,
                                            max_src=max_src, max_tgt=max_tgt)
        self.src_tok = nn.Embedding(src_vocab, dim)
        self.src_pos = nn.Embedding(max_src, dim)
        self.src_seg = nn.Embedding(4, dim)
        self.tgt_tok = nn.Embedding(tgt_vocab, dim)
        self.tgt_pos = nn.Embedding(max_tgt, dim)
        self.encoder = TransformerEncoder(dim, heads, ff, enc_layers, dropout)
        self.decoder = TransformerDecoder(dim, heads, ff, dec_layers, dropout)
        self.out = nn.Linear(dim, tgt_vocab)
        self.scale = math.sqrt(dim)

    def encode(self, src: Tensor, seg: Tensor, pad: Tensor, bf16: bool = False) -> Tensor:
        """Memory (B, S, dim) of source ids ``src`` (B, S) with segment ids ``seg`` and padding mask ``pad``."""
        S = src.shape[1]
        x = self.src_tok(src) * self.scale + self.src_pos(torch.arange(S, device=src.device))[None] + self.src_seg(seg)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            return self.encoder(x, pad)

    def _embed_tgt(self, tgt: Tensor, start: int = 0) -> Tensor:
        T = tgt.shape[1]
        return self.tgt_tok(tgt) * self.scale + self.tgt_pos(torch.arange(start, start + T, device=tgt.device))[None]

    def forward(self, src: Tensor, seg: Tensor, pad: Tensor, tgt: Tensor, bf16: bool = False) -> Tensor:
        """Teacher-forced logits (B, T, tgt_vocab) for the target prefix ``tgt`` (B, T)."""
        mem = self.encode(src, seg, pad, bf16)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            y = self.decoder(self._embed_tgt(tgt), mem, pad)
            return self.out(y).float()

    def step(self, tokens: Tensor, position: int, mem: Tensor, pad: Tensor, cache: Any, bf16: bool = False) -> Tensor:
        """Log-probabilities (N, V) of the next token after ``tokens`` (N,) at ``position`` (cached decoding)."""
        x = self._embed_tgt(tokens[:, None], position)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            y = self.decoder.step(x, mem, pad, cache)
            logits = self.out(y[:, -1]).float()
        return torch.log_softmax(logits, dim=-1)


# ---------------------------------------------------------------------------------------------
# source sequences


def query_segments(tokenizer: Any, query: Any, *, max_length: int = 10_000) -> dict[str, list[int]]:
    """Token ids of each part of a query the tokenizer can encode: ``{"C": [<13C> .. </13C>], "H": [...],
    "F": [<formula> .. </formula>]}`` (parts the query lacks are absent)."""
    from nmrlens.tokenize.spectral import available_config

    out: dict[str, list[int]] = {}
    have = available_config(query)
    for part in "CH":
        if part in have:
            out[part] = tokenizer.encode(query, part, max_length=max_length)[1:-1]
    if "F" in have:
        ids = tokenizer.token_to_id
        out["F"] = [ids("<formula>"), *(ids(t) for t in tokenizer.formula.tokenize(query.formula)), ids("</formula>")]
    return out


def compose_source(tokenizer: Any, segments: Mapping[str, Sequence[int]], config: str) -> tuple[list[int], list[int]]:
    """``(ids, segment_ids)`` of ``<bos>`` + the segments of ``config`` (in C, H, F order) + ``<eos>``.

    Raises:
        SpectrumFormatError: when a part of ``config`` is missing from ``segments``.
    """
    ids, seg = [tokenizer.bos_id], [0]
    for part in "CHF":
        if part in config:
            if part not in segments:
                raise SpectrumFormatError("config", config, f"a configuration whose parts the query has ({''.join(segments)})")
            ids += list(segments[part])
            seg += [_SEGMENT_ID[part]] * len(segments[part])
    ids.append(tokenizer.eos_id)
    seg.append(0)
    return ids, seg


def collate_sources(sources: Sequence[tuple[list[int], list[int]]], pad_id: int) -> tuple[Tensor, Tensor, Tensor]:
    """Pad ``(ids, seg)`` pairs into ``src`` (B, S), ``seg`` (B, S) and the padding mask (True = pad)."""
    S = max(len(s[0]) for s in sources)
    src = torch.full((len(sources), S), pad_id, dtype=torch.long)
    seg = torch.zeros((len(sources), S), dtype=torch.long)
    for i, (ids, sg) in enumerate(sources):
        src[i, : len(ids)] = torch.tensor(ids)
        seg[i, : len(sg)] = torch.tensor(sg)
    return src, seg, src == pad_id


def config_nuclei(config: str) -> tuple[str, ...]:
    """Nuclei a configuration uses (C -> 13C, H -> 1H)."""
    return tuple(n for part, n in (("C", "13C"), ("H", "1H")) if part in config)


# ---------------------------------------------------------------------------------------------
# beam search


#: Added to the log-probability of a hypothesis cut at the length limit (it never ended).
CUT_PENALTY = -1e4


@torch.no_grad()
def beam_search(model: GenerationModel, src: Tensor, seg: Tensor, pad: Tensor, *, beam: int = 10,
                bos_id: int = 1, eos_id: int = 2, max_len: int | None = None,
                constraint: FormulaConstraint | None = None, budgets: Tensor | None = None,
                constrained: Tensor | None = None, syntax: SyntaxConstraint | None = None,
                valence: ValenceConstraint | None = None, end_check: EndCheck | None = None,
                hydrogen: HydrogenBound | None = None, bf16: bool = False) -> list[list[tuple[list[int], float]]]:
    """Batched beam search with a pool of finished hypotheses.

    Every step keeps ``beam`` *open* hypotheses per source: of the best ``2 * beam`` continuations,
    those that end (``<eos>``, and, with ``end_check``, end as a molecule the check accepts) move to
    the source's pool of finished hypotheses, and the best ``beam`` others stay open. A source is done
    when its pool holds ``beam`` hypotheses and no open one scores better than the worst of them
    (scores only fall as a hypothesis grows, so none could enter); the search stops when every
    source is done or at ``max_len``. Compared with keeping finished hypotheses in the beam's slots,
    an end that the check refuses or a finished hypothesis no longer costs a slot, so the search
    goes on exploring until it has ``beam`` finished candidates.

    Args:
        src, seg, pad: the collated sources (B, S); beam: width (1..:data:`MAX_BEAM`);
        max_len: longest output (tokens with <bos>/<eos>; default the model's max_tgt);
        constraint, budgets (B, E+1), constrained (B,): the optional formula constraint;
        syntax: the optional SMILES syntax constraint; valence: the optional valence constraint;
        end_check: the optional validity constraint (:class:`EndCheck`): an end it refuses is dropped
            (the hypothesis may still continue).
        hydrogen: the optional hydrogen bound (:class:`HydrogenBound`; needs ``valence`` and the
            formula constraint): an open hypothesis whose hydrogen count can no longer match is dropped.
        With ``syntax``, an open hypothesis that can no longer end within ``max_len``
        (:func:`~nmrlens.models.constraints.cannot_finish`: the formula's atoms left, open branches,
        ring labels and bracket) is dropped too.

    Returns:
        Per source, at most ``beam`` hypotheses ``(token ids without <bos>/<eos>, summed
        log-probability, natural log)``, best first: the finished ones, then, when fewer than ``beam``
        finished, the best open hypotheses cut at ``max_len`` (their log-probability lowered by
        :data:`CUT_PENALTY`, so they rank below every finished one; usually not valid SMILES).
    """
    if isinstance(beam, bool) or not isinstance(beam, int) or not 1 <= beam <= MAX_BEAM:
        raise ConfigError(f"beam: got {beam!r}, expected a whole number in 1..{MAX_BEAM}")
    model.eval()
    B = src.shape[0]
    W = beam
    L = min(max_len or model.hparams["max_tgt"], model.hparams["max_tgt"])
    mem = model.encode(src, seg, pad, bf16)
    mem = mem.repeat_interleave(W, 0)
    mpad = pad.repeat_interleave(W, 0)
    cache = model.decoder.new_cache()
    scores = torch.full((B, W), float("-inf"))
    scores[:, 0] = 0.0
    tokens = torch.full((B * W,), bos_id, dtype=torch.long)
    history = torch.zeros((B * W, 0), dtype=torch.long)
    pool: list[list[tuple[float, list[int]]]] = [[] for _ in range(B)]
    cut: list[list[tuple[float, list[int]]]] = [[] for _ in range(B)]
    done = [False] * B
    state = None
    if constraint is not None and budgets is not None:
        act = constrained if constrained is not None else torch.ones(B, dtype=torch.bool)
        state = constraint.start(budgets.repeat_interleave(W, 0), act.repeat_interleave(W, 0))
    sstate = syntax.start(B * W) if syntax is not None else None
    vstate = valence.start(B * W) if valence is not None else None
    neg_inf = float("-inf")
    for pos in range(L - 1):
        logp = model.step(tokens, pos, mem, mpad, cache, bf16)  # (B*W, V)
        V = logp.shape[1]
        if state is not None:
            logp = logp.masked_fill(~constraint.mask(state), neg_inf)  # type: ignore[union-attr]
        if sstate is not None:
            logp = logp.masked_fill(~syntax.mask(sstate), neg_inf)  # type: ignore[union-attr]
        if vstate is not None:
            logp = logp.masked_fill(~valence.mask(vstate), neg_inf)  # type: ignore[union-attr]
        if pos == L - 2:  # last position: an open hypothesis ends here (when it may) or is cut
            hist, ends = history.tolist(), logp[:, eos_id].tolist()
            for b, row_scores in enumerate(scores.tolist()):
                for w, s in enumerate(row_scores):
                    row = b * W + w
                    if s == neg_inf:
                        continue
                    if ends[row] != neg_inf and (end_check is None or end_check(b, hist[row])):
                        pool[b].append((s + ends[row], hist[row]))
                    else:
                        cut[b].append((s + CUT_PENALTY, hist[row]))
            break
        cand = (scores.reshape(-1, 1) + logp).reshape(B, W * V)
        top, idx = cand.topk(min(2 * W, W * V), dim=1)
        parent = torch.zeros((B, W), dtype=torch.long)
        tok = torch.zeros((B, W), dtype=torch.long)
        new_scores = torch.full((B, W), neg_inf)
        for b, (srow, irow) in enumerate(zip(top.tolist(), idx.tolist())):
            n_open = 0
            for s, i in zip(srow, irow):
                j, t = divmod(i, V)
                if t == eos_id:
                    if s != neg_inf and not done[b]:
                        ids = history[b * W + j].tolist()
                        if end_check is None or end_check(b, ids):
                            pool[b].append((s, ids))
                    continue
                if n_open < W:
                    parent[b, n_open], tok[b, n_open], new_scores[b, n_open] = j, t, s
                    n_open += 1
            if not done[b] and len(pool[b]) >= W:
                worst = sorted((p[0] for p in pool[b]), reverse=True)[W - 1]
                done[b] = not (float(new_scores[b, 0]) > worst)
            if done[b]:
                new_scores[b] = neg_inf
        parent = (parent + torch.arange(B)[:, None] * W).reshape(-1)
        tok = tok.reshape(-1)
        scores = new_scores
        history = torch.cat([history.index_select(0, parent), tok[:, None]], dim=1)
        cache.reorder(parent)
        if state is not None:
            constraint.reorder(state, parent)  # type: ignore[union-attr]
            constraint.advance(state, tok)  # type: ignore[union-attr]
        if sstate is not None:
            syntax.reorder(sstate, parent)  # type: ignore[union-attr]
            syntax.advance(sstate, tok)  # type: ignore[union-attr]
        if vstate is not None:
            vstate = valence.reorder(vstate, parent)  # type: ignore[union-attr]
            valence.advance(vstate, tok)  # type: ignore[union-attr]
        if hydrogen is not None and vstate is not None and state is not None:
            bad = [i for i, v in enumerate(hydrogen.violated(vstate, state["left"], W)) if v]
            if bad:
                scores.view(-1)[bad] = neg_inf
        if sstate is not None:  # tokens still to come, <eos> included: L - 2 - pos
            scores.view(-1).masked_fill_(cannot_finish(L - 2 - pos, state, sstate), neg_inf)
        tokens = tok
        if all(done):
            break
    out: list[list[tuple[list[int], float]]] = []
    for b in range(B):
        best = sorted(pool[b], key=lambda p: -p[0])[:W]
        if len(best) < W:
            best += sorted(cut[b], key=lambda p: -p[0])[: W - len(best)]
        out.append([(ids, float(s)) for s, ids in best])
    return out


# ---------------------------------------------------------------------------------------------
# candidates and refinement


@dataclass
class Candidate:
    """One generated structure.

    Attributes:
        text: the SMILES as decoded; smiles: canonical isomeric SMILES (RDKit) or None when invalid;
        logp: summed beam log-probability (natural log); beam_rank: 0-based rank in the beam (-1: not from
            the beam, found by the structure search of :func:`nmrlens.pipeline.expand.search_candidates`);
        formula: Hill formula (neutral) of the valid molecule; inchikey: full InChIKey (None when invalid);
        scores: re-ranking scores by name (ssr, sme, sse, beam, combine), filled by :func:`refine`.
    """

    text: str
    smiles: str | None
    logp: float
    beam_rank: int
    formula: str | None = None
    inchikey: str | None = None
    scores: dict[str, float] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        """True when RDKit parsed the SMILES."""
        return self.smiles is not None


def make_candidate(text: str, logp: float, rank: int) -> Candidate:
    """A :class:`Candidate` with its canonical SMILES, formula and InChIKey (None fields when invalid)."""
    from rdkit import Chem

    from nmrlens.chem.mol import _quiet_rdkit

    _quiet_rdkit()
    mol = Chem.MolFromSmiles(text) if text else None
    if mol is None or mol.GetNumAtoms() == 0:
        return Candidate(text, None, logp, rank)
    from nmrlens.chem.mol import mol_formula

    try:
        key = Chem.MolToInchiKey(mol) or None
    except Exception:  # noqa: BLE001 - RDKit's InChI can fail on exotic input
        key = None
    return Candidate(text, Chem.MolToSmiles(mol), logp, rank, mol_formula(mol), key)


def _same_formula(a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return False
    na = _normalized(a)
    return na is not None and na == _normalized(b)


def rerank_base(cands: Sequence[Candidate], formula: str | None = None) -> list[Candidate]:
    """Valid, unique (canonical isomeric SMILES) candidates in beam order; with ``formula`` only those of it."""
    seen: set[str] = set()
    out = []
    for c in cands:
        if c.smiles is None or c.smiles in seen:
            continue
        if formula and not _same_formula(c.formula, formula):
            continue
        seen.add(c.smiles)
        out.append(c)
    return out


def _predicted(smiles: Sequence[str], checkpoint: str | None = None) -> list[Any]:
    """Predicted spectra (api.Prediction) per SMILES; None where the molecule is not supported."""
    from nmrlens import api

    return api.predict_smiles(smiles, checkpoint=checkpoint)


def ssr_scores(query: Any, predictions: Sequence[Any], nuclei: Sequence[str]) -> list[float]:
    """Spectrum similarity (0..1) of each candidate's predicted spectra with the query's spectra of
    ``nuclei``: the matched similarity per nucleus (:mod:`nmrlens.similarity.matched`), combined as
    search combines them (:func:`~nmrlens.similarity.matched.combine_nuclei`); 0 for a candidate
    without a prediction."""
    from nmrlens.similarity.matched import combine_nuclei, matched_similarity

    out = []
    for p in predictions:
        vals: dict[str, float | None] = {}
        for nuc in nuclei:
            q = query.spectrum(nuc)
            if q is None or not q.peaks:
                continue
            s = p.query.spectrum(nuc) if p is not None else None
            if s is None or not s.peaks:
                vals[nuc] = 0.0
                continue
            try:
                vals[nuc] = matched_similarity(q, s)
            except NmrLensError:
                vals[nuc] = 0.0
        out.append(combine_nuclei(vals) or 0.0)
    return out


def candidate_scorer() -> Any | None:
    """The search module's ``CandidateScorer`` (loaded once), or None when it is not available."""
    try:
        from nmrlens.models.retrieval import CandidateScorer  # type: ignore[import-not-found]
    except ImportError:
        return None
    try:
        return CandidateScorer.load()
    except NmrLensError as exc:
        log.info("CandidateScorer not loadable (%s); sme/sse re-ranking skipped", exc)
        return None


def _sub_query(query: Any, config: str) -> Any:
    """The query restricted to the parts of ``config`` (spectra of its nuclei; formula only with F)."""
    from nmrlens.spectra.model import Query

    spectra = [s for n in config_nuclei(config) if (s := query.spectrum(n)) is not None]
    return Query(spectra=spectra, formula=query.formula if "F" in config else None)


def refine(query: Any, config: str, cands: Sequence[Candidate], *, predictions: Sequence[Any] | None = None,
           scorer: Any | None = None, weights: Mapping[str, float] | None = None,
           variants: Sequence[str] = VARIANTS) -> dict[str, list[Candidate] | None]:
    """Every refinement variant's ranked candidates (None for a variant whose scores are unavailable).

    Args:
        query: the query (its spectra and, with F in ``config``, its formula are used);
        cands: the beam output (:func:`make_candidate`), best first;
        predictions: predicted spectra of ``rerank_base(cands)`` (computed when not given);
        scorer: a ``nmrlens.models.retrieval.CandidateScorer`` (its batched ``score(query, smiles,
            predicted=..., config=...)`` gives sme/sse; None: those variants are None);
        weights: combine weights (default :data:`DEFAULT_COMBINE_WEIGHTS`).
    """
    for v in variants:
        if v not in VARIANTS:
            raise ConfigError(f"variant: got {v!r}, expected one of {', '.join(VARIANTS)}")
    formula = query.formula if "F" in config else None
    base = rerank_base(cands, formula)
    out: dict[str, list[Candidate] | None] = {"raw": list(cands), "rerank_base": base}
    need_scores = any(v in variants for v in ("rerank_ssr", "rerank_sme", "rerank_sse", "rerank_combine"))
    if not need_scores:
        return {k: v for k, v in out.items() if k in variants}
    if base:
        preds = list(predictions) if predictions is not None else _predicted([c.smiles for c in base])  # type: ignore[misc]
        ssr = ssr_scores(query, preds, config_nuclei(config))
        top = max(c.logp for c in base)
        z = [math.exp(c.logp - top) for c in base]
        total = sum(z)
        for c, s, p in zip(base, ssr, z):
            c.scores["ssr"] = s
            c.scores["beam"] = p / total
        if scorer is not None:
            sub = _sub_query(query, config)
            try:
                got = scorer.score(sub, [c.smiles for c in base], predicted=[p.query if p is not None else None for p in preds],
                                   config="".join(x for x in "CH" if x in config), use_formula=False)
            except NmrLensError as exc:
                log.info("CandidateScorer failed (%s); sme/sse left out", exc)
                got = {}
            for key in ("sme", "sse"):
                if key in got:
                    for c, v in zip(base, got[key]):
                        v = float(v)
                        c.scores[key] = v if math.isfinite(v) else -1.0

    def ranked(key: str) -> list[Candidate] | None:
        if base and any(key not in c.scores for c in base):
            return None
        return sorted(base, key=lambda c: (-c.scores.get(key, 0.0), c.beam_rank))

    out["rerank_ssr"] = ranked("ssr")
    out["rerank_sme"] = ranked("sme") if scorer is not None else None
    out["rerank_sse"] = ranked("sse") if scorer is not None else None
    w = dict(DEFAULT_COMBINE_WEIGHTS if weights is None else weights)
    for c in base:
        c.scores["combine"] = sum(wt * c.scores[k] for k, wt in w.items() if k in c.scores)
    out["rerank_combine"] = sorted(base, key=lambda c: (-c.scores["combine"], c.beam_rank))
    return {k: v for k, v in out.items() if k in variants}


# ---------------------------------------------------------------------------------------------
# the user-facing generator


class Generator:
    """Loaded generation model + tokenizers: queries in, ranked candidate structures out.

    Args:
        model: a :class:`GenerationModel`; spectral_tokenizer / smiles_tokenizer: default the shipped
        vocabularies; sidecar: the checkpoint's sidecar (provenance).
    """

    def __init__(self, model: GenerationModel, spectral_tokenizer: Any | None = None,
                 smiles_tokenizer: Any | None = None, sidecar: dict[str, Any] | None = None) -> None:
        from nmrlens.tokenize import SmilesTokenizer, SpectralTokenizer

        self.model = model.eval()
        self.src_tok = spectral_tokenizer or SpectralTokenizer.load()
        self.tgt_tok = smiles_tokenizer or SmilesTokenizer.load()
        self.constraint = FormulaConstraint(self.tgt_tok)
        self.syntax = SyntaxConstraint(self.tgt_tok)
        self.valence = ValenceConstraint(self.tgt_tok)
        self.sidecar = sidecar or {}
        extra = self.sidecar.get("extra") or {}
        #: rerank_combine weights: the checkpoint's (chosen on the validation split), else the defaults.
        self.combine_weights: dict[str, float] = dict(extra.get("combine_weights") or DEFAULT_COMBINE_WEIGHTS)
        if model.hparams["src_vocab"] != self.src_tok.vocab_size or model.hparams["tgt_vocab"] != self.tgt_tok.vocab_size:
            raise ConfigError("generator: the model's vocabulary sizes do not match the tokenizers")

    @classmethod
    def load(cls, path: str | None = None) -> "Generator":
        """Load a checkpoint (default: the shipped ``generate_v5``)."""
        from nmrlens.models.checkpoint import load_checkpoint, weights_path

        model, sidecar = load_checkpoint(path or weights_path(DEFAULT_GENERATE_CHECKPOINT))
        if not isinstance(model, GenerationModel):
            raise ConfigError(f"checkpoint: {path!r} holds a {type(model).__name__}, expected a GenerationModel")
        return cls(model, sidecar=sidecar)

    def source(self, query: Any, config: str | None = None) -> tuple[tuple[list[int], list[int]], str]:
        """Source ``(ids, seg)`` of a query and the configuration used (default: all it has).

        Raises:
            SpectrumFormatError: when the query has no 13C or 1H spectrum (a formula alone is not
                enough), or lacks a part of ``config``, or its tokens exceed the model's max_src.
        """
        from nmrlens.tokenize.spectral import CONFIGS, available_config

        have = available_config(query)
        if not ("C" in have or "H" in have):
            raise SpectrumFormatError("query", have or "nothing", "a 13C and/or 1H spectrum (optionally a formula)")
        cfg = (config or have).upper() if isinstance(config or have, str) else config
        if cfg not in CONFIGS:
            raise SpectrumFormatError("config", config, f"one of {', '.join(CONFIGS)}")
        if not ("C" in cfg or "H" in cfg):
            raise SpectrumFormatError("query", have or "nothing", "a 13C and/or 1H spectrum (optionally a formula)")
        missing = [p for p in cfg if p not in have]
        if missing:
            raise SpectrumFormatError("config", cfg, f"parts the query has ({have or 'none'}); missing {''.join(missing)}")
        segs = query_segments(self.src_tok, query)
        ids, seg = compose_source(self.src_tok, segs, cfg)
        limit = self.model.hparams["max_src"]
        if len(ids) > limit:
            raise SpectrumFormatError("tokens", len(ids), f"at most {limit} spectral tokens (fewer peaks)")
        return (ids, seg), cfg

    def beams(self, queries: Sequence[Any], configs: Sequence[str | None] | None = None, *, beam: int = 10,
              constrain_formula: bool = True, constrain_syntax: bool = True, constrain_valid: bool = True,
              constrain_hydrogens: bool = DEFAULT_HYDROGEN_BOUND, retry_beam: int | None = None, batch_size: int = 16,
              bf16: bool = False) -> list[list[Candidate]]:
        """Raw beam candidates (``raw`` variant) per query, best first (see :func:`beam_search` for the
        formula, syntax and validity constraints; with ``constrain_valid`` and ``constrain_formula``
        the end check also requires the query's exact formula in configurations with F, and
        ``constrain_hydrogens`` adds the :class:`HydrogenBound` (:data:`DEFAULT_HYDROGEN_BOUND`: on;
        chosen on 500 validation records, docs/generate.md).

        ``retry_beam`` > ``beam``: a query whose beam ends with no valid candidate is searched again
        with that width, and its best ``beam`` hypotheses are kept (0 = no retry; None, the default:
        :data:`RETRY_FACTOR` times ``beam``, at most :data:`MAX_BEAM`, with the validity constraint on)."""
        configs = list(configs) if configs is not None else [None] * len(queries)
        sources, cfgs = [], []
        for q, c in zip(queries, configs):
            s, cfg = self.source(q, c)
            sources.append(s)
            cfgs.append(cfg)
        if retry_beam is None:
            retry_beam = min(MAX_BEAM, RETRY_FACTOR * beam) if constrain_valid else 0
            retry_beam = retry_beam if retry_beam > beam else 0
        if retry_beam and not (isinstance(retry_beam, int) and beam < retry_beam <= MAX_BEAM):
            raise ConfigError(f"retry_beam: got {retry_beam!r}, expected 0 or a whole number in {beam + 1}..{MAX_BEAM}")
        out: list[list[Candidate]] = []
        step = max(1, batch_size)
        for start in range(0, len(sources), step):
            idx = list(range(start, min(start + step, len(sources))))
            flags = (constrain_formula, constrain_syntax, constrain_valid, constrain_hydrogens, bf16)
            got = self._search([sources[i] for i in idx], [queries[i] for i in idx], [cfgs[i] for i in idx], beam,
                               *flags)
            if retry_beam:
                again = [j for j, cands in enumerate(got) if not any(c.valid for c in cands)]
                if again:
                    wide = self._search([sources[idx[j]] for j in again], [queries[idx[j]] for j in again],
                                        [cfgs[idx[j]] for j in again], retry_beam, *flags)
                    for j, cands in zip(again, wide):
                        got[j] = cands[:beam]
            out.extend(got)
        return out

    def _search(self, sources: Sequence[tuple[list[int], list[int]]], queries: Sequence[Any], cfgs: Sequence[str],
                beam: int, constrain_formula: bool, constrain_syntax: bool, constrain_valid: bool,
                constrain_hydrogens: bool, bf16: bool) -> list[list[Candidate]]:
        """One batched beam search over ``sources`` (see :meth:`beams`)."""
        src, seg, pad = collate_sources(sources, self.src_tok.pad_id)
        budgets, active = None, None
        if constrain_formula:
            budgets = torch.stack([self.constraint.budget(q.formula if "F" in c else None) for q, c in zip(queries, cfgs)])
            active = torch.tensor(["F" in c and bool(q.formula) for q, c in zip(queries, cfgs)])
        targets = [q.formula if constrain_formula and "F" in c else None for q, c in zip(queries, cfgs)]
        hyps = beam_search(self.model, src, seg, pad, beam=beam, bos_id=self.tgt_tok.bos_id,
                           eos_id=self.tgt_tok.eos_id, constraint=self.constraint if constrain_formula else None,
                           budgets=budgets, constrained=active,
                           syntax=self.syntax if constrain_syntax else None,
                           valence=self.valence if constrain_valid else None,
                           end_check=EndCheck(self.tgt_tok, targets) if constrain_valid else None,
                           hydrogen=HydrogenBound(self.constraint, self.valence, targets)
                           if constrain_valid and constrain_formula and constrain_hydrogens and any(targets) else None,
                           bf16=bf16)
        return [[make_candidate(self.tgt_tok.decode(ids), lp, r) for r, (ids, lp) in enumerate(per)] for per in hyps]

    def generate(self, query: Any, *, config: str | None = None, beam: int = 10, k: int = 10,
                 variant: str = "rerank_combine", constrain_formula: bool = True, constrain_syntax: bool = True,
                 constrain_valid: bool = True, constrain_hydrogens: bool = DEFAULT_HYDROGEN_BOUND,
                 weights: Mapping[str, float] | None = None) -> list[Candidate]:
        """Ranked candidate structures for one query (at most ``k``), refined by ``variant``.

        Raises:
            SpectrumFormatError: for a query the model cannot read (see :meth:`source`).
            ConfigError: for a bad beam width or variant.
        """
        if variant not in VARIANTS:
            raise ConfigError(f"variant: got {variant!r}, expected one of {', '.join(VARIANTS)}")
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ConfigError(f"k: got {k!r}, expected a whole number >= 1")
        _, cfg = self.source(query, config)
        cands = self.beams([query], [cfg], beam=beam, constrain_formula=constrain_formula,
                           constrain_syntax=constrain_syntax, constrain_valid=constrain_valid,
                           constrain_hydrogens=constrain_hydrogens)[0]
        scorer = candidate_scorer() if variant in ("rerank_sme", "rerank_sse", "rerank_combine") else None
        ranked = refine(query, cfg, cands, scorer=scorer, weights=weights if weights is not None else self.combine_weights,
                        variants=(variant,))[variant]
        if ranked is None:
            raise ConfigError(f"variant: {variant!r} needs the search module's CandidateScorer, which is not available")
        return ranked[:k]
