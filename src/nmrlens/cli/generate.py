"""``nmrlens generate``: spectra (+ formula) -> ranked candidate structures (de novo)."""

from __future__ import annotations

import argparse
import json
import sys

__all__ = ["register", "run", "VARIANTS", "MAX_BEAM"]

#: The refinement variants and the widest beam (as nmrlens.models.generate; kept here so that building
#: the parser does not import torch; a test checks they agree).
VARIANTS = ("raw", "rerank_base", "rerank_sme", "rerank_sse", "rerank_ssr", "rerank_combine")
MAX_BEAM = 100


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``generate`` subcommand."""
    p = sub.add_parser(
        "generate", help="generate candidate structures from 13C/1H spectra (+ formula)",
        description="Generate candidate structures (stereo-aware SMILES) de novo from a query file holding a 13C "
        "and/or 1H peak list (any format nmrlens reads, e.g. .json or literature text .txt), optionally with a "
        "molecular formula; candidates are ranked by the chosen refinement variant.",
    )
    p.add_argument("query", help="query file (.json, .txt literature text, .csv, .jdx, ...)")
    p.add_argument("--formula", help="molecular formula, e.g. C9H10O2 (overrides the file's)")
    p.add_argument("--nucleus", help="nucleus of a bare peak list without a header in a .txt/.csv file (13C or 1H)")
    p.add_argument("--config", help="input configuration to use: C, H, CH, CF, HF or CHF (default: all the query has)")
    p.add_argument("--beam", type=int, default=10, help=f"beam width (default 10, at most {MAX_BEAM})")
    p.add_argument("-k", type=int, default=10, help="number of candidates to print (default 10)")
    p.add_argument("--variant", default="rerank_combine", choices=VARIANTS, help="refinement variant (default rerank_combine)")
    p.add_argument("--no-constraint", action="store_true", help="do not constrain decoding by the formula's heavy atoms")
    p.add_argument("--no-valid-constraint", action="store_true",
                   help="do not restrict decoding to valence-respecting SMILES that end as valid molecules")
    p.add_argument("--hydrogen-bound", action=argparse.BooleanOptionalAction, default=None,
                   help="with a formula: also stop hypotheses whose hydrogen count can no longer match it "
                   "(default on; --no-hydrogen-bound turns it off)")
    p.add_argument("--search", type=int, default=0, metavar="N",
                   help="refine by a structure search: N formula-preserving neighbours of the candidates scored by "
                   "their predicted spectra, ranked by that similarity (default 0: off; e.g. 600)")
    p.add_argument("--seed-library", metavar="PATH",
                   help="with --search and a formula: known structures (.smi, .sdf, .jsonl[.gz] or a library folder) "
                   "whose molecules of the formula also seed the search")
    p.add_argument("--checkpoint", help="generation-model checkpoint (default: the shipped one)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Read the query, generate and print the candidates; returns the exit status."""
    from nmrlens import api, io
    from nmrlens.errors import NmrLensError

    opts = {"nucleus": args.nucleus} if args.nucleus else {}
    try:
        query = io.read_query(args.query, **opts)
    except TypeError:
        raise NmrLensError(f"--nucleus: not used by the format of {args.query!r}; it applies to acs and csv text only") from None
    cands = api.generate(query, formula=args.formula, config=args.config, beam=args.beam, k=args.k,
                         variant=args.variant, constrain_formula=not args.no_constraint,
                         constrain_valid=not args.no_valid_constraint, constrain_hydrogens=args.hydrogen_bound,
                         checkpoint=args.checkpoint, search=args.search, seed_library=args.seed_library)
    if args.json:
        out = [{"rank": i + 1, "smiles": c.smiles, "formula": c.formula, "inchikey": c.inchikey,
                "logp": round(c.logp, 4), "beam_rank": c.beam_rank + 1 if c.beam_rank >= 0 else None,
                "scores": {k: round(v, 4) for k, v in c.scores.items()}} for i, c in enumerate(cands)]
        variant = "search" if args.search else args.variant
        sys.stdout.write(json.dumps({"variant": variant, "beam": args.beam, "search": args.search, "candidates": out},
                                    indent=2) + "\n")
        return 0
    if not cands:
        print("no valid candidate (try a wider --beam or another --config)")
        return 0
    print(f"{'rank':>4}  {'score':>7}  {'logp':>8}  {'beam':>4}  formula      smiles")
    for i, c in enumerate(cands):
        key = "ssr" if args.search else "combine" if args.variant == "rerank_combine" else args.variant.replace("rerank_", "")
        sc = c.scores.get(key)
        sc_text = f"{sc:7.3f}" if sc is not None else "      -"
        beam_text = str(c.beam_rank + 1) if c.beam_rank >= 0 else "-"  # "-": a library seed or found by the search
        print(f"{i + 1:>4}  {sc_text}  {c.logp:8.3f}  {beam_text:>4}  {(c.formula or '-'):<11}  {c.smiles or c.text}")
    return 0
