"""The public Python facade of nmrlens.

>>> from nmrlens import api
>>> pred = api.predict("CC(=O)OCc1ccccc1")          # doctest: +SKIP
>>> pred.query.spectrum("13C").shifts                 # ppm, decreasing  # doctest: +SKIP

Models are loaded once per process (on first use) and shared.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from nmrlens.spectra.model import Query, normalize_nucleus

if TYPE_CHECKING:  # pragma: no cover
    from nmrlens.models.shifts import AtomShifts, ShiftPredictor

__all__ = ["AtomPrediction", "Prediction", "predict", "predict_many", "shift_predictor"]


@dataclass(frozen=True)
class AtomPrediction:
    """Predicted shifts of one heavy atom (ppm; standard deviations in ppm; None where not applicable)."""

    index: int
    element: str
    n_h: int
    c13: float | None
    c13_sd: float | None
    h1: float | None
    h1_sd: float | None


@dataclass(frozen=True)
class Prediction:
    """A predicted spectrum set: peak lists (in ``query``) and per-atom shifts with uncertainty."""

    smiles: str
    query: Query
    atoms: tuple[AtomPrediction, ...]


@functools.lru_cache(maxsize=4)
def shift_predictor(checkpoint: str | None = None) -> "ShiftPredictor":
    """The loaded atom-level shift model (default: the shipped checkpoint), cached per process."""
    from nmrlens.models.shifts import ShiftPredictor

    return ShiftPredictor.load(checkpoint)


def _nuclei(nuclei: Iterable[str]) -> tuple[str, ...]:
    from nmrlens.errors import NmrLensError

    out = tuple(normalize_nucleus(n) for n in nuclei)
    bad = [n for n in out if n not in ("13C", "1H")]
    if bad or not out:
        raise NmrLensError(f"nucleus: got {', '.join(bad) or 'none'}, expected 13C and/or 1H")
    return out


def _build(mol: Any, atoms: "AtomShifts", nuclei: tuple[str, ...], frequency_MHz: float) -> Prediction:
    from nmrlens.chem.mol import canonical_smiles
    from nmrlens.spectra.from_shifts import c13_spectrum, h1_spectrum

    n = mol.GetNumAtoms()
    c13: list[float | None] = [None] * n
    h1: list[float | None] = [None] * n
    rows = []
    for k, idx in enumerate(atoms.atom_indices):
        c, h = atoms.c13[k], atoms.h1[k]
        c13[idx] = c[0] if c else None
        h1[idx] = h[0] if h else None
        rows.append(AtomPrediction(idx, atoms.elements[k], atoms.n_hs[k], c[0] if c else None, c[1] if c else None,
                                   h[0] if h else None, h[1] if h else None))
    spectra = []
    if "13C" in nuclei:
        spectra.append(c13_spectrum(mol, c13))
    if "1H" in nuclei:
        spectra.append(h1_spectrum(mol, h1, frequency_MHz=frequency_MHz))
    from nmrlens.chem.mol import mol_formula

    smiles = canonical_smiles(mol)
    return Prediction(smiles, Query(spectra=spectra, smiles=smiles, formula=mol_formula(mol)), tuple(rows))


def predict(molecule: Any, *, nuclei: Sequence[str] = ("13C", "1H"), frequency_MHz: float = 400.0,
            checkpoint: str | None = None) -> Prediction:
    """Predict the 13C peak list, the 1H multiplet list and per-atom shifts of one molecule.

    Args:
        molecule: SMILES, molblock or RDKit Mol.
        nuclei: which spectra to build (13C and/or 1H).
        frequency_MHz: spectrometer frequency used for the widths of 1H multiplets (MHz).
        checkpoint: a shift-model checkpoint path (default: the shipped one).

    Raises:
        InvalidMoleculeError: for an invalid or unsupported molecule (unknown elements, radicals,
            more than 100 heavy atoms, disconnected salts).
    """
    return predict_many([molecule], nuclei=nuclei, frequency_MHz=frequency_MHz, checkpoint=checkpoint)[0]


def predict_many(molecules: Sequence[Any], *, nuclei: Sequence[str] = ("13C", "1H"), frequency_MHz: float = 400.0,
                 checkpoint: str | None = None, batch_size: int = 256) -> list[Prediction]:
    """Predict several molecules at once (faster than one by one); raises on the first invalid one."""
    from nmrlens.chem.validate import check_supported, to_mol

    nucs = _nuclei(nuclei)
    mols = [to_mol(m) for m in molecules]
    for m in mols:
        check_supported(m)
    atoms = shift_predictor(checkpoint).predict_mols(mols, batch_size=batch_size)
    return [_build(m, a, nucs, frequency_MHz) for m, a in zip(mols, atoms)]
