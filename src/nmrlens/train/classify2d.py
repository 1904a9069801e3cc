"""Training of the spectrum-image classifier (:class:`~nmrlens.models.classify2d.SpectrumCNN`).

Tasks (``[data] task``):

- ``simulated``: substructures (fatty acid chain / indole / steroid; multilabel) on HSQC + HMBC
  images rendered from simulated peak lists of nmrshiftdb2 records (assigned shifts, else the shift
  model's predictions); molecule-level split (train / val / test) by InChIKey block. The result
  initialises the substructure model and is the model scored by the explanation benchmark.
- ``substructure``: the peer's substructuresnmr images (all deduplicated single compounds; the
  ``none`` compounds as all-negative samples when ``[data] use_unrelated``), optionally initialised
  from a checkpoint (``[model] init``). Cross-validated numbers come from ``nmrlens evaluate``.
- ``superclass`` (or ``class``): ClassyFire level of bmrb2d images; train split for training, val for
  model selection, test (unseen compounds) for the reported metrics. Classes with fewer than
  ``[data] min_class_compounds`` training compounds are merged into "Other".

Augmentation (all tasks): random translations (``max_shift`` pixels), random zoom (``max_scale``: the
unknown ppm windows of the BMRB images), random intensity scaling,
mixtures (``mixture_prob``: a sample is overlaid, by pixel maximum, with 1-3 others and its
multilabel target becomes the union; multilabel tasks only) and branch dropout (``branch_dropout``:
one experiment hidden, so the model also works with HSQC or HMBC alone).

Run: ``python -m nmrlens.train.classify2d --config src/nmrlens/train/configs/classify2d_substructure.toml --out DIR``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, NamedTuple, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from nmrlens.data.images2d import ImageSample
from nmrlens.errors import ConfigError, DataNotFoundError
from nmrlens.models.classify2d import SUBSTRUCTURE_CLASSES, SpectrumCNN

__all__ = ["ModelSection", "DataSection", "TrainSection", "Classify2DConfig", "TensorData", "to_tensors", "augment",
           "fit", "predict_proba", "val_score", "average_precision", "roc_auc", "SELECT_SCORES", "build_model", "train",
           "main", "OTHER", "bmrb2d_split"]

log = logging.getLogger(__name__)
#: Label of the merged rare classes.
OTHER = "Other"


@dataclass
class ModelSection:
    """Model hyper-parameters (see SpectrumCNN); ``init``: checkpoint to start from ("" = random)."""

    branches: list[str] = field(default_factory=lambda: ["HSQC", "HMBC"])
    channels: list[int] = field(default_factory=lambda: [16, 32, 48, 64])
    coord: bool = True
    head_hidden: int = 64
    dropout: float = 0.2
    image_h: int = 96
    image_w: int = 128
    readout: str = "pool"
    init: str = ""


@dataclass
class DataSection:
    """Data. Relative paths are under NMRLENS_DATA_DIR."""

    task: str = "substructure"
    path: str = ""
    use_unrelated: bool = True
    level: str = "superclass"
    min_class_compounds: int = 8
    pairs: bool = True
    sim_records: str = "nmrshiftdb2/molecules.jsonl.gz"
    sim_negatives_per_mille: int = 60
    sim_renders: int = 2
    sim_limit: int = 0
    shift_checkpoint: str = ""
    exclude_benchmark: bool = True
    sim_pool: int = 0
    real_pool: int = 0


@dataclass
class TrainSection:
    """Optimisation and augmentation."""

    epochs: int = 60
    batch_size: int = 32
    lr: float = 2e-3
    weight_decay: float = 1e-4
    seed: int = 0
    threads: int = 2
    max_shift: int = 3
    max_scale: float = 0.0
    intensity_jitter: float = 0.3
    mixture_prob: float = 0.3
    negative_mix_prob: float = 0.0
    branch_dropout: float = 0.0
    label_smoothing: float = 0.0
    balance: bool = False
    select: str = "exact_match"
    time_budget_min: float = 25.0


@dataclass
class Classify2DConfig:
    """The whole training config (one TOML table per section)."""

    model: ModelSection = field(default_factory=ModelSection)
    data: DataSection = field(default_factory=DataSection)
    train: TrainSection = field(default_factory=TrainSection)


class TensorData(NamedTuple):
    """Images (N, n_branches, H, W), presence mask (N, n_branches), targets: multi-hot (N, K) float or
    class indices (N,) long."""

    x: torch.Tensor
    present: torch.Tensor
    y: torch.Tensor

    def subset(self, idx: Any) -> "TensorData":
        """Rows ``idx`` (indices or a boolean mask)."""
        idx = torch.as_tensor(idx)
        return TensorData(self.x[idx], self.present[idx], self.y[idx])

    def __len__(self) -> int:
        return int(self.x.shape[0])


def to_tensors(samples: Sequence[ImageSample], branches: Sequence[str], classes: Sequence[str], multilabel: bool,
               size: Sequence[int], half: bool = False) -> TensorData:
    """Stack samples into tensors. Multilabel targets: a label "a+b" sets a and b; "none" sets nothing;
    single-label: a label not in ``classes`` maps to :data:`OTHER` when that is a class. ``half``:
    store the images as float16 (half the memory; batches are cast to float32)."""
    n, b = len(samples), len(branches)
    h, w = int(size[0]), int(size[1])
    x = np.zeros((n, b, h, w), dtype=np.float32)
    present = np.zeros((n, b), dtype=np.float32)
    cls_index = {c: i for i, c in enumerate(classes)}
    y = np.zeros((n, len(classes)), dtype=np.float32) if multilabel else np.zeros(n, dtype=np.int64)
    for i, s in enumerate(samples):
        for j, br in enumerate(branches):
            img = s.images.get(br)
            if img is not None:
                if img.shape != (h, w):
                    raise ConfigError(f"image size: sample {s.key!r} has {img.shape}, the model expects {(h, w)}")
                x[i, j] = img
                present[i, j] = 1.0
        if multilabel:
            for part in s.label.split("+"):
                if part in cls_index:
                    y[i, cls_index[part]] = 1.0
        else:
            label = s.label if s.label in cls_index else OTHER
            if label not in cls_index:
                raise ConfigError(f"label: {s.label!r} of {s.key!r} is not one of the model's classes")
            y[i] = cls_index[label]
    xt = torch.from_numpy(x)
    return TensorData(xt.half() if half else xt, torch.from_numpy(present), torch.from_numpy(y))


def _shift(x: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """Translate (C, H, W) by whole pixels with zero fill."""
    out = torch.zeros_like(x)
    h, w = x.shape[-2:]
    ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    out[..., yd, xd] = x[..., ys, xs]
    return out


def _rescale(x: torch.Tensor, sy: float, sx: float) -> torch.Tensor:
    """Zoom (C, H, W) by factors (sy, sx) about the top-left corner, keeping the size: zooming out uses
    block maxima (a peak never disappears), zooming in nearest-neighbour sampling; zero fill."""
    h, w = x.shape[-2:]
    nh, nw = max(1, round(h * sy)), max(1, round(w * sx))
    if nh <= h and nw <= w:
        small = F.adaptive_max_pool2d(x[None], (nh, nw))[0]
        out = torch.zeros_like(x)
        out[..., :nh, :nw] = small
        return out
    big = F.interpolate(x[None], size=(nh, nw), mode="nearest")[0]
    out = torch.zeros_like(x)
    hh, ww = min(h, nh), min(w, nw)
    out[..., :hh, :ww] = big[..., :hh, :ww]
    return out


def augment(batch: TensorData, gen: torch.Generator, cfg: TrainSection, multilabel: bool,
            pool: TensorData | None = None, negatives: TensorData | None = None) -> TensorData:
    """Random translations, intensity jitter, mixtures and branch dropout. Returns a new batch.

    Mixtures (multilabel only): with ``mixture_prob`` a sample is overlaid (pixel maximum) with 1-3
    partners from ``pool`` (default the batch) and takes the union of their labels; with
    ``negative_mix_prob`` it is overlaid with 1-3 unrelated spectra from ``negatives`` (labels kept).
    """
    x, present, y = batch.x.float(), batch.present.clone(), batch.y.clone()
    if x.data_ptr() == batch.x.data_ptr():
        x = x.clone()
    n, nb = x.shape[:2]
    pool = pool if pool is not None else batch
    if multilabel and cfg.mixture_prob > 0 and len(pool) > 0:
        mix = torch.rand(n, generator=gen) < cfg.mixture_prob
        for i in torch.nonzero(mix).flatten().tolist():
            k = int(torch.randint(1, 4, (1,), generator=gen))
            for j in torch.randint(0, len(pool), (k,), generator=gen).tolist():
                both = present[i] * pool.present[j]
                x[i] = torch.where(both[:, None, None] > 0, torch.maximum(x[i], pool.x[j].float()), x[i])
                y[i] = torch.maximum(y[i], pool.y[j])
    if multilabel and cfg.negative_mix_prob > 0 and negatives is not None and len(negatives):
        mix = torch.rand(n, generator=gen) < cfg.negative_mix_prob
        for i in torch.nonzero(mix).flatten().tolist():
            k = int(torch.randint(1, 4, (1,), generator=gen))
            for j in torch.randint(0, len(negatives), (k,), generator=gen).tolist():
                both = present[i] * negatives.present[j]
                x[i] = torch.where(both[:, None, None] > 0, torch.maximum(x[i], negatives.x[j].float()), x[i])
    if cfg.max_scale > 0:
        scales = torch.empty(n, 2).uniform_(1 - cfg.max_scale, 1 + cfg.max_scale, generator=gen).tolist()
        for i, (sy, sx) in enumerate(scales):
            x[i] = _rescale(x[i], sy, sx)
    if cfg.max_shift > 0:
        s = cfg.max_shift
        shifts = torch.randint(-s, s + 1, (n, 2), generator=gen).tolist()
        for i, (dy, dx) in enumerate(shifts):
            if dy or dx:
                x[i] = _shift(x[i], dy, dx)
    if cfg.intensity_jitter > 0:
        gamma = torch.exp(torch.empty(n, nb, 1, 1).uniform_(-cfg.intensity_jitter, cfg.intensity_jitter, generator=gen))
        x = x.clamp(min=0).pow(gamma)
    if cfg.branch_dropout > 0 and nb > 1:
        drop = (torch.rand(n, generator=gen) < cfg.branch_dropout) & (present.sum(1) > 1)
        for i in torch.nonzero(drop).flatten().tolist():
            j = int(torch.randint(0, nb, (1,), generator=gen))
            present[i, j] = 0.0
            x[i, j] = 0.0
    return TensorData(x, present, y)


def _loss(model: SpectrumCNN, logits: torch.Tensor, y: torch.Tensor, smoothing: float,
          weight: torch.Tensor | None = None) -> torch.Tensor:
    if model.multilabel:
        target = y * (1 - smoothing) + 0.5 * smoothing if smoothing > 0 else y
        return F.binary_cross_entropy_with_logits(logits, target, pos_weight=weight)
    return F.cross_entropy(logits, y, weight=weight, label_smoothing=smoothing)


def class_weights(model: SpectrumCNN, data: TensorData) -> torch.Tensor:
    """Loss weights against class imbalance, sqrt of the inverse frequency clipped to 1..10: multilabel:
    ``pos_weight = sqrt(negatives / positives)`` per class; single-label: ``sqrt(max count / count)``."""
    k = len(model.classes)
    if model.multilabel:
        pos = data.y.sum(0).clamp(min=1.0)
        return ((len(data) - pos).clamp(min=1.0) / pos).sqrt().clamp(1.0, 10.0)
    counts = torch.bincount(data.y, minlength=k).float().clamp(min=1.0)
    return (counts.max() / counts).sqrt().clamp(1.0, 10.0)


@torch.no_grad()
def predict_proba(model: SpectrumCNN, data: TensorData | tuple[torch.Tensor, torch.Tensor],
                  batch_size: int = 256) -> np.ndarray:
    """Class probabilities (N, K) in eval mode."""
    x, present = data[0], data[1]
    model.eval()
    out = [model.probabilities(model(x[i:i + batch_size].float(), present[i:i + batch_size]))
           for i in range(0, x.shape[0], batch_size)]
    return torch.cat(out).numpy() if out else np.zeros((0, len(model.classes)), dtype=np.float32)


def accuracy(model: SpectrumCNN, data: TensorData) -> float:
    """Fraction of samples whose most probable class is the (first) true class."""
    if len(data) == 0:
        return float("nan")
    pred = predict_proba(model, data).argmax(1)
    true = data.y.argmax(1).numpy() if model.multilabel else data.y.numpy()
    return float((pred == true).mean())


def average_precision(y: np.ndarray, p: np.ndarray) -> float:
    """Average precision (area under the precision-recall curve, step-wise) of scores ``p`` for the
    binary labels ``y``; NaN without positives."""
    y = np.asarray(y) > 0.5
    if not y.any():
        return float("nan")
    order = np.argsort(-np.asarray(p, dtype=np.float64), kind="stable")
    hits = y[order]
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float(precision[hits].mean())


def roc_auc(y: np.ndarray, p: np.ndarray) -> float:
    """Area under the ROC curve (ties count half) of scores ``p`` for binary labels ``y``; NaN when a
    class is missing."""
    from scipy.stats import rankdata

    y = np.asarray(y) > 0.5
    n1, n0 = int(y.sum()), int((~y).sum())
    if n1 == 0 or n0 == 0:
        return float("nan")
    r = rankdata(np.asarray(p, dtype=np.float64))
    return float((r[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


#: Model-selection scores of :func:`val_score` (``[train] select``).
SELECT_SCORES: tuple[str, ...] = ("exact_match", "macro_ap")


def val_score(model: SpectrumCNN, data: TensorData, select: str = "exact_match") -> float:
    """Model-selection score. Multilabel models: ``exact_match`` = exact match of the thresholded (0.5)
    label set (negatives count), ``macro_ap`` = mean per-class average precision (threshold-free, not
    dominated by the many negatives of rare classes). Single-label models: accuracy."""
    if select not in SELECT_SCORES:
        raise ConfigError(f"train.select: got {select!r}, expected one of {', '.join(SELECT_SCORES)}")
    if not model.multilabel:
        return accuracy(model, data)
    if len(data) == 0:
        return float("nan")
    probs = predict_proba(model, data)
    y = data.y.numpy() > 0.5
    if select == "macro_ap":
        aps = [average_precision(y[:, k], probs[:, k]) for k in range(y.shape[1]) if y[:, k].any()]
        return float(np.mean(aps)) if aps else float("nan")
    return float(((probs >= 0.5) == y).all(1).mean())


def fit(model: SpectrumCNN, data: TensorData, cfg: TrainSection, *, val: TensorData | None = None,
        pool: TensorData | None = None, on_epoch: Callable[[dict[str, Any]], None] | None = None,
        sampler: Callable[[int, torch.Generator], TensorData] | None = None,
        negatives: TensorData | None = None) -> dict[str, Any]:
    """Train ``model`` in place (AdamW, cosine learning rate, augmentation of :func:`augment`).

    ``sampler(epoch, gen)`` may replace ``data`` per epoch (e.g. a fresh render of simulated spectra).
    With ``val``, the state with the best validation accuracy is restored at the end.
    Returns a small history dict.
    """
    gen = torch.Generator().manual_seed(int(cfg.seed))
    torch.manual_seed(int(cfg.seed))
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = max(1, math.ceil(len(data) / cfg.batch_size))
    total = max(1, cfg.epochs * steps_per_epoch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=total, pct_start=0.15)
    best = (-1.0, None, -1)
    weight = class_weights(model, data) if cfg.balance else None
    t0 = time.perf_counter()
    step = 0
    history: dict[str, Any] = {"epochs": 0}
    for epoch in range(cfg.epochs):
        d = sampler(epoch, gen) if sampler is not None else data
        model.train()
        perm = torch.randperm(len(d), generator=gen)
        losses = []
        for i in range(0, len(d), cfg.batch_size):
            if step >= total:
                break
            idx = perm[i:i + cfg.batch_size]
            if len(idx) < 2 and len(d) > 1:
                continue
            batch = augment(d.subset(idx), gen, cfg, model.multilabel, pool if pool is not None else d, negatives)
            loss = _loss(model, model(batch.x, batch.present), batch.y, cfg.label_smoothing, weight)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            losses.append(loss.item())
        rec: dict[str, Any] = {"epoch": epoch + 1, "loss": float(np.mean(losses)) if losses else None,
                               "seconds": round(time.perf_counter() - t0, 1)}
        if val is not None and len(val):
            acc = val_score(model, val, cfg.select)
            rec["val_score"] = acc
            if acc > best[0]:
                best = (acc, {k: v.detach().clone() for k, v in model.state_dict().items()}, epoch + 1)
        history["epochs"] = epoch + 1
        if on_epoch is not None:
            on_epoch(rec)
        if cfg.time_budget_min > 0 and time.perf_counter() - t0 > 60 * cfg.time_budget_min:
            log.warning("time budget of %.1f min reached after %d epochs", cfg.time_budget_min, epoch + 1)
            break
    if best[1] is not None:
        model.load_state_dict(best[1])
        history.update(best_val_score=best[0], best_epoch=best[2])
    model.eval()
    return history


def build_model(cfg: ModelSection, classes: Sequence[str], multilabel: bool, task: str) -> SpectrumCNN:
    """A SpectrumCNN from the model section; with ``init``, weights are copied from that checkpoint
    where names and shapes match (e.g. the encoders of the simulated-spectra model)."""
    model = SpectrumCNN(classes=list(classes), branches=list(cfg.branches), multilabel=multilabel,
                        image_size=[cfg.image_h, cfg.image_w], channels=list(cfg.channels), coord=cfg.coord,
                        head_hidden=cfg.head_hidden, dropout=cfg.dropout, task=task, readout=cfg.readout)
    if cfg.init:
        from nmrlens.models.classify2d import SpectrumClassifier

        src = SpectrumClassifier.load(cfg.init).model
        own = model.state_dict()
        # encoders are matched by experiment name (the HMBC encoder initialises the HMBC branch)
        rename = {f"encoders.{src.branches.index(b)}.": f"encoders.{i}." for i, b in enumerate(model.branches)
                  if b in src.branches}
        copied = 0
        for name, tensor in src.state_dict().items():
            if name.startswith("encoders."):
                prefix = ".".join(name.split(".")[:2]) + "."
                if prefix not in rename:
                    continue
                name = rename[prefix] + name[len(prefix):]
            if name in own and own[name].shape == tensor.shape:
                own[name] = tensor.clone()
                copied += 1
        model.load_state_dict(own)
        log.info("initialised %d of %d tensors from %s", copied, len(own), cfg.init)
    return model


def resolve_data(path: str, default: str) -> Path:
    """A data path: absolute/existing as given, else relative to NMRLENS_DATA_DIR (default: ``default``)."""
    p = Path(path or default)
    if not p.is_absolute() and not p.exists():
        base = os.environ.get("NMRLENS_DATA_DIR")
        if not base:
            raise DataNotFoundError("data.path: a relative path needs NMRLENS_DATA_DIR set to the shared data folder")
        p = Path(base) / p
    if not p.exists():
        raise DataNotFoundError(f"data.path: {str(p)!r} does not exist")
    return p


def benchmark_blocks(data_root: Path | None) -> set[str]:
    """InChIKey blocks of the substructuresnmr compounds (via bmrb2d's BMRB id -> InChIKey map), and the
    bmrb2d val/test compounds: kept out of the simulated training data."""
    from nmrlens.data.datasets import load_bmrb2d_index, load_substructuresnmr_index
    from nmrlens.data.splits import split_of_inchikey

    blocks: set[str] = set()
    try:
        rows = load_bmrb2d_index(data_root)
        sub = load_substructuresnmr_index(data_root)
    except DataNotFoundError:
        return blocks
    by_bmse = {r["bmse"]: r["inchikey"] for r in rows if r.get("inchikey")}
    for r in sub:
        for c in r["components"]:
            if c in by_bmse:
                blocks.add(by_bmse[c][:14])
    for r in rows:
        if r.get("inchikey") and split_of_inchikey(r["inchikey"]) != "train":
            blocks.add(r["inchikey"][:14])
    return blocks


def simulated_samples(cfg: DataSection, limit: int | None = None) -> list[Any]:
    """Simulated spectra (:class:`~nmrlens.data.images2d.SimSample`) of the configured records."""
    from nmrlens.data.datasets import iter_nmrshiftdb2
    from nmrlens.data.images2d import iter_simulated

    predictor = None
    try:
        from nmrlens.models.shifts import ShiftPredictor

        predictor = ShiftPredictor.load(cfg.shift_checkpoint or None)
    except (DataNotFoundError, ConfigError, OSError) as exc:
        log.warning("no shift model (%s): only atom-assigned records are simulated", exc)
    records = iter_nmrshiftdb2(resolve_data(cfg.sim_records, "nmrshiftdb2/molecules.jsonl.gz"))
    root = Path(os.environ["NMRLENS_DATA_DIR"]) if os.environ.get("NMRLENS_DATA_DIR") else None
    exclude = benchmark_blocks(root) if cfg.exclude_benchmark else set()
    out = []
    for s in iter_simulated(records, predictor=predictor, negatives_per_mille=cfg.sim_negatives_per_mille,
                            exclude_blocks=exclude):
        out.append(s)
        if limit and len(out) >= limit:
            break
    return out


def negative_pool(cfg: DataSection, size: Sequence[int], branches: Sequence[str], seed: int = 0) -> TensorData | None:
    """Unrelated (no-substructure) spectra as mixture partners: ``cfg.sim_pool`` rendered simulated spectra
    of train-split nmrshiftdb2 compounds and ``cfg.real_pool`` experimental bmrb2d compounds
    (:func:`real_negatives`). None when both are 0 or no data is available."""
    parts: list[ImageSample] = []
    root = Path(os.environ["NMRLENS_DATA_DIR"]) if os.environ.get("NMRLENS_DATA_DIR") else None
    if cfg.sim_pool > 0:
        parts += _simulated_negatives(cfg, size, seed, root)
    if cfg.real_pool > 0:
        parts += real_negatives(cfg.real_pool, size, root, seed)
    if not parts:
        return None
    return to_tensors(parts, branches, list(SUBSTRUCTURE_CLASSES), True, size)


def _simulated_negatives(cfg: DataSection, size: Sequence[int], seed: int, root: Path | None) -> list[ImageSample]:
    from nmrlens.data.datasets import iter_nmrshiftdb2
    from nmrlens.data.images2d import iter_simulated

    try:
        records = iter_nmrshiftdb2(resolve_data(cfg.sim_records, "nmrshiftdb2/molecules.jsonl.gz"))
        from nmrlens.models.shifts import ShiftPredictor

        predictor = ShiftPredictor.load(cfg.shift_checkpoint or None)
    except (DataNotFoundError, ConfigError, OSError) as exc:
        log.warning("no simulated mixture partners (%s)", exc)
        return []
    sims = []
    for s in iter_simulated(records, predictor=predictor, splits=("train",), negatives_per_mille=20,
                            exclude_blocks=benchmark_blocks(root)):
        if not s.labels:
            sims.append(s)
            if len(sims) >= cfg.sim_pool:
                break
    return render_samples(sims, size, seed)


def real_negatives(n: int, size: Sequence[int], data_root: Path | None, seed: int = 0) -> list[ImageSample]:
    """Up to ``n`` experimental bmrb2d compounds (HSQC and/or HMBC image, joined per BMRB entry) whose
    molecule has none of the substructures (:data:`~nmrlens.spectra.simulate2d.SUBSTRUCTURE_SMARTS`), a
    seeded random subset; compounds of the substructuresnmr benchmark (its classes, its unrelated mixture
    partners and mixtures) and bmrb2d val/test compounds are excluded (:func:`benchmark_blocks`)."""
    from rdkit import Chem

    from nmrlens.data.images2d import load_bmrb2d_images
    from nmrlens.spectra.simulate2d import substructure_labels

    blocks = benchmark_blocks(data_root)

    def keep(r: Any) -> bool:
        if not r.get("inchikey") or r["inchikey"][:14] in blocks:
            return False
        mol = Chem.MolFromSmiles(r.get("smiles") or "")
        return mol is not None and not any(substructure_labels(mol).values())

    try:
        images = load_bmrb2d_images(data_root, size, keep=keep)
    except DataNotFoundError as exc:
        log.warning("no experimental mixture partners (%s)", exc)
        return []
    by_entry: dict[str, ImageSample] = {}
    for s in images:
        entry = str(s.meta.get("bmse") or s.key)
        t = by_entry.setdefault(entry, ImageSample(entry, s.group, {"HSQC": None, "HMBC": None}, "none", {"files": []}))
        exp = s.meta["experiment"]
        if t.images.get(exp) is None:
            t.images[exp] = s.images[exp]
            t.meta["files"].append(s.key)
    entries = sorted(by_entry)
    rng = np.random.default_rng(seed)
    chosen = sorted(rng.choice(len(entries), size=min(n, len(entries)), replace=False).tolist()) if entries else []
    return [by_entry[entries[i]] for i in chosen]


def render_samples(sims: Sequence[Any], size: Sequence[int], seed: int, mixtures: Sequence[Sequence[int]] = ()) -> list[ImageSample]:
    """Render simulated spectra (HSQC + HMBC, random style) into ImageSamples (label "a+b" / "none")."""
    from nmrlens.data.images2d import render_sim

    rng = np.random.default_rng(seed)
    out = []
    for s in sims:
        images = {"HSQC": render_sim(s.hsqc, size, rng), "HMBC": render_sim(s.hmbc, size, rng)}
        out.append(ImageSample(s.key, s.group, images, "+".join(s.labels) or "none", {"split": s.split}))
    return out


def _write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def train(cfg: Classify2DConfig, out_dir: Path) -> dict[str, Any]:
    """Train the configured task, save ``out_dir/best`` (checkpoint) and ``config.json``; return metrics."""
    from nmrlens.models.checkpoint import save_checkpoint

    torch.set_num_threads(max(1, int(cfg.train.threads)))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_json(out_dir / "config.json", dataclasses.asdict(cfg))
    size = (cfg.model.image_h, cfg.model.image_w)
    task = cfg.data.task
    log_path = out_dir / "log.jsonl"
    log_path.write_text("")

    def on_epoch(rec: dict[str, Any]) -> None:
        log.info("epoch %s", rec)
        with log_path.open("a") as fh:
            fh.write(json.dumps(rec) + "\n")

    metrics: dict[str, Any] = {}
    training_data: dict[str, Any] = {"task": task, "config": dataclasses.asdict(cfg)}
    extra: dict[str, Any] = {}
    if task in ("substructure", "simulated"):
        classes, multilabel = list(SUBSTRUCTURE_CLASSES), True
    elif task in ("superclass", "class"):
        classes, multilabel = [], False
    else:
        raise ConfigError(f"data.task: got {task!r}, expected simulated, substructure, superclass or class")

    if task == "simulated":
        sims = simulated_samples(cfg.data, cfg.data.sim_limit or None)
        by_split = {k: [s for s in sims if s.split == k] for k in ("train", "val", "test")}
        counts = {k: {c: sum(1 for s in v if c in s.labels) for c in classes} | {"n": len(v)} for k, v in by_split.items()}
        sources: dict[str, int] = {}
        for s in sims:
            sources[s.source] = sources.get(s.source, 0) + 1
        log.info("simulated: %s; shift sources %s", counts, sources)
        renders = [to_tensors(render_samples(by_split["train"], size, cfg.train.seed + 1000 * r), cfg.model.branches,
                              classes, True, size, half=True) for r in range(max(1, cfg.data.sim_renders))]
        val = to_tensors(render_samples(by_split["val"], size, 7), cfg.model.branches, classes, True, size)
        test = to_tensors(render_samples(by_split["test"], size, 8), cfg.model.branches, classes, True, size)
        model = build_model(cfg.model, classes, True, "substructure")
        hist = fit(model, renders[0], cfg.train, val=val, on_epoch=on_epoch,
                   sampler=lambda epoch, gen: renders[epoch % len(renders)])
        metrics = {f"val_{cfg.train.select}": hist.get("best_val_score"), "best_epoch": hist.get("best_epoch"),
                   "test_accuracy_positive": _pos_accuracy(model, test),
                   **_multilabel_metrics(model, val, classes, "val"), **_multilabel_metrics(model, test, classes, "test")}
        training_data.update(records=cfg.data.sim_records, counts=counts, shift_sources=sources,
                             excluded_benchmark_compounds=cfg.data.exclude_benchmark)
    elif task == "substructure":
        from nmrlens.data.images2d import load_substructure_benchmark

        bench = load_substructure_benchmark(resolve_data(cfg.data.path, "substructuresnmr"), size)
        samples = list(bench.compounds) + (list(bench.unrelated) if cfg.data.use_unrelated else [])
        data = to_tensors(samples, cfg.model.branches, classes, True, size)
        negatives = negative_pool(cfg.data, size, cfg.model.branches, seed=cfg.train.seed)
        model = build_model(cfg.model, classes, True, "substructure")
        fit(model, data, cfg.train, on_epoch=on_epoch, negatives=negatives)
        metrics = {"train_accuracy": accuracy(model, to_tensors(bench.compounds, cfg.model.branches, classes, True,
                                                                size))}
        training_data.update(path=cfg.data.path or "substructuresnmr", compounds=len(bench.compounds),
                             unrelated=len(bench.unrelated) if cfg.data.use_unrelated else 0,
                             duplicates_dropped=len(bench.duplicates), init=cfg.model.init,
                             simulated_mixture_partners=0 if negatives is None else len(negatives))
    else:
        images, split = bmrb2d_split(cfg.data.path, size, cfg.data.level)
        train_s = [s for s in images if split[s.key] == "train"]
        comp_label: dict[str, str] = {s.group: s.label for s in train_s}
        counts: dict[str, int] = {}
        for lab in comp_label.values():
            counts[lab] = counts.get(lab, 0) + 1
        classes = sorted(c for c, n in counts.items() if n >= cfg.data.min_class_compounds)
        if any(n < cfg.data.min_class_compounds for n in counts.values()):
            classes.append(OTHER)
        pairs = _entry_pairs(train_s) if cfg.data.pairs else []
        data = to_tensors(train_s + pairs, cfg.model.branches, classes, False, size)
        val_s = [s for s in images if split[s.key] == "val"]
        test_s = [s for s in images if split[s.key] == "test"]
        val = to_tensors(val_s, cfg.model.branches, classes, False, size)
        test = to_tensors(test_s, cfg.model.branches, classes, False, size)
        model = build_model(cfg.model, classes, False, cfg.data.level)
        hist = fit(model, data, cfg.train, val=val, on_epoch=on_epoch)
        metrics = {"val_accuracy": hist.get("best_val_score"), "test_accuracy": accuracy(model, test),
                   "test_images": len(test)}
        seen = sorted({s.group for s in images if split[s.key] in ("train", "val")})
        training_data.update(path=cfg.data.path or "bmrb2d", level=cfg.data.level, train_images=len(train_s),
                             train_pairs=len(pairs), val_images=len(val_s), class_compounds=counts,
                             split="nmrlens.data.splits.split_of_block (train: fit, val: selection, test: held out)")
        extra["seen_blocks"] = seen
    stem = save_checkpoint(model, out_dir / "best", force=True, training_data=training_data, metrics=metrics,
                           extra=extra)
    _write_json(out_dir / "metrics.json", metrics)
    log.info("saved %s: %s", stem, metrics)
    return metrics


def bmrb2d_split(path: str, size: Sequence[int], level: str) -> tuple[list[ImageSample], dict[str, str]]:
    """The bmrb2d images (``path`` under NMRLENS_DATA_DIR, "" = bmrb2d) labelled at ``level`` and the
    split of each (image key -> train/val/test, molecule level: the InChIKey block)."""
    from nmrlens.data.images2d import load_bmrb2d_images
    from nmrlens.data.splits import split_of_block

    images = load_bmrb2d_images(resolve_data(path, "bmrb2d"), size, level=level)
    return images, {s.key: split_of_block(s.group) for s in images}


def _entry_pairs(samples: Sequence[ImageSample]) -> list[ImageSample]:
    """One HSQC + HMBC sample per BMRB entry that has both (its first image of each)."""
    first: dict[str, dict[str, ImageSample]] = {}
    for s in samples:
        first.setdefault(s.meta.get("bmse") or s.group, {}).setdefault(s.meta["experiment"], s)
    out = []
    for entry, d in sorted(first.items()):
        if "HSQC" in d and "HMBC" in d:
            out.append(ImageSample(f"{entry}:pair", d["HSQC"].group, {"HSQC": d["HSQC"].images["HSQC"],
                                                                      "HMBC": d["HMBC"].images["HMBC"]},
                                   d["HSQC"].label, {"bmse": entry, "experiment": "HSQC+HMBC"}))
    return out


def _pos_accuracy(model: SpectrumCNN, data: TensorData) -> float | None:
    """Argmax accuracy on samples with exactly one substructure."""
    one = data.y.sum(1) == 1
    return accuracy(model, data.subset(one)) if bool(one.any()) else None


def _multilabel_metrics(model: SpectrumCNN, data: TensorData, classes: Sequence[str], prefix: str) -> dict[str, Any]:
    """Per-class positives, recall/precision at 0.5, and the threshold-free ROC AUC and average precision
    on multilabel data."""
    if len(data) == 0:
        return {}
    probs = predict_proba(model, data)
    p = probs >= 0.5
    y = data.y.numpy() > 0.5
    out: dict[str, Any] = {f"{prefix}_n": int(len(data))}
    for k, c in enumerate(classes):
        tp = int((p[:, k] & y[:, k]).sum())
        out[f"{prefix}_{c}_positives"] = int(y[:, k].sum())
        out[f"{prefix}_{c}_recall"] = tp / max(int(y[:, k].sum()), 1)
        out[f"{prefix}_{c}_precision"] = tp / max(int(p[:, k].sum()), 1)
        out[f"{prefix}_{c}_auc"] = roc_auc(y[:, k], probs[:, k])
        out[f"{prefix}_{c}_ap"] = average_precision(y[:, k], probs[:, k])
    out[f"{prefix}_exact_match"] = float((p == y).all(1).mean())
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry: train with a TOML config (``section.key=value`` overrides)."""
    from nmrlens.train.config import configs_dir, load_config, parse_overrides

    ap = argparse.ArgumentParser(prog="python -m nmrlens.train.classify2d", description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", default=str(configs_dir() / "classify2d_substructure.toml"))
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--set", nargs="*", default=[], metavar="SECTION.KEY=VALUE")
    args = ap.parse_args(argv)
    cfg = load_config(Classify2DConfig, args.config, parse_overrides(args.set))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    metrics = train(cfg, args.out)
    print(json.dumps(metrics, indent=2, default=str))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
