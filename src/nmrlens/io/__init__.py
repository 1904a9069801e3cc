"""File formats: one module per format with symmetric ``read``/``write`` (and ``loads``/``dumps``).

=============  =========================================  ==========================
format          module                                     extensions
=============  =========================================  ==========================
json            :mod:`nmrlens.io.json` (public contract)   .json
acs             :mod:`nmrlens.io.acs` (literature text)    .txt
nmrshiftdb2     :mod:`nmrlens.io.nmrshiftdb2`              .jsonl, .jsonl.gz, .sd
jcampdx         :mod:`nmrlens.io.jcampdx`                  .jdx, .dx
nmredata        :mod:`nmrlens.io.nmredata`                 .sdf, .nmredata.sdf
csv             :mod:`nmrlens.io.csv`                      .csv
=============  =========================================  ==========================

:func:`read` and :func:`write` dispatch on the ``fmt`` argument or, when it is None, on the file
extension. Readers return a list of :class:`~nmrlens.spectra.Query`.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType
from typing import Any

from nmrlens.errors import FileFormatError
from nmrlens.io._base import PathLike, Writable
from nmrlens.spectra.model import Query, Spectrum1D

__all__ = ["FORMATS", "format_module", "guess_format", "read", "write", "loads", "dumps", "read_query", "read_spectrum"]

#: Format name -> module name.
FORMATS: dict[str, str] = {
    "json": "nmrlens.io.json",
    "acs": "nmrlens.io.acs",
    "nmrshiftdb2": "nmrlens.io.nmrshiftdb2",
    "jcampdx": "nmrlens.io.jcampdx",
    "nmredata": "nmrlens.io.nmredata",
    "csv": "nmrlens.io.csv",
}
# Longest suffix first.
_EXTENSIONS: list[tuple[str, str]] = [
    (".nmredata.sdf", "nmredata"),
    (".jsonl.gz", "nmrshiftdb2"),
    (".json.gz", "json"),
    (".jsonl", "nmrshiftdb2"),
    (".json", "json"),
    (".txt", "acs"),
    (".jdx", "jcampdx"),
    (".dx", "jcampdx"),
    (".sdf", "nmredata"),
    (".sd", "nmrshiftdb2"),
    (".csv", "csv"),
]


def format_module(fmt: str) -> ModuleType:
    """Return the module implementing format ``fmt``.

    Raises:
        FileFormatError: for an unknown format name.
    """
    name = str(fmt).lower().replace("-", "")
    if name not in FORMATS:
        raise FileFormatError(f"format: got {fmt!r}, expected one of {', '.join(FORMATS)}")
    return importlib.import_module(FORMATS[name])


def guess_format(path: PathLike) -> str:
    """Format name from a file name's extension (see the module table).

    Raises:
        FileFormatError: when the extension is not known.
    """
    name = Path(path).name.lower()
    for ext, fmt in _EXTENSIONS:
        if name.endswith(ext):
            return fmt
    known = ", ".join(e for e, _ in _EXTENSIONS)
    raise FileFormatError(f"format: cannot tell the format of {str(path)!r} from its extension ({known}); give it explicitly")


def read(path: PathLike, fmt: str | None = None, **options: Any) -> list[Query]:
    """Read a file into queries; ``fmt`` defaults to the format of the extension."""
    return format_module(fmt or guess_format(path)).read(path, **options)


def write(obj: Writable, path: PathLike, fmt: str | None = None, *, force: bool = False, **options: Any) -> None:
    """Write queries/spectra atomically; refuses to overwrite unless ``force``."""
    format_module(fmt or guess_format(path)).write(obj, path, force=force, **options)


def loads(text: str, fmt: str, **options: Any) -> list[Query]:
    """Parse text in format ``fmt`` into queries."""
    return format_module(fmt).loads(text, **options)


def dumps(obj: Writable, fmt: str, **options: Any) -> str:
    """Write queries/spectra as text in format ``fmt``."""
    return format_module(fmt).dumps(obj, **options)


def read_query(path: PathLike, fmt: str | None = None, **options: Any) -> Query:
    """Read a file that holds exactly one query (all its spectra merged into one when it holds several).

    Raises:
        FileFormatError: when the file holds no spectrum, or several compounds that disagree.
    """
    qs = read(path, fmt, **options)
    return merge_queries(qs, source=str(path))


def merge_queries(qs: list[Query], source: str = "input") -> Query:
    """Merge queries that describe one compound (e.g. a 1H and a 13C text block) into one."""
    if not qs:
        raise FileFormatError(f"{source}: holds no spectrum")
    if len(qs) == 1:
        return qs[0]
    for key in ("formula", "smiles"):
        values = {getattr(q, key) for q in qs} - {None}
        if len(values) > 1:
            raise FileFormatError(f"{source}: holds {len(qs)} compounds with different {key}s; expected one compound")
    first = qs[0]
    return first.with_(
        spectra=tuple(s for q in qs for s in q.spectra),
        spectra2d=tuple(s for q in qs for s in q.spectra2d),
        formula=next((q.formula for q in qs if q.formula), None),
        smiles=next((q.smiles for q in qs if q.smiles), None),
    )


def read_spectrum(path: PathLike, fmt: str | None = None, nucleus: str | None = None, **options: Any) -> Spectrum1D:
    """Read one 1D spectrum (the first of ``nucleus`` when given; for text formats ``nucleus`` also
    names the nucleus of a bare peak list without header).

    Raises:
        FileFormatError: when the file holds no (matching) spectrum.
    """
    import inspect

    from nmrlens.spectra.model import normalize_nucleus

    nuc = normalize_nucleus(nucleus) if nucleus is not None else None
    module = format_module(fmt or guess_format(path))
    if nuc is not None and "nucleus" in inspect.signature(module.loads).parameters:
        options = {**options, "nucleus": nuc}  # bare peak lists need it; headed text is filtered by it
    q = merge_queries(module.read(path, **options), source=str(path))
    spectra = [s for s in q.spectra if nuc is None or s.nucleus == nuc]
    if not spectra:
        raise FileFormatError(f"{path}: holds no {nucleus or '1D'} spectrum")
    return spectra[0]
