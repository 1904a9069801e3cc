"""The elucidation pipeline with injected components (no models loaded)."""

from __future__ import annotations

import json

import pytest

from nmrlens.errors import SpectrumFormatError
from nmrlens.pipeline import Elucidator, LibrarySource, ListSource
from nmrlens.pipeline.candidates import Candidate
from nmrlens.pipeline.scoring import FusionWeights, fuse

from .helpers import BENZYL_ACETATE, EXAMPLE_TXT, LIBRARY, LookupPredictor

ISOMERS = [BENZYL_ACETATE, "COC(=O)Cc1ccccc1", "CCOC(=O)c1ccccc1", "COC(=O)c1ccc(C)cc1", "CC(=O)c1ccc(OC)cc1",
           "OC(=O)CCc1ccccc1", "CC(C(=O)O)c1ccccc1", "CCO"]


@pytest.fixture(scope="module")
def predictor() -> LookupPredictor:
    return LookupPredictor()


def test_benzyl_acetate_ranks_first_with_its_spectra(predictor: LookupPredictor) -> None:
    el = Elucidator([ListSource(ISOMERS)], predictor=predictor)  # type: ignore[arg-type]
    res = el.run(EXAMPLE_TXT.read_text(), formula="C9H10O2", k=5)
    assert res.candidates[0].smiles == BENZYL_ACETATE
    assert [c.rank for c in res.candidates] == [1, 2, 3, 4, 5]
    scores = [c.score for c in res.candidates]
    assert scores == sorted(scores, reverse=True)
    assert res.n_proposed == 7  # the ListSource already drops CCO for the formula
    top = res.candidates[0]
    assert top.parts["c13"] is not None and top.parts["h1"] is not None
    assert top.parts["ssr"] == pytest.approx(top.parts["c13"] ** (1 / 1.2) * top.parts["h1"] ** (0.2 / 1.2))
    assert top.score == pytest.approx(top.parts["ssr"])  # the only available part
    assert top.assignment is not None and res.candidates[3].assignment is None  # assign_top = 3
    assert res.query.formula == "C9H10O2"


def test_without_formula_other_formulas_compete(predictor: LookupPredictor) -> None:
    el = Elucidator([ListSource(ISOMERS)], predictor=predictor, assign_top=0)  # type: ignore[arg-type]
    res = el.run(EXAMPLE_TXT.read_text(), k=10)
    from nmrlens.chem.mol import canonical_smiles, parse_smiles

    assert {c.smiles for c in res.candidates} == {canonical_smiles(parse_smiles(s)) for s in ISOMERS}
    assert all(c.assignment is None for c in res.candidates)


def test_library_candidates_carry_the_library_part(predictor: LookupPredictor) -> None:
    lib = LibrarySource.from_path(LIBRARY)
    el = Elucidator([lib, ListSource(["CCOC(=O)c1ccccc1"], name="generate")], predictor=predictor)  # type: ignore[arg-type]
    res = el.run(EXAMPLE_TXT.read_text(), formula="C9H10O2", k=10)
    by = {c.smiles: c for c in res.candidates}
    assert by[BENZYL_ACETATE].parts["library"] is not None
    assert by["CCOC(=O)c1ccccc1"].origins == ("library", "generate")
    assert by[BENZYL_ACETATE].reference is not None
    assert res.candidates[0].smiles == BENZYL_ACETATE


def test_candidates_without_prediction_or_reference_are_rejected() -> None:
    class NoPredictions:
        def predict(self, smiles: list[str]) -> list[None]:
            return [None] * len(smiles)

    el = Elucidator([ListSource(ISOMERS)], predictor=NoPredictions())  # type: ignore[arg-type]
    res = el.run(EXAMPLE_TXT.read_text(), formula="C9H10O2")
    assert res.candidates == () and res.n_rejected == 7


def test_a_failing_source_becomes_a_warning(predictor: LookupPredictor) -> None:
    class Broken:
        name = "broken"

        def candidates(self, query, *, formula, k, **options):  # noqa: ANN001, ANN003, ANN201
            raise SpectrumFormatError("tokens", 999, "at most 256 spectral tokens")

    el = Elucidator([Broken(), ListSource([BENZYL_ACETATE])], predictor=predictor)  # type: ignore[arg-type]
    res = el.run(EXAMPLE_TXT.read_text())
    assert res.candidates[0].smiles == BENZYL_ACETATE
    assert res.warnings and res.warnings[0].startswith("broken: tokens")


def test_options_are_bounded(predictor: LookupPredictor) -> None:
    el = Elucidator([ListSource(ISOMERS)], predictor=predictor)  # type: ignore[arg-type]
    for kwargs, field in (({"k": 0}, "k"), ({"k": 101}, "k"), ({"beam": 0}, "beam"), ({"beam": 65}, "beam"),
                          ({"k": True}, "k"), ({"assign_top": -1}, "assign_top")):
        with pytest.raises(SpectrumFormatError) as exc:
            el.run(EXAMPLE_TXT.read_text(), **kwargs)
        assert exc.value.field == field
    with pytest.raises(Exception, match="sources"):
        Elucidator([object()])  # type: ignore[list-item]


def test_result_is_json(predictor: LookupPredictor) -> None:
    el = Elucidator([ListSource(ISOMERS)], predictor=predictor, components={"generate": "not available: test"})  # type: ignore[arg-type]
    res = el.run(EXAMPLE_TXT.read_text(), formula="C9H10O2", k=3)
    d = json.loads(json.dumps(res.to_dict(), allow_nan=False))
    assert d["formula"] == "C9H10O2" and len(d["candidates"]) == 3
    assert d["components"]["generate"].startswith("not available")
    c0 = d["candidates"][0]
    assert c0["smiles"] == BENZYL_ACETATE and c0["predicted"]["spectra"] and c0["assignment"]["peaks"]
    assert d["query"]["spectra"][0]["nucleus"] == "1H"
    slim = res.to_dict(spectra=False)
    assert "predicted" not in slim["candidates"][0]


def test_fuse_is_a_weighted_mean_of_available_parts() -> None:
    w = FusionWeights(ssr=1.0, library=1.0, sme=0.5, sse=0.0, beam=0.0)
    assert fuse({"ssr": 0.8}, w) == pytest.approx(0.8)
    assert fuse({"ssr": 0.8, "library": 0.4}, w) == pytest.approx(0.6)
    assert fuse({"ssr": 0.8, "library": None, "sme": 0.2}, w) == pytest.approx((0.8 + 0.1) / 1.5)
    assert fuse({}, w) == 0.0


def test_candidate_protocol_is_structural() -> None:
    from nmrlens.pipeline.candidates import CandidateSource

    assert isinstance(ListSource([]), CandidateSource)
    assert Candidate("C", "VNWKTOKETHGBQD-UHFFFAOYSA-N", "CH4").block == "VNWKTOKETHGBQD"
