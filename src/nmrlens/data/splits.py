"""Molecule-level train/validation/test splits (85.5 / 4.5 / 10), grouped by InChIKey block.

The split of a molecule is a pure function of the first 14 characters of its InChIKey (the
connectivity block, shared by stereoisomers) and a seed: ``u = sha256(f"{seed}:{block}") / 2**64``
goes to *test* when ``u < 0.10``, to *val* when ``u < 0.145`` (5% of the remaining 90%), else to
*train*. All stereoisomers therefore share a split, every record (also one never seen before)
has a well-defined split, and the assignment is stable across machines and data versions.

Records: :func:`split_of_record` is the function every task uses for an nmrshiftdb2 (or any)
record dict. It looks the record's ``nmrshiftdb2_id`` up in the shipped split table
(``nmrlens/data/splits/nmrshiftdb2_split.tsv.gz``, columns ``nmrshiftdb2_id``, ``inchikey_block``,
``split``; written by ``nmrlens data curate``) and falls back to the hash of
:func:`record_block` for records the table does not hold: the ``inchikey``'s first block, else the
``source_inchikey``'s, else a pseudo block of the canonical SMILES (``"~"`` + 13 hex digits of its
SHA-256, so it can never equal a real InChIKey block).
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path
from typing import Any, Iterable, Literal, Mapping

from nmrlens.errors import DataNotFoundError, FileFormatError, InvalidMoleculeError

__all__ = [
    "SPLIT_SEED",
    "SPLIT_FRACTIONS",
    "SPLITS",
    "SPLIT_TABLE_PATH",
    "Split",
    "split_of_block",
    "split_of_inchikey",
    "smiles_block",
    "record_block",
    "split_of_record",
    "load_split_table",
    "format_split_table",
    "training_blocks",
    "is_held_out",
]

Split = Literal["train", "val", "test"]
#: The project's fixed split seed.
SPLIT_SEED = 20261121
#: Fractions of train, val, test.
SPLIT_FRACTIONS: dict[str, float] = {"train": 0.855, "val": 0.045, "test": 0.10}
#: The split names, in order.
SPLITS: tuple[str, ...] = ("train", "val", "test")
#: The shipped split table of the nmrshiftdb2 records.
SPLIT_TABLE_PATH = Path(__file__).resolve().parent / "splits" / "nmrshiftdb2_split.tsv.gz"
_TABLE_HEADER = ("nmrshiftdb2_id", "inchikey_block", "split")


def _unit_hash(block: str, seed: int) -> float:
    digest = hashlib.sha256(f"{seed}:{block}".encode("ascii", "replace")).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def split_of_block(block: str, seed: int = SPLIT_SEED) -> Split:
    """Split ("train", "val" or "test") of an InChIKey connectivity block (14 characters)."""
    if not isinstance(block, str) or len(block) != 14:
        raise InvalidMoleculeError(f"inchikey block: got {block!r}, expected the first 14 characters of an InChIKey")
    u = _unit_hash(block.upper(), seed)
    test = SPLIT_FRACTIONS["test"]
    if u < test:
        return "test"
    if u < test + SPLIT_FRACTIONS["val"]:
        return "val"
    return "train"


def split_of_inchikey(inchikey: str, seed: int = SPLIT_SEED) -> Split:
    """Split of a full InChIKey (only its first block matters)."""
    if not isinstance(inchikey, str) or len(inchikey) < 14:
        raise InvalidMoleculeError(f"inchikey: got {inchikey!r}, expected a 27-character InChIKey")
    return split_of_block(inchikey[:14], seed)


def smiles_block(smiles: str) -> str:
    """Pseudo InChIKey block of a molecule without an InChIKey: ``"~"`` + 13 upper-case hex digits
    of the SHA-256 of its RDKit canonical SMILES (of the text itself when RDKit cannot parse it).
    """
    text = smiles.strip() if isinstance(smiles, str) else ""
    if not text:
        raise InvalidMoleculeError(f"smiles: got {smiles!r}, expected a SMILES to derive a split block from")
    try:
        from nmrlens.chem.mol import canonical_smiles, parse_smiles

        text = canonical_smiles(parse_smiles(text))
    except InvalidMoleculeError:
        pass
    return "~" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:13].upper()


def _key_block(value: Any) -> str | None:
    if isinstance(value, str) and len(value.strip()) >= 14 and value.strip()[:14].isalpha():
        return value.strip()[:14].upper()
    return None


def record_block(record: Mapping[str, Any]) -> tuple[str, str]:
    """``(block, basis)`` of a record: basis is ``"inchikey"``, ``"source_inchikey"`` or ``"smiles"``.

    Raises:
        InvalidMoleculeError: when the record has no InChIKey and no SMILES.
    """
    for key in ("inchikey", "source_inchikey"):
        block = _key_block(record.get(key))
        if block is not None:
            return block, key
    smiles = record.get("smiles")
    if isinstance(smiles, str) and smiles.strip():
        return smiles_block(smiles), "smiles"
    raise InvalidMoleculeError(
        f"record {record.get('nmrshiftdb2_id')!r}: no inchikey, source_inchikey or smiles to assign a split"
    )


def load_split_table(path: "str | os.PathLike[str] | None" = None) -> dict[int, str]:
    """Read a split table (TSV, gzip allowed): nmrshiftdb2_id -> "train" | "val" | "test".

    Without ``path`` the table shipped with nmrlens is read.

    Raises:
        DataNotFoundError: when the file does not exist.
        FileFormatError: naming the line, for a malformed header, id or split name.
    """
    if path is None:
        return dict(_default_table())
    return _read_table(str(path))


@functools.lru_cache(maxsize=1)
def _default_table() -> Mapping[int, str]:
    """The shipped table, read once per process (read-only view)."""
    from types import MappingProxyType

    return MappingProxyType(_read_table(str(SPLIT_TABLE_PATH)))


def _read_table(path: str) -> dict[int, str]:
    from nmrlens.io._base import read_text

    p = Path(path)
    if not p.is_file():
        raise DataNotFoundError(f"split table: file {path!r} does not exist")
    lines = read_text(p, max_bytes=64 * 1024 * 1024).splitlines()
    if not lines or tuple(lines[0].rstrip("\r").split("\t")) != _TABLE_HEADER:
        header = "<TAB>".join(_TABLE_HEADER)
        raise FileFormatError(f"{path}: line 1 must be the header {header!r}")
    table: dict[int, str] = {}
    for i, line in enumerate(lines[1:], 2):
        if not line.strip():
            continue
        parts = line.rstrip("\r").split("\t")
        if len(parts) != 3 or not (parts[0].isascii() and parts[0].isdigit()) or parts[2] not in SPLITS:
            raise FileFormatError(
                f"{path}: line {i}: got {line[:80]!r}, expected '<nmrshiftdb2_id><TAB><inchikey_block><TAB><train|val|test>'"
            )
        table[int(parts[0])] = parts[2]
    return table


def format_split_table(rows: Iterable[tuple[int, str, str]]) -> str:
    """Text of a split table from ``(nmrshiftdb2_id, inchikey_block, split)`` rows, sorted by id."""
    body = "".join(f"{rid}\t{block}\t{split}\n" for rid, block, split in sorted(rows))
    return "\t".join(_TABLE_HEADER) + "\n" + body


def split_of_record(record: Mapping[str, Any], table: Mapping[int, str] | None = None) -> Split:
    """Split of a record dict: the split table's entry for its ``nmrshiftdb2_id`` (the shipped table
    unless ``table`` is given), else the hash of :func:`record_block`.

    Raises:
        InvalidMoleculeError: when the record is not in the table and has no InChIKey or SMILES.
    """
    if table is None:
        try:
            table = _default_table()
        except DataNotFoundError:
            table = {}
    rid = record.get("nmrshiftdb2_id")
    if isinstance(rid, str) and rid.isascii() and rid.isdigit():
        rid = int(rid)
    if isinstance(rid, int) and not isinstance(rid, bool) and rid in table:
        return table[rid]  # type: ignore[return-value]
    block, _ = record_block(record)
    return split_of_block(block)


@functools.lru_cache(maxsize=1)
def training_blocks() -> frozenset[str]:
    """InChIKey blocks of the shipped table's *train* and *val* molecules (what models may have seen)."""
    from nmrlens.io._base import read_text

    blocks = set()
    for line in read_text(SPLIT_TABLE_PATH, max_bytes=64 * 1024 * 1024).splitlines()[1:]:
        parts = line.split("\t")
        if len(parts) == 3 and parts[2] in ("train", "val"):
            blocks.add(parts[1])
    return frozenset(blocks)


def is_held_out(record: Mapping[str, Any]) -> bool:
    """True when no model trained on the shipped split can have seen this record's molecule.

    That is: its InChIKey block (see :func:`record_block`) is not a *train*/*val* block of the
    shipped table. On the shared data this selects the test split; on records never seen before
    (e.g. a withheld evaluation set) it selects all of them. Evaluation tasks use this filter.
    """
    try:
        block, _ = record_block(record)
    except InvalidMoleculeError:
        return False
    return block not in training_blocks()
