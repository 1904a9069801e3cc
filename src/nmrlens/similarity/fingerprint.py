"""Spectral fingerprints: smoothed, binned peak lists as unit vectors for fast recall.

The inner product of two fingerprints approximates the overlap of two peak lists blurred by a
Gaussian, so a FAISS inner-product index over the fingerprints of a library's (predicted or
experimental) spectra recalls the molecules whose spectra look like a query's, with no trained
model (:class:`nmrlens.library.search.Library` uses it next to the learned embeddings).

13C (``C13_DIM`` = 5 x 120 values): 0-240 ppm in 2 ppm bins, Gaussian blur sigma 3 ppm, five
channels: every peak, then one channel each for S, D, T and Q peaks (DEPT multiplicity). A peak
without multiplicity adds to the first channel only, so a query without DEPT information still
matches on the first channel. 1H (``H1_DIM`` = 140 values): 0-14 ppm in 0.1 ppm bins, blur sigma
0.15 ppm, each multiplet weighted by its nH (1 when unknown). Shifts outside the ranges are
clipped to the end bins. Each vector is L2-normalised; an empty spectrum gives the zero vector.

On 600 validation 13C queries against the 52k-molecule nmrshiftdb2 library (predicted spectra),
the 13C fingerprint alone puts the right molecule first for 0.72 of them and within the top 1,000
for 0.96 (the learned embeddings recall 0.935; both together 0.983).
"""

from __future__ import annotations

import numpy as np

from nmrlens.errors import SpectrumFormatError
from nmrlens.spectra.model import Spectrum1D

__all__ = ["C13_DIM", "H1_DIM", "spectrum_fingerprint", "fingerprint_from_arrays", "fingerprint_dim"]

_C_BIN, _C_SIGMA, _C_MAX = 2.0, 3.0, 240.0
_H_BIN, _H_SIGMA, _H_MAX = 0.1, 0.15, 14.0
_C_NB = int(round(_C_MAX / _C_BIN))
_H_NB = int(round(_H_MAX / _H_BIN))
C13_DIM = 5 * _C_NB
H1_DIM = _H_NB
_C_CENTRES = (np.arange(_C_NB) + 0.5) * _C_BIN
_H_CENTRES = (np.arange(_H_NB) + 0.5) * _H_BIN


def fingerprint_dim(nucleus: str) -> int:
    """Length of the fingerprint of a nucleus (13C or 1H).

    Raises:
        SpectrumFormatError: for another nucleus.
    """
    if nucleus == "13C":
        return C13_DIM
    if nucleus == "1H":
        return H1_DIM
    raise SpectrumFormatError("nucleus", nucleus, "13C or 1H")


def spectrum_fingerprint(spectrum: Spectrum1D | None, nucleus: str | None = None) -> np.ndarray:
    """The L2-normalised float32 fingerprint of a 13C or 1H spectrum (see the module docstring).

    ``None`` (with ``nucleus`` given) or an empty spectrum gives the zero vector.

    Raises:
        SpectrumFormatError: for a nucleus other than 13C and 1H, or an argument that is not a spectrum.
    """
    if spectrum is not None and not isinstance(spectrum, Spectrum1D):
        raise SpectrumFormatError("spectrum", type(spectrum).__name__, "a Spectrum1D or None")
    nuc = spectrum.nucleus if spectrum is not None else nucleus
    dim = fingerprint_dim(str(nuc))
    if spectrum is None or not spectrum.peaks:
        return np.zeros(dim, dtype=np.float32)
    from nmrlens.similarity.matched import peak_array

    arr = peak_array(spectrum)
    return fingerprint_from_arrays(str(nuc), arr[:, 0], arr[:, 1])


def fingerprint_from_arrays(nucleus: str, shifts: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The fingerprint of peaks given as arrays: ``shifts`` in ppm (1H: multiplet centres) and
    ``labels`` (13C: 0-3 for S/D/T/Q, 1H: nH; -1 where unknown), as :func:`spectrum_fingerprint`.

    Raises:
        SpectrumFormatError: for a nucleus other than 13C and 1H.
    """
    dim = fingerprint_dim(nucleus)
    shifts = np.asarray(shifts, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.float64)
    if not len(shifts):
        return np.zeros(dim, dtype=np.float32)
    if nucleus == "1H":
        g = np.exp(-0.5 * ((_H_CENTRES[None, :] - np.clip(shifts, 0.0, _H_MAX)[:, None]) / _H_SIGMA) ** 2)
        v = np.where(labels >= 0, labels, 1.0) @ g
    else:
        g = np.exp(-0.5 * ((_C_CENTRES[None, :] - np.clip(shifts, 0.0, _C_MAX)[:, None]) / _C_SIGMA) ** 2)
        m = np.zeros((len(shifts), 5))
        m[:, 0] = 1.0
        known = (labels >= 0) & (labels <= 3)
        m[np.flatnonzero(known), 1 + labels[known].astype(int)] = 1.0
        v = (m.T @ g).reshape(-1)
    norm = float(np.linalg.norm(v))
    return (v / norm if norm > 0 else v).astype(np.float32)
