"""Fixtures of the format tests: real assigned nmrshiftdb2 records as queries."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from nmrlens.errors import NmrLensError
from nmrlens.spectra import Multiplet, Peak, Query, Spectrum1D, is_valid_multiplicity

@pytest.fixture(scope="session")
def nmrshiftdb2_queries(data_dir: Path) -> Callable[..., list[Query]]:
    """``take(n, fit)``: the first ``n`` assigned nmrshiftdb2 records (molblock; 13C/1H/19F/31P with
    atoms) as queries, after ``fit`` (None drops a query); records the model rejects are skipped."""
    path = data_dir / "nmrshiftdb2" / "molecules.jsonl.gz"
    if not path.exists():
        pytest.skip(f"{path} is missing")

    def take(n: int, fit: Callable[[Query], Query | None] = lambda q: q) -> list[Query]:
        out: list[Query] = []
        for q in _assigned_queries(path):
            kept = fit(q)
            if kept is not None:
                out.append(kept)
            if len(out) == n:
                break
        return out

    return take


def _assigned_queries(path: Path) -> Iterator[Query]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            if not rec.get("assigned"):
                continue
            try:
                yield _record_query(rec)
            except NmrLensError:  # a few source values are outside the model's ranges (e.g. 0 K)
                continue


def _record_query(rec: dict[str, Any]) -> Query:
    spectra = []
    for s in rec["spectra"]:
        if s["nucleus"] not in ("13C", "1H", "19F", "31P"):
            continue
        if s["nucleus"] == "1H":
            ps: list[Peak | Multiplet] = [Multiplet(
                p["shift"], p["shift"], p.get("mult") if is_valid_multiplicity(p.get("mult")) else None,
                nH=p.get("nH"), atoms=p.get("atoms", ())) for p in s["peaks"]]
        else:
            ps = [Peak(p["shift"], mult=p.get("mult") if p.get("mult") in ("S", "D", "T", "Q") else None,
                       intensity=p.get("intensity"), atoms=p.get("atoms", ())) for p in s["peaks"]]
        spectra.append(Spectrum1D(s["nucleus"], ps, solvent=s.get("solvent"), frequency_MHz=s.get("field_MHz"),
                                  temperature_K=s.get("temperature_K")))
    return Query(spectra=spectra, smiles=rec["smiles"], formula=rec["formula"], molblock=rec["molblock"],
                 id=str(rec["nmrshiftdb2_id"]))
