"""``evaluate assignment``: records -> examples, metrics on hand-made records, held-out filter, keys."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from nmrlens.evaluate import run_task
from nmrlens.evaluate.assignment import assignment_metrics, example_from_record, load_examples, train_blocks

KEYS = {
    f"{p}.{k}" for p in ("assign", "baseline") for k in (
        "c13_atom_accuracy", "c13_atom_accuracy_lt10C", "c13_atom_accuracy_10to20C", "c13_atom_accuracy_gt20C",
        "fully_correct_fraction", "h1_group_accuracy")
} | {"retrieval100.top1", "isomer.accuracy", "isomer.n"}

# SMILES -> (13C shift per atom or None, 1H shift per atom or None); literature-like values
MOLECULES = {
    "CCOC(C)=O": ([14.2, 60.4, None, 171.0, 21.0, None], [1.26, 4.12, None, None, 2.04, None]),
    "Cc1ccccc1": ([21.4, 137.9, 129.0, 128.2, 125.3, 128.2, 129.0], [2.35, None, 7.17, 7.25, 7.15, 7.25, 7.17]),
    "CCCO": ([10.0, 25.9, 64.2, None], [0.93, 1.57, 3.58, None]),
    "CC(C)O": ([25.3, 64.0, 25.3, None], [1.20, 4.01, 1.20, None]),
    "CC(C)=O": ([30.8, 206.7, 30.8, None], [2.17, None, 2.17, None]),
}


def _record(rid: int, smiles: str, c13: list, h1: list) -> dict:
    from rdkit import Chem

    from nmrlens.chem.mol import mol_formula

    mol = Chem.MolFromSmiles(smiles)
    by_shift: dict[float, list[int]] = {}
    for i, s in enumerate(c13):
        if s is not None:
            by_shift.setdefault(s, []).append(i)
    mults = "SDTQ"
    peaks = [{"shift": s, "atoms": a, "mult": mults[mol.GetAtomWithIdx(a[0]).GetTotalNumHs()]}
             for s, a in sorted(by_shift.items(), reverse=True)]
    hb: dict[float, list[int]] = {}
    for i, s in enumerate(h1):
        if s is not None:
            hb.setdefault(s, []).append(i)
    hpeaks = [{"shift": s, "atoms": a, "nH": sum(mol.GetAtomWithIdx(i).GetTotalNumHs() for i in a)}
              for s, a in sorted(hb.items(), reverse=True)]
    return {"nmrshiftdb2_id": rid, "smiles": smiles, "formula": mol_formula(mol),
            "inchikey": Chem.MolToInchiKey(mol), "assigned": True, "molblock": Chem.MolToMolBlock(mol),
            "spectra": [{"nucleus": "13C", "peaks": peaks}, {"nucleus": "1H", "peaks": hpeaks}]}


@pytest.fixture()
def records() -> list[dict]:
    """The hand-made records, as molecules never seen in training (these common ones are train
    molecules of nmrshiftdb2, so their InChIKey blocks are replaced by unseen pseudo blocks)."""
    out = [_record(90_000_000 + k, s, *v) for k, (s, v) in enumerate(MOLECULES.items())]
    for k, r in enumerate(out):
        r["inchikey"] = f"ZZZZZZZZZZZZZ{'ABCDE'[k]}-UHFFFAOYSA-N"
    assert not any(r["inchikey"][:14] in train_blocks() for r in out)
    return out


def _write(tmp_path: Path, records: list[dict]) -> Path:
    path = tmp_path / "recs.jsonl.gz"
    with gzip.open(path, "wt") as fh:
        for r in records:
            fh.write(json.dumps(r) + "\n")
    return path


def test_example_truth_and_perfect_assignment_metrics(records: list[dict]) -> None:
    ex = example_from_record(records[1])  # toluene
    assert ex is not None and ex.info.n_carbons == 7 and len(ex.info.c_classes) == 5
    assert ex.c13_truth[2] == [129.0] and ex.c13_mult.tolist() == [0, 1, 1, 1, 3]
    perfect = np.asarray([int(np.flatnonzero(ex.c13_shifts == ex.c13_truth[n][0])[0]) for n in range(7)])
    m = assignment_metrics([ex], [perfect], None, "x.")
    assert m["x.c13_atom_accuracy"] == 1.0 and m["x.c13_atom_accuracy_lt10C"] == 1.0
    assert m["x.c13_atom_accuracy_gt20C"] is None and m["x.h1_group_accuracy"] is None
    swapped = perfect.copy()
    swapped[[2, 3]] = swapped[[3, 2]]  # one ortho carbon and one meta carbon swapped: 2 of 7 wrong
    m = assignment_metrics([ex], [swapped])
    assert m["c13_atom_accuracy"] == pytest.approx(5 / 7) and m["fully_correct_fraction"] == 0.0


def test_peaks_within_0_01_ppm_count_as_one(records: list[dict]) -> None:
    r = records[2]  # propanol: add a duplicate peak 0.005 ppm away from the CH3 one
    r["spectra"][0]["peaks"].append({"shift": 10.005, "atoms": [], "mult": "Q"})
    ex = example_from_record(r)
    j = int(np.flatnonzero(np.isclose(ex.c13_shifts, 10.005))[0])
    per_node = np.asarray([j if n == 0 else int(np.flatnonzero(ex.c13_shifts == (ex.c13_truth.get(n) or [-1])[0])[0])
                           if n in ex.c13_truth else -1 for n in range(ex.info.graph.n_atoms)])
    assert assignment_metrics([ex], [per_node])["c13_atom_accuracy"] == 1.0


def test_train_split_records_are_skipped(records: list[dict]) -> None:
    block = sorted(train_blocks())[0]
    records[0]["inchikey"] = block + "-UHFFFAOYSA-N"
    examples, counts = load_examples(records)
    assert counts["seen_in_training"] == 1 and counts["assigned_records"] == 5
    assert len(examples) == 4  # unseen blocks are scored whatever split their hash would give


def test_evaluate_end_to_end(tmp_path: Path, records: list[dict], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NMRLENS_DATA_DIR", raising=False)  # isomer candidates from the file itself
    path = _write(tmp_path, records)
    m = run_task("assignment", path, checkpoint="none")
    assert KEYS <= set(m)
    assert m["n_molecules"] == len(records) and m["n_records_seen_in_training"] == 0
    # easy molecules: the baseline gets every carbon right and finds the right molecule
    assert m["baseline.c13_atom_accuracy"] == 1.0 and m["baseline.fully_correct_fraction"] == 1.0
    assert m["baseline.h1_group_accuracy"] >= 0.8
    assert m["retrieval100.top1"] == 1.0
    # propanol <-> isopropanol are the isomers of each other
    assert m["isomer.n"] == 2 and m["isomer.accuracy"] == 1.0
    assert m["assign.c13_atom_accuracy"] == m["baseline.c13_atom_accuracy"]  # no model: the same assigner


def test_real_records(data_dir: Path) -> None:
    """On the shared data: the first assigned records give sane numbers (most are train: skipped)."""
    from nmrlens.data.datasets import iter_nmrshiftdb2
    from nmrlens.evaluate.assignment import run_c13
    from nmrlens.models.assign import Assigner

    examples, counts = load_examples(iter_nmrshiftdb2(), limit=300)
    assert counts["assigned_records"] == 300 and counts["seen_in_training"] > 200
    assert examples and all(ex.split in ("val", "test") for ex in examples)
    assigner = Assigner.load("none")
    assigner.predict([ex.info for ex in examples])
    m = assignment_metrics(examples, run_c13(assigner, examples))
    assert 0.6 < m["c13_atom_accuracy"] <= 1.0
