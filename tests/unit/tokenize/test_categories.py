"""Multiplicity categories."""

from __future__ import annotations

import pytest

from nmrlens.spectra.model import is_valid_multiplicity
from nmrlens.tokenize.categories import (
    MULT_CATEGORIES,
    category_label,
    canonical_multiplicity,
    multiplicity_category,
)


def test_categories_are_closed_and_decode_to_valid_labels() -> None:
    assert MULT_CATEGORIES[0] == "none" and MULT_CATEGORIES[-1] == "other"
    for cat in MULT_CATEGORIES:
        label = category_label(cat)
        assert label is None or is_valid_multiplicity(label)
        if cat not in ("none", "other"):
            assert multiplicity_category(label) == cat


@pytest.mark.parametrize(
    "label,category",
    [
        (None, "none"),
        ("s", "s"), ("dd", "dd"), ("ddd", "ddd"), ("br s", "br s"), ("br d", "br d"),
        ("app t", "t"), ("app dd", "dd"), ("br dd", "dd"), ("br app t", "br t"), ("br q", "q"),
        ("quint", "quint"), ("sept", "sept"), ("dtd", "dtd"),
        ("qt", "other"), ("dqd", "other"), ("ddq", "other"), ("dddt", "other"),
        # labels as found in the data
        ("brs", "br s"), ("br. s", "br s"), ("bs", "br s"), ("br", "br s"), ("bd", "br d"),
        ("DD", "dd"), ("S", "s"), ("p", "quint"), ("quin.", "quint"), ("hept", "sept"), ("sep", "sept"),
        ("singlet", "s"), ("broad singlet", "br s"),
        ("u", "other"), ("AA'BB'", "other"), ("", "other"), ("x" * 100, "other"),
    ],
)
def test_multiplicity_category(label: str | None, category: str) -> None:
    assert multiplicity_category(label) == category


def test_canonical_multiplicity() -> None:
    assert canonical_multiplicity("br.s.") == "br s"
    assert canonical_multiplicity("app dd") == "app dd"
    assert canonical_multiplicity("zz") is None
    assert canonical_multiplicity(None) is None
    assert category_label("other") == "m" and category_label("none") is None
