"""CSV peak tables: the documented columns, a hand-written file, what CSV cannot hold, errors, fuzzing of rows.

Round trips, fuzzing with text, safe writes and real records: tests/unit/io/test_formats_common.py.
"""

from __future__ import annotations

import csv as stdcsv
import io as stdio
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nmrlens.errors import FileFormatError, NmrLensError, SpectrumFormatError
from nmrlens.io import csv as ncsv
from nmrlens.spectra import Multiplet, Peak, Query, Spectrum1D, Spectrum2D, CrossPeak

DATA = Path(__file__).resolve().parents[2] / "data"
HEADER = "compound,nucleus,shift,shift_min,shift_max,mult,J,nH,count,intensity,atoms,label,solvent,frequency_MHz,formula,smiles"


def test_hand_written_file_is_read_exactly() -> None:
    qs = ncsv.read(DATA / "benzyl_acetate.csv")
    assert [q.id for q in qs] == ["benzyl acetate", "ethyl acetate"]
    ba, ea = qs
    assert ba.formula == "C9H10O2" and ba.smiles == "CC(=O)OCc1ccccc1" and ba.molblock is None
    c13, h1 = ba.spectra
    assert (c13.nucleus, c13.solvent, c13.frequency_MHz, c13.temperature_K) == ("13C", "CDCl3", 101.0, None)
    assert c13.shifts == [170.9, 136.0, 128.6, 128.3, 128.2, 66.3, 21.0]
    assert [p.mult for p in c13.peaks] == ["S", "S", "D", "D", "D", "T", "Q"]
    assert [p.count for p in c13.peaks] == [None, None, 2, None, 2, None, None]
    assert [p.atoms for p in c13.peaks] == [(1,), (5,), (7, 9), (8,), (6, 10), (4,), (0,)]
    assert h1.frequency_MHz == 400.0
    assert h1.peaks == (
        Multiplet(7.29, 7.39, "m", (), 5, (6, 7, 8, 9, 10), "H-o,m,p"),
        Multiplet(5.10, 5.10, "s", (), 2, (4,), "H-5"),
        Multiplet(2.09, 2.09, "s", (), 3, (0,), "H-1"),
    )
    assert ea.formula == "C4H8O2" and [sp.nucleus for sp in ea.spectra] == ["1H"]
    assert ea.spectra[0].peaks == (
        Multiplet(4.12, 4.12, "q", (7.1,), 2, (1,)), Multiplet(2.05, 2.05, "s", (), 3, (4,)),
        Multiplet(1.26, 1.26, "t", (7.1,), 3, (0,)),
    )
    assert ncsv.loads(ncsv.dumps(qs)) == qs


def test_writes_the_documented_header_and_rows() -> None:
    q = Query(spectra=[Spectrum1D("1H", [Multiplet(7.2, 7.31, "m", (7.5, 1.25), 5, (3, 4), "ar")], solvent="CDCl3")],
              formula="C7H8", id="toluene")
    lines = ncsv.dumps(q).splitlines()
    assert lines[0] == HEADER
    assert lines[1] == "toluene,1H,,7.2,7.31,m,7.5;1.25,5,,,3;4,ar,CDCl3,,C7H8,"
    q2 = Query(spectra=[Spectrum1D("13C", [Peak(115.2, coupling="d", J=(21.5,))], temperature_K=300.0)])
    lines = ncsv.dumps(q2).splitlines()
    assert lines[0] == HEADER + ",coupling,temperature_K"
    assert lines[1] == ",13C,115.2,,,,21.5,,,,,,,,,,d,300.0"


def test_minimal_csv_needs_the_nucleus_option() -> None:
    text = "shift\n77.16\n128.4\n\n21.0\n"
    with pytest.raises(FileFormatError, match="nucleus"):
        ncsv.loads(text)
    (q,) = ncsv.loads(text, nucleus="13c")
    assert q.id is None and q.spectra == (Spectrum1D("13C", [Peak(128.4), Peak(77.16), Peak(21.0)]),)
    (q,) = ncsv.loads("shift,nH,mult\n7.26,1,S\n1.2,3,t\n", nucleus="1H")
    assert q.spectra[0].peaks == (Multiplet(7.26, 7.26, "s", nH=1), Multiplet(1.2, 1.2, "t", nH=3))


def test_column_order_case_and_tabs() -> None:
    text = "\ufeffSmiles\tShift\tMult\tNucleus\tcompound\nCCO\t58.3\tt\t13C\tx\nCCO\t18.4\tCH3\t13C\tx\n"
    (q,) = ncsv.loads(text, delimiter="\t")
    assert q.id == "x" and q.smiles == "CCO"
    assert q.spectra[0].peaks == (Peak(58.3, mult="T"), Peak(18.4, mult="Q"))


def test_unknown_columns_are_named_with_the_allowed_ones() -> None:
    with pytest.raises(FileFormatError) as info:
        ncsv.loads("shift,width,colour\n1.0,2,red\n", nucleus="13C")
    msg = str(info.value)
    assert "'width'" in msg and "'colour'" in msg and "frequency_MHz" in msg and "temperature_K" in msg


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("nucleus,shift\n13C,abc\n", "csv row 2, column shift"),
        ("nucleus,shift\n13C,400\n", "csv 13C peaks[0].shift"),
        ("nucleus,shift,mult\n13C,40,X\n", "csv row 2, column mult"),
        ("nucleus,shift,mult\n1H,4,zz\n", "csv row 2, column mult"),
        ("nucleus,shift,J\n1H,4,7.1;x\n", "csv row 2, column J"),
        ("nucleus,shift,J\n1H,4,55\n", "csv row 2, column J[0]"),
        ("nucleus,shift,nH\n1H,4,0\n", "csv row 2, column nH"),
        ("nucleus,shift,atoms\n13C,4,1;-2\n", "csv row 2, column atoms"),
        ("nucleus,shift_min,shift_max\n13C,4,5\n", "csv row 2, column shift_min"),
        ("nucleus,shift_min,shift_max\n1H,5,4\n", "csv row 2, column shift_min"),
        ("nucleus,shift\ncarbon,4\n", "csv row 2, column nucleus"),
        ("nucleus,shift,solvent\n13C,4,a\n13C,5,b\n", "csv row 3, column solvent"),
        ("compound,formula,nucleus,shift\nx,C6H6,13C,1\nx,C7H8,13C,2\n", "csv row 3, column formula"),
        ("nucleus,shift,frequency_MHz\n13C,4,-3\n", "csv 13C frequency_MHz"),
    ],
)
def test_bad_cells_name_row_and_column(text: str, field: str) -> None:
    with pytest.raises(SpectrumFormatError) as info:
        ncsv.loads(text)
    assert info.value.field == field


@pytest.mark.parametrize(
    "text",
    ["", "  \n", "shift\n", "shift,shift\n1,2\n", 'shift\n"1\n', "nucleus,shift\n13C,1,2\n", "shift,\x00\n1,2\n",
     "shift\n1\n"],
)
def test_malformed_csv_is_a_file_format_error(text: str) -> None:
    with pytest.raises(FileFormatError):
        ncsv.loads(text)


def test_empty_spectra_and_queries_survive() -> None:
    qs = [Query(id="a"), Query(spectra=[Spectrum1D("13C"), Spectrum1D("1H", [Multiplet(1.0, 1.0)])], id="b")]
    assert ncsv.loads(ncsv.dumps(qs)) == qs


def test_several_queries_without_ids_get_generated_ids() -> None:
    qs = [Query(spectra=[Spectrum1D("13C", [Peak(1.0)])]), Query(spectra=[Spectrum1D("13C", [Peak(2.0)])], id="x")]
    back = ncsv.loads(ncsv.dumps(qs))
    assert [q.id for q in back] == ["compound 1", "x"]
    assert [q.spectra for q in back] == [q.spectra for q in qs]


def test_what_csv_cannot_hold() -> None:
    two_13c = Query(spectra=[Spectrum1D("13C", [Peak(1.0)]), Spectrum1D("13C", [Peak(2.0)])])
    with pytest.raises(FileFormatError, match="one spectrum per nucleus"):
        ncsv.dumps(two_13c)
    with pytest.raises(FileFormatError, match="used by two queries"):
        ncsv.dumps([Query(id="a"), Query(id="a")])
    with pytest.raises(FileFormatError, match="NUL"):
        ncsv.dumps(Query(spectra=[Spectrum1D("1H", [Multiplet(1.0, 1.0, label="a\x00b")])]))
    q = Query(spectra=[Spectrum1D("13C", [Peak(1.0)])], molblock="x\n\n\n  0  0  0  0  0  0  0  0  0  0999 V2000\nM  END\n",
              meta={"k": 1}, spectra2d=[Spectrum2D("HSQC", peaks=[CrossPeak(1.0, 20.0)])])
    assert ncsv.loads(ncsv.dumps(q)) == [Query(spectra=q.spectra)]


def test_cells_that_do_not_apply_are_ignored() -> None:
    (q,) = ncsv.loads("nucleus,shift,intensity,label,nH\n1H,7.26,100,a,1\n13C,77.0,5,b,1\n")
    assert q.spectra[0].peaks == (Multiplet(7.26, 7.26, nH=1, label="a"),)
    assert q.spectra[1].peaks == (Peak(77.0, intensity=5.0),)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.sampled_from(["", "1", "-2.5", "13C", "1H", "S", "dd", "7.1;2", "0;3", "x", "1e999", "nan",
                                          "br s", "C6H6", "q", "5", "400", '"', "CDCl3"]), min_size=1, max_size=8),
                min_size=1, max_size=6),
       st.lists(st.sampled_from(list(ncsv.COLUMNS + ncsv.OPTIONAL_COLUMNS)), min_size=1, max_size=8, unique=True))
def test_fuzz_structured_rows_only_nmrlens_errors(rows: list[list[str]], header: list[str]) -> None:
    buf = stdio.StringIO()
    w = stdcsv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    try:
        ncsv.loads(buf.getvalue(), nucleus="13C")
    except NmrLensError as exc:
        assert str(exc)
