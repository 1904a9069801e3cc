"""Formula tokens."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nmrlens.chem.formula import ELEMENTS, normalize_formula
from nmrlens.errors import ConfigError, InvalidMoleculeError
from nmrlens.tokenize.formula import FormulaTokenizer


def test_tokens_in_hill_order() -> None:
    ft = FormulaTokenizer()
    assert ft.tokenize("C9H10O2") == ["C", "n=9", "H", "n=10", "O", "n=2"]
    assert ft.tokenize("O2H10C9") == ["C", "n=9", "H", "n=10", "O", "n=2"]
    assert ft.tokenize("ClH") == ["H", "n=1", "Cl", "n=1"]  # no carbon: H first, as RDKit writes formulas
    assert ft.detokenize(ft.tokenize("C6H5Br")) == "C6H5Br"


def test_large_counts_are_split_without_loss() -> None:
    ft = FormulaTokenizer(max_count=100)
    toks = ft.tokenize("C250H502")
    assert toks == ["C", "n=100", "C", "n=100", "C", "n=50", "H", "n=100", "H", "n=100", "H", "n=100",
                    "H", "n=100", "H", "n=100", "H", "n=2"]
    assert ft.detokenize(toks) == "C250H502"


def test_vocab_is_closed() -> None:
    ft = FormulaTokenizer(max_count=5)
    assert set(ft.element_tokens) == set(ELEMENTS)
    assert ft.element_tokens[:2] == ["C", "H"]
    assert ft.count_tokens == ["n=1", "n=2", "n=3", "n=4", "n=5"]


@pytest.mark.parametrize("tokens", [["C"], ["n=1", "C"], ["C", "C"], ["Xx", "n=1"], ["C", "n=0"], []])
def test_detokenize_errors(tokens: list[str]) -> None:
    with pytest.raises(InvalidMoleculeError):
        FormulaTokenizer().detokenize(tokens)


def test_bad_input() -> None:
    with pytest.raises(InvalidMoleculeError):
        FormulaTokenizer().tokenize("C9H10O2+")
    with pytest.raises(ConfigError):
        FormulaTokenizer(max_count=0)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(sorted(ELEMENTS)), st.integers(1, 400), min_size=1, max_size=6))
def test_round_trip(counts: dict[str, int]) -> None:
    ft = FormulaTokenizer(max_count=100)
    formula = "".join(f"{k}{v}" for k, v in counts.items())
    assert ft.detokenize(ft.tokenize(formula)) == normalize_formula(formula)
