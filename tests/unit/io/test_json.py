"""The nmrlens JSON format: the public schema, 2D spectra, errors, fuzzing with JSON values, read errors.

Round trips, fuzzing with text, safe writes and gzip: tests/unit/io/test_formats_common.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nmrlens import io
from nmrlens.errors import FileFormatError, NmrLensError, SpectrumFormatError
from nmrlens.io import json as njson
from nmrlens.spectra import CrossPeak, Multiplet, Peak, Query, Spectrum1D, Spectrum2D

SPEC_13C = '{"nucleus": "13C", "solvent": null, "frequency_MHz": null, "peaks": [{"shift": 128.4}, {"shift": 21.0, "mult": "Q"}]}'
SPEC_1H = '{"nucleus": "1H", "peaks": [{"shift_min": 7.20, "shift_max": 7.31, "mult": "m", "J": [], "nH": 5}, {"shift": 2.1, "mult": "s", "nH": 3}]}'


def test_reads_the_documented_schema() -> None:
    (q,) = njson.loads(SPEC_13C)
    assert q.spectra[0] == Spectrum1D("13C", [Peak(128.4), Peak(21.0, mult="Q")])
    (q,) = njson.loads(SPEC_1H)
    assert q.spectra[0].peaks == (Multiplet(7.2, 7.31, "m", (), 5), Multiplet(2.1, 2.1, "s", (), 3))
    text = '{"formula": "C9H10O2", "smiles": null, "spectra": [%s, %s]}' % (SPEC_13C, SPEC_1H)
    (q,) = njson.loads(text)
    assert q.formula == "C9H10O2" and q.nuclei == ["13C", "1H"]


def test_writes_the_documented_schema() -> None:
    sp = Spectrum1D("1H", [Multiplet(7.2, 7.31, "m", (), 5)])
    assert json.loads(njson.dumps(sp)) == {
        "nucleus": "1H", "solvent": None, "frequency_MHz": None,
        "peaks": [{"shift_min": 7.2, "shift_max": 7.31, "mult": "m", "J": [], "nH": 5}],
    }
    q = Query(spectra=[sp], formula="C7H8")
    assert json.loads(njson.dumps(q))["formula"] == "C7H8"


def test_2d_round_trip() -> None:
    sp = Spectrum2D("HSQC", peaks=[CrossPeak(7.26, 128.4, atoms_f2=(3,), atoms_f1=(3,)), CrossPeak(2.1, 21.0)])
    assert njson.loads(njson.dumps(sp)) == [Query(spectra2d=(sp,))]
    q = Query(spectra=[Spectrum1D("13C", [Peak(1.0)])], spectra2d=[sp], smiles="CC", id="x1", meta={"a": 1})
    assert njson.loads(njson.dumps(q)) == [q]


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('{"nucleus": "13C", "peaks": [{"shift": 400}]}', "spectrum.peaks[0].shift"),
        ('{"nucleus": "13C", "peaks": [{"shft": 40}]}', "spectrum.peaks[0].shft"),
        ('{"nucleus": "13C", "peaks": [{"mult": "S"}]}', "spectrum.peaks[0].shift"),
        ('{"nucleus": "1H", "peaks": [{"shift_min": 7.4, "shift_max": 7.2}]}', "spectrum.peaks[0].shift_min"),
        ('{"nucleus": "1H", "peaks": [{"shift": 7.4, "J": [55]}]}', "spectrum.peaks[0].J[0]"),
        ('{"nucleus": "1H", "peaks": [{"shift": 7.4, "nH": 0}]}', "spectrum.peaks[0].nH"),
        ('{"nucleus": "1H", "peaks": [{"shift": 7.4, "J": "7.1"}]}', "spectrum.peaks[0].J"),
        ('{"nucleus": "13C", "peaks": {"shift": 1}}', "spectrum.peaks"),
        ('{"nucleus": 13, "peaks": []}', "spectrum.nucleus"),
        ('{"spectra": [{"nucleus": "13C", "peaks": [{"shift": NaN}]}]}', "number"),
        ('{"formula": "C9H10O2", "spectra": [{"peaks": []}]}', "query.spectra[0].nucleus"),
    ],
)
def test_bad_input_names_the_field(text: str, field: str) -> None:
    with pytest.raises(SpectrumFormatError) as info:
        njson.loads(text)
    assert info.value.field == field


@pytest.mark.parametrize("text", ["", "   ", "{", "[]", "42", '"x"', '{"foo": 1}', "[1, 2]"])
def test_malformed_json_is_a_file_format_error(text: str) -> None:
    with pytest.raises(FileFormatError):
        njson.loads(text)


def _json_values() -> st.SearchStrategy[object]:
    scalars = st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False) | st.text(max_size=8)
    return st.recursive(scalars, lambda kids: st.lists(kids, max_size=4) | st.dictionaries(
        st.sampled_from(["nucleus", "peaks", "shift", "shift_min", "shift_max", "J", "nH", "mult", "spectra",
                         "formula", "smiles", "experiment", "f1", "f2", "atoms", "count", "meta", "x"]), kids, max_size=5),
        max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(_json_values())
def test_fuzz_arbitrary_json_only_nmrlens_errors(obj: object) -> None:
    try:
        text = json.dumps(obj)
    except ValueError:
        return
    try:
        njson.loads(text)
    except NmrLensError as exc:
        assert str(exc)


def test_deep_nesting_is_refused_cleanly() -> None:
    with pytest.raises(NmrLensError):
        njson.loads("[" * 100000 + "]" * 100000)


def test_read_errors(tmp_path: Path) -> None:
    with pytest.raises(NmrLensError, match="does not exist"):
        io.read(tmp_path / "missing.json")
    (tmp_path / "empty.json").write_text("")
    with pytest.raises(FileFormatError, match="empty"):
        io.read(tmp_path / "empty.json")
    (tmp_path / "bin.json").write_bytes(b"\xff\xfe\x00\x01")
    with pytest.raises(FileFormatError):
        io.read(tmp_path / "bin.json")
    with pytest.raises(FileFormatError, match="extension"):
        io.read(tmp_path / "x.unknown")
