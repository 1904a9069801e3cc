"""``nmrlens predict``: single molecule in every format, per-atom table, batch with errors, plot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nmrlens import io
from nmrlens.cli.main import main


@pytest.mark.parametrize("fmt", sorted(io.FORMATS))
def test_predict_every_format(tiny_shift_checkpoint: str, capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    assert main(["predict", "CCOC(C)=O", "--format", fmt, "--checkpoint", tiny_shift_checkpoint]) == 0
    out = capsys.readouterr().out
    (q,) = io.loads(out, fmt) if fmt != "acs" else [io.format_module("acs").loads(out)[0]]
    assert q.spectrum("13C") is not None and len(q.spectrum("13C").peaks) == 4
    assert sum(m.nH for m in q.spectrum("1H").peaks) == 8


def test_per_atom_table(tiny_shift_checkpoint: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["predict", "CCO", "--per-atom", "--checkpoint", tiny_shift_checkpoint]) == 0
    out = capsys.readouterr().out
    assert "atom  el  nH" in out and out.count("\n   ") >= 3


def test_bad_molecule_exits_2(tiny_shift_checkpoint: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["predict", "C1CC", "--checkpoint", tiny_shift_checkpoint]) == 2
    assert "smiles" in capsys.readouterr().err


def test_batch_reports_errors_and_carries_on(tiny_shift_checkpoint: str, tmp_path: Path) -> None:
    src = tmp_path / "in.smi"
    src.write_text("CCO ethanol\n# comment\nnot_a_smiles bad\nC[Sn](C)(C)C tin\nc1ccccc1\n")
    out = tmp_path / "out.jsonl"
    assert main(["predict", "--batch", str(src), "--out", str(out), "--checkpoint", tiny_shift_checkpoint]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["name"] for r in rows] == ["ethanol", "bad", "tin", "5"]
    assert "error" in rows[1] and "error" in rows[2] and "error" not in rows[0]
    assert rows[3]["formula"] == "C6H6"
    assert main(["predict", "--batch", str(src), "--out", str(out), "--checkpoint", tiny_shift_checkpoint]) == 2


def test_plot(tiny_shift_checkpoint: str, tmp_path: Path) -> None:
    png = tmp_path / "p.png"
    assert main(["predict", "CCO", "--plot", str(png), "--checkpoint", tiny_shift_checkpoint]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["predict", "CCO", "--plot", str(png), "--checkpoint", tiny_shift_checkpoint]) == 2
