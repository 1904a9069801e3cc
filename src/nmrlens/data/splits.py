"""Molecule-level train/validation/test splits (85.5 / 4.5 / 10), grouped by InChIKey block.

The split of a molecule is a pure function of the first 14 characters of its InChIKey (the
connectivity block, shared by stereoisomers) and a seed: ``u = sha256(f"{seed}:{block}") / 2**64``
goes to *test* when ``u < 0.10``, to *val* when ``u < 0.145`` (5% of the remaining 90%), else to
*train*. All stereoisomers therefore share a split, every record (also one never seen before)
has a well-defined split, and the assignment is stable across machines and data versions.
"""

from __future__ import annotations

import hashlib
from typing import Literal

from nmrlens.errors import InvalidMoleculeError

__all__ = ["SPLIT_SEED", "SPLIT_FRACTIONS", "Split", "split_of_block", "split_of_inchikey"]

Split = Literal["train", "val", "test"]
#: The project's fixed split seed.
SPLIT_SEED = 20261121
#: Fractions of train, val, test.
SPLIT_FRACTIONS: dict[str, float] = {"train": 0.855, "val": 0.045, "test": 0.10}


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
