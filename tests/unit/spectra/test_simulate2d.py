"""Simulated HSQC/HMBC peak lists and SMARTS substructure labels."""

from __future__ import annotations

import pytest
from rdkit import Chem

from nmrlens.errors import InvalidMoleculeError, NmrLensError
from nmrlens.spectra.simulate2d import (AtomShiftTable, atom_shifts_from_record, merge_atom_shifts, peaks_on_atoms,
                                        simulate_hmbc, simulate_hsqc, substructure_atoms, substructure_labels,
                                        union_spectra)

# ethyl acetate: atoms 0 CH3, 1 CH2, 2 O, 3 C=O, 4 CH3(acetyl), 5 O=
ETAC = "CCOC(C)=O"


def _etac_table() -> tuple[Chem.Mol, AtomShiftTable]:
    mol = Chem.MolFromSmiles(ETAC)
    t = AtomShiftTable(c13={0: 14.2, 1: 60.4, 3: 171.0, 4: 21.0}, h1={0: (1.26,), 1: (4.12,), 4: (2.04,)},
                       n_h={a.GetIdx(): a.GetTotalNumHs() for a in mol.GetAtoms()})
    return mol, t


def test_hsqc_one_peak_per_ch() -> None:
    mol, t = _etac_table()
    hsqc = simulate_hsqc(mol, t)
    got = sorted((p.atoms_f1[0], p.f2, p.f1, p.intensity) for p in hsqc.peaks)
    assert got == [(0, 1.26, 14.2, 3.0), (1, 4.12, 60.4, 2.0), (4, 2.04, 21.0, 3.0)]
    assert t.coverage(mol) == 1.0


def test_hmbc_two_and_three_bond_correlations() -> None:
    mol, t = _etac_table()
    pairs = sorted((p.atoms_f2[0], p.atoms_f1[0]) for p in simulate_hmbc(mol, t).peaks)
    # H on 0 -> C1 (2J); H on 1 -> C0 (2J), C3 (3J via O); H on 4 -> C3 (2J); no 1J, no 4J (H0 -> C3)
    assert pairs == [(0, 1), (1, 0), (1, 3), (4, 3)]
    with pytest.raises(NmrLensError, match="bonds"):
        simulate_hmbc(mol, t, bonds=(7,))


def test_diastereotopic_protons_give_two_hsqc_peaks() -> None:
    mol, t = _etac_table()
    t.h1[1] = (4.05, 4.15)
    peaks = [p for p in simulate_hsqc(mol, t).peaks if p.atoms_f1 == (1,)]
    assert sorted(p.f2 for p in peaks) == [4.05, 4.15] and all(p.intensity == 1.0 for p in peaks)


def test_substructures() -> None:
    trp = Chem.MolFromSmiles("N[C@@H](Cc1c[nH]c2ccccc12)C(=O)O")
    chol = Chem.MolFromSmiles("CC(C)CCC[C@@H](C)[C@H]1CC[C@H]2[C@@H]3CC=C4C[C@@H](O)CC[C@]4(C)[C@H]3CC[C@]12C")
    stearic = Chem.MolFromSmiles("CCCCCCCCCCCCCCCCCC(=O)O")
    valeric = Chem.MolFromSmiles("CCCCC(=O)O")
    butyric = Chem.MolFromSmiles("CCCC(=O)O")
    bile = Chem.MolFromSmiles("C[C@H](CCC(=O)O)[C@H]1CC[C@H]2[C@@H]3CC[C@@H]4C[C@H](O)CC[C@]4(C)[C@H]3CC[C@]12C")
    assert len(substructure_atoms(trp, "indol")) == 9
    assert len(substructure_atoms(chol, "steroids")) == 17
    assert len(substructure_atoms(stearic, "fattyacids")) == 20  # 18 C + 2 O
    assert len(substructure_atoms(valeric, "fattyacids")) == 7
    assert not substructure_atoms(butyric, "fattyacids")
    labels = substructure_labels(bile)
    assert labels["steroids"] and not labels["fattyacids"] and not labels["indol"]  # branched side chain
    assert not any(substructure_labels(Chem.MolFromSmiles("c1ccccc1")).values())
    with pytest.raises(NmrLensError, match="substructure"):
        substructure_atoms(trp, "lipid")


def test_peaks_on_atoms_and_union() -> None:
    mol, t = _etac_table()
    hmbc = simulate_hmbc(mol, t)
    on = peaks_on_atoms(hmbc, {0, 1})
    assert sum(on) == 2  # H0->C1 and H1->C0
    u = union_spectra([hmbc, hmbc])
    assert len(u.peaks) == 2 * len(hmbc.peaks)
    with pytest.raises(NmrLensError, match="differ"):
        union_spectra([hmbc, simulate_hsqc(mol, t)])


def test_record_and_merge() -> None:
    mol = Chem.MolFromSmiles("CCO")
    mb = Chem.MolToMolBlock(mol)
    rec = {"nmrshiftdb2_id": 1, "assigned": True, "molblock": mb, "spectra": [
        {"nucleus": "13C", "peaks": [{"shift": 58.3, "atoms": [1]}, {"shift": 18.4, "atoms": [0]}]},
        {"nucleus": "1H", "peaks": [{"shift": 3.7, "atoms": [1]}, {"shift": 1.2, "atoms": [0]}, {"shift": 2.6, "atoms": [2]}]},
    ]}
    m, table = atom_shifts_from_record(rec)
    assert table.c13 == {0: 18.4, 1: 58.3} and table.h1 == {0: (1.2,), 1: (3.7,), 2: (2.6,)}
    assert [p.f1 for p in simulate_hsqc(m, table).peaks] == [58.3, 18.4]  # no O-H cross peak
    fb = AtomShiftTable(c13={0: 20.0, 1: 60.0}, h1={0: (1.0,)}, n_h=table.n_h, source="predicted")
    merged = merge_atom_shifts(AtomShiftTable(c13={1: 58.3}, h1={}, n_h=table.n_h), fb)
    assert merged.c13 == {0: 20.0, 1: 58.3} and merged.source == "assigned+predicted"
    with pytest.raises(InvalidMoleculeError):
        atom_shifts_from_record({"assigned": False, "molblock": None})


def test_real_assigned_records_simulate(data_dir) -> None:
    import itertools

    from nmrlens.data.datasets import iter_nmrshiftdb2

    n = 0
    for rec in itertools.islice((r for r in iter_nmrshiftdb2(data_dir) if r.get("assigned")), 200):
        mol, t = atom_shifts_from_record(rec)
        hsqc = simulate_hsqc(mol, t)
        for p in hsqc.peaks:
            assert mol.GetAtomWithIdx(p.atoms_f1[0]).GetSymbol() == "C" and mol.GetAtomWithIdx(p.atoms_f1[0]).GetTotalNumHs() > 0
            assert -1 <= p.f2 <= 14 and -10 <= p.f1 <= 230
        n += bool(hsqc.peaks)
    assert n >= 10  # only about one assigned record in eight has atom-assigned 1H peaks
