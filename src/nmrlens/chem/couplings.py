"""Proton groups and their typical first-order couplings, from the molecular graph.

A *proton group* is a symmetry class of hydrogen-bearing heavy atoms (its protons are taken as
equivalent). For every pair of groups that couple, :func:`proton_couplings` gives a typical J (Hz):

===========================================  ===========
path                                          J (Hz)
===========================================  ===========
H-C(sp3)-C-H vicinal (freely rotating)        7.0
H-C=C-H cis / trans / unknown geometry        10.5 / 16.5 / 12.0
=CH2 geminal                                  1.5
aromatic ortho (6-ring / 5-ring)              7.8 / 3.5
aromatic meta (6-ring)                        1.8
CHO to the alpha C-H                          2.0
===========================================  ===========

Protons on O, N and S are exchangeable: no couplings (reported as broad singlets). These are
textbook values (e.g. Pretsch, *Structure Determination of Organic Compounds*) meant to give the
right multiplicity pattern, not precise J.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from rdkit.Chem import Mol

__all__ = ["ProtonGroup", "proton_groups", "proton_couplings", "EXCHANGEABLE"]

EXCHANGEABLE = frozenset({"O", "N", "S"})
J_VICINAL = 7.0
J_CIS, J_TRANS, J_VINYL = 10.5, 16.5, 12.0
J_GEMINAL_VINYL = 1.5
J_ORTHO_6, J_ORTHO_5, J_META = 7.8, 3.5, 1.8
J_ALDEHYDE = 2.0


@dataclass(frozen=True)
class ProtonGroup:
    """Equivalent hydrogen-bearing heavy atoms and their protons.

    Attributes:
        atoms: heavy-atom indices (molecule order).
        n_h: total number of protons in the group.
        element: element of the heavy atoms.
        exchangeable: True for OH/NH/SH protons.
    """

    atoms: tuple[int, ...]
    n_h: int
    element: str
    exchangeable: bool


def proton_groups(mol: "Mol") -> list[ProtonGroup]:
    """Proton groups of a molecule (implicit or explicit H), ordered by first atom index."""
    from nmrlens.chem.mol import symmetry_classes

    classes = symmetry_classes(mol)
    groups: dict[int, list[int]] = {}
    for atom in mol.GetAtoms():
        if atom.GetAtomicNum() > 1 and atom.GetTotalNumHs(includeNeighbors=True) > 0:
            groups.setdefault(classes[atom.GetIdx()], []).append(atom.GetIdx())
    out = []
    for atoms in sorted(groups.values(), key=lambda a: a[0]):
        el = mol.GetAtomWithIdx(atoms[0]).GetSymbol()
        n_h = sum(mol.GetAtomWithIdx(a).GetTotalNumHs(includeNeighbors=True) for a in atoms)
        out.append(ProtonGroup(tuple(atoms), n_h, el, el in EXCHANGEABLE))
    return out


def _double_bond_j(mol: "Mol", bond: object, a: int, b: int) -> float:
    """J between H on atom a and H on atom b across the double bond ``bond`` (cis/trans when known)."""
    from rdkit import Chem

    stereo = bond.GetStereo()  # type: ignore[attr-defined]
    if stereo in (Chem.BondStereo.STEREONONE, Chem.BondStereo.STEREOANY):
        return J_VINYL
    # with one H on each end, the stereo atoms are the heavy substituents; H's are cis when the
    # heavy substituents are cis (Z), i.e. E/trans for the substituents means H-H trans.
    sa = list(bond.GetStereoAtoms())  # type: ignore[attr-defined]
    if len(sa) != 2:
        return J_VINYL
    subst_cis = stereo in (Chem.BondStereo.STEREOZ, Chem.BondStereo.STEREOCIS)
    return J_CIS if subst_cis else J_TRANS


def proton_couplings(mol: "Mol", groups: list[ProtonGroup] | None = None) -> dict[tuple[int, int], list[tuple[int, float]]]:
    """Couplings between proton groups.

    Returns:
        ``{(g, h): [(n_partner_protons, J_Hz), ...]}`` for group indices g != h: the protons of
        group g are split by ``n`` protons of group h with coupling J (for one representative atom
        of g; symmetric groups have the same pattern).
    """
    groups = groups if groups is not None else proton_groups(mol)
    group_of = {a: gi for gi, g in enumerate(groups) for a in g.atoms}
    ring_info = mol.GetRingInfo()
    out: dict[tuple[int, int], list[tuple[int, float]]] = {}

    def add(gi: int, gj: int, n: int, j: float) -> None:
        if gi != gj and n > 0:
            out.setdefault((gi, gj), []).append((n, j))

    for gi, g in enumerate(groups):
        if g.exchangeable:
            continue
        a = mol.GetAtomWithIdx(g.atoms[0])
        for nb in a.GetNeighbors():
            bond = mol.GetBondBetweenAtoms(a.GetIdx(), nb.GetIdx())
            # vicinal: H-A-B-H where B carries H
            if nb.GetIdx() in group_of and not groups[group_of[nb.GetIdx()]].exchangeable:
                n_h = nb.GetTotalNumHs(includeNeighbors=True)
                if bond.GetIsAromatic():
                    size = min((len(r) for r in ring_info.AtomRings() if a.GetIdx() in r and nb.GetIdx() in r), default=6)
                    j = J_ORTHO_5 if size == 5 else J_ORTHO_6
                elif str(bond.GetBondType()) == "DOUBLE":
                    j = _double_bond_j(mol, bond, a.GetIdx(), nb.GetIdx())
                elif a.GetSymbol() == "C" and a.GetTotalNumHs() == 1 and any(
                    str(b.GetBondType()) == "DOUBLE" and b.GetOtherAtom(a).GetSymbol() == "O" for b in a.GetBonds()
                ):
                    j = J_ALDEHYDE
                elif nb.GetSymbol() == "C" and nb.GetTotalNumHs() == 1 and any(
                    str(b.GetBondType()) == "DOUBLE" and b.GetOtherAtom(nb).GetSymbol() == "O" for b in nb.GetBonds()
                ):
                    j = J_ALDEHYDE
                else:
                    j = J_VICINAL
                add(gi, group_of[nb.GetIdx()], n_h, j)
            # meta coupling in aromatic 6-rings: H-A:X:B-H
            if bond.GetIsAromatic():
                for nb2 in nb.GetNeighbors():
                    if nb2.GetIdx() == a.GetIdx() or nb2.GetIdx() not in group_of:
                        continue
                    b2 = mol.GetBondBetweenAtoms(nb.GetIdx(), nb2.GetIdx())
                    same_6ring = any(len(r) == 6 and a.GetIdx() in r and nb2.GetIdx() in r for r in ring_info.AtomRings())
                    if b2.GetIsAromatic() and same_6ring and mol.GetBondBetweenAtoms(a.GetIdx(), nb2.GetIdx()) is None:
                        add(gi, group_of[nb2.GetIdx()], nb2.GetTotalNumHs(includeNeighbors=True), J_META)
    return out
