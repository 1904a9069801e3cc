"""Generation examples: experimental and simulated (train split only), held-out items, cache round trip."""

from __future__ import annotations

import json
from pathlib import Path

from nmrlens.data.generatedata import (GenBuildReport, experimental_examples, heldout_items, literature_examples,
                                       load_examples, save_examples, simulated_examples, strip_h1_details)
from nmrlens.tokenize import SmilesTokenizer, SpectralTokenizer

DATA = Path(__file__).resolve().parents[2] / "data" / "generate_records.jsonl"
ST, MT = SpectralTokenizer.load(), SmilesTokenizer.load()


def _records() -> list[dict]:
    return [json.loads(line) for line in DATA.read_text().splitlines()]


def test_experimental_examples() -> None:
    rep = GenBuildReport()
    exs = experimental_examples(_records(), ST, MT, report=rep)
    assert [e.smiles for e in exs] == ["CCO", "CC(C)=O", "C[C@H](N)C(=O)O"] and rep.kept == 3
    eth, ace, ala = exs
    assert eth.configs == ["C", "H", "CH", "CF", "HF", "CHF"] and ala.configs == ["C", "CF"]
    assert MT.decode(ala.target) == "C[C@H](N)C(=O)O"
    assert ST.id_to_token(ace.segs["C"][0]) == "<13C>" and len(ace.segs["C"]) == 2 + 3
    assert [ST.id_to_token(i) for i in eth.segs["F"]] == ["<formula>", "C", "n=2", "H", "n=6", "O", "n=1", "</formula>"]
    assert all(e.split == "train" and e.source == "exp" for e in exs)
    assert experimental_examples(_records(), ST, MT, splits=("test",)) == []


def test_long_targets_are_skipped() -> None:
    rep = GenBuildReport()
    exs = experimental_examples(_records(), ST, MT, max_tgt=6, report=rep)
    assert [e.smiles for e in exs] == ["CCO"] and rep.skipped == {"smiles longer than 6 tokens": 2}


def test_simulated_examples_use_train_molecules_only() -> None:
    recs = _records()
    # a record whose molecule is not in the train split is never simulated
    from nmrlens.data.splits import split_of_record

    other = {"nmrshiftdb2_id": 990000009, "smiles": "c1ccccc1O", "spectra": []}
    other["inchikey"] = "ISWSIDIOOBJBQZ-UHFFFAOYSA-N"
    exs = simulated_examples(recs + [other, recs[0]], ST, MT, strip_fraction=1.0)
    expected = ["CCO", "CC(C)=O", "C[C@H](N)C(=O)O"] + (["Oc1ccccc1"] if split_of_record(other) == "train" else [])
    assert [e.smiles for e in exs] == expected  # each molecule once
    assert all(e.split == "train" and e.source == "sim" for e in exs)
    # stripped 1H: no multiplicity labels other than "none", no J tokens
    toks = [ST.id_to_token(i) for e in exs for i in e.segs.get("H", [])]
    assert toks and not [t for t in toks if t.startswith("mult:") and t != "mult:none"]
    assert not [t for t in toks if t.startswith("J")]


def test_strip_h1_details_keeps_nh_and_ranges() -> None:
    from nmrlens.spectra import Multiplet, Query, Spectrum1D

    q = Query(spectra=[Spectrum1D("1H", [Multiplet(1.0, 1.2, "t", (7.1,), 3)])], formula="C2H6")
    (m,) = strip_h1_details(q).spectrum("1H").peaks
    assert (m.shift_min, m.shift_max, m.mult, m.J, m.nH) == (1.0, 1.2, None, (), 3)
    assert strip_h1_details(q).formula == "C2H6"


def test_heldout_items_and_cache(tmp_path: Path) -> None:
    assert list(heldout_items(DATA)) == []  # training molecules
    items = list(heldout_items(DATA, held_out_only=False, limit=2))
    assert [(s, k[:14]) for _, s, k in items] == [("CCO", "LFQSCWFLJHTTHZ"), ("CC(C)=O", "CSCPPACGZOOCGX")]
    assert items[0][0].formula == "C2H6O" and items[0][0].spectrum("1H") is not None
    exs = experimental_examples(_records(), ST, MT)
    save_examples(tmp_path / "c.jsonl.gz", exs)
    assert load_examples(tmp_path / "c.jsonl.gz") == exs


def test_simulated_subset_is_seeded() -> None:
    rep = GenBuildReport()
    a = simulated_examples(_records(), ST, MT, max_molecules=2, seed=3, report=rep)
    b = simulated_examples(_records(), ST, MT, max_molecules=2, seed=3)
    assert len(a) == 2 and [e.smiles for e in a] == [e.smiles for e in b]
    assert rep.skipped["not in the random subset (max_molecules)"] == 1


def test_brics_molecules_are_train_split_and_new() -> None:
    from rdkit import Chem

    from nmrlens.data.splits import split_of_block

    recs = [{"nmrshiftdb2_id": 990000010 + i, "smiles": s, "spectra": []}
            for i, s in enumerate(["CCOC(=O)c1ccccc1", "CC(=O)Nc1ccc(O)cc1", "CCN(CC)C(=O)c1cccnc1", "OCCc1ccccc1"])]
    exs = simulated_examples(recs, ST, MT, brics=20, seed=1)
    brics = [e for e in exs if e.source == "brics"]
    sims = [e for e in exs if e.source == "sim"]
    assert brics and len({e.smiles for e in exs}) == len(exs)
    for e in brics:
        assert split_of_block(Chem.MolToInchiKey(Chem.MolFromSmiles(e.smiles))[:14]) == "train"
    assert all(e.split == "train" for e in exs) and len(sims) <= 4


def _literature_record(smiles: str, inchikey: str) -> dict:
    return {"pmcid": "PMC0", "smiles": smiles, "formula": "C9H10O2", "inchikey": inchikey,
            "h1_conditions": "400 MHz, CDCl3", "h1_text": "7.38-7.30 (m, 5H), 5.10 (s, 2H), 2.10 (s, 3H)",
            "h1_peaks": [{"shift": 7.34, "range": [7.30, 7.38], "mult": "m", "nH": 5},
                         {"shift": 5.10, "mult": "s", "nH": 2}, {"shift": 2.10, "mult": "s", "nH": 3}],
            "c13_conditions": "101 MHz, CDCl3", "c13_text": "170.9, 136.0, 128.6, 128.3, 128.2, 66.3, 21.0",
            "c13_shifts": [170.9, 136.0, 128.6, 128.3, 128.2, 66.3, 21.0]}


def test_literature_examples_follow_the_split() -> None:
    from nmrlens.data.splits import split_of_record

    rec = _literature_record("CC(=O)OCc1ccccc1", "QUKGYYKBILRGFE-UHFFFAOYSA-N")
    split = split_of_record(rec)
    rep = GenBuildReport()
    (ex,) = literature_examples([rec, {"smiles": "not a smiles", "inchikey": rec["inchikey"]}], ST, MT, splits=(split,),
                                report=rep)
    assert (ex.smiles, ex.split, ex.source) == ("CC(=O)OCc1ccccc1", split, "lit")
    assert ex.configs == ["C", "H", "CH", "CF", "HF", "CHF"] and MT.decode(ex.target) == "CC(=O)OCc1ccccc1"
    assert len(ex.segs["C"]) == 2 + 7  # markers + one token per 13C shift
    assert rep.kept == 1 and rep.skipped == {"no usable spectrum or molecule": 1}
    assert literature_examples([rec], ST, MT, splits=tuple({"train", "val", "test"} - {split})) == []
