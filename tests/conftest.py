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
