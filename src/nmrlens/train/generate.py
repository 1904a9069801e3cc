"""Training of the generation model (:class:`~nmrlens.models.generate.GenerationModel`).

Two phases, each with its own wall-clock budget (:class:`~nmrlens.train.schedule.BudgetSchedule`):

1. **pretrain** on simulated spectra (atom shift model) of *train*-split molecules
   (:func:`nmrlens.data.generatedata.simulated_examples`; val/test molecules are never simulated);
   the checkpoint ``pretrain`` is written at its end;
2. **finetune** on the experimental spectra of the train split (optionally mixed with a fraction of
   simulated batches); model selection by token loss on the experimental *val* split.

Each batch draws, per example, one input configuration (C, H, CH, CF, HF, CHF) among those the
example can fill (segment dropout), so one model serves all of them. Teacher-forced cross-entropy
on the canonical isomeric SMILES tokens. Either phase can be switched off (``minutes = 0``), which
gives the simulation-to-experiment gap runs of docs/generate.md.

Run: ``python -m nmrlens.train.generate --config src/nmrlens/train/configs/generate.toml --out DIR``.
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

from nmrlens.train.config import resolve_data_path, start_run, train_main

__all__ = ["GenModelSection", "GenPhaseSection", "GenTrainSection", "GenDataSection", "GenTrainConfig", "train",
           "make_batch", "batch_loss"]

log = logging.getLogger(__name__)


@dataclass
class GenModelSection:
    """Model hyper-parameters (see GenerationModel)."""

    dim: int = 256
    heads: int = 8
    enc_layers: int = 3
    dec_layers: int = 3
    ff: int = 1024
    dropout: float = 0.1
    max_src: int = 256
    max_tgt: int = 128


@dataclass
class GenPhaseSection:
    """One training phase: wall-clock minutes (0 = skip), peak learning rate, planned epochs over its data."""

    minutes: float = 15.0
    lr: float = 1e-3
    epochs: int = 10
    sim_fraction: float = 0.0


@dataclass
class GenTrainSection:
    """Optimisation settings shared by the phases; ``init_checkpoint`` (a path or a shipped name such
    as ``generate_v3``; empty = random initialisation) starts from the weights of an earlier run of
    the same architecture (continued training)."""

    batch_size: int = 64
    weight_decay: float = 1e-4
    label_smoothing: float = 0.05
    seed: int = 0
    threads: int = 2
    bf16: bool = True
    eval_every: int = 200
    val_limit: int = 600
    half: bool = True
    init_checkpoint: str = ""


@dataclass
class GenDataSection:
    """Data: the nmrshiftdb2 file (relative paths under NMRLENS_DATA_DIR), a cache folder for the built
    examples (empty = no cache), the fraction of simulated 1H lists stripped of labels and J, the
    most train molecules to simulate (0 = all; a seeded random subset) and the number of BRICS
    recombinations of them to simulate as well (train-split products only), and the atom shift model
    that simulates the spectra (empty = the default model, :data:`nmrlens.models.shifts.DEFAULT_CHECKPOINT`).

    ``literature`` (empty = none): a literature record file (article text parsed to peaks); its
    train-split records join the experimental training examples, repeated ``literature_repeat`` times,
    its val-split records the selection set, and its train-split molecules (plus ``literature_brics``
    BRICS recombinations of them) the simulated examples."""

    path: str = "nmrshiftdb2/molecules.jsonl.gz"
    limit: int = 0
    cache_dir: str = "artifacts/train/generate_data"
    strip_fraction: float = 0.7
    max_sim: int = 0
    brics: int = 0
    shift_checkpoint: str = ""
    literature: str = ""
    literature_repeat: int = 1
    literature_brics: int = 0


@dataclass
class GenTrainConfig:
    """The whole training config."""

    model: GenModelSection = field(default_factory=GenModelSection)
    train: GenTrainSection = field(default_factory=GenTrainSection)
    pretrain: GenPhaseSection = field(default_factory=lambda: GenPhaseSection(15.0, 1e-3, 10, 0.0))
    finetune: GenPhaseSection = field(default_factory=lambda: GenPhaseSection(15.0, 5e-4, 20, 0.2))
    data: GenDataSection = field(default_factory=GenDataSection)


def make_batch(examples: Sequence[Any], configs: Sequence[str], src_tok: Any, pad_tgt: int) -> tuple[Any, ...]:
    """Tensors ``(src, seg, pad, tgt)`` of examples with the given configurations."""
    import torch

    from nmrlens.models.generate import collate_sources, compose_source

    src, seg, pad = collate_sources([compose_source(src_tok, ex.segs, c) for ex, c in zip(examples, configs)],
                                    src_tok.pad_id)
    T = max(len(ex.target) for ex in examples)
    tgt = torch.full((len(examples), T), pad_tgt, dtype=torch.long)
    for i, ex in enumerate(examples):
        tgt[i, : len(ex.target)] = torch.tensor(ex.target)
    return src, seg, pad, tgt


def batch_loss(model: Any, batch: tuple[Any, ...], pad_tgt: int, bf16: bool = False, smoothing: float = 0.0) -> Any:
    """Mean token cross-entropy (nats) of a batch from :func:`make_batch`."""
    import torch

    src, seg, pad, tgt = batch
    logits = model(src, seg, pad, tgt[:, :-1], bf16=bf16)
    return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt[:, 1:].reshape(-1),
                                             ignore_index=pad_tgt, label_smoothing=smoothing)


def _batches(examples: Sequence[Any], batch_size: int, rng: random.Random) -> list[list[int]]:
    from nmrlens.train.peaklist import length_batches

    return length_batches([len(e.target) + sum(len(s) for s in e.segs.values()) // 2 for e in examples], batch_size, rng)


def _shift_model_name(checkpoint: str) -> str:
    """Name of the shift model that simulates spectra (the checkpoint's file stem; default model's name)."""
    from nmrlens.models.shifts import DEFAULT_CHECKPOINT

    return Path(checkpoint or DEFAULT_CHECKPOINT).name


def _load_data(cfg: GenTrainConfig) -> tuple[list[Any], list[Any], list[Any], dict[str, Any]]:
    from nmrlens.data.datasets import iter_nmrshiftdb2
    from nmrlens.data.generatedata import (GenBuildReport, experimental_examples, literature_examples, load_examples,
                                           save_examples, simulated_examples)
    from nmrlens.tokenize import SmilesTokenizer, SpectralTokenizer
    from nmrlens.tokenize.records import iter_records

    src_tok, tgt_tok = SpectralTokenizer.load(), SmilesTokenizer.load()
    path = resolve_data_path(cfg.data.path)
    sizes = dict(max_src=cfg.model.max_src, max_tgt=cfg.model.max_tgt)
    key = f"src{cfg.model.max_src}_tgt{cfg.model.max_tgt}_lim{cfg.data.limit}"
    cache = Path(cfg.data.cache_dir) if cfg.data.cache_dir else None
    info: dict[str, Any] = {}

    def cached(name: str, report_key: str, build: Any) -> list[Any]:
        """Examples from ``cache/name.jsonl.gz`` if present, else ``build(report)`` (saved when caching)."""
        file = cache / f"{name}.jsonl.gz" if cache else None
        if file is not None and file.is_file():
            return load_examples(file)
        rep = GenBuildReport()
        out = build(rep)
        info[report_key] = dataclasses.asdict(rep)
        if file is not None:
            save_examples(file, out)
        return out

    def records() -> Any:
        r = iter_nmrshiftdb2(path)
        return itertools.islice(r, cfg.data.limit) if cfg.data.limit else r

    simulate = cfg.pretrain.minutes > 0 or cfg.finetune.sim_fraction > 0
    sim_opts = dict(strip_fraction=cfg.data.strip_fraction, seed=cfg.train.seed,
                    shift_checkpoint=cfg.data.shift_checkpoint or None, **sizes)
    shift_name = _shift_model_name(cfg.data.shift_checkpoint)
    exp = cached(f"exp_{key}", "exp_report",
                 lambda rep: experimental_examples(records(), src_tok, tgt_tok, report=rep, **sizes))
    sim: list[Any] = []
    if simulate:
        sim = cached(f"sim_{key}_strip{cfg.data.strip_fraction}_max{cfg.data.max_sim}_brics{cfg.data.brics}_{shift_name}",
                     "sim_report", lambda rep: simulated_examples(records(), src_tok, tgt_tok, report=rep,
                                                                   max_molecules=cfg.data.max_sim or None,
                                                                   brics=cfg.data.brics, **sim_opts))
    lit: list[Any] = []
    if cfg.data.literature:
        lit_path = resolve_data_path(cfg.data.literature)
        lit_key = f"{Path(cfg.data.literature).name}_src{cfg.model.max_src}_tgt{cfg.model.max_tgt}"
        lit = cached(f"lit_{lit_key}", "lit_report",
                     lambda rep: literature_examples(iter_records(lit_path), src_tok, tgt_tok, report=rep, **sizes))
        if simulate:
            sim = sim + cached(f"litsim_{lit_key}_strip{cfg.data.strip_fraction}_brics{cfg.data.literature_brics}_{shift_name}",
                               "litsim_report",
                               lambda rep: simulated_examples(iter_records(lit_path), src_tok, tgt_tok, report=rep,
                                                              brics=cfg.data.literature_brics, **sim_opts))
    if any(e.split != "train" for e in sim):  # never train on simulated val/test molecules
        raise AssertionError("simulated examples outside the train split")
    train_exp = [e for e in exp if e.split == "train"]
    train_exp += [e for e in lit if e.split == "train"] * max(1, cfg.data.literature_repeat)
    val_exp = [e for e in exp + lit if e.split == "val"]
    info["n_lit_train"] = sum(e.split == "train" for e in lit)
    info["n_lit_val"] = sum(e.split == "val" for e in lit)
    return train_exp, val_exp, sim, info


def _init_from(model: Any, checkpoint: str) -> None:
    """Copy the weights of ``checkpoint`` into ``model`` (float32), which must have its architecture."""
    from nmrlens.errors import NmrLensError
    from nmrlens.models.checkpoint import load_checkpoint

    init, _ = load_checkpoint(checkpoint)
    if getattr(init, "hparams", None) != model.hparams:
        raise NmrLensError(f"train.init_checkpoint: {checkpoint!r} has hyper-parameters {getattr(init, 'hparams', None)}, "
                           f"expected those of [model]: {model.hparams}")
    model.load_state_dict({k: v.float() for k, v in init.state_dict().items()})
    log.info("initialised from %s", checkpoint)


def train(cfg: GenTrainConfig, out_dir: Path) -> dict[str, Any]:
    """Run both phases; write ``out_dir/{pretrain,best,last}.{safetensors,json}``, ``config.json``, ``log.jsonl``."""
    import torch

    from nmrlens.models.checkpoint import load_checkpoint, save_checkpoint
    from nmrlens.models.generate import GenerationModel
    from nmrlens.tokenize import SmilesTokenizer, SpectralTokenizer
    from nmrlens.train.schedule import BudgetSchedule

    rng = start_run(cfg, out_dir)
    tc = cfg.train
    t_start = time.time()
    src_tok, tgt_tok = SpectralTokenizer.load(), SmilesTokenizer.load()
    train_exp, val_exp, sim, info = _load_data(cfg)
    log.info("examples: exp train %d, exp val %d, sim %d (%.0f s)", len(train_exp), len(val_exp), len(sim),
             time.time() - t_start)
    vrng = random.Random(1234)
    val = vrng.sample(val_exp, min(len(val_exp), tc.val_limit)) if val_exp else []
    val_cfg = [vrng.choice(e.configs) for e in val]
    model = GenerationModel(src_tok.vocab_size, tgt_tok.vocab_size, **dataclasses.asdict(cfg.model))
    if tc.init_checkpoint:
        _init_from(model, tc.init_checkpoint)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.pretrain.lr, weight_decay=tc.weight_decay)
    pad_t = tgt_tok.pad_id

    def val_loss() -> float:
        if not val:
            return float("nan")
        model.eval()
        total, n = 0.0, 0
        with torch.no_grad():
            for s in range(0, len(val), 128):
                b = make_batch(val[s:s + 128], val_cfg[s:s + 128], src_tok, pad_t)
                k = int((b[3][:, 1:] != pad_t).sum())
                total += batch_loss(model, b, pad_t).item() * k
                n += k
        model.train()
        return total / max(1, n)

    best = {"val_loss": float("inf"), "phase": None, "step": -1}
    step_total = 0
    log_fh = open(out_dir / "log.jsonl", "a")

    def run_phase(name: str, phase: GenPhaseSection, main: list[Any], extra: list[Any]) -> None:
        nonlocal step_total
        if phase.minutes <= 0 or not main:
            return
        for g in opt.param_groups:
            g["lr"] = phase.lr
        per_epoch = max(1, len(main) // tc.batch_size)
        sched = BudgetSchedule(opt, phase.lr, phase.epochs * per_epoch, 60 * phase.minutes, warmup=0.05)
        model.train()
        t0, run_loss, run_n = time.time(), 0.0, 0
        while not sched.finished:
            for idx in _batches(main, tc.batch_size, rng):
                pool = main
                if extra and phase.sim_fraction > 0 and rng.random() < phase.sim_fraction:
                    pool = extra
                    idx = rng.sample(range(len(extra)), min(tc.batch_size, len(extra)))
                exs = [pool[i] for i in idx]
                cfgs = [rng.choice(e.configs) for e in exs]
                loss = batch_loss(model, make_batch(exs, cfgs, src_tok, pad_t), pad_t, tc.bf16, tc.label_smoothing)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
                sched.step()
                step_total += 1
                run_loss += loss.item()
                run_n += 1
                if step_total % tc.eval_every == 0 or sched.finished:
                    vl = val_loss()
                    row = {"phase": name, "step": step_total, "loss": run_loss / max(1, run_n), "val_loss": vl,
                           "lr": sched.current_lr(), "minutes": round((time.time() - t0) / 60, 2)}
                    run_loss, run_n = 0.0, 0
                    log.info("%s", row)
                    log_fh.write(json.dumps(row) + "\n")
                    log_fh.flush()
                    save_checkpoint(model, out_dir / "last", force=True, training_data={"note": "in progress"})
                    if name == "finetune" or cfg.finetune.minutes <= 0:
                        if vl < best["val_loss"]:
                            best.update(val_loss=vl, phase=name, step=step_total)
                            save_checkpoint(model, out_dir / "best", force=True, training_data={"note": "in progress"})
                if sched.finished:
                    break

    run_phase("pretrain", cfg.pretrain, sim, [])
    if cfg.pretrain.minutes > 0 and sim:
        save_checkpoint(model, out_dir / "pretrain", force=True,
                        training_data={"source": f"simulated spectra ({_shift_model_name(cfg.data.shift_checkpoint)}) of"
                                       " train-split molecules"
                                       " (+ BRICS recombinations of them in the train split)",
                                       "n_sim": len(sim), "n_brics": sum(e.source == "brics" for e in sim),
                                       "config": dataclasses.asdict(cfg)},
                        metrics={"val_loss_exp": val_loss()}, half=tc.half)
    run_phase("finetune", cfg.finetune, train_exp, sim)
    log_fh.close()
    if best["step"] < 0:  # no phase selected a checkpoint (e.g. pretrain only): keep the last state
        best.update(val_loss=val_loss(), phase="last", step=step_total)
        save_checkpoint(model, out_dir / "best", force=True)
    model, _ = load_checkpoint(out_dir / "best")
    metrics = {"val_token_loss": best["val_loss"], "best_phase": best["phase"], "best_step": best["step"],
               "steps": step_total, "train_minutes": round((time.time() - t_start) / 60, 1)}
    training_data = {"source": cfg.data.path, "split": "nmrlens.data.splits (train; selection on val token loss)",
                     "n_exp_train": len(train_exp), "n_exp_val": len(val_exp), "n_sim_train": len(sim),
                     "n_brics_train": sum(e.source == "brics" for e in sim),
                     "simulated": f"atom shift model {_shift_model_name(cfg.data.shift_checkpoint)} predictions of"
                                  " train-split molecules only",
                     "tokenizers": ["nmrlens/tokenize/vocab/spectral_v1.json", "nmrlens/tokenize/vocab/smiles_v1.json"],
                     "config": dataclasses.asdict(cfg), **info}
    save_checkpoint(model, out_dir / "best", force=True, training_data=training_data, metrics=metrics, half=tc.half)
    return metrics


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry (``section.key=value`` overrides with --set)."""
    return train_main("python -m nmrlens.train.generate", __doc__.split("\n\n")[0], GenTrainConfig,
                      "generate.toml", train, argv)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
