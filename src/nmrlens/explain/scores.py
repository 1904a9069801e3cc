"""Peak-level scores of explanation heatmaps (for spectra whose peaks' atoms are known).

- :func:`peak_mass_fraction`: the share of the heatmap's mass that lies on the given peaks
  (e.g. the peaks of the substructure's atoms); 1 = all attribution on those peaks.
- :func:`pointing_game`: whether the heatmap's maximum lies on one of those peaks.
- :func:`chance_mass_fraction`: the mass fraction of a uniform heatmap (the mask's area share),
  the level a map that ignores the peaks would reach.
"""

from __future__ import annotations

import numpy as np

from nmrlens.errors import NmrLensError

__all__ = ["peak_mass_fraction", "pointing_game", "chance_mass_fraction"]


def _check(heatmap: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    h = np.asarray(heatmap, dtype=np.float64)
    m = np.asarray(mask, dtype=bool)
    if h.ndim != 2 or h.shape != m.shape:
        raise NmrLensError(f"heatmap/mask: got shapes {h.shape} and {m.shape}, expected equal (H, W) shapes")
    return np.clip(np.nan_to_num(h, nan=0.0), 0.0, None), m


def peak_mass_fraction(heatmap: np.ndarray, mask: np.ndarray) -> float:
    """sum(heatmap on mask) / sum(heatmap), in [0, 1]; NaN for an all-zero heatmap."""
    h, m = _check(heatmap, mask)
    total = float(h.sum())
    return float(h[m].sum() / total) if total > 0 else float("nan")


def pointing_game(heatmap: np.ndarray, mask: np.ndarray) -> bool:
    """True when a maximum of the heatmap lies on the mask (ties: any maximal pixel counts)."""
    h, m = _check(heatmap, mask)
    top = h.max()
    if top <= 0:
        return False
    return bool(m[h >= top - 1e-9 * max(top, 1.0)].any())


def chance_mass_fraction(mask: np.ndarray) -> float:
    """The area share of the mask (the mass fraction of a uniform heatmap)."""
    m = np.asarray(mask, dtype=bool)
    return float(m.mean()) if m.size else float("nan")
