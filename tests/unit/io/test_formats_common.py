"""Checks every format of :data:`nmrlens.io.FORMATS` must pass: safe writes, gzip and extension
dispatch, round trips of what the format can hold, fuzzing with arbitrary and damaged text, real records.

Each format's own test module keeps only its format-specific tests. :data:`CASES` says, per format,
what it can hold (a :class:`tests.strategies.Holds`) and how to exercise it.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nmrlens import io
from nmrlens.errors import FileFormatError, NmrLensError, OutputExistsError
from nmrlens.io._base import Writable
from nmrlens.spectra import Multiplet, Peak, Query, Spectrum1D
from tests.strategies import (
    EMPTY_MOLBLOCK,
    Holds,
    assigned_queries,
    assigned_queries_with_extras,
    held_queries,
    held_query_lists,
    held_spectra,
)

DATA = Path(__file__).resolve().parents[2] / "data"
_SPECTRUM = Spectrum1D("13C", [Peak(128.4)])
_META_OBJECT = Query(spectra=[_SPECTRUM], meta={"x": object()})
_NO_STRUCTURE = "x\n\n\n  0  0  0  0  0  0  0  0  0  0999 V2000\nM  END\n"


def _equal(back: list[Query], qs: list[Query], module: Any) -> None:
    assert back == qs


def _same_nmrshiftdb2(back: list[Query], qs: list[Query], module: Any) -> None:
    """nmrshiftdb2 adds its record fields to meta: all else reads back, meta keys are kept, and a
    second pass changes nothing."""
    assert len(back) == len(qs)
    for b, q in zip(back, qs):
        assert b.with_(meta={}) == q.with_(meta={})
        assert {k: b.meta.get(k) for k in q.meta} == dict(q.meta)
    assert module.loads(module.dumps(back), check_smiles=False) == back


def _csv_cell(text: str) -> bool:
    """CSV cells are stripped on reading, an empty cell is null and NUL cannot be stored."""
    return text == text.strip() and text != "" and "\x00" not in text


def _csv_fit(q: Query) -> Query | None:
    if len({sp.nucleus for sp in q.spectra}) != len(q.spectra):
        return None  # CSV holds one spectrum per nucleus and compound
    return q.with_(molblock=None)


def _acs_fit(q: Query) -> Query | None:
    """What ACS text holds of a real record: shifts, multiplicities, counts and conditions."""
    spectra = [sp.with_(peaks=[p.with_(atoms=()) if isinstance(p, Multiplet) else p.with_(atoms=(), intensity=None)
                               for p in sp.peaks]) for sp in q.spectra if sp.peaks]
    return Query(spectra=spectra) if spectra else None


@dataclass(frozen=True)
class Case:
    """How the common checks exercise one format.

    Attributes:
        holds: what the format can hold (drives the generated queries).
        ext: file name suffix of the write test.
        bad: what the writer refuses (FileFormatError matching ``bad_match``).
        one, many: strategies of one query and of several queries it holds (default: from ``holds``).
        load: options of ``loads`` when reading back what was written.
        same: asserts that what was read back is what was written.
        fuzz: (prefix, loads options) under which arbitrary text is read.
        sample: a hand-written file in tests/data that damaged-file fuzzing starts from (besides
            written queries); pieces: what the damage inserts; span: longest text a damage replaces.
        fit: what the format holds of a real record (None: it cannot hold that record).
    """

    holds: Holds
    ext: str
    bad: Writable
    bad_match: str
    one: st.SearchStrategy[Query] | None = None
    many: st.SearchStrategy[list[Query]] | None = None
    load: Mapping[str, Any] = field(default_factory=dict)
    same: Callable[[list[Query], list[Query], Any], None] = _equal
    fuzz: tuple[tuple[str, Mapping[str, Any]], ...] = (("", {}),)
    sample: str | None = None
    pieces: tuple[str, ...] = ("", "\n", ",", ";", "-", "9", "x")
    span: int = 20
    fit: Callable[[Query], Query | None] = lambda q: q

    def queries(self) -> st.SearchStrategy[Query]:
        return self.one if self.one is not None else held_queries(self.holds)

    def query_lists(self) -> st.SearchStrategy[list[Query]]:
        return self.many if self.many is not None else held_query_lists(self.holds)


_CSV = Holds(unique_nuclei=True, text_ok=_csv_cell, molblocks=(None,), meta=False, spectra2d=False)
_ACS = Holds(min_spectra=1, min_peaks=1, text_ok=None, exact_floats=False, atoms=False, intensity=False,
             formula=False, smiles=False, ids=False, molblocks=(None,), meta=False, spectra2d=False)
_NMREDATA = Holds(smiles=False, molblocks=(None, EMPTY_MOLBLOCK))

CASES: dict[str, Case] = {
    "json": Case(
        Holds(), ".json", _META_OBJECT, "meta",
        pieces=("", "\n", "{", "}", "[", "]", ",", ":", '"', "null", "true", "1e999", "-", "9", '"peaks"', '"shift"'),
    ),
    "acs": Case(
        _ACS, ".txt", Query(), "no 1D spectrum",
        fuzz=(("", {}), ("", {"nucleus": "1H"}), ("", {"nucleus": "13C"})),
        pieces=("", "\n", "\n\n", "(", ")", ",", ";", ".", "–", "-", "9", "7.26", "J =", "Hz", "1H NMR", "δ", "x"),
        fit=_acs_fit,
    ),
    "nmrshiftdb2": Case(
        Holds(spectra2d=False), ".jsonl", _META_OBJECT, "meta", load={"check_smiles": False}, same=_same_nmrshiftdb2,
        fuzz=(("", {}), ("", {"variant": "sd"}), ("", {"errors": "skip"}), (_NO_STRUCTURE, {"variant": "sd"}),
              (_NO_STRUCTURE + "> <Spectrum 13C 0>\n", {"variant": "sd"})),
        pieces=("", "\n", "{", "}", "[", "]", ",", ":", '"', "null", "1e999", "-", "9", '"nucleus"', "$$$$\n", "|"),
    ),
    "jcampdx": Case(
        Holds(), ".jdx", _META_OBJECT, "meta",
        fuzz=(("", {"nucleus": "13C"}), ("##TITLE=x\n", {"nucleus": "13C"}),
              ("##TITLE=x\n##DATA TYPE=NMR PEAK TABLE\n##PEAK TABLE=(XY..XY)\n", {"nucleus": "13C"})),
        sample="ethyl_acetate.jdx",
        pieces=("", "\n", "##", "=", ",", ";", "?", "(", ")", "<", ">", "$$", "##END=\n", "##TITLE=z\n", "1e999", "-",
                "9", "LINK", "\n##NPOINTS=1\n", "\n##XUNITS=HZ\n", "[", "]", "null", '"', "\\u0024", "\n##BLOCKS=7\n"),
    ),
    "nmredata": Case(
        _NMREDATA, ".nmredata.sdf", _META_OBJECT, "meta",
        one=st.one_of(assigned_queries(), assigned_queries_with_extras(), held_queries(_NMREDATA)),
        many=st.lists(assigned_queries_with_extras() | held_queries(_NMREDATA), min_size=2, max_size=4),
        fuzz=(("", {}), (_NO_STRUCTURE, {}), (_NO_STRUCTURE + ">  <NMREDATA_1D_1H>\n", {}),
              (_NO_STRUCTURE + ">  <NMREDATA_ASSIGNMENT>\n", {})),
        sample="ethyl_benzyl_acetate.nmredata.sdf",
        pieces=("", "\n", "\\", ",", ";", "=", "<\"", "\">", "-", "9", "1e999", "H", "L=", "S=", "N=", "J=", "$$$$\n",
                "\n\n", ">  <NMREDATA_1D_13C>\n", ">  <NMREDATA_ASSIGNMENT>\n", "M  END\n", "{", "}", "null", "\"n\":"),
    ),
    "csv": Case(
        _CSV, ".csv", Query(spectra=[_SPECTRUM, _SPECTRUM]), "one spectrum per nucleus",
        one=held_queries(_CSV).filter(lambda q: bool(q.id or q.spectra or q.formula or q.smiles)),
        many=held_query_lists(_CSV, unique_ids=True),
        fuzz=(("", {}), ("", {"nucleus": "13C"}), ("", {"nucleus": "1H"})),
        sample="benzyl_acetate.csv",
        pieces=("", ",", "\n", '"', ";", "x", "-", "9", "\x00", "1H", "e5"),
        span=12,
        fit=_csv_fit,
    ),
}
FORMAT_NAMES = list(CASES)
_SLOW_OK = [HealthCheck.too_slow, HealthCheck.filter_too_much]


def test_every_format_has_a_case() -> None:
    assert sorted(CASES) == sorted(io.FORMATS)


@pytest.mark.parametrize("name", FORMAT_NAMES)
def test_write_refuses_overwrite_and_leaves_no_partial_file(name: str, tmp_path: Path) -> None:
    case, module = CASES[name], io.format_module(name)
    target = tmp_path / f"a{case.ext}"
    io.write(_SPECTRUM, target)
    before = target.read_text()
    with pytest.raises(OutputExistsError):
        io.write(Spectrum1D("13C", [Peak(1.0)]), target)
    assert target.read_text() == before
    io.write(Spectrum1D("13C", [Peak(1.0)]), target, force=True)
    assert io.read_spectrum(target).shifts == [1.0]
    bad = tmp_path / f"b{case.ext}"
    with pytest.raises(FileFormatError, match=case.bad_match):
        module.write(case.bad, bad)
    assert not bad.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]


@pytest.mark.parametrize("name", FORMAT_NAMES)
def test_gzip_and_extension_dispatch(name: str, tmp_path: Path) -> None:
    case, module = CASES[name], io.format_module(name)
    q = Query(spectra=[Spectrum1D("1H", [Multiplet(1.0, 1.5, "m", nH=2)])])
    gz = tmp_path / f"a{case.ext}.gz"
    io.write(q, gz, fmt=name)
    data = gz.read_bytes()
    assert data[:2] == b"\x1f\x8b" and gzip.decompress(data).decode() == module.dumps(q)
    case.same(module.read(gz), [q], module)
    case.same(io.read(gz, fmt=name), [q], module)
    plain = tmp_path / f"b{case.ext}"
    io.write(q, plain)  # the format from the extension
    case.same(io.read(plain), [q], module)
    extensions = [ext for ext, fmt in io._EXTENSIONS if fmt == name]
    assert case.ext in extensions
    assert all(io.guess_format(f"x{ext}") == name for ext in extensions)


@pytest.mark.parametrize("name", FORMAT_NAMES)
@settings(max_examples=200, deadline=None, suppress_health_check=_SLOW_OK)
@given(data=st.data())
def test_round_trip_one_query(name: str, data: st.DataObject) -> None:
    case, module = CASES[name], io.format_module(name)
    q = data.draw(case.queries())
    case.same(module.loads(module.dumps(q), **case.load), [q], module)


@pytest.mark.parametrize("name", FORMAT_NAMES)
@settings(max_examples=100, deadline=None, suppress_health_check=_SLOW_OK)
@given(data=st.data())
def test_round_trip_many_queries(name: str, data: st.DataObject) -> None:
    case, module = CASES[name], io.format_module(name)
    qs = data.draw(case.query_lists())
    case.same(module.loads(module.dumps(qs), **case.load), qs, module)


@pytest.mark.parametrize("name", FORMAT_NAMES)
@settings(max_examples=100, deadline=None, suppress_health_check=_SLOW_OK)
@given(data=st.data())
def test_round_trip_bare_spectrum(name: str, data: st.DataObject) -> None:
    """A Spectrum1D written alone reads back as a query holding just it."""
    case, module = CASES[name], io.format_module(name)
    sp = data.draw(st.sampled_from(case.holds.nuclei).flatmap(lambda n: held_spectra(n, case.holds)))
    case.same(module.loads(module.dumps(sp), **case.load), [Query(spectra=(sp,))], module)


def _loads_only_nmrlens_errors(module: Any, text: str, options: Mapping[str, Any]) -> None:
    try:
        qs = module.loads(text, **options)
    except NmrLensError as exc:
        assert str(exc).strip()
    else:
        assert isinstance(qs, list) and all(isinstance(q, Query) for q in qs)


@pytest.mark.parametrize("name", FORMAT_NAMES)
@settings(max_examples=300, deadline=None, suppress_health_check=_SLOW_OK)
@given(text=st.text(max_size=300))
def test_fuzz_arbitrary_text_only_nmrlens_errors(name: str, text: str) -> None:
    module = io.format_module(name)
    for prefix, options in CASES[name].fuzz:
        _loads_only_nmrlens_errors(module, prefix + text, options)


@pytest.mark.parametrize("name", FORMAT_NAMES)
@settings(max_examples=250, deadline=None, suppress_health_check=_SLOW_OK)
@given(data=st.data())
def test_fuzz_damaged_files_only_nmrlens_errors(name: str, data: st.DataObject) -> None:
    """A hand-written file or a written query, with up to five pieces of text replaced."""
    case, module = CASES[name], io.format_module(name)
    if case.sample is not None and data.draw(st.booleans()):
        text = (DATA / case.sample).read_text()
    else:
        text = module.dumps(data.draw(case.queries()))
    for _ in range(data.draw(st.integers(1, 5))):
        i = data.draw(st.integers(0, len(text)))
        j = data.draw(st.integers(i, min(len(text), i + case.span)))
        text = text[:i] + data.draw(st.sampled_from(case.pieces)) + text[j:]
    _loads_only_nmrlens_errors(module, text, {})


@pytest.mark.data
@pytest.mark.parametrize("name", FORMAT_NAMES)
def test_real_records_round_trip(name: str, nmrshiftdb2_queries: Callable[..., list[Query]]) -> None:
    """Assigned nmrshiftdb2 records (molblock, 13C/1H/19F/31P with atoms; as much of them as the
    format holds) read back exactly."""
    case, module = CASES[name], io.format_module(name)
    qs = nmrshiftdb2_queries(40, case.fit)
    assert len(qs) == 40
    case.same(module.loads(module.dumps(qs), **case.load), qs, module)
