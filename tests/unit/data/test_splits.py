"""Tests of the molecule-level splits: hash by InChIKey block, the shipped table, record fallback."""

from __future__ import annotations

import gzip
import hashlib
from collections import Counter
from pathlib import Path

import pytest

from nmrlens.data import splits
from nmrlens.data.splits import (
    SPLIT_FRACTIONS,
    SPLIT_TABLE_PATH,
    format_split_table,
    load_split_table,
    record_block,
    smiles_block,
    split_of_block,
    split_of_inchikey,
    split_of_record,
)
from nmrlens.errors import DataNotFoundError, FileFormatError, InvalidMoleculeError


def _expected(block: str, seed: int = splits.SPLIT_SEED) -> str:
    u = int.from_bytes(hashlib.sha256(f"{seed}:{block}".encode()).digest()[:8], "big") / 2.0**64
    return "test" if u < 0.10 else ("val" if u < 0.145 else "train")


def test_split_is_the_documented_hash_and_deterministic() -> None:
    for block in ("QGMWDUUHVVLHNP", "XEKOWRVHYACXOJ", "LFQSCWFLJHTTHZ", "AAAAAAAAAAAAAA"):
        assert split_of_block(block) == _expected(block) == split_of_block(block)
    assert split_of_block("qgmwduuhvvlhnp") == split_of_block("QGMWDUUHVVLHNP")
    assert split_of_block("XEKOWRVHYACXOJ", seed=1) == _expected("XEKOWRVHYACXOJ", 1)


def test_stereoisomers_share_a_split() -> None:
    # (R)- and (S)-2-butanol, and the undefined form: same first block, different second block
    keys = ["BTANRVKWQNVYAZ-SCSAIBSYSA-N", "BTANRVKWQNVYAZ-BYPYZUCNSA-N", "BTANRVKWQNVYAZ-UHFFFAOYSA-N"]
    assert len({split_of_inchikey(k) for k in keys}) == 1
    records = [{"nmrshiftdb2_id": 900_000_000 + i, "inchikey": k} for i, k in enumerate(keys)]
    assert len({split_of_record(r, table={}) for r in records}) == 1


def test_split_proportions_on_many_blocks() -> None:
    blocks = [hashlib.md5(str(i).encode()).hexdigest()[:14].upper() for i in range(40_000)]
    counts = Counter(split_of_block(b) for b in blocks)
    for name, frac in SPLIT_FRACTIONS.items():
        assert abs(counts[name] / len(blocks) - frac) < 0.01


def test_record_block_fallbacks() -> None:
    assert record_block({"inchikey": "XEKOWRVHYACXOJ-UHFFFAOYSA-N", "source_inchikey": "ZZZZZZZZZZZZZZ-UHFFFAOYSA-N"}) == (
        "XEKOWRVHYACXOJ", "inchikey")
    assert record_block({"inchikey": None, "source_inchikey": "xekowrvhyacxoj-UHFFFAOYSA-N"}) == ("XEKOWRVHYACXOJ",
                                                                                                "source_inchikey")
    block, basis = record_block({"inchikey": None, "smiles": "CCOC(C)=O"})
    assert basis == "smiles" and block == smiles_block("O=C(C)OCC") and block.startswith("~") and len(block) == 14
    with pytest.raises(InvalidMoleculeError, match="no inchikey, source_inchikey or smiles"):
        record_block({"nmrshiftdb2_id": 5})


def test_smiles_block_canonicalises_and_tolerates_bad_smiles() -> None:
    assert smiles_block("OCC") == smiles_block("CCO") != smiles_block("CCC")
    assert len(smiles_block("C1CC(")) == 14  # not parsable: the text itself is hashed
    with pytest.raises(InvalidMoleculeError):
        smiles_block("  ")


def test_split_of_record_uses_the_table_first() -> None:
    rec = {"nmrshiftdb2_id": 42, "inchikey": "XEKOWRVHYACXOJ-UHFFFAOYSA-N"}
    hashed = split_of_block("XEKOWRVHYACXOJ")
    other = next(s for s in ("train", "val", "test") if s != hashed)
    assert split_of_record(rec, table={42: other}) == other
    assert split_of_record(rec, table={43: other}) == hashed  # unseen id: hash
    assert split_of_record(dict(rec, nmrshiftdb2_id="42"), table={42: other}) == other


def test_shipped_table_matches_the_hash() -> None:
    assert SPLIT_TABLE_PATH.is_file()
    table = load_split_table()
    assert len(table) > 50_000
    with gzip.open(SPLIT_TABLE_PATH, "rt") as fh:
        header = fh.readline().rstrip("\n").split("\t")
        rows = [line.rstrip("\n").split("\t") for line in fh]
    assert header == ["nmrshiftdb2_id", "inchikey_block", "split"]
    assert all(split_of_block(block) == split for _, block, split in rows)
    assert {int(rid): split for rid, _, split in rows} == table
    assert split_of_record({"nmrshiftdb2_id": int(rows[0][0])}) == rows[0][2]  # found without any key


def test_load_split_table_errors(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError):
        load_split_table(tmp_path / "missing.tsv")
    bad_header = tmp_path / "h.tsv"
    bad_header.write_text("id\tblock\tsplit\n1\tAAAAAAAAAAAAAA\ttrain\n")
    with pytest.raises(FileFormatError, match="header"):
        load_split_table(bad_header)
    bad_row = tmp_path / "r.tsv"
    bad_row.write_text(format_split_table([(1, "AAAAAAAAAAAAAA", "train")]) + "2\tBBBBBBBBBBBBBB\tkeep\n")
    with pytest.raises(FileFormatError, match="line 3"):
        load_split_table(bad_row)
    good = tmp_path / "g.tsv.gz"
    good.write_bytes(gzip.compress(format_split_table([(2, "B" * 14, "val"), (1, "A" * 14, "test")]).encode()))
    assert load_split_table(good) == {1: "test", 2: "val"}


def test_real_data_proportions_and_table(data_dir: Path) -> None:
    from nmrlens.data.datasets import iter_nmrshiftdb2

    blocks: dict[str, str] = {}
    table = load_split_table()
    n = 0
    for rec in iter_nmrshiftdb2(data_dir):
        block, _ = record_block(rec)
        split = split_of_record(rec)
        assert split == split_of_block(block) == table[rec["nmrshiftdb2_id"]]
        blocks[block] = split
        n += 1
    assert n > 50_000
    counts = Counter(blocks.values())
    for name, frac in SPLIT_FRACTIONS.items():
        assert abs(counts[name] / len(blocks) - frac) < 0.01, (name, counts)


def test_held_out_selects_test_split_and_unseen_records() -> None:
    from nmrlens.data.splits import is_held_out, split_of_record, training_blocks

    blocks = training_blocks()
    assert len(blocks) > 40000
    unseen = {"nmrshiftdb2_id": 999999999, "inchikey": "ZZZZZZZZZZZZZZ-UHFFFAOYSA-N"}
    assert is_held_out(unseen)
    some_train = next(iter(blocks))
    assert not is_held_out({"inchikey": some_train + "-UHFFFAOYSA-N"})
    assert split_of_record({"inchikey": some_train + "-UHFFFAOYSA-N"}) in ("train", "val")
    assert not is_held_out({})
