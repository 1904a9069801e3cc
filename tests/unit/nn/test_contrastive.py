"""InfoNCE and the spectrum transformer."""

from __future__ import annotations

import math

import torch

from nmrlens.nn.contrastive import SpectrumTransformer, info_nce, masked_mean


def test_info_nce_is_log_b_for_uninformative_and_small_for_aligned() -> None:
    b = 8
    same = torch.nn.functional.normalize(torch.ones(b, 4), dim=-1)
    assert abs(info_nce(same, same, torch.tensor(10.0)).item() - math.log(b)) < 1e-5
    eye = torch.eye(b)
    assert info_nce(eye, eye, torch.tensor(50.0)).item() < 1e-6
    # symmetric in its arguments
    a, c = torch.randn(b, 4), torch.randn(b, 4)
    assert abs(info_nce(a, c, torch.tensor(3.0)).item() - info_nce(c, a, torch.tensor(3.0)).item()) < 1e-5


def test_masked_mean_ignores_padding() -> None:
    x = torch.tensor([[[1.0], [3.0], [100.0]]])
    assert masked_mean(x, torch.tensor([[True, True, False]])).item() == 2.0


def test_spectrum_transformer_padding_does_not_change_output() -> None:
    torch.manual_seed(0)
    enc = SpectrumTransformer(50, hidden=16, layers=1, heads=2, ff=32, dropout=0.0, max_len=16).eval()
    ids = torch.tensor([[1, 5, 7, 2]])
    vals = torch.tensor([[0.0, 0.3, -0.2, 0.0]])
    kinds = torch.tensor([[0, 1, 1, 0]])
    mask = torch.ones(1, 4, dtype=torch.bool)
    out = enc(ids, vals, kinds, mask)
    pad = lambda t, v: torch.cat([t, torch.full((1, 3), v, dtype=t.dtype)], dim=1)  # noqa: E731
    out2 = enc(pad(ids, 0), pad(vals, 0.0), pad(kinds, 0), pad(mask, False))
    assert out.shape == (1, 16)
    assert torch.allclose(out, out2, atol=1e-5)
    # the numeric value matters
    out3 = enc(ids, vals + torch.tensor([[0.0, 0.05, 0.0, 0.0]]), kinds, mask)
    assert not torch.allclose(out, out3, atol=1e-4)
