"""The spectrum data model: validation ranges, sorting, errors that name the field."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nmrlens.errors import NmrLensError, SpectrumFormatError
from nmrlens.spectra import (
    CrossPeak,
    Multiplet,
    Peak,
    Query,
    Spectrum1D,
    Spectrum2D,
    is_valid_multiplicity,
    multiplicity_components,
    normalize_nucleus,
)


def test_peaks_sorted_by_decreasing_shift() -> None:
    sp = Spectrum1D("13C", [Peak(21.0), Peak(170.9), Peak(128.3)])
    assert sp.shifts == [170.9, 128.3, 21.0]
    h = Spectrum1D("1H", [Multiplet(2.1, 2.1), Multiplet(7.28, 7.36), Multiplet(5.11, 5.11)])
    assert h.shifts == pytest.approx([7.32, 5.11, 2.1])


@pytest.mark.parametrize(
    ("make", "field", "allowed"),
    [
        (lambda: Spectrum1D("13C", [Peak(300.5)]), "peaks[0].shift", "-50..300 ppm"),
        (lambda: Spectrum1D("13C", [Peak(-50.1)]), "peaks[0].shift", "-50..300 ppm"),
        (lambda: Multiplet(17.2, 17.2), "shift_min", "-3..17 ppm"),
        (lambda: Multiplet(-3.5, 1.0), "shift_min", "-3..17 ppm"),
        (lambda: Multiplet(7.4, 7.2), "shift_min", "<= shift_max"),
        (lambda: Multiplet(7.2, 7.2, J=(41.0,)), "J[0]", "0..40 Hz"),
        (lambda: Multiplet(7.2, 7.2, J=(-1.0,)), "J[0]", "0..40 Hz"),
        (lambda: Multiplet(7.2, 7.2, nH=0), "nH", "1.."),
        (lambda: Multiplet(7.2, 7.2, nH=1.5), "nH", "whole number"),
        (lambda: Multiplet(7.2, 7.2, mult="xyz"), "mult", "multiplicity"),
        (lambda: Peak(128.0, mult="X"), "mult", "S, D, T, Q"),
        (lambda: Peak(float("nan")), "shift", "a number"),
        (lambda: Peak("128"), "shift", "a number"),  # type: ignore[arg-type]
        (lambda: Spectrum1D("13C", [Multiplet(7.0, 7.0)]), "peaks[0]", "Peak"),
        (lambda: Spectrum1D("1H", [Peak(7.0)]), "peaks[0]", "Multiplet"),
        (lambda: Spectrum1D("C13x", []), "nucleus", "isotope label"),
        (lambda: Spectrum1D("13C", [], frequency_MHz=-5), "frequency_MHz", "MHz"),
        (lambda: Spectrum2D("XYZ"), "experiment", "HSQC"),
        (lambda: Spectrum2D("HSQC", peaks=[CrossPeak(7.0, 400.0)]), "peaks[0].f1", "-50..300"),
    ],
)
def test_violations_name_field_and_range(make, field: str, allowed: str) -> None:
    with pytest.raises(SpectrumFormatError) as info:
        make()
    assert info.value.field == field
    assert allowed in str(info.value)
    assert isinstance(info.value, NmrLensError)


def test_boundaries_are_inclusive() -> None:
    Spectrum1D("13C", [Peak(-50.0), Peak(300.0)])
    Multiplet(-3.0, 17.0, J=(0.0, 40.0), nH=1)


def test_other_nuclei_use_peaks_and_their_own_range() -> None:
    sp = Spectrum1D("19F", [Peak(-63.1)])
    assert sp.nucleus == "19F"
    with pytest.raises(SpectrumFormatError):
        Spectrum1D("19F", [Peak(900.0)])


@pytest.mark.parametrize(("raw", "canon"), [("13C", "13C"), ("13c", "13C"), ("C13", "13C"), ("1h", "1H"), ("H-1", "1H"), ("31P", "31P")])
def test_normalize_nucleus(raw: str, canon: str) -> None:
    assert normalize_nucleus(raw) == canon


@pytest.mark.parametrize("mult", ["s", "d", "t", "q", "quint", "sext", "sept", "m", "dd", "dt", "td", "ddd", "br s", "app t", "br app t", "dm"])
def test_valid_multiplicities(mult: str) -> None:
    assert is_valid_multiplicity(mult)


@pytest.mark.parametrize("mult", ["", "S", "ss", "x", "dddddd", "br", "app", "d d", "sd"])
def test_invalid_multiplicities(mult: str) -> None:
    assert not is_valid_multiplicity(mult)


def test_multiplicity_components() -> None:
    assert multiplicity_components("br dt") == ("d", "t")
    assert multiplicity_components("s") == ("s",)
    assert multiplicity_components("quint") == ("quint",)


def test_query_normalizes_formula_and_finds_spectra() -> None:
    q = Query(spectra=[Spectrum1D("13C", [Peak(1.0)]), Spectrum1D("1H", [Multiplet(1.0, 1.0)])], formula="H10C9O2")
    assert q.formula == "C9H10O2"
    assert q.spectrum("13c") is q.spectra[0]
    assert q.spectrum("19F") is None
    assert q.nuclei == ["13C", "1H"]


def test_query_rejects_bad_formula() -> None:
    with pytest.raises(NmrLensError, match="formula"):
        Query(formula="C9H10Xx2")


def test_size_limits() -> None:
    with pytest.raises(SpectrumFormatError, match="at most"):
        Spectrum1D("13C", [Peak(10.0)] * 2001)


def test_objects_are_immutable_and_with_revalidates() -> None:
    p = Peak(128.0)
    with pytest.raises(AttributeError):
        p.shift = 1.0  # type: ignore[misc]
    assert p.with_(shift=120.0).shift == 120.0
    with pytest.raises(SpectrumFormatError):
        Multiplet(1.0, 2.0).with_(shift_min=3.0)


@settings(max_examples=200, deadline=None)
@given(st.floats(allow_nan=True, allow_infinity=True), st.floats(allow_nan=True, allow_infinity=True))
def test_multiplet_either_valid_or_spectrum_error(a: float, b: float) -> None:
    try:
        m = Multiplet(a, b)
    except SpectrumFormatError:
        return
    assert math.isfinite(m.shift) and -3 <= m.shift_min <= m.shift_max <= 17
