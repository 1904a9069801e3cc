"""Formula-preserving structure edits: the moves of a local search in the space of constitutional isomers.

A de novo generator is often *close*: right fragments, an ester turned the other way, a substituent
on the next carbon, a ring where a double bond should be. :func:`neighbours` lists the isomers one
edit away from a molecule, under six moves that keep the molecular formula (on the Kekulé form):

- ``terminal``: a heavy atom with one heavy neighbour (=O, -OH, -CH3, -F, -NH2, ...) is detached and
  bonded with the same bond order to another atom that has enough hydrogens (benzyl acetate is one
  move from ethyl benzoate: the carbonyl O moves from C(=O) to the CH2);
- ``swap``: two atoms of different elements exchange places, keeping the bonds;
- ``switch``: two bonds a-b and c-d of the same order become a-c and b-d (or a-d and b-c): every
  atom keeps its valence and hydrogens, the skeleton is rewired (chain <-> ring, ring sizes, branch points);
- ``shift``: a double bond moves along a chain, a=b-c(H) -> a(H)-b=c;
- ``close``: a double bond becomes single and two atoms with hydrogens are bonded (a ring instead
  of an unsaturation);
- ``open``: the reverse: a single ring bond is cut and a single bond between two atoms with
  hydrogens becomes double.

Products are sanitised by RDKit (aromaticity re-perceived), must keep the formula, stay neutral and
connected, may not add bonds between two heteroatoms (O-O, N-O, N-N, O-halogen, ...: rare and mostly
unstable) and must pass :func:`implausible` (no hypervalent atom without the double bonds that
explain it, no allene, no enol, no unsaturation in a three-membered ring, no triple bond in a ring);
2.8% of 8,000 nmrshiftdb2 molecules with a 13C spectrum fail that filter (mostly stable enols of
1,3-diketones and heterocumulenes in rings), so it costs little recall and keeps the search out of chemistry
that predicted spectra cannot tell from real compounds. Products are de-duplicated by canonical SMILES.
"""

from __future__ import annotations

import itertools
import random
from typing import TYPE_CHECKING, Any, Iterator, Sequence

from nmrlens.errors import InvalidMoleculeError, NmrLensError

if TYPE_CHECKING:  # pragma: no cover
    from rdkit.Chem import Mol

__all__ = ["MOVES", "DEFAULT_MOVES", "MAX_NEIGHBOURS", "neighbours", "iter_neighbours", "implausible"]

#: The moves of :func:`neighbours` (see the module docstring).
MOVES: tuple[str, ...] = ("terminal", "swap", "switch", "shift", "close", "open")
#: The moves the searches use by default: on 200 validation CF queries (generate_v5 beams, 600 structures
#: scored per query) terminal moves and swaps alone found as many structures as all six (top-1 0.295 vs
#: 0.290) in less time (2.9 vs 3.6 s per query); docs/generate.md.
DEFAULT_MOVES: tuple[str, ...] = ("terminal", "swap")
#: Largest number of neighbours returned per molecule.
MAX_NEIGHBOURS = 1000

_HETERO = frozenset({7, 8, 9, 16, 17, 35, 53})
#: Allowed total valences of neutral atoms (higher S/P valences need double bonds to O, N or S).
_VALENCES: dict[int, tuple[int, ...]] = {5: (3,), 6: (4,), 7: (3,), 8: (2,), 9: (1,), 14: (4,), 15: (3, 5),
                                         16: (2, 4, 6), 17: (1,), 34: (2,), 35: (1,), 53: (1,)}


def _hetero_bonds(m: "Mol") -> int:
    """Number of bonds between two of N, O, F, S, Cl, Br, I."""
    return sum(1 for b in m.GetBonds() if b.GetBeginAtom().GetAtomicNum() in _HETERO
               and b.GetEndAtom().GetAtomicNum() in _HETERO)


def implausible(mol: "Mol") -> str | None:
    """Why a sanitised, neutral molecule is chemically implausible as a search product, or None.

    Reasons: ``"valence"`` (a total valence outside the element's usual ones), ``"hypervalent"``
    (S/P above their lowest valence without enough double bonds to O, N or S), ``"cumulated"`` (a
    carbon with two non-aromatic double bonds in a ring or to carbon only: allenes; ketenes,
    isothiocyanates in chains pass), ``"enol"`` (an O-H on a non-aromatic carbon that has a C=C),
    ``"ring3 unsaturation"`` (a double or triple bond in a three-membered ring), ``"ring triple bond"``.
    """
    from rdkit import Chem

    double, triple = Chem.BondType.DOUBLE, Chem.BondType.TRIPLE
    for a in mol.GetAtoms():
        z = a.GetAtomicNum()
        v = a.GetTotalValence()
        allowed = _VALENCES.get(z)
        if allowed is not None:
            if v not in allowed:
                return "valence"
            if v > allowed[0]:
                n_het = sum(1 for b in a.GetBonds() if b.GetBondType() == double
                            and b.GetOtherAtom(a).GetAtomicNum() in (7, 8, 16))
                if 2 * n_het < v - allowed[0]:
                    return "hypervalent"
        if z == 6:
            dbl = [b for b in a.GetBonds() if b.GetBondType() == double and not b.GetIsAromatic()]
            if len(dbl) >= 2 and (a.IsInRing() or all(b.GetOtherAtom(a).GetAtomicNum() == 6 for b in dbl)):
                return "cumulated"
        if z == 8 and a.GetTotalNumHs() == 1 and a.GetDegree() == 1:
            c = a.GetNeighbors()[0]
            if c.GetAtomicNum() == 6 and not c.GetIsAromatic() and any(
                    b.GetBondType() == double and b.GetOtherAtom(c).GetAtomicNum() == 6 for b in c.GetBonds()):
                return "enol"
    ring = mol.GetRingInfo()
    for b in mol.GetBonds():
        if b.GetIsAromatic() or b.GetBondType() not in (double, triple):
            continue
        if ring.IsBondInRingOfSize(b.GetIdx(), 3):
            return "ring3 unsaturation"
        if b.GetBondType() == triple and b.IsInRing():
            return "ring triple bond"
    return None


def _product(rw: Any) -> "Mol | None":
    """The sanitised molecule of an edited Kekulé form, or None (bad valence, charged, fragments)."""
    from rdkit import Chem

    try:
        m = rw.GetMol()
        for a in m.GetAtoms():
            a.SetNoImplicit(False)
            a.SetNumExplicitHs(0)
        Chem.SanitizeMol(m)
        Chem.AssignStereochemistry(m, cleanIt=True, force=True)
    except Exception:  # noqa: BLE001 - RDKit raises several kinds on impossible valences
        return None
    if any(a.GetFormalCharge() or a.GetNumRadicalElectrons() for a in m.GetAtoms()):
        return None
    if len(Chem.GetMolFrags(m)) != 1:
        return None
    return m


def _edits(mol: "Mol", base: Any, moves: Sequence[str]) -> list[tuple[Any, ...]]:
    """Every edit of ``moves`` as a tuple of operations (``rm a b``, ``add a b type``, ``swap a b``,
    ``order a b type``) on the Kekulé form ``base`` of ``mol``."""
    from rdkit import Chem

    single, double = Chem.BondType.SINGLE, Chem.BondType.DOUBLE
    n = base.GetNumAtoms()
    h = [a.GetTotalNumHs() for a in mol.GetAtoms()]
    bonds = [(b.GetBeginAtomIdx(), b.GetEndAtomIdx(), b.GetBondType()) for b in base.GetBonds()]
    bonded = {frozenset((a, b)) for a, b, _ in bonds}
    out: list[tuple[Any, ...]] = []
    if "terminal" in moves:
        for t in range(n):
            at = base.GetAtomWithIdx(t)
            if at.GetDegree() != 1:
                continue
            bond = at.GetBonds()[0]
            anchor = bond.GetOtherAtomIdx(t)
            order = int(bond.GetBondTypeAsDouble())
            out.extend((("rm", t, anchor), ("add", t, b, bond.GetBondType()))
                       for b in range(n) if b not in (t, anchor) and h[b] >= order)
    if "swap" in moves:
        z = [a.GetAtomicNum() for a in base.GetAtoms()]
        out.extend((("swap", i, j),) for i in range(n) for j in range(i + 1, n) if z[i] != z[j])
    if "switch" in moves:
        for x, (a, b, t1) in enumerate(bonds):
            for c, d, t2 in bonds[x + 1:]:
                if t1 != t2 or len({a, b, c, d}) < 4:
                    continue
                for p, q, r, s in ((a, c, b, d), (a, d, b, c)):
                    if frozenset((p, q)) not in bonded and frozenset((r, s)) not in bonded:
                        out.append((("rm", a, b), ("rm", c, d), ("add", p, q, t1), ("add", r, s, t1)))
    if "shift" in moves:
        for a, b, t in bonds:
            if t != double:
                continue
            for x, y in ((a, b), (b, a)):
                for nb in base.GetAtomWithIdx(y).GetNeighbors():
                    c = nb.GetIdx()
                    if c != x and h[c] >= 1 and base.GetBondBetweenAtoms(y, c).GetBondType() == single:
                        out.append((("order", x, y, single), ("order", y, c, double)))
    if "close" in moves:
        with_h = [i for i in range(n) if h[i] > 0]
        for a, b, t in bonds:
            if t != double:
                continue
            out.extend((("order", a, b, single), ("add", p, q, single))
                       for i, p in enumerate(with_h) for q in with_h[i + 1:] if frozenset((p, q)) not in bonded)
    if "open" in moves:
        ring = mol.GetRingInfo()
        for p, q, t in bonds:
            if t != single or not ring.NumBondRings(base.GetBondBetweenAtoms(p, q).GetIdx()):
                continue
            for x, y, t2 in bonds:
                if t2 != single or (x, y) == (p, q):
                    continue
                hx = h[x] + (x in (p, q))
                hy = h[y] + (y in (p, q))
                if hx >= 1 and hy >= 1:
                    out.append((("rm", p, q), ("order", x, y, double)))
    return out


def _apply(base: Any, edit: tuple[Any, ...]) -> Any:
    """A copy of ``base`` with ``edit`` applied, or None when an operation does not apply."""
    from rdkit import Chem

    rw = Chem.RWMol(base)
    for op in edit:
        if op[0] == "rm":
            rw.RemoveBond(op[1], op[2])
        elif op[0] == "add":
            if rw.GetBondBetweenAtoms(op[1], op[2]) is not None:
                return None
            rw.AddBond(op[1], op[2], op[3])
        elif op[0] == "swap":
            ai, aj = rw.GetAtomWithIdx(op[1]), rw.GetAtomWithIdx(op[2])
            zi, zj = ai.GetAtomicNum(), aj.GetAtomicNum()
            ai.SetAtomicNum(zj)
            aj.SetAtomicNum(zi)
        else:  # order
            bond = rw.GetBondBetweenAtoms(op[1], op[2])
            if bond is None:
                return None
            bond.SetBondType(op[3])
    return rw


def neighbours(molecule: "str | Mol", *, limit: int = 200, seed: int = 0, moves: Sequence[str] = DEFAULT_MOVES) -> list[str]:
    """Canonical SMILES of formula-preserving, plausible neighbours of ``molecule`` under ``moves``
    (see the module docstring; default :data:`DEFAULT_MOVES`, :data:`MOVES` for all six), the molecule itself excluded: all of them when there are at most
    ``limit``, else the first ``limit`` of :func:`iter_neighbours` (a random order of the edits fixed by ``seed``).
    Stereo marks of the molecule are carried along where they still apply (RDKit drops the rest), so an
    edit away from a stereocentre keeps its configuration.

    Raises:
        InvalidMoleculeError: when the molecule cannot be parsed.
        NmrLensError: for a ``limit`` outside 1..:data:`MAX_NEIGHBOURS` or an unknown move.
    """
    if isinstance(limit, bool) or not 1 <= int(limit) <= MAX_NEIGHBOURS:
        raise NmrLensError(f"limit: got {limit!r}, expected 1..{MAX_NEIGHBOURS}")
    return list(itertools.islice(iter_neighbours(molecule, seed=seed, moves=moves), int(limit)))


def iter_neighbours(molecule: "str | Mol", *, seed: int = 0, moves: Sequence[str] = DEFAULT_MOVES) -> Iterator[str]:
    """The neighbours of :func:`neighbours`, lazily and without a limit: distinct canonical SMILES in the
    random order of the edits fixed by ``seed`` (a search draws a few at a time and continues later).

    Raises (at the call, not at the first ``next``):
        InvalidMoleculeError: when the molecule cannot be parsed.
        NmrLensError: for an unknown move.
    """
    from rdkit import Chem

    from nmrlens.chem.mol import canonical_smiles, mol_formula
    from nmrlens.chem.validate import to_mol

    unknown = [m for m in moves if m not in MOVES]
    if unknown:
        raise NmrLensError(f"moves: unknown {unknown}; allowed: {', '.join(MOVES)}")
    mol = Chem.Mol(to_mol(molecule))
    if any(a.GetFormalCharge() for a in mol.GetAtoms()):
        return iter(())
    base = Chem.RWMol(mol)
    try:
        Chem.Kekulize(base, clearAromaticFlags=True)
    except Exception:  # noqa: BLE001
        return iter(())
    for a in base.GetAtoms():  # hydrogens follow the valences of the edited atoms
        a.SetNoImplicit(False)
        a.SetNumExplicitHs(0)
    edits = _edits(mol, base, moves)
    random.Random(seed).shuffle(edits)

    def products() -> Iterator[str]:
        formula = mol_formula(mol)
        het = _hetero_bonds(mol)
        seen = {canonical_smiles(mol)}
        for edit in edits:
            rw = _apply(base, edit)
            m = _product(rw) if rw is not None else None
            if m is None or _hetero_bonds(m) > het or mol_formula(m) != formula or implausible(m):
                continue
            smi = canonical_smiles(m)
            if smi not in seen:
                seen.add(smi)
                yield smi

    return products()
