"""``nmrlens generate`` and ``nmrlens evaluate generation`` with the tiny memorising model; bad input exits 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nmrlens import io
from nmrlens.cli.main import main
from nmrlens.spectra import Query
from tests.generate_helpers import PAIRS, save_tiny

DATA = Path(__file__).resolve().parents[1] / "data" / "generate_records.jsonl"


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory: pytest.TempPathFactory) -> str:
    return save_tiny(tmp_path_factory.mktemp("gencli"))


@pytest.fixture()
def alanine(tmp_path: Path) -> Path:
    q = PAIRS["C[C@H](N)C(=O)O"]
    p = tmp_path / "q.json"
    io.write(Query(spectra=q.spectra), p)  # without the formula
    return p


def test_generate_json(ckpt: str, alanine: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", str(alanine), "--formula", "C3H7NO2", "--beam", "8", "-k", "3", "--json",
                 "--checkpoint", ckpt]) == 0
    out = json.loads(capsys.readouterr().out)
    cands = out["candidates"]
    assert 1 <= len(cands) <= 3 and cands[0]["smiles"] == "C[C@H](N)C(=O)O" and cands[0]["formula"] == "C3H7NO2"
    assert [c["rank"] for c in cands] == list(range(1, len(cands) + 1))
    assert "ssr" in cands[0]["scores"] and "combine" in cands[0]["scores"]
    assert main(["generate", str(alanine), "--formula", "C3H7NO2", "--beam", "8", "-k", "3", "--json",
                 "--hydrogen-bound", "--checkpoint", ckpt]) == 0
    assert json.loads(capsys.readouterr().out)["candidates"][0]["smiles"] == "C[C@H](N)C(=O)O"


def test_generate_with_structure_search(ckpt: str, alanine: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", str(alanine), "--formula", "C3H7NO2", "--beam", "4", "-k", "5", "--search", "40", "--json",
                 "--checkpoint", ckpt]) == 0
    out = json.loads(capsys.readouterr().out)
    cands = out["candidates"]
    assert out["variant"] == "search" and out["search"] == 40 and 1 <= len(cands) <= 5
    assert all(c["formula"] == "C3H7NO2" for c in cands)  # the moves keep the formula
    ssr = [c["scores"]["ssr"] for c in cands]
    assert ssr == sorted(ssr, reverse=True)
    assert any(c["beam_rank"] is None for c in cands)  # found by the search, not the beam
    assert main(["generate", str(alanine), "--formula", "C3H7NO2", "-k", "3", "--search", "40", "--checkpoint", ckpt]) == 0
    assert " - " in capsys.readouterr().out
    seeds = alanine.parent / "seeds.smi"
    seeds.write_text("NCCC(=O)O beta-alanine\n")
    assert main(["generate", str(alanine), "--formula", "C3H7NO2", "--beam", "4", "-k", "40", "--search", "40", "--json",
                 "--seed-library", str(seeds), "--checkpoint", ckpt]) == 0
    got = {c["smiles"] for c in json.loads(capsys.readouterr().out)["candidates"]}
    assert "NCCC(=O)O" in got  # the library seed is scored and returned (-k = the budget)
    assert main(["generate", str(alanine), "--seed-library", str(seeds), "--checkpoint", ckpt]) == 2
    assert "--search" in capsys.readouterr().err
    assert main(["generate", str(alanine), "--search", "-1", "--checkpoint", ckpt]) == 2
    assert "search" in capsys.readouterr().err


def test_generate_table_from_text(ckpt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "acetone.txt"
    p.write_text("13C NMR (101 MHz, CDCl3) δ 206.7, 30.8 (2C).\n")
    assert main(["generate", str(p), "--variant", "rerank_base", "-k", "2", "--checkpoint", ckpt]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:2] == ["rank", "score"] and lines[1].split()[-1] == "CC(C)=O"


@pytest.mark.parametrize("extra, message", [
    (["--beam", "0"], "beam"),
    (["--beam", "101"], "beam"),
    (["-k", "0"], "k:"),
    (["--formula", "C3H7NO2+"], "formula"),
    (["--formula", "Xy2"], "formula"),
    (["--config", "HF"], "config"),
    (["--config", "Q"], "config"),
])
def test_bad_input_exits_2(ckpt: str, alanine: Path, capsys: pytest.CaptureFixture[str], extra: list[str],
                           message: str) -> None:
    assert main(["generate", str(alanine), "--checkpoint", ckpt, *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nmrlens: error:") and message in err


def test_missing_or_empty_query_exits_2(ckpt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", str(tmp_path / "none.json"), "--checkpoint", ckpt]) == 2
    p = tmp_path / "formula_only.json"
    io.write(Query(formula="C2H6O", spectra=[]), p)
    assert main(["generate", str(p), "--checkpoint", ckpt]) == 2
    assert "13C and/or 1H" in capsys.readouterr().err


def test_evaluate_generation_cli(ckpt: str, tmp_path: Path) -> None:
    out = tmp_path / "m.json"
    assert main(["evaluate", "generation", "--data", str(DATA), "--beam", "3", "--checkpoint", ckpt, "--out", str(out)]) == 0
    m = json.loads(out.read_text())
    assert m["beam"] == 3 and m["n_records"] == 0  # the fixture molecules are training molecules: none held out
    assert "gen.rerank_combine.CF.top1" in m and "gen.raw.CHF.top10_topology" in m and "seconds_per_query" in m


def test_evaluate_beam_only_for_generation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "tokenizer", "--data", str(DATA), "--beam", "3", "--out", str(tmp_path / "m.json")]) == 2
    assert "--beam" in capsys.readouterr().err
    assert main(["evaluate", "tokenizer", "--data", str(DATA), "--search-budget", "3", "--out", str(tmp_path / "m.json")]) == 2
    assert "--search-budget" in capsys.readouterr().err
