"""Assignment by shift matching and the adapter of the assignment model's rows."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from nmrlens.errors import NmrLensError
from nmrlens.pipeline.assignment import ShiftMatchAssigner, convert_model_assignment, match_spectrum
from nmrlens.spectra.model import Multiplet, Peak, Query, Spectrum1D


def _c13(*shifts: float, atoms: bool = False) -> Spectrum1D:
    return Spectrum1D("13C", [Peak(s, atoms=(i,) if atoms else ()) for i, s in enumerate(shifts)])


def test_matching_pairs_nearest_and_flags_unexplained() -> None:
    obs = _c13(170.9, 128.4, 66.3, 21.0)
    pred = Spectrum1D("13C", [Peak(170.5, atoms=(1,)), Peak(128.0, atoms=(6, 10)), Peak(64.0, atoms=(4,)),
                              Peak(32.0, atoms=(0,))])
    rows, left = match_spectrum(obs, pred)
    assert [r.atoms for r in rows] == [(1,), (6, 10), (4,), (0,)]
    assert [r.explained for r in rows] == [True, True, True, False]  # 21.0 vs 32.0: 11 ppm > 6 ppm
    assert rows[0].delta == pytest.approx(0.4)
    assert rows[3].predicted == 32.0 and rows[3].confidence < 0.05
    assert left == ()


def test_far_peaks_stay_without_partner_and_atoms_are_left() -> None:
    obs = _c13(200.0, 30.0)
    pred = Spectrum1D("13C", [Peak(29.0, atoms=(0,)), Peak(14.0, atoms=(3,))])
    rows, left = match_spectrum(obs, pred)
    assert rows[0].atoms == () and rows[0].predicted is None and not rows[0].explained
    assert rows[1].atoms == (0,) and rows[1].explained
    assert left == (3,)


def test_1h_matching_prefers_equal_proton_counts() -> None:
    obs = Spectrum1D("1H", [Multiplet(2.10, 2.10, "s", nH=3), Multiplet(2.05, 2.05, "s", nH=2)])
    pred = Spectrum1D("1H", [Multiplet(2.07, 2.07, "s", nH=2, atoms=(4,)), Multiplet(2.08, 2.08, "s", nH=3, atoms=(0,))])
    rows, _ = match_spectrum(obs, pred)
    assert [r.atoms for r in rows] == [(0,), (4,)]


def test_assigner_covers_both_nuclei_and_no_prediction() -> None:
    q = Query(spectra=[_c13(100.0), Spectrum1D("1H", [Multiplet(1.0, 1.2, "m", nH=2)])])
    pred = Query(spectra=[Spectrum1D("13C", [Peak(101.0, atoms=(2,))]),
                          Spectrum1D("1H", [Multiplet(1.1, 1.1, "t", nH=2, atoms=(2,))])])
    a = ShiftMatchAssigner().assign("CCC", q, pred)
    assert a.method == "shift-matching"
    assert [(p.nucleus, p.atoms) for p in a.peaks] == [("13C", (2,)), ("1H", (2,))]
    assert a.unexplained == []
    none = ShiftMatchAssigner().assign("CCC", q, None)
    assert len(none.unexplained) == 2
    d = a.to_dict()
    assert d["peaks"][0]["atoms"] == [2] and d["method"] == "shift-matching"


@dataclass
class _Row:
    atom: int
    nucleus: str
    peak: int | None
    predicted: float | None
    confidence: float | None


@dataclass
class _Result:
    rows: tuple
    method: str = "fake"


def test_model_rows_become_peak_rows() -> None:
    q = Query(spectra=[_c13(128.5, 21.0), Spectrum1D("1H", [Multiplet(2.1, 2.1, "s", nH=3)])])
    res = _Result((_Row(5, "13C", 0, 128.0, 0.9), _Row(6, "13C", 0, 129.0, 0.7), _Row(0, "13C", 1, 20.0, 1.0),
                   _Row(9, "13C", None, 70.0, None), _Row(0, "1H", 0, 2.0, 0.8)))
    a = convert_model_assignment(res, q, "m")
    assert [(p.nucleus, p.index, p.atoms) for p in a.peaks] == [("13C", 0, (5, 6)), ("13C", 1, (0,)), ("1H", 0, (0,))]
    assert a.peaks[0].predicted == pytest.approx(128.5) and a.peaks[0].confidence == pytest.approx(0.8)
    assert a.unassigned_atoms == {"13C": (9,)}
    with pytest.raises(NmrLensError):
        convert_model_assignment(_Result((_Row(0, "13C", 7, 1.0, 1.0),)), q, "m")
    with pytest.raises(NmrLensError):
        convert_model_assignment(object(), q, "m")
