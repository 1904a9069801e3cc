"""Query loading for elucidate: files, text (sniffed), dicts; clear errors."""

from __future__ import annotations

import json

import pytest

from nmrlens.errors import FileFormatError, NmrLensError, SpectrumFormatError
from nmrlens.pipeline.query import check_query, load_query, query_from_text, sniff_format, with_formula
from nmrlens.spectra.model import Query, Spectrum1D

from .helpers import EXAMPLE_TXT


@pytest.mark.parametrize("text, fmt", [
    ('{"nucleus": "13C", "peaks": []}', "json"),
    ("  [ {} ]", "json"),
    ("##TITLE=x\n##JCAMP-DX=5.01", "jcampdx"),
    ("\n\n  RDKit\n\n  0  0  0  0  0  0  0  0  0  0999 V2000\nM  END\n", "nmredata"),
    ("1H NMR (400 MHz, CDCl3) δ 7.26 (s, 1H)", "acs"),
])
def test_sniff_format(text: str, fmt: str) -> None:
    assert sniff_format(text) == fmt


def test_text_file_and_literature_text_give_the_same_query() -> None:
    from_file = load_query(str(EXAMPLE_TXT))
    from_text = load_query(EXAMPLE_TXT.read_text())
    assert [s.nucleus for s in from_file.spectra] == ["1H", "13C"]
    assert from_file.spectrum("13C").shifts == from_text.spectrum("13C").shifts == [170.9, 136.0, 128.6, 128.3, 128.2, 66.3, 21.0]
    assert [p.nH for p in from_file.spectrum("1H").peaks] == [5, 2, 3]


def test_dict_and_json_text() -> None:
    d = {"formula": "C2H6O", "spectra": [{"nucleus": "13C", "peaks": [{"shift": 58.3}, {"shift": 18.2}]}]}
    q1 = load_query(d)
    q2 = query_from_text(json.dumps(d))
    assert q1.formula == q2.formula == "C2H6O"
    assert q1.spectrum("13C").shifts == [58.3, 18.2]


def test_unknown_extension_is_sniffed(tmp_path) -> None:  # noqa: ANN001
    p = tmp_path / "peaks.dat"
    p.write_text(EXAMPLE_TXT.read_text())
    assert load_query(str(p)).spectrum("13C").shifts[0] == 170.9


@pytest.mark.parametrize("bad", ["", "   ", "no nmr here at all"])
def test_bad_text_raises_nmrlens_error(bad: str) -> None:
    with pytest.raises(NmrLensError):
        query_from_text(bad)


def test_query_without_13c_or_1h_is_refused() -> None:
    q = Query(spectra=[Spectrum1D("19F")])
    with pytest.raises(SpectrumFormatError) as exc:
        check_query(q)
    assert exc.value.field == "query.spectra"


def test_too_long_text_is_refused() -> None:
    with pytest.raises(FileFormatError, match="at most"):
        query_from_text("1" * 1_000_001)


def test_with_formula_normalises_and_keeps_when_none() -> None:
    q = load_query(EXAMPLE_TXT.read_text())
    assert with_formula(q, "H10C9O2").formula == "C9H10O2"
    assert with_formula(q, None).formula is None
    with pytest.raises(NmrLensError):
        with_formula(q, "C9Xx")


from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

_ALPHABET = st.sampled_from(list("0123456789.,;:()[]{}- δ\n\t\"'HCNMRsdtqmJz=#+/") + ["1H NMR", "13C NMR", "(m, 5H)",
                                                                                      "##TITLE=", "M  END"])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_ALPHABET, max_size=60).map("".join))
def test_any_text_gives_a_query_or_an_nmrlens_error(text: str) -> None:
    try:
        q = query_from_text(text)
    except NmrLensError:
        return
    assert any(s.nucleus in ("13C", "1H") and len(s) for s in q.spectra)
