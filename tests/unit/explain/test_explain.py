"""Explainers (Grad-CAM, Grad-CAM++, per-peak occlusion), peak-level scores, overlays."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nmrlens.errors import NmrLensError, OutputExistsError
from nmrlens.explain import METHODS, make_explainer
from nmrlens.explain.occlusion import segment_peaks
from nmrlens.explain.overlay import colormap, overlay, save_overlay, side_by_side
from nmrlens.explain.scores import chance_mass_fraction, peak_mass_fraction, pointing_game
from tests.classify2d_helpers import SIZE, synthetic_images, trained_tiny_model


@pytest.mark.parametrize("method", sorted(METHODS))
@pytest.mark.parametrize("branch", ["HSQC", "HMBC"])
def test_every_method_finds_the_class_peak(method: str, branch: str) -> None:
    model = trained_tiny_model()
    x, y, mask = synthetic_images(12, seed=5)
    xt = torch.from_numpy(x)
    exp = make_explainer(method, model, branch=branch)
    layer = model.target_layer(branch)
    maps = exp(xt, target=[int(v) for v in y])
    assert maps.shape == (12, *SIZE) and maps.dtype == np.float32
    assert np.isfinite(maps).all() and maps.min() >= 0.0 and maps.max() <= 1.0 + 1e-6
    assert not layer._forward_hooks  # hooks are removed after the call
    assert not model.training
    fractions = [peak_mass_fraction(maps[i], mask[i]) for i in range(12)]
    chance = np.mean([chance_mass_fraction(mask[i]) for i in range(12)])
    # the class peak carries clearly more than its area share of the attribution
    assert np.nanmean(fractions) > 3 * chance
    if method == "occlusion":  # the finer method puts most of the mass on the class peak
        assert np.nanmean(fractions) > 0.5
        assert np.mean([pointing_game(maps[i], mask[i]) for i in range(12)]) >= 0.9


def test_gradcam_and_gradcam_pp_differ_only_in_weights() -> None:
    from nmrlens.explain.base import BaseCAM
    from nmrlens.explain.gradcam import GradCAM
    from nmrlens.explain.gradcam_pp import GradCAMPlusPlus

    assert GradCAM.__call__ is BaseCAM.__call__ and GradCAMPlusPlus.__call__ is BaseCAM.__call__
    a = torch.rand(2, 4, 3, 3)
    g = torch.randn(2, 4, 3, 3)
    w1 = GradCAM(trained_tiny_model()).channel_weights(a, g)
    w2 = GradCAMPlusPlus(trained_tiny_model()).channel_weights(a, g)
    assert torch.allclose(w1, g.mean(dim=(2, 3)))
    assert w2.shape == (2, 4) and not torch.allclose(w1, w2)
    # Grad-CAM++ with equal gradients g everywhere: alpha = 1 / (2 + sum(A) g), w = 9 g alpha
    g1 = torch.full((1, 1, 3, 3), 0.5)
    a1 = torch.ones(1, 1, 3, 3)
    assert float(GradCAMPlusPlus(trained_tiny_model()).channel_weights(a1, g1)) == pytest.approx(9 * 0.5 / (2 + 9 * 0.5))


def test_any_conv_layer_can_be_the_target() -> None:
    from nmrlens.explain.gradcam import GradCAM

    model = trained_tiny_model()
    first = model.encoders[0].blocks[0].conv
    x, y, _ = synthetic_images(3, seed=2)
    maps = GradCAM(model, branch=0, target_layer=first)(torch.from_numpy(x), target=0)
    assert maps.shape == (3, *SIZE)
    with pytest.raises(NmrLensError, match="not used"):
        GradCAM(model, branch=0, target_layer=torch.nn.Conv2d(1, 1, 1))(torch.from_numpy(x))


def test_bad_arguments() -> None:
    model = trained_tiny_model()
    with pytest.raises(NmrLensError, match="method"):
        make_explainer("lime", model)
    exp = make_explainer("gradcam", model)
    with pytest.raises(NmrLensError, match="target"):
        exp(torch.rand(2, 2, *SIZE), target=7)
    with pytest.raises(NmrLensError, match="input"):
        exp(torch.rand(2, *SIZE))


def test_scores_exact() -> None:
    heat = np.zeros((4, 4))
    heat[0, 0], heat[3, 3] = 3.0, 1.0
    mask = np.zeros((4, 4), dtype=bool)
    mask[0, 0] = True
    assert peak_mass_fraction(heat, mask) == pytest.approx(0.75)
    assert pointing_game(heat, mask) is True
    assert pointing_game(heat, ~mask) is False
    assert chance_mass_fraction(mask) == pytest.approx(1 / 16)
    assert np.isnan(peak_mass_fraction(np.zeros((4, 4)), mask))
    assert pointing_game(np.zeros((4, 4)), mask) is False
    with pytest.raises(NmrLensError):
        peak_mass_fraction(heat, mask[:2])


def test_segment_peaks() -> None:
    img = np.zeros((20, 20), np.float32)
    img[2:4, 2:4] = 1.0
    img[10, 15] = 0.5
    img[12:20, 0:8] = 1.0  # a big cluster (64 px) is cut into 3x3 tiles
    regions = segment_peaks(img, max_blob=12, tile=3)
    sizes = sorted(len(r) for r in regions)
    assert sizes[:2] == [1, 4]
    assert sum(sizes) == 4 + 1 + 64 and max(sizes) <= 12
    assert segment_peaks(np.zeros((5, 5))) == []


def test_overlay_and_writer(tmp_path) -> None:
    img = np.full((41, 60), 255, np.uint8)
    img[10, 10] = 0
    heat = np.zeros((12, 16), np.float32)
    heat[3, 3] = 1.0
    out = overlay(img, heat)
    assert out.shape == (41, 60, 3) and out.dtype == np.uint8
    assert tuple(colormap(np.asarray([0.0]))[0]) == (0, 0, 128) and tuple(colormap(np.asarray([1.0]))[0]) == (128, 0, 0)
    assert side_by_side([out, out]).shape == (41, 128, 3)
    p = save_overlay(tmp_path / "h.png", img, heat)
    assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(OutputExistsError):
        save_overlay(tmp_path / "h.png", img, heat)
    save_overlay(tmp_path / "h.png", img, heat, force=True)
    with pytest.raises(NmrLensError, match="alpha"):
        overlay(img, heat, alpha=2.0)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_explainers_work_on_an_ensemble(method: str) -> None:
    from nmrlens.models.classify2d import SpectrumCNNEnsemble

    model = trained_tiny_model()
    ens = SpectrumCNNEnsemble.from_members([model, model]).eval()
    x, y, mask = synthetic_images(6, seed=5)
    maps = make_explainer(method, ens, branch="HSQC")(torch.from_numpy(x), target=[int(v) for v in y])
    assert maps.shape == (6, *SIZE) and np.isfinite(maps).all()
    chance = np.mean([chance_mass_fraction(mask[i]) for i in range(6)])
    assert np.nanmean([peak_mass_fraction(maps[i], mask[i]) for i in range(6)]) > 3 * chance
