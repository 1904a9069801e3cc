"""Explanations of spectrum-image classifiers: class-activation maps and peak-level scores.

=================  ==========================================  =========================================
method name         class                                       what it computes
=================  ==========================================  =========================================
``gradcam``         :class:`~nmrlens.explain.gradcam.GradCAM`   channel weight = mean gradient
``gradcam++``       :class:`~nmrlens.explain.gradcam_pp.GradCAMPlusPlus`  weights from 2nd/3rd-order terms
``occlusion``       :class:`~nmrlens.explain.occlusion.PeakOcclusion`  score drop when one peak is erased
=================  ==========================================  =========================================

All explainers take ``(model, branch=..., ...)`` and are called as ``explainer(x, target, present)``
returning heatmaps (B, H, W) in [0, 1] at the model's input resolution for that branch.
:mod:`nmrlens.explain.scores` turns heatmaps into numbers (peak mass fraction, pointing game) and
:mod:`nmrlens.explain.overlay` writes heatmap overlays as PNG.
"""

from __future__ import annotations

import importlib
from typing import Any

from nmrlens.errors import NmrLensError

__all__ = ["METHODS", "make_explainer"]

#: Method name -> "module:Class".
METHODS: dict[str, str] = {
    "gradcam": "nmrlens.explain.gradcam:GradCAM",
    "gradcam++": "nmrlens.explain.gradcam_pp:GradCAMPlusPlus",
    "occlusion": "nmrlens.explain.occlusion:PeakOcclusion",
}


def make_explainer(method: str, model: Any, branch: str | int = 0, **options: Any) -> Any:
    """Build the explainer ``method`` (a key of :data:`METHODS`) for one branch of ``model``."""
    key = str(method).lower()
    if key not in METHODS:
        raise NmrLensError(f"method: got {method!r}, expected one of {', '.join(METHODS)}")
    module_name, cls_name = METHODS[key].split(":")
    cls = getattr(importlib.import_module(module_name), cls_name)
    return cls(model, branch=branch, **options)
