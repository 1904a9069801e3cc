"""``nmrlens invert``: ranked candidates from a spectrum file, --forward codes, JSON output, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from nmrlens import io
from nmrlens.cli.main import main
from nmrlens.spectra.code import spectrum_code
from nmrlens.spectra.model import Peak, Query, Spectrum1D
from tests.invert_fixtures import SHIFTS, tiny_checkpoint


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tiny_checkpoint(tmp_path_factory.mktemp("cli") / "tiny"))


@pytest.fixture()
def spectrum_file(tmp_path: Path) -> Path:
    path = tmp_path / "q.json"
    io.write(Query(spectra=[Spectrum1D("13C", [Peak(s) for s in SHIFTS["CC(C)C"]])]), path)
    return path


def test_forward_prints_the_code(ckpt: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["invert", "--forward", "CC(C)C", "--checkpoint", ckpt]) == 0
    out = capsys.readouterr().out
    line = out.splitlines()[0]
    assert line.startswith("code: ") and len(line) == 6 + 128 and set(line[6:]) <= {"0", "1"}
    from nmrlens.models.invert import InversePredictor

    bits, _ = InversePredictor.load(ckpt).forward_code("CC(C)C")
    assert line[6:] == "".join(str(b) for b in bits) and bits.sum() >= 1
    # the tiny model has learned isobutane's code (24.6, 25.2 ppm: window 15)
    assert np.flatnonzero(bits).tolist() == [15] and np.array_equal(bits, spectrum_code(SHIFTS["CC(C)C"]))
    assert "24.0-25.6" in out
    assert main(["invert", "--forward", "CC(C)C", "--checkpoint", ckpt, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["probabilities"]) == 128 and data["code"] == line[6:]


def test_invert_prints_ranked_candidates(ckpt: str, spectrum_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["invert", str(spectrum_file), "-n", "30", "--checkpoint", ckpt, "--no-shift-model"]) == 0
    out = capsys.readouterr().out
    assert "30 samples" in out and "ranking: forward_code" in out
    rows = [ln for ln in out.splitlines() if ln and not ln.startswith("#")]
    assert rows[0].split()[:2] == ["rank", "score"]
    scores = [float(r.split()[1]) for r in rows[1:]]
    assert 1 <= len(scores) <= 10 and scores == sorted(scores, reverse=True)
    assert main(["invert", str(spectrum_file), "-n", "30", "--top", "3", "--checkpoint", ckpt, "--no-shift-model",
                 "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["n_samples"] == 30 and len(data["candidates"]) <= 3 and data["candidates"][0]["rank"] == 1


def test_invert_text_peak_list(ckpt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    txt = tmp_path / "q.txt"
    txt.write_text("13C NMR (101 MHz, CDCl3) δ 144.2, 128.4, 127.9, 125.7, 28.9, 15.6.\n")
    assert main(["invert", str(txt), "-n", "10", "--checkpoint", ckpt, "--no-shift-model", "--seed", "1"]) == 0
    assert "# 6 peaks" in capsys.readouterr().out


def test_shift_model_ranking(ckpt: str, tiny_shift_checkpoint: str, spectrum_file: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["invert", str(spectrum_file), "-n", "20", "--checkpoint", ckpt,
                 "--shift-checkpoint", tiny_shift_checkpoint]) == 0
    assert "ranking: shift_model+forward_code" in capsys.readouterr().out


@pytest.mark.parametrize("args,match", [
    ([], "spectrum"),
    (["x.json", "--forward", "CC"], "spectrum"),
    (["--forward", "not_smiles"], "smiles"),
    (["--forward", "CCO"], "hydrocarbons|element"),
    (["missing.json"], "missing.json"),
    (["{spec}", "-n", "0"], "--samples"),
    (["{spec}", "--temperature", "-1"], "--temperature"),
])
def test_errors_exit_2(ckpt: str, spectrum_file: Path, capsys: pytest.CaptureFixture[str], args: list[str],
                       match: str) -> None:
    args = [a.replace("{spec}", str(spectrum_file)) for a in args]
    assert main(["invert", *args, "--checkpoint", ckpt]) == 2
    import re

    assert re.search(match, capsys.readouterr().err)


def test_missing_checkpoint_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["invert", "--forward", "CC", "--checkpoint", str(tmp_path / "none")]) == 2
    assert "checkpoint" in capsys.readouterr().err
