"""TOML configs: shipped configs load, unknown keys and bad types are errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from nmrlens.errors import ConfigError
from nmrlens.train.config import config_to_dict, configs_dir, load_config
from nmrlens.train.shifts import ShiftTrainConfig


def test_shipped_config_loads() -> None:
    cfg = load_config(ShiftTrainConfig, configs_dir() / "shifts.toml")
    assert cfg.model.hidden == 256 and cfg.train.epochs >= 1
    assert config_to_dict(cfg)["data"]["path"].endswith("molecules.jsonl.gz")


def test_unknown_keys_and_types(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    p.write_text("[model]\nhiden = 3\n")
    with pytest.raises(ConfigError, match="hiden"):
        load_config(ShiftTrainConfig, p)
    p.write_text("[modle]\n")
    with pytest.raises(ConfigError, match="modle"):
        load_config(ShiftTrainConfig, p)
    p.write_text('[train]\nlr = "fast"\n')
    with pytest.raises(ConfigError, match="lr"):
        load_config(ShiftTrainConfig, p)
    p.write_text("[train\n")
    with pytest.raises(ConfigError, match="TOML"):
        load_config(ShiftTrainConfig, p)
    cfg = load_config(ShiftTrainConfig, None, {"train.lr": 1})
    assert cfg.train.lr == 1.0 and isinstance(cfg.train.lr, float)


def test_start_run_trains_in_float32_without_native_bfloat16(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """bf16 autocast is kept only where the CPU has native kernels (emulated, it is many times slower)."""
    import json
    from dataclasses import dataclass, field

    from nmrlens.train.config import start_run

    @dataclass
    class _Train:
        threads: int = 1
        seed: int = 0
        bf16: bool = True

    @dataclass
    class _Cfg:
        train: _Train = field(default_factory=_Train)

    monkeypatch.setenv("NMRLENS_BF16", "0")
    cfg = _Cfg()
    start_run(cfg, tmp_path / "a")
    assert cfg.train.bf16 is False and json.loads((tmp_path / "a" / "config.json").read_text())["train"]["bf16"] is False
    monkeypatch.setenv("NMRLENS_BF16", "1")
    cfg = _Cfg()
    start_run(cfg, tmp_path / "b")
    assert cfg.train.bf16 is True and json.loads((tmp_path / "b" / "config.json").read_text())["train"]["bf16"] is True
