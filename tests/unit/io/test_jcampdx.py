"""JCAMP-DX peak tables: a hand-written file, label rules, the written layout, errors, standard labels alone.

Round trips, fuzzing, safe writes and real records: tests/unit/io/test_formats_common.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nmrlens.errors import FileFormatError, SpectrumFormatError
from nmrlens.io import jcampdx
from nmrlens.spectra import Multiplet, Peak, Query, Spectrum1D
from tests.strategies import Holds, held_spectra

DATA = Path(__file__).resolve().parents[2] / "data"


def test_hand_written_link_file_is_read_exactly() -> None:
    (q,) = jcampdx.read(DATA / "ethyl_acetate.jdx")
    assert q.id == "ethyl acetate"
    assert q.formula == "C4H8O2" and q.smiles == "CCOC(C)=O" and q.molblock is None and q.meta == {}
    assert [sp.nucleus for sp in q.spectra] == ["13C", "1H"]  # the NMR SPECTRUM block has no peak table
    c13, h1 = q.spectra
    assert (c13.solvent, c13.frequency_MHz, c13.temperature_K) == ("CDCl3", 100.61, pytest.approx(298.15))
    assert c13.peaks == (
        Peak(171.36, "S", 35.2, (3,)), Peak(60.49, "T", 88.0, (1,)), Peak(21.04, "Q", 79.5, (4,)),
        Peak(14.19, "Q", 100.0, (0,)),
    )
    assert (h1.solvent, h1.frequency_MHz, h1.temperature_K) == ("CDCl3", 400.13, None)
    assert [(p.shift_min, p.shift_max) for p in h1.peaks] == [
        (pytest.approx(4.12), pytest.approx(4.12)), (pytest.approx(2.05), pytest.approx(2.05)),
        (pytest.approx(1.26), pytest.approx(1.26)),
    ]
    assert all(p.shift_min == p.shift_max and p.mult is None and p.nH is None for p in h1.peaks)


def test_simple_block_variants() -> None:
    text = """##title= CDCl3 reference
##JCAMP-DX=4.24
##DATA TYPE=NMR PEAK TABLE
##$$ a vendor comment line
##.OBSERVENUCLEUS=^13C $$ no spaces
##.OBSERVE FREQUENCY=  125.7
##$SOLVENT=<CDCl3>
##XFACTOR=0.5
##YFACTOR=2
##NPOINTS=  3
##PEAK TABLE=(XY..XY)
154.32,10 8.0,?
 4.0,1.5
##END=
"""
    (q,) = jcampdx.loads(text)
    assert q.id == "CDCl3 reference"
    assert q.spectra == (Spectrum1D("13C", [Peak(77.16, intensity=20.0), Peak(4.0), Peak(2.0, intensity=3.0)],
                                    solvent="CDCl3", frequency_MHz=125.7),)


def test_missing_nucleus_uses_the_option_and_1h_multiplicities() -> None:
    text = "##TITLE=t\n##DATA TYPE=NMR PEAK TABLE\n##PEAK TABLE=(XYM..XYM)\n7.26, 1, s\n1.25, 3, T\n2.0,,BS\n##END=\n"
    with pytest.raises(FileFormatError, match="nucleus"):
        jcampdx.loads(text)
    (q,) = jcampdx.loads(text, nucleus="1H")
    assert q.spectra[0].peaks == (Multiplet(7.26, 7.26, "s"), Multiplet(2.0, 2.0, "br s"), Multiplet(1.25, 1.25, "t"))


def test_assignments_with_explicit_h_molfile_map_to_heavy_atoms() -> None:
    molfile = (DATA / "ethyl_benzyl_acetate.nmredata.sdf").read_text().split("M  END")[0] + "M  END"
    text = ("##TITLE=ea\n##JCAMP-DX=5.01\n##DATA TYPE=NMR PEAK ASSIGNMENTS\n##.OBSERVE NUCLEUS=^1H\n##$MOLFILE=" + molfile +
            "\n##PEAK ASSIGNMENTS=(XYMA)\n(4.12, 2, q, <10, 11>)\n(1.26, 3, t, <7,8 9>)\n(2.05, 3, s, <12>)\n##END=\n")
    (q,) = jcampdx.loads(text)
    assert q.molblock is not None and q.molblock.startswith("ethyl acetate\n") and q.molblock.endswith("M  END\n")
    assert [(p.shift_min, p.mult, p.atoms) for p in q.spectra[0].peaks] == [(4.12, "q", (1,)), (2.05, "s", (4,)), (1.26, "t", (0,))]


def test_label_normalisation() -> None:
    assert jcampdx.normalize_label(".Observe Nucleus") == ".OBSERVENUCLEUS"
    assert jcampdx.normalize_label("Block-ID") == jcampdx.normalize_label("BLOCK_ID") == "BLOCKID"
    assert jcampdx.normalize_label("$NMRLENS temperature/K") == "$NMRLENSTEMPERATUREK"


def test_writes_a_valid_simple_block_and_a_link_block() -> None:
    sp = Spectrum1D("13C", [Peak(128.4, intensity=2.5), Peak(21.0)], solvent="CDCl3", frequency_MHz=100.61)
    text = jcampdx.dumps(Query(spectra=[sp], formula="C7H8", id="toluene"))
    lines = text.splitlines()
    assert lines[:4] == ["##TITLE=toluene", "##JCAMP-DX=5.01", "##DATA TYPE=NMR PEAK TABLE", "##DATA CLASS=PEAK TABLE"]
    for expected in ("##MOLFORM=C 7 H 8", "##.OBSERVE NUCLEUS=^13C", "##.OBSERVE FREQUENCY=100.61",
                     "##.SOLVENT NAME=CDCl3", "##XUNITS=PPM", "##NPOINTS=2", "##PEAK TABLE=(XY..XY)", "128.4, 2.5", "21.0, ?"):
        assert expected in lines
    assert lines[-1] == "##END=" and "$NMRLENS" not in text and "$$" not in text
    h1 = Spectrum1D("1H", [Multiplet(7.2, 7.3, "m", (), 5, (1, 2), "ar")])
    text = jcampdx.dumps(Query(spectra=[sp.with_(peaks=[Peak(128.4, "D", atoms=(1, 2))]), h1], id="toluene"))
    lines = text.splitlines()
    assert "##DATA TYPE=LINK" in lines and "##BLOCKS=2" in lines and "##BLOCK_ID=2" in lines
    assert lines.count("##END=") == 3 and lines.count("##JCAMP-DX=5.01") == 3
    assert "##PEAK ASSIGNMENTS=(XYMA)" in lines and "(128.4, ?, D, <2,3>)" in lines
    i = lines.index("##$NMRLENS MULTIPLETS=(MIN MAX MULT J NH ATOMS LABEL)")
    assert lines[i - 2:i + 2] == ["##PEAK TABLE=(XY..XY)", "7.25, 5", lines[i], '[7.2, 7.3, "m", [], 5, [1, 2], "ar"]']


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("##TITLE=a\n##DATA TYPE=NMR PEAK TABLE\n##.OBSERVE NUCLEUS=^13C\n##NPOINTS=3\n##PEAK TABLE=(XY..XY)\n1,1\n2,2\n##END=\n",
         "NPOINTS=3 but 2 peaks"),
        ("##TITLE=a\n##DATA TYPE=NMR PEAK TABLE\n##.OBSERVE NUCLEUS=^13C\n##PEAK TABLE=(XY..XY)\n1,1\n", "no ##END="),
        ("##DATA TYPE=NMR PEAK TABLE\n##END=\n", "outside a block"),
        ("hello\n##TITLE=a\n##END=\n", "before the first label"),
        ("##TITLE=a\n##DATA TYPE=NMR SPECTRUM\n##END=\n", "without a peak table"),
        ("##TITLE=a\n##DATA TYPE=NMR PEAK TABLE\n##.OBSERVE NUCLEUS=^13C\n##PEAK TABLE=(XYZ..XYZ)\n##END=\n", "not supported"),
        ("##TITLE=a\n##DATA TYPE=NMR PEAK TABLE\n##.OBSERVE NUCLEUS=^13C\n##PEAK TABLE=(XY..XY)\n1,2,3\n##END=\n", "more than 2"),
        ("##TITLE=a\n##DATA TYPE=NMR PEAK TABLE\n##.OBSERVE NUCLEUS=^13C\n##XUNITS=HZ\n##PEAK TABLE=(XY..XY)\n1,2\n##END=\n",
         "OBSERVE FREQUENCY"),
        ("##TITLE=a\n##DATA TYPE=NMR PEAK TABLE\n##.OBSERVE NUCLEUS=^13C\n##XUNITS=NM\n##END=\n", "PPM or HZ"),
        ("##TITLE=a\n##DATA TYPE=NMR PEAK TABLE\n##TITLE=b\n##END=\n##END=\n", "not a LINK block"),
        ("##TITLE=a\n##DATA TYPE=LINK\n##BLOCKS=2\n##TITLE=b\n##DATA TYPE=NMR PEAK TABLE\n##.OBSERVE NUCLEUS=^1H\n##END=\n##END=\n",
         "BLOCKS=2 but 1"),
        ("##TITLE=a\n##DATA TYPE=NMR PEAK ASSIGNMENTS\n##.OBSERVE NUCLEUS=^13C\n##PEAK ASSIGNMENTS=(XYA)\n(1, 2, <x>)\n##END=\n",
         "atom number"),
        ("##TITLE=a\n##DATA TYPE=NMR PEAK TABLE\n##.OBSERVE NUCLEUS=^1H\n##PEAK TABLE=(XY..XY)\n1,1\n"
         "##$NMRLENS MULTIPLETS=(MIN MAX MULT J NH ATOMS LABEL)\n##END=\n", "0 rows, but the peak table has 1"),
        ("##TITLE=a\n##DATA TYPE=NMR PEAK TABLE\n##.OBSERVE NUCLEUS=^13C\n##PEAK TABLE=(XY..XY)\n1,x\n##END=\n", "expected a number"),
        ("##TITLE=a\n##JCAMP-DX=5\n##JCAMP-DX=5\n##END=\n", "appears twice"),
        ("##TITLE=a\n##DATA TYPE=NMR PEAK TABLE\n##.OBSERVE NUCLEUS=^13C\n##$NMRLENS META={\n##END=\n", "not valid JSON"),
    ],
)
def test_malformed_files_are_file_format_errors(text: str, match: str) -> None:
    with pytest.raises(FileFormatError, match=match):
        jcampdx.loads(text)


def test_values_out_of_range_name_the_block() -> None:
    text = "##TITLE=a\n##DATA TYPE=NMR PEAK TABLE\n##.OBSERVE NUCLEUS=^13C\n##PEAK TABLE=(XY..XY)\n400,1\n##END=\n"
    with pytest.raises(SpectrumFormatError) as info:
        jcampdx.loads(text)
    assert info.value.field.startswith("jcampdx: block 'a'") and "shift" in info.value.field


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(Holds().nuclei).flatmap(held_spectra))
def test_standard_labels_alone_keep_shifts_and_assignments(sp: Spectrum1D) -> None:
    """Without the private labels (what another program sees) shifts, intensities, S/D/T/Q and atoms remain."""
    text = jcampdx.dumps(Query(spectra=[sp], id="x"))
    public = "\n".join(line for line in _drop_private(text.splitlines()))
    (q,) = jcampdx.loads(public)
    (back,) = q.spectra
    if sp.nucleus == "1H":
        assert [p.shift for p in back.peaks] == sorted((p.shift for p in sp.peaks), reverse=True)
    else:
        assert [(p.shift, p.intensity, p.mult, p.atoms) for p in back.peaks] == \
            [(p.shift, p.intensity, p.mult, p.atoms) for p in sp.peaks]


def _drop_private(lines: list[str]) -> list[str]:
    out, skipping = [], False
    for line in lines:
        if line.startswith("##"):
            skipping = line.startswith("##$NMRLENS")
        if not skipping:
            out.append(line)
    return out
