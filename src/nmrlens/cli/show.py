"""``nmrlens show FILE``: read a spectrum file and print it in one or every supported format."""

from __future__ import annotations

import argparse
import sys

from nmrlens import io
from nmrlens.cli._common import reader_options
from nmrlens.errors import NmrLensError

__all__ = ["register", "run"]


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``show`` subcommand."""
    p = sub.add_parser("show", help="print a spectrum file in one or every supported format",
                       description="Read FILE and print its spectra in FORMAT (default: every format that can hold them).")
    p.add_argument("input", help="input file (format from the extension unless --from)")
    p.add_argument("--from", dest="fmt_in", choices=sorted(io.FORMATS), help="input format")
    p.add_argument("--format", dest="fmt_out", default="all", choices=["all", *sorted(io.FORMATS)],
                   help="output format (default: all)")
    p.add_argument("--nucleus", help="nucleus of a bare peak list without header (acs, csv)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the file's spectra; returns the exit status."""
    fmt_in = args.fmt_in or io.guess_format(args.input)
    module = io.format_module(fmt_in)
    queries = module.read(args.input, **reader_options(module.loads, nucleus=args.nucleus))
    formats = list(io.FORMATS) if args.fmt_out == "all" else [args.fmt_out]
    for fmt in formats:
        try:
            text = io.dumps(queries, fmt)
        except ModuleNotFoundError:  # format module not available in this build
            continue
        except NmrLensError as exc:
            if args.fmt_out != "all":
                raise
            text = f"(cannot be written as {fmt}: {exc})\n"
        if len(formats) > 1:
            sys.stdout.write(f"===== {fmt} =====\n")
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0
