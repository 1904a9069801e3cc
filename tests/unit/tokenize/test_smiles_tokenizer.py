"""Closed-vocabulary SMILES tokenizer: exact round trips, bracket-atom parts, real data."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from nmrlens.errors import InvalidMoleculeError, OutputExistsError
from nmrlens.tokenize.smiles import DEFAULT_SMILES_VOCAB, SmilesTokenizer, build_smiles_vocab

HARD = {
    "[13CH3]C(=O)O": ["[", "1", "3", "C", "H", "3", "]", "C", "(", "=", "O", ")", "O"],
    "N[C@@H](C)C(=O)O": ["N", "[", "C", "@@", "H", "]", "(", "C", ")", "C", "(", "=", "O", ")", "O"],
    "c1cc[nH]c1": ["c", "1", "c", "c", "[", "n", "H", "]", "c", "1"],
    "C[N+](=O)[O-]": ["C", "[", "N", "+", "]", "(", "=", "O", ")", "[", "O", "-", "]"],
    "C%10CCCCCCCCC%10": ["C", "%10"] + ["C"] * 8 + ["C", "%10"],
    "F/C=C\\F": ["F", "/", "C", "=", "C", "\\", "F"],
    "[2H]C([2H])([2H])Cl": ["[", "2", "H", "]", "C", "(", "[", "2", "H", "]", ")", "(", "[", "2", "H", "]", ")", "Cl"],
    "[Pt+2]": ["[", "Pt", "+", "2", "]"],
    "[Fe@TH1](Cl)(Br)(I)F": ["[", "Fe", "@TH1", "]", "(", "Cl", ")", "(", "Br", ")", "(", "I", ")", "F"],
    "[NH3]->[Pt]": ["[", "N", "H", "3", "]", "->", "[", "Pt", "]"],
    "C%(123)CC%(123)": ["C", "%(", "1", "2", "3", ")", "C", "C", "%(", "1", "2", "3", ")"],
    "[CH3:12][OH:2]": ["[", "C", "H", "3", ":", "1", "2", "]", "[", "O", "H", ":", "2", "]"],
    "[Na+].[Cl-]": ["[", "Na", "+", "]", ".", "[", "Cl", "-", "]"],
    "[Sc]": ["[", "Sc", "]"],
    "c1ccc2[se]ccc2c1": ["c", "1", "c", "c", "c", "2", "[", "se", "]", "c", "c", "c", "2", "c", "1"],
    "[O--]": ["[", "O", "-", "-", "]"],
    "[Co@OH15](F)(F)(F)(F)(F)F": ["[", "Co", "@OH15", "]"] + ["(", "F", ")"] * 5 + ["F"],
    "*C#N": ["*", "C", "#", "N"],
    "[*:1]C": ["[", "*", ":", "1", "]", "C"],
    "[#6]C": ["[", "#", "6", "]", "C"],
    "C1=CC=CC=C1": ["C", "1", "=", "C", "C", "=", "C", "C", "=", "C", "1"],
    "C$C": ["C", "$", "C"],
}


@pytest.fixture(scope="module")
def tok() -> SmilesTokenizer:
    return SmilesTokenizer.load()


@pytest.mark.parametrize("smiles", sorted(HARD))
def test_hard_smiles(tok: SmilesTokenizer, smiles: str) -> None:
    tokens = tok.tokenize(smiles)
    assert tokens == HARD[smiles]
    assert tok.detokenize(tokens) == smiles
    ids = tok.encode(smiles)
    assert ids[0] == tok.bos_id and ids[-1] == tok.eos_id and tok.unk_id not in ids
    assert tok.decode(ids) == smiles
    assert tok.tokens(ids)[1:-1] == tokens


@pytest.mark.parametrize(
    "smiles,pos",
    [("CC(C)X", 5), ("C[Xx]C", 1), ("C[C@@@H]C", 1), ("C C", 1), ("C[CH", 1), ("C%1C", 1), ("C?", 1)],
)
def test_invalid_characters(tok: SmilesTokenizer, smiles: str, pos: int) -> None:
    with pytest.raises(InvalidMoleculeError, match=f"position {pos}"):
        tok.tokenize(smiles)


def test_bad_input(tok: SmilesTokenizer) -> None:
    for bad in ("", None, "C" * 5001):
        with pytest.raises(InvalidMoleculeError):
            tok.tokenize(bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidMoleculeError):
        tok.decode([tok.vocab_size])


def test_decode_stops_at_eos(tok: SmilesTokenizer) -> None:
    ids = tok.encode("CCO") + [tok.pad_id, tok.pad_id]
    assert tok.decode(ids) == "CCO"
    assert tok.decode(tok.encode("CCO", add_special=False)) == "CCO"


def test_vocab_file_matches_build(tmp_path: Path) -> None:
    tok = SmilesTokenizer.load()
    assert tok.vocab == build_smiles_vocab()
    assert json.loads(DEFAULT_SMILES_VOCAB.read_text())["tokens"] == build_smiles_vocab()
    p = tmp_path / "s.json"
    tok.save(p)
    assert SmilesTokenizer.load(p).vocab == tok.vocab
    with pytest.raises(OutputExistsError):
        tok.save(p)


_ELEMENTS = ["C", "C", "C", "N", "O", "S", "F", "Cl", "Br", "P", "Si", "B", "Se", "I"]


@st.composite
def _rdkit_smiles(draw: st.DrawFn) -> str:
    """RDKit-written SMILES of a small random molecule (stereo, isotopes, charges, rings, aromatics)."""
    from rdkit import Chem, RDLogger
    from rdkit.Chem.EnumerateStereoisomers import EnumerateStereoisomers, StereoEnumerationOptions

    RDLogger.DisableLog("rdApp.*")
    n = draw(st.integers(1, 9))
    rw = Chem.RWMol()
    for i in range(n):
        atom = Chem.Atom(draw(st.sampled_from(_ELEMENTS)))
        if draw(st.integers(0, 9)) == 0:
            atom.SetIsotope(draw(st.sampled_from([2, 13, 15, 18])))
        if draw(st.integers(0, 9)) == 0:
            atom.SetFormalCharge(draw(st.sampled_from([-1, 1])))
        rw.AddAtom(atom)
        if i:
            order = draw(st.sampled_from([Chem.BondType.SINGLE] * 3 + [Chem.BondType.DOUBLE, Chem.BondType.TRIPLE]))
            rw.AddBond(draw(st.integers(0, i - 1)), i, order)
    if n > 3 and draw(st.booleans()):
        a, b = draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1))
        if a != b and rw.GetBondBetweenAtoms(a, b) is None:
            rw.AddBond(a, b, Chem.BondType.SINGLE)
    mol = rw.GetMol()
    if draw(st.booleans()):
        ring = Chem.MolFromSmiles(draw(st.sampled_from(["c1ccccc1", "c1cc[nH]c1", "c1ccncc1", "c1ccsc1", "C1CCOC1"])))
        combo = Chem.RWMol(Chem.CombineMols(mol, ring))
        combo.AddBond(0, mol.GetNumAtoms(), Chem.BondType.SINGLE)
        mol = combo.GetMol()
    try:
        Chem.SanitizeMol(mol)
    except Exception:
        assume(False)
    isomers = list(EnumerateStereoisomers(mol, options=StereoEnumerationOptions(maxIsomers=4, unique=True)))
    mol = isomers[draw(st.integers(0, len(isomers) - 1))] if isomers else mol
    if draw(st.booleans()):
        mol = Chem.Mol(mol)
        Chem.Kekulize(mol, clearAromaticFlags=True)
    smiles = Chem.MolToSmiles(mol, canonical=draw(st.booleans()), doRandom=draw(st.booleans()))
    assume(bool(smiles))
    return smiles


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(_rdkit_smiles())
def test_rdkit_smiles_round_trip(smiles: str) -> None:
    tok = SmilesTokenizer.load()
    tokens = tok.tokenize(smiles)
    assert "".join(tokens) == smiles
    ids = tok.encode(smiles)
    assert tok.unk_id not in ids
    assert tok.decode(ids) == smiles


@pytest.mark.data
def test_round_trip_fraction_on_shared_data(data_dir: Path) -> None:
    tok = SmilesTokenizer.load()
    smiles: list[str] = []
    for rel in ("nmrshiftdb2/molecules.jsonl.gz", "literature/nmrextractor.jsonl.gz"):
        with gzip.open(data_dir / rel, "rt", encoding="utf-8") as fh:
            for line in fh:
                rec = json.loads(line)
                smiles += [s for s in (rec.get("smiles"), rec.get("source_smiles")) if s]
    with open(data_dir / "bmrb2d" / "index.csv", newline="", encoding="utf-8") as fh:
        smiles += [row["smiles"] for row in csv.DictReader(fh) if row["smiles"]]
    assert len(smiles) > 55_000
    ok = 0
    for s in smiles:
        try:
            ok += tok.detokenize(tok.tokenize(s)) == s
        except InvalidMoleculeError:
            pass
    assert ok / len(smiles) == 1.0
