"""SpectrumCNN and image preprocessing: shapes, masking, overfitting a tiny batch, checkpoint reload."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nmrlens.errors import ConfigError, DataNotFoundError, FileFormatError, NmrLensError
from nmrlens.models.checkpoint import load_checkpoint, save_checkpoint
from nmrlens.models.classify2d import (SpectrumClassifier, SpectrumCNN, classify2d, load_image, preprocess_image,
                                       stack_branches)
from tests.classify2d_helpers import CLASSES, SIZE, synthetic_images, trained_tiny_model


def _white(h: int = 410, w: int = 600) -> np.ndarray:
    return np.full((h, w), 255, dtype=np.uint8)


def test_preprocess_keeps_position_and_normalises() -> None:
    img = _white()
    img[100:104, 450:453] = 40  # one dark peak
    out = preprocess_image(img, (96, 128))
    assert out.shape == (96, 128) and out.dtype == np.float32
    r, c = np.unravel_index(out.argmax(), out.shape)
    assert out.max() == pytest.approx(1.0)
    assert abs(r - 101.5 * 96 / 410) <= 1.5 and abs(c - 451 * 128 / 600) <= 1.5
    assert (out > 0).sum() <= 4  # a small peak stays small


def test_preprocess_white_and_faint_noise_is_empty() -> None:
    img = _white()
    img[200, 300] = 245  # JPEG-level noise, below the threshold
    assert preprocess_image(img).max() == 0.0


def test_preprocess_rgb_equals_grey_and_file_roundtrip(tmp_path) -> None:
    from PIL import Image

    grey = _white()
    grey[50:60, 50:60] = 0
    rgb = np.repeat(grey[..., None], 3, axis=2)
    assert np.array_equal(preprocess_image(grey), preprocess_image(rgb))
    p = tmp_path / "x.png"
    Image.fromarray(rgb).save(p)
    assert np.array_equal(preprocess_image(p), preprocess_image(grey))
    assert np.array_equal(preprocess_image(p.read_bytes()), preprocess_image(grey))


def test_preprocess_frame_is_removed() -> None:
    img = _white()
    img[:, 0:2] = 0  # a frame line left from cropping
    assert preprocess_image(img).max() == 0.0


@pytest.mark.parametrize("bad", [(0, 10), (10,), "96x128", (96.0, 128)])
def test_preprocess_bad_size(bad) -> None:
    with pytest.raises(NmrLensError, match="size"):
        preprocess_image(_white(), bad)


def test_bad_images(tmp_path) -> None:
    p = tmp_path / "bad.png"
    p.write_bytes(b"not an image at all")
    with pytest.raises(FileFormatError, match="not a readable image"):
        load_image(p)
    with pytest.raises(DataNotFoundError):
        load_image(tmp_path / "missing.png")
    with pytest.raises(FileFormatError):
        preprocess_image(12345)  # type: ignore[arg-type]
    with pytest.raises(FileFormatError):
        preprocess_image(np.zeros((4, 4, 7), dtype=np.uint8))


def test_model_shapes_mask_and_errors() -> None:
    torch.manual_seed(0)
    m = SpectrumCNN(classes=CLASSES, image_size=list(SIZE), channels=[4, 8], head_hidden=8).eval()
    x = torch.rand(3, 2, *SIZE)
    present = torch.tensor([[1.0, 0.0]] * 3)
    out = m(x, present)
    assert out.shape == (3, 3)
    x2 = x.clone()
    x2[:, 1] = torch.rand(3, *SIZE)  # change only the absent branch
    assert torch.allclose(m(x2, present), out)
    assert not torch.allclose(m(x2), m(x))  # ... which matters when it is present
    with pytest.raises(NmrLensError, match="input"):
        m(torch.rand(2, 3, *SIZE))
    with pytest.raises(ConfigError, match="branches"):
        SpectrumCNN(branches=["COSY"])
    with pytest.raises(ConfigError, match="classes"):
        SpectrumCNN(classes=["a", "a"])
    assert m.branch_index("hmbc") == 1
    with pytest.raises(NmrLensError, match="branch"):
        m.branch_index("TOCSY")


def test_stack_branches() -> None:
    a = np.ones((4, 5), np.float32)
    x, p = stack_branches({"HMBC": a, "HSQC": None}, ["HSQC", "HMBC"])
    assert x.shape == (1, 2, 4, 5) and p.tolist() == [[0.0, 1.0]] and float(x[0, 0].sum()) == 0.0
    with pytest.raises(NmrLensError, match="none of the model"):
        stack_branches({"HSQC": None}, ["HSQC"])


def test_overfits_tiny_batch() -> None:
    model = trained_tiny_model()
    x, y, _ = synthetic_images(30, seed=99)
    with torch.no_grad():
        pred = model(torch.from_numpy(x)).argmax(1).numpy()
    assert (pred == y).mean() >= 0.95


def test_checkpoint_reload_identical(tmp_path) -> None:
    model = trained_tiny_model()
    stem = save_checkpoint(model, tmp_path / "tiny", training_data={"note": "test"})
    loaded, sidecar = load_checkpoint(stem)
    assert sidecar["model_class"] == "SpectrumCNN" and sidecar["hparams"]["classes"] == CLASSES
    x = torch.rand(4, 2, *SIZE)
    with torch.no_grad():
        assert torch.equal(model.eval()(x), loaded(x))


def test_classify2d_from_peak_list_json_with_explanation(tmp_path) -> None:
    from nmrlens import io
    from nmrlens.spectra.model import CrossPeak, Spectrum2D

    model = SpectrumCNN(classes=CLASSES, image_size=[48, 64], channels=[4, 8], head_hidden=8)
    stem = save_checkpoint(model, tmp_path / "m")
    sp = Spectrum2D("HSQC", ("1H", "13C"), [CrossPeak(1.3, 30.0, 2.0), CrossPeak(7.2, 128.0, 1.0)])
    path = tmp_path / "hsqc.json"
    io.write(sp, path)
    res = classify2d(hsqc=str(path), checkpoint=str(stem), explain="gradcam", target="b")
    assert set(res.classification.probabilities) == set(CLASSES)
    assert res.classification.experiments == ("HSQC",)
    assert res.explained_class == "b" and res.heatmaps["HSQC"].shape == (48, 64)
    assert res.images["HSQC"].shape == (410, 600)
    ov = res.overlay()
    assert ov.shape == (410, 600, 3) and ov.dtype == np.uint8
    with pytest.raises(NmrLensError, match="target"):
        classify2d(hsqc=str(path), checkpoint=str(stem), explain="gradcam", target="zzz")
    with pytest.raises(NmrLensError, match="give an HSQC"):
        classify2d(checkpoint=str(stem))


def test_shipped_substructure_model_on_real_images(data_dir) -> None:
    from nmrlens.models.checkpoint import weights_path

    if not weights_path("classify2d_substructure_v1").with_suffix(".json").is_file():
        pytest.skip("shipped substructure model not installed")
    clf = SpectrumClassifier.load(task="substructure")
    base = data_dir / "substructuresnmr" / "data"
    res = clf.predict({"HSQC": base / "hsqc/train/steroids/bmse000489_1H_13C_HSQC.jpg",
                       "HMBC": base / "hmbc/train/steroids/bmse000489_1H_13C_HMBC.jpg"})
    assert res.label == "steroids" and res.probabilities["steroids"] > 0.5


def test_flatten_readout_keeps_positions() -> None:
    torch.manual_seed(0)
    m = SpectrumCNN(classes=CLASSES, image_size=list(SIZE), channels=[4, 8], head_hidden=0, readout="flatten",
                    coord=False).eval()
    assert m.encoders[0].out_dim == 8 * (SIZE[0] // 4) * (SIZE[1] // 4)
    assert m(torch.rand(2, 2, *SIZE)).shape == (2, 3)
    with pytest.raises(ConfigError, match="readout"):
        SpectrumCNN(readout="attention")
    with pytest.raises(ConfigError, match="shrink"):
        SpectrumCNN(image_size=[16, 16], channels=[2, 2, 2, 2, 2], readout="flatten")


def _ensemble_members() -> list[SpectrumCNN]:
    first = trained_tiny_model()
    torch.manual_seed(3)
    second = SpectrumCNN(**first.hparams)  # an untrained member: its probabilities differ from the first's
    return [first, second.eval()]


def test_ensemble_averages_member_probabilities_and_reloads(tmp_path) -> None:
    from nmrlens.models.classify2d import SpectrumCNNEnsemble

    members = _ensemble_members()
    ens = SpectrumCNNEnsemble.from_members(members).eval()
    x = torch.rand(5, 2, *SIZE)
    with torch.no_grad():
        want = torch.stack([m.probabilities(m(x)) for m in members]).mean(0)
        got = ens.probabilities(ens(x))
        assert torch.allclose(got, want, atol=1e-6)
        assert not torch.allclose(got, members[0].probabilities(members[0](x)), atol=1e-3)
        stem = save_checkpoint(ens, tmp_path / "ens")
        loaded, side = load_checkpoint(stem)
        assert side["model_class"] == "SpectrumCNNEnsemble" and loaded.classes == CLASSES
        assert torch.equal(ens(x), loaded(x))
    clf = SpectrumClassifier.load(str(stem))
    img = np.zeros(SIZE, dtype=np.float32)
    img[11:14, 23:26] = 1.0
    assert set(clf.predict({"HSQC": img, "HMBC": img}).probabilities) == set(CLASSES)
    assert ens.target_layer("HMBC") is ens.members[0].target_layer("HMBC")


def test_ensemble_overfits_tiny_batch() -> None:
    from nmrlens.models.classify2d import SpectrumCNNEnsemble

    model = trained_tiny_model()
    ens = SpectrumCNNEnsemble.from_members([model, model]).eval()
    x, y, _ = synthetic_images(30, seed=99)
    with torch.no_grad():
        assert (ens(torch.from_numpy(x)).argmax(1).numpy() == y).mean() >= 0.95


def test_ensemble_rejects_mixed_architectures() -> None:
    from nmrlens.models.classify2d import SpectrumCNNEnsemble

    first = trained_tiny_model()
    other = SpectrumCNN(**{**first.hparams, "head_hidden": 8})
    with pytest.raises(NmrLensError, match=r"members\[1\]"):
        SpectrumCNNEnsemble.from_members([first, other])
    with pytest.raises(NmrLensError, match="none"):
        SpectrumCNNEnsemble.from_members([])
    with pytest.raises(ConfigError, match="members"):
        SpectrumCNNEnsemble(members=0, **first.hparams)
