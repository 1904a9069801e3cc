"""Retrieval benchmark (issue 5): spectrum -> molecule (S2M) and molecule -> spectrum (M2S).

``nmrlens evaluate retrieval --data FILE [--library-extra FILE2 ...] [--library-size N] --out m.json``

- Library: every valid molecule of FILE plus those of the extra files (``.smi``, ``.sdf``,
  ``.jsonl[.gz]``), deduplicated by canonical SMILES, with *predicted* spectra only (so a query's
  own experimental spectrum is never in the library). It is built with
  :func:`nmrlens.library.build.build_library` into a cache folder (``$NMRLENS_CACHE_DIR`` or
  ``~/.cache/nmrlens``, keyed by the molecule list and the model) and reused by later runs.
- Queries: records of FILE whose molecule no shipped model was trained on
  (:func:`nmrlens.data.splits.is_held_out`) with an experimental 13C and/or 1H spectrum; ``--limit``
  takes a seeded random sample of them. Configurations: C, H, CH (the spectra), CF, HF, CHF (the
  same with the record's formula as an exact filter).
- ``--workers N``: the library is built by N worker processes (``nmrlens library build --engine
  process``); the default builds it in this process.
- ``--library-size N``: the library is the query molecules plus random other molecules, N in all
  (when N is below the number of query molecules, N of the queries are kept).
- A hit is a molecule with the query's first InChIKey block (stereoisomers share a spectrum);
  ``top1_stereo`` needs the full InChIKey.
- M2S: each query molecule ranks the experimental spectra (of that configuration) of all records
  of FILE by embedding cosine; a hit is a spectrum of a record with the molecule's InChIKey block.

Keys: ``s2m.<score>.<config>.top<k>`` (score: sme, sse, ssr, combine; k: 1, 5, 10),
``s2m.combine.<config>.top1_stereo``, ``s2m.<config>.n``, ``s2m.<config>.recall`` (candidates hold
the answer), ``m2s.<config>.top1``, ``library_size``, ``n_queries``, ``query_ms_p50``,
``query_ms_p95`` (one full S2M query: embedding, recall, re-ranking, per configuration).

Fusion weights: :func:`fit_fusion` chooses them on the *val* split and stores them in the
checkpoint (``python -m nmrlens.evaluate.retrieval --fit-fusion --data FILE``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from nmrlens.errors import NmrLensError

__all__ = ["evaluate", "fit_fusion", "QueryRecord", "load_query_records", "CONFIGS", "SCORE_KEYS", "TOPK"]

log = logging.getLogger(__name__)
CONFIGS: tuple[str, ...] = ("C", "H", "CH", "CF", "HF", "CHF")
SCORE_KEYS: tuple[str, ...] = ("sme", "sse", "ssr", "combine")
TOPK: tuple[int, ...] = (1, 5, 10)
_RECALL = 1000  # candidates per index; 1000 measured better than 100 on a 300-query sample (C recall 0.94 vs ~0.71)
FUSION_GRID = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0)
#: Smallest cross-validated val top-1 gain over the fused score for which a re-ranker is kept.
_RERANK_MIN_GAIN = 0.005


@dataclass
class QueryRecord:
    """One record of the data file: canonical SMILES, InChIKey, formula, experimental spectra, held-out flag."""

    smiles: str
    inchikey: str
    block: str
    formula: str
    query: Any  # Query with the longest 13C and 1H spectra (as recorded: multiplicities kept), or None
    held_out: bool
    split: str


def load_query_records(paths: Sequence[Path], limit_scan: int | None = None) -> list[QueryRecord]:
    """Read nmrshiftdb2-format records into :class:`QueryRecord` objects (invalid molecules skipped)."""
    from nmrlens.chem.mol import canonical_smiles, inchikey_block, mol_formula, mol_inchikey
    from nmrlens.chem.validate import check_supported, to_mol
    from nmrlens.data._files import iter_json_lines
    from nmrlens.data.splits import is_held_out, split_of_record
    from nmrlens.io.nmrshiftdb2 import ReadReport, record_to_query
    from nmrlens.spectra.model import Query

    out = []
    n = 0
    for path in paths:
        for rec in iter_json_lines(path):
            n += 1
            if limit_scan and n > limit_scan:
                break
            try:
                m = to_mol(rec.get("smiles") or "")
                check_supported(m)
                key = mol_inchikey(m)
            except NmrLensError:
                continue
            q = None
            try:
                rq = record_to_query(rec, check_smiles=False, errors="skip", report=ReadReport())
                spectra = []
                for nuc in ("13C", "1H"):
                    cands = [s for s in rq.spectra if s.nucleus == nuc and len(s)]
                    if cands:
                        spectra.append(max(cands, key=len))
                if spectra:
                    q = Query(spectra=spectra)
            except NmrLensError:
                q = None
            try:
                held, split = is_held_out(rec), split_of_record(rec)
            except NmrLensError:
                held, split = True, "test"
            out.append(QueryRecord(canonical_smiles(m), key, inchikey_block(key), mol_formula(m), q, held, split))
    return out


def _cache_root() -> Path:
    base = os.environ.get("NMRLENS_CACHE_DIR")
    return Path(base) if base else Path.home() / ".cache" / "nmrlens"


def _checkpoint_key(checkpoint: str | None) -> str:
    from nmrlens.models.checkpoint import read_sidecar, weights_path
    from nmrlens.models.retrieval import DEFAULT_RETRIEVAL_CHECKPOINT

    from nmrlens.models.shifts import DEFAULT_CHECKPOINT as SHIFTS

    side = read_sidecar(checkpoint or weights_path(DEFAULT_RETRIEVAL_CHECKPOINT))
    shifts = read_sidecar(weights_path(SHIFTS))  # the predicted spectra come from the shipped shift model
    return f"{side.get('sha256')}:{shifts.get('sha256')}"


def cached_library(smiles: Sequence[str], checkpoint: str | None, *, chunk_size: int = 2000,
                   progress: Callable[[int, int], None] | None = None, workers: int | None = None) -> Path:
    """Folder of a library (predicted spectra only) of ``smiles``, built on first use and cached
    (keyed by the molecules, the retrieval checkpoint (its weights and how it is named) and the shipped shift
    model); ``workers``: build with that many worker processes (None: in this process)."""
    from nmrlens.library.build import MoleculeInput, build_library

    h = hashlib.sha256()
    h.update(_checkpoint_key(checkpoint).encode())
    h.update(f"|{checkpoint or ''}|".encode())  # the library records how its model was named (path or shipped)
    for s in smiles:
        h.update(s.encode() + b"\n")
    folder = _cache_root() / "retrieval_libraries" / h.hexdigest()[:20]
    rep = build_library([MoleculeInput(s) for s in smiles], folder, checkpoint=checkpoint, chunk_size=chunk_size,
                        use_experimental=False, progress=progress, engine="local" if workers is None else "process",
                        workers=workers)
    log.info("library %s: %s", folder, rep)
    return folder


def _query_scores(lib: Any, query: Any, cfg: str, formula: str | None, rerank: bool = True
                  ) -> tuple[list[Any], dict[str, np.ndarray]]:
    q_emb = lib.scorer.embed_spectra([query], cfg)[0]
    ids = lib.candidates(q_emb, cfg, formula=formula, recall=_RECALL, query=query)
    return lib.score_candidates(query, ids, cfg, q_emb, rerank=rerank and not formula)


def _rank_of_hit(scores: np.ndarray, hit: np.ndarray) -> int:
    """1-based rank of the best-ranked hit (ties count against), or a large number when none."""
    if not hit.any():
        return 10**9
    best = scores[hit].max()
    if not np.isfinite(best):
        return 10**9
    return int((scores > best).sum() + (scores[~hit] == best).sum()) + 1


def _collect(lib: Any, queries: Sequence[QueryRecord], configs: Sequence[str], timer: list[float] | None = None,
             *, rerank: bool = True) -> list[dict[str, Any]]:
    """Per (query, config): the candidates' score arrays, hit masks, library ids and the query."""
    from nmrlens.models.retrieval import spectrum_config

    out = []
    for qr in queries:
        have = spectrum_config(qr.query)
        for config in configs:
            cfg = config.replace("F", "")
            if any(ch not in have for ch in cfg):
                continue
            t0 = time.perf_counter()
            rows, scores = _query_scores(lib, qr.query, cfg, qr.formula if "F" in config else None, rerank)
            if timer is not None and "F" not in config:
                timer.append(1000.0 * (time.perf_counter() - t0))
            out.append({"config": config, "cfg": cfg, "scores": scores, "ids": [r.id for r in rows], "query": qr.query,
                        "hit": np.asarray([r.block == qr.block for r in rows], dtype=bool),
                        "exact": np.asarray([r.inchikey == qr.inchikey for r in rows], dtype=bool)})
    return out


def _s2m_metrics(items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    m: dict[str, Any] = {}
    for config in CONFIGS:
        sel = [it for it in items if it["config"] == config]
        m[f"s2m.{config}.n"] = len(sel)
        m[f"s2m.{config}.recall"] = float(np.mean([it["hit"].any() for it in sel])) if sel else None
        for key in (*SCORE_KEYS, "fused"):
            ranks = []
            for it in sel:
                ranks.append(_rank_of_hit(it["scores"][key], it["hit"]))
            for k in TOPK:
                m[f"s2m.{key}.{config}.top{k}"] = float(np.mean([r <= k for r in ranks])) if sel else None
        stereo = [_rank_of_hit(it["scores"]["combine"], it["exact"]) for it in sel]
        m[f"s2m.combine.{config}.top1_stereo"] = float(np.mean([r <= 1 for r in stereo])) if sel else None
    return m


def _m2s_metrics(lib: Any, queries: Sequence[QueryRecord], records: Sequence[QueryRecord]) -> dict[str, Any]:
    from nmrlens.models.retrieval import spectrum_config

    scorer = lib.scorer
    m: dict[str, Any] = {}
    mol_emb = {}
    uniq = list(dict.fromkeys(q.smiles for q in queries))
    if uniq:
        embs = scorer.embed_molecules(uniq)
        mol_emb = dict(zip(uniq, embs))
    for cfg in ("C", "H", "CH"):
        db = [r for r in records if r.query is not None and all(ch in spectrum_config(r.query) for ch in cfg)]
        if not db:
            for f in ("", "F"):
                m[f"m2s.{cfg}{f}.top1"] = None
            continue
        spec = scorer.embed_spectra([r.query for r in db], cfg)
        blocks = np.asarray([r.block for r in db])
        forms = np.asarray([r.formula for r in db])
        for f in ("", "F"):
            hits = []
            for q in queries:
                if q.query is None or any(ch not in spectrum_config(q.query) for ch in cfg):
                    continue
                s = spec @ mol_emb[q.smiles]
                if f:
                    s = np.where(forms == q.formula, s, -np.inf)
                hits.append(_rank_of_hit(s, blocks == q.block) <= 1)
            m[f"m2s.{cfg}{f}.top1"] = float(np.mean(hits)) if hits else None
    return m


def _select(records: Sequence[QueryRecord], *, split: str | None, limit: int | None, seed: int) -> list[QueryRecord]:
    if split is None:
        qs = [r for r in records if r.held_out and r.query is not None]
    else:
        qs = [r for r in records if r.split == split and r.query is not None]
    random.Random(seed).shuffle(qs)
    return qs[:limit] if limit else qs


def evaluate(data: Path, *, limit: int | None = None, seed: int = 0, checkpoint: str | None = None,
             library_extra: Sequence[str | Path] | None = None, library_size: int | None = None,
             split: str | None = None, workers: int | None = None) -> dict[str, Any]:
    """Run the retrieval benchmark (see the module docstring) and return flat metrics.

    ``split`` (None = held-out records, as the evaluation contract says) is for model selection
    only (``"val"``).
    """
    from nmrlens.library.build import read_molecules
    from nmrlens.library.search import Library

    import torch

    torch.set_num_threads(1)
    t_start = time.time()
    if library_size is not None and (isinstance(library_size, bool) or not isinstance(library_size, int)
                                     or library_size < 1):
        raise NmrLensError(f"--library-size: got {library_size!r}, expected a whole number >= 1")
    paths = sorted(Path(data).glob("*.jsonl*")) if Path(data).is_dir() else [Path(data)]
    records = load_query_records(paths)
    queries = _select(records, split=split, limit=limit, seed=seed)
    lib_smiles = list(dict.fromkeys(r.smiles for r in records))
    for extra in library_extra or ():
        lib_smiles += [e.smiles for e in read_molecules(extra)]
        lib_smiles = list(dict.fromkeys(lib_smiles))
    if library_size is not None:
        qsmi = list(dict.fromkeys(q.smiles for q in queries))
        if library_size < len(qsmi):
            keep = set(qsmi[:library_size])
            queries = [q for q in queries if q.smiles in keep]
            qsmi = qsmi[:library_size]
        qset = set(qsmi)
        others = [s for s in lib_smiles if s not in qset]
        random.Random(seed + 1).shuffle(others)
        lib_smiles = qsmi + others[: library_size - len(qsmi)]
    log.info("%d records, %d queries, library of %d molecules", len(records), len(queries), len(lib_smiles))
    folder = cached_library(lib_smiles, checkpoint, workers=workers)
    lib = Library(folder, checkpoint=checkpoint)
    try:
        timer: list[float] = []
        items = _collect(lib, queries, CONFIGS, timer)
        metrics: dict[str, Any] = {"library_size": lib.size, "n_queries": len(queries)}
        metrics.update(_s2m_metrics(items))
        lib_set = set(lib_smiles)
        lib_blocks = {r.block for r in records if r.smiles in lib_set}
        m2s_records = [r for r in records if r.block in lib_blocks]
        metrics.update(_m2s_metrics(lib, queries, m2s_records))
        metrics["query_ms_p50"] = float(np.percentile(timer, 50)) if timer else None
        metrics["query_ms_p95"] = float(np.percentile(timer, 95)) if timer else None
        metrics["queries_from"] = "held-out records" if split is None else f"{split} split"
        metrics["fusion"] = json.dumps(lib.scorer.fusion, sort_keys=True)
        metrics["seconds"] = round(time.time() - t_start, 1)
    finally:
        lib.close()
    return metrics


def fit_fusion(data: Path, *, checkpoint: str | None = None, limit: int | None = 1500, seed: int = 0,
               write: bool = True) -> dict[str, Any]:
    """Choose the combine weights per configuration on the *val* split; store them in the checkpoint.

    Library: every molecule of ``data``; queries: val-split records with spectra (``limit`` of them).
    For each configuration (C, H, CH, without formula) the grid ``w_ssr = 1``, ``w_sme, w_sse`` in
    :data:`FUSION_GRID` is searched for the best top-1 (ties: smaller embedding weights). Then, for the
    configurations with 13C (C, CH), a learned re-ranker (:mod:`nmrlens.models.rerank`) of the top
    candidates of that fused score is fitted; it is kept (fitted on all those queries) only where its
    two-fold cross-validated top-1 on the same val queries beats the fused score's by at least
    :data:`_RERANK_MIN_GAIN`.
    """
    from nmrlens.library.search import Library
    from nmrlens.models.checkpoint import load_checkpoint, read_sidecar, save_checkpoint, weights_path
    from nmrlens.models.retrieval import DEFAULT_RETRIEVAL_CHECKPOINT

    paths = sorted(Path(data).glob("*.jsonl*")) if Path(data).is_dir() else [Path(data)]
    records = load_query_records(paths)
    queries = _select(records, split="val", limit=limit, seed=seed)
    folder = cached_library(list(dict.fromkeys(r.smiles for r in records)), checkpoint)
    lib = Library(folder, checkpoint=checkpoint)
    try:
        items = _collect(lib, queries, ("C", "H", "CH"), rerank=False)
        weights, result = _fit_grid(items)
        rerank, rr_result = _fit_rerankers(lib, items, weights, seed=seed)
    finally:
        lib.close()
    result["n_val_queries"] = len(queries)
    result.update(rr_result)
    result["fusion"] = weights
    if write:
        stem = checkpoint or str(weights_path(DEFAULT_RETRIEVAL_CHECKPOINT))
        model, side = load_checkpoint(stem)
        extra = dict(side.get("extra") or {})
        extra["fusion"] = weights
        extra["rerank"] = {c: r.to_dict() for c, r in rerank.items()}
        extra["fusion_selection"] = {k: v for k, v in result.items() if k != "fusion"}
        save_checkpoint(model, stem, training_data=side.get("training_data"), metrics=side.get("metrics"),
                        extra=extra, force=True, half=side.get("stored_dtype") == "float16")
        assert read_sidecar(stem)["extra"]["fusion"] == weights
    return result


def _fit_grid(items: Sequence[dict[str, Any]]) -> tuple[dict[str, dict[str, float]], dict[str, Any]]:
    """Grid search of the fusion weights per configuration (see :func:`fit_fusion`)."""
    from nmrlens.models.retrieval import fuse_scores

    weights: dict[str, dict[str, float]] = {}
    result: dict[str, Any] = {}
    for cfg in ("C", "H", "CH"):
        sel = [it for it in items if it["config"] == cfg]
        best = (-1.0, 0.0, {"sme": 0.0, "sse": 0.0, "ssr": 1.0})
        grid = [(a, b, 1.0) for a in FUSION_GRID for b in FUSION_GRID] + [(1.0, b, 0.0) for b in FUSION_GRID]
        for a, b, c in grid:
            w = {"sme": a, "sse": b, "ssr": c}
            acc = float(np.mean([_rank_of_hit(fuse_scores(it["scores"]["sme"], it["scores"]["sse"], it["scores"]["ssr"], w),
                                              it["hit"]) <= 1 for it in sel])) if sel else 0.0
            if acc > best[0] + 1e-12 or (abs(acc - best[0]) <= 1e-12 and a + b < best[1]):
                best = (acc, a + b, w)
        weights[cfg] = best[2]
        result[f"val.combine.{cfg}.top1"] = best[0]
        result[f"val.n.{cfg}"] = len(sel)
        for key in ("sme", "sse", "ssr"):
            result[f"val.{key}.{cfg}.top1"] = float(np.mean([_rank_of_hit(it["scores"][key], it["hit"]) <= 1
                                                             for it in sel])) if sel else None
    return weights, result


def _fit_rerankers(lib: Any, items: Sequence[dict[str, Any]], weights: Mapping[str, Mapping[str, float]], *,
                   seed: int = 0) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fit and cross-validate a re-ranker per 13C configuration (see :func:`fit_fusion`)."""
    from nmrlens.models.rerank import RERANK_TOP, Reranker, candidate_features, top_indices
    from nmrlens.models.retrieval import fuse_scores
    from nmrlens.similarity.matched import peak_array

    chosen: dict[str, Any] = {}
    result: dict[str, Any] = {}
    rng = np.random.default_rng(seed)
    for cfg in ("C", "CH"):
        sel = [it for it in items if it["config"] == cfg]
        if len(sel) < 20:
            continue
        groups, base = [], []
        for it in sel:
            sc = it["scores"]
            fused = fuse_scores(sc["sme"], sc["sse"], sc["ssr"], weights[cfg])
            base.append(_rank_of_hit(fused, it["hit"]) <= 1)
            idx = top_indices(fused, RERANK_TOP)
            rows = lib.store.rows([it["ids"][j] for j in idx])
            pred = [lib.peak_arrays_of(rows[it["ids"][j]]).get("13C") for j in idx]
            q13 = peak_array(it["query"].spectrum("13C"))
            groups.append((candidate_features(q13, sc["sme"][idx], sc["sse"][idx], sc["ssr"][idx], pred),
                           it["hit"][idx]))
        fold = rng.permutation(len(groups)) % 2
        hits = 0
        for f in (0, 1):
            model = Reranker.fit([g for g, k in zip(groups, fold) if k != f])
            for (x, h), k in zip(groups, fold):
                if k == f and h.any():
                    hits += _rank_of_hit(model.logits(x), h) <= 1
        cv, fused_top1 = hits / len(groups), float(np.mean(base))
        result[f"val.rerank.{cfg}.cv_top1"] = cv
        result[f"val.rerank.{cfg}.fused_top1"] = fused_top1
        keep = cv >= fused_top1 + _RERANK_MIN_GAIN
        result[f"val.rerank.{cfg}.adopted"] = keep
        if keep:
            chosen[cfg] = Reranker.fit(groups)
    return chosen, result


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m nmrlens.evaluate.retrieval --fit-fusion --data FILE [--checkpoint C] [--limit N]``."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m nmrlens.evaluate.retrieval")
    ap.add_argument("--fit-fusion", action="store_true", required=True)
    ap.add_argument("--data", required=True, type=Path)
    ap.add_argument("--checkpoint")
    ap.add_argument("--limit", type=int, default=1500)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    print(json.dumps(fit_fusion(args.data, checkpoint=args.checkpoint, limit=args.limit, seed=args.seed), indent=2))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
