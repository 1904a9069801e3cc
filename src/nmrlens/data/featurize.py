"""Molecule -> graph featurisation (tensor-free), as small callables in the chemprop v2 style.

A :class:`MolGraph` holds numpy arrays for the heavy atoms of one molecule (hydrogens are implicit
and enter as atom features): atom features ``x`` (n_atoms x ATOM_DIM, float32), directed edges
``edge_index`` (2 x n_edges, int64, both directions of every bond) and bond features
``edge_attr`` (n_edges x BOND_DIM). ``atom_map`` maps each graph node to the index of the atom in
the molecule it came from (molblock order, explicit H skipped), so atom-level labels can be
carried over.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from rdkit.Chem import Mol

__all__ = ["ATOM_DIM", "BOND_DIM", "MolGraph", "featurize_mol", "ELEMENTS"]

ELEMENTS = ("C", "N", "O", "F", "P", "S", "Cl", "Br", "I", "B", "Si", "Se")
_DEGREES = 6  # 0..5+
_HS = 5  # 0..4+
_CHARGES = (-1, 0, 1)
_HYBRID = ("SP", "SP2", "SP3", "SP3D", "SP3D2")
_RING_SIZES = (3, 4, 5, 6, 7, 8)
_CHIRAL = ("CHI_TETRAHEDRAL_CW", "CHI_TETRAHEDRAL_CCW")
ATOM_DIM = (len(ELEMENTS) + 1) + _DEGREES + _HS + (len(_CHARGES) + 1) + (len(_HYBRID) + 1) + 1 + 1 + len(_RING_SIZES) \
    + len(_CHIRAL) + 1 + 1
_BOND_TYPES = ("SINGLE", "DOUBLE", "TRIPLE", "AROMATIC")
_STEREO = ("STEREOZ", "STEREOE", "STEREOCIS", "STEREOTRANS")
BOND_DIM = len(_BOND_TYPES) + 1 + 1 + len(_STEREO) + 1


@dataclass(frozen=True)
class MolGraph:
    """Graph of one molecule's heavy atoms (see the module docstring for the arrays)."""

    x: np.ndarray
    edge_index: np.ndarray
    edge_attr: np.ndarray
    atom_map: np.ndarray
    n_hs: np.ndarray
    elements: tuple[str, ...]

    @property
    def n_atoms(self) -> int:
        """Number of graph nodes (heavy atoms)."""
        return int(self.x.shape[0])


def _one_hot(value: object, choices: tuple, extra: bool = True) -> list[float]:
    out = [0.0] * (len(choices) + (1 if extra else 0))
    try:
        out[choices.index(value)] = 1.0
    except ValueError:
        if extra:
            out[-1] = 1.0
    return out


def _atom_features(atom: "Mol", ring_info: object) -> list[float]:
    idx = atom.GetIdx()
    feats = _one_hot(atom.GetSymbol(), ELEMENTS)
    feats += _one_hot(min(atom.GetDegree(), _DEGREES - 1), tuple(range(_DEGREES)), extra=False)
    feats += _one_hot(min(atom.GetTotalNumHs(), _HS - 1), tuple(range(_HS)), extra=False)
    feats += _one_hot(atom.GetFormalCharge(), _CHARGES)
    feats += _one_hot(str(atom.GetHybridization()), _HYBRID)
    feats.append(float(atom.GetIsAromatic()))
    feats.append(float(atom.IsInRing()))
    feats += [float(ring_info.IsAtomInRingOfSize(idx, k)) for k in _RING_SIZES]  # type: ignore[attr-defined]
    feats += _one_hot(str(atom.GetChiralTag()), _CHIRAL, extra=False)
    feats.append(float(atom.GetNumRadicalElectrons() > 0))
    feats.append(float(any(b.GetIsConjugated() for b in atom.GetBonds())))
    return feats


def _bond_features(bond: "Mol") -> list[float]:
    feats = _one_hot(str(bond.GetBondType()), _BOND_TYPES, extra=False)
    feats.append(float(bond.GetIsConjugated()))
    feats.append(float(bond.IsInRing()))
    feats += _one_hot(str(bond.GetStereo()), _STEREO, extra=False)
    feats.append(float(bond.GetBondDir() != bond.GetBondDir().NONE))
    return feats


def featurize_mol(mol: "Mol") -> MolGraph:
    """Featurise the heavy atoms of an RDKit molecule (explicit H atoms are folded into H counts)."""
    ring_info = mol.GetRingInfo()
    heavy = [a.GetIdx() for a in mol.GetAtoms() if a.GetAtomicNum() > 1]
    node_of = {a: i for i, a in enumerate(heavy)}
    x = np.asarray([_atom_features(mol.GetAtomWithIdx(a), ring_info) for a in heavy], dtype=np.float32).reshape(-1, ATOM_DIM)
    src, dst, attrs = [], [], []
    for bond in mol.GetBonds():
        a, b = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
        if a not in node_of or b not in node_of:
            continue
        f = _bond_features(bond)
        src += [node_of[a], node_of[b]]
        dst += [node_of[b], node_of[a]]
        attrs += [f, f]
    return MolGraph(
        x=x,
        edge_index=np.asarray([src, dst], dtype=np.int64).reshape(2, -1),
        edge_attr=np.asarray(attrs, dtype=np.float32).reshape(-1, BOND_DIM),
        atom_map=np.asarray(heavy, dtype=np.int64),
        n_hs=np.asarray([mol.GetAtomWithIdx(a).GetTotalNumHs(includeNeighbors=True) for a in heavy], dtype=np.int64),
        elements=tuple(mol.GetAtomWithIdx(a).GetSymbol() for a in heavy),
    )
