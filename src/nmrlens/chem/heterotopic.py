"""Topologically equivalent atoms that NMR sees apart: diastereotopic groups and hindered rotation.

:func:`nmrlens.chem.mol.symmetry_classes` merges atoms that the molecular *graph* cannot tell apart.
Some of them are chemically inequivalent and give separate 13C/1H signals:

- ``alkene`` / ``imine``: two equal groups on one end of a C=C or C=N bond whose other end carries two
  different substituents (the prenyl group's methyls, 17.7 and 25.7 ppm; acetone oxime's methyls);
- ``amide``, ``thioamide``, ``carbamate``, ``amidine``, ``nitroso``: two equal groups on an N whose bond
  to C(=O), C(=S), C(=N) or N(=O) rotates slowly on the NMR time scale (N,N-diethylamides,
  N-acylpiperidines, nitrosamines);
- ``sp3``: two equal groups on a prochiral sp3 carbon in a molecule with another stereogenic element
  (the methyls of an isopropyl group next to a stereocentre).

Ureas and plain enamines were left out: in the atom-assigned nmrshiftdb2 training records their groups
are mostly reported as one signal (0 of 5 and 2 of 11 pairs split, against 139 of 160 for alkenes,
27 of 36 for amides and 336 of 560 for the sp3 case; ``python benchmarks/heterotopic_offsets.py``).

Each member of a pair gets a *tag*: for the planar cases +1 when it sits cis to the higher-priority
(CIP rank) substituent across the double bond, or syn to the double-bonded heteroatom of the amide-like
group, and -1 for its partner (from 2D coordinates); 0 for the sp3 case, where a 2D structure does not
say which group is which. :func:`nmr_classes` splits the symmetry classes accordingly (the split
propagates to the groups' own atoms, e.g. the CH3 of both ethyls of an N,N-diethylamide).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

from nmrlens.chem.mol import symmetry_classes

if TYPE_CHECKING:  # pragma: no cover
    from rdkit.Chem import Mol

__all__ = ["RULES", "C13_TAG_OFFSETS", "HeterotopicPair", "heterotopic_pairs", "nmr_classes", "heterotopic_tags",
           "c13_tag_offsets"]

#: Rule names, in the order they are tried for one pair.
RULES: tuple[str, ...] = ("alkene", "imine", "amide", "thioamide", "carbamate", "amidine", "nitroso", "sp3")
_ISOTOPE_MARK = 99
#: 13C offset (ppm) of a tagged pair member, times its tag, by (rule, attached H count): half the mean
#: shift difference (tag +1 minus tag -1) over the atom-assigned *training* records of the shipped split,
#: kept where at least 10 pairs support it (``python benchmarks/heterotopic_offsets.py``, 2026-11-22:
#: alkene CH3 n = 110, CH2 n = 11, quaternary C n = 32; amide CH2 n = 28). The methyl cis to the larger substituent of
#: a trisubstituted alkene is upfield (gamma-gauche), e.g. the prenyl group's Z-methyl at 17.7 ppm against
#: 25.7 ppm. A 2D graph network predicts one value for both members; these offsets only order them.
C13_TAG_OFFSETS: dict[tuple[str, int], float] = {("alkene", 3): -3.06, ("alkene", 2): -1.21, ("alkene", 0): -0.29,
                                                   ("amide", 2): -0.64}


@dataclass(frozen=True)
class HeterotopicPair:
    """Two topologically equivalent atoms on one parent atom that are chemically inequivalent.

    Attributes:
        a, b: atom indices (RDKit); parent: the atom both hang on; rule: one of :data:`RULES`;
        tag_a, tag_b: +1 / -1 for the planar rules (see the module docstring), 0 / 0 for ``sp3``.
    """

    a: int
    b: int
    parent: int
    rule: str
    tag_a: int
    tag_b: int


def _restricted_rule(n_atom: "Mol", partner: "Mol") -> tuple[str, int] | None:
    """(rule, index of the double-bonded heteroatom) when the N-partner bond rotates slowly."""
    from rdkit import Chem

    if partner.GetIsAromatic() or n_atom.GetIsAromatic():
        return None
    for bond in partner.GetBonds():
        if bond.GetBondType() != Chem.BondType.DOUBLE:
            continue
        x = bond.GetOtherAtom(partner)
        if x.GetIdx() == n_atom.GetIdx():
            continue
        sym = x.GetSymbol()
        if partner.GetSymbol() == "N":
            return ("nitroso", x.GetIdx()) if sym == "O" else None
        if partner.GetSymbol() != "C":
            return None
        others = [a for a in partner.GetNeighbors() if a.GetIdx() not in (n_atom.GetIdx(), x.GetIdx())]
        third = others[0].GetSymbol() if others else "H"
        if sym in ("O", "S"):
            if third == "N":
                return None  # ureas, thioureas: one signal as a rule
            if third in ("O", "S"):
                return "carbamate", x.GetIdx()
            return ("amide" if sym == "O" else "thioamide"), x.GetIdx()
        if sym == "N":
            return "amidine", x.GetIdx()
        return None
    return None


def _side(coords: "Sequence[Sequence[float]]", p: int, q: int, x: int) -> float:
    """Sign of the 2D cross product: which side of the line p -> q atom x lies on."""
    (px, py), (qx, qy), (xx, xy) = coords[p][:2], coords[q][:2], coords[x][:2]
    return (qx - px) * (xy - py) - (qy - py) * (xx - px)


def _coords_2d(mol: "Mol") -> list[tuple[float, float]]:
    """2D coordinates of the molecule's own conformer when it is 2D, else of a fresh depiction."""
    from rdkit import Chem
    from rdkit.Chem import rdDepictor

    if mol.GetNumConformers() and not mol.GetConformer().Is3D():
        conf = mol.GetConformer()
        pts = [(conf.GetAtomPosition(i).x, conf.GetAtomPosition(i).y) for i in range(mol.GetNumAtoms())]
        if any(abs(x) + abs(y) > 1e-6 for x, y in pts):
            return pts
    m = Chem.Mol(mol)
    rdDepictor.Compute2DCoords(m)
    conf = m.GetConformer()
    return [(conf.GetAtomPosition(i).x, conf.GetAtomPosition(i).y) for i in range(m.GetNumAtoms())]


def _cip_ranks(mol: "Mol") -> list[int]:
    from rdkit import Chem

    m = Chem.Mol(mol)
    Chem.AssignStereochemistry(m, cleanIt=True, force=True, flagPossibleStereoCenters=False)
    return [int(a.GetProp("_CIPRank")) if a.HasProp("_CIPRank") else 0 for a in m.GetAtoms()]


def heterotopic_pairs(mol: "Mol", ranks: Sequence[int] | None = None) -> list[HeterotopicPair]:
    """Every pair of topologically equivalent geminal atoms that NMR sees apart (module docstring).

    Args:
        mol: RDKit molecule (explicit H atoms allowed; they are never members of a pair).
        ranks: topological class per atom (:func:`nmrlens.chem.mol.symmetry_classes`); computed when None.
    """
    from rdkit import Chem

    ranks = list(ranks) if ranks is not None else symmetry_classes(mol)
    found: list[tuple[int, int, int, str, int | None, int | None]] = []  # a, b, parent, rule, q, ref
    for p in mol.GetAtoms():
        heavy = [n for n in p.GetNeighbors() if n.GetAtomicNum() > 1]
        groups: dict[int, list[int]] = {}
        for n in heavy:
            groups.setdefault(ranks[n.GetIdx()], []).append(n.GetIdx())
        for members in groups.values():
            if len(members) != 2:
                continue
            a, b = members
            rest = [n for n in heavy if n.GetIdx() not in (a, b)]
            rule: tuple[str, int | None, int | None] | None = None
            for bond in p.GetBonds():
                q = bond.GetOtherAtom(p)
                if bond.GetBondType() != Chem.BondType.DOUBLE or bond.GetIsAromatic() or q.GetIdx() in (a, b):
                    continue
                subs = [n.GetIdx() for n in q.GetNeighbors() if n.GetIdx() != p.GetIdx() and n.GetAtomicNum() > 1]
                kinds = [ranks[i] for i in subs] + [-1] * q.GetTotalNumHs(includeNeighbors=True)
                kinds += [-2] * (2 - len(kinds))  # lone pair of an imine N
                if len(kinds) == 2 and kinds[0] != kinds[1] and subs:
                    rule = ("alkene" if q.GetSymbol() == "C" else "imine", q.GetIdx(), None)
                    if len(subs) == 2:
                        cip = _cip_ranks(mol)
                        rule = (rule[0], q.GetIdx(), max(subs, key=lambda i: (cip[i], -i)))
                    else:
                        rule = (rule[0], q.GetIdx(), subs[0])
            if rule is None and p.GetSymbol() == "N" and p.GetDegree() == 3 and len(rest) == 1:
                r = _restricted_rule(p, rest[0])
                if r is not None:
                    rule = (r[0], rest[0].GetIdx(), r[1])
            if rule is None and p.GetSymbol() == "C" and p.GetHybridization() == Chem.HybridizationType.SP3:
                kinds = [ranks[n.GetIdx()] for n in rest] + [-1] * p.GetTotalNumHs(includeNeighbors=True)
                if len(kinds) == 2 and kinds[0] != kinds[1]:
                    marked = Chem.Mol(mol)
                    marked.GetAtomWithIdx(a).SetIsotope(_ISOTOPE_MARK)
                    info = Chem.FindPotentialStereo(marked)
                    if any(not (si.type == Chem.StereoType.Atom_Tetrahedral and si.centeredOn == p.GetIdx())
                           for si in info):
                        rule = ("sp3", None, None)
            if rule is not None:
                found.append((a, b, p.GetIdx(), rule[0], rule[1], rule[2]))
    if not found:
        return []
    coords = _coords_2d(mol) if any(f[4] is not None for f in found) else []
    out = []
    for a, b, parent, rule_name, q, ref in found:
        ta = tb = 0
        if q is not None and ref is not None:
            ref_side = _side(coords, parent, q, ref)
            sa, sb = _side(coords, parent, q, a), _side(coords, parent, q, b)
            if sa * sb < 0 and ref_side != 0:
                ta = 1 if sa * ref_side > 0 else -1
                tb = -ta
        out.append(HeterotopicPair(a, b, parent, rule_name, ta, tb))
    return out


def heterotopic_tags(mol: "Mol", pairs: Sequence[HeterotopicPair] | None = None) -> list[tuple[str, int] | None]:
    """Per atom: ``(rule, tag)`` when it is a member of a heterotopic pair, else None."""
    pairs = heterotopic_pairs(mol) if pairs is None else pairs
    out: list[tuple[str, int] | None] = [None] * mol.GetNumAtoms()
    for pr in pairs:
        out[pr.a] = (pr.rule, pr.tag_a)
        out[pr.b] = (pr.rule, pr.tag_b)
    return out


def nmr_classes(mol: "Mol", pairs: Sequence[HeterotopicPair] | None = None) -> list[int]:
    """Equivalence class per atom as NMR sees it: the topological classes of
    :func:`nmrlens.chem.mol.symmetry_classes`, split where :func:`heterotopic_pairs` finds chemically
    inequivalent groups. Labels are renumbered 0, 1, 2, ... in order of first appearance.

    The members of a pair are told apart by their tag (cis / trans, syn / anti) or, for the ``sp3`` rule,
    by atom order; copies of one pair elsewhere in a symmetric molecule stay together with their
    counterparts when the tags say so.
    """
    from rdkit import Chem

    base = symmetry_classes(mol)
    pairs = heterotopic_pairs(mol, base) if pairs is None else pairs
    if not pairs:
        return base
    marked = Chem.Mol(mol)
    for pr in pairs:
        # the member with tag -1 (or, without tags, the one with the larger index) is marked
        idx = pr.b if (pr.tag_a > pr.tag_b or (pr.tag_a == pr.tag_b and pr.a < pr.b)) else pr.a
        marked.GetAtomWithIdx(idx).SetIsotope(_ISOTOPE_MARK)
    ranks = list(Chem.CanonicalRankAtoms(marked, breakTies=False, includeChirality=True, includeIsotopes=True))
    # keep the original classes' boundaries: (base class, refined rank)
    remap: dict[tuple[int, int], int] = {}
    return [remap.setdefault((b, r), len(remap)) for b, r in zip(base, ranks)]


def c13_tag_offsets(mol: "Mol", pairs: Sequence[HeterotopicPair] | None = None) -> list[float]:
    """Per atom: the 13C offset (ppm) to add to a graph model's prediction so that the members of a
    tagged heterotopic pair come out in the right order (:data:`C13_TAG_OFFSETS`); 0 elsewhere."""
    pairs = heterotopic_pairs(mol) if pairs is None else pairs
    out = [0.0] * mol.GetNumAtoms()
    for pr in pairs:
        for idx, tag in ((pr.a, pr.tag_a), (pr.b, pr.tag_b)):
            atom = mol.GetAtomWithIdx(idx)
            if tag and atom.GetSymbol() == "C":
                out[idx] = tag * C13_TAG_OFFSETS.get((pr.rule, atom.GetTotalNumHs(includeNeighbors=True)), 0.0)
    return out
