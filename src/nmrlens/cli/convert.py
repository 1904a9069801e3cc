"""``nmrlens convert INPUT OUTPUT``: convert spectra between file formats."""

from __future__ import annotations

import argparse
import sys

from nmrlens import io
from nmrlens.cli._common import reader_options

__all__ = ["register", "run"]


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``convert`` subcommand."""
    p = sub.add_parser(
        "convert",
        help="convert spectra between formats (json, acs, nmrshiftdb2, jcampdx, nmredata, csv)",
        description="Convert spectra between formats. Formats come from the extensions (.json, .txt acs, "
        ".jdx/.dx jcampdx, .sdf nmredata, .csv, .jsonl[.gz]/.sd nmrshiftdb2) unless --from/--to are given. "
        "OUTPUT '-' writes to standard output.",
    )
    p.add_argument("input", help="input file")
    p.add_argument("output", help="output file, or '-' for standard output")
    p.add_argument("--from", dest="fmt_in", choices=sorted(io.FORMATS), help="input format")
    p.add_argument("--to", dest="fmt_out", choices=sorted(io.FORMATS), help="output format")
    p.add_argument("--nucleus", help="nucleus of a bare peak list without header (acs, csv), e.g. 1H or 13C")
    p.add_argument("--force", action="store_true", help="overwrite OUTPUT if it exists")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Read INPUT and write OUTPUT; returns the exit status."""
    fmt_in = args.fmt_in or io.guess_format(args.input)
    module = io.format_module(fmt_in)
    queries = module.read(args.input, **reader_options(module.loads, nucleus=args.nucleus))
    if args.output == "-":
        fmt_out = args.fmt_out or "json"
        sys.stdout.write(io.dumps(queries, fmt_out))
        return 0
    fmt_out = args.fmt_out or io.guess_format(args.output)
    io.write(queries, args.output, fmt_out, force=args.force)
    n = sum(len(q.spectra) + len(q.spectra2d) for q in queries)
    print(f"wrote {n} spectra of {len(queries)} compound(s) to {args.output} ({fmt_out})", file=sys.stderr)
    return 0
