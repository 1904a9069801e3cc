"""``nmrlens assign``: table / json / NMReDATA output (round trip), ACS text input, bad input -> exit 2."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest

from nmrlens import io
from nmrlens.cli.main import main
from nmrlens.spectra.model import Multiplet, Peak, Query, Spectrum1D

ETHYL_ACETATE = Query(spectra=(
    Spectrum1D("13C", [Peak(171.0, "S"), Peak(60.4, "T"), Peak(21.0, "Q"), Peak(14.2, "Q")]),
    Spectrum1D("1H", [Multiplet(4.12, 4.12, "q", (7.1,), 2), Multiplet(2.04, 2.04, "s", (), 3),
                      Multiplet(1.26, 1.26, "t", (7.1,), 3)]),
))


@pytest.fixture()
def spectrum_file(tmp_path: Path) -> Path:
    path = tmp_path / "ethyl_acetate.json"
    io.write(ETHYL_ACETATE, path)
    return path


def test_table(spectrum_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["assign", "CCOC(C)=O", str(spectrum_file), "--checkpoint", "none"]) == 0
    out = capsys.readouterr().out
    rows = [ln.split() for ln in out.splitlines()[2:]]
    c13 = {int(r[1]): float(r[6]) for r in rows if r[0] == "13C"}
    h1 = {int(r[1]): float(r[6]) for r in rows if r[0] == "1H"}
    assert c13 == {0: 14.2, 1: 60.4, 3: 171.0, 4: 21.0}
    assert h1 == {0: 1.26, 1: 4.12, 4: 2.04}
    assert "method: baseline" in out


def test_json(spectrum_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["assign", "CCOC(C)=O", str(spectrum_file), "--format", "json", "--checkpoint", "none"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["smiles"] == "CCOC(C)=O" and len(d["rows"]) == 4 + 3
    assert all(0.0 < r["confidence"] <= 1.0 for r in d["rows"])


def test_nmredata_round_trip(spectrum_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "ea.nmredata.sdf"
    assert main(["assign", "CCOC(C)=O", str(spectrum_file), "--format", "nmredata", "--out", str(out),
                 "--checkpoint", "none"]) == 0
    (q,) = io.read(out)
    c13 = {p.shift: p.atoms for p in q.spectrum("13C").peaks}
    assert c13 == {171.0: (3,), 60.4: (1,), 21.0: (4,), 14.2: (0,)}
    h1 = {p.shift: p.atoms for p in q.spectrum("1H").peaks}
    assert h1 == {4.12: (1,), 2.04: (4,), 1.26: (0,)}
    assert q.smiles == "CCOC(C)=O" and q.spectrum("1H").peaks[0].J == (7.1,)
    # refuses to overwrite without --force
    assert main(["assign", "CCOC(C)=O", str(spectrum_file), "--format", "nmredata", "--out", str(out),
                 "--checkpoint", "none"]) == 2
    assert main(["assign", "CCOC(C)=O", str(spectrum_file), "--format", "nmredata", "--out", str(out),
                 "--checkpoint", "none", "--force"]) == 0


def test_acs_text_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "toluene.txt"
    path.write_text("13C NMR (101 MHz, CDCl3) δ 137.9, 129.0, 128.2, 125.3, 21.4.\n")
    assert main(["assign", "Cc1ccccc1", str(path), "--checkpoint", "none", "--format", "json"]) == 0
    rows = {r["atom"]: r["shift"] for r in json.loads(capsys.readouterr().out)["rows"]}
    assert rows[0] == 21.4 and rows[1] == 137.9 and rows[2] == rows[6] and rows[3] == rows[5]


@pytest.mark.parametrize("argv, message", [
    (["assign", "C1CC", "SPEC"], "smiles"),
    (["assign", "CCO", "missing.json"], "does not exist"),
    (["assign", "CCO", "SPEC", "--format", "xml"], "invalid choice"),
    (["assign", "CC[Sn](C)C", "SPEC"], "unsupported element"),
])
def test_bad_input_exits_2(spectrum_file: Path, capsys: pytest.CaptureFixture[str], argv: list[str],
                           message: str) -> None:
    argv = [str(spectrum_file) if a == "SPEC" else a for a in argv]
    with pytest.raises(SystemExit) if "--format" in argv else contextlib.nullcontext():
        code = main(argv + ["--checkpoint", "none"])
        assert code == 2
    assert message in capsys.readouterr().err


def test_spectrum_without_13c_or_1h_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "f.json"
    io.write(Query(spectra=(Spectrum1D("19F", [Peak(-120.0)]),)), path)
    assert main(["assign", "CCF", str(path), "--checkpoint", "none"]) == 2
    assert "13C peak list" in capsys.readouterr().err

