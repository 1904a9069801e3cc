"""Render 2D peak lists (HSQC, HMBC) to greyscale images that look like the real spectrum images.

Convention (the one of the substructuresnmr images and of :mod:`nmrlens.models.classify2d`):

- f2 (1H) runs horizontally, from ``window.f2_left`` (10 ppm) on the left to ``window.f2_right``
  (0 ppm) on the right, as NMR spectra are drawn;
- f1 (13C) runs vertically, from ``window.f1_top`` (0 ppm) at the top to ``window.f1_bottom``
  (200 ppm) at the bottom;
- white background (255), dark peaks; default size 410 x 600 pixels (height x width), the size of
  the peer's edited images.

A cross peak is a 2D Gaussian (standard deviations ``style.sigma_f2`` / ``style.sigma_f1`` in ppm)
scaled by its intensity; ``style.contours`` > 0 draws that many contour rings per decade pair (a
contour plot, like the BMRB images), 0 draws filled peaks. Optional noise: random speckles and
t1-noise streaks (vertical lines at the 1H shift of strong peaks), as seen in real spectra.

Units: ppm for shifts and widths, pixels for sizes.
"""

from __future__ import annotations

import io as _io
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from nmrlens.errors import NmrLensError, OutputExistsError, SpectrumFormatError
from nmrlens.spectra.model import Spectrum2D

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

__all__ = [
    "IMAGE_SIZE",
    "Window",
    "DEFAULT_WINDOW",
    "RenderStyle",
    "peak_arrays",
    "render_peaks",
    "render_spectrum2d",
    "peak_pixels",
    "disk_mask",
    "png_bytes",
    "write_png",
]

#: Default rendered size (height, width) in pixels: the size of the substructuresnmr images.
IMAGE_SIZE: tuple[int, int] = (410, 600)
_MAX_SIDE = 4096


@dataclass(frozen=True)
class Window:
    """The ppm window of an image: f2 (1H) left -> right, f1 (13C) top -> bottom."""

    f2_left: float = 10.0
    f2_right: float = 0.0
    f1_top: float = 0.0
    f1_bottom: float = 200.0

    def __post_init__(self) -> None:
        for name in ("f2_left", "f2_right", "f1_top", "f1_bottom"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise SpectrumFormatError(name, v, "a finite number of ppm")
        if self.f2_left == self.f2_right or self.f1_top == self.f1_bottom:
            raise SpectrumFormatError("window", self, "a window with non-zero width on both axes")

    def to_pixel(self, f2: Any, f1: Any, size: Sequence[int]) -> tuple[Any, Any]:
        """(row, col) pixel coordinates (floats; pixel centres at integers) of shifts (ppm)."""
        h, w = size
        col = (f2 - self.f2_left) / (self.f2_right - self.f2_left) * w - 0.5
        row = (f1 - self.f1_top) / (self.f1_bottom - self.f1_top) * h - 0.5
        return row, col

    def to_ppm(self, row: Any, col: Any, size: Sequence[int]) -> tuple[Any, Any]:
        """(f2, f1) in ppm of pixel coordinates (the inverse of :meth:`to_pixel`)."""
        h, w = size
        f2 = self.f2_left + (col + 0.5) / w * (self.f2_right - self.f2_left)
        f1 = self.f1_top + (row + 0.5) / h * (self.f1_bottom - self.f1_top)
        return f2, f1


DEFAULT_WINDOW = Window()


@dataclass(frozen=True)
class RenderStyle:
    """How peaks are drawn.

    Attributes:
        sigma_f2, sigma_f1: Gaussian standard deviations in ppm (1H, 13C).
        contours: contour rings (0: filled peaks).
        contour_base: lowest contour level, as a fraction of the strongest peak.
        contour_factor: ratio between successive contour levels.
        speckle: fraction of pixels with random dark speckles (noise).
        t1_noise: probability that a peak gets a vertical t1-noise streak.
        darkness: ink of a peak's maximum (0..1; 1 = black).
    """

    sigma_f2: float = 0.025
    sigma_f1: float = 0.7
    contours: int = 4
    contour_base: float = 0.08
    contour_factor: float = 1.8
    speckle: float = 0.0
    t1_noise: float = 0.0
    darkness: float = 1.0

    def __post_init__(self) -> None:
        checks = {"sigma_f2": (1e-4, 5.0), "sigma_f1": (1e-3, 50.0), "contour_base": (1e-4, 1.0),
                  "contour_factor": (1.01, 100.0), "speckle": (0.0, 0.1), "t1_noise": (0.0, 1.0),
                  "darkness": (0.0, 1.0)}
        for name, (lo, hi) in checks.items():
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v <= hi:
                raise SpectrumFormatError(name, v, f"a number in {lo:g}..{hi:g}")
        if isinstance(self.contours, bool) or not isinstance(self.contours, int) or not 0 <= self.contours <= 20:
            raise SpectrumFormatError("contours", self.contours, "a whole number in 0..20")


def _check_size(size: Sequence[int]) -> tuple[int, int]:
    if (not isinstance(size, (tuple, list)) or len(size) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and 4 <= v <= _MAX_SIDE for v in size)):
        raise NmrLensError(f"size: got {size!r}, expected (height, width) with each in 4..{_MAX_SIDE} pixels")
    return int(size[0]), int(size[1])


def peak_arrays(spectrum: Spectrum2D) -> tuple["np.ndarray", "np.ndarray", "np.ndarray"]:
    """(f2, f1, intensity) arrays of a 2D spectrum; missing intensities are 1, signs are dropped."""
    import numpy as np

    if not isinstance(spectrum, Spectrum2D):
        raise SpectrumFormatError("spectrum", type(spectrum).__name__, "a Spectrum2D")
    f2 = np.asarray([p.f2 for p in spectrum.peaks], dtype=np.float64)
    f1 = np.asarray([p.f1 for p in spectrum.peaks], dtype=np.float64)
    inten = np.asarray([abs(p.intensity) if p.intensity is not None else 1.0 for p in spectrum.peaks],
                       dtype=np.float64)
    return f2, f1, inten


def render_peaks(f2: Sequence[float], f1: Sequence[float], intensity: Sequence[float] | None = None, *,
                 size: Sequence[int] = IMAGE_SIZE, window: Window = DEFAULT_WINDOW,
                 style: RenderStyle = RenderStyle(), seed: int | None = None) -> "np.ndarray":
    """Render cross peaks at (f2, f1) ppm to a uint8 greyscale image (H, W): white background.

    Peaks outside the window are not drawn (their tails may reach into it). ``seed`` fixes the
    noise (ignored when the style has none).
    """
    import numpy as np

    h, w = _check_size(size)
    f2a = np.asarray(f2, dtype=np.float64).reshape(-1)
    f1a = np.asarray(f1, dtype=np.float64).reshape(-1)
    inten = np.ones_like(f2a) if intensity is None else np.abs(np.asarray(intensity, dtype=np.float64).reshape(-1))
    if not (len(f2a) == len(f1a) == len(inten)):
        raise NmrLensError(f"peaks: got {len(f2a)} f2, {len(f1a)} f1 and {len(inten)} intensity values, expected equal counts")
    if not (np.isfinite(f2a).all() and np.isfinite(f1a).all() and np.isfinite(inten).all()):
        raise NmrLensError("peaks: shifts and intensities must be finite numbers")
    field = np.zeros((h, w), dtype=np.float64)
    rows, cols = window.to_pixel(f1=f1a, f2=f2a, size=(h, w))
    s_col = style.sigma_f2 / abs(window.f2_left - window.f2_right) * w
    s_row = style.sigma_f1 / abs(window.f1_bottom - window.f1_top) * h
    s_col, s_row = max(s_col, 0.35), max(s_row, 0.35)
    rc, rr = int(math.ceil(4 * s_col)) + 1, int(math.ceil(4 * s_row)) + 1
    for r, c, a in zip(rows, cols, inten):
        if a <= 0 or r < -rr or r > h + rr or c < -rc or c > w + rc:
            continue
        r0, r1 = max(int(r) - rr, 0), min(int(r) + rr + 1, h)
        c0, c1 = max(int(c) - rc, 0), min(int(c) + rc + 1, w)
        if r0 >= r1 or c0 >= c1:
            continue
        gy = np.exp(-0.5 * ((np.arange(r0, r1) - r) / s_row) ** 2)
        gx = np.exp(-0.5 * ((np.arange(c0, c1) - c) / s_col) ** 2)
        field[r0:r1, c0:c1] = np.maximum(field[r0:r1, c0:c1], a * gy[:, None] * gx[None, :])
    top = float(field.max())
    ink = np.zeros((h, w), dtype=np.float64)
    if top > 0:
        field /= top
        if style.contours > 0:
            base, fac = style.contour_base, style.contour_factor
            level = np.where(field > base, np.floor(np.log(np.maximum(field, base) / base) / math.log(fac)) + 1, 0)
            level = np.minimum(level, style.contours)
            edge = np.zeros((h, w), dtype=bool)
            edge[1:, :] |= level[1:, :] != level[:-1, :]
            edge[:-1, :] |= level[1:, :] != level[:-1, :]
            edge[:, 1:] |= level[:, 1:] != level[:, :-1]
            edge[:, :-1] |= level[:, 1:] != level[:, :-1]
            ink = np.where(edge & (level > 0), 1.0, 0.0)
            # the innermost level is filled, so small peaks stay visible as dots
            ink = np.maximum(ink, (level >= min(style.contours, int(level.max()))) & (level > 0))
        else:
            ink = np.clip(field / max(style.contour_base * 4, 1e-3), 0.0, 1.0)
    rng = np.random.default_rng(seed) if (style.speckle > 0 or style.t1_noise > 0) else None
    if rng is not None:
        if style.t1_noise > 0:
            for c, a in zip(cols, inten / max(float(inten.max(initial=0.0)), 1e-12)):
                if 0 <= c < w and rng.random() < style.t1_noise * a:
                    col = int(round(c))
                    streak = rng.random(h) < 0.35
                    ink[streak, col] = np.maximum(ink[streak, col], rng.uniform(0.3, 0.7))
        if style.speckle > 0:
            n = int(style.speckle * h * w)
            ink[rng.integers(0, h, n), rng.integers(0, w, n)] = rng.uniform(0.3, 1.0, n)
    grey = 255.0 * (1.0 - style.darkness * np.clip(ink, 0.0, 1.0))
    return np.clip(np.rint(grey), 0, 255).astype(np.uint8)


def render_spectrum2d(spectrum: Spectrum2D, *, size: Sequence[int] = IMAGE_SIZE, window: Window = DEFAULT_WINDOW,
                      style: RenderStyle = RenderStyle(), seed: int | None = None) -> "np.ndarray":
    """Render a :class:`Spectrum2D` (1H x 13C) as a uint8 greyscale image (see :func:`render_peaks`)."""
    if spectrum.nuclei != ("1H", "13C"):
        raise SpectrumFormatError("nuclei", list(spectrum.nuclei), "['1H', '13C'] (f2 = 1H, f1 = 13C)")
    f2, f1, inten = peak_arrays(spectrum)
    return render_peaks(f2, f1, inten, size=size, window=window, style=style, seed=seed)


def peak_pixels(f2: Sequence[float], f1: Sequence[float], size: Sequence[int],
                window: Window = DEFAULT_WINDOW) -> tuple["np.ndarray", "np.ndarray"]:
    """Integer (row, col) pixel of every peak in an image of ``size``; -1 for peaks outside it."""
    import numpy as np

    h, w = _check_size(size)
    r, c = window.to_pixel(f2=np.asarray(f2, dtype=np.float64), f1=np.asarray(f1, dtype=np.float64), size=(h, w))
    ri, ci = np.rint(r).astype(np.int64), np.rint(c).astype(np.int64)
    inside = (ri >= 0) & (ri < h) & (ci >= 0) & (ci < w)
    return np.where(inside, ri, -1), np.where(inside, ci, -1)


def disk_mask(rows: Sequence[int], cols: Sequence[int], size: Sequence[int], radius: float = 1.5) -> "np.ndarray":
    """Boolean (H, W) mask of disks of ``radius`` pixels around the given pixels (negatives skipped)."""
    import numpy as np

    h, w = _check_size(size)
    mask = np.zeros((h, w), dtype=bool)
    rad = int(math.ceil(radius))
    dy, dx = np.mgrid[-rad:rad + 1, -rad:rad + 1]
    keep = dy ** 2 + dx ** 2 <= radius ** 2 + 1e-9
    dy, dx = dy[keep], dx[keep]
    for r, c in zip(rows, cols):
        if r < 0 or c < 0:
            continue
        rr, cc = r + dy, c + dx
        ok = (rr >= 0) & (rr < h) & (cc >= 0) & (cc < w)
        mask[rr[ok], cc[ok]] = True
    return mask


def png_bytes(image: "np.ndarray") -> bytes:
    """PNG file content of a uint8 greyscale (H, W) or RGB (H, W, 3) image (Pillow)."""
    import numpy as np
    from PIL import Image

    arr = np.asarray(image)
    if arr.dtype != np.uint8 or arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise NmrLensError(f"image: got dtype {arr.dtype} and shape {arr.shape}, expected uint8 (H, W) or (H, W, 3|4)")
    buf = _io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def write_png(image: "np.ndarray", path: "str | os.PathLike[str]", *, force: bool = False) -> Path:
    """Write ``image`` as a PNG file atomically; refuses to overwrite unless ``force``."""
    p = Path(path)
    if p.exists() and not force:
        raise OutputExistsError(f"output: {str(p)!r} exists; pass force=True (--force) to overwrite")
    data = png_bytes(image)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return p
