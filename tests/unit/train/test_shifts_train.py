"""The shift-model trainer runs end to end on tiny unassigned data with a teacher and distillation."""

from __future__ import annotations

import json

import numpy as np

from nmrlens.models.checkpoint import load_checkpoint, save_checkpoint
from nmrlens.models.shifts import ShiftModel
from nmrlens.train.config import load_config
from nmrlens.train.shifts import ShiftTrainConfig, train
from tests.retrieval_helpers import SMILES, write_records


def test_train_tiny_with_teacher_and_distillation(tmp_path) -> None:  # noqa: ANN001
    data = write_records(tmp_path / "recs.jsonl", SMILES)
    teacher = save_checkpoint(ShiftModel(hidden=16, layers=1, head_hidden=16).eval(), tmp_path / "teacher")
    overrides = {"data.path": str(data), "train.epochs": 2, "train.batch_size": 4, "train.threads": 1,
                 "train.warmup_epochs": 0, "train.bf16": False, "train.teacher_checkpoint": str(teacher),
                 "train.distill_weight": 0.5, "model.hidden": 16, "model.layers": 1, "model.head_hidden": 16,
                 "model.encoder": "gated"}
    cfg = load_config(ShiftTrainConfig, None, overrides)
    metrics = train(cfg, tmp_path / "out")
    assert metrics["best_epoch"] in (0, 1)
    log = [json.loads(x) for x in (tmp_path / "out" / "log.jsonl").read_text().splitlines()]
    assert len(log) == 2 and all(np.isfinite(r["loss"]) for r in log)
    model, sidecar = load_checkpoint(tmp_path / "out" / "best")
    assert isinstance(model, ShiftModel)
    assert sidecar["training_data"]["config"]["train"]["distill_weight"] == 0.5
