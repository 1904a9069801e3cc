"""``nmrlens evaluate tokenizer``: metrics on synthetic files and on the shared data."""

from __future__ import annotations

import gzip
import itertools
import json
import string
from pathlib import Path

import pytest

from nmrlens.data.splits import split_of_block
from nmrlens.errors import FileFormatError
from nmrlens.evaluate import run_task
from nmrlens.evaluate.tokenizer import evaluate
from nmrlens.tokenize import SpectralTokenizer


def _key(split: str, skip: int = 0) -> str:
    found = 0
    for a, b, c in itertools.product(string.ascii_uppercase, repeat=3):
        block = "ZYXWVUTSRQP" + a + b + c
        if split_of_block(block) == split:
            if found == skip:
                return block + "-UHFFFAOYSA-N"
            found += 1
    raise AssertionError(split)


def _write(path: Path, records: list[dict]) -> Path:
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write("\n".join(json.dumps(r) for r in records) + "\n")
    return path


def _nmrshiftdb2(tmp_path: Path) -> Path:
    def rec(i: int, split: str | None, spectra: list[dict], smiles: str = "CCO") -> dict:
        return {"nmrshiftdb2_id": i, "smiles": smiles, "formula": "C2H6O",
                "inchikey": _key(split, i) if split else None, "source_inchikey": None, "spectra": spectra}

    c13 = {"nucleus": "13C", "peaks": [{"shift": 128.43}, {"shift": 77.0}, {"shift": 14.1}, {"shift": 400.0}]}
    h1 = {"nucleus": "1H", "peaks": [{"shift": 7.26, "mult": "brs", "nH": 1}, {"shift": 1.25, "nH": 3}]}
    return _write(tmp_path / "m.jsonl.gz", [
        rec(1, "test", [c13, h1]),
        rec(2, "test", [c13, {"nucleus": "13C", "peaks": [{"shift": 30.0}]}]),  # two 13C spectra
        rec(3, "test", [{"nucleus": "31P", "peaks": [{"shift": 10.0}]}], smiles="C?"),
        rec(4, "train", [c13]),
        rec(5, None, [c13]),
    ])


EXPECTED_KEYS = {
    "vocab_size", "c13_shift_mae", "c13_shift_max_error", "c13_uniform_mae_same_vocab", "h1_shift_mae",
    "h1_shift_max_error", "h1_uniform_mae_same_vocab", "j_mae", "smiles_roundtrip_fraction", "n_c13_peaks",
    "n_h1_peaks", "c13_overflow", "h1_overflow", "j_overflow", "n_test_records",
}


def test_nmrshiftdb2_format(tmp_path: Path) -> None:
    m = evaluate(_nmrshiftdb2(tmp_path))
    assert EXPECTED_KEYS <= set(m)
    tok = SpectralTokenizer.load()
    assert m["vocab_size"] == tok.vocab_size
    assert m["format"] == "nmrshiftdb2"
    assert (m["n_records"], m["n_test_records"], m["n_records_without_inchikey"]) == (5, 3, 1)
    assert m["n_queries"] == 3  # record 2 has two 13C spectra, record 3 none
    assert m["n_c13_peaks"] == 3 + 3 + 1 and m["n_h1_peaks"] == 2
    assert m["dropped_shifts_out_of_range"] == 2  # the 400 ppm peaks
    expected = [abs(tok.quantize("13C", v) - v) for v in (128.43, 77.0, 14.1, 128.43, 77.0, 14.1, 30.0)]
    assert m["c13_shift_mae"] == pytest.approx(sum(expected) / len(expected), abs=1e-6)
    assert m["c13_shift_max_error"] == pytest.approx(max(expected), abs=1e-6)
    assert m["c13_uniform_mae_same_vocab"] > 0
    assert m["h1_shift_mae"] == pytest.approx(0.0, abs=1e-9)  # 7.26 and 1.25 sit on 0.01-ppm bins here
    assert m["j_mae"] is None and m["n_j"] == 0
    assert m["c13_overflow"] == m["h1_overflow"] == 0
    assert m["smiles_roundtrip_fraction"] == pytest.approx(4 / 5)
    assert m["h1_mult_category_preserved"] == 1.0


def test_literature_format(tmp_path: Path) -> None:
    recs = [{
        "smiles": "CC(=O)O", "source_smiles": "CC(O)=O", "formula": "C2H4O2", "inchikey": _key("test", i),
        "c13_shifts": [170.5, 20.9],
        "h1_peaks": [{"shift": 6.9, "mult": "dd", "J_Hz": [8.04, 2.0, 55.0], "nH": 1},
                     {"shift": 7.3, "range": [7.25, 7.35], "mult": "m", "nH": 2}],
    } for i in range(3)]
    m = evaluate(_write(tmp_path / "lit.jsonl.gz", recs))
    assert m["format"] == "literature"
    assert m["n_j"] == 6 and m["dropped_j_out_of_range"] == 3
    tok = SpectralTokenizer.load()
    expected_j = (abs(tok.quantize("J", 8.04) - 8.04) + abs(tok.quantize("J", 2.0) - 2.0)) / 2
    assert m["j_mae"] == pytest.approx(expected_j, abs=1e-6)
    assert m["n_h1_peaks"] == 3 * 3  # a point shift once, a range by both ends
    assert m["n_smiles"] == 6 and m["smiles_roundtrip_fraction"] == 1.0


def test_limit_and_seed(tmp_path: Path) -> None:
    path = _nmrshiftdb2(tmp_path)
    a = evaluate(path, limit=1, seed=3)
    assert a["n_test_records"] == 1
    assert evaluate(path, limit=1, seed=3) == a


def test_registered_task(tmp_path: Path) -> None:
    m = run_task("tokenizer", _nmrshiftdb2(tmp_path))
    assert m["n_c13_peaks"] == 7


def test_bad_file(tmp_path: Path) -> None:
    p = tmp_path / "x.jsonl"
    p.write_text('{"foo": 1}\n')
    with pytest.raises(FileFormatError):
        evaluate(p)
    p.write_text("not json\n")
    with pytest.raises(FileFormatError, match="line 1"):
        evaluate(p)


@pytest.mark.data
def test_shared_nmrshiftdb2(data_dir: Path) -> None:
    m = evaluate(data_dir / "nmrshiftdb2" / "molecules.jsonl.gz")
    assert m["n_c13_peaks"] > 20_000 and m["n_h1_peaks"] > 8_000
    assert m["c13_shift_mae"] <= 0.5 * m["c13_uniform_mae_same_vocab"]
    assert m["h1_shift_mae"] <= 0.5 * m["h1_uniform_mae_same_vocab"]
    assert m["smiles_roundtrip_fraction"] == 1.0
    assert m["n_over_max_length"] == 0
