"""nmrshiftdb2 records: the JSON-lines format of the shared data and the official SD file.

Two variants, chosen by ``variant=`` or detected from the text (a text whose first non-blank
character is ``{`` is JSON lines, anything else is an SD file):

**jsonl** -- one JSON object per line, the record format of ``nmrshiftdb2/molecules.jsonl.gz``
(see the README of the shared data)::

    {"nmrshiftdb2_id": 234, "source": ..., "molblock": null, "smiles": "...", "formula": "C15H22O3",
     "inchikey": ..., "source_inchikey": ..., "source_inchi": ..., "assigned": false,
     "spectra": [{"nucleus": "13C", "key": "Spectrum 13C 0", "solvent": ..., "temperature_K": 298.0,
                  "field_MHz": 50.0, "assignment_method": null,
                  "peaks": [{"shift": 203.0, "src_atoms": [11], "mult": "D"}, ...]}],
     "calc_spectra": [...], "empty_experiments": [...], "split": "keep", "split_hash": 62}

One record becomes one :class:`~nmrlens.spectra.Query`: ``id = str(nmrshiftdb2_id)``, ``smiles``,
``formula`` (Hill order, element counts only: a charge suffix such as ``+2`` is dropped from the
field and the original kept in ``meta["formula"]``), ``molblock`` and one
:class:`~nmrlens.spectra.Spectrum1D` per experimental spectrum:

- 1H peaks become :class:`~nmrlens.spectra.Multiplet` objects with ``shift_min == shift_max ==
  shift``, ``nH`` when given (a non-positive nH is treated as unknown, the original value kept in
  the peak's meta) and the depositor's multiplicity label normalised to the canonical grammar
  (``"brs"`` -> ``"br s"``, ``"DD"`` -> ``"dd"``, ``"doublet"`` -> ``"d"``; labels that cannot be
  read, e.g. ``"AA'BB'"``, become None and are kept in the peak's meta).
- Other nuclei (13C, 19F, 31P, ...) give :class:`~nmrlens.spectra.Peak` objects: an upper-case
  S/D/T/Q letter is ``Peak.mult`` (attached H), a lower-case letter (or a multiplet such as
  ``"dd"`` on 19F) is ``Peak.coupling``; other letters (``"u"``, ``"ab"``) are kept in meta.
- ``atoms`` (assigned records only) become ``Peak.atoms`` / ``Multiplet.atoms``; ``src_atoms``
  (indices into the original nmrshiftdb2 molfile, not mappable onto the SMILES) are kept in meta.
- Spectra whose "nucleus" is an experiment name and not an isotope (``APT``, ``DEPT135``,
  ``DEPTQ``: 30 of 63,419 spectra in the shared file) are not converted; they are kept unchanged
  in ``meta["other_spectra"]`` and counted in :class:`ReadReport.other_spectra`.
- A temperature of 0 K or below (12 spectra in the shared file) is read as unknown (None); the
  original value is kept in the spectrum's meta.

``Query.meta`` holds ``inchikey``, ``source_inchikey``, ``source_inchi``, ``source``,
``assigned``, ``split``, ``split_hash``, ``spectra`` (one object per ``Query.spectra`` entry: the
source ``key``, ``assignment_method``, ``raw`` values that were cleaned, and ``peaks``: one object
per peak with ``src_atoms`` and the original values of fields that were cleaned), and -- only when
not empty -- ``other_spectra``, ``calc_spectra`` (predicted spectra: never evidence),
``empty_experiments``. Writing uses these to reproduce the source record, so that
``loads(dumps(loads(text)))`` equals ``loads(text)``. A query that did not come from this format is
written with generated keys (``"Spectrum 13C 0"``), ``src_atoms = atoms`` and null identifiers;
reading it back gives the same spectra, formula, SMILES, id and molblock (plus this meta). nmrlens
extensions of the peak schema (written only when needed): 1H ``shift_min``/``shift_max`` (a shift
range; ``shift`` is then the centre), ``J`` (Hz) and ``label``; 13C ``coupling``, ``J`` and
``count``. Other meta keys of a query are written under ``"nmrlens_meta"`` and read back.

**sd** -- the official ``nmrshiftdb2withsignals.sd`` layout: a V2000 molblock, then data items::

    > <nmrshiftdb2 ID>
    234

    > <Spectrum 13C 0>
    17.6;0.0Q;10|18.3;0.0T;0|22.6;0.0Q;12|...|

    > <Solvent>
    0:Chloroform-D1 (CDCl3)

    > <Temperature [K]>
    0:298

    > <Field Strength [MHz]>
    0:50.0

A spectrum field ``Spectrum <nucleus> <n>`` holds ``|``-terminated entries ``shift;<intensity><mult>;
<atom index>``: the intensity is a number, directly followed by the multiplicity letter(s) when
given (``0.0Q``); the atom index is 0-based in the molblock. An equivalent atom gets its own entry
(``33.5;0.0S;2|33.5;0.0S;14|``); entries with the same (shift, intensity, mult) form one peak.
For 1H the index may point at an explicit H atom of the molblock: the peak's ``atoms`` are then the
heavy atoms that carry those H and ``nH`` is the number of H atoms named; indices of heavy atoms
leave ``nH`` unknown. The condition fields are indexed by the spectrum number ``n``:
``0:value 1:value`` (``Unreported``/``Unknown`` = None). A spectrum whose number appears in a
``Program``/``NMRProgram``/``NMRMethod``/``NMRBasisSet``/``GeomMethod``/``GeomBasisSet`` field is a
calculated one: it is not read as a spectrum; its field is kept verbatim in
``meta["sd_fields"]`` with every other data item that is not read. The writer adds ``SMILES`` and
``Formula`` items (used by the reader when present) and, for 1H spectra whose nH cannot be told
from the molblock, an ``nmrlens nH <n>`` item (``3|1|2|``). Entries this module cannot express in
the SD layout (two different peaks with the same shift, intensity and multiplicity) are merged by a
reader, as nmrshiftdb2 does.

Bad input: by default (``errors="strict"``) a record that cannot be read -- a SMILES RDKit cannot
parse, a shift outside the model's range (1H: -3..17 ppm), malformed JSON -- raises a
:class:`~nmrlens.errors.NmrLensError` naming the record. With ``errors="skip"`` such a record (or,
when only one spectrum is bad, that spectrum) is left out, counted in a :class:`ReadReport` and
logged as a warning; nothing vanishes silently.
"""

from __future__ import annotations

import json as _json
import logging
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from nmrlens.errors import FileFormatError, InvalidMoleculeError, NmrLensError, SpectrumFormatError, short_repr
from nmrlens.io._base import PathLike, Writable, as_queries, check_text, read_text, write_text_atomic
from nmrlens.spectra.model import (
    CARBON_MULTS,
    MAX_NH,
    MAX_PEAKS,
    Multiplet,
    Peak,
    Query,
    Spectrum1D,
    is_valid_multiplicity,
    normalize_nucleus,
)

__all__ = [
    "VARIANTS",
    "ReadReport",
    "loads",
    "dumps",
    "read",
    "write",
    "iter_queries",
    "detect_variant",
    "record_to_query",
    "query_to_record",
    "spectrum_from_record",
    "normalize_h1_mult",
    "carbon_mult",
    "formula_without_charge",
]

log = logging.getLogger(__name__)

VARIANTS = ("jsonl", "sd")
_ERRORS = ("strict", "skip")
#: Longest JSON line accepted (characters).
MAX_LINE_CHARS = 50_000_000
#: Longest multiplicity label read (characters).
_MAX_MULT_CHARS = 60
_MAX_PROBLEMS_KEPT = 20

_SD_CALC_FIELDS = ("Program", "NMRProgram", "NMRMethod", "NMRBasisSet", "GeomMethod", "GeomBasisSet")
_SD_CONDITIONS = {"Solvent": "solvent", "Temperature [K]": "temperature_K",
                  "Field Strength [MHz]": "field_MHz", "Assignment Method": "assignment_method"}
_SD_SPECTRUM_RE = re.compile(r"^Spectrum ([0-9A-Za-z]{1,12}) ([0-9]{1,4})$")
_SD_NH_RE = re.compile(r"^nmrlens nH ([0-9]{1,4})$")
_SD_INDEX_RE = re.compile(r"(?:^|(?<=\s))([0-9]{1,4}):")
_LEADING_NUMBER_RE = re.compile(r"^\s*([-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]{1,3})?)")
_CHARGE_SUFFIX_RE = re.compile(r"[+-][0-9]{0,3}$")
_UNREPORTED = {"", "unreported", "unknown", "null", "none"}


@dataclass
class ReadReport:
    """Counts of one read: what was read, what was skipped (``errors="skip"``) and why.

    Attributes:
        records: records seen.
        queries: queries returned.
        skipped_records: records left out (bad SMILES/molblock, malformed record or JSON line).
        skipped_spectra: spectra left out of records that were otherwise kept.
        other_spectra: spectra of experiment "nuclei" (APT, DEPT135, ...) kept in meta only.
        problems: the first few error messages.
    """

    records: int = 0
    queries: int = 0
    skipped_records: int = 0
    skipped_spectra: int = 0
    other_spectra: int = 0
    problems: list[str] = field(default_factory=list)

    def note(self, message: str) -> None:
        """Remember a problem message (only the first few are kept)."""
        if len(self.problems) < _MAX_PROBLEMS_KEPT:
            self.problems.append(message)

    def log_summary(self, source: str) -> None:
        """Log a warning when anything was skipped."""
        if self.skipped_records or self.skipped_spectra:
            log.warning(
                "%s: skipped %d of %d records and %d spectra (errors='skip'); first problems: %s",
                source, self.skipped_records, self.records, self.skipped_spectra, "; ".join(self.problems[:3]),
            )


# ----------------------------------------------------------------------------------------------
# small helpers

def _check_errors(errors: str) -> None:
    if errors not in _ERRORS:
        raise FileFormatError(f"nmrshiftdb2: errors={errors!r}, expected one of {', '.join(_ERRORS)}")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def normalize_h1_mult(raw: Any) -> str | None:
    """Canonical 1H multiplicity of a depositor's label, or None when it cannot be read.

    ``"brs"``/``"bs"``/``"br. s"`` -> ``"br s"``, ``"DD"`` -> ``"dd"``, ``"doublet"`` -> ``"d"``,
    ``"t sept"`` -> ``"tsept"``, ``"d (6.1)"`` -> ``"d"`` (the coupling text is dropped);
    ``"AA'BB'"``, ``"overlap"`` -> None.
    """
    if not isinstance(raw, str) or len(raw) > _MAX_MULT_CHARS:
        return None
    if is_valid_multiplicity(raw):
        return raw
    text = re.sub(r"\([^()]*\)", " ", raw.lower())
    text = text.replace(".", " ").replace("^", " ").replace("-like", " ")
    broad = False
    parts: list[str] = []
    for tok in text.split():
        if tok in ("br", "b", "broad"):
            broad = True
            continue
        if tok in _MULT_WORDS:
            parts.append(_MULT_WORDS[tok])
            continue
        if tok.startswith("br") and len(tok) > 2:
            broad, tok = True, tok[2:]
        elif tok.endswith("br") and len(tok) > 2:
            broad, tok = True, tok[:-2]
        elif tok in ("sb", "bs"):
            broad, tok = True, "s"
        elif tok[0] == "b" and tok[1:] in ("d", "t", "q", "dd", "m"):
            broad, tok = True, tok[1:]
        parts.append(_MULT_WORDS.get(tok, tok))
    core = "".join(parts) or ("s" if broad else "")
    if not core:
        return None
    label = f"br {core}" if broad else core
    return label if is_valid_multiplicity(label) else None


_MULT_WORDS = {
    "singlet": "s", "doublet": "d", "triplet": "t", "quartet": "q", "quintet": "quint", "quint": "quint",
    "quintuplett": "quint", "quintuplet": "quint", "quimtet": "quint", "pentet": "quint", "sextet": "sext",
    "sext": "sext", "septet": "sept", "sept": "sept", "sep": "sept", "sepstet": "sept", "heptet": "sept",
    "hept": "sept", "multiplet": "m",
}


def carbon_mult(raw: Any) -> tuple[str | None, str | None]:
    """``(mult, coupling)`` of a non-1H peak's multiplicity text.

    Upper-case S/D/T/Q -> ``mult`` (number of attached H); lower-case s/d/t/q or a multiplet such
    as ``"dd"`` -> ``coupling`` (heteronuclear splitting); anything else -> ``(None, None)``.
    """
    if not isinstance(raw, str) or len(raw) > _MAX_MULT_CHARS:
        return None, None
    if raw in CARBON_MULTS:
        return raw, None
    if is_valid_multiplicity(raw):
        return None, raw
    return None, None


def formula_without_charge(formula: str) -> str:
    """A formula with a trailing charge (``"C40H40N4O2+2"``, ``"C17H13O11S-"``) removed."""
    return _CHARGE_SUFFIX_RE.sub("", formula.strip())


def _clean_text(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    text = value.strip()
    return None if text.lower() in _UNREPORTED else text


def _clean_positive(value: Any) -> float | None:
    if _is_number(value) and 0 < float(value) <= 5000:
        return float(value)
    return None


def _atoms_list(value: Any, where: str) -> list[int]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(a, int) and not isinstance(a, bool) and a >= 0 for a in value):
        raise SpectrumFormatError(where, value, "a list of atom indices (whole numbers >= 0)")
    return value


# ----------------------------------------------------------------------------------------------
# jsonl: record <-> query

def spectrum_from_record(sp: Mapping[str, Any], where: str = "spectrum") -> tuple[Spectrum1D, dict[str, Any]]:
    """Convert one spectrum object of a record into a :class:`Spectrum1D` and its meta object.

    Raises:
        SpectrumFormatError: naming the field (e.g. ``"record 234 spectrum 'Spectrum 1H 1'
            .peaks[3].shift_min"``) when a value is missing, malformed or out of range.
    """
    if not isinstance(sp, Mapping):
        raise SpectrumFormatError(where, sp, "a JSON object with nucleus and peaks")
    try:
        nucleus = normalize_nucleus(sp.get("nucleus"))
    except SpectrumFormatError:
        raise SpectrumFormatError(f"{where}.nucleus", sp.get("nucleus"), "an isotope label such as '13C' or '1H'") from None
    raw_peaks = sp.get("peaks", [])
    if not isinstance(raw_peaks, list):
        raise SpectrumFormatError(f"{where}.peaks", raw_peaks, "a list of peaks")
    if len(raw_peaks) > MAX_PEAKS:
        raise SpectrumFormatError(f"{where}.peaks", f"{len(raw_peaks)} peaks", f"at most {MAX_PEAKS} peaks")
    indexed = []
    for i, p in enumerate(raw_peaks):
        pw = f"{where}.peaks[{i}]"
        if not isinstance(p, Mapping):
            raise SpectrumFormatError(pw, p, "a JSON object with a shift")
        if not _is_number(p.get("shift")):
            raise SpectrumFormatError(f"{pw}.shift", p.get("shift"), "a finite number (ppm)")
        indexed.append((p, pw))
    # Same order as Spectrum1D sorts (decreasing shift, stable), so peak meta stays aligned.
    indexed.sort(key=lambda t: _record_sort_key(t[0], nucleus))
    peaks: list[Peak | Multiplet] = []
    extras: list[dict[str, Any]] = []
    for p, pw in indexed:
        extra: dict[str, Any] = {"src_atoms": _atoms_list(p.get("src_atoms"), f"{pw}.src_atoms")}
        atoms = _atoms_list(p.get("atoms"), f"{pw}.atoms")
        raw_mult = p.get("mult")
        try:
            if nucleus == "1H":
                mult = normalize_h1_mult(raw_mult)
                if raw_mult is not None and mult != raw_mult:
                    extra["mult"] = raw_mult
                nh = p.get("nH")
                good_nh = nh if (isinstance(nh, int) and not isinstance(nh, bool) and 1 <= nh <= MAX_NH) else None
                if nh is not None and good_nh is None:
                    extra["nH"] = nh
                if "intensity" in p:
                    extra["intensity"] = p["intensity"]
                if "nH_uncertain" in p:
                    extra["nH_uncertain"] = p["nH_uncertain"]
                lo = p.get("shift_min", p["shift"])
                hi = p.get("shift_max", p["shift"])
                peaks.append(Multiplet(shift_min=lo, shift_max=hi, mult=mult, J=p.get("J") or (), nH=good_nh,
                                       atoms=atoms, label=p.get("label")))
            else:
                mult, coupling = carbon_mult(raw_mult)
                if raw_mult is not None and mult is None and coupling is None:
                    extra["mult"] = raw_mult
                if p.get("coupling") is not None:
                    coupling = p["coupling"]
                peaks.append(Peak(shift=p["shift"], mult=mult, intensity=p.get("intensity"), atoms=atoms,
                                  count=p.get("count"), coupling=coupling, J=p.get("J") or ()))
        except SpectrumFormatError as exc:
            raise SpectrumFormatError(f"{pw}.{exc.field}", exc.value, exc.allowed) from None
        extras.append(extra)
    raw: dict[str, Any] = {}
    temperature = sp.get("temperature_K")
    t_clean = _clean_positive(temperature)
    if temperature is not None and t_clean is None:
        raw["temperature_K"] = temperature
    field_mhz = sp.get("field_MHz")
    f_clean = _clean_positive(field_mhz)
    if field_mhz is not None and f_clean is None:
        raw["field_MHz"] = field_mhz
    solvent = sp.get("solvent")
    if solvent is not None and not isinstance(solvent, str):
        raise SpectrumFormatError(f"{where}.solvent", solvent, "a text or null")
    try:
        spectrum = Spectrum1D(nucleus=nucleus, peaks=peaks, solvent=solvent, frequency_MHz=f_clean, temperature_K=t_clean)
    except SpectrumFormatError as exc:
        raise SpectrumFormatError(f"{where}.{exc.field}", exc.value, exc.allowed) from None
    meta: dict[str, Any] = {"key": sp.get("key"), "assignment_method": sp.get("assignment_method"), "peaks": extras}
    if sp.get("nucleus") != nucleus:
        raw["nucleus"] = sp.get("nucleus")
    if raw:
        meta["raw"] = raw
    return spectrum, meta


def _record_sort_key(p: Mapping[str, Any], nucleus: str) -> float:
    if nucleus == "1H" and _is_number(p.get("shift_max")):
        return -float(p["shift_max"])
    return -float(p["shift"])


def record_to_query(
    record: Mapping[str, Any],
    *,
    check_smiles: bool = True,
    errors: str = "strict",
    report: ReadReport | None = None,
) -> Query:
    """Convert one nmrshiftdb2 JSON record into a :class:`Query` (see the module docstring).

    Args:
        record: the decoded JSON object.
        check_smiles: parse the SMILES with RDKit and raise when it is invalid.
        errors: ``"strict"`` raises on a bad spectrum; ``"skip"`` leaves it out and counts it.
        report: counts are added here when given.

    Raises:
        InvalidMoleculeError: for a SMILES RDKit cannot parse (``check_smiles``).
        SpectrumFormatError: for a malformed field, naming the record and the field.
    """
    _check_errors(errors)
    if not isinstance(record, Mapping):
        raise SpectrumFormatError("record", type(record).__name__, "a JSON object")
    rid = record.get("nmrshiftdb2_id")
    if rid is not None and not (isinstance(rid, str) or (isinstance(rid, int) and not isinstance(rid, bool))):
        raise SpectrumFormatError("record.nmrshiftdb2_id", rid, "a whole number, a text or null")
    where = f"record {rid}"
    smiles = record.get("smiles")
    if smiles is not None and not isinstance(smiles, str):
        raise SpectrumFormatError(f"{where}.smiles", smiles, "a SMILES text or null")
    if check_smiles and smiles is not None:
        from nmrlens.chem.mol import parse_smiles

        try:
            parse_smiles(smiles)
        except InvalidMoleculeError as exc:
            raise InvalidMoleculeError(f"{where}: {exc}") from None
    raw_formula = record.get("formula")
    formula = None
    if raw_formula is not None:
        if not isinstance(raw_formula, str):
            raise SpectrumFormatError(f"{where}.formula", raw_formula, "a molecular formula text or null")
        from nmrlens.chem.formula import normalize_formula

        try:
            formula = normalize_formula(formula_without_charge(raw_formula))
        except InvalidMoleculeError as exc:
            raise InvalidMoleculeError(f"{where}: {exc}") from None
    molblock = record.get("molblock")
    if molblock is not None and not isinstance(molblock, str):
        raise SpectrumFormatError(f"{where}.molblock", short_repr(molblock), "a molblock text or null")
    raw_spectra = record.get("spectra", [])
    if not isinstance(raw_spectra, list):
        raise SpectrumFormatError(f"{where}.spectra", short_repr(raw_spectra), "a list of spectra")
    spectra: list[Spectrum1D] = []
    spectra_meta: list[dict[str, Any]] = []
    other: list[Any] = []
    for i, sp in enumerate(raw_spectra):
        key = sp.get("key") if isinstance(sp, Mapping) else None
        sw = f"{where} spectrum {key!r}" if key else f"{where}.spectra[{i}]"
        if isinstance(sp, Mapping) and not _is_isotope(sp.get("nucleus")):
            other.append(sp)
            if report is not None:
                report.other_spectra += 1
            continue
        try:
            spectrum, meta = spectrum_from_record(sp, sw)
        except SpectrumFormatError as exc:
            if errors == "strict":
                raise
            if report is not None:
                report.skipped_spectra += 1
                report.note(str(exc))
            continue
        spectra.append(spectrum)
        spectra_meta.append(meta)
    qmeta: dict[str, Any] = {}
    for key in ("inchikey", "source_inchikey", "source_inchi", "source", "assigned", "split", "split_hash"):
        qmeta[key] = record.get(key)
    qmeta["spectra"] = spectra_meta
    if raw_formula is not None and raw_formula != formula:
        qmeta["formula"] = raw_formula
    if other:
        qmeta["other_spectra"] = other
    for key in ("calc_spectra", "empty_experiments"):
        value = record.get(key)
        if value:
            qmeta[key] = value
    extra = record.get("nmrlens_meta")
    if isinstance(extra, Mapping):
        for k, v in extra.items():
            qmeta.setdefault(str(k), v)
    try:
        return Query(spectra=spectra, formula=formula, smiles=smiles, id=None if rid is None else str(rid),
                     molblock=molblock, meta=qmeta)
    except SpectrumFormatError as exc:
        raise SpectrumFormatError(f"{where}.{exc.field}", exc.value, exc.allowed) from None


def _is_isotope(nucleus: Any) -> bool:
    try:
        normalize_nucleus(nucleus)
    except SpectrumFormatError:
        return False
    return True


def _aligned(meta_list: Any, n: int) -> list[dict[str, Any]] | None:
    if isinstance(meta_list, list) and len(meta_list) == n and all(isinstance(m, Mapping) for m in meta_list):
        return meta_list
    return None


def _peak_to_record(p: Peak | Multiplet, extra: Mapping[str, Any]) -> dict[str, Any]:
    src = extra.get("src_atoms")
    out: dict[str, Any] = {"shift": p.shift, "src_atoms": list(src) if isinstance(src, list) else list(p.atoms)}
    raw_mult = extra.get("mult")
    if isinstance(p, Multiplet):
        if p.shift_min != p.shift_max:
            out["shift_min"], out["shift_max"] = p.shift_min, p.shift_max
        if raw_mult is not None and normalize_h1_mult(raw_mult) == p.mult:
            out["mult"] = raw_mult
        elif p.mult is not None:
            out["mult"] = p.mult
        if "intensity" in extra:
            out["intensity"] = extra["intensity"]
        if p.atoms:
            out["atoms"] = list(p.atoms)
        if p.nH is not None:
            out["nH"] = p.nH
        elif "nH" in extra:
            out["nH"] = extra["nH"]
        if "nH_uncertain" in extra:
            out["nH_uncertain"] = extra["nH_uncertain"]
        if p.J:
            out["J"] = list(p.J)
        if p.label is not None:
            out["label"] = p.label
        return out
    coupling_written = False
    if p.mult is not None:
        out["mult"] = p.mult
    elif p.coupling is not None:
        out["mult"] = p.coupling
        coupling_written = True
    elif raw_mult is not None and carbon_mult(raw_mult) == (None, None):
        out["mult"] = raw_mult
    if p.intensity is not None:
        out["intensity"] = p.intensity
    if p.atoms:
        out["atoms"] = list(p.atoms)
    if p.coupling is not None and not coupling_written:
        out["coupling"] = p.coupling
    if p.count is not None:
        out["count"] = p.count
    if p.J:
        out["J"] = list(p.J)
    return out


def _spectrum_to_record(sp: Spectrum1D, meta: Mapping[str, Any] | None, index: int) -> dict[str, Any]:
    meta = meta or {}
    raw = meta.get("raw") if isinstance(meta.get("raw"), Mapping) else {}
    extras = _aligned(meta.get("peaks"), len(sp.peaks)) or [{}] * len(sp.peaks)
    nucleus = raw.get("nucleus") if _is_isotope(raw.get("nucleus")) and normalize_nucleus(raw["nucleus"]) == sp.nucleus else sp.nucleus
    out: dict[str, Any] = {"nucleus": nucleus, "key": meta.get("key") or f"Spectrum {sp.nucleus} {index}"}
    out["peaks"] = [_peak_to_record(p, e) for p, e in zip(sp.peaks, extras)]
    out["solvent"] = sp.solvent
    for name, value in (("temperature_K", sp.temperature_K), ("field_MHz", sp.frequency_MHz)):
        out[name] = raw[name] if value is None and name in raw and _clean_positive(raw[name]) is None else value
    out["assignment_method"] = meta.get("assignment_method")
    return out


def query_to_record(q: Query) -> dict[str, Any]:
    """The nmrshiftdb2 JSON record of a :class:`Query` (the inverse of :func:`record_to_query`)."""
    meta = dict(q.meta)
    rid: Any = q.id
    if isinstance(rid, str) and rid.isascii() and rid.isdigit() and (rid == "0" or not rid.startswith("0")):
        rid = int(rid)
    spectra_meta = _aligned(meta.get("spectra"), len(q.spectra)) or [None] * len(q.spectra)
    spectra = [_spectrum_to_record(sp, m, i) for i, (sp, m) in enumerate(zip(q.spectra, spectra_meta))]
    spectra.extend(meta.get("other_spectra") or [])
    raw_formula = meta.get("formula")
    formula = q.formula
    if isinstance(raw_formula, str) and q.formula is not None:
        from nmrlens.chem.formula import normalize_formula

        try:
            if normalize_formula(formula_without_charge(raw_formula)) == q.formula:
                formula = raw_formula
        except InvalidMoleculeError:
            pass
    assigned = meta.get("assigned")
    if not isinstance(assigned, bool):
        assigned = bool(q.molblock) and any(sp.peaks for sp in q.spectra) and all(
            p.atoms for sp in q.spectra for p in sp.peaks
        )
    record: dict[str, Any] = {
        "nmrshiftdb2_id": rid,
        "source": meta.get("source"),
        "molblock": q.molblock,
        "smiles": q.smiles,
        "formula": formula,
        "inchikey": meta.get("inchikey"),
        "source_inchikey": meta.get("source_inchikey"),
        "source_inchi": meta.get("source_inchi"),
        "assigned": assigned,
        "spectra": spectra,
        "calc_spectra": meta.get("calc_spectra") or [],
        "empty_experiments": meta.get("empty_experiments") or [],
        "split": meta.get("split"),
        "split_hash": meta.get("split_hash"),
    }
    known = {"inchikey", "source_inchikey", "source_inchi", "source", "assigned", "split", "split_hash", "spectra",
             "formula", "other_spectra", "calc_spectra", "empty_experiments"}
    rest = {k: v for k, v in meta.items() if k not in known}
    if rest:
        record["nmrlens_meta"] = rest
    return record


# ----------------------------------------------------------------------------------------------
# jsonl: text

def _iter_json_lines(lines: Iterable[str], source: str, errors: str, report: ReadReport) -> Iterator[tuple[int, Any]]:
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        report.records += 1
        obj: Any = None
        exc: NmrLensError | None = None
        if len(line) > MAX_LINE_CHARS:
            exc = FileFormatError(f"{source}: line {lineno} is longer than {MAX_LINE_CHARS} characters")
        else:
            try:
                obj = _json.loads(line, parse_constant=_reject_constant)
            except _json.JSONDecodeError as err:
                exc = FileFormatError(f"{source}: line {lineno}: invalid JSON at column {err.colno}: {err.msg}")
            except RecursionError:
                exc = FileFormatError(f"{source}: line {lineno}: JSON nesting is too deep")
            except SpectrumFormatError as err:
                exc = FileFormatError(f"{source}: line {lineno}: {err}")
        if exc is None:
            yield lineno, obj
            continue
        if errors == "strict":
            raise exc
        report.skipped_records += 1
        report.note(str(exc))


def _reject_constant(name: str) -> float:
    raise SpectrumFormatError("number", name, "a finite number (NaN and Infinity are not allowed)")


def _queries_from_lines(
    lines: Iterable[str], source: str, *, errors: str, check_smiles: bool, report: ReadReport
) -> Iterator[Query]:
    for lineno, obj in _iter_json_lines(lines, source, errors, report):
        try:
            q = record_to_query(obj, check_smiles=check_smiles, errors=errors, report=report)
        except NmrLensError as exc:
            if errors == "strict":
                if isinstance(exc, SpectrumFormatError):
                    raise
                raise type(exc)(f"{source}: line {lineno}: {exc}") from None
            report.skipped_records += 1
            report.note(f"line {lineno}: {exc}")
            continue
        report.queries += 1
        yield q


def iter_queries(
    path: PathLike,
    *,
    errors: str = "strict",
    check_smiles: bool = True,
    report: ReadReport | None = None,
) -> Iterator[Query]:
    """Stream the queries of a (gzipped) nmrshiftdb2 JSON-lines file without holding the file.

    Raises:
        DataNotFoundError: when the file does not exist.
        NmrLensError: for a bad record (``errors="strict"``).
    """
    from nmrlens.data._files import open_text_lines

    _check_errors(errors)
    report = report if report is not None else ReadReport()
    with open_text_lines(path) as lines:
        yield from _queries_from_lines(lines, str(path), errors=errors, check_smiles=check_smiles, report=report)
    report.log_summary(str(path))


def detect_variant(text: str) -> str:
    """``"jsonl"`` when the first non-blank character is ``{``, else ``"sd"``."""
    return "jsonl" if text.lstrip()[:1] == "{" else "sd"


def loads(
    text: str,
    variant: str | None = None,
    *,
    errors: str = "strict",
    check_smiles: bool = True,
    report: ReadReport | None = None,
) -> list[Query]:
    """Parse nmrshiftdb2 text (JSON lines or SD, detected when ``variant`` is None) into queries.

    Args:
        errors: ``"strict"`` (default) raises on the first bad record; ``"skip"`` leaves bad
            records/spectra out, counts them in ``report`` and logs a warning.
        check_smiles: (jsonl) validate each SMILES with RDKit.
        report: a :class:`ReadReport` to fill with counts.
    """
    check_text(text, fmt="nmrshiftdb2")
    _check_errors(errors)
    variant = variant or detect_variant(text)
    report = report if report is not None else ReadReport()
    if variant == "jsonl":
        out = list(_queries_from_lines(text.split("\n"), "nmrshiftdb2", errors=errors, check_smiles=check_smiles,
                                       report=report))
    elif variant == "sd":
        out = _sd_loads(text, errors=errors, report=report)
    else:
        raise FileFormatError(f"nmrshiftdb2: variant={variant!r}, expected one of {', '.join(VARIANTS)}")
    report.log_summary("nmrshiftdb2")
    return out


def dumps(queries: Writable, *, variant: str = "jsonl") -> str:
    """Write queries as nmrshiftdb2 JSON lines (one record per line) or as an SD file."""
    qs = as_queries(queries)
    if variant == "jsonl":
        try:
            return "".join(_json.dumps(query_to_record(q), ensure_ascii=False, allow_nan=False) + "\n" for q in qs)
        except (TypeError, ValueError) as exc:
            raise FileFormatError(f"nmrshiftdb2: cannot write the record ({exc}); meta must hold JSON values") from None
    if variant == "sd":
        return "".join(_sd_record(q) for q in qs)
    raise FileFormatError(f"nmrshiftdb2: variant={variant!r}, expected one of {', '.join(VARIANTS)}")


def read(path: PathLike, variant: str | None = None, **options: Any) -> list[Query]:
    """Read a (gzipped) nmrshiftdb2 file; see :func:`loads` for the options."""
    return loads(read_text(path), variant, **options)


def write(obj: Writable, path: PathLike, *, force: bool = False, variant: str | None = None) -> None:
    """Write an nmrshiftdb2 file atomically (``.sd``/``.sdf`` -> SD, else JSON lines; gzip for .gz)."""
    if variant is None:
        name = Path(path).name.lower().removesuffix(".gz")
        variant = "sd" if name.endswith((".sd", ".sdf")) else "jsonl"
    write_text_atomic(path, dumps(obj, variant=variant), force=force)


# ----------------------------------------------------------------------------------------------
# SD variant

def _split_sd(text: str) -> list[str]:
    blocks, current = [], []
    for line in text.splitlines():
        if line.strip() == "$$$$":
            blocks.append("\n".join(current))
            current = []
        else:
            current.append(line)
    if any(line.strip() for line in current):
        blocks.append("\n".join(current))
    return blocks


def _parse_sd_block(block: str, where: str) -> tuple[str, dict[str, str]]:
    lines = block.split("\n")
    end = next((i for i, line in enumerate(lines) if line.strip() == "M  END"), None)
    if end is None:
        raise FileFormatError(f"{where}: no 'M  END' line; expected a V2000 molblock followed by data items")
    molblock = "\n".join(lines[: end + 1]) + "\n"
    fields: dict[str, str] = {}
    name: str | None = None
    values: list[str] = []
    for line in lines[end + 1:]:
        if line.startswith(">"):
            if name is not None:
                fields[name] = "\n".join(values).strip("\n")
            lt = line.find("<")
            gt = line.find(">", lt + 1) if lt >= 0 else -1
            if lt < 0 or gt < 0:
                raise FileFormatError(f"{where}: data header {line[:60]!r} has no <name>")
            name, values = line[lt + 1: gt], []
        elif name is not None:
            if line.strip() == "" and values and values[-1].strip() == "":
                continue
            values.append(line.rstrip("\r"))
    if name is not None:
        fields[name] = "\n".join(values).strip("\n")
    return molblock, fields


def _parse_indexed(value: str | None) -> dict[int, str]:
    """``"0:Chloroform-D1 (CDCl3) 1:Unreported "`` -> ``{0: "Chloroform-D1 (CDCl3)", 1: "Unreported"}``."""
    if not value:
        return {}
    text = " ".join(value.split())
    marks = list(_SD_INDEX_RE.finditer(text))
    out: dict[int, str] = {}
    for i, m in enumerate(marks):
        stop = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        out[int(m.group(1))] = text[m.end(): stop].strip()
    return out


def _parse_sd_entries(value: str, where: str) -> list[tuple[float, float | None, str | None, int | None]]:
    entries = []
    for i, entry in enumerate(value.replace("\n", "").replace("\r", "").split("|")):
        if not entry.strip():
            continue
        parts = entry.split(";")
        if len(parts) < 2 or len(parts) > 3:
            raise SpectrumFormatError(f"{where}[{i}]", entry, "'shift;<intensity><mult>;<atom index>'")
        try:
            shift = float(parts[0])
        except ValueError:
            raise SpectrumFormatError(f"{where}[{i}].shift", parts[0], "a number (ppm)") from None
        if not math.isfinite(shift):
            raise SpectrumFormatError(f"{where}[{i}].shift", parts[0], "a finite number (ppm)")
        m = _LEADING_NUMBER_RE.match(parts[1])
        intensity = float(m.group(1)) if m else None
        mult = (parts[1][m.end():] if m else parts[1]).strip() or None
        if intensity == 0.0:
            intensity = None
        atom = None
        if len(parts) == 3 and parts[2].strip():
            try:
                atom = int(parts[2])
            except ValueError:
                raise SpectrumFormatError(f"{where}[{i}].atom", parts[2], "a whole number >= 0 (0-based atom index)") from None
            if atom < 0:
                raise SpectrumFormatError(f"{where}[{i}].atom", parts[2], "a whole number >= 0 (0-based atom index)")
        entries.append((shift, intensity, mult, atom))
        if len(entries) > 20 * MAX_PEAKS:
            raise SpectrumFormatError(where, "...", f"at most {20 * MAX_PEAKS} entries")
    return entries


def _sd_spectrum(
    key: str, nucleus_text: str, value: str, mol: Any, conditions: dict[str, Any], nh_field: str | None, where: str
) -> tuple[Spectrum1D, dict[str, Any]]:
    try:
        nucleus = normalize_nucleus(nucleus_text)
    except SpectrumFormatError:
        raise SpectrumFormatError(f"{where}.nucleus", nucleus_text, "an isotope label such as '13C' or '1H'") from None
    groups: dict[tuple[float, float | None, str | None], list[int]] = {}
    for shift, intensity, mult, atom in _parse_sd_entries(value, where):
        groups.setdefault((shift, intensity, mult), [])
        if atom is not None:
            groups[(shift, intensity, mult)].append(atom)
    n_atoms = mol.GetNumAtoms()
    items = sorted(groups.items(), key=lambda kv: -kv[0][0])
    nh_values: list[str] | None = None
    if nh_field is not None:
        nh_values = [v.strip() for v in nh_field.replace("\n", "").split("|")][: len(items) + 1]
        if nh_values and nh_values[-1] == "":
            nh_values = nh_values[:-1]
        if len(nh_values) != len(items):
            nh_values = None
    peaks: list[Peak | Multiplet] = []
    extras: list[dict[str, Any]] = []
    for i, ((shift, intensity, raw_mult), src) in enumerate(items):
        pw = f"{where}.peaks[{i}]"
        for a in src:
            if a >= n_atoms:
                raise SpectrumFormatError(f"{pw}.atom", a, f"an atom index below {n_atoms} (0-based, molblock order)")
        extra: dict[str, Any] = {"sd_atoms": list(src)}
        try:
            if nucleus == "1H":
                heavy: set[int] = set()
                h_atoms: set[int] = set()
                for a in src:
                    atom = mol.GetAtomWithIdx(a)
                    if atom.GetAtomicNum() == 1 and atom.GetDegree() == 1:
                        h_atoms.add(a)
                        heavy.add(atom.GetNeighbors()[0].GetIdx())
                    else:
                        heavy.add(a)
                nh = len(h_atoms) if src and len(h_atoms) == len(set(src)) else None
                if nh_values is not None:
                    nh = int(nh_values[i]) if nh_values[i].isascii() and nh_values[i].isdigit() and int(nh_values[i]) >= 1 else None
                mult = normalize_h1_mult(raw_mult)
                if raw_mult is not None and mult != raw_mult:
                    extra["mult"] = raw_mult
                if intensity is not None:
                    extra["intensity"] = intensity
                peaks.append(Multiplet(shift_min=shift, shift_max=shift, mult=mult, nH=nh, atoms=sorted(heavy)))
            else:
                mult, coupling = carbon_mult(raw_mult)
                if raw_mult is not None and mult is None and coupling is None:
                    extra["mult"] = raw_mult
                peaks.append(Peak(shift=shift, mult=mult, intensity=intensity, atoms=sorted(set(src)), coupling=coupling))
        except SpectrumFormatError as exc:
            raise SpectrumFormatError(f"{pw}.{exc.field}", exc.value, exc.allowed) from None
        extras.append(extra)
    try:
        spectrum = Spectrum1D(nucleus=nucleus, peaks=peaks, solvent=conditions.get("solvent"),
                              frequency_MHz=conditions.get("field_MHz"), temperature_K=conditions.get("temperature_K"))
    except SpectrumFormatError as exc:
        raise SpectrumFormatError(f"{where}.{exc.field}", exc.value, exc.allowed) from None
    meta = {"key": key, "assignment_method": conditions.get("assignment_method"), "peaks": extras}
    return spectrum, meta


def _float_or_none(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return _clean_positive(float(text))
    except ValueError:
        return None


def _sd_query(block: str, where: str, errors: str, report: ReadReport) -> Query:
    from rdkit import Chem

    from nmrlens.chem.mol import canonical_smiles, mol_formula, parse_molblock

    molblock, fields = _parse_sd_block(block, where)
    rid = fields.get("nmrshiftdb2 ID", "").strip() or None
    if rid is not None:
        where = f"SD record {rid}"
    try:
        mol = parse_molblock(molblock, remove_hs=False)
    except InvalidMoleculeError as exc:
        raise InvalidMoleculeError(f"{where}: {exc}") from None
    smiles = fields.get("SMILES", "").strip() or canonical_smiles(Chem.RemoveHs(mol))
    formula_text = fields.get("Formula", "").strip()
    if formula_text:
        from nmrlens.chem.formula import normalize_formula

        try:
            formula = normalize_formula(formula_without_charge(formula_text))
        except InvalidMoleculeError as exc:
            raise InvalidMoleculeError(f"{where}: {exc}") from None
    else:
        formula = mol_formula(mol)
    calc = set()
    for name in _SD_CALC_FIELDS:
        calc.update(_parse_indexed(fields.get(name)))
    cond = {attr: _parse_indexed(fields.get(name)) for name, attr in _SD_CONDITIONS.items()}
    consumed = {"nmrshiftdb2 ID", "SMILES", "Formula", *_SD_CONDITIONS}
    spectra: list[Spectrum1D] = []
    spectra_meta: list[dict[str, Any]] = []
    for name, value in fields.items():
        m = _SD_SPECTRUM_RE.match(name)
        if m is None:
            if _SD_NH_RE.match(name):
                consumed.add(name)
            continue
        n = int(m.group(2))
        if n in calc:
            continue
        consumed.add(name)
        conditions = {
            "solvent": _clean_text(cond["solvent"].get(n)),
            "temperature_K": _float_or_none(cond["temperature_K"].get(n)),
            "field_MHz": _float_or_none(cond["field_MHz"].get(n)),
            "assignment_method": _clean_text(cond["assignment_method"].get(n)),
        }
        try:
            spectrum, meta = _sd_spectrum(name, m.group(1), value, mol, conditions, fields.get(f"nmrlens nH {n}"),
                                          f"{where} {name!r}")
        except SpectrumFormatError as exc:
            if errors == "strict":
                raise
            report.skipped_spectra += 1
            report.note(str(exc))
            continue
        spectra.append(spectrum)
        spectra_meta.append(meta)
    meta_q: dict[str, Any] = {"spectra": spectra_meta}
    rest = {k: v for k, v in fields.items() if k not in consumed}
    if rest:
        meta_q["sd_fields"] = rest
    return Query(spectra=spectra, formula=formula, smiles=smiles, id=rid, molblock=molblock, meta=meta_q)


def _sd_loads(text: str, *, errors: str, report: ReadReport) -> list[Query]:
    out = []
    for i, block in enumerate(_split_sd(text)):
        if not block.strip():
            continue
        report.records += 1
        try:
            q = _sd_query(block, f"SD record {i + 1}", errors, report)
        except NmrLensError as exc:
            if errors == "strict":
                raise
            report.skipped_records += 1
            report.note(str(exc))
            continue
        report.queries += 1
        out.append(q)
    if not out and report.skipped_records == 0:
        raise FileFormatError("nmrshiftdb2: the SD text holds no record (expected a molblock ending with 'M  END')")
    return out


def _fmt_number(x: float) -> str:
    return repr(float(x))


def _sd_safe(text: str | None) -> str:
    if text is None:
        return ""
    return " ".join(text.replace("|", "/").replace(";", ",").split())


def _sd_molblock(q: Query, where: str) -> str:
    if q.molblock is not None:
        block = q.molblock.rstrip("\n")
        return block + "\n"
    if q.smiles is None:
        raise FileFormatError(f"nmrshiftdb2: {where} has neither a molblock nor a SMILES; the SD variant needs one")
    from rdkit import Chem
    from rdkit.Chem import rdDepictor

    from nmrlens.chem.mol import parse_smiles

    mol = parse_smiles(q.smiles)
    rdDepictor.Compute2DCoords(mol)
    block = Chem.MolToMolBlock(mol).rstrip("\n")
    return block + "\n"


def _sd_record(q: Query) -> str:
    where = f"query {q.id!r}" if q.id else "query"
    molblock = _sd_molblock(q, where)
    items: list[tuple[str, str]] = []
    if q.id is not None:
        items.append(("nmrshiftdb2 ID", q.id))
    if q.smiles is not None:
        items.append(("SMILES", q.smiles))
    if q.formula is not None:
        items.append(("Formula", q.formula))
    meta = dict(q.meta)
    sd_fields = meta.get("sd_fields") if isinstance(meta.get("sd_fields"), Mapping) else {}
    spectra_meta = _aligned(meta.get("spectra"), len(q.spectra)) or [{}] * len(q.spectra)
    used: set[int] = set()
    for name in sd_fields:
        m = _SD_SPECTRUM_RE.match(str(name))
        if m:
            used.add(int(m.group(2)))
    numbers: list[int] = []
    for sp, sm in zip(q.spectra, spectra_meta):
        m = _SD_SPECTRUM_RE.match(str(sm.get("key") or ""))
        n = int(m.group(2)) if m and int(m.group(2)) not in used and normalize_nucleus(m.group(1)) == sp.nucleus else None
        if n is None:
            n = 0
            while n in used:
                n += 1
        used.add(n)
        numbers.append(n)
    conditions: dict[str, list[str]] = {name: [] for name in _SD_CONDITIONS}
    nh_items: list[tuple[str, str]] = []
    for sp, sm, n in zip(q.spectra, spectra_meta, numbers):
        extras = _aligned(sm.get("peaks"), len(sp.peaks)) or [{}] * len(sp.peaks)
        entries: list[str] = []
        nh_written: list[str] = []
        for p, e in zip(sp.peaks, extras):
            src = e.get("sd_atoms") if isinstance(e.get("sd_atoms"), list) else list(p.atoms)
            raw_mult = e.get("mult") if isinstance(e.get("mult"), str) else None
            if isinstance(p, Multiplet):
                intensity = e.get("intensity") if _is_number(e.get("intensity")) else None
                mult = raw_mult if raw_mult is not None and normalize_h1_mult(raw_mult) == p.mult else p.mult
                nh_written.append(str(p.nH) if p.nH is not None else "")
            else:
                intensity = p.intensity
                mult = (p.mult or p.coupling) if (p.mult is not None or p.coupling is not None) else raw_mult
                if sorted(set(src)) != list(p.atoms):
                    src = list(p.atoms)
            head = f"{_fmt_number(p.shift)};{_fmt_number(intensity or 0.0)}{_sd_safe(mult)};"
            if src:
                entries.extend(f"{head}{a}|" for a in src)
            else:
                entries.append(f"{head}|")
        key = f"Spectrum {sp.nucleus} {n}"
        items.append((key, "".join(entries)))
        if sp.nucleus == "1H" and any(nh_written):
            nh_items.append((f"nmrlens nH {n}", "".join(f"{v}|" for v in nh_written)))
        values = {"Solvent": sp.solvent, "Temperature [K]": sp.temperature_K, "Field Strength [MHz]": sp.frequency_MHz,
                  "Assignment Method": sm.get("assignment_method")}
        for name, value in values.items():
            shown = "Unreported" if value is None else (_fmt_number(value) if isinstance(value, float) else _sd_safe(str(value)))
            conditions[name].append(f"{n}:{shown}")
    for name, parts in conditions.items():
        if parts and (name != "Assignment Method" or any(not p.endswith(":Unreported") for p in parts)):
            items.append((name, " ".join(parts)))
    items.extend(nh_items)
    for name, value in sd_fields.items():
        items.append((str(name), str(value)))
    body = "".join(f"> <{name}>\n{value}\n\n" for name, value in items)
    return f"{molblock}{body}$$$$\n"
