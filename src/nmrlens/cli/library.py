"""``nmrlens library build|enumerate``: molecule libraries for spectrum search."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

__all__ = ["register", "run_build", "run_enumerate"]


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``library`` subcommand with ``build`` and ``enumerate``."""
    p = sub.add_parser("library", help="build molecule libraries for spectrum search",
                       description="Build a searchable molecule library (SQLite store + FAISS indexes), or make "
                       "decoy molecules by BRICS recombination.")
    lsub = p.add_subparsers(dest="library_command", metavar="ACTION")
    b = lsub.add_parser("build", help="predict, embed and index molecules (resumable)",
                        description="Build or resume a library: per molecule SMILES, formula, InChIKey, predicted "
                        "13C/1H spectra (experimental ones when the input has them), embeddings; plus FAISS indexes. "
                        "Running the same command again resumes an interrupted build.")
    b.add_argument("--molecules", required=True, type=Path, help="input: .smi, .sdf, .jsonl or .jsonl.gz")
    b.add_argument("--out", required=True, type=Path, help="library folder")
    b.add_argument("--checkpoint", help="retrieval checkpoint (default: the shipped one)")
    b.add_argument("--chunk-size", type=int, default=1000, help="molecules per stored chunk (default 1000)")
    b.add_argument("--index", default="auto", choices=("auto", "flat", "ivf", "hnsw"),
                   help="FAISS index kind (auto: flat up to 200k molecules, else IVF)")
    b.add_argument("--engine", default="local", choices=("local", "process", "ray"),
                   help="where chunks run: this process (local, default), worker processes on this machine "
                   "(process) or a Ray cluster (ray)")
    b.add_argument("--workers", type=int, help="with --engine process: worker processes (default: one per core)")
    b.add_argument("--address", help="with --engine ray: the Ray cluster address (default: a local Ray)")
    b.add_argument("--no-experimental", action="store_true", help="ignore experimental spectra of the input")
    b.add_argument("--threads", type=int, default=1, help="torch threads per chunk (default 1)")
    b.add_argument("--force", action="store_true", help="delete an existing library in --out first")
    b.set_defaults(func=run_build)
    e = lsub.add_parser("enumerate", help="decoy molecules by BRICS recombination",
                        description="Recombine BRICS fragments of the input molecules into new, valid, deduplicated "
                        "molecules (element- and size-filtered) and write them as a .smi file.")
    e.add_argument("--molecules", required=True, type=Path, help="input: .smi, .sdf, .jsonl or .jsonl.gz")
    e.add_argument("--out", required=True, type=Path, help="output .smi file")
    e.add_argument("-n", type=int, required=True, help="number of molecules to make")
    e.add_argument("--max-heavy-atoms", type=int, default=40)
    e.add_argument("--elements", default="C,H,N,O,S,F,Cl,Br,I,P", help="allowed elements, comma-separated")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--force", action="store_true", help="overwrite --out")
    e.set_defaults(func=run_enumerate)
    p.set_defaults(func=lambda args: (p.print_help(), 0)[1])


def run_build(args: argparse.Namespace) -> int:
    """Build or resume a library; prints a JSON report."""
    import torch
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from nmrlens.library.build import build_library

    torch.set_num_threads(max(1, args.threads))
    err = Console(stderr=True)
    with Progress(TextColumn("building"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err,
                  disable=not sys.stderr.isatty()) as progress:
        task = progress.add_task("build", total=None)

        def tick(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        try:
            report = build_library(args.molecules, args.out, checkpoint=args.checkpoint, chunk_size=args.chunk_size,
                                   engine=args.engine, address=args.address, workers=args.workers,
                                   index=args.index,
                                   use_experimental=not args.no_experimental, force=args.force,
                                   threads=args.threads, progress=tick)
        except KeyboardInterrupt:
            err.print("interrupted: finished chunks are stored; run the same command again to resume")
            return 130
    from dataclasses import asdict

    sys.stdout.write(json.dumps(asdict(report), indent=2) + "\n")
    return 0


def run_enumerate(args: argparse.Namespace) -> int:
    """Write BRICS-recombined molecules as a .smi file."""
    from nmrlens.chem.enumerate import enumerate_brics
    from nmrlens.io._base import write_text_atomic
    from nmrlens.library.build import read_molecules

    smiles = [m.smiles for m in read_molecules(args.molecules)]
    elements = [e.strip() for e in args.elements.split(",") if e.strip()]
    out = enumerate_brics(smiles, n=args.n, max_heavy_atoms=args.max_heavy_atoms, elements=elements, seed=args.seed)
    write_text_atomic(args.out, "".join(f"{s}\tbrics_{i}\n" for i, s in enumerate(out)), force=args.force)
    print(f"wrote {len(out)} molecules to {args.out}", file=sys.stderr)
    return 0
