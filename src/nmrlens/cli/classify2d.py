"""``nmrlens classify2d --hsqc A.png --hmbc B.png [--task substructure|superclass] [--explain METHOD] [--out heat.png]``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

__all__ = ["register", "run"]


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``classify2d`` subcommand."""
    p = sub.add_parser(
        "classify2d", help="classify HSQC/HMBC spectra (substructures or compound class) and explain",
        description="Classify HSQC and/or HMBC spectra given as images (PNG, JPEG; 1H horizontal 10 -> 0 ppm, "
        "13C vertical 0 -> 200 ppm, dark peaks on white) or as .json 2D peak lists (rendered first). "
        "--task substructure: fatty acid chain / indole / steroid (probabilities are independent; a mixture "
        "can have several, an unrelated compound none); --task superclass: ClassyFire superclass. "
        "--explain draws a heatmap of the evidence for the top class (or --target) into --out.",
    )
    p.add_argument("--hsqc", help="HSQC image or .json 2D peak list")
    p.add_argument("--hmbc", help="HMBC image or .json 2D peak list")
    p.add_argument("--task", default="substructure", choices=["substructure", "superclass"],
                   help="what to predict (default substructure)")
    p.add_argument("--checkpoint", help="model checkpoint (default: the shipped model of --task)")
    p.add_argument("--explain", choices=["gradcam", "gradcam++", "occlusion"], help="explanation method")
    p.add_argument("--target", help="class to explain (default: the most probable one)")
    p.add_argument("--out", type=Path, help="PNG file for the heatmap overlay (with --explain)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Classify (and explain); returns the exit status."""
    import torch

    from nmrlens.errors import NmrLensError, OutputExistsError
    from nmrlens.models.classify2d import classify2d

    torch.set_num_threads(1)  # small convolutions: a second thread does not help

    if not args.hsqc and not args.hmbc:
        raise NmrLensError("--hsqc/--hmbc: give at least one spectrum (image or .json 2D peak list)")
    if args.out is not None and not args.explain:
        raise NmrLensError("--out: only used with --explain gradcam|gradcam++|occlusion")
    if args.explain and args.out is None:
        raise NmrLensError("--explain: give --out FILE.png for the heatmap overlay")
    if args.out is not None and args.out.exists() and not args.force:
        raise OutputExistsError(f"--out: {str(args.out)!r} exists; pass --force to overwrite")
    res = classify2d(args.hsqc, args.hmbc, task=args.task, checkpoint=args.checkpoint, explain=args.explain,
                     target=args.target)
    c = res.classification
    if args.out is not None:
        from nmrlens.spectra.render2d import write_png

        write_png(res.overlay(), args.out, force=args.force)
    if args.json:
        obj = {"task": c.task, "experiments": list(c.experiments), "label": c.label, "probabilities": c.probabilities}
        if res.method:
            obj.update(explain=res.method, explained_class=res.explained_class, heatmap=str(args.out))
        sys.stdout.write(json.dumps(obj, indent=2) + "\n")
    else:
        multilabel = c.task == "substructure"
        sys.stdout.write(f"task: {c.task} ({', '.join(c.experiments)})\n")
        for name, prob in c.probabilities.items():
            mark = " *" if (prob >= 0.5 if multilabel else name == c.label) else ""
            sys.stdout.write(f"  {name:40s} {prob:6.3f}{mark}\n")
        if multilabel and all(v < 0.5 for v in c.probabilities.values()):
            sys.stdout.write("  (no substructure above 0.5)\n")
        if res.method:
            print(f"wrote {args.out} ({res.method}, class {res.explained_class})", file=sys.stderr)
    return 0
