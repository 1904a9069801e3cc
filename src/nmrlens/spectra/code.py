"""The binned 13C spectrum code of the invertible network: 128 bits of 1.6 ppm, 0-204.8 ppm.

Bit ``k`` is set when any 13C peak lies in ``[1.6 k, 1.6 (k + 1))`` ppm. The window of a shift is
computed through the 0.2 ppm bin of the RevMolSpec table (column D: ``bin = floor(shift x 5)``,
1024 bins from 0 ppm), ``window = bin // 8``, so that the code of a peak list and the OR of eight
adjacent bins of a RevMolSpec spectrum agree exactly. Shifts below 0 ppm fall into the first
window and shifts at or above 204.8 ppm into the last, as the peer's table does with its bins.

Every part of nmrlens that needs the code (training, evaluation, the CLI) calls these functions.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Iterable

from nmrlens.errors import SpectrumFormatError

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from nmrlens.spectra.model import Spectrum1D

__all__ = [
    "CODE_BITS",
    "CODE_WINDOW_PPM",
    "FINE_BINS",
    "FINE_BIN_PPM",
    "fine_bin",
    "code_window",
    "spectrum_code",
    "code_from_fine_bins",
    "fine_bin_shifts",
    "code_of_spectrum",
    "format_code",
    "parse_code",
]

#: Number of bits of the code and width of one window (ppm): 128 x 1.6 = 204.8 ppm.
CODE_BITS = 128
CODE_WINDOW_PPM = 1.6
#: The RevMolSpec table's fine bins: 1024 x 0.2 ppm; eight fine bins make one code window.
FINE_BINS = 1024
FINE_BIN_PPM = 0.2
_PER_WINDOW = FINE_BINS // CODE_BITS
_MAX_PEAKS = 10_000


def _check_shift(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(float(value)):
        raise SpectrumFormatError(where, value, "a finite 13C shift in ppm")
    return float(value)


def fine_bin(shift: float) -> int:
    """0.2 ppm bin (0..1023) of a 13C shift in ppm (``floor(shift x 5)``, clipped to the range)."""
    b = math.floor(_check_shift(shift, "shift") * 5.0 + 1e-9)
    return min(max(b, 0), FINE_BINS - 1)


def code_window(shift: float) -> int:
    """Code bit (0..127) of a 13C shift in ppm: its 0.2 ppm bin // 8."""
    return fine_bin(shift) // _PER_WINDOW


def spectrum_code(shifts: Iterable[float]) -> "np.ndarray":
    """The 128-bit code (uint8 0/1 array) of a list of 13C shifts in ppm.

    Raises:
        SpectrumFormatError: for a shift that is not a finite number, or more than 10,000 peaks.
    """
    import numpy as np

    code = np.zeros(CODE_BITS, dtype=np.uint8)
    for i, s in enumerate(shifts):
        if i >= _MAX_PEAKS:
            raise SpectrumFormatError("shifts", f"more than {_MAX_PEAKS} peaks", f"at most {_MAX_PEAKS} peaks")
        code[fine_bin(_check_shift(s, f"shifts[{i}]")) // _PER_WINDOW] = 1
    return code


def code_from_fine_bins(bits: "np.ndarray") -> "np.ndarray":
    """OR eight adjacent 0.2 ppm bins of a 1024-bin spectrum (RevMolSpec column D) into the 128-bit code.

    Accepts one spectrum ``(1024,)`` or a batch ``(n, 1024)``.

    Raises:
        SpectrumFormatError: when the last dimension is not 1024.
    """
    import numpy as np

    arr = np.asarray(bits)
    if arr.ndim not in (1, 2) or arr.shape[-1] != FINE_BINS:
        raise SpectrumFormatError("bins", f"shape {arr.shape}", f"(..., {FINE_BINS}) bins of {FINE_BIN_PPM} ppm")
    grouped = (arr != 0).reshape(*arr.shape[:-1], CODE_BITS, _PER_WINDOW)
    return grouped.any(axis=-1).astype(np.uint8)


def fine_bin_shifts(bits: "np.ndarray") -> list[float]:
    """Peak positions (ppm, bin centres, decreasing) of a 1024-bin 0/1 spectrum."""
    import numpy as np

    arr = np.asarray(bits)
    if arr.ndim != 1 or arr.shape[0] != FINE_BINS:
        raise SpectrumFormatError("bins", f"shape {arr.shape}", f"({FINE_BINS},) bins of {FINE_BIN_PPM} ppm")
    return [round((int(b) + 0.5) * FINE_BIN_PPM, 3) for b in np.flatnonzero(arr)[::-1]]


def code_of_spectrum(spectrum: "Spectrum1D") -> "np.ndarray":
    """The 128-bit code of a 13C :class:`~nmrlens.spectra.model.Spectrum1D`.

    Raises:
        SpectrumFormatError: when the spectrum is not 13C or has no peaks.
    """
    if spectrum.nucleus != "13C":
        raise SpectrumFormatError("nucleus", spectrum.nucleus, "13C")
    if not spectrum.peaks:
        raise SpectrumFormatError("peaks", [], "at least one 13C peak")
    return spectrum_code(spectrum.shifts)


def format_code(code: "np.ndarray") -> str:
    """The code as a 128-character string of 0/1 (bit 0 = 0-1.6 ppm first)."""
    return "".join("1" if int(b) else "0" for b in code)


def parse_code(text: str) -> "np.ndarray":
    """Read a 128-character 0/1 string (whitespace ignored) into a code array.

    Raises:
        SpectrumFormatError: for another length or other characters.
    """
    import numpy as np

    compact = "".join(str(text).split()) if isinstance(text, str) else ""
    if len(compact) != CODE_BITS or compact.strip("01"):
        raise SpectrumFormatError("code", text, f"{CODE_BITS} characters 0/1")
    return (np.frombuffer(compact.encode("ascii"), dtype=np.uint8) - ord("0")).astype(np.uint8)
