"""Peak tables as CSV: one row per peak (13C line or 1H multiplet).

Header (the order written; a reader accepts any order and any subset that has a shift column)::

    compound,nucleus,shift,shift_min,shift_max,mult,J,nH,count,intensity,atoms,label,solvent,frequency_MHz,formula,smiles

plus two optional columns written only when used: ``coupling`` (heteronuclear splitting of a 13C
peak, e.g. ``d`` for a 13C-19F doublet) and ``temperature_K``. Any other column is an error that
names it and lists the allowed ones.

Cells (empty cell = null; every cell is stripped of surrounding white space):

- ``compound``: the query id. Rows with the same compound id form one query; rows with the same
  compound and nucleus form one spectrum, in the order of their first row.
- ``nucleus``: ``13C``, ``1H``, ... When the column is missing or empty, ``loads(text, nucleus="13C")``
  gives it (a minimal CSV with only a ``shift`` column needs it).
- ``shift`` (ppm): a 13C (or other non-1H) line, or a 1H multiplet reported at one shift.
  ``shift_min``/``shift_max`` (ppm): the range of a 1H multiplet (one of them alone is a point);
  a non-1H peak must not have a range.
- ``mult``: 13C: S/D/T/Q (number of attached H; ``s``/``C``, ``d``/``CH``, ``t``/``CH2``,
  ``q``/``CH3`` are read as S/D/T/Q); 1H: a multiplicity such as ``s``, ``dd``, ``br s``.
- ``J`` (Hz) and ``atoms`` (0-based atom indices): ``;``-joined lists, e.g. ``7.1;1.2``.
- ``nH`` and ``label``: 1H only; ``count``, ``intensity``, ``coupling``: non-1H only. A cell that
  does not apply to the row's nucleus is ignored (with a logged warning).
- ``solvent``, ``frequency_MHz`` (MHz), ``temperature_K`` (K): per spectrum; ``formula``,
  ``smiles``: per compound. They may be repeated on every row (the writer does) or given once;
  rows of one spectrum/compound that disagree are an error.

A spectrum without peaks is written as one row with empty shift cells, a query without spectra as
one row with an empty nucleus. Floats are written with ``repr`` so that ``loads(dumps(q)) == [q]``
for every query the format can hold. What it cannot hold: molblock, meta and 2D spectra (dropped
with a logged warning), two spectra of one nucleus in one compound and repeated compound ids (write
errors). When several queries have no id, the writer names them ``compound 1``, ``compound 2``, ...
"""

from __future__ import annotations

import csv as _csv
import io as _io
import logging
import math
import re
from typing import Any, Sequence

from nmrlens.errors import FileFormatError, SpectrumFormatError, short_repr
from nmrlens.io._base import PathLike, Writable, as_queries, check_text, read_text, write_text_atomic
from nmrlens.io._peaks import NUMBER, h1_multiplicity
from nmrlens.spectra.model import (
    MAX_PEAKS,
    MAX_SPECTRA,
    Multiplet,
    Peak,
    Query,
    Spectrum1D,
    normalize_nucleus,
)

__all__ = ["COLUMNS", "OPTIONAL_COLUMNS", "loads", "dumps", "read", "write"]

log = logging.getLogger(__name__)

#: The columns the writer always writes, in order.
COLUMNS: tuple[str, ...] = (
    "compound", "nucleus", "shift", "shift_min", "shift_max", "mult", "J", "nH", "count", "intensity",
    "atoms", "label", "solvent", "frequency_MHz", "formula", "smiles",
)
#: Columns written only when a value needs them.
OPTIONAL_COLUMNS: tuple[str, ...] = ("coupling", "temperature_K")
_ALLOWED = {c.lower(): c for c in COLUMNS + OPTIONAL_COLUMNS}
_SHIFT_COLUMNS = ("shift", "shift_min", "shift_max")
_ONLY_1H = ("nH", "label")
_ONLY_OTHER = ("count", "intensity", "coupling")
#: Most rows a reader accepts (bounds memory on hostile input).
MAX_ROWS = MAX_SPECTRA * MAX_PEAKS * 4
_NUMBER_RE = re.compile(rf"^{NUMBER}$")
_INT_RE = re.compile(r"^[-+]?[0-9]{1,9}$")
_CARBON_ALIASES = {"S": "S", "D": "D", "T": "T", "Q": "Q", "C": "S", "CH": "D", "CH2": "T", "CH3": "Q"}


def _err(row: int, column: str, value: Any, allowed: str) -> SpectrumFormatError:
    return SpectrumFormatError(f"csv row {row}, column {column}", value, allowed)


def _number(row: int, column: str, text: str) -> float:
    if not _NUMBER_RE.match(text):
        raise _err(row, column, text, "a number")
    value = float(text)
    if not math.isfinite(value):
        raise _err(row, column, text, "a finite number")
    return value


def _integer(row: int, column: str, text: str) -> int:
    if _INT_RE.match(text):
        return int(text)
    if _NUMBER_RE.match(text) and float(text).is_integer() and abs(float(text)) < 1e9:
        return int(float(text))
    raise _err(row, column, text, "a whole number")


def _number_list(row: int, column: str, text: str) -> tuple[float, ...]:
    parts = [p.strip() for p in text.split(";")]
    if len(parts) > 64:
        raise _err(row, column, short_repr(text), "at most 64 ';'-separated numbers")
    return tuple(_number(row, column, p) for p in parts if p)


def _int_list(row: int, column: str, text: str) -> tuple[int, ...]:
    parts = [p.strip() for p in text.split(";")]
    if len(parts) > 1000:
        raise _err(row, column, short_repr(text), "at most 1000 ';'-separated atom indices")
    return tuple(_integer(row, column, p) for p in parts if p)


def _carbon_mult(row: int, text: str) -> str:
    key = text.upper().replace(" ", "")
    if key not in _CARBON_ALIASES:
        raise _err(row, "mult", text, "S, D, T or Q (number of attached H), or C, CH, CH2, CH3")
    return _CARBON_ALIASES[key]


class _SpectrumAcc:
    """Rows of one spectrum while reading."""

    def __init__(self, nucleus: str) -> None:
        self.nucleus = nucleus
        self.peaks: list[Peak | Multiplet] = []
        self.fields: dict[str, Any] = {"solvent": None, "frequency_MHz": None, "temperature_K": None}


class _QueryAcc:
    """Rows of one compound while reading."""

    def __init__(self, cid: str | None) -> None:
        self.id = cid
        self.fields: dict[str, Any] = {"formula": None, "smiles": None}
        self.spectra: dict[str, _SpectrumAcc] = {}


def _merge(target: dict[str, Any], key: str, value: Any, row: int, what: str) -> None:
    if value is None:
        return
    old = target[key]
    if old is not None and old != value:
        raise _err(row, key, value, f"the same value on every row of {what} ({short_repr(old)} on an earlier row)")
    target[key] = value


def _header(names: list[str], line: int) -> list[str]:
    out = []
    for raw in names:
        name = raw.strip().lstrip("\ufeff")
        key = _ALLOWED.get(name.lower())
        if key is None:
            unknown = [n.strip().lstrip("\ufeff") for n in names if n.strip().lstrip("\ufeff").lower() not in _ALLOWED]
            raise FileFormatError(
                f"csv: unknown column(s) {', '.join(repr(u) for u in unknown)} in the header (line {line}); "
                f"allowed: {', '.join(COLUMNS + OPTIONAL_COLUMNS)}"
            )
        if key in out:
            raise FileFormatError(f"csv: column {key!r} appears twice in the header (line {line})")
        out.append(key)
    return out


def _peak(cells: dict[str, str], nucleus: str, row: int, warned: set[str]) -> Peak | Multiplet | None:
    has_shift = any(cells.get(c) for c in _SHIFT_COLUMNS)
    for col in _ONLY_OTHER if nucleus == "1H" else _ONLY_1H:
        if cells.get(col) and col not in warned:
            warned.add(col)
            log.warning("column %s does not apply to %s rows and is ignored (first at row %d)", col, nucleus, row)
    if not has_shift:
        peak_cols = [c for c in ("mult", "J", "nH", "count", "intensity", "atoms", "label", "coupling") if cells.get(c)]
        if peak_cols:
            raise _err(row, "shift", "", f"a shift (the row has {', '.join(peak_cols)} but no shift)")
        return None
    shift = _number(row, "shift", cells["shift"]) if cells.get("shift") else None
    lo = _number(row, "shift_min", cells["shift_min"]) if cells.get("shift_min") else None
    hi = _number(row, "shift_max", cells["shift_max"]) if cells.get("shift_max") else None
    J = _number_list(row, "J", cells["J"]) if cells.get("J") else ()
    atoms = _int_list(row, "atoms", cells["atoms"]) if cells.get("atoms") else ()
    try:
        if nucleus == "1H":
            if lo is None and hi is None:
                lo = hi = shift
            else:
                lo = hi if lo is None else lo
                hi = lo if hi is None else hi
                if shift is not None and not (lo <= shift <= hi):  # type: ignore[operator]
                    raise _err(row, "shift", cells["shift"], f"a shift inside shift_min..shift_max ({lo:g}..{hi:g})")
            mult = h1_multiplicity(cells["mult"], f"csv row {row}, column mult") if cells.get("mult") else None
            return Multiplet(
                shift_min=lo, shift_max=hi, mult=mult,
                J=J, nH=_integer(row, "nH", cells["nH"]) if cells.get("nH") else None, atoms=atoms,
                label=cells.get("label") or None,
            )
        if lo is not None or hi is not None:
            if shift is None and lo is not None and hi is not None and lo == hi:
                shift = lo
            elif shift is None or any(v is not None and v != shift for v in (lo, hi)):
                raise _err(row, "shift_min", cells.get("shift_min") or cells.get("shift_max"),
                           f"no shift range for a {nucleus} peak (ranges are for 1H multiplets); use the shift column")
        return Peak(
            shift=shift, mult=_carbon_mult(row, cells["mult"]) if cells.get("mult") else None,
            intensity=_number(row, "intensity", cells["intensity"]) if cells.get("intensity") else None,
            atoms=atoms, count=_integer(row, "count", cells["count"]) if cells.get("count") else None,
            coupling=cells.get("coupling") or None, J=J,
        )
    except SpectrumFormatError as exc:
        if exc.field.startswith("csv row"):
            raise
        raise _err(row, exc.field, exc.value, exc.allowed) from None


def loads(text: str, *, nucleus: str | None = None, delimiter: str = ",") -> list[Query]:
    """Parse CSV peak rows into queries (see the module docstring for the columns).

    Args:
        text: the CSV text (a header row, then one row per peak).
        nucleus: nucleus of rows without a ``nucleus`` cell (e.g. ``"13C"``).
        delimiter: the cell separator (one character; ``","`` by default, ``"\\t"`` for TSV).

    Raises:
        FileFormatError: for malformed CSV, an unknown column, or rows without a nucleus.
        SpectrumFormatError: for a bad cell (the field names the row and column).
    """
    check_text(text, fmt="csv")
    if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in "\"\r\n":
        raise FileFormatError(f"csv: delimiter {delimiter!r} is not allowed; expected one character such as ',' or '\\t'")
    default_nucleus = normalize_nucleus(nucleus) if nucleus is not None else None
    reader = _csv.reader(_io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header: list[str] | None = None
    queries: dict[str | None, _QueryAcc] = {}
    warned: set[str] = set()
    n_rows = 0
    try:
        for raw in reader:
            if not any(c.strip() for c in raw):
                continue
            line = reader.line_num
            if header is None:
                header = _header(raw, line)
                continue
            n_rows += 1
            if n_rows > MAX_ROWS:
                raise FileFormatError(f"csv: more than {MAX_ROWS} rows")
            if len(raw) > len(header):
                raise FileFormatError(
                    f"csv: row {line} has {len(raw)} cells but the header has {len(header)} columns"
                )
            cells = {name: value.strip() for name, value in zip(header, raw)}
            _read_row(cells, line, default_nucleus, queries, warned)
    except _csv.Error as exc:
        raise FileFormatError(f"csv: malformed CSV at line {reader.line_num}: {exc}") from None
    if header is None:
        raise FileFormatError("csv: the input has no header row")
    if not queries:
        raise FileFormatError("csv: the input has a header but no rows")
    return [_build(acc) for acc in queries.values()]


def _read_row(cells: dict[str, str], line: int, default_nucleus: str | None,
              queries: dict[str | None, _QueryAcc], warned: set[str]) -> None:
    cid = cells.get("compound") or None
    acc = queries.get(cid)
    if acc is None:
        if len(queries) >= 1_000_000:
            raise FileFormatError("csv: more than 1000000 compounds")
        acc = queries[cid] = _QueryAcc(cid)
    what = f"compound {cid!r}" if cid is not None else "the compound"
    _merge(acc.fields, "formula", cells.get("formula") or None, line, what)
    _merge(acc.fields, "smiles", cells.get("smiles") or None, line, what)
    nuc_text = cells.get("nucleus") or None
    if nuc_text is not None:
        try:
            nuc = normalize_nucleus(nuc_text)
        except SpectrumFormatError:
            raise _err(line, "nucleus", nuc_text, "an isotope label such as 13C or 1H") from None
    else:
        nuc = default_nucleus
    has_peak = any(cells.get(c) for c in _SHIFT_COLUMNS)
    spectrum_cells = [c for c in ("solvent", "frequency_MHz", "temperature_K") if cells.get(c)]
    if nuc is None:
        if has_peak or spectrum_cells:
            raise FileFormatError(
                f"csv: row {line} has no nucleus; add a nucleus column or give the nucleus option "
                "(e.g. loads(text, nucleus='13C') or --nucleus 13C)"
            )
        return  # a query without spectra
    sp = acc.spectra.get(nuc)
    if sp is None:
        if len(acc.spectra) >= MAX_SPECTRA:
            raise _err(line, "nucleus", nuc, f"at most {MAX_SPECTRA} spectra per compound")
        sp = acc.spectra[nuc] = _SpectrumAcc(nuc)
    what = f"the {nuc} spectrum of {what}"
    _merge(sp.fields, "solvent", cells.get("solvent") or None, line, what)
    for key in ("frequency_MHz", "temperature_K"):
        if cells.get(key):
            _merge(sp.fields, key, _number(line, key, cells[key]), line, what)
    peak = _peak(cells, nuc, line, warned)
    if peak is not None:
        if len(sp.peaks) >= MAX_PEAKS:
            raise _err(line, "shift", cells.get("shift"), f"at most {MAX_PEAKS} peaks per spectrum")
        sp.peaks.append(peak)


def _build(acc: _QueryAcc) -> Query:
    where = f"csv compound {acc.id!r}" if acc.id is not None else "csv"
    spectra = []
    for sp in acc.spectra.values():
        try:
            spectra.append(Spectrum1D(nucleus=sp.nucleus, peaks=sp.peaks, **sp.fields))
        except SpectrumFormatError as exc:
            raise SpectrumFormatError(f"{where} {sp.nucleus} {exc.field}", exc.value, exc.allowed) from None
    try:
        return Query(spectra=spectra, id=acc.id, **acc.fields)
    except SpectrumFormatError as exc:
        raise SpectrumFormatError(f"{where} {exc.field}", exc.value, exc.allowed) from None


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _compound_ids(qs: Sequence[Query]) -> list[str | None]:
    if len(qs) == 1:
        return [qs[0].id or None]
    explicit = [q.id for q in qs if q.id]
    seen: set[str] = set()
    for cid in explicit:
        if cid in seen:
            raise FileFormatError(f"csv: compound id {cid!r} is used by two queries; a CSV needs one id per compound")
        seen.add(cid)
    out: list[str | None] = []
    for i, q in enumerate(qs, 1):
        if q.id:
            out.append(q.id)
            continue
        cid = f"compound {i}"
        if cid in seen:
            raise FileFormatError(f"csv: query {i} has no id and the generated id {cid!r} is taken; give the queries ids")
        seen.add(cid)
        out.append(cid)
    return out


def dumps(queries: Writable) -> str:
    """Write queries as CSV rows (one per peak); see the module docstring.

    Raises:
        FileFormatError: for a compound with two spectra of one nucleus or repeated compound ids.
    """
    qs = as_queries(queries)
    ids = _compound_ids(qs)
    rows: list[dict[str, Any]] = []
    for q, cid in zip(qs, ids):
        dropped = [name for name, v in (("molblock", q.molblock), ("meta", q.meta), ("spectra2d", q.spectra2d)) if v]
        if dropped:
            log.warning("CSV cannot store the %s of compound %r; dropped", ", ".join(dropped), cid)
        base = {"compound": cid, "formula": q.formula, "smiles": q.smiles}
        if not q.spectra:
            rows.append(base)
        nuclei = [sp.nucleus for sp in q.spectra]
        if len(set(nuclei)) != len(nuclei):
            dup = next(n for n in nuclei if nuclei.count(n) > 1)
            raise FileFormatError(
                f"csv: compound {cid!r} has {nuclei.count(dup)} {dup} spectra; a CSV holds one spectrum per nucleus "
                "per compound (give each spectrum its own query id)"
            )
        for sp in q.spectra:
            srow = dict(base, nucleus=sp.nucleus, solvent=sp.solvent, frequency_MHz=sp.frequency_MHz,
                        temperature_K=sp.temperature_K)
            if not sp.peaks:
                rows.append(srow)
            for p in sp.peaks:
                row = dict(srow)
                if isinstance(p, Multiplet):
                    if p.shift_min == p.shift_max:
                        row["shift"] = p.shift_min
                    else:
                        row["shift_min"], row["shift_max"] = p.shift_min, p.shift_max
                    row.update(mult=p.mult, nH=p.nH, label=p.label)
                else:
                    row.update(shift=p.shift, mult=p.mult, count=p.count, intensity=p.intensity, coupling=p.coupling)
                row["J"] = ";".join(repr(j) for j in p.J) or None
                row["atoms"] = ";".join(str(a) for a in p.atoms) or None
                rows.append(row)
    columns = list(COLUMNS) + [c for c in OPTIONAL_COLUMNS if any(r.get(c) is not None for r in rows)]
    out = _io.StringIO()
    writer = _csv.writer(out, lineterminator="\n")
    # A lone carriage return is not quoted by QUOTE_MINIMAL when lines end in "\n": quote such rows fully.
    quoting_writer = _csv.writer(out, lineterminator="\n", quoting=_csv.QUOTE_ALL)
    writer.writerow(columns)
    for r in rows:
        cells = [_fmt(r.get(c)) for c in columns]
        bad = next((c for c, v in zip(columns, cells) if "\x00" in v), None)
        if bad is not None:
            raise FileFormatError(f"csv: column {bad} of compound {r.get('compound')!r} holds a NUL character, "
                                  "which CSV cannot store")
        (quoting_writer if any("\r" in v for v in cells) else writer).writerow(cells)
    return out.getvalue()


def read(path: PathLike, **options: Any) -> list[Query]:
    """Read a CSV peak table (options as for :func:`loads`)."""
    return loads(read_text(path), **options)


def write(obj: Writable, path: PathLike, *, force: bool = False) -> None:
    """Write a CSV peak table atomically (refuses to overwrite unless ``force``)."""
    write_text_atomic(path, dumps(obj), force=force)
