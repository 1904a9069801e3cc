"""NMReDATA SD files: a hand-written two-record file, spec details, round trips, errors, fuzzing, safe writes."""

from __future__ import annotations

import gzip
import json
from functools import lru_cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nmrlens import io
from nmrlens.errors import FileFormatError, InvalidMoleculeError, NmrLensError, OutputExistsError, SpectrumFormatError
from nmrlens.io import nmredata
from nmrlens.spectra import CrossPeak, Multiplet, Peak, Query, Spectrum1D, Spectrum2D

DATA = Path(__file__).resolve().parents[2] / "data"
SDF = DATA / "ethyl_benzyl_acetate.nmredata.sdf"
MULTS = ["s", "d", "t", "q", "quint", "sext", "sept", "m", "dd", "dt", "td", "ddd", "br s", "app t", "qd"]
SMILES = ["CCOC(C)=O", "CC(=O)OCc1ccccc1", "Cc1ccccc1", "OCC(F)(F)F", "C/C=C/C(=O)O", "CP(C)(=O)OC"]
PLAIN_LABELS = st.from_regex(r"[A-Za-z][A-Za-z0-9_'\-+*.#:]{0,8}", fullmatch=True)
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)


@lru_cache(maxsize=None)
def _molecule(smiles: str, explicit_h: bool) -> tuple[str, tuple[str, ...]]:
    """(molblock, element of each atom) with RDKit 2D coordinates."""
    from rdkit import Chem
    from rdkit.Chem import rdDepictor

    mol = Chem.MolFromSmiles(smiles)
    if explicit_h:
        mol = Chem.AddHs(mol)
    rdDepictor.Compute2DCoords(mol)
    return Chem.MolToMolBlock(mol), tuple(a.GetSymbol() for a in mol.GetAtoms())


def rounded(lo: float, hi: float, places: int) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False).map(lambda x: round(x, places))


@st.composite
def structured_queries(draw: st.DrawFn, plain: bool = False) -> Query:
    """A query on a real structure whose peaks are assigned to atoms of the right element.

    ``plain``: labels that the NMREDATA tags hold as they are, integral shifts, no extras needed.
    """
    smiles = draw(st.sampled_from(SMILES))
    explicit = draw(st.booleans())
    molblock, symbols = _molecule(smiles, explicit)
    heavy = [i for i, s in enumerate(symbols) if s != "H"]
    spectra = []
    nuclei = draw(st.lists(st.sampled_from(["13C", "1H", "19F", "31P"]), min_size=1, max_size=3))
    for nuc in nuclei:
        element = {"13C": "C", "19F": "F", "31P": "P"}.get(nuc)
        own = [i for i in heavy if symbols[i] == element] if element else heavy
        atoms = st.lists(st.sampled_from(own), max_size=3, unique=True).map(tuple) if own else st.just(())
        if nuc == "1H":
            peaks = draw(st.lists(st.builds(
                lambda lo, w, mult, J, nH, a, label: Multiplet(lo, round(lo + w, 4), mult, J, nH, a, label),
                rounded(-1.0, 14.0, 4), st.sampled_from([0.0, 0.0, 0.1, 0.25]), st.sampled_from([None, *MULTS]),
                st.lists(rounded(0.5, 20.0, 2), max_size=3).map(tuple), st.sampled_from([None, 1, 2, 3]), atoms,
                st.none() if plain else st.none() | PLAIN_LABELS | TEXT,
            ), max_size=6))
        else:
            peaks = draw(st.lists(st.builds(
                lambda shift, mult, inten, a, count: Peak(shift, mult if nuc == "13C" else None, inten, a,
                                                          None if nuc == "13C" and plain else count),
                rounded(-40.0, 230.0, 4), st.sampled_from([None, "S", "D", "T", "Q"]),
                st.none() | st.floats(-1e6, 1e6, allow_nan=False), atoms, st.sampled_from([None, 2, 3]),
            ), max_size=6))
        spectra.append(Spectrum1D(nuc, peaks, solvent=draw(st.sampled_from([None, "CDCl3"] if plain else [None, "CDCl3", "DMSO-d6"])),
                                  frequency_MHz=draw(st.sampled_from([None, 100.61, 400.13]))))
    if plain:  # one solvent, unique labels that cannot clash with generated ones (C4, H4)
        counter = iter(range(1000))
        spectra = [sp.with_(solvent=spectra[0].solvent, peaks=[
            p.with_(label=f"m{next(counter)}") if isinstance(p, Multiplet) and (p.atoms or draw(st.booleans())) else p
            for p in sp.peaks]) for sp in spectra]
    return Query(
        spectra=spectra, smiles=smiles if plain or draw(st.booleans()) else None,
        molblock=molblock if plain or draw(st.booleans()) else None,
        formula=draw(st.sampled_from([None, "C4H8O2"])), id=draw(st.sampled_from(["q1", "ethyl acetate"]) if plain else st.none() | TEXT),
    )


@st.composite
def any_queries(draw: st.DrawFn) -> Query:
    """Queries with or without a structure, with values that only NMRLENS_EXTRA can hold."""
    q = draw(structured_queries())
    if draw(st.booleans()):
        q = q.with_(molblock=None, smiles=None, spectra=[
            sp.with_(peaks=[p.with_(atoms=(7, 2)) for p in sp.peaks]) for sp in q.spectra])
    return q.with_(
        meta=draw(st.dictionaries(st.text(max_size=4), st.integers() | st.text(max_size=6), max_size=2)),
        spectra2d=draw(st.sampled_from([(), (Spectrum2D("HMBC", peaks=[CrossPeak(2.1, 170.9)]),)])),
        spectra=[sp.with_(temperature_K=draw(st.sampled_from([None, 298.15, 300.0])), solvent=draw(st.none() | TEXT))
                 for sp in q.spectra],
    )


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
    molblock, _ = _molecule("CCOC(C)=O", True)
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


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(structured_queries())
def test_round_trip_assigned_queries(q: Query) -> None:
    assert nmredata.loads(nmredata.dumps(q)) == [q]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(structured_queries(plain=True))
def test_standard_tags_alone_carry_plain_queries(q: Query) -> None:
    """A plain assigned query needs no NMRLENS_EXTRA: other programs see all of it."""
    text = nmredata.dumps(q)
    assert "NMRLENS_EXTRA" not in text
    assert nmredata.loads(text) == [q]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(any_queries(), min_size=1, max_size=3))
def test_round_trip_anything(qs: list[Query]) -> None:
    assert nmredata.loads(nmredata.dumps(qs)) == qs


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_fuzz_arbitrary_text_only_nmrlens_errors(text: str) -> None:
    empty = "x\n\n\n  0  0  0  0  0  0  0  0  0  0999 V2000\nM  END\n"
    for candidate in (text, empty + text, empty + ">  <NMREDATA_1D_1H>\n" + text, empty + ">  <NMREDATA_ASSIGNMENT>\n" + text):
        try:
            nmredata.loads(candidate)
        except NmrLensError as exc:
            assert str(exc)


_PIECES = ["", "\n", "\\", ",", ";", "=", "<\"", "\">", "-", "9", "1e999", "H", "L=", "S=", "N=", "J=", "$$$$\n", "\n\n",
           ">  <NMREDATA_1D_13C>\n", ">  <NMREDATA_ASSIGNMENT>\n", "M  END\n", "{", "}", "null", "\"n\":"]


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_fuzz_mutated_valid_files_only_nmrlens_errors(data: st.DataObject) -> None:
    if data.draw(st.booleans()):
        text = SDF.read_text()
    else:
        text = nmredata.dumps(data.draw(any_queries()))
    for _ in range(data.draw(st.integers(1, 5))):
        i = data.draw(st.integers(0, len(text)))
        j = data.draw(st.integers(i, min(len(text), i + 20)))
        text = text[:i] + data.draw(st.sampled_from(_PIECES)) + text[j:]
    try:
        nmredata.loads(text)
    except NmrLensError as exc:
        assert str(exc)


def test_write_refuses_overwrite_and_leaves_no_partial_file(tmp_path: Path) -> None:
    target = tmp_path / "a.nmredata.sdf"
    sp = Spectrum1D("13C", [Peak(128.4)])
    io.write(sp, target)
    before = target.read_text()
    with pytest.raises(OutputExistsError):
        io.write(Spectrum1D("13C", [Peak(1.0)]), target)
    assert target.read_text() == before
    io.write(Spectrum1D("13C", [Peak(1.0)]), target, force=True)
    assert io.read_spectrum(target).shifts == [1.0]
    bad = tmp_path / "b.nmredata.sdf"
    with pytest.raises(FileFormatError, match="meta"):
        nmredata.write(Query(spectra=[sp], meta={"x": object()}), bad)
    assert not bad.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.nmredata.sdf"]


def test_gzip(tmp_path: Path) -> None:
    q = Query(spectra=[Spectrum1D("1H", [Multiplet(1.0, 1.5, "m", nH=2)])], id="z", smiles="CC")
    nmredata.write(q, tmp_path / "a.sdf.gz")
    assert nmredata.read(tmp_path / "a.sdf.gz") == [q]


@pytest.mark.data
def test_real_records_round_trip(data_dir: Path) -> None:
    """Assigned nmrshiftdb2 records (their molblocks, 13C/1H/19F/31P with atoms) read back exactly,
    and the standard tags alone keep every shift and atom assignment."""
    qs = _nmrshiftdb2_queries(data_dir, 40)
    assert len(qs) == 40
    text = nmredata.dumps(qs)
    assert nmredata.loads(text) == qs
    public = "$$$$\n".join(rec.split(">  <NMRLENS_EXTRA>")[0] for rec in text.split("$$$$\n"))
    for q, back in zip(qs, nmredata.loads(public)):
        for sp, bsp in zip(q.spectra, back.spectra):
            assert [(p.shift if isinstance(p, Peak) else p.shift_min, p.atoms) for p in sp.peaks] == \
                [(p.shift if isinstance(p, Peak) else p.shift_min, p.atoms) for p in bsp.peaks]


def _nmrshiftdb2_queries(data_dir: Path, n: int) -> list[Query]:
    """The first ``n`` assigned nmrshiftdb2 records as queries (records the model rejects are skipped)."""
    path = data_dir / "nmrshiftdb2" / "molecules.jsonl.gz"
    if not path.exists():
        pytest.skip(f"{path} is missing")
    out: list[Query] = []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            if not rec.get("assigned"):
                continue
            try:
                q = _record_query(rec)
            except NmrLensError:  # a few source values are outside the model's ranges (e.g. 0 K)
                continue
            if q is not None:
                out.append(q)
            if len(out) == n:
                break
    return out


def _record_query(rec: dict) -> Query | None:
    from nmrlens.spectra import is_valid_multiplicity

    spectra = []
    for s in rec["spectra"]:
        if s["nucleus"] not in ("13C", "1H", "19F", "31P"):
            continue
        if s["nucleus"] == "1H":
            ps: list[Peak | Multiplet] = [Multiplet(
                p["shift"], p["shift"], p.get("mult") if is_valid_multiplicity(p.get("mult")) else None,
                nH=p.get("nH"), atoms=p.get("atoms", ())) for p in s["peaks"]]
        else:
            ps = [Peak(p["shift"], mult=p.get("mult") if p.get("mult") in ("S", "D", "T", "Q") else None,
                       intensity=p.get("intensity"), atoms=p.get("atoms", ())) for p in s["peaks"]]
        spectra.append(Spectrum1D(s["nucleus"], ps, solvent=s.get("solvent"), frequency_MHz=s.get("field_MHz"),
                                  temperature_K=s.get("temperature_K")))
    return Query(spectra=spectra, smiles=rec["smiles"], formula=rec["formula"], molblock=rec["molblock"],
                 id=str(rec["nmrshiftdb2_id"]))
