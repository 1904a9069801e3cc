"""nmrlens: NMR spectra to molecular structures and molecules to spectra.

Importing the package is cheap: torch, web and plotting libraries are imported lazily by the
functions that need them.
"""

from __future__ import annotations

__version__ = "0.1.0"

from nmrlens.errors import (  # noqa: E402
    FileFormatError,
    InvalidMoleculeError,
    NmrLensError,
    SpectrumFormatError,
)

__all__ = [
    "__version__",
    "NmrLensError",
    "SpectrumFormatError",
    "InvalidMoleculeError",
    "FileFormatError",
]
