"""Tokenizers: the chemically-aware adaptive spectral tokenizer, SMILES tokens and formula tokens.

Spectral tokens (:class:`SpectralTokenizer`, vocabulary ``vocab/spectral_v1.json``) are of three kinds:

- **special**: ``<pad> <bos> <eos> <unk>`` and segment markers ``<13C> </13C> <1H> </1H> <formula> </formula>``;
- **categorical**: 1H multiplicity categories (``mult:dd``, ``mult:br_s``, ``mult:other``, ``mult:none``),
  proton counts (``nH=1`` .. ``nH=24``, ``nH>=25``, ``nH=?``), element symbols and counts (``C``, ``n=9``);
- **numerical**: one token per interval of the 13C shift (ppm), the 1H shift (ppm) and the 1H J (Hz),
  named by its bounds, e.g. ``13C[128.35,128.45)``, plus an overflow interval at each end.

**How the intervals are made** (:func:`nmrlens.tokenize.binning.adaptive_edges`, parameters in
:data:`nmrlens.tokenize.build.DEFAULT_PARAMS`, reproduced by ``python -m nmrlens.tokenize.build``):

1. Values: the training split (``split_of_inchikey(inchikey or source_inchikey) == "train"``) of the
   experimental nmrshiftdb2 13C/1H peak lists and of the literature set (13C shifts, 1H shifts or
   both ends of a reported range, 1H J). Records without an InChIKey are skipped and counted.
2. Lattice: values are put on their reporting lattice (0.1 ppm for 13C, 0.01 ppm for 1H, 0.1 Hz for J);
   every edge lies halfway between two lattice points, so reported values never sit on an edge and a
   bin one quantum wide decodes such a value exactly.
3. Inner range: the data model's window (13C -50..300 ppm, 1H -3..17 ppm, J 0..40 Hz), so every value
   a :class:`~nmrlens.spectra.Query` can hold gets a finite interval; the overflow intervals catch the rest.
4. Density: the training histogram mixed with 5% of a uniform density (sparse regions keep some
   resolution).
5. Partition: exactly ``n_bins`` bins minimising the expected absolute error of midpoint decoding
   under that density (dense regions -> narrow bins, sparse regions -> wide bins), with width limits
   (13C 0.1..5 ppm, 1H 0.01..0.5 ppm, J 0.1..4 Hz) and forced edges at chemical region boundaries
   (13C 0/50/90/110/160/185/220 ppm; 1H 0/2/3/4.5/6.5/8.5/10.5 ppm; J 3/20 Hz), solved exactly by
   dynamic programming. The bin counts (1200 / 600 / 60) were chosen on the validation split as the
   smallest of a grid whose mean error is at most 0.45 times that of uniform bins.

SMILES tokens (:class:`SmilesTokenizer`, ``vocab/smiles_v1.json``): atom-level with bracket atoms split
into parts, a closed vocabulary, exact round trip. Formula tokens: :class:`FormulaTokenizer`.
"""

from pathlib import Path
from typing import Any

from nmrlens.tokenize.binning import BinningParams, IntervalTable, adaptive_edges, uniform_edges
from nmrlens.tokenize.categories import MULT_CATEGORIES, canonical_multiplicity, multiplicity_category
from nmrlens.tokenize.formula import FormulaTokenizer
from nmrlens.tokenize.smiles import SmilesTokenizer
from nmrlens.tokenize.spectral import CONFIGS, SPECIAL_TOKENS, SpectralTokenizer, available_config

__all__ = [
    "BinningParams",
    "CONFIGS",
    "FormulaTokenizer",
    "IntervalTable",
    "MULT_CATEGORIES",
    "SPECIAL_TOKENS",
    "SmilesTokenizer",
    "SpectralTokenizer",
    "adaptive_edges",
    "available_config",
    "build_spectral_vocab",
    "canonical_multiplicity",
    "multiplicity_category",
    "uniform_edges",
]



def build_spectral_vocab(data_dir: str | Path | None = None, **kwargs: Any) -> dict[str, Any]:
    """Build the spectral vocabulary object; see :func:`nmrlens.tokenize.build.build_spectral_vocab`."""
    from nmrlens.tokenize.build import build_spectral_vocab as _build

    return _build(data_dir, **kwargs)
