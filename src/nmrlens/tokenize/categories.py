"""Categorical token sets: 1H multiplicity categories and proton counts (nH).

:func:`canonical_multiplicity` reads the labels found in the data (``"brs"``, ``"br. s"``, ``"bd"``,
``"p"``, ``"hept"``, ``"DD"``, ...) into the canonical labels of :mod:`nmrlens.spectra.model`;
:func:`multiplicity_category` maps any label onto the closed set :data:`MULT_CATEGORIES`:

- ``None`` (not reported) -> ``"none"``;
- ``"app X"`` -> the category of ``X`` (the "apparent" qualifier is dropped);
- ``"br X"`` -> ``"br X"`` when that is a category (br s, br d, br t, br m), else the category of ``X``;
- a label in the set -> itself; anything else (``"qt"``, ``"dqd"``, unreadable text) -> ``"other"``.

Decoding gives the category itself as the label, ``None`` for ``"none"`` and ``"m"`` for ``"other"``.

:func:`canonical_multiplicity` is deliberately not the one of :mod:`nmrlens.io.acs` (literature text) or
:func:`nmrlens.io.nmrshiftdb2.normalize_h1_mult` (depositor labels): they read other label sets and
disagree on labels of the shared data (``"sep"``, ``"dbr"``, ``"t-like"``, ``"AA'BB'"``), and the
tokenized records behind the shipped vocabulary were made with this one.
"""

from __future__ import annotations

import re

from nmrlens.spectra.model import is_valid_multiplicity

__all__ = [
    "MULT_CATEGORIES",
    "NONE_CATEGORY",
    "OTHER_CATEGORY",
    "canonical_multiplicity",
    "multiplicity_category",
    "category_label",
]

NONE_CATEGORY = "none"
OTHER_CATEGORY = "other"
#: The closed set of 1H multiplicity categories (order = token order).
MULT_CATEGORIES: tuple[str, ...] = (
    NONE_CATEGORY,
    "s", "d", "t", "q", "quint", "sext", "sept", "m",
    "dd", "dt", "td", "tt", "dq", "qd",
    "ddd", "ddt", "dtd", "tdd", "dddd",
    "br s", "br d", "br t", "br m",
    OTHER_CATEGORY,
)
_CATEGORY_SET = frozenset(MULT_CATEGORIES)

_WORDS = {
    "singlet": "s", "doublet": "d", "triplet": "t", "quartet": "q", "multiplet": "m",
    "quintet": "quint", "quin": "quint", "pent": "quint", "pentet": "quint", "p": "quint",
    "sextet": "sext", "hex": "sext", "septet": "sept", "sep": "sept", "hept": "sept", "heptet": "sept",
    "br": "br s", "b": "br s", "brs": "br s", "bs": "br s", "bd": "br d", "bt": "br t", "bq": "br q",
    "bm": "br m", "brd": "br d", "brt": "br t", "brq": "br q", "brm": "br m",
}
_MAX_LABEL = 40


def canonical_multiplicity(label: str | None) -> str | None:
    """Canonical spelling of a multiplicity label as found in the data, or None when unreadable.

    ``"brs"``, ``"br. s"``, ``"bs"`` -> ``"br s"``; ``"DD"`` -> ``"dd"``; ``"p"``, ``"quin"`` -> ``"quint"``;
    ``"hept"`` -> ``"sept"``; ``"singlet"`` -> ``"s"``; already canonical labels are returned unchanged.
    """
    if not isinstance(label, str) or not label.strip() or len(label) > _MAX_LABEL:
        return None
    if is_valid_multiplicity(label):
        return label
    text = label.strip().lower().replace(".", " ").replace(",", " ")
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"^broad\b", "br", text)
    text = re.sub(r"^(?:apparent|app)\b", "app", text)
    if text in _WORDS:
        text = _WORDS[text]
    # "brs" / "brd" glued prefixes, "br s"
    m = re.match(r"^(br|b)\s?(app\s)?([a-z ]+)$", text)
    if m and m.group(3).strip() not in ("", "r"):
        core = _WORDS.get(m.group(3).strip(), m.group(3).strip()).replace("br ", "")
        text = f"br {m.group(2) or ''}{core}".replace("  ", " ")
    parts = text.split(" ")
    parts = [_WORDS.get(p, p) if p not in ("br", "app") else p for p in parts]
    text = " ".join(parts)
    return text if is_valid_multiplicity(text) else None


def multiplicity_category(label: str | None) -> str:
    """The category of a multiplicity label (canonical or as found in the data); see the module docstring."""
    if label is None:
        return NONE_CATEGORY
    canon = canonical_multiplicity(label)
    if canon is None:
        return OTHER_CATEGORY
    core = canon
    broad = False
    if core.startswith("br "):
        broad, core = True, core[3:]
    if core.startswith("app "):
        core = core[4:]
    if broad and f"br {core}" in _CATEGORY_SET:
        return f"br {core}"
    return core if core in _CATEGORY_SET else OTHER_CATEGORY


def category_label(category: str) -> str | None:
    """The multiplicity label a category decodes to (None for "none", "m" for "other")."""
    if category == NONE_CATEGORY:
        return None
    if category == OTHER_CATEGORY:
        return "m"
    return category
