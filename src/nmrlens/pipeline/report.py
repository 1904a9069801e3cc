"""Human-readable output of an elucidation: a text table and a self-contained HTML report.

The HTML report has no outside resources: structures are RDKit SVG, spectra are inline SVG
(:mod:`nmrlens.pipeline.draw`), the style sheet is inline, there is no script.
"""

from __future__ import annotations

import html
from typing import Sequence

from nmrlens.pipeline.elucidate import ElucidationResult, RankedCandidate
from nmrlens.pipeline.scoring import PARTS

__all__ = ["format_table", "render_html", "assignment_pairs"]


def _num(v: float | None, digits: int = 3) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def format_table(result: ElucidationResult, *, width: int = 60) -> str:
    """Plain-text table: rank, SMILES, formula, score and its parts, unexplained peaks."""
    shown = [p for p in PARTS if any(c.parts.get(p) is not None for c in result.candidates)]
    head = ["rank", "SMILES", "formula", "score", *shown, "origins", "unexplained"]
    rows = []
    for c in result.candidates:
        smi = c.smiles if len(c.smiles) <= width else c.smiles[: width - 3] + "..."
        unexpl = ", ".join(c.unexplained) if c.assignment is not None else "(not assigned)"
        rows.append([str(c.rank), smi, c.formula, _num(c.score), *[_num(c.parts.get(p)) for p in shown],
                     "+".join(c.origins), unexpl or "none"])
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(head)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend("  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in rows)
    if not rows:
        lines.append("(no candidate)")
    lines.append("")
    lines.append(f"{result.n_proposed} candidates proposed, {result.n_rejected} rejected; {result.seconds:.1f} s")
    for name, status in result.components.items():
        lines.append(f"  {name}: {status}")
    for w in result.warnings:
        lines.append(f"warning: {w}")
    return "\n".join(lines).rstrip() + "\n"


def assignment_pairs(c: RankedCandidate, nucleus: str) -> list[tuple[int, int]]:
    """(observed index, predicted index) links of one nucleus from the candidate's assignment."""
    if c.assignment is None or c.predicted is None:
        return []
    pred = c.predicted.spectrum(nucleus)
    if pred is None:
        return []
    out = []
    for row in c.assignment.peaks:
        if row.nucleus != nucleus or row.predicted is None:
            continue
        for j, p in enumerate(pred.peaks):
            if abs(p.shift - row.predicted) < 1e-3 and (not row.atoms or set(row.atoms) & set(p.atoms)):
                out.append((row.index, j))
                break
    return out


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222;background:#fafafa}
h1{font-size:22px;margin:0 0 4px} .meta{color:#555;font-size:13px;margin-bottom:16px}
.card{background:#fff;border:1px solid #ddd;border-radius:8px;padding:14px;margin:0 0 16px;display:grid;
grid-template-columns:310px 1fr;gap:14px} .card h2{font-size:17px;margin:0 0 6px;grid-column:1/3}
.smiles{font-family:ui-monospace,monospace;font-size:12px;word-break:break-all;color:#333}
table{border-collapse:collapse;font-size:12px;margin:6px 0} td,th{border:1px solid #ddd;padding:2px 6px;text-align:right}
th{background:#f0f0f0} td.l,th.l{text-align:left} .bad{color:#b00020;font-weight:600}
.components td{text-align:left} .warn{color:#8a4b00}
"""


def _parts_table(c: RankedCandidate) -> str:
    cells = "".join(f"<th>{html.escape(p)}</th>" for p in PARTS)
    vals = "".join(f"<td>{_num(c.parts.get(p))}</td>" for p in PARTS)
    return f"<table><tr><th>score</th>{cells}</tr><tr><td><b>{c.score:.3f}</b></td>{vals}</tr></table>"


def _assignment_table(c: RankedCandidate) -> str:
    a = c.assignment
    if a is None:
        return "<p class='meta'>not assigned (only the top candidates are)</p>"
    rows = []
    for p in a.peaks:
        cls = "" if p.explained else " class='bad'"
        atoms = ", ".join(str(x) for x in p.atoms) or "-"
        rows.append(f"<tr{cls}><td class='l'>{p.nucleus}</td><td>{p.shift:.2f}</td><td class='l'>{atoms}</td>"
                    f"<td>{_num(p.predicted, 2)}</td><td>{_num(p.delta, 2)}</td><td>{_num(p.confidence, 2)}</td>"
                    f"<td class='l'>{'yes' if p.explained else 'no'}</td></tr>")
    left = "; ".join(f"{n}: {', '.join(map(str, v))}" for n, v in a.unassigned_atoms.items() if v) or "none"
    return (f"<table><tr><th class='l'>nucleus</th><th>observed ppm</th><th class='l'>atoms</th><th>predicted ppm</th>"
            f"<th>&Delta; ppm</th><th>confidence</th><th class='l'>explained</th></tr>{''.join(rows)}</table>"
            f"<p class='meta'>method: {html.escape(a.method)}; atoms without an observed peak: {html.escape(left)}</p>")


def _card(result: ElucidationResult, c: RankedCandidate) -> str:
    from nmrlens.errors import NmrLensError
    from nmrlens.pipeline.draw import molecule_svg, overlay_svg

    try:
        svg = molecule_svg(c.smiles)
    except NmrLensError:
        svg = "<p>(no drawing)</p>"
    plots = []
    for nuc in ("13C", "1H"):
        obs = result.query.spectrum(nuc)
        if obs is None:
            continue
        pred = c.predicted.spectrum(nuc) if c.predicted is not None else None
        plots.append(overlay_svg(obs, pred, pairs=assignment_pairs(c, nuc)))
    origins = ", ".join(c.origins)
    lib = f" (library id {html.escape(c.library_id)})" if c.library_id else ""
    return (f"<section class='card'><h2>#{c.rank} &middot; {html.escape(c.formula)} &middot; score {c.score:.3f}</h2>"
            f"<div>{svg}<div class='smiles'>{html.escape(c.smiles)}</div>"
            f"<div class='meta'>from: {html.escape(origins)}{lib}</div></div>"
            f"<div>{_parts_table(c)}{''.join(plots)}{_assignment_table(c)}</div></section>")


def render_html(result: ElucidationResult, *, title: str = "nmrlens elucidate", max_cards: int = 20) -> str:
    """A self-contained HTML report: query summary, components, one card per candidate."""
    from nmrlens import __version__
    from nmrlens.io.acs import format_spectrum

    spectra = "".join(f"<div class='smiles'>{html.escape(format_spectrum(s))}</div>" for s in result.query.spectra
                      if s.nucleus in ("13C", "1H"))
    comps = "".join(f"<tr><th class='l'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
                    for k, v in result.components.items())
    warns = "".join(f"<p class='warn'>warning: {html.escape(w)}</p>" for w in result.warnings)
    cards: Sequence[str] = [_card(result, c) for c in result.candidates[:max_cards]]
    body = "".join(cards) or "<p>No candidate was found.</p>"
    formula = html.escape(result.query.formula or "not given")
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><div class='meta'>nmrlens {html.escape(__version__)} &middot; formula {formula} "
        f"&middot; {result.n_proposed} candidates proposed, {result.n_rejected} rejected &middot; {result.seconds:.1f} s</div>"
        f"{spectra}<table class='components'>{comps}</table>{warns}{body}</body></html>\n"
    )
