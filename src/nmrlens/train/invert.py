"""Training of the invertible structure <-> 13C-code network (:class:`~nmrlens.models.invert.ReversibleNet`).

Data: the RevMolSpec table (``data.source = "revmolspec"``) or nmrshiftdb2 JSON lines
(``"nmrshiftdb2"``), split at molecule level (:mod:`nmrlens.data.invertdata`); the split of every
item is written to ``split.tsv`` in the output folder.

Loss per batch (``x`` dequantised with Gaussian noise ``loss.noise``; with ``train.augment_orders``
the structure is shown in one of several random depth-first atom orders)::

    code_loss(y, code)                                   tolerant BCE on the 128 code logits
  + prior_weight * 0.5 * mean(z_free^2)                  Gaussian prior on the free latents
                                                         (loss.learned_prior: learned diagonal Gaussian)
  + w(epoch) * plausibility_weight * (zero + binary + valence + density)   on x_gen = inverse(z~, y~)

``loss.plausibility_latents = "edit"``: ``z~`` is each structure's own free latents and ``y~`` its
code logits with the bits where its code differs from the most similar code of the batch replaced
by that structure's logits (the edit the ``bank`` sampler makes at inference); ``"gaussian"``:
``z~`` drawn from the batch's z_free mean/std, ``y~ = y`` (the peer's choice). ``w(epoch)`` ramps
from 0 to 1 over ``plausibility_warmup_epochs``. Gradients of the plausibility term reach the
network only through the inverse (``z~``, ``y~`` are detached), and their norm is limited to
``plausibility_grad_ratio`` times that of the code and prior gradients (gradients through the
inverse of the unnormalised coupling stack can be large enough to wreck training otherwise).

Model selection: best validation macro F1 of the code. Afterwards the inversion statistics are
fitted on the training set, up to ``train.bank_size`` training structures are kept (bit-packed) for
the ``bank`` sampler, the code threshold is tuned on validation (macro F1) and the sampling
temperature on validation (forward-code top-10 hit, then candidate hit, then the top-10 Tanimoto
similarity, then valid fraction),
and the test metrics are written into the checkpoint sidecar.

Run: ``python -m nmrlens.train.invert --config src/nmrlens/train/configs/invert_revmolspec.toml --out DIR``.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import logging
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from nmrlens.chem.bondmatrix import DEFAULT_ELEMENTS
from nmrlens.errors import ConfigError
from nmrlens.train.config import start_run

__all__ = ["ModelSection", "LossSection", "TrainSection", "DataSection", "InvertTrainConfig", "train", "main"]

log = logging.getLogger(__name__)


@dataclass
class ModelSection:
    """Model hyper-parameters (see ReversibleNet)."""

    layout: str = "revmolspec"
    size: int = 16
    elements: list[str] = field(default_factory=lambda: list(DEFAULT_ELEMENTS))
    atom_order: str = "canonical"
    blocks: list[int] = field(default_factory=lambda: [2, 2, 2, 2, 4])
    hidden: list[int] = field(default_factory=lambda: [16, 32, 64, 64, 128])
    kernels: list[int] = field(default_factory=list)
    permute: bool = True
    seed: int = 0
    clamp: float = 0.0
    dropout: float = 0.0
    axial: bool = False


@dataclass
class LossSection:
    """Loss weights (see the module docstring)."""

    tolerance: str = "adjacent"
    adjacent_weight: float = 0.25
    pos_weight: float = 2.0
    prior_weight: float = 0.01
    plausibility_weight: float = 1.0
    plausibility_warmup_epochs: int = 10
    zero_weight: float = 1.0
    binary_weight: float = 1.0
    valence_weight: float = 1.0
    density_weight: float = 1.0
    noise: float = 0.05
    learned_prior: bool = False
    plausibility_latents: str = "edit"
    plausibility_grad_ratio: float = 0.5


@dataclass
class TrainSection:
    """Optimisation and calibration settings."""

    epochs: int = 150
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-5
    seed: int = 0
    threads: int = 1
    time_budget_min: float = 25.0
    eval_every: int = 5
    calib_samples: int = 50
    temperatures: list[float] = field(default_factory=lambda: [0.5, 0.75, 1.0])
    half_weights: bool = False
    augment_orders: int = 0
    bank_size: int = 4096
    sampler: str = "bank"
    neighbours: int = 32
    refine_steps: int = 1
    calib_limit: int = 300
    test_limit: int = 0


@dataclass
class DataSection:
    """Data: ``source`` "revmolspec" (CSV) or "nmrshiftdb2" (JSON lines); relative paths are under NMRLENS_DATA_DIR."""

    source: str = "revmolspec"
    path: str = "revmolspec/reversibledata.csv"
    limit: int = 0


@dataclass
class InvertTrainConfig:
    """The whole training config (one TOML table per section)."""

    model: ModelSection = field(default_factory=ModelSection)
    loss: LossSection = field(default_factory=LossSection)
    train: TrainSection = field(default_factory=TrainSection)
    data: DataSection = field(default_factory=DataSection)


def _resolve_data(path: str) -> Path:
    p = Path(path)
    if not p.is_absolute() and not p.exists():
        from nmrlens.errors import DataNotFoundError

        base = os.environ.get("NMRLENS_DATA_DIR")
        if not base:
            raise DataNotFoundError("data.path: relative path needs NMRLENS_DATA_DIR set to the shared data folder")
        p = Path(base) / p
    return p


def build_model(cfg: InvertTrainConfig, bank_size: int = 0) -> Any:
    """The untrained model of a config (keeping ``bank_size`` training structures)."""
    from nmrlens.models.invert import ReversibleNet

    m = cfg.model
    return ReversibleNet(layout=m.layout, size=m.size, elements=m.elements, atom_order=m.atom_order,
                         blocks=m.blocks, hidden=m.hidden, kernels=m.kernels or None, permute=m.permute, seed=m.seed,
                         clamp=m.clamp, dropout=m.dropout, axial=m.axial, bank_size=bank_size)


def _spec(cfg: InvertTrainConfig) -> Any:
    from nmrlens.chem.bondmatrix import MatrixSpec

    m = cfg.model
    return MatrixSpec(m.layout, m.size, tuple(m.elements), m.atom_order)  # type: ignore[arg-type]


def load_split_items(cfg: InvertTrainConfig, spec: Any) -> tuple[dict[str, list[Any]], dict[str, Any]]:
    """Items by split ("train", "val", "test") and a description of what was read and skipped."""
    from nmrlens.data.invertdata import InvertBuildReport, data_kind, load_items

    path = _resolve_data(cfg.data.path)
    kind = data_kind(path)
    if kind != cfg.data.source:
        raise ConfigError(f"data.source: got {cfg.data.source!r} but {str(path)!r} is a {kind} file")
    report = InvertBuildReport()
    items = load_items(path, spec, report, limit=cfg.data.limit or None)
    by_split: dict[str, list[Any]] = {"train": [], "val": [], "test": []}
    for it in items:
        by_split[it.split].append(it)
    desc = {"source": cfg.data.source, "path": str(cfg.data.path), "rows": report.rows, "kept": report.kept,
            "skipped": report.skipped, **{f"n_{k}": len(v) for k, v in by_split.items()}}
    return by_split, desc


def _split_table(by_split: dict[str, list[Any]]) -> str:
    lines = ["id\tid_b\tinchikey_block\tsplit\tsmiles"]
    for name in ("train", "val", "test"):
        for it in by_split[name]:
            lines.append(f"{it.id}\t{'' if it.id_b is None else it.id_b}\t{it.key}\t{name}\t{it.smiles}")
    return "\n".join(lines) + "\n"


def _add_plausibility_grad(model: Any, loss: Any, ratio: float) -> None:
    """Add the gradient of the plausibility loss to the gradients already in ``model``, scaled down
    so that its norm is at most ``ratio`` times theirs (0: no limit). Gradients through the inverse
    of an unnormalised coupling stack can be large; bounding them keeps the code loss in charge."""
    import torch

    params = [p for p in model.parameters() if p.requires_grad]
    main = [p.grad.detach().clone() if p.grad is not None else torch.zeros_like(p) for p in params]
    grads = torch.autograd.grad(loss, params, allow_unused=True)
    extra = [g if g is not None else torch.zeros_like(p) for g, p in zip(grads, params)]
    if ratio > 0:
        n_main = torch.sqrt(sum((g ** 2).sum() for g in main))
        n_extra = torch.sqrt(sum((g ** 2).sum() for g in extra))
        if not bool(torch.isfinite(n_extra)):
            return
        scale = min(1.0, float(ratio * n_main / n_extra.clamp(min=1e-12)))
    else:
        scale = 1.0
    for p, g0, g1 in zip(params, main, extra):
        p.grad = g0 + scale * g1


def _code_partners(codes: Any) -> Any:
    """For each code of a batch, the index of the most similar other code (overlap of the codes
    widened by one window; ties to the lowest index)."""
    import torch

    on = codes > 0.5
    wide = on.clone()
    wide[:, 1:] |= on[:, :-1]
    wide[:, :-1] |= on[:, 1:]
    inter = (on.float() @ wide.float().T) + (wide.float() @ on.float().T)
    union = on.sum(1, keepdim=True) + on.sum(1)
    sim = inter / union.clamp(min=1)
    sim.fill_diagonal_(-1.0)
    return sim.argmax(1)


def _tensors(items: Sequence[Any]) -> tuple[Any, Any]:
    import torch

    x = torch.from_numpy(np.stack([it.x for it in items]).astype(np.float32))
    c = torch.from_numpy(np.stack([it.code for it in items]).astype(np.float32))
    return x, c


def _val_f1(model: Any, x: Any, c: Any, threshold: float = 0.0) -> float:
    import torch

    from nmrlens.evaluate.inn import macro_f1

    model.eval()
    with torch.no_grad():
        ys = [model(x[s:s + 512])[1] for s in range(0, len(x), 512)]
    y = torch.cat(ys).numpy()
    return macro_f1(y > threshold, c.numpy())


def _tune_threshold(model: Any, x: Any, c: Any) -> float:
    import torch

    from nmrlens.evaluate.inn import macro_f1

    with torch.no_grad():
        y = torch.cat([model(x[s:s + 512])[1] for s in range(0, len(x), 512)]).numpy()
    grid = np.round(np.arange(-3.0, 3.01, 0.25), 2)
    scores = [macro_f1(y > t, c.numpy()) for t in grid]
    return float(grid[int(np.nanargmax(scores))])


def train(cfg: InvertTrainConfig, out_dir: Path, config_file: str | None = None) -> dict[str, Any]:
    """Train, select on val, calibrate, test; write ``out_dir/{best.safetensors,best.json,config.json,log.jsonl,split.tsv}``.

    ``config_file`` (the TOML path, if any) is recorded in the checkpoint sidecar."""
    import torch

    from nmrlens.evaluate.inn import forward_metrics, inversion_metrics
    from nmrlens.models.checkpoint import load_checkpoint, save_checkpoint
    from nmrlens.models.invert import InversePredictor, code_loss, plausibility_terms

    rng = start_run(cfg, out_dir)
    tc, lc = cfg.train, cfg.loss
    np.random.seed(tc.seed)
    t_start = time.time()
    by_split, data_desc = load_split_items(cfg, _spec(cfg))
    model = build_model(cfg, bank_size=min(tc.bank_size, len(by_split["train"])))
    split_text = _split_table(by_split)
    (out_dir / "split.tsv").write_text(split_text)
    log.info("data: %s (%.0f s)", {k: v for k, v in data_desc.items() if k != "skipped"}, time.time() - t_start)
    if not by_split["train"] or not by_split["val"]:
        raise ConfigError("data: the train and val splits must not be empty")
    x_tr, c_tr = _tensors(by_split["train"])
    x_va, c_va = _tensors(by_split["val"])
    x_aug = None
    if tc.augment_orders > 0:
        from nmrlens.data.invertdata import add_order_augmentation

        t_aug = time.time()
        add_order_augmentation(by_split["train"], model.spec, tc.augment_orders, seed=tc.seed)
        x_aug = torch.from_numpy(np.stack([it.x_aug for it in by_split["train"]]))  # (N, k, C, S, S) uint8
        for it in by_split["train"]:
            it.x_aug = None
        log.info("augmentation: %d random depth-first orders per molecule (%.0f s)", tc.augment_orders, time.time() - t_aug)
    log.info("model: %d parameters, tensor %s, %d free latents", model.n_parameters(), model.spec.shape, model.z_free_dim)
    opt = torch.optim.AdamW(model.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
    steps_per_epoch = math.ceil(len(x_tr) / tc.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=tc.lr, total_steps=max(1, tc.epochs * steps_per_epoch),
                                                pct_start=0.05)
    best = (-1.0, -1)
    deadline = t_start + 60 * tc.time_budget_min
    for epoch in range(tc.epochs):
        model.train()
        order = list(range(len(x_tr)))
        rng.shuffle(order)
        t0 = time.time()
        sums: dict[str, float] = {}
        w_plaus = lc.plausibility_weight * min(1.0, (epoch + 1) / max(1, lc.plausibility_warmup_epochs))
        for start in range(0, len(order), tc.batch_size):
            idx = torch.tensor(order[start:start + tc.batch_size])
            xb, cb = x_tr[idx], c_tr[idx]
            if x_aug is not None:
                pick = torch.randint(0, x_aug.shape[1] + 1, (len(idx),))
                use = pick > 0
                if bool(use.any()):
                    xb = xb.clone()
                    xb[use] = x_aug[idx[use], pick[use] - 1].to(xb.dtype)
            xn = xb + lc.noise * torch.randn_like(xb) if lc.noise > 0 else xb
            z, y = model(xn)
            l_code = code_loss(y, cb, tolerance=lc.tolerance, adjacent_weight=lc.adjacent_weight, pos_weight=lc.pos_weight)
            l_prior = model.prior_nll(z) if lc.learned_prior else 0.5 * (z ** 2).mean()
            loss = l_code + lc.prior_weight * l_prior
            terms = {"code": l_code.item(), "prior": l_prior.item()}
            if w_plaus > 0:
                if lc.plausibility_latents == "edit":
                    partner = _code_partners(cb)
                    same = cb == cb[partner]
                    y_edit = torch.where(same, y, y[partner]).detach()
                    x_gen = model.inverse(z.detach(), y_edit)
                    x_ref = xb[partner]
                else:
                    if lc.learned_prior:
                        z_s = model.prior_sample(len(idx)).detach()
                    else:
                        zd = z.detach()
                        z_s = zd.mean(0) + zd.std(0) * torch.randn_like(zd)
                    x_gen = model.inverse(z_s, y.detach())
                    x_ref = xb
                pt = plausibility_terms(model, x_gen, x_ref)
                l_plaus = (lc.zero_weight * pt["zero"] + lc.binary_weight * pt["binary"]
                           + lc.valence_weight * pt["valence"] + lc.density_weight * pt["density"])
                terms.update({k: v.item() for k, v in pt.items()})
            else:
                l_plaus = None
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if l_plaus is not None and bool(torch.isfinite(l_plaus)):
                _add_plausibility_grad(model, w_plaus * l_plaus, lc.plausibility_grad_ratio)
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            if sched.last_epoch < sched.total_steps - 1:
                sched.step()
            for k, v in terms.items():
                sums[k] = sums.get(k, 0.0) + v * len(idx)
        row: dict[str, Any] = {"epoch": epoch, **{k: round(v / len(order), 5) for k, v in sums.items()},
                               "seconds": round(time.time() - t0, 1)}
        last = epoch == tc.epochs - 1 or time.time() > deadline
        if (epoch + 1) % tc.eval_every == 0 or last:
            f1 = _val_f1(model, x_va, c_va)
            row["val_macro_f1"] = round(f1, 4)
            if f1 > best[0]:
                best = (f1, epoch)
                save_checkpoint(model, out_dir / "best", force=True, training_data={"note": "in progress"})
        log.info("epoch %s", row)
        with open(out_dir / "log.jsonl", "a") as fh:
            fh.write(json.dumps(row) + "\n")
        if time.time() > deadline:
            log.warning("time budget of %.0f min reached after epoch %d", tc.time_budget_min, epoch)
            break
    model, _ = load_checkpoint(out_dir / "best")
    model.fit_statistics(x_tr, c_tr)
    if model.bank_x.shape[0]:
        keep = torch.randperm(len(x_tr), generator=torch.Generator().manual_seed(tc.seed))[: model.bank_x.shape[0]]
        model.set_bank(x_tr[keep], c_tr[keep])
    model.code_threshold.fill_(_tune_threshold(model, x_va, c_va))
    inference = {"shift_code_weight": 10.0, "refine_steps": tc.refine_steps, "sampler": tc.sampler,
                 "neighbours": tc.neighbours}
    predictor = InversePredictor(model, {"extra": inference})
    calib = []
    for t in tc.temperatures:
        r = inversion_metrics(predictor, by_split["val"][: tc.calib_limit or None], n_samples=tc.calib_samples,
                              seed=tc.seed, temperature=t, use_shift_model=False)
        calib.append({"temperature": t, **{k: r[k] for k in ("top10_hit_forward_code", "candidate_hit",
                                                                 "top10_max_tanimoto", "valid_fraction")}})
        log.info("calibration %s", calib[-1])
    pick = max(calib, key=lambda r: (r["top10_hit_forward_code"], r["candidate_hit"], r["top10_max_tanimoto"] or 0.0,
                                     r["valid_fraction"]))
    model.sample_temperature.fill_(pick["temperature"])
    metrics: dict[str, Any] = {}
    if by_split["test"]:
        fwd = forward_metrics(predictor, by_split["test"], seed=tc.seed)
        inv = inversion_metrics(predictor, by_split["test"][: tc.test_limit or None], seed=tc.seed)
        metrics.update({f"test_{k}": v for k, v in {**fwd, **inv}.items()})
    metrics.update({"val_macro_f1": _val_f1(model, x_va, c_va, float(model.code_threshold)), "best_epoch": best[1],
                    "code_threshold": float(model.code_threshold), "sample_temperature": pick["temperature"],
                    "n_parameters": model.n_parameters(), "train_minutes": round((time.time() - t_start) / 60, 1)})
    training_data = {
        **data_desc,
        "split": "molecule level: nmrlens.data.splits.split_of_block(InChIKey block of the structure) for table rows, "
                 "split_of_record for nmrshiftdb2 records; per-item list in split.tsv",
        "split_sha256": hashlib.sha256(split_text.encode()).hexdigest(),
        "test_ids": [it.id for it in by_split["test"]] if cfg.data.source == "revmolspec" else None,
        "calibration": calib,
        "config": dataclasses.asdict(cfg),
        "config_file": config_file,
    }
    if tc.half_weights:
        model.half()
    save_checkpoint(model, out_dir / "best", force=True, training_data=training_data, metrics=metrics,
                    extra=inference)
    return metrics


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry: train with a TOML config (``section.key=value`` overrides)."""
    from nmrlens.train.config import configs_dir, load_config

    ap = argparse.ArgumentParser(prog="python -m nmrlens.train.invert", description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", default=str(configs_dir() / "invert_revmolspec.toml"))
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--set", nargs="*", default=[], metavar="SECTION.KEY=VALUE")
    args = ap.parse_args(argv)
    overrides = {}
    for item in args.set:
        key, _, value = item.partition("=")
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key] = value
    cfg = load_config(InvertTrainConfig, args.config, overrides)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    metrics = train(cfg, args.out, config_file=str(args.config))
    print(json.dumps(metrics, indent=2))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
