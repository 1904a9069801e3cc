"""Turn what a user gives (a file, pasted text, a JSON object) into one :class:`~nmrlens.spectra.Query`.

Accepted: nmrlens JSON (a spectrum, a query or a list of spectra of one compound), literature text
(``1H NMR (400 MHz, CDCl3) δ 7.39 – 7.29 (m, 5H), ...`` and/or ``13C NMR ...`` lines), JCAMP-DX
peak tables, NMReDATA / SDF, CSV peak tables and nmrshiftdb2 records. Files are read by extension
(:func:`nmrlens.io.guess_format`); text without a name is sniffed from its first characters.
Units: ppm (shifts), Hz (J), MHz.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nmrlens.errors import FileFormatError, SpectrumFormatError
from nmrlens.spectra.model import Query

__all__ = ["MAX_QUERY_CHARS", "sniff_format", "query_from_text", "load_query", "with_formula", "check_query"]

#: Largest text a query may be given as (characters).
MAX_QUERY_CHARS = 1_000_000


def sniff_format(text: str) -> str:
    """Guess the format of query text from its first non-blank characters.

    ``{`` / ``[`` -> json, ``##`` -> jcampdx, a molblock or ``> <NMREDATA`` tag -> nmredata,
    anything else -> acs (literature text).
    """
    head = text.lstrip("\ufeff \t\r\n")[:4000]
    if head[:1] in "{[":
        return "json"
    if head.startswith("##"):
        return "jcampdx"
    if "M  END" in head or "> <NMREDATA" in head.upper() or "V2000" in head:
        return "nmredata"
    return "acs"


def query_from_text(text: str, fmt: str | None = None, *, source: str = "text") -> Query:
    """Parse query text (format given, else sniffed) into one query (several blocks are merged).

    Raises:
        FileFormatError: when the text is empty, too long, or holds no spectrum.
        SpectrumFormatError: for a malformed peak (the message names the field).
    """
    from nmrlens import io
    from nmrlens.io import merge_queries

    if not isinstance(text, str):
        raise FileFormatError(f"{source}: got {type(text).__name__}, expected text")
    if len(text) > MAX_QUERY_CHARS:
        raise FileFormatError(f"{source}: got {len(text)} characters, expected at most {MAX_QUERY_CHARS}")
    if not text.strip():
        raise FileFormatError(f"{source}: is empty; expected a spectrum (JSON, literature text, JCAMP-DX or NMReDATA)")
    kind = fmt or sniff_format(text)
    queries = io.loads(text, kind)
    return check_query(merge_queries(queries, source=source), source=source)


def load_query(source: Any, *, fmt: str | None = None) -> Query:
    """A query from a :class:`Query`, a JSON-like dict, a file path or text.

    A ``str`` that names an existing file is read as that file (format from ``fmt`` or the
    extension; an unknown extension is sniffed); any other string is parsed as query text.

    Raises:
        FileFormatError / SpectrumFormatError / DataNotFoundError: for unreadable input.
    """
    from nmrlens import io
    from nmrlens.io._base import read_text

    if isinstance(source, Query):
        return check_query(source, source="query")
    if isinstance(source, dict):
        from nmrlens.io.json import load_obj
        from nmrlens.io import merge_queries

        return check_query(merge_queries(load_obj(source), source="query"), source="query")
    if isinstance(source, Path) or (isinstance(source, str) and "\n" not in source and len(source) < 4096
                                    and _is_file(source)):
        path = Path(source)
        try:
            kind = fmt or io.guess_format(path)
        except FileFormatError:
            kind = None
        if kind is None:
            return query_from_text(read_text(path, max_bytes=MAX_QUERY_CHARS * 4), source=str(path))
        return check_query(io.read_query(path, kind), source=str(path))
    if isinstance(source, str):
        return query_from_text(source, fmt)
    raise FileFormatError(f"query: got {type(source).__name__}, expected a file path, text, a dict or a Query")


def _is_file(text: str) -> bool:
    try:
        return Path(text).is_file()
    except (OSError, ValueError):
        return False


def with_formula(query: Query, formula: str | None) -> Query:
    """The query with ``formula`` (normalised) when given; the query's own formula otherwise."""
    if formula is None or not str(formula).strip():
        return query
    from nmrlens.chem.formula import normalize_formula

    return query.with_(formula=normalize_formula(formula))


def check_query(query: Query, *, source: str = "query") -> Query:
    """Raise unless the query holds at least one non-empty 13C or 1H spectrum (what elucidate uses)."""
    usable = [s for s in query.spectra if s.nucleus in ("13C", "1H") and len(s)]
    if not usable:
        found = ", ".join(f"{s.nucleus} ({len(s)} peaks)" for s in query.spectra) or "no 1D spectrum"
        raise SpectrumFormatError(f"{source}.spectra", found, "at least one non-empty 13C or 1H peak list")
    return query

