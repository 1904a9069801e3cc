"""``nmrlens data``: statistics of the shared data and curation of nmrshiftdb2 into datapoints.

``nmrlens data stats [--data PATH] [--json]``
    Counts per nucleus, assigned records, splits, nH completeness of the 1H spectra, and the sizes
    of the literature/bmrb2d/substructuresnmr/revmolspec folders when they exist. ``PATH`` is the
    data root (default ``$NMRLENS_DATA_DIR``) or an nmrshiftdb2 JSON-lines file.

``nmrlens data curate [--data PATH] [--out DIR] [--rule NAME=on|off ...] [--limit N] [--force]``
    Applies the curation rules (:mod:`nmrlens.data.curation`) and writes
    ``DIR/curated_{train,val,test}.jsonl.gz``, ``DIR/curation_report.json`` and ``DIR/split.tsv.gz``
    (default ``DIR = artifacts/data``); refuses to overwrite them without ``--force``.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any, Iterator

from nmrlens.errors import DataNotFoundError, OutputExistsError

__all__ = ["register", "collect_stats", "run_stats", "run_curate", "CURATE_OUTPUTS"]

#: Files written by ``nmrlens data curate`` (relative to ``--out``).
CURATE_OUTPUTS = (
    "curated_train.jsonl.gz", "curated_val.jsonl.gz", "curated_test.jsonl.gz", "curation_report.json", "split.tsv.gz",
)


def register(subparsers: Any) -> None:
    """Add the ``data`` subcommand (with ``stats`` and ``curate``) to the CLI."""
    parser = subparsers.add_parser("data", help="shared data: statistics and curation",
                                   description="Statistics of the shared data and curation of nmrshiftdb2.")
    sub = parser.add_subparsers(dest="data_command", metavar="ACTION", parser_class=type(parser))
    p_stats = sub.add_parser("stats", help="counts per nucleus, assignment, split and dataset")
    p_stats.add_argument("--data", metavar="PATH", help="data root or nmrshiftdb2 .jsonl(.gz) file (default $NMRLENS_DATA_DIR)")
    p_stats.add_argument("--json", action="store_true", help="print the statistics as JSON instead of tables")
    p_stats.set_defaults(func=run_stats)
    p_cur = sub.add_parser("curate", help="apply the curation rules and write curated datapoints")
    p_cur.add_argument("--data", metavar="PATH", help="data root or nmrshiftdb2 .jsonl(.gz) file (default $NMRLENS_DATA_DIR)")
    p_cur.add_argument("--out", metavar="DIR", default="artifacts/data", help="output folder (default artifacts/data)")
    p_cur.add_argument("--rule", metavar="NAME=on|off", action="append", default=[],
                       help="switch a curation rule on or off (repeatable), e.g. max_chiral_centers=off")
    p_cur.add_argument("--limit", metavar="N", type=_positive_int, default=None, help="curate only the first N records")
    p_cur.add_argument("--force", action="store_true", help="overwrite existing outputs")
    p_cur.set_defaults(func=run_curate)
    parser.set_defaults(func=lambda args: (parser.print_help(), 0)[1])


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"got {text!r}, expected a whole number >= 1") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"got {text!r}, expected a whole number >= 1")
    return value


def _resolve(data: str | None) -> tuple[Path | None, Path]:
    """(data root or None, nmrshiftdb2 file)."""
    from nmrlens.data.datasets import data_dir, resolve_data_file

    if data is None:
        root = data_dir()
        return root, resolve_data_file("nmrshiftdb2", root)
    p = Path(data).expanduser()
    if p.is_dir():
        return p, resolve_data_file("nmrshiftdb2", p)
    if p.is_file():
        return None, p
    raise DataNotFoundError(f"--data: {data!r} does not exist; give the data root or an nmrshiftdb2 .jsonl.gz file")


# ----------------------------------------------------------------------------------------------
# stats

def collect_stats(data: str | None = None) -> dict[str, Any]:
    """Statistics of the nmrshiftdb2 file and the other data folders (JSON-ready)."""
    from nmrlens.data import datasets
    from nmrlens.data.splits import split_of_record

    root, nmr_file = _resolve(data)
    spectra: Counter[str] = Counter()
    molecules: Counter[str] = Counter()
    splits: Counter[str] = Counter()
    nh: Counter[str] = Counter()
    records = assigned = 0
    for rec in datasets.iter_nmrshiftdb2(nmr_file):
        records += 1
        assigned += bool(rec.get("assigned"))
        nuclei = set()
        for sp in rec.get("spectra") or []:
            nuc = str(sp.get("nucleus"))
            spectra[nuc] += 1
            nuclei.add(nuc)
            if nuc == "1H":
                peaks = sp.get("peaks") or []
                n_with = sum(1 for p in peaks if p.get("nH") is not None)
                nh["complete" if peaks and n_with == len(peaks) else ("partial" if n_with else "none")] += 1
        for nuc in nuclei:
            molecules[nuc] += 1
        molecules["13C+1H"] += {"13C", "1H"} <= nuclei
        molecules["neither 13C nor 1H"] += not ({"13C", "1H"} & nuclei)
        try:
            splits[split_of_record(rec)] += 1
        except Exception:  # noqa: BLE001 - a record without any identifier
            splits["unassignable"] += 1
    out: dict[str, Any] = {
        "nmrshiftdb2": {
            "file": str(nmr_file), "records": records, "assigned": assigned,
            "spectra_per_nucleus": dict(spectra.most_common()), "molecules_per_nucleus": dict(molecules.most_common()),
            "splits": {k: splits[k] for k in ("train", "val", "test", "unassignable") if splits[k] or k != "unassignable"},
            "h1_nH": dict(nh),
        }
    }
    if root is not None:
        out.update(_other_stats(root))
    return out


def _other_stats(root: Path) -> dict[str, Any]:
    from nmrlens.data import datasets

    out: dict[str, Any] = {}
    try:
        lit = list(datasets.iter_literature(root))
        out["literature"] = {"records": len(lit), "with_1H_peaks": sum(1 for r in lit if r.get("h1_peaks")),
                             "with_13C_shifts": sum(1 for r in lit if r.get("c13_shifts"))}
    except DataNotFoundError:
        pass
    try:
        rows = datasets.load_bmrb2d_index(root)
        out["bmrb2d"] = {"images": len(rows), **dict(Counter(str(r.get("experiment")) for r in rows)),
                         "entries": len({r.get("bmse") for r in rows})}
    except DataNotFoundError:
        pass
    try:
        rows = datasets.load_substructuresnmr_index(root)
        out["substructuresnmr"] = {"images": len(rows), **dict(Counter(str(r.get("split")) for r in rows))}
    except DataNotFoundError:
        pass
    try:
        out["revmolspec"] = {"rows": len(datasets.load_revmolspec(root))}
    except DataNotFoundError:
        pass
    return out


def run_stats(args: argparse.Namespace) -> int:
    """``nmrlens data stats``."""
    stats = collect_stats(args.data)
    if args.json:
        print(json.dumps(stats, indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    console = Console()
    nmr = stats["nmrshiftdb2"]
    table = Table(title=f"nmrshiftdb2: {nmr['records']:,} records ({nmr['assigned']:,} atom-assigned)")
    table.add_column("nucleus")
    table.add_column("spectra", justify="right")
    table.add_column("molecules", justify="right")
    for nuc, n in nmr["spectra_per_nucleus"].items():
        table.add_row(nuc, f"{n:,}", f"{nmr['molecules_per_nucleus'].get(nuc, 0):,}")
    for key in ("13C+1H", "neither 13C nor 1H"):
        table.add_row(key, "", f"{nmr['molecules_per_nucleus'].get(key, 0):,}")
    console.print(table)
    small = Table(title="splits (records) and nH of the 1H spectra")
    small.add_column("what")
    small.add_column("count", justify="right")
    for k, v in nmr["splits"].items():
        small.add_row(f"split {k}", f"{v:,}")
    for k in ("complete", "partial", "none"):
        small.add_row(f"1H spectra, nH on {'every' if k == 'complete' else ('some' if k == 'partial' else 'no')} peak",
                      f"{nmr['h1_nH'].get(k, 0):,}")
    console.print(small)
    others = {k: v for k, v in stats.items() if k != "nmrshiftdb2"}
    if others:
        t = Table(title="other data folders")
        t.add_column("folder")
        t.add_column("counts")
        for name, counts in others.items():
            t.add_row(name, ", ".join(f"{k}={v:,}" for k, v in counts.items()))
        console.print(t)
    return 0


# ----------------------------------------------------------------------------------------------
# curate

def _limited(it: Iterator[dict[str, Any]], limit: int | None) -> Iterator[dict[str, Any]]:
    for i, rec in enumerate(it):
        if limit is not None and i >= limit:
            return
        yield rec


def _expected_total(root: Path | None, nmr_file: Path, limit: int | None) -> int | None:
    total = None
    stats_file = nmr_file.parent / "stats.json"
    if stats_file.is_file() and stats_file.stat().st_size < 1_000_000:
        try:
            value = json.loads(stats_file.read_text(encoding="utf-8")).get("molecules")
            total = value if isinstance(value, int) and value > 0 else None
        except (ValueError, OSError, AttributeError):
            total = None
    if limit is not None:
        total = min(limit, total) if total is not None else limit
    return total


def run_curate(args: argparse.Namespace) -> int:
    """``nmrlens data curate``."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from nmrlens.data import datasets
    from nmrlens.data.curation import CurationConfig, Curator, parse_rule_overrides, write_datapoints
    from nmrlens.data.splits import SPLITS, format_split_table
    from nmrlens.io._base import write_text_atomic

    config = CurationConfig(rules=parse_rule_overrides(args.rule))
    out = Path(args.out)
    existing = [name for name in CURATE_OUTPUTS if (out / name).exists()]
    if existing and not args.force:
        raise OutputExistsError(f"--out: {', '.join(str(out / n) for n in existing)} exist; pass --force to overwrite")
    root, nmr_file = _resolve(args.data)
    curator = Curator(config)
    started = time.perf_counter()
    err = Console(stderr=True)
    with Progress(TextColumn("curating"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err,
                  transient=True, disable=not err.is_terminal) as progress:
        task = progress.add_task("records", total=_expected_total(root, nmr_file, args.limit))
        for i, rec in enumerate(_limited(datasets.iter_nmrshiftdb2(nmr_file), args.limit), 1):
            curator.add(rec)
            if i % 500 == 0:
                progress.update(task, completed=i)
        datapoints = curator.finish()
    elapsed = time.perf_counter() - started
    report = curator.report.to_dict()
    report["input"] = str(nmr_file)
    report["limit"] = args.limit
    report["elapsed_s"] = round(elapsed, 2)
    report["command"] = _command_line(args)
    out.mkdir(parents=True, exist_ok=True)
    for split in SPLITS:
        write_datapoints([dp for dp in datapoints if dp.split == split], out / f"curated_{split}.jsonl.gz", force=args.force)
    write_text_atomic(out / "split.tsv.gz", format_split_table(curator.split_rows), force=args.force)
    write_text_atomic(out / "curation_report.json", json.dumps(report, indent=2) + "\n", force=args.force)
    _print_summary(report, out)
    return 0


def _command_line(args: argparse.Namespace) -> str:
    parts = ["nmrlens", "data", "curate"]
    if args.data:
        parts += ["--data", str(args.data)]
    parts += ["--out", str(args.out)]
    for rule in args.rule:
        parts += ["--rule", rule]
    if args.limit is not None:
        parts += ["--limit", str(args.limit)]
    return " ".join(parts)


def _print_summary(report: dict[str, Any], out: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    t = Table(title=f"curation: {report['records_in']:,} records -> {report['datapoints_out']:,} datapoints "
                    f"({report['elapsed_s']} s)")
    t.add_column("removed by")
    t.add_column("records", justify="right")
    t.add_column("spectra", justify="right")
    for rule, n in report["records_removed"].items():
        t.add_row(rule, f"{n:,}", "")
    for rule, n in report["spectra_removed"].items():
        t.add_row(rule, "", f"{n:,}")
    console.print(t)
    s = Table(title="datapoints per split")
    for col in ("split", "datapoints", "13C", "1H"):
        s.add_column(col, justify="right" if col != "split" else "left")
    for split, counts in report["per_split"].items():
        s.add_row(split, *(f"{counts[k]:,}" for k in ("datapoints", "13C", "1H")))
    console.print(s)
    console.print(f"wrote {out}/curated_{{train,val,test}}.jsonl.gz, curation_report.json, split.tsv.gz")
