"""``nmrlens evaluate TASK --data PATH [--limit N] [--seed S] --out metrics.json``."""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

from nmrlens.evaluate import TASKS, run_task
from nmrlens.io._base import write_text_atomic

__all__ = ["register", "run"]


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``evaluate`` subcommand."""
    p = sub.add_parser(
        "evaluate",
        help="run a task benchmark and write flat metrics JSON",
        description="Run the benchmark of TASK on a data file in the record format of the shared data "
        "(e.g. nmrshiftdb2 JSON lines, gzip) and write flat metrics JSON. The metrics file is overwritten.",
    )
    p.add_argument("task", choices=sorted(TASKS), help="task to evaluate")
    p.add_argument("--data", required=True, type=Path, help="data file (record format of ../shared/data)")
    p.add_argument("--limit", type=int, default=None, help="use at most N records")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--out", required=True, type=Path, help="metrics JSON to write")
    p.add_argument("--checkpoint", help="model checkpoint for model tasks (default: the shipped one)")
    p.add_argument("--beam", type=int, default=None, help="generation task: beam width (default 10, at most 100)")
    p.add_argument("--library-extra", nargs="+", type=Path, default=None, metavar="FILE",
                   help="retrieval: extra library molecules (.smi, .sdf, .jsonl[.gz])")
    p.add_argument("--library-size", type=int, default=None, metavar="N",
                   help="retrieval: library of N molecules (the query molecules plus random others)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="retrieval: build the (cached) library with N worker processes (default: this process)")
    p.add_argument("--library", default=None, help="tasks that search a library (elucidate): a library folder or spectra file")
    p.add_argument("--search-budget", type=int, default=None, metavar="N",
                   help="generation: also score the structure-search variant, N structures per query with a formula")
    p.add_argument("--seed-library", default=None, metavar="PATH",
                   help="generation (with --search-budget) and elucidate: the training-split molecules of this file "
                   "(.smi, .sdf, .jsonl[.gz], library folder) of each query's formula seed the structure search")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the task and write its metrics; returns the exit status."""
    t0 = time.perf_counter()
    options = {"checkpoint": args.checkpoint} if args.checkpoint else {}
    for name in ("library_extra", "library_size"):  # task-specific options, passed only when given
        if getattr(args, name, None) is not None:
            options[name] = getattr(args, name)
    if getattr(args, "beam", None) is not None:
        if args.task != "generation":
            from nmrlens.errors import NmrLensError

            raise NmrLensError(f"--beam: got {args.beam} for task {args.task!r}; --beam applies to the generation task only")
        options["beam"] = args.beam
    for name, what in (("library", "a library"), ("workers", "worker processes"), ("search_budget", "a structure search"),
                       ("seed_library", "a seed library")):
        if getattr(args, name, None) is not None:
            import inspect

            from nmrlens.evaluate import get_task

            if name not in inspect.signature(get_task(args.task)).parameters:
                from nmrlens.errors import NmrLensError

                raise NmrLensError(f"--{name.replace('_', '-')}: task {args.task!r} does not use {what}")
            options[name] = getattr(args, name)
    metrics = run_task(args.task, args.data, limit=args.limit, seed=args.seed, **options)
    metrics.setdefault("wall_seconds", round(time.perf_counter() - t0, 3))
    metrics = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in metrics.items()}
    text = json.dumps(metrics, indent=2, sort_keys=True, allow_nan=False, default=str) + "\n"
    write_text_atomic(args.out, text, force=True)
    sys.stdout.write(text)
    return 0
