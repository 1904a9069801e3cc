"""Reversible (bijective) building blocks in the style of i-RevNet, each with an exact inverse.

Every module here maps a tensor to a tensor of the same number of elements and has
``forward(x)`` and ``inverse(y)`` with ``inverse(forward(x)) == x`` up to floating-point rounding
(no information is lost, no determinant is needed: all blocks are volume-preserving).

- :class:`AdditiveCoupling`: split the channels into halves ``x1, x2``; ``y2 = x2 + F(x1)``,
  ``y1 = x1 + G(y2)``; inverse ``x1 = y1 - G(y2)``, ``x2 = y2 - F(x1)``. ``F`` and ``G`` are
  arbitrary (non-invertible) conv nets.
- :class:`SpaceToDepth`: invertible down-sampling, ``(C, H, W) -> (4C, H/2, W/2)`` (a pure
  permutation of the elements).
- :class:`ChannelPermutation`: a fixed, seeded permutation of the channels, so that later
  couplings see other channel halves.
- :class:`ReversibleSequence`: a chain of the above; its inverse runs the chain backwards.

Use float64 (``module.double()``) where an exactness check needs more than float32's ~1e-6.
"""

from __future__ import annotations

from typing import Iterable

import torch
from torch import Tensor, nn

__all__ = [
    "space_to_depth",
    "depth_to_space",
    "coupling_net",
    "AxialContext",
    "AdditiveCoupling",
    "SpaceToDepth",
    "ChannelPermutation",
    "ReversibleSequence",
    "max_inversion_error",
]


def space_to_depth(x: Tensor, factor: int = 2) -> Tensor:
    """``(B, C, H, W) -> (B, C*f*f, H/f, W/f)``: each ``f x f`` patch becomes ``f*f`` channels
    (channel ``c*f*f + dy*f + dx``)."""
    b, c, h, w = x.shape
    if h % factor or w % factor:
        raise ValueError(f"space_to_depth: spatial size {h}x{w} is not divisible by {factor}")
    x = x.reshape(b, c, h // factor, factor, w // factor, factor)
    return x.permute(0, 1, 3, 5, 2, 4).reshape(b, c * factor * factor, h // factor, w // factor)


def depth_to_space(x: Tensor, factor: int = 2) -> Tensor:
    """Inverse of :func:`space_to_depth`: ``(B, C*f*f, H, W) -> (B, C, H*f, W*f)``."""
    b, c, h, w = x.shape
    if c % (factor * factor):
        raise ValueError(f"depth_to_space: {c} channels are not divisible by {factor * factor}")
    x = x.reshape(b, c // (factor * factor), factor, factor, h, w)
    return x.permute(0, 1, 4, 2, 5, 3).reshape(b, c // (factor * factor), h * factor, w * factor)


class AxialContext(nn.Module):
    """Row and column context for square maps that are (coarsened) adjacency matrices.

    For ``(B, C, N, N)`` input returns ``(B, 5C, N, N)``: the input and, at cell ``(i, j)``, the
    sums of row ``i``, row ``j``, column ``i`` and column ``j`` (scaled by ``1/scale``). A cell of
    a bond matrix then sees the bonds of both its atoms (their degrees, neighbour types): one round
    of message passing, as in the equivariant layers of graph networks on adjacency matrices.
    Non-square maps pass through with zero context.
    """

    def __init__(self, scale: float = 4.0) -> None:
        super().__init__()
        self.scale = float(scale)

    def forward(self, x: Tensor) -> Tensor:
        """``(B, C, N, N)`` -> ``(B, 5C, N, N)`` (input and the four row/column sums)."""
        b, c, h, w = x.shape
        if h != w or h == 1:
            z = torch.zeros_like(x)
            return torch.cat([x, z, z, z, z], dim=1)
        rows = x.sum(3) / self.scale  # (B, C, N): sum over j of x[i, j]
        cols = x.sum(2) / self.scale  # (B, C, N): sum over i of x[i, j]
        ri = rows.unsqueeze(3).expand(b, c, h, w)
        rj = rows.unsqueeze(2).expand(b, c, h, w)
        ci = cols.unsqueeze(3).expand(b, c, h, w)
        cj = cols.unsqueeze(2).expand(b, c, h, w)
        return torch.cat([x, ri, rj, ci, cj], dim=1)


def coupling_net(c_in: int, c_out: int, hidden: int, kernel_size: int = 3, zero_init: bool = True,
                 axial: bool = False) -> nn.Sequential:
    """The residual function of a coupling.

    Plain: conv(k) -> LeakyReLU -> conv(1x1) -> LeakyReLU -> conv(k). With ``axial``:
    :class:`AxialContext` -> conv(1x1) -> LeakyReLU -> conv(k) -> LeakyReLU -> :class:`AxialContext`
    -> conv(1x1) (two rounds of row/column message passing). With ``zero_init`` the last convolution
    starts at zero, so the coupling starts as the identity.
    """
    pad = kernel_size // 2
    if axial:
        layers: list[nn.Module] = [
            AxialContext(), nn.Conv2d(5 * c_in, hidden, 1), nn.LeakyReLU(0.1),
            nn.Conv2d(hidden, hidden, kernel_size, padding=pad), nn.LeakyReLU(0.1),
            AxialContext(), nn.Conv2d(5 * hidden, c_out, 1),
        ]
    else:
        layers = [
            nn.Conv2d(c_in, hidden, kernel_size, padding=pad), nn.LeakyReLU(0.1),
            nn.Conv2d(hidden, hidden, 1), nn.LeakyReLU(0.1),
            nn.Conv2d(hidden, c_out, kernel_size, padding=pad),
        ]
    net = nn.Sequential(*layers)
    if zero_init:
        nn.init.zeros_(net[-1].weight)
        nn.init.zeros_(net[-1].bias)
    return net


class AdditiveCoupling(nn.Module):
    """i-RevNet additive coupling: ``y2 = x2 + F(x1)``, ``y1 = x1 + G(y2)`` (channel halves).

    Args:
        channels: number of input (= output) channels, at least 2.
        hidden: width of ``F`` and ``G``.
        kernel_size: convolution size (use 1 at 1 x 1 spatial size).
        axial: give ``F`` and ``G`` row/column context (:class:`AxialContext`) on square maps.
        clamp: when > 0, the residuals are soft-clamped to ``(-clamp, clamp)`` by
            ``clamp * tanh(r / clamp)`` (bounded updates keep deep stacks stable; the inverse
            stays exact because it subtracts the same clamped values).
    """

    def __init__(self, channels: int, hidden: int, kernel_size: int = 3, zero_init: bool = True,
                 clamp: float = 0.0, axial: bool = False) -> None:
        super().__init__()
        if channels < 2:
            raise ValueError(f"AdditiveCoupling: channels must be >= 2, got {channels}")
        self.c1 = channels // 2
        self.c2 = channels - self.c1
        self.clamp = float(clamp)
        self.F = coupling_net(self.c1, self.c2, hidden, kernel_size, zero_init, axial)
        self.G = coupling_net(self.c2, self.c1, hidden, kernel_size, zero_init, axial)

    def _f(self, x1: Tensor) -> Tensor:
        r = self.F(x1)
        return self.clamp * torch.tanh(r / self.clamp) if self.clamp > 0 else r

    def _g(self, y2: Tensor) -> Tensor:
        r = self.G(y2)
        return self.clamp * torch.tanh(r / self.clamp) if self.clamp > 0 else r

    def forward(self, x: Tensor) -> Tensor:
        """``y2 = x2 + F(x1)``, ``y1 = x1 + G(y2)``; same shape as ``x``."""
        x1, x2 = x[:, : self.c1], x[:, self.c1:]
        y2 = x2 + self._f(x1)
        y1 = x1 + self._g(y2)
        return torch.cat([y1, y2], dim=1)

    def inverse(self, y: Tensor) -> Tensor:
        """Exact inverse of :meth:`forward`: ``x1 = y1 - G(y2)``, ``x2 = y2 - F(x1)``."""
        y1, y2 = y[:, : self.c1], y[:, self.c1:]
        x1 = y1 - self._g(y2)
        x2 = y2 - self._f(x1)
        return torch.cat([x1, x2], dim=1)


class SpaceToDepth(nn.Module):
    """Invertible down-sampling by ``factor`` (no parameters)."""

    def __init__(self, factor: int = 2) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, x: Tensor) -> Tensor:
        """``(B, C, H, W)`` -> ``(B, C f^2, H/f, W/f)``."""
        return space_to_depth(x, self.factor)

    def inverse(self, y: Tensor) -> Tensor:
        """``(B, C f^2, H/f, W/f)`` -> ``(B, C, H, W)``."""
        return depth_to_space(y, self.factor)


class ChannelPermutation(nn.Module):
    """A fixed permutation of the channels, drawn from ``seed`` (stored as a buffer)."""

    def __init__(self, channels: int, seed: int = 0) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        perm = torch.randperm(channels, generator=g)
        self.register_buffer("perm", perm)
        self.register_buffer("inv_perm", torch.argsort(perm))

    def forward(self, x: Tensor) -> Tensor:
        """Channels permuted (dimension 1)."""
        return x[:, self.perm]

    def inverse(self, y: Tensor) -> Tensor:
        """Channels put back in their original order."""
        return y[:, self.inv_perm]


class ReversibleSequence(nn.Module):
    """A chain of reversible modules (each with ``forward`` and ``inverse``)."""

    def __init__(self, modules: Iterable[nn.Module]) -> None:
        super().__init__()
        self.layers = nn.ModuleList(modules)
        for m in self.layers:
            if not callable(getattr(m, "inverse", None)):
                raise TypeError(f"ReversibleSequence: {type(m).__name__} has no inverse()")

    def forward(self, x: Tensor) -> Tensor:
        """The modules applied in order."""
        for m in self.layers:
            x = m(x)
        return x

    def inverse(self, y: Tensor) -> Tensor:
        """The modules' inverses applied in reverse order."""
        for m in reversed(self.layers):
            y = m.inverse(y)
        return y


@torch.no_grad()
def max_inversion_error(module: nn.Module, x: Tensor) -> float:
    """``max |x - module.inverse(module(x))|`` (the module must have ``inverse``)."""
    y = module(x)
    return float((module.inverse(y) - x).abs().max())
