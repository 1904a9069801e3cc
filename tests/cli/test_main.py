"""The CLI entry: help, version, exit codes, convert/show, no tracebacks on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from nmrlens import __version__
from nmrlens.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
SPEC = {"nucleus": "13C", "solvent": "CDCl3", "frequency_MHz": 101.0, "peaks": [{"shift": 170.9}, {"shift": 21.0}]}


def test_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert __version__ in capsys.readouterr().out
    assert main([]) == 0
    out = capsys.readouterr().out
    for cmd in ("convert", "show", "evaluate"):
        assert cmd in out


def test_convert_json_to_json_and_refuse_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "a.json"
    src.write_text(json.dumps(SPEC))
    dst = tmp_path / "b.json"
    assert main(["convert", str(src), str(dst)]) == 0
    assert json.loads(dst.read_text())["peaks"][0] == {"shift": 170.9}
    assert main(["convert", str(src), str(dst)]) == 2
    assert "exists" in capsys.readouterr().err
    assert main(["convert", str(src), str(dst), "--force"]) == 0


def test_convert_to_stdout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "a.json"
    src.write_text(json.dumps(SPEC))
    assert main(["convert", str(src), "-", "--to", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["nucleus"] == "13C"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"nucleus": "13C", "peaks": [{"shift": 999}]}', "-50..300 ppm"),
        ("", "empty"),
        ("{not json", "invalid JSON"),
    ],
)
def test_bad_input_exits_2_with_message(tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str) -> None:
    src = tmp_path / "a.json"
    src.write_text(content)
    assert main(["convert", str(src), str(tmp_path / "b.json")]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "b.json").exists()


def test_missing_file_and_unknown_extension(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["convert", str(tmp_path / "nope.json"), str(tmp_path / "b.json")]) == 2
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "a.xyz").write_text("x")
    assert main(["convert", str(tmp_path / "a.xyz"), str(tmp_path / "b.json")]) == 2
    assert "extension" in capsys.readouterr().err


def test_nucleus_option_rejected_for_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "a.json"
    src.write_text(json.dumps(SPEC))
    assert main(["convert", str(src), "-", "--nucleus", "1H"]) == 2
    assert "--nucleus" in capsys.readouterr().err


def test_usage_error_exits_2() -> None:
    with pytest.raises(SystemExit) as info:
        main(["convert"])
    assert info.value.code == 2


def test_evaluate_unknown_data_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "parse", "--data", str(tmp_path / "none.jsonl.gz"), "--out", str(tmp_path / "m.json")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_evaluate_workers_only_for_tasks_that_build_a_library(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "d.jsonl"
    data.write_text("")
    assert main(["evaluate", "shifts", "--data", str(data), "--workers", "2", "--out", str(tmp_path / "m.json")]) == 2
    assert "--workers: task 'shifts' does not use worker processes" in capsys.readouterr().err
    assert not (tmp_path / "m.json").exists()


def test_console_script_runs_without_traceback(tmp_path: Path) -> None:
    src = tmp_path / "a.json"
    src.write_text('{"nucleus": "1H", "peaks": [{"shift": 25.0}]}')
    exe = Path(sys.executable).with_name("nmrlens")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "nmrlens"]
    res = subprocess.run([*cmd, "show", str(src), "--format", "json"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 2
    assert "shift" in res.stderr and "-3..17 ppm" in res.stderr and "Traceback" not in res.stderr


def test_show_example_in_every_format(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", str(ROOT / "examples" / "benzyl_acetate.json")]) == 0
    out = capsys.readouterr().out
    assert "===== json =====" in out and "170.9" in out
