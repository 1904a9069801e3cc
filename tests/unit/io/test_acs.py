"""ACS-style literature NMR text: reading real-looking variants, writing, fuzzing with text fragments, linear time.

Round trips, fuzzing with arbitrary text and safe writes: tests/unit/io/test_formats_common.py.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nmrlens.errors import FileFormatError, NmrLensError, SpectrumFormatError
from nmrlens.io import acs
from nmrlens.spectra import Multiplet, Peak, Query, Spectrum1D

H1 = "1H NMR (400 MHz, CDCl3) δ 7.36 – 7.28 (m, 5H), 5.11 (s, 2H), 2.10 (s, 3H)."
C13 = "13C NMR (101 MHz, CDCl3) δ 170.9, 136.0, 128.6 (2C), 128.3, 66.3, 21.1."


def one(text: str, nucleus: str | None = None) -> Spectrum1D:
    return acs.parse_spectrum_text(text, nucleus)


# ---------------------------------------------------------------------------------------------- reading


def test_reads_the_canonical_1h_example_exactly() -> None:
    sp = one(H1)
    assert sp == Spectrum1D(
        "1H",
        [Multiplet(7.28, 7.36, "m", (), 5), Multiplet(5.11, 5.11, "s", (), 2), Multiplet(2.10, 2.10, "s", (), 3)],
        solvent="CDCl3", frequency_MHz=400.0,
    )


def test_reads_the_canonical_13c_example_exactly() -> None:
    sp = one(C13)
    assert sp == Spectrum1D(
        "13C",
        [Peak(170.9), Peak(136.0), Peak(128.6, count=2), Peak(128.3), Peak(66.3), Peak(21.1)],
        solvent="CDCl3", frequency_MHz=101.0,
    )


@pytest.mark.parametrize("sep", [" – ", "-", " - ", "—", "‒", "−", "~", " to ", " ~ "])
def test_range_separators(sep: str) -> None:
    (p,) = one(f"1H NMR δ 7.36{sep}7.28 (m, 5H)").peaks
    assert (p.shift_min, p.shift_max, p.mult, p.nH) == (7.28, 7.36, "m", 5)


@pytest.mark.parametrize(
    "j_text, expected",
    [
        ("J = 7.1, 1.2 Hz", (7.1, 1.2)),
        ("J = 7.1 Hz, 1.2 Hz", (7.1, 1.2)),
        ("J1 = 7.1, J2 = 1.2 Hz", (7.1, 1.2)),
        ("J1 = 7.1 Hz, J2 = 1.2 Hz", (7.1, 1.2)),
        ("3J = 7.1, 4J = 1.2 Hz", (7.1, 1.2)),
        ("3JHH = 7.1 Hz, 4JHH = 1.2 Hz", (7.1, 1.2)),
        ("JHH = 7.1, 1.2 Hz", (7.1, 1.2)),
        ("J 7.1, 1.2 Hz", (7.1, 1.2)),
        ("J=7.1,1.2Hz", (7.1, 1.2)),
        ("J = 7.1 and 1.2 Hz", (7.1, 1.2)),
        ("3 J HH = 7.1 Hz, 4 J HH = 1.2 Hz", (7.1, 1.2)),
        ("J(H,H) = 7.1, 1.2 Hz", (7.1, 1.2)),
        ("J = 7,1, 1,2 Hz", (7.1, 1.2)),
    ],
)
def test_coupling_spellings(j_text: str, expected: tuple[float, ...]) -> None:
    (p,) = one(f"1H NMR (CDCl3) δ 6.81 (dd, {j_text}, 1H)").peaks
    assert p.J == expected and p.mult == "dd" and p.nH == 1 and p.label is None


def test_j1_equals_j2() -> None:
    (p,) = one("1H NMR δ 7.10 (t, 1H, J1 = J2 = 3.6)").peaks
    assert p.J == (3.6, 3.6) and p.mult == "t" and p.nH == 1


@pytest.mark.parametrize(
    "written, canonical",
    [
        ("s", "s"), ("d", "d"), ("t", "t"), ("q", "q"), ("dd", "dd"), ("dt", "dt"), ("td", "td"),
        ("ddd", "ddd"), ("dq", "dq"), ("qd", "qd"), ("tt", "tt"), ("quint", "quint"), ("quin", "quint"),
        ("quin.", "quint"), ("p", "quint"), ("pent", "quint"), ("sext", "sext"), ("hex", "sext"),
        ("sextet", "sext"), ("sept", "sept"), ("hept", "sept"), ("septet", "sept"), ("m", "m"),
        ("br s", "br s"), ("bs", "br s"), ("brs", "br s"), ("br", "br s"), ("br. s", "br s"),
        ("br.s", "br s"), ("broad s", "br s"), ("br-s", "br s"), ("S", "s"), ("br d", "br d"),
        ("bd", "br d"), ("app t", "app t"), ("apparent t", "app t"), ("pseudo t", "app t"),
        ("AB q", "m"), ("ABq", "m"), ("AA'BB'", "m"), ("d.d", "dd"), ("d of d", "dd"),
        ("doublet of doublets", "dd"), ("triplet of doublets", "td"), ("dxd", "dd"), ("2d", "d"),
        ("singlet", "s"), ("multiplet", "m"), ("br m", "br m"), ("br app t", "br app t"),
    ],
)
def test_multiplicities(written: str, canonical: str) -> None:
    (p,) = one(f"1H NMR δ 3.10 ({written}, 2H)").peaks
    assert p.mult == canonical and p.nH == 2 and p.label is None
    assert acs.canonical_multiplicity(written) == canonical


def test_broad_written_apart_and_not_multiplicities() -> None:
    assert one("1H NMR δ 9.02 (br, s, 1H, NH)").peaks[0].mult == "br s"
    assert one("1H NMR δ 9.02 (s, br, 1H, NH)").peaks[0].mult == "br s"
    assert one("1H NMR δ 9.02 (d, broad, 6H, J = 6.2 Hz)").peaks[0].mult == "br d"
    for word in ("NH", "OH", "ArH", "CH3", "Ph", "x", "sd", "ds", ""):
        assert acs.canonical_multiplicity(word) is None


@pytest.mark.parametrize(
    "detail, mult, nh, label",
    [
        ("m, 5H", "m", 5, None),
        ("5H, m", "m", 5, None),
        ("m, 5 H", "m", 5, None),
        ("s, 1H, H-3", "s", 1, "H-3"),
        ("d, J = 8.8 Hz, 2H, H-2', H-6'", "d", 2, "H-2', H-6'"),
        ("br s, 1H, NH", "br s", 1, "NH"),
        ("s, 1H, OH", "s", 1, "OH"),
        ("m, 4H, ArH", "m", 4, "ArH"),
        ("s, 6H, 2 x CH3", "s", 6, "2 x CH3"),
        ("s, 6H, 2 × OCH3", "s", 6, "2 × OCH3"),
        ("m", "m", None, None),
        ("3H", None, 3, None),
        ("m 2H", "m", 2, None),
        ("t, 2)", "t", 2, None),
        ("H-3", None, None, "H-3"),
        ("d, 2H, CH(CH3)2", "d", 2, "CH(CH3)2"),
    ],
)
def test_multiplet_details(detail: str, mult: str | None, nh: int | None, label: str | None) -> None:
    (p,) = one(f"1H NMR δ 7.26 ({detail})").peaks
    assert (p.mult, p.nH, p.label) == (mult, nh, label)


def test_missing_details_and_bare_shifts() -> None:
    sp = one("1H NMR δ 7.26, 5.11 (s), 2.10")
    assert sp.peaks == (Multiplet(7.26, 7.26), Multiplet(5.11, 5.11, "s"), Multiplet(2.1, 2.1))


@pytest.mark.parametrize(
    "header, solvent, freq",
    [
        ("1H NMR (400 MHz, CDCl3) δ", "CDCl3", 400.0),
        ("1H NMR (CDCl3, 400 MHz) δ", "CDCl3", 400.0),
        ("1H NMR (400 MHz, DMSO-d6) δ", "DMSO-d6", 400.0),
        ("1H NMR (CD3OD) δ", "CD3OD", None),
        ("^1H NMR (500 MHz, CDCl3) δ", "CDCl3", 500.0),
        ("¹H NMR (500 MHz, CDCl3) δ", "CDCl3", 500.0),
        ("1 H NMR (500 MHz, CDCl3) δ", "CDCl3", 500.0),
        ("H NMR (500 MHz, CDCl3) δ", "CDCl3", 500.0),
        ("1H-NMR (CDCl3, 300 MHz): δ", "CDCl3", 300.0),
        ("1H NMR (CDCl3, 400 MHz) d", "CDCl3", 400.0),
        ("1H NMR (CDCl3, 400 MHz) delta", "CDCl3", 400.0),
        ("1H NMR (CDCl3, 400 MHz) δH", "CDCl3", 400.0),
        ("1H NMR (400 MHz, CDCl3) δ (ppm):", "CDCl3", 400.0),
        ("1H NMR (400 MHz, CDCl3) δ ppm", "CDCl3", 400.0),
        ("1H NMR (400 MHz, CDCl3, δ ppm) δ =", "CDCl3", 400.0),
        ("1H NMR (600.13 MHz; (CD3)2CO; 298 K):", "(CD3)2CO", 600.13),
        ("1H NMR spectrum (CDCl3):", "CDCl3", None),
        ("1H NMR in CDCl3:", "CDCl3", None),
        ("δH (400 MHz, CDCl3)", "CDCl3", 400.0),
        ("1H NMR", None, None),
    ],
)
def test_header_variants(header: str, solvent: str | None, freq: float | None) -> None:
    sp = one(f"{header} 7.26 (s, 1H), 2.10 (s, 3H);")
    assert sp.nucleus == "1H" and sp.solvent == solvent and sp.frequency_MHz == freq
    assert sp.shifts == [7.26, 2.10]


def test_temperature_in_the_header() -> None:
    assert one("1H NMR (500 MHz, CDCl3, 298 K) δ 7.26 (s)").temperature_K == 298.0
    assert one("1H NMR (500 MHz, DMSO-d6, 25 °C) δ 7.26 (s)").temperature_K == 298.15


@pytest.mark.parametrize("head", ["13C NMR", "13C{1H} NMR", "13C {1H} NMR", "¹³C NMR", "C NMR", "13C-NMR", "δC"])
def test_13c_headers(head: str) -> None:
    sp = one(f"{head} (CDCl3, 101 MHz) δ 170.9, 21.1.")
    assert sp.nucleus == "13C" and sp.shifts == [170.9, 21.1] and sp.frequency_MHz == 101.0


def test_13c_details() -> None:
    sp = one(
        "13C NMR (101 MHz, CDCl3) δ 162.3 (d, J = 245.1 Hz), 131.2 (d, 3JCF = 8.1 Hz, 2C), 128.6 (2 x C), "
        "124.0 (q, 1JC–F = 272 Hz, CF3), 56.1 (CH3), 45.2 (CH2), 77.0 (CH), 140.1 (C), 139.9 (Cq), "
        "30.1 (2 × CH2), 29.7 (2C, CH2), 150.2 (C-3)."
    )
    by = {p.shift: p for p in sp.peaks}
    assert by[162.3] == Peak(162.3, coupling="d", J=(245.1,))
    assert by[131.2] == Peak(131.2, coupling="d", J=(8.1,), count=2)
    assert by[128.6] == Peak(128.6, count=2)
    assert by[124.0] == Peak(124.0, coupling="q", J=(272.0,))
    assert [by[s].mult for s in (56.1, 45.2, 77.0, 140.1, 139.9)] == ["Q", "T", "D", "S", "S"]
    assert by[30.1] == Peak(30.1, mult="T", count=2) and by[29.7] == Peak(29.7, mult="T", count=2)
    assert by[150.2] == Peak(150.2)


def test_13c_range_is_one_peak_at_its_centre() -> None:
    assert one("13C NMR δ 129.9–129.7, 21.1").shifts == [129.8, 21.1]


def test_negative_shifts_and_unicode_minus() -> None:
    assert one("13C NMR δ 25.9, −4.6, -5.2").shifts == [25.9, -4.6, -5.2]
    (p,) = one("1H NMR δ 0.10 – -0.05 (m, 2H)").peaks
    assert (p.shift_min, p.shift_max) == (-0.05, 0.10)


def test_several_blocks_make_one_query() -> None:
    text = (
        "Benzyl acetate (3a): colourless oil. " + H1.rstrip(".") + "; " + C13.rstrip(".")
        + "; 19F NMR (376 MHz, CDCl3) δ -113.2 (m); 31P{1H} NMR (162 MHz, CDCl3) δ 21.4. "
        "HRMS (ESI) m/z calcd for C9H10O2Na 173.0573, found 173.0571."
    )
    (q,) = acs.loads(text)
    assert q.nuclei == ["1H", "13C", "19F", "31P"]
    assert q.spectra[0] == one(H1) and q.spectra[1] == one(C13)
    assert q.spectra[2].peaks == (Peak(-113.2, coupling="m"),) and q.spectra[3].shifts == [21.4]


def test_paragraphs_make_queries_and_prose_is_skipped() -> None:
    text = f"1H NMR spectra were recorded at 400 MHz.\n\n{H1}\n{C13}\n\n{C13}\n"
    qs = acs.loads(text)
    assert [q.nuclei for q in qs] == [["1H", "13C"], ["13C"]]


def test_nucleus_reads_bare_lists_and_filters_headed_text() -> None:
    sp = one("7.36 – 7.28 (m, 5H), 5.11 (s, 2H), 2.10 (s, 3H)", nucleus="1H")
    assert sp.peaks == one(H1).peaks and sp.solvent is None
    assert one("δ 170.9, 136.0, 128.6 (2C)", nucleus="13C").shifts == [170.9, 136.0, 128.6]
    assert one("(100 MHz, CDCl3) δ 170.9, 21.1", nucleus="13c").frequency_MHz == 100.0
    (q,) = acs.loads(H1 + " " + C13, nucleus="13C")
    assert q.nuclei == ["13C"]


def test_real_world_damage() -> None:
    # a missing ")" before the next peak, a decimal comma, a stray space, a count outside parentheses
    sp = one("1H NMR δ 1.78 (dd, J = 18.0, 7.8 Hz, 1.64 (s, 3H), 6,98 (t, J = 6.9 Hz, 1H), 2. 30 (t, 2H), "
             "1.44–1.23 m, 28H, 0.90 (t, J = 6.8 Hz, 6H)")
    assert sp.shifts == [6.98, 2.30, 1.78, 1.64, pytest.approx(1.335), 0.90]
    assert sp.peaks[4].nH == 28 and sp.peaks[4].mult == "m"
    assert one("1H NMR δ 1.52â€“1.58 (m, 6H)").peaks[0].shift_max == 1.58  # mojibake en dash


def test_html_tags_and_other_nuclei() -> None:
    sp = one("<sup>1</sup>H NMR (400 MHz, CDCl<sub>3</sub>) δ 7.26 (s, 1H, <i>o</i>-ArH)")
    assert sp.solvent == "CDCl3" and sp.peaks[0].label == "o-ArH"
    f = one("19F NMR (376 MHz, CDCl3) δ −62.8 (s, 3F), -113.2 (m)")
    assert f.peaks == (Peak(-62.8, coupling="s", count=3), Peak(-113.2, coupling="m"))
    assert acs.format_spectrum(f) == "19F NMR (376 MHz, CDCl3) δ -62.8 (s, 3F), -113.2 (m)."
    assert acs.canonical_multiplicity("t-like") == "app t"


def test_bare_text_equals_headed_text_on_real_looking_records() -> None:
    body = "7.59 (d, J = 7.7, 1H), 7.03–7.39 (m, 8H), 3.83 (s, 3H)"
    assert one(body, nucleus="1H").peaks == one(f"1H NMR (CDCl3, 200 MHz) δ {body}").peaks


def test_sentence_end_and_trailing_sections_stop_the_list() -> None:
    assert one(H1 + " IR (neat) 1735, 1220 cm-1.").shifts == [pytest.approx(7.32), 5.11, 2.10]
    assert one(C13[:-1] + "; HRMS (ESI) m/z 173.0573").shifts[-1] == 21.1
    assert len(one(C13 + " Anal. Calcd for C9H10O2: C, 71.98; H, 6.71.").peaks) == 6
    text = "Rf = 0.30; [α]D20 = −45.2 (c 1.0, CHCl3); " + H1 + " m.p. 123–125 °C; [α]D 12.0."
    assert one(text).shifts == [pytest.approx(7.32), 5.11, 2.10]


# ---------------------------------------------------------------------------------------------- errors


def test_no_peak_raises_file_format_error_naming_what_was_expected() -> None:
    with pytest.raises(FileFormatError, match="1H NMR"):
        acs.loads("The compound was obtained as a white solid.")
    with pytest.raises(FileFormatError, match="peak list"):
        acs.loads("no numbers here", nucleus="1H")
    with pytest.raises(FileFormatError, match="empty"):
        acs.loads("   ")
    with pytest.raises(FileFormatError):
        acs.loads("x" * (acs.MAX_CHARS + 1))


def test_model_violations_name_the_field() -> None:
    with pytest.raises(SpectrumFormatError, match=r"1H\.peaks\[1\]\.J\[0\].*0\.\.40 Hz"):
        one("1H NMR δ 7.26 (s, 1H), 6.93 (t, J = 51.6 Hz, 1H)")
    with pytest.raises(SpectrumFormatError, match=r"1H\.peaks\[0\]\.shift_min"):
        one("1H NMR δ 28.0 (m, 2H)")
    with pytest.raises(SpectrumFormatError, match=r"13C\.peaks\[1\]\.shift"):
        one("13C NMR δ 164.2, 1501, 148.2")
    with pytest.raises(FileFormatError, match="malformed number"):
        one("13C NMR δ 129.15, 127.88.124.56, 121.87")


def test_parse_spectrum_text_wants_one_block() -> None:
    with pytest.raises(FileFormatError, match="one NMR block, found 2"):
        acs.parse_spectrum_text(H1 + " " + C13)


# ---------------------------------------------------------------------------------------------- writing


def test_writes_the_canonical_style() -> None:
    assert acs.format_spectrum(one(H1)) == H1
    assert acs.format_spectrum(one(C13)) == C13
    sp = Spectrum1D("1H", [Multiplet(6.81, 6.81, "dd", (7.1, 1.2), 1, label="H-3")], solvent="DMSO-d6",
                    frequency_MHz=400.13, temperature_K=298.0)
    assert acs.format_spectrum(sp) == "1H NMR (400.13 MHz, DMSO-d6, 298 K) δ 6.81 (dd, J = 7.1, 1.2 Hz, 1H, H-3)."
    c = Spectrum1D("13C", [Peak(162.3, coupling="d", J=(245.1,)), Peak(128.6, mult="D", count=2), Peak(21.0)])
    assert acs.format_spectrum(c) == "13C NMR δ 162.3 (d, J = 245.1 Hz), 128.6 (2C, CH), 21.0."
    assert acs.format_spectrum(Spectrum1D("1H", [Multiplet(7.3, 7.3)])) == "1H NMR δ 7.30."
    assert acs.format_spectrum(Spectrum1D("1H", [Multiplet(7.2561, 7.2561)])) == "1H NMR δ 7.2561."


def test_dumps_layout_and_refusals() -> None:
    q1 = Query(spectra=(one(H1), one(C13)))
    q2 = Query(spectra=(one(C13),))
    assert acs.dumps([q1, q2]) == f"{H1}\n{C13}\n\n{C13}\n"
    with pytest.raises(FileFormatError, match="no peaks"):
        acs.dumps(Spectrum1D("1H", []))
    with pytest.raises(FileFormatError, match="no 1D spectrum"):
        acs.dumps(Query())


def test_read_filters_by_nucleus(tmp_path: Path) -> None:
    q = Query(spectra=(one(H1), one(C13)))
    path = tmp_path / "compound.txt"
    acs.write(q, path)
    assert acs.read(path) == [q]
    assert acs.read(path, nucleus="13C") == [Query(spectra=(one(C13),))]


# ---------------------------------------------------------------------------------------------- properties

FRAGMENTS = [
    "1H NMR", "13C NMR", "13C{1H} NMR", "¹H NMR", "δ", "δH", "(", ")", "[", "]", "(400 MHz, CDCl3)", "(CDCl3)",
    " ", ", ", "; ", ".", ". ", "7.26", "-0.05", "−1.2", "128.6", "7.36 – 7.28", "7.3-", "~", " to ", "(s, 1H)",
    "(m, 5H)", "(dd, J = 7.1, 1.2 Hz, 1H)", "J =", "J1 =", "3JHH", "Hz", "(2C)", "(CH3)", "(d, J = 245.1 Hz)",
    "br s", "app t", "ABq", "2 x CH3", "H-3", "1H", "2H", "ppm", "MHz", "K", "°C", "\n", "\n\n", "HRMS", "x",
    "×", "5.7.59", "6,98", "2. 30", "â€“", "J = 99 Hz", "99999999999999999999", "0" * 30, "1e5", "{", "}",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=40).map("".join), st.sampled_from([None, "1H", "13C"]))
def test_fuzz_fragments_only_raise_nmrlens_errors(text: str, nucleus: str | None) -> None:
    try:
        qs = acs.loads(text, nucleus=nucleus)
    except NmrLensError as exc:
        assert str(exc).strip()
    else:
        assert qs and all(isinstance(q, Query) and q.spectra for q in qs)


_HARD_UNITS = ["1H NMR (", "(((((", "1H NMR δ 7.26 (", "7.26 (d, J = 7.1, ", "1H NMR δ 7.", "J = 1, " * 3, "7.26 – ",
               "1H NMR (400 MHz, CDCl3) δ 7.26 (s, 1H), ", "δH (", "13C NMR δ 1" + "1" * 50 + ", ", "a" * 199 + " "]


def _parse_repeated(unit: str, size: int) -> float:
    text = (unit * (size // len(unit)))[:size]
    t0 = time.perf_counter()
    try:
        acs.loads(text, nucleus="1H")
    except NmrLensError as exc:
        assert str(exc)
    return time.perf_counter() - t0


@pytest.mark.parametrize("unit", _HARD_UNITS)
def test_hard_inputs_do_not_hang(unit: str) -> None:
    # a guard against catastrophic backtracking (which would take minutes to hours), not a speed target
    assert _parse_repeated(unit, 64 * 1024) < 60.0


@pytest.mark.slow
@pytest.mark.parametrize("unit", _HARD_UNITS)
def test_largest_inputs_do_not_hang(unit: str) -> None:
    assert _parse_repeated(unit, acs.MAX_CHARS) < 300.0
