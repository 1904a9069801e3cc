"""Proton groups, typical couplings and first-order multiplets."""

from __future__ import annotations

import pytest

from nmrlens.chem import parse_smiles
from nmrlens.chem.couplings import J_META, J_ORTHO_6, J_TRANS, proton_couplings, proton_groups
from nmrlens.spectra.from_shifts import c13_spectrum, h1_spectrum, multiplicity_from_couplings


@pytest.mark.parametrize(
    ("couplings", "label", "js"),
    [
        ([], "s", ()),
        ([(1, 7.0)], "d", (7.0,)),
        ([(3, 7.0)], "q", (7.0,)),
        ([(3, 7.0), (2, 7.2)], "sext", (7.1,)),  # merged: within 1 Hz
        ([(1, 7.8), (1, 1.8)], "dd", (7.8, 1.8)),
        ([(2, 7.8), (1, 1.8)], "td", (7.8, 1.8)),
        ([(1, 16.5), (3, 7.0)], "dq", (16.5, 7.0)),
        ([(6, 7.0)], "sept", (7.0,)),
        ([(1, 12.0), (1, 7.0), (1, 4.0), (1, 2.0)], "m", ()),  # 4 distinct couplings
        ([(3, 7.0), (3, 3.0)], "qq", (7.0, 3.0)),  # 16 lines: still first order
        ([(3, 7.0), (4, 3.0)], "m", ()),  # 20 lines
    ],
)
def test_first_order_multiplicity(couplings, label: str, js: tuple) -> None:
    got_label, got_js, width = multiplicity_from_couplings(couplings)
    assert got_label == label
    assert got_js == pytest.approx(js)
    assert width == pytest.approx(sum(n * j for n, j in couplings))


def test_groups_and_couplings_of_ethyl_acetate() -> None:
    mol = parse_smiles("CCOC(C)=O")
    groups = proton_groups(mol)
    assert [(g.atoms, g.n_h) for g in groups] == [((0,), 3), ((1,), 2), ((4,), 3)]
    assert proton_couplings(mol, groups) == {(0, 1): [(2, 7.0)], (1, 0): [(3, 7.0)]}


def test_aromatic_ortho_meta_and_trans_alkene() -> None:
    mol = parse_smiles("Clc1ccccc1")
    c = proton_couplings(mol)
    groups = proton_groups(mol)
    para = next(i for i, g in enumerate(groups) if g.atoms == (4,))
    assert sorted(j for (a, _), cs in c.items() if a == para for _, j in cs) == [J_META, J_META, J_ORTHO_6, J_ORTHO_6]
    mol = parse_smiles("C/C=C/C(=O)O")
    assert (J_TRANS in [j for cs in proton_couplings(mol).values() for _, j in cs])


def test_h1_spectrum_of_ethyl_butanoate_and_exchangeable() -> None:
    mol = parse_smiles("CCCC(=O)OCC")
    sp = h1_spectrum(mol, [0.95, 1.65, 2.28, None, None, None, 4.12, 1.25])
    got = [(p.shift, p.mult, p.nH) for p in sp.peaks]
    assert got == [(4.12, "q", 2), (2.28, "t", 2), (1.65, "sext", 2), (1.25, "t", 3), (0.95, "t", 3)]
    sp = h1_spectrum(parse_smiles("OCC(C)C"), [2.0, 3.4, 1.75, 0.9, 0.9])
    assert [(p.mult, p.nH) for p in sp.peaks] == [("d", 2), ("br s", 1), ("m", 1), ("d", 6)]
    m = sp.peaks[2]
    assert m.shift_min < 1.75 < m.shift_max  # a multiplet "m" is reported as a range


def test_c13_spectrum_merges_equivalent_carbons() -> None:
    mol = parse_smiles("CC(=O)OCc1ccccc1")
    shifts = [21.0, 170.9, None, None, 66.3, 136.0, 128.2, 128.6, 128.3, 128.6, 128.2]
    sp = c13_spectrum(mol, shifts)
    assert [(p.shift, p.mult, p.count) for p in sp.peaks] == [
        (170.9, "S", None), (136.0, "S", None), (128.6, "D", 2), (128.3, "D", None), (128.2, "D", 2),
        (66.3, "T", None), (21.0, "Q", None)]
    assert sp.peaks[2].atoms == (7, 9)
