"""Virtual/decoy molecules by BRICS recombination of a molecule set.

:func:`enumerate_brics` cuts every input molecule into its BRICS leaf fragments (RDKit ``BRICS.BreakBRICSBonds``)
and joins random fragments again with the BRICS reverse reactions until a complete molecule (no
attachment point left) comes out. Products are sanitised, filtered (only ``elements``, at most
``max_heavy_atoms`` heavy atoms, one connected component), deduplicated by canonical isomeric
SMILES and never equal to an input molecule. The result depends only on the inputs and ``seed``.

Typical use: decoy libraries that measure how retrieval scales with library size without outside
data (``nmrlens library enumerate``), and extra candidates for generation.
"""

from __future__ import annotations

import logging
import random
from typing import TYPE_CHECKING, Iterable, Sequence

from nmrlens.errors import InvalidMoleculeError, NmrLensError

if TYPE_CHECKING:  # pragma: no cover
    from rdkit.Chem import Mol

__all__ = ["DEFAULT_ELEMENTS", "MAX_FRAGMENTS", "brics_fragments", "enumerate_brics"]

log = logging.getLogger(__name__)

#: Elements a product may contain by default (those of the nmrshiftdb2 curation, plus H).
DEFAULT_ELEMENTS: frozenset[str] = frozenset("H C N O S F Cl Br I P Si B Se".split())
#: At most this many distinct fragments are used (a random sample when there are more).
MAX_FRAGMENTS = 20000
_MAX_JOINS = 6


def brics_fragments(smiles: Iterable[str], *, max_fragments: int = MAX_FRAGMENTS, seed: int = 0) -> list[str]:
    """Distinct BRICS fragments (SMILES with ``[n*]`` attachment points) of the molecules.

    Molecules without a BRICS bond give no fragment.
    Invalid SMILES are skipped (counted in the log). At most ``max_fragments`` are returned (a
    seeded random sample, sorted for reproducibility).
    """
    from rdkit import Chem
    from rdkit.Chem import BRICS

    from nmrlens.chem.mol import _quiet_rdkit

    _quiet_rdkit()
    frags: set[str] = set()
    bad = 0
    for smi in smiles:
        mol = Chem.MolFromSmiles(smi) if isinstance(smi, str) and 0 < len(smi) <= 5000 else None
        if mol is None:
            bad += 1
            continue
        try:
            # the leaf fragments of BRICSDecompose(mol, keepNonLeafNodes=False), in linear time: that
            # function explores every partial decomposition first (hours and > 18 GB of memory on
            # the 54k nmrshiftdb2 molecules), BreakBRICSBonds cuts every BRICS bond at once
            broken = BRICS.BreakBRICSBonds(mol)
            frags.update(Chem.MolToSmiles(f) for f in Chem.GetMolFrags(broken, asMols=True))
        except Exception:  # RDKit raises RuntimeError/ValueError on odd molecules
            bad += 1
    if bad:
        log.info("brics_fragments: skipped %d unusable SMILES", bad)
    out = sorted(f for f in frags if "*" in f)  # a molecule BRICS cannot cut has no attachment point
    if len(out) > max_fragments:
        out = sorted(random.Random(seed).sample(out, max_fragments))
    return out


def _n_dummies(mol: "Mol") -> int:
    return sum(1 for a in mol.GetAtoms() if a.GetAtomicNum() == 0)


def _check_args(n: int, max_heavy_atoms: int, elements: Iterable[str]) -> frozenset[str]:
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise NmrLensError(f"n: got {n!r}, expected a whole number >= 0")
    if isinstance(max_heavy_atoms, bool) or not isinstance(max_heavy_atoms, int) or max_heavy_atoms < 1:
        raise NmrLensError(f"max_heavy_atoms: got {max_heavy_atoms!r}, expected a whole number >= 1")
    from nmrlens.chem.formula import ELEMENTS

    els = frozenset(elements)
    bad = sorted(e for e in els if e not in ELEMENTS)
    if bad or not els:
        raise NmrLensError(f"elements: got {bad or 'none'}, expected element symbols such as C, H, N, O")
    return els


def enumerate_brics(smiles: Sequence[str], *, n: int, max_heavy_atoms: int = 40,
                    elements: Iterable[str] = DEFAULT_ELEMENTS, seed: int = 0,
                    max_fragments: int = MAX_FRAGMENTS, max_tries: int | None = None) -> list[str]:
    """Up to ``n`` new molecules (canonical isomeric SMILES) recombined from BRICS fragments of ``smiles``.

    Args:
        smiles: source molecules; invalid entries are skipped (logged).
        n: number of molecules wanted.
        max_heavy_atoms: largest product (heavy atoms).
        elements: allowed element symbols of a product (H is implied by implicit hydrogens).
        seed: random seed (the output is a pure function of inputs and seed).
        max_fragments: size cap of the fragment pool.
        max_tries: number of random joins before giving up (default ``50 * n + 1000``); fewer than
            ``n`` molecules are returned when the fragments cannot make more.

    Returns:
        Distinct valid SMILES, none equal to an input molecule, in generation order.

    Raises:
        InvalidMoleculeError: when no input molecule gives a BRICS fragment.
        NmrLensError: for a bad ``n``, ``max_heavy_atoms`` or ``elements``.
    """
    allowed = _check_args(n, max_heavy_atoms, elements)
    if isinstance(smiles, str):
        raise InvalidMoleculeError("smiles: got one string, expected a sequence of SMILES strings")
    if n == 0:
        return []
    from rdkit import Chem
    from rdkit.Chem import BRICS

    frag_smiles = brics_fragments(smiles, max_fragments=max_fragments, seed=seed)
    frags = [m for m in (Chem.MolFromSmiles(s) for s in frag_smiles) if m is not None]
    frags = [m for m in frags if all(a.GetAtomicNum() == 0 or a.GetSymbol() in allowed for a in m.GetAtoms())]
    if not frags:
        raise InvalidMoleculeError(
            f"smiles: none of the {len(smiles)} input molecules gives a BRICS fragment with elements "
            f"{', '.join(sorted(allowed))}; expected molecules with breakable bonds")
    inputs = set()
    for smi in smiles:
        m = Chem.MolFromSmiles(smi) if isinstance(smi, str) and 0 < len(smi) <= 5000 else None
        if m is not None:
            inputs.add(Chem.MolToSmiles(m))
    reactions = list(BRICS.reverseReactions)
    # side_members[r][s]: fragments matching side s of reaction r
    side_members = [[[i for i, f in enumerate(frags) if f.HasSubstructMatch(rx._matchers[s])] for s in (0, 1)]
                    for rx in reactions]
    n_dummy = [_n_dummies(f) for f in frags]
    heavy = [f.GetNumHeavyAtoms() - d for f, d in zip(frags, n_dummy)]
    terminal = [i for i, d in enumerate(n_dummy) if d == 1]
    rng = random.Random(seed)
    out: list[str] = []
    seen: set[str] = set(inputs)
    tries = max_tries if max_tries is not None else 50 * n + 1000
    starts = terminal or list(range(len(frags)))
    for _ in range(tries):
        if len(out) >= n:
            break
        cur = frags[rng.choice(starts)]
        size = cur.GetNumHeavyAtoms() - _n_dummies(cur)
        for _step in range(_MAX_JOINS):
            if _n_dummies(cur) == 0:
                break
            options = [(r, s) for r, rx in enumerate(reactions) for s in (0, 1)
                       if side_members[r][1 - s] and cur.HasSubstructMatch(rx._matchers[s])]
            if not options:
                break
            r, s = rng.choice(options)
            members = side_members[r][1 - s]
            # close the molecule (terminal fragments) as it grows
            if size > max_heavy_atoms // 2:
                closing = [i for i in members if n_dummy[i] == 1]
                members = closing or members
            j = rng.choice(members)
            pair = (cur, frags[j]) if s == 0 else (frags[j], cur)
            try:
                products = reactions[r].RunReactants(pair)
            except Exception:
                break
            if not products:
                break
            cur = rng.choice(products)[0]
            try:
                Chem.SanitizeMol(cur)
            except Exception:
                break
            size += heavy[j]
            if size > max_heavy_atoms:
                break
        if _n_dummies(cur) or size > max_heavy_atoms:
            continue
        try:
            mol = Chem.MolFromSmiles(Chem.MolToSmiles(cur))
        except Exception:
            mol = None
        if mol is None or mol.GetNumHeavyAtoms() > max_heavy_atoms:
            continue
        if any(a.GetSymbol() not in allowed for a in mol.GetAtoms()) or len(Chem.GetMolFrags(mol)) != 1:
            continue
        smi = Chem.MolToSmiles(mol)
        if smi in seen:
            continue
        seen.add(smi)
        out.append(smi)
    if len(out) < n:
        log.info("enumerate_brics: made %d of %d molecules in %d tries", len(out), n, tries)
    return out
