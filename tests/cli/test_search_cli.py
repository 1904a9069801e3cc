"""``nmrlens library build|enumerate`` and ``nmrlens search`` end to end (tiny model, tiny library)."""

from __future__ import annotations

import json

import pytest

from nmrlens.cli.main import main
from tests.retrieval_helpers import SMILES, tiny_checkpoint, write_records


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    tmp = tmp_path_factory.mktemp("cli_lib")
    ckpt = tiny_checkpoint(tmp)
    rec = write_records(tmp / "mols.jsonl")
    lib = tmp / "lib"
    assert main(["library", "build", "--molecules", str(rec), "--out", str(lib), "--checkpoint", ckpt,
                 "--chunk-size", "6"]) == 0
    return tmp, ckpt, lib


def test_build_report_and_search_json(built, capsys) -> None:  # noqa: ANN001
    tmp, ckpt, lib = built
    capsys.readouterr()
    q = tmp / "q.json"
    q.write_text(json.dumps({"spectra": [{"nucleus": "13C", "peaks": [{"shift": 58.0}, {"shift": 18.0}]}]}))
    assert main(["search", str(q), "--library", str(lib), "-k", "3", "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert [h["rank"] for h in hits] == [1, 2, 3]
    assert {"combine", "sme", "sse", "ssr"} <= set(hits[0]["scores"])
    assert hits[0]["scores"]["combine"] >= hits[1]["scores"]["combine"]
    assert main(["search", str(q), "--library", str(lib), "--formula", "C2H6O", "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert hits and all(h["formula"] == "C2H6O" for h in hits) and hits[0]["smiles"] in ("CCO",)
    assert main(["search", str(q), "--library", str(lib), "-k", "2"]) == 0
    assert "SMILES" in capsys.readouterr().out
    assert main(["search", "CCO", "--molecule", "--library", str(lib), "--config", "C", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 10


@pytest.mark.parametrize("argv_tail, message", [
    (["-k", "0"], "k: got 0"),
    (["--formula", "C2H6Qq"], "formula"),
])
def test_bad_input_exits_2(built, capsys, argv_tail, message) -> None:  # noqa: ANN001
    tmp, ckpt, lib = built
    q = tmp / "q2.json"
    q.write_text(json.dumps({"spectra": [{"nucleus": "13C", "peaks": [{"shift": 58.0}]}]}))
    capsys.readouterr()
    assert main(["search", str(q), "--library", str(lib), *argv_tail]) == 2
    assert message in capsys.readouterr().err


def test_missing_library_and_bad_query_exit_2(built, tmp_path, capsys) -> None:  # noqa: ANN001
    _, _, lib = built
    q = tmp_path / "q.json"
    q.write_text(json.dumps({"spectra": [{"nucleus": "19F", "peaks": [{"shift": -60.0}]}]}))
    assert main(["search", str(q), "--library", str(tmp_path / "none")]) == 2
    assert main(["search", str(q), "--library", str(lib)]) == 2
    assert "13C and/or 1H" in capsys.readouterr().err
    assert main(["library", "build", "--molecules", str(tmp_path / "x.xyz"), "--out", str(tmp_path / "l")]) == 2
    assert main(["library", "build", "--molecules", str(q), "--out", str(tmp_path / "l"), "--engine", "ray"]) == 2
    smi = tmp_path / "m.smi"
    smi.write_text("CCO\n")
    capsys.readouterr()
    assert main(["library", "build", "--molecules", str(smi), "--out", str(tmp_path / "l2"), "--workers", "2"]) == 2
    assert "--workers: only used with --engine process" in capsys.readouterr().err
    assert not (tmp_path / "l2").exists()  # nothing written for a refused build


def test_enumerate_writes_smi(tmp_path, capsys) -> None:  # noqa: ANN001
    src = tmp_path / "src.smi"
    src.write_text("\n".join(SMILES) + "\n")
    out = tmp_path / "decoys.smi"
    assert main(["library", "enumerate", "--molecules", str(src), "--out", str(out), "-n", "10", "--seed", "2"]) == 0
    lines = out.read_text().splitlines()
    assert 1 <= len(lines) <= 10 and all("\t" in x for x in lines)
    assert main(["library", "enumerate", "--molecules", str(src), "--out", str(out), "-n", "10"]) == 2  # exists
