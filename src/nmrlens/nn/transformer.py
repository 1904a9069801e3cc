"""Pre-norm transformer blocks with an incremental (key/value-cached) decoder (pure torch).

- :class:`SelfAttention` / :class:`CrossAttention`: multi-head attention over
  :func:`torch.nn.functional.scaled_dot_product_attention`; self-attention can append to a cache of
  keys and values, cross-attention can reuse the projected memory.
- :class:`EncoderLayer`, :class:`DecoderLayer`: pre-norm residual layers (attention, feed-forward).
- :class:`TransformerEncoder` / :class:`TransformerDecoder`: stacks with a final layer norm.
  ``TransformerDecoder.step`` decodes one position given a :class:`DecoderCache`, so that beam search
  costs O(L) decoder passes of one token instead of O(L^2); ``DecoderCache.reorder`` follows the beams.

Masks: ``pad`` tensors are booleans with True at padding positions (the convention of
:mod:`torch.nn`); attention never attends to them.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["SelfAttention", "CrossAttention", "EncoderLayer", "DecoderLayer", "TransformerEncoder",
           "TransformerDecoder", "DecoderCache", "causal_mask"]


def _split(x: Tensor, heads: int) -> Tensor:
    B, T, D = x.shape
    return x.view(B, T, heads, D // heads).transpose(1, 2)


def _merge(x: Tensor) -> Tensor:
    B, H, T, Dh = x.shape
    return x.transpose(1, 2).reshape(B, T, H * Dh)


def causal_mask(T: int, device: torch.device | None = None) -> Tensor:
    """Boolean (T, T) mask, True where attention is allowed (key position <= query position)."""
    return torch.ones(T, T, dtype=torch.bool, device=device).tril()


def _key_mask(pad: Optional[Tensor]) -> Optional[Tensor]:
    return None if pad is None else (~pad)[:, None, None, :]


class SelfAttention(nn.Module):
    """Multi-head self-attention (``dim`` divisible by ``heads``)."""

    def __init__(self, dim: int, heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        if dim % heads:
            from nmrlens.errors import ConfigError

            raise ConfigError(f"attention: dim {dim} is not divisible by heads {heads}; expected a multiple")
        self.heads, self.dropout = heads, dropout
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: Tensor, pad: Optional[Tensor] = None, causal: bool = False,
                cache: Optional[dict[str, Tensor]] = None) -> Tensor:
        """Attend ``x`` (B, T, D) to itself; with ``cache`` (keys "k", "v") the new keys are appended
        and attention covers all cached positions (incremental decoding, no causal mask needed)."""
        q, k, v = (_split(t, self.heads) for t in self.qkv(x).chunk(3, dim=-1))
        mask = _key_mask(pad)
        past = 0
        if cache is not None:
            if "k" in cache:
                past = cache["k"].shape[2]
                k = torch.cat([cache["k"], k], dim=2)
                v = torch.cat([cache["v"], v], dim=2)
            cache["k"], cache["v"] = k, v
        if causal and q.shape[2] > 1:
            T = q.shape[2]
            cm = torch.ones(T, past + T, dtype=torch.bool, device=x.device).tril(past)
            mask = cm if mask is None else (mask & cm)
        p = self.dropout if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
        return self.proj(_merge(y))


class CrossAttention(nn.Module):
    """Multi-head attention from queries ``x`` to a memory (encoder output)."""

    def __init__(self, dim: int, heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.heads, self.dropout = heads, dropout
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.proj = nn.Linear(dim, dim)

    def memory_kv(self, memory: Tensor) -> tuple[Tensor, Tensor]:
        """Projected keys and values of the memory (computed once per sequence when decoding)."""
        k, v = self.kv(memory).chunk(2, dim=-1)
        return _split(k, self.heads), _split(v, self.heads)

    def forward(self, x: Tensor, memory: Tensor, memory_pad: Optional[Tensor] = None,
                cache: Optional[dict[str, Tensor]] = None) -> Tensor:
        """Attend ``x`` (B, T, D) to ``memory`` (B, S, D); ``cache`` keeps the projected memory ("mk", "mv")."""
        if cache is not None and "mk" in cache:
            k, v = cache["mk"], cache["mv"]
        else:
            k, v = self.memory_kv(memory)
            if cache is not None:
                cache["mk"], cache["mv"] = k, v
        q = _split(self.q(x), self.heads)
        p = self.dropout if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=_key_mask(memory_pad), dropout_p=p)
        return self.proj(_merge(y))


def _ff(dim: int, ff: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.Linear(dim, ff), nn.GELU(), nn.Dropout(dropout), nn.Linear(ff, dim))


class EncoderLayer(nn.Module):
    """Pre-norm encoder layer: x + SA(LN(x)), then x + FF(LN(x))."""

    def __init__(self, dim: int, heads: int, ff: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = SelfAttention(dim, heads, dropout)
        self.ff = _ff(dim, ff, dropout)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor, pad: Optional[Tensor] = None) -> Tensor:
        """One layer over ``x`` (B, S, D)."""
        x = x + self.drop(self.attn(self.ln1(x), pad))
        return x + self.drop(self.ff(self.ln2(x)))


class DecoderLayer(nn.Module):
    """Pre-norm decoder layer: causal self-attention, cross-attention, feed-forward."""

    def __init__(self, dim: int, heads: int, ff: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.ln1, self.ln2, self.ln3 = nn.LayerNorm(dim), nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.self_attn = SelfAttention(dim, heads, dropout)
        self.cross = CrossAttention(dim, heads, dropout)
        self.ff = _ff(dim, ff, dropout)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor, memory: Tensor, memory_pad: Optional[Tensor] = None,
                cache: Optional[dict[str, Tensor]] = None) -> Tensor:
        """One layer over ``x`` (B, T, D); with ``cache``, ``x`` holds only the new positions."""
        x = x + self.drop(self.self_attn(self.ln1(x), causal=True, cache=cache))
        x = x + self.drop(self.cross(self.ln2(x), memory, memory_pad, cache=cache))
        return x + self.drop(self.ff(self.ln3(x)))


class TransformerEncoder(nn.Module):
    """A stack of :class:`EncoderLayer` with a final layer norm."""

    def __init__(self, dim: int, heads: int, ff: int, layers: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.layers = nn.ModuleList(EncoderLayer(dim, heads, ff, dropout) for _ in range(layers))
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: Tensor, pad: Optional[Tensor] = None) -> Tensor:
        """Encode ``x`` (B, S, D) with padding mask ``pad`` (B, S)."""
        for layer in self.layers:
            x = layer(x, pad)
        return self.norm(x)


class DecoderCache:
    """Per-layer keys/values of an incremental decode; rows follow the batch (beam) dimension."""

    def __init__(self, n_layers: int) -> None:
        self.layers: list[dict[str, Tensor]] = [{} for _ in range(n_layers)]

    def reorder(self, index: Tensor) -> None:
        """Keep rows ``index`` (e.g. the parent beams) of every cached tensor."""
        for c in self.layers:
            for key in list(c):
                c[key] = c[key].index_select(0, index)


class TransformerDecoder(nn.Module):
    """A stack of :class:`DecoderLayer` with a final layer norm."""

    def __init__(self, dim: int, heads: int, ff: int, layers: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.layers = nn.ModuleList(DecoderLayer(dim, heads, ff, dropout) for _ in range(layers))
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: Tensor, memory: Tensor, memory_pad: Optional[Tensor] = None) -> Tensor:
        """Teacher-forced decoding of all positions of ``x`` (B, T, D)."""
        for layer in self.layers:
            x = layer(x, memory, memory_pad)
        return self.norm(x)

    def new_cache(self) -> DecoderCache:
        """An empty cache for :meth:`step`."""
        return DecoderCache(len(self.layers))

    def step(self, x: Tensor, memory: Tensor, memory_pad: Optional[Tensor], cache: DecoderCache) -> Tensor:
        """Decode the new positions ``x`` (B, t, D) after the cached ones; returns (B, t, D)."""
        for layer, c in zip(self.layers, cache.layers):
            x = layer(x, memory, memory_pad, cache=c)
        return self.norm(x)
