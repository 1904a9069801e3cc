"""``evaluate retrieval`` end to end on a tiny record file with a tiny model."""

from __future__ import annotations

import json

import pytest

from nmrlens.evaluate import run_task
from nmrlens.evaluate.retrieval import CONFIGS, SCORE_KEYS, TOPK, fit_fusion
from nmrlens.models.checkpoint import read_sidecar
from tests.retrieval_helpers import SMILES, tiny_checkpoint, write_records


def test_keys_and_values(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("NMRLENS_CACHE_DIR", str(tmp_path / "cache"))
    data = write_records(tmp_path / "recs.jsonl")
    ckpt = tiny_checkpoint(tmp_path)
    m = run_task("retrieval", data, checkpoint=ckpt, seed=0)
    for score in SCORE_KEYS:
        for cfg in CONFIGS:
            for k in TOPK:
                v = m[f"s2m.{score}.{cfg}.top{k}"]
                assert v is None or 0.0 <= v <= 1.0
    assert m["library_size"] == len(SMILES) and m["n_queries"] == len(SMILES)
    assert m["s2m.C.n"] == len(SMILES) and m["s2m.CH.n"] == len(SMILES) // 2
    # 'experimental' spectra are the shipped model's predictions shifted by 0.3 ppm: SSR finds them
    assert m["s2m.ssr.C.top1"] >= 0.9
    # with the formula most candidates are removed, so top-10 is certain
    assert m["s2m.combine.CF.top10"] == 1.0
    assert m["s2m.combine.C.top1_stereo"] <= m["s2m.combine.C.top1"]
    for cfg in ("C", "H", "CH", "CF", "HF", "CHF"):
        assert 0.0 <= m[f"m2s.{cfg}.top1"] <= 1.0
    assert m["query_ms_p50"] > 0 and m["query_ms_p95"] >= m["query_ms_p50"]
    json.dumps(m, allow_nan=False)
    small = run_task("retrieval", data, checkpoint=ckpt, library_size=5)
    assert small["library_size"] == 5 and small["n_queries"] == 5


def test_fit_fusion_writes_weights(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("NMRLENS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr("nmrlens.evaluate.retrieval._select",
                        lambda records, split, limit, seed: [r for r in records if r.query is not None][:limit])
    data = write_records(tmp_path / "recs.jsonl")
    ckpt = tiny_checkpoint(tmp_path)
    res = fit_fusion(data, checkpoint=ckpt, limit=8)
    side = read_sidecar(ckpt)
    assert side["extra"]["fusion"] == res["fusion"]
    assert set(res["fusion"]) == {"C", "H", "CH"}
    assert res["val.combine.C.top1"] >= res["val.sme.C.top1"]


def test_bad_library_size(tmp_path) -> None:  # noqa: ANN001
    from nmrlens.errors import NmrLensError

    with pytest.raises(NmrLensError, match="library-size"):
        run_task("retrieval", write_records(tmp_path / "r.jsonl", SMILES[:3]), library_size=0)
