"""Building the spectral vocabulary: determinism, provenance, the shipped file."""

from __future__ import annotations

import gzip
import hashlib
import itertools
import json
import string
from pathlib import Path

import pytest

from nmrlens.data.splits import split_of_block
from nmrlens.errors import DataNotFoundError
from nmrlens.tokenize import SpectralTokenizer, build_spectral_vocab
from nmrlens.tokenize.binning import BinningParams
from nmrlens.tokenize.build import main
from nmrlens.tokenize.spectral import DEFAULT_SPECTRAL_VOCAB, dumps_vocab


def inchikey_in(split: str, skip: int = 0) -> str:
    """A syntactically plausible InChIKey whose block falls into ``split``."""
    found = 0
    for a, b, c in itertools.product(string.ascii_uppercase, repeat=3):
        block = "ABCDEFGHIJK" + a + b + c
        if split_of_block(block) == split:
            if found == skip:
                return block + "-UHFFFAOYSA-N"
            found += 1
    raise AssertionError(split)


def write_fake_data(root: Path) -> None:
    """Tiny nmrshiftdb2 and literature files (train, test and key-less records)."""
    (root / "nmrshiftdb2").mkdir(parents=True)
    (root / "literature").mkdir()
    recs = []
    for i in range(6):
        split = "test" if i == 5 else "train"
        recs.append({
            "nmrshiftdb2_id": 900000 + i, "smiles": "CCO", "formula": "C2H6O",
            "inchikey": inchikey_in(split, i), "source_inchikey": None,
            "spectra": [
                {"nucleus": "13C", "peaks": [{"shift": 128.4 + 0.1 * i}, {"shift": 20.0 + i}, {"shift": 77.0}]},
                {"nucleus": "1H", "peaks": [{"shift": 7.26, "mult": "d", "nH": 2}, {"shift": 1.2 + 0.01 * i, "nH": 3}]},
                {"nucleus": "31P", "peaks": [{"shift": 10.0}]},
            ],
        })
    recs.append({"nmrshiftdb2_id": 999999, "smiles": "C", "inchikey": None, "source_inchikey": None, "spectra": []})
    with gzip.open(root / "nmrshiftdb2" / "molecules.jsonl.gz", "wt", encoding="utf-8") as fh:
        fh.write("\n".join(json.dumps(r) for r in recs) + "\n")
    lit = [{
        "smiles": "CC(=O)O", "formula": "C2H4O2", "inchikey": inchikey_in("train", 10 + i), "source_smiles": "CC(O)=O",
        "c13_shifts": [170.0 + i, 21.0], "h1_peaks": [
            {"shift": 2.1, "mult": "s", "nH": 3},
            {"shift": 7.3, "range": [7.25, 7.35], "mult": "m", "nH": 2},
            {"shift": 6.9, "mult": "dd", "J_Hz": [8.0 + 0.1 * i, 2.0, 55.0], "nH": 1},
        ],
    } for i in range(4)]
    with gzip.open(root / "literature" / "nmrextractor.jsonl.gz", "wt", encoding="utf-8") as fh:
        fh.write("\n".join(json.dumps(r) for r in lit) + "\n")


SMALL = {
    "13C": BinningParams(name="13C", unit="ppm", quantum=0.1, low=-50, high=300, n_bins=40, max_width=20.0,
                         forced_edges=(0.0, 110.0)),
    "1H": BinningParams(name="1H", unit="ppm", quantum=0.01, low=-3, high=17, n_bins=30, max_width=1.0),
    "J": BinningParams(name="J", unit="Hz", quantum=0.1, low=0, high=40, n_bins=8, max_width=8.0),
}


def test_build_is_deterministic_and_documented(tmp_path: Path) -> None:
    write_fake_data(tmp_path)
    v1 = build_spectral_vocab(tmp_path, params=SMALL)
    v2 = build_spectral_vocab(tmp_path, params=SMALL)
    assert dumps_vocab(v1) == dumps_vocab(v2)
    assert v1["format_version"] == 1 and v1["kind"] == "nmrlens.spectral_tokenizer"
    src = {s["path"]: s for s in v1["data"]["sources"]}
    nmr = src["nmrshiftdb2/molecules.jsonl.gz"]
    assert nmr["records"] == 7 and nmr["skipped_without_inchikey"] == 1
    assert nmr["records_by_split"] == {"train": 5, "val": 0, "test": 1}
    assert nmr["train_values"] == {"13C": 15, "1H": 10, "J": 0}
    assert nmr["sha256"] == hashlib.sha256((tmp_path / "nmrshiftdb2/molecules.jsonl.gz").read_bytes()).hexdigest()
    assert src["literature/nmrextractor.jsonl.gz"]["train_values"] == {"13C": 8, "1H": 16, "J": 12}
    assert v1["data"]["counts"]["J"]["n_overflow"] == 4  # the 55 Hz couplings
    assert v1["params"]["13C"]["n_bins"] == 40
    tok = SpectralTokenizer.from_dict(v1)
    assert tok.tables["13C"].n_inner == 40 and tok.vocab_size == len(v1["tokens"])


def test_build_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    write_fake_data(tmp_path / "data")
    import nmrlens.tokenize.build as build

    monkeypatch.setattr(build, "DEFAULT_PARAMS", SMALL)
    out = tmp_path / "v.json"
    assert main(["--out", str(out), "--data-dir", str(tmp_path / "data"), "--smiles-out", str(tmp_path / "s.json")]) == 0
    assert "wrote" in capsys.readouterr().out
    assert SpectralTokenizer.load(out).tables["1H"].n_inner == 30
    assert main(["--out", str(out), "--data-dir", str(tmp_path / "data")]) == 2  # refuses to overwrite
    assert "exists" in capsys.readouterr().err
    assert main(["--out", str(out), "--data-dir", str(tmp_path / "data"), "--force"]) == 0


def test_build_needs_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NMRLENS_DATA_DIR", raising=False)
    with pytest.raises(DataNotFoundError):
        build_spectral_vocab()
    with pytest.raises(DataNotFoundError):
        build_spectral_vocab(tmp_path)


def test_shipped_vocab_provenance() -> None:
    d = json.loads(DEFAULT_SPECTRAL_VOCAB.read_text(encoding="utf-8"))
    assert d["format_version"] == 1 and d["name"] == "spectral_v1"
    assert {s["path"] for s in d["data"]["sources"]} == {"nmrshiftdb2/molecules.jsonl.gz", "literature/nmrextractor.jsonl.gz"}
    for key in ("13C", "1H"):
        assert d["validation"][key]["ratio"] <= 0.5  # tuned on the validation split
    assert SpectralTokenizer.load().to_dict() == d


@pytest.mark.data
def test_shipped_vocab_matches_rebuild(data_dir: Path) -> None:
    d = json.loads(DEFAULT_SPECTRAL_VOCAB.read_text(encoding="utf-8"))
    for src in d["data"]["sources"]:
        digest = hashlib.sha256((data_dir / src["path"]).read_bytes()).hexdigest()
        if digest != src["sha256"]:
            pytest.skip(f"{src['path']} changed since spectral_v1 was built")
    assert dumps_vocab(build_spectral_vocab(data_dir)) == DEFAULT_SPECTRAL_VOCAB.read_text(encoding="utf-8")
