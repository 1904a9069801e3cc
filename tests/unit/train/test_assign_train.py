"""Assignment trainer: the shipped config is valid, unknown keys are errors, shift-model initialisation."""

from __future__ import annotations

import pytest
import torch

from nmrlens.errors import ConfigError
from nmrlens.models.assign import AssignModel
from nmrlens.models.checkpoint import save_checkpoint
from nmrlens.models.shifts import ShiftModel
from nmrlens.train.assign import AssignTrainConfig, init_from_shift_model
from nmrlens.train.config import configs_dir, load_config


def test_shipped_config_loads() -> None:
    cfg = load_config(AssignTrainConfig, configs_dir() / "assign.toml")
    assert cfg.model.hidden == 256 and cfg.train.init_from_shifts == "shifts_v1"
    assert cfg.train.time_budget_min <= 25


def test_unknown_key_is_an_error() -> None:
    with pytest.raises(ConfigError, match="unknown key"):
        load_config(AssignTrainConfig, configs_dir() / "assign.toml", {"train.temperature": 0.1})


def test_init_from_shift_model_copies_encoder_and_head(tmp_path) -> None:
    torch.manual_seed(0)
    shift = ShiftModel(hidden=16, layers=2, head_hidden=16)
    stem = save_checkpoint(shift, tmp_path / "s")
    model = AssignModel(hidden=16, layers=2, emb_dim=8, graph_dim=8, peak_hidden=16, rbf_step=10.0, heads=2)
    n = init_from_shift_model(model, str(stem) + ".json")
    assert n == sum(1 for k in shift.state_dict() if k.startswith(("encoder.", "c13_head.")))
    assert torch.equal(model.encoder.embed[0].weight, shift.encoder.embed[0].weight)
    assert torch.equal(model.c13_head[-1].bias, shift.c13_head[-1].bias)
