"""Peak helpers shared by the format modules: 1H multiplicity labels of peak tables, explicit H atoms.

- :func:`h1_multiplicity` reads the multiplicity column/attribute of a peak table (JCAMP-DX,
  NMReDATA, CSV): case, dots and spacing are ignored and the common short spellings are read
  (:data:`MULT_ALIASES`); anything else must already be a canonical label of
  :mod:`nmrlens.spectra.model`. Free literature text is read by the more lenient
  :func:`nmrlens.io.acs.canonical_multiplicity` instead.
- :func:`hydrogen_map` reads a molblock with RDKit (explicit H kept) and tells which heavy atom
  carries each explicit H atom, so that 1H assignments to H atoms become heavy-atom ``atoms``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from nmrlens.errors import FileFormatError, SpectrumFormatError, short_repr
from nmrlens.spectra.model import is_valid_multiplicity

__all__ = ["NUMBER", "parse_number", "MULT_ALIASES", "h1_multiplicity", "HydrogenMap", "hydrogen_map", "quiet_rdkit"]

#: A decimal number as peak files write it (no inf/nan; exponents of at most 3 digits; linear-time).
NUMBER = r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]{1,3})?"
_NUMBER_RE = re.compile(rf"^{NUMBER}$")

#: Short spellings of 1H multiplicities found in peak tables -> canonical label.
MULT_ALIASES: dict[str, str] = {
    "bs": "br s", "brs": "br s", "br": "br s", "b": "br s", "hept": "sept", "quin": "quint", "p": "quint",
}
_ALLOWED = "a multiplicity such as s, d, t, q, quint, sext, sept, m, dd, dt, br s (or bs, brs, br, hept, quin, p)"


def parse_number(text: str, where: str) -> float:
    """The finite number written in ``text`` (surrounding white space ignored).

    Raises:
        FileFormatError: naming ``where`` when it is not a finite number.
    """
    t = text.strip()
    if not _NUMBER_RE.match(t):
        raise FileFormatError(f"{where}: got {short_repr(t)}, expected a number")
    v = float(t)
    if not math.isfinite(v):
        raise FileFormatError(f"{where}: got {short_repr(t)}, expected a finite number")
    return v


def h1_multiplicity(text: str, field_name: str) -> str:
    """Canonical 1H multiplicity of a peak table's label.

    ``"BS"``, ``"br. s"`` -> ``"br s"``; ``"hept"`` -> ``"sept"``; canonical labels are kept.

    Raises:
        SpectrumFormatError: naming ``field_name`` when the label is not a multiplicity.
    """
    mult = " ".join(text.lower().replace(".", "").split())
    mult = MULT_ALIASES.get(mult, mult)
    if not is_valid_multiplicity(mult):
        raise SpectrumFormatError(field_name, text, _ALLOWED)
    return mult


def quiet_rdkit() -> None:
    """Silence RDKit's logging (its C++ warnings would otherwise go to stderr)."""
    from rdkit import RDLogger

    RDLogger.DisableLog("rdApp.*")


@dataclass(frozen=True)
class HydrogenMap:
    """The explicit H atoms of a molblock (0-based atom indices).

    Attributes:
        n_atoms: number of atoms, explicit H included.
        is_h: for each atom, whether it is a hydrogen (any isotope).
        heavy_of_h: explicit H atom -> the first non-H atom bonded to it (H without one are absent).
        hs_of_heavy: the inverse: atom -> the explicit H atoms it carries, in atom order.
    """

    n_atoms: int = 0
    is_h: tuple[bool, ...] = ()
    heavy_of_h: dict[int, int] = field(default_factory=dict)
    hs_of_heavy: dict[int, list[int]] = field(default_factory=dict)


def hydrogen_map(molblock: str, where: str, *, strict: bool = True) -> HydrogenMap:
    """Read ``molblock`` with RDKit (unsanitised, explicit H kept) and map its H atoms.

    Args:
        molblock: a V2000/V3000 molblock.
        where: the start of the error message (e.g. ``"nmredata: record 2 (line 40)"``).
        strict: RDKit's ``strictParsing`` (False reads some malformed property lines).

    Raises:
        FileFormatError: when RDKit cannot read the molblock.
    """
    from rdkit import Chem

    quiet_rdkit()
    try:
        mol = Chem.MolFromMolBlock(molblock, sanitize=False, removeHs=False, strictParsing=strict)
    except Exception:  # noqa: BLE001 - RDKit raises a variety of C++ errors on garbage
        mol = None
    if mol is None:
        raise FileFormatError(f"{where}: RDKit cannot read the molblock")
    is_h = tuple(a.GetAtomicNum() == 1 for a in mol.GetAtoms())
    heavy_of_h: dict[int, int] = {}
    hs_of_heavy: dict[int, list[int]] = {}
    for atom in mol.GetAtoms():
        if atom.GetAtomicNum() == 1:
            heavy = [nb.GetIdx() for nb in atom.GetNeighbors() if nb.GetAtomicNum() != 1]
            if heavy:
                heavy_of_h[atom.GetIdx()] = heavy[0]
                hs_of_heavy.setdefault(heavy[0], []).append(atom.GetIdx())
    return HydrogenMap(len(is_h), is_h, heavy_of_h, hs_of_heavy)
