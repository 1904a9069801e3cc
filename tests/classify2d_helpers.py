"""Shared helpers of the classify2d / explain tests: synthetic spectra images and a tiny trained model."""

from __future__ import annotations

import functools

import numpy as np
import torch

SIZE = (24, 32)
CLASSES = ["a", "b", "c"]
#: class -> (row, col) of its characteristic peak in a SIZE image
CLASS_PEAK = {0: (5, 6), 1: (12, 24), 2: (18, 10)}


def synthetic_images(n: int, seed: int = 0, distractors: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Images (n, 2, H, W) with a class peak (3x3 square) plus random distractor peaks in both branches.

    Returns (x, y, class_peak_mask (n, H, W) bool).
    """
    rng = np.random.default_rng(seed)
    h, w = SIZE
    x = np.zeros((n, 2, h, w), dtype=np.float32)
    y = np.arange(n) % 3
    mask = np.zeros((n, h, w), dtype=bool)
    for i in range(n):
        r, c = CLASS_PEAK[int(y[i])]
        for b in range(2):
            x[i, b, r - 1:r + 2, c - 1:c + 2] = 1.0
            for _ in range(distractors):
                rr, cc = rng.integers(2, h - 2), rng.integers(2, w - 2)
                if min(abs(rr - p[0]) + abs(cc - p[1]) for p in CLASS_PEAK.values()) > 4:
                    x[i, b, rr, cc] = 0.8
        mask[i, r - 1:r + 2, c - 1:c + 2] = True
    return x, y, mask


@functools.lru_cache(maxsize=1)
def trained_tiny_model():
    """A tiny two-branch SpectrumCNN trained on :func:`synthetic_images` (deterministic)."""
    from nmrlens.models.classify2d import SpectrumCNN
    from nmrlens.train.classify2d import TensorData, TrainSection, fit

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny convolutions: one thread is faster (and much faster on a busy machine)
    torch.manual_seed(0)
    model = SpectrumCNN(classes=CLASSES, image_size=list(SIZE), channels=[8, 16], head_hidden=16, dropout=0.0,
                        multilabel=False, task="test")
    x, y, _ = synthetic_images(60, seed=1)
    data = TensorData(torch.from_numpy(x), torch.ones(len(x), 2), torch.from_numpy(y).long())
    cfg = TrainSection(epochs=25, batch_size=16, lr=1e-2, max_shift=0, intensity_jitter=0.0, mixture_prob=0.0,
                       time_budget_min=0.0)
    try:
        fit(model, data, cfg)
    finally:
        torch.set_num_threads(threads)
    return model
