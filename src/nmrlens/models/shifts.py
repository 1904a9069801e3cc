"""Atom-level chemical-shift model: a graph encoder with 13C and 1H heads, each a mean and a std.

For every heavy atom the model predicts a 13C shift (meaningful for carbons) and the 1H shift of
the protons it carries (meaningful for atoms with H), each as a Gaussian mean and standard
deviation in ppm. Targets are standardised internally with fixed constants stored as buffers;
``*_sigma_cal`` buffers hold a post-hoc calibration factor of the predicted standard deviation
(fitted on the validation split).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from nmrlens.data.featurize import ATOM_DIM, BOND_DIM, MolGraph, featurize_mol
from nmrlens.nn.graph import GraphBatch, GraphEncoder, collate_graphs

__all__ = ["ShiftModel", "ShiftEnsemble", "ShiftOutput", "AtomShifts", "ShiftPredictor", "DEFAULT_CHECKPOINT", "bf16_inference_default"]

DEFAULT_CHECKPOINT = "shifts_v6_ens"
_MIN_SIGMA = {"c13": 0.05, "h1": 0.005}


class ShiftOutput(NamedTuple):
    """Per-node predictions in ppm: means and standard deviations for 13C and 1H."""

    c13_mu: Tensor
    c13_sigma: Tensor
    h1_mu: Tensor
    h1_sigma: Tensor


def _head(hidden: int, head_hidden: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(hidden, head_hidden), nn.SiLU(), nn.Linear(head_hidden, head_hidden), nn.SiLU(),
                         nn.Linear(head_hidden, 2))


class ShiftModel(nn.Module):
    """Graph network predicting per-atom 13C and 1H shifts with uncertainty.

    Args:
        atom_dim, bond_dim: feature sizes of the featuriser.
        hidden: encoder state size; layers: message-passing blocks; dropout: encoder dropout.
        head_hidden: width of the two prediction heads.
        encoder: block kind of the graph encoder (:data:`nmrlens.nn.graph.ENCODER_KINDS`).
    """

    def __init__(self, atom_dim: int = ATOM_DIM, bond_dim: int = BOND_DIM, hidden: int = 256, layers: int = 6,
                 dropout: float = 0.0, head_hidden: int = 256, encoder: str = "gine") -> None:
        super().__init__()
        self.hparams: dict[str, Any] = dict(atom_dim=atom_dim, bond_dim=bond_dim, hidden=hidden, layers=layers,
                                            dropout=dropout, head_hidden=head_hidden)
        if encoder != "gine":  # older checkpoints (no "encoder" key) keep loading unchanged
            self.hparams["encoder"] = encoder
        self.encoder = GraphEncoder(atom_dim, bond_dim, hidden, layers, dropout, kind=encoder)
        self.c13_head = _head(hidden, head_hidden)
        self.h1_head = _head(hidden, head_hidden)
        self.register_buffer("c13_loc", torch.tensor(100.0))
        self.register_buffer("c13_scale", torch.tensor(50.0))
        self.register_buffer("h1_loc", torch.tensor(4.0))
        self.register_buffer("h1_scale", torch.tensor(2.5))
        self.register_buffer("c13_sigma_cal", torch.tensor(1.0))
        self.register_buffer("h1_sigma_cal", torch.tensor(1.0))

    def forward(self, g: GraphBatch, *, bf16: bool = False) -> ShiftOutput:
        """Predict shifts (ppm) for every node of the batch.

        ``bf16`` runs the encoder under bfloat16 autocast (about 3x faster on CPU); the heads always
        run in float32 so that the shifts are not quantised.
        """
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            h = self.encoder(g)
        h = h.float()
        c = self.c13_head(h)
        p = self.h1_head(h)
        c13_mu = self.c13_loc + self.c13_scale * c[:, 0]
        h1_mu = self.h1_loc + self.h1_scale * p[:, 0]
        c13_sigma = (nn.functional.softplus(c[:, 1]) * self.c13_scale + _MIN_SIGMA["c13"]) * self.c13_sigma_cal
        h1_sigma = (nn.functional.softplus(p[:, 1]) * self.h1_scale + _MIN_SIGMA["h1"]) * self.h1_sigma_cal
        return ShiftOutput(c13_mu, c13_sigma, h1_mu, h1_sigma)


class ShiftEnsemble(nn.Module):
    """Several :class:`ShiftModel` members of one architecture, averaged.

    The mean shift is the members' mean; the standard deviation combines the members' own
    (calibrated) variances with the spread of their means, sqrt(mean(sigma^2) + var(mu)), and is
    then scaled by the ensemble's ``*_sigma_cal`` (fitted on the validation split). All in ppm.

    Args:
        members: number of member models.
        atom_dim, bond_dim, hidden, layers, dropout, head_hidden, encoder: the members' hyper-parameters.
    """

    def __init__(self, members: int = 3, atom_dim: int = ATOM_DIM, bond_dim: int = BOND_DIM, hidden: int = 256,
                 layers: int = 6, dropout: float = 0.0, head_hidden: int = 256, encoder: str = "gine") -> None:
        super().__init__()
        self.hparams: dict[str, Any] = dict(members=members, atom_dim=atom_dim, bond_dim=bond_dim, hidden=hidden,
                                            layers=layers, dropout=dropout, head_hidden=head_hidden)
        if encoder != "gine":
            self.hparams["encoder"] = encoder
        member = {k: v for k, v in self.hparams.items() if k != "members"}
        self.members = nn.ModuleList([ShiftModel(**member) for _ in range(members)])
        self.register_buffer("c13_sigma_cal", torch.tensor(1.0))
        self.register_buffer("h1_sigma_cal", torch.tensor(1.0))

    @classmethod
    def from_members(cls, models: Sequence[ShiftModel]) -> "ShiftEnsemble":
        """An ensemble holding copies of the weights of ``models`` (all of one architecture)."""
        if not models:
            from nmrlens.errors import NmrLensError

            raise NmrLensError("members: got none, expected at least one ShiftModel")
        ens = cls(members=len(models), **models[0].hparams)
        for dst, src in zip(ens.members, models):
            dst.load_state_dict(src.state_dict())
        return ens

    def forward(self, g: GraphBatch, *, bf16: bool = False) -> ShiftOutput:
        """Ensemble prediction (ppm) for every node of the batch."""
        outs = [m(g, bf16=bf16) for m in self.members]
        res = []
        for k, cal in ((0, self.c13_sigma_cal), (2, self.h1_sigma_cal)):
            mu = torch.stack([o[k] for o in outs])
            var = torch.stack([o[k + 1] for o in outs]) ** 2
            res += [mu.mean(0), torch.sqrt(var.mean(0) + mu.var(0, unbiased=False)) * cal]
        return ShiftOutput(*res)


@dataclass(frozen=True)
class AtomShifts:
    """Predicted shifts of one molecule's heavy atoms (indices in the molecule's atom order).

    ``c13[i]`` / ``h1[i]`` are ``(mean_ppm, std_ppm)`` for carbon atoms / atoms carrying H, else None.
    """

    atom_indices: tuple[int, ...]
    elements: tuple[str, ...]
    n_hs: tuple[int, ...]
    c13: tuple[tuple[float, float] | None, ...]
    h1: tuple[tuple[float, float] | None, ...]


def bf16_inference_default() -> bool:
    """Whether predictors run the encoder under bfloat16 autocast by default: :func:`nmrlens.nn.bf16_supported`
    (``NMRLENS_BF16`` when set, else whether this CPU has native oneDNN bfloat16 kernels).

    Measured on the validation split (shifts_v5): 13C MAE 1.3237 vs 1.3241 ppm in float32, 1H 0.2316 vs
    0.2317, and 2.4x the float32 forward speed on the 2-core AVX-512 machine (``docs/benchmarks.md``).
    """
    from nmrlens.nn import bf16_supported

    return bf16_supported()


class ShiftPredictor:
    """Loaded shift model plus featurisation: molecules in, :class:`AtomShifts` out.

    ``bf16``: run the encoder under bfloat16 autocast (the heads stay float32); None = :func:`bf16_inference_default`.
    """

    def __init__(self, model: ShiftModel | ShiftEnsemble, sidecar: dict[str, Any] | None = None, *,
                 bf16: bool | None = None) -> None:
        self.model = model.eval()
        self.sidecar = sidecar or {}
        self.bf16 = bf16_inference_default() if bf16 is None else bool(bf16)

    @classmethod
    def load(cls, path: str | None = None, *, bf16: bool | None = None) -> "ShiftPredictor":
        """Load a checkpoint (default: the shipped ``DEFAULT_CHECKPOINT``)."""
        from nmrlens.models.checkpoint import load_checkpoint, weights_path

        model, sidecar = load_checkpoint(path or weights_path(DEFAULT_CHECKPOINT))
        return cls(model, sidecar, bf16=bf16)

    @torch.no_grad()
    def predict_graphs(self, graphs: Sequence[MolGraph], batch_size: int = 256) -> list[AtomShifts]:
        """Predict atom shifts for featurised molecules."""
        out: list[AtomShifts] = []
        for start in range(0, len(graphs), batch_size):
            chunk = graphs[start:start + batch_size]
            pred = self.model(collate_graphs(chunk), bf16=self.bf16)
            arrays = [t.numpy().astype(np.float64) for t in pred]
            offset = 0
            for g in chunk:
                sl = slice(offset, offset + g.n_atoms)
                offset += g.n_atoms
                c_mu, c_sd, h_mu, h_sd = (a[sl] for a in arrays)
                out.append(AtomShifts(
                    atom_indices=tuple(int(i) for i in g.atom_map), elements=g.elements,
                    n_hs=tuple(int(n) for n in g.n_hs),
                    c13=tuple((float(c_mu[i]), float(c_sd[i])) if el == "C" else None for i, el in enumerate(g.elements)),
                    h1=tuple((float(h_mu[i]), float(h_sd[i])) if g.n_hs[i] > 0 else None for i in range(g.n_atoms)),
                ))
        return out

    def predict_mols(self, mols: Sequence[Any], batch_size: int = 256) -> list[AtomShifts]:
        """Predict atom shifts for RDKit molecules."""
        return self.predict_graphs([featurize_mol(m) for m in mols], batch_size)
