"""Formula-preserving structure neighbours: a local search around the best candidates.

A de novo generator is often *close*: right fragments, an ester turned the other way, a
substituent on the next carbon. :class:`NeighbourSource` takes the best candidates of the other
sources (after a first ranking) and proposes their neighbours under two moves that keep the
molecular formula:

- **move a terminal atom**: a heavy atom with one heavy neighbour (=O, -OH, -CH3, -F, -NH2, ...)
  is detached and bonded with the same bond order to another atom that has enough hydrogens
  (benzyl acetate is one move from ethyl benzoate: the carbonyl O moves from C(=O) to the CH2);
- **swap two atoms of different elements** (e.g. a chain O and a CH2), keeping the bonds.

Products are sanitised by RDKit (aromaticity re-perceived), must keep the formula, stay neutral
and connected, may not add bonds between two heteroatoms (O-O, N-O, N-N, O-halogen, ...: rare
and mostly unstable), and are de-duplicated by canonical SMILES. The pipeline scores them like every other
candidate (predicted spectra); their origin is "expand".
"""

from __future__ import annotations

import logging
import random
from typing import TYPE_CHECKING, Any, Sequence

from nmrlens.errors import InvalidMoleculeError, NmrLensError

if TYPE_CHECKING:  # pragma: no cover
    from rdkit.Chem import Mol

__all__ = ["neighbours", "NeighbourSource", "MAX_NEIGHBOURS"]

logger = logging.getLogger(__name__)

#: Largest number of neighbours returned per molecule.
MAX_NEIGHBOURS = 1000


def _hetero_bonds(m: "Mol") -> int:
    """Number of single bonds between two of O, N, S, halogens (peroxides, hydrazines, ...)."""
    het = {7, 8, 9, 16, 17, 35, 53}
    return sum(1 for b in m.GetBonds() if b.GetBeginAtom().GetAtomicNum() in het and b.GetEndAtom().GetAtomicNum() in het)


def _product(rw: Any) -> "Mol | None":
    from rdkit import Chem

    try:
        m = rw.GetMol()
        for a in m.GetAtoms():
            a.SetNoImplicit(False)
            a.SetNumExplicitHs(0)
        Chem.SanitizeMol(m)
    except Exception:  # noqa: BLE001 - RDKit raises several kinds on impossible valences
        return None
    if any(a.GetFormalCharge() or a.GetNumRadicalElectrons() for a in m.GetAtoms()):
        return None
    if len(Chem.GetMolFrags(m)) != 1:
        return None
    return m


def neighbours(molecule: "str | Mol", *, limit: int = 200, seed: int = 0) -> list[str]:
    """Canonical SMILES of formula-preserving neighbours of ``molecule`` (see the module docstring),
    at most ``limit`` (a seeded random subset when there are more), the molecule itself excluded.

    Raises:
        InvalidMoleculeError: when the molecule cannot be parsed.
    """
    from rdkit import Chem

    from nmrlens.chem.mol import canonical_smiles, mol_formula
    from nmrlens.chem.validate import to_mol

    if not 1 <= int(limit) <= MAX_NEIGHBOURS:
        raise NmrLensError(f"limit: got {limit!r}, expected 1..{MAX_NEIGHBOURS}")
    mol = Chem.Mol(to_mol(molecule))
    if any(a.GetFormalCharge() for a in mol.GetAtoms()):
        return []
    formula = mol_formula(mol)
    own = canonical_smiles(mol)
    base = Chem.RWMol(mol)
    try:
        Chem.Kekulize(base, clearAromaticFlags=True)
    except Exception:  # noqa: BLE001
        return []
    for a in base.GetAtoms():  # keep H counts explicit only where RDKit needs them ([nH])
        a.SetNoImplicit(False)
    n = base.GetNumAtoms()
    h = [a.GetTotalNumHs() for a in mol.GetAtoms()]
    found: dict[str, None] = {}
    het = _hetero_bonds(mol)

    def keep(rw: Any) -> None:
        m = _product(rw)
        if m is None or mol_formula(m) != formula or _hetero_bonds(m) > het:
            return
        smi = canonical_smiles(m)
        if smi != own:
            found.setdefault(smi, None)

    # move a terminal atom to another atom with enough hydrogens
    for t in range(n):
        at = base.GetAtomWithIdx(t)
        if at.GetDegree() != 1:
            continue
        bond = at.GetBonds()[0]
        anchor = bond.GetOtherAtomIdx(t)
        order = int(bond.GetBondTypeAsDouble())
        for b in range(n):
            if b in (t, anchor) or h[b] < order:
                continue
            rw = Chem.RWMol(base)
            rw.RemoveBond(t, anchor)
            rw.AddBond(t, b, bond.GetBondType())
            keep(rw)
    # swap two atoms of different elements
    for i in range(n):
        for j in range(i + 1, n):
            ai, aj = base.GetAtomWithIdx(i), base.GetAtomWithIdx(j)
            if ai.GetAtomicNum() == aj.GetAtomicNum():
                continue
            rw = Chem.RWMol(base)
            rw.GetAtomWithIdx(i).SetAtomicNum(aj.GetAtomicNum())
            rw.GetAtomWithIdx(j).SetAtomicNum(ai.GetAtomicNum())
            keep(rw)
    out = list(found)
    if len(out) > limit:
        out = sorted(random.Random(seed).sample(out, limit))
    return out


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
    """

    name = "expand"

    def __init__(self, seeds: int = 3, per_seed: int = 60, rounds: int = 1, time_budget_s: float | None = None) -> None:
        if not 1 <= int(seeds) <= 50:
            raise NmrLensError(f"seeds: got {seeds!r}, expected 1..50")
        if not 1 <= int(per_seed) <= MAX_NEIGHBOURS:
            raise NmrLensError(f"per_seed: got {per_seed!r}, expected 1..{MAX_NEIGHBOURS}")
        if not 1 <= int(rounds) <= 20:
            raise NmrLensError(f"rounds: got {rounds!r}, expected 1..20")
        self.seeds = int(seeds)
        self.per_seed = int(per_seed)
        self.rounds = int(rounds)
        self.time_budget_s = None if time_budget_s is None else float(time_budget_s)

    def expand(self, smiles: Sequence[str]) -> list[Any]:
        """Candidates from the neighbours of the first ``seeds`` SMILES (best first)."""
        from nmrlens.pipeline.candidates import make_candidate

        out = []
        seen: set[str] = set(smiles)
        for s in list(smiles)[: self.seeds]:
            try:
                found = neighbours(s, limit=self.per_seed)
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
