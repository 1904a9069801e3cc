"""Contrastive-learning blocks: symmetric InfoNCE (CLIP) loss and a transformer spectrum encoder.

The spectrum encoder reads a token sequence (ids of the adaptive spectral vocabulary) together
with the exact numeric value behind every numeric token (a shift in ppm, normalised) and its kind,
so that it sees both the learned token identity and a smooth Fourier encoding of the value.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

__all__ = ["info_nce", "FourierFeatures", "SpectrumTransformer", "masked_mean"]


def info_nce(a: Tensor, b: Tensor, logit_scale: Tensor) -> Tensor:
    """Symmetric InfoNCE of two L2-normalised embedding batches ``(B, D)``; row i of ``a`` pairs with row i of ``b``.

    ``logit_scale`` is exp(log 1/temperature) (a scalar tensor). Returns the mean of the a->b and
    b->a cross entropies (NMRPeak eq. 21-24).
    """
    logits = logit_scale * a @ b.t()
    target = torch.arange(a.shape[0], device=a.device)
    return 0.5 * (nn.functional.cross_entropy(logits, target) + nn.functional.cross_entropy(logits.t(), target))


def masked_mean(x: Tensor, mask: Tensor) -> Tensor:
    """Mean of ``x`` ``(B, T, D)`` over positions where ``mask`` ``(B, T)`` is True."""
    w = mask.to(x.dtype).unsqueeze(-1)
    return (x * w).sum(1) / w.sum(1).clamp(min=1.0)


class FourierFeatures(nn.Module):
    """Sin/cos features of a scalar at ``n`` geometric frequencies (``pi * 2**0 .. pi * 2**max_log2``)."""

    def __init__(self, n: int = 16, max_log2: float = 10.0) -> None:
        super().__init__()
        self.register_buffer("freqs", math.pi * torch.pow(2.0, torch.linspace(0.0, max_log2, n)), persistent=False)

    def forward(self, v: Tensor) -> Tensor:
        """``(...)`` -> ``(..., 2n)``."""
        z = v.unsqueeze(-1) * self.freqs
        return torch.cat([torch.sin(z), torch.cos(z)], dim=-1)


class SpectrumTransformer(nn.Module):
    """Transformer encoder over spectral tokens with numeric-value features; mean-pooled output.

    Args:
        vocab_size: number of token ids; n_kinds: number of value kinds (0 = no value);
        hidden, layers, heads, ff, dropout: transformer sizes; max_len: longest sequence;
        n_freqs: Fourier frequencies of the value features.

    Input: ``ids`` ``(B, T)`` long, ``values`` ``(B, T)`` float (normalised numbers, 0 where none),
    ``kinds`` ``(B, T)`` long, ``mask`` ``(B, T)`` bool (True = real token). Output ``(B, hidden)``.
    """

    def __init__(self, vocab_size: int, n_kinds: int = 3, hidden: int = 192, layers: int = 4, heads: int = 6,
                 ff: int = 512, dropout: float = 0.1, max_len: int = 256, n_freqs: int = 16) -> None:
        super().__init__()
        self.max_len = max_len
        self.tok = nn.Embedding(vocab_size, hidden)
        self.pos = nn.Embedding(max_len, hidden)
        self.kind = nn.Embedding(n_kinds, hidden)
        self.fourier = FourierFeatures(n_freqs)
        self.value = nn.Sequential(nn.Linear(2 * n_freqs + 1, hidden), nn.SiLU(), nn.Linear(hidden, hidden))
        layer = nn.TransformerEncoderLayer(hidden, heads, ff, dropout, batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(hidden)

    def forward(self, ids: Tensor, values: Tensor, kinds: Tensor, mask: Tensor) -> Tensor:
        """Encode token sequences ``(B, T)`` (ids, numeric values in ppm/Hz, kinds, padding mask True =
        padded) to per-token states ``(B, T, hidden)``."""
        T = ids.shape[1]
        has = (kinds > 0).to(values.dtype).unsqueeze(-1)
        vfeat = torch.cat([self.fourier(values), values.unsqueeze(-1)], dim=-1)
        x = self.tok(ids) + self.pos(torch.arange(T, device=ids.device))[None] + self.kind(kinds) + has * self.value(vfeat)
        y = self.encoder(x, src_key_padding_mask=~mask)
        return self.norm(masked_mean(y, mask))
