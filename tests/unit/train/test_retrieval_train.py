"""The retrieval trainer runs end to end on tiny data and writes a loadable checkpoint."""

from __future__ import annotations

import json
import random

from nmrlens.models.retrieval import CandidateScorer
from nmrlens.spectra.model import Multiplet, Peak, Query, Spectrum1D
from nmrlens.train.config import load_config
from nmrlens.train.retrieval import RetrievalTrainConfig, TrainSection, augment, train
from tests.retrieval_helpers import SMILES, write_records


def test_augment_keeps_nuclei_and_perturbs() -> None:
    q = Query(spectra=[Spectrum1D("13C", [Peak(100.0 + i) for i in range(10)]),
                       Spectrum1D("1H", [Multiplet(1.0 + i / 10, 1.0 + i / 10, nH=2) for i in range(10)])])
    a = augment(q, random.Random(0), TrainSection(peak_dropout=0.5, extra_peak_prob=0.0))
    assert a.nuclei == ["13C", "1H"]
    assert len(a.spectrum("13C")) >= 1 and len(a.spectrum("1H")) >= 1
    assert len(a.spectrum("13C")) + len(a.spectrum("1H")) < 20  # half of the peaks dropped on average
    assert a.spectrum("13C").shifts != q.spectrum("13C").shifts
    same = augment(q, random.Random(0), TrainSection(peak_dropout=0.0, jitter_c13=0.0, jitter_h1=0.0, nh_dropout=0.0,
                                                     extra_peak_prob=0.0))
    assert same.spectrum("13C").shifts == q.spectrum("13C").shifts


def test_train_tiny(tmp_path) -> None:  # noqa: ANN001
    data = write_records(tmp_path / "recs.jsonl", SMILES * 2)
    overrides = {"data.path": str(data), "train.epochs": 2, "train.batch_size": 8, "train.threads": 1,
                 "model.graph_hidden": 16, "model.graph_layers": 1, "model.spec_hidden": 16, "model.spec_layers": 1,
                 "model.heads": 2, "model.ff": 16, "model.embed_dim": 8, "model.max_len": 64}
    cfg = load_config(RetrievalTrainConfig, None, overrides)
    metrics = train(cfg, tmp_path / "out")
    assert metrics["best_epoch"] in (0, 1)
    assert json.loads((tmp_path / "out" / "config.json").read_text())["model"]["embed_dim"] == 8
    assert len((tmp_path / "out" / "log.jsonl").read_text().splitlines()) == 2
    scorer = CandidateScorer.load(str(tmp_path / "out" / "best"))
    assert scorer.embed_molecules(["CCO"]).shape == (1, 8)
    assert scorer.sidecar["training_data"]["n_train"] > 0
