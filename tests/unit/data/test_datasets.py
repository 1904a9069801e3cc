"""Tests of the shared-data loaders (real files are read from NMRLENS_DATA_DIR when it is set)."""

from __future__ import annotations

import gzip
import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from nmrlens.data import datasets
from nmrlens.errors import DataNotFoundError, FileFormatError


def test_data_dir_needs_the_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("NMRLENS_DATA_DIR", raising=False)
    with pytest.raises(DataNotFoundError, match="NMRLENS_DATA_DIR is not set"):
        datasets.data_dir()
    monkeypatch.setenv("NMRLENS_DATA_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(DataNotFoundError, match="is not a folder"):
        datasets.data_dir()
    monkeypatch.setenv("NMRLENS_DATA_DIR", str(tmp_path))
    assert datasets.data_dir() == tmp_path
    with pytest.raises(DataNotFoundError, match="nmrshiftdb2/molecules.jsonl.gz"):
        list(datasets.iter_nmrshiftdb2())


def test_streaming_json_lines_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl.gz"
    path.write_bytes(gzip.compress(b'{"nmrshiftdb2_id": 1}\n\n{"nmrshiftdb2_id": 2}\n'))
    assert [r["nmrshiftdb2_id"] for r in datasets.iter_nmrshiftdb2(path)] == [1, 2]
    root = tmp_path / "root"
    (root / "nmrshiftdb2").mkdir(parents=True)
    (root / "nmrshiftdb2" / "molecules.jsonl.gz").write_bytes(path.read_bytes())
    assert len(list(datasets.iter_nmrshiftdb2(root))) == 2  # a data root works too
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"a": 1}\n[1, 2]\n')
    with pytest.raises(FileFormatError, match="line 2: got list"):
        list(datasets.iter_literature(bad))
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"a": 1}\n{"a": \n')
    with pytest.raises(FileFormatError, match="line 2: invalid JSON"):
        list(datasets.iter_literature(broken))


def test_revmolspec_parsing(tmp_path: Path) -> None:
    c = ["0"] * 136
    c[0] = "1"  # (0, 1): single bond
    c[16] = "6"  # (1, 2): first entry of row 1 -> aromatic single
    d = "0" * 100 + "1" + "0" * 923
    path = tmp_path / "rms.csv"
    path.write_text(f"A,B,C,D\n20029286,20079665,{''.join(c)},{d}\n")
    (row,) = datasets.load_revmolspec(path)
    assert (row.id_a, row.id_b) == (20029286, 20079665)
    assert row.bonds.shape == (17, 17) and row.bonds.dtype == np.int8
    assert row.bonds[0, 1] == row.bonds[1, 0] == 1 and row.bonds[1, 2] == row.bonds[2, 1] == 6
    assert int(np.count_nonzero(row.bonds)) == 4 and (np.diag(row.bonds) == 0).all()
    assert row.spectrum.shape == (1024,) and row.spectrum.dtype == np.uint8 and row.spectrum.nonzero()[0].tolist() == [100]
    path.write_text(f"A,B,C,D\n1,2,{''.join(c[:-1])},{d}\n")
    with pytest.raises(FileFormatError, match="line 2: column C has 135 characters"):
        datasets.load_revmolspec(path)
    path.write_text(f"A,B,C,D\n1,2,{''.join(c)},{d[:-1]}2\n")
    with pytest.raises(FileFormatError, match="column D"):
        datasets.load_revmolspec(path)


def test_real_loaders(data_dir: Path) -> None:
    first = next(datasets.iter_nmrshiftdb2(data_dir))
    assert {"nmrshiftdb2_id", "smiles", "spectra", "assigned"} <= set(first)
    lit = list(itertools.islice(datasets.iter_literature(data_dir), 5))
    assert len(lit) == 5 and all("h1_text" in r for r in lit)
    assert sum(1 for _ in datasets.iter_literature(data_dir)) == 1200
    bmrb = datasets.load_bmrb2d_index(data_dir)
    assert len(bmrb) == 2179 and {r["experiment"] for r in bmrb} == {"HSQC", "HMBC"}
    assert Path(bmrb[0]["path_abs"]).is_file()
    sub = datasets.load_substructuresnmr_index(data_dir)
    assert len(sub) == 241 and all(isinstance(r["width"], int) for r in sub)
    assert sum(r["n_components"] == len(r["components"]) for r in sub) == len(sub)
    rms = datasets.load_revmolspec(data_dir)
    assert len(rms) == 1467
    assert all((r.bonds == r.bonds.T).all() for r in rms[:50])
    assert set(np.unique(np.stack([r.bonds for r in rms]))) <= {0, 1, 2, 3, 6, 7}
    stats = json.loads((data_dir / "nmrshiftdb2" / "stats.json").read_text())
    assert stats["molecules"] == 54181
