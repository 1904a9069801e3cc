"""The adaptive spectral tokenizer: layout, configurations, round trips, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nmrlens.errors import ConfigError, DataNotFoundError, OutputExistsError, SpectrumFormatError
from nmrlens.spectra.model import Multiplet, Peak, Query, Spectrum1D
from nmrlens.tokenize import CONFIGS, SPECIAL_TOKENS, SpectralTokenizer, available_config, multiplicity_category
from tests.strategies import queries


@pytest.fixture(scope="module")
def tok() -> SpectralTokenizer:
    return SpectralTokenizer.load()


def _query(formula: str | None = "C8H8O2") -> Query:
    c13 = Spectrum1D("13C", [Peak(128.4), Peak(170.1), Peak(52.0, count=2)])
    h1 = Spectrum1D("1H", [
        Multiplet(7.26, 7.26, "d", J=(8.2,), nH=2),
        Multiplet(3.80, 3.90, "m", nH=3),
        Multiplet(6.90, 6.90, "qt", J=(7.0, 1.5), nH=None),
    ])
    return Query(spectra=(h1, c13), formula=formula)


def test_shipped_vocab(tok: SpectralTokenizer) -> None:
    assert tok.vocab_size == len(tok.vocab) == len(set(tok.vocab))
    assert tok.vocab[: len(SPECIAL_TOKENS)] == list(SPECIAL_TOKENS)
    assert (tok.pad_id, tok.bos_id, tok.eos_id, tok.unk_id) == (0, 1, 2, 3)
    assert tok.tables["13C"].n_inner == 1200 and tok.tables["1H"].n_inner == 600 and tok.tables["J"].n_inner == 60
    assert tok.token_to_id("13C[128.35,128.45)") != tok.unk_id
    assert tok.token_to_id("no such token") == tok.unk_id
    # every value a Query can hold has an inner interval
    for kind, (lo, hi) in {"13C": (-50, 300), "1H": (-3, 17), "J": (0, 40)}.items():
        t = tok.tables[kind]
        assert not t.is_overflow(t.index(lo)) and not t.is_overflow(t.index(hi))


def test_layout(tok: SpectralTokenizer) -> None:
    toks = tok.encode_tokens(_query())
    assert toks == [
        "<bos>",
        "<13C>", "13C[169.85,170.15)", "13C[128.35,128.45)", "13C[51.95,52.05)", "13C[51.95,52.05)", "</13C>",
        "<1H>",
        "mult:d", "J[8.15,8.25)", "nH=2", "1H[7.255,7.265)", "1H[7.255,7.265)",
        "mult:other", "J[6.95,7.05)", "J[1.35,1.65)", "nH=?", "1H[6.895,6.905)", "1H[6.895,6.905)",
        "mult:m", "nH=3", "1H[3.795,3.805)", "1H[3.895,3.905)",
        "</1H>",
        "<formula>", "C", "n=8", "H", "n=8", "O", "n=2", "</formula>",
        "<eos>",
    ]
    assert toks.index("</13C>") < toks.index("<1H>") < toks.index("<formula>")
    assert tok.tokens(tok.encode(_query())) == toks


def test_decode_inverse(tok: SpectralTokenizer) -> None:
    q = _query()
    d = tok.decode(tok.encode(q))
    c13 = d.spectrum("13C")
    assert [p.count for p in c13.peaks] == [None, None, 2]
    assert [p.shift for p in c13.peaks] == pytest.approx([170.1, 128.4, 52.0], abs=0.16)
    h1 = d.spectrum("1H")
    assert [m.mult for m in h1.peaks] == ["d", "m", "m"]  # "qt" is category other -> "m"
    assert [m.nH for m in h1.peaks] == [2, None, 3]
    assert h1.peaks[2].shift_min == pytest.approx(3.80, abs=0.006)
    assert h1.peaks[2].shift_max == pytest.approx(3.90, abs=0.006)
    assert h1.peaks[0].J == pytest.approx((8.2,), abs=0.06)
    assert h1.peaks[1].J == pytest.approx((7.0, 1.5), abs=0.16)
    assert h1.peaks[0].shift_min == h1.peaks[0].shift_max
    assert d.formula == "C8H8O2"


@pytest.mark.parametrize("config", CONFIGS)
def test_configs(tok: SpectralTokenizer, config: str) -> None:
    toks = tok.encode_tokens(_query(), config)
    assert toks[0] == "<bos>" and toks[-1] == "<eos>"
    assert ("<13C>" in toks) == ("C" in config)
    assert ("<1H>" in toks) == ("H" in config)
    assert ("<formula>" in toks) == ("F" in config)
    d = tok.decode(tok.encode(_query(), config.lower()))
    assert (d.spectrum("13C") is not None) == ("C" in config)
    assert (d.spectrum("1H") is not None) == ("H" in config)
    assert (d.formula is not None) == ("F" in config)


def test_missing_segments_are_left_out(tok: SpectralTokenizer) -> None:
    q = _query(formula=None)
    assert "<formula>" not in tok.encode_tokens(q, "CHF")
    assert available_config(q) == "CH"
    with pytest.raises(SpectrumFormatError, match="config HF"):
        tok.encode(Query(spectra=(q.spectrum("13C"),)), "HF")
    with pytest.raises(ConfigError, match="config"):
        tok.encode(q, "X")
    with pytest.raises(SpectrumFormatError):
        tok.encode("C9H10O2", "C")  # type: ignore[arg-type]


def test_empty_spectrum_and_other_nuclei(tok: SpectralTokenizer) -> None:
    q = Query(spectra=(Spectrum1D("13C", []), Spectrum1D("19F", [Peak(-63.0)])))
    assert tok.encode_tokens(q, "C") == ["<bos>", "<13C>", "</13C>", "<eos>"]
    assert tok.decode(tok.encode(q, "C")).spectrum("13C").peaks == ()


def test_nh_tokens(tok: SpectralTokenizer) -> None:
    h = Spectrum1D("1H", [Multiplet(1.0, 1.0, "s", nH=30), Multiplet(2.0, 2.0, "s", nH=24)])
    toks = tok.encode_tokens(Query(spectra=(h,)), "H")
    assert "nH>=25" in toks and "nH=24" in toks
    assert [m.nH for m in tok.decode(tok.encode(Query(spectra=(h,)), "H")).spectrum("1H").peaks] == [24, 25]


def test_unknown_multiplicity_is_other(tok: SpectralTokenizer) -> None:
    for mult in ("qt", "dqd", "ddq"):
        h = Spectrum1D("1H", [Multiplet(1.0, 1.0, mult)])
        assert "mult:other" in tok.encode_tokens(Query(spectra=(h,)), "H")


def test_max_length_guard(tok: SpectralTokenizer) -> None:
    c = Spectrum1D("13C", [Peak(20.0 + i * 0.1) for i in range(1500)])
    with pytest.raises(SpectrumFormatError, match="max_length"):
        tok.encode(Query(spectra=(c,)), "C")
    assert len(tok.encode(Query(spectra=(c,)), "C", max_length=2000)) == 1504
    with pytest.raises(SpectrumFormatError, match="at most 10 tokens"):
        tok.encode(_query(), "CHF", max_length=10)
    big = Spectrum1D("13C", [Peak(30.0, count=500)] * 3)
    with pytest.raises(SpectrumFormatError, match="max_length"):
        tok.encode(Query(spectra=(big,)), "C")


def test_overflow_tokens_decode_to_window_edge(tok: SpectralTokenizer) -> None:
    ids = [tok.bos_id, tok.token_to_id("<13C>"), tok.token_to_id(tok.tables["13C"].labels()[-1]),
           tok.token_to_id(tok.tables["13C"].labels()[0]), tok.token_to_id("</13C>"), tok.eos_id]
    assert [p.shift for p in tok.decode(ids).spectrum("13C").peaks] == [300.0, -50.0]
    assert tok.quantize("J", -5.0) == 0.0 and tok.quantize("J", 100.0) == 40.0


def _ids(tok: SpectralTokenizer, toks: list[str]) -> list[int]:
    return [tok.token_to_id(t) for t in toks]


def test_decode_grammar_errors(tok: SpectralTokenizer) -> None:
    good = tok.encode(_query())
    with pytest.raises(SpectrumFormatError, match=r"ids\[1\]"):
        tok.decode([tok.bos_id, tok.token_to_id("mult:s"), tok.eos_id])
    with pytest.raises(SpectrumFormatError, match="end marker"):
        tok.decode(good[:5] + [tok.eos_id])
    with pytest.raises(SpectrumFormatError, match="token id"):
        tok.decode([tok.bos_id, tok.vocab_size + 5])
    bad_group = _ids(tok, ["<bos>", "<1H>", "mult:s", "1H[1.005,1.015)", "1H[1.005,1.015)", "</1H>", "<eos>"])
    with pytest.raises(SpectrumFormatError, match="nH token"):
        tok.decode(bad_group)
    twice = _ids(tok, ["<bos>", "<13C>", "</13C>", "<13C>", "</13C>", "<eos>"])
    with pytest.raises(SpectrumFormatError, match="at most once"):
        tok.decode(twice)
    assert tok.decode(twice, strict=False).spectrum("13C").peaks == ()


def test_decode_lenient(tok: SpectralTokenizer) -> None:
    good = tok.encode(_query())
    # PAD ends the sequence; a missing <bos> is fine
    assert tok.decode(good[1:-1] + [tok.pad_id] * 3) == tok.decode(good)
    # a broken multiplet group is skipped, the rest kept
    toks = tok.tokens(good)
    i = toks.index("mult:d")
    broken = good[: i + 1] + good[i + 3 :]  # drop the J and nH tokens of the doublet
    with pytest.raises(SpectrumFormatError):
        tok.decode(broken)
    d = tok.decode(broken, strict=False)
    assert [m.mult for m in d.spectrum("1H").peaks] == ["m", "m"]  # the doublet is gone
    # missing end marker before the next segment
    no_end = [t for t in good if t != tok.token_to_id("</13C>")]
    assert len(tok.decode(no_end, strict=False).spectrum("13C").peaks) == 3


def test_save_load(tok: SpectralTokenizer, tmp_path: Path) -> None:
    p = tmp_path / "v.json"
    tok.save(p)
    again = SpectralTokenizer.load(p)
    assert again.to_dict() == tok.to_dict()
    assert again.encode(_query()) == tok.encode(_query())
    with pytest.raises(OutputExistsError):
        tok.save(p)
    d = json.loads(p.read_text())
    d["tokens"][20] = "edited"
    p.write_text(json.dumps(d))
    with pytest.raises(ConfigError, match="token list"):
        SpectralTokenizer.load(p)
    p.write_text(json.dumps({**d, "format_version": 99}))
    with pytest.raises(ConfigError, match="format_version"):
        SpectralTokenizer.load(p)
    with pytest.raises(DataNotFoundError):
        SpectralTokenizer.load(tmp_path / "missing.json")


def _check_round_trip(tok: SpectralTokenizer, q: Query) -> None:
    ids = tok.encode(q, "CHF", max_length=10_000)
    d = tok.decode(ids)
    c0, c1 = q.spectrum("13C"), d.spectrum("13C")
    if c0 is not None:
        orig = [p.shift for p in c0.peaks for _ in range(p.count or 1)]
        dec = [p.shift for p in c1.peaks for _ in range(p.count or 1)]
        assert len(orig) == len(dec)
        t = tok.tables["13C"]
        for a, b in zip(orig, dec):
            assert abs(a - b) <= t.half_width(t.index(a)) + 1e-9
    h0, h1 = q.spectrum("1H"), d.spectrum("1H")
    if h0 is not None:
        assert len(h0.peaks) == len(h1.peaks)
        th, tj = tok.tables["1H"], tok.tables["J"]
        for m0, m1 in zip(h0.peaks, h1.peaks):
            for a, b in ((m0.shift_min, m1.shift_min), (m0.shift_max, m1.shift_max)):
                assert abs(a - b) <= th.half_width(th.index(a)) + 1e-9
            assert len(m0.J) == len(m1.J)
            for a, b in zip(m0.J, m1.J):
                assert abs(a - b) <= tj.half_width(tj.index(a)) + 1e-9
            assert (m0.shift_min == m0.shift_max) <= (m1.shift_min == m1.shift_max)
            cat = multiplicity_category(m0.mult)
            assert multiplicity_category(m1.mult) == ("m" if cat == "other" else cat)
            assert m1.nH == (None if m0.nH is None else min(m0.nH, 25))
    assert d.formula == q.formula
    # the token level is idempotent
    if all(multiplicity_category(m.mult) != "other" for sp in q.spectra if sp.nucleus == "1H" for m in sp.peaks):
        assert tok.encode(d, "CHF", max_length=10_000) == ids


@settings(max_examples=200, deadline=None)
@given(queries())
def test_round_trip_within_half_width(q: Query) -> None:
    _check_round_trip(SpectralTokenizer.load(), q)


@st.composite
def _wide_queries(draw: st.DrawFn) -> Query:
    """Queries over the whole range the data model allows (unrounded floats)."""
    c = [Peak(draw(st.floats(-50, 300)), count=draw(st.sampled_from([None, 2, 4]))) for _ in range(draw(st.integers(0, 8)))]
    h = []
    for _ in range(draw(st.integers(0, 6))):
        a, b = sorted((draw(st.floats(-3, 17)), draw(st.floats(-3, 17))))
        h.append(Multiplet(a, b, draw(st.sampled_from([None, "s", "dd", "br s", "app t", "qt", "dddd", "m"])),
                           J=tuple(draw(st.lists(st.floats(0, 40), max_size=8))), nH=draw(st.sampled_from([None, 1, 7, 60]))))
    formula = draw(st.sampled_from([None, "C20H30", "H2O", "C250H400N2"]))
    spectra = [Spectrum1D("13C", c)] if draw(st.booleans()) else []
    if draw(st.booleans()) or not spectra:
        spectra.append(Spectrum1D("1H", h))
    return Query(spectra=spectra, formula=formula)


@settings(max_examples=200, deadline=None)
@given(_wide_queries())
def test_round_trip_whole_range(q: Query) -> None:
    _check_round_trip(SpectralTokenizer.load(), q)
