"""Project-level promises: README commands, CI calling them, light imports, no shared data copied."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```bash\n(.*?)```", text, re.S)
    assert block and text.index("```bash") < 40, "README must start with the command block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_readme_starts_with_two_commands_and_ci_runs_the_test_one() -> None:
    commands = _readme_commands()
    assert len(commands) == 2
    assert "nmrlens" in commands[0] and "pytest" in commands[1]
    assert commands[1] in (ROOT / ".ci" / "run").read_text()


def test_import_is_light() -> None:
    code = "import sys, nmrlens, nmrlens.io, nmrlens.spectra, nmrlens.chem; " \
           "print(','.join(m for m in ('torch','rdkit','fastapi','matplotlib','scipy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


def test_no_shared_data_file_is_tracked() -> None:
    sums = Path(os.environ.get("NMRLENS_DATA_DIR", ROOT.parent / "shared" / "data")) / "SHA256SUMS"
    if not sums.exists():
        return
    shared = {line.split()[0] for line in sums.read_text().splitlines() if line.strip()}
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    for name in files:
        path = ROOT / name
        if path.is_file():
            assert hashlib.sha256(path.read_bytes()).hexdigest() not in shared, name
