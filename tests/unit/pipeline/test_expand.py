"""The second-stage expansion of the pipeline and the structure search (moves: tests/unit/chem/test_isomers.py)."""

from __future__ import annotations

import pytest

from nmrlens.errors import DataNotFoundError, FileFormatError, InvalidMoleculeError, NmrLensError
from nmrlens.pipeline import Elucidator, ListSource
from nmrlens.pipeline.expand import NeighbourSource, SeedLibrary, structure_search

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


# methyl 4-methylbenzoate (C9H10O2) is a test-split molecule, o-cresol (C7H8O) a val-split one, the rest train
_SEEDS = ["CCOC(=O)c1ccccc1", "CC(=O)OCc1ccccc1", "COC(=O)c1ccc(C)cc1", "Cc1ccccc1O", "Cc1ccc(O)cc1", "CCO", "OCC"]


def test_seed_library_groups_known_structures_by_formula() -> None:
    lib = SeedLibrary.from_smiles([*_SEEDS, "not a smiles"])
    assert len(lib) == 6 and lib.n_formulas == 3 and lib.n_skipped == 1  # ethanol twice, once kept
    assert lib.seeds("C9H10O2") == ["CCOC(=O)c1ccccc1", BENZYL_ACETATE, "COC(=O)c1ccc(C)cc1"]
    assert lib.seeds("H10C9O2") == lib.seeds("C9H10O2") == lib.seeds("C9H10O2+")  # element order and charge ignored
    assert lib.seeds("C9H10O2", limit=1) == ["CCOC(=O)c1ccccc1"] and lib.seeds("C5H12") == []
    with pytest.raises(InvalidMoleculeError):
        lib.seeds("Q2")
    train = SeedLibrary.from_smiles(_SEEDS, split="train")
    assert train.seeds("C9H10O2") == ["CCOC(=O)c1ccccc1", BENZYL_ACETATE] and train.seeds("C7H8O") == ["Cc1ccc(O)cc1"]
    assert SeedLibrary.from_smiles(_SEEDS, split="test").seeds("C9H10O2") == ["COC(=O)c1ccc(C)cc1"]
    with pytest.raises(NmrLensError, match="split"):
        SeedLibrary.from_smiles(_SEEDS, split="holdout")


def test_seed_library_files(tmp_path) -> None:  # noqa: ANN001
    import json

    from nmrlens.library.store import LibraryRow, LibraryStore

    smi = tmp_path / "m.smi"
    smi.write_text("# known\n" + "\n".join(f"{s} name{i}" for i, s in enumerate(_SEEDS)) + "\n")
    assert SeedLibrary.from_path(smi).seeds("C9H10O2") == SeedLibrary.from_smiles(_SEEDS).seeds("C9H10O2")
    # JSON lines: the record's InChIKey decides the split (here a made-up test-split key on a train molecule)
    jl = tmp_path / "m.jsonl"
    jl.write_text("\n".join(json.dumps(r) for r in [
        {"smiles": "CCOC(=O)c1ccccc1", "inchikey": "QSSJZLPUHJDYKF-UHFFFAOYSA-N"},
        {"smiles": "CC(=O)OCc1ccccc1", "inchikey": "QUKGYYKBILRGFE-UHFFFAOYSA-N"}, {"smiles": "Cc1ccc(O)cc1"},
        {"name": "no smiles"}]) + "\n")
    assert SeedLibrary.from_path(jl).seeds("C9H10O2") == ["CCOC(=O)c1ccccc1", BENZYL_ACETATE]
    assert SeedLibrary.from_path(jl, split="train").seeds("C9H10O2") == [BENZYL_ACETATE]
    assert len(SeedLibrary.from_path(jl, split="train")) == 2
    folder = tmp_path / "lib"
    with LibraryStore(folder, create=True) as st:
        st.add_chunk(0, 2, [LibraryRow(1, BENZYL_ACETATE, None, "C9H10O2", "QUKGYYKBILRGFE-UHFFFAOYSA-N", "QUKGYYKBILRGFE"),
                            LibraryRow(2, "CCO", None, "C2H6O", "LFQSCWFLJHTTHZ-UHFFFAOYSA-N", "LFQSCWFLJHTTHZ")])
    lib = SeedLibrary.from_path(folder)
    assert lib.seeds("C9H10O2") == [BENZYL_ACETATE] and len(lib) == 2
    with pytest.raises(DataNotFoundError, match="seed-library"):
        SeedLibrary.from_path(tmp_path / "missing.smi")
    with pytest.raises(DataNotFoundError, match="library.sqlite"):
        SeedLibrary.from_path(tmp_path)
    (tmp_path / "m.csv").write_text("smiles\nCCO\n")
    with pytest.raises(FileFormatError, match="seed-library"):
        SeedLibrary.from_path(tmp_path / "m.csv")


def test_library_seeds_start_a_search_where_the_generator_has_none() -> None:
    from nmrlens import io
    from nmrlens.pipeline.expand import search_candidates

    query = io.read_query(EXAMPLE_TXT).with_(formula="C9H10O2")
    assert search_candidates(query, "CF", [], 50) == []  # nothing to start from
    got = search_candidates(query, "CF", [], 120, keep=5, library_seeds=["COC(=O)c1ccc(C)cc1"], per_step=40)
    assert got and got[0].smiles == BENZYL_ACETATE  # methyl 4-methylbenzoate -> benzyl acetate by the moves
    assert all(c.beam_rank == -1 and c.logp == 0.0 for c in got)
    assert [c.scores["ssr"] for c in got] == sorted((c.scores["ssr"] for c in got), reverse=True)


def test_seed_source_starts_the_expansion() -> None:
    from nmrlens.pipeline.expand import SeedSource

    src = SeedSource(SeedLibrary.from_smiles(["COc1ccc(C(C)=O)cc1", "CCO"]))
    assert src.candidates(None, formula=None, k=5) == []  # seeds are chosen by formula
    got = src.candidates(None, formula="C9H10O2", k=5)
    assert [c.smiles for c in got] == ["COc1ccc(C(C)=O)cc1"] and got[0].origins == ("seed",)
    chain = _Chain(rounds=3)
    res = Elucidator([src], predictor=LookupPredictor(), expander=chain).run(  # type: ignore[arg-type]
        EXAMPLE_TXT.read_text(), formula="C9H10O2")
    # a seed is a starting point, not a known answer: it is expanded like a de novo candidate
    assert chain.calls[0] == ["COc1ccc(C(C)=O)cc1"] and res.candidates[0].smiles == BENZYL_ACETATE
    with pytest.raises(NmrLensError, match="limit"):
        SeedSource(SeedLibrary.from_smiles(["CCO"]), limit=0)


def test_search_expander_as_the_second_stage() -> None:
    from nmrlens.pipeline.expand import SearchExpander

    # methyl 4-methylbenzoate is several moves from benzyl acetate: one structure search walks there
    start = [ListSource(["COC(=O)c1ccc(C)cc1"], name="generate")]
    search = SearchExpander(budget=150, keep=20)
    res = Elucidator(start, predictor=LookupPredictor(), expander=search).run(  # type: ignore[arg-type]
        EXAMPLE_TXT.read_text(), formula="C9H10O2")
    assert res.candidates[0].smiles == BENZYL_ACETATE and res.candidates[0].origins == ("expand",)
    assert res.n_proposed <= 1 + 20
    with pytest.raises(NmrLensError, match="query"):
        search.expand(["CCO"])
    for bad in ({"budget": 0}, {"seeds": 0}, {"keep": True}, {"moves": ("teleport",)}):
        with pytest.raises(NmrLensError):
            SearchExpander(**bad)  # type: ignore[arg-type]
