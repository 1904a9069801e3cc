"""Build a compound-class ensemble (:class:`~nmrlens.models.classify2d.SpectrumCNNEnsemble`) from trained members.

Members are bmrb2d compound-class checkpoints written by :mod:`nmrlens.train.classify2d` (same
configuration, e.g. different seeds). The ensemble averages their class probabilities; its accuracy
is measured on the *val* split (used for the choice) and the *test* split (reported), like a single
model, and the members' ``seen_blocks`` (train + val compounds) are kept so that ``nmrlens evaluate
classify2d`` scores unseen compounds only.

Run: ``python -m nmrlens.train.classify2d_ensemble --members DIR1/best DIR2/best ... --out PATH``.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any, Sequence

__all__ = ["build_ensemble", "main"]

log = logging.getLogger(__name__)


def build_ensemble(members: Sequence[str | Path], out: str | Path) -> dict[str, Any]:
    """Combine member checkpoints, measure val/test accuracy (fraction of images), save to ``out``."""
    import torch

    from nmrlens.errors import NmrLensError
    from nmrlens.models.checkpoint import load_checkpoint, save_checkpoint
    from nmrlens.models.classify2d import SpectrumCNN, SpectrumCNNEnsemble
    from nmrlens.train.classify2d import accuracy, bmrb2d_split, to_tensors

    torch.set_num_threads(2)
    loaded = [load_checkpoint(m) for m in members]
    for m, (model, side) in zip(members, loaded):
        if not isinstance(model, SpectrumCNN) or model.multilabel:
            raise NmrLensError(f"members: {str(m)!r} is not a compound-class SpectrumCNN checkpoint")
    ens = SpectrumCNNEnsemble.from_members([model for model, _ in loaded]).eval()
    sides = [side for _, side in loaded]
    level = str(ens.hparams["task"])
    path = str((sides[0].get("training_data") or {}).get("path") or "bmrb2d")
    images, split = bmrb2d_split(path, ens.image_size, level)
    metrics: dict[str, Any] = {}
    for name in ("val", "test"):
        data = to_tensors([s for s in images if split[s.key] == name], ens.branches, ens.classes, False, ens.image_size)
        metrics[f"{name}_accuracy"] = accuracy(ens, data)
        metrics[f"{name}_images"] = len(data)
        metrics[f"{name}_member_accuracy"] = [accuracy(model, data) for model, _ in loaded]
    seen = sorted(set().union(*[set((side.get("extra") or {}).get("seen_blocks", [])) for side in sides]))
    training_data = {"members": [str(m) for m in members],
                     "member_training_data": [side.get("training_data", {}) for side in sides][:1],
                     "class_compounds": (sides[0].get("training_data") or {}).get("class_compounds"),
                     "path": path, "level": level,
                     "split": "nmrlens.data.splits.split_of_block (members: train fit, val selection; test held out)"}
    save_checkpoint(ens, out, force=True, training_data=training_data, metrics=metrics, extra={"seen_blocks": seen})
    return metrics


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry."""
    p = argparse.ArgumentParser(prog="python -m nmrlens.train.classify2d_ensemble",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--members", nargs="+", required=True, help="member checkpoints (path stems)")
    p.add_argument("--out", required=True, help="output checkpoint path stem")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    print(json.dumps(build_ensemble(args.members, args.out), indent=2))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
