"""BRICS recombination: valid, new, deduplicated, filtered, reproducible."""

from __future__ import annotations

import pytest
from rdkit import Chem

from nmrlens.chem.enumerate import brics_fragments, enumerate_brics
from nmrlens.errors import InvalidMoleculeError, NmrLensError

SOURCE = ["CCOC(=O)c1ccccc1", "CC(=O)Nc1ccc(O)cc1", "COc1ccc(CCN)cc1", "O=C(O)CCc1ccccc1", "CCN(CC)C(=O)c1cccnc1",
          "Clc1ccc(OCC(=O)O)cc1", "CC(C)Cc1ccc(C(C)C(=O)O)cc1"]


def test_products_are_valid_new_unique_and_filtered() -> None:
    out = enumerate_brics(SOURCE, n=30, max_heavy_atoms=20, seed=1)
    assert 10 <= len(out) <= 30
    assert len(set(out)) == len(out)
    inputs = {Chem.MolToSmiles(Chem.MolFromSmiles(s)) for s in SOURCE}
    for smi in out:
        mol = Chem.MolFromSmiles(smi)
        assert mol is not None and Chem.MolToSmiles(mol) == smi
        assert mol.GetNumHeavyAtoms() <= 20
        assert "*" not in smi
        assert smi not in inputs
        assert len(Chem.GetMolFrags(mol)) == 1


def test_reproducible_and_seed_dependent() -> None:
    a = enumerate_brics(SOURCE, n=15, seed=3)
    assert a == enumerate_brics(SOURCE, n=15, seed=3)
    assert a != enumerate_brics(SOURCE, n=15, seed=4)


def test_element_filter() -> None:
    out = enumerate_brics(SOURCE, n=20, elements=["C", "H", "O"], seed=0)
    assert out
    for smi in out:
        assert {a.GetSymbol() for a in Chem.MolFromSmiles(smi).GetAtoms()} <= {"C", "O"}


def test_invalid_inputs_are_skipped_and_bad_arguments_raise() -> None:
    assert enumerate_brics(["not a smiles", *SOURCE], n=5, seed=0)
    with pytest.raises(InvalidMoleculeError):
        enumerate_brics(["C", "not a smiles"], n=5)
    with pytest.raises(InvalidMoleculeError):
        enumerate_brics("CCO", n=5)  # type: ignore[arg-type]
    with pytest.raises(NmrLensError, match="n: got -1"):
        enumerate_brics(SOURCE, n=-1)
    with pytest.raises(NmrLensError, match="elements"):
        enumerate_brics(SOURCE, n=3, elements=["Xx"])
    assert enumerate_brics(SOURCE, n=0) == []


def test_fragments_have_attachment_points() -> None:
    frags = brics_fragments(SOURCE)
    assert frags and all("*" in f for f in frags)
