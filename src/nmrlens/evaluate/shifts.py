"""``nmrlens evaluate shifts``: per-atom 13C / 1H shift errors on atom-assigned records.

Only records no shipped model can have trained on are scored (:func:`nmrlens.data.splits.is_held_out`):
on the shared nmrshiftdb2 file that is the test split, on a file of unseen records all of them.
Metrics: ``c13_mae``, ``c13_rmse``, ``h1_mae``, ``h1_rmse`` (ppm), ``n_c13_atoms``, ``n_h1_atoms``,
``c13_within_2sigma`` / ``h1_within_2sigma`` (fraction of errors inside two predicted standard
deviations), ``h1_mae_ch`` / ``h1_mae_exchangeable`` (protons on carbon / on O, N, S; ``h1_mae``
covers both), ``n_molecules``, ``n_records_seen_in_training`` (skipped).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

__all__ = ["evaluate", "shift_errors"]


def shift_errors(model: Any, items: Sequence[Any], batch_size: int = 256, *, bf16: bool = False) -> dict[str, Any]:
    """MAE/RMSE (ppm), 2-sigma coverage, atom counts and the |error|/sigma values (keys ``_c13_z``,
    ``_h1_z``) on the assigned atoms of shift datapoints; ``bf16``: encoder under bfloat16 autocast."""
    import torch

    from nmrlens.nn.graph import collate_graphs

    errs: dict[str, list[np.ndarray]] = {"c13": [], "h1": []}
    z: dict[str, list[np.ndarray]] = {"c13": [], "h1": []}
    on_carbon: list[np.ndarray] = []
    model.eval()
    with torch.no_grad():
        for start in range(0, len(items), batch_size):
            chunk = list(items[start:start + batch_size])
            out = model(collate_graphs([dp.graph for dp in chunk]), bf16=bf16)
            for nuc, mu, sd, tgt in (("c13", out.c13_mu, out.c13_sigma, np.concatenate([d.c13_target for d in chunk])),
                                     ("h1", out.h1_mu, out.h1_sigma, np.concatenate([d.h1_target for d in chunk]))):
                mask = ~np.isnan(tgt)
                e = mu.numpy()[mask] - tgt[mask]
                errs[nuc].append(e)
                z[nuc].append(np.abs(e) / sd.numpy()[mask])
                if nuc == "h1":
                    on_carbon.append(np.asarray([el == "C" for d in chunk for el in d.graph.elements])[mask])
    res: dict[str, Any] = {}
    for nuc in ("c13", "h1"):
        e = np.concatenate(errs[nuc]) if errs[nuc] else np.zeros(0)
        zz = np.concatenate(z[nuc]) if z[nuc] else np.zeros(0)
        res[f"{nuc}_mae"] = float(np.abs(e).mean()) if len(e) else float("nan")
        res[f"{nuc}_rmse"] = float(np.sqrt((e ** 2).mean())) if len(e) else float("nan")
        res[f"{nuc}_within_2sigma"] = float((zz <= 2).mean()) if len(zz) else float("nan")
        res[f"n_{nuc}_atoms"] = int(len(e))
        res[f"_{nuc}_z"] = zz
    e = np.concatenate(errs["h1"]) if errs["h1"] else np.zeros(0)
    ch = np.concatenate(on_carbon) if on_carbon else np.zeros(0, dtype=bool)
    res["h1_mae_ch"] = float(np.abs(e[ch]).mean()) if ch.any() else float("nan")
    res["h1_mae_exchangeable"] = float(np.abs(e[~ch]).mean()) if (~ch).any() else float("nan")
    res["n_h1_atoms_ch"] = int(ch.sum())
    return res


def evaluate(data: Path, *, limit: int | None = None, seed: int = 0, checkpoint: str | None = None) -> dict[str, Any]:
    """Score the shift model on the held-out atom-assigned records of ``data`` (nmrshiftdb2 JSON lines)."""
    from nmrlens.data.datasets import iter_nmrshiftdb2
    from nmrlens.data.shiftdata import BuildReport, datapoint_from_record
    from nmrlens.data.splits import is_held_out
    from nmrlens.models.shifts import ShiftPredictor

    predictor = ShiftPredictor.load(checkpoint)
    items, seen, n = [], 0, 0
    report = BuildReport()
    for record in iter_nmrshiftdb2(data):
        if not (record.get("assigned") and record.get("molblock")):
            continue
        n += 1
        if limit is not None and n > limit:
            break
        if not is_held_out(record):
            seen += 1
            continue
        dp = datapoint_from_record(record, report)
        if dp is not None and dp.assigned:
            items.append(dp)
    res = shift_errors(predictor.model, items, bf16=predictor.bf16)
    metrics = {k: v for k, v in res.items() if not k.startswith("_")}
    metrics["n_molecules"] = len(items)
    metrics["n_records_seen_in_training"] = seen
    from nmrlens.models.shifts import DEFAULT_CHECKPOINT

    metrics["checkpoint"] = str(checkpoint or f"shipped {DEFAULT_CHECKPOINT}")
    metrics["bf16"] = predictor.bf16
    return metrics
