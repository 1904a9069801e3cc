"""Text table, HTML report and inline SVG drawings."""

from __future__ import annotations

import re

import pytest

from nmrlens.pipeline import Elucidator, ListSource
from nmrlens.pipeline.draw import molecule_svg, overlay_svg
from nmrlens.pipeline.report import format_table, render_html
from nmrlens.spectra.model import Multiplet, Peak, Spectrum1D

from .helpers import BENZYL_ACETATE, EXAMPLE_TXT, LookupPredictor


@pytest.fixture(scope="module")
def result():  # noqa: ANN201
    el = Elucidator([ListSource([BENZYL_ACETATE, "COC(=O)Cc1ccccc1"])], predictor=LookupPredictor(),  # type: ignore[arg-type]
                    components={"generate": "not available: test <b>"})
    return el.run(EXAMPLE_TXT.read_text(), formula="C9H10O2")


def test_table_lists_ranked_candidates(result) -> None:  # noqa: ANN001
    text = format_table(result)
    lines = text.splitlines()
    assert lines[0].split()[:4] == ["rank", "SMILES", "formula", "score"]
    assert lines[2].split()[:3] == ["1", BENZYL_ACETATE, "C9H10O2"]
    assert "generate: not available: test" in text
    assert "unexplained" in lines[0]


def test_html_is_self_contained(result) -> None:  # noqa: ANN001
    page = render_html(result)
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("class='card'") == 2
    assert page.count("<svg") >= 2 + 2 * 2  # structures + two overlays per candidate
    assert "<script" not in page
    urls = set(re.findall(r"(?:src|href)=['\"]?([^'\" >]+)", page))
    assert not urls, urls  # no outside resources
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "").replace(
        "xmlns:rdkit='http://www.rdkit.org/xml'", "").replace("xmlns='http://www.w3.org/2000/svg'", "").replace(
        "xmlns:xlink='http://www.w3.org/1999/xlink'", "")
    assert "test &lt;b&gt;" in page  # escaped
    assert "assignment" in page or "observed ppm" in page


def test_molecule_svg_draws_atoms_with_indices() -> None:
    svg = molecule_svg("CCO")
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert "<?xml" not in svg


def test_overlay_svg_has_one_mark_per_peak() -> None:
    obs = Spectrum1D("13C", [Peak(170.0), Peak(20.0)])
    pred = Spectrum1D("13C", [Peak(171.0), Peak(22.0), Peak(60.0)])
    svg = overlay_svg(obs, pred, pairs=[(0, 0), (1, 1)])
    assert svg.count('class="obs"') == 2 and svg.count('class="pred"') == 3
    h = overlay_svg(Spectrum1D("1H", [Multiplet(7.2, 7.4, "m", nH=5)]), None)
    assert 'class="obs"' in h and "<rect" in h
    empty = overlay_svg(None, None)
    assert empty.startswith("<svg")
