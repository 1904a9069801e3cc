"""Training of the peak-list token model (:class:`~nmrlens.models.peaklist.PeakListModel`).

Teacher-forced cross-entropy on ``<bos> <13C> ... </13C> <1H> ... </1H> <eos>`` sequences of the
experimental spectra of the *train* split; model selection by token loss on *val*.

Run: ``python -m nmrlens.train.peaklist --config src/nmrlens/train/configs/peaklist.toml --out DIR``.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import logging
import math
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from nmrlens.train.schedule import BudgetSchedule
from nmrlens.train.config import resolve_data_path, start_run, train_main
from nmrlens.train.shifts import DataSection

__all__ = ["PeakListModelSection", "PeakListTrainSection", "PeakListTrainConfig", "train", "encode_targets", "length_batches"]

log = logging.getLogger(__name__)


@dataclass
class PeakListModelSection:
    """Model hyper-parameters (see PeakListModel)."""

    hidden: int = 256
    enc_layers: int = 4
    dec_layers: int = 4
    heads: int = 8
    ff: int = 1024
    dropout: float = 0.1
    max_len: int = 256


@dataclass
class PeakListTrainSection:
    """Optimisation settings."""

    epochs: int = 15
    batch_size: int = 64
    lr: float = 5e-4
    weight_decay: float = 1e-4
    seed: int = 0
    threads: int = 2
    bf16: bool = True
    time_budget_min: float = 40.0


@dataclass
class PeakListTrainConfig:
    """The whole training config."""

    model: PeakListModelSection = field(default_factory=PeakListModelSection)
    train: PeakListTrainSection = field(default_factory=PeakListTrainSection)
    data: DataSection = field(default_factory=DataSection)


def encode_targets(tokenizer: Any, items: Sequence[Any], max_len: int) -> list[list[int]]:
    """Token ids ("CH" config) per datapoint; sequences longer than ``max_len`` are cut before <eos>."""
    out = []
    for dp in items:
        ids = tokenizer.encode(dp.query, "CH", max_length=10_000)
        if len(ids) > max_len:
            ids = ids[: max_len - 1] + [tokenizer.eos_id]
        out.append(ids)
    return out


def length_batches(lengths: Sequence[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Batches of similar sequence length (less padding), in random order; lengths are jittered so
    batches differ between epochs."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i] + rng.uniform(0, 6))
    batches = [order[k:k + batch_size] for k in range(0, len(order), batch_size)]
    rng.shuffle(batches)
    return batches


def _batch_loss(model: Any, graphs: Sequence[Any], seqs: Sequence[list[int]], pad_id: int, bf16: bool) -> Any:
    import torch

    from nmrlens.nn.graph import collate_graphs

    T = max(len(s) for s in seqs)
    toks = torch.full((len(seqs), T), pad_id, dtype=torch.long)
    for i, s in enumerate(seqs):
        toks[i, : len(s)] = torch.tensor(s)
    logits = model(collate_graphs(graphs), toks[:, :-1], bf16=bf16)
    return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), toks[:, 1:].reshape(-1),
                                             ignore_index=pad_id)


def train(cfg: PeakListTrainConfig, out_dir: Path) -> dict[str, Any]:
    """Train and select on val; write ``out_dir/best.{safetensors,json}``, ``config.json``, ``log.jsonl``."""
    import torch

    from nmrlens.data.datasets import iter_nmrshiftdb2
    from nmrlens.data.spectrumdata import SpectrumBuildReport, spectrum_datapoints
    from nmrlens.models.checkpoint import save_checkpoint
    from nmrlens.models.peaklist import PeakListModel
    from nmrlens.tokenize import SpectralTokenizer

    rng = start_run(cfg, out_dir)
    tc = cfg.train
    t_start = time.time()
    tok = SpectralTokenizer.load()
    records = iter_nmrshiftdb2(resolve_data_path(cfg.data.path))
    if cfg.data.limit:
        records = itertools.islice(records, cfg.data.limit)
    report = SpectrumBuildReport()
    items = list(spectrum_datapoints(records, report))
    train_items = [d for d in items if d.split == "train"]
    val_items = [d for d in items if d.split == "val"]
    train_seqs = encode_targets(tok, train_items, cfg.model.max_len)
    val_seqs = encode_targets(tok, val_items, cfg.model.max_len)
    log.info("datapoints train %d val %d (%s) in %.0f s", len(train_items), len(val_items), report, time.time() - t_start)
    model = PeakListModel(tok.vocab_size, **dataclasses.asdict(cfg.model))
    opt = torch.optim.AdamW(model.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
    steps = max(1, tc.epochs * math.ceil(len(train_items) / tc.batch_size))
    sched = BudgetSchedule(opt, tc.lr, steps, 60 * tc.time_budget_min - (time.time() - t_start))
    best = (float("inf"), -1)
    for epoch in range(tc.epochs):
        model.train()
        t0, total, count = time.time(), 0.0, 0
        for idx in length_batches([len(s) for s in train_seqs], tc.batch_size, rng):
            loss = _batch_loss(model, [train_items[i].graph for i in idx], [train_seqs[i] for i in idx], tok.pad_id, tc.bf16)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            if sched.finished:
                break
            total += loss.item() * len(idx)
            count += len(idx)
        model.eval()
        with torch.no_grad():
            vl, vn = 0.0, 0
            for start in range(0, len(val_items), 128):
                sl = slice(start, start + 128)
                vl += _batch_loss(model, [d.graph for d in val_items[sl]], val_seqs[sl], tok.pad_id, False).item() * len(val_items[sl])
                vn += len(val_items[sl])
        val_loss = vl / max(1, vn)
        row = {"epoch": epoch, "loss": total / max(1, count), "val_loss": val_loss, "seconds": round(time.time() - t0, 1)}
        log.info("epoch %s", row)
        with open(out_dir / "log.jsonl", "a") as fh:
            fh.write(json.dumps(row) + "\n")
        if val_loss < best[0]:
            best = (val_loss, epoch)
            save_checkpoint(model, out_dir / "best", force=True, training_data={"note": "in progress"})
        if sched.finished:
            log.info("schedule finished after epoch %d", epoch)
            break
    from nmrlens.models.checkpoint import load_checkpoint

    model, _ = load_checkpoint(out_dir / "best")
    metrics = {"val_token_loss": best[0], "best_epoch": best[1], "train_minutes": round((time.time() - t_start) / 60, 1)}
    training_data = {"source": cfg.data.path, "split": "nmrlens.data.splits (train; selection on val token loss)",
                     "n_train": len(train_items), "n_val": len(val_items), "build_report": dataclasses.asdict(report),
                     "tokenizer": "nmrlens/tokenize/vocab/spectral_v1.json", "config": dataclasses.asdict(cfg)}
    save_checkpoint(model, out_dir / "best", force=True, training_data=training_data, metrics=metrics)
    return metrics


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry (``section.key=value`` overrides with --set)."""
    return train_main("python -m nmrlens.train.peaklist", __doc__.split("\n\n")[0], PeakListTrainConfig,
                      "peaklist.toml", train, argv)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
