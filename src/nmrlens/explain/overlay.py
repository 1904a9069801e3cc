"""Heatmap overlays: a spectrum image with an explanation heatmap on top, written as PNG."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

from nmrlens.errors import NmrLensError

__all__ = ["colormap", "overlay", "side_by_side", "save_overlay"]

# "jet"-like colour ramp: (position, r, g, b)
_RAMP = np.asarray([[0.0, 0, 0, 128], [0.125, 0, 0, 255], [0.375, 0, 255, 255], [0.625, 255, 255, 0],
                    [0.875, 255, 0, 0], [1.0, 128, 0, 0]], dtype=np.float64)


def colormap(values: np.ndarray) -> np.ndarray:
    """RGB uint8 (..., 3) of values in [0, 1] on a jet-like ramp (blue = low, red = high)."""
    v = np.clip(np.nan_to_num(np.asarray(values, dtype=np.float64)), 0.0, 1.0)
    out = np.stack([np.interp(v, _RAMP[:, 0], _RAMP[:, k]) for k in (1, 2, 3)], axis=-1)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _grey(image: np.ndarray) -> np.ndarray:
    a = np.asarray(image)
    if a.ndim == 3 and a.shape[2] in (3, 4) and a.dtype == np.uint8:
        return (a[..., :3].astype(np.float64) @ np.asarray([0.299, 0.587, 0.114])).astype(np.uint8)
    if a.ndim != 2:
        raise NmrLensError(f"image: got shape {a.shape}, expected (H, W) or (H, W, 3)")
    if a.dtype == np.uint8:
        return a
    return np.clip(np.rint(255.0 * (1.0 - np.clip(np.nan_to_num(a.astype(np.float64)), 0, 1))), 0, 255).astype(np.uint8)


def overlay(image: np.ndarray, heatmap: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """Blend a heatmap (h, w) in [0, 1] over a spectrum image; returns RGB uint8 at the image's size.

    ``image``: uint8 greyscale/RGB (dark peaks on white) or float ink (peaks high). The heatmap is
    resized bilinearly to the image; the image's dark peaks are drawn on top so that they stay visible.
    """
    from PIL import Image

    if not 0.0 <= alpha <= 1.0:
        raise NmrLensError(f"alpha: got {alpha!r}, expected a number in 0..1")
    grey = _grey(image)
    hm = np.clip(np.nan_to_num(np.asarray(heatmap, dtype=np.float32)), 0.0, 1.0)
    if hm.ndim != 2:
        raise NmrLensError(f"heatmap: got shape {hm.shape}, expected (H, W)")
    hm_img = Image.fromarray(hm).resize((grey.shape[1], grey.shape[0]), Image.BILINEAR)
    hm = np.clip(np.asarray(hm_img, dtype=np.float64), 0.0, 1.0)
    colour = colormap(hm).astype(np.float64)
    base = np.repeat(grey[..., None].astype(np.float64), 3, axis=2)
    a = alpha * hm[..., None]
    out = base * (1 - a) + colour * a
    ink = (grey < 128)[..., None]
    out = np.where(ink, base * 0.6, out)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def side_by_side(images: Sequence[np.ndarray], gap: int = 8) -> np.ndarray:
    """Place RGB images (same height after padding) next to each other with a white gap."""
    if not images:
        raise NmrLensError("images: got none, expected at least one image")
    h = max(im.shape[0] for im in images)
    parts = []
    for i, im in enumerate(images):
        pad = np.full((h, im.shape[1], 3), 255, dtype=np.uint8)
        pad[: im.shape[0]] = im
        parts.append(pad)
        if i < len(images) - 1:
            parts.append(np.full((h, gap, 3), 255, dtype=np.uint8))
    return np.concatenate(parts, axis=1)


def save_overlay(path: "str | os.PathLike[str]", image: np.ndarray, heatmap: np.ndarray, *, alpha: float = 0.5,
                 force: bool = False) -> Path:
    """Write :func:`overlay` of ``image`` and ``heatmap`` as a PNG (refuses to overwrite unless ``force``)."""
    from nmrlens.spectra.render2d import write_png

    return write_png(overlay(image, heatmap, alpha), path, force=force)
