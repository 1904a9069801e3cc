"""Graph batching and a message-passing molecular graph encoder (pure torch, no extra packages).

The encoder is a stack of residual message-passing blocks with a per-molecule context vector (mean
of the atom states, fed back into every atom at each layer), which gives each atom a view of the
whole molecule at little cost. Two block kinds:

- ``"gine"``: GINE-style, message = silu(h_src + W e) with fixed bond features ``e``;
- ``"gated"``: edge-gated (GatedGCN-style) with bond *states* updated in every layer: each
  directed bond gets a gate from its own state and both atoms' states, and the atom aggregates its
  neighbours' transformed states weighted by the normalised gates.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from nmrlens.data.featurize import MolGraph

__all__ = ["GraphBatch", "collate_graphs", "GraphEncoder", "ENCODER_KINDS", "segment_mean"]


class GraphBatch(NamedTuple):
    """Several molecular graphs packed into one disjoint graph.

    ``batch[i]`` is the molecule index of node ``i``; ``offsets[k]`` is the first node of molecule k.
    """

    x: Tensor
    edge_index: Tensor
    edge_attr: Tensor
    batch: Tensor
    offsets: Tensor
    n_graphs: int

    def to(self, device: torch.device | str) -> "GraphBatch":
        """Move every tensor to ``device``."""
        return GraphBatch(self.x.to(device), self.edge_index.to(device), self.edge_attr.to(device),
                          self.batch.to(device), self.offsets.to(device), self.n_graphs)


def collate_graphs(graphs: Sequence[MolGraph]) -> GraphBatch:
    """Pack :class:`MolGraph` objects into one :class:`GraphBatch`."""
    sizes = np.asarray([g.n_atoms for g in graphs], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    x = np.concatenate([g.x for g in graphs], axis=0)
    edge_index = np.concatenate([g.edge_index + off for g, off in zip(graphs, offsets)], axis=1)
    edge_attr = np.concatenate([g.edge_attr for g in graphs], axis=0)
    batch = np.repeat(np.arange(len(graphs), dtype=np.int64), sizes)
    return GraphBatch(torch.from_numpy(x), torch.from_numpy(edge_index), torch.from_numpy(edge_attr),
                      torch.from_numpy(batch), torch.from_numpy(offsets), len(graphs))


def segment_mean(h: Tensor, batch: Tensor, n_graphs: int) -> Tensor:
    """Mean of node states per molecule: (N, D) -> (n_graphs, D)."""
    out = torch.zeros(n_graphs, h.shape[1], dtype=h.dtype, device=h.device).index_add_(0, batch, h)
    counts = torch.bincount(batch, minlength=n_graphs).clamp(min=1).to(h.dtype)
    return out / counts[:, None]


class _Block(nn.Module):
    def __init__(self, dim: int, bond_dim: int, dropout: float) -> None:
        super().__init__()
        self.edge = nn.Linear(bond_dim, dim)
        self.context = nn.Linear(dim, dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.SiLU(), nn.Linear(2 * dim, dim))
        self.norm = nn.LayerNorm(dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, h: Tensor, e: Tensor, g: GraphBatch) -> tuple[Tensor, Tensor]:
        """(h, e) -> (h', e): the bond features ``e`` pass through unchanged."""
        src, dst = g.edge_index[0], g.edge_index[1]
        msg = torch.nn.functional.silu(h[src] + self.edge(e))
        agg = torch.zeros_like(h).index_add_(0, dst, msg)
        ctx = self.context(segment_mean(h, g.batch, g.n_graphs))[g.batch]
        return self.norm(h + self.drop(self.mlp(h + agg + ctx))), e


class _GatedBlock(nn.Module):
    """Edge-gated block with bond states: (h, e) -> (h', e')."""

    def __init__(self, dim: int, dropout: float) -> None:
        super().__init__()
        self.node = nn.Linear(dim, 3 * dim)      # own, neighbour value, gate from source/destination
        self.gate_dst = nn.Linear(dim, dim, bias=False)
        self.edge = nn.Linear(dim, dim)
        self.context = nn.Linear(dim, dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.SiLU(), nn.Linear(2 * dim, dim))
        self.norm_h = nn.LayerNorm(dim)
        self.norm_e = nn.LayerNorm(dim)
        self.norm_out = nn.LayerNorm(dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, h: Tensor, e: Tensor, g: GraphBatch) -> tuple[Tensor, Tensor]:
        src, dst = g.edge_index[0], g.edge_index[1]
        own, value, gate_src = self.node(h).chunk(3, dim=-1)
        e_hat = self.edge(e) + gate_src[src] + self.gate_dst(h)[dst]
        sig = torch.sigmoid(e_hat)
        num = torch.zeros_like(h).index_add_(0, dst, sig * value[src])
        den = torch.zeros_like(h).index_add_(0, dst, sig)
        agg = num / (den + 1e-6)
        ctx = self.context(segment_mean(h, g.batch, g.n_graphs))[g.batch]
        h = self.norm_h(h + self.drop(torch.nn.functional.silu(own + agg + ctx)))
        e = self.norm_e(e + self.drop(torch.nn.functional.silu(e_hat)))
        return self.norm_out(h + self.drop(self.mlp(h))), e


#: Block kinds of :class:`GraphEncoder`.
ENCODER_KINDS = ("gine", "gated")


class GraphEncoder(nn.Module):
    """Atom-level encoder: (GraphBatch) -> node states (N, hidden).

    Args:
        atom_dim, bond_dim: input feature sizes (from :mod:`nmrlens.data.featurize`).
        hidden: state size.
        layers: number of message-passing blocks (receptive field in bonds).
        dropout: dropout inside the blocks.
        kind: block kind, one of :data:`ENCODER_KINDS` (see the module docstring).
    """

    def __init__(self, atom_dim: int, bond_dim: int, hidden: int = 256, layers: int = 6, dropout: float = 0.0,
                 kind: str = "gine") -> None:
        super().__init__()
        if kind not in ENCODER_KINDS:
            from nmrlens.errors import NmrLensError

            raise NmrLensError(f"encoder kind: got {kind!r}, expected one of {', '.join(ENCODER_KINDS)}")
        self.embed = nn.Sequential(nn.Linear(atom_dim, hidden), nn.SiLU(), nn.Linear(hidden, hidden))
        if kind == "gated":
            self.embed_edge: nn.Module = nn.Sequential(nn.Linear(bond_dim, hidden), nn.SiLU(), nn.Linear(hidden, hidden))
            self.blocks = nn.ModuleList([_GatedBlock(hidden, dropout) for _ in range(layers)])
        else:  # GINE blocks read the raw bond features
            self.embed_edge = nn.Identity()
            self.blocks = nn.ModuleList([_Block(hidden, bond_dim, dropout) for _ in range(layers)])

    def forward(self, g: GraphBatch) -> Tensor:
        """Node states ``(total atoms, hidden)`` of a batch of molecular graphs."""
        h, e = self.embed(g.x), self.embed_edge(g.edge_attr)
        for block in self.blocks:
            h, e = block(h, e, g)
        return h
