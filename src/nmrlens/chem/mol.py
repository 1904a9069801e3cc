"""RDKit wrappers: parsing that raises instead of returning None, and per-molecule facts.

Every function takes or returns RDKit ``Mol`` objects; hydrogens are implicit unless said.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from nmrlens.errors import InvalidMoleculeError

if TYPE_CHECKING:  # pragma: no cover
    from rdkit.Chem import Mol

__all__ = [
    "SUPPORTED_ELEMENTS",
    "MAX_SMILES_LENGTH",
    "parse_smiles",
    "parse_molblock",
    "canonical_smiles",
    "mol_formula",
    "mol_inchikey",
    "inchikey_block",
    "symmetry_classes",
    "attached_h_counts",
    "chiral_center_count",
    "element_counts",
    "check_elements",
    "heavy_atom_count",
]

#: Elements kept by the NMRPeak curation rules (Methods 5.1).
SUPPORTED_ELEMENTS: frozenset[str] = frozenset("H C O N S F Cl Br Si P I B Se".split())
MAX_SMILES_LENGTH = 5000


def _quiet_rdkit() -> None:
    from rdkit import RDLogger

    RDLogger.DisableLog("rdApp.*")


def parse_smiles(smiles: str, *, sanitize: bool = True) -> "Mol":
    """Parse a SMILES string into an RDKit molecule.

    Raises:
        InvalidMoleculeError: when the text is empty, too long or not a valid (sanitisable) SMILES.
    """
    from rdkit import Chem

    _quiet_rdkit()
    if not isinstance(smiles, str) or not smiles.strip():
        raise InvalidMoleculeError(f"smiles: got {smiles!r}, expected a non-empty SMILES string")
    if len(smiles) > MAX_SMILES_LENGTH:
        raise InvalidMoleculeError(
            f"smiles: got {len(smiles)} characters, expected at most {MAX_SMILES_LENGTH}"
        )
    mol = Chem.MolFromSmiles(smiles.strip(), sanitize=sanitize)
    if mol is None:
        raise InvalidMoleculeError(f"smiles: {smiles[:80]!r} is not a valid SMILES (RDKit could not parse it)")
    return mol


def parse_molblock(molblock: str, *, remove_hs: bool = False, sanitize: bool = True) -> "Mol":
    """Parse a V2000/V3000 molblock (atom order kept; explicit H kept unless ``remove_hs``).

    Raises:
        InvalidMoleculeError: when RDKit cannot read or sanitise the block.
    """
    from rdkit import Chem

    _quiet_rdkit()
    if not isinstance(molblock, str) or "M  END" not in molblock:
        raise InvalidMoleculeError("molblock: expected a MDL molblock ending with 'M  END'")
    mol = Chem.MolFromMolBlock(molblock, removeHs=remove_hs, sanitize=sanitize)
    if mol is None:
        raise InvalidMoleculeError("molblock: RDKit could not parse or sanitise the molblock")
    return mol


def canonical_smiles(mol: "Mol", *, isomeric: bool = True) -> str:
    """RDKit canonical SMILES (isomeric by default)."""
    from rdkit import Chem

    return Chem.MolToSmiles(mol, isomericSmiles=isomeric)


def mol_formula(mol: "Mol") -> str:
    """Molecular formula in Hill order, implicit hydrogens included, net charge as RDKit writes it."""
    from nmrlens.chem.formula import format_formula

    return format_formula(element_counts(mol), sum(a.GetFormalCharge() for a in mol.GetAtoms()))


def element_counts(mol: "Mol") -> dict[str, int]:
    """Element -> count, implicit and explicit hydrogens included (D counted as H)."""
    counts: dict[str, int] = {}
    for atom in mol.GetAtoms():
        sym = atom.GetSymbol()
        counts[sym] = counts.get(sym, 0) + 1
        nh = atom.GetTotalNumHs()
        if nh:
            counts["H"] = counts.get("H", 0) + nh
    return counts


def mol_inchikey(mol: "Mol") -> str:
    """Standard InChIKey (27 characters).

    Raises:
        InvalidMoleculeError: when RDKit cannot compute an InChI for the molecule.
    """
    from rdkit import Chem

    _quiet_rdkit()
    key = Chem.MolToInchiKey(mol)
    if not key:
        raise InvalidMoleculeError("molecule: RDKit could not compute an InChIKey")
    return key


def inchikey_block(inchikey: str) -> str:
    """First (connectivity) block of an InChIKey: 14 characters shared by stereoisomers."""
    if not isinstance(inchikey, str) or len(inchikey) < 14:
        raise InvalidMoleculeError(f"inchikey: got {inchikey!r}, expected a 27-character InChIKey")
    return inchikey[:14]


def symmetry_classes(mol: "Mol") -> list[int]:
    """Topological equivalence class per atom (atoms with equal values are symmetry-equivalent).

    Uses RDKit canonical ranking without tie breaking, so equivalent carbons/protons can be merged.
    Class labels are renumbered 0, 1, 2, ... in order of first appearance.
    """
    from rdkit import Chem

    ranks = list(Chem.CanonicalRankAtoms(mol, breakTies=False, includeChirality=True))
    remap: dict[int, int] = {}
    return [remap.setdefault(r, len(remap)) for r in ranks]


def attached_h_counts(mol: "Mol") -> list[int]:
    """Number of hydrogens attached to each atom (implicit + explicit H neighbours)."""
    return [a.GetTotalNumHs(includeNeighbors=True) for a in mol.GetAtoms()]


def chiral_center_count(mol: "Mol", *, include_unassigned: bool = True) -> int:
    """Number of tetrahedral stereocentres (assigned, and unassigned when asked)."""
    from rdkit import Chem

    centers = Chem.FindMolChiralCenters(mol, includeUnassigned=include_unassigned, useLegacyImplementation=False)
    return len(centers)


def heavy_atom_count(mol: "Mol") -> int:
    """Number of non-hydrogen atoms."""
    return sum(1 for a in mol.GetAtoms() if a.GetAtomicNum() > 1)


def check_elements(mol: "Mol", allowed: Iterable[str] = SUPPORTED_ELEMENTS) -> None:
    """Raise when the molecule contains an element outside ``allowed``.

    Raises:
        InvalidMoleculeError: naming the unsupported elements and the allowed set.
    """
    allowed_set = set(allowed)
    bad = sorted({a.GetSymbol() for a in mol.GetAtoms()} - allowed_set)
    if bad:
        raise InvalidMoleculeError(
            f"molecule: unsupported element(s) {', '.join(bad)}; allowed: {', '.join(sorted(allowed_set))}"
        )
