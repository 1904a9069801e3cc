"""The generator source with the generate tests' tiny memorising model: beam candidates become
pipeline candidates (valid, unique, of the formula) with beam probabilities that sum to 1."""

from __future__ import annotations

import pytest

pytest.importorskip("nmrlens.models.generate")


@pytest.fixture(scope="module")
def source():  # noqa: ANN201
    from nmrlens.pipeline import GeneratorSource
    from tests.generate_helpers import tiny_generator

    generator, _loss = tiny_generator()
    return GeneratorSource(generator, beam=4)


def test_generator_source_proposes_the_memorised_structure(source) -> None:  # noqa: ANN001
    from tests.generate_helpers import PAIRS

    q = PAIRS["CC(C)=O"]
    got = source.candidates(q.with_(formula=None), formula="C3H6O", k=10, beam=4)
    assert got and got[0].smiles == "CC(C)=O"
    assert all(c.formula == "C3H6O" and c.origins == ("generate",) for c in got)
    assert len({c.inchikey for c in got}) == len(got)
    total = sum(c.source_scores["generate"] for c in got)
    assert total == pytest.approx(1.0)
    assert got[0].source_scores["generate"] == max(c.source_scores["generate"] for c in got)


def test_elucidator_ranks_generated_candidates(source) -> None:  # noqa: ANN001
    from nmrlens.pipeline import Elucidator
    from nmrlens.pipeline.scoring import SpectrumPredictor
    from tests.generate_helpers import PAIRS

    el = Elucidator([source], predictor=SpectrumPredictor(), assign_top=1)
    res = el.run(PAIRS["CCO"].with_(formula=None), formula="C2H6O", k=5, beam=3)
    assert res.candidates[0].smiles == "CCO"
    assert res.candidates[0].parts["beam"] is not None and res.candidates[0].parts["ssr"] is not None
    assert res.candidates[0].assignment is not None
