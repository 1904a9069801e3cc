"""Rebuild the shipped vocabulary files from the shared data.

Usage::

    python -m nmrlens.tokenize.build --out src/nmrlens/tokenize/vocab/spectral_v1.json \\
        [--smiles-out src/nmrlens/tokenize/vocab/smiles_v1.json] [--data-dir ../shared/data] [--force]

The data folder defaults to ``$NMRLENS_DATA_DIR``. The result depends only on the data files (whose
SHA-256 is recorded in the vocabulary) and the parameters in :data:`DEFAULT_PARAMS`.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from pathlib import Path
from typing import Any, Mapping, Sequence

from nmrlens.errors import DataNotFoundError, NmrLensError
from nmrlens.tokenize.binning import BinningParams, IntervalTable, adaptive_edges, quantum_decimals, uniform_edges
from nmrlens.tokenize.records import iter_records, record_split, record_values
from nmrlens.tokenize.spectral import DEFAULT_MAX_LENGTH, SpectralTokenizer, dumps_vocab

__all__ = ["DEFAULT_PARAMS", "DEFAULT_SOURCES", "build_spectral_vocab", "build_spectral_tokenizer", "main"]

#: Training sources, relative to the data folder.
DEFAULT_SOURCES: tuple[str, ...] = ("nmrshiftdb2/molecules.jsonl.gz", "literature/nmrextractor.jsonl.gz")

#: The binning parameters of ``spectral_v1`` (bin counts tuned on the validation split, see docs/tokenizer.md).
DEFAULT_PARAMS: dict[str, BinningParams] = {
    "13C": BinningParams(
        name="13C", unit="ppm", quantum=0.1, low=-50.0, high=300.0, n_bins=1200, floor=0.05,
        min_width=0.1, max_width=5.0, forced_edges=(0.0, 50.0, 90.0, 110.0, 160.0, 185.0, 220.0),
    ),
    "1H": BinningParams(
        name="1H", unit="ppm", quantum=0.01, low=-3.0, high=17.0, n_bins=600, floor=0.05,
        min_width=0.01, max_width=0.5, forced_edges=(0.0, 2.0, 3.0, 4.5, 6.5, 8.5, 10.5),
    ),
    "J": BinningParams(
        name="J", unit="Hz", quantum=0.1, low=0.0, high=40.0, n_bins=60, floor=0.05,
        min_width=0.1, max_width=4.0, forced_edges=(3.0, 20.0),
    ),
}

PROCEDURE = (
    "Per variable (13C shift, 1H shift, 1H J): training values (split_of_inchikey(inchikey or source_inchikey) "
    "== 'train') are histogrammed on the reporting lattice k*quantum over [low, high] (values outside are "
    "overflow); the histogram density p is mixed with a uniform density, w = (1-floor)*p + floor/K; the K "
    "lattice cells are partitioned into exactly n_bins contiguous bins minimising sum_k w_k*|k - midpoint(bin)| "
    "(expected absolute error of midpoint decoding) under min_width <= width <= max_width and with a "
    "boundary at every forced (chemical) edge, solved exactly by dynamic programming. Edges lie halfway "
    "between lattice points. Two overflow intervals, (-inf, e0] and [en, +inf), decode to e0 and en."
)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _resolve_data_dir(data_dir: str | Path | None) -> Path:
    if data_dir is None:
        env = os.environ.get("NMRLENS_DATA_DIR")
        if not env:
            raise DataNotFoundError("data: give data_dir (--data-dir) or set NMRLENS_DATA_DIR to the shared data folder")
        data_dir = env
    p = Path(data_dir)
    if not p.is_dir():
        raise DataNotFoundError(f"data: folder {str(p)!r} does not exist")
    return p


def _mae(table: IntervalTable, values: Sequence[float]) -> tuple[float | None, int]:
    errs = [abs(table.value(i) - v) for v in values if not table.is_overflow(i := table.index(v))]
    return (round(sum(errs) / len(errs), 6) if errs else None), len(errs)


def build_spectral_vocab(
    data_dir: str | Path | None = None,
    *,
    params: Mapping[str, BinningParams] | None = None,
    sources: Sequence[str] = DEFAULT_SOURCES,
    nh_max: int = 24,
    formula_max_count: int = 100,
    max_length: int = DEFAULT_MAX_LENGTH,
    name: str = "spectral_v1",
) -> dict[str, Any]:
    """Build the spectral vocabulary object (the content of ``spectral_v1.json``) from the shared data.

    Reads the training split of ``sources`` (nmrshiftdb2 / literature JSON lines, relative to
    ``data_dir``, default ``$NMRLENS_DATA_DIR``), derives the interval tables with
    :func:`~nmrlens.tokenize.binning.adaptive_edges` and records the parameters, the data
    (file names, SHA-256, record and value counts) and validation-split errors next to the tables.

    Raises:
        DataNotFoundError: when the data folder or a source file is missing.
        ConfigError: for inconsistent parameters.
    """
    root = _resolve_data_dir(data_dir)
    prm = dict(DEFAULT_PARAMS if params is None else params)
    values: dict[str, dict[str, list[float]]] = {s: {"13C": [], "1H": [], "J": []} for s in ("train", "val", "test")}
    source_info = []
    for rel in sources:
        path = root / rel
        if not path.is_file():
            raise DataNotFoundError(f"data: source file {str(path)!r} does not exist")
        by_split = {"train": 0, "val": 0, "test": 0}
        skipped = 0
        train_values = {"13C": 0, "1H": 0, "J": 0}
        n = 0
        for rec in iter_records(path):
            n += 1
            split = record_split(rec)
            if split is None:
                skipped += 1
                continue
            by_split[split] += 1
            vals = record_values(rec)
            for k, v in vals.items():
                values[split][k].extend(v)
                if split == "train":
                    train_values[k] += len(v)
        source_info.append({
            "path": rel, "sha256": _sha256(path), "records": n, "records_by_split": by_split,
            "skipped_without_inchikey": skipped, "train_values": train_values,
        })
    tables: dict[str, IntervalTable] = {}
    counts: dict[str, Any] = {}
    validation: dict[str, Any] = {}
    for key in ("13C", "1H", "J"):
        p = prm[key]
        edges, cnt = adaptive_edges(values["train"][key], p)
        table = IntervalTable(name=p.name, unit=p.unit, edges=edges, decimals=quantum_decimals(p.quantum) + 1)
        tables[key] = table
        widths = [b - a for a, b in zip(edges, edges[1:])]
        d = table.decimals
        counts[key] = {**cnt, "n_bins": table.n_inner, "min_width": round(min(widths), d),
                       "max_width": round(max(widths), d)}
        uni = IntervalTable(name="u", unit=p.unit, edges=uniform_edges(edges[0], edges[-1], table.n_inner), decimals=6)
        mae, n_in = _mae(table, values["val"][key])
        umae, _ = _mae(uni, values["val"][key])
        validation[key] = {"n_values": len(values["val"][key]), "n_inner": n_in, "mae": mae, "uniform_mae": umae,
                           "ratio": round(mae / umae, 4) if mae is not None and umae else None}
    meta = {
        "name": name,
        "procedure": PROCEDURE,
        "params": {k: prm[k].to_dict() for k in ("13C", "1H", "J")},
        "data": {
            "description": "Experimental 13C and 1H peak lists of nmrshiftdb2 (spectra[] with nucleus 13C/1H; "
            "calc_spectra not used) and the literature set (c13_shifts, h1_peaks: shift or both range ends, J_Hz); "
            "1H J only from the literature set. Training split only.",
            "split": "nmrlens.data.splits.split_of_inchikey(record['inchikey'] or record['source_inchikey']) == 'train'",
            "sources": source_info,
            "counts": counts,
        },
        "validation": validation,
    }
    tok = SpectralTokenizer(tables, nh_max=nh_max, formula_max_count=formula_max_count, max_length=max_length, meta=meta)
    return tok.to_dict()


def build_spectral_tokenizer(data_dir: str | Path | None = None, **kwargs: Any) -> SpectralTokenizer:
    """:func:`build_spectral_vocab` as a ready tokenizer."""
    return SpectralTokenizer.from_dict(build_spectral_vocab(data_dir, **kwargs))


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry: write the spectral (and optionally the SMILES) vocabulary files."""
    from nmrlens.io._base import write_text_atomic
    from nmrlens.tokenize.smiles import SmilesTokenizer

    ap = argparse.ArgumentParser(prog="python -m nmrlens.tokenize.build", description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, required=True, help="spectral vocabulary JSON to write")
    ap.add_argument("--smiles-out", type=Path, default=None, help="also write the SMILES vocabulary here")
    ap.add_argument("--data-dir", type=Path, default=None, help="shared data folder (default $NMRLENS_DATA_DIR)")
    ap.add_argument("--force", action="store_true", help="overwrite existing files")
    args = ap.parse_args(argv)
    try:
        vocab = build_spectral_vocab(args.data_dir)
        write_text_atomic(args.out, dumps_vocab(vocab), force=args.force)
        if args.smiles_out is not None:
            SmilesTokenizer().save(args.smiles_out, force=args.force)
    except NmrLensError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    sys.stdout.write(f"wrote {args.out} ({vocab['vocab_size']} tokens)\n")
    for key, v in vocab["validation"].items():
        sys.stdout.write(f"  {key}: {vocab['data']['counts'][key]['n_bins']} bins, validation MAE {v['mae']} "
                         f"(uniform {v['uniform_mae']}, ratio {v['ratio']})\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
