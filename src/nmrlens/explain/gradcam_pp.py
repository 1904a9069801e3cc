"""Grad-CAM++ (Chattopadhay et al. 2018): pixel-wise weighted positive gradients.

With g = dS/dA (S taken as exp(score), whose higher derivatives are powers of g)::

    alpha_c[i, j] = g^2 / (2 g^2 + sum_ab A_c[a, b] * g^3)      (0 where g == 0)
    w_c = sum_ij alpha_c[i, j] * ReLU(g_c[i, j])
"""

from __future__ import annotations

import torch
from torch import Tensor

from nmrlens.explain.base import BaseCAM

__all__ = ["GradCAMPlusPlus"]


class GradCAMPlusPlus(BaseCAM):
    """Grad-CAM++ channel weights."""

    def channel_weights(self, activations: Tensor, gradients: Tensor) -> Tensor:
        """(B, C) Grad-CAM++ weights."""
        g2 = gradients.pow(2)
        g3 = gradients.pow(3)
        sum_a = activations.sum(dim=(2, 3), keepdim=True)
        denom = 2 * g2 + sum_a * g3
        denom = torch.where(denom != 0, denom, torch.ones_like(denom))
        alpha = torch.where(gradients != 0, g2 / denom, torch.zeros_like(g2))
        return (alpha * torch.relu(gradients)).sum(dim=(2, 3))
