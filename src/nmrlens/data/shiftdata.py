"""Atom-level shift training data from nmrshiftdb2 records, and peak matching for unassigned spectra.

Two kinds of datapoints (tensor-free):

- *assigned* records (molblock + per-peak atom indices): per-atom 13C targets and per-heavy-atom 1H
  targets (mean of the 1H peaks assigned to the atom; diastereotopic pairs are averaged);
- *unassigned* records (SMILES only): the observed peak list. During training the current model's
  predictions for the symmetry-unique atoms are matched to the peaks by an optimal assignment
  (:func:`match_classes_to_peaks`) that respects the S/D/T/Q letter (13C) or nH (1H) when given,
  and the matched pairs become targets.

Units: ppm. Missing targets are NaN.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

import numpy as np

from nmrlens.data.featurize import MolGraph, featurize_mol

__all__ = ["ShiftDatapoint", "BuildReport", "datapoint_from_record", "build_datapoints", "match_classes_to_peaks",
           "assign_with_costs", "record_split"]

log = logging.getLogger(__name__)
_MULT_H = {"S": 0, "D": 1, "T": 2, "Q": 3}
#: Cost (ppm) added for a multiplicity / nH conflict; large enough to forbid it in practice.
CONFLICT_COST = 200.0
#: Extra cost (ppm) for each further use of one peak by another class (overlapping signals).
REUSE_COST = 3.0


@dataclass
class ShiftDatapoint:
    """One molecule with its shift labels (see the module docstring)."""

    id: int
    split: str
    graph: MolGraph
    classes: np.ndarray
    c13_target: np.ndarray
    h1_target: np.ndarray
    c13_peaks: np.ndarray | None = None
    c13_peak_h: np.ndarray | None = None
    h1_peaks: np.ndarray | None = None
    h1_peak_nh: np.ndarray | None = None

    @property
    def assigned(self) -> bool:
        """True when the labels are atom-level (not peak lists to be matched)."""
        return self.c13_peaks is None and self.h1_peaks is None


@dataclass
class BuildReport:
    """Counts of what :func:`build_datapoints` kept and why it skipped records."""

    records: int = 0
    kept_assigned: int = 0
    kept_unassigned_c13: int = 0
    kept_unassigned_h1: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str) -> None:
        """Count one skipped record/spectrum under ``reason``."""
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


def record_split(record: dict[str, Any]) -> str:
    """Split of a raw nmrshiftdb2 record (shipped split table first, hash of the InChIKey otherwise)."""
    try:
        from nmrlens.data.splits import split_of_record  # provided with the split table

        return split_of_record(record)
    except ImportError:  # pragma: no cover - before the split table existed
        from nmrlens.data.splits import split_of_inchikey

        return split_of_inchikey(record.get("inchikey") or record.get("source_inchikey") or "")


def _first(spectra: list[dict[str, Any]], nucleus: str) -> dict[str, Any] | None:
    cands = [s for s in spectra if s.get("nucleus") == nucleus and s.get("peaks")]
    return max(cands, key=lambda s: len(s["peaks"])) if cands else None


def datapoint_from_record(record: dict[str, Any], report: BuildReport | None = None,
                          allowed_elements: Iterable[str] | None = None) -> ShiftDatapoint | None:
    """Build a datapoint from a raw nmrshiftdb2 record, or None (counted in ``report``) when unusable."""
    from rdkit import Chem

    from nmrlens.chem.mol import SUPPORTED_ELEMENTS, symmetry_classes

    report = report or BuildReport()
    report.records += 1
    c13 = _first(record.get("spectra", []), "13C")
    h1 = _first(record.get("spectra", []), "1H")
    if c13 is None and h1 is None:
        report.skip("no 13C or 1H spectrum")
        return None
    assigned = bool(record.get("assigned") and record.get("molblock"))
    mol = Chem.MolFromMolBlock(record["molblock"], removeHs=False) if assigned else Chem.MolFromSmiles(record.get("smiles") or "")
    if mol is None:
        report.skip("molecule not parsable")
        return None
    allowed = set(allowed_elements or SUPPORTED_ELEMENTS)
    if any(a.GetSymbol() not in allowed for a in mol.GetAtoms()):
        report.skip("unsupported element")
        return None
    graph = featurize_mol(mol)
    if graph.n_atoms == 0 or graph.n_atoms > 100:
        report.skip("heavy atoms outside 1..100")
        return None
    all_classes = symmetry_classes(mol)
    classes = np.asarray([all_classes[a] for a in graph.atom_map], dtype=np.int64)
    n = graph.n_atoms
    c13_t = np.full(n, np.nan)
    h1_t = np.full(n, np.nan)
    dp = ShiftDatapoint(int(record.get("nmrshiftdb2_id") or 0), record_split(record), graph, classes, c13_t, h1_t)
    if assigned:
        node_of = {int(a): i for i, a in enumerate(graph.atom_map)}
        if c13 is not None:
            for p in c13["peaks"]:
                for a in p.get("atoms", []):
                    if a in node_of and graph.elements[node_of[a]] == "C":
                        c13_t[node_of[a]] = p["shift"]
        if h1 is not None:
            sums: dict[int, list[float]] = {}
            for p in h1["peaks"]:
                for a in p.get("atoms", []):
                    if a in node_of and graph.n_hs[node_of[a]] > 0:
                        sums.setdefault(node_of[a], []).append(p["shift"])
            for i, vals in sums.items():
                h1_t[i] = float(np.mean(vals))
        if np.isnan(c13_t).all() and np.isnan(h1_t).all():
            report.skip("assigned record without usable atom labels")
            return None
        report.kept_assigned += 1
        return dp
    n_c = int(sum(1 for e in graph.elements if e == "C"))
    if c13 is not None:
        shifts = np.asarray([p["shift"] for p in c13["peaks"]], dtype=np.float64)
        n_cls = len(set(classes[[e == "C" for e in graph.elements]].tolist()))
        if len(shifts) > n_c:
            report.skip("13C: more peaks than carbons")
        elif len(shifts) < math.ceil(0.75 * n_cls):
            report.skip("13C: fewer than 75% of the unique carbons have a peak")
        elif not ((shifts >= -50) & (shifts <= 300)).all():
            report.skip("13C: shift outside -50..300 ppm")
        else:
            dp.c13_peaks = shifts
            dp.c13_peak_h = np.asarray([_MULT_H.get(p.get("mult") or "", -1) for p in c13["peaks"]], dtype=np.int64)
            report.kept_unassigned_c13 += 1
    if h1 is not None:
        shifts = np.asarray([p["shift"] for p in h1["peaks"]], dtype=np.float64)
        nh = np.asarray([int(p.get("nH") or -1) for p in h1["peaks"]], dtype=np.int64)
        if not ((shifts >= -3) & (shifts <= 17)).all():
            report.skip("1H: shift outside -3..17 ppm")
        elif len(shifts) > int(graph.n_hs.sum()):
            report.skip("1H: more peaks than hydrogens")
        else:
            dp.h1_peaks, dp.h1_peak_nh = shifts, nh
            report.kept_unassigned_h1 += 1
    if dp.c13_peaks is None and dp.h1_peaks is None:
        return None
    return dp


def build_datapoints(records: Iterable[dict[str, Any]], report: BuildReport | None = None) -> Iterator[ShiftDatapoint]:
    """Datapoints of every usable record (see :func:`datapoint_from_record`)."""
    report = report if report is not None else BuildReport()
    for record in records:
        dp = datapoint_from_record(record, report)
        if dp is not None:
            yield dp


def match_classes_to_peaks(pred: np.ndarray, peaks: np.ndarray, conflict: np.ndarray | None = None,
                           optional: np.ndarray | None = None, optional_cost: float = 1.0) -> np.ndarray:
    """Optimal assignment of atom classes to observed peaks.

    Args:
        pred: predicted shift per class (ppm), shape (n_classes,).
        peaks: observed peak shifts (ppm), shape (n_peaks,).
        conflict: boolean (n_classes, n_peaks), True where a class cannot give that peak
            (S/D/T/Q or nH disagree); such pairs cost :data:`CONFLICT_COST`.
        optional: boolean (n_classes,), True for classes that may stay unmatched (e.g. exchangeable
            OH/NH protons) at ``optional_cost`` ppm.

    Returns:
        Peak index per class, -1 for an unmatched optional class. When there are more classes than
        peaks a peak is reused, each further use costing :data:`REUSE_COST` ppm.
    """
    n_cls, n_pk = len(pred), len(peaks)
    if n_cls == 0 or n_pk == 0:
        return np.full(n_cls, -1, dtype=np.int64)
    base = np.abs(pred[:, None] - peaks[None, :])
    if conflict is not None:
        base = base + CONFLICT_COST * conflict
    return assign_with_costs(base, optional=optional, optional_cost=optional_cost)


def assign_with_costs(cost: np.ndarray, *, reuse_cost: float = REUSE_COST, optional: np.ndarray | None = None,
                      optional_cost: float = 1.0, cover_peaks: bool = False, max_share: int | None = None) -> np.ndarray:
    """Optimal assignment of classes (rows) to peaks (columns) for any cost matrix.

    The general form of :func:`match_classes_to_peaks` (which passes ``|pred - peak|`` in ppm plus
    :data:`CONFLICT_COST` for conflicts): ``cost`` is (n_classes, n_peaks) in any additive unit.

    Args:
        cost: cost of giving peak j to class i.
        reuse_cost: extra cost for each further use of one peak by another class (overlap).
        optional: boolean (n_classes,), True for classes that may stay unmatched at ``optional_cost``.
        cover_peaks: when there are at least as many classes as peaks, every peak gets at least
            one class (a peak list without impurity peaks: each peak belongs to the molecule).
        max_share: most classes one peak may take (default ``ceil(n_classes / n_peaks)``, as
            :func:`match_classes_to_peaks`; pass ``n_classes`` to let any peak take any number).

    Returns:
        Peak index per class, -1 for an unmatched optional class (or every class when there are
        no peaks).
    """
    from scipy.optimize import linear_sum_assignment

    n_cls, n_pk = cost.shape
    if n_cls == 0 or n_pk == 0:
        return np.full(n_cls, -1, dtype=np.int64)
    copies = max(1, math.ceil(n_cls / n_pk), min(max_share or 0, n_cls))
    blocks = [cost + reuse_cost * k for k in range(copies)]
    if cover_peaks and n_cls >= n_pk:
        # a bonus far above any cost difference makes the solver use every first-copy column
        bonus = 1e3 * (1.0 + float(np.abs(cost[np.isfinite(cost)]).max(initial=0.0)))
        blocks[0] = blocks[0] - bonus
    cost_all = np.concatenate(blocks, axis=1)
    if optional is not None and optional.any():
        dummy = np.full((n_cls, n_cls), 1e6 + float(np.abs(cost_all).max()))
        idx = np.flatnonzero(optional)
        dummy[idx, idx] = optional_cost
        cost_all = np.concatenate([cost_all, dummy], axis=1)
    rows, cols = linear_sum_assignment(cost_all)
    out = np.full(n_cls, -1, dtype=np.int64)
    real = cols < copies * n_pk
    out[rows[real]] = cols[real] % n_pk
    return out
