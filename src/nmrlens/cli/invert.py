"""``nmrlens invert``: 13C spectrum -> candidate structures through the invertible network, and
``nmrlens invert --forward SMILES``: molecule -> predicted 128-bit spectrum code."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

__all__ = ["register", "run"]


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``invert`` subcommand."""
    p = sub.add_parser(
        "invert", help="candidate structures from a 13C spectrum (invertible network)",
        description="Invert the reversible structure <-> 13C-code network: sample the free latents for the "
        "spectrum's 128-bit code (1.6 ppm windows, 0-204.8 ppm), decode and rank the structures "
        "(forward-code agreement, plus the shift model's predicted spectrum when it is available). "
        "With --forward SMILES, print the code the network predicts for a molecule.",
    )
    p.add_argument("spectrum", nargs="?", type=Path, help="13C spectrum file (.json, .txt, ...: any readable format)")
    p.add_argument("--forward", metavar="SMILES", help="predict the 128-bit code of this molecule instead")
    p.add_argument("-n", "--samples", type=int, default=100, help="latent samples to invert (default 100)")
    p.add_argument("--top", type=int, default=10, help="candidates to print (default 10)")
    p.add_argument("--seed", type=int, default=0, help="random seed of the latent samples (default 0)")
    p.add_argument("--temperature", type=float, help="latent sampling temperature (default: the checkpoint's)")
    p.add_argument("--variant", choices=("general", "revmolspec"), default="general",
                   help="shipped checkpoint: general (heteroatoms, <= 16 heavy atoms; default) or revmolspec "
                   "(hydrocarbons, <= 17 carbons)")
    p.add_argument("--checkpoint", help="invertible-network checkpoint (overrides --variant)")
    p.add_argument("--no-shift-model", action="store_true", help="rank by the forward code only")
    p.add_argument("--shift-checkpoint", help="shift-model checkpoint for ranking (default: the shipped one)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def _windows(code) -> str:  # noqa: ANN001 - numpy array
    from nmrlens.spectra.code import CODE_WINDOW_PPM

    parts = [f"{k * CODE_WINDOW_PPM:.1f}-{(k + 1) * CODE_WINDOW_PPM:.1f}" for k, b in enumerate(code) if b]
    return ", ".join(parts) if parts else "(none)"


def _run_forward(args: argparse.Namespace, predictor) -> int:  # noqa: ANN001 - InversePredictor
    from nmrlens.spectra.code import format_code

    bits, probs = predictor.forward_code(args.forward)
    if args.json:
        print(json.dumps({"smiles": args.forward, "code": format_code(bits),
                          "probabilities": [round(float(p), 4) for p in probs]}))
        return 0
    print(f"code: {format_code(bits)}")
    print(f"set windows (ppm): {_windows(bits)}")
    return 0


def run(args: argparse.Namespace) -> int:
    """Invert a spectrum (or predict a code with --forward); returns the exit status."""
    from nmrlens.errors import ConfigError
    from nmrlens.models.invert import InversePredictor

    if (args.spectrum is None) == (args.forward is None):
        raise ConfigError("spectrum: give a 13C spectrum file, or --forward SMILES (not both)")
    if not 1 <= args.samples <= 100_000:
        raise ConfigError(f"--samples: got {args.samples}, expected 1..100000")
    if args.top < 1:
        raise ConfigError(f"--top: got {args.top}, expected >= 1")
    if args.temperature is not None and not 0 < args.temperature <= 10:
        raise ConfigError(f"--temperature: got {args.temperature}, expected a number in (0, 10]")
    predictor = InversePredictor.load(args.checkpoint, variant=args.variant)
    if args.forward is not None:
        return _run_forward(args, predictor)
    from nmrlens import io
    from nmrlens.spectra.code import format_code

    spectrum = io.read_spectrum(args.spectrum, nucleus="13C")
    result = predictor.invert(spectrum, args.samples, seed=args.seed, temperature=args.temperature,
                              use_shift_model=False if args.no_shift_model else None,
                              shift_checkpoint=args.shift_checkpoint)
    top = result.candidates[: args.top]
    if args.json:
        print(json.dumps({
            "code": format_code(result.code), "n_samples": result.n_samples, "n_valid": result.n_valid,
            "n_candidates": len(result.candidates), "ranking": result.ranking,
            "candidates": [{"rank": i + 1, "smiles": c.smiles, "score": round(c.score, 4),
                            "code_score": round(c.code_score, 4),
                            "shift_score_ppm": None if c.shift_score is None else round(c.shift_score, 3),
                            "count": c.count} for i, c in enumerate(top)],
        }))
        return 0
    out = sys.stdout
    out.write(f"# {len(spectrum)} peaks -> code {format_code(result.code)}\n")
    out.write(f"# {result.n_samples} samples, {result.n_valid} valid, {len(result.candidates)} distinct; "
              f"ranking: {result.ranking}\n")
    if not top:
        out.write("# no valid structure decoded; try more samples (-n) or another --temperature\n")
        return 0
    out.write(f"{'rank':>4}  {'score':>8}  {'code':>7}  {'shift':>7}  {'count':>5}  smiles\n")
    for i, c in enumerate(top, 1):
        shift = f"{-c.shift_score:7.2f}" if c.shift_score is not None else f"{'-':>7}"
        out.write(f"{i:>4}  {c.score:8.3f}  {c.code_score:7.3f}  {shift}  {c.count:>5}  {c.smiles}\n")
    return 0
