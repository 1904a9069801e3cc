"""Small convolutional building blocks for spectrum images (pure torch).

- :class:`ConvBlock`: conv 3x3 -> batch norm -> ReLU -> max pool 2x2.
- :class:`CoordChannels`: appends two coordinate channels (x and y in [-1, 1]) to an image batch, so
  that a translation-equivariant network still knows *where* a peak is (in a 2D NMR spectrum the
  position is the chemical shift, which carries the information).
- :class:`CNNEncoder`: image (B, C, H, W) -> feature vector (B, D), a stack of ConvBlocks followed by
  global average + max pooling. ``last_conv`` is the last convolution layer (the usual target of
  class-activation maps).
- :func:`mlp`: a small fully connected head.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn

__all__ = ["ConvBlock", "CoordChannels", "CNNEncoder", "mlp"]


class ConvBlock(nn.Module):
    """conv(k x k, same padding) -> BatchNorm -> ReLU -> MaxPool(pool).

    Args:
        in_ch, out_ch: channel counts.
        kernel: odd kernel size.
        pool: pooling factor (1 = no pooling).
        norm: use batch normalisation.
    """

    def __init__(self, in_ch: int, out_ch: int, kernel: int = 3, pool: int = 2, norm: bool = True) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch, kernel, padding=kernel // 2, bias=not norm)
        self.norm = nn.BatchNorm2d(out_ch) if norm else nn.Identity()
        self.act = nn.ReLU()
        self.pool = nn.MaxPool2d(pool) if pool > 1 else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        """(B, in_ch, H, W) -> (B, out_ch, H / pool, W / pool)."""
        return self.pool(self.act(self.norm(self.conv(x))))


class CoordChannels(nn.Module):
    """Append x and y coordinate channels (each in [-1, 1]) to a (B, C, H, W) batch."""

    def forward(self, x: Tensor) -> Tensor:
        """(B, C, H, W) -> (B, C + 2, H, W)."""
        b, _, h, w = x.shape
        ys = torch.linspace(-1.0, 1.0, h, dtype=x.dtype, device=x.device).view(1, 1, h, 1).expand(b, 1, h, w)
        xs = torch.linspace(-1.0, 1.0, w, dtype=x.dtype, device=x.device).view(1, 1, 1, w).expand(b, 1, h, w)
        return torch.cat([x, xs, ys], dim=1)


class CNNEncoder(nn.Module):
    """Image -> feature vector: ConvBlocks, then a readout of the last feature map.

    Args:
        in_channels: image channels (1 for a greyscale spectrum).
        channels: output channels of each block; every block halves the resolution.
        kernel: convolution kernel size.
        coord: append coordinate channels to the input (see :class:`CoordChannels`).
        readout: "pool" (global average and max pooling, concatenated) or "flatten" (the whole last
            feature map, which keeps every position; needs ``input_size``).
        input_size: (height, width) of the input, for the "flatten" readout.

    Attributes:
        out_dim: size of the feature vector.
        last_conv: the last :class:`torch.nn.Conv2d` (class-activation-map target).
    """

    def __init__(self, in_channels: int = 1, channels: Sequence[int] = (16, 32, 48, 64), kernel: int = 3,
                 coord: bool = True, readout: str = "pool", input_size: Sequence[int] | None = None) -> None:
        super().__init__()
        if not channels:
            from nmrlens.errors import ConfigError

            raise ConfigError("channels: got an empty list, expected at least one channel count")
        self.coord = CoordChannels() if coord else nn.Identity()
        chans = [in_channels + (2 if coord else 0), *channels]
        self.blocks = nn.ModuleList(ConvBlock(a, b, kernel) for a, b in zip(chans[:-1], chans[1:]))
        if readout not in ("pool", "flatten"):
            from nmrlens.errors import ConfigError

            raise ConfigError(f"readout: got {readout!r}, expected pool or flatten")
        self.readout = readout
        if readout == "pool":
            self.out_dim = 2 * int(channels[-1])
        else:
            if input_size is None:
                from nmrlens.errors import ConfigError

                raise ConfigError("input_size: the flatten readout needs the input (height, width)")
            h, w = int(input_size[0]), int(input_size[1])
            for _ in channels:
                h, w = h // 2, w // 2
            if h < 1 or w < 1:
                from nmrlens.errors import ConfigError

                raise ConfigError(f"channels: {len(channels)} blocks shrink a {tuple(input_size)} input to nothing")
            self.out_dim = int(channels[-1]) * h * w

    @property
    def last_conv(self) -> nn.Conv2d:
        """The last convolution layer."""
        return self.blocks[-1].conv

    def feature_map(self, x: Tensor) -> Tensor:
        """(B, C, H, W) -> the last block's output (B, channels[-1], H', W')."""
        h = self.coord(x)
        for block in self.blocks:
            h = block(h)
        return h

    def forward(self, x: Tensor) -> Tensor:
        """(B, C, H, W) -> (B, out_dim)."""
        h = self.feature_map(x)
        if self.readout == "flatten":
            return h.flatten(1)
        return torch.cat([h.mean(dim=(2, 3)), h.amax(dim=(2, 3))], dim=1)


def mlp(in_dim: int, hidden: int, out_dim: int, dropout: float = 0.0) -> nn.Sequential:
    """Dropout -> Linear -> ReLU -> Dropout -> Linear (``hidden`` = 0: a single linear layer)."""
    if hidden <= 0:
        return nn.Sequential(nn.Dropout(dropout), nn.Linear(in_dim, out_dim))
    return nn.Sequential(nn.Dropout(dropout), nn.Linear(in_dim, hidden), nn.ReLU(), nn.Dropout(dropout),
                         nn.Linear(hidden, out_dim))
