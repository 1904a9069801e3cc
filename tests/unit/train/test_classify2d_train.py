"""classify2d training: shipped configs parse (unknown keys are errors), augmentation, tensors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nmrlens.data.images2d import ImageSample
from nmrlens.errors import ConfigError
from nmrlens.train.classify2d import OTHER, Classify2DConfig, TensorData, TrainSection, augment, to_tensors
from nmrlens.train.config import configs_dir, load_config


@pytest.mark.parametrize("name", ["classify2d_sim", "classify2d_sim_small", "classify2d_substructure",
                                  "classify2d_superclass", "classify2d_cv"])
def test_shipped_configs_parse(name: str) -> None:
    cfg = load_config(Classify2DConfig, configs_dir() / f"{name}.toml")
    assert cfg.model.branches == ["HSQC", "HMBC"] and cfg.data.task in ("simulated", "substructure", "superclass")


def test_unknown_key_is_an_error(tmp_path) -> None:
    p = tmp_path / "c.toml"
    p.write_text("[train]\nepochz = 3\n")
    with pytest.raises(ConfigError, match="epochz"):
        load_config(Classify2DConfig, p)


def test_to_tensors_labels() -> None:
    img = np.ones((4, 6), np.float32)
    samples = [ImageSample("a", "a", {"HSQC": img, "HMBC": None}, "indol+steroids"),
               ImageSample("b", "b", {"HSQC": None, "HMBC": img}, "none")]
    d = to_tensors(samples, ["HSQC", "HMBC"], ["fattyacids", "indol", "steroids"], True, (4, 6))
    assert d.y.tolist() == [[0, 1, 1], [0, 0, 0]] and d.present.tolist() == [[1, 0], [0, 1]]
    s = to_tensors([ImageSample("c", "c", {"HSQC": img}, "Rare class")], ["HSQC", "HMBC"], ["x", OTHER], False, (4, 6))
    assert s.y.tolist() == [1]
    with pytest.raises(ConfigError, match="not one of"):
        to_tensors([ImageSample("c", "c", {"HSQC": img}, "Rare")], ["HSQC"], ["x"], False, (4, 6))
    with pytest.raises(ConfigError, match="image size"):
        to_tensors(samples, ["HSQC", "HMBC"], ["indol"], True, (5, 6))


def test_augment_mixtures_union_labels_and_shift() -> None:
    x = torch.zeros(2, 2, 8, 8)
    x[0, :, 2, 2] = 1.0
    x[1, :, 5, 6] = 1.0
    data = TensorData(x, torch.ones(2, 2), torch.tensor([[1.0, 0, 0], [0, 1.0, 0]]))
    cfg = TrainSection(max_shift=0, intensity_jitter=0.0, mixture_prob=1.0, branch_dropout=0.0)
    out = augment(data, torch.Generator().manual_seed(0), cfg, True, pool=data.subset([1]))
    assert out.y[0].tolist() == [1.0, 1.0, 0.0] and float(out.x[0, 0, 5, 6]) == 1.0 and float(out.x[0, 0, 2, 2]) == 1.0
    assert float(data.x[0, 0, 5, 6]) == 0.0  # the input is not modified
    cfg = TrainSection(max_shift=2, intensity_jitter=0.0, mixture_prob=0.0)
    out = augment(data, torch.Generator().manual_seed(1), cfg, True)
    assert torch.allclose(out.x.sum(dim=(2, 3)), data.x.sum(dim=(2, 3)))  # shifts move peaks, never lose them here
    cfg = TrainSection(max_shift=0, intensity_jitter=0.0, mixture_prob=0.0, branch_dropout=1.0)
    out = augment(data, torch.Generator().manual_seed(2), cfg, True)
    assert out.present.sum(1).tolist() == [1.0, 1.0]


def test_rescale_keeps_peaks() -> None:
    from nmrlens.train.classify2d import _rescale

    x = torch.zeros(1, 10, 10)
    x[0, 9, 9] = 1.0
    assert float(_rescale(x, 0.8, 0.8).max()) == 1.0  # zoom out: the peak survives (block max)
    y = _rescale(x, 0.5, 0.5)
    assert y.shape == x.shape and float(y[0, 4, 4]) == 1.0
    z = torch.zeros(1, 10, 10)
    z[0, 2, 3] = 1.0
    assert float(_rescale(z, 2.0, 2.0)[0, 4:6, 6:8].sum()) == 4.0  # zoom in: nearest neighbour


def test_average_precision_and_auc_exact() -> None:
    from nmrlens.train.classify2d import average_precision, roc_auc

    y = np.array([1, 0, 1, 0, 0])
    p = np.array([0.9, 0.8, 0.7, 0.2, 0.1])
    # ranking 1,0,1,0,0: precision at the hits = 1/1 and 2/3
    assert average_precision(y, p) == pytest.approx((1.0 + 2 / 3) / 2)
    # 6 positive/negative pairs, 5 ordered correctly
    assert roc_auc(y, p) == pytest.approx(5 / 6)
    assert roc_auc(y, np.full(5, 0.3)) == pytest.approx(0.5)  # ties count half
    assert np.isnan(average_precision(np.zeros(3), np.ones(3))) and np.isnan(roc_auc(np.ones(3), np.ones(3)))


def test_val_score_selection_and_class_weights() -> None:
    from nmrlens.models.classify2d import SpectrumCNN
    from nmrlens.train.classify2d import class_weights, val_score

    torch.manual_seed(0)
    model = SpectrumCNN(classes=["a", "b"], image_size=[8, 8], channels=[2], head_hidden=0).eval()
    y = torch.tensor([[1.0, 0.0]] + [[0.0, 0.0]] * 8 + [[0.0, 1.0]] * 3)
    data = TensorData(torch.rand(12, 2, 8, 8), torch.ones(12, 2), y)
    ap = val_score(model, data, "macro_ap")
    assert 0.0 < ap <= 1.0
    assert 0.0 <= val_score(model, data, "exact_match") <= 1.0
    with pytest.raises(ConfigError, match="select"):
        val_score(model, data, "f1")
    w = class_weights(model, data)
    # pos_weight = sqrt(negatives / positives), clipped to 1..10: a: sqrt(11), b: sqrt(9 / 3)
    assert w.tolist() == pytest.approx([11 ** 0.5, 3 ** 0.5])


def test_class_ensemble_builder_measures_and_keeps_seen_blocks(tmp_path, monkeypatch) -> None:
    import json as _json

    import torch as _torch

    from nmrlens.data.images2d import ImageSample
    from nmrlens.models.checkpoint import load_checkpoint, save_checkpoint
    from nmrlens.models.classify2d import SpectrumCNN, SpectrumCNNEnsemble
    from nmrlens.train import classify2d as c2d
    from nmrlens.train.classify2d_ensemble import main as ens_main
    from tests.classify2d_helpers import CLASSES, synthetic_images, trained_tiny_model

    x, y, _ = synthetic_images(12, seed=5)
    samples = [ImageSample(f"k{i}", f"g{i}", {"HSQC": x[i, 0], "HMBC": x[i, 1]}, CLASSES[int(y[i])]) for i in range(12)]
    split = {s.key: ("val" if i % 2 else "test") for i, s in enumerate(samples)}
    monkeypatch.setattr(c2d, "bmrb2d_split", lambda path, size, level: (samples, split))
    good = trained_tiny_model()
    _torch.manual_seed(1)
    stems = [save_checkpoint(good, tmp_path / "m0", extra={"seen_blocks": ["AAA"]}),
             save_checkpoint(SpectrumCNN(**good.hparams), tmp_path / "m1", extra={"seen_blocks": ["BBB"]})]
    assert ens_main(["--members", *map(str, stems), "--out", str(tmp_path / "ens")]) == 0
    model, side = load_checkpoint(tmp_path / "ens")
    assert isinstance(model, SpectrumCNNEnsemble) and side["extra"]["seen_blocks"] == ["AAA", "BBB"]
    m = side["metrics"]
    assert m["val_images"] == m["test_images"] == 6 and m["test_member_accuracy"][0] == 1.0
    assert 0.0 <= m["test_accuracy"] <= 1.0
    assert _json.loads((tmp_path / "ens.json").read_text())["training_data"]["members"] == [str(s) for s in stems]


def test_real_negatives_exclude_substructures_and_benchmark_compounds(tmp_path) -> None:
    """bmrb2d compounds become mixture partners only without a substructure and outside the benchmark."""
    from PIL import Image

    from nmrlens.data.splits import split_of_inchikey
    from nmrlens.train.classify2d import real_negatives

    root = tmp_path / "data"
    (root / "bmrb2d" / "img").mkdir(parents=True)
    (root / "substructuresnmr").mkdir(parents=True)
    rows = [("bmse000100", "HSQC", "LRHPLDYGYMQRHN-UHFFFAOYSA-N", "CCCCO"),  # butanol: kept (both images joined)
            ("bmse000100", "HMBC", "LRHPLDYGYMQRHN-UHFFFAOYSA-N", "CCCCO"),
            ("bmse000200", "HSQC", "SIKJAQJRHWYJAI-UHFFFAOYSA-N", "c1ccc2[nH]ccc2c1"),  # indole: a substructure
            ("bmse000300", "HSQC", "QUKGYYKBILRGFE-UHFFFAOYSA-N", "CC(=O)OCc1ccccc1")]  # a benchmark partner
    lines = ["file,experiment,bmse,inchikey,smiles,kingdom,superclass,class,subclass,direct_parent"]
    for i, (bmse, exp, key, smi) in enumerate(rows):
        img = np.full((40, 60, 3), 255, dtype=np.uint8)
        img[10 + i, 20:23] = 0
        Image.fromarray(img).save(root / "bmrb2d" / "img" / f"{i}.png")
        lines.append(f"img/{i}.png,{exp},{bmse},{key},{smi},Organic compounds,Sup,Cls,Sub,Par")
    (root / "bmrb2d" / "index.csv").write_text("\n".join(lines) + "\n")
    (root / "substructuresnmr" / "index.csv").write_text(
        "file,experiment,split,class,bmse,components,n_components,width,height\n"
        "data/hsqc/test/none/300.jpg,HSQC,test,none,bmse000300,bmse000300,1,600,410\n")
    assert {split_of_inchikey(key) for _, _, key, _ in rows} == {"train"}  # excluded for their own reasons only
    negs = real_negatives(10, (24, 32), root)
    assert [s.key for s in negs] == ["bmse000100"]
    assert negs[0].label == "none" and all(negs[0].images[b] is not None for b in ("HSQC", "HMBC"))
    assert real_negatives(0, (24, 32), root) == []
