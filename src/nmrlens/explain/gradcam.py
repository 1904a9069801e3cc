"""Grad-CAM (Selvaraju et al. 2017): channel weight = spatial mean of the gradient of the class score."""

from __future__ import annotations

from torch import Tensor

from nmrlens.explain.base import BaseCAM

__all__ = ["GradCAM"]


class GradCAM(BaseCAM):
    """Grad-CAM: ``w_c = mean_ij dS/dA_c[i, j]``."""

    def channel_weights(self, activations: Tensor, gradients: Tensor) -> Tensor:
        """(B, C) mean gradients."""
        return gradients.mean(dim=(2, 3))
