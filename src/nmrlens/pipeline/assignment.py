"""Atom <-> peak assignment of a candidate: which observed peak belongs to which atoms.

Two assigners share one result type (:class:`Assignment`):

- :class:`ShiftMatchAssigner` (always available): an optimal one-to-one matching of the observed
  peaks to the candidate's *predicted* peaks (one per symmetry class of carbons / proton group),
  cost = shift difference (ppm), with a "no partner" option at :data:`MATCH_LIMIT_PPM`; the atoms
  of the matched predicted peak are the assignment. Observed peaks without a predicted peak within
  :data:`EXPLAIN_TOLERANCE_PPM` are *unexplained*.
- :class:`ModelAssigner`: the assignment model of :mod:`nmrlens.models.assign` (via
  ``nmrlens.api.assign``) when it is installed; ``ModelAssigner.create()`` raises
  :class:`~nmrlens.pipeline.candidates.ComponentUnavailable` otherwise.

Units: ppm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from nmrlens.spectra.model import Multiplet, Peak, Query, Spectrum1D

__all__ = [
    "EXPLAIN_TOLERANCE_PPM",
    "MATCH_LIMIT_PPM",
    "PeakAssignment",
    "Assignment",
    "Assigner",
    "ShiftMatchAssigner",
    "ModelAssigner",
    "match_spectrum",
]

#: An observed peak is *explained* when a predicted peak lies within this distance (ppm).
EXPLAIN_TOLERANCE_PPM: dict[str, float] = {"13C": 6.0, "1H": 0.6}
#: Beyond this distance (ppm) a peak is left without partner by the matching.
MATCH_LIMIT_PPM: dict[str, float] = {"13C": 15.0, "1H": 1.5}
#: Scale of the confidence exp(-|delta| / scale), ppm.
CONFIDENCE_SCALE_PPM: dict[str, float] = {"13C": 3.0, "1H": 0.3}


@dataclass(frozen=True)
class PeakAssignment:
    """One observed peak and the atoms assigned to it.

    Attributes:
        nucleus: "13C" or "1H".
        index: index of the peak in the observed spectrum (decreasing shift order).
        shift: observed shift (1H: multiplet centre), ppm.
        atoms: heavy-atom indices of the candidate (for 1H: the atoms carrying the protons); empty
            when the peak has no partner.
        predicted: predicted shift of the partner, ppm, or None.
        delta: observed - predicted, ppm, or None.
        confidence: 0..1 (exp(-|delta| / scale) for shift matching; the model's own otherwise), or None.
        explained: True when a partner lies within :data:`EXPLAIN_TOLERANCE_PPM`.
    """

    nucleus: str
    index: int
    shift: float
    atoms: tuple[int, ...]
    predicted: float | None
    delta: float | None
    confidence: float | None
    explained: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON object of the row."""
        return {"nucleus": self.nucleus, "index": self.index, "shift": self.shift, "atoms": list(self.atoms),
                "predicted": self.predicted, "delta": self.delta, "confidence": self.confidence,
                "explained": self.explained}


@dataclass(frozen=True)
class Assignment:
    """All peak assignments of one candidate and how they were made.

    Attributes:
        method: "shift-matching" or the model's name.
        peaks: one row per observed peak (13C then 1H).
        unassigned_atoms: per nucleus, atoms with a predicted peak that no observed peak took.
    """

    method: str
    peaks: tuple[PeakAssignment, ...]
    unassigned_atoms: dict[str, tuple[int, ...]]

    @property
    def unexplained(self) -> list[PeakAssignment]:
        """Observed peaks no predicted peak explains."""
        return [p for p in self.peaks if not p.explained]

    def to_dict(self) -> dict[str, Any]:
        """JSON object of the assignment."""
        return {"method": self.method, "peaks": [p.to_dict() for p in self.peaks],
                "unassigned_atoms": {k: list(v) for k, v in self.unassigned_atoms.items()}}


@runtime_checkable
class Assigner(Protocol):
    """What the pipeline needs from an assigner."""

    name: str

    def assign(self, smiles: str, query: Query, predicted: Query | None) -> Assignment:
        """Assign the observed peaks of ``query`` to atoms of ``smiles``."""
        ...


def _centre(p: Peak | Multiplet) -> float:
    return p.shift


def match_spectrum(observed: Spectrum1D, predicted: Spectrum1D | None) -> tuple[list[PeakAssignment], tuple[int, ...]]:
    """Optimal one-to-one matching of observed to predicted peaks of one nucleus.

    Returns:
        (one row per observed peak, atoms of predicted peaks left without an observed partner).
    """
    import numpy as np
    from scipy.optimize import linear_sum_assignment

    nuc = observed.nucleus
    tol = EXPLAIN_TOLERANCE_PPM.get(nuc, 6.0)
    limit = MATCH_LIMIT_PPM.get(nuc, 15.0)
    scale = CONFIDENCE_SCALE_PPM.get(nuc, 3.0)
    obs = list(observed.peaks)
    pred = list(predicted.peaks) if predicted is not None else []
    rows: list[PeakAssignment] = []
    if not obs:
        return rows, tuple(a for p in pred for a in p.atoms)
    if not pred:
        return [PeakAssignment(nuc, i, round(_centre(p), 4), (), None, None, None, False) for i, p in enumerate(obs)], ()
    o = np.array([_centre(p) for p in obs])
    q = np.array([_centre(p) for p in pred])
    cost = np.abs(o[:, None] - q[None, :])
    if nuc == "1H":  # prefer partners with the same proton count
        onh = np.array([p.nH or 0 for p in obs])
        pnh = np.array([p.nH or 0 for p in pred])
        cost = cost + 0.02 * np.abs(onh[:, None] - pnh[None, :]) * (onh[:, None] > 0)
    big = np.where(cost > limit, 1e6, cost)
    full = np.hstack([big, np.full((len(obs), len(obs)), limit)])
    r, c = linear_sum_assignment(full)
    partner = dict(zip(r.tolist(), c.tolist()))
    used: set[int] = set()
    for i, p in enumerate(obs):
        j = partner.get(i, -1)
        centre = round(_centre(p), 4)
        if 0 <= j < len(pred) and big[i, j] < 1e6:
            used.add(j)
            d = float(o[i] - q[j])
            rows.append(PeakAssignment(nuc, i, centre, tuple(pred[j].atoms), round(float(q[j]), 4), round(d, 4),
                                       round(math.exp(-abs(d) / scale), 4), abs(d) <= tol))
        else:
            rows.append(PeakAssignment(nuc, i, centre, (), None, None, None, False))
    left = tuple(sorted(a for j, p in enumerate(pred) if j not in used for a in p.atoms))
    return rows, left


class ShiftMatchAssigner:
    """Assignment by matching observed peaks to the candidate's predicted peaks (see the module docstring)."""

    name = "shift-matching"

    def assign(self, smiles: str, query: Query, predicted: Query | None) -> Assignment:
        """Assign the 13C and 1H peaks of ``query`` using ``predicted`` (the candidate's predicted spectra)."""
        peaks: list[PeakAssignment] = []
        left: dict[str, tuple[int, ...]] = {}
        for nuc in ("13C", "1H"):
            obs = query.spectrum(nuc)
            if obs is None or not len(obs):
                continue
            rows, rest = match_spectrum(obs, predicted.spectrum(nuc) if predicted is not None else None)
            peaks.extend(rows)
            left[nuc] = rest
        return Assignment(self.name, tuple(peaks), left)


class ModelAssigner:
    """The assignment model of :mod:`nmrlens.models.assign`, adapted to :class:`Assignment`."""

    name = "assign-model"

    def __init__(self, assigner: Any) -> None:
        self.assigner = assigner

    @classmethod
    def create(cls, checkpoint: str | None = None) -> "ModelAssigner":
        """Load ``nmrlens.models.assign.Assigner`` (default: its shipped checkpoint).

        Raises:
            ComponentUnavailable: when the module or its checkpoint is not installed.
        """
        from nmrlens.errors import NmrLensError
        from nmrlens.pipeline.candidates import ComponentUnavailable

        try:
            from nmrlens.models.assign import Assigner as _ModelAssigner
        except ImportError as exc:
            raise ComponentUnavailable(f"assign: nmrlens.models.assign is not importable ({exc})") from None
        try:
            from nmrlens import api

            loader = getattr(api, "assigner", None)  # shared with nmrlens.api.assign when present
            return cls(loader(checkpoint) if loader is not None else _ModelAssigner.load(checkpoint))
        except NmrLensError as exc:
            raise ComponentUnavailable(f"assign: the assignment model could not be loaded ({exc})") from None

    def assign(self, smiles: str, query: Query, predicted: Query | None) -> Assignment:
        """Run the model on the query's spectra and convert its per-atom rows to per-peak rows."""
        spectra = Query(spectra=[s for s in (query.spectrum("13C"), query.spectrum("1H")) if s is not None and len(s)])
        result = self.assigner.assign(smiles, spectra)
        return convert_model_assignment(result, spectra, f"{self.name} ({getattr(result, 'method', '?')})")


def convert_model_assignment(result: Any, query: Query, method: str) -> Assignment:
    """Adapt the assignment model's result (``nmrlens.models.assign.Assignment``: one row per atom
    with ``nucleus``, ``atom``, ``peak`` index, ``predicted`` shift and ``confidence``) to the
    per-peak :class:`Assignment` of the pipeline.

    Raises:
        NmrLensError: when the result has another shape or names a peak the query does not have.
    """
    from nmrlens.errors import NmrLensError

    if isinstance(result, Assignment):
        return result
    rows = getattr(result, "rows", None)
    if rows is None:
        raise NmrLensError(f"assign: the model returned {type(result).__name__}, expected per-atom rows")
    by_peak: dict[tuple[str, int], list[Any]] = {}
    left: dict[str, list[int]] = {}
    for r in rows:
        nuc = str(r.nucleus)
        if r.peak is None:
            left.setdefault(nuc, []).append(int(r.atom))
            continue
        by_peak.setdefault((nuc, int(r.peak)), []).append(r)
    peaks: list[PeakAssignment] = []
    for nuc in ("13C", "1H"):
        sp = query.spectrum(nuc)
        if sp is None:
            continue
        tol = EXPLAIN_TOLERANCE_PPM.get(nuc, 6.0)
        for (n2, idx) in by_peak:
            if n2 == nuc and not 0 <= idx < len(sp):
                raise NmrLensError(f"assign: the model returned peak {idx} of {nuc}; the query has {len(sp)} peaks")
        for idx, p in enumerate(sp.peaks):
            got = by_peak.get((nuc, idx), [])
            shift = round(p.shift, 4)
            if not got:
                peaks.append(PeakAssignment(nuc, idx, shift, (), None, None, None, False))
                continue
            preds = [float(r.predicted) for r in got if r.predicted is not None]
            pred = round(sum(preds) / len(preds), 4) if preds else None
            confs = [float(r.confidence) for r in got if r.confidence is not None]
            delta = None if pred is None else round(p.shift - pred, 4)
            peaks.append(PeakAssignment(nuc, idx, shift, tuple(sorted({int(r.atom) for r in got})), pred, delta,
                                        round(sum(confs) / len(confs), 4) if confs else None,
                                        delta is None or abs(delta) <= tol))
    return Assignment(method, tuple(peaks), {k: tuple(sorted(v)) for k, v in left.items()})
