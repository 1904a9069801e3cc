"""NMReDATA 1.1 SD files: a molblock plus ``NMREDATA_*`` data items, one record per compound.

Spec followed: the NMReDATA tag format of the NMReDATA initiative (nmredata.org, version 1.1), the
pages "NMReDATA tag format" and "1D attributes". Choices made where it is open:

Reading
-------
- Records are separated by ``$$$$`` lines; the molblock runs to the first ``M  END`` line and
  becomes ``Query.molblock`` (line ends normalised to ``\\n``; a molblock of 0 atoms, "no
  structure", becomes None). Data items are ``> ... <TAG>`` lines followed by content lines up to a
  blank line. Tag names are compared in upper case.
- Inside ``NMREDATA_*`` items a logical line ends at a backslash (the 1.1 end-of-line mark, also
  mid-line) or at a line end; ``;`` starts a comment that runs to the end of the logical line;
  fields are separated by ``,`` (the space after it is optional); ``<"...">`` quotes a label that
  contains separators. ``NMREDATA_SMILES`` is read verbatim (only a final backslash is removed,
  since SMILES use ``\\`` for double-bond geometry).
- ``NMREDATA_SOLVENT`` (text), ``NMREDATA_TEMPERATURE`` (``298.0 K``; a ``C``/``°C`` unit is
  converted to K), ``NMREDATA_FORMULA``, ``NMREDATA_SMILES`` (else the SMILES is computed with
  RDKit from the molblock, None when RDKit cannot), ``NMREDATA_ID`` (``DB_ID=`` is the query id;
  else the molblock's title line; else None). ``NMREDATA_VERSION``/``LEVEL``/``J``/2D tags and
  other tags are ignored.
- ``NMREDATA_ASSIGNMENT``: ``label, shift, atom, atom, ...`` with 1-based atom numbers; ``H3``
  means the implicit H of atom 3. ``Interchangeable=``/``Equivalent=`` lines are skipped.
- ``NMREDATA_1D_<isotope>`` (also ``NMREDATA_1D_13C{1H}`` and repeats ``NMREDATA_1D_13C#2``; the
  selective ``NMREDATA_1D_1H_D_1H`` kind is ignored): ``Larmor=`` (MHz) gives the frequency, other
  ``Name=value`` lines are ignored, every line that starts with a shift (ppm) or a range
  ``x-y`` (either order) is a signal with attributes ``S=``, ``J=`` (Hz, list; assigned couplings
  ``9.3(b)`` keep their value), ``N=``, ``L=`` (one or more labels), ``I=``; others are ignored.
  1H: ``S`` = multiplicity (``bs`` -> ``br s``, ``hept`` -> ``sept``), ``N`` = nH, L's atoms become
  the heavy atoms that carry those H (an explicit H atom is mapped onto its heavy neighbour),
  ``label`` = the L text. 13C: ``N`` (0-3, or a digit in ``S``) = number of attached H (S/D/T/Q),
  ``S`` letters = a heteronuclear splitting (``coupling``) with ``J``. Other nuclei: ``N`` = number
  of equivalent nuclei (``count``). ``atoms`` are 0-based indices into the molblock's atom list.

Writing
-------
One record per query: ``Query.molblock`` (else a molblock generated with RDKit, 2D coordinates,
from ``Query.smiles``, implicit H, atom order of the SMILES; else an empty "no structure"
molblock), then ``NMREDATA_VERSION`` (1.1), ``LEVEL`` (0), ``ID``, ``FORMULA``, ``SMILES``,
``SOLVENT``, ``TEMPERATURE``, ``ASSIGNMENT`` and one ``NMREDATA_1D_<isotope>`` item per spectrum,
every content line ended by a backslash. Shifts are written with 4 decimals (more when needed to
be exact), 1H ranges as ``max-min``, J as ``J=7.10, 1.20``. Labels are the multiplet labels when
they are plain (letters, digits, ``_'-+*.#:``) and unique, else generated (``C4`` for a carbon
peak on atom 4, ``H4`` for the H on atom 4). 1H assignments list the explicit H atoms of the
heavy atom when the molblock has them, else ``H<n>``.

What these tags cannot hold (peak ``count`` of 13C, generated labels and molblocks, per-spectrum
solvents, ``meta``, 2D spectra, text that does not fit on one line, ...) is written in a private
``NMRLENS_EXTRA`` item: one line of JSON that holds only the values that the standard items read
back differently (``{"version": 1, "query": {...}, "spectra": [{"tag": ..., "n": ..., "fields":
{...}, "peaks": {"3": {"count": 2}}}]}``). Other programs ignore it; nmrlens applies it after reading
the standard items, so that ``loads(dumps(q)) == [q]``. It must match the spectra it follows (same
tags and peak counts), else reading fails: delete it after editing a file by hand.
"""

from __future__ import annotations

import json as _json
import logging
import math
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Sequence

from nmrlens.errors import FileFormatError, InvalidMoleculeError, NmrLensError, SpectrumFormatError, short_repr
from nmrlens.io._base import PathLike, Writable, as_queries, check_text, read_text, write_text_atomic
from nmrlens.io._peaks import NUMBER, HydrogenMap, h1_multiplicity, hydrogen_map, parse_number, quiet_rdkit
from nmrlens.spectra.model import (
    MAX_PEAKS,
    MAX_SPECTRA,
    Multiplet,
    Peak,
    Query,
    Spectrum1D,
    normalize_nucleus,
)

if TYPE_CHECKING:  # pragma: no cover
    from rdkit.Chem import Mol

__all__ = ["loads", "dumps", "read", "write", "EMPTY_MOLBLOCK"]

log = logging.getLogger(__name__)

_FMT = "nmredata"
#: The molblock written for a query without structure (0 atoms; RDKit reads it as an empty molecule).
EMPTY_MOLBLOCK = "{title}\n  nmrlens\n\n  0  0  0  0  0  0  0  0  0  0999 V2000\nM  END\n"
_EXTRA_TAG = "NMRLENS_EXTRA"
_TAG_RE = re.compile(r"^>[^<]{0,200}<([^<>]{1,200})>")
_SPECTRUM_TAG_RE = re.compile(r"^NMREDATA_1D_([0-9]{1,3}[A-Z][A-Z]?)(?:\{[^{}]{0,40}\})?(?:#[0-9]{1,4})?$")
_SHIFT_RE = re.compile(rf"^({NUMBER})(?:\s*-\s*({NUMBER}))?$")
_ATOM_RE = re.compile(r"^(H?)\s*([0-9]{1,7})$", re.IGNORECASE)
_J_RE = re.compile(rf"^({NUMBER})\s*(?:\([^()]{{0,200}}\))?$")
_SAFE_LABEL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_'\-+*.#:]{0,39}$")
_KEYWORD_LINES = ("INTERCHANGEABLE", "EQUIVALENT")
_PEAK_FIELDS = ("shift", "mult", "intensity", "atoms", "count", "coupling", "J")
_MULTIPLET_FIELDS = ("shift_min", "shift_max", "mult", "J", "nH", "atoms", "label")
_SPECTRUM_FIELDS = ("solvent", "frequency_MHz", "temperature_K")
_QUERY_FIELDS = ("id", "formula", "smiles", "molblock", "meta", "spectra2d")
_MAX_LINE_FIELDS = 2000


# ---------------------------------------------------------------------------------------------
# small text helpers


def _logical_lines(content: Sequence[str]) -> list[str]:
    """Split item content into logical lines: backslash or line end; drop ``;`` comments."""
    out: list[str] = []
    for physical in content:
        buf: list[str] = []
        quoted = comment = False
        i, n = 0, len(physical)
        while i < n:
            c = physical[i]
            if quoted:
                buf.append(c)
                if c == '"' and i + 1 < n and physical[i + 1] == ">":
                    buf.append(">")
                    i += 1
                    quoted = False
            elif c == "\\":
                out.append("".join(buf).strip())
                buf, comment = [], False
            elif comment:
                pass
            elif c == ";":
                comment = True
            elif c == "<" and i + 1 < n and physical[i + 1] == '"':
                buf.append('<"')
                i += 1
                quoted = True
            else:
                buf.append(c)
            i += 1
        out.append("".join(buf).strip())
    return [line for line in out if line]


def _split_fields(line: str) -> list[str]:
    """Split a logical line on commas outside ``<"...">`` quotes."""
    fields: list[str] = []
    buf: list[str] = []
    quoted = False
    i, n = 0, len(line)
    while i < n:
        c = line[i]
        if quoted:
            buf.append(c)
            if c == '"' and i + 1 < n and line[i + 1] == ">":
                buf.append(">")
                i += 1
                quoted = False
        elif c == "<" and i + 1 < n and line[i + 1] == '"':
            buf.append('<"')
            i += 1
            quoted = True
        elif c == ",":
            fields.append("".join(buf).strip())
            buf = []
            if len(fields) > _MAX_LINE_FIELDS:
                raise FileFormatError(f"{_FMT}: a line has more than {_MAX_LINE_FIELDS} fields")
        else:
            buf.append(c)
        i += 1
    fields.append("".join(buf).strip())
    return fields


def _unquote(label: str) -> str:
    if label.startswith('<"') and label.endswith('">') and len(label) >= 4:
        return label[2:-2]
    return label


def _fmt_shift(x: float) -> str:
    s = f"{x:.4f}"
    if float(s) == x:
        return s
    s = repr(float(x))
    return format(Decimal(s), "f") if "e" in s or "E" in s else s


def _fmt_j(x: float) -> str:
    s = f"{x:.2f}"
    return s if float(s) == x else _fmt_shift(x)


def _fmt_float(x: float) -> str:
    s = repr(float(x))
    return format(Decimal(s), "f") if "e" in s or "E" in s else s


def _one_line(text: str) -> str:
    return " ".join(text.replace("\\", "/").replace(";", ",").replace("$$$$", "").split())


# ---------------------------------------------------------------------------------------------
# structure (RDKit)


def _smiles_of(molblock: str) -> str | None:
    from rdkit import Chem

    quiet_rdkit()
    try:
        mol = Chem.MolFromMolBlock(molblock, sanitize=True, removeHs=True)
        if mol is None or mol.GetNumAtoms() == 0:
            return None
        return Chem.MolToSmiles(mol) or None
    except Exception:  # noqa: BLE001
        return None


def _molblock_from_smiles(smiles: str, title: str) -> str:
    from rdkit import Chem
    from rdkit.Chem import rdDepictor

    from nmrlens.chem.mol import parse_smiles

    mol: Mol = parse_smiles(smiles)
    rdDepictor.Compute2DCoords(mol)
    mol.SetProp("_Name", title)
    return Chem.MolToMolBlock(mol)


# ---------------------------------------------------------------------------------------------
# reading


@dataclass
class _Item:
    tag: str
    line: int
    content: list[str] = field(default_factory=list)


@dataclass
class _Record:
    index: int
    line: int
    molblock_lines: list[str]
    items: list[_Item]

    def where(self) -> str:
        return f"{_FMT}: record {self.index} (line {self.line})"


def _split_records(text: str) -> list[_Record]:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    records: list[_Record] = []
    start = 0
    for i in range(len(lines) + 1):
        if i == len(lines) or lines[i].strip() == "$$$$":
            chunk = lines[start:i]
            if any(ln.strip() for ln in chunk):
                records.append(_parse_record_lines(chunk, len(records) + 1, start + 1))
            start = i + 1
    if not records:
        raise FileFormatError(f"{_FMT}: no SD record found")
    return records


def _parse_record_lines(lines: list[str], index: int, first_line: int) -> _Record:
    end = next((i for i, ln in enumerate(lines) if ln.rstrip() == "M  END"), None)
    if end is None:
        raise FileFormatError(
            f"{_FMT}: record {index} (line {first_line}) has no molblock: expected a line 'M  END'"
        )
    items: list[_Item] = []
    current: _Item | None = None
    for j in range(end + 1, len(lines)):
        ln = lines[j]
        m = _TAG_RE.match(ln) if ln.startswith(">") else None
        if m is not None:
            current = _Item(m.group(1).strip().upper(), first_line + j)
            items.append(current)
        elif not ln.strip():
            current = None
        elif current is not None:
            current.content.append(ln)
        else:
            log.debug("nmredata: record %d line %d is outside a data item and ignored", index, first_line + j)
    return _Record(index, first_line, lines[: end + 1], items)


def _first_line(item: _Item) -> str | None:
    lines = _logical_lines(item.content)
    return lines[0] if lines else None


def _assignment(item: _Item, where: str) -> dict[str, list[tuple[bool, int]]]:
    out: dict[str, list[tuple[bool, int]]] = {}
    for line in _logical_lines(item.content):
        fields = _split_fields(line)
        head = (fields[0].split("=")[0].split() or [""])[0].upper()
        if head in _KEYWORD_LINES and not fields[0].startswith('<"'):
            continue
        if len(fields) < 3:
            raise FileFormatError(
                f"{where}: NMREDATA_ASSIGNMENT line {short_repr(line)}: expected 'label, shift, atom, ...'"
            )
        label = _unquote(fields[0])
        parse_number(fields[1], f"{where}: NMREDATA_ASSIGNMENT shift of {label!r}")
        refs = []
        for a in fields[2:]:
            m = _ATOM_RE.match(a)
            if m is None or int(m.group(2)) < 1:
                raise FileFormatError(
                    f"{where}: NMREDATA_ASSIGNMENT atom {short_repr(a)} of {label!r}: "
                    "expected an atom number >= 1 or H<number>"
                )
            refs.append((bool(m.group(1)), int(m.group(2)) - 1))
        if label in out:
            raise FileFormatError(f"{where}: NMREDATA_ASSIGNMENT defines label {label!r} twice")
        out[label] = refs
    return out


def _attributes(fields: list[str], where: str) -> dict[str, list[str]]:
    attrs: dict[str, list[str]] = {}
    current: list[str] | None = None
    for f in fields:
        if not f:
            continue
        if "=" in f and not f.startswith('<"'):
            name, value = f.split("=", 1)
            current = attrs.setdefault(name.strip().upper(), [])
            current.append(value.strip())
        elif current is not None:
            current.append(f)
        else:
            raise FileFormatError(f"{where}: value {short_repr(f)} does not follow an attribute such as S=, J=, N=, L=")
    return attrs


def _j_values(values: list[str], where: str) -> tuple[float, ...]:
    out = []
    for v in values:
        m = _J_RE.match(v.strip())
        if m is None:
            raise FileFormatError(f"{where}: J value {short_repr(v)}: expected a number in Hz, e.g. 7.10 or 7.10(b)")
        out.append(abs(float(m.group(1))))
    return tuple(out)


def _int_attr(values: list[str], where: str, name: str) -> int:
    v = parse_number(values[0], f"{where}: {name}=")
    if not v.is_integer() or abs(v) > 1e6:
        raise FileFormatError(f"{where}: {name}={values[0]}: expected a whole number")
    return int(v)


class _AtomMapper:
    """Turns NMReDATA labels into 0-based atom indices of the molblock."""

    def __init__(self, assignment: dict[str, list[tuple[bool, int]]], molblock: str | None, where: str) -> None:
        self.assignment = assignment
        self.molblock = molblock
        self.where = where
        self._structure: HydrogenMap | None = None

    def structure(self) -> HydrogenMap:
        if self._structure is None:
            if self.molblock is None:
                self._structure = HydrogenMap()
            else:
                self._structure = hydrogen_map(self.molblock, self.where, strict=False)
        return self._structure

    def atoms(self, labels: list[str], proton: bool) -> tuple[int, ...]:
        refs = [r for lab in labels for r in self.assignment.get(lab, [])]
        if not refs:
            return ()
        st = self.structure()
        out: list[int] = []
        for implicit_h, idx in refs:
            if idx >= st.n_atoms:
                raise FileFormatError(
                    f"{self.where}: NMREDATA_ASSIGNMENT atom {idx + 1} is beyond the molblock's {st.n_atoms} atoms"
                )
            if proton and not implicit_h and st.is_h[idx]:
                idx = st.heavy_of_h.get(idx, idx)
            out.append(idx)
        return tuple(dict.fromkeys(out))


def _spectrum(item: _Item, nucleus: str, mapper: _AtomMapper, where: str) -> Spectrum1D:
    where = f"{where} <{item.tag}>"
    freq: float | None = None
    peaks: list[Peak | Multiplet] = []
    for line in _logical_lines(item.content):
        fields = _split_fields(line)
        m = _SHIFT_RE.match(fields[0])
        if m is None:
            if "=" in fields[0]:
                name, value = fields[0].split("=", 1)
                if name.strip().upper() == "LARMOR":
                    freq = parse_number(value, f"{where}: Larmor=")
                continue
            raise FileFormatError(f"{where}: line {short_repr(line)}: expected a shift (ppm), a range or Name=value")
        if len(peaks) >= MAX_PEAKS:
            raise FileFormatError(f"{where}: more than {MAX_PEAKS} signals")
        a = float(m.group(1))
        b = float(m.group(2)) if m.group(2) is not None else a
        if not (math.isfinite(a) and math.isfinite(b)):
            raise FileFormatError(f"{where}: line {short_repr(line)}: the shift is not a finite number")
        pw = f"{where} signal {len(peaks) + 1}"
        attrs = _attributes(fields[1:], pw)
        labels = [_unquote(v) for v in attrs.get("L", []) if v]
        J = _j_values(attrs["J"], pw) if "J" in attrs else ()
        s_text = attrs["S"][0] if attrs.get("S") and attrs["S"][0] else None
        try:
            if nucleus == "1H":
                nh = _int_attr(attrs["N"], pw, "N") if attrs.get("N") and attrs["N"][0] else None
                peaks.append(Multiplet(
                    shift_min=min(a, b), shift_max=max(a, b),
                    mult=h1_multiplicity(s_text, f"{pw}.S") if s_text else None, J=J, nH=nh or None,
                    atoms=mapper.atoms(labels, proton=True), label=", ".join(labels) if labels else None,
                ))
                continue
            if m.group(2) is not None and a != b:
                raise FileFormatError(f"{pw}: a {nucleus} signal cannot be a range ({short_repr(fields[0])})")
            mult = coupling = None
            count = None
            if s_text:
                if re.fullmatch(r"[0-9]{1,3}", s_text):
                    mult = "SDTQ"[int(s_text)] if int(s_text) <= 3 else None
                else:
                    coupling = h1_multiplicity(s_text, f"{pw}.S")
            if attrs.get("N") and attrs["N"][0]:
                n = _int_attr(attrs["N"], pw, "N")
                if nucleus == "13C":
                    mult = "SDTQ"[n] if 0 <= n <= 3 else mult
                else:
                    count = n
            intensity = parse_number(attrs["I"][0], f"{pw}: I=") if attrs.get("I") and attrs["I"][0] else None
            peaks.append(Peak(shift=a, mult=mult, intensity=intensity, atoms=mapper.atoms(labels, proton=False),
                              count=count, coupling=coupling, J=J))
        except SpectrumFormatError as exc:
            if exc.field.startswith(_FMT):
                raise
            raise SpectrumFormatError(f"{pw}.{exc.field}", exc.value, exc.allowed) from None
    try:
        return Spectrum1D(nucleus=nucleus, peaks=peaks, frequency_MHz=freq)
    except SpectrumFormatError as exc:
        raise SpectrumFormatError(f"{where} {exc.field}", exc.value, exc.allowed) from None


def _temperature(text: str, where: str) -> float:
    t = text.strip().replace("°", "")
    m = re.match(rf"^({NUMBER})\s*([KC]?)$", t, re.IGNORECASE)
    if m is None:
        raise FileFormatError(f"{where}: NMREDATA_TEMPERATURE {short_repr(text)}: expected e.g. '298.0 K'")
    v = float(m.group(1))
    return v + 273.15 if m.group(2).upper() == "C" else v


def _read_record(rec: _Record, *, use_extra: bool = True) -> Query:
    where = rec.where()
    molblock: str | None = "\n".join(rec.molblock_lines) + "\n"
    counts = rec.molblock_lines[3] if len(rec.molblock_lines) > 3 else ""
    title = rec.molblock_lines[0].strip() if rec.molblock_lines else ""
    if counts[:3].strip() == "0" and counts[3:6].strip() in ("0", "") and "V3000" not in counts:
        molblock = None
    tags: dict[str, _Item] = {}
    spectra_items: list[tuple[_Item, str]] = []
    for item in rec.items:
        m = _SPECTRUM_TAG_RE.match(item.tag)
        if m is not None:
            if len(spectra_items) >= MAX_SPECTRA:
                raise FileFormatError(f"{where}: more than {MAX_SPECTRA} spectra")
            try:
                spectra_items.append((item, normalize_nucleus(m.group(1))))
            except SpectrumFormatError:
                raise FileFormatError(f"{where}: tag <{item.tag}> does not name an isotope such as 13C or 1H") from None
            continue
        if item.tag in tags and item.tag.startswith(("NMREDATA_", "NMRLENS_")):
            raise FileFormatError(f"{where}: tag <{item.tag}> appears twice (line {item.line})")
        tags.setdefault(item.tag, item)
    solvent = _first_line(tags["NMREDATA_SOLVENT"]) if "NMREDATA_SOLVENT" in tags else None
    temperature = None
    if "NMREDATA_TEMPERATURE" in tags and _first_line(tags["NMREDATA_TEMPERATURE"]):
        temperature = _temperature(_first_line(tags["NMREDATA_TEMPERATURE"]) or "", where)
    formula = _first_line(tags["NMREDATA_FORMULA"]) if "NMREDATA_FORMULA" in tags else None
    smiles = None
    if "NMREDATA_SMILES" in tags:
        raw = next((ln.strip() for ln in tags["NMREDATA_SMILES"].content if ln.strip()), "")
        smiles = (raw[:-1].rstrip() if raw.endswith("\\") else raw) or None
    qid: str | None = title or None
    if "NMREDATA_ID" in tags:
        for line in _logical_lines(tags["NMREDATA_ID"].content):
            key, _, value = line.partition("=")
            if key.strip().upper() == "DB_ID" and value.strip():
                qid = value.strip()
                break
    assignment = _assignment(tags["NMREDATA_ASSIGNMENT"], where) if "NMREDATA_ASSIGNMENT" in tags else {}
    mapper = _AtomMapper(assignment, molblock, where)
    spectra = []
    for item, nucleus in spectra_items:
        sp = _spectrum(item, nucleus, mapper, where)
        try:
            spectra.append(sp.with_(solvent=solvent, temperature_K=temperature))
        except SpectrumFormatError as exc:
            tag = "NMREDATA_SOLVENT" if exc.field == "solvent" else "NMREDATA_TEMPERATURE"
            raise SpectrumFormatError(f"{where} <{tag}>", exc.value, exc.allowed) from None
    if smiles is None and molblock is not None:
        smiles = _smiles_of(molblock)
    try:
        q = Query(spectra=spectra, formula=formula, smiles=smiles, id=qid, molblock=molblock)
    except SpectrumFormatError as exc:
        raise SpectrumFormatError(f"{where} {exc.field}", exc.value, exc.allowed) from None
    except InvalidMoleculeError as exc:
        raise FileFormatError(f"{where}: NMREDATA_FORMULA: {exc}") from None
    if use_extra and _EXTRA_TAG in tags:
        q = _apply_extra(q, tags[_EXTRA_TAG], [item.tag for item, _ in spectra_items], where)
    return q


def _apply_extra(q: Query, item: _Item, spectrum_tags: list[str], where: str) -> Query:
    where = f"{where} <{_EXTRA_TAG}>"
    try:
        extra = _json.loads("".join(ln.strip() for ln in item.content))
    except (ValueError, RecursionError):
        raise FileFormatError(f"{where}: not valid JSON") from None
    if not isinstance(extra, dict) or extra.get("version") != 1:
        raise FileFormatError(f"{where}: expected a JSON object with \"version\": 1")
    qd = extra.get("query", {})
    sds = extra.get("spectra", [])
    if not isinstance(qd, dict) or not isinstance(sds, list):
        raise FileFormatError(f"{where}: \"query\" must be an object and \"spectra\" a list")
    if len(sds) != len(q.spectra):
        raise FileFormatError(
            f"{where}: describes {len(sds)} spectra but the record has {len(q.spectra)}; "
            f"delete the {_EXTRA_TAG} item after editing a file by hand"
        )
    spectra = []
    for i, (sp, sd, tag) in enumerate(zip(q.spectra, sds, spectrum_tags)):
        sw = f"{where} spectra[{i}]"
        if not isinstance(sd, dict) or sd.get("tag") != tag or sd.get("n") != len(sp.peaks):
            raise FileFormatError(
                f"{sw}: does not match <{tag}> with {len(sp.peaks)} signals; "
                f"delete the {_EXTRA_TAG} item after editing a file by hand"
            )
        fields = sd.get("fields", {})
        pds = sd.get("peaks", {})
        if not isinstance(fields, dict) or not isinstance(pds, dict):
            raise FileFormatError(f"{sw}: \"fields\" and \"peaks\" must be objects")
        _check_keys(fields, _SPECTRUM_FIELDS, f"{sw}.fields")
        peaks = list(sp.peaks)
        for key, pd in pds.items():
            if not (isinstance(key, str) and re.fullmatch(r"[0-9]{1,5}", key) and int(key) < len(peaks)) \
                    or not isinstance(pd, dict):
                raise FileFormatError(f"{sw}.peaks: key {short_repr(key)} is not a signal index below {len(peaks)}")
            k = int(key)
            _check_keys(pd, _MULTIPLET_FIELDS if isinstance(peaks[k], Multiplet) else _PEAK_FIELDS, f"{sw}.peaks[{k}]")
            try:
                peaks[k] = peaks[k].with_(**pd)
            except SpectrumFormatError as exc:
                raise SpectrumFormatError(f"{sw}.peaks[{k}].{exc.field}", exc.value, exc.allowed) from None
            except TypeError:
                raise FileFormatError(f"{sw}.peaks[{k}]: a value has the wrong type") from None
        try:
            spectra.append(sp.with_(peaks=peaks, **fields))
        except SpectrumFormatError as exc:
            raise SpectrumFormatError(f"{sw}.{exc.field}", exc.value, exc.allowed) from None
    _check_keys(qd, _QUERY_FIELDS, f"{where}.query")
    changes: dict[str, Any] = dict(qd)
    if "spectra2d" in changes:
        from nmrlens.io.json import spectrum2d_from_dict

        raw = changes["spectra2d"]
        if not isinstance(raw, list):
            raise FileFormatError(f"{where}.query.spectra2d: expected a list")
        changes["spectra2d"] = [spectrum2d_from_dict(d, f"{where}.query.spectra2d[{i}]") for i, d in enumerate(raw)]
    if "meta" in changes and not isinstance(changes["meta"], dict):
        raise FileFormatError(f"{where}.query.meta: expected an object")
    try:
        return q.with_(spectra=spectra, **changes)
    except SpectrumFormatError as exc:
        raise SpectrumFormatError(f"{where}.query.{exc.field}", exc.value, exc.allowed) from None
    except InvalidMoleculeError as exc:
        raise FileFormatError(f"{where}.query.formula: {exc}") from None


def _check_keys(d: dict[str, Any], allowed: Sequence[str], where: str) -> None:
    unknown = sorted(str(k) for k in d if k not in allowed)
    if unknown:
        raise FileFormatError(f"{where}: unknown key {unknown[0]!r}; allowed: {', '.join(allowed)}")


def loads(text: str) -> list[Query]:
    """Parse an NMReDATA SD file (one or more records) into queries (see the module docstring).

    Raises:
        FileFormatError: for a malformed record, tag or value.
        SpectrumFormatError: for a value out of range (the field names the record and tag).
    """
    check_text(text, fmt=_FMT)
    return [_read_record(rec) for rec in _split_records(text)]


# ---------------------------------------------------------------------------------------------
# writing


def _tag(name: str, lines: Sequence[str], *, backslash: bool = True) -> list[str]:
    end = "\\" if backslash else ""
    return [f">  <{name}>", *(f"{ln}{end}" for ln in lines), ""]


def _safe_text(text: str | None) -> bool:
    return bool(text) and text == _one_line(text)  # type: ignore[arg-type]


def _record_molblock(q: Query) -> str:
    if q.molblock is not None:
        mb = q.molblock.replace("\r\n", "\n").replace("\r", "\n")
        lines = mb.split("\n")
        end = next((i for i, ln in enumerate(lines) if ln.rstrip() == "M  END"), None)
        if end is None:
            raise FileFormatError(f"{_FMT}: the molblock of query {q.id!r} has no 'M  END' line")
        if any(ln.strip() for ln in lines[end + 1:]):
            raise FileFormatError(f"{_FMT}: the molblock of query {q.id!r} has text after 'M  END'")
        if any(ln.strip() == "$$$$" for ln in lines[:end]):
            raise FileFormatError(f"{_FMT}: the molblock of query {q.id!r} contains a '$$$$' line")
        return "\n".join(lines[: end + 1]) + "\n"
    title = _one_line(q.id or "")
    if q.smiles is not None:
        return _molblock_from_smiles(q.smiles, title)
    return EMPTY_MOLBLOCK.format(title=title)


class _Labels:
    def __init__(self) -> None:
        self.used: set[str] = set()

    def take(self, wanted: str | None, fallback: str) -> str:
        if wanted and _SAFE_LABEL_RE.match(wanted) and wanted not in self.used \
                and wanted.upper().split("=")[0] not in _KEYWORD_LINES:
            self.used.add(wanted)
            return wanted
        label, k = fallback, 1
        while label in self.used:
            k += 1
            label = f"{fallback}_{k}"
        self.used.add(label)
        return label


def _standard_record(q: Query, molblock: str, st: HydrogenMap) -> tuple[list[str], list[str]]:
    """The standard items of a record (without NMRLENS_EXTRA) and the spectrum tag names."""
    out = _tag("NMREDATA_VERSION", ["1.1"]) + _tag("NMREDATA_LEVEL", ["0"])
    if q.id is not None and _safe_text(q.id) and "=" not in q.id[:1]:
        out += _tag("NMREDATA_ID", [f"DB_ID={q.id}"])
    if q.formula is not None:
        out += _tag("NMREDATA_FORMULA", [q.formula])
    smiles = q.smiles if q.smiles is not None else _smiles_of(molblock)
    if smiles and smiles == smiles.strip() and "\n" not in smiles and "\r" not in smiles:
        out += _tag("NMREDATA_SMILES", [smiles])
    solvent = next((sp.solvent for sp in q.spectra if sp.solvent is not None), None)
    if solvent is not None and _one_line(solvent):
        out += _tag("NMREDATA_SOLVENT", [_one_line(solvent)])
    temperature = next((sp.temperature_K for sp in q.spectra if sp.temperature_K is not None), None)
    if temperature is not None:
        out += _tag("NMREDATA_TEMPERATURE", [f"{_fmt_float(temperature)} K"])
    labels = _Labels()
    assignment: list[str] = []
    blocks: list[list[str]] = []
    names: list[str] = []
    seen: dict[str, int] = {}
    for sp in q.spectra:
        seen[sp.nucleus] = seen.get(sp.nucleus, 0) + 1
        name = f"NMREDATA_1D_{sp.nucleus}" + (f"#{seen[sp.nucleus]}" if seen[sp.nucleus] > 1 else "")
        names.append(name)
        body = [f"Larmor={_fmt_float(sp.frequency_MHz)}"] if sp.frequency_MHz is not None else []
        for p in sp.peaks:
            if max(p.atoms, default=-1) >= st.n_atoms and st.n_atoms > 0:
                raise FileFormatError(
                    f"{_FMT}: query {q.id!r}: a {sp.nucleus} peak has atom index {max(p.atoms)} but the molblock "
                    f"has {st.n_atoms} atoms"
                )
            label = None
            if isinstance(p, Multiplet):
                lo, hi = _fmt_shift(p.shift_min), _fmt_shift(p.shift_max)
                parts = [hi if p.shift_min == p.shift_max else f"{hi}-{lo}"]
                if p.mult:
                    parts.append(f"S={p.mult}")
                if p.J:
                    parts.append("J=" + ", ".join(_fmt_j(j) for j in p.J))
                if p.nH is not None:
                    parts.append(f"N={p.nH}")
                if p.label is not None or (p.atoms and st.n_atoms):
                    label = labels.take(p.label, f"H{p.atoms[0] + 1}" if p.atoms else "H")
                    parts.append(f"L={label}")
                if p.atoms and st.n_atoms:
                    refs = []
                    for a in p.atoms:
                        hs = st.hs_of_heavy.get(a)
                        refs += [str(h + 1) for h in hs] if hs else [str(a + 1) if st.is_h[a] else f"H{a + 1}"]
                    assignment.append(", ".join([label, _fmt_shift(p.shift), *refs]))  # type: ignore[list-item]
            else:
                parts = [_fmt_shift(p.shift)]
                if p.coupling:
                    parts.append(f"S={p.coupling}")
                if p.J:
                    parts.append("J=" + ", ".join(_fmt_j(j) for j in p.J))
                if sp.nucleus == "13C" and p.mult is not None:
                    parts.append(f"N={'SDTQ'.index(p.mult)}")
                elif sp.nucleus != "13C" and p.count is not None:
                    parts.append(f"N={p.count}")
                if p.atoms and st.n_atoms:
                    label = labels.take(None, f"{re.sub('[0-9]', '', sp.nucleus)}{p.atoms[0] + 1}")
                    parts.append(f"L={label}")
                    assignment.append(", ".join([label, _fmt_shift(p.shift), *(str(a + 1) for a in p.atoms)]))
                if p.intensity is not None:
                    parts.append(f"I={_fmt_float(p.intensity)}")
            body.append(", ".join(parts))
        blocks.append(_tag(name, body))
    if assignment:
        out += _tag("NMREDATA_ASSIGNMENT", assignment)
    for b in blocks:
        out += b
    return out, names


def _to_json(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_to_json(v) for v in value]
    return value


def _extra(q: Query, back: Query, names: list[str]) -> dict[str, Any]:
    from nmrlens.io.json import spectrum2d_to_dict

    qd: dict[str, Any] = {}
    for key in ("id", "formula", "smiles", "molblock"):
        if getattr(q, key) != getattr(back, key):
            qd[key] = getattr(q, key)
    if q.meta:
        qd["meta"] = dict(q.meta)
    if q.spectra2d:
        qd["spectra2d"] = [spectrum2d_to_dict(s) for s in q.spectra2d]
    sds = []
    changed = bool(qd)
    if len(back.spectra) != len(q.spectra):
        raise FileFormatError(f"{_FMT}: internal error: {len(back.spectra)} spectra read back, {len(q.spectra)} written")
    for sp, bsp, name in zip(q.spectra, back.spectra, names):
        if len(sp.peaks) != len(bsp.peaks):
            raise FileFormatError(
                f"{_FMT}: internal error: {len(bsp.peaks)} {name} signals read back, {len(sp.peaks)} written"
            )
        fields = {k: getattr(sp, k) for k in _SPECTRUM_FIELDS if getattr(sp, k) != getattr(bsp, k)}
        peaks: dict[str, Any] = {}
        for i, (p, bp) in enumerate(zip(sp.peaks, bsp.peaks)):
            keys = _MULTIPLET_FIELDS if isinstance(p, Multiplet) else _PEAK_FIELDS
            diff = {k: _to_json(getattr(p, k)) for k in keys if getattr(p, k) != getattr(bp, k)}
            if diff:
                peaks[str(i)] = diff
        changed = changed or bool(fields or peaks)
        sd: dict[str, Any] = {"tag": name, "n": len(sp.peaks)}
        if fields:
            sd["fields"] = fields
        if peaks:
            sd["peaks"] = peaks
        sds.append(sd)
    return {"version": 1, "query": qd, "spectra": sds} if changed else {}


def _record_text(q: Query, index: int) -> str:
    molblock = _record_molblock(q)
    try:
        st = hydrogen_map(molblock, f"{_FMT}: query {index}", strict=False)
    except FileFormatError:
        raise FileFormatError(f"{_FMT}: query {index} ({q.id!r}): RDKit cannot read its molblock") from None
    items, names = _standard_record(q, molblock, st)
    lines = molblock.rstrip("\n").split("\n") + items
    try:
        back = _read_record(_parse_record_lines(lines, index, 1), use_extra=False)
    except NmrLensError as exc:
        raise FileFormatError(f"{_FMT}: query {index} ({q.id!r}) cannot be written: {exc}") from None
    extra = _extra(q, back, names)
    if extra:
        try:
            text = _json.dumps(extra, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
        except (TypeError, ValueError) as exc:
            raise FileFormatError(f"{_FMT}: cannot write query {index} ({exc}); meta must hold JSON values") from None
        lines += _tag(_EXTRA_TAG, [text], backslash=False)
        check = _read_record(_parse_record_lines(lines, index, 1))
        if check.with_(meta={}) != q.with_(meta={}):
            raise FileFormatError(f"{_FMT}: internal error: query {index} ({q.id!r}) does not read back unchanged")
    return "\n".join(lines) + "\n$$$$\n"


def dumps(queries: Writable) -> str:
    """Write queries as an NMReDATA SD file, one record per query (see the module docstring).

    Raises:
        FileFormatError: for a molblock RDKit cannot read, atom indices beyond it, or a meta
            that is not JSON.
        InvalidMoleculeError: for a SMILES that must be turned into a molblock but is invalid.
    """
    return "".join(_record_text(q, i) for i, q in enumerate(as_queries(queries), 1))


def read(path: PathLike) -> list[Query]:
    """Read an NMReDATA SD file."""
    return loads(read_text(path))


def write(obj: Writable, path: PathLike, *, force: bool = False) -> None:
    """Write an NMReDATA SD file atomically (refuses to overwrite unless ``force``)."""
    write_text_atomic(path, dumps(obj), force=force)
