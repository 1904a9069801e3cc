"""Base classes of the explainers.

:class:`Explainer` holds the model, the branch and the target selection shared by every method.
:class:`BaseCAM` owns the class-activation-map pipeline on *any* convolution layer: a forward hook
stores the layer's activations A (B, C, h, w), a tensor hook stores the gradients dS/dA of the
target class score S (the logit), and the map is ``ReLU(sum_c w_c * A_c)`` upsampled (bilinear) to
the input size and scaled to [0, 1] per sample. Subclasses only say how the channel weights
``w`` (B, C) are computed (:meth:`BaseCAM.channel_weights`).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from nmrlens.errors import NmrLensError

__all__ = ["Explainer", "BaseCAM", "normalise_maps"]


def normalise_maps(maps: Tensor) -> Tensor:
    """Scale every map of (B, H, W) to [0, 1] by its maximum (an all-zero map stays zero)."""
    top = maps.flatten(1).amax(dim=1).clamp(min=1e-12)
    return (maps / top[:, None, None]).clamp(0.0, 1.0)


class Explainer:
    """Common part of the explainers: the model, one branch (experiment) and the target class.

    Args:
        model: a classifier called as ``model(x, present)`` with x (B, n_branches, H, W), returning
            logits (B, n_classes) (e.g. :class:`~nmrlens.models.classify2d.SpectrumCNN`).
        branch: the branch (name or index) whose input image is explained.
    """

    def __init__(self, model: nn.Module, branch: str | int = 0) -> None:
        self.model = model
        self.branch = model.branch_index(branch) if hasattr(model, "branch_index") else int(branch)

    @staticmethod
    def targets(logits: Tensor, target: int | Sequence[int] | None) -> Tensor:
        """Target class per sample: the given index (or indices), else the most probable class."""
        b, k = logits.shape
        if target is None:
            return logits.argmax(dim=1)
        t = torch.as_tensor([target] * b if isinstance(target, (int, np.integer)) else list(target), dtype=torch.long)
        if t.shape != (b,) or bool(((t < 0) | (t >= k)).any()):
            raise NmrLensError(f"target: got {target!r}, expected a class index in 0..{k - 1} (or one per sample)")
        return t

    def _check(self, x: Tensor) -> None:
        if not isinstance(x, Tensor) or x.ndim != 4 or not 0 <= self.branch < x.shape[1]:
            raise NmrLensError(f"input: got {getattr(x, 'shape', type(x).__name__)}, expected a tensor (B, n_branches, H, W)")

    def __call__(self, x: Tensor, target: int | Sequence[int] | None = None,
                 present: Tensor | None = None) -> np.ndarray:  # pragma: no cover - abstract
        """Heatmaps (B, H, W) in [0, 1] for the branch image of every sample."""
        raise NotImplementedError


class BaseCAM(Explainer):
    """Class activation maps on a convolution layer (default: the branch's last convolution).

    Args:
        model: see :class:`Explainer`.
        branch: the explained branch.
        target_layer: any module whose output is a (B, C, h, w) feature map of that branch.
    """

    def __init__(self, model: nn.Module, branch: str | int = 0, target_layer: nn.Module | None = None) -> None:
        super().__init__(model, branch)
        if target_layer is None:
            if not hasattr(model, "target_layer"):
                raise NmrLensError("target_layer: the model has no default target layer; pass one")
            target_layer = model.target_layer(self.branch)
        self.target_layer = target_layer

    def channel_weights(self, activations: Tensor, gradients: Tensor) -> Tensor:  # pragma: no cover - abstract
        """Weights (B, C) of the feature maps from activations and gradients (B, C, h, w)."""
        raise NotImplementedError

    def __call__(self, x: Tensor, target: int | Sequence[int] | None = None,
                 present: Tensor | None = None) -> np.ndarray:
        """Heatmaps (B, H, W) in [0, 1] (float32) of the target class for every sample."""
        self._check(x)
        store: dict[str, Tensor] = {}

        def forward_hook(_module: nn.Module, _inp: Any, out: Tensor) -> None:
            store["act"] = out
            out.register_hook(lambda g: store.__setitem__("grad", g))

        was_training = self.model.training
        self.model.eval()
        handle = self.target_layer.register_forward_hook(forward_hook)
        try:
            with torch.enable_grad():
                xin = x.detach().clone().requires_grad_(True)
                logits = self.model(xin, present)
                t = self.targets(logits, target)
                score = logits.gather(1, t[:, None]).sum()
                self.model.zero_grad(set_to_none=True)
                score.backward()
        finally:
            handle.remove()
            self.model.train(was_training)
        if "act" not in store or "grad" not in store:
            raise NmrLensError("target_layer: it was not used in the forward pass of this branch")
        act, grad = store["act"].detach(), store["grad"].detach()
        if act.ndim != 4:
            raise NmrLensError(f"target_layer: output has shape {tuple(act.shape)}, expected (B, C, h, w)")
        w = self.channel_weights(act, grad)
        cam = F.relu((w[:, :, None, None] * act).sum(dim=1))
        cam = F.interpolate(cam[:, None], size=tuple(x.shape[-2:]), mode="bilinear", align_corners=False)[:, 0]
        self.model.zero_grad(set_to_none=True)
        return normalise_maps(cam.clamp(min=0.0)).numpy().astype(np.float32)
