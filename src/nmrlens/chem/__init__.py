"""Chemistry helpers (RDKit is imported lazily by the functions that need it)."""

from nmrlens.chem.formula import format_formula, normalize_formula, parse_formula
from nmrlens.chem.heterotopic import heterotopic_pairs, nmr_classes
from nmrlens.chem.mol import (
    SUPPORTED_ELEMENTS,
    attached_h_counts,
    canonical_smiles,
    check_elements,
    chiral_center_count,
    element_counts,
    heavy_atom_count,
    inchikey_block,
    mol_formula,
    mol_inchikey,
    parse_molblock,
    parse_smiles,
    symmetry_classes,
)

__all__ = [
    "SUPPORTED_ELEMENTS",
    "attached_h_counts",
    "canonical_smiles",
    "check_elements",
    "chiral_center_count",
    "element_counts",
    "format_formula",
    "heavy_atom_count",
    "heterotopic_pairs",
    "inchikey_block",
    "mol_formula",
    "mol_inchikey",
    "nmr_classes",
    "normalize_formula",
    "parse_formula",
    "parse_molblock",
    "parse_smiles",
    "symmetry_classes",
]
