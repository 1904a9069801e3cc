"""Generation trainer: a tiny two-phase run writes reloadable checkpoints and its resolved config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nmrlens.errors import ConfigError
from nmrlens.train.config import configs_dir, load_config
from nmrlens.train.generate import GenTrainConfig, main

DATA = Path(__file__).resolve().parents[2] / "data" / "generate_records.jsonl"
LIT = Path(__file__).resolve().parents[2] / "data" / "literature_records.jsonl"


def test_shipped_configs_load() -> None:
    for name in ("generate.toml", "generate_exponly.toml", "generate_v2.toml", "generate_v3.toml", "generate_v4.toml",
                 "generate_v5.toml", "generate_v6.toml"):
        cfg = load_config(GenTrainConfig, configs_dir() / name)
        assert cfg.model.dim % cfg.model.heads == 0
    assert load_config(GenTrainConfig, configs_dir() / "generate_exponly.toml").pretrain.minutes == 0
    assert load_config(GenTrainConfig, configs_dir() / "generate_v3.toml").train.init_checkpoint == "artifacts/train/generate_v2/best"
    assert load_config(GenTrainConfig, configs_dir() / "generate_v4.toml").train.init_checkpoint == "artifacts/train/generate_v3/best"
    assert load_config(GenTrainConfig, configs_dir() / "generate_v5.toml").train.init_checkpoint == "artifacts/train/generate_v4s/best"
    v6 = load_config(GenTrainConfig, configs_dir() / "generate_v6.toml")
    assert v6.train.init_checkpoint == "generate_v5" and v6.data.literature.startswith("literature/")


def test_unknown_key_is_an_error(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    p.write_text("[pretrain]\nminutse = 3\n")
    with pytest.raises(ConfigError, match="minutse"):
        load_config(GenTrainConfig, p)


def test_tiny_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    args = ["--out", str(out), "--set", f"data.path={DATA}", 'data.cache_dir=""', "pretrain.minutes=0.02",
            "finetune.minutes=0.02", "data.brics=0", "data.max_sim=0", "train.eval_every=2", "train.batch_size=2", "model.dim=16", "model.heads=2",
            "model.ff=32", "model.enc_layers=1", "model.dec_layers=1", "model.max_src=64", "model.max_tgt=32"]
    assert main(args) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["steps"] >= 2
    for name in ("pretrain", "best", "last", "config"):
        assert (out / f"{name}.json").is_file()
    from nmrlens.models.generate import Generator

    gen = Generator.load(str(out / "best"))
    side = json.loads((out / "best.json").read_text())
    assert side["training_data"]["n_sim_train"] == 3 and side["stored_dtype"] == "float16"
    # untrained: no valid end expected; without the syntax constraint (and its length bound) cut hypotheses come back
    assert len(gen.beams([gen_query()], beam=2, constrain_valid=False, constrain_syntax=False)[0]) == 2


def test_tiny_run_with_literature(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Literature records (both train-split molecules) join the experimental and the simulated examples."""
    out = tmp_path / "run"
    args = ["--out", str(out), "--set", f"data.path={DATA}", f"data.literature={LIT}", "data.literature_repeat=3",
            'data.cache_dir=""', "pretrain.minutes=0.02", "finetune.minutes=0.02", "data.brics=0", "train.eval_every=2",
            "train.batch_size=2", "model.dim=16", "model.heads=2", "model.ff=32", "model.enc_layers=1",
            "model.dec_layers=1", "model.max_src=64", "model.max_tgt=32"]
    assert main(args) == 0
    capsys.readouterr()
    td = json.loads((out / "best.json").read_text())["training_data"]
    assert (td["n_lit_train"], td["n_lit_val"]) == (2, 0)
    assert td["n_exp_train"] == 3 + 3 * 2  # nmrshiftdb2 records + literature records repeated 3 times
    assert td["n_sim_train"] == 3 + 2  # their molecules simulated too


def test_init_checkpoint_copies_weights_and_checks_architecture(tmp_path: Path) -> None:
    import torch

    from nmrlens.errors import NmrLensError
    from nmrlens.models.checkpoint import save_checkpoint
    from nmrlens.models.generate import GenerationModel
    from nmrlens.train.generate import _init_from

    torch.manual_seed(0)
    small = dict(dim=16, heads=2, enc_layers=1, dec_layers=1, ff=32, dropout=0.0, max_src=64, max_tgt=32)
    src = GenerationModel(40, 30, **small)
    stem = str(save_checkpoint(src, tmp_path / "start", force=True))
    dst = GenerationModel(40, 30, **small)
    assert any(not torch.equal(a, b) for a, b in zip(src.state_dict().values(), dst.state_dict().values()))
    _init_from(dst, stem)
    for (k, a), b in zip(src.state_dict().items(), dst.state_dict().values()):
        assert torch.equal(a, b), k
    other = GenerationModel(40, 30, **{**small, "dim": 32})
    with pytest.raises(NmrLensError, match="init_checkpoint"):
        _init_from(other, stem)


def gen_query():  # noqa: ANN201
    from tests.generate_helpers import PAIRS

    return PAIRS["CCO"]
