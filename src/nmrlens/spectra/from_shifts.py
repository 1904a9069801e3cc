"""Peak lists from per-atom shifts: what a chemist would report for a predicted spectrum.

- 13C: one :class:`~nmrlens.spectra.Peak` per symmetry class of carbons (shift = mean of the
  class, ``count`` = number of carbons, ``mult`` S/D/T/Q from the attached H, ``atoms``).
- 1H: one :class:`~nmrlens.spectra.Multiplet` per proton group (symmetry class of H-bearing
  heavy atoms; ``nH`` = its protons). The multiplicity comes from a first-order (n+1) analysis of
  the couplings of :mod:`nmrlens.chem.couplings`: couplings within 1.0 Hz of each other are
  merged into one n+1 pattern (a CH2 between CH3 and CH2 is a sextet), otherwise the pattern is a
  combination such as ``dd``, ``dt`` or ``qd``; more than three distinct couplings, or more than 16
  lines, give ``m``. Exchangeable OH/NH/SH protons are ``br s``. A multiplet labelled ``m`` is
  reported as a shift range (centre +- half the pattern width at ``frequency_MHz``); other
  patterns are reported at their centre (shift_min == shift_max), as in the literature.

Units: ppm, Hz, MHz.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from nmrlens.spectra.model import Multiplet, Peak, Spectrum1D

if TYPE_CHECKING:  # pragma: no cover
    from rdkit.Chem import Mol

__all__ = ["c13_spectrum", "h1_spectrum", "multiplicity_from_couplings", "NAMES"]

#: n+1 line count -> multiplicity letter(s).
NAMES = {1: "s", 2: "d", 3: "t", 4: "q", 5: "quint", 6: "sext", 7: "sept"}
_MULT_LETTER = {0: "S", 1: "D", 2: "T", 3: "Q"}
MERGE_HZ = 1.0
MAX_COMPONENTS = 3
MAX_LINES = 16


def multiplicity_from_couplings(couplings: Sequence[tuple[int, float]]) -> tuple[str, tuple[float, ...], float]:
    """First-order multiplet from ``[(n_partner_protons, J_Hz), ...]``.

    Returns:
        ``(label, J list (Hz, largest first, one per pattern component), total width in Hz)``.
    """
    parts: list[tuple[int, float]] = []  # merged (n, J), J = mean of merged
    for n, j in sorted(couplings, key=lambda c: -c[1]):
        if parts and abs(parts[-1][1] - j) <= MERGE_HZ:
            n0, j0 = parts[-1]
            parts[-1] = (n0 + n, (j0 * n0 + j * n) / (n0 + n))
        else:
            parts.append((n, j))
    width = sum(n * j for n, j in parts)
    if not parts:
        return "s", (), 0.0
    lines = 1
    for n, _ in parts:
        lines *= n + 1
    if len(parts) > MAX_COMPONENTS or lines > MAX_LINES or any(n + 1 not in NAMES for n, _ in parts):
        return "m", (), width
    label = "".join(NAMES[n + 1] for n, _ in parts)
    return label, tuple(round(j, 1) for _, j in parts), width


def c13_spectrum(mol: "Mol", shifts: Sequence[float | None], *, solvent: str | None = None) -> Spectrum1D:
    """13C peak list from per-atom shifts (ppm; None for non-carbons), equivalent carbons merged."""
    from nmrlens.chem.mol import symmetry_classes

    classes = symmetry_classes(mol)
    groups: dict[int, list[int]] = {}
    for atom in mol.GetAtoms():
        if atom.GetSymbol() == "C" and shifts[atom.GetIdx()] is not None:
            groups.setdefault(classes[atom.GetIdx()], []).append(atom.GetIdx())
    peaks = []
    for atoms in groups.values():
        shift = sum(float(shifts[a]) for a in atoms) / len(atoms)  # type: ignore[arg-type]
        n_h = mol.GetAtomWithIdx(atoms[0]).GetTotalNumHs(includeNeighbors=True)
        peaks.append(Peak(shift=round(shift, 1), mult=_MULT_LETTER.get(n_h), atoms=tuple(atoms),
                          count=len(atoms) if len(atoms) > 1 else None))
    return Spectrum1D("13C", peaks, solvent=solvent)


def h1_spectrum(mol: "Mol", shifts: Sequence[float | None], *, frequency_MHz: float = 400.0,
                solvent: str | None = None) -> Spectrum1D:
    """1H multiplet list from per-heavy-atom proton shifts (ppm; None where no H)."""
    from nmrlens.chem.couplings import proton_couplings, proton_groups

    groups = proton_groups(mol)
    couplings = proton_couplings(mol, groups)
    lo, hi = -3.0, 17.0
    out = []
    for gi, g in enumerate(groups):
        vals = [float(shifts[a]) for a in g.atoms if shifts[a] is not None]  # type: ignore[arg-type]
        if not vals:
            continue
        centre = min(max(sum(vals) / len(vals), lo), hi)
        if g.exchangeable:
            label, js, width = "br s", (), 0.0
        else:
            partners = [c for (a, _b), cs in couplings.items() if a == gi for c in cs]
            label, js, width = multiplicity_from_couplings(partners)
        half = width / frequency_MHz / 2.0 if label == "m" else 0.0
        out.append(Multiplet(shift_min=round(max(lo, centre - half), 2), shift_max=round(min(hi, centre + half), 2),
                             mult=label, J=js, nH=g.n_h, atoms=g.atoms))
    return Spectrum1D("1H", out, solvent=solvent, frequency_MHz=frequency_MHz)
