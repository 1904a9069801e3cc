"""``nmrlens similarity``: two files, a pairs file, bad input -> exit 2 with a message."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

from nmrlens.cli.main import main

C100 = {"nucleus": "13C", "peaks": [{"shift": 100.0}]}
C105 = {"nucleus": "13C", "peaks": [{"shift": 105.0}]}
H2 = {"nucleus": "1H", "peaks": [{"shift": 2.0, "mult": "s", "nH": 3}]}
H2b = {"nucleus": "1H", "peaks": [{"shift_min": 2.0, "shift_max": 2.0, "mult": "d", "J": [], "nH": 3}]}
# 13C, d = 5 ppm: 0.8 e^-1 + 0.2
SCORE_C = f"{0.8 * math.exp(-1) + 0.2:.10f}"


def write(path: Path, obj: object) -> str:
    path.write_text(json.dumps(obj))
    return str(path)


def test_two_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = write(tmp_path / "a.json", C100), write(tmp_path / "b.json", C105)
    assert main(["similarity", a, b]) == 0
    assert capsys.readouterr().out == f"{SCORE_C}\n"
    assert SCORE_C == "0.4943035529"
    assert main(["similarity", a, a]) == 0
    assert capsys.readouterr().out == "1.0000000000\n"


def test_query_files_pick_the_nucleus(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    qa = write(tmp_path / "qa.json", {"formula": "C2H6O", "spectra": [C100, H2]})
    qb = write(tmp_path / "qb.json", {"formula": "C2H6O", "spectra": [H2b, C105]})
    assert main(["similarity", qa, qb]) == 0  # the first spectrum of A (13C), the 13C of B
    assert capsys.readouterr().out == f"{SCORE_C}\n"
    assert main(["similarity", qa, qb, "--nucleus", "1h"]) == 0
    # 1H: s vs d, 3 H each: pair 0.95; S = 0.8 * 0.95 + 0.2 = 0.96
    assert capsys.readouterr().out == "0.9600000000\n"


def test_other_formats_and_bare_peak_lists(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("nmrlens.io.acs")
    a = tmp_path / "a.txt"
    a.write_text("13C NMR (101 MHz, CDCl3) \u03b4 100.0.\n", encoding="utf-8")
    bare = tmp_path / "bare.txt"
    bare.write_text("105.0\n")
    b = write(tmp_path / "b.json", C105)
    assert main(["similarity", str(a), b]) == 0
    assert capsys.readouterr().out == f"{SCORE_C}\n"
    # a bare list takes the nucleus of A (or --nucleus) as the reader's nucleus
    assert main(["similarity", str(a), str(bare)]) == 0
    assert capsys.readouterr().out == f"{SCORE_C}\n"
    assert main(["similarity", str(bare), str(a), "--nucleus", "13C"]) == 0
    assert capsys.readouterr().out == f"{SCORE_C}\n"


def test_pairs_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = [json.dumps({"a": C100, "b": C105}), "", json.dumps({"a": H2, "b": H2b}), json.dumps({"b": C100, "a": C100})]
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("\n".join(lines) + "\n")
    assert main(["similarity", "--pairs", str(pairs)]) == 0
    assert capsys.readouterr().out.splitlines() == [SCORE_C, "0.9600000000", "1.0000000000"]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("{not json", "line 3: invalid JSON"),
        (json.dumps({"a": C100}), "line 3: .*exactly the keys 'a' and 'b'"),
        (json.dumps([C100, C105]), "line 3: got 'list'"),
        (json.dumps({"a": C100, "b": {"nucleus": "13C", "peaks": [{"shift": 999}]}}), r"line 3: b\.peaks\[0\]\.shift"),
        (json.dumps({"a": C100, "b": H2}), "line 3: b.nucleus: got '1H', expected 13C"),
    ],
)
def test_bad_pairs_line_names_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], bad: str, message: str) -> None:
    good = json.dumps({"a": C100, "b": C105})
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(f"{good}\n{good}\n{bad}\n{good}\n")
    assert main(["similarity", "--pairs", str(pairs)]) == 2
    out = capsys.readouterr()
    assert out.out == ""
    assert out.err.startswith("nmrlens: error: ")
    assert re.search(message, out.err), out.err


def test_bad_usage_and_input_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = write(tmp_path / "a.json", C100)
    h = write(tmp_path / "h.json", H2)
    assert main(["similarity", a]) == 2
    assert "expected two spectrum files" in capsys.readouterr().err
    assert main(["similarity", a, a, "--pairs", a]) == 2
    assert "--pairs" in capsys.readouterr().err
    assert main(["similarity", a, h]) == 2  # h holds no 13C spectrum
    assert "13C" in capsys.readouterr().err
    assert main(["similarity", a, str(tmp_path / "missing.json")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["similarity", a, write(tmp_path / "x.unknown", C100)]) == 2
    assert "extension" in capsys.readouterr().err


def test_entry_point_runs(tmp_path: Path) -> None:
    a, b = write(tmp_path / "a.json", C100), write(tmp_path / "b.json", C105)
    done = subprocess.run([sys.executable, "-m", "nmrlens", "similarity", a, b], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{SCORE_C}\n"
