"""The 128-bit 13C code: window edges, agreement with the RevMolSpec 0.2 ppm bins, text form, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nmrlens.errors import SpectrumFormatError
from nmrlens.spectra.code import (
    CODE_BITS,
    FINE_BINS,
    code_from_fine_bins,
    code_of_spectrum,
    code_window,
    fine_bin,
    fine_bin_shifts,
    format_code,
    parse_code,
    spectrum_code,
)
from nmrlens.spectra.model import Peak, Spectrum1D


@pytest.mark.parametrize("shift,bit", [(0.0, 0), (1.59, 0), (1.6, 1), (3.2, 2), (4.6, 2), (4.8, 3), (77.16, 48),
                                       (128.5, 80), (204.7, 127), (204.8, 127), (230.0, 127), (-2.5, 0)])
def test_windows(shift: float, bit: int) -> None:
    assert code_window(shift) == bit
    code = spectrum_code([shift])
    assert code.sum() == 1 and code[bit] == 1 and code.shape == (CODE_BITS,)


def test_fine_bin_is_exact_at_one_decimal() -> None:
    # 4.6 * 5 is 22.999999999999996 in floating point; the bin must still be 23
    assert fine_bin(4.6) == 23 and fine_bin(0.2) == 1 and fine_bin(1000) == FINE_BINS - 1


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(-20, 260, allow_nan=False), min_size=1, max_size=40))
def test_code_equals_or_of_fine_bins(shifts: list[float]) -> None:
    bins = np.zeros(FINE_BINS, dtype=np.uint8)
    for s in shifts:
        bins[fine_bin(s)] = 1
    assert np.array_equal(code_from_fine_bins(bins), spectrum_code(shifts))
    # the bin centres of a 1024-bin spectrum give back the same code
    assert np.array_equal(spectrum_code(fine_bin_shifts(bins)), spectrum_code(shifts))


def test_batch_and_text_round_trip() -> None:
    bins = np.zeros((2, FINE_BINS), dtype=np.uint8)
    bins[0, [0, 7, 8]] = 1
    bins[1, 1023] = 1
    codes = code_from_fine_bins(bins)
    assert codes.shape == (2, CODE_BITS)
    assert codes[0].tolist()[:3] == [1, 1, 0] and codes[0].sum() == 2 and codes[1, 127] == 1
    text = format_code(codes[0])
    assert text.startswith("11000") and len(text) == CODE_BITS
    assert np.array_equal(parse_code(text[:64] + "\n" + text[64:]), codes[0])
    assert fine_bin_shifts(bins[0]) == [1.7, 1.5, 0.1]


def test_code_of_spectrum() -> None:
    sp = Spectrum1D("13C", [Peak(128.4), Peak(21.3), Peak(21.0)])
    code = code_of_spectrum(sp)
    assert np.flatnonzero(code).tolist() == [13, 80]
    with pytest.raises(SpectrumFormatError, match="nucleus"):
        code_of_spectrum(Spectrum1D("19F", [Peak(-60.0)]))
    with pytest.raises(SpectrumFormatError, match="peaks"):
        code_of_spectrum(Spectrum1D("13C", []))


@pytest.mark.parametrize("bad", [[math.nan], [math.inf], ["12"], [True]])
def test_bad_shifts(bad: list) -> None:
    with pytest.raises(SpectrumFormatError, match="shifts"):
        spectrum_code(bad)


@pytest.mark.parametrize("text", ["01", "2" * 128, None, "0" * 129])
def test_bad_code_text(text: object) -> None:
    with pytest.raises(SpectrumFormatError, match="code"):
        parse_code(text)  # type: ignore[arg-type]


def test_bad_bins_shape() -> None:
    with pytest.raises(SpectrumFormatError, match="bins"):
        code_from_fine_bins(np.zeros(1000))
    with pytest.raises(SpectrumFormatError, match="bins"):
        fine_bin_shifts(np.zeros((2, FINE_BINS)))


def test_revmolspec_column_d(data_dir) -> None:  # noqa: ANN001 - fixture
    from nmrlens.data.datasets import load_revmolspec

    rows = load_revmolspec(data_dir)
    codes = code_from_fine_bins(np.stack([r.spectrum for r in rows]))
    assert codes.shape == (len(rows), CODE_BITS)
    density = codes.mean()
    assert 0.05 < density < 0.08  # ~8 of 128 windows set per hydrocarbon spectrum
    r = rows[5]
    assert np.array_equal(spectrum_code(fine_bin_shifts(r.spectrum)), codes[5])
