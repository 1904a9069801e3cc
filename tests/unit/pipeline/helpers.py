"""Shared helpers of the pipeline tests: a spectrum predictor that looks spectra up in the test
library (no model), so the orchestration is tested fast and deterministically."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nmrlens.spectra.model import Query

LIBRARY = Path(__file__).resolve().parents[2] / "data" / "elucidate_library.json"
EXAMPLE_TXT = Path(__file__).resolve().parents[3] / "examples" / "benzyl_acetate.txt"
BENZYL_ACETATE = "CC(=O)OCc1ccccc1"


@dataclass
class _Pred:
    query: Query


class LookupPredictor:
    """Returns the library's spectra of a SMILES as its 'prediction' (None for unknown molecules)."""

    def __init__(self) -> None:
        from nmrlens import io
        from nmrlens.chem.mol import canonical_smiles, parse_smiles

        self.spectra = {canonical_smiles(parse_smiles(q.smiles)): q for q in io.read(LIBRARY)}

    def predict(self, smiles: list[str]) -> list[_Pred | None]:
        from nmrlens.chem.mol import canonical_smiles, parse_smiles

        out = []
        for s in smiles:
            q = self.spectra.get(canonical_smiles(parse_smiles(s)))
            out.append(None if q is None else _Pred(q))
        return out
