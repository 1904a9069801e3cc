"""Training of the retrieval dual encoder (:class:`~nmrlens.models.retrieval.RetrievalModel`).

Data: nmrshiftdb2 records with an experimental 13C and/or 1H peak list (spectrum datapoints,
:mod:`nmrlens.data.spectrumdata`), *train* split. Every step pairs each molecule of a batch with
one of its spectrum sets in a random configuration it can fill (C, H or CH); with probability
``pred_prob`` the spectrum is the molecule's *predicted* one (shipped shift model), so that
predicted-spectrum embeddings land near experimental ones (the SSE score needs that). Spectra are
augmented (peak dropout, shift jitter, unknown nH, a spurious peak). Loss: symmetric InfoNCE with a
learned temperature. Model selection: mean top-1 spectrum->molecule accuracy (SME) over C, H, CH
among the *val* molecules. Fusion weights are chosen afterwards on *val* (see
:func:`nmrlens.evaluate.retrieval.fit_fusion`).

Run: ``python -m nmrlens.train.retrieval --config src/nmrlens/train/configs/retrieval.toml --out DIR``.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import logging
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from nmrlens.data.datasets import iter_nmrshiftdb2
from nmrlens.train.config import resolve_data_path, start_run, train_main

__all__ = ["ModelSection", "TrainSection", "DataSection", "RetrievalTrainConfig", "train", "augment",
           "pair_sequences", "val_top1"]

log = logging.getLogger(__name__)


@dataclass
class ModelSection:
    """Model hyper-parameters (see RetrievalModel)."""

    graph_hidden: int = 192
    graph_layers: int = 5
    spec_hidden: int = 192
    spec_layers: int = 4
    heads: int = 6
    ff: int = 512
    dropout: float = 0.1
    max_len: int = 256
    embed_dim: int = 128
    temperature: float = 0.07


@dataclass
class TrainSection:
    """Optimisation and augmentation settings (``bf16``: encoders under bfloat16 autocast, loss in float32;
    ``time_budget_min``: wall-clock minutes of the whole run, data preparation included)."""

    epochs: int = 40
    batch_size: int = 256
    lr: float = 5e-4
    weight_decay: float = 1e-4
    pred_prob: float = 0.3
    peak_dropout: float = 0.1
    jitter_c13: float = 0.3
    jitter_h1: float = 0.03
    nh_dropout: float = 0.2
    extra_peak_prob: float = 0.1
    seed: int = 0
    threads: int = 2
    time_budget_min: float = 22.0
    val_limit: int = 2000
    bf16: bool = False


@dataclass
class DataSection:
    """Data: a file in the nmrshiftdb2 JSON-lines format (relative paths: under NMRLENS_DATA_DIR)."""

    path: str = "nmrshiftdb2/molecules.jsonl.gz"
    limit: int = 0
    predicted: bool = True


@dataclass
class RetrievalTrainConfig:
    """The whole training config (one TOML table per section)."""

    model: ModelSection = field(default_factory=ModelSection)
    train: TrainSection = field(default_factory=TrainSection)
    data: DataSection = field(default_factory=DataSection)


def augment(query: Any, rng: random.Random, tc: TrainSection) -> Any:
    """A randomly perturbed retrieval view of ``query`` (13C/1H peak dropout, jitter in ppm, nH dropout, spurious peak)."""
    from nmrlens.spectra.model import Multiplet, Peak, Query, Spectrum1D

    spectra = []
    for sp in query.spectra:
        peaks = list(sp.peaks)
        if len(peaks) > 2:
            kept = [p for p in peaks if rng.random() >= tc.peak_dropout]
            peaks = kept or [rng.choice(peaks)]
        if sp.nucleus == "13C":
            new = [Peak(min(299.0, max(-49.0, p.shift + rng.gauss(0.0, tc.jitter_c13)))) for p in peaks]
            if rng.random() < tc.extra_peak_prob:
                new.append(Peak(rng.uniform(10.0, 180.0)))
        else:
            new = []
            for m in peaks:
                s = min(16.5, max(-2.5, m.shift + rng.gauss(0.0, tc.jitter_h1)))
                nh = None if rng.random() < tc.nh_dropout else m.nH
                new.append(Multiplet(s, s, nH=nh))
            if rng.random() < tc.extra_peak_prob:
                s = rng.uniform(0.5, 8.0)
                new.append(Multiplet(s, s, nH=1))
        spectra.append(Spectrum1D(sp.nucleus, new))
    return Query(spectra=spectra)


def _configs_of(query: Any) -> list[str]:
    have = {sp.nucleus for sp in query.spectra if len(sp)}
    out = []
    if "13C" in have:
        out.append("C")
    if "1H" in have:
        out.append("H")
    if len(out) == 2:
        out.append("CH")
    return out


def pair_sequences(items: Sequence[Any], preds: Sequence[Any], tokenizer: Any, rng: random.Random,
                   tc: TrainSection, max_len: int) -> list[tuple[list[int], list[float], list[int]]]:
    """One augmented spectrum sequence per datapoint (random config; predicted spectrum with ``pred_prob``)."""
    from nmrlens.models.retrieval import retrieval_view, spectrum_sequence

    seqs = []
    for dp, pred in zip(items, preds):
        cfgs = _configs_of(dp.query)
        cfg = rng.choice(cfgs)
        src = dp.query
        if pred is not None and rng.random() < tc.pred_prob:
            src = pred
        q = augment(retrieval_view(src), rng, tc)
        if not all(q.spectrum(n) is not None for c, n in (("C", "13C"), ("H", "1H")) if c in cfg):
            q = augment(retrieval_view(dp.query), rng, tc)
        seqs.append(spectrum_sequence(tokenizer, q, cfg, max_len))
    return seqs


def val_top1(scorer: Any, items: Sequence[Any]) -> dict[str, float]:
    """Top-1 spectrum->molecule accuracy by SME among ``items``' molecules, per config (C, H, CH)."""
    if not items:
        return {}
    mol = scorer.embed_graphs([dp.graph for dp in items])
    out = {}
    for cfg in ("C", "H", "CH"):
        idx = [i for i, dp in enumerate(items) if cfg in _configs_of(dp.query)]
        if not idx:
            continue
        spec = scorer.embed_spectra([items[i].query for i in idx], cfg)
        best = np.argmax(spec @ mol.T, axis=1)
        blocks = [items[i].smiles for i in idx]
        # a hit: the best molecule has the query's canonical SMILES (stereoisomers count as hits only if equal)
        out[cfg] = float(np.mean([items[b].smiles == s for b, s in zip(best, blocks)]))
    return out


def _predicted(items: Sequence[Any]) -> list[Any]:
    from nmrlens import api
    from nmrlens.errors import NmrLensError

    out: list[Any] = []
    for start in range(0, len(items), 512):
        chunk = items[start:start + 512]
        try:
            out += [p.query for p in api.predict_many([dp.smiles for dp in chunk])]
        except NmrLensError:
            for dp in chunk:
                try:
                    out.append(api.predict(dp.smiles).query)
                except NmrLensError:
                    out.append(None)
    return out


def train(cfg: RetrievalTrainConfig, out_dir: Path) -> dict[str, Any]:
    """Train and select on val; write ``out_dir/{best.safetensors,best.json,config.json,log.jsonl}``."""
    import torch

    from nmrlens.data.spectrumdata import SpectrumBuildReport, spectrum_datapoints
    from nmrlens.models.checkpoint import load_checkpoint, save_checkpoint
    from nmrlens.models.retrieval import CandidateScorer, RetrievalModel, collate_spectra
    from nmrlens.nn.graph import collate_graphs
    from nmrlens.tokenize.spectral import SpectralTokenizer
    from nmrlens.train.schedule import BudgetSchedule

    rng = start_run(cfg, out_dir)
    tc = cfg.train
    t_start = time.time()
    records = iter_nmrshiftdb2(resolve_data_path(cfg.data.path))
    if cfg.data.limit:
        records = itertools.islice(records, cfg.data.limit)
    report = SpectrumBuildReport()
    items = list(spectrum_datapoints(records, report))
    by_split: dict[str, list[Any]] = {"train": [], "val": [], "test": []}
    for dp in items:
        by_split[dp.split].append(dp)
    train_items = by_split["train"]
    val_items = by_split["val"][: tc.val_limit] if tc.val_limit else by_split["val"]
    log.info("datapoints: %d train, %d val (%.0f s): %s", len(train_items), len(val_items), time.time() - t_start,
             report)
    preds = _predicted(train_items) if cfg.data.predicted and tc.pred_prob > 0 else [None] * len(train_items)
    log.info("predicted spectra ready (%.0f s)", time.time() - t_start)
    tok = SpectralTokenizer.load()
    model = RetrievalModel(tok.vocab_size, **dataclasses.asdict(cfg.model))
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2]
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": tc.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=tc.lr)
    steps_per_epoch = max(1, len(train_items) // tc.batch_size)
    sched = BudgetSchedule(opt, tc.lr, steps_per_epoch * tc.epochs, 60 * tc.time_budget_min - (time.time() - t_start))
    best = (-1.0, -1)
    for epoch in range(tc.epochs):
        model.train()
        order = list(range(len(train_items)))
        rng.shuffle(order)
        t0, total, count = time.time(), 0.0, 0
        for b in range(steps_per_epoch):
            idx = order[b * tc.batch_size:(b + 1) * tc.batch_size]
            if len(idx) < 2:
                continue
            batch = [train_items[i] for i in idx]
            g = collate_graphs([dp.graph for dp in batch])
            s = collate_spectra(pair_sequences(batch, [preds[i] for i in idx], tok, rng, tc, cfg.model.max_len),
                                tok.pad_id)
            loss = model.loss(g, s, bf16=tc.bf16)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            sched.step()
            total += loss.item() * len(batch)
            count += len(batch)
            if sched.finished:
                break
        model.eval()
        val = val_top1(CandidateScorer(model, tok), val_items)
        score = float(np.mean(list(val.values()))) if val else float(epoch)
        row = {"epoch": epoch, "loss": total / max(1, count), **{f"val_top1_{k}": v for k, v in val.items()},
               "score": score, "temperature": float(1.0 / model.logit_scale.item()),
               "seconds": round(time.time() - t0, 1)}
        log.info("epoch %s", row)
        with open(out_dir / "log.jsonl", "a") as fh:
            fh.write(json.dumps(row) + "\n")
        if score > best[0]:
            best = (score, epoch)
            save_checkpoint(model, out_dir / "best", force=True, training_data={"note": "in progress"})
        if sched.finished:
            log.info("schedule finished after epoch %d", epoch)
            break
    model, _ = load_checkpoint(out_dir / "best")
    val = val_top1(CandidateScorer(model, tok), val_items)
    metrics: dict[str, Any] = {f"val_top1_sme_{k}_among_val": v for k, v in val.items()}
    metrics["best_epoch"] = best[1]
    metrics["train_minutes"] = round((time.time() - t_start) / 60, 1)
    training_data = {
        "source": str(cfg.data.path), "split": "nmrlens.data.splits (train; selection on val)",
        "n_train": len(train_items), "n_val": len(val_items), "build_report": dataclasses.asdict(report),
        "config": dataclasses.asdict(cfg),
    }
    save_checkpoint(model, out_dir / "best", force=True, training_data=training_data, metrics=metrics)
    return metrics


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry: train with a TOML config (``section.key=value`` overrides with --set)."""
    return train_main("python -m nmrlens.train.retrieval", (__doc__ or "").split("\n\n")[0], RetrievalTrainConfig,
                      "retrieval.toml", train, argv)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
