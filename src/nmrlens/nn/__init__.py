"""Reusable torch building blocks (imported lazily: importing nmrlens does not import torch)."""
