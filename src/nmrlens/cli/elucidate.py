"""``nmrlens elucidate QUERY [--formula F] [--library LIB] [--beam W] [-k 10] [--report out.html] [--json]``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

__all__ = ["register", "run"]


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``elucidate`` subcommand."""
    p = sub.add_parser(
        "elucidate", help="spectrum in, ranked and explained candidate structures out",
        description="Rank candidate structures for a spectrum. QUERY is a file (nmrlens JSON, literature text "
        ".txt, JCAMP-DX .jdx, NMReDATA .sdf, CSV) or literature text in quotes ('-' reads standard input). "
        "Candidates come from --library (a library folder or a spectra file such as nmrshiftdb2 .jsonl.gz) and "
        "from de novo generation when its model is installed; every candidate gets a predicted spectrum, all are "
        "ranked by the fused score, and the top ones get an atom <-> peak assignment.",
    )
    p.add_argument("query", help="spectrum file, literature text, or '-' for standard input")
    p.add_argument("--formula", help="molecular formula, e.g. C9H10O2 (candidates of other formulas are removed)")
    p.add_argument("--library", help="library folder or spectra file to search")
    p.add_argument("--seed-library", metavar="PATH",
                   help="known structures (.smi, .sdf, .jsonl[.gz], library folder) whose molecules of the formula "
                   "are scored and expanded like de novo candidates (origin 'seed')")
    p.add_argument("--beam", type=int, help="beam width of the generator (1..64, default 10)")
    p.add_argument("-k", type=int, default=10, help="number of candidates shown (1..100, default 10)")
    p.add_argument("--assign-top", type=int, default=3, help="assign the N best candidates (default 3)")
    p.add_argument("--format", dest="fmt", help="format of QUERY when it cannot be told (json, acs, jcampdx, ...)")
    p.add_argument("--invert", action="store_true", help="also propose structures with the reversible network (13C)")
    p.add_argument("--no-generate", action="store_true", help="do not use de novo generation")
    p.add_argument("--no-expand", action="store_true",
                   help="do not add formula-preserving neighbours of the best de novo candidates")
    p.add_argument("--search", type=int, default=0, metavar="N",
                   help="second stage as one structure search of N structures (e.g. 600) instead of 3 greedy rounds "
                   "of neighbours (default 0)")
    p.add_argument("--checkpoint", help="shift-model checkpoint (default: the shipped one)")
    p.add_argument("--generate-checkpoint", help="generation-model checkpoint (default: the shipped one)")
    p.add_argument("--report", type=Path, help="write an HTML report (structures, overlays, assignments)")
    p.add_argument("--json", action="store_true", help="print the result as JSON instead of a table")
    p.add_argument("--force", action="store_true", help="overwrite --report if it exists")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Elucidate and print; returns the exit status."""
    import torch

    from nmrlens.errors import OutputExistsError
    from nmrlens.io._base import write_text_atomic
    from nmrlens.pipeline import Elucidator, load_query, query_from_text
    from nmrlens.pipeline.report import format_table, render_html

    torch.set_num_threads(min(2, torch.get_num_threads()))
    if args.report is not None and args.report.exists() and not args.force:
        raise OutputExistsError(f"--report: {str(args.report)!r} exists; pass --force to overwrite")
    if args.query == "-":
        query = query_from_text(sys.stdin.read(), args.fmt, source="stdin")
    else:
        query = load_query(args.query, fmt=args.fmt)
    el = Elucidator.default(library=args.library, generate=not args.no_generate, invert=args.invert,
                            expand=not args.no_expand, generate_checkpoint=args.generate_checkpoint,
                            checkpoint=args.checkpoint, assign_top=args.assign_top, seed_library=args.seed_library,
                            search=args.search)
    result = el.run(query, formula=args.formula, k=args.k, beam=args.beam)
    if args.json:
        sys.stdout.write(json.dumps(result.to_dict(spectra=False), indent=2, allow_nan=False) + "\n")
    else:
        sys.stdout.write(format_table(result))
    if args.report is not None:
        write_text_atomic(args.report, render_html(result), force=args.force)
        print(f"wrote {args.report}", file=sys.stderr)
    return 0
