"""Reading the shared-data record files for the tokenizer (vocabulary building and evaluation).

Two record formats of ``../shared/data`` are understood (one JSON object per line, optionally gzip):

- **nmrshiftdb2** (``nmrshiftdb2/molecules.jsonl.gz``): ``spectra[]`` with ``nucleus`` and ``peaks[]``
  (``shift``, ``mult``, ``nH``); only experimental 13C and 1H spectra are used (``calc_spectra`` never).
- **literature** (``literature/nmrextractor.jsonl.gz``): ``c13_shifts`` and ``h1_peaks[]`` (``shift``,
  ``range``, ``mult``, ``J_Hz``, ``nH``).

The split of a record is :func:`record_split` (``split_of_inchikey(inchikey or source_inchikey)``
through the project's :func:`~nmrlens.data.splits.split_of_record`); records without either key have
no split and are skipped (and counted) by the callers.
Conversion to :class:`~nmrlens.spectra.Query` (only here until a format module reads these records)
is lenient: values the data model rejects (shifts out
of range, 1H J above 40 Hz, unreadable multiplicity labels, charged formulas) are dropped and counted
in :class:`ConversionStats` rather than failing the whole record.
"""

from __future__ import annotations

import gzip
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Literal, Mapping

from nmrlens.errors import DataNotFoundError, FileFormatError, InvalidMoleculeError, NmrLensError
from nmrlens.spectra.model import J_RANGE_1H, MAX_J, SHIFT_RANGES, Multiplet, Peak, Query, Spectrum1D

from nmrlens.tokenize.categories import canonical_multiplicity

__all__ = [
    "RecordFormat",
    "MAX_LINE_CHARS",
    "iter_records",
    "record_format",
    "record_split",
    "record_values",
    "record_to_query",
    "record_to_queries",
    "ConversionStats",
]

RecordFormat = Literal["nmrshiftdb2", "literature"]
#: Longest accepted JSON line (characters); a record with a large molblock is ~50 kB.
MAX_LINE_CHARS = 20_000_000
#: Most records read from one file.
MAX_RECORDS = 10_000_000


def iter_records(path: str | Path) -> Iterator[dict[str, Any]]:
    """Yield the JSON objects of a JSON-lines file (gzip when it starts with the gzip magic).

    Raises:
        DataNotFoundError: when the file does not exist.
        FileFormatError: for a line that is not a JSON object, a line that is too long, or a damaged file.
    """
    p = Path(path)
    if not p.is_file():
        raise DataNotFoundError(f"data: file {str(p)!r} does not exist")
    with open(p, "rb") as raw:
        gz = raw.read(2) == b"\x1f\x8b"
    opener = gzip.open if gz else open
    n = 0
    try:
        with opener(p, "rt", encoding="utf-8") as fh:  # type: ignore[operator]
            for lineno, line in enumerate(iter(lambda: fh.readline(MAX_LINE_CHARS + 1), ""), start=1):
                if len(line) > MAX_LINE_CHARS:
                    raise FileFormatError(f"data: line {lineno} of {str(p)!r} is longer than {MAX_LINE_CHARS} characters")
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise FileFormatError(f"data: line {lineno} of {str(p)!r} is not JSON ({exc.msg})") from None
                if not isinstance(obj, dict):
                    raise FileFormatError(f"data: line {lineno} of {str(p)!r} is {type(obj).__name__}, expected a JSON object")
                n += 1
                if n > MAX_RECORDS:
                    raise FileFormatError(f"data: {str(p)!r} has more than {MAX_RECORDS} records")
                yield obj
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise FileFormatError(f"data: cannot read {str(p)!r} ({exc})") from None


def record_format(record: Mapping[str, Any]) -> RecordFormat:
    """Which record format ``record`` is in.

    Raises:
        FileFormatError: when it is neither an nmrshiftdb2 nor a literature record.
    """
    if isinstance(record.get("spectra"), list):
        return "nmrshiftdb2"
    if "h1_peaks" in record or "c13_shifts" in record:
        return "literature"
    raise FileFormatError(
        f"data: record with keys {sorted(map(str, record))[:8]} is neither an nmrshiftdb2 record "
        "('spectra') nor a literature record ('h1_peaks', 'c13_shifts')"
    )


def record_split(record: Mapping[str, Any]) -> str | None:
    """``"train"``, ``"val"`` or ``"test"`` of a record, or None when it has no usable InChIKey.

    A record with an ``inchikey`` or ``source_inchikey`` gets
    :func:`nmrlens.data.splits.split_of_record` (the shipped split table, which agrees with
    ``split_of_inchikey(inchikey or source_inchikey)``, else that hash); a record with neither
    gets None and is skipped (and counted) by the callers.
    """
    from nmrlens.data.splits import split_of_record

    key = record.get("inchikey") or record.get("source_inchikey")
    if not isinstance(key, str) or len(key.strip()) < 14:
        return None
    try:
        return split_of_record(record)
    except InvalidMoleculeError:
        return None


def _num(x: Any) -> float | None:
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
        return None
    return float(x)


def _list(x: Any) -> list[Any]:
    return x if isinstance(x, list) else []


def _h1_range(p: Mapping[str, Any]) -> tuple[float, float] | None:
    """(low, high) ppm of a literature 1H peak: its ``range`` (either order), else its ``shift`` twice."""
    rng = p.get("range")
    if isinstance(rng, list) and len(rng) == 2 and all(_num(r) is not None for r in rng):
        lo, hi = sorted(float(r) for r in rng)
        return lo, hi
    if _num(p.get("shift")) is not None:
        return float(p["shift"]), float(p["shift"])
    return None


def record_values(record: Mapping[str, Any]) -> dict[str, list[float]]:
    """Raw numerical values of a record, as the tokenizer encodes them.

    Returns ``{"13C": shifts, "1H": shifts, "J": couplings}``: every experimental 13C peak shift;
    per 1H peak its shift, or both ends of its range when a range is reported; every 1H J (Hz).
    """
    out: dict[str, list[float]] = {"13C": [], "1H": [], "J": []}
    fmt = record_format(record)
    if fmt == "nmrshiftdb2":
        for sp in _list(record.get("spectra")):
            if not isinstance(sp, dict) or sp.get("nucleus") not in ("13C", "1H"):
                continue
            for p in _list(sp.get("peaks")):
                v = _num(p.get("shift")) if isinstance(p, dict) else None
                if v is not None:
                    out[sp["nucleus"]].append(v)
        return out
    for v in _list(record.get("c13_shifts")):
        if _num(v) is not None:
            out["13C"].append(float(v))
    for p in _list(record.get("h1_peaks")):
        if not isinstance(p, dict):
            continue
        ends = _h1_range(p)
        if ends is not None:
            out["1H"].extend([ends[0]] if ends[0] == ends[1] else list(ends))
        for j in _list(p.get("J_Hz")):
            if _num(j) is not None:
                out["J"].append(float(j))
    return out


@dataclass
class ConversionStats:
    """What :func:`record_to_query` dropped (counts over all records converted with this object)."""

    shifts_out_of_range: int = 0
    j_out_of_range: int = 0
    bad_multiplicity: int = 0
    bad_nh: int = 0
    bad_formula: int = 0
    bad_peaks: int = 0

    def as_dict(self) -> dict[str, int]:
        """Flat counts."""
        return {
            "shifts_out_of_range": self.shifts_out_of_range,
            "j_out_of_range": self.j_out_of_range,
            "bad_multiplicity": self.bad_multiplicity,
            "bad_nh": self.bad_nh,
            "bad_formula": self.bad_formula,
            "bad_peaks": self.bad_peaks,
        }


def _in(v: float, rng: tuple[float, float]) -> bool:
    return rng[0] <= v <= rng[1]


def _nh(x: Any, stats: ConversionStats) -> int | None:
    if x is None:
        return None
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x) or x != int(x) or not 1 <= x <= 500:
        stats.bad_nh += 1
        return None
    return int(x)


def _mult(x: Any, stats: ConversionStats) -> str | None:
    if x is None:
        return None
    canon = canonical_multiplicity(x) if isinstance(x, str) else None
    if canon is None:
        stats.bad_multiplicity += 1
    return canon


def _nmrshiftdb2_spectrum(sp: Mapping[str, Any], st: ConversionStats) -> Spectrum1D:
    nuc = sp["nucleus"]
    rng = SHIFT_RANGES[nuc]
    peaks: list[Peak | Multiplet] = []
    for p in _list(sp.get("peaks")):
        v = _num(p.get("shift")) if isinstance(p, dict) else None
        if v is None or not _in(v, rng):
            st.shifts_out_of_range += 1
            continue
        try:
            if nuc == "13C":
                peaks.append(Peak(shift=v))
            else:
                peaks.append(Multiplet(shift_min=v, shift_max=v, mult=_mult(p.get("mult"), st), nH=_nh(p.get("nH"), st)))
        except NmrLensError:
            st.bad_peaks += 1
    return Spectrum1D(nucleus=nuc, peaks=peaks)


def _literature_spectra(record: Mapping[str, Any], st: ConversionStats) -> tuple[list[Spectrum1D], list[Spectrum1D]]:
    c_rng, h_rng = SHIFT_RANGES["13C"], SHIFT_RANGES["1H"]
    c13: list[Spectrum1D] = []
    h1: list[Spectrum1D] = []
    cs = [float(v) for v in _list(record.get("c13_shifts")) if _num(v) is not None]
    if cs:
        keep = [v for v in cs if _in(v, c_rng)]
        st.shifts_out_of_range += len(cs) - len(keep)
        c13.append(Spectrum1D(nucleus="13C", peaks=[Peak(shift=v) for v in keep]))
    mults: list[Peak | Multiplet] = []
    for p in _list(record.get("h1_peaks")):
        if not isinstance(p, dict):
            continue
        ends = _h1_range(p)
        if ends is None:
            st.bad_peaks += 1
            continue
        lo, hi = ends
        if not (_in(lo, h_rng) and _in(hi, h_rng)):
            st.shifts_out_of_range += 1
            continue
        js = [float(j) for j in _list(p.get("J_Hz")) if _num(j) is not None]
        keep_j = [j for j in js if _in(j, J_RANGE_1H)][:MAX_J]
        st.j_out_of_range += len(js) - len(keep_j)
        try:
            mults.append(Multiplet(shift_min=lo, shift_max=hi, mult=_mult(p.get("mult"), st), J=keep_j,
                                   nH=_nh(p.get("nH"), st)))
        except NmrLensError:
            st.bad_peaks += 1
    if _list(record.get("h1_peaks")):
        h1.append(Spectrum1D(nucleus="1H", peaks=mults))
    return c13, h1


def record_to_queries(record: Mapping[str, Any], stats: ConversionStats | None = None) -> list[Query]:
    """One :class:`Query` per experimental 13C/1H spectrum pair of a record (the i-th 13C spectrum with
    the i-th 1H spectrum), each with the record's formula and SMILES; ``[]`` when it has neither.

    Raises:
        FileFormatError: when the record is in neither known format.
    """
    st = stats if stats is not None else ConversionStats()
    if record_format(record) == "nmrshiftdb2":
        c13, h1 = [], []
        for sp in _list(record.get("spectra")):
            if isinstance(sp, dict) and sp.get("nucleus") in ("13C", "1H"):
                (c13 if sp["nucleus"] == "13C" else h1).append(_nmrshiftdb2_spectrum(sp, st))
    else:
        c13, h1 = _literature_spectra(record, st)
    formula = _neutral_formula(record.get("formula"))
    if record.get("formula") is not None and formula is None:
        st.bad_formula += 1
    smiles = record.get("smiles")
    smiles = smiles if isinstance(smiles, str) and 0 < len(smiles) <= 5000 else None
    out = []
    for i in range(max(len(c13), len(h1))):
        spectra = ([c13[i]] if i < len(c13) else []) + ([h1[i]] if i < len(h1) else [])
        out.append(Query(spectra=spectra, formula=formula, smiles=smiles))
    return out


def _neutral_formula(formula: Any) -> str | None:
    """Normalised formula, or None when it is missing, unreadable or charged (no formula tokens)."""
    if formula is None:
        return None
    from nmrlens.chem.formula import format_formula, parse_formula_charge

    try:
        counts, charge = parse_formula_charge(formula)
    except NmrLensError:
        return None
    return None if charge else format_formula(counts)


def record_to_query(record: Mapping[str, Any], stats: ConversionStats | None = None) -> Query:
    """The first query of :func:`record_to_queries` (first 13C and 1H spectrum), or a query with only
    the formula and SMILES when the record has no 13C/1H spectrum.

    Raises:
        FileFormatError: when the record is in neither known format.
    """
    qs = record_to_queries(record, stats)
    if qs:
        return qs[0]
    formula = _neutral_formula(record.get("formula"))
    smiles = record.get("smiles")
    return Query(formula=formula, smiles=smiles if isinstance(smiles, str) and 0 < len(smiles) <= 5000 else None)
