"""Formula-preserving moves and the plausibility filter of the structure search."""

from __future__ import annotations

from collections import Counter

import pytest

from nmrlens.chem.isomers import DEFAULT_MOVES, MOVES, implausible, neighbours
from nmrlens.chem.mol import mol_formula, parse_smiles
from nmrlens.errors import InvalidMoleculeError, NmrLensError


def _h_profile(smiles: str) -> Counter[tuple[str, int]]:
    m = parse_smiles(smiles)
    return Counter((a.GetSymbol(), a.GetTotalNumHs()) for a in m.GetAtoms())


def test_benzyl_acetate_is_one_move_from_ethyl_benzoate() -> None:
    got = neighbours("CCOC(=O)c1ccccc1", limit=1000)
    assert "CC(=O)OCc1ccccc1" in got
    assert set(got) < set(neighbours("CCOC(=O)c1ccccc1", limit=1000, moves=MOVES))
    assert "CCOC(=O)c1ccccc1" not in got and len(got) == len(set(got))
    for smi in got:
        m = parse_smiles(smi)
        assert mol_formula(m) == "C9H10O2" and implausible(m) is None
        assert "OO" not in smi  # no peroxide made by a move


def test_small_molecules() -> None:
    assert set(neighbours("CCO")) == {"COC"}  # swap O and C
    # acetone: =O moved to a methyl (propanal); the swap of O and a methyl makes the enol, which is filtered;
    # with all moves also a ring instead of C=O (cyclopropanol)
    assert set(neighbours("CC(C)=O")) == {"CCC=O"}
    assert set(neighbours("CC(C)=O", moves=MOVES)) == {"CCC=O", "OC1CC1"}
    assert neighbours("C") == []
    assert len(neighbours("CCCCCCO", limit=2)) == 2
    with pytest.raises(InvalidMoleculeError):
        neighbours("C1CC")
    with pytest.raises(NmrLensError, match="limit"):
        neighbours("CCO", limit=0)
    with pytest.raises(NmrLensError, match="moves"):
        neighbours("CCO", moves=("teleport",))


def test_switch_keeps_every_atoms_hydrogens() -> None:
    smi = "CCOC(=O)c1ccccc1"
    got = neighbours(smi, limit=1000, moves=("switch",))
    assert got  # e.g. ring sizes and chain positions change
    for s in got:
        assert _h_profile(s) == _h_profile(smi)


def test_ring_moves_trade_a_ring_for_a_double_bond() -> None:
    assert "C1CCCCC1" in neighbours("C=CCCCC", limit=1000, moves=("close",))  # hexene -> cyclohexane
    assert "C=CCCCC" in neighbours("C1CCCCC1", limit=1000, moves=("open",))
    assert "CC=CCC" in neighbours("C=CCCC", limit=1000, moves=("shift",))


def test_moves_are_reproducible_and_limited_draws_extend() -> None:
    a = neighbours("CCOC(=O)c1ccccc1", limit=3, seed=3)
    b = neighbours("CCOC(=O)c1ccccc1", limit=6, seed=3)
    assert a == b[:3] and len(a) == 3 and len(neighbours("CCOC(=O)c1ccccc1", limit=1000)) == 8
    assert set(MOVES) == {"terminal", "swap", "switch", "shift", "close", "open"}
    assert set(DEFAULT_MOVES) <= set(MOVES)


def test_stereo_away_from_the_edit_is_kept() -> None:
    got = neighbours("C[C@H](N)C(=O)OCC", limit=1000, moves=("swap",))
    assert any("@" in s for s in got)


@pytest.mark.parametrize("smiles,why", [
    ("C=C=CC", "cumulated"), ("C=C(C)O", "enol"), ("CC1=CC1", "ring3 unsaturation"),
    ("C1#CCCCCCC1", "ring triple bond"), ("CS(C)(C)C", "hypervalent"), ("C[SH](C)C", "hypervalent"),
])
def test_implausible(smiles: str, why: str) -> None:
    assert implausible(parse_smiles(smiles)) == why


@pytest.mark.parametrize("smiles", ["CS(C)=O", "CS(C)(=O)=O", "O=C=O", "S=C=Nc1ccccc1", "CC(=O)CC(C)=O",
                                    "Oc1ccccc1", "COP(=O)(OC)OC", "C1CC1", "CC#CC"])
def test_plausible(smiles: str) -> None:
    assert implausible(parse_smiles(smiles)) is None
