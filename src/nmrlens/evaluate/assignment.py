"""``nmrlens evaluate assignment``: atom <-> peak assignment, retrieval among 100 and isomer recognition.

Scored records: the atom-assigned records (molblock + per-peak atoms) of the file whose molecule
(InChIKey block) is not a *train* molecule of the shipped split table; the others are skipped and
counted (``n_records_seen_in_training``). On the shared nmrshiftdb2 file that is the val + test
split; on records never seen all of them.

Assignment metrics (``assign.*`` for the shipped assigner: model fused with the baseline;
``baseline.*`` for predicted shifts + optimal assignment alone). A carbon is correct when its
assigned peak is one the record assigns it to (peaks within 0.01 ppm count as one):
``c13_atom_accuracy`` (over carbons), ``c13_atom_accuracy_lt10C`` / ``_10to20C`` / ``_gt20C``
(molecules with < 10, 10..20, > 20 carbons), ``fully_correct_fraction`` (molecules whose every
labelled carbon is correct), ``h1_group_accuracy`` (proton groups whose multiplet is one of
theirs). The record's S/D/T/Q letters and nH are used as given.

Zero-shot: ``retrieval100.top1``: the record's molecule ranks first for its 13C spectrum among
itself and 99 other molecules drawn at random (seed) from the scored records of the file (fewer
when the file holds fewer); ``isomer.accuracy``: it ranks first among itself and up to 50 molecules
of the same formula but another constitution (InChIKey block) from the shared nmrshiftdb2 set
(``$NMRLENS_DATA_DIR``; the file itself when unset); ``isomer.n`` queries had at least one isomer.
"""

from __future__ import annotations

import functools
import logging
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

__all__ = ["AssignExample", "example_from_record", "load_examples", "assignment_metrics", "run_c13", "run_h1",
           "rank_candidates", "evaluate", "train_blocks"]

log = logging.getLogger(__name__)
_MULT_H = {"S": 0, "D": 1, "T": 2, "Q": 3}
SAME_PEAK_PPM = 0.01
N_RETRIEVAL = 100
MAX_ISOMERS = 50


@dataclass
class AssignExample:
    """One atom-assigned record prepared for assignment (arrays in ppm; truth per graph node)."""

    id: int
    split: str
    block: str
    formula: str
    info: Any
    c13_shifts: np.ndarray | None = None
    c13_mult: np.ndarray | None = None
    c13_truth: dict[int, list[float]] = field(default_factory=dict)
    h1_shifts: np.ndarray | None = None
    h1_nh: np.ndarray | None = None
    h1_truth: dict[int, list[float]] = field(default_factory=dict)


@functools.lru_cache(maxsize=1)
def train_blocks() -> frozenset[str]:
    """InChIKey blocks of the shipped split table's *train* molecules."""
    from nmrlens.data.splits import SPLIT_TABLE_PATH
    from nmrlens.io._base import read_text

    out = set()
    for line in read_text(SPLIT_TABLE_PATH, max_bytes=64 * 1024 * 1024).splitlines()[1:]:
        parts = line.split("\t")
        if len(parts) == 3 and parts[2] == "train":
            out.add(parts[1])
    return frozenset(out)


def _best_spectrum(record: dict[str, Any], nucleus: str) -> dict[str, Any] | None:
    cands = [s for s in record.get("spectra") or [] if isinstance(s, dict) and s.get("nucleus") == nucleus
             and s.get("peaks")]
    return max(cands, key=lambda s: len(s["peaks"])) if cands else None


def example_from_record(record: dict[str, Any]) -> AssignExample | None:
    """An :class:`AssignExample` of an atom-assigned record, or None when it has no usable 13C/1H labels
    or an unsupported molecule."""
    from nmrlens.chem.mol import parse_molblock
    from nmrlens.chem.validate import check_supported
    from nmrlens.data.splits import record_block, split_of_record
    from nmrlens.errors import NmrLensError
    from nmrlens.models.assign import prepare_mol

    if not (record.get("assigned") and isinstance(record.get("molblock"), str)):
        return None
    c13 = _best_spectrum(record, "13C")
    h1 = _best_spectrum(record, "1H")
    if c13 is None and h1 is None:
        return None
    try:
        mol = parse_molblock(record["molblock"], remove_hs=False)
        check_supported(mol)
        info = prepare_mol(mol)
        block = record_block(record)[0]
        split = split_of_record(record)
    except NmrLensError:
        return None
    node_of = {int(a): i for i, a in enumerate(info.graph.atom_map)}
    ex = AssignExample(int(record.get("nmrshiftdb2_id") or 0), split, block, str(record.get("formula") or ""), info)
    if c13 is not None and info.c_classes:
        shifts = [float(p["shift"]) for p in c13["peaks"]]
        if all(-50 <= s <= 300 for s in shifts):
            ex.c13_shifts = np.asarray(shifts)
            ex.c13_mult = np.asarray([_MULT_H.get(p.get("mult") or "", -1) for p in c13["peaks"]], dtype=np.int64)
            for p in c13["peaks"]:
                for a in p.get("atoms") or []:
                    if a in node_of and info.graph.elements[node_of[a]] == "C":
                        ex.c13_truth.setdefault(node_of[a], []).append(float(p["shift"]))
    if h1 is not None and info.h_groups:
        shifts = [float(p["shift"]) for p in h1["peaks"]]
        if all(-3 <= s <= 17 for s in shifts):
            ex.h1_shifts = np.asarray(shifts)
            ex.h1_nh = np.asarray([int(p.get("nH") or -1) for p in h1["peaks"]], dtype=np.int64)
            for p in h1["peaks"]:
                for a in p.get("atoms") or []:
                    if a in node_of and info.graph.n_hs[node_of[a]] > 0:
                        ex.h1_truth.setdefault(node_of[a], []).append(float(p["shift"]))
    if not ex.c13_truth and not ex.h1_truth:
        return None
    return ex


def load_examples(records: Iterable[dict[str, Any]], *, limit: int | None = None,
                  skip_train: bool = True) -> tuple[list[AssignExample], dict[str, int]]:
    """Examples of the atom-assigned records (``limit`` counts assigned records); counts of skips."""
    from nmrlens.data.splits import record_block
    from nmrlens.errors import NmrLensError

    blocks = train_blocks() if skip_train else frozenset()
    out: list[AssignExample] = []
    counts = {"assigned_records": 0, "seen_in_training": 0, "unusable": 0}
    for record in records:
        if not (record.get("assigned") and record.get("molblock")):
            continue
        counts["assigned_records"] += 1
        if limit is not None and counts["assigned_records"] > limit:
            counts["assigned_records"] -= 1
            break
        if skip_train:
            try:
                if record_block(record)[0] in blocks:
                    counts["seen_in_training"] += 1
                    continue
            except NmrLensError:
                counts["unusable"] += 1
                continue
        ex = example_from_record(record)
        if ex is None:
            counts["unusable"] += 1
        else:
            out.append(ex)
    return out, counts


def _hit(shift: float, truth: Sequence[float]) -> bool:
    return any(abs(shift - t) <= SAME_PEAK_PPM + 1e-9 for t in truth)


def run_c13(assigner: Any, examples: Sequence[AssignExample], weight: float | None = None,
            peak_embs: Sequence[Any] | None = None) -> list[np.ndarray | None]:
    """Peak index per graph node (-1 none) of every example's 13C assignment (None without 13C)."""
    out: list[np.ndarray | None] = []
    for k, ex in enumerate(examples):
        if ex.c13_shifts is None or not ex.c13_truth:
            out.append(None)
            continue
        emb = peak_embs[k] if peak_embs is not None else None
        assigned, _, _ = assigner.assign_c13_arrays(ex.info, ex.c13_shifts, ex.c13_mult, emb, weight)
        per_node = np.full(ex.info.graph.n_atoms, -1, dtype=np.int64)
        for cls, j in zip(ex.info.c_classes, assigned):
            per_node[cls] = j
        out.append(per_node)
    return out


def run_h1(assigner: Any, examples: Sequence[AssignExample]) -> list[np.ndarray | None]:
    """Multiplet index per proton group (-1 none) of every example's 1H assignment (None without 1H)."""
    out: list[np.ndarray | None] = []
    for ex in examples:
        if ex.h1_shifts is None or not ex.h1_truth:
            out.append(None)
            continue
        out.append(assigner.assign_h1_arrays(ex.info, ex.h1_shifts, ex.h1_nh)[0])
    return out


def assignment_metrics(examples: Sequence[AssignExample], c13: Sequence[np.ndarray | None],
                       h1: Sequence[np.ndarray | None] | None = None, prefix: str = "") -> dict[str, Any]:
    """The ``c13_*``, ``fully_correct_fraction`` and ``h1_group_accuracy`` metrics (see the module docstring)."""
    bins = {"lt10C": [0, 0], "10to20C": [0, 0], "gt20C": [0, 0]}
    total, n_mol, n_full = [0, 0], 0, 0
    for ex, per_node in zip(examples, c13):
        if per_node is None:
            continue
        n_c = ex.info.n_carbons
        key = "lt10C" if n_c < 10 else ("10to20C" if n_c <= 20 else "gt20C")
        ok_all = True
        for node, truth in ex.c13_truth.items():
            j = int(per_node[node])
            ok = j >= 0 and _hit(float(ex.c13_shifts[j]), truth)
            ok_all &= ok
            for acc in (total, bins[key]):
                acc[0] += int(ok)
                acc[1] += 1
        n_mol += 1
        n_full += int(ok_all)
    res: dict[str, Any] = {
        f"{prefix}c13_atom_accuracy": total[0] / total[1] if total[1] else None,
        **{f"{prefix}c13_atom_accuracy_{k}": v[0] / v[1] if v[1] else None for k, v in bins.items()},
        f"{prefix}fully_correct_fraction": n_full / n_mol if n_mol else None,
    }
    g_ok = g_n = 0
    for ex, groups in zip(examples, h1 or [None] * len(examples)):
        if groups is None:
            continue
        for k, nodes in enumerate(ex.info.h_groups):
            truth = [t for node in nodes for t in ex.h1_truth.get(int(node), [])]
            if not truth:
                continue
            j = int(groups[k])
            g_n += 1
            g_ok += int(j >= 0 and _hit(float(ex.h1_shifts[j]), truth))
    res[f"{prefix}h1_group_accuracy"] = g_ok / g_n if g_n else None
    return res


def rank_candidates(assigner: Any, spectrum: tuple[np.ndarray, np.ndarray], peak_emb: Any, spec_emb: Any,
                    candidates: Sequence[Any], weight: float | None = None, graph_weight: float | None = None,
                    conflict_cost: float = 5.0) -> np.ndarray:
    """Scores (higher = better) of candidate :class:`~nmrlens.models.assign.MolInfo` for one 13C peak list:
    the peak-centric agreement (:func:`~nmrlens.models.assign.agreement_score`) of the fused cost with the
    model share ``weight`` (default ``options.retrieval_weight``; a multiplicity conflict costs
    ``conflict_cost``) plus ``graph_weight`` x the graph-level cosine similarity."""
    from nmrlens.models.assign import agreement_score, mult_conflict

    o = assigner.options
    gw = o.graph_weight if graph_weight is None else graph_weight
    weight = o.retrieval_weight if weight is None else weight
    if peak_emb is None:
        weight = 0.0
    shifts, mult = spectrum
    scores = np.empty(len(candidates))
    for k, info in enumerate(candidates):
        if not info.c_classes:
            scores[k] = -1e9
            continue
        cost = assigner.c13_cost(info, shifts, peak_emb, weight) + conflict_cost * mult_conflict(info.c_class_nh, mult)
        scores[k] = agreement_score(cost, unmatched_class_cost=o.class_unmatched_cost)
        if gw and info.graph_emb is not None and spec_emb is not None:
            scores[k] += gw * float(info.graph_emb @ spec_emb)
    return scores


def _isomer_pool(data: Path, examples: Sequence[AssignExample]) -> dict[str, list[tuple[str, str]]]:
    """formula -> [(block, smiles)] of the shared nmrshiftdb2 set (or of ``data`` without NMRLENS_DATA_DIR)."""
    from nmrlens.data.datasets import iter_nmrshiftdb2
    from nmrlens.errors import DataNotFoundError

    wanted = {ex.formula for ex in examples if ex.formula}
    try:
        records = iter_nmrshiftdb2()
    except DataNotFoundError:
        records = iter_nmrshiftdb2(data)
    pool: dict[str, dict[str, str]] = {}
    for r in records:
        f = r.get("formula")
        if f in wanted and isinstance(r.get("smiles"), str):
            ik = r.get("inchikey") or r.get("source_inchikey") or ""
            if isinstance(ik, str) and len(ik) >= 14:
                pool.setdefault(f, {}).setdefault(ik[:14], r["smiles"])
    return {f: sorted(d.items()) for f, d in pool.items()}


def _infos_from_smiles(smiles: Iterable[str]) -> dict[str, Any]:
    from nmrlens.chem.mol import parse_smiles
    from nmrlens.chem.validate import check_supported
    from nmrlens.errors import NmrLensError
    from nmrlens.models.assign import prepare_mol

    out = {}
    for s in smiles:
        try:
            mol = parse_smiles(s)
            check_supported(mol)
            out[s] = prepare_mol(mol)
        except NmrLensError:
            continue
    return out


def zero_shot(assigner: Any, examples: Sequence[AssignExample], data: Path, *, seed: int = 0,
              peak_embs: Sequence[Any] | None = None, spec_embs: Sequence[Any] | None = None,
              isomer_pool: dict[str, list[tuple[str, str]]] | None = None, weight: float | None = None,
              graph_weight: float | None = None) -> dict[str, Any]:
    """``retrieval100.top1``, ``isomer.accuracy`` and ``isomer.n`` (see the module docstring)."""
    rng = random.Random(seed)
    queries = [k for k, ex in enumerate(examples) if ex.c13_shifts is not None]
    by_block: dict[str, int] = {}
    for k in queries:
        by_block.setdefault(examples[k].block, k)
    pool_idx = list(by_block.values())
    hits = n = 0
    for k in queries:
        ex = examples[k]
        others = [i for i in pool_idx if examples[i].block != ex.block]
        chosen = rng.sample(others, min(N_RETRIEVAL - 1, len(others)))
        cands = [ex.info] + [examples[i].info for i in chosen]
        pe = peak_embs[k] if peak_embs is not None else None
        se = spec_embs[k] if spec_embs is not None else None
        scores = rank_candidates(assigner, (ex.c13_shifts, ex.c13_mult), pe, se, cands, weight, graph_weight)
        hits += int(scores[0] > scores[1:].max(initial=-np.inf))
        n += 1
    res: dict[str, Any] = {"retrieval100.top1": hits / n if n else None, "retrieval100.n": n}
    pool = isomer_pool if isomer_pool is not None else _isomer_pool(data, examples)
    picks: dict[int, list[str]] = {}
    for k in queries:
        ex = examples[k]
        iso = [s for b, s in pool.get(ex.formula, []) if b != ex.block]
        if len(iso) > MAX_ISOMERS:
            iso = rng.sample(iso, MAX_ISOMERS)
        if iso:
            picks[k] = iso
    infos = _infos_from_smiles({s for v in picks.values() for s in v})
    assigner.predict(list(infos.values()))
    iso_hits = iso_n = 0
    for k, iso in picks.items():
        ex = examples[k]
        cands = [ex.info] + [infos[s] for s in iso if s in infos]
        if len(cands) < 2:
            continue
        pe = peak_embs[k] if peak_embs is not None else None
        se = spec_embs[k] if spec_embs is not None else None
        scores = rank_candidates(assigner, (ex.c13_shifts, ex.c13_mult), pe, se, cands, weight, graph_weight)
        iso_hits += int(scores[0] > scores[1:].max())
        iso_n += 1
    res["isomer.accuracy"] = iso_hits / iso_n if iso_n else None
    res["isomer.n"] = iso_n
    return res


def evaluate(data: Path, *, limit: int | None = None, seed: int = 0, checkpoint: str | None = None) -> dict[str, Any]:
    """Score the assigners on the held-out atom-assigned records of ``data`` (nmrshiftdb2 JSON lines)."""
    from nmrlens.data.datasets import iter_nmrshiftdb2
    from nmrlens.models.assign import Assigner

    assigner = Assigner.load(checkpoint)
    examples, counts = load_examples(iter_nmrshiftdb2(data), limit=limit)
    assigner.predict([ex.info for ex in examples])
    peak_embs = spec_embs = None
    if assigner.model is not None:
        idx = [k for k, ex in enumerate(examples) if ex.c13_shifts is not None]
        embs = assigner.embed_spectra([(examples[k].c13_shifts, examples[k].c13_mult) for k in idx])
        peak_embs, spec_embs = [None] * len(examples), [None] * len(examples)
        for k, (pe, se) in zip(idx, embs):
            peak_embs[k], spec_embs[k] = pe, se
    h1 = run_h1(assigner, examples)
    metrics: dict[str, Any] = {}
    metrics.update(assignment_metrics(examples, run_c13(assigner, examples, None, peak_embs), h1, "assign."))
    metrics.update(assignment_metrics(examples, run_c13(assigner, examples, 0.0), h1, "baseline."))
    metrics.update(zero_shot(assigner, examples, data, seed=seed, peak_embs=peak_embs, spec_embs=spec_embs))
    metrics["n_molecules"] = len(examples)
    metrics["n_molecules_c13"] = sum(1 for ex in examples if ex.c13_truth)
    metrics["n_molecules_h1"] = sum(1 for ex in examples if ex.h1_truth)
    metrics["n_records_seen_in_training"] = counts["seen_in_training"]
    metrics["n_records_unusable"] = counts["unusable"]
    w = assigner.options.weight if assigner.model is not None else 0.0
    metrics["assign.method"] = "baseline" if w <= 0 else ("model" if w >= 1 else f"fused model share {w:g}")
    metrics["checkpoint"] = str(checkpoint or "shipped assign_v1")
    return metrics
