"""Training of the invertible network: shipped configs load, a tiny run writes a loadable checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nmrlens.errors import ConfigError
from nmrlens.train.config import configs_dir, load_config
from nmrlens.train.invert import InvertTrainConfig, main
from tests.invert_fixtures import write_revmolspec_csv


@pytest.mark.parametrize("name,layout,source", [("invert_revmolspec.toml", "revmolspec", "revmolspec"),
                                                ("invert_general.toml", "general", "nmrshiftdb2")])
def test_shipped_configs_load(name: str, layout: str, source: str) -> None:
    cfg = load_config(InvertTrainConfig, configs_dir() / name)
    assert cfg.model.layout == layout and cfg.data.source == source and cfg.train.epochs >= 1
    assert len(cfg.model.blocks) == len(cfg.model.hidden)


def test_unknown_key(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    p.write_text("[loss]\nadjacent = 0.5\n")
    with pytest.raises(ConfigError, match="adjacent"):
        load_config(InvertTrainConfig, p)


def test_tiny_training_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    data = write_revmolspec_csv(tmp_path / "t.csv")
    out = tmp_path / "run"
    before = torch.get_num_threads()
    try:
        rc = main(["--config", str(configs_dir() / "invert_revmolspec.toml"), "--out", str(out), "--set",
                   f"data.path={data}", "train.epochs=2", "train.eval_every=1", "train.batch_size=8",
                   "model.blocks=[1,1,1,1,1]", "model.hidden=[4,8,8,8,16]", "train.augment_orders=2",
                   "train.calib_samples=5", "train.temperatures=[0.5]"])
    finally:
        torch.set_num_threads(before)
    assert rc == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["test_max_inversion_error"] < 1e-4 and 0 <= metrics["test_valid_fraction"] <= 1
    assert {p.name for p in out.iterdir()} >= {"best.json", "best.safetensors", "config.json", "log.jsonl", "split.tsv"}
    split = (out / "split.tsv").read_text().splitlines()
    assert split[0].startswith("id\t") and len(split) == 1 + 24
    assert sum(line.split("\t")[3] == "test" for line in split[1:]) == 3
    side = json.loads((out / "best.json").read_text())
    assert side["training_data"]["n_test"] == 3 and side["hparams"]["bank_size"] == 20
    assert side["extra"]["sampler"] == "bank" and side["metrics"]["sample_temperature"] == 0.5
    from nmrlens.models.invert import InversePredictor

    p = InversePredictor.load(str(out / "best"))
    assert int(p.model.bank_count) == 20 and p.invert([20.0, 130.0], 5, use_shift_model=False).n_samples == 5
