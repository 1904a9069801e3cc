"""The format-neutral spectrum data model shared by every nmrlens module.

Units: chemical shifts in ppm, couplings (J) in Hz, spectrometer frequency in MHz, temperature
in K. Objects are immutable and validated on construction; a violation raises
:class:`~nmrlens.errors.SpectrumFormatError` naming the field, the value and the allowed range.

- :class:`Peak`: one line of a 13C (or 19F, 31P, ...) peak list.
- :class:`Multiplet`: one 1H multiplet (shift range, multiplicity, J list, nH).
- :class:`Spectrum1D`: a 1D peak list of one nucleus, peaks sorted by decreasing shift.
- :class:`CrossPeak` / :class:`Spectrum2D`: a 2D (HSQC, HMBC, ...) peak list.
- :class:`Query`: what a user asks about: several spectra, an optional formula and SMILES.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Mapping, Sequence

from nmrlens.errors import SpectrumFormatError

__all__ = [
    "SHIFT_RANGES",
    "J_RANGE_1H",
    "J_RANGE_HETERO",
    "MAX_PEAKS",
    "MAX_NH",
    "CARBON_MULTS",
    "Peak",
    "Multiplet",
    "Spectrum1D",
    "CrossPeak",
    "Spectrum2D",
    "Query",
    "normalize_nucleus",
    "shift_range",
    "is_valid_multiplicity",
    "multiplicity_components",
]

#: Allowed chemical-shift windows (ppm) per nucleus; other nuclei use ``DEFAULT_SHIFT_RANGE``.
SHIFT_RANGES: dict[str, tuple[float, float]] = {
    "1H": (-3.0, 17.0),
    "13C": (-50.0, 300.0),
    "19F": (-500.0, 500.0),
    "31P": (-500.0, 500.0),
    "15N": (-500.0, 1000.0),
    "11B": (-150.0, 150.0),
    "29Si": (-400.0, 200.0),
}
DEFAULT_SHIFT_RANGE: tuple[float, float] = (-5000.0, 5000.0)
#: 1H-1H couplings (Hz) allowed in a 1H multiplet.
J_RANGE_1H: tuple[float, float] = (0.0, 40.0)
#: Couplings (Hz) allowed on peaks of other nuclei (e.g. 13C-19F, up to ~350 Hz for 1J(C,F)).
J_RANGE_HETERO: tuple[float, float] = (0.0, 1000.0)
#: Input size limits: peaks per spectrum, J values per peak, H per multiplet, spectra per query.
MAX_PEAKS = 2000
MAX_J = 8
MAX_NH = 500
MAX_SPECTRA = 64
MAX_ATOMS_PER_PEAK = 500
#: 13C multiplicity letters: number of attached protons (S=0, D=1, T=2, Q=3), as in DEPT/APT.
CARBON_MULTS: dict[str, int] = {"S": 0, "D": 1, "T": 2, "Q": 3}

_NUCLEUS_RE = re.compile(r"^([0-9]{1,3})([A-Z][a-z]?)$")
# Multiplicity grammar: optional "br " and "app " prefixes, then "s", "m" or 1-5 components of
# d/t/q/quint/sext/sept/m (e.g. "dd", "dt", "td", "ddd", "qd", "dm").
_MULT_COMPONENT = r"(?:quint|sext|sept|d|t|q|m)"
_MULT_RE = re.compile(rf"^(?:br )?(?:app )?(?:s|{_MULT_COMPONENT}{{1,5}})$")
_COMPONENT_RE = re.compile(_MULT_COMPONENT)


def normalize_nucleus(nucleus: str) -> str:
    """Return the canonical spelling of a nucleus (``"13c"`` -> ``"13C"``, ``"H1"`` -> ``"1H"``).

    Raises:
        SpectrumFormatError: when the text is not an isotope label such as 1H, 13C, 19F or 31P.
    """
    if not isinstance(nucleus, str):
        raise SpectrumFormatError("nucleus", nucleus, "an isotope label such as '13C' or '1H'")
    text = nucleus.strip()
    m = re.match(r"^([0-9]{1,3})\s*([A-Za-z]{1,2})$", text) or re.match(
        r"^([A-Za-z]{1,2})\s*-?\s*([0-9]{1,3})$", text
    )
    if m is None:
        raise SpectrumFormatError("nucleus", nucleus, "an isotope label such as '13C' or '1H'")
    a, b = m.groups()
    mass, sym = (a, b) if a.isdigit() else (b, a)
    canon = f"{int(mass)}{sym[0].upper()}{sym[1:].lower()}"
    if not _NUCLEUS_RE.match(canon):
        raise SpectrumFormatError("nucleus", nucleus, "an isotope label such as '13C' or '1H'")
    return canon


def shift_range(nucleus: str) -> tuple[float, float]:
    """Return the allowed shift window (ppm) of a canonical nucleus label."""
    return SHIFT_RANGES.get(nucleus, DEFAULT_SHIFT_RANGE)


def is_valid_multiplicity(mult: str) -> bool:
    """True when ``mult`` is a canonical multiplicity label (e.g. ``"s"``, ``"dd"``, ``"br s"``)."""
    return isinstance(mult, str) and bool(_MULT_RE.match(mult))


def multiplicity_components(mult: str) -> tuple[str, ...]:
    """Split a canonical multiplicity into its splitting components (``"br dt"`` -> ``("d", "t")``).

    ``"s"`` gives ``("s",)`` and ``"m"`` gives ``("m",)``; prefixes (br, app) are dropped.
    """
    core = mult.replace("br ", "").replace("app ", "")
    if core == "s":
        return ("s",)
    return tuple(_COMPONENT_RE.findall(core))


def _check_number(fieldname: str, value: Any, lo: float, hi: float, unit: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SpectrumFormatError(fieldname, value, f"a number in {lo:g}..{hi:g} {unit}".rstrip())
    v = float(value)
    if not math.isfinite(v) or v < lo or v > hi:
        raise SpectrumFormatError(fieldname, value, f"a number in {lo:g}..{hi:g} {unit}".rstrip())
    return v


def _check_optional_number(fieldname: str, value: Any, lo: float, hi: float, unit: str) -> float | None:
    return None if value is None else _check_number(fieldname, value, lo, hi, unit)


def _check_count(fieldname: str, value: Any, hi: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (
        isinstance(value, float) and (not math.isfinite(value) or not value.is_integer())
    ):
        raise SpectrumFormatError(fieldname, value, f"a whole number in 1..{hi}")
    v = int(value)
    if v < 1 or v > hi:
        raise SpectrumFormatError(fieldname, value, f"a whole number in 1..{hi}")
    return v


def _check_atoms(fieldname: str, value: Any) -> tuple[int, ...]:
    if value is None:
        return ()
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise SpectrumFormatError(fieldname, value, "a list of atom indices (whole numbers >= 0)")
    out = []
    for a in value:
        if isinstance(a, bool) or not isinstance(a, int) or a < 0 or a > 100_000:
            raise SpectrumFormatError(fieldname, value, "a list of atom indices (whole numbers >= 0)")
        out.append(int(a))
        if len(out) > MAX_ATOMS_PER_PEAK:
            raise SpectrumFormatError(fieldname, "...", f"at most {MAX_ATOMS_PER_PEAK} atom indices")
    return tuple(out)


def _check_j(fieldname: str, value: Any, j_range: tuple[float, float]) -> tuple[float, ...]:
    if value is None:
        return ()
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise SpectrumFormatError(fieldname, value, f"a list of couplings in {j_range[0]:g}..{j_range[1]:g} Hz")
    out = []
    for i, j in enumerate(value):
        out.append(_check_number(f"{fieldname}[{i}]", j, j_range[0], j_range[1], "Hz"))
        if len(out) > MAX_J:
            raise SpectrumFormatError(fieldname, "...", f"at most {MAX_J} coupling constants")
    return tuple(out)


def _check_text(fieldname: str, value: Any, max_len: int = 200) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > max_len:
        raise SpectrumFormatError(fieldname, value, f"a text of at most {max_len} characters")
    return value


@dataclass(frozen=True, slots=True)
class Peak:
    """One line of a 13C (or other non-1H) peak list.

    Attributes:
        shift: chemical shift in ppm.
        mult: number of attached H as S/D/T/Q (0/1/2/3), e.g. from DEPT, or None.
        intensity: relative intensity (arbitrary units), or None.
        atoms: indices of the observed atoms in the query's molecule (0-based), may be empty.
        count: number of equivalent nuclei under the peak (``128.6 (2C)`` -> 2), or None.
        coupling: splitting by a heteronucleus (e.g. ``"d"`` for a 13C-19F doublet), or None.
        J: coupling constants of that splitting, in Hz.
    """

    shift: float
    mult: str | None = None
    intensity: float | None = None
    atoms: tuple[int, ...] = ()
    count: int | None = None
    coupling: str | None = None
    J: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        s = object.__setattr__
        s(self, "shift", _check_number("shift", self.shift, *DEFAULT_SHIFT_RANGE, "ppm"))
        if self.mult is not None and self.mult not in CARBON_MULTS:
            raise SpectrumFormatError("mult", self.mult, "one of S, D, T, Q (number of attached H) or null")
        s(self, "intensity", _check_optional_number("intensity", self.intensity, -1e12, 1e12, ""))
        s(self, "atoms", _check_atoms("atoms", self.atoms))
        s(self, "count", _check_count("count", self.count, MAX_NH))
        if self.coupling is not None and not is_valid_multiplicity(self.coupling):
            raise SpectrumFormatError("coupling", self.coupling, "a multiplicity such as 'd', 'q', 'dd' or null")
        s(self, "J", _check_j("J", self.J, J_RANGE_HETERO))

    def with_(self, **changes: Any) -> "Peak":
        """Return a copy with some fields changed (validated again)."""
        return replace(self, **changes)


@dataclass(frozen=True, slots=True)
class Multiplet:
    """One 1H multiplet.

    Attributes:
        shift_min, shift_max: the shift range in ppm (a singlet or a reported centre has min == max).
        mult: canonical multiplicity label (``s``, ``d``, ``t``, ``q``, ``quint``, ``sext``, ``sept``,
            ``m``, combinations such as ``dd``/``dt``/``td``/``ddd``, optional ``br``/``app``
            prefixes), or None when not reported.
        J: 1H-1H coupling constants in Hz (0..40), largest first as usually reported or as given.
        nH: number of protons under the multiplet (integration), or None when unknown.
        atoms: indices of the heavy atoms that carry these protons, may be empty.
        label: the author's label (e.g. ``"H-3"``), or None.
    """

    shift_min: float
    shift_max: float
    mult: str | None = None
    J: tuple[float, ...] = ()
    nH: int | None = None
    atoms: tuple[int, ...] = ()
    label: str | None = None

    def __post_init__(self) -> None:
        s = object.__setattr__
        lo, hi = SHIFT_RANGES["1H"]
        s(self, "shift_min", _check_number("shift_min", self.shift_min, lo, hi, "ppm"))
        s(self, "shift_max", _check_number("shift_max", self.shift_max, lo, hi, "ppm"))
        if self.shift_min > self.shift_max:
            raise SpectrumFormatError(
                "shift_min", self.shift_min, f"a value <= shift_max ({self.shift_max:g} ppm)"
            )
        if self.mult is not None and not is_valid_multiplicity(self.mult):
            raise SpectrumFormatError(
                "mult", self.mult, "a multiplicity such as s, d, t, q, quint, sext, sept, m, dd, dt, br s"
            )
        s(self, "J", _check_j("J", self.J, J_RANGE_1H))
        s(self, "nH", _check_count("nH", self.nH, MAX_NH))
        s(self, "atoms", _check_atoms("atoms", self.atoms))
        s(self, "label", _check_text("label", self.label, 100))

    @property
    def shift(self) -> float:
        """Centre of the multiplet in ppm."""
        return 0.5 * (self.shift_min + self.shift_max)

    def with_(self, **changes: Any) -> "Multiplet":
        """Return a copy with some fields changed (validated again)."""
        return replace(self, **changes)


PeakLike = Peak | Multiplet


def _sort_key(p: PeakLike) -> float:
    return -(p.shift_max if isinstance(p, Multiplet) else p.shift)


@dataclass(frozen=True, slots=True)
class Spectrum1D:
    """A 1D peak list of one nucleus.

    Attributes:
        nucleus: canonical isotope label (``"13C"``, ``"1H"``, ``"19F"``, ...).
        peaks: :class:`Multiplet` objects for 1H, :class:`Peak` objects otherwise, sorted by
            decreasing shift (the literature order) on construction.
        solvent: solvent as reported (e.g. ``"CDCl3"``), or None.
        frequency_MHz: spectrometer frequency in MHz as reported, or None.
        temperature_K: temperature in K, or None.
    """

    nucleus: str
    peaks: tuple[PeakLike, ...] = ()
    solvent: str | None = None
    frequency_MHz: float | None = None
    temperature_K: float | None = None

    def __post_init__(self) -> None:
        s = object.__setattr__
        nuc = normalize_nucleus(self.nucleus)
        s(self, "nucleus", nuc)
        if isinstance(self.peaks, (str, bytes)) or not isinstance(self.peaks, Iterable):
            raise SpectrumFormatError("peaks", self.peaks, "a list of peaks")
        peaks = tuple(self.peaks)
        if len(peaks) > MAX_PEAKS:
            raise SpectrumFormatError("peaks", f"{len(peaks)} peaks", f"at most {MAX_PEAKS} peaks")
        want = Multiplet if nuc == "1H" else Peak
        lo, hi = shift_range(nuc)
        for i, p in enumerate(peaks):
            if not isinstance(p, want):
                raise SpectrumFormatError(
                    f"peaks[{i}]", type(p).__name__, f"a {want.__name__} for a {nuc} spectrum"
                )
            if isinstance(p, Peak) and not lo <= p.shift <= hi:
                raise SpectrumFormatError(f"peaks[{i}].shift", p.shift, f"a number in {lo:g}..{hi:g} ppm")
        s(self, "peaks", tuple(sorted(peaks, key=_sort_key)))
        s(self, "solvent", _check_text("solvent", self.solvent))
        s(self, "frequency_MHz", _check_optional_number("frequency_MHz", self.frequency_MHz, 1e-3, 5000.0, "MHz"))
        s(self, "temperature_K", _check_optional_number("temperature_K", self.temperature_K, 1e-3, 2000.0, "K"))

    @property
    def shifts(self) -> list[float]:
        """Peak shifts (multiplet centres for 1H) in ppm, in decreasing order."""
        return [p.shift for p in self.peaks]

    def __len__(self) -> int:
        return len(self.peaks)

    def with_(self, **changes: Any) -> "Spectrum1D":
        """Return a copy with some fields changed (validated again)."""
        return replace(self, **changes)


@dataclass(frozen=True, slots=True)
class CrossPeak:
    """One 2D cross peak.

    Attributes:
        f2: shift on the direct (horizontal, usually 1H) axis, ppm.
        f1: shift on the indirect (vertical, usually 13C) axis, ppm.
        intensity: relative intensity (sign kept, e.g. edited HSQC), or None.
        atoms_f2, atoms_f1: atom indices (for 1H: the heavy atom carrying the H), may be empty.
    """

    f2: float
    f1: float
    intensity: float | None = None
    atoms_f2: tuple[int, ...] = ()
    atoms_f1: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        s = object.__setattr__
        s(self, "f2", _check_number("f2", self.f2, *DEFAULT_SHIFT_RANGE, "ppm"))
        s(self, "f1", _check_number("f1", self.f1, *DEFAULT_SHIFT_RANGE, "ppm"))
        s(self, "intensity", _check_optional_number("intensity", self.intensity, -1e12, 1e12, ""))
        s(self, "atoms_f2", _check_atoms("atoms_f2", self.atoms_f2))
        s(self, "atoms_f1", _check_atoms("atoms_f1", self.atoms_f1))


EXPERIMENTS_2D = ("HSQC", "HMBC", "HMQC", "COSY", "TOCSY", "NOESY", "ROESY", "HSQC-EDITED", "H2BC")


@dataclass(frozen=True, slots=True)
class Spectrum2D:
    """A 2D peak list (HSQC, HMBC, ...).

    Attributes:
        experiment: one of :data:`EXPERIMENTS_2D`.
        nuclei: ``(f2, f1)`` nuclei, e.g. ``("1H", "13C")``.
        peaks: the cross peaks, sorted by decreasing f2 then decreasing f1.
        solvent, frequency_MHz: as for :class:`Spectrum1D`.
    """

    experiment: str
    nuclei: tuple[str, str] = ("1H", "13C")
    peaks: tuple[CrossPeak, ...] = ()
    solvent: str | None = None
    frequency_MHz: float | None = None

    def __post_init__(self) -> None:
        s = object.__setattr__
        exp = self.experiment.upper() if isinstance(self.experiment, str) else self.experiment
        if exp not in EXPERIMENTS_2D:
            raise SpectrumFormatError("experiment", self.experiment, "one of " + ", ".join(EXPERIMENTS_2D))
        s(self, "experiment", exp)
        if isinstance(self.nuclei, str) or not isinstance(self.nuclei, Sequence) or len(self.nuclei) != 2:
            raise SpectrumFormatError("nuclei", self.nuclei, "two nuclei [f2, f1], e.g. ['1H', '13C']")
        nuclei = (normalize_nucleus(self.nuclei[0]), normalize_nucleus(self.nuclei[1]))
        s(self, "nuclei", nuclei)
        if isinstance(self.peaks, (str, bytes)) or not isinstance(self.peaks, Iterable):
            raise SpectrumFormatError("peaks", self.peaks, "a list of cross peaks")
        peaks = tuple(self.peaks)
        if len(peaks) > MAX_PEAKS:
            raise SpectrumFormatError("peaks", f"{len(peaks)} peaks", f"at most {MAX_PEAKS} peaks")
        r2, r1 = shift_range(nuclei[0]), shift_range(nuclei[1])
        for i, p in enumerate(peaks):
            if not isinstance(p, CrossPeak):
                raise SpectrumFormatError(f"peaks[{i}]", type(p).__name__, "a CrossPeak")
            if not r2[0] <= p.f2 <= r2[1]:
                raise SpectrumFormatError(f"peaks[{i}].f2", p.f2, f"a number in {r2[0]:g}..{r2[1]:g} ppm")
            if not r1[0] <= p.f1 <= r1[1]:
                raise SpectrumFormatError(f"peaks[{i}].f1", p.f1, f"a number in {r1[0]:g}..{r1[1]:g} ppm")
        s(self, "peaks", tuple(sorted(peaks, key=lambda p: (-p.f2, -p.f1))))
        s(self, "solvent", _check_text("solvent", self.solvent))
        s(self, "frequency_MHz", _check_optional_number("frequency_MHz", self.frequency_MHz, 1e-3, 5000.0, "MHz"))


@dataclass(frozen=True, slots=True)
class Query:
    """What a user asks about: spectra of one compound, an optional formula and SMILES.

    Attributes:
        spectra: 1D spectra (any nuclei; several of one nucleus allowed).
        formula: molecular formula (Hill or any order, e.g. ``"C9H10O2"``), or None.
        smiles: the structure when known (for assignment, evaluation or conversion), or None.
        id: an identifier (file title, database id), or None.
        molblock: a V2000 molblock whose atom order the peaks' ``atoms`` refer to, or None.
        spectra2d: 2D peak lists.
        meta: free-form extra information (kept by formats that can hold it).
    """

    spectra: tuple[Spectrum1D, ...] = ()
    formula: str | None = None
    smiles: str | None = None
    id: str | None = None
    molblock: str | None = None
    spectra2d: tuple[Spectrum2D, ...] = ()
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        s = object.__setattr__
        for name, kind, limit in (("spectra", Spectrum1D, MAX_SPECTRA), ("spectra2d", Spectrum2D, MAX_SPECTRA)):
            value = getattr(self, name)
            if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
                raise SpectrumFormatError(name, value, f"a list of {kind.__name__}")
            items = tuple(value)
            if len(items) > limit:
                raise SpectrumFormatError(name, f"{len(items)} spectra", f"at most {limit} spectra")
            for i, sp in enumerate(items):
                if not isinstance(sp, kind):
                    raise SpectrumFormatError(f"{name}[{i}]", type(sp).__name__, f"a {kind.__name__}")
            s(self, name, items)
        if self.formula is not None:
            from nmrlens.chem.formula import normalize_formula

            s(self, "formula", normalize_formula(self.formula))
        s(self, "smiles", _check_text("smiles", self.smiles, 5000))
        s(self, "id", _check_text("id", self.id, 500))
        s(self, "molblock", _check_text("molblock", self.molblock, 1_000_000))
        if not isinstance(self.meta, Mapping):
            raise SpectrumFormatError("meta", self.meta, "a mapping of names to values")

    def spectrum(self, nucleus: str) -> Spectrum1D | None:
        """Return the first spectrum of ``nucleus`` (e.g. ``"13C"``), or None."""
        nuc = normalize_nucleus(nucleus)
        return next((sp for sp in self.spectra if sp.nucleus == nuc), None)

    @property
    def nuclei(self) -> list[str]:
        """Nuclei of the 1D spectra, in order, without repeats."""
        return list(dict.fromkeys(sp.nucleus for sp in self.spectra))

    def with_(self, **changes: Any) -> "Query":
        """Return a copy with some fields changed (validated again)."""
        return replace(self, **changes)
