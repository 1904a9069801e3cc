"""Transformer blocks: cached incremental decoding equals full teacher-forced decoding."""

from __future__ import annotations

import pytest
import torch

from nmrlens.errors import ConfigError
from nmrlens.nn.transformer import SelfAttention, TransformerDecoder, TransformerEncoder


def test_incremental_decoding_matches_full_decoding() -> None:
    torch.manual_seed(0)
    enc = TransformerEncoder(16, 2, 32, 2, dropout=0.0).eval()
    dec = TransformerDecoder(16, 2, 32, 2, dropout=0.0).eval()
    src = torch.randn(3, 5, 16)
    pad = torch.tensor([[False] * 5, [False] * 3 + [True] * 2, [False] * 4 + [True]])
    mem = enc(src, pad)
    x = torch.randn(3, 6, 16)
    full = dec(x, mem, pad)
    cache = dec.new_cache()
    steps = [dec.step(x[:, t:t + 1], mem, pad, cache) for t in range(6)]
    assert torch.allclose(torch.cat(steps, 1), full, atol=1e-5)
    # a prefix of several tokens on a fresh cache, then single steps
    cache = dec.new_cache()
    first = dec.step(x[:, :4], mem, pad, cache)
    rest = [dec.step(x[:, t:t + 1], mem, pad, cache) for t in (4, 5)]
    assert torch.allclose(torch.cat([first, *rest], 1), full, atol=1e-5)


def test_cache_reorder_follows_rows() -> None:
    torch.manual_seed(1)
    dec = TransformerDecoder(8, 2, 16, 1, dropout=0.0).eval()
    mem, x = torch.randn(2, 3, 8), torch.randn(2, 3, 8)
    cache = dec.new_cache()
    dec.step(x[:, :2], mem, None, cache)
    cache.reorder(torch.tensor([1, 1]))
    out = dec.step(x[[1, 1], 2:3], mem[[1, 1]], None, cache)
    full = dec(x[[1]], mem[[1]])
    assert torch.allclose(out[0, 0], full[0, 2], atol=1e-5) and torch.allclose(out[1, 0], full[0, 2], atol=1e-5)


def test_padding_does_not_change_the_encoding() -> None:
    torch.manual_seed(2)
    enc = TransformerEncoder(16, 4, 32, 1, dropout=0.0).eval()
    x = torch.randn(1, 4, 16)
    padded = torch.cat([x, torch.randn(1, 3, 16)], 1)
    pad = torch.tensor([[False] * 4 + [True] * 3])
    assert torch.allclose(enc(x)[0], enc(padded, pad)[0, :4], atol=1e-5)


def test_heads_must_divide_dim() -> None:
    with pytest.raises(ConfigError, match="divisible"):
        SelfAttention(10, 3)
