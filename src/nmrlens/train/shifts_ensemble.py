"""Package trained shift-model runs as a shippable checkpoint: one run as it is, or several as an ensemble.

Members are checkpoints written by :mod:`nmrlens.train.shifts` (same architecture, e.g. different
seeds or data options). Several members become a :class:`~nmrlens.models.shifts.ShiftEnsemble`; a single
member is stored as the model itself (how a run is shipped, e.g. ``weights/shifts_v5``). Either way the
standard deviations are re-calibrated on the *val* split (with the weights as stored: float16-rounded
with ``--half``) and the metrics measured on *val* and *test*.

Run: ``python -m nmrlens.train.shifts_ensemble --members DIR1/best [DIR2/best ...] --out PATH [--half]``.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path
from typing import Any, Sequence

__all__ = ["build_ensemble", "main"]

log = logging.getLogger(__name__)


def build_ensemble(members: Sequence[str | Path], out: str | Path, *, data_path: str = "nmrshiftdb2/molecules.jsonl.gz",
                   half: bool = False) -> dict[str, Any]:
    """Combine member checkpoints (one member: that model alone), calibrate on val, measure on val/test,
    save to ``out``; returns the metrics."""
    import torch

    from nmrlens.data.datasets import iter_nmrshiftdb2
    from nmrlens.data.shiftdata import BuildReport, build_datapoints
    from nmrlens.models.checkpoint import load_checkpoint, read_sidecar, save_checkpoint
    from nmrlens.models.shifts import ShiftEnsemble
    from nmrlens.train.config import resolve_data_path
    from nmrlens.train.shifts import calibrate_and_measure

    torch.set_num_threads(2)
    t0 = time.time()
    if not members:
        from nmrlens.errors import NmrLensError

        raise NmrLensError("members: got none, expected at least one checkpoint")
    models = [load_checkpoint(m)[0] for m in members]
    if len(models) == 1:
        ens = models[0].eval()
        ens.c13_sigma_cal.fill_(1.0)  # calibrated again below
        ens.h1_sigma_cal.fill_(1.0)
    else:
        ens = ShiftEnsemble.from_members(models).eval()
    report = BuildReport()
    items = list(build_datapoints(iter_nmrshiftdb2(resolve_data_path(data_path)), report))
    val = [dp for dp in items if dp.split == "val" and dp.assigned]
    test = [dp for dp in items if dp.split == "test" and dp.assigned]
    if half:  # measure what is shipped: the float16-rounded weights
        ens.load_state_dict({k: v.half().float() if v.is_floating_point() else v for k, v in ens.state_dict().items()})
    metrics = calibrate_and_measure(ens, val, test)
    metrics["build_minutes"] = round((time.time() - t0) / 60, 1)
    if len(models) == 1:  # a single run keeps its own training description
        side = read_sidecar(members[0])
        metrics.update({k: v for k, v in (side.get("metrics") or {}).items() if k in ("best_epoch", "train_minutes")})
        training_data = side.get("training_data")
    else:
        training_data = {"members": [str(m) for m in members],
                         "member_training_data": [read_sidecar(m).get("training_data", {}) for m in members][:1],
                         "split": "nmrlens.data.splits (members trained on train; calibration on val)",
                         "n_val_assigned": len(val), "n_test_assigned": len(test)}
    save_checkpoint(ens, out, force=True, training_data=training_data, metrics=metrics, half=half)
    return metrics


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry."""
    import json

    p = argparse.ArgumentParser(prog="python -m nmrlens.train.shifts_ensemble", description=__doc__.split("\n\n")[0])
    p.add_argument("--members", nargs="+", required=True, help="member checkpoints (path stems)")
    p.add_argument("--out", required=True, help="output checkpoint path stem")
    p.add_argument("--data", default="nmrshiftdb2/molecules.jsonl.gz", help="nmrshiftdb2 JSONL (under NMRLENS_DATA_DIR)")
    p.add_argument("--half", action="store_true", help="store float16 tensors")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    metrics = build_ensemble(args.members, args.out, data_path=args.data, half=args.half)
    print(json.dumps(metrics, indent=2))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
