"""Loaders for the shared data folders (``$NMRLENS_DATA_DIR``; see its README for the formats).

JSON-lines files are streamed (generators over the gzip file); the small CSV indexes are read
whole. Every loader takes an optional ``path``: a file, or a data root holding the usual folder
(``nmrshiftdb2/``, ``literature/``, ...); without it the data root is :func:`data_dir`.

========================  =====================================  ===============================
loader                     file (relative to the data root)       returns
========================  =====================================  ===============================
iter_nmrshiftdb2           nmrshiftdb2/molecules.jsonl.gz         raw record dicts
iter_literature            literature/nmrextractor.jsonl.gz       raw record dicts
load_bmrb2d_index          bmrb2d/index.csv                       list of row dicts
load_substructuresnmr_index substructuresnmr/index.csv            list of row dicts
load_revmolspec            revmolspec/reversibledata.csv          list of :class:`RevMolSpecRow`
========================  =====================================  ===============================
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from nmrlens.data._files import iter_json_lines
from nmrlens.errors import DataNotFoundError, FileFormatError

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

__all__ = [
    "DATA_ENV",
    "DATA_FILES",
    "data_dir",
    "resolve_data_file",
    "iter_nmrshiftdb2",
    "iter_literature",
    "load_bmrb2d_index",
    "load_substructuresnmr_index",
    "load_revmolspec",
    "RevMolSpecRow",
    "REVMOLSPEC_ATOMS",
    "REVMOLSPEC_BINS",
]

#: Environment variable naming the shared data root.
DATA_ENV = "NMRLENS_DATA_DIR"
#: Dataset name -> file path relative to the data root.
DATA_FILES: dict[str, str] = {
    "nmrshiftdb2": "nmrshiftdb2/molecules.jsonl.gz",
    "literature": "literature/nmrextractor.jsonl.gz",
    "bmrb2d": "bmrb2d/index.csv",
    "substructuresnmr": "substructuresnmr/index.csv",
    "revmolspec": "revmolspec/reversibledata.csv",
}
#: Size of the RevMolSpec bond matrix (heavy atoms) and number of 13C bins (0.2 ppm from 0 ppm).
REVMOLSPEC_ATOMS = 17
REVMOLSPEC_BINS = 1024
_MAX_CSV_BYTES = 256 * 1024 * 1024


def data_dir() -> Path:
    """The shared data root named by ``$NMRLENS_DATA_DIR``.

    Raises:
        DataNotFoundError: when the variable is unset or names a folder that does not exist.
    """
    value = os.environ.get(DATA_ENV, "").strip()
    if not value:
        raise DataNotFoundError(
            f"{DATA_ENV} is not set; set it to the shared data folder (the one holding nmrshiftdb2/, "
            "literature/, bmrb2d/, ...) or pass the file with --data / path="
        )
    p = Path(value).expanduser()
    if not p.is_dir():
        raise DataNotFoundError(f"{DATA_ENV}={value!r} is not a folder; set it to the shared data folder")
    return p


def resolve_data_file(name: str, path: "str | os.PathLike[str] | None" = None) -> Path:
    """The file of dataset ``name``: ``path`` itself when it is a file, ``path/<relative file>``
    when it is a folder, else ``data_dir()/<relative file>``.

    Raises:
        DataNotFoundError: when the file does not exist (the message names the path tried).
    """
    if name not in DATA_FILES:
        raise DataNotFoundError(f"dataset: got {name!r}, expected one of {', '.join(DATA_FILES)}")
    rel = DATA_FILES[name]
    if path is None:
        p = data_dir() / rel
    else:
        p = Path(path).expanduser()
        if p.is_dir():
            p = p / rel
    if not p.is_file():
        raise DataNotFoundError(f"{name}: file {str(p)!r} does not exist (expected <data root>/{rel})")
    return p


def iter_nmrshiftdb2(path: "str | os.PathLike[str] | None" = None) -> Iterator[dict[str, Any]]:
    """Stream the raw nmrshiftdb2 records (dicts, the shared README's record format)."""
    return iter_json_lines(resolve_data_file("nmrshiftdb2", path))


def iter_literature(path: "str | os.PathLike[str] | None" = None) -> Iterator[dict[str, Any]]:
    """Stream the raw literature (NMRExtractor) records (dicts: pmcid, smiles, h1_peaks, c13_shifts, ...)."""
    return iter_json_lines(resolve_data_file("literature", path))


def _read_csv(p: Path) -> list[dict[str, str]]:
    if p.stat().st_size > _MAX_CSV_BYTES:
        raise FileFormatError(f"{p}: larger than {_MAX_CSV_BYTES} bytes")
    try:
        with open(p, newline="", encoding="utf-8-sig") as fh:
            return [dict(row) for row in csv.DictReader(fh)]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise FileFormatError(f"{p}: not a readable UTF-8 CSV file ({exc})") from None


def _none_if_empty(row: dict[str, str]) -> dict[str, Any]:
    return {k: (v if v != "" else None) for k, v in row.items()}


def _require_columns(rows: list[dict[str, str]], columns: tuple[str, ...], p: Path) -> None:
    if rows:
        missing = [c for c in columns if c not in rows[0]]
        if missing:
            raise FileFormatError(f"{p}: missing column(s) {', '.join(missing)}; expected {', '.join(columns)}")


def load_bmrb2d_index(path: "str | os.PathLike[str] | None" = None) -> list[dict[str, Any]]:
    """Rows of ``bmrb2d/index.csv``: file (relative to bmrb2d/), experiment (HSQC|HMBC), bmse,
    inchikey, smiles and the ClassyFire levels; empty fields are None. ``path_abs`` is added: the
    image's absolute path.
    """
    p = resolve_data_file("bmrb2d", path)
    rows = _read_csv(p)
    _require_columns(rows, ("file", "experiment", "bmse", "inchikey", "smiles"), p)
    out = []
    for row in rows:
        d = _none_if_empty(row)
        d["path_abs"] = str(p.parent / row["file"])
        out.append(d)
    return out


def load_substructuresnmr_index(path: "str | os.PathLike[str] | None" = None) -> list[dict[str, Any]]:
    """Rows of ``substructuresnmr/index.csv``: file, experiment, split, class, bmse, components (a
    list), n_components/width/height (int); empty fields are None; ``path_abs`` is added.
    """
    p = resolve_data_file("substructuresnmr", path)
    rows = _read_csv(p)
    _require_columns(rows, ("file", "experiment", "split", "class", "components", "n_components", "width", "height"), p)
    out = []
    for i, row in enumerate(rows, 2):
        d = _none_if_empty(row)
        d["components"] = [c for c in (row.get("components") or "").split(";") if c]
        for key in ("n_components", "width", "height"):
            try:
                d[key] = int(row[key]) if row[key] != "" else None
            except ValueError:
                raise FileFormatError(f"{p}: line {i}: {key}={row[key]!r}, expected a whole number") from None
        d["path_abs"] = str(p.parent / row["file"])
        out.append(d)
    return out


@dataclass(frozen=True)
class RevMolSpecRow:
    """One row of the RevMolSpec table.

    Attributes:
        id_a: nmrshiftdb2 molecule ID (column A).
        id_b: the second 8-digit ID (column B; probably the nmrshiftdb2 spectrum ID).
        bonds: 17 x 17 symmetric int8 matrix between heavy atoms, zero diagonal (column C): bond
            order 1/2/3, 6/7 for aromatic bonds (5 + order), 0 = no bond.
        spectrum: 1024 uint8 values 0/1 (column D): binned 13C peak positions, bin = shift x 5
            (0.2 ppm bins from 0 ppm).
    """

    id_a: int
    id_b: int
    bonds: "np.ndarray"
    spectrum: "np.ndarray"


def _bond_matrix(text: str, where: str) -> "np.ndarray":
    import numpy as np

    n = REVMOLSPEC_ATOMS
    expected = n * (n - 1) // 2
    if len(text) != expected or not (text.isascii() and text.isdigit()):
        raise FileFormatError(f"{where}: column C has {len(text)} characters, expected {expected} digits")
    values = np.frombuffer(text.encode("ascii"), dtype=np.uint8) - ord("0")
    mat = np.zeros((n, n), dtype=np.int8)
    iu = np.triu_indices(n, k=1)
    mat[iu] = values
    mat.T[iu] = values
    return mat


def _spectrum_bits(text: str, where: str) -> "np.ndarray":
    import numpy as np

    if len(text) != REVMOLSPEC_BINS or text.strip("01"):
        raise FileFormatError(f"{where}: column D must be {REVMOLSPEC_BINS} characters 0/1, got {len(text)} characters")
    return np.frombuffer(text.encode("ascii"), dtype=np.uint8) - ord("0")


def load_revmolspec(path: "str | os.PathLike[str] | None" = None) -> list[RevMolSpecRow]:
    """Parse ``revmolspec/reversibledata.csv`` (header ``A,B,C,D``) into :class:`RevMolSpecRow` objects.

    Raises:
        FileFormatError: naming the line, for a malformed id, matrix or spectrum string.
    """
    p = resolve_data_file("revmolspec", path)
    rows = _read_csv(p)
    _require_columns(rows, ("A", "B", "C", "D"), p)
    out = []
    for i, row in enumerate(rows, 2):
        where = f"{p}: line {i}"
        try:
            id_a, id_b = int(row["A"]), int(row["B"])
        except (TypeError, ValueError):
            raise FileFormatError(f"{where}: ids A={row['A']!r}, B={row['B']!r}, expected whole numbers") from None
        out.append(RevMolSpecRow(id_a, id_b, _bond_matrix(row["C"] or "", where), _spectrum_bits(row["D"] or "", where)))
    return out
