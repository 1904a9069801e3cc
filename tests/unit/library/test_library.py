"""Library store, indexes, resumable build, search (tiny model, tiny libraries in tmp_path)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nmrlens.errors import DataNotFoundError, NmrLensError, OutputExistsError
from nmrlens.library.build import MoleculeInput, build_library, read_molecules
from nmrlens.library.engines import get_engine
from nmrlens.library.index import VectorIndex, choose_kind
from nmrlens.library.search import Library
from nmrlens.library.store import LibraryRow, LibraryStore
from nmrlens.models.retrieval import CandidateScorer
from nmrlens.spectra.model import Peak, Query, Spectrum1D
from tests.retrieval_helpers import SMILES, tiny_checkpoint, write_records


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory: pytest.TempPathFactory) -> str:
    return tiny_checkpoint(tmp_path_factory.mktemp("ret"))


def test_store_round_trip(tmp_path) -> None:  # noqa: ANN001
    with LibraryStore(tmp_path / "lib", create=True) as st:
        v = np.arange(4, dtype=np.float32)
        rows = [LibraryRow(0, "CCO", "ethanol", "C2H6O", "LFQSCWFLJHTTHZ-UHFFFAOYSA-N", "LFQSCWFLJHTTHZ", "{}", None,
                           {"13C": "predicted"}, emb_mol=v, emb_C=v + 1),
                LibraryRow(1, "CCO", "dup", "C2H6O", "X", "X")]
        assert st.add_chunk(0, 2, rows) == 1
        assert st.done_chunks() == {0} and st.count() == 1
        got = st.rows([0, 5])[0]
        assert got.name == "ethanol" and got.sources == {"13C": "predicted"} and got.emb_H is None
        assert np.array_equal(got.emb_mol, v) and np.array_equal(got.emb_C, v + 1)
        ids, mat = st.embeddings("emb_C")
        assert ids.tolist() == [0] and mat.shape == (1, 4)
        assert st.ids_with_formula("C2H6O") == [0]
        st.set_meta("x", {"a": 1})
        assert st.get_meta("x") == {"a": 1}
    with pytest.raises(DataNotFoundError):
        LibraryStore(tmp_path / "missing")


@pytest.mark.parametrize("kind", ["flat", "ivf", "hnsw"])
def test_index_kinds_find_the_nearest(tmp_path, kind) -> None:  # noqa: ANN001
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3000, 16)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    ids = np.arange(3000) + 10
    idx = VectorIndex.build(x, ids, kind)
    s, found = idx.search(x[:20], 5)
    assert (found[:, 0] == ids[:20]).mean() >= 0.9
    idx.save(tmp_path / "i.faiss")
    again = VectorIndex.load(tmp_path / "i.faiss", idx.kind)
    assert np.array_equal(again.search(x[:20], 5)[1], found)
    assert choose_kind(10) == "flat" and choose_kind(10**6) == "ivf"
    with pytest.raises(NmrLensError):
        choose_kind(10, "annoy")


def test_build_interrupt_resume_and_search(tmp_path, ckpt) -> None:  # noqa: ANN001
    rec = write_records(tmp_path / "mols.jsonl")
    out = tmp_path / "lib"
    part = build_library(rec, out, checkpoint=ckpt, chunk_size=5, max_chunks=2)
    assert not part.complete and part.chunks_done == 2
    with LibraryStore(out) as st:
        assert st.count() == 10 and st.get_meta("complete") is False
    # an interrupted library is usable: the indexes are built in memory from the store
    lib = Library(out, CandidateScorer.load(ckpt))
    q = Query(spectra=[Spectrum1D("13C", [Peak(60.0), Peak(18.0)])])
    assert lib.search(q, k=3)
    lib.close()
    full = build_library(rec, out, checkpoint=ckpt, chunk_size=5)
    assert full.complete and full.n_new == len(SMILES) - 10 and full.chunks_done == 4
    with LibraryStore(out) as st:
        assert st.count() == len(SMILES)
        info = st.get_meta("indexes")
        row = st.rows([0])[0]
    assert info["emb_mol"] == {"kind": "flat", "ntotal": len(SMILES)}
    assert info["fp_C"]["ntotal"] == len(SMILES) and (out / "index_fp_C.faiss").is_file()
    assert row.sources == {"13C": "experimental", "1H": "experimental"} and row.experimental is not None
    assert json.loads(row.predicted)["spectra"][0]["nucleus"] == "13C"
    # running again changes nothing
    again = build_library(rec, out, checkpoint=ckpt, chunk_size=5)
    assert again.n_new == 0 and again.complete
    # another input in the same folder is refused, unless forced
    other = tmp_path / "other.smi"
    other.write_text("CCO ethanol\nCCCO\nnot_a_smiles bad\n")
    with pytest.raises(OutputExistsError):
        build_library(other, out, checkpoint=ckpt)
    rep = build_library(other, out, checkpoint=ckpt, force=True)
    assert rep.n_stored == 2 and rep.n_skipped == 1


def test_search_ranks_a_molecule_with_its_own_spectrum_first(tmp_path, ckpt) -> None:  # noqa: ANN001
    rec = write_records(tmp_path / "mols.jsonl")
    out = tmp_path / "lib"
    build_library(rec, out, checkpoint=ckpt, chunk_size=8)
    lib = Library(out, CandidateScorer.load(ckpt))
    row = lib.store.rows([3])[3]
    q = lib.spectra_of(row)  # the stored (experimental) spectra of molecule 3
    hits = lib.search(Query(spectra=q.spectra), k=5, score="ssr", recall=50)
    assert hits[0].smiles == row.smiles and hits[0].scores["ssr"] == pytest.approx(1.0)
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    only = lib.search(Query(spectra=q.spectra), k=5, formula=row.formula)
    assert {h.formula for h in only} == {row.formula}
    # the spectral fingerprint recalls the molecule whatever the (tiny, untrained) embeddings say
    q_emb = lib.scorer.embed_spectra([q], "C")[0]
    assert row.id in lib.candidates(q_emb, "C", recall=1, query=lib.standing_spectra(row))
    assert len(lib.candidates(q_emb, "C", recall=1)) <= 2
    m2s = lib.search_molecule(row.smiles, k=3, config="C")
    assert len(m2s) == 3 and m2s[0].scores["sme"] >= m2s[1].scores["sme"]
    with pytest.raises(NmrLensError, match="score"):
        lib.search(q, score="best")
    lib.close()


def test_search_applies_a_learned_reranker_without_a_formula_only(tmp_path, ckpt) -> None:  # noqa: ANN001
    from nmrlens.models.rerank import Reranker

    rec = write_records(tmp_path / "mols.jsonl")
    out = tmp_path / "lib"
    build_library(rec, out, checkpoint=ckpt, chunk_size=8)
    scorer = CandidateScorer.load(ckpt)
    scorer.rerankers["C"] = Reranker(("match_cost",), (0.0,), (1.0,), (-3.0,), top=5)
    lib = Library(out, scorer)
    row = lib.store.rows([3])[3]
    q = Query(spectra=lib.spectra_of(row).spectra)
    hits = lib.search(q, k=8, config="C")
    assert hits[0].smiles == row.smiles
    probs = [h.scores["combine"] for h in hits]
    assert sum(probs[:5]) == pytest.approx(1.0) and all(p == 0.0 for p in probs[5:])
    assert probs == sorted(probs, reverse=True)
    only = lib.search(q, k=3, formula=row.formula, config="C")  # with a formula: the fused score
    rows, scores = lib.score_candidates(q, [h.id for h in only], "C", rerank=False)
    assert [h.scores["combine"] for h in only] == pytest.approx(list(scores["fused"]))
    lib.close()


def test_read_molecules_formats(tmp_path) -> None:  # noqa: ANN001
    smi = tmp_path / "a.smi"
    smi.write_text("# comment\nCCO ethanol\n\nc1ccccc1\n")
    assert read_molecules(smi).__next__() == MoleculeInput("CCO", "ethanol")
    assert [m.smiles for m in read_molecules(smi)] == ["CCO", "c1ccccc1"]
    js = tmp_path / "b.jsonl"
    js.write_text('{"smiles": "CC", "name": "ethane"}\n')
    assert list(read_molecules(js)) == [MoleculeInput("CC", "ethane")]
    js.write_text('{"name": "no smiles"}\n')
    with pytest.raises(NmrLensError, match="smiles"):
        list(read_molecules(js))
    with pytest.raises(NmrLensError, match="expected one of"):
        list(read_molecules(tmp_path / "c.xyz"))


def test_ray_engine_is_guarded_and_local_engine_maps() -> None:
    try:
        import ray  # noqa: F401
    except ImportError:
        with pytest.raises(NmrLensError, match=r"pip install 'nmrlens\[distributed\]'"):
            get_engine("ray")
    assert list(get_engine("local").map(lambda a, b: a + b, [(0, (1, 2)), (1, (3, 4))])) == [(0, 3), (1, 7)]
    with pytest.raises(NmrLensError, match="engine"):
        get_engine("spark")
    with pytest.raises(NmrLensError, match="--workers"):
        get_engine("local", workers=2)
    with pytest.raises(NmrLensError, match="--address"):
        get_engine("process", address="ray://x")
    with pytest.raises(NmrLensError, match=r"--workers: got 0"):
        get_engine("process", workers=0)


def test_process_engine_gives_the_same_library_as_local(tmp_path, ckpt) -> None:  # noqa: ANN001
    import operator

    eng = get_engine("process", workers=2)
    try:
        assert sorted(eng.map(operator.add, [(k, (k, 10)) for k in range(5)])) == [(k, k + 10) for k in range(5)]
    finally:
        eng.close()
    rec = write_records(tmp_path / "mols.jsonl")
    local = build_library(rec, tmp_path / "local", checkpoint=ckpt, chunk_size=4)
    multi = build_library(rec, tmp_path / "multi", checkpoint=ckpt, chunk_size=4, engine="process", workers=2)
    assert multi.complete and multi.n_stored == local.n_stored == len(SMILES)
    with LibraryStore(tmp_path / "local") as a, LibraryStore(tmp_path / "multi") as b:
        ids = list(range(len(SMILES)))
        ra, rb = a.rows(ids), b.rows(ids)
        for i in ids:
            assert (ra[i].smiles, ra[i].predicted) == (rb[i].smiles, rb[i].predicted)
            assert np.allclose(ra[i].emb_mol, rb[i].emb_mol, atol=1e-5)


def test_api_search_opens_the_library_with_its_checkpoint(tmp_path, ckpt) -> None:  # noqa: ANN001
    from nmrlens import api
    from nmrlens.errors import DataNotFoundError

    rec = write_records(tmp_path / "mols.jsonl")
    out = tmp_path / "lib"
    build_library(rec, out, checkpoint=ckpt, chunk_size=8)
    lib = Library.open(out)
    row = lib.store.rows([2])[2]
    spectra = lib.standing_spectra(row).spectra
    lib.close()
    hits = api.search(Query(spectra=spectra), out, k=3, score="ssr")
    assert hits[0].smiles == row.smiles and len(hits) == 3
    assert api.search(Query(spectra=spectra), out, formula=row.formula)[0].formula == row.formula
    assert len(api.search_molecule(row.smiles, out, k=2, config="C")) == 2
    with pytest.raises(DataNotFoundError, match="library.sqlite"):
        api.search(Query(spectra=spectra), tmp_path / "nowhere")
    api.library.cache_clear()


def test_library_signature_names_the_shipped_model_it_was_built_with() -> None:
    """A library built with a shipped retrieval model keeps using that model after the default changes."""
    from nmrlens.errors import NmrLensError
    from nmrlens.library.search import shipped_or_path
    from nmrlens.models.retrieval import DEFAULT_RETRIEVAL_CHECKPOINT

    assert shipped_or_path(f"shipped:{DEFAULT_RETRIEVAL_CHECKPOINT}") == DEFAULT_RETRIEVAL_CHECKPOINT
    assert shipped_or_path("/some/run/best") == "/some/run/best"
    with pytest.raises(NmrLensError, match="retrieval_v0_gone"):
        shipped_or_path("shipped:retrieval_v0_gone")
