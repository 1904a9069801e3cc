"""``nmrlens predict``: molecule -> 13C peak list and 1H multiplets (and per-atom shifts)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nmrlens import io

__all__ = ["register", "run"]


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``predict`` subcommand."""
    p = sub.add_parser(
        "predict", help="predict 13C and 1H spectra of a molecule",
        description="Predict the 13C peak list and 1H multiplets of a molecule (SMILES, or a .mol/.sdf file), "
        "or of every molecule of a .smi file with --batch.",
    )
    p.add_argument("molecule", nargs="?", help="SMILES string or a .mol/.sdf file")
    p.add_argument("--nucleus", default="13C,1H", help="spectra to predict: 13C, 1H or 13C,1H (default)")
    p.add_argument("--format", dest="fmt", default="acs", choices=sorted(io.FORMATS), help="output format (default acs)")
    p.add_argument("--per-atom", action="store_true", help="also print per-atom shifts with standard deviations")
    p.add_argument("--frequency", type=float, default=400.0, help="1H frequency for multiplet widths, MHz (default 400)")
    p.add_argument("--plot", type=Path, help="draw a stick spectrum to this PNG file (needs matplotlib)")
    p.add_argument("--batch", type=Path, help="a .smi file (SMILES [name] per line): predict all of them")
    p.add_argument("--out", type=Path, help="with --batch: JSON-lines output file")
    p.add_argument("--checkpoint", help="shift-model checkpoint (default: the shipped one)")
    p.add_argument("--force", action="store_true", help="overwrite --out / --plot if they exist")
    p.set_defaults(func=run)


def _read_molecule(text: str) -> str:
    path = Path(text)
    if path.suffix.lower() in (".mol", ".sdf", ".mdl") and path.is_file():
        return io._base.read_text(path).split("$$$$")[0]
    return text


def _per_atom_table(pred) -> str:  # noqa: ANN001 - Prediction
    lines = ["atom  el  nH   13C ppm (sd)      1H ppm (sd)"]
    for a in pred.atoms:
        c = f"{a.c13:8.2f} ({a.c13_sd:4.2f})" if a.c13 is not None else " " * 15
        h = f"{a.h1:6.2f} ({a.h1_sd:4.2f})" if a.h1 is not None else ""
        lines.append(f"{a.index:4d}  {a.element:2s}  {a.n_h:2d}  {c}   {h}")
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    """Predict and print (or write the batch file); returns the exit status."""
    from nmrlens import api
    from nmrlens.errors import NmrLensError

    nuclei = [n.strip() for n in args.nucleus.split(",") if n.strip()]
    if args.batch:
        if args.out is None:
            raise NmrLensError("--out: required with --batch (a JSON-lines file)")
        from nmrlens.cli._batch import predict_batch

        return predict_batch(args.batch, args.out, nuclei=nuclei, frequency_MHz=args.frequency,
                             checkpoint=args.checkpoint, force=args.force)
    if not args.molecule:
        raise NmrLensError("molecule: give a SMILES string or a .mol/.sdf file (or --batch FILE.smi)")
    pred = api.predict(_read_molecule(args.molecule), nuclei=nuclei, frequency_MHz=args.frequency,
                       checkpoint=args.checkpoint)
    sys.stdout.write(io.dumps(pred.query, args.fmt))
    if args.per_atom:
        sys.stdout.write("\n" + _per_atom_table(pred))
    if args.plot:
        from nmrlens.spectra.plot import plot_query

        plot_query(pred.query, args.plot, title=pred.smiles, force=args.force)
        print(f"wrote {args.plot}", file=sys.stderr)
    return 0
