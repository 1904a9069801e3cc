"""Benchmarks of the 2D-spectrum classifiers (``nmrlens evaluate classify2d --data PATH``).

``PATH`` decides what is measured:

- a **substructuresnmr** folder (or its ``index.csv``): stratified k-fold cross-validation of the
  three-class task (fatty acids / indoles / steroids) for k = 2, 3, 5, 10, each repeated 10 times
  (``--limit N``: N repeats) with recorded seeds; small two-branch CNNs are trained per fold with the
  settings of ``train/configs/classify2d_cv.toml`` (initialised from ``--checkpoint``, default: as
  that config says; ``--checkpoint scratch``: random initialisation). Byte-identical images are
  counted once. Then **mixtures**: every held-out compound of the k=5 folds is overlaid (pixel
  maximum) with 1, 2 and 3 of the unrelated compounds of the ``none`` folder, and the peer's own
  test mixtures of held-out compounds are scored. When nmrshiftdb2 records are found next to the
  folder (or in NMRLENS_DATA_DIR), the **explanation** benchmark on simulated spectra runs too.
- a **bmrb2d**-format ``index.csv`` (or its folder): the compound-class model (``--checkpoint``,
  default the shipped superclass model) on every image whose compound the model has not seen in
  training (InChIKey block not in the checkpoint's ``seen_blocks``): accuracy, macro-F1 and the
  majority-class baseline; per experiment and per entry with both experiments.
- an **nmrshiftdb2** JSON-lines file: the explanation benchmark only. Test-split records with a
  substructure are simulated (HSQC + HMBC), rendered, and explained by the simulated-spectra model
  (default the shipped ``classify2d_sim_v1``) with Grad-CAM, Grad-CAM++ and per-peak occlusion.
  Scores: mass fraction of the heatmap on the substructure's peaks, pointing game, and the chance
  level (area share of those peaks); also for mixtures of peak lists (1-3 unrelated compounds).

Metric keys are flat (see the issue's evaluation contract).
"""

from __future__ import annotations

import csv
import logging
import math
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from nmrlens.errors import DataNotFoundError, FileFormatError, NmrLensError

__all__ = ["evaluate", "stratified_folds", "cross_validate", "evaluate_bmrb2d", "evaluate_explanations",
           "macro_f1", "CV_KS", "EXPLAIN_METHODS"]

log = logging.getLogger(__name__)
#: Fold counts of the cross-validation.
CV_KS: tuple[int, ...] = (2, 3, 5, 10)
#: Explanation methods scored.
EXPLAIN_METHODS: tuple[str, ...] = ("gradcam", "gradcam++", "occlusion")
_REPEATS = 10
_MIX_DRAWS = 3
#: The paper's examples (Figs. 5-15): fatty acid, indole, steroid, mixed with adenine (bmse000060),
#: then adenosine (bmse000061), then cadaverine (bmse000072).
PAPER_TARGETS: tuple[str, ...] = ("bmse000643", "bmse000364", "bmse000489")
PAPER_ADDED: tuple[str, ...] = ("bmse000060", "bmse000061", "bmse000072")


def _kind(data: Path) -> tuple[str, Path]:
    """("substructuresnmr" | "bmrb2d" | "nmrshiftdb2", path) of a --data argument."""
    p = Path(data)
    if p.is_dir():
        if (p / "index.csv").is_file():
            p = p / "index.csv"
        elif (p / "nmrshiftdb2" / "molecules.jsonl.gz").is_file() and not (p / "substructuresnmr").is_dir():
            return "nmrshiftdb2", p / "nmrshiftdb2" / "molecules.jsonl.gz"
        else:
            raise FileFormatError(f"--data: {str(data)!r} holds no index.csv; give the substructuresnmr or bmrb2d "
                                  "folder (or its index.csv), or an nmrshiftdb2 JSON-lines file")
    name = p.name.lower()
    if name.endswith((".jsonl", ".jsonl.gz")):
        return "nmrshiftdb2", p
    if not name.endswith(".csv"):
        raise FileFormatError(f"--data: {str(data)!r} is not an index.csv, a folder or a .jsonl(.gz) file")
    try:
        with open(p, newline="", encoding="utf-8-sig") as fh:
            header = next(csv.reader(fh), [])
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise FileFormatError(f"--data: {str(p)!r} cannot be read as CSV ({exc})") from None
    cols = set(header)
    if {"split", "class", "components"} <= cols:
        return "substructuresnmr", p
    if {"superclass", "inchikey", "experiment"} <= cols:
        return "bmrb2d", p
    raise FileFormatError(f"--data: {str(p)!r} has columns {sorted(cols)}; expected the substructuresnmr index "
                          "(file, experiment, split, class, components, ...) or the bmrb2d index (file, experiment, "
                          "inchikey, superclass, ...)")


def evaluate(data: Path, *, limit: int | None = None, seed: int = 0, checkpoint: str | None = None) -> dict[str, Any]:
    """Run the benchmark that fits ``data`` (see the module docstring) and return flat metrics."""
    import torch

    # one thread: these small convolutions gain nothing from a second thread, and on a busy machine
    # two threads were up to 10x slower (spinning workers)
    torch.set_num_threads(1)
    kind, path = _kind(Path(data))
    metrics: dict[str, Any] = {"data_kind": kind}
    if kind == "bmrb2d":
        metrics.update(evaluate_bmrb2d(path, limit=limit, checkpoint=checkpoint))
    elif kind == "substructuresnmr":
        metrics.update(evaluate_substructures(path, limit=limit, seed=seed, checkpoint=checkpoint))
        records = _records_near(path)
        if records is not None:
            metrics.update(evaluate_explanations(records, limit=20 if limit else None, seed=seed))
        else:
            metrics.update({f"explain.{m}.{k}": None for m in EXPLAIN_METHODS
                            for k in ("peak_mass_fraction", "pointing_game")})
    else:
        metrics.update(evaluate_explanations(path, limit=limit, seed=seed, checkpoint=checkpoint))
    return metrics


def _records_near(path: Path) -> Path | None:
    """The nmrshiftdb2 records next to a substructuresnmr folder, else under NMRLENS_DATA_DIR, else None."""
    import os

    folder = path.parent if path.is_file() else path
    for root in (folder.parent, Path(os.environ.get("NMRLENS_DATA_DIR", "") or "/nonexistent")):
        cand = root / "nmrshiftdb2" / "molecules.jsonl.gz"
        if cand.is_file():
            return cand
    return None


# ----------------------------------------------------------------------------- substructures (CV)


def stratified_folds(labels: Sequence[str], k: int, seed: int) -> list[np.ndarray]:
    """Stratified k-fold split: shuffle each class (seeded), deal the class-ordered list round robin."""
    if k < 2 or k > len(labels):
        raise NmrLensError(f"k: got {k}, expected 2..{len(labels)} (the number of samples)")
    rng = np.random.default_rng(seed)
    order: list[int] = []
    for c in sorted(set(labels)):
        idx = np.asarray([i for i, lab in enumerate(labels) if lab == c])
        rng.shuffle(idx)
        order.extend(idx.tolist())
    folds: list[list[int]] = [[] for _ in range(k)]
    start = int(rng.integers(0, k))
    for j, i in enumerate(order):
        folds[(start + j) % k].append(i)
    return [np.asarray(sorted(f), dtype=np.int64) for f in folds]


def _cv_config(checkpoint: str | None) -> Any:
    from nmrlens.train.classify2d import Classify2DConfig
    from nmrlens.train.config import configs_dir, load_config

    cfg = load_config(Classify2DConfig, configs_dir() / "classify2d_cv.toml")
    if checkpoint == "scratch":
        cfg.model.init = ""
    elif checkpoint:
        cfg.model.init = checkpoint
    if cfg.model.init:
        from nmrlens.models.classify2d import DEFAULT_CHECKPOINTS
        from nmrlens.models.checkpoint import weights_path

        key = cfg.model.init
        if key in DEFAULT_CHECKPOINTS and not weights_path(DEFAULT_CHECKPOINTS[key]).with_suffix(".json").is_file():
            log.warning("init checkpoint %r is not installed: CV models start from random weights", key)
            cfg.model.init = ""
    return cfg


def cross_validate(compounds: Sequence[Any], size: Sequence[int], cfg: Any, k: int, repeats: int, seed: int,
                   on_fold: Any = None, negatives: Any = None) -> list[float]:
    """Accuracy per repeat of stratified k-fold CV on ``compounds`` (ImageSamples; a model is trained
    per fold with ``cfg``; ``negatives``: simulated unrelated spectra used as mixture partners)."""
    from nmrlens.models.classify2d import SUBSTRUCTURE_CLASSES
    from nmrlens.train.classify2d import build_model, fit, predict_proba, to_tensors

    classes = list(SUBSTRUCTURE_CLASSES)
    labels = [s.label for s in compounds]
    data = to_tensors(compounds, cfg.model.branches, classes, True, size)
    true = data.y.argmax(1).numpy()
    accs = []
    for r in range(repeats):
        rep_seed = seed * 1000 + r
        folds = stratified_folds(labels, k, rep_seed)
        correct = 0
        for f, test_idx in enumerate(folds):
            train_idx = np.setdiff1d(np.arange(len(labels)), test_idx)
            cfg.train.seed = rep_seed * 100 + f
            model = build_model(cfg.model, classes, True, "substructure")
            fit(model, data.subset(train_idx), cfg.train, negatives=negatives)
            pred = predict_proba(model, data.subset(test_idx)).argmax(1)
            correct += int((pred == true[test_idx]).sum())
            if on_fold is not None:
                on_fold(model, test_idx, r, f)
        accs.append(correct / len(labels))
    return accs


def evaluate_substructures(path: Path, *, limit: int | None = None, seed: int = 0,
                           checkpoint: str | None = None) -> dict[str, Any]:
    """Cross-validation and mixtures on the substructuresnmr folder (see the module docstring)."""
    from nmrlens.data.images2d import load_substructure_benchmark

    import torch

    cfg = _cv_config(checkpoint)
    torch.set_num_threads(max(1, int(cfg.train.threads)))
    size = (cfg.model.image_h, cfg.model.image_w)
    bench = load_substructure_benchmark(path, size)
    repeats = _REPEATS if limit is None else max(1, min(int(limit), _REPEATS))
    out: dict[str, Any] = {
        "substructure.n_compounds": len(bench.compounds),
        "substructure.n_duplicates_dropped": len(bench.duplicates),
        "substructure.duplicates": "; ".join(f"{a} == {b}" for a, b in bench.duplicates),
        "substructure.repeats": repeats,
        "substructure.init": cfg.model.init or "scratch",
    }
    from nmrlens.train.classify2d import negative_pool

    t0 = time.perf_counter()
    negatives = negative_pool(cfg.data, size, cfg.model.branches, seed=seed) if cfg.train.negative_mix_prob > 0 else None
    out["substructure.simulated_mixture_partners"] = 0 if negatives is None else len(negatives)
    mix = _MixtureScorer(bench, cfg, seed)
    for k in CV_KS:
        accs = cross_validate(bench.compounds, size, cfg, k, repeats, seed, on_fold=mix if k == 5 else None,
                              negatives=negatives)
        out[f"substructure.cv{k}.mean_accuracy"] = float(np.mean(accs))
        out[f"substructure.cv{k}.std"] = float(np.std(accs))
        out[f"substructure.cv{k}.seeds"] = ",".join(str(seed * 1000 + r) for r in range(repeats))
        log.info("cv%d: %.4f +- %.4f (%.0f s)", k, np.mean(accs), np.std(accs), time.perf_counter() - t0)
    out["substructure.cv_seconds"] = round(time.perf_counter() - t0, 1)
    out.update(mix.metrics())
    # single-branch models (one experiment), k = 5
    import copy

    for branch in ("HSQC", "HMBC"):
        one = copy.deepcopy(cfg)
        one.model.branches = [branch]
        one.train.branch_dropout = 0.0
        comps = [s for s in bench.compounds if s.images.get(branch) is not None]
        accs = cross_validate(comps, size, one, 5, repeats, seed)
        out[f"substructure.{branch.lower()}.cv5.mean_accuracy"] = float(np.mean(accs))
        out[f"substructure.{branch.lower()}.cv5.std"] = float(np.std(accs))
        out[f"substructure.{branch.lower()}.n_compounds"] = len(comps)
    out["substructure.seconds"] = round(time.perf_counter() - t0, 1)
    return out


class _MixtureScorer:
    """Called for every k=5 fold model: scores its held-out compounds in artificial and peer mixtures."""

    def __init__(self, bench: Any, cfg: Any, seed: int) -> None:
        from nmrlens.models.classify2d import SUBSTRUCTURE_CLASSES

        self.bench, self.cfg = bench, cfg
        self.classes = list(SUBSTRUCTURE_CLASSES)
        self.rng = np.random.default_rng(seed + 12345)
        self.probs: dict[int, list[float]] = {n: [] for n in range(4)}
        self.hits: dict[int, list[bool]] = {n: [] for n in range(4)}
        self.detected: dict[int, list[bool]] = {n: [] for n in range(4)}
        self.peer: dict[int, list[float]] = {}
        self.peer_hits: dict[int, list[bool]] = {}
        self.peer_cases: dict[int, dict[str, list[bool]]] = {}
        self.peer_detected: dict[int, list[bool]] = {}
        self.paper: dict[int, dict[str, list[tuple[bool, bool, float]]]] = {}

    def __call__(self, model: Any, test_idx: np.ndarray, repeat: int, fold: int) -> None:
        import torch

        from nmrlens.models.classify2d import stack_branches

        branches = model.branches
        unrelated = [u for u in self.bench.unrelated if all(u.images.get(b) is not None for b in branches)]
        xs, ps, targets, ns = [], [], [], []
        for i in test_idx.tolist():
            s = self.bench.compounds[i]
            t = self.classes.index(s.label)
            for n in range(4):
                draws = 1 if n == 0 else _MIX_DRAWS
                for _ in range(draws):
                    if n > len(unrelated):
                        continue
                    parts = [unrelated[j] for j in self.rng.choice(len(unrelated), size=n, replace=False)] if n else []
                    imgs = {}
                    for b in branches:
                        img = s.images.get(b)
                        if img is not None:
                            for u in parts:
                                img = np.maximum(img, u.images[b])
                        imgs[b] = img
                    x, p = stack_branches(imgs, branches)
                    xs.append(x)
                    ps.append(p)
                    targets.append(t)
                    ns.append(n)
            if s.key in PAPER_TARGETS:
                added = {u.key: u for u in self.bench.unrelated}
                for n in range(4):
                    if all(a in added for a in PAPER_ADDED[:n]):
                        imgs = {}
                        for b in branches:
                            img = s.images.get(b)
                            if img is not None:
                                for a in PAPER_ADDED[:n]:
                                    if added[a].images.get(b) is not None:
                                        img = np.maximum(img, added[a].images[b])
                            imgs[b] = img
                        x, p = stack_branches(imgs, branches)
                        with torch.no_grad():
                            model.eval()
                            pr = model.probabilities(model(x, p))[0]
                        self.paper.setdefault(n, {}).setdefault(s.key, []).append(
                            (int(pr.argmax()) == t, float(pr[t]) >= 0.5, float(pr[t])))
            # the peer's own mixtures of this compound (one experiment each; the other branch is absent)
            for m in self.bench.mixtures:
                comps = m.meta.get("components", [])
                if comps and comps[0] == s.key and "+" not in m.label and m.label == s.label:
                    x, p = stack_branches(m.images, branches)
                    with torch.no_grad():
                        model.eval()
                        logits = model(x, p)
                        prob = float(model.probabilities(logits)[0, t])
                        top = int(logits[0].argmax())
                    n_added = len(comps) - 1
                    self.peer.setdefault(n_added, []).append(prob)
                    self.peer_hits.setdefault(n_added, []).append(top == t)
                    self.peer_cases.setdefault(n_added, {}).setdefault(f"{s.key}:{m.meta.get('experiment')}",
                                                                      []).append(top == t)
                    self.peer_detected.setdefault(n_added, []).append(prob >= 0.5)
        if not xs:
            return
        with torch.no_grad():
            model.eval()
            logits = model(torch.cat(xs), torch.cat(ps))
            probs = model.probabilities(logits).numpy()
        for row, (t, n) in enumerate(zip(targets, ns)):
            self.probs[n].append(float(probs[row, t]))
            self.hits[n].append(bool(probs[row].argmax() == t))
            self.detected[n].append(bool(probs[row, t] >= 0.5))

    def metrics(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for n in range(4):
            if self.probs[n]:
                out[f"mixture.{n}.target_probability_mean"] = float(np.mean(self.probs[n]))
                out[f"mixture.{n}.accuracy"] = float(np.mean(self.hits[n]))
                out[f"mixture.{n}.detected"] = float(np.mean(self.detected[n]))
                out[f"mixture.{n}.n"] = len(self.probs[n])
        for n in sorted(self.paper):
            cases = self.paper[n]
            allv = [v for vals in cases.values() for v in vals]
            out[f"mixture.paper.{n}.accuracy"] = float(np.mean([v[0] for v in allv]))
            out[f"mixture.paper.{n}.detected"] = float(np.mean([v[1] for v in allv]))
            out[f"mixture.paper.{n}.cases"] = "; ".join(
                f"{k} {sum(v[0] for v in vals)}/{len(vals)} p={np.mean([v[2] for v in vals]):.2f}"
                for k, vals in sorted(cases.items()))
        for n in sorted(self.peer):
            out[f"peer_mixture.{n}.target_probability_mean"] = float(np.mean(self.peer[n]))
            out[f"peer_mixture.{n}.accuracy"] = float(np.mean(self.peer_hits[n]))
            out[f"peer_mixture.{n}.detected"] = float(np.mean(self.peer_detected[n]))
            out[f"peer_mixture.{n}.n"] = len(self.peer[n])
            cases = self.peer_cases.get(n, {})
            out[f"peer_mixture.{n}.cases"] = "; ".join(f"{c} {sum(v)}/{len(v)}" for c, v in sorted(cases.items()))
        return out


# ----------------------------------------------------------------------------- bmrb2d classes


def macro_f1(true: Sequence[str], pred: Sequence[str]) -> float:
    """Macro-averaged F1 over the classes that occur in ``true`` or ``pred``."""
    labels = sorted(set(true) | set(pred))
    if not labels:
        return float("nan")
    f1s = []
    for c in labels:
        tp = sum(1 for t, p in zip(true, pred) if t == c and p == c)
        fp = sum(1 for t, p in zip(true, pred) if t != c and p == c)
        fn = sum(1 for t, p in zip(true, pred) if t == c and p != c)
        f1s.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return float(np.mean(f1s))


def evaluate_bmrb2d(path: Path, *, limit: int | None = None, checkpoint: str | None = None) -> dict[str, Any]:
    """Compound-class accuracy of the class model on the unseen compounds of a bmrb2d index."""
    import torch

    from nmrlens.data.images2d import load_bmrb2d_images
    from nmrlens.models.classify2d import SpectrumClassifier
    from nmrlens.train.classify2d import OTHER, _entry_pairs, predict_proba, to_tensors

    clf = SpectrumClassifier.load(checkpoint, task="superclass")
    model = clf.model
    level = str(model.hparams.get("task") or "superclass")
    if level not in ("superclass", "class", "subclass"):
        raise NmrLensError(f"checkpoint: task {level!r} is not a compound-class model (superclass or class)")
    seen = set(clf.sidecar.get("extra", {}).get("seen_blocks", []))
    images = load_bmrb2d_images(path, clf.size, level=level, limit=limit,
                                keep=lambda r: (r.get("inchikey") or "")[:14] not in seen)
    classes = model.classes
    out: dict[str, Any] = {"n_images": len(images), f"{level}.n_compounds": len({s.group for s in images}),
                           f"{level}.classes": len(classes)}
    prefix = level
    if not images:
        out.update({f"{prefix}.accuracy": None, f"{prefix}.macro_f1": None, f"{prefix}.majority_baseline": None})
        return out

    def names(labels: Sequence[str]) -> list[str]:
        return [lab if lab in classes else OTHER for lab in labels]

    data = to_tensors(images, model.branches, classes, False, clf.size)
    probs = predict_proba(model, data)
    pred = [classes[i] for i in probs.argmax(1)]
    true = names([s.label for s in images])
    acc = float(np.mean([p == t for p, t in zip(pred, true)]))
    counts = clf.sidecar.get("training_data", {}).get("class_compounds") or {}
    majority = max(counts, key=counts.get) if counts else max(set(true), key=true.count)
    majority = majority if majority in classes else OTHER
    out.update({f"{prefix}.accuracy": acc, f"{prefix}.macro_f1": macro_f1(true, pred),
                f"{prefix}.majority_baseline": float(np.mean([t == majority for t in true])),
                f"{prefix}.majority_class": majority})
    for exp in ("HSQC", "HMBC"):
        sel = [i for i, s in enumerate(images) if s.meta["experiment"] == exp]
        out[f"{prefix}.{exp.lower()}.accuracy"] = float(np.mean([pred[i] == true[i] for i in sel])) if sel else None
        out[f"{prefix}.{exp.lower()}.n_images"] = len(sel)
    pairs = _entry_pairs(images)
    if pairs:
        pdata = to_tensors(pairs, model.branches, classes, False, clf.size)
        with torch.no_grad():
            pp = predict_proba(model, pdata).argmax(1)
        ptrue = names([s.label for s in pairs])
        out[f"{prefix}.both.accuracy"] = float(np.mean([classes[i] == t for i, t in zip(pp, ptrue)]))
        out[f"{prefix}.both.n_entries"] = len(pairs)
    return out


# ----------------------------------------------------------------------------- explanations


def evaluate_explanations(records: Path, *, limit: int | None = None, seed: int = 0,
                          checkpoint: str | None = None, max_spectra: int = 60) -> dict[str, Any]:
    """Peak-level explanation scores on simulated test-split spectra (see the module docstring)."""
    import torch

    from nmrlens.data.datasets import iter_nmrshiftdb2
    from nmrlens.data.images2d import iter_simulated, render_sim
    from nmrlens.explain import make_explainer
    from nmrlens.explain.scores import chance_mass_fraction, peak_mass_fraction, pointing_game
    from nmrlens.models.classify2d import SpectrumClassifier, stack_branches
    from nmrlens.spectra.render2d import disk_mask

    keys = {f"explain.{m}.{k}": None for m in EXPLAIN_METHODS for k in ("peak_mass_fraction", "pointing_game")}
    try:
        clf = SpectrumClassifier.load(checkpoint, task="simulated")
    except DataNotFoundError as exc:
        log.warning("explanations skipped: %s", exc)
        return keys
    model = clf.model
    predictor = None
    try:
        from nmrlens.models.shifts import ShiftPredictor

        predictor = ShiftPredictor.load(None)
    except (NmrLensError, OSError) as exc:
        log.warning("no shift model (%s): only atom-assigned test records are simulated", exc)
    cap = min(int(limit), max_spectra) if limit else max_spectra
    t0 = time.perf_counter()
    positives, negatives = [], []
    for s in iter_simulated(iter_nmrshiftdb2(records), predictor=predictor, splits=("test",),
                            negatives_per_mille=60):
        (positives if s.labels else negatives).append(s)
        if len(positives) >= cap and len(negatives) >= 30:
            break
    size = clf.size
    rng = np.random.default_rng(seed + 777)
    # the window/scale of the rendering is needed for the masks: render without window jitter
    from nmrlens.data.images2d import RandomStyle

    style = RandomStyle(window_shift_f2=0.0, window_shift_f1=0.0, window_scale=0.0, shift_noise_f2=0.0,
                        shift_noise_f1=0.0, drop_peak=0.0)
    scores: dict[tuple[str, int, str], list[float]] = {}
    points: dict[tuple[str, int, str], list[float]] = {}
    chance: dict[int, list[float]] = {}
    probs: dict[int, list[float]] = {}
    explainers = {(m, b): make_explainer(m, model, branch=b) for m in EXPLAIN_METHODS for b in model.branches}
    for s in positives[:cap]:
        for n in range(4):
            if n and len(negatives) < n:
                continue
            parts = [negatives[j] for j in rng.choice(len(negatives), size=n, replace=False)] if n else []
            imgs, masks = {}, {}
            for b in model.branches:
                spec = s.hsqc if b == "HSQC" else s.hmbc
                extra = [p.hsqc if b == "HSQC" else p.hmbc for p in parts]
                imgs[b] = render_sim(spec, size, rng, style, extra=extra)
                masks[b] = {}
                for lab in s.labels:
                    on = spec.on[lab]
                    from nmrlens.spectra.render2d import peak_pixels

                    rows, cols = peak_pixels(spec.f2[on], spec.f1[on], size)
                    masks[b][lab] = disk_mask(rows, cols, size, radius=1.5)
            x, present = stack_branches(imgs, model.branches)
            with torch.no_grad():
                pr = model.probabilities(model(x, present))[0].numpy()
            for lab in s.labels:
                t = model.classes.index(lab)
                probs.setdefault(n, []).append(float(pr[t]))
                for b in model.branches:
                    mask = masks[b][lab]
                    if not mask.any():
                        continue
                    chance.setdefault(n, []).append(chance_mass_fraction(mask))
                    for m in EXPLAIN_METHODS:
                        heat = explainers[(m, b)](x, target=t, present=present)[0]
                        frac = peak_mass_fraction(heat, mask)
                        if not math.isnan(frac):
                            scores.setdefault((m, n, b), []).append(frac)
                        points.setdefault((m, n, b), []).append(float(pointing_game(heat, mask)))
    out: dict[str, Any] = dict(keys)
    out["explain.n_spectra"] = min(len(positives), cap)
    out["explain.seconds"] = round(time.perf_counter() - t0, 1)
    if chance.get(0):
        out["explain.chance.peak_mass_fraction"] = float(np.mean(chance[0]))
    for m in EXPLAIN_METHODS:
        for n in range(4):
            tag = "" if n == 0 else f".mixture{n}"
            allf = [v for b in model.branches for v in scores.get((m, n, b), [])]
            allp = [v for b in model.branches for v in points.get((m, n, b), [])]
            if allf:
                out[f"explain.{m}{tag}.peak_mass_fraction"] = float(np.mean(allf))
            if allp:
                out[f"explain.{m}{tag}.pointing_game"] = float(np.mean(allp))
            if n == 0:
                for b in model.branches:
                    if scores.get((m, 0, b)):
                        out[f"explain.{m}.{b.lower()}.peak_mass_fraction"] = float(np.mean(scores[(m, 0, b)]))
                        out[f"explain.{m}.{b.lower()}.pointing_game"] = float(np.mean(points[(m, 0, b)]))
    for n in range(1, 4):
        if chance.get(n):
            out[f"explain.chance.mixture{n}.peak_mass_fraction"] = float(np.mean(chance[n]))
    for n in range(4):
        if probs.get(n):
            out[f"mixture.sim.{n}.target_probability_mean"] = float(np.mean(probs[n]))
    return out
