"""Shared pytest fixtures: the shared-data location (tests that need it are skipped without it)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The shared data folder from NMRLENS_DATA_DIR; skips the test when it is unset or missing."""
    value = os.environ.get("NMRLENS_DATA_DIR")
    if not value or not Path(value).is_dir():
        pytest.skip("NMRLENS_DATA_DIR is not set to the shared data folder")
    return Path(value)


@pytest.fixture(scope="session")
def tiny_shift_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A small, untrained shift model saved as a checkpoint (for pipeline tests, not accuracy)."""
    import torch

    from nmrlens.models.checkpoint import save_checkpoint
    from nmrlens.models.shifts import ShiftModel

    torch.manual_seed(0)
    stem = save_checkpoint(ShiftModel(hidden=16, layers=2, head_hidden=16), tmp_path_factory.mktemp("ckpt") / "tiny")
    return str(stem)
