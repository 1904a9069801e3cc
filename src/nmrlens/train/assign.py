"""Training of the dual alignment model (:class:`~nmrlens.models.assign.AssignModel`, K-M3AID style).

Data: the atom-assigned nmrshiftdb2 records of the *train* split that have a 13C spectrum. Each
batch trains, together:

- node level, across the batch (instance-wise discrimination guided by ppm): every labelled carbon
  against every peak of the batch, soft targets ``exp(-|delta ppm| / node_sigma_ppm)`` (times
  ``mult_mismatch`` when the peak's S/D/T/Q disagrees with the atom's H count), cross-entropy in
  both directions (atom -> peaks, peak -> atoms) = a gradient-symmetric CLIP with soft labels;
- node level, within each molecule (``local_weight``): the same with ``local_sigma_ppm`` over the
  molecule's own peaks only (what the assignment uses);
- graph level: molecule <-> whole spectrum CLIP (``graph_weight``);
- an auxiliary 13C shift regression of the atom side (``aux_weight``, L1 / 50 ppm).

The graph encoder and the shift head start from the shipped shift model (trained on the same
train split). Model selection on the *val* split (13C atom accuracy of the model's assignment),
then the fusion weight with the baseline and the graph weight for retrieval are chosen on *val*;
both are stored in the checkpoint sidecar (``extra.options``).

Run: ``python -m nmrlens.train.assign --config src/nmrlens/train/configs/assign.toml --out DIR``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from nmrlens.train.config import resolve_data_path, start_run, train_main

__all__ = ["ModelSection", "TrainSection", "DataSection", "AssignTrainConfig", "train", "finalize", "batch_loss",
           "select_options", "init_from_shift_model"]

log = logging.getLogger(__name__)


@dataclass
class ModelSection:
    """Model hyper-parameters (see AssignModel); hidden/layers must match the shift model when
    ``init_from_shifts`` is set."""

    hidden: int = 256
    layers: int = 6
    dropout: float = 0.0
    emb_dim: int = 64
    graph_dim: int = 128
    peak_hidden: int = 256
    rbf_step: float = 1.0
    ctx_layers: int = 1
    heads: int = 4


@dataclass
class TrainSection:
    """Optimisation and loss settings."""

    epochs: int = 20
    batch_size: int = 64
    lr: float = 5e-4
    weight_decay: float = 1e-5
    node_sigma_ppm: float = 1.0
    local_sigma_ppm: float = 0.3
    mult_mismatch: float = 0.01
    local_weight: float = 1.0
    graph_weight: float = 0.5
    aux_weight: float = 1.0
    init_from_shifts: str = "shifts_v1"
    seed: int = 0
    threads: int = 2
    time_budget_min: float = 18.0


@dataclass
class DataSection:
    """Data: a file in the nmrshiftdb2 JSON-lines format (relative paths: under NMRLENS_DATA_DIR)."""

    path: str = "nmrshiftdb2/molecules.jsonl.gz"
    limit: int = 0


@dataclass
class AssignTrainConfig:
    """The whole training config (one TOML table per section)."""

    model: ModelSection = field(default_factory=ModelSection)
    train: TrainSection = field(default_factory=TrainSection)
    data: DataSection = field(default_factory=DataSection)


def init_from_shift_model(model: Any, checkpoint: str) -> int:
    """Copy the encoder and 13C head of a shift-model checkpoint (name or path) into ``model``;
    returns the number of tensors copied."""
    from nmrlens.models.checkpoint import load_checkpoint, weights_path

    path = checkpoint if ("/" in checkpoint or checkpoint.endswith(".json")) else weights_path(checkpoint)
    shift_model, _ = load_checkpoint(path)
    src = shift_model.state_dict()
    own = model.state_dict()
    copied = {k: v for k, v in src.items() if (k.startswith("encoder.") or k.startswith("c13_head."))
              and k in own and own[k].shape == v.shape}
    model.load_state_dict(copied, strict=False)
    return len(copied)


def _soft_ce(logits: Any, target: Any) -> Any:
    """Cross-entropy of row-wise soft targets (rows with no target mass are skipped)."""
    import torch

    mass = target.sum(1, keepdim=True)
    ok = mass.squeeze(1) > 0
    if not ok.any():
        return logits.sum() * 0.0
    t = target[ok] / mass[ok]
    return -(t * torch.log_softmax(logits[ok], dim=1)).sum(1).mean()


def batch_loss(model: Any, batch: Sequence[Any], tc: TrainSection) -> tuple[Any, dict[str, float]]:
    """Total loss of one batch of :class:`~nmrlens.evaluate.assignment.AssignExample` and its parts."""
    import torch

    from nmrlens.models.assign import pad_peaks
    from nmrlens.nn.graph import collate_graphs

    graphs = [ex.info.graph for ex in batch]
    g = collate_graphs(graphs)
    n_hs = torch.from_numpy(np.concatenate([gr.n_hs for gr in graphs]))
    shifts, mult, mask = pad_peaks([(ex.c13_shifts, ex.c13_mult) for ex in batch])
    out = model(g, n_hs, shifts, mult, mask)
    nodes, tgt, mol_of_atom = [], [], []
    off = 0
    for k, ex in enumerate(batch):
        for node, truth in ex.c13_truth.items():
            nodes.append(off + node)
            tgt.append(float(np.mean(truth)))
            mol_of_atom.append(k)
        off += ex.info.graph.n_atoms
    idx = torch.as_tensor(nodes, dtype=torch.long)
    t_shift = torch.as_tensor(tgt, dtype=torch.float32)
    t_nh = n_hs[idx]
    atom = out.atom[idx]
    peak = out.peak[mask]
    p_shift = shifts[mask]
    p_mult = mult[mask]
    p_mol = torch.arange(len(batch)).unsqueeze(1).expand_as(mask)[mask]
    a_mol = torch.as_tensor(mol_of_atom, dtype=torch.long)
    logits = atom @ peak.T / out.tau_node
    delta = (t_shift[:, None] - p_shift[None, :]).abs()
    mult_ok = (p_mult[None, :] == 4) | (p_mult[None, :] == t_nh[:, None])
    mult_w = torch.where(mult_ok, torch.tensor(1.0), torch.tensor(tc.mult_mismatch))
    w_global = torch.exp(-delta / tc.node_sigma_ppm) * mult_w
    node = 0.5 * (_soft_ce(logits, w_global) + _soft_ce(logits.T, w_global.T))
    same = a_mol[:, None] == p_mol[None, :]
    w_local = torch.exp(-delta / tc.local_sigma_ppm) * mult_w * same
    local_logits = logits.masked_fill(~same, -1e4)
    local = 0.5 * (_soft_ce(local_logits, w_local) + _soft_ce(local_logits.T, w_local.T))
    glog = out.graph @ out.spectrum.T / out.tau_graph
    labels = torch.arange(len(batch))
    graph = 0.5 * (torch.nn.functional.cross_entropy(glog, labels) + torch.nn.functional.cross_entropy(glog.T, labels))
    aux = (out.c13[idx] - t_shift).abs().mean() / 50.0
    loss = node + tc.local_weight * local + tc.graph_weight * graph + tc.aux_weight * aux
    parts = {"node": node.item(), "local": local.item(), "graph": graph.item(), "aux_mae": aux.item() * 50}
    return loss, parts


def _val_scores(assigner: Any, examples: Sequence[Any], weights: Sequence[float]) -> dict[float, dict[str, Any]]:
    from nmrlens.evaluate.assignment import assignment_metrics, run_c13

    for ex in examples:
        ex.info.c13_mu = None
    assigner.predict([ex.info for ex in examples])
    embs = assigner.embed_spectra([(ex.c13_shifts, ex.c13_mult) for ex in examples])
    peak_embs = [e[0] for e in embs]
    return {w: assignment_metrics(examples, run_c13(assigner, examples, w, peak_embs)) for w in weights}


def select_options(assigner: Any, examples: Sequence[Any], seed: int = 0, data: Path | None = None) -> dict[str, Any]:
    """Choose the fusion weight (13C atom accuracy) and the retrieval graph weight (retrieval top-1,
    then isomer accuracy) on validation examples; returns the options dict and the val metrics."""
    from nmrlens.evaluate.assignment import zero_shot

    weights = [0.0, 0.25, 0.5, 0.65, 0.8, 0.9, 1.0]
    scores = _val_scores(assigner, examples, weights)
    best_w = max(weights, key=lambda w: (scores[w]["c13_atom_accuracy"] or 0.0, -abs(w - 0.5)))
    assigner.options.weight = best_w
    embs = assigner.embed_spectra([(ex.c13_shifts, ex.c13_mult) for ex in examples])
    pe, se = [e[0] for e in embs], [e[1] for e in embs]
    from nmrlens.evaluate.assignment import _isomer_pool

    zs = {}
    pool = _isomer_pool(data or Path("."), examples)
    grid = [(0.0, 0.0), (0.5, 0.0), (0.5, 5.0), (0.5, 20.0), (0.9, 0.0), (0.9, 5.0), (0.9, 20.0)]
    for rw, gw in grid:
        r = zero_shot(assigner, examples, data or Path("."), seed=seed, peak_embs=pe, spec_embs=se,
                      graph_weight=gw, weight=rw, isomer_pool=pool)
        zs[(rw, gw)] = r
        log.info("val zero-shot retrieval_weight=%s graph_weight=%s: %s", rw, gw, r)
    best = max(zs, key=lambda key: ((zs[key]["retrieval100.top1"] or 0) + (zs[key]["isomer.accuracy"] or 0),
                                    -key[1], -key[0]))
    assigner.options.retrieval_weight, assigner.options.graph_weight = best
    val = {f"val_w{w:g}_{k}": v for w, m in scores.items() for k, v in m.items()}
    val.update({f"val_rw{rw:g}_gw{gw:g}_{k}": v for (rw, gw), m in zs.items() for k, v in m.items()})
    return {"options": dataclasses.asdict(assigner.options), "val": val}


def train(cfg: AssignTrainConfig, out_dir: Path) -> dict[str, Any]:
    """Train, select on val, choose fusion options on val; write ``out_dir/{best.*,config.json,log.jsonl}``."""
    import torch

    from nmrlens.data.datasets import iter_nmrshiftdb2
    from nmrlens.evaluate.assignment import load_examples
    from nmrlens.models.assign import AssignModel, Assigner, AssignOptions
    from nmrlens.models.checkpoint import save_checkpoint
    from nmrlens.models.shifts import ShiftPredictor
    from nmrlens.train.schedule import BudgetSchedule

    rng = start_run(cfg, out_dir)
    tc = cfg.train
    t_start = time.time()
    examples, counts = load_examples(iter_nmrshiftdb2(resolve_data_path(cfg.data.path)),
                                     limit=cfg.data.limit or None, skip_train=False)
    with_c13 = [ex for ex in examples if ex.c13_shifts is not None and ex.c13_truth]
    train_ex = [ex for ex in with_c13 if ex.split == "train"]
    val_ex = [ex for ex in with_c13 if ex.split == "val"]
    log.info("examples: %d train, %d val (%s) in %.0f s", len(train_ex), len(val_ex), counts, time.time() - t_start)
    model = AssignModel(**dataclasses.asdict(cfg.model))
    if tc.init_from_shifts:
        log.info("initialised %d tensors from %s", init_from_shift_model(model, tc.init_from_shifts), tc.init_from_shifts)
    predictor = ShiftPredictor.load()
    opt = torch.optim.AdamW(model.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
    n_steps = tc.epochs * math.ceil(len(train_ex) / tc.batch_size)
    sched = BudgetSchedule(opt, tc.lr, n_steps, 60 * tc.time_budget_min - (time.time() - t_start))
    best = (-1.0, -1)
    for epoch in range(tc.epochs):
        model.train()
        order = list(range(len(train_ex)))
        rng.shuffle(order)
        t0, totals, count = time.time(), {}, 0
        for start in range(0, len(order), tc.batch_size):
            batch = [train_ex[i] for i in order[start:start + tc.batch_size]]
            if len(batch) < 2:
                continue
            loss, parts = batch_loss(model, batch, tc)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            sched.step()
            for k, v in parts.items():
                totals[k] = totals.get(k, 0.0) + v
            count += 1
            if sched.finished:
                break
        model.eval()
        assigner = Assigner(predictor, model, AssignOptions(weight=1.0, model_tau=model.log_tau_node.exp().item()))
        val = _val_scores(assigner, val_ex, [1.0, 0.5])
        acc = val[1.0]["c13_atom_accuracy"] or 0.0
        row = {"epoch": epoch, **{k: round(v / max(1, count), 4) for k, v in totals.items()},
               "val_model_acc": acc, "val_fused_acc": val[0.5]["c13_atom_accuracy"],
               "val_model_full": val[1.0]["fully_correct_fraction"], "tau": model.log_tau_node.exp().item(),
               "seconds": round(time.time() - t0, 1)}
        log.info("epoch %s", row)
        with open(out_dir / "log.jsonl", "a") as fh:
            fh.write(json.dumps(row) + "\n")
        if acc > best[0]:
            best = (acc, epoch)
            save_checkpoint(model, out_dir / "best", force=True, half=True, training_data={"note": "in progress"},
                            extra={"options": dataclasses.asdict(assigner.options)})
        if sched.finished:
            log.info("schedule finished after epoch %d", epoch)
            break
    return finalize(cfg, out_dir, val_ex, {"n_train": len(train_ex), "n_val": len(val_ex), "best_epoch": best[1],
                                           "train_minutes": round((time.time() - t_start) / 60, 1)})


def finalize(cfg: AssignTrainConfig, out_dir: Path, val_ex: Sequence[Any], info: dict[str, Any]) -> dict[str, Any]:
    """The last step of :func:`train`: reload ``out_dir/best``, choose the assignment options on the val
    examples (:func:`select_options`) and save the checkpoint again with them, the val metrics and the
    training-data description. Returns the options and the main val metrics."""
    from nmrlens.models.assign import Assigner, AssignOptions
    from nmrlens.models.checkpoint import load_checkpoint, save_checkpoint
    from nmrlens.models.shifts import ShiftPredictor

    from nmrlens.models.shifts import DEFAULT_CHECKPOINT as SHIFTS

    model, _ = load_checkpoint(out_dir / "best")
    assigner = Assigner(ShiftPredictor.load(), model, AssignOptions(weight=1.0, model_tau=model.log_tau_node.exp().item(),
                                                                    shifts_checkpoint=SHIFTS))
    chosen = select_options(assigner, val_ex, seed=cfg.train.seed, data=resolve_data_path(cfg.data.path))
    metrics = {**chosen["val"], "best_epoch": info.get("best_epoch"), "train_minutes": info.get("train_minutes")}
    training_data = {
        "source": str(cfg.data.path), "records": "atom-assigned nmrshiftdb2 records with a 13C spectrum",
        "split": "nmrlens.data.splits (train; model selection and assignment options on val)",
        "n_train": info.get("n_train"), "n_val": len(val_ex), "config": dataclasses.asdict(cfg),
    }
    save_checkpoint(model, out_dir / "best", force=True, half=True, training_data=training_data, metrics=metrics,
                    extra={"options": chosen["options"]})
    return {"options": chosen["options"], **{k: v for k, v in metrics.items() if "w1_" in k or "w0_" in k
                                              or k.startswith("val_rw") or k in ("best_epoch", "train_minutes")}}


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry: train with a TOML config (``section.key=value`` overrides with --set)."""
    return train_main("python -m nmrlens.train.assign", __doc__.split("\n\n")[0], AssignTrainConfig, "assign.toml",
                      train, argv)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
