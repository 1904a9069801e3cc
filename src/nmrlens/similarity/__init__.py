"""Similarity of 1D peak lists (13C and 1H), scalar and batched.

- :mod:`nmrlens.similarity.nmrpeak`: the peak-aware, assignment-free similarity of the NMRPeak paper
  (:func:`peak_similarity`, :func:`peak_similarity_many`), used by ``nmrlens similarity``;
- :mod:`nmrlens.similarity.matched`: an observed list matched one-to-one to a predicted list
  (optimal assignment with a robust shift cost and a multiplicity / nH penalty,
  :func:`matched_similarity_many`), the ``ssr`` score of search;
- :mod:`nmrlens.similarity.fingerprint`: smoothed, binned peak-list vectors whose inner product
  approximates peak overlap (:func:`spectrum_fingerprint`), for recall from large libraries.
"""

from nmrlens.similarity.nmrpeak import (  # noqa: F401
    J_SCALE_HZ,
    MAX_EXPANDED,
    SIGMA_C,
    SIGMA_H,
    STAGE2_DAMPING,
    TAU_C,
    TAU_H,
    PreparedSpectrum,
    peak_similarity,
    peak_similarity_many,
    prepare_spectrum,
)

from nmrlens.similarity.nmrpeak import __all__ as _NMRPEAK_ALL

__all__ = list(_NMRPEAK_ALL)
