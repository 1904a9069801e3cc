"""Simulated HSQC / HMBC peak lists from per-atom shifts, and substructure labels via SMARTS.

- :func:`atom_shifts_from_record`: the molecule (molblock, original atom order) and per-atom 13C and
  1H shifts of an atom-assigned nmrshiftdb2 record (13C peak ``atoms`` = the carbon; 1H peak
  ``atoms`` = the heavy atom carrying the H; several 1H peaks on one atom, e.g. diastereotopic
  CH2 protons, are kept apart). :func:`atom_shifts_from_prediction` does the same from the shift
  model's :class:`~nmrlens.models.shifts.AtomShifts`, for molecules without assignments.
- :func:`simulate_hsqc`: one cross peak per C-H (per distinct 1H shift of each protonated carbon)
  at (1H shift, 13C shift); intensity = number of H (CH3 strongest).
- :func:`simulate_hmbc`: a cross peak for every carbon C and every H-bearing carbon X two or three
  bonds from the H (C-X topological distance 1 or 2), at (1H shift of X, 13C shift of C).
- :data:`SUBSTRUCTURES` / :func:`substructure_atoms`: the three substructures of the peer's benchmark
  (fatty acid chain, indole, steroid skeleton) with their atoms, so that every cross peak can be
  marked as on or off the substructure (:func:`peaks_on_atoms`).

Every cross peak keeps its atoms: ``atoms_f2`` = the heavy atom carrying the H, ``atoms_f1`` =
the carbon. Units: ppm.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from nmrlens.errors import InvalidMoleculeError, NmrLensError
from nmrlens.spectra.model import CrossPeak, Spectrum2D

__all__ = [
    "AtomShiftTable",
    "SUBSTRUCTURES",
    "SUBSTRUCTURE_SMARTS",
    "atom_shifts_from_record",
    "atom_shifts_from_prediction",
    "merge_atom_shifts",
    "simulate_hsqc",
    "simulate_hmbc",
    "substructure_atoms",
    "substructure_labels",
    "peaks_on_atoms",
    "union_spectra",
]

#: Substructure names (the substructuresnmr folder names) in output order.
SUBSTRUCTURES: tuple[str, ...] = ("fattyacids", "indol", "steroids")
#: SMARTS per substructure. Fatty acid: a carboxylic acid / carboxylate / ester carbon on an
#: unbranched acyclic chain of at least four sp3 carbons (the matched chain is then extended along
#: unbranched acyclic carbons, see :func:`substructure_atoms`); indole: the bicyclic aromatic core
#: (N-substitution allowed); steroid: the 6-6-6-5 cyclopenta[a]phenanthrene carbon skeleton with any
#: bond orders.
SUBSTRUCTURE_SMARTS: dict[str, str] = {
    "fattyacids": "[CX3](=O)([OX2H1,OX1-,OX2])[CH2;!R][CH2;!R][CH2;!R][CX4;!R;H2,H3]",
    "indol": "c1ccc2c(c1)ccn2",
    "steroids": "[#6]1~[#6]~[#6]~[#6]2~[#6](~[#6]~1)~[#6]~[#6]~[#6]1~[#6]~2~[#6]~[#6]~[#6]2~[#6]~[#6]~[#6]~[#6]~1~2",
}


@dataclass
class AtomShiftTable:
    """Per-atom shifts of one molecule (indices into its RDKit atom order).

    Attributes:
        c13: carbon index -> 13C shift (ppm).
        h1: heavy-atom index -> 1H shifts (ppm) of the H it carries (one value, or several for
            protons with different shifts, e.g. diastereotopic CH2 protons).
        n_h: heavy-atom index -> number of attached H.
        source: where the shifts come from (e.g. "assigned", "predicted", "assigned+predicted").
    """

    c13: dict[int, float] = field(default_factory=dict)
    h1: dict[int, tuple[float, ...]] = field(default_factory=dict)
    n_h: dict[int, int] = field(default_factory=dict)
    source: str = "assigned"

    def coverage(self, mol: Any) -> float:
        """Fraction of the protonated carbons that have both a 13C and a 1H shift (0..1)."""
        ch = [a.GetIdx() for a in mol.GetAtoms() if a.GetSymbol() == "C" and a.GetTotalNumHs() > 0]
        if not ch:
            return 0.0
        return sum(1 for i in ch if i in self.c13 and i in self.h1) / len(ch)


def _first_with_atoms(spectra: Iterable[Mapping[str, Any]], nucleus: str) -> Mapping[str, Any] | None:
    cands = [s for s in spectra if s.get("nucleus") == nucleus and any(p.get("atoms") for p in s.get("peaks", []))]
    return max(cands, key=lambda s: sum(1 for p in s["peaks"] if p.get("atoms"))) if cands else None


def atom_shifts_from_record(record: Mapping[str, Any]) -> tuple[Any, AtomShiftTable]:
    """Molecule and per-atom shifts of an atom-assigned nmrshiftdb2 record (the shared README format).

    Raises:
        InvalidMoleculeError: when the record has no molblock or it cannot be parsed.
    """
    from rdkit import Chem

    mb = record.get("molblock") if record.get("assigned") else None
    if not mb:
        raise InvalidMoleculeError(f"record {record.get('nmrshiftdb2_id')!r}: no atom-assigned molblock")
    mol = Chem.MolFromMolBlock(mb, removeHs=False)
    if mol is None:
        raise InvalidMoleculeError(f"record {record.get('nmrshiftdb2_id')!r}: molblock cannot be parsed")
    n = mol.GetNumAtoms()
    table = AtomShiftTable(n_h={a.GetIdx(): a.GetTotalNumHs(includeNeighbors=True) for a in mol.GetAtoms()},
                           source="assigned")
    spectra = record.get("spectra") or []
    c13 = _first_with_atoms(spectra, "13C")
    if c13 is not None:
        for p in c13["peaks"]:
            for a in p.get("atoms") or []:
                if 0 <= a < n and mol.GetAtomWithIdx(a).GetSymbol() == "C":
                    table.c13[int(a)] = float(p["shift"])
    h1 = _first_with_atoms(spectra, "1H")
    if h1 is not None:
        acc: dict[int, list[float]] = {}
        for p in h1["peaks"]:
            for a in p.get("atoms") or []:
                if 0 <= a < n and table.n_h.get(a, 0) > 0:
                    acc.setdefault(int(a), []).append(float(p["shift"]))
        table.h1 = {a: tuple(sorted(set(round(v, 3) for v in vals))) for a, vals in acc.items()}
    return mol, table


def atom_shifts_from_prediction(mol: Any, pred: Any) -> AtomShiftTable:
    """Per-atom shifts from the shift model's prediction (``nmrlens.models.shifts.AtomShifts``) for ``mol``."""
    table = AtomShiftTable(n_h={a.GetIdx(): a.GetTotalNumHs(includeNeighbors=True) for a in mol.GetAtoms()},
                           source="predicted")
    for k, idx in enumerate(pred.atom_indices):
        c, h = pred.c13[k], pred.h1[k]
        if c is not None and mol.GetAtomWithIdx(idx).GetSymbol() == "C":
            table.c13[int(idx)] = float(c[0])
        if h is not None and table.n_h.get(idx, 0) > 0:
            table.h1[int(idx)] = (float(h[0]),)
    return table


def merge_atom_shifts(primary: AtomShiftTable, fallback: AtomShiftTable) -> AtomShiftTable:
    """Shifts of ``primary`` where it has them, else of ``fallback`` (e.g. assigned, then predicted)."""
    c13 = {**fallback.c13, **primary.c13}
    h1 = {**fallback.h1, **primary.h1}
    used_fb = any(k not in primary.c13 for k in c13) or any(k not in primary.h1 for k in h1)
    source = f"{primary.source}+{fallback.source}" if used_fb else primary.source
    return AtomShiftTable(c13, h1, {**fallback.n_h, **primary.n_h}, source)


def _in_window(f2: float, f1: float) -> bool:
    return -3.0 <= f2 <= 17.0 and -50.0 <= f1 <= 300.0


def simulate_hsqc(mol: Any, shifts: AtomShiftTable) -> Spectrum2D:
    """HSQC peak list: one cross peak per protonated carbon and distinct 1H shift (intensity = nH / n shifts)."""
    peaks = []
    for a in mol.GetAtoms():
        i = a.GetIdx()
        if a.GetSymbol() != "C" or i not in shifts.c13 or i not in shifts.h1:
            continue
        hs = shifts.h1[i]
        n_h = max(shifts.n_h.get(i, 1), 1)
        for h in hs:
            if _in_window(h, shifts.c13[i]):
                peaks.append(CrossPeak(f2=h, f1=shifts.c13[i], intensity=n_h / len(hs), atoms_f2=(i,), atoms_f1=(i,)))
    return Spectrum2D("HSQC", ("1H", "13C"), peaks)


def simulate_hmbc(mol: Any, shifts: AtomShiftTable, bonds: Sequence[int] = (2, 3)) -> Spectrum2D:
    """HMBC peak list: carbon C and H on carbon X with the H ``n`` bonds from C (n in ``bonds``).

    An H on X is ``d(C, X) + 1`` bonds from C, so 2- and 3-bond correlations are X at topological
    distance 1 and 2 from C. Intensity: 1.0 for 3-bond and 0.6 for 2-bond correlations (3J is
    usually the stronger one), times the number of H on X (capped at 2).
    """
    from rdkit import Chem

    if not bonds or any(b not in (1, 2, 3, 4) for b in bonds):
        raise NmrLensError(f"bonds: got {list(bonds)!r}, expected bond counts from 1..4 (HMBC: 2 and 3)")
    dist = Chem.GetDistanceMatrix(mol)
    peaks = []
    carbons = [a.GetIdx() for a in mol.GetAtoms() if a.GetSymbol() == "C" and a.GetIdx() in shifts.c13]
    hosts = [a.GetIdx() for a in mol.GetAtoms() if a.GetSymbol() == "C" and a.GetIdx() in shifts.h1]
    for c in carbons:
        for x in hosts:
            nb = int(dist[c, x]) + 1
            if nb not in bonds or x == c:
                continue
            weight = (1.0 if nb == 3 else 0.6) * min(max(shifts.n_h.get(x, 1), 1), 2)
            for h in shifts.h1[x]:
                if _in_window(h, shifts.c13[c]):
                    peaks.append(CrossPeak(f2=h, f1=shifts.c13[c], intensity=weight / len(shifts.h1[x]),
                                           atoms_f2=(x,), atoms_f1=(c,)))
    return Spectrum2D("HMBC", ("1H", "13C"), peaks)


def _patterns() -> dict[str, Any]:
    from rdkit import Chem

    return {k: Chem.MolFromSmarts(v) for k, v in SUBSTRUCTURE_SMARTS.items()}


def _extend_chain(mol: Any, atoms: set[int]) -> set[int]:
    """Grow a fatty-acid match along unbranched, acyclic carbons (C=C allowed), away from the acid."""
    out = set(atoms)
    frontier = [i for i in atoms if mol.GetAtomWithIdx(i).GetSymbol() == "C"]
    while frontier:
        i = frontier.pop()
        for nb in mol.GetAtomWithIdx(i).GetNeighbors():
            j = nb.GetIdx()
            if j in out or nb.GetSymbol() != "C" or nb.IsInRing() or nb.GetIsAromatic():
                continue
            heavy_c = [n for n in nb.GetNeighbors() if n.GetSymbol() == "C"]
            if len(heavy_c) > 2:  # a branch point ends the chain
                continue
            out.add(j)
            frontier.append(j)
    return out


def substructure_atoms(mol: Any, name: str) -> frozenset[int]:
    """Atom indices of substructure ``name`` in ``mol`` (union of all matches; empty when absent)."""
    if name not in SUBSTRUCTURE_SMARTS:
        raise NmrLensError(f"substructure: got {name!r}, expected one of {', '.join(SUBSTRUCTURES)}")
    pat = _patterns()[name]
    matches = mol.GetSubstructMatches(pat, uniquify=True, maxMatches=1000)
    atoms: set[int] = set()
    for m in matches:
        atoms.update(m)
    if name == "fattyacids" and atoms:
        atoms = _extend_chain(mol, atoms)
    return frozenset(atoms)


def substructure_labels(mol: Any) -> dict[str, frozenset[int]]:
    """Substructure name -> its atoms, for every substructure of :data:`SUBSTRUCTURES` (empty if absent)."""
    return {name: substructure_atoms(mol, name) for name in SUBSTRUCTURES}


def peaks_on_atoms(spectrum: Spectrum2D, atoms: Iterable[int]) -> list[bool]:
    """For every cross peak: True when both its carbon and its H-carrying atom are in ``atoms``."""
    s = set(atoms)
    return [bool(p.atoms_f1) and bool(p.atoms_f2) and set(p.atoms_f1) <= s and set(p.atoms_f2) <= s
            for p in spectrum.peaks]


def union_spectra(spectra: Sequence[Spectrum2D]) -> Spectrum2D:
    """The peak list of a mixture: the union of the cross peaks (atoms are kept as given)."""
    if not spectra:
        raise NmrLensError("spectra: got none, expected at least one Spectrum2D")
    exps = {s.experiment for s in spectra}
    if len(exps) != 1:
        raise NmrLensError(f"spectra: experiments {sorted(exps)} differ, expected one experiment")
    peaks = [p for s in spectra for p in s.peaks]
    from nmrlens.spectra.model import MAX_PEAKS

    if len(peaks) > MAX_PEAKS:
        raise NmrLensError(f"spectra: the union has {len(peaks)} peaks, expected at most {MAX_PEAKS}")
    return Spectrum2D(spectra[0].experiment, spectra[0].nuclei, peaks)
