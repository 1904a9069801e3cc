"""Molecular formulas without RDKit: parse, normalise to Hill order, compare.

A formula is written as element symbols with optional counts, in any order (``"C9H10O2"``,
``"H2O"``, ``"C6H5Br"``); the same element may appear more than once and is summed. A net charge
may follow as ``+``, ``-``, ``+2``, ``2+``, ``-3`` or ``3-``; it is written back the way RDKit's
``CalcMolFormula`` writes it (``"C4H12N+"``, ``"C2H8N2+2"``).
"""

from __future__ import annotations

import re
from collections import Counter

from nmrlens.errors import InvalidMoleculeError

__all__ = ["ELEMENTS", "parse_formula", "parse_formula_charge", "format_formula", "normalize_formula",
           "MAX_FORMULA_LENGTH"]

#: Element symbols accepted in formulas (periodic table up to Og) plus D for deuterium.
ELEMENTS: frozenset[str] = frozenset(
    """H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As Se
    Br Kr Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd Pm Sm Eu Gd Tb Dy
    Ho Er Tm Yb Lu Hf Ta W Re Os Ir Pt Au Hg Tl Pb Bi Po At Rn Fr Ra Ac Th Pa U Np Pu Am Cm Bk Cf
    Es Fm Md No Lr Rf Db Sg Bh Hs Mt Ds Rg Cn Nh Fl Mc Lv Ts Og D""".split()
)
MAX_FORMULA_LENGTH = 200
_TOKEN = re.compile(r"([A-Z][a-z]?)([0-9]*)")
# Sign first ("+", "+2", "-3") anywhere; digits first ("2+") only after a space or caret.
_CHARGE = re.compile(r"(?:([+-])([0-9]{0,2})|[ ^]([0-9]{1,2})([+-]))$")


def parse_formula(formula: str) -> dict[str, int]:
    """Parse a molecular formula into element counts, e.g. ``"C9H10O2"`` -> ``{"C": 9, "H": 10, "O": 2}``.

    A charge suffix is accepted and ignored here (see :func:`parse_formula_charge`).

    Raises:
        InvalidMoleculeError: for anything but element symbols with whole-number counts.
    """
    return parse_formula_charge(formula)[0]


def parse_formula_charge(formula: str) -> tuple[dict[str, int], int]:
    """Parse a formula into element counts and a net charge (``"C4H12N+"`` -> ``({...}, 1)``).

    Raises:
        InvalidMoleculeError: for anything but element symbols with counts and an optional charge.
    """
    if not isinstance(formula, str):
        raise InvalidMoleculeError(f"formula: got {formula!r}, expected a text such as 'C9H10O2'")
    text = formula.strip()
    if not text or len(text) > MAX_FORMULA_LENGTH:
        raise InvalidMoleculeError(
            f"formula: got {formula[:60]!r}, expected element symbols with counts such as 'C9H10O2' "
            f"(1..{MAX_FORMULA_LENGTH} characters)"
        )
    charge = 0
    cm = _CHARGE.search(text)
    if cm is not None:
        sign = cm.group(1) or cm.group(4)
        digits = cm.group(2) if cm.group(1) else cm.group(3)
        charge = (1 if sign == "+" else -1) * (int(digits) if digits else 1)
        text = text[: cm.start()]
        if not text.strip():
            raise InvalidMoleculeError(f"formula: got {formula!r}, expected element symbols before the charge")
    text = text.replace(" ", "")
    counts: Counter[str] = Counter()
    pos = 0
    for m in _TOKEN.finditer(text):
        if m.start() != pos:
            break
        sym, num = m.groups()
        if sym not in ELEMENTS:
            raise InvalidMoleculeError(f"formula: unknown element {sym!r} in {formula!r}")
        n = int(num) if num else 1
        if n > 100_000:
            raise InvalidMoleculeError(f"formula: count {n} of {sym} in {formula!r} is above 100000")
        counts[sym] += n
        pos = m.end()
    if pos != len(text):
        raise InvalidMoleculeError(
            f"formula: cannot read {formula!r} at position {pos}: expected element symbols with counts "
            "such as 'C9H10O2'"
        )
    return {k: v for k, v in counts.items() if v > 0}, charge


def format_formula(counts: dict[str, int], charge: int = 0) -> str:
    """Write element counts as RDKit's ``CalcMolFormula`` does: C, H, then alphabetical (H first
    also when there is no C, e.g. ``"H4ClN"``), net charge last."""
    keys = sorted(k for k, v in counts.items() if v > 0)
    order = [k for k in ("C", "H") if k in keys] + [k for k in keys if k not in ("C", "H")]
    body = "".join(f"{k}{counts[k] if counts[k] != 1 else ''}" for k in order)
    if charge:
        body += ("+" if charge > 0 else "-") + (str(abs(charge)) if abs(charge) != 1 else "")
    return body


def normalize_formula(formula: str) -> str:
    """Return the Hill-order spelling of a formula (``"H10C9O2"`` -> ``"C9H10O2"``, ``"NC4H12+"`` -> ``"C4H12N+"``)."""
    return format_formula(*parse_formula_charge(formula))
