"""Heterotopic pairs: topologically equivalent groups that NMR sees apart (nmrlens.chem.heterotopic)."""

from __future__ import annotations

import pytest
from rdkit import Chem
from rdkit.Chem import AllChem, rdDepictor, rdMolTransforms

from nmrlens.chem.heterotopic import C13_TAG_OFFSETS, c13_tag_offsets, heterotopic_pairs, heterotopic_tags, nmr_classes
from nmrlens.chem.mol import symmetry_classes


def _embedded(smiles: str) -> tuple[Chem.Mol, Chem.Mol]:
    """(2D molecule drawn to match a 3D conformer, the 3D molecule): which of two equivalent groups sits
    cis is a property of one geometry, so the tags are read from a drawing of the 3D conformer and
    checked against its dihedrals (an independent computation)."""
    mol3d = Chem.AddHs(Chem.MolFromSmiles(smiles))
    assert AllChem.EmbedMolecule(mol3d, randomSeed=7) == 0
    mol3d = Chem.RemoveHs(mol3d)
    mol2d = Chem.Mol(mol3d)
    rdDepictor.GenerateDepictionMatching3DStructure(mol2d, mol3d)
    assert not mol2d.GetConformer().Is3D()
    return mol2d, mol3d


def _dihedral(mol3d: Chem.Mol, i: int, j: int, k: int, l: int) -> float:
    return abs(rdMolTransforms.GetDihedralDeg(mol3d.GetConformer(), i, j, k, l))


def test_prenyl_methyls_are_told_apart_and_tagged_by_geometry() -> None:
    mol, mol3d = _embedded("CC(C)=CCO")  # 3-methylbut-2-en-1-ol: methyls 0 and 2 on C1, C3=C1, C4 is CH2OH
    pairs = heterotopic_pairs(mol)
    assert [(p.a, p.b, p.parent, p.rule) for p in pairs] == [(0, 2, 1, "alkene")]
    p = pairs[0]
    assert {p.tag_a, p.tag_b} == {1, -1}
    # +1 = cis to the higher-priority substituent of C3 (the CH2OH, against H); checked in 3D
    plus = p.a if p.tag_a == 1 else p.b
    minus = p.b if plus == p.a else p.a
    assert _dihedral(mol3d, plus, 1, 3, 4) < 30
    assert _dihedral(mol3d, minus, 1, 3, 4) > 150
    classes = nmr_classes(mol)
    assert classes[0] != classes[2]
    assert symmetry_classes(mol)[0] == symmetry_classes(mol)[2]
    offs = c13_tag_offsets(mol)
    assert offs[plus] == pytest.approx(C13_TAG_OFFSETS[("alkene", 3)]) and offs[plus] < 0  # Z-methyl upfield
    assert offs[minus] == pytest.approx(-C13_TAG_OFFSETS[("alkene", 3)])
    assert heterotopic_tags(mol)[plus] == ("alkene", 1)


def test_amide_n_substituents_syn_to_oxygen_get_plus_one() -> None:
    mol, mol3d = _embedded("CN(C)C=O")  # DMF
    (p,) = heterotopic_pairs(mol)
    assert p.rule == "amide" and {p.a, p.b} == {0, 2}
    plus = p.a if p.tag_a == 1 else p.b
    assert _dihedral(mol3d, plus, 1, 3, 4) < 30  # CH3-N-C=O syn


@pytest.mark.parametrize("smiles", ["CC(C)c1ccccc1", "CN(C)C(=O)N(C)C", "CC(C)=C(C)C", "CCN(CC)CC", "CC(C)C"])
def test_equivalent_groups_stay_together(smiles: str) -> None:
    mol = Chem.MolFromSmiles(smiles)
    assert heterotopic_pairs(mol) == []
    assert nmr_classes(mol) == symmetry_classes(mol)


def test_isopropyl_next_to_a_stereocentre_is_diastereotopic() -> None:
    mol = Chem.MolFromSmiles("CC(C)C(N)C(=O)O")  # valine: the two methyls differ (17.9 / 19.1 ppm)
    (p,) = heterotopic_pairs(mol)
    assert p.rule == "sp3" and (p.tag_a, p.tag_b) == (0, 0)
    assert nmr_classes(mol)[0] != nmr_classes(mol)[2]
    assert c13_tag_offsets(mol)[0] == 0.0


def test_symmetric_copies_are_paired_consistently() -> None:
    mol = Chem.MolFromSmiles("CC(C)C(C)(O)C(C)C")  # two isopropyls on a prochiral C: 2 x 2 methyls
    classes = nmr_classes(mol)
    methyls = [0, 2, 7, 8]
    groups = sorted(sorted(m for m in methyls if classes[m] == c) for c in {classes[m] for m in methyls})
    assert [len(g) for g in groups] == [2, 2]
    assert all(len({m in (0, 2) for m in g}) == 2 for g in groups)  # one methyl of each isopropyl per class


def test_split_propagates_to_the_groups_own_atoms_and_ignores_explicit_h() -> None:
    mol = Chem.AddHs(Chem.MolFromSmiles("CCN(CC)C(C)=O"))  # N,N-diethylacetamide
    classes = nmr_classes(mol)
    assert classes[1] != classes[3] and classes[0] != classes[4]  # both CH2 and both CH3 apart
    assert all(mol.GetAtomWithIdx(i).GetAtomicNum() > 1 for p in heterotopic_pairs(mol) for i in (p.a, p.b))
    # an N-acyl piperidine's ring carbons next to N differ too
    pip = Chem.MolFromSmiles("CC(=O)N1CCCCC1")
    assert nmr_classes(pip)[4] != nmr_classes(pip)[8]
