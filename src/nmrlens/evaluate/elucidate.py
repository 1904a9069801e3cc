"""Benchmark of ``elucidate``: does the ranked list contain the record's structure?

Data (``--data``): the literature set (JSON lines with ``h1_text``/``c13_text``, e.g.
``literature/nmrextractor.jsonl.gz``) or nmrshiftdb2 records (``nmrshiftdb2/molecules.jsonl.gz``), a
file or a data root holding one of them. Only records whose molecule no shipped model can have
seen are scored (:func:`nmrlens.data.splits.is_held_out`; ``split="val"`` scores the validation
split instead, for tuning).

Per record: literature text is parsed the way a user pastes it (``"1H NMR (conditions) δ text"``,
:func:`nmrlens.evaluate.parse.record_text`; a record none of whose texts parses is a parse
failure); nmrshiftdb2 records give their first experimental 13C and 1H peak lists. Elucidate runs
with the record's formula (and ``library`` when given); the ranked candidates are compared with the
record's SMILES by full InChIKey (``top1``/``top5``/``top10``) and by its first block
(``*_topology``: the same constitution, stereo ignored).

Metrics: ``elucidate.top1``, ``.top5``, ``.top10``, ``.top1_topology``, ``.top5_topology``,
``.top10_topology`` (fractions of the scored records), ``.parse_failures`` (count), ``.n`` (scored
records), ``.seconds_per_query`` (mean), ``.median_seconds_per_query``, ``.no_candidate`` (fraction
with an empty list), ``.components`` (what was available).

``seed_library`` (``--seed-library FILE``): known structures whose molecules of the query's formula join
the pipeline as starting points of its expansion (:class:`nmrlens.pipeline.expand.SeedSource`); only
the file's **training-split** molecules are used (InChIKey block), so no held-out molecule can be one;
``elucidate.seed_library_size`` is reported.
"""

from __future__ import annotations

import logging
import random
import statistics
import time
from pathlib import Path
from typing import Any, Iterator, Mapping

from nmrlens.errors import DataNotFoundError, NmrLensError

__all__ = ["evaluate", "record_query", "select_records"]

logger = logging.getLogger(__name__)


def _records(data: Path) -> Iterator[dict[str, Any]]:
    from nmrlens.data._files import iter_json_lines

    p = Path(data)
    if p.is_dir():
        for rel in ("literature/nmrextractor.jsonl.gz", "nmrshiftdb2/molecules.jsonl.gz"):
            if (p / rel).is_file():
                p = p / rel
                break
        else:
            raise DataNotFoundError(f"--data: {str(data)!r} holds neither literature/ nor nmrshiftdb2/ records")
    for rec in iter_json_lines(p):
        if isinstance(rec, dict):
            yield rec


def _in_split(rec: Mapping[str, Any], split: str) -> bool:
    from nmrlens.data.splits import is_held_out, split_of_record

    if split == "held_out":
        return is_held_out(rec)
    try:
        return split_of_record(rec) == split
    except NmrLensError:
        return False


def _has_spectrum(rec: Mapping[str, Any]) -> bool:
    """Literature records always count (their text may fail to parse: a parse failure); nmrshiftdb2
    records need an experimental 13C or 1H peak list (many hold only other nuclei)."""
    if "h1_text" in rec or "c13_text" in rec:
        return bool(rec.get("h1_text") or rec.get("c13_text"))
    return any(isinstance(sp, dict) and sp.get("nucleus") in ("13C", "1H") and sp.get("peaks")
               for sp in rec.get("spectra") or ())


def select_records(data: Path, *, limit: int | None, seed: int, split: str = "held_out") -> list[dict[str, Any]]:
    """The records to score: those of ``split`` with a SMILES and a 13C/1H spectrum (or text), a
    random ``limit`` of them (seeded)."""
    recs = [r for r in _records(data) if isinstance(r.get("smiles"), str) and _has_spectrum(r) and _in_split(r, split)]
    if limit is not None and limit < len(recs):
        idx = sorted(random.Random(seed).sample(range(len(recs)), limit))
        recs = [recs[i] for i in idx]
    return recs


def record_query(rec: Mapping[str, Any]) -> Any:
    """The query of one record (literature text parsed, or nmrshiftdb2 peak lists), or None when
    nothing usable could be read."""
    from nmrlens.spectra.model import Query

    if "h1_text" in rec or "c13_text" in rec:
        from nmrlens.evaluate.parse import record_text
        from nmrlens.pipeline.query import query_from_text

        spectra = []
        for nuc in ("13C", "1H"):
            text = record_text(dict(rec), nuc)
            if text is None:
                continue
            try:
                q = query_from_text(text, "acs")
            except NmrLensError:
                continue
            spectra.extend(s for s in q.spectra if s.nucleus == nuc and len(s))
        return Query(spectra=spectra[:2]) if spectra else None
    from nmrlens.io.nmrshiftdb2 import record_to_query

    try:
        q = record_to_query(rec, check_smiles=False, errors="skip")
    except NmrLensError:
        return None
    spectra = [s for nuc in ("13C", "1H") for s in [next((x for x in q.spectra if x.nucleus == nuc and len(x)), None)] if s]
    return Query(spectra=spectra) if spectra else None


def _formula(rec: Mapping[str, Any]) -> str | None:
    from nmrlens.chem.formula import normalize_formula

    f = rec.get("formula")
    if not isinstance(f, str):
        return None
    try:
        return normalize_formula(f)
    except NmrLensError:
        return None


def evaluate(data: Path, *, limit: int | None = None, seed: int = 0, checkpoint: str | None = None,
             library: str | None = None, beam: int | None = None, k: int = 10, split: str = "held_out",
             generate: bool = True, invert: bool = False, elucidator: Any = None,
             generate_checkpoint: str | None = None, seed_library: str | None = None,
             search_budget: int = 0) -> dict[str, Any]:
    """Run elucidate on the selected records and return flat metrics (see the module docstring).

    Args:
        data: literature or nmrshiftdb2 JSON lines (file or data root).
        limit, seed: score a random subset of this many selected records.
        checkpoint: shift-model checkpoint (default: the shipped one).
        library: a library folder or spectra file for the pipeline (None: de novo only).
        beam: generator beam width; k: candidates per query (top-10 needs k >= 10).
        split: "held_out" (default), "val" or "test".
        generate_checkpoint: generation-model checkpoint (default: the shipped one).
        elucidator: a ready pipeline (overrides checkpoint/library/generate/invert; for tests).
        seed_library: known structures seeding the expansion (training-split molecules only).
        search_budget: N > 0: the expansion is one structure search of N structures.
    """
    from nmrlens.chem.mol import mol_inchikey, parse_smiles
    from nmrlens.pipeline import Elucidator

    if split not in ("held_out", "train", "val", "test"):
        raise NmrLensError(f"split: got {split!r}, expected held_out, val or test")
    recs = select_records(Path(data), limit=limit, seed=seed, split=split)
    lib: Any = library
    if elucidator is None and library is not None and Path(library).is_file():
        from nmrlens.pipeline import LibrarySource

        # every query gives its formula, so only library entries of those formulas can be candidates
        formulas = [f for f in (_formula(r) for r in recs) if f]
        lib = LibrarySource.from_path(library, formulas=formulas)
    seeds = None
    if seed_library is not None and elucidator is None:
        from nmrlens.pipeline.expand import SeedLibrary

        seeds = SeedLibrary.from_path(seed_library, split="train")
    el = elucidator or Elucidator.default(library=lib, generate=generate, invert=invert, checkpoint=checkpoint,
                                          assign_top=0, pool=max(50, k), generate_checkpoint=generate_checkpoint,
                                          seed_library=seeds, search=search_budget)
    hits = {f"top{n}{t}": 0 for n in (1, 5, 10) for t in ("", "_topology")}
    n = failures = empty = 0
    times: list[float] = []
    for rec in recs:
        try:
            key = rec.get("inchikey") if isinstance(rec.get("inchikey"), str) else mol_inchikey(parse_smiles(rec["smiles"]))
        except NmrLensError:
            continue
        q = record_query(rec)
        if q is None:
            failures += 1
            continue
        t0 = time.perf_counter()
        try:
            res = el.run(q, formula=_formula(rec), k=max(10, k), beam=beam)
        except NmrLensError as exc:
            logger.info("record %s: %s", rec.get("nmrshiftdb2_id") or rec.get("pmcid"), exc)
            failures += 1
            continue
        times.append(time.perf_counter() - t0)
        n += 1
        keys = [c.inchikey for c in res.candidates]
        if not keys:
            empty += 1
        for top in (1, 5, 10):
            hits[f"top{top}"] += key in keys[:top]
            hits[f"top{top}_topology"] += key[:14] in [x[:14] for x in keys[:top]]
    out: dict[str, Any] = {f"elucidate.{name}": (v / n if n else None) for name, v in hits.items()}
    out["elucidate.parse_failures"] = failures
    out["elucidate.n"] = n
    out["elucidate.seconds_per_query"] = round(sum(times) / len(times), 4) if times else None
    out["elucidate.median_seconds_per_query"] = round(statistics.median(times), 4) if times else None
    out["elucidate.no_candidate"] = empty / n if n else None
    out["elucidate.split"] = split
    out["elucidate.library"] = str(library) if library else None
    if seeds is not None:
        out["elucidate.seed_library_size"] = len(seeds)
    out["elucidate.search_budget"] = search_budget
    out["elucidate.components"] = "; ".join(f"{k2}: {v}" for k2, v in el.components.items())
    return out
