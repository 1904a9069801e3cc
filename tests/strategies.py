"""Hypothesis strategies for nmrlens objects (valid peaks, multiplets, spectra, queries)."""

from __future__ import annotations

from hypothesis import strategies as st

from nmrlens.spectra import Multiplet, Peak, Query, Spectrum1D

MULTS = ["s", "d", "t", "q", "quint", "sext", "sept", "m", "dd", "dt", "td", "ddd", "br s", "app t", "qd", "dq", "tt"]
SOLVENTS = [None, "CDCl3", "DMSO-d6", "CD3OD", "D2O", "C6D6"]
FREQS = [None, 100.0, 101.0, 125.0, 150.9, 400.0, 500.0, 600.0]


def rounded(lo: float, hi: float, places: int) -> st.SearchStrategy[float]:
    """Floats in [lo, hi] rounded to ``places`` decimals."""
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False).map(lambda x: round(x, places))


@st.composite
def c13_peaks(draw: st.DrawFn, places: int = 2, with_atoms: bool = False) -> Peak:
    """A valid 13C peak."""
    return Peak(
        shift=draw(rounded(-10.0, 230.0, places)),
        mult=draw(st.sampled_from([None, "S", "D", "T", "Q"])),
        count=draw(st.sampled_from([None, 2, 3])),
        atoms=tuple(draw(st.lists(st.integers(0, 60), max_size=3, unique=True))) if with_atoms else (),
    )


@st.composite
def multiplets(draw: st.DrawFn, places: int = 2, with_atoms: bool = False) -> Multiplet:
    """A valid 1H multiplet."""
    lo = draw(rounded(-1.0, 14.0, places))
    width = draw(st.sampled_from([0.0, 0.0, 0.05, 0.12, 0.3]))
    hi = round(lo + width, places)
    mult = draw(st.sampled_from([None, *MULTS]))
    n_j = {"d": 1, "t": 1, "q": 1, "dd": 2, "dt": 2, "td": 2, "ddd": 3, "qd": 2, "dq": 2, "tt": 2}.get(mult or "", 0)
    J = tuple(draw(st.lists(rounded(0.5, 18.0, 1), min_size=n_j, max_size=n_j)))
    return Multiplet(
        shift_min=lo, shift_max=hi, mult=mult, J=J, nH=draw(st.sampled_from([None, 1, 2, 3, 6])),
        atoms=tuple(draw(st.lists(st.integers(0, 60), max_size=2, unique=True))) if with_atoms else (),
    )


@st.composite
def spectra(draw: st.DrawFn, nucleus: str | None = None, places: int = 2, with_atoms: bool = False) -> Spectrum1D:
    """A valid 13C or 1H spectrum with 1-12 peaks."""
    nuc = nucleus or draw(st.sampled_from(["13C", "1H"]))
    peak_st = c13_peaks(places, with_atoms) if nuc == "13C" else multiplets(places, with_atoms)
    return Spectrum1D(
        nucleus=nuc, peaks=tuple(draw(st.lists(peak_st, min_size=1, max_size=12))),
        solvent=draw(st.sampled_from(SOLVENTS)), frequency_MHz=draw(st.sampled_from(FREQS)),
    )


@st.composite
def queries(draw: st.DrawFn, places: int = 2) -> Query:
    """A valid query with a 13C and/or a 1H spectrum and an optional formula."""
    nuclei = draw(st.sampled_from([["13C"], ["1H"], ["13C", "1H"]]))
    return Query(
        spectra=tuple(draw(spectra(n, places)) for n in nuclei),
        formula=draw(st.sampled_from([None, "C9H10O2", "C6H6", "C2H6O"])),
    )
