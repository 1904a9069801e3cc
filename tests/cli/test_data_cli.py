"""``nmrlens data stats`` and ``nmrlens data curate``."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from nmrlens.cli.data import CURATE_OUTPUTS
from nmrlens.cli.main import main
from nmrlens.data.curation import read_datapoints
from nmrlens.data.splits import load_split_table

REPORT_KEYS = {"config", "records_in", "records_removed", "records_kept", "spectra_in", "spectra_removed",
               "spectra_not_selected", "h1_nh", "split_basis", "datapoints_out", "kept_per_nucleus", "per_split",
               "elapsed_s", "command", "input"}


def _records() -> list[dict]:
    def rec(rid: int, smiles: str, key: str, c13: list[float]) -> dict:
        return {"nmrshiftdb2_id": rid, "smiles": smiles, "inchikey": key, "source_inchikey": key, "molblock": None,
                "assigned": False, "spectra": [{"nucleus": "13C", "peaks": [{"shift": s} for s in c13]}]}

    return [
        rec(1, "CCOC(C)=O", "XEKOWRVHYACXOJ-UHFFFAOYSA-N", [171.1, 60.4, 21.0, 14.2]),
        rec(2, "CCO", "LFQSCWFLJHTTHZ-UHFFFAOYSA-N", [57.8, 18.1]),
        rec(3, "CC(O)C(C)O", "OWBTYPJTUOEWEK-UHFFFAOYSA-N", [72.0, 17.0]),  # two stereocentres
        {"nmrshiftdb2_id": 4, "smiles": "OP(O)(O)=O", "inchikey": "NBIIXXVUZAFLBC-UHFFFAOYSA-N",
         "spectra": [{"nucleus": "31P", "peaks": [{"shift": 0.0}]}]},
    ]


@pytest.fixture
def small_file(tmp_path: Path) -> Path:
    path = tmp_path / "small.jsonl.gz"
    path.write_bytes(gzip.compress("".join(json.dumps(r) + "\n" for r in _records()).encode()))
    return path


def test_curate_small_file(tmp_path: Path, small_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["data", "curate", "--data", str(small_file), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(CURATE_OUTPUTS)
    report = json.loads((out / "curation_report.json").read_text())
    assert REPORT_KEYS <= set(report)
    assert report["records_in"] == 4 and report["datapoints_out"] == 2
    assert report["records_removed"]["max_chiral_centers"] == 1 and report["records_removed"]["has_c13_or_h1"] == 1
    dps = [dp for split in ("train", "val", "test") for dp in read_datapoints(out / f"curated_{split}.jsonl.gz")]
    assert sorted(dp.nmrshiftdb2_id for dp in dps) == [1, 2]
    assert load_split_table(out / "split.tsv.gz").keys() == {1, 2, 3, 4}  # every record gets a split row
    assert "datapoints per split" in capsys.readouterr().out
    # a rule switched off
    out2 = tmp_path / "out2"
    assert main(["data", "curate", "--data", str(small_file), "--out", str(out2),
                 "--rule", "max_chiral_centers=off"]) == 0
    report2 = json.loads((out2 / "curation_report.json").read_text())
    assert report2["datapoints_out"] == 3 and report2["config"]["rules"]["max_chiral_centers"] is False
    assert "--rule max_chiral_centers=off" in report2["command"]


def test_curate_refuses_overwrite_and_bad_arguments(tmp_path: Path, small_file: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["data", "curate", "--data", str(small_file), "--out", str(out)]) == 0
    before = (out / "curation_report.json").read_text()
    capsys.readouterr()
    assert main(["data", "curate", "--data", str(small_file), "--out", str(out), "--limit", "1"]) == 2
    assert "--force" in capsys.readouterr().err
    assert (out / "curation_report.json").read_text() == before
    assert main(["data", "curate", "--data", str(small_file), "--out", str(out), "--limit", "1", "--force"]) == 0
    assert json.loads((out / "curation_report.json").read_text())["records_in"] == 1
    assert main(["data", "curate", "--data", str(small_file), "--out", str(tmp_path / "o3"), "--rule", "nope=off"]) == 2
    assert "unknown rule 'nope'" in capsys.readouterr().err
    assert main(["data", "curate", "--data", str(tmp_path / "missing.jsonl.gz"), "--out", str(tmp_path / "o4")]) == 2
    with pytest.raises(SystemExit) as info:
        main(["data", "curate", "--limit", "0"])
    assert info.value.code == 2


def test_stats_on_a_file(small_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "stats", "--data", str(small_file), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)["nmrshiftdb2"]
    assert stats["records"] == 4 and stats["spectra_per_nucleus"] == {"13C": 3, "31P": 1}
    assert sum(stats["splits"].values()) == 4
    assert main(["data", "stats", "--data", str(small_file)]) == 0
    assert "nmrshiftdb2: 4 records" in capsys.readouterr().out


def test_stats_without_data_dir(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("NMRLENS_DATA_DIR", raising=False)
    assert main(["data", "stats"]) == 2
    assert "NMRLENS_DATA_DIR is not set" in capsys.readouterr().err


def test_curate_real_data_limit_300(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "cur"
    assert main(["data", "curate", "--data", str(data_dir), "--out", str(out), "--limit", "300"]) == 0
    for name in CURATE_OUTPUTS:
        assert (out / name).is_file()
    report = json.loads((out / "curation_report.json").read_text())
    assert REPORT_KEYS <= set(report)
    assert report["records_in"] == 300 and report["limit"] == 300
    removed = sum(report["records_removed"].values())
    assert report["records_kept"] == 300 - removed and 0 < report["datapoints_out"] <= 300 - removed
    n = sum(len(read_datapoints(out / f"curated_{s}.jsonl.gz")) for s in ("train", "val", "test"))
    assert n == report["datapoints_out"] == sum(v["datapoints"] for v in report["per_split"].values())
    assert len(load_split_table(out / "split.tsv.gz")) == 300
    assert main(["data", "curate", "--data", str(data_dir), "--out", str(out), "--limit", "300"]) == 2


def test_stats_real_data(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "stats", "--data", str(data_dir), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    nmr = stats["nmrshiftdb2"]
    assert nmr["records"] == 54181 and nmr["assigned"] == 7576
    assert nmr["spectra_per_nucleus"]["13C"] == 32699 and nmr["molecules_per_nucleus"]["1H"] == 16067
    assert nmr["h1_nH"]["complete"] == 5890
    assert stats["literature"]["records"] == 1200 and stats["bmrb2d"]["images"] == 2179
    assert stats["substructuresnmr"]["images"] == 241 and stats["revmolspec"]["rows"] == 1467
