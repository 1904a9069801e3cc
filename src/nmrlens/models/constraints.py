"""Constraints of SMILES decoding (used by :func:`nmrlens.models.generate.beam_search`).

Each constraint keeps a per-hypothesis state and says which next tokens are allowed:

- :class:`FormulaConstraint`: an atom token only while the formula has an atom of that element left,
  ``<eos>`` only when every heavy atom is used;
- :class:`SyntaxConstraint`: balanced branches, brackets and ring-closure labels; bonds and ring labels
  only after an atom; no ``.`` or ``*``;
- :class:`ValenceConstraint`: no atom gets more bonds than its largest valence (RDKit's valence list,
  charge-shifted for bracket atoms, hydrogens counted), so a hypothesis cannot grow into an
  over-bonded atom; aromatic atoms keep one valence for the ring's pi system;
- :class:`HydrogenBound`: with a target formula, a hypothesis is stopped as soon as its hydrogen count
  can no longer come out right: the atoms it can no longer bond to (not the current atom, not on
  the branch stack, no open ring label) already carry more hydrogens than the formula has, or even
  the most hydrogens the placed and remaining atoms could still carry are too few;
- :func:`cannot_finish`: a hypothesis is stopped when the tokens it still needs (heavy atoms of the
  formula left, open branches, ring labels and bracket, the end) no longer fit the length limit;
- :class:`EndCheck`: a hypothesis may end only as a molecule RDKit accepts (and, with a target
  formula, of exactly that formula, hydrogens included).

The first five only remove continuations that can never give a valid SMILES (of the formula): they
are bounds, tested not to block any nmrshiftdb2 molecule; the last is exact.
"""

from __future__ import annotations

import functools
from typing import Any, Sequence

import torch
from torch import Tensor

from nmrlens.errors import NmrLensError

__all__ = ["FormulaConstraint", "SyntaxConstraint", "ValenceConstraint", "HydrogenBound", "EndCheck",
           "cannot_finish", "molecule_formula"]


#: The organic-subset atom tokens (written without brackets) and their largest valence (aromatic: sigma
#: bonds, one valence kept for the pi system; aromatic n may carry a substituent as in N-methylpyrrole).
_ORGANIC_CAP = {"B": 3, "C": 4, "N": 3, "O": 2, "P": 5, "S": 6, "F": 1, "Cl": 1, "Br": 1, "I": 5,
                "b": 3, "c": 3, "n": 3, "o": 2, "p": 3, "s": 3}


def _normalized(formula: str) -> str | None:
    from nmrlens.chem.formula import normalize_formula

    try:
        return normalize_formula(formula)
    except NmrLensError:
        return None


def molecule_formula(smiles: str) -> str | None:
    """Normalised formula (:func:`nmrlens.chem.formula.normalize_formula`) of a SMILES that RDKit
    accepts as a molecule with at least one atom; None otherwise."""
    from rdkit import Chem

    from nmrlens.chem.mol import _quiet_rdkit, mol_formula

    _quiet_rdkit()
    mol = Chem.MolFromSmiles(smiles) if smiles else None
    if mol is None or mol.GetNumAtoms() == 0:
        return None
    f = mol_formula(mol)
    return _normalized(f) if f else None


# ---------------------------------------------------------------------------------------------
# formula constraint


class FormulaConstraint:
    """Heavy-atom budget of a formula for decoding (see the module docstring).

    Built once per SMILES vocabulary; :meth:`start` makes the per-row state of a batch.
    """

    def __init__(self, smiles_tokenizer: Any) -> None:
        from nmrlens.chem.formula import ELEMENTS

        vocab = smiles_tokenizer.vocab
        self.elements = sorted(ELEMENTS | {"*"})
        self.index = {e: i for i, e in enumerate(self.elements)}
        self.forbidden = len(self.elements)  # a column that always has 0 budget
        out_el = torch.full((len(vocab),), -1, dtype=torch.long)
        in_el = torch.full((len(vocab),), -1, dtype=torch.long)
        for i, t in enumerate(vocab):
            sym = t[0].upper() + t[1:] if t and t[0].isalpha() else t
            if t in _ORGANIC_CAP:
                out_el[i] = self.index[sym]
            if t == "*":
                out_el[i] = self.forbidden
                in_el[i] = self.forbidden
            elif t == "#":
                in_el[i] = self.forbidden
            elif t and t.isalpha() and t != "H":
                in_el[i] = self.index.get(sym, self.forbidden)
        self.out_el, self.in_el = out_el, in_el
        self.open_id = smiles_tokenizer.token_to_id("[")
        self.close_id = smiles_tokenizer.token_to_id("]")
        self.eos_id = smiles_tokenizer.eos_id

    def budget(self, formula: str | None) -> Tensor:
        """Heavy-atom counts of a formula as a vector (all zero budget and no constraint for None)."""
        from nmrlens.chem.formula import parse_formula

        b = torch.zeros(len(self.elements) + 1, dtype=torch.long)
        if formula:
            for el, n in parse_formula(formula).items():
                if el not in ("H", "D") and el in self.index:
                    b[self.index[el]] = n
        return b

    def start(self, budgets: Tensor, active: Tensor) -> dict[str, Tensor]:
        """State of rows with ``budgets`` (N, E+1); ``active`` (N,) says which rows are constrained."""
        n = budgets.shape[0]
        return {"left": budgets.clone(), "active": active.clone(), "in_br": torch.zeros(n, dtype=torch.bool),
                "el_seen": torch.zeros(n, dtype=torch.bool)}

    def _consumed(self, st: dict[str, Tensor], tokens: Tensor | None = None) -> Tensor:
        """Element column consumed by each token (N, V) or by the chosen tokens (N,); -1 = none."""
        in_br, el_seen = st["in_br"], st["el_seen"]
        if tokens is None:
            out_el, in_el = self.out_el[None, :], self.in_el[None, :]
            in_br, el_seen = in_br[:, None], el_seen[:, None]
        else:
            out_el, in_el = self.out_el[tokens], self.in_el[tokens]
        return torch.where(in_br, torch.where(el_seen, torch.full_like(in_el, -1), in_el), out_el)

    def mask(self, st: dict[str, Tensor]) -> Tensor:
        """Allowed next tokens (N, V) (all allowed for inactive rows)."""
        col = self._consumed(st)
        left = st["left"].gather(1, col.clamp(min=0))
        allowed = (col < 0) | (left > 0)
        eos_ok = (st["left"].sum(1) == 0) & ~st["in_br"]
        allowed[:, self.eos_id] = eos_ok
        return allowed | ~st["active"][:, None]

    def advance(self, st: dict[str, Tensor], tokens: Tensor) -> None:
        """Update the state with the chosen tokens (N,)."""
        col = self._consumed(st, tokens)
        used = col >= 0
        rows = torch.nonzero(used, as_tuple=True)[0]
        if rows.numel():
            st["left"][rows, col[rows]] = (st["left"][rows, col[rows]] - 1).clamp(min=0)
        st["el_seen"] = (st["el_seen"] | (used & st["in_br"])) & ~(tokens == self.open_id)
        st["in_br"] = (st["in_br"] | (tokens == self.open_id)) & ~(tokens == self.close_id)

    def reorder(self, st: dict[str, Tensor], index: Tensor) -> None:
        """Keep rows ``index`` of the state (beam parents)."""
        for k in st:
            st[k] = st[k].index_select(0, index)


class SyntaxConstraint:
    """SMILES syntax for decoding: balanced branches and brackets, ring-closure labels closed before
    ``<eos>``, bonds and ring labels only after an atom, no ``.`` (one connected molecule) and no
    wildcard ``*``. Valence is not checked (RDKit does that in :func:`rerank_base`)."""

    ATOM, LBR, RBR, LPAR, RPAR, RING, BOND, OTHER, NEVER = range(9)
    # last-token kinds of the state
    L_START, L_ATOM, L_RING, L_BOND, L_OPEN, L_CLOSE = range(6)

    def __init__(self, smiles_tokenizer: Any) -> None:
        vocab = smiles_tokenizer.vocab
        bonds = {"-", "=", "#", "$", ":", "/", "\\"}
        kind = torch.full((len(vocab),), self.OTHER, dtype=torch.long)
        ring = torch.full((len(vocab),), -1, dtype=torch.long)
        labels = [str(d) for d in range(10)] + [f"%{i}" for i in range(10, 100)]
        lab_index = {t: i for i, t in enumerate(labels)}
        for i, t in enumerate(vocab):
            if t in _ORGANIC_CAP:
                kind[i] = self.ATOM
            elif t == "[":
                kind[i] = self.LBR
            elif t == "]":
                kind[i] = self.RBR
            elif t == "(":
                kind[i] = self.LPAR
            elif t == ")":
                kind[i] = self.RPAR
            elif t in lab_index:
                kind[i] = self.RING
                ring[i] = lab_index[t]
            elif t in bonds:
                kind[i] = self.BOND
            elif t in (".", "%(", "*", "->", "<-") or t in ("<pad>", "<bos>", "<unk>"):
                kind[i] = self.NEVER
        self.kind, self.ring = kind, ring
        self.n_labels = len(labels)
        self.eos_id = smiles_tokenizer.eos_id
        k = kind
        # allowed inside brackets: everything of kind OTHER/ATOM/RING(digits as counts) plus "]", "-", "#", "+"
        self.in_ok = (k == self.OTHER) | (k == self.ATOM) | (k == self.RING) | (k == self.RBR)
        for t in ("-", "#"):
            if t in smiles_tokenizer.vocab:
                self.in_ok[smiles_tokenizer.token_to_id(t)] = True
        self.in_ok[self.eos_id] = False
        self.in_ok[ring >= 10] = False  # %nn labels are never inside brackets

    def start(self, n: int) -> dict[str, Tensor]:
        """State of ``n`` rows before the first token."""
        return {"depth": torch.zeros(n, dtype=torch.long), "open": torch.zeros(n, self.n_labels, dtype=torch.bool),
                "in_br": torch.zeros(n, dtype=torch.bool), "last": torch.full((n,), self.L_START, dtype=torch.long)}

    def mask(self, st: dict[str, Tensor]) -> Tensor:
        """Allowed next tokens (N, V)."""
        k = self.kind[None, :]
        last = st["last"][:, None]
        after_atom = (last == self.L_ATOM) | (last == self.L_RING) | (last == self.L_CLOSE)
        out = torch.zeros(st["last"].shape[0], k.shape[1], dtype=torch.bool)
        out |= (k == self.ATOM) | (k == self.LBR)
        out |= (k == self.LPAR) & after_atom
        out |= (k == self.RPAR) & after_atom & (st["depth"][:, None] > 0)
        out |= (k == self.RING) & ((last == self.L_ATOM) | (last == self.L_RING) | (last == self.L_BOND))
        out |= (k == self.BOND) & (after_atom | (last == self.L_OPEN))
        done = (st["depth"] == 0) & ~st["open"].any(1) & after_atom[:, 0]
        out[:, self.eos_id] = done
        return torch.where(st["in_br"][:, None], self.in_ok[None, :].expand_as(out), out)

    def advance(self, st: dict[str, Tensor], tokens: Tensor) -> None:
        """Update the state with the chosen tokens (N,) (``<eos>`` changes nothing)."""
        k = self.kind[tokens]
        in_br = st["in_br"]
        out = ~in_br & (tokens != self.eos_id)
        last = st["last"].clone()
        last = torch.where(out & (k == self.ATOM), torch.full_like(last, self.L_ATOM), last)
        last = torch.where(out & (k == self.LPAR), torch.full_like(last, self.L_OPEN), last)
        last = torch.where(out & (k == self.RPAR), torch.full_like(last, self.L_CLOSE), last)
        last = torch.where(out & (k == self.RING), torch.full_like(last, self.L_RING), last)
        last = torch.where(out & (k == self.BOND), torch.full_like(last, self.L_BOND), last)
        last = torch.where(in_br & (k == self.RBR), torch.full_like(last, self.L_ATOM), last)
        st["depth"] = st["depth"] + (out & (k == self.LPAR)).long() - (out & (k == self.RPAR)).long()
        rows = torch.nonzero(out & (k == self.RING), as_tuple=True)[0]
        if rows.numel():
            lab = self.ring[tokens[rows]]
            st["open"][rows, lab] = ~st["open"][rows, lab]
        st["in_br"] = (in_br | (out & (k == self.LBR))) & ~(in_br & (k == self.RBR))
        st["last"] = last

    def reorder(self, st: dict[str, Tensor], index: Tensor) -> None:
        """Keep rows ``index`` of the state (beam parents)."""
        for key in st:
            st[key] = st[key].index_select(0, index)


def cannot_finish(room: int, formula_state: dict[str, Tensor] | None, syntax_state: dict[str, Tensor]) -> Tensor:
    """Rows (N,) that can no longer end within ``room`` more tokens (``<eos>`` included): each heavy atom
    the formula still has to place takes at least one token, each open branch a ``)``, each open
    ring-closure label one label token, an open bracket atom its ``]``, and the end one ``<eos>``. An
    exact bound (a row it stops could only be cut at the length limit)."""
    need = syntax_state["depth"] + syntax_state["open"].sum(1) + syntax_state["in_br"].long() + 1
    if formula_state is not None:
        need = need + torch.where(formula_state["active"], formula_state["left"].sum(1), torch.zeros_like(need))
    return need > room


class EndCheck:
    """Chemical check of a hypothesis before it may end (the *validity constraint*, default on).

    ``<eos>`` is allowed only when the decoded SMILES is a molecule RDKit accepts (valence,
    aromaticity, ring closures) and, for a row with a target formula, when the molecule has exactly
    that formula, hydrogens included. The beam then spends its width on candidates that survive
    :func:`rerank_base`. Results are cached per row and token sequence.

    Args:
        smiles_tokenizer: decodes token ids; formulas: per batch row, the target formula or None.
    """

    def __init__(self, smiles_tokenizer: Any, formulas: Sequence[str | None]) -> None:
        self.tok = smiles_tokenizer
        self.targets: list[str | None] = []
        for f in formulas:
            self.targets.append(_normalized(f) if f else None)
        self.cache: dict[tuple[int, tuple[int, ...]], bool] = {}
        self.calls = 0

    def __call__(self, row: int, ids: Sequence[int]) -> bool:
        """True when hypothesis ``ids`` (token ids without <bos>/<eos>) of batch row ``row`` may end."""
        key = (row, tuple(ids))
        hit = self.cache.get(key)
        if hit is None:
            self.calls += 1
            formula = molecule_formula(self.tok.decode(list(ids)))
            hit = formula is not None and (self.targets[row] is None or formula == self.targets[row])
            self.cache[key] = hit
        return hit


class HydrogenBound:
    """Hydrogen-count bound for rows with a target formula (see the module docstring).

    For every hypothesis, with the valence state of :class:`ValenceConstraint` and the atoms the
    :class:`FormulaConstraint` still has to place:

    - *fewest hydrogens*: the sum over *sealed* atoms (not the current atom, not on the branch stack,
      no open ring label; such an atom can get no further bond) of their final hydrogen count;
    - *most hydrogens*: for each placed atom the most it can still carry, plus for each atom still to
      come the most it can carry with one bond; when every atom involved has a single valence, each
      bond still to come (one per atom still to come, one per open ring label) also removes a hydrogen
      at its other end, except the bonds that can land on open atoms whose hydrogens are fixed
      (bracket atoms, aromatic heteroatoms: up to their capacity left) and, for a positively charged
      formula, as many as its charge (a cation such as ``[N+]`` takes one bond more than its
      neutral valence; in a neutral zwitterion the anion's missing hydrogen makes up for it).

    A row is stopped when the fewest exceed the formula's hydrogens or the most fall short. A row
    that has seen a token the bookkeeping does not model (``.``) is not bounded.

    Args:
        formula_constraint, valence_constraint: the decoder's constraints (their states are read);
        formulas: per batch row, the target formula or None (no bound).
    """

    def __init__(self, formula_constraint: FormulaConstraint, valence_constraint: "ValenceConstraint",
                 formulas: Sequence[str | None]) -> None:
        from nmrlens.chem.formula import parse_formula_charge

        self.targets: list[int | None] = []
        self.slack: list[int] = []
        for f in formulas:
            norm = _normalized(f) if f else None
            counts, charge = parse_formula_charge(norm) if norm else ({}, 0)
            self.targets.append(counts.get("H", 0) if norm else None)
            self.slack.append(max(0, charge))
        cols = formula_constraint.elements + ["<forbidden>"]
        self.col_most = [_h_most(_VALENCES.get(e, (4,)), 1) for e in cols]
        self.col_single = [len(_VALENCES.get(e, (4,))) == 1 for e in cols]

    def violated(self, vstate: Sequence["_Row"], left: Tensor, width: int) -> list[bool]:
        """Per beam row (batch row = index // ``width``), True when its hydrogen count can no longer match;
        ``left`` (N, E+1): the formula constraint's atoms still to place."""
        out = []
        counts = left.tolist()
        for i, r in enumerate(vstate):
            target = self.targets[i // width]
            if target is None or r.dead or r.loose or r.br is not None:
                out.append(False)
                continue
            open_atoms = {r.prev, *r.stack, *(a for a, _ in r.rings.values())}
            fewest, most, single, fixed_slots = 0, 0, True, 0
            for j, (mode, arg) in enumerate(r.hmode):
                if mode == _H_CAP:
                    now = far = r.caps[j]
                elif mode == _H_ZERO or mode == _H_FIXED:
                    now = far = 0 if mode == _H_ZERO else int(arg)
                    if j in open_atoms:
                        fixed_slots += max(0, r.caps[j])
                else:
                    vals, start = arg
                    used = start - r.caps[j]
                    now, far = _h_now(vals, used), _h_most(vals, used)
                    single = single and j not in open_atoms
                if j in open_atoms:
                    most += far
                else:
                    fewest += now
                    most += now
            to_come = 0
            for c, n in enumerate(counts[i]):
                if n:
                    to_come += n
                    most += n * self.col_most[c]
                    single = single and self.col_single[c]
            if single and r.hmode:
                most -= max(0, to_come + len(r.rings) - fixed_slots - self.slack[i // width])
            out.append(fewest > target or most < target)
        return out


_BOND_ORDER = {"-": 1, "/": 1, "\\": 1, ":": 1, "=": 2, "#": 3, "$": 4}
_FREE = 99  # capacity "before the first atom"


def _cost(order: int, aromatic: bool) -> int:
    """Valence an atom spends on a bond of ``order``; an aromatic atom's exocyclic double bond uses its pi valence."""
    return 1 if aromatic and order == 2 else order


@functools.lru_cache(maxsize=4096)
def _bracket_capacity(text: str) -> tuple[int, bool, int] | None:
    """``(bonds the atom can still take, aromatic, hydrogens)`` of a bracket atom such as ``[C@@H]``,
    ``[nH]``, ``[N+]``; None when RDKit cannot read it. The largest valence is that of the element shifted
    by the charge (N+ like C, O- like F), less the explicit hydrogens; the hydrogens are the explicit ones
    (RDKit adds no implicit ones to bracket atoms), a bracket hydrogen such as ``[2H]`` counting itself."""
    from rdkit import Chem

    from nmrlens.chem.mol import _quiet_rdkit

    _quiet_rdkit()
    mol = Chem.MolFromSmiles(text, sanitize=False)
    if mol is None or mol.GetNumAtoms() != 1:
        return None
    atom = mol.GetAtomWithIdx(0)
    z = atom.GetAtomicNum() - atom.GetFormalCharge()
    if z <= 0 or z > 118:
        return None
    vals = list(Chem.GetPeriodicTable().GetValenceList(z))
    top = 8 if -1 in vals else max(vals)
    arom = atom.GetIsAromatic()
    hs = atom.GetNumExplicitHs()
    return top - hs - (1 if arom and z == 6 else 0), arom, hs + (1 if atom.GetAtomicNum() == 1 else 0)


#: Valences RDKit allows the organic-subset atoms written without brackets (neutral); the hydrogens of
#: such an atom are the smallest allowed valence not below its bonds, less its bonds.
_VALENCES: dict[str, tuple[int, ...]] = {"B": (3,), "C": (4,), "N": (3,), "O": (2,), "F": (1,), "Cl": (1,), "Br": (1,),
                                         "I": (1, 3, 5), "P": (3, 5), "S": (2, 4, 6), "Si": (4,), "Se": (2, 4, 6)}
#: Hydrogen modes of an atom (see :class:`HydrogenBound`): H = the capacity left (one valence),
#: H = 0 (aromatic heteroatom written without brackets), H from the valence list, H fixed (bracket atom).
_H_CAP, _H_ZERO, _H_VALENCES, _H_FIXED = range(4)


def _h_token(token: str) -> tuple[int, Any]:
    """Hydrogen mode of an organic-subset atom token."""
    if token == "c":
        return _H_CAP, None
    if token.islower():
        return _H_ZERO, None
    vals = _VALENCES.get(token, (_ORGANIC_CAP.get(token, 4),))
    return (_H_CAP, None) if len(vals) == 1 else (_H_VALENCES, vals)


def _h_now(vals: tuple[int, ...], used: int) -> int:
    """Hydrogens of an atom with allowed valences ``vals`` and ``used`` bond orders (0 past the largest)."""
    for v in vals:
        if v >= used:
            return v - used
    return 0


def _h_most(vals: tuple[int, ...], used: int) -> int:
    """Most hydrogens an atom with allowed valences ``vals`` can carry once it has at least ``used`` bonds."""
    return max(_h_now(vals, u) for u in range(used, max(vals) + 1)) if used <= max(vals) else 0


class _Row:
    """Valence state of one hypothesis."""

    __slots__ = ("caps", "arom", "hmode", "prev", "stack", "pending", "rings", "br", "stage", "dead", "loose")

    def __init__(self) -> None:
        self.caps: list[int] = []
        self.arom: list[bool] = []
        self.hmode: list[tuple[int, Any]] = []
        self.prev = -1
        self.stack: list[int] = []
        self.pending = 0
        self.rings: dict[int, tuple[int, int]] = {}
        self.br: list[str] | None = None
        self.stage = 0
        self.dead = False
        self.loose = False  # a token the bookkeeping does not model (e.g. "."): no hydrogen bound

    def copy(self) -> "_Row":
        r = _Row.__new__(_Row)
        r.caps, r.arom, r.prev, r.stack = list(self.caps), list(self.arom), self.prev, list(self.stack)
        r.hmode, r.loose = list(self.hmode), self.loose
        r.pending, r.rings, r.dead = self.pending, dict(self.rings), self.dead
        r.br = None if self.br is None else list(self.br)
        r.stage = self.stage
        return r

    def place(self, cap: int, arom: bool, hmode: tuple[int, Any] = (_H_CAP, None)) -> None:
        self.hmode.append((hmode[0], (hmode[1], cap) if hmode[0] == _H_VALENCES else hmode[1]))
        if self.prev >= 0:
            order = self.pending or 1
            self.caps[self.prev] -= _cost(order, self.arom[self.prev])
            cap -= _cost(order, arom)
            self.dead |= self.caps[self.prev] < 0
        self.dead |= cap < 0
        self.caps.append(cap)
        self.arom.append(arom)
        self.prev = len(self.caps) - 1
        self.pending = 0

    def ring(self, label: int) -> None:
        p = self.prev
        if p < 0:
            self.dead = True
            return
        if label in self.rings:
            a, opened = self.rings.pop(label)
            order = self.pending or opened or 1
            self.caps[p] -= _cost(order, self.arom[p])
            self.caps[a] -= max(0, _cost(order, self.arom[a]) - _cost(opened or 1, self.arom[a]))
            self.dead |= a == p or self.caps[p] < 0 or self.caps[a] < 0
        else:
            self.caps[p] -= _cost(self.pending or 1, self.arom[p])
            self.rings[label] = (p, self.pending)
            self.dead |= self.caps[p] < 0
        self.pending = 0


# Bracket-atom grammar: [isotope] element [chirality] [H[n]] [charge[n]] "]" (stages of a _Row in a bracket).
_B_OPEN, _B_ISO, _B_ELEM, _B_CHIRAL, _B_H, _B_HN, _B_CHARGE, _B_CHARGEN = range(8)
_MAX_ISOTOPE_DIGITS = 3


class ValenceConstraint:
    """Valence bookkeeping for decoding (see the module docstring): per hypothesis, the bonds each
    placed atom can still take; atoms, bonds, branches and ring labels that would over-bond the
    current atom (or the new one) are not allowed, and a hypothesis whose bracket atom RDKit cannot
    read, or that closes a ring onto the same atom, is stopped."""

    def __init__(self, smiles_tokenizer: Any) -> None:
        vocab = smiles_tokenizer.vocab
        labels = {str(d): d for d in range(10)} | {f"%{i}": i for i in range(10, 100)}
        self.vocab = list(vocab)
        V = len(vocab)
        self.tok_cap = torch.full((V,), -1, dtype=torch.long)   # organic atoms: largest valence
        self.tok_arom = torch.zeros(V, dtype=torch.bool)
        self.is_atom = torch.zeros(V, dtype=torch.bool)         # organic atoms and "["
        self.bond_order = torch.zeros(V, dtype=torch.long)
        self.is_ring = torch.zeros(V, dtype=torch.bool)
        self.kind: list[tuple[str, Any]] = []
        for i, t in enumerate(vocab):
            if t in _ORGANIC_CAP:
                self.tok_cap[i], self.tok_arom[i], self.is_atom[i] = _ORGANIC_CAP[t], t.islower(), True
                self.kind.append(("atom", (_ORGANIC_CAP[t], t.islower())))
            elif t == "[":
                self.tok_cap[i], self.is_atom[i] = _FREE, True
                self.kind.append(("open", None))
            elif t == "]":
                self.kind.append(("close", None))
            elif t == "(":
                self.kind.append(("branch", None))
            elif t == ")":
                self.kind.append(("unbranch", None))
            elif t in _BOND_ORDER:
                self.bond_order[i] = _BOND_ORDER[t]
                self.kind.append(("bond", _BOND_ORDER[t]))
            elif t in labels:
                self.is_ring[i] = True
                self.kind.append(("ring", labels[t]))
            else:
                self.kind.append(("other", None))
        self.ring_ids = {lab: i for i, (k, lab) in enumerate(self.kind) if k == "ring"}
        self.hmode = [_h_token(t) if t in _ORGANIC_CAP else (_H_CAP, None) for t in vocab]
        # allowed tokens inside a bracket, per stage
        digit = torch.tensor([t.isdigit() and len(t) == 1 for t in vocab])
        from nmrlens.chem.mol import SUPPORTED_ELEMENTS

        elem = torch.tensor([t.isalpha() and t != "H" and (t[0].upper() + t[1:]) in SUPPORTED_ELEMENTS for t in vocab])
        hyd = torch.tensor([t == "H" for t in vocab])
        chiral = torch.tensor([t.startswith("@") for t in vocab])
        charge = torch.tensor([t in ("+", "-") for t in vocab])
        close = torch.tensor([t == "]" for t in vocab])
        self.stage_ok = torch.stack([
            digit | elem | hyd,                       # _B_OPEN: isotope or element ([2H] is an element)
            digit | elem | hyd,                       # _B_ISO
            chiral | hyd | charge | close,            # _B_ELEM
            hyd | charge | close,                     # _B_CHIRAL
            digit | charge | close,                   # _B_H
            charge | close,                           # _B_HN
            digit | close,                            # _B_CHARGE
            close,                                    # _B_CHARGEN
        ])
        self.digit = digit
        self._ids = {name: frozenset(torch.nonzero(m).flatten().tolist())
                     for name, m in (("digit", digit), ("hyd", hyd), ("chiral", chiral), ("charge", charge))}
        self.branch_id = smiles_tokenizer.token_to_id("(")
        self.eos_id = smiles_tokenizer.eos_id

    def start(self, n: int) -> list[_Row]:
        """State of ``n`` rows before the first token."""
        return [_Row() for _ in range(n)]

    def mask(self, st: list[_Row]) -> Tensor:
        """Allowed next tokens (N, V); inside a bracket, the tokens the bracket-atom grammar allows
        ("[", isotope, element, chirality, H and count, charge and count, "]"; the atom's valence is
        checked when it closes)."""
        N, V = len(st), len(self.kind)
        cap = torch.tensor([(r.caps[r.prev] if r.prev >= 0 else _FREE) for r in st], dtype=torch.long)
        arom = torch.tensor([r.prev >= 0 and r.arom[r.prev] for r in st], dtype=torch.bool)
        order = torch.tensor([r.pending or 1 for r in st], dtype=torch.long)
        pending = torch.tensor([r.pending for r in st], dtype=torch.long)
        cost_prev = torch.where(arom & (order == 2), torch.ones_like(order), order)
        cost_new = torch.where(self.tok_arom[None, :] & (order[:, None] == 2), torch.ones(1, dtype=torch.long), order[:, None])
        ok = torch.ones((N, V), dtype=torch.bool)
        atom_ok = (cap >= cost_prev)[:, None] & (self.tok_cap[None, :] >= cost_new)
        ok &= ~self.is_atom[None, :] | atom_ok
        bo = self.bond_order[None, :]
        bond_cost = torch.where(arom[:, None] & (bo == 2), torch.ones_like(bo), bo)
        ok &= (bo == 0) | ((cap[:, None] >= bond_cost) & (pending[:, None] == 0))
        ok &= ~self.is_ring[None, :] | (cap >= cost_prev)[:, None]
        ok[:, self.branch_id] &= cap >= 1
        for i, r in enumerate(st):
            if r.dead:
                ok[i] = False
            elif r.br is not None:
                row = self.stage_ok[r.stage].clone()
                if r.stage == _B_ISO and len(r.br) >= _MAX_ISOTOPE_DIGITS:
                    row &= ~self.digit
                ok[i] = row
            else:
                for lab, (a, opened) in r.rings.items():
                    extra = _cost(r.pending or opened or 1, r.arom[a]) - _cost(opened or 1, r.arom[a])
                    if a == r.prev or r.caps[a] < extra:
                        ok[i, self.ring_ids[lab]] = False
        ok[:, self.eos_id] = torch.tensor([not r.dead for r in st])  # otherwise the syntax constraint's and EndCheck's call
        return ok

    def advance(self, st: list[_Row], tokens: Tensor) -> None:
        """Update the state with the chosen tokens (N,) (``<eos>`` changes nothing)."""
        for r, t in zip(st, tokens.tolist()):
            if r.dead or t == self.eos_id:
                continue
            kind, arg = self.kind[t]
            if r.br is not None:
                if kind == "close":
                    got = _bracket_capacity("[" + "".join(r.br) + "]")
                    r.br = None
                    if got is None:
                        r.dead = True
                    else:
                        r.place(got[0], got[1], hmode=(_H_FIXED, got[2]))
                else:
                    r.br.append(self.vocab[t])
                    r.stage = self._next_stage(r.stage, t)
            elif kind == "atom":
                r.place(*arg, hmode=self.hmode[t])
            elif kind == "open":
                r.br = []
                r.stage = _B_OPEN
            elif kind == "branch":
                r.stack.append(r.prev)
            elif kind == "unbranch":
                if r.stack:
                    r.prev = r.stack.pop()
                else:
                    r.dead = True
            elif kind == "bond":
                r.pending = arg
            elif kind == "ring":
                r.ring(arg)
            elif kind == "other":
                r.loose = True

    def _next_stage(self, stage: int, t: int) -> int:
        """Bracket-grammar stage after token ``t``."""
        ids = self._ids
        if stage in (_B_OPEN, _B_ISO):
            return _B_ISO if t in ids["digit"] else _B_ELEM
        if t in ids["chiral"]:
            return _B_CHIRAL
        if t in ids["hyd"]:
            return _B_H
        if t in ids["charge"]:
            return _B_CHARGE
        if t in ids["digit"]:
            return _B_HN if stage == _B_H else _B_CHARGEN
        return stage

    def reorder(self, st: list[_Row], index: Tensor) -> list[_Row]:
        """Rows ``index`` of the state (beam parents), as a new state."""
        return [st[i].copy() for i in index.tolist()]
