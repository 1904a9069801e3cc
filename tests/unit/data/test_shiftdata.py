"""Shift datapoints from records and the class-to-peak matcher."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from nmrlens.data.shiftdata import BuildReport, datapoint_from_record, match_classes_to_peaks


def test_matcher_exact_when_counts_equal() -> None:
    pred = np.array([20.0, 130.0, 170.0])
    peaks = np.array([171.0, 21.5, 128.0])
    assert match_classes_to_peaks(pred, peaks).tolist() == [1, 2, 0]


def test_matcher_respects_conflicts() -> None:
    pred = np.array([60.0, 62.0])
    peaks = np.array([61.0, 65.0])
    conflict = np.array([[False, True], [True, False]])  # class 0 must take peak 0, class 1 peak 1
    assert match_classes_to_peaks(pred, peaks, conflict).tolist() == [0, 1]
    assert match_classes_to_peaks(pred, peaks).tolist() == [0, 1]
    conflict = np.array([[True, False], [False, True]])
    assert match_classes_to_peaks(pred, peaks, conflict).tolist() == [1, 0]


def test_matcher_reuses_peaks_when_fewer_peaks() -> None:
    pred = np.array([128.1, 128.4, 21.0])
    peaks = np.array([128.3, 21.2])
    assert match_classes_to_peaks(pred, peaks).tolist() == [0, 0, 1]


def test_matcher_ignores_extra_peaks_and_optional_classes() -> None:
    pred = np.array([7.2, 9.5])  # class 1: an OH that is not observed
    peaks = np.array([7.25, 3.1])
    out = match_classes_to_peaks(pred, peaks, optional=np.array([False, True]), optional_cost=1.0)
    assert out.tolist() == [0, -1]


def test_matcher_is_optimal_against_bruteforce() -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        n = rng.integers(1, 7)
        pred, peaks = rng.uniform(0, 200, n), rng.uniform(0, 200, n + rng.integers(0, 3))
        got = match_classes_to_peaks(pred, peaks)
        cost = np.abs(pred[:, None] - peaks[None, :])
        r, c = linear_sum_assignment(cost)
        assert cost[np.arange(n), got].sum() == pytest.approx(cost[r, c].sum())
        assert len(set(got.tolist())) == n


MOLBLOCK = """ethanol
     RDKit          2D

  3  2  0  0  0  0  0  0  0  0999 V2000
    0.0000    0.0000    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0
    1.2990    0.7500    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0
    2.5981   -0.0000    0.0000 O   0  0  0  0  0  0  0  0  0  0  0  0
  1  2  1  0
  2  3  1  0
M  END
"""


def _record(**kw):
    base = {"nmrshiftdb2_id": 1, "inchikey": "LFQSCWFLJHTTHZ-UHFFFAOYSA-N", "smiles": "CCO", "assigned": False,
            "molblock": None, "spectra": []}
    base.update(kw)
    return base


def test_assigned_record_gives_atom_targets() -> None:
    rec = _record(assigned=True, molblock=MOLBLOCK, spectra=[
        {"nucleus": "13C", "peaks": [{"shift": 58.3, "atoms": [1]}, {"shift": 18.4, "atoms": [0]}]},
        {"nucleus": "1H", "peaks": [{"shift": 3.69, "atoms": [1]}, {"shift": 2.6, "atoms": [2]}, {"shift": 1.22, "atoms": [0]}]},
    ])
    dp = datapoint_from_record(rec)
    assert dp is not None and dp.assigned
    assert dp.c13_target[:2].tolist() == [18.4, 58.3] and np.isnan(dp.c13_target[2])
    assert dp.h1_target.tolist() == [1.22, 3.69, 2.6]


def test_unassigned_record_keeps_peaks_and_filters() -> None:
    rec = _record(spectra=[{"nucleus": "13C", "peaks": [{"shift": 58.3, "mult": "T"}, {"shift": 18.4, "mult": "Q"}]}])
    dp = datapoint_from_record(rec)
    assert dp is not None and not dp.assigned
    assert dp.c13_peaks.tolist() == [58.3, 18.4] and dp.c13_peak_h.tolist() == [2, 3]
    report = BuildReport()
    too_many = _record(spectra=[{"nucleus": "13C", "peaks": [{"shift": s} for s in (58.3, 18.4, 77.0)]}])
    assert datapoint_from_record(too_many, report) is None
    assert report.skipped == {"13C: more peaks than carbons": 1}
    assert datapoint_from_record(_record(smiles="C[Sn](C)(C)C", spectra=too_many["spectra"]), report) is None
    assert report.skipped["unsupported element"] == 1
