"""Entry point of the ``nmrlens`` command.

Every subcommand lives in its own module of this package and exposes ``register(subparsers)``,
which adds its parser and sets ``func`` (called with the parsed namespace, returning an exit code).
An :class:`~nmrlens.errors.NmrLensError` is printed as one line and exits with status 2; a
traceback is shown only with ``--debug``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from typing import Sequence

from nmrlens import __version__
from nmrlens.errors import NmrLensError

__all__ = ["main", "build_parser", "SUBCOMMANDS"]

#: Subcommand modules, in the order ``--help`` lists them.
SUBCOMMANDS: tuple[str, ...] = (
    "predict", "search", "library", "generate", "assign", "classify2d", "invert", "show", "convert", "similarity",
    "data", "evaluate", "elucidate", "serve",
)


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose usage errors exit with status 2 and a one-line message (no traceback)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    """Build the full argument parser (all registered subcommands)."""
    parser = _Parser(
        prog="nmrlens",
        description="NMR spectra to molecular structures and molecules to spectra.",
    )
    parser.add_argument("--version", action="version", version=f"nmrlens {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"nmrlens.cli.{name}")
        except ModuleNotFoundError as exc:  # a subcommand not written yet
            if exc.name != f"nmrlens.cli.{name}":
                raise
            continue
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 ok, 1 internal error, 2 bad input or usage)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except NmrLensError as exc:
        if args.debug:
            raise
        print(f"nmrlens: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("nmrlens: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug: say so briefly, details with --debug
        if args.debug:
            raise
        print(f"nmrlens: internal error: {type(exc).__name__}: {exc} (run with --debug for details)", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
