"""Speed of ``nmrlens library build``: molecules per second with the local engine (this process) and the
process engine (worker processes), on the same molecules, into fresh folders.

Run: ``.venv/bin/python benchmarks/bench_library_build.py [--n 8000] [--workers 2] [--out m.json]``
(needs NMRLENS_DATA_DIR; molecules: the first N SMILES of the shared nmrshiftdb2 file; predicted
spectra only).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=8000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--chunk-size", type=int, default=1000)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    from nmrlens.data.datasets import iter_nmrshiftdb2
    from nmrlens.library.build import MoleculeInput, build_library
    from nmrlens.train.config import resolve_data_path

    smiles: list[str] = []
    for rec in iter_nmrshiftdb2(resolve_data_path("nmrshiftdb2/molecules.jsonl.gz")):
        if rec.get("smiles"):
            smiles.append(rec["smiles"])
        if len(smiles) >= args.n:
            break
    mols = [MoleculeInput(s) for s in smiles]
    res: dict[str, object] = {"n_input": len(mols), "chunk_size": args.chunk_size}
    with tempfile.TemporaryDirectory() as tmp:
        for name, opts in (("local", {"engine": "local"}),
                           (f"process{args.workers}", {"engine": "process", "workers": args.workers})):
            rep = build_library(mols, Path(tmp) / name, chunk_size=args.chunk_size, use_experimental=False, **opts)
            res[f"{name}.seconds"] = rep.seconds
            res[f"{name}.molecules_per_second"] = rep.molecules_per_second
            res[f"{name}.n_stored"] = rep.n_stored
    text = json.dumps(res, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
