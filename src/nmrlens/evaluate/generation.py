"""``nmrlens evaluate generation``: de novo structure generation from spectra (+ formula), per variant.

For every held-out record (:func:`nmrlens.data.splits.is_held_out`; on the shared file the test split,
on a file of new records all of them) and every input configuration it can fill (C, H, CH, CF, HF,
CHF: C = its first 13C spectrum, H = its first 1H spectrum, F = its neutral formula), the generator's
beam (width ``beam``) is refined by each variant of :data:`nmrlens.models.generate.VARIANTS` and scored:

- ``gen.<variant>.<config>.top<k>`` (k = 1, 5, 10): fraction of queries whose molecule (full InChIKey,
  stereo-aware) is among the first k candidates; ``..._topology``: the same for the first InChIKey
  block (connectivity only). None for a variant whose scores are unavailable (sme/sse without the
  search module) and for configurations without queries.
- ``valid_fraction``: RDKit-valid share of all raw beam candidates; ``candidates_per_query``: raw beam
  candidates per query (the beam width, less hypotheses that found no valid end); ``n_queries.<config>``;
  ``seconds_per_query``: wall time of beam search + refinement per query (2-core CPU).

With ``search_budget`` N > 0 (``--search-budget N``), the queries with a formula (CF, HF, CHF) also
get the ``search`` variant: :func:`nmrlens.pipeline.expand.structure_search` from the formula-valid
beam candidates (in rerank_combine order), N structures scored by their predicted-spectrum similarity
(ssr) with the query, ranked by it (``gen.search.<config>.top<k>``); ``search_seconds_per_query`` is its
mean wall time per searched query. Queries without a formula-valid candidate have nothing to start from and
count as misses, unless ``seed_library`` (``--seed-library PATH``, read by
:meth:`nmrlens.pipeline.expand.SeedLibrary.from_path`) is given: then the library's molecules of the
query's formula seed the search too, of the **training split only** (InChIKey block,
:func:`nmrlens.data.splits.split_of_block`), so that no held-out molecule can be a seed; e.g. the shared
nmrshiftdb2 file, whose training molecules the generator has seen anyway. ``seed_library_size`` and
``seed_library_hit_fraction`` (searched queries with at least one seed of their formula) are reported.

``simulate=True`` (Python only) replaces each query's spectra by the shift model's prediction for
the true molecule (1H labels and J removed): the "test on simulated" rows of the gap table.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

__all__ = ["evaluate", "collect", "score", "tune_combine_weights", "TOPK"]

TOPK = (1, 5, 10)


def _items(data: Path, limit: int | None, which: str) -> Iterator[tuple[Any, str, str]]:
    from nmrlens.data.generatedata import heldout_items

    if which == "held_out":
        yield from heldout_items(data, limit=limit)
        return
    if which == "all":
        yield from heldout_items(data, limit=limit, held_out_only=False)
        return
    from nmrlens.data.splits import split_of_block

    n = 0
    for q, smi, key in heldout_items(data, held_out_only=False):
        if limit is not None and n >= limit:
            return
        if split_of_block(key[:14]) == which:
            n += 1
            yield q, smi, key


def _simulated(items: list[tuple[Any, str, str]]) -> list[tuple[Any, str, str]]:
    from nmrlens import api
    from nmrlens.data.generatedata import strip_h1_details
    from nmrlens.errors import NmrLensError

    out = []
    for q, smi, key in items:
        try:
            pred = api.predict(smi)
        except NmrLensError:
            continue
        spectra = [s for s in pred.query.spectra if s.peaks and q.spectrum(s.nucleus) is not None]
        if spectra:
            out.append((strip_h1_details(q.with_(spectra=tuple(spectra))), smi, key))
    return out


def collect(data: Path, *, limit: int | None = None, checkpoint: str | None = None, beam: int = 10,
            configs: Sequence[str] | None = None, simulate: bool = False, which: str = "held_out",
            batch_size: int = 16, constrain_valid: bool = True, retry_beam: int | None = None,
            constrain_hydrogens: bool | None = None, search_budget: int = 0,
            seed_library: Any = None) -> dict[str, Any]:
    """Beam candidates with all re-ranking scores per (query, config): the raw material of :func:`score`
    (``constrain_valid``: the decoder's validity constraint, :class:`~nmrlens.models.generate.EndCheck`;
    ``constrain_hydrogens``: its hydrogen bound, :class:`~nmrlens.models.generate.HydrogenBound`; None: the
    default, :data:`~nmrlens.models.generate.DEFAULT_HYDROGEN_BOUND`; ``search_budget``: structures scored by
    the ``search`` variant per query with a formula, 0 for none; ``seed_library``: a
    :class:`~nmrlens.pipeline.expand.SeedLibrary` whose molecules of the query's formula also seed the search)."""
    import torch

    from nmrlens.models.generate import (DEFAULT_HYDROGEN_BOUND, Generator, _predicted, candidate_scorer, refine,
                                         rerank_base)
    from nmrlens.pipeline.expand import search_candidates
    from nmrlens.tokenize.spectral import CONFIGS, available_config

    torch.set_num_threads(min(2, torch.get_num_threads()))
    if constrain_hydrogens is None:
        constrain_hydrogens = DEFAULT_HYDROGEN_BOUND
    gen = Generator.load(checkpoint)
    items = list(_items(data, limit, which))
    if simulate:
        items = _simulated(items)
    scorer = candidate_scorer()
    limit_src = gen.model.hparams["max_src"]
    rows: list[dict[str, Any]] = []
    seconds = search_seconds = 0.0
    n_searched = n_seeded = 0
    n_raw, n_valid = 0, 0
    for cfg in configs or CONFIGS:
        picked = []
        for q, smi, key in items:
            have = available_config(q)
            if all(p in have for p in cfg):
                try:
                    (ids, _), _ = gen.source(q, cfg)
                except Exception:  # noqa: BLE001 - a query the tokenizer cannot read is skipped
                    continue
                if len(ids) <= limit_src:
                    picked.append((q, smi, key))
        if not picked:
            continue
        t0 = time.perf_counter()
        beams = gen.beams([p[0] for p in picked], [cfg] * len(picked), beam=beam, batch_size=batch_size,
                          constrain_valid=constrain_valid, retry_beam=retry_beam,
                          constrain_hydrogens=constrain_hydrogens)
        uniq = sorted({c.smiles for cs, p in zip(beams, picked)
                       for c in rerank_base(cs, p[0].formula if "F" in cfg else None)})
        preds = dict(zip(uniq, _predicted(uniq)))
        for (q, smi, key), cands in zip(picked, beams):
            n_raw += len(cands)
            n_valid += sum(c.valid for c in cands)
            base = rerank_base(cands, q.formula if "F" in cfg else None)
            variants = refine(q, cfg, cands, predictions=[preds[c.smiles] for c in base], scorer=scorer,
                              weights=gen.combine_weights)
            if search_budget and "F" in cfg:
                t1 = time.perf_counter()
                extra = seed_library.seeds(q.formula) if seed_library is not None else []
                n_seeded += bool(extra)
                variants["search"] = search_candidates(q, cfg, variants["rerank_combine"] or base, search_budget,
                                                       library_seeds=extra)
                search_seconds += time.perf_counter() - t1
                n_searched += 1
            rows.append({"config": cfg, "key": key, "variants": variants, "raw": cands})
        seconds += time.perf_counter() - t0
    return {"rows": rows, "seconds": seconds, "n_raw": n_raw, "n_valid": n_valid, "n_items": len(items),
            "scorer": scorer is not None, "search_seconds": search_seconds, "n_searched": n_searched,
            "n_seeded": n_seeded, "seed_library_size": None if seed_library is None else len(seed_library)}


def _rank(cands: Sequence[Any] | None, key: str, topology: bool) -> int | None:
    if cands is None:
        return None
    for i, c in enumerate(cands):
        if c.inchikey is not None and (c.inchikey[:14] == key[:14] if topology else c.inchikey == key):
            return i
    return 10**9


def score(collected: Mapping[str, Any], weights: Mapping[str, float] | None = None) -> dict[str, Any]:
    """Flat metrics of :func:`collect`'s output; ``weights`` re-computes rerank_combine with other weights."""
    from nmrlens.models.generate import VARIANTS
    from nmrlens.tokenize.spectral import CONFIGS

    rows = collected["rows"]
    metrics: dict[str, Any] = {}
    searched = any("search" in r["variants"] for r in rows)
    for cfg in CONFIGS:
        sub = [r for r in rows if r["config"] == cfg]
        metrics[f"n_queries.{cfg}"] = len(sub)
        for v in (*VARIANTS, "search") if searched and "F" in cfg else VARIANTS:
            for topo in (False, True):
                ranks = []
                for r in sub:
                    cands = r["variants"].get(v)
                    if v == "rerank_combine" and weights is not None and cands is not None:
                        for c in cands:
                            c.scores["combine"] = sum(w * c.scores[k] for k, w in weights.items() if k in c.scores)
                        cands = sorted(cands, key=lambda c: (-c.scores["combine"], c.beam_rank))
                    ranks.append(_rank(cands, r["key"], topo))
                for k in TOPK:
                    name = f"gen.{v}.{cfg}.top{k}" + ("_topology" if topo else "")
                    if not sub or any(x is None for x in ranks):
                        metrics[name] = None
                    else:
                        metrics[name] = sum(x < k for x in ranks) / len(ranks)  # type: ignore[operator]
    n = len(rows)
    metrics["valid_fraction"] = collected["n_valid"] / collected["n_raw"] if collected["n_raw"] else None
    metrics["candidates_per_query"] = collected["n_raw"] / n if n else None
    metrics["seconds_per_query"] = collected["seconds"] / n if n else None
    if searched:
        k = collected.get("n_searched", 0)
        metrics["search_seconds_per_query"] = collected.get("search_seconds", 0.0) / k if k else None
        metrics["seed_library_size"] = collected.get("seed_library_size")
        if collected.get("seed_library_size") is not None:
            metrics["seed_library_hit_fraction"] = collected.get("n_seeded", 0) / k if k else None
    metrics["n_records"] = collected["n_items"]
    metrics["search_scores_available"] = bool(collected["scorer"])
    return metrics


def evaluate(data: Path, *, limit: int | None = None, seed: int = 0, checkpoint: str | None = None,
             beam: int = 10, configs: Sequence[str] | None = None, simulate: bool = False,
             which: str = "held_out", constrain_valid: bool = True, search_budget: int = 0,
             seed_library: "str | Path | None" = None) -> dict[str, Any]:
    """Generation metrics on the held-out records of ``data`` (see the module docstring).

    ``limit`` caps the number of records (each gives up to six queries); ``seed`` is unused (beam
    search is deterministic); ``which`` = "val" scores the validation split instead (model selection),
    "all" every record (tests); ``search_budget``, ``seed_library`` (a path; its training-split
    molecules only): see the module docstring (0: no search).
    """
    from nmrlens.errors import ConfigError
    from nmrlens.models.generate import MAX_BEAM
    from nmrlens.pipeline.expand import MAX_SEARCH_BUDGET

    if isinstance(beam, bool) or not isinstance(beam, int) or not 1 <= beam <= MAX_BEAM:
        raise ConfigError(f"--beam: got {beam!r}, expected a whole number in 1..{MAX_BEAM}")
    if isinstance(search_budget, bool) or not isinstance(search_budget, int) or not 0 <= search_budget <= MAX_SEARCH_BUDGET:
        raise ConfigError(f"--search-budget: got {search_budget!r}, expected a whole number in 0..{MAX_SEARCH_BUDGET}")
    if which not in ("held_out", "all", "val", "test", "train"):
        raise ConfigError(f"which: got {which!r}, expected held_out, all, val, test or train")
    seeds = None
    if seed_library is not None:
        if not search_budget:
            raise ConfigError("--seed-library: seeds the structure search only; give --search-budget N too")
        from nmrlens.pipeline.expand import SeedLibrary

        seeds = SeedLibrary.from_path(seed_library, split="train")
    collected = collect(data, limit=limit, checkpoint=checkpoint, beam=beam, configs=configs, simulate=simulate,
                        which=which, constrain_valid=constrain_valid, search_budget=search_budget,
                        seed_library=seeds)
    metrics = score(collected)
    metrics["beam"] = beam
    metrics["simulated_queries"] = simulate
    return metrics


def tune_combine_weights(collected: Mapping[str, Any], grid: Sequence[float] = (0.0, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
                         ) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """Choose rerank_combine weights on (validation) output of :func:`collect`: ssr weight 1 (or 0) and
    a beam weight from ``grid`` (sme/sse, when available, from ``grid`` too); the criterion is the mean
    of ``gen.rerank_combine.<config>.top1`` over the configurations with queries (ties: top5).

    Returns:
        ``(best weights, one row per tried setting with its criterion)``.
    """
    import itertools

    from nmrlens.tokenize.spectral import CONFIGS

    names = ["sme", "sse"] if collected.get("scorer") else []
    table = []
    best: tuple[float, float] = (-1.0, -1.0)
    best_w: dict[str, float] = {"ssr": 1.0, "beam": 1.0}
    for ssr in (0.0, 1.0):
        for beam in grid:
            for extra in itertools.product(grid, repeat=len(names)):
                w = {"ssr": ssr, "beam": beam, **dict(zip(names, extra))}
                if not any(w.values()):
                    continue
                m = score(collected, w)
                cfgs = [c for c in CONFIGS if m[f"n_queries.{c}"]]
                if not cfgs:
                    continue
                top1 = sum(m[f"gen.rerank_combine.{c}.top1"] for c in cfgs) / len(cfgs)
                top5 = sum(m[f"gen.rerank_combine.{c}.top5"] for c in cfgs) / len(cfgs)
                table.append({"weights": w, "mean_top1": top1, "mean_top5": top5})
                if (top1, top5) > best:
                    best, best_w = (top1, top5), w
    return best_w, table
