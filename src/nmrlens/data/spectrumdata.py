"""Molecule + experimental peak-list datapoints (for models that write whole spectra).

Each datapoint holds the molecule graph (from the record's SMILES) and a :class:`Query` with the
record's first experimental 13C and first 1H spectrum (the ones with most peaks). Records whose
molecule is unsupported (:func:`nmrlens.chem.validate.check_supported`) or whose 13C list has
more peaks than the molecule has carbons are skipped and counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

from nmrlens.data.featurize import MolGraph, featurize_mol
from nmrlens.spectra.model import Query

__all__ = ["SpectrumDatapoint", "SpectrumBuildReport", "spectrum_datapoint", "spectrum_datapoints"]


@dataclass
class SpectrumDatapoint:
    """One molecule with its experimental 13C and/or 1H peak lists."""

    id: int
    split: str
    smiles: str
    graph: MolGraph
    query: Query
    n_c: int
    n_h: int


@dataclass
class SpectrumBuildReport:
    """Counts of kept and skipped records."""

    kept: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str) -> None:
        """Count one skipped record."""
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


def spectrum_datapoint(record: dict[str, Any], report: SpectrumBuildReport | None = None) -> SpectrumDatapoint | None:
    """Datapoint of a raw nmrshiftdb2 record, or None (counted) when unusable."""
    from nmrlens.chem.mol import element_counts
    from nmrlens.chem.validate import check_supported
    from nmrlens.data.splits import split_of_record
    from nmrlens.errors import NmrLensError
    from nmrlens.io.nmrshiftdb2 import ReadReport, record_to_query
    from rdkit import Chem

    report = report if report is not None else SpectrumBuildReport()
    try:
        q = record_to_query(record, check_smiles=False, errors="skip", report=ReadReport())
    except NmrLensError:
        report.skip("record not readable")
        return None
    spectra = []
    for nuc in ("13C", "1H"):
        cands = [s for s in q.spectra if s.nucleus == nuc and s.peaks]
        if cands:
            spectra.append(max(cands, key=len))
    if not spectra:
        report.skip("no 13C or 1H spectrum")
        return None
    mol = Chem.MolFromSmiles(record.get("smiles") or "")
    if mol is None:
        report.skip("molecule not parsable")
        return None
    try:
        check_supported(mol)
    except NmrLensError:
        report.skip("molecule not supported")
        return None
    counts = element_counts(mol)
    n_c, n_h = counts.get("C", 0), counts.get("H", 0)
    c13 = next((s for s in spectra if s.nucleus == "13C"), None)
    if c13 is not None and sum(p.count or 1 for p in c13.peaks) > n_c:
        spectra = [s for s in spectra if s.nucleus != "13C"]
        report.skip("13C: more peaks than carbons (13C dropped)")
        if not spectra:
            return None
    report.kept += 1
    return SpectrumDatapoint(int(record.get("nmrshiftdb2_id") or 0), split_of_record(record), Chem.MolToSmiles(mol),
                             featurize_mol(mol), Query(spectra=spectra, smiles=record.get("smiles")), n_c, n_h)


def spectrum_datapoints(records: Iterable[dict[str, Any]], report: SpectrumBuildReport | None = None) -> Iterator[SpectrumDatapoint]:
    """Datapoints of every usable record."""
    report = report if report is not None else SpectrumBuildReport()
    for r in records:
        dp = spectrum_datapoint(r, report)
        if dp is not None:
            yield dp
