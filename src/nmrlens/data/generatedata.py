"""Spectrum -> SMILES examples for the generation model (:mod:`nmrlens.models.generate`).

- :func:`experimental_examples`: nmrshiftdb2 records -> the first (largest) experimental 13C and 1H
  spectrum of each record (:func:`nmrlens.data.spectrumdata.spectrum_datapoint` rules) + the neutral
  formula of its molecule; target = RDKit canonical isomeric SMILES.
- :func:`simulated_examples`: molecules of the *train* split only (never val/test; enforced) ->
  spectra predicted by the atom-level shift model (:func:`nmrlens.api.predict_many`). 1H multiplet
  labels and J are removed from a fraction of them (nmrshiftdb2 1H lists rarely have them).
- :func:`literature_examples`: literature records (article text parsed to 13C shifts and 1H
  multiplets, :mod:`nmrlens.tokenize.records`) of the chosen splits, source ``"lit"``.
- :func:`heldout_items`: records no shipped model trained on (:func:`nmrlens.data.splits.is_held_out`),
  as ``(query, smiles, inchikey)`` for evaluation; nmrshiftdb2 and literature record files.

Examples are stored token-level (segments of spectral token ids, target SMILES ids) so that the
trainer composes any input configuration (C, H, CH, CF, HF, CHF) on the fly;
:func:`save_examples` / :func:`load_examples` cache them as JSON lines (gzip).
"""

from __future__ import annotations

import gzip
import json
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from nmrlens.errors import NmrLensError

__all__ = ["GenExample", "GenBuildReport", "experimental_examples", "literature_examples", "simulated_examples", "heldout_items",
           "save_examples", "load_examples", "strip_h1_details", "neutral_formula"]


@dataclass
class GenExample:
    """One training example: segments ``{"C": ids, "H": ids, "F": ids}`` (spectral token ids, markers
    included, parts optional), ``target`` (SMILES token ids with <bos>/<eos>), the canonical SMILES,
    the split and the source (``"exp"``, ``"lit"``, ``"sim"`` or ``"brics"``)."""

    smiles: str
    split: str
    source: str
    segs: dict[str, list[int]]
    target: list[int]

    @property
    def configs(self) -> list[str]:
        """Input configurations this example can fill."""
        from nmrlens.tokenize.spectral import CONFIGS

        return [c for c in CONFIGS if all(p in self.segs for p in c)]


@dataclass
class GenBuildReport:
    """Counts of kept and skipped records."""

    kept: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str) -> None:
        """Count one skipped record."""
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


def neutral_formula(mol: Any) -> str | None:
    """Hill formula of a neutral molecule; None for a charged one (formula tokens are neutral only)."""
    from nmrlens.chem.formula import format_formula
    from nmrlens.chem.mol import element_counts

    if sum(a.GetFormalCharge() for a in mol.GetAtoms()):
        return None
    return format_formula(element_counts(mol))


def _example(src_tok: Any, tgt_tok: Any, query: Any, smiles: str, split: str, source: str, max_src: int,
             max_tgt: int, report: GenBuildReport) -> GenExample | None:
    from nmrlens.models.generate import query_segments

    try:
        target = tgt_tok.encode(smiles)
    except NmrLensError:
        report.skip("smiles not tokenizable")
        return None
    if len(target) > max_tgt:
        report.skip(f"smiles longer than {max_tgt} tokens")
        return None
    try:
        segs = query_segments(src_tok, query)
    except NmrLensError:
        report.skip("spectra not tokenizable")
        return None
    if "C" not in segs and "H" not in segs:
        report.skip("no 13C or 1H spectrum")
        return None
    if sum(len(s) for s in segs.values()) + 2 > max_src:
        report.skip(f"source longer than {max_src} tokens")
        return None
    report.kept += 1
    return GenExample(smiles, split, source, segs, target)


def experimental_examples(records: Iterable[dict[str, Any]], src_tok: Any, tgt_tok: Any, *,
                          splits: Sequence[str] = ("train", "val"), max_src: int = 256, max_tgt: int = 128,
                          report: GenBuildReport | None = None) -> list[GenExample]:
    """Examples of the experimental spectra of the records whose split is in ``splits``."""
    from rdkit import Chem

    from nmrlens.data.spectrumdata import SpectrumBuildReport, spectrum_datapoint
    from nmrlens.spectra.model import Query

    sub = SpectrumBuildReport()

    def item(rec: dict[str, Any]) -> tuple[Any, str] | None:
        dp = spectrum_datapoint(rec, sub)
        if dp is None:
            return None
        mol = Chem.MolFromSmiles(dp.smiles)
        return Query(spectra=list(dp.query.spectra), formula=neutral_formula(mol), smiles=dp.smiles), dp.smiles

    return _split_examples(records, item, "exp", src_tok, tgt_tok, splits, max_src, max_tgt, report)


def _split_examples(records: Iterable[dict[str, Any]], item: Any, source: str, src_tok: Any, tgt_tok: Any,
                    splits: Sequence[str], max_src: int, max_tgt: int, report: GenBuildReport | None) -> list[GenExample]:
    """Examples of the records whose split is in ``splits``; ``item(record)`` gives ``(query, smiles)`` or None
    (counted as "no usable spectrum or molecule")."""
    from nmrlens.data.splits import split_of_record

    report = report if report is not None else GenBuildReport()
    out = []
    for rec in records:
        try:
            split = split_of_record(rec)
        except NmrLensError:
            report.skip("no split")
            continue
        if split not in splits:
            continue
        it = item(rec)
        if it is None:
            report.skip("no usable spectrum or molecule")
            continue
        q, smi = it
        ex = _example(src_tok, tgt_tok, q, smi, split, source, max_src, max_tgt, report)
        if ex is not None:
            out.append(ex)
    return out


def strip_h1_details(query: Any) -> Any:
    """The query with multiplicity labels and J removed from its 1H multiplets (nH and ranges kept)."""
    from nmrlens.spectra.model import Multiplet, Query, Spectrum1D

    spectra = []
    for sp in query.spectra:
        if getattr(sp, "nucleus", None) == "1H":
            sp = Spectrum1D("1H", [Multiplet(m.shift_min, m.shift_max, None, (), m.nH) for m in sp.peaks])
        spectra.append(sp)
    return Query(spectra=spectra, formula=query.formula, smiles=query.smiles)


def simulated_examples(records: Iterable[dict[str, Any]], src_tok: Any, tgt_tok: Any, *, max_src: int = 256,
                       max_tgt: int = 128, strip_fraction: float = 0.7, seed: int = 0, batch_size: int = 512,
                       max_molecules: int | None = None, brics: int = 0, shift_checkpoint: str | None = None,
                       report: GenBuildReport | None = None) -> list[GenExample]:
    """Examples of predicted spectra of the *train*-split molecules of ``records`` (each molecule once;
    at most ``max_molecules`` of them, a seeded random subset, in record order), followed by ``brics``
    molecules recombined from their BRICS fragments (:func:`nmrlens.chem.enumerate.enumerate_brics`;
    only products whose InChIKey block falls in the train split are kept, source ``"brics"``)."""
    from rdkit import Chem

    from nmrlens import api
    from nmrlens.chem.validate import check_supported
    from nmrlens.data.splits import split_of_record

    report = report if report is not None else GenBuildReport()
    rng = random.Random(seed)
    seen: set[str] = set()
    mols, smiles = [], []
    for rec in records:
        try:
            if split_of_record(rec) != "train":
                continue
        except NmrLensError:
            continue
        mol = Chem.MolFromSmiles(rec.get("smiles") or "")
        if mol is None:
            report.skip("molecule not parsable")
            continue
        smi = Chem.MolToSmiles(mol)
        if smi in seen:
            continue
        seen.add(smi)
        try:
            check_supported(mol)
        except NmrLensError:
            report.skip("molecule not supported")
            continue
        try:
            if len(tgt_tok.encode(smi)) > max_tgt:
                report.skip(f"smiles longer than {max_tgt} tokens")
                continue
        except NmrLensError:
            report.skip("smiles not tokenizable")
            continue
        mols.append(mol)
        smiles.append(smi)
    if max_molecules is not None and len(mols) > max_molecules:
        keep = sorted(rng.sample(range(len(mols)), max_molecules))
        report.skipped["not in the random subset (max_molecules)"] = len(mols) - max_molecules
        mols, smiles = [mols[i] for i in keep], [smiles[i] for i in keep]
    sources = ["sim"] * len(mols)
    if brics > 0 and smiles:
        for m, smi in _brics_molecules(smiles, brics, seed, seen, tgt_tok, max_tgt, report):
            mols.append(m)
            smiles.append(smi)
            sources.append("brics")
    out = []
    for start in range(0, len(mols), batch_size):
        chunk = mols[start:start + batch_size]
        try:
            preds = api.predict_many(chunk, checkpoint=shift_checkpoint)
        except NmrLensError:
            report.skip("prediction failed (batch)")
            continue
        for mol, smi, src, pred in zip(chunk, smiles[start:start + batch_size], sources[start:start + batch_size], preds):
            from nmrlens.spectra.model import Query

            q = Query(spectra=[s for s in pred.query.spectra if s.peaks], formula=neutral_formula(mol), smiles=smi)
            if rng.random() < strip_fraction:
                q = strip_h1_details(q)
            ex = _example(src_tok, tgt_tok, q, smi, "train", src, max_src, max_tgt, report)
            if ex is not None:
                out.append(ex)
    return out


def _brics_molecules(smiles: Sequence[str], n: int, seed: int, seen: set[str], tgt_tok: Any, max_tgt: int,
                     report: GenBuildReport) -> list[tuple[Any, str]]:
    """BRICS recombinations of ``smiles`` that are new, supported, short enough and train-split molecules."""
    from rdkit import Chem

    from nmrlens.chem.enumerate import enumerate_brics
    from nmrlens.chem.mol import mol_inchikey
    from nmrlens.chem.validate import check_supported
    from nmrlens.data.splits import split_of_block

    try:
        products = enumerate_brics(list(smiles), n=n, seed=seed)
    except NmrLensError as exc:  # e.g. no molecule gives a BRICS fragment
        report.skip(f"brics: none ({exc})")
        return []
    out = []
    for smi in products:
        mol = Chem.MolFromSmiles(smi)
        if mol is None:
            continue
        smi = Chem.MolToSmiles(mol)
        if smi in seen:
            continue
        try:
            check_supported(mol)
            if split_of_block(mol_inchikey(mol)[:14]) != "train":
                report.skip("brics: not a train-split molecule")
                continue
            if len(tgt_tok.encode(smi)) > max_tgt:
                continue
        except NmrLensError:
            report.skip("brics: not supported")
            continue
        seen.add(smi)
        out.append((mol, smi))
    return out


def _record_item(rec: dict[str, Any]) -> tuple[Any, Any, str] | None:
    """``(query, molecule, canonical isomeric smiles)`` of a record: its first (largest) 13C and 1H
    spectrum (nmrshiftdb2 records: experimental spectra; literature records: the 13C shifts and 1H
    multiplets of the text) and the neutral formula of its molecule; None without both a molecule and
    a spectrum."""
    from rdkit import Chem

    from nmrlens.spectra.model import Query
    from nmrlens.tokenize.records import record_to_queries

    mol = Chem.MolFromSmiles(rec.get("smiles") or "") if isinstance(rec.get("smiles"), str) else None
    if mol is None:
        return None
    try:
        qs = record_to_queries(rec)
    except NmrLensError:
        return None
    spectra = []
    for nuc in ("13C", "1H"):
        cands = [s for q in qs for s in q.spectra if s.nucleus == nuc and s.peaks]
        if cands:
            spectra.append(max(cands, key=len))
    if not spectra:
        return None
    smi = Chem.MolToSmiles(mol)
    return Query(spectra=spectra, formula=neutral_formula(mol), smiles=smi), mol, smi


def literature_examples(records: Iterable[dict[str, Any]], src_tok: Any, tgt_tok: Any, *,
                        splits: Sequence[str] = ("train", "val"), max_src: int = 256, max_tgt: int = 128,
                        report: GenBuildReport | None = None) -> list[GenExample]:
    """Examples of literature records (13C shifts and 1H multiplets parsed from article text, see
    :func:`nmrlens.tokenize.records.record_to_queries`) whose split is in ``splits``; source ``"lit"``."""

    def item(rec: dict[str, Any]) -> tuple[Any, str] | None:
        it = _record_item(rec)
        return None if it is None else (it[0], it[2])

    return _split_examples(records, item, "lit", src_tok, tgt_tok, splits, max_src, max_tgt, report)


def heldout_items(path: str | Path, *, limit: int | None = None, held_out_only: bool = True) -> Iterator[tuple[Any, str, str]]:
    """``(query, canonical isomeric smiles, inchikey)`` of the records of a data file or folder that no
    shipped model trained on (all records when ``held_out_only`` is False), at most ``limit``.

    nmrshiftdb2 records: first (largest) experimental 13C and 1H spectrum; literature records: their
    13C shifts and 1H multiplets. The formula is the molecule's neutral formula (None if charged).
    """
    from nmrlens.chem.mol import mol_inchikey
    from nmrlens.data.splits import is_held_out
    from nmrlens.tokenize.records import iter_records

    p = Path(path)
    if p.is_dir():
        from nmrlens.data.datasets import resolve_data_file

        p = resolve_data_file("nmrshiftdb2", p)
    n = 0
    for rec in iter_records(p):
        if limit is not None and n >= limit:
            return
        if held_out_only and not is_held_out(rec):
            continue
        item = _record_item(rec)
        if item is None:
            continue
        q, mol, smi = item
        try:
            key = mol_inchikey(mol)
        except NmrLensError:
            continue
        n += 1
        yield q, smi, key


def save_examples(path: str | Path, examples: Sequence[GenExample]) -> None:
    """Write examples as gzip JSON lines (a cache; overwritten)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_suffix(p.suffix + ".tmp")
    with gzip.open(tmp, "wt") as fh:
        for ex in examples:
            fh.write(json.dumps(asdict(ex)) + "\n")
    tmp.replace(p)


def load_examples(path: str | Path) -> list[GenExample]:
    """Read examples written by :func:`save_examples`."""
    out = []
    with gzip.open(Path(path), "rt") as fh:
        for line in fh:
            d = json.loads(line)
            out.append(GenExample(d["smiles"], d["split"], d["source"], d["segs"], d["target"]))
    return out
