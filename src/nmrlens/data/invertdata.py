"""Datapoints of the invertible network: a structure tensor, its 128-bit 13C code and peak shifts.

Two sources:

- the RevMolSpec table (``revmolspec/reversibledata.csv``): the structure is the table's bond
  matrix (hydrocarbons), the spectrum its 1024-bin column D (code = OR of 8 bins, shifts = bin
  centres);
- nmrshiftdb2 JSON lines: the structure is the record's SMILES, the spectrum its first
  experimental 13C peak list.

Splits are molecule-level: every item's ``key`` is the InChIKey connectivity block of its
structure (computed by RDKit from the bond matrix for the table, whose rows carry no InChIKey), and
its split is :func:`nmrlens.data.splits.split_of_block` of that key (table rows) or
:func:`nmrlens.data.splits.split_of_record` (nmrshiftdb2 records: the shipped split table). So a
RevMolSpec row and the nmrshiftdb2 record of the same molecule always share a split.
Items are tensor-free (numpy arrays only).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np

from nmrlens.chem.bondmatrix import MatrixSpec, bonds_to_mol, encode_bonds, encode_mol, structure_key
from nmrlens.errors import FileFormatError, InvalidMoleculeError, NmrLensError
from nmrlens.spectra.code import code_from_fine_bins, fine_bin_shifts, spectrum_code

__all__ = ["InvertItem", "InvertBuildReport", "data_kind", "revmolspec_items", "nmrshiftdb2_items", "load_items",
           "first_c13_shifts", "add_order_augmentation"]

log = logging.getLogger(__name__)


@dataclass
class InvertItem:
    """One molecule with its spectrum.

    Attributes:
        id: source id (RevMolSpec column A / nmrshiftdb2_id); id_b: column B (table rows) or None.
        smiles: canonical SMILES of the structure; key: InChIKey connectivity block.
        split: "train", "val" or "test"; held_out: True when no shipped model can have trained on it.
        x: structure tensor ``spec.shape`` (float32 0/1); code: 128-bit code (uint8).
        shifts: peak positions in ppm (table rows: 0.2 ppm bin centres).
        x_aug: optional ``(k, *spec.shape)`` uint8 tensors of the same molecule in other atom
            orders (training augmentation, see :func:`add_order_augmentation`).
    """

    id: int
    id_b: int | None
    smiles: str
    key: str
    split: str
    held_out: bool
    x: np.ndarray
    code: np.ndarray
    shifts: list[float]
    x_aug: np.ndarray | None = None


@dataclass
class InvertBuildReport:
    """Counts of kept items and of skipped rows/records by reason."""

    rows: int = 0
    kept: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str) -> None:
        """Count one skipped row under ``reason``."""
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


def data_kind(path: "str | os.PathLike[str]") -> str:
    """``"revmolspec"`` for a ``.csv`` file, ``"nmrshiftdb2"`` for ``.jsonl``/``.jsonl.gz``/``.json.gz``.

    Raises:
        FileFormatError: for any other extension.
    """
    name = Path(path).name.lower()
    if name.endswith(".csv"):
        return "revmolspec"
    if name.endswith((".jsonl", ".jsonl.gz", ".json.gz", ".ndjson")):
        return "nmrshiftdb2"
    raise FileFormatError(f"--data: {str(path)!r}: expected the RevMolSpec CSV (.csv) or nmrshiftdb2 JSON lines (.jsonl[.gz])")


def revmolspec_items(spec: MatrixSpec, path: "str | os.PathLike[str] | None" = None,
                     report: InvertBuildReport | None = None) -> Iterator[InvertItem]:
    """Items of the RevMolSpec table (rows whose structure the layout cannot hold are skipped and counted)."""
    from nmrlens.data.datasets import load_revmolspec
    from nmrlens.data.splits import split_of_block

    report = report if report is not None else InvertBuildReport()
    seen = _seen_blocks()
    for row in load_revmolspec(path):
        report.rows += 1
        try:
            mol = bonds_to_mol(row.bonds)
        except InvalidMoleculeError:
            report.skip("no structure (empty bond matrix)")
            continue
        try:
            if spec.layout == "revmolspec" and spec.atom_order == "source":
                x = encode_bonds(row.bonds, None, spec)
            else:
                x = encode_mol(mol, spec)
        except InvalidMoleculeError:
            report.skip("not encodable in this layout")
            continue
        from rdkit import Chem

        key = structure_key(mol)
        report.kept += 1
        yield InvertItem(row.id_a, row.id_b, Chem.MolToSmiles(mol), key, split_of_block(key), key not in seen, x,
                         code_from_fine_bins(row.spectrum), fine_bin_shifts(row.spectrum))


def _seen_blocks() -> frozenset[str]:
    from nmrlens.data.splits import training_blocks

    try:
        return training_blocks()
    except NmrLensError:  # no shipped split table: nothing counts as seen
        return frozenset()


def first_c13_shifts(record: dict[str, Any]) -> list[float] | None:
    """Shifts (ppm) of the first experimental 13C spectrum with peaks of an nmrshiftdb2 record, or None."""
    for sp in record.get("spectra") or ():
        if isinstance(sp, dict) and sp.get("nucleus") == "13C" and sp.get("peaks"):
            shifts = [p.get("shift") for p in sp["peaks"] if isinstance(p, dict)]
            if shifts and all(isinstance(s, (int, float)) and not isinstance(s, bool) for s in shifts):
                return [float(s) for s in shifts]
    return None


def nmrshiftdb2_items(spec: MatrixSpec, records: Iterable[dict[str, Any]], report: InvertBuildReport | None = None,
                      *, splits: Iterable[str] | None = None, held_out_only: bool = False) -> Iterator[InvertItem]:
    """Items of nmrshiftdb2 records with a 13C spectrum whose molecule the layout can hold.

    Args:
        splits: keep only these splits (None: all).
        held_out_only: keep only records :func:`nmrlens.data.splits.is_held_out` accepts.
    """
    from nmrlens.chem.mol import parse_smiles
    from nmrlens.data.splits import is_held_out, split_of_record

    report = report if report is not None else InvertBuildReport()
    wanted = set(splits) if splits is not None else None
    for rec in records:
        report.rows += 1
        shifts = first_c13_shifts(rec)
        if shifts is None:
            report.skip("no 13C spectrum")
            continue
        try:
            split = split_of_record(rec)
        except InvalidMoleculeError:
            report.skip("no molecule")
            continue
        if wanted is not None and split not in wanted:
            report.skip(f"split {split}")
            continue
        held = is_held_out(rec)
        if held_out_only and not held:
            report.skip("seen in training")
            continue
        try:
            mol = parse_smiles(rec.get("smiles") or "")
            x = encode_mol(mol, spec)
            key = structure_key(mol)
            code = spectrum_code(shifts)
        except NmrLensError:
            report.skip("not encodable in this layout")
            continue
        from rdkit import Chem

        report.kept += 1
        yield InvertItem(int(rec.get("nmrshiftdb2_id") or 0), None, Chem.MolToSmiles(mol), key, split, held, x, code,
                         sorted(shifts, reverse=True))


def load_items(path: "str | os.PathLike[str]", spec: MatrixSpec, report: InvertBuildReport | None = None, *,
               splits: Iterable[str] | None = None, held_out_only: bool = False,
               limit: int | None = None) -> list[InvertItem]:
    """Items of a RevMolSpec CSV or an nmrshiftdb2 JSON-lines file (see :func:`data_kind`).

    ``limit`` caps the number of rows/records read (not the number kept).
    """
    import itertools

    report = report if report is not None else InvertBuildReport()
    if data_kind(path) == "revmolspec":
        items: Iterable[InvertItem] = revmolspec_items(spec, path, report)
        keep = set(splits) if splits is not None else None
        out = []
        for it in items:
            if limit is not None and report.rows > limit:
                break
            if keep is not None and it.split not in keep:
                continue
            if held_out_only and not it.held_out:
                continue
            out.append(it)
        return out
    from nmrlens.data.datasets import iter_nmrshiftdb2

    records: Iterable[dict[str, Any]] = iter_nmrshiftdb2(path)
    if limit is not None:
        records = itertools.islice(records, limit)
    return list(nmrshiftdb2_items(spec, records, report, splits=splits, held_out_only=held_out_only))


def add_order_augmentation(items: Iterable[InvertItem], spec: MatrixSpec, k: int, seed: int = 0) -> None:
    """Give every item ``k`` more tensors of its molecule in random depth-first atom orders (``x_aug``)."""
    from nmrlens.chem.bondmatrix import random_dfs_order
    from nmrlens.chem.mol import parse_smiles

    rng = np.random.default_rng(seed)
    for it in items:
        if k <= 0:
            it.x_aug = None
            continue
        mol = parse_smiles(it.smiles)
        it.x_aug = np.stack([encode_mol(mol, spec, random_dfs_order(mol, rng)) for _ in range(k)]).astype(np.uint8)
