"""``evaluate inn``: metric definitions, the random baseline, and whole runs on both data formats."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from nmrlens.evaluate import run_task
from nmrlens.evaluate.inn import code_metrics, inversion_metrics, macro_f1, random_baseline
from tests.invert_fixtures import TEST_SMILES, tiny_checkpoint, write_nmrshiftdb2_jsonl, write_revmolspec_csv

KEYS = {"inn.macro_f1", "inn.random_macro_f1", "inn.bit_accuracy", "inn.max_inversion_error", "inn.valid_fraction",
        "inn.top10_hit", "inn.n_test", "inn.top10_hit_forward_code", "inn.top10_hit_shift_model"}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tiny_checkpoint(tmp_path_factory.mktemp("inn") / "tiny"))


def test_macro_f1_definition() -> None:
    true = np.array([[1, 0, 0, 0], [1, 1, 0, 0]])
    pred = np.array([[1, 0, 1, 0], [0, 1, 0, 0]])
    # bit 0: tp 1 fn 1 -> 2/3; bit 1: tp 1 -> 1; bit 2: fp 1 -> 0; bit 3 never set: left out
    assert macro_f1(pred, true) == pytest.approx((2 / 3 + 1 + 0) / 3)
    m = code_metrics(pred, true)
    assert m["bit_accuracy"] == pytest.approx(6 / 8) and m["micro_f1"] == pytest.approx(4 / 6)
    assert np.isnan(macro_f1(np.zeros((2, 3)), np.zeros((2, 3))))


def test_random_baseline_matches_frequency() -> None:
    rng = np.random.default_rng(0)
    freq = np.full(128, 0.06)
    true = (rng.random((400, 128)) < freq).astype(np.uint8)
    r = random_baseline(freq, true, seed=1)
    assert 0.04 < r["macro_f1"] < 0.08  # independent bits: F1 ~ frequency
    assert random_baseline(freq, true, seed=1) == r
    assert random_baseline(freq, true, seed=2) != r


def test_evaluate_csv(ckpt: str, tmp_path: Path) -> None:
    data = write_revmolspec_csv(tmp_path / "t.csv")
    m = run_task("inn", data, checkpoint=ckpt)
    assert KEYS <= set(m) and m["inn.n_test"] == len(TEST_SMILES) and m["inn.data_kind"] == "revmolspec"
    # the tiny model is overfitted to 24 molecules (large weights), so float32 rounding shows; float64 is exact
    assert m["inn.max_inversion_error"] < 1e-3 and m["inn.max_inversion_error_float64"] < 1e-10
    assert 0 <= m["inn.macro_f1"] <= 1 and 0 <= m["inn.valid_fraction"] <= 1
    assert m["inn.valid_fraction_unjoined"] <= m["inn.valid_fraction"]
    assert m["inn.top1_hit"] <= m["inn.top10_hit"] <= m["inn.candidate_hit"] + 1e-12
    json.dumps(m)
    assert run_task("inn", data, checkpoint=ckpt, limit=1)["inn.n_test"] == 1
    assert run_task("inn", data, checkpoint=ckpt) == m  # deterministic


def test_evaluate_jsonl(ckpt: str, tmp_path: Path) -> None:
    data = write_nmrshiftdb2_jsonl(tmp_path / "m.jsonl.gz", TEST_SMILES + ["CC", "CCO", "OC1CCCCC1"])
    m = run_task("inn", data, checkpoint=ckpt)
    # ethane and ethanol are training molecules of the shipped split; cyclohexanol is held out but
    # the hydrocarbon layout cannot hold it
    assert m["inn.n_test"] == 3 and m["inn.data_kind"] == "nmrshiftdb2" and m["inn.n_skipped"] == 1


def test_evaluate_errors(ckpt: str, tmp_path: Path) -> None:
    from nmrlens.errors import DataNotFoundError, FileFormatError, NmrLensError

    with pytest.raises(DataNotFoundError):
        run_task("inn", tmp_path / "missing.csv", checkpoint=ckpt)
    other = tmp_path / "x.sdf"
    other.write_text("")
    with pytest.raises(FileFormatError):
        run_task("inn", other, checkpoint=ckpt)
    only_train = write_revmolspec_csv(tmp_path / "train.csv", ["CC", "CCC"])
    with pytest.raises(NmrLensError, match="held-out"):
        run_task("inn", only_train, checkpoint=ckpt)


def test_shift_model_ranking(ckpt: str, tiny_shift_checkpoint: str, tmp_path: Path) -> None:
    from nmrlens.data.invertdata import load_items
    from nmrlens.models.invert import InversePredictor

    p = InversePredictor.load(ckpt)
    items = load_items(write_revmolspec_csv(tmp_path / "t.csv", TEST_SMILES), p.spec)
    with_shift = inversion_metrics(p, items, n_samples=30, shift_checkpoint=tiny_shift_checkpoint)
    assert with_shift["ranking"] == "shift_model+forward_code"
    assert with_shift["top10_hit_shift_model"] is not None and with_shift["top10_hit"] == with_shift["top10_hit_shift_model"]
    without = inversion_metrics(p, items, n_samples=30, use_shift_model=False)
    assert without["ranking"] == "forward_code" and without["top10_hit_shift_model"] is None
    assert without["top10_hit_forward_code"] == with_shift["top10_hit_forward_code"]
    assert without["candidate_hit"] == with_shift["candidate_hit"]
