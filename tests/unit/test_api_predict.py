"""api.predict: peak lists and per-atom shifts, clear errors for unsupported molecules."""

from __future__ import annotations

import pytest

from nmrlens import api
from nmrlens.errors import InvalidMoleculeError, NmrLensError


def test_predict_structure(tiny_shift_checkpoint: str) -> None:
    pred = api.predict("CC(=O)OCc1ccccc1", checkpoint=tiny_shift_checkpoint)
    assert pred.smiles == "CC(=O)OCc1ccccc1"
    assert pred.query.formula == "C9H10O2"
    c13, h1 = pred.query.spectrum("13C"), pred.query.spectrum("1H")
    assert len(c13.peaks) == 7 and sum(p.count or 1 for p in c13.peaks) == 9
    assert sum(m.nH for m in h1.peaks) == 10
    assert [a.element for a in pred.atoms] == ["C", "C", "O", "O", "C", "C", "C", "C", "C", "C", "C"]
    assert all((a.c13 is None) == (a.element != "C") for a in pred.atoms)
    assert all(a.c13_sd is None or a.c13_sd > 0 for a in pred.atoms)


def test_predict_only_one_nucleus(tiny_shift_checkpoint: str) -> None:
    pred = api.predict("CCO", nuclei=["1H"], checkpoint=tiny_shift_checkpoint)
    assert pred.query.nuclei == ["1H"]
    with pytest.raises(NmrLensError, match="nucleus"):
        api.predict("CCO", nuclei=["19F"], checkpoint=tiny_shift_checkpoint)


@pytest.mark.parametrize(
    ("smiles", "message"),
    [
        ("not a smiles", "not a valid SMILES"),
        ("C[Sn](C)(C)C", "unsupported element"),
        ("[CH3]", "radical"),
        ("CC(=O)[O-].C[N+](C)(C)C", "disconnected"),
        ("C" * 101, "heavy atoms"),
    ],
)
def test_unsupported_molecules(tiny_shift_checkpoint: str, smiles: str, message: str) -> None:
    with pytest.raises(InvalidMoleculeError, match=message):
        api.predict(smiles, checkpoint=tiny_shift_checkpoint)


def test_predict_many_matches_single(tiny_shift_checkpoint: str) -> None:
    many = api.predict_many(["CCO", "c1ccccc1", "CC(C)=O"], checkpoint=tiny_shift_checkpoint)
    assert [p.query for p in many] == [api.predict(s, checkpoint=tiny_shift_checkpoint).query
                                       for s in ["CCO", "c1ccccc1", "CC(C)=O"]]


def test_predict_smiles_is_tolerant_and_keeps_order(tiny_shift_checkpoint: str) -> None:
    from nmrlens import api

    smiles = ["CCO", "not a smiles", "C[Fe]C", "c1ccccc1"]
    preds = api.predict_smiles(smiles, checkpoint=tiny_shift_checkpoint, batch_size=2)
    assert [p is None for p in preds] == [False, True, True, False]
    assert preds[0].smiles == "CCO" and preds[3].query.spectrum("13C") is not None
    # the same prediction as the strict batch call
    one = api.predict_many(["CCO"], checkpoint=tiny_shift_checkpoint)[0]
    assert preds[0].query == one.query
