"""Atom <-> peak assignment: a shift-prediction baseline and a K-M3AID-style dual alignment model.

Two assigners share one optimal-assignment step (:func:`nmrlens.data.shiftdata.assign_with_costs`,
scipy's ``linear_sum_assignment`` on symmetry classes: equivalent carbons share one peak, a peak
takes several classes when there are fewer peaks than classes, every peak gets a class when
there are at least as many classes as peaks, and S/D/T/Q (13C) letters forbid the wrong H count).
Carbon classes are the NMR equivalence classes of :func:`nmrlens.chem.heterotopic.nmr_classes`:
diastereotopic groups and the groups on a slowly rotating amide-type N are separate classes, and the
cis/trans (syn/anti) members of a pair get :func:`~nmrlens.chem.heterotopic.c13_tag_offsets` added to
their predicted 13C shifts so that they take their peaks in the right order (the prenyl methyls).
Proton groups stay topological.

- *baseline*: predicted shifts of :class:`~nmrlens.models.shifts.ShiftModel` (mean and standard
  deviation per atom); the cost of class i on peak j is ``z**2 / 2`` with
  ``z = (pred_i - peak_j) / sqrt(sd_i**2 + 0.5**2)`` (a Gaussian negative log-likelihood; the kind and
  the floor are options) and the confidence of a pair is that Gaussian likelihood, normalised over
  the allowed peaks.
- *model*: :class:`AssignModel`, a graph-level (molecule <-> whole 13C spectrum) and node-level
  (atom <-> peak) contrastive alignment (K-M3AID, Dong et al.). Node-level cost = ``-log softmax``
  over the molecule's peaks of the atom-peak similarities; graph-level similarity scores whole
  molecules against whole spectra (retrieval, isomer recognition).

The two costs are fused as ``(1 - w) * baseline + w * model`` (``w`` chosen on the validation
split, stored in the checkpoint sidecar with the other :class:`AssignOptions` and the name of the
shift model they were chosen with). For retrieval and isomer recognition a molecule is scored
against a spectrum by :func:`agreement_score` (peak-centric) of the fused cost with its own weight
``retrieval_weight``, plus ``graph_weight`` x the graph-level cosine similarity. 1H multiplets are assigned to proton groups (symmetry
classes of H-bearing heavy atoms) by the baseline, with a penalty when a multiplet's nH differs
from the group's H count; exchangeable OH/NH/SH groups may stay unassigned.

Units: ppm. Atom indices are those of the molecule as given (SMILES or molblock order).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from nmrlens.data.featurize import ATOM_DIM, BOND_DIM, MolGraph, featurize_mol
from nmrlens.errors import NmrLensError, SpectrumFormatError
from nmrlens.nn.graph import GraphBatch, GraphEncoder, collate_graphs, segment_mean
from nmrlens.spectra.model import CARBON_MULTS, Query, Spectrum1D

if TYPE_CHECKING:  # pragma: no cover
    from rdkit.Chem import Mol

    from nmrlens.models.shifts import ShiftPredictor

__all__ = ["AssignModel", "AssignOutput", "MolInfo", "AtomAssignment", "Assignment", "AssignOptions", "Assigner",
           "DEFAULT_CHECKPOINT", "peak_features", "prepare_mol", "c13_cost_baseline", "h1_cost_baseline",
           "solve", "pair_confidence", "agreement_score"]

log = logging.getLogger(__name__)
DEFAULT_CHECKPOINT = "assign_v1"
#: Cost (nats) of a multiplicity (S/D/T/Q) conflict: forbids the pair in practice.
CONFLICT = 1e3
_MULT_INDEX = {None: 4, "S": 0, "D": 1, "T": 2, "Q": 3}
_RBF_LO, _RBF_HI = -20.0, 240.0


# ---------------------------------------------------------------------------------------------
# the dual alignment model


def peak_features(shifts: Tensor, rbf_step: float) -> Tensor:
    """Gaussian radial-basis features of 13C shifts (ppm): (...,) -> (..., n_centres + 1)."""
    centres = torch.arange(_RBF_LO, _RBF_HI + 1e-6, rbf_step, dtype=torch.float32, device=shifts.device)
    x = shifts.float().unsqueeze(-1)
    rbf = torch.exp(-(((x - centres) / (1.5 * rbf_step)) ** 2))
    return torch.cat([rbf, (x - 100.0) / 50.0], dim=-1)


@dataclass
class AssignOutput:
    """Embeddings of one batch: L2-normalised atom (N, d), peak (B, P, d), graph (B, g), spectrum (B, g),
    the auxiliary per-atom 13C shift (N,) in ppm, and the two learned temperatures."""

    atom: Tensor
    peak: Tensor
    graph: Tensor
    spectrum: Tensor
    c13: Tensor
    tau_node: Tensor
    tau_graph: Tensor


class AssignModel(nn.Module):
    """Dual (graph-level + node-level) contrastive alignment of molecules and 13C peak lists.

    Atom side: a :class:`~nmrlens.nn.graph.GraphEncoder` (initialised from the shift model), an
    auxiliary 13C shift head, and an MLP over ``[state, RBF(predicted shift), H-count one-hot]``.
    Peak side: an MLP over ``[RBF(shift), S/D/T/Q one-hot]`` plus ``ctx_layers`` transformer layers
    over the peaks of one spectrum. Graph/spectrum embeddings are mean-pooled projections.

    Args:
        atom_dim, bond_dim, hidden, layers, dropout: graph encoder (as in ShiftModel).
        emb_dim: node-level embedding size; graph_dim: graph-level embedding size.
        peak_hidden: width of the peak MLP; rbf_step: RBF centre spacing in ppm.
        ctx_layers, heads: transformer layers / heads over the peaks.
    """

    def __init__(self, atom_dim: int = ATOM_DIM, bond_dim: int = BOND_DIM, hidden: int = 256, layers: int = 6,
                 dropout: float = 0.0, emb_dim: int = 64, graph_dim: int = 128, peak_hidden: int = 256,
                 rbf_step: float = 1.0, ctx_layers: int = 1, heads: int = 4) -> None:
        super().__init__()
        self.hparams: dict[str, Any] = dict(atom_dim=atom_dim, bond_dim=bond_dim, hidden=hidden, layers=layers,
                                            dropout=dropout, emb_dim=emb_dim, graph_dim=graph_dim,
                                            peak_hidden=peak_hidden, rbf_step=rbf_step, ctx_layers=ctx_layers,
                                            heads=heads)
        self.rbf_step = rbf_step
        n_rbf = int(round((_RBF_HI - _RBF_LO) / rbf_step)) + 2
        self.encoder = GraphEncoder(atom_dim, bond_dim, hidden, layers, dropout)
        self.c13_head = nn.Sequential(nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(),
                                      nn.Linear(hidden, 2))
        self.atom_mlp = nn.Sequential(nn.Linear(hidden + n_rbf + 5, peak_hidden), nn.SiLU(),
                                      nn.Linear(peak_hidden, peak_hidden), nn.SiLU(), nn.Linear(peak_hidden, emb_dim))
        self.peak_mlp = nn.Sequential(nn.Linear(n_rbf + 5, peak_hidden), nn.SiLU(), nn.Linear(peak_hidden, peak_hidden),
                                      nn.SiLU(), nn.Linear(peak_hidden, emb_dim))
        self.ctx = nn.ModuleList([nn.TransformerEncoderLayer(emb_dim, heads, 2 * emb_dim, dropout=0.0,
                                                             batch_first=True) for _ in range(ctx_layers)])
        self.graph_proj = nn.Sequential(nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, graph_dim))
        self.spec_proj = nn.Sequential(nn.Linear(emb_dim, peak_hidden), nn.SiLU(), nn.Linear(peak_hidden, graph_dim))
        self.log_tau_node = nn.Parameter(torch.tensor(math.log(0.1)))
        self.log_tau_graph = nn.Parameter(torch.tensor(math.log(0.07)))
        self.register_buffer("c13_loc", torch.tensor(100.0))
        self.register_buffer("c13_scale", torch.tensor(50.0))

    def encode_atoms(self, g: GraphBatch, n_hs: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Atom embeddings (N, d, normalised), graph embeddings (B, g, normalised), 13C shifts (N,) ppm."""
        h = self.encoder(g)
        c13 = self.c13_loc + self.c13_scale * self.c13_head(h)[:, 0]
        nh = torch.nn.functional.one_hot(n_hs.clamp(0, 4), 5).float()
        feats = torch.cat([h, peak_features(c13.detach(), self.rbf_step), nh], dim=-1)
        atom = nn.functional.normalize(self.atom_mlp(feats), dim=-1)
        graph = nn.functional.normalize(self.graph_proj(segment_mean(h, g.batch, g.n_graphs)), dim=-1)
        return atom, graph, c13

    def encode_peaks(self, shifts: Tensor, mult: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """Peak embeddings (B, P, d, normalised) and spectrum embeddings (B, g, normalised).

        Args:
            shifts: (B, P) ppm; mult: (B, P) 0..3 for S/D/T/Q, 4 unknown; mask: (B, P) True for real peaks.
        """
        x = torch.cat([peak_features(shifts, self.rbf_step), nn.functional.one_hot(mult.clamp(0, 4), 5).float()], -1)
        p = self.peak_mlp(x)
        for layer in self.ctx:
            p = layer(p, src_key_padding_mask=~mask)
        m = mask.unsqueeze(-1).float()
        pooled = (p * m).sum(1) / m.sum(1).clamp(min=1.0)
        spec = nn.functional.normalize(self.spec_proj(pooled), dim=-1)
        return nn.functional.normalize(p, dim=-1), spec

    def forward(self, g: GraphBatch, n_hs: Tensor, shifts: Tensor, mult: Tensor, mask: Tensor) -> AssignOutput:
        """Embed a batch of molecules and their 13C peak lists (see :class:`AssignOutput`)."""
        atom, graph, c13 = self.encode_atoms(g, n_hs)
        peak, spec = self.encode_peaks(shifts, mult, mask)
        return AssignOutput(atom, peak, graph, spec, c13, self.log_tau_node.exp(), self.log_tau_graph.exp())


def pad_peaks(spectra: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[Tensor, Tensor, Tensor]:
    """Pad ``[(shifts ppm, mult_h -1..3), ...]`` into (B, P) tensors ``shifts, mult (4 = unknown), mask``."""
    width = max(1, max((len(s) for s, _ in spectra), default=1))
    shifts = torch.zeros(len(spectra), width)
    mult = torch.full((len(spectra), width), 4, dtype=torch.long)
    mask = torch.zeros(len(spectra), width, dtype=torch.bool)
    for i, (s, m) in enumerate(spectra):
        n = len(s)
        shifts[i, :n] = torch.as_tensor(np.asarray(s, dtype=np.float32))
        mult[i, :n] = torch.as_tensor(np.where(np.asarray(m) < 0, 4, np.asarray(m)).astype(np.int64))
        mask[i, :n] = True
    return shifts, mult, mask


# ---------------------------------------------------------------------------------------------
# molecules, costs and the optimal assignment


@dataclass
class MolInfo:
    """A molecule prepared for assignment (graph nodes = heavy atoms; see the module docstring).

    ``c_classes``: graph-node indices of each carbon symmetry class; ``h_groups``: graph-node indices
    of each proton group, ``h_group_nh`` its H count, ``h_group_exch`` True for OH/NH/SH. Predictions
    (per node, ppm) and embeddings are filled by :meth:`Assigner.predict`.
    """

    mol: Any
    graph: MolGraph
    c_classes: list[np.ndarray]
    c_class_nh: np.ndarray
    h_groups: list[np.ndarray]
    h_group_nh: np.ndarray
    h_group_exch: np.ndarray
    c13_mu: np.ndarray | None = None
    c13_sd: np.ndarray | None = None
    h1_mu: np.ndarray | None = None
    h1_sd: np.ndarray | None = None
    c13_offset: np.ndarray | None = None
    atom_emb: np.ndarray | None = None
    graph_emb: np.ndarray | None = None

    @property
    def n_carbons(self) -> int:
        """Number of carbon atoms."""
        return int(sum(len(c) for c in self.c_classes))


def prepare_mol(mol: "Mol") -> MolInfo:
    """Graph, carbon symmetry classes and proton groups of an RDKit molecule (explicit H allowed)."""
    from nmrlens.chem.couplings import proton_groups
    from nmrlens.chem.heterotopic import c13_tag_offsets, heterotopic_pairs, nmr_classes

    graph = featurize_mol(mol)
    node_of = {int(a): i for i, a in enumerate(graph.atom_map)}
    pairs = heterotopic_pairs(mol)
    classes = nmr_classes(mol, pairs)
    offsets = c13_tag_offsets(mol, pairs)
    by_class: dict[int, list[int]] = {}
    for i, a in enumerate(graph.atom_map):
        if graph.elements[i] == "C":
            by_class.setdefault(classes[int(a)], []).append(i)
    c_classes = [np.asarray(v, dtype=np.int64) for v in by_class.values()]
    c_nh = np.asarray([int(graph.n_hs[v[0]]) for v in c_classes], dtype=np.int64)
    groups = [gr for gr in proton_groups(mol) if all(a in node_of for a in gr.atoms)]
    h_groups = [np.asarray([node_of[a] for a in gr.atoms], dtype=np.int64) for gr in groups]
    return MolInfo(mol, graph, c_classes, c_nh, h_groups, np.asarray([gr.n_h for gr in groups], dtype=np.int64),
                   np.asarray([gr.exchangeable for gr in groups], dtype=bool),
                   c13_offset=np.asarray([offsets[int(a)] for a in graph.atom_map], dtype=np.float64))


def c13_cost_baseline(info: MolInfo, shifts: np.ndarray, kind: str = "absz", sd_floor: float = 0.5) -> np.ndarray:
    """Baseline cost (n_classes, n_peaks) from predicted 13C shifts: ``|z|`` (kind ``absz``), ``z**2 / 2``
    (``z2``) or ``|delta| / 1 ppm`` (``abs``), with ``z = delta / sqrt(sd**2 + sd_floor**2)``."""
    mu = np.asarray([info.c13_mu[c].mean() for c in info.c_classes])
    sd = np.asarray([info.c13_sd[c].mean() for c in info.c_classes])
    d = mu[:, None] - np.asarray(shifts)[None, :]
    if kind == "abs":
        return np.abs(d)
    z = d / np.sqrt(sd ** 2 + sd_floor ** 2)[:, None]
    if kind == "z2":
        return 0.5 * z ** 2
    if kind == "absz":
        return np.abs(z)
    raise NmrLensError(f"cost kind: got {kind!r}, expected absz, z2 or abs")


def c13_cost_model(info: MolInfo, peak_emb: np.ndarray, tau: float) -> np.ndarray:
    """Model cost (n_classes, n_peaks): ``-log softmax`` over the peaks of atom-peak similarity / tau,
    averaged over the atoms of a class."""
    if info.atom_emb is None:
        raise NmrLensError("assign model: no atom embeddings; load an AssignModel checkpoint first")
    logits = info.atom_emb @ peak_emb.T / tau
    logp = logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)
    return np.stack([-logp[c].mean(0) for c in info.c_classes]) if info.c_classes else np.zeros((0, len(peak_emb)))


def h1_cost_baseline(info: MolInfo, shifts: np.ndarray, nh: np.ndarray, *, sd_floor: float = 0.05,
                     nh_cost: float = 2.0, squared: bool = False, exch_sd_floor: float = 0.05) -> np.ndarray:
    """Baseline cost (n_groups, n_multiplets): ``|z|`` (``z**2 / 2`` when ``squared``) of the predicted 1H
    shift plus ``nh_cost`` when a multiplet's nH (-1 = unknown) differs from the group's H count. OH/NH/SH
    groups use ``exch_sd_floor`` (their shifts depend on solvent and concentration)."""
    mu = np.asarray([info.h1_mu[g].mean() for g in info.h_groups])
    sd = np.asarray([info.h1_sd[g].mean() for g in info.h_groups])
    floor = np.where(info.h_group_exch, max(sd_floor, exch_sd_floor), sd_floor) if len(mu) else np.zeros(0)
    z = np.abs(mu[:, None] - np.asarray(shifts)[None, :]) / np.sqrt(sd ** 2 + floor ** 2)[:, None]
    return (0.5 * z ** 2 if squared else z) + nh_cost * nh_mismatch(info, nh)


def nh_mismatch(info: MolInfo, nh: np.ndarray) -> np.ndarray:
    """(n_groups, n_multiplets) in 0..1: 0 when a multiplet's nH equals the group's H count (or is
    unknown), 0.5 when it is larger (overlapping groups) or is one H of a CH2 group (diastereotopic
    protons reported apart), else 1."""
    nh = np.asarray(nh)[None, :]
    g = info.h_group_nh[:, None]
    per_atom = np.asarray([int(info.graph.n_hs[grp[0]]) for grp in info.h_groups])[:, None]
    half = (nh > g) | ((per_atom == 2) & (nh * 2 == g))
    out = np.where(nh == g, 0.0, np.where(half, 0.5, 1.0))
    return np.where(nh < 0, 0.0, out)


def mult_conflict(class_nh: np.ndarray, peak_mult_h: np.ndarray) -> np.ndarray:
    """True where a 13C peak's S/D/T/Q letter (H count, -1 unknown) differs from the class's H count."""
    pm = np.asarray(peak_mult_h)
    return (pm[None, :] >= 0) & (pm[None, :] != np.asarray(class_nh)[:, None])


def solve(cost: np.ndarray, conflict: np.ndarray | None = None, *, reuse_cost: float = 3.0,
          optional: np.ndarray | None = None, optional_cost: float = 3.0, cover_peaks: bool = True) -> np.ndarray:
    """Optimal class -> peak assignment (peak index per class, -1 unassigned); see the module docstring."""
    from nmrlens.data.shiftdata import assign_with_costs

    c = cost + (CONFLICT * conflict if conflict is not None else 0.0)
    return assign_with_costs(c, reuse_cost=reuse_cost, optional=optional, optional_cost=optional_cost,
                             cover_peaks=cover_peaks, max_share=len(c))


def pair_confidence(cost: np.ndarray, conflict: np.ndarray | None, assigned: np.ndarray,
                    temperature: float = 1.0) -> np.ndarray:
    """Confidence of each class's assigned peak: ``softmax(-cost / temperature)`` over the allowed peaks
    (NaN for unassigned classes)."""
    out = np.full(len(assigned), np.nan)
    if cost.size == 0:
        return out
    logits = -cost / temperature
    if conflict is not None:
        logits = np.where(conflict, -np.inf, logits)
        logits = np.where(conflict.all(axis=1, keepdims=True), -cost / temperature, logits)
    logits = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    p /= p.sum(axis=1, keepdims=True)
    ok = assigned >= 0
    out[ok] = p[np.flatnonzero(ok), assigned[ok]]
    return out


def agreement_score(cost: np.ndarray, *, cap: float = 10.0, unmatched_class_cost: float = 1.0) -> float:
    """How well a molecule explains a peak list (higher is better), peak-centric: every peak is matched to a
    different class (optimal one-to-one assignment of peaks to classes, pair costs capped at ``cap``; a
    peak without a class costs ``cap``) and each class left without a peak costs ``unmatched_class_cost``
    (reported peak lists are often incomplete, so missing peaks cost less than unexplained ones)."""
    from scipy.optimize import linear_sum_assignment

    if cost.size == 0:
        return -cap * max(cost.shape[1] if cost.ndim == 2 else 0, 1)
    c = np.minimum(np.asarray(cost, dtype=np.float64).T, cap)
    n_pk, n_cls = c.shape
    rows, cols = linear_sum_assignment(c)
    return -(float(c[rows, cols].sum()) + cap * (n_pk - len(rows)) + unmatched_class_cost * (n_cls - len(rows)))


# ---------------------------------------------------------------------------------------------
# the public assigner


@dataclass(frozen=True)
class AtomAssignment:
    """One atom's assignment: its peak index in the given spectrum (None when unassigned), the peak's
    shift and the predicted shift (ppm), and the confidence (0..1) of the pair."""

    atom: int
    element: str
    n_h: int
    nucleus: str
    group: int
    peak: int | None
    shift: float | None
    predicted: float | None
    confidence: float | None


@dataclass(frozen=True)
class Assignment:
    """The assignment of one molecule to its spectra: rows per atom (13C: carbons; 1H: H-bearing heavy
    atoms), the method used, and ``query``: the molecule (molblock in the atom order of the rows) with
    the spectra whose peaks carry the assigned atoms (for NMReDATA)."""

    smiles: str
    method: str
    rows: tuple[AtomAssignment, ...]
    query: Query

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        from dataclasses import asdict

        return {"smiles": self.smiles, "method": self.method, "rows": [asdict(r) for r in self.rows]}


@dataclass
class AssignOptions:
    """Settings of the assignment step (chosen on the validation split; see docs/assign.md)."""

    weight: float = 0.5
    c13_cost: str = "z2"
    c13_sd_floor: float = 0.5
    reuse_cost: float = 1.0
    cover_peaks: bool = True
    model_tau: float = 1.0
    h1_sd_floor: float = 0.05
    h1_nh_cost: float = 2.0
    h1_optional_cost: float = 6.0
    h1_reuse_cost: float = 1.0
    h1_cover_peaks: bool = False
    h1_exch_sd_floor: float = 1.5
    graph_weight: float = 0.0
    class_unmatched_cost: float = 1.0
    retrieval_weight: float = 0.5
    shifts_checkpoint: str | None = None


class Assigner:
    """Assign molecules to 13C peak lists and 1H multiplet lists.

    Args:
        predictor: the shift model (baseline and 1H).
        model: an :class:`AssignModel`, or None for the baseline alone.
        options: assignment settings; ``options.weight`` is the model's share of the fused 13C cost
            (0 = baseline only, 1 = model only).
    """

    def __init__(self, predictor: "ShiftPredictor", model: AssignModel | None = None,
                 options: AssignOptions | None = None) -> None:
        self.predictor = predictor
        self.model = model.eval() if model is not None else None
        self.options = options or AssignOptions(weight=0.0 if model is None else 0.5)

    @classmethod
    def load(cls, checkpoint: str | None = None, *, shifts_checkpoint: str | None = None) -> "Assigner":
        """Load the shipped (or given) AssignModel checkpoint and the shift model; ``checkpoint="none"``
        gives the baseline only. Options stored in the checkpoint sidecar (``extra.options``) are used."""
        from nmrlens.models.checkpoint import load_checkpoint, weights_path
        from nmrlens.models.shifts import ShiftPredictor

        if checkpoint == "none" or (checkpoint is None
                                    and not weights_path(DEFAULT_CHECKPOINT).with_suffix(".json").is_file()):
            if checkpoint is None:
                log.warning("no shipped %s checkpoint: assigning with the shift-prediction baseline", DEFAULT_CHECKPOINT)
            return cls(ShiftPredictor.load(shifts_checkpoint), None, AssignOptions(weight=0.0, retrieval_weight=0.0))
        model, sidecar = load_checkpoint(checkpoint or weights_path(DEFAULT_CHECKPOINT))
        if not isinstance(model, AssignModel):
            raise NmrLensError(f"checkpoint: got a {type(model).__name__}, expected an AssignModel checkpoint")
        opts = AssignOptions(**(sidecar.get("extra", {}).get("options") or {}))
        # the options were chosen with this shift model: use it unless another one is asked for
        return cls(ShiftPredictor.load(shifts_checkpoint or opts.shifts_checkpoint), model, opts)

    # -- batch predictions ---------------------------------------------------------------------

    @torch.no_grad()
    def predict(self, infos: Sequence[MolInfo], batch_size: int = 128) -> None:
        """Fill the shift predictions and (with a model) the atom/graph embeddings of ``infos``."""
        infos = [i for i in infos if i.c13_mu is None]
        for start in range(0, len(infos), batch_size):
            chunk = infos[start:start + batch_size]
            graphs = [i.graph for i in chunk]
            g = collate_graphs(graphs)
            out = self.predictor.model(g)
            arrays = [t.numpy().astype(np.float64) for t in out]
            if self.model is not None:
                atom, graph, _ = self.model.encode_atoms(g, torch.from_numpy(np.concatenate([x.n_hs for x in graphs])))
                atom_np, graph_np = atom.numpy(), graph.numpy()
            off = 0
            for k, info in enumerate(chunk):
                sl = slice(off, off + info.graph.n_atoms)
                off += info.graph.n_atoms
                info.c13_mu, info.c13_sd, info.h1_mu, info.h1_sd = (a[sl] for a in arrays)
                if info.c13_offset is not None:
                    info.c13_mu = info.c13_mu + info.c13_offset
                if self.model is not None:
                    info.atom_emb, info.graph_emb = atom_np[sl], graph_np[k]

    @torch.no_grad()
    def embed_spectra(self, spectra: Sequence[tuple[np.ndarray, np.ndarray]],
                      batch_size: int = 256) -> list[tuple[np.ndarray, np.ndarray]]:
        """Peak embeddings (n_peaks, d) and spectrum embedding (g,) for ``[(shifts, mult_h), ...]``."""
        if self.model is None:
            raise NmrLensError("assign model: none loaded (baseline only)")
        out = []
        for start in range(0, len(spectra), batch_size):
            chunk = spectra[start:start + batch_size]
            s, m, mask = pad_peaks(chunk)
            peak, spec = self.model.encode_peaks(s, m, mask)
            for k, (sh, _) in enumerate(chunk):
                out.append((peak[k, :len(sh)].numpy(), spec[k].numpy()))
        return out

    # -- 13C -----------------------------------------------------------------------------------

    def c13_cost(self, info: MolInfo, shifts: np.ndarray, peak_emb: np.ndarray | None = None,
                 weight: float | None = None) -> np.ndarray:
        """Fused 13C cost (n_classes, n_peaks) without conflicts (see the module docstring)."""
        o = self.options
        w = o.weight if weight is None else weight
        cost = c13_cost_baseline(info, shifts, o.c13_cost, o.c13_sd_floor) if w < 1 else 0.0
        if w > 0:
            if peak_emb is None:
                raise NmrLensError("assign model: peak embeddings are needed for a model weight > 0")
            cost = (1 - w) * cost + w * c13_cost_model(info, peak_emb, o.model_tau)
        return np.asarray(cost, dtype=np.float64)

    def assign_c13_arrays(self, info: MolInfo, shifts: np.ndarray, mult_h: np.ndarray,
                          peak_emb: np.ndarray | None = None, weight: float | None = None
                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Assign carbon classes to peaks: ``(peak per class, confidence per class, cost matrix)``."""
        o = self.options
        cost = self.c13_cost(info, shifts, peak_emb, weight)
        conflict = mult_conflict(info.c_class_nh, mult_h)
        assigned = solve(cost, conflict, reuse_cost=o.reuse_cost, cover_peaks=o.cover_peaks)
        conf_cost = c13_cost_baseline(info, shifts, "z2", o.c13_sd_floor) if (weight if weight is not None else o.weight) <= 0 else cost
        return assigned, pair_confidence(conf_cost, conflict, assigned), cost

    # -- 1H ------------------------------------------------------------------------------------

    def assign_h1_arrays(self, info: MolInfo, shifts: np.ndarray, nh: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Assign proton groups to multiplets: ``(multiplet per group (-1 none), confidence per group)``."""
        o = self.options
        cost = h1_cost_baseline(info, shifts, nh, sd_floor=o.h1_sd_floor, nh_cost=o.h1_nh_cost,
                                exch_sd_floor=o.h1_exch_sd_floor)
        nh = np.asarray(nh)
        exch = info.h_group_exch
        if exch.any() and len(nh) and (nh >= 0).all() and int(nh.sum()) == int(info.h_group_nh[~exch].sum()):
            # the integrals are exactly the C-H protons: the OH/NH/SH protons were not observed
            keep = np.flatnonzero(~exch)
            assigned = np.full(len(info.h_groups), -1, dtype=np.int64)
            assigned[keep] = solve(cost[keep], None, reuse_cost=o.h1_reuse_cost, cover_peaks=o.h1_cover_peaks)
        else:
            assigned = solve(cost, None, reuse_cost=o.h1_reuse_cost, optional=exch,
                             optional_cost=o.h1_optional_cost, cover_peaks=o.h1_cover_peaks)
        conf_cost = h1_cost_baseline(info, shifts, nh, sd_floor=o.h1_sd_floor, nh_cost=o.h1_nh_cost, squared=True,
                                     exch_sd_floor=o.h1_exch_sd_floor)
        return assigned, pair_confidence(conf_cost, None, assigned)

    # -- the public entry ----------------------------------------------------------------------

    def assign(self, molecule: Any, spectra: "Query | Spectrum1D | Sequence[Spectrum1D]") -> Assignment:
        """Assign a molecule (SMILES, molblock or RDKit Mol) to its 13C and/or 1H spectra.

        Raises:
            InvalidMoleculeError: for an invalid or unsupported molecule.
            SpectrumFormatError: when no 13C or 1H spectrum is given.
        """
        from rdkit import Chem

        from nmrlens.chem.mol import canonical_smiles, mol_formula
        from nmrlens.chem.validate import check_supported, to_mol

        mol = to_mol(molecule)
        check_supported(mol)
        if isinstance(spectra, Query):
            specs = list(spectra.spectra)
        elif isinstance(spectra, Spectrum1D):
            specs = [spectra]
        else:
            specs = list(spectra)
        c13 = next((s for s in specs if isinstance(s, Spectrum1D) and s.nucleus == "13C" and len(s)), None)
        h1 = next((s for s in specs if isinstance(s, Spectrum1D) and s.nucleus == "1H" and len(s)), None)
        if c13 is None and h1 is None:
            raise SpectrumFormatError("spectra", [getattr(s, "nucleus", type(s).__name__) for s in specs],
                                      "a non-empty 13C peak list and/or 1H multiplet list")
        info = prepare_mol(mol)
        self.predict([info])
        rows: list[AtomAssignment] = []
        out_spectra: list[Spectrum1D] = []
        amap = info.graph.atom_map
        if c13 is not None:
            shifts = np.asarray(c13.shifts)
            mult_h = np.asarray([CARBON_MULTS.get(p.mult, -1) if p.mult else -1 for p in c13.peaks])
            peak_emb = None
            if self.model is not None and self.options.weight > 0:
                peak_emb = self.embed_spectra([(shifts, mult_h)])[0][0]
            assigned, conf, _ = self.assign_c13_arrays(info, shifts, mult_h, peak_emb)
            atoms_of_peak: dict[int, list[int]] = {}
            for k, cls_nodes in enumerate(info.c_classes):
                j = int(assigned[k])
                for node in cls_nodes:
                    a = int(amap[node])
                    if j >= 0:
                        atoms_of_peak.setdefault(j, []).append(a)
                    rows.append(AtomAssignment(a, "C", int(info.graph.n_hs[node]), "13C", k, j if j >= 0 else None,
                                               float(shifts[j]) if j >= 0 else None, float(info.c13_mu[node]),
                                               float(conf[k]) if j >= 0 else None))
            peaks = [p.with_(atoms=tuple(sorted(atoms_of_peak.get(j, ())))) for j, p in enumerate(c13.peaks)]
            out_spectra.append(c13.with_(peaks=tuple(peaks)))
        if h1 is not None:
            shifts = np.asarray(h1.shifts)
            nh = np.asarray([p.nH if p.nH is not None else -1 for p in h1.peaks])
            assigned, conf = self.assign_h1_arrays(info, shifts, nh)
            atoms_of_peak = {}
            for k, nodes in enumerate(info.h_groups):
                j = int(assigned[k])
                for node in nodes:
                    a = int(amap[node])
                    if j >= 0:
                        atoms_of_peak.setdefault(j, []).append(a)
                    rows.append(AtomAssignment(a, info.graph.elements[node], int(info.graph.n_hs[node]), "1H",
                                               k, j if j >= 0 else None, float(shifts[j]) if j >= 0 else None,
                                               float(info.h1_mu[node]), float(conf[k]) if j >= 0 else None))
            peaks = [p.with_(atoms=tuple(sorted(atoms_of_peak.get(j, ())))) for j, p in enumerate(h1.peaks)]
            out_spectra.append(h1.with_(peaks=tuple(peaks)))
        order = {"13C": 0, "1H": 1}
        rows.sort(key=lambda r: (order[r.nucleus], r.atom))
        molblock = Chem.MolToMolBlock(mol)
        smiles = canonical_smiles(mol)
        query = Query(spectra=tuple(out_spectra), smiles=smiles, formula=mol_formula(mol), molblock=molblock)
        method = "baseline" if self.model is None or self.options.weight <= 0 else (
            "model" if self.options.weight >= 1 else f"fused(w={self.options.weight:g})")
        return Assignment(smiles, method, tuple(rows), query)
