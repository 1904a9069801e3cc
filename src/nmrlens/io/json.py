"""The nmrlens JSON format (a public contract: other tools feed it).

A spectrum::

    {"nucleus": "13C", "solvent": null, "frequency_MHz": null, "peaks": [{"shift": 128.4}, ...]}
    {"nucleus": "1H", "peaks": [{"shift_min": 7.20, "shift_max": 7.31, "mult": "m", "J": [], "nH": 5}]}

13C (and other non-1H) peak keys: ``shift`` (ppm, required), ``mult`` (S/D/T/Q), ``intensity``,
``atoms``, ``count`` (equivalent nuclei), ``coupling`` and ``J`` (heteronuclear splitting, Hz).
1H multiplet keys: ``shift_min``, ``shift_max`` (ppm; or a single ``shift``), ``mult``, ``J`` (Hz),
``nH``, ``atoms``, ``label``. A 2D spectrum: ``{"experiment": "HSQC", "nuclei": ["1H", "13C"],
"peaks": [{"f2": 7.26, "f1": 128.4}]}``. A query::

    {"formula": "C9H10O2", "smiles": null, "spectra": [<spectrum>, ...], "spectra2d": [...]}

A file holds one spectrum, one query, or a list of queries. Unknown keys are errors.
"""

from __future__ import annotations

import json as _json
from typing import Any, Mapping

from nmrlens.errors import FileFormatError, SpectrumFormatError, short_repr
from nmrlens.io._base import PathLike, Writable, as_queries, check_text, read_text, write_text_atomic
from nmrlens.spectra.model import CrossPeak, Multiplet, Peak, Query, Spectrum1D, Spectrum2D, normalize_nucleus

__all__ = [
    "loads",
    "dumps",
    "read",
    "write",
    "spectrum_to_dict",
    "spectrum_from_dict",
    "spectrum2d_to_dict",
    "spectrum2d_from_dict",
    "query_to_dict",
    "query_from_dict",
    "load_obj",
]

_PEAK_KEYS = {"shift", "mult", "intensity", "atoms", "count", "coupling", "J"}
_MULTIPLET_KEYS = {"shift_min", "shift_max", "shift", "mult", "J", "nH", "atoms", "label"}
_SPECTRUM_KEYS = {"nucleus", "solvent", "frequency_MHz", "temperature_K", "peaks"}
_SPECTRUM2D_KEYS = {"experiment", "nuclei", "solvent", "frequency_MHz", "peaks"}
_CROSS_KEYS = {"f2", "f1", "intensity", "atoms_f2", "atoms_f1"}
_QUERY_KEYS = {"formula", "smiles", "spectra", "spectra2d", "id", "molblock", "meta"}


def _require_mapping(obj: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(obj, Mapping):
        raise SpectrumFormatError(where, obj, "a JSON object")
    return obj


def _check_keys(obj: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(str(k) for k in obj if k not in allowed)
    if unknown:
        raise SpectrumFormatError(f"{where}.{unknown[0]}", short_repr(unknown[0]), "one of the keys " + ", ".join(sorted(allowed)))


def _prefixed(exc: SpectrumFormatError, where: str) -> SpectrumFormatError:
    return SpectrumFormatError(f"{where}.{exc.field}", exc.value, exc.allowed)


def _peak_from_dict(d: Any, nucleus: str, where: str) -> Peak | Multiplet:
    d = _require_mapping(d, where)
    try:
        if nucleus == "1H":
            _check_keys(d, _MULTIPLET_KEYS, where)
            if "shift" in d and ("shift_min" in d or "shift_max" in d):
                raise SpectrumFormatError(f"{where}.shift", d["shift"], "either shift or shift_min/shift_max, not both")
            if "shift" in d:
                lo = hi = d["shift"]
            else:
                if "shift_min" not in d and "shift_max" not in d:
                    raise SpectrumFormatError(f"{where}.shift_min", None, "a shift range (shift_min, shift_max) or a shift")
                lo = d.get("shift_min", d.get("shift_max"))
                hi = d.get("shift_max", d.get("shift_min"))
            return Multiplet(
                shift_min=lo, shift_max=hi, mult=d.get("mult"), J=d.get("J") or (), nH=d.get("nH"),
                atoms=d.get("atoms") or (), label=d.get("label"),
            )
        _check_keys(d, _PEAK_KEYS, where)
        if "shift" not in d:
            raise SpectrumFormatError(f"{where}.shift", None, "a shift in ppm")
        return Peak(
            shift=d["shift"], mult=d.get("mult"), intensity=d.get("intensity"), atoms=d.get("atoms") or (),
            count=d.get("count"), coupling=d.get("coupling"), J=d.get("J") or (),
        )
    except SpectrumFormatError as exc:
        if exc.field.startswith(where):
            raise
        raise _prefixed(exc, where) from None


def spectrum_from_dict(d: Any, where: str = "spectrum") -> Spectrum1D:
    """Build a :class:`Spectrum1D` from its JSON object (see the module docstring)."""
    d = _require_mapping(d, where)
    _check_keys(d, _SPECTRUM_KEYS, where)
    if "nucleus" not in d:
        raise SpectrumFormatError(f"{where}.nucleus", None, "an isotope label such as '13C' or '1H'")
    try:
        nucleus = normalize_nucleus(d["nucleus"])
    except SpectrumFormatError as exc:
        raise _prefixed(exc, where) from None
    raw = d.get("peaks", [])
    if not isinstance(raw, list):
        raise SpectrumFormatError(f"{where}.peaks", raw, "a list of peaks")
    peaks = [_peak_from_dict(p, nucleus, f"{where}.peaks[{i}]") for i, p in enumerate(raw)]
    try:
        return Spectrum1D(
            nucleus=nucleus, peaks=peaks, solvent=d.get("solvent"), frequency_MHz=d.get("frequency_MHz"),
            temperature_K=d.get("temperature_K"),
        )
    except SpectrumFormatError as exc:
        raise _prefixed(exc, where) from None


def spectrum2d_from_dict(d: Any, where: str = "spectrum2d") -> Spectrum2D:
    """Build a :class:`Spectrum2D` from its JSON object."""
    d = _require_mapping(d, where)
    _check_keys(d, _SPECTRUM2D_KEYS, where)
    raw = d.get("peaks", [])
    if not isinstance(raw, list):
        raise SpectrumFormatError(f"{where}.peaks", raw, "a list of cross peaks")
    peaks = []
    for i, p in enumerate(raw):
        pw = f"{where}.peaks[{i}]"
        p = _require_mapping(p, pw)
        _check_keys(p, _CROSS_KEYS, pw)
        if "f2" not in p or "f1" not in p:
            raise SpectrumFormatError(pw, short_repr(dict(p)), "an object with f2 and f1 shifts in ppm")
        try:
            peaks.append(CrossPeak(f2=p["f2"], f1=p["f1"], intensity=p.get("intensity"),
                                   atoms_f2=p.get("atoms_f2") or (), atoms_f1=p.get("atoms_f1") or ()))
        except SpectrumFormatError as exc:
            raise _prefixed(exc, pw) from None
    try:
        return Spectrum2D(experiment=d.get("experiment"), nuclei=tuple(d.get("nuclei", ("1H", "13C"))),
                          peaks=peaks, solvent=d.get("solvent"), frequency_MHz=d.get("frequency_MHz"))
    except SpectrumFormatError as exc:
        raise _prefixed(exc, where) from None
    except TypeError:
        raise SpectrumFormatError(f"{where}.nuclei", d.get("nuclei"), "two nuclei [f2, f1]") from None


def query_from_dict(d: Any, where: str = "query") -> Query:
    """Build a :class:`Query` from its JSON object."""
    d = _require_mapping(d, where)
    _check_keys(d, _QUERY_KEYS, where)
    spectra = d.get("spectra", [])
    spectra2d = d.get("spectra2d", [])
    for name, value in (("spectra", spectra), ("spectra2d", spectra2d)):
        if not isinstance(value, list):
            raise SpectrumFormatError(f"{where}.{name}", value, "a list of spectra")
    meta = d.get("meta") or {}
    if not isinstance(meta, Mapping):
        raise SpectrumFormatError(f"{where}.meta", meta, "a JSON object")
    try:
        return Query(
            spectra=[spectrum_from_dict(s, f"{where}.spectra[{i}]") for i, s in enumerate(spectra)],
            spectra2d=[spectrum2d_from_dict(s, f"{where}.spectra2d[{i}]") for i, s in enumerate(spectra2d)],
            formula=d.get("formula"), smiles=d.get("smiles"), id=None if d.get("id") is None else str(d["id"]),
            molblock=d.get("molblock"), meta=dict(meta),
        )
    except SpectrumFormatError as exc:
        if exc.field.startswith(where):
            raise
        raise _prefixed(exc, where) from None



def _peak_to_dict(p: Peak | Multiplet) -> dict[str, Any]:
    if isinstance(p, Multiplet):
        out: dict[str, Any] = {"shift_min": p.shift_min, "shift_max": p.shift_max, "mult": p.mult,
                               "J": list(p.J), "nH": p.nH}
        if p.atoms:
            out["atoms"] = list(p.atoms)
        if p.label is not None:
            out["label"] = p.label
        return out
    out = {"shift": p.shift}
    for key in ("mult", "intensity", "count", "coupling"):
        value = getattr(p, key)
        if value is not None:
            out[key] = value
    if p.atoms:
        out["atoms"] = list(p.atoms)
    if p.J:
        out["J"] = list(p.J)
    return out


def spectrum_to_dict(sp: Spectrum1D) -> dict[str, Any]:
    """JSON object of a :class:`Spectrum1D` (the inverse of :func:`spectrum_from_dict`)."""
    out: dict[str, Any] = {"nucleus": sp.nucleus, "solvent": sp.solvent, "frequency_MHz": sp.frequency_MHz}
    if sp.temperature_K is not None:
        out["temperature_K"] = sp.temperature_K
    out["peaks"] = [_peak_to_dict(p) for p in sp.peaks]
    return out


def spectrum2d_to_dict(sp: Spectrum2D) -> dict[str, Any]:
    """JSON object of a :class:`Spectrum2D`."""
    peaks = []
    for p in sp.peaks:
        d: dict[str, Any] = {"f2": p.f2, "f1": p.f1}
        if p.intensity is not None:
            d["intensity"] = p.intensity
        if p.atoms_f2:
            d["atoms_f2"] = list(p.atoms_f2)
        if p.atoms_f1:
            d["atoms_f1"] = list(p.atoms_f1)
        peaks.append(d)
    return {"experiment": sp.experiment, "nuclei": list(sp.nuclei), "solvent": sp.solvent,
            "frequency_MHz": sp.frequency_MHz, "peaks": peaks}


def query_to_dict(q: Query) -> dict[str, Any]:
    """JSON object of a :class:`Query` (the inverse of :func:`query_from_dict`)."""
    out: dict[str, Any] = {"formula": q.formula, "smiles": q.smiles}
    if q.id is not None:
        out["id"] = q.id
    out["spectra"] = [spectrum_to_dict(s) for s in q.spectra]
    if q.spectra2d:
        out["spectra2d"] = [spectrum2d_to_dict(s) for s in q.spectra2d]
    if q.molblock is not None:
        out["molblock"] = q.molblock
    if q.meta:
        out["meta"] = dict(q.meta)
    return out


def load_obj(obj: Any) -> list[Query]:
    """Interpret a decoded JSON value: a spectrum, a 2D spectrum, a query, or a list of queries/spectra."""
    if isinstance(obj, list):
        if not obj:
            raise FileFormatError("json: the list is empty; expected spectra or queries")
        return [q for i, item in enumerate(obj) for q in _load_one(item, f"[{i}]")]
    return _load_one(obj, "")


def _load_one(obj: Any, where: str) -> list[Query]:
    if not isinstance(obj, Mapping):
        where = where or "top level"
        raise FileFormatError(f"json: {where} is {type(obj).__name__}; expected an object with 'nucleus' or 'spectra'")
    if "nucleus" in obj:
        return [Query(spectra=(spectrum_from_dict(obj, where or "spectrum"),))]
    if "experiment" in obj:
        return [Query(spectra2d=(spectrum2d_from_dict(obj, where or "spectrum2d"),))]
    if "spectra" in obj or "spectra2d" in obj or "formula" in obj or "smiles" in obj:
        return [query_from_dict(obj, where or "query")]
    where = where or "top level"
    raise FileFormatError(
        f"json: {where} has keys {sorted(map(str, obj))[:8]}; expected a spectrum ('nucleus', 'peaks') "
        "or a query ('formula', 'smiles', 'spectra')"
    )


def loads(text: str) -> list[Query]:
    """Parse nmrlens JSON text (a spectrum, a query or a list) into queries."""
    check_text(text, fmt="json")
    try:
        obj = _json.loads(text, parse_constant=_reject_constant)
    except _json.JSONDecodeError as exc:
        raise FileFormatError(f"json: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise FileFormatError("json: nesting is too deep") from None
    return load_obj(obj)


def _reject_constant(name: str) -> float:
    raise SpectrumFormatError("number", name, "a finite number (NaN and Infinity are not allowed)")


def dumps(queries: Writable, *, indent: int | None = 2) -> str:
    """Write queries as nmrlens JSON: a bare spectrum when that is all there is, else query objects."""
    qs = as_queries(queries)
    if len(qs) == 1:
        q = qs[0]
        if len(q.spectra) == 1 and not q.spectra2d and q.formula is None and q.smiles is None and q.id is None \
                and q.molblock is None and not q.meta:
            obj: Any = spectrum_to_dict(q.spectra[0])
        elif len(q.spectra2d) == 1 and not q.spectra and q.formula is None and q.smiles is None and q.id is None \
                and q.molblock is None and not q.meta:
            obj = spectrum2d_to_dict(q.spectra2d[0])
        else:
            obj = query_to_dict(q)
    else:
        obj = [query_to_dict(q) for q in qs]
    try:
        return _json.dumps(obj, indent=indent, ensure_ascii=False, allow_nan=False) + "\n"
    except (TypeError, ValueError) as exc:
        raise FileFormatError(f"json: cannot write the query ({exc}); meta must hold JSON values") from None


def read(path: PathLike) -> list[Query]:
    """Read a nmrlens JSON file."""
    return loads(read_text(path))


def write(obj: Writable, path: PathLike, *, force: bool = False) -> None:
    """Write a nmrlens JSON file atomically (refuses to overwrite unless ``force``)."""
    write_text_atomic(path, dumps(obj), force=force)
