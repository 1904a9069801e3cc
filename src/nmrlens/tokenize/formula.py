"""Formula tokens: element symbols and atom counts in Hill order.

``"C9H10O2"`` -> ``["C", "n=9", "H", "n=10", "O", "n=2"]``: every element is followed by its count
token (also for a count of 1). Elements are every symbol of :data:`nmrlens.chem.formula.ELEMENTS`
(the periodic table plus D), counts are ``n=1`` .. ``n=<max_count>``; a larger count is written as
several (element, count) pairs that add up (``C250`` -> ``C n=100 C n=100 C n=50`` with
``max_count=100``), so every formula tokenises without loss and :meth:`detokenize` inverts it.
"""

from __future__ import annotations

from typing import Sequence

from nmrlens.chem.formula import ELEMENTS, format_formula, parse_formula_charge
from nmrlens.errors import ConfigError, InvalidMoleculeError

__all__ = ["FormulaTokenizer", "DEFAULT_MAX_COUNT", "element_order"]

#: Largest count with its own token.
DEFAULT_MAX_COUNT = 100


def element_order() -> list[str]:
    """Element symbols in token order: C, H, then the others alphabetically."""
    return ["C", "H"] + sorted(e for e in ELEMENTS if e not in ("C", "H"))


def _hill(counts: dict[str, int]) -> list[str]:
    # the order of nmrlens.chem.formula.format_formula (RDKit's): C, H, then alphabetical
    keys = sorted(k for k, v in counts.items() if v > 0)
    return [k for k in ("C", "H") if k in keys] + [k for k in keys if k not in ("C", "H")]


class FormulaTokenizer:
    """Element and count tokens of a molecular formula (see the module docstring).

    Args:
        max_count: the largest count that has its own token (>= 1).
    """

    def __init__(self, max_count: int = DEFAULT_MAX_COUNT) -> None:
        if isinstance(max_count, bool) or not isinstance(max_count, int) or max_count < 1:
            raise ConfigError(f"formula max_count: got {max_count!r}, expected a whole number >= 1")
        self.max_count = max_count
        self._elements = element_order()
        self._element_set = frozenset(self._elements)
        self._counts = [self.count_token(n) for n in range(1, max_count + 1)]
        self._count_value = {t: n for n, t in enumerate(self._counts, start=1)}

    @staticmethod
    def count_token(n: int) -> str:
        """Token of count ``n`` (``"n=9"``)."""
        return f"n={n}"

    @property
    def element_tokens(self) -> list[str]:
        """Element tokens in vocabulary order."""
        return list(self._elements)

    @property
    def count_tokens(self) -> list[str]:
        """Count tokens ``n=1`` .. ``n=max_count``."""
        return list(self._counts)

    @property
    def vocab(self) -> list[str]:
        """All tokens (elements, then counts)."""
        return self.element_tokens + self.count_tokens

    def is_element(self, token: str) -> bool:
        """True for an element token."""
        return token in self._element_set

    def is_count(self, token: str) -> bool:
        """True for a count token."""
        return token in self._count_value

    def tokenize(self, formula: str) -> list[str]:
        """Tokens of a formula (any element order in, Hill order out).

        Raises:
            InvalidMoleculeError: when the formula cannot be parsed or carries a net charge
                (charged formulas have no tokens).
        """
        counts, charge = parse_formula_charge(formula)
        if charge:
            raise InvalidMoleculeError(
                f"formula: {formula!r} carries a net charge; the formula tokens hold neutral formulas only"
            )
        out: list[str] = []
        for el in _hill(counts):
            n = counts[el]
            while n > 0:
                take = min(n, self.max_count)
                out += [el, self._counts[take - 1]]
                n -= take
        return out

    def detokenize(self, tokens: Sequence[str]) -> str:
        """The Hill-order formula written by ``tokens`` (pairs of element and count tokens).

        Raises:
            InvalidMoleculeError: for a token that is not an element where one is expected, or
                not a count after an element.
        """
        if len(tokens) % 2:
            raise InvalidMoleculeError(
                f"formula tokens: got {len(tokens)} tokens, expected (element, count) pairs"
            )
        counts: dict[str, int] = {}
        for i in range(0, len(tokens), 2):
            el, cnt = tokens[i], tokens[i + 1]
            if el not in self._element_set:
                raise InvalidMoleculeError(f"formula tokens[{i}]: got {el!r}, expected an element symbol")
            if cnt not in self._count_value:
                raise InvalidMoleculeError(
                    f"formula tokens[{i + 1}]: got {cnt!r}, expected a count token n=1..n={self.max_count}"
                )
            counts[el] = counts.get(el, 0) + self._count_value[cnt]
        if not counts:
            raise InvalidMoleculeError("formula tokens: got no tokens, expected at least one element")
        return format_formula(counts)
