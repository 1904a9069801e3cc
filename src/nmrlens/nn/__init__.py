"""Reusable torch building blocks (imported lazily: importing nmrlens does not import torch)."""

from __future__ import annotations

__all__ = ["bf16_supported"]


def bf16_supported() -> bool:
    """Whether bfloat16 autocast pays on this CPU: the environment variable ``NMRLENS_BF16`` ("1"/"0")
    when set, else whether oneDNN has native bfloat16 kernels here (AVX-512 BF16 / AMX). Without them
    (e.g. an AVX2-only CPU) autocast emulates bfloat16 and runs many times slower than float32: a
    transformer training step here took ~30x longer under bfloat16 than the float32 steps of the same run."""
    import os

    env = os.environ.get("NMRLENS_BF16")
    if env is not None and env.strip() != "":
        return env.strip().lower() not in ("0", "false", "no", "off")
    try:
        import torch

        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError, ImportError):  # pragma: no cover - builds without oneDNN
        return False
