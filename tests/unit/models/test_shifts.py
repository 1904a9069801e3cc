"""Shift model: tiny-batch overfit, checkpoint reload gives identical outputs, batch targets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from nmrlens.chem import parse_smiles
from nmrlens.data.featurize import featurize_mol
from nmrlens.data.shiftdata import ShiftDatapoint
from nmrlens.errors import ConfigError, OutputExistsError
from nmrlens.models.checkpoint import load_checkpoint, read_sidecar, save_checkpoint
from nmrlens.models.shifts import ShiftModel, ShiftPredictor
from nmrlens.nn.graph import collate_graphs
from nmrlens.train.shifts import batch_targets, distill_targets

SMILES = ["CC(=O)OCc1ccccc1", "CCO", "c1ccncc1", "CC(C)=O", "OC(=O)CCl"]
C13 = {  # approximate literature 13C shifts per atom (NaN for non-carbons)
    "CCO": [18.4, 58.3, None],
    "CC(C)=O": [30.8, 206.7, 30.8, None],
    "c1ccncc1": [136.0, 123.8, 149.9, None, 149.9, 123.8],  # C4, C3, C2, N, C6, C5
}


def _graphs():
    return [featurize_mol(parse_smiles(s)) for s in C13]


@pytest.mark.parametrize("encoder", ["gine", "gated"])
def test_overfits_a_tiny_batch(encoder: str) -> None:
    torch.manual_seed(0)
    graphs = _graphs()
    target = torch.tensor([np.nan if v is None else v for s in C13 for v in C13[s]], dtype=torch.float32)
    mask = ~torch.isnan(target)
    model = ShiftModel(hidden=32, layers=2, head_hidden=32, encoder=encoder)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    g = collate_graphs(graphs)
    for _ in range(600):
        out = model(g)
        loss = (((out.c13_mu[mask] - target[mask]) / 50.0) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    mae = (model(g).c13_mu[mask] - target[mask]).abs().mean().item()
    assert mae < 0.5  # ppm; an untrained model is ~50 ppm off


@pytest.mark.parametrize("encoder", ["gine", "gated"])
def test_checkpoint_reload_identical(tmp_path: Path, encoder: str) -> None:
    torch.manual_seed(1)
    model = ShiftModel(hidden=32, layers=2, head_hidden=32, encoder=encoder).eval()
    model.c13_sigma_cal.fill_(1.3)
    stem = save_checkpoint(model, tmp_path / "m", metrics={"x": float("nan"), "y": 1.0}, training_data={"d": 1})
    with pytest.raises(OutputExistsError):
        save_checkpoint(model, tmp_path / "m")
    loaded, sidecar = load_checkpoint(stem)
    assert sidecar["model_class"] == "ShiftModel" and sidecar["metrics"] == {"x": None, "y": 1.0}
    mols = [parse_smiles(s) for s in SMILES]
    a = ShiftPredictor(model).predict_mols(mols)
    b = ShiftPredictor(loaded).predict_mols(mols)
    assert a == b
    assert float(loaded.c13_sigma_cal) == pytest.approx(1.3)
    assert ("encoder" in sidecar["hparams"]) == (encoder != "gine")  # older "gine" sidecars stay as they were


def test_unknown_encoder_kind_is_refused() -> None:
    from nmrlens.errors import NmrLensError

    with pytest.raises(NmrLensError, match="encoder kind: got 'gcn'"):
        ShiftModel(hidden=8, layers=1, head_hidden=8, encoder="gcn")


def test_checkpoint_tampering_and_versions(tmp_path: Path) -> None:
    import json

    stem = save_checkpoint(ShiftModel(hidden=8, layers=1, head_hidden=8), tmp_path / "m")
    side = json.loads(stem.with_suffix(".json").read_text())
    side["format_version"] = 99
    stem.with_suffix(".json").write_text(json.dumps(side))
    with pytest.raises(ConfigError, match="format_version"):
        read_sidecar(stem)
    side["format_version"] = 1
    side["model_class"] = "os.system"
    stem.with_suffix(".json").write_text(json.dumps(side))
    with pytest.raises(ConfigError, match="model_class"):
        load_checkpoint(stem)
    side["model_class"] = "ShiftModel"
    stem.with_suffix(".json").write_text(json.dumps(side))
    stem.with_suffix(".safetensors").write_bytes(stem.with_suffix(".safetensors").read_bytes()[:-4] + b"\0\0\0\0")
    with pytest.raises(ConfigError, match="SHA-256"):
        load_checkpoint(stem)


def test_predictor_reports_only_meaningful_atoms() -> None:
    pred = ShiftPredictor(ShiftModel(hidden=8, layers=1, head_hidden=8)).predict_mols([parse_smiles("CCO")])[0]
    assert pred.elements == ("C", "C", "O")
    assert pred.c13[2] is None and pred.c13[0] is not None
    assert all(h is not None for h in pred.h1)  # C, C and the OH all carry H
    assert pred.n_hs == (3, 2, 1)


def test_batch_targets_matches_unassigned_peaks() -> None:
    g = featurize_mol(parse_smiles("CCO"))
    dp = ShiftDatapoint(1, "train", g, np.array([0, 1, 2]), np.full(3, np.nan), np.full(3, np.nan),
                        c13_peaks=np.array([58.3, 18.4]), c13_peak_h=np.array([-1, -1]),
                        h1_peaks=np.array([3.7, 1.2]), h1_peak_nh=np.array([2, 3]))
    c, h, matched = batch_targets([dp], np.array([20.0, 60.0, 0.0]), np.array([1.0, 3.5, 2.5]))
    assert c[:2].tolist() == [18.4, 58.3] and np.isnan(c[2])
    assert h[:2].tolist() == [1.2, 3.7] and np.isnan(h[2])  # OH optional, no peak left for it
    assert matched.tolist() == [True, True, False]


def test_distill_targets_fill_only_nodes_without_a_target() -> None:
    g = featurize_mol(parse_smiles("CCO"))  # C, C, O(H)
    dp = ShiftDatapoint(1, "train", g, np.array([0, 1, 2]), np.full(3, np.nan), np.full(3, np.nan),
                        c13_peaks=np.array([58.3, 18.4]), c13_peak_h=np.array([-1, -1]))
    c, h, _ = batch_targets([dp], np.array([20.0, 60.0, 0.0]), np.array([1.0, 3.5, 2.5]))
    dc, dh = distill_targets([dp, dp], np.concatenate([c, c]), np.concatenate([h, h]),
                             np.tile([20.0, 60.0, 99.0], 2), np.tile([1.0, 3.5, 2.5], 2))
    assert np.isnan(dc).all()  # every carbon has its matched peak; the O is not a carbon
    assert dh.tolist() == [1.0, 3.5, 2.5] * 2  # no 1H list: all three H-bearing atoms learn the teacher
    dc, dh = distill_targets([dp], np.array([18.4, np.nan, np.nan]), np.array([1.2, np.nan, np.nan]),
                             np.array([20.0, 60.0, 99.0]), np.array([1.0, 3.5, 2.5]))
    assert np.isnan(dc[0]) and dc[1] == 60.0 and np.isnan(dc[2])
    assert np.isnan(dh[0]) and dh[1:].tolist() == [3.5, 2.5]


def test_teacher_predictions_follow_the_graph_nodes(tmp_path: Path) -> None:
    from nmrlens.train.shifts import _teacher_predictions

    torch.manual_seed(0)
    teacher = ShiftModel(hidden=16, layers=1, head_hidden=16).eval()
    save_checkpoint(teacher, tmp_path / "t")
    dps = [ShiftDatapoint(i, "train", g, np.arange(g.n_atoms), np.full(g.n_atoms, np.nan), np.full(g.n_atoms, np.nan))
           for i, g in enumerate(_graphs())]
    got = _teacher_predictions(str(tmp_path / "t"), dps, bf16=False, batch_size=2)  # batches split molecules apart
    with torch.no_grad():
        ref = teacher(collate_graphs([dp.graph for dp in dps]))
    c = np.concatenate([got[id(dp)][0] for dp in dps])
    h = np.concatenate([got[id(dp)][1] for dp in dps])
    np.testing.assert_allclose(c, ref.c13_mu.numpy(), rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(h, ref.h1_mu.numpy(), rtol=1e-5, atol=1e-5)
    assert all(got[id(dp)][0].shape == (dp.graph.n_atoms,) for dp in dps)


def test_half_precision_checkpoint(tmp_path: Path) -> None:
    torch.manual_seed(2)
    model = ShiftModel(hidden=32, layers=2, head_hidden=32).eval()
    full = save_checkpoint(model, tmp_path / "full")
    half = save_checkpoint(model, tmp_path / "half", half=True)
    assert half.with_suffix(".safetensors").stat().st_size < 0.6 * full.with_suffix(".safetensors").stat().st_size
    a, side = load_checkpoint(half)
    b, _ = load_checkpoint(half)
    assert side["stored_dtype"] == "float16"
    assert all(p.dtype == torch.float32 for p in a.parameters())
    mols = [parse_smiles(s) for s in SMILES]
    pa, pb, pf = (ShiftPredictor(m).predict_mols(mols) for m in (a, b, model))
    assert pa == pb  # reload is deterministic
    assert abs(pa[0].c13[0][0] - pf[0].c13[0][0]) < 0.5  # float16 rounding changes ppm values only slightly


def test_ensemble_combines_members_and_reloads_identical(tmp_path: Path) -> None:
    from nmrlens.models.shifts import ShiftEnsemble

    torch.manual_seed(2)
    a, b = ShiftModel(hidden=16, layers=2, head_hidden=16).eval(), ShiftModel(hidden=16, layers=2, head_hidden=16).eval()
    g = collate_graphs(_graphs())
    with torch.no_grad():
        oa, ob = a(g), b(g)
        same = ShiftEnsemble.from_members([a, a]).eval()(g)
        ens = ShiftEnsemble.from_members([a, b]).eval()
        oe = ens(g)
    # identical members: the ensemble is the member (no spread added)
    assert torch.allclose(same.c13_mu, oa.c13_mu) and torch.allclose(same.c13_sigma, oa.c13_sigma, atol=1e-6)
    # two members: mean of means; sigma = sqrt(mean variance + variance of the means) >= each member's mean variance
    assert torch.allclose(oe.c13_mu, (oa.c13_mu + ob.c13_mu) / 2, atol=1e-5)
    spread = ((oa.h1_mu - ob.h1_mu) / 2) ** 2
    assert torch.allclose(oe.h1_sigma, torch.sqrt((oa.h1_sigma ** 2 + ob.h1_sigma ** 2) / 2 + spread), atol=1e-5)
    ens.c13_sigma_cal.fill_(0.8)
    stem = save_checkpoint(ens, tmp_path / "ens")
    loaded, sidecar = load_checkpoint(stem)
    assert sidecar["model_class"] == "ShiftEnsemble" and sidecar["hparams"]["members"] == 2
    mols = [parse_smiles(s) for s in SMILES]
    assert ShiftPredictor(ens).predict_mols(mols) == ShiftPredictor(loaded).predict_mols(mols)


def test_ensemble_of_shipped_models_predicts_sensible_shifts(tmp_path: Path) -> None:
    from nmrlens.models.checkpoint import weights_path
    from nmrlens.models.shifts import ShiftEnsemble

    members = [load_checkpoint(weights_path(name))[0] for name in ("shifts_v1", "shifts_v3")]  # both GINE 256 x 6
    stem = save_checkpoint(ShiftEnsemble.from_members(members).eval(), tmp_path / "ens")
    pred = ShiftPredictor.load(str(stem)).predict_mols([parse_smiles("CCO")])[0]
    assert read_sidecar(stem)["model_class"] == "ShiftEnsemble"
    (c_me, sd_me), (c_ch2, _) = pred.c13[0], pred.c13[1]
    assert abs(c_me - 18.4) < 4 and abs(c_ch2 - 58.3) < 4 and 0 < sd_me < 5  # ppm


def test_shipped_default_is_a_gated_ensemble_and_predicts_sensible_shifts() -> None:
    from nmrlens.models.shifts import ShiftEnsemble

    pred = ShiftPredictor.load()
    assert isinstance(pred.model, ShiftEnsemble) and len(pred.model.members) == 2
    assert all(m.hparams.get("encoder") == "gated" for m in pred.model.members)
    (c_me, sd_me), (c_ch2, _), _ = pred.predict_mols([parse_smiles("CCO")])[0].c13
    assert abs(c_me - 18.4) < 4 and abs(c_ch2 - 58.3) < 4 and 0 < sd_me < 5  # ppm


def test_bf16_inference_follows_the_environment_and_stays_close_to_float32(monkeypatch: pytest.MonkeyPatch) -> None:
    from nmrlens.models.shifts import bf16_inference_default

    monkeypatch.setenv("NMRLENS_BF16", "0")
    assert bf16_inference_default() is False and ShiftPredictor.load("shifts_v5").bf16 is False
    monkeypatch.setenv("NMRLENS_BF16", "1")
    assert bf16_inference_default() is True
    mols = [parse_smiles(s) for s in SMILES]
    fp32 = ShiftPredictor.load("shifts_v5", bf16=False).predict_mols(mols)
    bf16 = ShiftPredictor.load("shifts_v5", bf16=True).predict_mols(mols)
    diffs = [abs(a[0] - b[0]) for pa, pb in zip(fp32, bf16) for a, b in zip(pa.c13 + pa.h1, pb.c13 + pb.h1) if a]
    assert len(diffs) > 20 and max(diffs) < 0.5 and float(np.mean(diffs)) < 0.1  # ppm: the heads stay float32
