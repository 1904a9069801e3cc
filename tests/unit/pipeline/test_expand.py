"""Formula-preserving neighbours and the second-stage expansion of the pipeline."""

from __future__ import annotations

import pytest

from nmrlens.errors import InvalidMoleculeError, NmrLensError
from nmrlens.pipeline import Elucidator, ListSource
from nmrlens.pipeline.expand import NeighbourSource, neighbours

from .helpers import BENZYL_ACETATE, EXAMPLE_TXT, LookupPredictor


def test_benzyl_acetate_is_one_move_from_ethyl_benzoate() -> None:
    from nmrlens.chem.mol import mol_formula, parse_smiles

    got = neighbours("CCOC(=O)c1ccccc1", limit=1000)
    assert BENZYL_ACETATE in got
    assert "CCOC(=O)c1ccccc1" not in got and len(got) == len(set(got))
    for smi in got:
        m = parse_smiles(smi)
        assert mol_formula(m) == "C9H10O2"
        assert "OO" not in smi  # no peroxide made by a move


def test_moves_and_swaps_on_small_molecules() -> None:
    assert set(neighbours("CCO")) == {"COC"}           # swap O and C
    # acetone: move =O from C2 to C1 (propanal) or swap O and a methyl C (the enol)
    assert set(neighbours("CC(C)=O")) == {"CCC=O", "C=C(C)O"}
    assert neighbours("C") == []
    assert len(neighbours("CCCCCCO", limit=2)) == 2
    with pytest.raises(InvalidMoleculeError):
        neighbours("C1CC")
    with pytest.raises(NmrLensError):
        neighbours("CCO", limit=0)


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
    src = NeighbourSource(seeds=2, per_seed=5)
    got = src.expand(["CCO", "CC(C)=O", "CCCC"])
    assert {c.smiles for c in got} == {"COC", "CCC=O", "C=C(C)O"} and all(c.origins == ("expand",) for c in got)


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
