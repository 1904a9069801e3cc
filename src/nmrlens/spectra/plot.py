"""Stick spectra as a chemist draws them: ppm axis decreasing to the right, multiplets labelled.

Needs matplotlib (``pip install 'nmrlens[plot]'``); it is imported only here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nmrlens.errors import NmrLensError, OutputExistsError
from nmrlens.spectra.model import Multiplet, Query, Spectrum1D

__all__ = ["plot_spectrum", "plot_query"]


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - depends on the installation
        raise NmrLensError("--plot needs matplotlib: pip install 'nmrlens[plot]'") from None
    return plt


def _spread(xs: list[float], gap: float) -> list[float]:
    """Label positions near ``xs`` (sorted decreasing) at least ``gap`` apart, keeping the order."""
    out = list(xs)
    for _ in range(50):
        moved = False
        for i in range(1, len(out)):
            d = out[i - 1] - out[i]
            if d < gap:
                shift = (gap - d) / 2
                out[i - 1] += shift
                out[i] -= shift
                moved = True
        if not moved:
            break
    return out


def plot_spectrum(sp: Spectrum1D, ax: Any, *, overlay: Spectrum1D | None = None) -> None:
    """Draw one spectrum (and optionally a second one, e.g. observed vs predicted, downwards) on ``ax``."""
    is_h = sp.nucleus == "1H"
    lo, hi = (-0.5, 12.5) if is_h else (-5.0, 225.0)
    shifts = sp.shifts + (overlay.shifts if overlay else [])
    if shifts:
        lo, hi = min(lo, min(shifts) - 0.5), max(hi, max(shifts) + 0.5)
    top = 1.0
    for spec, colour, sign in ((sp, "tab:blue", 1.0), (overlay, "tab:red", -1.0)):
        if spec is None or not spec.peaks:
            continue
        heights = [float((p.nH if isinstance(p, Multiplet) else p.count) or 1) for p in spec.peaks]
        top = max(top, max(heights))
        labels = []
        for p, height in zip(spec.peaks, heights):
            if isinstance(p, Multiplet):
                if p.shift_max > p.shift_min:
                    ax.fill_between([p.shift_min, p.shift_max], 0, sign * height, color=colour, alpha=0.35, lw=0)
                labels.append(f"{p.shift:.2f} {p.mult or ''} {p.nH or ''}H".replace("  ", " "))
            else:
                labels.append(f"{p.shift:.1f}")
            ax.vlines(p.shift, 0, sign * height, color=colour, lw=1.2)
        xs = _spread([p.shift for p in spec.peaks], gap=0.028 * (hi - lo))
        y_text = sign * (max(heights) * 1.15 + 0.2)
        for p, height, x, text in zip(spec.peaks, heights, xs, labels):
            ax.plot([p.shift, p.shift, x], [sign * height, sign * (height + 0.1), y_text], color=colour, lw=0.4)
            ax.text(x, y_text, text, rotation=90, ha="center", va="bottom" if sign > 0 else "top", fontsize=7,
                    color=colour)
    ax.set_xlim(hi, lo)  # decreasing to the right
    ax.set_ylim(-top * 2.2 if overlay is not None else 0, top * 2.2)
    ax.axhline(0, color="black", lw=0.6)
    ax.set_yticks([])
    ax.set_xlabel(f"δ({sp.nucleus}) / ppm")
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)


def plot_query(query: Query, path: str | Path, *, title: str | None = None, force: bool = False,
               overlay: Query | None = None) -> None:
    """Write a PNG with one panel per 1D spectrum of ``query`` (``overlay`` drawn downwards in red)."""
    p = Path(path)
    if p.exists() and not force:
        raise OutputExistsError(f"--plot: {str(p)!r} exists; pass --force to overwrite")
    if not query.spectra:
        raise NmrLensError("plot: the query has no 1D spectrum to draw")
    plt = _pyplot()
    fig, axes = plt.subplots(len(query.spectra), 1, figsize=(9, 2.8 * len(query.spectra)), squeeze=False)
    for ax, sp in zip(axes[:, 0], query.spectra):
        other = overlay.spectrum(sp.nucleus) if overlay is not None else None
        plot_spectrum(sp, ax, overlay=other)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    tmp = p.with_name(f".{p.name}.tmp.png")
    try:
        fig.savefig(tmp, dpi=120)
        tmp.replace(p)
    finally:
        plt.close(fig)
        tmp.unlink(missing_ok=True)
