"""Training of the atom-level shift model (:class:`~nmrlens.models.shifts.ShiftModel`).

Data: nmrshiftdb2 records of the *train* split; atom-assigned records give direct targets, and
unassigned 13C/1H peak lists are used through optimal matching against the current predictions
(after ``warmup_epochs`` epochs on assigned data only). Model selection on the *val* split
(assigned atoms), then a post-hoc calibration of the predicted standard deviations on *val*,
then metrics on the *test* split, all written into the checkpoint sidecar.

Run: ``python -m nmrlens.train.shifts --config src/nmrlens/train/configs/shifts.toml --out DIR``.
"""

from __future__ import annotations

import itertools
import dataclasses
import json
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from nmrlens.data.datasets import iter_nmrshiftdb2
from nmrlens.data.shiftdata import BuildReport, ShiftDatapoint, build_datapoints, match_classes_to_peaks
from nmrlens.evaluate.shifts import shift_errors
from nmrlens.train.config import resolve_data_path, start_run, train_main
from nmrlens.train.schedule import BudgetSchedule

__all__ = ["ModelSection", "TrainSection", "DataSection", "ShiftTrainConfig", "train", "batch_targets", "distill_targets",
           "calibrate_and_measure"]

log = logging.getLogger(__name__)


@dataclass
class ModelSection:
    """Model hyper-parameters (see ShiftModel)."""

    hidden: int = 256
    layers: int = 6
    dropout: float = 0.0
    head_hidden: int = 256
    encoder: str = "gine"   # graph block kind: "gine" or "gated" (nmrlens.nn.graph.ENCODER_KINDS)


@dataclass
class TrainSection:
    """Optimisation settings."""

    epochs: int = 40
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-5
    warmup_epochs: int = 3
    unassigned_c13: bool = True
    unassigned_h1: bool = True
    unassigned_weight: float = 1.0
    unassigned_max_residual_c13: float = 0.0   # ppm; matched 13C targets further than this from the prediction get weight 0 (0 = off)
    unassigned_max_residual_h1: float = 0.0    # ppm; the same for 1H
    init_checkpoint: str = ""                  # start from these weights (e.g. weights/shifts_v1 as the matching teacher)
    teacher_checkpoint: str = ""               # match unassigned peak lists to this model's predictions (fixed,
                                               # e.g. the shifts_v2_ens ensemble) instead of the model in training
    distill_weight: float = 0.0                # > 0 (needs teacher_checkpoint): every carbon / H-bearing atom without an
                                               # experimental or matched target learns the teacher's prediction with this
                                               # weight (L1 only, no NLL), e.g. the 1H of molecules with only a 13C list
    nll_weight: float = 0.1
    seed: int = 0
    threads: int = 2
    bf16: bool = True
    time_budget_min: float = 55.0


@dataclass
class DataSection:
    """Data: a file in the nmrshiftdb2 JSON-lines format (relative paths: under NMRLENS_DATA_DIR)."""

    path: str = "nmrshiftdb2/molecules.jsonl.gz"
    limit: int = 0


@dataclass
class ShiftTrainConfig:
    """The whole training config (one TOML table per section)."""

    model: ModelSection = field(default_factory=ModelSection)
    train: TrainSection = field(default_factory=TrainSection)
    data: DataSection = field(default_factory=DataSection)


def batch_targets(items: Sequence[ShiftDatapoint], c13_pred: np.ndarray, h1_pred: np.ndarray, *,
                  use_c13: bool = True, use_h1: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-node 13C and 1H targets for a batch (NaN = none) and a flag marking matched (unassigned) targets.

    Unassigned peak lists are matched to the current predictions ``c13_pred``/``h1_pred`` (per node, ppm)
    class by class with :func:`match_classes_to_peaks`.
    """
    c13_t, h1_t, matched = [], [], []
    offset = 0
    for dp in items:
        n = dp.graph.n_atoms
        c = dp.c13_target.copy()
        h = dp.h1_target.copy()
        flag = np.zeros(n, dtype=bool)
        if use_c13 and dp.c13_peaks is not None:
            carbons = np.flatnonzero(np.asarray(dp.graph.elements) == "C")
            cls_ids, inverse = np.unique(dp.classes[carbons], return_inverse=True)
            pred = np.bincount(inverse, weights=c13_pred[offset + carbons]) / np.bincount(inverse)
            first = carbons[np.unique(inverse, return_index=True)[1]]
            cls_h = dp.graph.n_hs[first]
            conflict = (dp.c13_peak_h[None, :] >= 0) & (dp.c13_peak_h[None, :] != cls_h[:, None])
            assign = match_classes_to_peaks(pred, dp.c13_peaks, conflict)
            c[carbons] = dp.c13_peaks[assign[inverse]]
            flag[carbons] = True
        if use_h1 and dp.h1_peaks is not None:
            hs = np.flatnonzero(dp.graph.n_hs > 0)
            if len(hs):
                cls_ids, inverse = np.unique(dp.classes[hs], return_inverse=True)
                pred = np.bincount(inverse, weights=h1_pred[offset + hs]) / np.bincount(inverse)
                cls_nh = np.bincount(inverse, weights=dp.graph.n_hs[hs]).astype(np.int64)
                first = hs[np.unique(inverse, return_index=True)[1]]
                optional = np.asarray([dp.graph.elements[i] != "C" for i in first])
                conflict = (dp.h1_peak_nh[None, :] > 0) & (cls_nh[:, None] > dp.h1_peak_nh[None, :])
                assign = match_classes_to_peaks(pred, dp.h1_peaks, conflict, optional=optional, optional_cost=1.0)
                got = assign[inverse]
                ok = got >= 0
                h[hs[ok]] = dp.h1_peaks[got[ok]]
                flag[hs[ok]] = True
        c13_t.append(c)
        h1_t.append(h)
        matched.append(flag)
        offset += n
    return np.concatenate(c13_t), np.concatenate(h1_t), np.concatenate(matched)


def distill_targets(items: Sequence[ShiftDatapoint], c13_t: np.ndarray, h1_t: np.ndarray, teacher_c13: np.ndarray,
                    teacher_h1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Teacher targets (ppm, NaN = none) for the nodes of a batch that have no other target: carbons
    without a 13C target and H-bearing heavy atoms without a 1H target (``c13_t``/``h1_t`` NaN there)."""
    is_c = np.concatenate([np.asarray(dp.graph.elements) == "C" for dp in items])
    has_h = np.concatenate([np.asarray(dp.graph.n_hs) > 0 for dp in items])
    dc = np.where(is_c & np.isnan(c13_t), teacher_c13, np.nan)
    dh = np.where(has_h & np.isnan(h1_t), teacher_h1, np.nan)
    return dc, dh


def _loss(mu: Any, sigma: Any, target: np.ndarray, weight: np.ndarray, scale: float, nll_weight: float) -> Any:
    import torch

    t = torch.from_numpy(target).to(mu.dtype)
    mask = torch.from_numpy(~np.isnan(target))
    if not bool(mask.any()):
        return mu.sum() * 0.0, 0
    w = torch.from_numpy(weight).to(mu.dtype)[mask]
    m, s, y = mu[mask], sigma[mask], t[mask]
    l1 = (m - y).abs() / scale
    nll = torch.log(s / scale) + 0.5 * ((y - m.detach()) / s) ** 2
    return ((l1 + nll_weight * nll) * w).sum(), int(mask.sum())


def calibrate_and_measure(model: Any, val_items: Sequence[ShiftDatapoint],
                          test_items: Sequence[ShiftDatapoint]) -> dict[str, Any]:
    """Scale the model's predicted standard deviations so that 95% of the validation errors lie within
    2 sigma (the ``*_sigma_cal`` buffers, in place), then measure on val and test (keys ``val_*``, ``test_*``)."""
    val = shift_errors(model, val_items)
    for nuc in ("c13", "h1"):
        zz = val[f"_{nuc}_z"]
        if len(zz):
            getattr(model, f"{nuc}_sigma_cal").mul_(float(np.quantile(zz, 0.95) / 2.0))
    metrics = {f"test_{k}": v for k, v in shift_errors(model, test_items).items() if not k.startswith("_")}
    metrics.update({f"val_{k}": v for k, v in shift_errors(model, val_items).items() if not k.startswith("_")})
    return metrics


def train(cfg: ShiftTrainConfig, out_dir: Path) -> dict[str, Any]:
    """Train, select on val, calibrate, test; write ``out_dir/{best.safetensors,best.json,config.json,log.jsonl}``."""
    import torch

    from nmrlens.models.checkpoint import save_checkpoint
    from nmrlens.models.shifts import ShiftModel
    from nmrlens.nn.graph import collate_graphs

    rng = start_run(cfg, out_dir)
    tc = cfg.train
    np.random.seed(tc.seed)
    t_start = time.time()
    data_path = resolve_data_path(cfg.data.path)
    report = BuildReport()
    records = iter_nmrshiftdb2(data_path)
    if cfg.data.limit:
        records = itertools.islice(records, cfg.data.limit)
    items = list(build_datapoints(records, report))
    log.info("built %d datapoints in %.0f s: %s", len(items), time.time() - t_start, report)
    by_split: dict[str, list[ShiftDatapoint]] = {"train": [], "val": [], "test": []}
    for dp in items:
        by_split[dp.split].append(dp)
    train_items = by_split["train"]
    train_assigned = [dp for dp in train_items if dp.assigned]
    val_assigned = [dp for dp in by_split["val"] if dp.assigned]
    test_assigned = [dp for dp in by_split["test"] if dp.assigned]
    model = ShiftModel(**dataclasses.asdict(cfg.model))
    if tc.init_checkpoint:
        from nmrlens.models.checkpoint import load_checkpoint

        init, _ = load_checkpoint(tc.init_checkpoint)
        model.load_state_dict(init.state_dict())
        model.c13_sigma_cal.fill_(1.0)
        model.h1_sigma_cal.fill_(1.0)
        log.info("initialised from %s", tc.init_checkpoint)
    teacher_pred = _teacher_predictions(tc.teacher_checkpoint, train_items, tc.bf16) if tc.teacher_checkpoint else None
    opt = torch.optim.AdamW(model.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
    use_unassigned = tc.unassigned_c13 or tc.unassigned_h1
    n_steps = sum(math.ceil(len(train_assigned if (e < tc.warmup_epochs or not use_unassigned) else train_items)
                            / tc.batch_size) for e in range(tc.epochs))
    sched = BudgetSchedule(opt, tc.lr, n_steps, 60 * tc.time_budget_min - (time.time() - t_start))
    c_scale, h_scale = float(model.c13_scale), float(model.h1_scale)
    best = (float("inf"), -1)
    history = []
    for epoch in range(tc.epochs):
        model.train()
        pool = train_assigned if (epoch < tc.warmup_epochs or not use_unassigned) else train_items
        order = list(range(len(pool)))
        rng.shuffle(order)
        t0, total, count = time.time(), 0.0, 0
        for start in range(0, len(order), tc.batch_size):
            batch = [pool[i] for i in order[start:start + tc.batch_size]]
            g = collate_graphs([dp.graph for dp in batch])
            out = model(g, bf16=tc.bf16)
            if teacher_pred is not None:
                ref_c = np.concatenate([teacher_pred[id(dp)][0] for dp in batch])
                ref_h = np.concatenate([teacher_pred[id(dp)][1] for dp in batch])
            else:
                ref_c, ref_h = out.c13_mu.detach().numpy(), out.h1_mu.detach().numpy()
            c_t, h_t, matched = batch_targets(batch, ref_c, ref_h, use_c13=tc.unassigned_c13, use_h1=tc.unassigned_h1)
            w = np.where(matched, tc.unassigned_weight, 1.0)
            wc, wh = w.copy(), w.copy()
            if tc.unassigned_max_residual_c13 > 0:
                far = np.abs(np.nan_to_num(c_t - ref_c)) > tc.unassigned_max_residual_c13
                wc[matched & far] = 0.0
            if tc.unassigned_max_residual_h1 > 0:
                far = np.abs(np.nan_to_num(h_t - ref_h)) > tc.unassigned_max_residual_h1
                wh[matched & far] = 0.0
            lc, nc = _loss(out.c13_mu, out.c13_sigma, c_t, wc, c_scale, tc.nll_weight)
            lh, nh = _loss(out.h1_mu, out.h1_sigma, h_t, wh, h_scale, tc.nll_weight)
            loss_sum, n_targets = lc + lh, nc + nh
            if tc.distill_weight > 0 and teacher_pred is not None:
                dc, dh = distill_targets(batch, c_t, h_t, ref_c, ref_h)
                for mu, sigma, t, scale in ((out.c13_mu, out.c13_sigma, dc, c_scale), (out.h1_mu, out.h1_sigma, dh, h_scale)):
                    ld, nd = _loss(mu, sigma, t, np.full(len(t), tc.distill_weight), scale, 0.0)
                    loss_sum, n_targets = loss_sum + ld, n_targets + nd
            loss = loss_sum / max(1, n_targets)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            sched.step()
            if sched.finished:
                break
            total += loss.item() * len(batch)
            count += len(batch)
        val = shift_errors(model, val_assigned)
        terms = [v for v in (val["c13_mae"] / 1.3, val["h1_mae"] / 0.2) if math.isfinite(v)]
        score = sum(terms) if terms else float(epoch)
        row = {"epoch": epoch, "loss": total / max(1, count), "val_c13_mae": val["c13_mae"], "val_h1_mae": val["h1_mae"],
               "score": score, "seconds": round(time.time() - t0, 1), "pool": len(pool)}
        history.append(row)
        log.info("epoch %s", row)
        with open(out_dir / "log.jsonl", "a") as fh:
            fh.write(json.dumps(row) + "\n")
        if score < best[0]:
            best = (score, epoch)
            save_checkpoint(model, out_dir / "best", force=True, training_data={"note": "in progress"})
        if sched.finished:
            log.info("schedule finished after epoch %d (progress by steps or by the %.0f min budget)", epoch, tc.time_budget_min)
            break
    from nmrlens.models.checkpoint import load_checkpoint

    model, _ = load_checkpoint(out_dir / "best")
    metrics = calibrate_and_measure(model, val_assigned, test_assigned)
    metrics["best_epoch"] = best[1]
    metrics["train_minutes"] = round((time.time() - t_start) / 60, 1)
    training_data = {
        "source": str(cfg.data.path), "split": "nmrlens.data.splits (train; model selection and calibration on val)",
        "n_train": len(train_items), "n_train_assigned": len(train_assigned), "n_val_assigned": len(val_assigned),
        "n_test_assigned": len(test_assigned), "build_report": dataclasses.asdict(report),
        "config": dataclasses.asdict(cfg),
    }
    save_checkpoint(model, out_dir / "best", force=True, training_data=training_data, metrics=metrics)
    return metrics


def _teacher_predictions(checkpoint: str, items: Sequence[ShiftDatapoint], bf16: bool,
                         batch_size: int = 256) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Per datapoint (keyed by ``id``): the teacher's 13C and 1H predictions (ppm) for every node of
    its graph, computed once. The teacher is any shift checkpoint (a model or an ensemble)."""
    import torch

    from nmrlens.models.checkpoint import load_checkpoint
    from nmrlens.nn.graph import collate_graphs

    teacher, _ = load_checkpoint(checkpoint)
    teacher.eval()
    out: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    with torch.no_grad():
        for start in range(0, len(items), batch_size):
            part = items[start:start + batch_size]
            res = teacher(collate_graphs([dp.graph for dp in part]), bf16=bf16)
            c, h = res.c13_mu.float().numpy(), res.h1_mu.float().numpy()
            k = 0
            for dp in part:
                n = dp.graph.n_atoms
                out[id(dp)] = (c[k:k + n], h[k:k + n])
                k += n
    log.info("teacher %s: predictions for %d molecules", checkpoint, len(out))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry: train with a TOML config (``section.key=value`` overrides with --set)."""
    return train_main("python -m nmrlens.train.shifts", __doc__.split("\n\n")[0], ShiftTrainConfig, "shifts.toml",
                      train, argv)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
