"""Tests of the nmrshiftdb2 format (JSON-lines records and the SD file).

Round trips of generated queries, fuzzing and safe writes: tests/unit/io/test_formats_common.py.
"""

from __future__ import annotations

import gzip
import itertools
import json
import logging
from pathlib import Path

import pytest

import nmrlens.io as nio
from nmrlens.errors import FileFormatError, InvalidMoleculeError, SpectrumFormatError
from nmrlens.io import nmrshiftdb2 as nd
from nmrlens.spectra.model import Multiplet, Peak, Query, Spectrum1D

# Ethyl acetate, unassigned, as in the shared file.
RECORD = {
    "nmrshiftdb2_id": 1001, "source": "pb-commits/nmrshift2db", "molblock": None, "smiles": "CCOC(C)=O",
    "formula": "C4H8O2", "inchikey": "XEKOWRVHYACXOJ-UHFFFAOYSA-N", "source_inchikey": "XEKOWRVHYACXOJ-UHFFFAOYSA-N",
    "source_inchi": "InChI=1S/C4H8O2/c1-3-6-4(2)5/h3H2,1-2H3", "assigned": False,
    "spectra": [
        {"nucleus": "13C", "key": "Spectrum 13C 0",
         "peaks": [{"shift": 171.1, "src_atoms": [3], "mult": "S"}, {"shift": 60.4, "src_atoms": [1], "mult": "T"},
                   {"shift": 21.0, "src_atoms": [4], "mult": "Q"}, {"shift": 14.2, "src_atoms": [0], "mult": "q"}],
         "solvent": "Chloroform-D1 (CDCl3)", "temperature_K": 298.0, "field_MHz": 100.6, "assignment_method": None},
        {"nucleus": "1H", "key": "Spectrum 1H 1",
         "peaks": [{"shift": 4.12, "src_atoms": [1, 1], "mult": "brs", "nH": 2},
                   {"shift": 2.05, "src_atoms": [4], "mult": "AA'BB'", "intensity": 3.0, "nH": 3},
                   {"shift": 1.26, "src_atoms": [0], "nH": 0, "nH_uncertain": True}],
         "solvent": None, "temperature_K": 0.0, "field_MHz": None, "assignment_method": None},
        {"nucleus": "APT", "key": "Spectrum APT 2", "peaks": [{"shift": 60.4, "src_atoms": [1], "mult": "T"}],
         "solvent": None, "temperature_K": None, "field_MHz": None, "assignment_method": None},
    ],
    "calc_spectra": [{"nucleus": "13C", "key": "Spectrum 13C 3", "peaks": [{"shift": 170.0, "src_atoms": [3], "mult": "S"}],
                      "program": "HOSE code using nmrshiftdb2 data"}],
    "empty_experiments": ["H,C-HSQC"], "split": "keep", "split_hash": 17,
}

# Acetic acid anion with an explicit H, assigned (molblock atom indices), charged formula.
MOLBLOCK = """acetate
     RDKit          2D

  5  4  0  0  0  0  0  0  0  0999 V2000
    0.0000    0.0000    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0
    1.2990    0.7500    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0
    1.2990    2.2500    0.0000 O   0  0  0  0  0  0  0  0  0  0  0  0
    2.5981    0.0000    0.0000 O   0  5  0  0  0  0  0  0  0  0  0  0
   -1.2990   -0.7500    0.0000 H   0  0  0  0  0  0  0  0  0  0  0  0
  1  2  1  0
  2  3  2  0
  2  4  1  0
  1  5  1  0
M  CHG  1   4  -1
M  END
"""
ASSIGNED = {
    "nmrshiftdb2_id": 2002, "source": "CASCADE/NMR8K", "molblock": MOLBLOCK, "smiles": "[H]CC(=O)[O-]",
    "formula": "C2H3O2-", "inchikey": None, "source_inchikey": "QTBSBXVTEAMEQO-UHFFFAOYSA-M", "source_inchi": None,
    "assigned": True,
    "spectra": [{"nucleus": "13C", "key": "Spectrum 13C 0",
                 "peaks": [{"shift": 178.0, "src_atoms": [1], "atoms": [1], "mult": "S"},
                           {"shift": 24.0, "src_atoms": [0], "atoms": [0], "mult": "Q"}],
                 "solvent": "Deuteriumoxide (D2O)", "temperature_K": None, "field_MHz": None, "assignment_method": "1D"}],
    "calc_spectra": [], "empty_experiments": [], "split": "keep", "split_hash": 3,
}


def _line(rec: dict) -> str:
    return json.dumps(rec) + "\n"


# --------------------------------------------------------------------------------- jsonl reading

def test_record_to_query_fields() -> None:
    q = nd.loads(_line(RECORD))[0]
    assert q.id == "1001" and q.smiles == "CCOC(C)=O" and q.formula == "C4H8O2" and q.molblock is None
    assert [sp.nucleus for sp in q.spectra] == ["13C", "1H"]
    c13, h1 = q.spectra
    assert c13.peaks[0] == Peak(shift=171.1, mult="S")
    assert c13.peaks[3].mult is None and c13.peaks[3].coupling == "q"  # lower-case letter = coupling
    assert c13.solvent == "Chloroform-D1 (CDCl3)" and c13.frequency_MHz == 100.6 and c13.temperature_K == 298.0
    assert all(isinstance(p, Multiplet) and p.shift_min == p.shift_max for p in h1.peaks)
    assert [p.shift for p in h1.peaks] == [4.12, 2.05, 1.26]
    assert [p.nH for p in h1.peaks] == [2, 3, None]  # nH = 0 is unknown
    assert [p.mult for p in h1.peaks] == ["br s", None, None]
    assert h1.temperature_K is None  # 0 K is unknown
    meta = q.meta
    assert meta["inchikey"] == RECORD["inchikey"] and meta["source"] == RECORD["source"]
    assert meta["assigned"] is False and meta["split_hash"] == 17
    assert meta["spectra"][0]["key"] == "Spectrum 13C 0"
    assert meta["spectra"][1]["peaks"][0] == {"src_atoms": [1, 1], "mult": "brs"}
    assert meta["spectra"][1]["peaks"][1] == {"src_atoms": [4], "mult": "AA'BB'", "intensity": 3.0}
    assert meta["spectra"][1]["peaks"][2] == {"src_atoms": [0], "nH": 0, "nH_uncertain": True}
    assert meta["spectra"][1]["raw"] == {"temperature_K": 0.0}
    assert [sp["nucleus"] for sp in meta["other_spectra"]] == ["APT"]
    assert meta["calc_spectra"][0]["program"] == "HOSE code using nmrshiftdb2 data"
    assert meta["empty_experiments"] == ["H,C-HSQC"]


def test_assigned_record_atoms_and_charged_formula() -> None:
    q = nd.loads(_line(ASSIGNED))[0]
    assert q.formula == "C2H3O2"  # element counts; the charge is kept in meta
    assert q.meta["formula"] == "C2H3O2-"
    assert q.molblock == MOLBLOCK
    assert [p.atoms for p in q.spectra[0].peaks] == [(1,), (0,)]
    assert q.meta["assigned"] is True and q.meta["inchikey"] is None


def test_read_report_counts_other_spectra() -> None:
    report = nd.ReadReport()
    nd.loads(_line(RECORD) + _line(ASSIGNED), report=report)
    assert (report.records, report.queries, report.other_spectra, report.skipped_spectra) == (2, 2, 1, 0)


@pytest.mark.parametrize(
    "raw, canonical",
    [("s", "s"), ("brs", "br s"), ("bs", "br s"), ("br. s", "br s"), ("Sb", "br s"), ("br", "br s"), ("DD", "dd"),
     ("Dd", "dd"), ("doublet", "d"), ("d (6.1)", "d"), ("dd (12.0, 2.0)", "dd"), ("t sept", "tsept"), ("heptet", "sept"),
     ("Quintuplett", "quint"), ("brd", "br d"), ("d br", "br d"), ("m", "m"), ("AA'BB'", None), ("overlap", None),
     (".60", None), ("tsp", None), ("", None), (None, None), ("d" * 200, None)],
)
def test_normalize_h1_mult(raw: object, canonical: str | None) -> None:
    assert nd.normalize_h1_mult(raw) == canonical


@pytest.mark.parametrize("raw, expected", [("S", ("S", None)), ("Q", ("Q", None)), ("d", (None, "d")),
                                           ("dd", (None, "dd")), ("u", (None, None)), (None, (None, None))])
def test_carbon_mult(raw: object, expected: tuple) -> None:
    assert nd.carbon_mult(raw) == expected


# --------------------------------------------------------------------------------- jsonl writing

def test_jsonl_dumps_reproduces_source_record() -> None:
    for rec in (RECORD, ASSIGNED):
        out = json.loads(nd.dumps(nd.loads(_line(rec))))
        assert out == rec


def test_jsonl_round_trip_equal_queries() -> None:
    qs = nd.loads(_line(RECORD) + _line(ASSIGNED))
    assert nd.loads(nd.dumps(qs)) == qs


def test_handmade_query_round_trip_keeps_spectra() -> None:
    q = Query(
        spectra=(
            Spectrum1D("13C", (Peak(128.5, mult="D", count=2), Peak(115.2, coupling="d", J=(21.0,), atoms=(3,)),
                               Peak(30.0, mult="T", coupling="t", intensity=2.5))),
            Spectrum1D("1H", (Multiplet(7.20, 7.31, mult="m", nH=5), Multiplet(2.3, 2.3, mult="dd", J=(7.5, 1.2), nH=2,
                                                                                label="H-3"))),
            Spectrum1D("19F", (Peak(-110.0, coupling="dd"),), solvent="CDCl3", frequency_MHz=376.0),
        ),
        formula="C9H10O2", smiles="O=C(O)CCc1ccccc1", id="my compound",
        meta={"note": "hand-made"},
    )
    back = nd.loads(nd.dumps(q))[0]
    assert back.spectra == q.spectra
    assert (back.formula, back.smiles, back.id, back.molblock) == (q.formula, q.smiles, q.id, q.molblock)
    assert back.meta["note"] == "hand-made"
    assert back.meta["spectra"][0]["key"] == "Spectrum 13C 0"
    assert nd.loads(nd.dumps(back)) == [back]


def test_dumps_writes_numeric_id_as_int() -> None:
    rec = json.loads(nd.dumps(Query(spectra=(Spectrum1D("13C", (Peak(20.0),)),), id="42")))
    assert rec["nmrshiftdb2_id"] == 42 and rec["assigned"] is False and rec["spectra"][0]["key"] == "Spectrum 13C 0"
    rec = json.loads(nd.dumps(Query(spectra=(Spectrum1D("13C", (Peak(20.0),)),), id="007")))
    assert rec["nmrshiftdb2_id"] == "007"


# --------------------------------------------------------------------------------- errors

def test_bad_smiles_strict_raises_naming_the_record() -> None:
    bad = dict(RECORD, nmrshiftdb2_id=77, smiles="C1CC(")
    with pytest.raises(InvalidMoleculeError, match="record 77"):
        nd.loads(_line(bad))


def test_bad_records_skipped_are_counted_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    bad = dict(RECORD, nmrshiftdb2_id=77, smiles="C1CC(")
    hydride = json.loads(json.dumps(RECORD))
    hydride["spectra"][1]["peaks"][2]["shift"] = -8.5
    text = _line(RECORD) + _line(bad) + "{not json\n" + _line(hydride)
    report = nd.ReadReport()
    with caplog.at_level(logging.WARNING, logger="nmrlens.io.nmrshiftdb2"):
        qs = nd.loads(text, errors="skip", report=report)
    assert [q.id for q in qs] == ["1001", "1001"]
    assert [sp.nucleus for sp in qs[1].spectra] == ["13C"]  # the 1H spectrum with -8.5 ppm was left out
    assert (report.records, report.queries, report.skipped_records, report.skipped_spectra) == (4, 2, 2, 1)
    assert "skipped 2 of 4 records and 1 spectra" in caplog.text


def test_out_of_range_shift_strict_names_the_field() -> None:
    rec = json.loads(json.dumps(RECORD))
    rec["spectra"][1]["peaks"][0]["shift"] = 18.4
    with pytest.raises(SpectrumFormatError, match=r"record 1001 spectrum 'Spectrum 1H 1'.peaks\[0\].shift_min: got 18.4"):
        nd.loads(_line(rec))


def test_malformed_input() -> None:
    with pytest.raises(FileFormatError, match="line 2"):
        nd.loads(_line(RECORD) + "{oops\n")
    with pytest.raises(FileFormatError, match="empty"):
        nd.loads("  \n")
    with pytest.raises(FileFormatError, match="errors"):
        nd.loads(_line(RECORD), errors="ignore")
    with pytest.raises(FileFormatError, match="variant"):
        nd.loads(_line(RECORD), variant="xml")
    with pytest.raises(SpectrumFormatError, match="spectra"):
        nd.loads(_line(dict(RECORD, spectra="13C")))
    with pytest.raises(SpectrumFormatError, match=r"peaks\[0\].shift"):
        nd.loads(_line(dict(RECORD, spectra=[{"nucleus": "13C", "peaks": [{"shift": "12"}]}])))
    with pytest.raises(FileFormatError, match="NaN"):
        nd.loads('{"nmrshiftdb2_id": 1, "smiles": "C", "spectra": [{"nucleus": "13C", "peaks": [{"shift": NaN}]}]}\n')


# --------------------------------------------------------------------------------- SD variant

SD_TEXT = """ethanol
  nmrshiftdb2

  4  3  0  0  0  0  0  0  0  0999 V2000
    0.0000    0.0000    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0
    1.2990    0.7500    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0
    2.5981    0.0000    0.0000 O   0  0  0  0  0  0  0  0  0  0  0  0
    3.8971    0.7500    0.0000 H   0  0  0  0  0  0  0  0  0  0  0  0
  1  2  1  0  0  0  0
  2  3  1  0  0  0  0
  3  4  1  0  0  0  0
M  END
> <nmrshiftdb2 ID>
10017

> <Spectrum 13C 0>
18.1;0.0Q;0|57.8;0.0T;1|

> <Spectrum 1H 1>
1.22;0.0t;0|3.69;0.0q;1|2.61;0.0s;3|

> <Spectrum 13C 2>
18.0;0.0Q;0|58.3;0.0T;1|

> <Program>
2:HOSE code using nmrshiftdb2 data 

> <Solvent>
0:Chloroform-D1 (CDCl3) 1:Unreported 2:Unreported 

> <Temperature [K]>
0:298 1:Unreported 

> <Field Strength [MHz]>
0:100.6 1:400 

> <INChI key>
LFQSCWFLJHTTHZ-UHFFFAOYSA-N

$$$$
"""


def test_sd_read_fields_and_spectra() -> None:
    (q,) = nd.loads(SD_TEXT)  # detected as SD
    assert q.id == "10017" and q.smiles == "CCO" and q.formula == "C2H6O"
    assert [(sp.nucleus, len(sp.peaks)) for sp in q.spectra] == [("13C", 2), ("1H", 3)]  # calculated 13C 2 left out
    c13, h1 = q.spectra
    assert c13.shifts == [57.8, 18.1] and [p.mult for p in c13.peaks] == ["T", "Q"] and c13.peaks[0].atoms == (1,)
    assert (c13.solvent, c13.temperature_K, c13.frequency_MHz) == ("Chloroform-D1 (CDCl3)", 298.0, 100.6)
    assert (h1.solvent, h1.temperature_K, h1.frequency_MHz) == (None, None, 400.0)
    assert [p.mult for p in h1.peaks] == ["q", "s", "t"]
    # the OH entry names the explicit H atom 3: its heavy atom (O, 2) carries the multiplet, nH = 1
    oh = h1.peaks[1]
    assert oh.atoms == (2,) and oh.nH == 1
    assert h1.peaks[0].atoms == (1,) and h1.peaks[0].nH is None  # index of a heavy atom: nH unknown
    assert q.meta["sd_fields"]["INChI key"] == "LFQSCWFLJHTTHZ-UHFFFAOYSA-N"
    assert "Spectrum 13C 2" in q.meta["sd_fields"] and "Program" in q.meta["sd_fields"]


def test_sd_groups_equivalent_atoms_into_one_peak() -> None:
    text = SD_TEXT.replace("18.1;0.0Q;0|57.8;0.0T;1|", "18.1;0.0Q;0|18.1;0.0Q;1|")
    (q,) = nd.loads(text, variant="sd")
    assert len(q.spectra[0].peaks) == 1 and q.spectra[0].peaks[0].atoms == (0, 1)


def test_sd_round_trip() -> None:
    qs = nd.loads(SD_TEXT)
    text = nd.dumps(qs, variant="sd")
    assert "> <Spectrum 13C 0>" in text and "> <Spectrum 13C 2>" in text and text.endswith("$$$$\n")
    assert nd.loads(text) == qs


def test_jsonl_to_sd_keeps_spectra() -> None:
    qs = nd.loads(_line(ASSIGNED) + _line(RECORD))
    back = nd.loads(nd.dumps(qs, variant="sd"))
    for q, b in zip(qs, back):
        assert [sp.nucleus for sp in b.spectra] == [sp.nucleus for sp in q.spectra]
        for s, t in zip(q.spectra, b.spectra):
            assert s.shifts == t.shifts and s.solvent == t.solvent and s.temperature_K == t.temperature_K
            assert [getattr(p, "nH", None) for p in s.peaks] == [getattr(p, "nH", None) for p in t.peaks]
            assert [p.atoms for p in s.peaks] == [p.atoms for p in t.peaks]
    assert back[0].molblock == MOLBLOCK  # assigned: the source molblock keeps the atom order
    assert back[1].smiles == "CCOC(C)=O" and "M  END" in back[1].molblock  # unassigned: drawn from the SMILES


def test_sd_errors() -> None:
    with pytest.raises(FileFormatError, match="M  END"):
        nd.loads("no molblock here\n$$$$\n", variant="sd")
    bad_index = SD_TEXT.replace("18.1;0.0Q;0|57.8;0.0T;1|", "18.1;0.0Q;9|")
    with pytest.raises(SpectrumFormatError, match="atom index below 4"):
        nd.loads(bad_index)
    bad_entry = SD_TEXT.replace("18.1;0.0Q;0|57.8;0.0T;1|", "18.1|")
    with pytest.raises(SpectrumFormatError, match="shift;<intensity><mult>;<atom index>"):
        nd.loads(bad_entry)
    report = nd.ReadReport()
    assert len(nd.loads(bad_entry, errors="skip", report=report)[0].spectra) == 1
    assert report.skipped_spectra == 1


def test_detect_variant() -> None:
    assert nd.detect_variant('  {"a": 1}') == "jsonl"
    assert nd.detect_variant(SD_TEXT) == "sd"


# --------------------------------------------------------------------------------- files

def test_read_write_files_and_registry(tmp_path: Path) -> None:
    qs = nd.loads(_line(RECORD) + _line(ASSIGNED))
    gz = tmp_path / "out.jsonl.gz"
    nio.write(qs, gz)
    assert gzip.open(gz, "rt").readline().startswith('{"nmrshiftdb2_id": 1001')
    assert nio.read(gz) == qs
    assert list(nd.iter_queries(gz)) == qs
    sd = tmp_path / "out.sd"
    nio.write(qs, sd)
    assert sd.read_text().count("$$$$") == 2
    assert [q.id for q in nio.read(sd)] == ["1001", "2002"]


# --------------------------------------------------------------------------------- real data

def test_real_data_first_500_records(data_dir: Path) -> None:
    path = data_dir / "nmrshiftdb2" / "molecules.jsonl.gz"
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        lines = list(itertools.islice(fh, 500))
    records = [json.loads(line) for line in lines]
    report = nd.ReadReport()
    qs = nd.loads("".join(lines), errors="skip", report=report)
    assert len(qs) == 500 and report.skipped_records == 0

    def representable(sp: dict) -> bool:
        lo, hi = {"1H": (-3, 17), "13C": (-50, 300)}.get(sp["nucleus"], (-1e4, 1e4))
        return all(lo <= p["shift"] <= hi for p in sp["peaks"])

    n_expected_skips = 0
    for rec, q in zip(records, qs):
        assert q.id == str(rec["nmrshiftdb2_id"]) and q.smiles == rec["smiles"]
        isotopes = [sp for sp in rec["spectra"] if nd._is_isotope(sp["nucleus"])]
        kept = [sp for sp in isotopes if representable(sp)]
        n_expected_skips += len(isotopes) - len(kept)
        assert len(q.spectra) == len(kept)
        for sp, src in zip(q.spectra, kept):
            assert len(sp.peaks) == len(src["peaks"])  # peaks per spectrum equal the source's
            assert sp.shifts == sorted((p["shift"] for p in src["peaks"]), reverse=True)
            if sp.nucleus == "1H":
                assert sum(p.nH or 0 for p in sp.peaks) == sum(p.get("nH", 0) for p in src["peaks"])
    assert report.skipped_spectra == n_expected_skips >= 1  # record 2597 has a 1H peak at -5.45 ppm
    # our own file reads back to equal queries
    assert nd.loads(nd.dumps(qs)) == qs
