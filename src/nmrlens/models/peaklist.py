"""Peak-list token model (the NMRPeak-P idea): a molecule-conditioned decoder that writes spectra
as sequences of the adaptive spectral tokens (:mod:`nmrlens.tokenize.spectral`).

The molecule is encoded by the graph encoder of :mod:`nmrlens.nn.graph`; a causal transformer
decoder attends to the atom states and writes ``<bos> <13C> ... </13C> <1H> ... </1H> <eos>``.
Decoding is constrained by the token grammar (:class:`TokenGrammar`): 13C shift tokens in
non-increasing order and at most one per carbon, 1H groups as ``mult J* nH lo hi`` with
``hi >= lo``, and the segments asked for. :meth:`PeakListModel.generate` decodes greedily or by
sampling (several candidates per molecule, for the ensemble of :mod:`nmrlens.models.peaklist`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import torch
from torch import Tensor, nn

from nmrlens.data.featurize import ATOM_DIM, BOND_DIM
from nmrlens.nn.graph import GraphBatch, GraphEncoder

__all__ = ["PeakListModel", "PeakListPredictor", "TokenGrammar", "DEFAULT_PEAKLIST_CHECKPOINT"]

DEFAULT_PEAKLIST_CHECKPOINT = "peaklist_v1"


class PeakListModel(nn.Module):
    """Graph encoder + transformer decoder over spectral tokens.

    Args:
        vocab_size: spectral vocabulary size; atom_dim, bond_dim: featuriser sizes.
        hidden: model width; enc_layers / dec_layers: depth; heads: attention heads;
        ff: decoder feed-forward width; dropout; max_len: longest token sequence.
    """

    def __init__(self, vocab_size: int, atom_dim: int = ATOM_DIM, bond_dim: int = BOND_DIM, hidden: int = 256,
                 enc_layers: int = 4, dec_layers: int = 4, heads: int = 8, ff: int = 1024, dropout: float = 0.1,
                 max_len: int = 256) -> None:
        super().__init__()
        self.hparams: dict[str, Any] = dict(vocab_size=vocab_size, atom_dim=atom_dim, bond_dim=bond_dim, hidden=hidden,
                                            enc_layers=enc_layers, dec_layers=dec_layers, heads=heads, ff=ff,
                                            dropout=dropout, max_len=max_len)
        self.encoder = GraphEncoder(atom_dim, bond_dim, hidden, enc_layers, dropout)
        self.tok = nn.Embedding(vocab_size, hidden)
        self.pos = nn.Embedding(max_len, hidden)
        layer = nn.TransformerDecoderLayer(hidden, heads, ff, dropout, batch_first=True, norm_first=True)
        self.decoder = nn.TransformerDecoder(layer, dec_layers)
        self.norm = nn.LayerNorm(hidden)
        self.out = nn.Linear(hidden, vocab_size)

    def memory(self, g: GraphBatch, bf16: bool = False) -> tuple[Tensor, Tensor]:
        """Atom states packed per molecule: ``(B, N_max, hidden)`` and a padding mask (True = pad)."""
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            h = self.encoder(g)
        sizes = torch.bincount(g.batch, minlength=g.n_graphs)
        n_max = int(sizes.max()) if g.n_graphs else 1
        pos = torch.arange(h.shape[0]) - g.offsets[g.batch]
        mem = h.new_zeros(g.n_graphs, n_max, h.shape[1])
        mem[g.batch, pos] = h
        pad = torch.ones(g.n_graphs, n_max, dtype=torch.bool)
        pad[g.batch, pos] = False
        return mem, pad

    def decode(self, tokens: Tensor, mem: Tensor, mem_pad: Tensor, bf16: bool = False) -> Tensor:
        """Logits ``(B, T, V)`` for every prefix position of ``tokens`` ``(B, T)``."""
        T = tokens.shape[1]
        x = self.tok(tokens) + self.pos(torch.arange(T))[None]
        causal = torch.triu(torch.full((T, T), float("-inf")), diagonal=1)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            y = self.decoder(x, mem, tgt_mask=causal, memory_key_padding_mask=mem_pad)
        return self.out(self.norm(y.float()))

    def forward(self, g: GraphBatch, tokens: Tensor, bf16: bool = False) -> Tensor:
        """Teacher-forced logits for ``tokens`` (B, T) given the molecules of ``g``."""
        mem, pad = self.memory(g, bf16)
        return self.decode(tokens, mem, pad, bf16)

    @torch.no_grad()
    def generate(self, g: GraphBatch, grammar: "TokenGrammar", prefix: Sequence[int], limits: Sequence[dict[str, int]],
                 *, samples: int = 1, temperature: float = 1.0, greedy: bool = True, seed: int = 0) -> list[list[list[int]]]:
        """Decode token sequences starting with ``prefix`` for each molecule.

        Args:
            grammar: the token grammar; limits: per molecule ``{"n_c": carbons, "n_h": hydrogens}``.
            samples: sequences per molecule (the first is greedy when ``greedy``; the rest sampled).

        Returns:
            ``out[molecule][sample]`` = token ids (without padding).
        """
        self.eval()
        gen = torch.Generator().manual_seed(seed)
        mem, pad = self.memory(g)
        B = g.n_graphs
        mem = mem.repeat_interleave(samples, 0)
        pad = pad.repeat_interleave(samples, 0)
        states = [grammar.start(prefix, limits[b // samples]) for b in range(B * samples)]
        seqs = [list(prefix) for _ in range(B * samples)]
        max_len = self.hparams["max_len"]
        while not all(s.done for s in states) and len(seqs[0]) < max_len:
            toks = torch.tensor(seqs)
            logits = self.decode(toks, mem, pad)[:, -1]
            masks = torch.stack([grammar.allowed(s) for s in states])
            logits = logits.masked_fill(~masks, float("-inf"))
            pick_greedy = logits.argmax(-1)
            probs = torch.softmax(logits / max(temperature, 1e-6), -1)
            sampled = torch.multinomial(probs, 1, generator=gen)[:, 0]
            for i, s in enumerate(states):
                if s.done:
                    seqs[i].append(grammar.pad_id)
                    continue
                t = int(pick_greedy[i]) if (greedy and i % samples == 0) else int(sampled[i])
                seqs[i].append(t)
                grammar.advance(s, t)
        out: list[list[list[int]]] = []
        for b in range(B):
            out.append([[t for t in seqs[b * samples + k] if t != grammar.pad_id] for k in range(samples)])
        return out


@dataclass
class _State:
    segment: str
    want: str
    n_c: int
    n_h: int
    last_c: int = 10**9
    peaks: int = 0
    group_pos: str = "start"
    n_j: int = 0
    lo: int = 0
    groups: int = 0
    done: bool = False


class TokenGrammar:
    """What token may come next in a spectral token sequence (see the module docstring)."""

    def __init__(self, tokenizer: Any) -> None:
        t = tokenizer
        V = t.vocab_size
        self.pad_id, self.bos_id, self.eos_id = t.pad_id, t.bos_id, t.eos_id
        ids = t.token_to_id
        self.c_start, self.c_end = ids("<13C>"), ids("</13C>")
        self.h_start, self.h_end = ids("<1H>"), ids("</1H>")
        off = t._offset
        self.c0, self.cn = off["13C"], off["13C"] + t.tables["13C"].size
        self.h0, self.hn = off["1H"], off["1H"] + t.tables["1H"].size
        self.j0, self.jn = off["J"], off["J"] + t.tables["J"].size
        self.mult_ids = sorted(t._mult_ids)
        self.nh_ids = sorted(t._nh_ids)
        self.V = V

    def _mask(self, *ranges: tuple[int, int], ids: Sequence[int] = ()) -> Tensor:
        m = torch.zeros(self.V, dtype=torch.bool)
        for a, b in ranges:
            m[a:b] = True
        if ids:
            m[list(ids)] = True
        return m

    def start(self, prefix: Sequence[int], limits: dict[str, int]) -> _State:
        """State after ``prefix`` (``[<bos>, <13C>]``, ``[<bos>, <1H>]``; want = "C", "H" or "CH")."""
        want = ("C" if self.c_start in prefix else "") + ("H" if self.h_start in prefix or len(prefix) == 1 else "")
        if len(prefix) == 1:
            want = "CH"
        seg = "C" if prefix[-1] == self.c_start else ("H" if prefix[-1] == self.h_start else "bos")
        s = _State(segment=seg, want=want, n_c=max(1, limits.get("n_c", 200)), n_h=max(1, limits.get("n_h", 400)))
        return s

    def allowed(self, s: _State) -> Tensor:
        """Boolean mask over the vocabulary of tokens allowed next."""
        if s.done:
            return self._mask(ids=[self.pad_id])
        if s.segment == "bos":
            return self._mask(ids=[self.c_start] if "C" in s.want else [self.h_start])
        if s.segment == "C":
            ends = [self.c_end] if s.peaks > 0 else []
            if s.peaks >= s.n_c:
                return self._mask(ids=ends)
            return self._mask((self.c0, min(self.cn, s.last_c + 1)), ids=ends)
        if s.segment == "afterC":
            return self._mask(ids=[self.h_start] if "H" in s.want else [self.eos_id])
        if s.segment == "H":
            if s.group_pos == "start":
                ends = [self.h_end] if s.groups > 0 else []
                return self._mask(ids=(self.mult_ids if s.groups < s.n_h else []) + ends)
            if s.group_pos == "mult":
                return self._mask((self.j0, self.jn) if s.n_j < 8 else (0, 0), ids=self.nh_ids)
            if s.group_pos == "nh":
                return self._mask((self.h0, self.hn))
            if s.group_pos == "lo":
                return self._mask((s.lo, self.hn))
        return self._mask(ids=[self.eos_id])

    def advance(self, s: _State, t: int) -> None:
        """Update the state with the chosen token ``t``."""
        if s.segment == "bos":
            s.segment = "C" if t == self.c_start else "H"
        elif s.segment == "C":
            if t == self.c_end:
                s.segment = "afterC"
            else:
                s.last_c, s.peaks = t, s.peaks + 1
        elif s.segment == "afterC":
            if t == self.h_start:
                s.segment = "H"
            else:
                s.done = True
        elif s.segment == "H":
            if s.group_pos == "start":
                if t == self.h_end:
                    s.segment = "afterH"
                else:
                    s.group_pos, s.n_j = "mult", 0
            elif s.group_pos == "mult":
                if self.j0 <= t < self.jn:
                    s.n_j += 1
                else:
                    s.group_pos = "nh"
            elif s.group_pos == "nh":
                s.group_pos, s.lo = "lo", t
            elif s.group_pos == "lo":
                s.group_pos, s.groups = "start", s.groups + 1
        else:
            s.done = True


class PeakListPredictor:
    """Loaded peak-list token model + tokenizer: molecules in, decoded spectra out."""

    def __init__(self, model: PeakListModel, tokenizer: Any | None = None, sidecar: dict[str, Any] | None = None) -> None:
        from nmrlens.tokenize import SpectralTokenizer

        self.model = model.eval()
        self.tokenizer = tokenizer or SpectralTokenizer.load()
        self.grammar = TokenGrammar(self.tokenizer)
        self.sidecar = sidecar or {}

    @classmethod
    def load(cls, path: str | None = None) -> "PeakListPredictor":
        """Load a checkpoint (default: the shipped ``peaklist_v1``)."""
        from nmrlens.models.checkpoint import load_checkpoint, weights_path

        model, sidecar = load_checkpoint(path or weights_path(DEFAULT_PEAKLIST_CHECKPOINT))
        return cls(model, sidecar=sidecar)

    def predict_mols(self, mols: Sequence[Any], nucleus: str, *, samples: int = 1, temperature: float = 1.0,
                     seed: int = 0, batch_size: int = 64) -> list[list[Any]]:
        """Candidate spectra (``Spectrum1D`` of ``nucleus``, 13C or 1H) per molecule: ``samples`` each,
        the first greedy. Sequences that decode to no peak give an empty spectrum."""
        from nmrlens.chem.mol import element_counts
        from nmrlens.data.featurize import featurize_mol
        from nmrlens.nn.graph import collate_graphs
        from nmrlens.spectra.model import Spectrum1D

        tok = self.tokenizer
        prefix = [tok.bos_id, tok.token_to_id("<13C>" if nucleus == "13C" else "<1H>")]
        out: list[list[Any]] = []
        for start in range(0, len(mols), batch_size):
            chunk = mols[start:start + batch_size]
            limits = []
            for m in chunk:
                c = element_counts(m)
                limits.append({"n_c": c.get("C", 0), "n_h": c.get("H", 0)})
            seqs = self.model.generate(collate_graphs([featurize_mol(m) for m in chunk]), self.grammar, prefix, limits,
                                       samples=samples, temperature=temperature, seed=seed + start)
            for per_mol in seqs:
                cands = []
                for ids in per_mol:
                    q = tok.decode(ids, strict=False)
                    sp = q.spectrum(nucleus)
                    cands.append(sp if sp is not None else Spectrum1D(nucleus, []))
                out.append(cands)
        return out
