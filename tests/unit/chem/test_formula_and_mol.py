"""Chemistry helpers: formulas, parsing that raises, symmetry classes, H counts, stereocentres."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nmrlens.chem import (
    attached_h_counts,
    check_elements,
    chiral_center_count,
    inchikey_block,
    mol_formula,
    mol_inchikey,
    normalize_formula,
    parse_formula,
    parse_molblock,
    parse_smiles,
    symmetry_classes,
)
from nmrlens.errors import InvalidMoleculeError, NmrLensError


def test_parse_formula() -> None:
    assert parse_formula("C9H10O2") == {"C": 9, "H": 10, "O": 2}
    assert parse_formula("CH3CH2OH") == {"C": 2, "H": 6, "O": 1}
    assert normalize_formula("H2O") == "H2O"
    assert normalize_formula("ClH4N") == "H4ClN"  # RDKit style: H first without C
    assert normalize_formula("NC4H12+") == "C4H12N+"
    assert normalize_formula("C2H8N2 2+") == normalize_formula("C2H8N2+2") == "C2H8N2+2"
    assert normalize_formula("C17H13O11S-") == "C17H13O11S-"
    assert normalize_formula("OCH4") == "CH4O"
    assert normalize_formula("BrC6H5") == "C6H5Br"


@pytest.mark.parametrize("bad", ["", "c9h10", "C9H10Xx", "9C", "C-1H", "+2", "C" * 300, "C9 H10)"])
def test_bad_formula_raises(bad: str) -> None:
    with pytest.raises(InvalidMoleculeError, match="formula"):
        parse_formula(bad)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_formula_fuzz_only_nmrlens_errors(text: str) -> None:
    try:
        parse_formula(text)
    except NmrLensError as exc:
        assert str(exc)


@pytest.mark.parametrize("bad", ["", "C1CC", "not a smiles", "C(C)(C)(C)(C)C", "x" * 6000])
def test_parse_smiles_raises(bad: str) -> None:
    with pytest.raises(InvalidMoleculeError, match="smiles"):
        parse_smiles(bad)


def test_benzyl_acetate_facts() -> None:
    mol = parse_smiles("CC(=O)OCc1ccccc1")
    assert mol_formula(mol) == "C9H10O2"
    assert mol_inchikey(mol) == "QUKGYYKBILRGFE-UHFFFAOYSA-N"
    assert inchikey_block(mol_inchikey(mol)) == "QUKGYYKBILRGFE"
    assert attached_h_counts(mol) == [3, 0, 0, 0, 2, 0, 1, 1, 1, 1, 1]
    classes = symmetry_classes(mol)
    # ortho carbons (6, 10) and meta carbons (7, 9) are equivalent; para (8) is alone
    assert classes[6] == classes[10] and classes[7] == classes[9]
    assert len(set(classes)) == 9
    assert chiral_center_count(mol) == 0


def test_chiral_centres() -> None:
    assert chiral_center_count(parse_smiles("C[C@H](N)C(=O)O")) == 1
    assert chiral_center_count(parse_smiles("CC(N)C(=O)O")) == 1
    assert chiral_center_count(parse_smiles("CC(N)C(=O)O"), include_unassigned=False) == 0


def test_check_elements() -> None:
    check_elements(parse_smiles("CCBr"))
    with pytest.raises(InvalidMoleculeError, match="unsupported element"):
        check_elements(parse_smiles("CC[Sn](C)(C)C"))


def test_molblock_round_trip_keeps_order() -> None:
    from rdkit import Chem

    mol = parse_smiles("OCC")
    block = Chem.MolToMolBlock(mol)
    back = parse_molblock(block)
    assert [a.GetSymbol() for a in back.GetAtoms()] == ["O", "C", "C"]
    with pytest.raises(InvalidMoleculeError, match="molblock"):
        parse_molblock("garbage")
