"""The library-store source (``nmrlens.library``) with a tiny untrained embedding model: the formula
filter and the similarity with the stored spectra put the right molecule first; threads each get
their own SQLite connection."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

pytest.importorskip("nmrlens.library.search")
pytest.importorskip("faiss")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    from nmrlens.library.build import build_library
    from nmrlens.models.retrieval import CandidateScorer
    from nmrlens.pipeline.candidates import StoreSource
    from tests.retrieval_helpers import tiny_checkpoint, write_records

    folder = tmp_path_factory.mktemp("store")
    ckpt = tiny_checkpoint(folder)
    rec = write_records(folder / "rec.jsonl")
    build_library(rec, folder / "lib", checkpoint=ckpt, chunk_size=8)
    return StoreSource(folder / "lib", CandidateScorer.load(ckpt)), rec


def _query(rec: Path, i: int):  # noqa: ANN202
    from nmrlens import io

    q = io.read(rec, "nmrshiftdb2")[i]
    return q.with_(smiles=None, id=None, meta={})


def test_store_candidates_with_formula(store) -> None:  # noqa: ANN001
    src, rec = store
    q = _query(rec, 3)  # CC(=O)c1ccccc1, acetophenone
    got = src.candidates(q, formula="C8H8O", k=5)
    assert got and got[0].smiles == "CC(=O)c1ccccc1"
    assert all(c.formula == "C8H8O" for c in got)
    c = got[0]
    assert c.origins == ("library",) and 0.0 <= c.source_scores["library"] <= 1.0
    assert c.reference is not None and c.reference.spectrum("13C") is not None and c.library_id is not None


def test_store_works_from_several_threads(store) -> None:  # noqa: ANN001
    src, rec = store
    q = _query(rec, 11)  # CCOC(=O)c1ccccc1

    def run(_: int) -> str:
        return src.candidates(q, formula="C9H10O2", k=3)[0].smiles

    with ThreadPoolExecutor(4) as pool:
        assert set(pool.map(run, range(8))) == {"CCOC(=O)c1ccccc1"}


def test_elucidator_uses_the_store_as_library(store) -> None:  # noqa: ANN001
    from nmrlens.pipeline import Elucidator

    from .helpers import LookupPredictor

    src, rec = store
    q = _query(rec, 11)
    res = Elucidator([src], predictor=LookupPredictor(), assign_top=1).run(q, formula="C9H10O2", k=3)  # type: ignore[arg-type]
    top = res.candidates[0]
    assert top.smiles == "CCOC(=O)c1ccccc1" and top.parts["library"] is not None and top.library_id


def test_embedding_scorer_maps_cosines_to_unit_interval(store) -> None:  # noqa: ANN001
    from nmrlens.pipeline.scoring import EmbeddingScorer

    src, rec = store
    emb = EmbeddingScorer(src.scorer)
    q = _query(rec, 3)
    smiles = ["CC(=O)c1ccccc1", "CCO", "[Fe]"]
    got = emb.score(q, smiles, [None, None, None])
    for key in ("sme", "sse"):
        assert got[key][2] is None  # unsupported molecule: no score
        assert all(v is not None and 0.0 <= v <= 1.0 for v in got[key][:2])
