"""Molecules <-> bond-matrix tensors (the structure side of the invertible network).

Two layouts, both ``(channels, size, size)`` float arrays of 0/1 values:

``revmolspec`` (the peer's encoding, RevMolSpec04.py)
    Hydrocarbons of up to ``size + 1`` = 17 carbon atoms. The strict upper triangle of the
    17 x 17 bond matrix (pairs ``(i, j)``, ``i < j``) is packed row by row into the upper triangle
    *with* diagonal of a 16 x 16 matrix: pair ``(i, j)`` sits at ``(i, j - 1)``. Channels 0, 1, 2:
    bond order 1, 2, 3 (Kekulé orders for aromatic bonds); channel 3: aromatic flag. Atoms are the
    ones with at least one bond (all carbon), so methane cannot be represented.

``general`` (this project's extension, for the nmrshiftdb2 records)
    Molecules of up to ``size`` = 16 heavy atoms of the elements ``elements`` (default C, N, O, S,
    F, Cl, Br, I), neutral, one fragment. Bonds in the strict upper triangle, channels as above; the
    element of atom ``i`` is a one-hot over the channels on the diagonal ``(i, i)`` (channel k =
    ``elements[k]``), which also marks the atom as present. Channels beyond 4 carry only elements.

The table digits of RevMolSpec (``bonds`` matrices: 0 none, 1/2/3 bond order, 6/7 aromatic bond
of Kekulé order 1/2) are the common intermediate: :func:`mol_to_bonds` / :func:`bonds_to_mol`
convert between RDKit molecules and ``(bonds, elements)``; :func:`encode` / :func:`decode` between
those and tensors. Decoding is valence-checked (greedy, strongest bond first, within each
element's maximum valence), sanitised by RDKit, and reports why a tensor is not a molecule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Sequence

from nmrlens.errors import ConfigError, InvalidMoleculeError

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    from rdkit.Chem import Mol

__all__ = [
    "MatrixSpec",
    "DecodedStructure",
    "DEFAULT_ELEMENTS",
    "MAX_VALENCE",
    "mol_to_bonds",
    "bonds_to_mol",
    "encode",
    "encode_mol",
    "encode_bonds",
    "decode",
    "structure_key",
    "canonical_order",
    "random_dfs_order",
]

#: Elements of the general layout, in channel order (carbon first).
DEFAULT_ELEMENTS: tuple[str, ...] = ("C", "N", "O", "S", "F", "Cl", "Br", "I")
#: Largest total bond order a neutral atom of each element may carry when decoding.
MAX_VALENCE: dict[str, int] = {"C": 4, "N": 3, "O": 2, "S": 6, "F": 1, "Cl": 1, "Br": 1, "I": 1,
                               "P": 5, "Si": 4, "B": 3, "Se": 6}
_BOND_CHANNELS = 3
_AROMATIC = 3


@dataclass(frozen=True)
class MatrixSpec:
    """How molecules are packed into tensors.

    Attributes:
        layout: ``"revmolspec"`` (hydrocarbons, the peer's packing) or ``"general"`` (elements on the diagonal).
        size: side of the square matrix (a power of two for the space-to-depth stages).
        elements: the general layout's elements in channel order (ignored for revmolspec).
        atom_order: ``"source"`` keeps the atom order given (the table's, or the SMILES'), ``"canonical"``
            renumbers atoms in RDKit's canonical SMILES output order (a depth-first order, so most
            bonds sit next to the diagonal).
    """

    layout: Literal["revmolspec", "general"] = "revmolspec"
    size: int = 16
    elements: tuple[str, ...] = DEFAULT_ELEMENTS
    atom_order: Literal["source", "canonical"] = "canonical"
    _valence: tuple[int, ...] = field(init=False, repr=False, compare=False, default=())

    def __post_init__(self) -> None:
        if self.layout not in ("revmolspec", "general"):
            raise ConfigError(f"layout: got {self.layout!r}, expected 'revmolspec' or 'general'")
        if self.atom_order not in ("source", "canonical"):
            raise ConfigError(f"atom_order: got {self.atom_order!r}, expected 'source' or 'canonical'")
        if not isinstance(self.size, int) or self.size < 2 or self.size & (self.size - 1):
            raise ConfigError(f"size: got {self.size!r}, expected a power of two >= 2")
        elements = tuple(self.elements)
        object.__setattr__(self, "elements", elements)
        if self.layout == "general":
            if not elements or len(set(elements)) != len(elements) or elements[0] != "C":
                raise ConfigError(f"elements: got {elements!r}, expected distinct element symbols starting with 'C'")
            bad = [e for e in elements if e not in MAX_VALENCE]
            if bad:
                raise ConfigError(f"elements: {', '.join(bad)} not supported; allowed: {', '.join(MAX_VALENCE)}")
        object.__setattr__(self, "_valence", tuple(MAX_VALENCE[e] for e in self.element_list))

    @property
    def element_list(self) -> tuple[str, ...]:
        """Elements this layout can hold (only carbon for revmolspec)."""
        return ("C",) if self.layout == "revmolspec" else self.elements

    @property
    def channels(self) -> int:
        """Number of tensor channels (even, at least 4)."""
        if self.layout == "revmolspec":
            return 4
        n = max(4, len(self.elements))
        return n + (n % 2)

    @property
    def max_atoms(self) -> int:
        """Most heavy atoms a tensor can hold."""
        return self.size + 1 if self.layout == "revmolspec" else self.size

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(channels, size, size)``."""
        return (self.channels, self.size, self.size)

    def pair_position(self, i: int, j: int) -> tuple[int, int]:
        """Matrix cell of the bond between atoms ``i < j``."""
        return (i, j - 1) if self.layout == "revmolspec" else (i, j)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (the model's hyper-parameters)."""
        return {"layout": self.layout, "size": self.size, "elements": list(self.elements), "atom_order": self.atom_order}


@dataclass(frozen=True)
class DecodedStructure:
    """Result of decoding a tensor.

    Attributes:
        smiles: canonical SMILES when the tensor decodes to one valid, connected molecule, else None.
        reason: ``"ok"`` or why not (``"empty"``, ``"disconnected"``, ``"sanitize"``).
        n_atoms: heavy atoms found; n_dropped: bonds left out by the valence check.
    """

    smiles: str | None
    reason: str
    n_atoms: int
    n_dropped: int = 0
    mol: Any = None

    @property
    def valid(self) -> bool:
        """True when the tensor decoded to one sanitised, connected molecule."""
        return self.smiles is not None


def canonical_order(mol: "Mol") -> list[int]:
    """Atom indices in RDKit's canonical SMILES output order (depth first)."""
    from rdkit import Chem

    Chem.MolToSmiles(mol)
    order = mol.GetProp("_smilesAtomOutputOrder")
    return [int(t) for t in order.strip("[],").split(",") if t.strip()]


def random_dfs_order(mol: "Mol", rng: "np.random.Generator") -> list[int]:
    """A random depth-first atom order (random start atom, neighbours visited in random order).

    Like the canonical SMILES order it puts most bonds next to the diagonal; used to augment
    training data with other valid numberings of the same molecule.
    """
    n = mol.GetNumAtoms()
    nbrs = [[b.GetOtherAtomIdx(a) for b in mol.GetAtomWithIdx(a).GetBonds()] for a in range(n)]
    seen = [False] * n
    order: list[int] = []
    for start in [int(v) for v in rng.permutation(n)]:
        if seen[start]:
            continue
        stack = [start]
        while stack:
            a = stack.pop()
            if seen[a]:
                continue
            seen[a] = True
            order.append(a)
            nb = [v for v in nbrs[a] if not seen[v]]
            stack.extend(nb[k] for k in rng.permutation(len(nb)))
    return order


def mol_to_bonds(mol: "Mol", spec: MatrixSpec, order: Sequence[int] | None = None) -> tuple["np.ndarray", list[str]]:
    """Bond-digit matrix (n x n int8, RevMolSpec digits) and element list of a molecule, in the
    spec's atom order (or the explicit ``order``: atom indices, row by row).

    Raises:
        InvalidMoleculeError: for a molecule the layout cannot hold (too many atoms, other
            elements, charges, radicals, several fragments, no bond), naming what is allowed.
    """
    import numpy as np
    from rdkit import Chem

    mol = Chem.RemoveHs(mol) if any(a.GetAtomicNum() == 1 for a in mol.GetAtoms()) else mol
    n = mol.GetNumAtoms()
    allowed = spec.element_list
    if n < 2 or n > spec.max_atoms:
        raise InvalidMoleculeError(f"molecule: has {n} heavy atoms, expected 2..{spec.max_atoms} for the {spec.layout} layout")
    bad = sorted({a.GetSymbol() for a in mol.GetAtoms()} - set(allowed))
    if bad:
        raise InvalidMoleculeError(f"molecule: element(s) {', '.join(bad)} not in the {spec.layout} layout; allowed: {', '.join(allowed)}")
    if any(a.GetFormalCharge() for a in mol.GetAtoms()) or any(a.GetNumRadicalElectrons() for a in mol.GetAtoms()):
        raise InvalidMoleculeError("molecule: has charged atoms or radicals; only neutral closed-shell molecules are allowed")
    if len(Chem.GetMolFrags(mol)) > 1:
        raise InvalidMoleculeError("molecule: has several fragments; expected one connected structure")
    kek = Chem.Mol(mol)
    try:
        Chem.Kekulize(kek, clearAromaticFlags=False)
    except Exception:  # noqa: BLE001 - RDKit raises its own exception types
        raise InvalidMoleculeError("molecule: cannot be kekulized") from None
    if order is None:
        order = canonical_order(kek) if spec.atom_order == "canonical" else list(range(n))
    elif sorted(order) != list(range(n)):
        raise InvalidMoleculeError(f"order: got {list(order)[:20]!r}, expected a permutation of 0..{n - 1}")
    pos = {a: k for k, a in enumerate(order)}
    bonds = np.zeros((n, n), dtype=np.int8)
    for b in kek.GetBonds():
        bt = b.GetBondType()
        o = {Chem.BondType.SINGLE: 1, Chem.BondType.DOUBLE: 2, Chem.BondType.TRIPLE: 3}.get(bt)
        if o is None:
            raise InvalidMoleculeError(f"molecule: bond type {bt} is not supported (single, double, triple, aromatic)")
        v = o + 5 if b.GetIsAromatic() else o
        i, j = pos[b.GetBeginAtomIdx()], pos[b.GetEndAtomIdx()]
        bonds[i, j] = bonds[j, i] = v
    elements = [kek.GetAtomWithIdx(a).GetSymbol() for a in order]
    return bonds, elements


def bonds_to_mol(bonds: "np.ndarray", elements: Sequence[str] | None = None) -> "Mol":
    """Sanitised RDKit molecule from a bond-digit matrix (atoms without bonds dropped).

    Args:
        bonds: n x n matrix of RevMolSpec digits (0, 1/2/3, 6/7 = aromatic of Kekulé order 1/2).
        elements: element of each row (default: all carbon).

    Raises:
        InvalidMoleculeError: when no bond is set or RDKit cannot sanitise the result.
    """
    import numpy as np
    from rdkit import Chem

    b = np.asarray(bonds)
    if b.ndim != 2 or b.shape[0] != b.shape[1]:
        raise InvalidMoleculeError(f"bonds: got shape {b.shape}, expected a square matrix")
    n = b.shape[0]
    els = list(elements) if elements is not None else ["C"] * n
    if len(els) != n:
        raise InvalidMoleculeError(f"elements: got {len(els)}, expected {n} (one per matrix row)")
    present = [i for i in range(n) if (b[i] != 0).any()]
    if not present:
        raise InvalidMoleculeError("bonds: the matrix has no bond (methane and single atoms cannot be represented)")
    rw = Chem.RWMol()
    idx = {}
    for i in present:
        atom = Chem.Atom(els[i])
        idx[i] = rw.AddAtom(atom)
    types = {1: Chem.BondType.SINGLE, 2: Chem.BondType.DOUBLE, 3: Chem.BondType.TRIPLE}
    for i in present:
        for j in present:
            if j <= i or not b[i, j]:
                continue
            v = int(b[i, j])
            o = v - 5 if v > 5 else v
            if o not in types:
                raise InvalidMoleculeError(f"bonds[{i},{j}]: got {v}, expected 0, 1, 2, 3, 6 or 7")
            rw.AddBond(idx[i], idx[j], types[o])
    mol = rw.GetMol()
    try:
        Chem.SanitizeMol(mol)
    except Exception as exc:  # noqa: BLE001 - RDKit's sanitisation errors
        raise InvalidMoleculeError(f"bonds: RDKit could not sanitise the structure ({type(exc).__name__})") from None
    return mol


def encode_bonds(bonds: "np.ndarray", elements: Sequence[str] | None, spec: MatrixSpec) -> "np.ndarray":
    """Tensor ``spec.shape`` (float32 0/1) of a bond-digit matrix in its given atom order.

    Raises:
        InvalidMoleculeError: when the matrix is larger than the layout allows or an element is
            not one of the layout's.
    """
    import numpy as np

    b = np.asarray(bonds)
    n = b.shape[0]
    present = np.flatnonzero((b != 0).any(axis=1))
    last = int(present.max()) + 1 if len(present) else 0
    if last > spec.max_atoms:
        raise InvalidMoleculeError(f"bonds: uses {last} atoms, expected at most {spec.max_atoms} for the {spec.layout} layout")
    x = np.zeros(spec.shape, dtype=np.float32)
    els = list(elements) if elements is not None else ["C"] * n
    rows, cols = np.nonzero(np.triu(b, 1))
    for i, j in zip(rows.tolist(), cols.tolist()):
        v = int(b[i, j])
        o = v - 5 if v > 5 else v
        if o not in (1, 2, 3):
            raise InvalidMoleculeError(f"bonds[{i},{j}]: got {v}, expected 0, 1, 2, 3, 6 or 7")
        r, c = spec.pair_position(i, j)
        x[o - 1, r, c] = 1.0
        if v > 5:
            x[_AROMATIC, r, c] = 1.0
    if spec.layout == "general":
        lookup = {e: k for k, e in enumerate(spec.elements)}
        for i in range(min(n, spec.size)):
            if i < last or els[i] != "C":
                if els[i] not in lookup:
                    raise InvalidMoleculeError(f"elements[{i}]: {els[i]!r} not in the layout; allowed: {', '.join(spec.elements)}")
                if i < last:
                    x[lookup[els[i]], i, i] = 1.0
    elif any(e != "C" for e in els[:last]):
        raise InvalidMoleculeError("molecule: the revmolspec layout holds hydrocarbons only (element C)")
    return x


def encode_mol(mol: "Mol", spec: MatrixSpec, order: Sequence[int] | None = None) -> "np.ndarray":
    """Tensor ``spec.shape`` of a molecule (atoms in the spec's order, or the explicit ``order``).

    Raises:
        InvalidMoleculeError: for a molecule the layout cannot hold.
    """
    bonds, elements = mol_to_bonds(mol, spec, order)
    return encode_bonds(bonds, elements, spec)


def encode(molecule: Any, spec: MatrixSpec) -> "np.ndarray":
    """Tensor of a SMILES string, molblock or RDKit molecule (see :func:`encode_mol`)."""
    from nmrlens.chem.validate import to_mol

    return encode_mol(to_mol(molecule), spec)


def _pair_cells(spec: MatrixSpec) -> tuple["np.ndarray", "np.ndarray", "np.ndarray", "np.ndarray"]:
    import numpy as np

    n = spec.max_atoms
    ii, jj = np.triu_indices(n, 1)
    if spec.layout == "revmolspec":
        return ii, jj, ii, jj - 1
    return ii, jj, ii, jj


def decode(x: "np.ndarray", spec: MatrixSpec, *, threshold: float = 0.5, connect: bool = False) -> DecodedStructure:
    """Decode a (continuous) tensor into a molecule.

    Bond cells whose strongest order channel exceeds ``threshold`` are candidate bonds of that
    order; they are added strongest first, each only when both atoms stay within their element's
    maximum valence (:data:`MAX_VALENCE`; a bond that does not fit at its order is added at the
    highest order that fits). General layout: an atom's element is the diagonal channel with the
    largest value when that exceeds ``threshold``, else carbon. The aromatic channel is not needed:
    RDKit perceives aromaticity from the Kekulé orders.

    With ``connect``, a structure that falls apart into several pieces is joined by the strongest
    single bonds between pieces that fit the valences (below ``threshold`` too), strongest first,
    until it is one piece (the most likely connected graph under the greedy rule).

    Returns:
        A :class:`DecodedStructure`; ``valid`` only for one connected, sanitised molecule
        (``reason`` says why not: ``"empty"``, ``"disconnected"`` or ``"sanitize"``).
    """
    import numpy as np

    arr = np.asarray(x, dtype=np.float64)
    if arr.shape != spec.shape:
        raise InvalidMoleculeError(f"tensor: got shape {arr.shape}, expected {spec.shape}")
    if not np.isfinite(arr).all():
        return DecodedStructure(None, "empty", 0, 0)
    n = spec.max_atoms
    ii, jj, rr, cc = _pair_cells(spec)
    scores = arr[:_BOND_CHANNELS][:, rr, cc]  # (3, pairs)
    best = scores.max(axis=0)
    order = scores.argmax(axis=0) + 1
    elements = ["C"] * n
    if spec.layout == "general":
        k = len(spec.elements)
        diag = arr[:k, np.arange(n), np.arange(n)]  # (k, n)
        marked = diag.max(axis=0) > threshold
        for a in np.flatnonzero(marked):
            elements[a] = spec.elements[int(diag[:, a].argmax())]
    else:
        marked = np.zeros(n, dtype=bool)
    budget = np.array([MAX_VALENCE[e] for e in elements], dtype=np.int64)
    bonds = np.zeros((n, n), dtype=np.int8)
    cand = np.flatnonzero(best > threshold)
    dropped = 0
    for p in cand[np.argsort(-best[cand], kind="stable")]:
        i, j, o = int(ii[p]), int(jj[p]), int(order[p])
        fit = min(o, int(budget[i]), int(budget[j]))
        if fit < o:
            dropped += 1
        if fit <= 0:
            continue
        bonds[i, j] = bonds[j, i] = fit
        budget[i] -= fit
        budget[j] -= fit
    has_bond = (bonds != 0).any(axis=1)
    if not has_bond.any():
        return DecodedStructure(None, "empty", int(marked.sum()), dropped)
    present = has_bond | marked
    if connect:
        _connect(bonds, budget, present, ii, jj, best)
        has_bond = (bonds != 0).any(axis=1)
    n_atoms = int(present.sum())
    if (marked & ~has_bond).any():
        return DecodedStructure(None, "disconnected", n_atoms, dropped)
    try:
        mol = bonds_to_mol(bonds, elements)
    except InvalidMoleculeError:
        return DecodedStructure(None, "sanitize", n_atoms, dropped)
    from rdkit import Chem

    if len(Chem.GetMolFrags(mol)) > 1:
        return DecodedStructure(None, "disconnected", n_atoms, dropped)
    return DecodedStructure(Chem.MolToSmiles(mol), "ok", n_atoms, dropped, mol)


def _connect(bonds: "np.ndarray", budget: "np.ndarray", present: "np.ndarray", ii: "np.ndarray", jj: "np.ndarray",
             best: "np.ndarray") -> None:
    """Join the pieces of ``bonds`` (in place) by the strongest single bonds that fit the valences."""
    import numpy as np

    n = bonds.shape[0]
    parent = list(range(n))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for i, j in zip(*np.nonzero(np.triu(bonds, 1))):
        parent[find(int(i))] = find(int(j))
    pieces = len({find(a) for a in np.flatnonzero(present)})
    if pieces <= 1:
        return
    ok = present[ii] & present[jj]
    for p in np.flatnonzero(ok)[np.argsort(-best[ok], kind="stable")]:
        i, j = int(ii[p]), int(jj[p])
        if budget[i] < 1 or budget[j] < 1 or find(i) == find(j):
            continue
        bonds[i, j] = bonds[j, i] = 1
        budget[i] -= 1
        budget[j] -= 1
        parent[find(i)] = find(j)
        pieces -= 1
        if pieces == 1:
            return


def structure_key(mol: "Mol") -> str:
    """Identity of a structure for de-duplication and hit counting: the InChIKey connectivity block
    (first 14 characters; stereo and isotopes ignored)."""
    from nmrlens.chem.mol import mol_inchikey

    return mol_inchikey(mol)[:14]
