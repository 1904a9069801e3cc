"""``nmrlens elucidate`` and ``nmrlens serve``: table, JSON, HTML report, exit codes on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nmrlens.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "benzyl_acetate.txt"
LIBRARY = ROOT / "tests" / "data" / "elucidate_library.json"


def test_table_with_library(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["elucidate", str(EXAMPLE), "--formula", "C9H10O2", "--library", str(LIBRARY), "-k", "3",
                 "--no-generate"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:4] == ["rank", "SMILES", "formula", "score"]
    assert out[2].split()[:3] == ["1", "CC(=O)OCc1ccccc1", "C9H10O2"]
    assert len([line for line in out if line[:1].isdigit() and "proposed" not in line]) == 3
    assert "7 candidates proposed" in "\n".join(out)  # the seven C9H10O2 entries of the library
    assert any(line.strip().startswith("library: used (10 entries") for line in out)


def test_json_and_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "r.html"
    args = ["elucidate", str(EXAMPLE), "--library", str(LIBRARY), "--json", "--report", str(report), "--no-generate"]
    assert main(args) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["candidates"][0]["smiles"] == "CC(=O)OCc1ccccc1"
    assert d["formula"] is None and len(d["candidates"]) == 10  # no formula: every library entry competes
    page = report.read_text()
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") >= 10
    assert main(args) == 2  # the report exists: refused without --force
    assert "--force" in capsys.readouterr().err
    assert main(args + ["--force"]) == 0


def test_text_from_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(EXAMPLE.read_text()))
    assert main(["elucidate", "-", "--library", str(LIBRARY), "--formula", "C9H10O2", "--no-generate", "-k", "1"]) == 0
    assert "CC(=O)OCc1ccccc1" in capsys.readouterr().out


@pytest.mark.parametrize("extra, field", [
    (["--formula", "C9Qq"], "formula"),
    (["-k", "0"], "k"),
    (["--beam", "500"], "beam"),
    (["--library", "/nonexistent/lib.json"], "library"),
])
def test_bad_options_exit_2(extra: list[str], field: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["elucidate", str(EXAMPLE), "--no-generate", *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nmrlens: error:") and field in err and "Traceback" not in err


def test_bad_query_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("nothing to see")
    assert main(["elucidate", str(bad), "--no-generate"]) == 2
    assert "nmrlens: error:" in capsys.readouterr().err


def test_serve_rejects_bad_port(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--port", "0"]) == 2
    assert "--port" in capsys.readouterr().err


def test_seed_library_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seeds = tmp_path / "known.smi"
    seeds.write_text("CCOC(=O)c1ccccc1 ethyl benzoate\nCCO ethanol\n")
    assert main(["elucidate", str(EXAMPLE), "--formula", "C9H10O2", "--no-generate", "--seed-library", str(seeds),
                 "--json", "-k", "5"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["components"]["seed"].startswith("used (2 molecules")
    # ethyl benzoate is a seed; its neighbour benzyl acetate (the answer) comes from the expansion
    assert out["candidates"][0]["smiles"] == "CC(=O)OCc1ccccc1" and out["candidates"][0]["origins"] == ["expand"]
    assert "seed" in {o for c in out["candidates"] for o in c["origins"]}
    assert main(["elucidate", str(EXAMPLE), "--no-generate", "--seed-library", str(tmp_path / "none.smi")]) == 2
    assert "seed-library" in capsys.readouterr().err


def test_search_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["elucidate", str(EXAMPLE), "--formula", "C9H10O2", "--library", str(LIBRARY), "--no-generate",
                 "--search", "50", "--json", "-k", "3"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["components"]["expand"].startswith("used (structure search: 50 structures")
    assert out["candidates"][0]["smiles"] == "CC(=O)OCc1ccccc1"
    assert main(["elucidate", str(EXAMPLE), "--no-generate", "--search", "-3"]) == 2
    assert "budget" in capsys.readouterr().err
