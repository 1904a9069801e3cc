"""Checks that a molecule is one the prediction models support, with clear errors."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nmrlens.errors import InvalidMoleculeError

if TYPE_CHECKING:  # pragma: no cover
    from rdkit.Chem import Mol

__all__ = ["MAX_HEAVY_ATOMS", "to_mol", "check_supported"]

MAX_HEAVY_ATOMS = 100


def to_mol(molecule: Any) -> "Mol":
    """An RDKit molecule from a SMILES string, a molblock or a Mol.

    Raises:
        InvalidMoleculeError: when the input cannot be parsed.
    """
    from rdkit import Chem

    from nmrlens.chem.mol import parse_molblock, parse_smiles

    if isinstance(molecule, Chem.Mol):
        return molecule
    if isinstance(molecule, str):
        return parse_molblock(molecule) if "M  END" in molecule else parse_smiles(molecule)
    raise InvalidMoleculeError(f"molecule: got {type(molecule).__name__}, expected a SMILES string, a molblock or an RDKit Mol")


def check_supported(mol: "Mol") -> None:
    """Raise unless the molecule is one connected, closed-shell structure of supported elements
    with 1..100 heavy atoms.

    Raises:
        InvalidMoleculeError: naming what is wrong and what is allowed.
    """
    from rdkit import Chem

    from nmrlens.chem.mol import check_elements, heavy_atom_count

    n = heavy_atom_count(mol)
    if not 1 <= n <= MAX_HEAVY_ATOMS:
        raise InvalidMoleculeError(f"molecule: has {n} heavy atoms, expected 1..{MAX_HEAVY_ATOMS}")
    check_elements(mol)
    frags = Chem.GetMolFrags(mol)
    if len(frags) > 1:
        raise InvalidMoleculeError(
            f"molecule: has {len(frags)} disconnected fragments (a salt or mixture?); give one connected structure"
        )
    radicals = sum(a.GetNumRadicalElectrons() for a in mol.GetAtoms())
    if radicals:
        raise InvalidMoleculeError(f"molecule: has {radicals} unpaired electron(s); radicals are not supported")
