"""Spectrum data model: peaks, multiplets, 1D and 2D spectra, queries (units: ppm, Hz, MHz)."""

from nmrlens.spectra.model import (
    CARBON_MULTS,
    EXPERIMENTS_2D,
    J_RANGE_1H,
    MAX_PEAKS,
    SHIFT_RANGES,
    CrossPeak,
    Multiplet,
    Peak,
    Query,
    Spectrum1D,
    Spectrum2D,
    is_valid_multiplicity,
    multiplicity_components,
    normalize_nucleus,
    shift_range,
)

__all__ = [
    "CARBON_MULTS",
    "EXPERIMENTS_2D",
    "J_RANGE_1H",
    "MAX_PEAKS",
    "SHIFT_RANGES",
    "CrossPeak",
    "Multiplet",
    "Peak",
    "Query",
    "Spectrum1D",
    "Spectrum2D",
    "is_valid_multiplicity",
    "multiplicity_components",
    "normalize_nucleus",
    "shift_range",
]
