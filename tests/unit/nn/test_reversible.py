"""Reversible blocks: exact inverses (float32 and float64), volume preservation, space-to-depth layout."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from nmrlens.nn.reversible import (
    AdditiveCoupling,
    ChannelPermutation,
    ReversibleSequence,
    SpaceToDepth,
    depth_to_space,
    max_inversion_error,
    space_to_depth,
)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """One torch thread: much faster for these tiny tensors on a busy machine (restored afterwards)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _randomise(module: nn.Module, scale: float = 0.1, seed: int = 0) -> nn.Module:
    """Give every parameter random values (zero-initialised couplings would be the identity); the
    scale keeps activations in the range of a trained network (large weights amplify rounding)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) * scale)
    return module


def _stack(channels: int = 4, dtype: torch.dtype = torch.float32, clamp: float = 0.0) -> ReversibleSequence:
    torch.manual_seed(0)
    layers: list[nn.Module] = []
    for stage in range(3):
        ch = channels * 4 ** stage
        for b in range(2):
            layers += [ChannelPermutation(ch, seed=10 * stage + b), AdditiveCoupling(ch, 16, 3 if stage < 2 else 1, clamp=clamp)]
        if stage < 2:
            layers.append(SpaceToDepth(2))
    return _randomise(ReversibleSequence(layers)).to(dtype)


@pytest.mark.parametrize("dtype,tol", [(torch.float32, 1e-4), (torch.float64, 1e-10)])
@pytest.mark.parametrize("clamp", [0.0, 2.0])
def test_stack_is_exactly_invertible(dtype: torch.dtype, tol: float, clamp: float) -> None:
    net = _stack(dtype=dtype, clamp=clamp)
    x = (torch.rand(16, 4, 8, 8, dtype=dtype) < 0.1).to(dtype)  # sparse 0/1, like bond matrices
    with torch.no_grad():
        y = net(x)
    assert y.shape == (16, 64, 2, 2)
    assert not torch.allclose(y.reshape(16, -1)[:, :10], space_to_depth(space_to_depth(x)).reshape(16, -1)[:, :10])
    err = max_inversion_error(net, x)
    assert err < tol
    # and the other way round: forward(inverse(z)) == z for latents the forward never produced
    z = torch.randn(8, 64, 2, 2, dtype=dtype)
    with torch.no_grad():
        assert float((net(net.inverse(z)) - z).abs().max()) < tol * 10


def test_coupling_formula() -> None:
    c = _randomise(AdditiveCoupling(6, 8, 1), seed=3)
    x = torch.randn(5, 6, 3, 3)
    y = c(x)
    x1, x2 = x[:, :3], x[:, 3:]
    y2 = x2 + c.F(x1)
    y1 = x1 + c.G(y2)
    torch.testing.assert_close(y, torch.cat([y1, y2], 1))
    torch.testing.assert_close(c.inverse(y), x, atol=1e-5, rtol=0)


def test_clamped_coupling_bounds_the_update() -> None:
    c = _randomise(AdditiveCoupling(4, 8, 1, clamp=0.5), scale=5.0)
    x = torch.randn(7, 4, 2, 2) * 10
    with torch.no_grad():
        y = c(x)
    assert float((y[:, 2:] - x[:, 2:]).abs().max()) <= 0.5 + 1e-6


def test_zero_init_coupling_is_identity() -> None:
    c = AdditiveCoupling(4, 8)
    x = torch.randn(3, 4, 4, 4)
    torch.testing.assert_close(c(x), x)


def test_volume_preserving() -> None:
    torch.manual_seed(0)
    layers = [ChannelPermutation(2, 1), AdditiveCoupling(2, 8), SpaceToDepth(), AdditiveCoupling(8, 8, 1),
              ChannelPermutation(8, 2), AdditiveCoupling(8, 8, 1)]
    net = _randomise(ReversibleSequence(layers), scale=0.3).double()
    x = torch.rand(1, 2, 4, 4, dtype=torch.float64)
    jac = torch.autograd.functional.jacobian(lambda v: net(v.reshape(1, 2, 4, 4)).reshape(-1), x.reshape(-1))
    assert jac.shape == (32, 32) and float((jac - torch.eye(32, dtype=torch.float64)).abs().max()) > 1e-3
    assert abs(float(torch.linalg.slogdet(jac)[1])) < 1e-8


@settings(max_examples=100, deadline=None)
@given(b=st.integers(1, 3), c=st.integers(1, 5), h=st.sampled_from([2, 4, 8]), w=st.sampled_from([2, 4, 6]))
def test_space_to_depth_round_trip(b: int, c: int, h: int, w: int) -> None:
    x = torch.arange(b * c * h * w, dtype=torch.float32).reshape(b, c, h, w)
    y = space_to_depth(x)
    assert y.shape == (b, 4 * c, h // 2, w // 2)
    assert torch.equal(depth_to_space(y), x)
    assert sorted(y.flatten().tolist()) == sorted(x.flatten().tolist())  # a permutation of the elements


def test_space_to_depth_layout() -> None:
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    y = space_to_depth(x)
    # channel dy*2+dx holds the (dy, dx) corner of every 2x2 patch
    assert y[0, :, 0, 0].tolist() == [0.0, 1.0, 4.0, 5.0]
    assert y[0, 3].tolist() == [[5.0, 7.0], [13.0, 15.0]]
    with pytest.raises(ValueError):
        space_to_depth(torch.zeros(1, 1, 3, 4))
    with pytest.raises(ValueError):
        depth_to_space(torch.zeros(1, 3, 2, 2))


def test_permutation_and_sequence_errors() -> None:
    p = ChannelPermutation(7, seed=1)
    x = torch.randn(2, 7, 1, 1)
    assert not torch.equal(p(x), x)
    assert torch.equal(p.inverse(p(x)), x)
    assert torch.equal(ChannelPermutation(7, seed=1).perm, p.perm)  # reproducible from the seed
    with pytest.raises(TypeError):
        ReversibleSequence([nn.ReLU()])
    with pytest.raises(ValueError):
        AdditiveCoupling(1, 4)
