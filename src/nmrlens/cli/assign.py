"""``nmrlens assign``: molecule + 13C/1H spectrum -> atom <-> peak assignment with confidences."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nmrlens.models.assign import Assignment

__all__ = ["register", "run", "format_table"]

OUTPUT_FORMATS = ("table", "json", "nmredata")


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``assign`` subcommand."""
    p = sub.add_parser(
        "assign", help="assign the atoms of a molecule to the peaks of its 13C / 1H spectrum",
        description="Assign carbons to 13C peaks and proton groups to 1H multiplets (optimal assignment that "
        "respects symmetry, peak counts and S/D/T/Q), with a confidence per pair.",
    )
    p.add_argument("molecule", help="SMILES string or a .mol/.sdf file")
    p.add_argument("spectrum", type=Path, help="spectrum file (.json, .txt ACS text, .jdx, .nmredata.sdf, .csv)")
    p.add_argument("--format", dest="fmt", default="table", choices=OUTPUT_FORMATS, help="output (default table)")
    p.add_argument("--input-format", help="format of the spectrum file (default: from its extension)")
    p.add_argument("--nucleus", help="nucleus of a bare peak list without header (acs, csv), e.g. 13C")
    p.add_argument("--out", type=Path, help="write to this file instead of standard output")
    p.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    p.add_argument("--checkpoint", help="AssignModel checkpoint (default: the shipped one; 'none': baseline only)")
    p.add_argument("--shifts-checkpoint", help="shift-model checkpoint (default: the shipped one)")
    p.set_defaults(func=run)


def format_table(result: Assignment) -> str:
    """The assignment as a text table (atom, element, H count, assigned peak, confidence)."""
    lines = [f"# {result.smiles}  (method: {result.method})",
             "nucleus  atom  el  nH  group  peak  shift_ppm  predicted_ppm  confidence"]
    for r in result.rows:
        peak = f"{r.peak:4d}" if r.peak is not None else "   -"
        shift = f"{r.shift:9.2f}" if r.shift is not None else "        -"
        pred = f"{r.predicted:13.2f}" if r.predicted is not None else "            -"
        conf = f"{r.confidence:10.3f}" if r.confidence is not None else "         -"
        lines.append(f"{r.nucleus:>7s}  {r.atom:4d}  {r.element:2s}  {r.n_h:2d}  {r.group:5d}  {peak}  {shift}  {pred}  {conf}")
    return "\n".join(lines) + "\n"


def _read_molecule(text: str) -> str:
    from nmrlens.io._base import read_text

    path = Path(text)
    if path.suffix.lower() in (".mol", ".sdf", ".mdl") and path.is_file():
        return read_text(path).split("$$$$")[0]
    return text


def run(args: argparse.Namespace) -> int:
    """Assign and print (or write ``--out``); returns the exit status."""
    from nmrlens import api, io
    from nmrlens.cli._common import reader_options
    from nmrlens.errors import DataNotFoundError
    from nmrlens.io._base import write_text_atomic

    if not args.spectrum.is_file():
        raise DataNotFoundError(f"spectrum: file {str(args.spectrum)!r} does not exist")
    module = io.format_module(args.input_format or io.guess_format(args.spectrum))
    query = io.merge_queries(module.read(args.spectrum, **reader_options(module.loads, nucleus=args.nucleus)),
                             source=str(args.spectrum))
    result = api.assign(_read_molecule(args.molecule), query, checkpoint=args.checkpoint,
                        shifts_checkpoint=args.shifts_checkpoint)
    if args.fmt == "table":
        text = format_table(result)
    elif args.fmt == "json":
        text = json.dumps(result.to_dict(), indent=2) + "\n"
    else:
        text = io.dumps(result.query, "nmredata")
    if args.out is not None:
        write_text_atomic(args.out, text, force=args.force)
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
