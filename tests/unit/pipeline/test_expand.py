"""The second-stage expansion of the pipeline and the structure search (moves: tests/unit/chem/test_isomers.py)."""

from __future__ import annotations

import pytest

from nmrlens.errors import NmrLensError
from nmrlens.pipeline import Elucidator, ListSource
from nmrlens.pipeline.expand import NeighbourSource, structure_search

from .helpers import BENZYL_ACETATE, EXAMPLE_TXT, LookupPredictor


def test_expansion_finds_the_answer_next_to_a_near_miss() -> None:
    el = Elucidator([ListSource(["CCOC(=O)c1ccccc1"], name="generate")], predictor=LookupPredictor(),  # type: ignore[arg-type]
                    expander=NeighbourSource(seeds=1, per_seed=100))
    res = el.run(EXAMPLE_TXT.read_text(), formula="C9H10O2", k=5)
    top = res.candidates[0]
    assert top.smiles == BENZYL_ACETATE and top.origins == ("expand",)
    assert res.n_proposed > 1
    without = Elucidator([ListSource(["CCOC(=O)c1ccccc1"], name="generate")], predictor=LookupPredictor())  # type: ignore[arg-type]
    assert [c.smiles for c in without.run(EXAMPLE_TXT.read_text(), formula="C9H10O2").candidates] == ["CCOC(=O)c1ccccc1"]


def test_source_arguments_are_bounded() -> None:
    with pytest.raises(NmrLensError):
        NeighbourSource(seeds=0)
    with pytest.raises(NmrLensError):
        NeighbourSource(per_seed=10_000)
    with pytest.raises(NmrLensError, match="moves"):
        NeighbourSource(moves=())
    src = NeighbourSource(seeds=2, per_seed=5)
    got = src.expand(["CCO", "CC(C)=O", "CCCC"])
    assert {c.smiles for c in got} == {"COC", "CCC=O"} and all(c.origins == ("expand",) for c in got)


def test_library_hits_are_not_expanded() -> None:
    from nmrlens.pipeline import LibrarySource

    from .helpers import LIBRARY

    calls: list[list[str]] = []

    class Spy(NeighbourSource):
        def expand(self, smiles):  # noqa: ANN001, ANN201
            calls.append(list(smiles))
            return super().expand(smiles)

    lib = LibrarySource.from_path(LIBRARY)
    Elucidator([lib], predictor=LookupPredictor(), expander=Spy()).run(EXAMPLE_TXT.read_text(), formula="C9H10O2")  # type: ignore[arg-type]
    assert calls == []
    # a generated structure that is also a library entry is known: only the new one is a seed
    Elucidator([lib, ListSource(["CCOC(=O)c1ccccc1", "COC(=O)c1cccc(C)c1"], name="generate")],
               predictor=LookupPredictor(), expander=Spy()).run(EXAMPLE_TXT.read_text(), formula="C9H10O2")  # type: ignore[arg-type]
    assert calls == [["COC(=O)c1cccc(C)c1"]]


class _Chain(NeighbourSource):
    """A fake expander with fixed neighbours, recording what it was asked to expand."""

    MOVES = {"COc1ccc(C(C)=O)cc1": ["CCOC(=O)c1ccccc1"], "CCOC(=O)c1ccccc1": [BENZYL_ACETATE]}

    def __init__(self, **kw) -> None:  # noqa: ANN003
        super().__init__(seeds=1, **kw)
        self.calls: list[list[str]] = []

    def expand(self, smiles):  # noqa: ANN001, ANN201
        from nmrlens.pipeline.candidates import make_candidate

        self.calls.append(list(smiles))
        return [make_candidate(n, self.name) for s in smiles for n in self.MOVES.get(s, [])]


def test_rounds_of_local_search_walk_to_the_answer() -> None:
    start = [ListSource(["COc1ccc(C(C)=O)cc1"], name="generate")]
    one = _Chain(rounds=1)
    res = Elucidator(start, predictor=LookupPredictor(), expander=one).run(  # type: ignore[arg-type]
        EXAMPLE_TXT.read_text(), formula="C9H10O2")
    assert BENZYL_ACETATE not in [c.smiles for c in res.candidates] and len(one.calls) == 1
    three = _Chain(rounds=3)
    res = Elucidator(start, predictor=LookupPredictor(), expander=three).run(  # type: ignore[arg-type]
        EXAMPLE_TXT.read_text(), formula="C9H10O2")
    assert res.candidates[0].smiles == BENZYL_ACETATE and res.n_proposed == 3
    # round 2 expanded the best new candidate; round 3 had no seed with an unseen neighbour left
    assert three.calls[:2] == [["COc1ccc(C(C)=O)cc1"], ["CCOC(=O)c1ccccc1"]]
    # a spent time budget stops after the first round
    quick = _Chain(rounds=3, time_budget_s=0.0)
    Elucidator(start, predictor=LookupPredictor(), expander=quick).run(EXAMPLE_TXT.read_text(), formula="C9H10O2")  # type: ignore[arg-type]
    assert len(quick.calls) == 1
    with pytest.raises(NmrLensError, match="rounds"):
        NeighbourSource(rounds=0)


def _similarity_to(target: str):  # noqa: ANN202
    """A stand-in for the spectrum score: Morgan-fingerprint Tanimoto similarity to ``target``."""
    from rdkit import DataStructs
    from rdkit.Chem import rdFingerprintGenerator

    from nmrlens.chem.mol import parse_smiles

    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    ref = gen.GetFingerprint(parse_smiles(target))
    calls: list[int] = []

    def score(smiles):  # noqa: ANN001, ANN202
        calls.append(len(smiles))
        return [DataStructs.TanimotoSimilarity(ref, gen.GetFingerprint(parse_smiles(s))) for s in smiles]

    score.calls = calls  # type: ignore[attr-defined]
    return score


def test_structure_search_climbs_to_the_best_scoring_structure() -> None:
    # 4-methoxyacetophenone is several moves from benzyl acetate; the beam walks there
    score = _similarity_to(BENZYL_ACETATE)
    found = structure_search(["COc1ccc(C(C)=O)cc1", "not a smiles"], score, budget=800, width=3, per_step=20)
    assert found[0] == (BENZYL_ACETATE, 1.0)
    assert len(found) <= 800 and sum(score.calls) == len(found)  # every structure scored once
    assert [v for _, v in found] == sorted((v for _, v in found), reverse=True)
    assert "COc1ccc(C(C)=O)cc1" in dict(found)  # the seed is part of the result
    assert structure_search(["COc1ccc(C(C)=O)cc1"], _similarity_to(BENZYL_ACETATE), budget=800, width=3,
                            per_step=20) == found  # deterministic


def test_structure_search_limits() -> None:
    score = _similarity_to(BENZYL_ACETATE)
    assert structure_search([], score) == [] and structure_search(["xx"], score) == []
    assert [s for s, _ in structure_search(["CCOC(=O)c1ccccc1"], score, time_budget_s=0.0)] == ["CCOC(=O)c1ccccc1"]
    assert len(structure_search(["CCOC(=O)c1ccccc1"], score, budget=7)) == 7
    # a neighbourhood that runs dry ends the search before the budget
    assert {s for s, _ in structure_search(["CCO"], score, budget=100)} == {"CCO", "COC"}
    for bad in ({"budget": 0}, {"width": 0}, {"per_step": 10**6}, {"budget": True}):
        with pytest.raises(NmrLensError):
            structure_search(["CCO"], score, **bad)  # type: ignore[arg-type]
