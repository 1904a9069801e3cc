"""JCAMP-DX 5.01 NMR peak tables and peak assignments (no FID or processed spectrum data).

Reading
-------
A file is a sequence of blocks (``##TITLE=`` ... ``##END=``); a ``##DATA TYPE=LINK`` block holds
``##BLOCKS=`` child blocks (each with a ``##BLOCK_ID=``). Every top-level block becomes one
:class:`~nmrlens.spectra.Query`: a simple block gives one spectrum, a LINK block one spectrum per
child block that holds a peak table (other children, e.g. a full spectrum, are skipped).

Labels are compared as the standard says: upper case, with spaces, dashes, slashes and underscores
removed (``##.OBSERVE NUCLEUS`` == ``##.observe_nucleus``). ``$$`` starts a comment that runs to the
end of the line. Labels read:

- ``##TITLE`` (query id; empty -> None), ``##JCAMP-DX``, ``##DATA TYPE`` (``NMR PEAK TABLE``,
  ``NMR PEAK ASSIGNMENTS``, ``LINK``; another type is read only when the block has a peak table),
  ``##BLOCKS``, ``##BLOCK_ID``, ``##NPOINTS`` (must equal the number of peaks read).
- ``##.OBSERVE NUCLEUS`` (``^13C``; the ``nucleus`` option is used when it is missing),
  ``##.OBSERVE FREQUENCY`` (MHz), ``##.SOLVENT NAME`` (or Bruker's ``##$SOLVENT``),
  ``##TEMPERATURE`` (degrees Celsius, stored in K), ``##MOLFORM`` (``C 9 H 10 O 2`` or ``C9H10O2``),
  ``##$SMILES``, ``##$MOLFILE`` (a molblock written over several lines).
- ``##XUNITS`` (``PPM``, default, or ``HZ``: divided by the observe frequency), ``##XFACTOR``,
  ``##YFACTOR``.
- ``##PEAK TABLE=(XY..XY)``, ``(XYW..XYW)``, ``(XYM..XYM)`` or ``(XYWM..XYWM)``: groups separated by
  ``;``, a line end or white space, values inside a group by commas; ``?`` or nothing = unknown.
  x = shift, y = intensity, w = width (read and dropped: the data model has no width),
  m = multiplicity.
- ``##PEAK ASSIGNMENTS=(XYA)``, ``(XYMA)``, ``(XYWA)`` or ``(XYMWA)``: one ``(x, y, [m,] <atoms>)``
  group per peak; atom numbers are 1-based and become 0-based ``atoms``. When the block has both
  tables, the assignments are used.

A peak of a non-1H nucleus becomes a :class:`~nmrlens.spectra.Peak` (m = S/D/T/Q is the number of
attached H; another multiplicity such as ``d`` is a heteronuclear splitting, ``coupling``). A 1H
line becomes a :class:`~nmrlens.spectra.Multiplet` with ``shift_min == shift_max``; 1H atom numbers
that point at explicit H atoms of the molblock are mapped onto the heavy atom that carries them.

nmrlens private labels
----------------------
Values that standard labels cannot hold are written in ``##$NMRLENS ...`` labels, which other
programs ignore. Each value is JSON on one line (``$`` written as ``\\u0024`` so that no ``$$``
comment can appear):

- ``##$NMRLENS MULTIPLETS=(MIN MAX MULT J NH ATOMS LABEL)``, then one JSON array per 1H line of
  the peak table, in the same order: ``[7.29, 7.39, "m", [], 5, [3, 4], "H-2"]`` (ppm, ppm, text,
  Hz list, count, 0-based heavy-atom indices, text). The standard table holds the centre of each
  multiplet (x) and its nH (y).
- ``##$NMRLENS PEAKS=(COUNT COUPLING J)``, then one JSON array per non-1H peak: ``[2, null, []]``.
- ``##$NMRLENS ID``, ``##$NMRLENS SOLVENT``, ``##$NMRLENS SMILES`` (JSON strings: exact values when
  the standard label cannot hold them on one line), ``##$NMRLENS TEMPERATURE K`` (number, K),
  ``##$NMRLENS MOLBLOCK`` (JSON string), ``##$NMRLENS META`` (JSON object),
  ``##$NMRLENS SPECTRA2D`` (JSON list of 2D spectra in the nmrlens JSON format).

A row count that differs from the peak table's is an error. Private values win over standard
ones, so that files written by nmrlens read back exactly: ``loads(dumps(q)) == [q]``.

Writing
-------
One query with one spectrum is a simple block; a query with several (or no) spectra is a LINK
block with one child block per spectrum; several queries are written as consecutive top-level
blocks. A non-1H spectrum whose peaks have atoms or multiplicities is written as
``NMR PEAK ASSIGNMENTS`` (``(XYMA)``, 1-based atom numbers in the query's molblock/SMILES order),
else as ``NMR PEAK TABLE`` (``(XY..XY)``). Shifts are in ppm, written exactly (shortest decimal).
"""

from __future__ import annotations

import json as _json
import logging
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Sequence

from nmrlens.errors import FileFormatError, SpectrumFormatError, short_repr
from nmrlens.io._base import PathLike, Writable, as_queries, check_text, read_text, write_text_atomic
from nmrlens.io._peaks import h1_multiplicity, hydrogen_map, parse_number
from nmrlens.spectra.model import (
    CARBON_MULTS,
    MAX_PEAKS,
    MAX_SPECTRA,
    Multiplet,
    Peak,
    Query,
    Spectrum1D,
    is_valid_multiplicity,
    normalize_nucleus,
)

__all__ = ["loads", "dumps", "read", "write", "normalize_label"]

log = logging.getLogger(__name__)

_FMT = "jcampdx"
_LDR_RE = re.compile(r"^\s*##([^=]{0,120})=(.*)$")
_LABEL_DROP = str.maketrans("", "", " -/_\t")
_VARSPEC_RE = re.compile(r"^\s*\(\s*([A-Za-z]{1,8})\s*(?:\.\.\s*([A-Za-z]{1,8})\s*)?\)")
_TOKEN_RE = re.compile(r"[^\s,;]+|[,;\n]")
_GROUP_RE = re.compile(r"\(([^()]*)\)")
_ATOM_NUMBER_RE = re.compile(r"^[0-9]{1,6}$")
_PEAK_TABLE_VARS = {"XY", "XYW", "XYM", "XYWM", "XYMW"}
_ASSIGN_VARS = {"XYA", "XYMA", "XYWA", "XYMWA", "XYWMA"}
_PEAK_TYPES = {"NMRPEAKTABLE", "NMRPEAKASSIGNMENTS"}
_MULTIPLETS_HEADER = "(MIN MAX MULT J NH ATOMS LABEL)"
_PEAKS_HEADER = "(COUNT COUPLING J)"
_MAX_DEPTH = 8
_CELSIUS_0 = 273.15


def normalize_label(label: str) -> str:
    """Canonical form of a JCAMP-DX label: upper case without spaces, dashes, slashes, underscores."""
    return label.upper().translate(_LABEL_DROP)


@dataclass
class _Block:
    title: str
    line: int
    depth: int
    ldrs: dict[str, tuple[str, int]] = field(default_factory=dict)
    children: list["_Block"] = field(default_factory=list)

    def get(self, label: str) -> str | None:
        item = self.ldrs.get(label)
        return None if item is None else item[0]

    def line_of(self, label: str) -> int:
        item = self.ldrs.get(label)
        return self.line if item is None else item[1]

    @property
    def data_type(self) -> str:
        return normalize_label(self.get("DATATYPE") or "")

    def where(self) -> str:
        return f"{_FMT}: block {short_repr(self.title, 40)} (line {self.line})"


# ---------------------------------------------------------------------------------------------
# reading


def _strip_comment(line: str) -> str:
    i = line.find("$$")
    return line if i < 0 else line[:i]


def _parse_blocks(text: str) -> list[_Block]:
    """Split the text into labelled data records and nest them into blocks."""
    top: list[_Block] = []
    stack: list[_Block] = []
    current: list[Any] | None = None  # [block, label, parts, line]

    def flush() -> None:
        if current is None:
            return
        block, label, parts, line = current
        value = "\n".join(parts)
        if label in block.ldrs and label not in ("", "END"):
            if label.startswith("$") and not label.startswith("$NMRLENS"):
                return  # duplicated vendor labels: keep the first
            raise FileFormatError(f"{block.where()}: label ##{label}= appears twice (line {line})")
        block.ldrs[label] = (value, line)

    for lineno, raw in enumerate(text.splitlines(), 1):
        line = _strip_comment(raw)
        if line.strip() == "##":
            continue  # "##$$ ..." vendor comment lines
        m = _LDR_RE.match(line)
        if m is None:
            if line.lstrip().startswith("##"):
                raise FileFormatError(f"{_FMT}: line {lineno}: a label without '=' ({short_repr(raw.strip())})")
            if current is not None:
                current[2].append(line)
            elif line.strip():
                raise FileFormatError(
                    f"{_FMT}: line {lineno}: text before the first label ({short_repr(raw.strip())}); "
                    "expected a file that starts with ##TITLE="
                )
            continue
        flush()
        current = None
        label = normalize_label(m.group(1))
        value = m.group(2)
        if label == "":
            continue  # "##=" comment line
        if label == "TITLE":
            if stack and stack[-1].data_type != "LINK":
                raise FileFormatError(
                    f"{_FMT}: line {lineno}: ##TITLE= inside block {short_repr(stack[-1].title, 40)} "
                    f"(line {stack[-1].line}), which is not a LINK block; a ##END= is missing"
                )
            if len(stack) >= _MAX_DEPTH:
                raise FileFormatError(f"{_FMT}: line {lineno}: blocks nested deeper than {_MAX_DEPTH}")
            block = _Block(title=value.strip(), line=lineno, depth=len(stack))
            (stack[-1].children if stack else top).append(block)
            stack.append(block)
            current = [block, "TITLE", [value], lineno]
            continue
        if not stack:
            raise FileFormatError(
                f"{_FMT}: line {lineno}: label ##{m.group(1).strip()}= outside a block; expected ##TITLE= first"
            )
        if label == "END":
            stack.pop()
            continue
        current = [stack[-1], label, [value], lineno]
    flush()
    if stack:
        raise FileFormatError(f"{stack[-1].where()} has no ##END=")
    if not top:
        raise FileFormatError(f"{_FMT}: no ##TITLE= block found")
    return top


def _number(text: str, where: str, what: str) -> float:
    return parse_number(text, f"{where}: {what}")


def _optional_number(text: str | None, where: str, what: str) -> float | None:
    if text is None or text.strip() in ("", "?"):
        return None
    return _number(text, where, what)


def _json_value(block: _Block, label: str) -> Any:
    raw = block.get(label)
    if raw is None:
        return None
    try:
        return _json.loads(raw.strip())
    except (ValueError, RecursionError):
        raise FileFormatError(
            f"{block.where()}: ##${label[1:]}= (line {block.line_of(label)}) is not valid JSON"
        ) from None


def _json_text(block: _Block, label: str) -> tuple[bool, str | None]:
    """(present, value) of a private label holding a JSON string or null."""
    if label not in block.ldrs:
        return False, None
    value = _json_value(block, label)
    if value is not None and not isinstance(value, str):
        raise FileFormatError(f"{block.where()}: ##${label[1:]}= must hold a JSON string or null")
    return True, value


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    v = " ".join(value.split()) if "\n" in value else value.strip()
    return v or None


def _tokens_to_groups(data: str, nvars: int, where: str) -> list[list[str | None]]:
    """Split AFFN peak-table text into groups of ``nvars`` values (None = missing)."""
    groups: list[list[str | None]] = []
    cur: list[str | None] | None = None
    for tok in _TOKEN_RE.findall(data):
        if tok in (";", "\n"):
            if cur is not None:
                groups.append(cur)
            cur = None
        elif tok == ",":
            if cur is None:
                cur = [None]
            cur.append(None)
        elif cur is not None and cur[-1] is None:
            cur[-1] = tok
        else:
            if cur is not None:
                groups.append(cur)
            cur = [tok]
        if cur is not None and len(cur) > nvars:
            raise FileFormatError(f"{where}: a group has more than {nvars} values ({short_repr(cur)})")
        if len(groups) > MAX_PEAKS:
            raise FileFormatError(f"{where}: more than {MAX_PEAKS} peaks")
    if cur is not None:
        groups.append(cur)
    return [g + [None] * (nvars - len(g)) for g in groups]


def _var_spec(value: str, where: str, allowed: set[str]) -> tuple[str, str]:
    m = _VARSPEC_RE.match(value)
    if m is None:
        raise FileFormatError(
            f"{where}: got {short_repr(value.splitlines()[0] if value else value)}, expected a variable list "
            f"such as {', '.join('(' + a + ')' for a in sorted(allowed))}"
        )
    first, second = m.group(1).upper(), (m.group(2) or "").upper()
    if second and first != second:
        raise FileFormatError(f"{where}: variable list ({m.group(1)}..{m.group(2)}) repeats different variables")
    if first not in allowed:
        raise FileFormatError(
            f"{where}: variables {first!r} are not supported; expected one of {', '.join(sorted(allowed))}"
        )
    return first, value[m.end():]


@dataclass
class _Line:
    x: float
    y: float | None = None
    m: str | None = None
    atoms: tuple[int, ...] = ()


def _read_peak_table(block: _Block) -> list[_Line]:
    where = f"{block.where()} ##PEAK TABLE= (line {block.line_of('PEAKTABLE')})"
    vars_, data = _var_spec(block.get("PEAKTABLE") or "", where, _PEAK_TABLE_VARS)
    out = []
    for g in _tokens_to_groups(data, len(vars_), where):
        values = dict(zip(vars_, g))
        if values["X"] in (None, "?"):
            raise FileFormatError(f"{where}: a group without an x value ({short_repr(g)})")
        out.append(_Line(
            x=_number(values["X"], where, "x"),  # type: ignore[arg-type]
            y=_optional_number(values.get("Y"), where, "y"),
            m=None if values.get("M") in (None, "?") else values["M"],
        ))
        if values.get("W") not in (None, "?"):
            _number(values["W"], where, "w")  # type: ignore[arg-type]
    return out


def _read_assignments(block: _Block) -> list[_Line]:
    where = f"{block.where()} ##PEAK ASSIGNMENTS= (line {block.line_of('PEAKASSIGNMENTS')})"
    vars_, data = _var_spec(block.get("PEAKASSIGNMENTS") or "", where, _ASSIGN_VARS)
    rest = _GROUP_RE.sub(" ", data)
    if rest.replace(",", " ").replace(";", " ").strip():
        raise FileFormatError(f"{where}: text outside the (x, y, ..., <atoms>) groups: {short_repr(rest.strip())}")
    out = []
    for i, m in enumerate(_GROUP_RE.finditer(data)):
        if i >= MAX_PEAKS:
            raise FileFormatError(f"{where}: more than {MAX_PEAKS} peaks")
        inner = m.group(1)
        atoms_text = ""
        lt = inner.find("<")
        if lt >= 0:
            gt = inner.find(">", lt)
            if gt < 0 or inner[gt + 1:].strip():
                raise FileFormatError(f"{where}: group ({short_repr(inner)}) has a malformed <atoms> list")
            atoms_text, inner = inner[lt + 1:gt], inner[:lt]
        parts = [p.strip() for p in inner.split(",")]
        if parts and parts[-1] == "":
            parts.pop()
        scalars = vars_[:-1]
        if len(parts) > len(scalars) or not parts:
            raise FileFormatError(f"{where}: group ({short_repr(m.group(1))}) does not match the variables ({vars_})")
        values = dict(zip(scalars, parts + [""] * (len(scalars) - len(parts))))
        if values["X"] in ("", "?"):
            raise FileFormatError(f"{where}: group ({short_repr(m.group(1))}) has no x value")
        atoms: list[int] = []
        for a in atoms_text.replace(",", " ").split():
            if not _ATOM_NUMBER_RE.match(a) or int(a) < 1:
                raise FileFormatError(f"{where}: atom number {short_repr(a)} is not a whole number >= 1")
            atoms.append(int(a) - 1)
        out.append(_Line(
            x=_number(values["X"], where, "x"), y=_optional_number(values.get("Y"), where, "y"),
            m=None if values.get("M") in (None, "", "?") else values["M"], atoms=tuple(atoms),
        ))
        if values.get("W") not in (None, "", "?"):
            _number(values["W"], where, "w")
    return out


def _private_rows(block: _Block, label: str, header: str, width: int, n: int) -> list[list[Any]] | None:
    raw = block.get(label)
    if raw is None:
        return None
    where = f"{block.where()} ##${label[1:]}= (line {block.line_of(label)})"
    lines = raw.splitlines()
    if not lines or " ".join(lines[0].split()).upper() != header:
        raise FileFormatError(f"{where}: expected the variable list {header} on the label line")
    rows = []
    for text in lines[1:]:
        if not text.strip():
            continue
        try:
            row = _json.loads(text)
        except (ValueError, RecursionError):
            raise FileFormatError(f"{where}: row {short_repr(text.strip())} is not a JSON array") from None
        if not isinstance(row, list) or len(row) != width:
            raise FileFormatError(f"{where}: row {short_repr(text.strip())} is not a JSON array of {width} values")
        rows.append(row)
    if len(rows) != n:
        raise FileFormatError(f"{where}: {len(rows)} rows, but the peak table has {n} peaks")
    return rows


def _as_list(value: Any, where: str, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise SpectrumFormatError(f"{where}.{what}", value, "a JSON list")
    return value


def _spectrum(block: _Block, default_nucleus: str | None, molblock: str | None) -> Spectrum1D:
    where = block.where()
    nuc_text = block.get(".OBSERVENUCLEUS")
    if nuc_text is not None and nuc_text.strip():
        try:
            nucleus = normalize_nucleus(nuc_text.strip().lstrip("^"))
        except SpectrumFormatError:
            raise SpectrumFormatError(
                f"{where} ##.OBSERVE NUCLEUS", nuc_text.strip(), "a nucleus such as ^13C or ^1H"
            ) from None
    elif default_nucleus is not None:
        nucleus = default_nucleus
    else:
        raise FileFormatError(f"{where}: no ##.OBSERVE NUCLEUS=; give the nucleus option (e.g. nucleus='13C')")
    freq = _optional_number(block.get(".OBSERVEFREQUENCY"), where, "##.OBSERVE FREQUENCY")
    present, solvent = _json_text(block, "$NMRLENSSOLVENT")
    if not present:
        raw = block.get(".SOLVENTNAME")
        if raw is None and block.get("$SOLVENT") is not None:
            raw = (block.get("$SOLVENT") or "").strip().strip("<>")
        solvent = _text(raw)
    if "$NMRLENSTEMPERATUREK" in block.ldrs:
        t = _json_value(block, "$NMRLENSTEMPERATUREK")
        if t is not None and (isinstance(t, bool) or not isinstance(t, (int, float))):
            raise SpectrumFormatError(f"{where} ##$NMRLENS TEMPERATURE K", t, "a number (K) or null")
        temperature = t
    else:
        celsius = _optional_number(block.get("TEMPERATURE"), where, "##TEMPERATURE (degrees C)")
        temperature = None if celsius is None else celsius + _CELSIUS_0
    if "PEAKASSIGNMENTS" in block.ldrs:
        lines = _read_assignments(block)
    elif "PEAKTABLE" in block.ldrs:
        lines = _read_peak_table(block)
    else:
        lines = []
    npoints = block.get("NPOINTS")
    if npoints is not None and npoints.strip():
        n = _number(npoints, where, "##NPOINTS")
        if n != len(lines):
            raise FileFormatError(f"{where}: ##NPOINTS={npoints.strip()} but {len(lines)} peaks were read")
    xunits = normalize_label(block.get("XUNITS") or "PPM")
    xfactor = _optional_number(block.get("XFACTOR"), where, "##XFACTOR") or 1.0
    yfactor = _optional_number(block.get("YFACTOR"), where, "##YFACTOR") or 1.0
    if xunits not in ("PPM", "HZ"):
        raise FileFormatError(f"{where}: ##XUNITS={(block.get('XUNITS') or '').strip()}; expected PPM or HZ")
    if xunits == "HZ" and not freq:
        raise FileFormatError(f"{where}: ##XUNITS=HZ needs ##.OBSERVE FREQUENCY= (MHz) to convert to ppm")
    for ln in lines:
        if xfactor != 1.0:
            ln.x *= xfactor
        if xunits == "HZ":
            ln.x /= freq  # type: ignore[operator]
        if ln.y is not None and yfactor != 1.0:
            ln.y *= yfactor
    peaks: list[Peak | Multiplet] = []
    try:
        if nucleus == "1H":
            rows = _private_rows(block, "$NMRLENSMULTIPLETS", _MULTIPLETS_HEADER, 7, len(lines))
            if rows is not None:
                for i, r in enumerate(rows):
                    w = f"{where} multiplet {i + 1}"
                    peaks.append(Multiplet(shift_min=r[0], shift_max=r[1], mult=r[2], J=_as_list(r[3], w, "J"),
                                           nH=r[4], atoms=_as_list(r[5], w, "atoms"), label=r[6]))
            else:
                heavy = None
                if molblock and any(ln.atoms for ln in lines):
                    heavy = hydrogen_map(molblock, where).heavy_of_h
                for i, ln in enumerate(lines):
                    atoms = tuple(dict.fromkeys(heavy.get(a, a) for a in ln.atoms)) if heavy else ln.atoms
                    mult = h1_multiplicity(ln.m, f"{where} peak {i + 1}.mult") if ln.m else None
                    peaks.append(Multiplet(shift_min=ln.x, shift_max=ln.x, mult=mult, atoms=atoms))
        else:
            rows = _private_rows(block, "$NMRLENSPEAKS", _PEAKS_HEADER, 3, len(lines))
            for i, ln in enumerate(lines):
                mult = coupling = None
                if ln.m:
                    if ln.m.upper() in CARBON_MULTS:
                        mult = ln.m.upper()
                    elif is_valid_multiplicity(ln.m.lower()):
                        coupling = ln.m.lower()
                    else:
                        raise SpectrumFormatError(f"{where} peak {i + 1}.m", ln.m, "S, D, T, Q or a splitting such as d")
                count, J = None, ()
                if rows is not None:
                    count, priv_coupling, J = rows[i][0], rows[i][1], _as_list(rows[i][2], f"{where} peak {i + 1}", "J")
                    coupling = priv_coupling if priv_coupling is not None else coupling
                peaks.append(Peak(shift=ln.x, mult=mult, intensity=ln.y, atoms=ln.atoms, count=count,
                                  coupling=coupling, J=J))
        return Spectrum1D(nucleus=nucleus, peaks=peaks, solvent=solvent, frequency_MHz=freq, temperature_K=temperature)
    except SpectrumFormatError as exc:
        if exc.field.startswith(_FMT):
            raise
        raise SpectrumFormatError(f"{where} {exc.field}", exc.value, exc.allowed) from None
    except TypeError:
        raise FileFormatError(f"{where}: a ##$NMRLENS row holds a value of the wrong type") from None


def _has_peaks(block: _Block) -> bool:
    return "PEAKTABLE" in block.ldrs or "PEAKASSIGNMENTS" in block.ldrs or block.data_type in _PEAK_TYPES


def _first(blocks: Sequence[_Block], label: str) -> str | None:
    return next((b.get(label) for b in blocks if b.get(label) is not None), None)


def _query(block: _Block, default_nucleus: str | None) -> Query:
    where = block.where()
    is_link = block.data_type == "LINK"
    if is_link:
        declared = block.get("BLOCKS")
        if declared is not None and declared.strip() and _number(declared, where, "##BLOCKS") != len(block.children):
            raise FileFormatError(f"{where}: ##BLOCKS={declared.strip()} but {len(block.children)} blocks follow")
        ids = [c.get("BLOCKID").strip() for c in block.children if c.get("BLOCKID") is not None]  # type: ignore[union-attr]
        if len(set(ids)) != len(ids):
            raise FileFormatError(f"{where}: two child blocks have the same ##BLOCK_ID=")
        for c in block.children:
            if c.children:
                raise FileFormatError(f"{c.where()}: LINK blocks inside LINK blocks are not supported")
        members = [block, *block.children]
        spectra_blocks = [c for c in block.children if _has_peaks(c)]
        for c in block.children:
            if not _has_peaks(c):
                log.debug("%s has no peak table and is skipped", c.where())
        if len(spectra_blocks) > MAX_SPECTRA:
            raise FileFormatError(f"{where}: more than {MAX_SPECTRA} spectra")
    else:
        if not _has_peaks(block):
            raise FileFormatError(
                f"{where}: ##DATA TYPE={(block.get('DATATYPE') or '').strip() or '(missing)'} without a peak table; "
                "nmrlens reads NMR PEAK TABLE, NMR PEAK ASSIGNMENTS and LINK blocks"
            )
        members = [block]
        spectra_blocks = [block]
    present, qid = _json_text(block, "$NMRLENSID")
    if not present:
        qid = _text(block.title)
    present, molblock = _json_text(block, "$NMRLENSMOLBLOCK")
    if not present:
        raw = _first(members, "$MOLFILE")
        molblock = raw.strip("\n") + "\n" if raw and raw.strip() else None
    present, smiles = _json_text(block, "$NMRLENSSMILES")
    if not present:
        smiles = _text(_first(members, "$SMILES"))
    formula_text = _first(members, "MOLFORM")
    formula = "".join(formula_text.split()) or None if formula_text else None
    meta = _json_value(block, "$NMRLENSMETA") or {}
    if not isinstance(meta, dict):
        raise FileFormatError(f"{where}: ##$NMRLENS META= must hold a JSON object")
    spectra2d = []
    raw2d = _json_value(block, "$NMRLENSSPECTRA2D") or []
    if not isinstance(raw2d, list):
        raise FileFormatError(f"{where}: ##$NMRLENS SPECTRA2D= must hold a JSON list")
    from nmrlens.io.json import spectrum2d_from_dict

    for i, d in enumerate(raw2d):
        spectra2d.append(spectrum2d_from_dict(d, f"{where} spectra2d[{i}]"))
    spectra = [_spectrum(b, default_nucleus, molblock) for b in spectra_blocks]
    try:
        return Query(spectra=spectra, formula=formula, smiles=smiles, id=qid, molblock=molblock,
                     spectra2d=spectra2d, meta=meta)
    except SpectrumFormatError as exc:
        raise SpectrumFormatError(f"{where} {exc.field}", exc.value, exc.allowed) from None


def loads(text: str, *, nucleus: str | None = None) -> list[Query]:
    """Parse JCAMP-DX peak tables into queries (one per top-level block).

    Args:
        text: the file content.
        nucleus: nucleus of blocks without ``##.OBSERVE NUCLEUS=`` (e.g. ``"13C"``).

    Raises:
        FileFormatError: for a malformed file, a count that disagrees with ``##NPOINTS=``, or an
            unsupported block.
        SpectrumFormatError: for a value out of range (the field names the block).
    """
    check_text(text, fmt=_FMT)
    default = normalize_nucleus(nucleus) if nucleus is not None else None
    try:
        return [_query(b, default) for b in _parse_blocks(text)]
    except RecursionError:
        raise FileFormatError(f"{_FMT}: the input is nested too deeply") from None


# ---------------------------------------------------------------------------------------------
# writing


def _num(x: float) -> str:
    """Shortest exact decimal of a float, without an exponent."""
    s = repr(float(x))
    if "e" in s or "E" in s:
        s = format(Decimal(s), "f")
    return s


def _private_json(value: Any) -> str:
    try:
        text = _json.dumps(value, ensure_ascii=True, allow_nan=False, separators=(", ", ": "))
    except (TypeError, ValueError) as exc:
        raise FileFormatError(f"{_FMT}: cannot write the query ({exc}); meta must hold JSON values") from None
    return text.replace("$", "\\u0024")


def _one_line(text: str) -> str:
    """A printable-ASCII, one-line version of a text for a standard label (JCAMP-DX files are ASCII)."""
    ascii_text = "".join(c if " " <= c <= "~" else " " if c.isspace() else "?" for c in text)
    return " ".join(re.sub(r"\$(?=\$)", "$ ", ascii_text).split())


def _safe(text: str) -> bool:
    """True when a standard label holds ``text`` exactly."""
    return bool(text) and _one_line(text) == text


def _text_ldrs(label: str, private: str, value: str | None) -> list[str]:
    """A standard text label, plus the exact value in a private label when it cannot hold it."""
    if value is None:
        return []
    out = [f"##{label}={_one_line(value)}"]
    if not _safe(value):
        out.append(f"##$NMRLENS {private}={_private_json(value)}")
    return out


def _molform(formula: str) -> str:
    return " ".join(f"{sym} {num or 1}" for sym, num in re.findall(r"([A-Z][a-z]?)([0-9]*)", formula))


def _spectrum_lines(sp: Spectrum1D) -> list[str]:
    out = [f"##.OBSERVE NUCLEUS=^{sp.nucleus}"]
    if sp.frequency_MHz is not None:
        out.append(f"##.OBSERVE FREQUENCY={_num(sp.frequency_MHz)}")
    out += _text_ldrs(".SOLVENT NAME", "SOLVENT", sp.solvent)
    if sp.temperature_K is not None:
        out.append(f"##TEMPERATURE={sp.temperature_K - _CELSIUS_0:.2f}")
        out.append(f"##$NMRLENS TEMPERATURE K={_private_json(sp.temperature_K)}")
    out += ["##XUNITS=PPM", "##YUNITS=ARBITRARY UNITS", f"##NPOINTS={len(sp.peaks)}"]
    if sp.nucleus == "1H":
        out.append("##PEAK TABLE=(XY..XY)")
        for p in sp.peaks:
            assert isinstance(p, Multiplet)
            out.append(f"{_num(p.shift)}, {p.nH if p.nH is not None else '?'}")
        out.append(f"##$NMRLENS MULTIPLETS={_MULTIPLETS_HEADER}")
        for p in sp.peaks:
            assert isinstance(p, Multiplet)
            out.append(_private_json([p.shift_min, p.shift_max, p.mult, list(p.J), p.nH, list(p.atoms), p.label]))
        return out
    peaks = [p for p in sp.peaks if isinstance(p, Peak)]
    if any(p.atoms or p.mult for p in peaks):
        out.append("##PEAK ASSIGNMENTS=(XYMA)")
        for p in peaks:
            y = _num(p.intensity) if p.intensity is not None else "?"
            atoms = ",".join(str(a + 1) for a in p.atoms)
            out.append(f"({_num(p.shift)}, {y}, {p.mult or '?'}, <{atoms}>)")
    else:
        out.append("##PEAK TABLE=(XY..XY)")
        for p in peaks:
            out.append(f"{_num(p.shift)}, {_num(p.intensity) if p.intensity is not None else '?'}")
    if any(p.count is not None or p.coupling is not None or p.J for p in peaks):
        out.append(f"##$NMRLENS PEAKS={_PEAKS_HEADER}")
        for p in peaks:
            out.append(_private_json([p.count, p.coupling, list(p.J)]))
    return out


def _data_type(sp: Spectrum1D) -> tuple[str, str]:
    if sp.nucleus != "1H" and any(isinstance(p, Peak) and (p.atoms or p.mult) for p in sp.peaks):
        return "NMR PEAK ASSIGNMENTS", "ASSIGNMENTS"
    return "NMR PEAK TABLE", "PEAK TABLE"


def _query_lines(q: Query) -> list[str]:
    from nmrlens import __version__

    lines: list[str] = []
    if q.formula is not None:
        lines.append(f"##MOLFORM={_molform(q.formula)}")
    lines += _text_ldrs("$SMILES", "SMILES", q.smiles)
    if q.molblock is not None:
        lines.append(f"##$NMRLENS MOLBLOCK={_private_json(q.molblock)}")
    if q.meta:
        lines.append(f"##$NMRLENS META={_private_json(dict(q.meta))}")
    if q.spectra2d:
        from nmrlens.io.json import spectrum2d_to_dict

        lines.append(f"##$NMRLENS SPECTRA2D={_private_json([spectrum2d_to_dict(s) for s in q.spectra2d])}")
    title = "" if q.id is None else _one_line(q.id)
    head = [f"##TITLE={title}", "##JCAMP-DX=5.01"]
    id_extra = [] if q.id is None or _safe(q.id) else [f"##$NMRLENS ID={_private_json(q.id)}"]
    origin = [f"##ORIGIN=nmrlens {__version__}", "##OWNER="]
    if len(q.spectra) == 1:
        sp = q.spectra[0]
        dtype, dclass = _data_type(sp)
        return [*head, f"##DATA TYPE={dtype}", f"##DATA CLASS={dclass}", *origin, *id_extra, *lines,
                *_spectrum_lines(sp), "##END="]
    out = [*head, "##DATA TYPE=LINK", *origin, f"##BLOCKS={len(q.spectra)}", *id_extra, *lines]
    for i, sp in enumerate(q.spectra, 1):
        dtype, dclass = _data_type(sp)
        child_title = f"{title} {sp.nucleus}".strip()
        out += [f"##TITLE={child_title}", "##JCAMP-DX=5.01", f"##DATA TYPE={dtype}", f"##DATA CLASS={dclass}",
                *origin, f"##BLOCK_ID={i}", *_spectrum_lines(sp), "##END="]
    out.append("##END=")
    return out


def dumps(queries: Writable) -> str:
    """Write queries as JCAMP-DX 5.01 peak tables (see the module docstring)."""
    qs = as_queries(queries)
    lines: list[str] = []
    for q in qs:
        lines += _query_lines(q)
    return "\n".join(lines) + "\n"


def read(path: PathLike, **options: Any) -> list[Query]:
    """Read a JCAMP-DX peak-table file (options as for :func:`loads`)."""
    return loads(read_text(path), **options)


def write(obj: Writable, path: PathLike, *, force: bool = False) -> None:
    """Write a JCAMP-DX file atomically (refuses to overwrite unless ``force``)."""
    write_text_atomic(path, dumps(obj), force=force)
