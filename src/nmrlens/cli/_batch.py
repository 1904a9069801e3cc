"""Batch prediction for the CLI: a .smi file in, JSON lines out, per-molecule errors reported."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Sequence

from nmrlens.errors import NmrLensError, OutputExistsError

__all__ = ["read_smi", "predict_batch"]

MAX_BATCH_LINES = 10_000_000


def read_smi(path: Path) -> list[tuple[str, str]]:
    """``(smiles, name)`` per non-empty, non-comment line of a .smi file (name defaults to the line number)."""
    from nmrlens.io._base import read_text

    out = []
    for i, line in enumerate(read_text(path).splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 1)
        out.append((parts[0], parts[1].strip() if len(parts) > 1 else str(i)))
        if len(out) > MAX_BATCH_LINES:
            raise NmrLensError(f"--batch: more than {MAX_BATCH_LINES} molecules; split the file")
    return out


def predict_batch(src: Path, dst: Path, *, nuclei: Sequence[str], frequency_MHz: float, checkpoint: str | None,
                  force: bool = False, chunk: int = 512) -> int:
    """Predict every molecule of ``src`` into ``dst`` (one JSON object per line, ``error`` for failures)."""
    import os
    import tempfile

    from rich.progress import Progress

    from nmrlens import api
    from nmrlens.chem.validate import check_supported, to_mol
    from nmrlens.io.json import query_to_dict

    if dst.exists() and not force:
        raise OutputExistsError(f"--out: {str(dst)!r} exists; pass --force to overwrite")
    entries = read_smi(src)
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=".tmp", dir=dst.parent)
    n_ok = n_err = 0
    try:
        with os.fdopen(fd, "w") as fh, Progress(transient=True, disable=not sys.stderr.isatty()) as progress:
            task = progress.add_task("predicting", total=len(entries))
            for start in range(0, len(entries), chunk):
                block = entries[start:start + chunk]
                good, mols, results = [], [], {}
                for k, (smi, name) in enumerate(block):
                    try:
                        m = to_mol(smi)
                        check_supported(m)
                        good.append(k)
                        mols.append(m)
                    except NmrLensError as exc:
                        results[k] = {"name": name, "smiles": smi, "error": str(exc)}
                if mols:
                    for k, pred in zip(good, api.predict_many(mols, nuclei=nuclei, frequency_MHz=frequency_MHz,
                                                              checkpoint=checkpoint)):
                        results[k] = {"name": block[k][1], **query_to_dict(pred.query)}
                for k in range(len(block)):
                    fh.write(json.dumps(results[k], ensure_ascii=False) + "\n")
                    n_err += "error" in results[k]
                n_ok += len(block) - sum("error" in results[k] for k in range(len(block)))
                progress.advance(task, len(block))
        os.chmod(tmp, 0o644)
        os.replace(tmp, dst)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    print(f"predicted {n_ok} molecule(s), {n_err} failed (see 'error' lines); wrote {dst}", file=sys.stderr)
    return 0
