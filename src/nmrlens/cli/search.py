"""``nmrlens search QUERY --library LIB``: rank library molecules for a spectrum (or spectra for a molecule)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

__all__ = ["register", "run"]


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``search`` subcommand."""
    p = sub.add_parser(
        "search", help="search a library with a spectrum (or a molecule with --molecule)",
        description="Rank the molecules of a library (nmrlens library build) for a query spectrum file "
        "(.json, .txt literature text, .jdx, .csv, ...): embedding recall, then re-ranking by the chosen score. "
        "With --molecule, QUERY is a SMILES and library spectra are ranked instead (M2S).")
    p.add_argument("query", help="spectrum file (13C and/or 1H), or a SMILES with --molecule")
    p.add_argument("--library", required=True, type=Path, help="library folder")
    p.add_argument("--formula", help="keep only molecules of this formula, e.g. C9H10O2 (default: the query's)")
    p.add_argument("--no-formula", action="store_true", help="ignore a formula given in the query file")
    p.add_argument("-k", type=int, default=10, help="number of hits (default 10)")
    p.add_argument("--score", default="combine", choices=("combine", "ssr", "sse", "sme"), help="ranking score")
    p.add_argument("--config", choices=("C", "H", "CH"), help="spectra to use (default: all the query has)")
    p.add_argument("--recall", type=int, default=1000, help="candidates recalled per index (default 1000)")
    p.add_argument("--molecule", action="store_true", help="QUERY is a molecule: rank library spectra (M2S)")
    p.add_argument("--checkpoint", help="retrieval checkpoint (default: the one the library was built with)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Search and print the hits."""
    import torch

    from nmrlens import io
    from nmrlens.library.search import Library

    torch.set_num_threads(1)
    lib = Library.open(args.library, args.checkpoint)
    try:
        if args.molecule:
            hits = lib.search_molecule(args.query, k=args.k, config=args.config or "CH")
            what = "spectra"
        else:
            q = io.read_query(Path(args.query))
            if args.no_formula:
                q = q.with_(formula=None)
            hits = lib.search(q, k=args.k, formula=args.formula, score=args.score, recall=args.recall,
                              config=args.config)
            what = "molecules"
    finally:
        lib.close()
    if args.json:
        sys.stdout.write(json.dumps([h.to_dict() for h in hits], indent=2) + "\n")
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(hits)} {what} (library {args.library})")
    for col in ("rank", "combine", "sme", "sse", "ssr", "SMILES", "formula", "name"):
        table.add_column(col, justify="right" if col in ("rank", "combine", "sme", "sse", "ssr") else "left")
    for h in hits:
        def f(key: str) -> str:
            v = h.scores.get(key)
            return "" if v is None else f"{v:.3f}"
        table.add_row(str(h.rank), f("combine"), f("sme"), f("sse"), f("ssr"), h.smiles, h.formula, h.name or "")
    Console(width=160).print(table)
    return 0
