"""Invertible-network datapoints: both sources, molecule-level splits, skips, augmentation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nmrlens.chem.bondmatrix import MatrixSpec, decode
from nmrlens.data.invertdata import (
    InvertBuildReport,
    add_order_augmentation,
    data_kind,
    first_c13_shifts,
    load_items,
)
from nmrlens.errors import FileFormatError
from nmrlens.spectra.code import spectrum_code
from tests.invert_fixtures import SHIFTS, TEST_SMILES, write_nmrshiftdb2_jsonl, write_revmolspec_csv

REV = MatrixSpec("revmolspec")
GEN = MatrixSpec("general")


def test_data_kind() -> None:
    assert data_kind("x/reversibledata.csv") == "revmolspec"
    assert data_kind("m.jsonl.gz") == data_kind("m.jsonl") == "nmrshiftdb2"
    with pytest.raises(FileFormatError, match="--data"):
        data_kind("spectra.sdf")


def test_revmolspec_csv_items(tmp_path: Path) -> None:
    path = write_revmolspec_csv(tmp_path / "t.csv")
    report = InvertBuildReport()
    items = load_items(path, REV, report)
    assert report.rows == report.kept == len(items) == len(SHIFTS)
    by = {it.smiles: it for it in items}
    eb = by["CCc1ccccc1"]
    assert eb.split == "test" and by["C=CCC"].split == "val" and by["CC"].split == "train"
    assert np.array_equal(eb.code, spectrum_code(SHIFTS["CCc1ccccc1"]))
    assert decode(eb.x, REV).smiles == "CCc1ccccc1" and len(eb.key) == 14
    assert eb.shifts == sorted(eb.shifts, reverse=True) and abs(eb.shifts[0] - 144.3) < 0.11
    tests = load_items(path, REV, splits=("test",))
    assert sorted(it.smiles for it in tests) == sorted(TEST_SMILES)
    # the general layout holds the same hydrocarbons
    assert len(load_items(path, GEN)) == len(SHIFTS)


def test_revmolspec_source_order_keeps_the_table_matrix(tmp_path: Path) -> None:
    path = write_revmolspec_csv(tmp_path / "t.csv", ["CCCCCCCC"])
    (it,) = load_items(path, MatrixSpec("revmolspec", atom_order="source"))
    assert it.x[0].diagonal()[:7].tolist() == [1.0] * 7  # chain 0-1-2-...-7 in SMILES order


def test_nmrshiftdb2_items(tmp_path: Path) -> None:
    path = write_nmrshiftdb2_jsonl(tmp_path / "m.jsonl.gz", ["CCc1ccccc1", "C1=CCCC1", "CC"])
    report = InvertBuildReport()
    items = load_items(path, GEN, report)
    assert len(items) == 3 and report.kept == 3
    assert all(it.code.sum() >= 1 for it in items)
    held = load_items(path, GEN, held_out_only=True)
    assert {it.smiles for it in held} >= {"CCc1ccccc1", "C1=CCCC1"}  # test-split molecules are never seen
    assert "CC" not in {it.smiles for it in held}  # ethane is a training molecule of the shipped split


def test_first_c13_shifts_and_skips() -> None:
    rec = {"spectra": [{"nucleus": "1H", "peaks": [{"shift": 1.0}]}, {"nucleus": "13C", "peaks": []},
                       {"nucleus": "13C", "peaks": [{"shift": 20.5}, {"shift": 130}]}]}
    assert first_c13_shifts(rec) == [20.5, 130.0]
    assert first_c13_shifts({"spectra": [{"nucleus": "13C", "peaks": [{"shift": "x"}]}]}) is None
    from nmrlens.data.invertdata import nmrshiftdb2_items

    report = InvertBuildReport()
    recs = [{"nmrshiftdb2_id": 1, "smiles": "CC[Sn](C)C", "inchikey": "A" * 27, "spectra": rec["spectra"]},
            {"nmrshiftdb2_id": 2, "smiles": "CCO", "spectra": []}]
    assert list(nmrshiftdb2_items(GEN, recs, report)) == []
    assert report.skipped == {"not encodable in this layout": 1, "no 13C spectrum": 1}


def test_order_augmentation(tmp_path: Path) -> None:
    items = load_items(write_revmolspec_csv(tmp_path / "t.csv", ["CCc1ccccc1", "CC1CCCCC1"]), REV)
    add_order_augmentation(items, REV, 5, seed=1)
    for it in items:
        assert it.x_aug.shape == (5, *REV.shape) and it.x_aug.dtype == np.uint8
        assert all(decode(a, REV).smiles == it.smiles for a in it.x_aug)
        assert len({a.tobytes() for a in it.x_aug}) > 1  # different numberings


def test_real_revmolspec_split(data_dir: Path) -> None:
    items = load_items(data_dir / "revmolspec" / "reversibledata.csv", REV)
    assert len(items) == 1466
    counts = {s: sum(it.split == s for it in items) for s in ("train", "val", "test")}
    assert counts["test"] > 100 and counts["val"] > 30 and counts["train"] > 1100
    by_key: dict[str, set[str]] = {}
    for it in items:
        by_key.setdefault(it.key, set()).add(it.split)
    assert all(len(v) == 1 for v in by_key.values())  # duplicates of one molecule share a split
