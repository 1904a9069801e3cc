"""2D peak-list rendering: orientation, windows, peak shapes, noise, PNG writing."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nmrlens.errors import NmrLensError, OutputExistsError, SpectrumFormatError
from nmrlens.spectra.model import CrossPeak, Spectrum2D
from nmrlens.spectra.render2d import (DEFAULT_WINDOW, IMAGE_SIZE, RenderStyle, Window, disk_mask, peak_pixels,
                                      png_bytes, render_peaks, render_spectrum2d, write_png)


def _darkest(img: np.ndarray) -> tuple[float, float]:
    """Centroid of the dark pixels."""
    rows, cols = np.nonzero(img < 128)
    return float(rows.mean()), float(cols.mean())


def test_single_peak_position_and_orientation() -> None:
    img = render_peaks([5.0], [100.0], style=RenderStyle(contours=0))
    assert img.shape == IMAGE_SIZE and img.dtype == np.uint8
    r, c = _darkest(img)
    assert abs(r - 204.5) <= 0.6 and abs(c - 299.5) <= 0.6  # centre of a 410 x 600 image
    assert img[0, 0] == 255  # white background
    # high 1H ppm is on the left, high 13C ppm at the bottom
    a = render_peaks([9.0], [20.0], style=RenderStyle(contours=0))
    b = render_peaks([1.0], [150.0], style=RenderStyle(contours=0))
    (ra, ca), (rb, cb) = _darkest(a), _darkest(b)
    assert ca < cb and ra < rb


def test_spectrum2d_rendering_and_peaks_outside_the_window() -> None:
    sp = Spectrum2D("HSQC", ("1H", "13C"), [CrossPeak(1.3, 30.0, 2.0), CrossPeak(7.2, 128.0, 1.0),
                                            CrossPeak(12.0, 250.0, 1.0)])
    img = render_spectrum2d(sp)
    rows, cols = peak_pixels([1.3, 7.2, 12.0], [30.0, 128.0, 250.0], IMAGE_SIZE)
    assert rows[2] == -1 and cols[2] == -1
    for r, c in zip(rows[:2], cols[:2]):
        assert img[max(r - 3, 0):r + 4, max(c - 3, 0):c + 4].min() < 80
    assert (img < 128).sum() < 0.01 * img.size
    with pytest.raises(SpectrumFormatError, match="nuclei"):
        render_spectrum2d(Spectrum2D("HSQC", ("1H", "15N"), []))


def test_empty_contour_and_noise() -> None:
    assert (render_peaks([], []) == 255).all()
    filled = render_peaks([5.0], [100.0], style=RenderStyle(contours=0, sigma_f2=0.1, sigma_f1=4.0))
    rings = render_peaks([5.0], [100.0], style=RenderStyle(contours=4, sigma_f2=0.1, sigma_f1=4.0))
    assert (rings < 128).sum() < (filled < 250).sum()  # contour rings draw fewer pixels than a filled peak
    noisy = RenderStyle(speckle=0.001, t1_noise=1.0)
    a = render_peaks([5.0], [100.0], style=noisy, seed=1)
    b = render_peaks([5.0], [100.0], style=noisy, seed=1)
    c = render_peaks([5.0], [100.0], style=noisy, seed=2)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert (a[:, 299:301] < 255).sum() > 50  # the t1 streak at the peak's 1H shift


def test_bad_arguments() -> None:
    with pytest.raises(NmrLensError, match="size"):
        render_peaks([1.0], [10.0], size=(2, 10))
    with pytest.raises(NmrLensError, match="equal counts"):
        render_peaks([1.0, 2.0], [10.0])
    with pytest.raises(NmrLensError, match="finite"):
        render_peaks([float("nan")], [10.0])
    with pytest.raises(SpectrumFormatError, match="window"):
        Window(1.0, 1.0, 0.0, 200.0)
    with pytest.raises(SpectrumFormatError, match="contours"):
        RenderStyle(contours=-1)


@settings(max_examples=200, deadline=None)
@given(st.floats(-2, 12), st.floats(-10, 220), st.integers(8, 600), st.integers(8, 600))
def test_window_roundtrip(f2: float, f1: float, h: int, w: int) -> None:
    r, c = DEFAULT_WINDOW.to_pixel(f2, f1, (h, w))
    f2b, f1b = DEFAULT_WINDOW.to_ppm(r, c, (h, w))
    assert f2b == pytest.approx(f2, abs=1e-9) and f1b == pytest.approx(f1, abs=1e-9)


def test_disk_mask_and_png(tmp_path) -> None:
    m = disk_mask([5, -1], [5, 3], (10, 10), radius=1.0)
    assert m.sum() == 5 and m[5, 5] and m[4, 5] and not m[4, 4]
    img = render_peaks([5.0], [100.0], size=(41, 60))
    data = png_bytes(img)
    from io import BytesIO

    from PIL import Image

    assert np.array_equal(np.asarray(Image.open(BytesIO(data))), img)
    p = write_png(img, tmp_path / "x.png")
    with pytest.raises(OutputExistsError):
        write_png(img, p)
    write_png(img, p, force=True)
    with pytest.raises(NmrLensError, match="uint8"):
        png_bytes(img.astype(np.float32))
