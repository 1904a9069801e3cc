"""Cross-modal retrieval between spectra and molecules (NMRPeak-R idea): a dual encoder and a scorer.

:class:`RetrievalModel` maps molecules (graph encoder, :mod:`nmrlens.nn.graph`) and spectra
(transformer over the adaptive spectral tokens with numeric shift features,
:mod:`nmrlens.nn.contrastive`) into one L2-normalised embedding space, trained with a symmetric
InfoNCE loss and a learned temperature. One model serves three spectrum configurations: ``C``
(13C only), ``H`` (1H only) and ``CH`` (both), chosen by which segments the token sequence holds.
The molecular formula is not an input (it is a filter).

Spectra are read in a *retrieval view* (:func:`retrieval_view`): 13C peaks as shifts only (no
multiplicity, no ``count``), 1H multiplets as their centre and nH (no multiplicity, no J), so that
experimental lists of any source and predicted lists look alike.

:class:`CandidateScorer` scores candidate molecules for a query spectrum set with four scores
(higher is better):

- ``sme``: cosine(query-spectrum embedding, molecule embedding);
- ``sse``: cosine(query-spectrum embedding, embedding of the candidate's predicted spectrum);
- ``ssr``: matched similarity (:mod:`nmrlens.similarity.matched`) of the query and the predicted
  spectrum, using DEPT multiplicities and nH when the query has them; weighted geometric mean over
  the nuclei of the configuration (:data:`nmrlens.similarity.matched.NUCLEUS_WEIGHTS`);
- ``combine``: ``w_sme * sme + w_sse * sse + w_ssr * ssr`` with weights per configuration chosen on
  the validation split and stored in the checkpoint sidecar (``extra.fusion``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Mapping, NamedTuple, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from nmrlens.data.featurize import ATOM_DIM, BOND_DIM
from nmrlens.errors import NmrLensError, SpectrumFormatError
from nmrlens.nn.contrastive import SpectrumTransformer, info_nce
from nmrlens.nn.graph import GraphBatch, GraphEncoder, segment_mean
from nmrlens.spectra.model import Multiplet, Peak, Query, Spectrum1D

if TYPE_CHECKING:  # pragma: no cover
    from nmrlens.tokenize.spectral import SpectralTokenizer

__all__ = [
    "DEFAULT_RETRIEVAL_CHECKPOINT",
    "RETRIEVAL_CONFIGS",
    "SCORE_NAMES",
    "DEFAULT_FUSION",
    "SpectrumBatch",
    "RetrievalModel",
    "CandidateScorer",
    "retrieval_view",
    "spectrum_config",
    "spectrum_sequence",
    "collate_spectra",
    "fuse_scores",
]

log = logging.getLogger(__name__)

DEFAULT_RETRIEVAL_CHECKPOINT = "retrieval_v2"
#: Spectrum configurations of the model (formula is a filter, never an input).
RETRIEVAL_CONFIGS: tuple[str, ...] = ("C", "H", "CH")
#: Score names returned by :meth:`CandidateScorer.score`.
SCORE_NAMES: tuple[str, ...] = ("sme", "sse", "ssr", "combine")
#: Fusion weights used when a checkpoint has none.
DEFAULT_FUSION: dict[str, dict[str, float]] = {c: {"sme": 0.2, "sse": 0.2, "ssr": 1.0} for c in RETRIEVAL_CONFIGS}
KIND_NONE, KIND_C13, KIND_H1 = 0, 1, 2
_NORM = {"13C": (100.0, 60.0), "1H": (5.0, 3.0)}  # value -> (value - centre) / scale


# -- spectra as token sequences --------------------------------------------------------------------
def retrieval_view(query: Query) -> Query:
    """The query's first 13C and first 1H spectrum as the model reads them (see the module docstring)."""
    spectra = []
    c = query.spectrum("13C")
    if c is not None:
        spectra.append(Spectrum1D("13C", [Peak(p.shift) for p in c.peaks]))  # type: ignore[union-attr]
    h = query.spectrum("1H")
    if h is not None:
        spectra.append(Spectrum1D("1H", [Multiplet(m.shift, m.shift, nH=m.nH) for m in h.peaks]))  # type: ignore[union-attr]
    return Query(spectra=spectra, formula=query.formula, smiles=query.smiles, id=query.id)


def spectrum_config(query: Query, config: str | None = None) -> str:
    """The retrieval configuration for ``query``: ``config`` if given (checked against what the
    query holds), else ``CH``/``C``/``H`` from its non-empty 13C and 1H spectra.

    Raises:
        SpectrumFormatError: for a config other than C, H, CH or one the query cannot fill.
    """
    if not isinstance(query, Query):
        raise SpectrumFormatError("query", type(query).__name__, "a Query")
    have = ""
    c, h = query.spectrum("13C"), query.spectrum("1H")
    if c is not None and len(c):
        have += "C"
    if h is not None and len(h):
        have += "H"
    if config is None:
        if not have:
            raise SpectrumFormatError("query", f"nuclei {query.nuclei or 'none'}",
                                      "a non-empty 13C and/or 1H peak list")
        return have
    cfg = str(config).upper().replace("F", "")
    if cfg not in RETRIEVAL_CONFIGS:
        raise SpectrumFormatError("config", config, "one of C, H, CH (F, the formula, is a filter)")
    if any(ch not in have for ch in cfg):
        raise SpectrumFormatError("config", config, f"a configuration the query can fill ({have or 'none'})")
    return cfg


def spectrum_sequence(tokenizer: "SpectralTokenizer", query: Query, config: str,
                      max_len: int = 256) -> tuple[list[int], list[float], list[int]]:
    """Token ids, normalised values and value kinds of a query in configuration ``config`` (C/H/CH).

    Layout: ``<bos> <13C> c... </13C> <1H> (nH h)... </1H> <eos>``; a segment the query lacks is
    left out. Longer sequences keep evenly spaced peaks so that the total fits ``max_len``.
    """
    ids, vals, kinds = [tokenizer.bos_id], [0.0], [KIND_NONE]
    tid = tokenizer.token_to_id
    c13 = query.spectrum("13C") if "C" in config else None
    h1 = query.spectrum("1H") if "H" in config else None
    c_peaks = [p.shift for p in c13.peaks] if c13 is not None else []
    h_peaks = [(m.shift, m.nH) for m in h1.peaks] if h1 is not None else []  # type: ignore[union-attr]
    budget = max_len - 2 - (2 if c13 is not None else 0) - (2 if h1 is not None else 0)
    need = len(c_peaks) + 2 * len(h_peaks)
    if need > budget:
        frac = budget / need
        c_peaks = _thin(c_peaks, int(len(c_peaks) * frac))
        h_peaks = _thin(h_peaks, int(len(h_peaks) * frac))
    if c13 is not None:
        mu, sc = _NORM["13C"]
        ids.append(tid("<13C>")); vals.append(0.0); kinds.append(KIND_NONE)
        for s in c_peaks:
            ids.append(tokenizer.value_id("13C", s)); vals.append((s - mu) / sc); kinds.append(KIND_C13)
        ids.append(tid("</13C>")); vals.append(0.0); kinds.append(KIND_NONE)
    if h1 is not None:
        mu, sc = _NORM["1H"]
        ids.append(tid("<1H>")); vals.append(0.0); kinds.append(KIND_NONE)
        for s, nh in h_peaks:
            ids.append(tid(_nh_token(tokenizer, nh))); vals.append(0.0); kinds.append(KIND_NONE)
            ids.append(tokenizer.value_id("1H", s)); vals.append((s - mu) / sc); kinds.append(KIND_H1)
        ids.append(tid("</1H>")); vals.append(0.0); kinds.append(KIND_NONE)
    ids.append(tokenizer.eos_id); vals.append(0.0); kinds.append(KIND_NONE)
    return ids, vals, kinds


def _nh_token(tokenizer: "SpectralTokenizer", nh: int | None) -> str:
    if nh is None or nh < 1:
        return "nH=?"
    return f"nH={nh}" if nh <= tokenizer.nh_max else f"nH>={tokenizer.nh_max + 1}"


def _thin(items: list[Any], k: int) -> list[Any]:
    if k >= len(items):
        return items
    if k <= 0:
        return []
    idx = np.unique(np.round(np.linspace(0, len(items) - 1, k)).astype(int))
    return [items[i] for i in idx]


class SpectrumBatch(NamedTuple):
    """Padded token sequences: ids (B, T), values (B, T), kinds (B, T), mask (B, T; True = token)."""

    ids: Tensor
    values: Tensor
    kinds: Tensor
    mask: Tensor

    def to(self, device: torch.device | str) -> "SpectrumBatch":
        """Move every tensor to ``device``."""
        return SpectrumBatch(*(t.to(device) for t in self))


def collate_spectra(seqs: Sequence[tuple[list[int], list[float], list[int]]], pad_id: int = 0) -> SpectrumBatch:
    """Pad sequences from :func:`spectrum_sequence` into one :class:`SpectrumBatch`."""
    T = max((len(s[0]) for s in seqs), default=1)
    B = len(seqs)
    ids = np.full((B, T), pad_id, dtype=np.int64)
    vals = np.zeros((B, T), dtype=np.float32)
    kinds = np.zeros((B, T), dtype=np.int64)
    mask = np.zeros((B, T), dtype=bool)
    for i, (a, v, k) in enumerate(seqs):
        n = len(a)
        ids[i, :n], vals[i, :n], kinds[i, :n], mask[i, :n] = a, v, k, True
    return SpectrumBatch(torch.from_numpy(ids), torch.from_numpy(vals), torch.from_numpy(kinds), torch.from_numpy(mask))


# -- the model -------------------------------------------------------------------------------------
class RetrievalModel(nn.Module):
    """Dual encoder: molecules and spectra into one normalised space (CLIP style).

    Args:
        vocab_size: spectral vocabulary size; atom_dim, bond_dim: featuriser sizes;
        graph_hidden, graph_layers: molecule encoder; spec_hidden, spec_layers, heads, ff: spectrum
        transformer; dropout; max_len: longest spectrum sequence (tokens); embed_dim: shared space;
        temperature: initial softmax temperature (learned as log 1/T, clamped to T >= 0.01).
    """

    def __init__(self, vocab_size: int, atom_dim: int = ATOM_DIM, bond_dim: int = BOND_DIM, graph_hidden: int = 192,
                 graph_layers: int = 5, spec_hidden: int = 192, spec_layers: int = 4, heads: int = 6, ff: int = 512,
                 dropout: float = 0.1, max_len: int = 256, embed_dim: int = 128, temperature: float = 0.07) -> None:
        super().__init__()
        self.hparams: dict[str, Any] = dict(vocab_size=vocab_size, atom_dim=atom_dim, bond_dim=bond_dim,
                                            graph_hidden=graph_hidden, graph_layers=graph_layers,
                                            spec_hidden=spec_hidden, spec_layers=spec_layers, heads=heads, ff=ff,
                                            dropout=dropout, max_len=max_len, embed_dim=embed_dim,
                                            temperature=temperature)
        self.graph = GraphEncoder(atom_dim, bond_dim, graph_hidden, graph_layers, dropout)
        self.mol_head = nn.Sequential(nn.Linear(2 * graph_hidden, graph_hidden), nn.SiLU(),
                                      nn.Linear(graph_hidden, embed_dim))
        self.spectrum = SpectrumTransformer(vocab_size, 3, spec_hidden, spec_layers, heads, ff, dropout, max_len)
        self.spec_head = nn.Sequential(nn.Linear(spec_hidden, spec_hidden), nn.SiLU(), nn.Linear(spec_hidden, embed_dim))
        self.log_scale = nn.Parameter(torch.tensor(float(np.log(1.0 / temperature))))

    @property
    def logit_scale(self) -> Tensor:
        """exp(log 1/T), clamped to at most 100."""
        return self.log_scale.clamp(max=float(np.log(100.0))).exp()

    def encode_molecules(self, g: GraphBatch) -> Tensor:
        """Normalised molecule embeddings ``(n_graphs, embed_dim)``."""
        h = self.graph(g)
        mean = segment_mean(h, g.batch, g.n_graphs)
        mx = torch.full((g.n_graphs, h.shape[1]), -1e4, dtype=h.dtype, device=h.device)
        mx = mx.scatter_reduce(0, g.batch[:, None].expand_as(h), h, reduce="amax", include_self=True)
        return nn.functional.normalize(self.mol_head(torch.cat([mean, mx], dim=1)), dim=-1)

    def encode_spectra(self, s: SpectrumBatch) -> Tensor:
        """Normalised spectrum embeddings ``(B, embed_dim)``."""
        return nn.functional.normalize(self.spec_head(self.spectrum(s.ids, s.values, s.kinds, s.mask)), dim=-1)

    def forward(self, g: GraphBatch, s: SpectrumBatch) -> tuple[Tensor, Tensor]:
        """(molecule embeddings, spectrum embeddings) of paired batches."""
        return self.encode_molecules(g), self.encode_spectra(s)

    def loss(self, g: GraphBatch, s: SpectrumBatch, *, bf16: bool = False) -> Tensor:
        """Symmetric InfoNCE of paired molecules and spectra; ``bf16``: both encoders under bfloat16
        autocast (CPU), the similarities and the loss in float32."""
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            m, e = self(g, s)
        return info_nce(m.float(), e.float(), self.logit_scale)


def fuse_scores(sme: np.ndarray, sse: np.ndarray, ssr: np.ndarray, weights: Mapping[str, float]) -> np.ndarray:
    """``w_sme * sme + w_sse * sse + w_ssr * ssr`` (-inf stays -inf)."""
    out = weights.get("sme", 0.0) * sme + weights.get("sse", 0.0) * sse + weights.get("ssr", 0.0) * ssr
    return np.where(np.isfinite(sme) & np.isfinite(sse) & np.isfinite(ssr), out, -np.inf)


def ssr_scores(query: Query, predicted: Sequence[Query | Mapping[str, np.ndarray] | None], config: str) -> np.ndarray:
    """Spectrum-spectrum similarity of ``query`` with every candidate's predicted spectra.

    Per nucleus of ``config``: the matched similarity (:mod:`nmrlens.similarity.matched`) of the
    query's spectrum (as given: 13C S/D/T/Q and 1H nH are used when present) with the candidate's;
    the score is the geometric mean over the nuclei weighted by :data:`nmrlens.similarity.matched.NUCLEUS_WEIGHTS` (1H
    counts less: experimental 1H lists are often incomplete and lack nH). A candidate is a Query, a mapping
    ``{"13C": array, "1H": array}`` of :func:`~nmrlens.similarity.matched.peak_array` arrays (as a
    library keeps them), or None (-inf). A candidate without a spectrum of a nucleus scores 0.

    Raises:
        SpectrumFormatError: when the query lacks a spectrum the configuration needs.
    """
    from nmrlens.similarity.matched import combine_nuclei, matched_similarity_many, peak_array

    n = len(predicted)
    ok = np.array([p is not None for p in predicted], dtype=bool)
    nuclei = [nuc for ch, nuc in (("C", "13C"), ("H", "1H")) if ch in config]
    per_nucleus: dict[str, np.ndarray] = {}
    for nuc in nuclei:
        q = query.spectrum(nuc)
        if q is None:
            raise SpectrumFormatError("query", f"no {nuc} spectrum", f"a {nuc} peak list for configuration {config}")
        cands: list[np.ndarray | None] = []
        for p in predicted:
            if p is None:
                cands.append(None)
            elif isinstance(p, Query):
                sp = p.spectrum(nuc)
                cands.append(peak_array(sp) if sp is not None else np.zeros((0, 2)))  # type: ignore[arg-type]
            else:
                cands.append(p.get(nuc, np.zeros((0, 2))))
        per_nucleus[nuc] = matched_similarity_many(q, cands)  # type: ignore[arg-type]
    out = combine_nuclei(per_nucleus)
    if out is None:
        out = np.ones(n)
    return np.where(ok, out, -np.inf)


# -- the scorer ------------------------------------------------------------------------------------
class CandidateScorer:
    """Scores candidate molecules for a query spectrum set (``sme``, ``sse``, ``ssr``, ``combine``).

    Args:
        model: a :class:`RetrievalModel`; tokenizer: the spectral tokenizer it was trained with;
        fusion: per-configuration weights ``{"C": {"sme": .., "sse": .., "ssr": ..}, ...}``;
        sidecar: the checkpoint sidecar (kept for provenance); rerankers: per configuration, a fitted
        :class:`~nmrlens.models.rerank.Reranker` that library search applies without a formula
        (default: those in the sidecar's ``extra.rerank``).
    """

    def __init__(self, model: RetrievalModel, tokenizer: "SpectralTokenizer",
                 fusion: Mapping[str, Mapping[str, float]] | None = None, sidecar: dict[str, Any] | None = None,
                 batch_size: int = 256, rerankers: Mapping[str, Any] | None = None) -> None:
        from nmrlens.models.rerank import Reranker

        self.model = model.eval()
        self.tokenizer = tokenizer
        self.fusion = {c: dict((fusion or DEFAULT_FUSION).get(c, DEFAULT_FUSION[c])) for c in RETRIEVAL_CONFIGS}
        self.sidecar = sidecar or {}
        self.batch_size = batch_size
        if rerankers is None:
            rerankers = (self.sidecar.get("extra") or {}).get("rerank") or {}
        self.rerankers: dict[str, Reranker] = {
            c: r if isinstance(r, Reranker) else Reranker.from_dict(r) for c, r in rerankers.items() if c in RETRIEVAL_CONFIGS}

    @classmethod
    def load(cls, checkpoint: str | None = None) -> "CandidateScorer":
        """Load a retrieval checkpoint (default: the shipped :data:`DEFAULT_RETRIEVAL_CHECKPOINT`)."""
        from nmrlens.models.checkpoint import load_checkpoint, weights_path
        from nmrlens.tokenize.spectral import SpectralTokenizer

        model, sidecar = load_checkpoint(checkpoint or weights_path(DEFAULT_RETRIEVAL_CHECKPOINT))
        if not isinstance(model, RetrievalModel):
            raise NmrLensError(f"checkpoint: holds a {type(model).__name__}, expected a RetrievalModel")
        tok = SpectralTokenizer.load()
        if tok.vocab_size != model.hparams["vocab_size"]:
            raise NmrLensError(f"checkpoint: vocabulary size {model.hparams['vocab_size']} differs from the "
                               f"shipped spectral vocabulary ({tok.vocab_size})")
        return cls(model, tok, (sidecar.get("extra") or {}).get("fusion"), sidecar)

    @property
    def embed_dim(self) -> int:
        """Embedding size."""
        return int(self.model.hparams["embed_dim"])

    # -- embeddings --------------------------------------------------------------------------------
    @torch.no_grad()
    def embed_spectra(self, queries: Sequence[Query], config: str | None = None) -> np.ndarray:
        """L2-normalised float32 embeddings ``(n, embed_dim)`` of query spectrum sets.

        ``config`` (C, H or CH) selects the segments; default: all a query has (13C and/or 1H).

        Raises:
            SpectrumFormatError: for a query without a usable 13C/1H spectrum or a config it cannot fill.
        """
        if isinstance(queries, Query):
            queries = [queries]
        seqs = [spectrum_sequence(self.tokenizer, retrieval_view(q), spectrum_config(q, config),
                                  self.model.hparams["max_len"]) for q in queries]
        return self._embed_seqs(seqs)

    @torch.no_grad()
    def _embed_seqs(self, seqs: Sequence[tuple[list[int], list[float], list[int]]]) -> np.ndarray:
        out = np.zeros((len(seqs), self.embed_dim), dtype=np.float32)
        order = np.argsort([len(s[0]) for s in seqs], kind="stable")
        for start in range(0, len(seqs), self.batch_size):
            idx = order[start:start + self.batch_size]
            batch = collate_spectra([seqs[i] for i in idx], self.tokenizer.pad_id)
            out[idx] = self.model.encode_spectra(batch).float().numpy()
        return out

    @torch.no_grad()
    def embed_molecules(self, smiles: Sequence[Any]) -> np.ndarray:
        """L2-normalised float32 embeddings ``(n, embed_dim)`` of molecules (SMILES, molblocks or Mols).

        Raises:
            InvalidMoleculeError: for an invalid or unsupported molecule.
        """
        from nmrlens.chem.validate import check_supported, to_mol
        from nmrlens.data.featurize import featurize_mol

        if isinstance(smiles, str):
            smiles = [smiles]
        graphs = []
        for s in smiles:
            m = to_mol(s)
            check_supported(m)
            graphs.append(featurize_mol(m))
        return self.embed_graphs(graphs)

    @torch.no_grad()
    def embed_graphs(self, graphs: Sequence[Any]) -> np.ndarray:
        """Embeddings of featurised molecules (:class:`~nmrlens.data.featurize.MolGraph`)."""
        from nmrlens.nn.graph import collate_graphs

        out = np.zeros((len(graphs), self.embed_dim), dtype=np.float32)
        for start in range(0, len(graphs), self.batch_size):
            g = collate_graphs(graphs[start:start + self.batch_size])
            out[start:start + len(graphs[start:start + self.batch_size])] = self.model.encode_molecules(g).float().numpy()
        return out

    # -- scores ------------------------------------------------------------------------------------
    def combine(self, sme: np.ndarray, sse: np.ndarray, ssr: np.ndarray, config: str) -> np.ndarray:
        """The fused score of configuration ``config`` (C, H or CH)."""
        return fuse_scores(sme, sse, ssr, self.fusion[config])

    def score(self, query: Query, smiles: Sequence[str], *, predicted: Sequence[Query | None] | None = None,
              config: str | None = None, use_formula: bool = True) -> dict[str, np.ndarray]:
        """Scores of candidates for a query spectrum set: keys ``sme``, ``sse``, ``ssr``, ``combine``.

        Higher is better; invalid or unsupported SMILES get -inf in every score, and so do
        candidates whose formula differs from ``query.formula`` when it is set and ``use_formula``.

        Args:
            query: the experimental spectra (13C and/or 1H used).
            smiles: candidate molecules.
            predicted: the candidates' predicted spectra when the caller already has them (one Query
                or None per candidate); else they are predicted here with :func:`nmrlens.api.predict_many`.
            config: C, H or CH (default: every nucleus the query has).
        """
        from nmrlens.chem.mol import mol_formula
        from nmrlens.chem.validate import check_supported, to_mol
        from nmrlens.data.featurize import featurize_mol

        cfg = spectrum_config(query, config)
        if isinstance(smiles, str):
            smiles = [smiles]
        n = len(smiles)
        if predicted is not None and len(predicted) != n:
            raise NmrLensError(f"predicted: got {len(predicted)} spectrum sets, expected one per candidate ({n})")
        out = {k: np.full(n, -np.inf) for k in SCORE_NAMES}
        mols, keep = [], []
        for i, s in enumerate(smiles):
            try:
                m = to_mol(s)
                check_supported(m)
            except NmrLensError:
                continue
            if use_formula and query.formula and mol_formula(m) != query.formula:
                continue
            mols.append(m)
            keep.append(i)
        if not keep:
            return out
        q_emb = self.embed_spectra([query], cfg)[0]
        m_emb = self.embed_graphs([featurize_mol(m) for m in mols])
        if predicted is None:
            from nmrlens import api

            preds: list[Query | None] = [p.query for p in api.predict_many(mols)]
        else:
            preds = [predicted[i] for i in keep]
        sse = np.full(len(keep), -np.inf)
        usable = [k for k, p in enumerate(preds) if p is not None and _fills(p, cfg)]
        if usable:
            p_emb = self._embed_seqs([spectrum_sequence(self.tokenizer, retrieval_view(preds[k]), cfg,  # type: ignore[arg-type]
                                                        self.model.hparams["max_len"]) for k in usable])
            sse[usable] = p_emb @ q_emb
        sse = np.where(np.isfinite(sse), sse, -1.0)  # no predicted spectrum of this kind: lowest cosine
        sme = m_emb @ q_emb
        ssr = ssr_scores(query, preds, cfg)
        idx = np.asarray(keep)
        out["sme"][idx], out["sse"][idx], out["ssr"][idx] = sme, sse, ssr
        out["combine"][idx] = self.combine(sme, sse, ssr, cfg)
        return out


def _fills(query: Query, config: str) -> bool:
    return all(query.spectrum(nuc) is not None for ch, nuc in (("C", "13C"), ("H", "1H")) if ch in config)
