"""``nmrlens similarity A B`` / ``nmrlens similarity --pairs FILE.jsonl``: the peak-aware similarity.

Prints the score of :func:`nmrlens.similarity.peak_similarity` with 10 decimals: one line for two
spectrum files, or one line per pair of a JSON-lines file whose lines are
``{"a": <spectrum JSON>, "b": <spectrum JSON>}`` (blank lines are skipped; a bad line is an
error naming its line number, exit status 2, and nothing is printed).
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys

from nmrlens import io
from nmrlens.errors import FileFormatError, NmrLensError, short_repr
from nmrlens.spectra.model import Spectrum1D

__all__ = ["register", "run", "read_pairs"]

_PAIR_KEYS = ("a", "b")


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``similarity`` subcommand."""
    p = sub.add_parser(
        "similarity",
        help="peak-aware similarity (0..1) of two spectra, or of every pair in a JSON-lines file",
        description="Print the peak-aware similarity (NMRPeak, Methods 5.3) of spectra A and B with 10 decimals, "
        "or with --pairs one score per line of a JSON-lines file of {\"a\": spectrum, \"b\": spectrum} objects. "
        "Files may be in any format nmrlens reads (from the extension unless --from is given).",
    )
    p.add_argument("spectra", nargs="*", metavar="FILE", help="the two spectrum files A and B")
    p.add_argument("--pairs", metavar="FILE", help="JSON-lines file of {\"a\": <spectrum>, \"b\": <spectrum>} (gzip ok)")
    p.add_argument("--from", dest="fmt_in", choices=sorted(io.FORMATS), help="format of A and B")
    p.add_argument("--nucleus", help="nucleus to compare (picks that spectrum from files holding several; "
                   "also the nucleus of a bare peak list for acs/csv), e.g. 1H or 13C")
    p.set_defaults(func=run)


def _read(path: str, fmt: str | None, nucleus: str | None) -> Spectrum1D:
    """The first spectrum of ``nucleus`` (or the first one) in ``path``.

    ``io.read_spectrum`` is not used here because its ``nucleus`` (which spectrum to pick) would
    shadow the reader option ``nucleus`` (the nucleus of a bare acs/csv peak list).
    """
    module = io.format_module(fmt or io.guess_format(path))
    options = {"nucleus": nucleus} if nucleus and "nucleus" in inspect.signature(module.loads).parameters else {}
    query = io.read_query(path, fmt, **options)
    found = [s for s in query.spectra if nucleus is None or s.nucleus == nucleus]
    if not found:
        raise FileFormatError(f"{path}: holds no {nucleus or '1D'} spectrum")
    return found[0]


def read_pairs(path: str) -> list[tuple[Spectrum1D, Spectrum1D]]:
    """Read a JSON-lines file of ``{"a": spectrum, "b": spectrum}`` objects into Spectrum1D pairs.

    Raises:
        NmrLensError: naming the file and the line number of the first bad line.
    """
    from nmrlens.io._base import read_text
    from nmrlens.io.json import spectrum_from_dict

    pairs = []
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path} line {number}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise NmrLensError(f"{where}: invalid JSON at column {exc.colno}: {exc.msg}") from None
        except (RecursionError, ValueError) as exc:  # too deep, or e.g. an integer of > 4300 digits
            raise NmrLensError(f"{where}: invalid JSON ({type(exc).__name__}: {short_repr(str(exc))})") from None
        if not isinstance(obj, dict) or set(obj) != set(_PAIR_KEYS):
            keys = sorted(map(str, obj)) if isinstance(obj, dict) else type(obj).__name__
            raise NmrLensError(f"{where}: got {short_repr(keys)}, expected an object with exactly the keys 'a' and 'b'")
        try:
            a = spectrum_from_dict(obj["a"], "a")
            b = spectrum_from_dict(obj["b"], "b")
        except NmrLensError as exc:
            raise NmrLensError(f"{where}: {exc}") from None
        if a.nucleus != b.nucleus:
            raise NmrLensError(f"{where}: b.nucleus: got {b.nucleus!r}, expected {a.nucleus} (the nucleus of a)")
        pairs.append((a, b))
    return pairs


def run(args: argparse.Namespace) -> int:
    """Print the similarity score(s); returns the exit status."""
    from nmrlens.similarity import peak_similarity
    from nmrlens.spectra.model import normalize_nucleus

    if args.pairs is not None:
        if args.spectra:
            raise NmrLensError(f"similarity: got files {args.spectra} and --pairs; expected one or the other")
        if args.fmt_in or args.nucleus:
            raise NmrLensError("similarity: --from and --nucleus apply to two spectrum files, not to --pairs (JSON lines)")
        scores = [peak_similarity(a, b) for a, b in read_pairs(args.pairs)]
    else:
        if len(args.spectra) != 2:
            raise NmrLensError(f"similarity: got {len(args.spectra)} files, expected two spectrum files A B (or --pairs FILE)")
        nucleus = normalize_nucleus(args.nucleus) if args.nucleus else None
        a = _read(args.spectra[0], args.fmt_in, nucleus)
        b = _read(args.spectra[1], args.fmt_in, nucleus or a.nucleus)
        scores = [peak_similarity(a, b)]
    sys.stdout.write("".join(f"{s:.10f}\n" for s in scores))
    return 0
