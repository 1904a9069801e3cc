"""evaluate generation end to end with the tiny memorising model."""

from __future__ import annotations

from pathlib import Path

import pytest

from nmrlens.errors import ConfigError
from nmrlens.evaluate.generation import evaluate
from tests.generate_helpers import save_tiny

DATA = Path(__file__).resolve().parents[2] / "data" / "generate_records.jsonl"


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory: pytest.TempPathFactory) -> str:
    return save_tiny(tmp_path_factory.mktemp("gen"))


def test_metrics_of_memorised_records(ckpt: str) -> None:
    m = evaluate(DATA, checkpoint=ckpt, beam=5, which="all")
    # 3 records: every record has 13C and a formula, two have 1H
    assert m["n_queries.C"] == 3 and m["n_queries.CF"] == 3 and m["n_queries.H"] == 2 and m["n_queries.CHF"] == 2
    for cfg in ("C", "H", "CH", "CF", "HF", "CHF"):
        assert m[f"gen.raw.{cfg}.top1"] == 1.0
        assert m[f"gen.rerank_base.{cfg}.top1"] == 1.0
        assert m[f"gen.rerank_base.{cfg}.top1_topology"] == 1.0
        assert m[f"gen.rerank_ssr.{cfg}.top10"] == 1.0
        assert m[f"gen.rerank_combine.{cfg}.top5"] == 1.0
    assert 0.0 < m["valid_fraction"] <= 1.0
    assert m["seconds_per_query"] > 0
    assert m["beam"] == 5
    if not m["search_scores_available"]:
        assert m["gen.rerank_sme.C.top1"] is None and m["gen.rerank_sse.CHF.top10_topology"] is None


def test_held_out_filter_drops_training_molecules(ckpt: str) -> None:
    m = evaluate(DATA, checkpoint=ckpt, beam=2)  # ethanol, acetone and alanine are train-split molecules
    assert m["n_records"] == 0 and m["n_queries.C"] == 0
    assert m["gen.raw.C.top1"] is None and m["valid_fraction"] is None


def test_bad_beam(ckpt: str) -> None:
    with pytest.raises(ConfigError, match="beam"):
        evaluate(DATA, checkpoint=ckpt, beam=0)


def test_search_variant(ckpt: str) -> None:
    m = evaluate(DATA, checkpoint=ckpt, beam=5, which="all", search_budget=30)
    # ethanol, acetone and alanine have fewer than ten neighbours: the memorised seed stays in the top 10
    for cfg in ("CF", "HF", "CHF"):
        assert m[f"gen.search.{cfg}.top10_topology"] == 1.0
        assert m[f"gen.search.{cfg}.top1"] is not None
    assert "gen.search.C.top1" not in m  # the search needs a formula
    assert m["search_seconds_per_query"] > 0
    with pytest.raises(ConfigError, match="search-budget"):
        evaluate(DATA, checkpoint=ckpt, beam=5, which="all", search_budget=-1)


def test_seed_library_only_lends_training_molecules(ckpt: str, tmp_path: Path) -> None:
    lib = tmp_path / "seeds.smi"
    # dimethyl ether (C2H6O, an ethanol isomer) is a train-split molecule, methyl 4-methylbenzoate a test-split one
    lib.write_text("COC\nCOC(=O)c1ccc(C)cc1\n")
    m = evaluate(DATA, checkpoint=ckpt, beam=5, which="all", search_budget=30, seed_library=lib)
    assert m["seed_library_size"] == 1
    assert 0.0 < m["seed_library_hit_fraction"] < 1.0  # the ethanol queries only
    for cfg in ("CF", "HF", "CHF"):
        assert m[f"gen.search.{cfg}.top10_topology"] == 1.0
    assert "seed_library_size" not in evaluate(DATA, checkpoint=ckpt, beam=5, which="all", configs=None)
    with pytest.raises(ConfigError, match="seed-library"):
        evaluate(DATA, checkpoint=ckpt, beam=5, which="all", seed_library=lib)
