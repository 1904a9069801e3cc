"""``nmrlens evaluate spectrum``: predicted vs experimental peak lists, per prediction variant.

Variants: ``atom_model`` (peak lists built from the atom-level shift model), ``token_model``
(greedy decoding of the peak-list token model) and ``ensemble`` (the token model's greedy and
sampled candidates, keeping per nucleus the one most similar to the atom model's spectrum).
Only held-out records are scored (:func:`nmrlens.data.splits.is_held_out`). Keys
``<variant>.c13_similarity_mean``, ``<variant>.h1_similarity_mean`` (peak-aware similarity),
``<variant>.c13_peak_count_mae`` (peaks) and ``<variant>.h1_peak_count_mae`` (peaks expanded by
nH, unknown nH counted as 1), plus ``n_c13``, ``n_h1`` and ``best_variant``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["evaluate", "VARIANTS", "expanded_count"]

VARIANTS = ("atom_model", "token_model", "ensemble")


def expanded_count(sp: Any) -> int:
    """Number of peaks; for 1H the number of protons (nH per multiplet, unknown nH counted as 1)."""
    if sp.nucleus == "1H":
        return int(sum(m.nH or 1 for m in sp.peaks))
    return int(sum(p.count or 1 for p in sp.peaks))


def evaluate(data: Path, *, limit: int | None = None, seed: int = 0, checkpoint: str | None = None,
             samples: int = 8) -> dict[str, Any]:
    """Score the three prediction variants on the held-out records of ``data`` (nmrshiftdb2 JSON lines).

    ``checkpoint`` names the peak-list token model (default: the shipped one); the atom model is the shipped one.
    """
    from rdkit import Chem

    from nmrlens import api
    from nmrlens.data.datasets import iter_nmrshiftdb2
    from nmrlens.data.spectrumdata import SpectrumBuildReport, spectrum_datapoint
    from nmrlens.data.splits import is_held_out
    from nmrlens.models.peaklist import PeakListPredictor
    from nmrlens.similarity import peak_similarity

    items = []
    report = SpectrumBuildReport()
    for record in iter_nmrshiftdb2(data):
        if not is_held_out(record):
            continue
        dp = spectrum_datapoint(record, report)
        if dp is not None:
            items.append(dp)
            if limit is not None and len(items) >= limit:
                break
    mols = [Chem.MolFromSmiles(dp.smiles) for dp in items]
    atom = api.predict_many(mols) if mols else []
    token = PeakListPredictor.load(checkpoint) if mols else None
    scores: dict[str, dict[str, list[float]]] = {v: {k: [] for k in ("c13_sim", "h1_sim", "c13_cnt", "h1_cnt")} for v in VARIANTS}
    for nuc, key in (("13C", "c13"), ("1H", "h1")):
        idx = [i for i, dp in enumerate(items) if dp.query.spectrum(nuc) is not None]
        if not idx:
            continue
        cands = token.predict_mols([mols[i] for i in idx], nuc, samples=samples, seed=seed)  # type: ignore[union-attr]
        for i, cs in zip(idx, cands):
            exp = items[i].query.spectrum(nuc)
            a = atom[i].query.spectrum(nuc)
            best = max(cs, key=lambda c: peak_similarity(a, c) if c.peaks else -1.0)
            for variant, sp in (("atom_model", a), ("token_model", cs[0]), ("ensemble", best)):
                scores[variant][f"{key}_sim"].append(peak_similarity(exp, sp))
                scores[variant][f"{key}_cnt"].append(abs(expanded_count(exp) - expanded_count(sp)))
    metrics: dict[str, Any] = {}
    for v in VARIANTS:
        s = scores[v]
        metrics[f"{v}.c13_similarity_mean"] = float(np.mean(s["c13_sim"])) if s["c13_sim"] else None
        metrics[f"{v}.h1_similarity_mean"] = float(np.mean(s["h1_sim"])) if s["h1_sim"] else None
        metrics[f"{v}.c13_peak_count_mae"] = float(np.mean(s["c13_cnt"])) if s["c13_cnt"] else None
        metrics[f"{v}.h1_peak_count_mae"] = float(np.mean(s["h1_cnt"])) if s["h1_cnt"] else None
    metrics["n_c13"] = len(scores["atom_model"]["c13_sim"])
    metrics["n_h1"] = len(scores["atom_model"]["h1_sim"])
    metrics["n_molecules"] = len(items)
    overall = {v: np.nanmean([metrics[f"{v}.c13_similarity_mean"] or np.nan, metrics[f"{v}.h1_similarity_mean"] or np.nan])
               for v in VARIANTS}
    metrics["best_variant"] = max(overall, key=lambda v: -1 if np.isnan(overall[v]) else overall[v]) if items else None
    metrics["ensemble_samples"] = samples
    return metrics
