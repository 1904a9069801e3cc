"""``nmrlens evaluate inn``: the invertible structure <-> 13C-code network on held-out molecules.

``--data`` is the RevMolSpec CSV (rows of the *test* split of the recorded molecule-level split:
:func:`nmrlens.data.splits.split_of_block` of the InChIKey block computed from each row's bond
matrix) or an nmrshiftdb2 JSON-lines file (records :func:`nmrlens.data.splits.is_held_out`
accepts). Structures the checkpoint's layout cannot hold are skipped and counted. Default
checkpoint: the shipped ``invert_revmolspec`` for a CSV, ``invert_general`` for JSON lines.
``--limit N`` scores the first N held-out molecules.

Metrics (flat keys):

- ``inn.macro_f1``: bit-wise F1 of the predicted code (forward direction, true structure in),
  averaged over the bits that are set in the truth or the prediction of at least one test
  molecule (a bit never set in either has no defined F1 and is left out);
  ``inn.random_macro_f1``: the same for a predictor that sets each bit with its training frequency
  (mean of 20 seeded draws); ``inn.micro_f1``, ``inn.bit_accuracy``, ``inn.random_bit_accuracy``.
- ``inn.max_inversion_error``: ``max |x - inverse(forward(x))|`` over the test tensors, computed as
  the model runs (float32); ``inn.max_inversion_error_float64``: the same in float64.
- ``inn.valid_fraction``: valid molecules (one connected, valence-checked, RDKit-sanitised
  structure) among all decoded inverse samples (``inn.n_samples`` per molecule), with the shipped
  decoder (disconnected pieces joined by their strongest fitting bonds);
  ``inn.valid_fraction_unjoined``: the same without joining pieces.
- ``inn.top10_hit`` / ``inn.top1_hit``: the true structure (InChIKey connectivity block) among the
  10 / 1 best candidates of the best available ranking (``inn.ranking``);
  ``inn.top10_hit_forward_code``: ranking by forward-code agreement only;
  ``inn.top10_hit_shift_model``: ranking by the shift model's predicted spectrum plus the forward
  code (None when no shift model is available); ``inn.candidate_hit``: the true structure among
  all candidates (the ceiling of any ranking); ``inn.mean_candidates``.
- ``inn.top1_tanimoto`` / ``inn.top10_max_tanimoto``: Morgan-fingerprint Tanimoto similarity of
  the best (closest of the best 10) candidate to the true structure; ``inn.shuffled_top1_tanimoto``:
  the same against another query's true structure (chance level);
  ``inn.top1_tanimoto_forward_code``: top-1 similarity of the forward-code-only ranking.
- ``inn.macro_f1_tolerant``, ``inn.micro_f1``, ``inn.sample_f1`` (per-molecule F1) and their
  ``inn.random_*`` counterparts.
- ``inn.shift_model_macro_f1`` (and ``_tolerant``, ``micro``, ``sample``): the same code metrics
  for the shift model's predicted spectra of the true structures, a reference for what an
  atom-level 13C predictor reaches on the exact 1.6 ppm windows (None without a shift model).
- ``inn.n_test``, ``inn.n_skipped``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Sequence

import numpy as np

__all__ = ["evaluate", "macro_f1", "code_metrics", "random_baseline", "inversion_metrics", "N_SAMPLES"]

log = logging.getLogger(__name__)
#: Latent samples inverted per query.
N_SAMPLES = 100
_RANDOM_DRAWS = 20


def macro_f1(pred: np.ndarray, true: np.ndarray) -> float:
    """Bit-wise F1 averaged over bits set in ``true`` or ``pred`` of at least one row (``(n, bits)`` 0/1)."""
    p = np.asarray(pred) > 0
    t = np.asarray(true) > 0
    tp = (p & t).sum(0)
    fp = (p & ~t).sum(0)
    fn = (~p & t).sum(0)
    defined = (tp + fp + fn) > 0
    if not defined.any():
        return float("nan")
    f1 = 2 * tp[defined] / (2 * tp[defined] + fp[defined] + fn[defined])
    return float(f1.mean())


def _dilate(a: np.ndarray) -> np.ndarray:
    out = a.copy()
    out[:, 1:] |= a[:, :-1]
    out[:, :-1] |= a[:, 1:]
    return out


def tolerant_macro_f1(pred: np.ndarray, true: np.ndarray) -> float:
    """Bit-wise macro F1 with a one-window tolerance: a predicted bit next to a true bit is a true
    positive, a true bit with a predicted bit next to it is not missed (the loss's tolerance)."""
    p = np.asarray(pred) > 0
    t = np.asarray(true) > 0
    tp = (p & _dilate(t)).sum(0)
    fp = (p & ~_dilate(t)).sum(0)
    fn = (t & ~_dilate(p)).sum(0)
    defined = (tp + fp + fn) > 0
    if not defined.any():
        return float("nan")
    return float((2 * tp[defined] / (2 * tp[defined] + fp[defined] + fn[defined])).mean())


def sample_f1(pred: np.ndarray, true: np.ndarray) -> float:
    """F1 of each molecule's predicted code against its true code, averaged over molecules."""
    p = np.asarray(pred) > 0
    t = np.asarray(true) > 0
    tp, fp, fn = (p & t).sum(1), (p & ~t).sum(1), (~p & t).sum(1)
    den = 2 * tp + fp + fn
    return float(np.where(den > 0, 2 * tp / np.maximum(den, 1), 1.0).mean())


def code_metrics(pred: np.ndarray, true: np.ndarray) -> dict[str, float]:
    """Macro F1 (strict and with one-window tolerance), micro F1, per-molecule F1 and bit accuracy."""
    p = np.asarray(pred) > 0
    t = np.asarray(true) > 0
    tp, fp, fn = (p & t).sum(), (p & ~t).sum(), (~p & t).sum()
    micro = float(2 * tp / (2 * tp + fp + fn)) if (tp + fp + fn) else float("nan")
    return {"macro_f1": macro_f1(p, t), "macro_f1_tolerant": tolerant_macro_f1(p, t), "micro_f1": micro,
            "sample_f1": sample_f1(p, t), "bit_accuracy": float((p == t).mean())}


def random_baseline(bit_freq: np.ndarray, true: np.ndarray, seed: int = 0, draws: int = _RANDOM_DRAWS) -> dict[str, float]:
    """Code metrics of a predictor that sets bit k with probability ``bit_freq[k]`` (mean of ``draws`` draws)."""
    rng = np.random.default_rng(seed)
    t = np.asarray(true) > 0
    rows = [code_metrics(rng.random(t.shape) < np.asarray(bit_freq)[None, :], t) for _ in range(draws)]
    return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}


def inversion_metrics(predictor: Any, items: Sequence[Any], *, n_samples: int = N_SAMPLES, seed: int = 0,
                      temperature: float | None = None, use_shift_model: bool = True,
                      shift_checkpoint: str | None = None, refine: int | None = None) -> dict[str, Any]:
    """Generation by inversion for each item's code: valid fraction, candidate counts and top-k hits
    of the forward-code ranking and (when a shift model is available) the shift-model ranking."""
    from nmrlens.models.invert import predict_c13

    per_item = []
    n_valid = n_strict = 0
    for k, it in enumerate(items):
        smp = predictor.sample_structures(it.code, n_samples, seed=seed * 100_003 + k, temperature=temperature,
                                          refine=refine)
        n_valid += smp.n_valid
        n_strict += smp.n_valid_strict
        per_item.append(smp.structures)
    predicted: dict[str, list[float] | None] | None = None
    if use_shift_model:
        unique = sorted({s for st in per_item for s, _, _ in st})
        preds = predict_c13(unique, shift_checkpoint) if unique else []
        if preds is not None:
            predicted = dict(zip(unique, preds))
    hits = {"fwd1": 0, "fwd10": 0, "sh1": 0, "sh10": 0, "any": 0}
    n_cands = 0
    tops: list[list[str]] = []
    tops_fwd: list[list[str]] = []
    for it, structures in zip(items, per_item):
        n_cands += len(structures)
        keys = {key for _, key, _ in structures}
        hits["any"] += it.key in keys
        fwd = predictor.rank(it.code, structures)
        hits["fwd1"] += any(c.key == it.key for c in fwd[:1])
        hits["fwd10"] += any(c.key == it.key for c in fwd[:10])
        best = fwd
        tops_fwd.append([c.smiles for c in fwd[:10]])
        if predicted is not None:
            sh = predictor.rank(it.code, structures, shifts=it.shifts, predicted_shifts=[predicted[s] for s, _, _ in structures])
            hits["sh1"] += any(c.key == it.key for c in sh[:1])
            hits["sh10"] += any(c.key == it.key for c in sh[:10])
            best = sh
        tops.append([c.smiles for c in best[:10]])
    n = max(1, len(items))
    have_shift = predicted is not None
    return {
        "valid_fraction": n_valid / max(1, n_samples * len(items)),
        "valid_fraction_unjoined": n_strict / max(1, n_samples * len(items)),
        "mean_candidates": n_cands / n,
        "candidate_hit": hits["any"] / n,
        "top1_hit_forward_code": hits["fwd1"] / n,
        "top10_hit_forward_code": hits["fwd10"] / n,
        "top1_hit_shift_model": hits["sh1"] / n if have_shift else None,
        "top10_hit_shift_model": hits["sh10"] / n if have_shift else None,
        "top1_hit": (hits["sh1"] if have_shift else hits["fwd1"]) / n,
        "top10_hit": (hits["sh10"] if have_shift else hits["fwd10"]) / n,
        "ranking": "shift_model+forward_code" if have_shift else "forward_code",
        **similarity_metrics([it.smiles for it in items], tops, seed=seed),
        "top1_tanimoto_forward_code": similarity_metrics([it.smiles for it in items], tops_fwd, seed=seed)["top1_tanimoto"],
    }


def similarity_metrics(true_smiles: Sequence[str], tops: Sequence[Sequence[str]], seed: int = 0) -> dict[str, float | None]:
    """How close the best candidates come to the true structures (Morgan radius-2 Tanimoto):
    ``top1_tanimoto`` (best candidate), ``top10_max_tanimoto`` (closest of the best 10) and
    ``shuffled_top1_tanimoto``, the top-1 similarity to the true structure of *another* query (a
    random pairing, seeded): the chance level a query-specific generator must beat."""
    from rdkit import Chem, DataStructs
    from rdkit.Chem import rdFingerprintGenerator

    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)

    def fp(smi: str):  # noqa: ANN202 - RDKit bit vector
        mol = Chem.MolFromSmiles(smi)
        return gen.GetFingerprint(mol) if mol is not None else None

    pairs = [(fp(t), [fp(c) for c in top]) for t, top in zip(true_smiles, tops)]
    top1, top10 = [], []
    for t, cands in pairs:
        sims = [DataStructs.TanimotoSimilarity(t, c) for c in cands if c is not None and t is not None]
        top1.append(sims[0] if sims else 0.0)
        top10.append(max(sims) if sims else 0.0)
    shuffled = []
    if len(pairs) > 1:
        perm = np.random.default_rng(seed).permutation(len(pairs))
        perm = np.where(perm == np.arange(len(pairs)), np.roll(perm, 1), perm)
        for i, j in enumerate(perm):
            t, cands = pairs[i][0], pairs[int(j)][1]
            c = cands[0] if cands else None
            shuffled.append(DataStructs.TanimotoSimilarity(t, c) if (t is not None and c is not None) else 0.0)
    return {"top1_tanimoto": float(np.mean(top1)) if top1 else None,
            "top10_max_tanimoto": float(np.mean(top10)) if top10 else None,
            "shuffled_top1_tanimoto": float(np.mean(shuffled)) if shuffled else None}


def forward_metrics(predictor: Any, items: Sequence[Any], seed: int = 0) -> dict[str, Any]:
    """Forward-direction code metrics, the random baseline and the max inversion error on items."""
    import torch

    x = np.stack([it.x for it in items]).astype(np.float32)
    true = np.stack([it.code for it in items])
    probs = predictor.code_probabilities(x)
    res = code_metrics(probs > 0.5, true)
    rnd = random_baseline(predictor.model.bit_freq.numpy(), true, seed=seed)
    import copy

    model64 = copy.deepcopy(predictor.model).double()
    with torch.no_grad():
        err = err64 = 0.0
        for start in range(0, len(x), 256):
            xb = torch.from_numpy(x[start:start + 256])
            err = max(err, float((predictor.model.reconstruct(xb) - xb).abs().max()))
            xd = xb.double()
            err64 = max(err64, float((model64.reconstruct(xd) - xd).abs().max()))
    return {**res, **{f"random_{k}": v for k, v in rnd.items()}, "max_inversion_error": err,
            "max_inversion_error_float64": err64}


def shift_model_reference(items: Sequence[Any], shift_checkpoint: str | None = None) -> dict[str, Any]:
    """Code metrics of the shift model's predicted spectra of the true structures (a reference for
    the forward direction: how well an atom-level 13C predictor hits the 1.6 ppm windows); None
    values when no shift model is available."""
    from nmrlens.models.invert import predict_c13
    from nmrlens.spectra.code import spectrum_code

    keys = ("macro_f1", "macro_f1_tolerant", "micro_f1", "sample_f1")
    preds = predict_c13([it.smiles for it in items], shift_checkpoint)
    if preds is None:
        return {f"shift_model_{k}": None for k in keys}
    pred = np.stack([spectrum_code(p) if p else np.zeros(128, np.uint8) for p in preds])
    m = code_metrics(pred, np.stack([it.code for it in items]))
    return {f"shift_model_{k}": m[k] for k in keys}


def evaluate(data: Path, *, limit: int | None = None, seed: int = 0, checkpoint: str | None = None) -> dict[str, Any]:
    """Score an invertible-network checkpoint on the held-out molecules of ``data`` (see the module docstring)."""
    from nmrlens.data.invertdata import InvertBuildReport, data_kind, load_items
    from nmrlens.errors import NmrLensError
    from nmrlens.models.invert import InversePredictor

    kind = data_kind(data)
    predictor = InversePredictor.load(checkpoint, variant="revmolspec" if kind == "revmolspec" else "general")
    report = InvertBuildReport()
    if kind == "revmolspec":
        items = load_items(data, predictor.spec, report, splits=("test",))
    else:
        items = load_items(data, predictor.spec, report, held_out_only=True)
    if limit is not None:
        items = items[:limit]
    if not items:
        raise NmrLensError(f"--data: {str(data)!r} has no held-out molecule this checkpoint can encode")
    metrics: dict[str, Any] = {}
    fwd = forward_metrics(predictor, items, seed=seed)
    inv = inversion_metrics(predictor, items, n_samples=N_SAMPLES, seed=seed)
    for k, v in {**fwd, **inv}.items():
        metrics[f"inn.{k}"] = v
    metrics.update({f"inn.{k}": v for k, v in shift_model_reference(items).items()})
    metrics["inn.n_test"] = len(items)
    metrics["inn.n_samples"] = N_SAMPLES
    metrics["inn.n_skipped"] = sum(v for k, v in report.skipped.items() if "encodable" in k or "structure" in k)
    metrics["inn.data_kind"] = kind
    metrics["inn.checkpoint"] = str(checkpoint or f"shipped {'invert_revmolspec' if kind == 'revmolspec' else 'invert_general'}")
    return metrics
