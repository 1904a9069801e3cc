"""NMReDATA SD files: a hand-written two-record file, spec details, the written tags, errors, standard tags alone.

Round trips, fuzzing, safe writes and real records: tests/unit/io/test_formats_common.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import pytest
from hypothesis import HealthCheck, given, settings

from nmrlens.errors import FileFormatError, InvalidMoleculeError, NmrLensError, SpectrumFormatError
from nmrlens.io import nmredata
from nmrlens.spectra import Multiplet, Peak, Query, Spectrum1D
from tests.strategies import assigned_queries, molecule

DATA = Path(__file__).resolve().parents[2] / "data"
SDF = DATA / "ethyl_benzyl_acetate.nmredata.sdf"


def test_hand_written_file_is_read_exactly() -> None:
    ea, ba = nmredata.read(SDF)
    assert ea.id == "EA-0001" and ea.formula == "C4H8O2" and ea.smiles == "CCOC(C)=O"
    assert ea.molblock is not None and ea.molblock.startswith("ethyl acetate\n") and ea.molblock.endswith("M  END\n")
    assert ea.molblock.count("\n") == 32 and ea.meta == {}
    c13, h1 = ea.spectra
    assert (c13.nucleus, c13.frequency_MHz, c13.solvent, c13.temperature_K) == ("13C", 100.61, "CDCl3", 298.0)
    assert c13.peaks == (
        Peak(171.36, "S", 35.2, (3,)), Peak(60.49, "T", 88.0, (1,)), Peak(21.04, "Q", 79.5, (4,)),
        Peak(14.19, "Q", 100.0, (0,)),
    )
    # explicit H atoms 10, 11 (1-based) sit on atom 2 -> heavy-atom index 1
    assert (h1.nucleus, h1.frequency_MHz, h1.solvent, h1.temperature_K) == ("1H", 400.13, "CDCl3", 298.0)
    assert h1.peaks == (
        Multiplet(4.12, 4.12, "q", (7.14,), 2, (1,), "a"), Multiplet(2.05, 2.05, "s", (), 3, (4,), "b"),
        Multiplet(1.26, 1.26, "t", (7.14,), 3, (0,), "c"),
    )
    assert ba.id == "benzyl acetate"  # no NMREDATA_ID: the molblock title
    assert ba.formula == "C9H10O2" and ba.smiles == "CC(=O)OCc1ccccc1"  # SMILES computed by RDKit
    c13, dept, h1 = ba.spectra
    assert c13.shifts == [170.9, 136.0, 128.6, 128.3, 128.2, 66.3, 21.0]
    assert [p.mult for p in c13.peaks] == ["S", "S", "D", "D", "D", "T", "Q"]
    assert [p.atoms for p in c13.peaks] == [(1,), (5,), (7, 9), (8,), (6, 10), (4,), (0,)]
    assert dept.nucleus == "13C" and [(p.shift, p.mult, p.intensity) for p in dept.peaks] == [
        (128.6, "D", 95.1), (128.3, "D", 48.0), (128.2, "D", 90.7), (66.3, "T", -61.2), (21.0, "Q", 70.4)]
    assert h1.temperature_K is None and h1.peaks == (
        Multiplet(7.29, 7.39, "m", (), 5, (6, 7, 8, 9, 10), "H-o,m,p"), Multiplet(5.1, 5.1, "s", (), 2, (4,), "H-5"),
        Multiplet(2.09, 2.09, "s", (), 3, (0,), "H-1"),
    )


def test_hand_written_file_round_trips() -> None:
    qs = nmredata.read(SDF)
    text = nmredata.dumps(qs)
    assert nmredata.loads(text) == qs
    from rdkit import Chem

    supplier = Chem.SDMolSupplier()
    supplier.SetData(text, removeHs=False)
    mols = [m for m in supplier]
    assert [m.GetNumAtoms() for m in mols] == [14, 11]
    assert mols[0].GetProp("NMREDATA_SMILES") == "CCOC(C)=O\\"
    assert "NMREDATA_1D_13C#2" in mols[1].GetPropNames()


def test_writes_the_documented_tags() -> None:
    sp13 = Spectrum1D("13C", [Peak(171.36, "S", atoms=(3,)), Peak(14.19, "Q", 2.5, (0,))], solvent="CDCl3",
                      frequency_MHz=100.61, temperature_K=298.15)
    sp1 = Spectrum1D("1H", [Multiplet(4.0, 4.24, "q", (7.14, 1.2), 2, (1,), "a"), Multiplet(1.26, 1.26, "t", (7.1,), 3, (0,))],
                     solvent="CDCl3", frequency_MHz=400.13, temperature_K=298.15)
    q = Query(spectra=[sp13, sp1, sp13], smiles="CCOC(C)=O", formula="C4H8O2", id="EA-1")
    text = nmredata.dumps(q)
    lines = text.splitlines()
    assert lines[0] == "EA-1" and "M  END" in lines and lines[-1] == "$$$$"
    for tag, content in [("NMREDATA_VERSION", ["1.1\\"]), ("NMREDATA_LEVEL", ["0\\"]), ("NMREDATA_ID", ["DB_ID=EA-1\\"]),
                         ("NMREDATA_FORMULA", ["C4H8O2\\"]), ("NMREDATA_SMILES", ["CCOC(C)=O\\"]),
                         ("NMREDATA_SOLVENT", ["CDCl3\\"]), ("NMREDATA_TEMPERATURE", ["298.15 K\\"]),
                         ("NMREDATA_ASSIGNMENT", ["C4, 171.3600, 4\\", "C1, 14.1900, 1\\", "a, 4.1200, H2\\", "H1, 1.2600, H1\\",
                                                  "C4_2, 171.3600, 4\\", "C1_2, 14.1900, 1\\"]),
                         ("NMREDATA_1D_13C", ["Larmor=100.61\\", "171.3600, N=0, L=C4\\", "14.1900, N=3, L=C1, I=2.5\\"]),
                         ("NMREDATA_1D_1H", ["Larmor=400.13\\", "4.2400-4.0000, S=q, J=7.14, 1.20, N=2, L=a\\",
                                             "1.2600, S=t, J=7.10, N=3, L=H1\\"]),
                         ("NMREDATA_1D_13C#2", ["Larmor=100.61\\", "171.3600, N=0, L=C4_2\\", "14.1900, N=3, L=C1_2, I=2.5\\"])]:
        i = lines.index(f">  <{tag}>")
        assert lines[i + 1:i + 2 + len(content)] == [*content, ""], tag
    # only what the tags cannot say goes to NMRLENS_EXTRA: the generated molblock and the generated label H1
    extra = json.loads(lines[lines.index(">  <NMRLENS_EXTRA>") + 1])
    assert extra == {"version": 1, "query": {"molblock": None}, "spectra": [
        {"tag": "NMREDATA_1D_13C", "n": 2}, {"tag": "NMREDATA_1D_1H", "n": 2, "peaks": {"1": {"label": None}}},
        {"tag": "NMREDATA_1D_13C#2", "n": 2}]}
    assert nmredata.loads(text) == [q]


def test_explicit_h_molblock_lists_the_h_atoms() -> None:
    molblock, _ = molecule("CCOC(C)=O", True)
    q = Query(spectra=[Spectrum1D("1H", [Multiplet(4.12, 4.12, "q", (7.1,), 2, (1,), "a")])], molblock=molblock,
              smiles="CCOC(C)=O")
    text = nmredata.dumps(q)
    assert "a, 4.1200, 10, 11\\" in text.splitlines()
    assert "NMRLENS_EXTRA" not in text
    assert nmredata.loads(text) == [q]


def test_query_without_structure_has_an_empty_molblock_that_rdkit_reads() -> None:
    from rdkit import Chem

    q = Query(spectra=[Spectrum1D("13C", [Peak(77.16)])], id="no structure")
    text = nmredata.dumps(q)
    mb = text.split("M  END")[0] + "M  END\n"
    mol = Chem.MolFromMolBlock(mb)
    assert mol is not None and mol.GetNumAtoms() == 0
    assert text.startswith("no structure\n  nmrlens\n") and "NMRLENS_EXTRA" not in text
    assert nmredata.loads(text) == [q]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("7.2600\\\n", [Multiplet(7.26, 7.26)]),
        ("7.39-7.29, S=m, N=5\\\n7.1, S=bs, N=1, L=x\\\n", [Multiplet(7.29, 7.39, "m", nH=5), Multiplet(7.1, 7.1, "br s", nH=1, label="x")]),
        ("4.18, S=dd, N=1, L=a, J=9.32(b),4.80(c)\\\n", [Multiplet(4.18, 4.18, "dd", (9.32, 4.8), 1, label="a")]),
        ("Larmor=500.13\\MD5_1r=5E77\\4.8000, S=q, N=2, L=a, J=7.00\\\n", [Multiplet(4.8, 4.8, "q", (7.0,), 2, label="a")]),
        ("1.5, S=hept;comment, N=0\\\n", [Multiplet(1.5, 1.5, "sept")]),
        ("-0.5000--1.0000, S=m\\\n", [Multiplet(-1.0, -0.5, "m")]),
    ],
)
def test_1d_1h_signal_lines(body: str, expected: list[Multiplet] | None) -> None:
    text = "x\n\n\n  0  0  0  0  0  0  0  0  0  0999 V2000\nM  END\n>  <NMREDATA_1D_1H>\n" + body + "\n$$$$\n"
    if expected is None:
        with pytest.raises(NmrLensError):
            nmredata.loads(text)
        return
    (q,) = nmredata.loads(text)
    assert list(q.spectra[0].peaks) == sorted(expected, key=lambda p: -p.shift_max)


def test_13c_and_other_nuclei_attributes() -> None:
    text = ("x\n\n\n  0  0  0  0  0  0  0  0  0  0999 V2000\nM  END\n"
            ">  <NMREDATA_1D_13C>\n14.1823, S=2, I=-95.12\\\n115.2, S=d, J=21.5\\\n99.0, N=0, S=3\\\n\n"
            ">  <NMREDATA_1D_19F>\nLarmor=376.5\\\n-63.5, N=3, S=s\\\n\n$$$$\n")
    (q,) = nmredata.loads(text)
    c13, f19 = q.spectra
    assert c13.peaks == (Peak(115.2, coupling="d", J=(21.5,)), Peak(99.0, "S"), Peak(14.1823, "T", -95.12))
    assert f19 == Spectrum1D("19F", [Peak(-63.5, count=3, coupling="s")], frequency_MHz=376.5)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("no molblock here\n", "M  END"),
        ("$$$$\n\n$$$$\n", "no SD record"),
        ("x\n\n\nM  END\n>  <NMREDATA_1D_1H>\nwhat\n\n", "expected a shift"),
        ("x\n\n\nM  END\n>  <NMREDATA_1D_13C>\n1, Q\n\n", "does not follow an attribute"),
        ("x\n\n\nM  END\n>  <NMREDATA_1D_13C>\n1-2\n\n", "cannot be a range"),
        ("x\n\n\nM  END\n>  <NMREDATA_1D_1H>\nLarmor=fast\n\n", "expected a number"),
        ("x\n\n\nM  END\n>  <NMREDATA_ASSIGNMENT>\na, 1.0\n\n", "expected 'label, shift, atom"),
        ("x\n\n\nM  END\n>  <NMREDATA_ASSIGNMENT>\na, 1.0, x1\n\n", "atom number"),
        ("x\n\n\nM  END\n>  <NMREDATA_ASSIGNMENT>\na, 1.0, 1\\\na, 2.0, 2\n\n", "twice"),
        ("x\n\n\n  0  0  0  0  0  0  0  0  0  0999 V2000\nM  END\n>  <NMREDATA_ASSIGNMENT>\na, 1.0, 1\n\n"
         ">  <NMREDATA_1D_13C>\n1.0, L=a\n\n", "beyond the molblock's 0 atoms"),
        ("x\n\n\nM  END\n>  <NMREDATA_TEMPERATURE>\nwarm\n\n", "TEMPERATURE"),
        ("x\n\n\nM  END\n>  <NMREDATA_TEMPERATURE>\n-3 K\n\n>  <NMREDATA_1D_1H>\n1.0\n\n", "TEMPERATURE"),
        ("x\n\n\nM  END\n>  <NMRLENS_EXTRA>\n{\n\n", "not valid JSON"),
        ("x\n\n\nM  END\n>  <NMRLENS_EXTRA>\n{\"version\": 1, \"spectra\": [{}]}\n\n", "describes 1 spectra"),
        ("x\n\n\nM  END\n>  <NMREDATA_1D_1H>\n1.0, S=sq\n\n", None),
    ],
)
def test_malformed_records(text: str, match: str | None) -> None:
    with pytest.raises(NmrLensError, match=match):
        nmredata.loads(text)


def test_bad_values_name_record_and_tag() -> None:
    text = "x\n\n\nM  END\n>  <NMREDATA_1D_13C>\n400.0\n\n"
    with pytest.raises(SpectrumFormatError) as info:
        nmredata.loads(text)
    assert info.value.field.startswith("nmredata: record 1 (line 1) <NMREDATA_1D_13C>")


def test_edited_file_with_stale_extra_is_refused() -> None:
    q = Query(spectra=[Spectrum1D("13C", [Peak(77.16, count=3)])], id="x")
    text = nmredata.dumps(q)
    edited = text.replace("77.1600\\\n", "77.1600\\\n20.0\\\n")
    with pytest.raises(FileFormatError, match="delete the NMRLENS_EXTRA"):
        nmredata.loads(edited)


def test_write_errors() -> None:
    with pytest.raises(InvalidMoleculeError):
        nmredata.dumps(Query(smiles="C1CC"))
    with pytest.raises(FileFormatError, match="RDKit cannot read"):
        nmredata.dumps(Query(molblock="junk\n\n\n  x\nM  END\n"))
    with pytest.raises(FileFormatError, match="atom index 9"):
        nmredata.dumps(Query(spectra=[Spectrum1D("13C", [Peak(1.0, atoms=(9,))])], smiles="CC"))
    with pytest.raises(FileFormatError, match="M  END"):
        nmredata.dumps(Query(molblock="no end"))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(assigned_queries(plain=True))
def test_standard_tags_alone_carry_plain_queries(q: Query) -> None:
    """A plain assigned query needs no NMRLENS_EXTRA: other programs see all of it."""
    text = nmredata.dumps(q)
    assert "NMRLENS_EXTRA" not in text
    assert nmredata.loads(text) == [q]


@pytest.mark.data
def test_real_records_standard_tags_keep_shifts_and_atoms(nmrshiftdb2_queries: Callable[..., list[Query]]) -> None:
    """Assigned nmrshiftdb2 records: the standard tags alone keep every shift and atom assignment."""
    qs = nmrshiftdb2_queries(40, lambda q: q)
    assert len(qs) == 40
    text = nmredata.dumps(qs)
    public = "$$$$\n".join(rec.split(">  <NMRLENS_EXTRA>")[0] for rec in text.split("$$$$\n"))
    for q, back in zip(qs, nmredata.loads(public)):
        for sp, bsp in zip(q.spectra, back.spectra):
            assert [(p.shift if isinstance(p, Peak) else p.shift_min, p.atoms) for p in sp.peaks] == \
                [(p.shift if isinstance(p, Peak) else p.shift_min, p.atoms) for p in bsp.peaks]
