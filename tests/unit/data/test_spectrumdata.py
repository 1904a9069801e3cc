"""Molecule + experimental peak-list datapoints."""

from __future__ import annotations

from nmrlens.data.spectrumdata import SpectrumBuildReport, spectrum_datapoint


def _record(**kw):
    rec = {"nmrshiftdb2_id": 7, "smiles": "CCO", "inchikey": "LFQSCWFLJHTTHZ-UHFFFAOYSA-N", "formula": "C2H6O",
           "assigned": False, "molblock": None, "spectra": []}
    rec.update(kw)
    return rec


def test_keeps_largest_spectrum_per_nucleus() -> None:
    rec = _record(spectra=[
        {"nucleus": "13C", "peaks": [{"shift": 58.0}]},
        {"nucleus": "13C", "peaks": [{"shift": 58.3}, {"shift": 18.4}]},
        {"nucleus": "1H", "peaks": [{"shift": 3.7, "nH": 2}, {"shift": 1.2, "nH": 3}]},
    ])
    dp = spectrum_datapoint(rec)
    assert dp is not None and dp.n_c == 2 and dp.n_h == 6
    assert dp.query.spectrum("13C").shifts == [58.3, 18.4]
    assert [m.nH for m in dp.query.spectrum("1H").peaks] == [2, 3]


def test_skips_and_counts() -> None:
    report = SpectrumBuildReport()
    too_many = _record(spectra=[{"nucleus": "13C", "peaks": [{"shift": s} for s in (10.0, 20.0, 30.0)]}])
    assert spectrum_datapoint(too_many, report) is None
    assert spectrum_datapoint(_record(smiles="C[Sn](C)(C)C", spectra=too_many["spectra"]), report) is None
    assert spectrum_datapoint(_record(), report) is None
    assert report.skipped == {"13C: more peaks than carbons (13C dropped)": 1, "molecule not supported": 1,
                              "no 13C or 1H spectrum": 1}
    assert report.kept == 0
