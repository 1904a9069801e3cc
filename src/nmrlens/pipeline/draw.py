"""Inline SVG drawings: structures (RDKit) and observed-vs-predicted stick spectra (no outside resources).

Both functions return an ``<svg>`` element as text, ready to be placed in HTML. Units: ppm.
"""

from __future__ import annotations

import html
import re
from typing import Sequence

from nmrlens.spectra.model import Multiplet, Spectrum1D

__all__ = ["molecule_svg", "overlay_svg"]

_XML_HEADER = re.compile(r"^<\?xml[^>]*>\s*")


def molecule_svg(smiles: str, *, width: int = 300, height: int = 220, atom_indices: bool = True) -> str:
    """An RDKit 2D drawing of ``smiles`` as an inline ``<svg>`` (atom indices shown for the assignment table).

    Raises:
        InvalidMoleculeError: when the SMILES cannot be parsed.
    """
    from rdkit.Chem import rdDepictor
    from rdkit.Chem.Draw import rdMolDraw2D

    from nmrlens.chem.mol import parse_smiles

    width = max(50, min(int(width), 2000))
    height = max(50, min(int(height), 2000))
    mol = parse_smiles(smiles)
    rdDepictor.Compute2DCoords(mol)
    drawer = rdMolDraw2D.MolDraw2DSVG(width, height)
    opts = drawer.drawOptions()
    opts.addAtomIndices = bool(atom_indices)
    opts.annotationFontScale = 0.6
    opts.clearBackground = False
    drawer.DrawMolecule(mol)
    drawer.FinishDrawing()
    return _XML_HEADER.sub("", drawer.GetDrawingText()).strip()


def _fmt(x: float) -> str:
    return f"{x:.1f}"


def _ticks(lo: float, hi: float, n: int = 6) -> list[float]:
    span = max(hi - lo, 1e-6)
    step = 100.0
    for cand in (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 25.0, 50.0, 100.0):
        if span / cand <= n:
            step = cand
            break
    k = int(lo // step) + 1
    out = []
    while k * step <= hi and len(out) < 40:
        out.append(round(k * step, 6))
        k += 1
    return out


def _height(p: object) -> float:
    if isinstance(p, Multiplet):
        return float(p.nH or 1)
    return float(getattr(p, "count", None) or 1)


def overlay_svg(observed: Spectrum1D | None, predicted: Spectrum1D | None, *, width: int = 560, height: int = 170,
                pairs: Sequence[tuple[int, int]] = (), title: str | None = None) -> str:
    """Mirror stick plot: observed peaks up (blue), predicted peaks down (orange), ppm axis reversed.

    Args:
        pairs: (observed index, predicted index) links drawn as grey lines.
        title: a caption (escaped).
    """
    spectra = [s for s in (observed, predicted) if s is not None]
    nucleus = spectra[0].nucleus if spectra else "?"
    xs = [v for s in spectra for p in s.peaks for v in ((p.shift_min, p.shift_max) if isinstance(p, Multiplet) else (p.shift,))]
    if not xs:
        xs = [0.0, 10.0 if nucleus == "1H" else 200.0]
    pad = 0.5 if nucleus == "1H" else 10.0
    lo, hi = min(xs) - pad, max(xs) + pad
    left, right, top, axis_h = 10, 10, 18, 22
    plot_w = width - left - right
    mid = top + (height - top - axis_h) / 2
    half = (height - top - axis_h) / 2 - 4

    def x_of(v: float) -> float:
        return left + (hi - v) / (hi - lo) * plot_w

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
             f'class="overlay" role="img" aria-label="{html.escape(nucleus)} observed vs predicted">']
    caption = title or f"{nucleus}: observed (up) vs predicted (down)"
    parts.append(f'<text x="{left}" y="12" font-size="11" fill="#333">{html.escape(caption)}</text>')
    parts.append(f'<line x1="{left}" y1="{mid:.1f}" x2="{width - right}" y2="{mid:.1f}" stroke="#999" stroke-width="0.5"/>')
    for spec, sign, colour, cls in ((observed, -1, "#1f5fbf", "obs"), (predicted, 1, "#d9730d", "pred")):
        if spec is None or not len(spec):
            continue
        hmax = max(_height(p) for p in spec.peaks)
        for i, p in enumerate(spec.peaks):
            h = half * (0.35 + 0.65 * _height(p) / hmax)
            y2 = mid + sign * h
            label = f"{_fmt(p.shift)} ppm" if not isinstance(p, Multiplet) else f"{p.shift:.2f} ppm {p.mult or ''} {p.nH or ''}H"
            if isinstance(p, Multiplet) and p.shift_max - p.shift_min > 1e-6:
                x1, x2 = x_of(p.shift_max), x_of(p.shift_min)
                y = min(mid, y2)
                parts.append(f'<rect class="{cls}" data-i="{i}" x="{x1:.1f}" y="{y:.1f}" width="{max(x2 - x1, 1.5):.1f}" '
                             f'height="{abs(y2 - mid):.1f}" fill="{colour}" fill-opacity="0.35" stroke="{colour}">'
                             f'<title>{html.escape(label)}</title></rect>')
            else:
                x = x_of(p.shift)
                parts.append(f'<line class="{cls}" data-i="{i}" x1="{x:.1f}" y1="{mid:.1f}" x2="{x:.1f}" y2="{y2:.1f}" '
                             f'stroke="{colour}" stroke-width="1.6"><title>{html.escape(label)}</title></line>')
    if observed is not None and predicted is not None:
        for i, j in pairs:
            if 0 <= i < len(observed) and 0 <= j < len(predicted):
                a, b = x_of(observed.peaks[i].shift), x_of(predicted.peaks[j].shift)
                parts.append(f'<line x1="{a:.1f}" y1="{mid - 2:.1f}" x2="{b:.1f}" y2="{mid + 2:.1f}" stroke="#888" '
                             'stroke-width="0.7"/>')
    base = height - axis_h + 4
    parts.append(f'<line x1="{left}" y1="{base}" x2="{width - right}" y2="{base}" stroke="#333" stroke-width="0.8"/>')
    for t in _ticks(lo, hi):
        x = x_of(t)
        parts.append(f'<line x1="{x:.1f}" y1="{base}" x2="{x:.1f}" y2="{base + 4}" stroke="#333" stroke-width="0.8"/>')
        parts.append(f'<text x="{x:.1f}" y="{base + 15}" font-size="10" text-anchor="middle" fill="#333">{t:g}</text>')
    parts.append("</svg>")
    return "".join(parts)
