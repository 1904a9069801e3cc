"""Literature NMR peak text in the ACS style, read and written.

Reads what chemists write in experimental sections and supporting information::

    1H NMR (400 MHz, CDCl3) δ 7.36 – 7.28 (m, 5H), 5.11 (s, 2H), 2.10 (s, 3H).
    13C NMR (101 MHz, CDCl3) δ 170.9, 136.0, 128.6 (2C), 128.3, 66.3, 21.1.

and writes that canonical form. Units: shifts in ppm, couplings (J) in Hz, frequency in MHz,
temperature in K (a header's ``25 °C`` is read as 298.15 K).

Reading
    - Headers: ``1H NMR``, ``^1H``, ``¹H``, ``1 H``, ``H NMR``, ``1H-NMR``, ``13C{1H} NMR``,
      ``13C {1H}``, ``19F``, ``31P{1H}``, ... and the short ``δH`` / ``δC`` form; conditions in
      parentheses in any order (frequency ``400 MHz``, solvent, ``298 K`` / ``25 °C``); then any
      of ``δ``, ``δH``, ``d``, ``delta``, ``ppm``, ``(ppm)``, ``:``, ``=``.
    - 1H multiplets ``shift`` or ``a – b`` (dashes ``- – — ‒ −``, ``~`` or ``to``; the range is
      stored as shift_min/shift_max) with an optional parenthesis holding, in any order,
      the multiplicity (s, d, t, q, quint/quin/p/pent, sext/hex, sept/hept, m, dd, dt, td, ddd,
      ..., br s/bs/brs/br, app t/apparent t/pseudo t, doublet of doublets, ...; second-order
      labels AB q/ABq/AA'BB' become ``m``), couplings (``J = 7.1, 1.2 Hz``, ``J = 7.1 Hz, 1.2 Hz``,
      ``J1 = .., J2 = ..``, ``3J``, ``JHH``, ``J(H,F)``, ``J 7.2``), the number of H (``2H``,
      ``2 H``) and the author's label (``H-3``, ``NH``, ``2 x CH3``), kept in Multiplet.label.
    - 13C (and other non-1H) peaks with an optional parenthesis: count (``2C``, ``2 x C``),
      DEPT type (``CH3``/``CH2``/``CH``/``C``/``Cq`` -> Peak.mult Q/T/D/S; ``2 x CH3`` gives
      both), heteronuclear splitting (``d, J = 245.1 Hz`` -> Peak.coupling and Peak.J). Other
      labels (``C-3``, ``C=O``) are dropped: Peak has no label field. A 13C range ``a – b``
      becomes one peak at its centre.
    - Several blocks in one paragraph make one :class:`~nmrlens.spectra.Query`; paragraphs
      (separated by a blank line) make separate queries. Text around the blocks (compound
      names, HRMS, IR, ...) is skipped; a peak list ends at a sentence end (``). `` or
      ``21.1. ``), at the next header, or at HRMS/IR/MS/Anal/mp/...
    - ``nucleus=`` reads a bare peak list without a header; when the text has headers it
      keeps only the blocks of that nucleus.
    - Errors: a text with no readable peak raises :class:`FileFormatError`; values the model
      refuses (a 1H shift outside -3..17 ppm, a 1H J outside 0..40 Hz, ...) raise
      :class:`SpectrumFormatError` with a field such as ``1H.peaks[3].J[0]``. Input is limited
      to :data:`MAX_CHARS` characters; every regex is linear (bounded quantifiers only).

Writing
    ``1H NMR (400 MHz, CDCl3) δ 7.36 – 7.28 (m, 5H), 5.11 (s, 2H).`` with ``J = 7.1, 1.2 Hz``,
    13C ``13C NMR (101 MHz, CDCl3) δ 170.9, 128.6 (2C, CH), 162.3 (d, J = 245.1 Hz).``; one line
    per spectrum, a blank line between queries. Shifts get at least 2 decimals (1H) or 1
    decimal (other nuclei), more when needed to read back the same float; the frequency is an
    integer when whole. Not written (ACS text has no place for them): atoms, intensity,
    formula, SMILES, id, molblock, meta. 2D spectra raise :class:`FileFormatError`.
    ``loads(dumps(q)) == [q]`` for queries holding only such spectra, with labels and solvents
    that do not themselves look like a multiplicity, a count, a J or a frequency.
"""

from __future__ import annotations

import logging
import re
from decimal import Decimal
from typing import NamedTuple

from nmrlens.errors import FileFormatError, SpectrumFormatError, short_repr
from nmrlens.io._base import PathLike, Writable, as_queries, check_text, read_text, write_text_atomic
from nmrlens.spectra.model import (
    MAX_PEAKS,
    MAX_SPECTRA,
    Multiplet,
    Peak,
    Query,
    Spectrum1D,
    is_valid_multiplicity,
    normalize_nucleus,
)

__all__ = [
    "MAX_CHARS",
    "loads",
    "dumps",
    "read",
    "write",
    "parse_spectrum_text",
    "format_spectrum",
    "canonical_multiplicity",
]

logger = logging.getLogger(__name__)

#: Largest text :func:`loads` accepts (characters).
MAX_CHARS = 1_000_000
_MAX_LABEL = 100
_MAX_SOLVENT = 200
_PAREN_LIMIT = 1000  # longest parenthesis read after a shift (characters)
_COND_LIMIT = 300  # longest conditions parenthesis in a header

# ----------------------------------------------------------------------------------------------
# text normalisation


def _re(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """Compile with ``re.ASCII``: ``\\d`` is 0-9 only (not other scripts' digits)."""
    return re.compile(pattern, flags | re.ASCII)


_SPACES_RE = _re(r"[\t\x0b\x0c\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")
_DROP_RE = _re(r"[\u00ad\u200b-\u200d\u2060\ufeff]")
_NEWLINES_RE = _re(r"\r\n?|[\u2028\u2029\x85]")
_SUBSCRIPTS = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")
_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")
_TAG_RE = _re(r"</?(?:sub|sup|i|em|b|strong|span|small)>", re.IGNORECASE)
_PARAGRAPH_RE = _re(r"\n[ ]*\n")
_WS_RE = _re(r"\s+")

_SIGNS = "-−"  # hyphen-minus and the minus sign in front of a negative shift


# UTF-8 text decoded as cp1252 somewhere on the way from the paper ("â€“" for "–").
_MOJIBAKE = {
    "â€“": "–", "â€”": "—", "â€’": "‒", "â€‘": "‑", "â€\x90": "‐", "âˆ’": "−", "Î´": "δ",
    "Ã—": "×", "Â°": "°", "Â ": " ", "Â\xa0": " ", "â€²": "′", "â€™": "’",
}
_MOJIBAKE_RE = _re("|".join(re.escape(k) for k in _MOJIBAKE))


def _normalize(text: str) -> str:
    if "â" in text or "Î" in text or "Ã" in text or "Â" in text:
        text = _MOJIBAKE_RE.sub(lambda m: _MOJIBAKE[m.group()], text)
    if "<" in text:
        text = _TAG_RE.sub("", text)  # "<sup>13</sup>C", "CDCl<sub>3</sub>" from HTML
    text = _NEWLINES_RE.sub("\n", text)
    text = _SPACES_RE.sub(" ", text)
    text = _DROP_RE.sub("", text)
    return text.translate(_SUBSCRIPTS)


def _collapse(text: str) -> str:
    return _WS_RE.sub(" ", text).strip()


# ----------------------------------------------------------------------------------------------
# numbers


def _num(text: str) -> float:
    """A number as written (``7.26``, ``−0.05``, ``2,4``) as a float."""
    t = text.replace(" ", "").replace("−", "-").replace(",", ".")
    try:
        return float(t)
    except ValueError:  # pragma: no cover - the regexes only pass numbers
        raise FileFormatError(f"acs: cannot read the number {short_repr(text)}") from None


def _fmt(x: float, min_decimals: int) -> str:
    """Shortest positional text that reads back as exactly ``x``, with at least ``min_decimals``."""
    s = format(Decimal(repr(float(x))), "f")
    if "." in s:
        whole, frac = s.split(".", 1)
    else:
        whole, frac = s, ""
    frac = frac.rstrip("0")
    if len(frac) < min_decimals:
        frac += "0" * (min_decimals - len(frac))
    return f"{whole}.{frac}" if frac else whole


# ----------------------------------------------------------------------------------------------
# multiplicities

_MULT_WORDS = {
    "singlet": "s", "singlets": "s", "doublet": "d", "doublets": "d", "triplet": "t", "triplets": "t",
    "quartet": "q", "quartets": "q", "quintet": "quint", "quintets": "quint", "pentet": "quint",
    "pentuplet": "quint", "quin": "quint", "qui": "quint", "qn": "quint", "qnt": "quint",
    "pent": "quint", "p": "quint", "quint": "quint", "sextet": "sext", "sextets": "sext",
    "sext": "sext", "sex": "sext", "hex": "sext", "hextet": "sext", "septet": "sept",
    "septets": "sept", "sept": "sept", "hept": "sept", "heptet": "sept", "multiplet": "m",
    "multiplets": "m", "mc": "m", "mult": "m",
}
_BR_WORDS = {"br", "broad", "b", "brd", "brs"}
_APP_WORDS = {"app", "apparent", "apparently", "appar", "pseudo", "ps", "virtual", "approx"}
_SECOND_ORDER_RE = _re(r"^(?:ab|abq|abx|abc|aa'bb'|aa′bb′|aabb|aa'xx'|aa′xx′|abquartet|absystem|abpattern)$")
_CORE_RE = _re(r"^(?:quint|quin|pent|sext|sept|hept|hex|d|t|q|m|p){1,5}$")
_CORE_PART_RE = _re(r"quint|quin|pent|sext|sept|hept|hex|d|t|q|m|p")
_CORE_CANON = {"quin": "quint", "pent": "quint", "p": "quint", "hept": "sept", "hex": "sext"}
_XSEP_RE = _re(r"^[dtqm](?:[x×][dtqm]){1,4}$")


def _core(word: str) -> str | None:
    """Canonical core (``dd``, ``quint``, ``s``) of one word, or None."""
    if word == "s":
        return "s"
    if word in _MULT_WORDS:
        return _MULT_WORDS[word]
    if _XSEP_RE.match(word):
        word = word.replace("x", "").replace("×", "")
    if not _CORE_RE.match(word):
        return None
    parts = [_CORE_CANON.get(p, p) for p in _CORE_PART_RE.findall(word)]
    return "".join(parts) if 1 <= len(parts) <= 5 else None


def canonical_multiplicity(text: str) -> str | None:
    """Canonical multiplicity label of an author's text, or None when it is not one.

    ``"br. s"``, ``"bs"``, ``"brs"``, ``"s, br"`` -> ``"br s"``; ``"quin"``/``"p"``/``"pent"`` ->
    ``"quint"``; ``"hex"`` -> ``"sext"``; ``"hept"`` -> ``"sept"``; ``"apparent t"`` ->
    ``"app t"``; ``"doublet of doublets"``/``"d of d"``/``"d.d"`` -> ``"dd"``; ``"2d"`` -> ``"d"``;
    ``"br"`` alone -> ``"br s"``; AB q / ABq / AA'BB' (second order) -> ``"m"``.
    """
    if not isinstance(text, str) or not text or len(text) > 40:
        return None
    s = text.strip().lower()
    s = s.replace("’", "'").replace("′", "'")
    if _SECOND_ORDER_RE.match(s.replace(" ", "").replace("-", "").replace(".", "")):
        return "m"
    s = re.sub(r"[.\-_,/]", " ", s)
    s = re.sub(r"^\d{1,2}\s?(?:x\s)?", "", s, flags=re.ASCII)  # "2d", "4 s": several signals of that kind
    words = s.split()
    if not words or len(words) > 6:
        return None
    br = app = False
    core_words: list[str] = []
    for w in words:
        if w in ("of", "x", "×"):
            continue
        if w == "like":  # "t-like"
            app = True
            continue
        if w in _BR_WORDS and w not in ("brd", "brs"):
            br = True
            continue
        if w in _APP_WORDS:
            app = True
            continue
        if w.endswith("like") and len(w) > 4:  # "t-like" was split; "tlike" is not
            w = w[:-4]
            app = True
        core_words.append(w)
    cores: list[str] = []
    for w in core_words:
        c = _core(w)
        if c is None and len(w) > 1 and w.startswith("br") and _core(w[2:]):
            br, c = True, _core(w[2:])
        elif c is None and len(w) > 1 and w[0] == "b" and _core(w[1:]):
            br, c = True, _core(w[1:])
        elif c is None and len(w) > 2 and w.endswith("br") and _core(w[:-2]):
            br, c = True, _core(w[:-2])
        if c is None:
            return None
        cores.append(c)
    if not cores:
        core = "s" if br else None
        if core is None:
            return None
    elif len(cores) == 1:
        core = cores[0]
    elif "s" in cores:
        return None
    else:
        core = "".join(cores)
    label = ("br " if br else "") + ("app " if app else "") + core
    return label if is_valid_multiplicity(label) else None


# ----------------------------------------------------------------------------------------------
# headers

_DEFAULT_MASS = {
    "H": 1, "D": 2, "C": 13, "F": 19, "P": 31, "N": 15, "B": 11, "Si": 29, "Sn": 119, "Se": 77,
    "Pt": 195, "Li": 7, "O": 17, "Al": 27, "Cd": 113, "Hg": 199, "Rh": 103, "Xe": 129, "Tl": 205,
    "Te": 125, "Pb": 207, "Y": 89, "W": 183, "V": 51, "Na": 23, "Cs": 133, "Ge": 73, "Ga": 71,
}
_HEADER_RE = _re(
    r"(?<![A-Za-z0-9])"
    r"(?:(?:\^|<sup>)?\s?(?P<mass>\d{1,3}|[⁰¹²³⁴⁵⁶⁷⁸⁹]{1,3})\s?(?:</sup>)?\s?)?"
    r"(?P<el>[A-Z][a-z]?)"
    r"(?:\s?[{\[(]\s?(?:\^|<sup>)?(?:1|¹)?(?:</sup>)?\s?H\s?[}\])])?"
    r"\s?[-‐‑–—]?\s?NMR(?![A-Za-z])"
    r"|(?<![A-Za-z0-9])δ\s?(?P<del>[HCFP])(?![A-Za-z])"
)
_PRE_RE = _re(
    r"(?P<ws>\s+|[:=,;/]|\.(?!\d))"
    r"|(?P<skip>δ\s?[HCFPN]?(?![A-Za-z])|delta(?![A-Za-z])|ppm(?![A-Za-z])|spectrum(?![A-Za-z])"
    r"|spectra(?![A-Za-z])|data(?![A-Za-z])|d(?=\s?[:=]?\s?[-−]?\d))"
    r"|(?P<in>in\s(?P<solv>[^\s,:;()]{1,40}))"
    r"|(?P<open>[(\[])"
)
_BODY_START_RE = _re(r"[-−]?\d")
_FREQ_RE = _re(r"(\d{1,4}(?:\.\d{1,4})?)\s?MHz", re.IGNORECASE)
_TEMP_K_RE = _re(r"(?<![\d.])(\d{1,4}(?:\.\d{1,3})?)\s?K(?![A-Za-z])")
_TEMP_C_RE = _re(r"(?<![\d.])([-−]?\d{1,3}(?:\.\d{1,2})?)\s?[°º˚o]\s?C(?![A-Za-z])")
_SOLVENT_LIKE_RE = _re(
    r"CDCl|CHCl|DMSO|CD3|CD2|D2O|C6D|C7D|MeOD|MeOH|methanol|chloroform|acetone|benzene|pyridine|"
    r"toluene|THF|TFA|CCl4|acetonitrile|dioxane|nitromethane|-d\d|\bd\d|D\d\b|H2O|\(CD",
    re.IGNORECASE,
)
_NOT_SOLVENT_RE = _re(
    r"^(?:δ|d|delta|ppm|J|Hz|in|TMS|Me4Si|DEPT|APT|internal standard|ref|\W)*$|^\d|^(?:DEPT|APT)\b",
    re.IGNORECASE,
)


class _Conditions(NamedTuple):
    solvent: str | None
    frequency_MHz: float | None
    temperature_K: float | None


def _split_top(text: str, seps: str = ",;") -> list[str]:
    """Split at separators outside parentheses/brackets."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth = max(0, depth - 1)
        elif ch in seps and depth == 0:
            out.append(text[start:i])
            start = i + 1
    out.append(text[start:])
    return out


def _parse_conditions(parts: list[str]) -> _Conditions:
    """Frequency, temperature and solvent from the header's parenthesised conditions."""
    freq = temp = None
    residuals: list[str] = []
    for part in parts:
        for piece in _split_top(part):
            p = piece
            m = _FREQ_RE.search(p)
            if m:
                if freq is None:
                    freq = _num(m.group(1))
                p = p[: m.start()] + " " + p[m.end():]
            m = _TEMP_K_RE.search(p)
            if m:
                if temp is None:
                    temp = _num(m.group(1))
                p = p[: m.start()] + " " + p[m.end():]
            else:
                m = _TEMP_C_RE.search(p)
                if m:
                    if temp is None:
                        temp = round(_num(m.group(1)) + 273.15, 2)
                    p = p[: m.start()] + " " + p[m.end():]
            p = _collapse(p)
            p = re.sub(r"^in\s", "", p)
            if p and not _NOT_SOLVENT_RE.match(p):
                residuals.append(p)
    solvent = next((r for r in residuals if _SOLVENT_LIKE_RE.search(r)), None)
    if solvent is None and residuals:
        solvent = residuals[0]
    if solvent is not None and len(solvent) > _MAX_SOLVENT:
        solvent = solvent[: _MAX_SOLVENT - 3] + "..."
    return _Conditions(solvent, freq, temp)


_CLOSER = {"(": ")", "[": "]", "{": "}"}


_BRACKET_RE = _re(r"[()\[\]{}]")
_MAX_DEPTH = 4


def _find_close(text: str, open_pos: int, end: int, limit: int) -> int | None:
    """Index of the bracket closing the one at ``open_pos`` (within ``limit`` characters), or None.

    Brackets pair by kind; a stray closer of another kind inside is ignored. Nesting deeper than
    a few levels is not text a chemist wrote: None.
    """
    stack: list[str] = []
    for m in _BRACKET_RE.finditer(text, open_pos, min(end, open_pos + limit)):
        ch = m.group()
        i = m.start()
        if ch in _CLOSER:
            stack.append(_CLOSER[ch])
            if len(stack) > _MAX_DEPTH:
                return None
        elif stack and ch == stack[-1]:
            stack.pop()
            if not stack:
                return i
        elif ch in stack:  # a missing closer inside: unwind to the matching opener
            while stack and stack[-1] != ch:
                stack.pop()
            stack.pop()
            if not stack:
                return i
    return None


def _header_nucleus(m: re.Match[str]) -> str | None:
    if m.group("del"):
        return {"H": "1H", "C": "13C", "F": "19F", "P": "31P"}[m.group("del")]
    el = m.group("el")
    mass = m.group("mass")
    if mass:
        mass = mass.translate(_SUPERSCRIPTS)
        try:
            return normalize_nucleus(f"{int(mass)}{el}")
        except SpectrumFormatError:
            return None
    if el not in _DEFAULT_MASS:
        return None
    return "2H" if el == "D" else f"{_DEFAULT_MASS[el]}{el}"


def _read_preamble(text: str, pos: int, end: int) -> tuple[int, list[str], str | None]:
    """Skip ``(conditions) δ (ppm):`` after a header; returns (position, conditions, solvent)."""
    conds: list[str] = []
    solvent = None
    for _ in range(40):
        if pos >= end:
            break
        m = _PRE_RE.match(text, pos, end)
        if m is None:
            break
        if m.group("open"):
            close = _find_close(text, pos, end, _COND_LIMIT)
            if close is None:
                break
            conds.append(text[pos + 1 : close])
            pos = close + 1
            continue
        if m.group("in"):
            solvent = solvent or m.group("solv")
        pos = m.end()
    return pos, conds, solvent


class _Header(NamedTuple):
    start: int
    body: int
    nucleus: str
    cond: _Conditions


def _header_at(text: str, m: re.Match[str], end: int) -> _Header | None:
    """The header found by ``m`` when a peak list follows it, else None (prose such as
    '1H NMR spectra were recorded...')."""
    nuc = _header_nucleus(m)
    if nuc is None:
        return None
    pos, conds, solvent = _read_preamble(text, m.end(), end)
    if not _BODY_START_RE.match(text, pos, end):
        return None
    cond = _parse_conditions(conds)
    if solvent and cond.solvent is None:
        cond = cond._replace(solvent=solvent)
    return _Header(m.start(), pos, nuc, cond)


def _next_header(text: str, pos: int, end: int) -> _Header | None:
    while pos < end:
        m = _HEADER_RE.search(text, pos, end)
        if m is None:
            return None
        h = _header_at(text, m, end)
        if h is not None:
            return h
        pos = m.end()
    return None


# ----------------------------------------------------------------------------------------------
# peak lists

_TOP_RE = _re(
    r"(?P<ws>\s+)|(?P<num>\d+(?:\.\d+)?)|(?P<dash>[-‐‑‒–—−~－])|(?P<open>[(\[{])|(?P<close>[)\]}])"
    r"|(?P<sep>[,;])|(?P<dot>\.)|(?P<word>[^\s\d()\[\]{},;.\-‐‑‒–—−~－]{1,200})"
)
# A shift: 7.26; "2. 30" (a stray space from a PDF); "6,98" (decimal comma) when a parenthesis or a
# range follows, where a list comma cannot be meant.
_SHIFT = (
    r"(?:\d{1,3},\d{1,4}(?=\s?\s?[(\[]|\s?\s?[-‐‑‒–—−~－]\s?\s?\d)"
    r"|\d+(?:\.\d+|\.\s\d{2,6}(?![A-Za-z\d.]))?)"
)
_NUM_RE = _re(_SHIFT)
_RANGE_RE = _re(
    r"\s?\s?(?:[-‐‑‒–—−~－]{1,2}|to(?![A-Za-z]))\s?\s?(?P<sign>[-−]?)"
    r"(?P<b>\d{1,3},\d{1,4}(?=\s?\s?[(\[])|\d+(?:\.\d+|\.\s\d{2,6}(?![A-Za-z\d.]))?)"
)
_INT_AFTER_RE = _re(r"\d{1,3}(?![\d.,]\d)")
_NEXT_ITEM_RE = _re(
    r"[,;]\s?\s?[-−]?\d{1,3}\.\d{1,4}(?:\s?\s?[-‐‑‒–—−~]\s?\s?[-−]?\d{1,3}\.\d{1,4})?\s?\s?(?:ppm\s?)?[(\[]"
)
_TOP_COUNT_RE = _re(r"\d{1,3}\s?H(?![A-Za-z])")
_MULTIPLIER_BEFORE_RE = _re(r"\d{1,3}\s?[x×]\s")
_MULTIPLIER_AFTER_RE = _re(r"[x×]\s?(\d{1,3})(?!\d|[.,]\d)")
_PPM_RE = _re(r"\s?ppm(?![A-Za-z])")
_WORD_RE = _re(r"\s?([A-Za-z][A-Za-z.]{0,11})(?![A-Za-z0-9])")
_OPEN_RE = _re(r"\s?\s?[(\[]")
# What follows a peak list in an experimental section: the list ends there.
_STOP_RE = _re(
    r"(?:HR-?MS|LR-?MS|HR|MS|ESI|IR|FT-?IR|Anal|Elemental|m\.\s?p\.?|mp|UV|MALDI|FAB|EI|APCI|LC-?MS|HPLC|"
    r"Found|Calcd|Calc|Rf|Yield|m/z|\[α\]|α|ee|TLC|GC-?MS|GC|CI|DCI|Mass|Purity)(?![A-Za-z])",
    re.IGNORECASE,
)


class _Item(NamedTuple):
    a: float
    b: float | None
    detail: str | None
    pre_mult: str | None
    snippet: str


def _read_item(text: str, pos: int, end: int, nucleus: str) -> tuple[_Item, int]:
    start = pos
    neg = text[pos] in _SIGNS
    if neg:
        pos += 1
    m = _NUM_RE.match(text, pos, end)
    if m is None:  # pragma: no cover - called at a digit
        raise FileFormatError(f"acs: {nucleus} peak list: expected a shift at {short_repr(text[start:start + 20])}")
    a = _num(m.group()) * (-1 if neg else 1)
    pos = m.end()
    if pos < end - 1 and text[pos] == "." and "0" <= text[pos + 1] <= "9":
        bad = re.match(r"[0-9.]{1,40}", text[m.start() :])
        raise FileFormatError(
            f"acs: {nucleus} peak list: malformed number {short_repr(bad.group() if bad else m.group())}; "
            "expected a shift such as 7.26"
        )
    b = None
    r = _RANGE_RE.match(text, pos, end)
    if r:
        b = _num(r.group("b")) * (-1 if r.group("sign") else 1)
        pos = r.end()
    r = _PPM_RE.match(text, pos, end)
    if r:
        pos = r.end()
    pre_mult = None
    w = _WORD_RE.match(text, pos, end)
    if w:
        cand = canonical_multiplicity(w.group(1))
        w2 = _WORD_RE.match(text, w.end(), end)
        if w2 and canonical_multiplicity(f"{w.group(1)} {w2.group(1)}"):
            pre_mult, pos = canonical_multiplicity(f"{w.group(1)} {w2.group(1)}"), w2.end()
        elif cand:
            pre_mult, pos = cand, w.end()
    detail = None
    o = _OPEN_RE.match(text, pos, end)
    if o:
        open_pos = o.end() - 1
        close = _find_close(text, open_pos, end, _PAREN_LIMIT)
        stop = close if close is not None else min(end, open_pos + _PAREN_LIMIT)
        nxt = _NEXT_ITEM_RE.search(text, open_pos + 1, stop)
        if nxt is not None:  # "(dd, J = 18.0, 7.8 Hz, 1.64 (s, 3H)": a ")" is missing
            detail = text[open_pos + 1 : nxt.start()]
            pos = nxt.start()
        elif close is None:  # unclosed: read to the end (or the limit)
            detail = text[open_pos + 1 : stop]
            pos = stop
        else:
            detail = text[open_pos + 1 : close]
            pos = close + 1
    snippet = _collapse(text[start:pos])
    return _Item(a, b, detail, pre_mult, snippet[:80]), pos


def _scan_items(text: str, pos: int, end: int, nucleus: str) -> tuple[list[_Item], int]:
    """Read peak items from ``pos`` until the list ends; returns (items, end position)."""
    items: list[_Item] = []
    prev = ""
    junk: list[str] = []
    while pos < end:
        m = _TOP_RE.match(text, pos, end)
        if m is None:  # pragma: no cover - the token regex matches every character
            pos += 1
            continue
        kind = m.lastgroup
        if kind == "ws":
            pos = m.end()
            continue
        if kind in ("num", "word", "dash") and _HEADER_RE.match(text, pos, end):
            if _next_header(text, pos, min(end, pos + 400)) is not None:
                break
        if kind == "num" and pos > 0 and text[pos - 1] in ")]" and _INT_AFTER_RE.match(text, pos, end):
            pos = m.end()  # "(-CH2-)7": a subscript, not a shift
            prev = "word"
            continue
        if kind == "num" and (_TOP_COUNT_RE.match(text, pos, end) or _MULTIPLIER_BEFORE_RE.match(text, pos, end)):
            # "1.44–1.23 m, 28H" (a count outside parentheses) or "2 x CH2": not a shift
            c = _TOP_COUNT_RE.match(text, pos, end)
            if c and items and nucleus == "1H":
                last = items[-1]
                items[-1] = last._replace(detail=f"{last.detail}, {c.group()}" if last.detail else c.group())
            pos = (c or _MULTIPLIER_BEFORE_RE.match(text, pos, end)).end()  # type: ignore[union-attr]
            prev = "word"
            continue
        if kind == "word" and prev == "item" and _MULTIPLIER_AFTER_RE.match(text, pos, end):
            # "22.0 × 2": two nuclei at that shift
            c = _MULTIPLIER_AFTER_RE.match(text, pos, end)
            last = items[-1]
            extra = f"{c.group(1)}{nucleus.lstrip('0123456789')}" if nucleus != "1H" else ""  # type: ignore[union-attr]
            if extra:
                items[-1] = last._replace(detail=f"{last.detail}, {extra}" if last.detail else extra)
            pos = c.end()  # type: ignore[union-attr]
            continue
        if kind == "num" or (kind == "dash" and m.group() in _SIGNS and m.end() < end and "0" <= text[m.end()] <= "9"):
            item, pos = _read_item(text, pos, end, nucleus)
            items.append(item)
            if len(items) > MAX_PEAKS:
                raise SpectrumFormatError(f"{nucleus}.peaks", f"more than {MAX_PEAKS} peaks", f"at most {MAX_PEAKS} peaks")
            prev = "item"
            continue
        if kind in ("word", "open") and _STOP_RE.match(text, pos, end):
            break
        if kind == "open":
            close = _find_close(text, pos, end, _PAREN_LIMIT)
            pos = close + 1 if close is not None else min(end, pos + _PAREN_LIMIT)
            prev = "close"
            continue
        if kind == "dot":
            nxt = m.end()
            if prev in ("item", "close") and (nxt >= end or text[nxt].isspace()):
                pos = nxt
                break
            pos = nxt
            continue
        if kind == "word":
            w = m.group().lower().rstrip(":")
            if w not in ("δ", "ppm", "and", "&", "δh", "δc", "delta", "d"):
                junk.append(m.group())
            prev = "word"
            pos = m.end()
            continue
        prev = kind
        pos = m.end()
    if junk:
        logger.debug("acs: skipped text between peaks: %s", short_repr(" ".join(junk), 200))
    return items, pos


# ----------------------------------------------------------------------------------------------
# details in parentheses

# "J = 7.1", "J 7.1", "3JHH = 7.8", "J1,2 = 3.5", "J(H,F) = 47", "1JC–F = 245": a marker, then "=" or
# a space (so that "J1 = ..." is not read as J = 1), then a value.
_J_MARK = (
    r"(?:\d\s?)?J(?:\s?\([^()]{0,12}\)|\s?[A-Z][A-Za-z0-9,′'’\-‐‑–]{0,9}|[A-Za-z0-9,′'’\-‐‑–]{0,10})"
    r"(?:\s?\s?(?:=|:|≈|~|≅)\s?\s?|\s\s?)"
)
_J_MARK_RE = _re(r"(?<![A-Za-z0-9])" + _J_MARK + r"(?=\d)")
_J_CHAIN_RE = _re(r"(?<![A-Za-z0-9])(?:\d\s?)?J[A-Za-z0-9,′'’\-‐‑–]{0,10}\s?\s?=\s?\s?$")
_J_VAL_RE = _re(r"\d{1,4}(?:\.\d{1,6}|,\d{1,2}(?![\d.]))?")
_J_CONT_RE = _re(
    r"\s?\s?(?:,|;|and(?![A-Za-z])|&|/|\+)?\s?\s?"
    r"(?:" + _J_MARK + r")?"
    r"(?=\d)"
)
_J_FOLLOW_RE = _re(r"\s?\s?(?:Hz(?![A-Za-z])|[,;&/+]|and(?![A-Za-z])|$)")
_HZ_RE = _re(r"\s?\s?Hz(?![A-Za-z])")
_COUNT_H_RE = _re(r"^(\d{1,4})\s?H$")
_BARE_NUM_RE = _re(r"^(\d{1,4})(\.\d{1,6})?$")
_NUM_HZ_RE = _re(r"^(\d{1,4}(?:[.,]\d{1,6})?)\s?Hz$")
_COUNT_X_RE = _re(r"^(\d{1,3})\s?(?:[x×*]\s?)?([A-Z][a-z]?)$")  # "2C", "2 x C", "3F"
_COUNT_DEPT_RE = _re(r"^(\d{1,3})\s?(?:[x×*]\s?)?(CH3|CH2|CH|Cq|C)$")
_DEPT = {"CH3": "Q", "CH2": "T", "CH": "D", "C": "S", "Cq": "S", "Cquat": "S", "qC": "S", "Cq.": "S",
         "quat": "S", "quat.": "S", "Cquart": "S", "C quat": "S", "S": "S", "D": "D", "T": "T", "Q": "Q"}
_DEPT_NAME = {"Q": "CH3", "T": "CH2", "D": "CH", "S": "C"}


def _extract_j(detail: str) -> tuple[list[float], str]:
    """Pull the coupling constants out of a parenthesis; returns (J values in Hz, the rest)."""
    values: list[float] = []
    rest: list[str] = []
    pos = 0
    n = len(detail)
    while pos < n:
        m = _J_MARK_RE.search(detail, pos)
        if m is None:
            break
        before = detail[pos : m.start()]
        chained = _J_CHAIN_RE.search(before)  # "J1 = J2 = 3.6 Hz": the value counts twice
        if chained:
            before = before[: chained.start()]
        rest.append(before)
        p = m.end()
        v = _J_VAL_RE.match(detail, p)
        if v is None:  # pragma: no cover - the marker is followed by a digit
            rest.append(detail[m.start() : p])
            pos = p
            continue
        values.append(_num(v.group()))
        if chained:
            values.append(_num(v.group()))
        p = v.end()
        h = _HZ_RE.match(detail, p)
        if h:
            p = h.end()
        while p < n:
            c = _J_CONT_RE.match(detail, p)
            if c is None:
                break
            v = _J_VAL_RE.match(detail, c.end())
            if v is None or not _J_FOLLOW_RE.match(detail, v.end()):
                break
            values.append(_num(v.group()))
            p = v.end()
            h = _HZ_RE.match(detail, p)
            if h:
                p = h.end()
        rest.append(",")
        pos = p
    rest.append(detail[pos:])
    return values, "".join(rest)


def _balanced(text: str) -> str | None:
    """``text`` without brackets that have no partner (a label cut by a missing ")")."""
    drop: set[int] = set()
    stack: list[tuple[str, int]] = []
    for m in _BRACKET_RE.finditer(text):
        ch, i = m.group(), m.start()
        if ch in _CLOSER:
            stack.append((_CLOSER[ch], i))
        elif stack and stack[-1][0] == ch:
            stack.pop()
        else:
            drop.add(i)
    drop.update(i for _, i in stack)
    if drop:
        text = _collapse("".join(ch for i, ch in enumerate(text) if i not in drop))
    return text or None


def _fields(text: str) -> list[str]:
    return [f for f in (_collapse(x) for x in _split_top(text)) if f]


def _h1_details(detail: str, pre_mult: str | None) -> tuple[str | None, list[float], int | None, str | None]:
    """Multiplicity, J (Hz), nH and label from a 1H multiplet's parenthesis."""
    js, rest = _extract_j(detail)
    mult = pre_mult
    br = False
    nh: int | None = None
    labels: list[str] = []
    for f in _fields(rest):
        low = f.lower().rstrip(".")
        if low in ("hz", "j") or not any(ch.isalnum() for ch in f):
            continue
        c = _COUNT_H_RE.match(f)
        if c and (nh is None or nh == int(c.group(1))):  # "(d, 2H, J = 8.4 Hz, 2H)": once
            nh = int(c.group(1))
            continue
        if low in ("br", "broad", "b"):
            br = True
            continue
        cm = canonical_multiplicity(f)
        if cm is not None and mult is None:
            mult = cm
            continue
        if cm is not None and cm not in ("s", "m") and _CORE_RE.match(mult + cm) and _CORE_RE.match(cm):
            mult = mult + cm  # "(d, d, J = 6.0 Hz)": one doublet of doublets written apart
            continue
        hz = _NUM_HZ_RE.match(f)
        if hz:
            js.append(_num(hz.group(1)))
            continue
        bare = _BARE_NUM_RE.match(f)
        if bare and bare.group(2) is not None:  # "(q, 1H, 7.7)": a J without its "J ="
            js.append(_num(f))
            continue
        if bare and mult is not None and nh is None:  # "(t, 2)": a count without its "H"
            nh = int(bare.group(1))
            continue
        # "m 2H", "2H m", "1H in CH2": leading counts/multiplicities, then a label
        toks = f.split()
        k = 0
        while k < len(toks):
            t = toks[k]
            c = _COUNT_H_RE.match(t)
            if c and nh is None:
                nh = int(c.group(1))
            elif mult is None and canonical_multiplicity(t) is not None and t.lower() not in ("b", "p"):
                mult = canonical_multiplicity(t)
            else:
                break
            k += 1
        if k < len(toks):
            labels.append(" ".join(toks[k:]) if k else f)
    if br:
        if mult is None:
            mult = "br s"
        elif not mult.startswith("br "):
            mult = "br " + mult
    label = _balanced(", ".join(labels)) if labels else None
    if label is not None and len(label) > _MAX_LABEL:
        label = label[: _MAX_LABEL - 3] + "..."
    return mult, js, nh, label


def _hetero_details(
    detail: str, pre_mult: str | None, element: str
) -> tuple[str | None, int | None, str | None, list[float]]:
    """DEPT type (S/D/T/Q), count, heteronuclear splitting and J (Hz) from a 13C (19F, ...) parenthesis."""
    js, rest = _extract_j(detail)
    mult = None
    count: int | None = None
    coupling = pre_mult
    br = False
    for f in _fields(rest):
        if f in _DEPT and mult is None:
            mult = _DEPT[f]
            continue
        c = _COUNT_X_RE.match(f)
        if c and c.group(2) == element and count is None:
            count = int(c.group(1)) or None
            continue
        c = _COUNT_DEPT_RE.match(f)
        if c and count is None:
            count = int(c.group(1)) or None
            if mult is None:
                mult = _DEPT[c.group(2)]
            continue
        low = f.lower()
        if low in ("br", "broad", "b"):
            br = True
            continue
        cm = canonical_multiplicity(f)
        if cm is not None and coupling is None:
            coupling = cm
            continue
        hz = _NUM_HZ_RE.match(f)
        if hz:
            js.append(_num(hz.group(1)))
            continue
        bare = _BARE_NUM_RE.match(f)
        if bare and bare.group(2) is None and count is None:
            count = int(bare.group(1)) or None
            continue
    if br:
        coupling = "br s" if coupling is None else (coupling if coupling.startswith("br ") else "br " + coupling)
    return mult, count, coupling, js


# ----------------------------------------------------------------------------------------------
# building spectra


def _reraise(exc: SpectrumFormatError, nucleus: str, i: int, snippet: str) -> SpectrumFormatError:
    return SpectrumFormatError(f"{nucleus}.peaks[{i}].{exc.field}", exc.value, f"{exc.allowed} (peak text {snippet!r})")


def _build_peaks(items: list[_Item], nucleus: str) -> list[Multiplet | Peak]:
    peaks: list[Multiplet | Peak] = []
    element = nucleus.lstrip("0123456789")
    for i, it in enumerate(items):
        try:
            if nucleus == "1H":
                mult, js, nh, label = _h1_details(it.detail, it.pre_mult) if it.detail else (it.pre_mult, [], None, None)
                lo, hi = (it.a, it.a) if it.b is None else (min(it.a, it.b), max(it.a, it.b))
                peaks.append(Multiplet(shift_min=lo, shift_max=hi, mult=mult, J=tuple(js), nH=nh, label=label))
            else:
                if it.detail:
                    mult, count, coupling, js = _hetero_details(it.detail, it.pre_mult, element)
                else:
                    mult, count, coupling, js = None, None, it.pre_mult, []
                shift = it.a if it.b is None else round((it.a + it.b) / 2, 6)
                peaks.append(Peak(shift=shift, mult=mult, count=count, coupling=coupling, J=tuple(js)))
        except SpectrumFormatError as exc:
            raise _reraise(exc, nucleus, i, it.snippet) from None
    return peaks


def _spectrum(items: list[_Item], nucleus: str, cond: _Conditions) -> Spectrum1D:
    peaks = _build_peaks(items, nucleus)
    try:
        return Spectrum1D(
            nucleus=nucleus, peaks=tuple(peaks), solvent=cond.solvent,
            frequency_MHz=cond.frequency_MHz, temperature_K=cond.temperature_K,
        )
    except SpectrumFormatError as exc:
        field = exc.field if exc.field.startswith(nucleus) else f"{nucleus}.{exc.field}"
        raise SpectrumFormatError(field, exc.value, exc.allowed) from None


def _parse_paragraph(text: str, nucleus: str | None) -> list[Spectrum1D]:
    end = len(text)
    spectra: list[Spectrum1D] = []
    first = _next_header(text, 0, end)
    if first is None:
        if nucleus is None:
            return []
        pos, conds, solvent = _read_preamble(text, 0, end)
        cond = _parse_conditions(conds)
        if solvent and cond.solvent is None:
            cond = cond._replace(solvent=solvent)
        items, _ = _scan_items(text, pos, end, nucleus)
        return [_spectrum(items, nucleus, cond)] if items else []
    h: _Header | None = first
    while h is not None:
        if nucleus is not None and h.nucleus != nucleus:  # not asked for: skip it, even when broken
            try:
                _, pos = _scan_items(text, h.body, end, h.nucleus)
            except (FileFormatError, SpectrumFormatError):
                pos = h.body
            h = _next_header(text, max(pos, h.body), end)
            continue
        items, pos = _scan_items(text, h.body, end, h.nucleus)
        if items:
            spectra.append(_spectrum(items, h.nucleus, h.cond))
            if len(spectra) > MAX_SPECTRA:
                raise SpectrumFormatError("spectra", f"more than {MAX_SPECTRA} spectra", f"at most {MAX_SPECTRA} spectra per paragraph")
        h = _next_header(text, max(pos, h.body), end)
    return spectra


def loads(text: str, *, nucleus: str | None = None) -> list[Query]:
    """Read literature NMR text into queries (one per paragraph that holds a peak list).

    Args:
        text: the text (at most :data:`MAX_CHARS` characters).
        nucleus: nucleus of a bare peak list without a header (e.g. ``"1H"``); when the text
            has headers, only the blocks of this nucleus are kept.

    Raises:
        FileFormatError: when no peak can be read.
        SpectrumFormatError: when a value is outside what the model allows (field names such as
            ``1H.peaks[2].J[0]``).
    """
    check_text(text, fmt="acs", max_bytes=MAX_CHARS)
    nuc = normalize_nucleus(nucleus) if nucleus is not None else None
    norm = _normalize(text)
    queries: list[Query] = []
    for para in _PARAGRAPH_RE.split(norm):
        if not para.strip():
            continue
        spectra = _parse_paragraph(para, nuc)
        if spectra:
            queries.append(Query(spectra=tuple(spectra)))
    if not queries:
        what = f"a {nuc} peak list such as '7.26 (s, 1H), 5.11 (d, J = 7.1 Hz, 2H)'" if nuc == "1H" else (
            f"a {nuc} peak list such as '170.9, 128.6 (2C), 21.1'" if nuc else
            "an NMR block such as '1H NMR (400 MHz, CDCl3) δ 7.26 (s, 1H)' (or pass nucleus= for a bare peak list)"
        )
        raise FileFormatError(f"acs: no peak could be read from {short_repr(_collapse(text), 80)}; expected {what}")
    return queries


def parse_spectrum_text(text: str, nucleus: str | None = None) -> Spectrum1D:
    """Read exactly one NMR block (``1H NMR (...) δ ...`` or, with ``nucleus``, a bare list).

    Raises:
        FileFormatError: when the text holds no block or more than one.
    """
    spectra = [sp for q in loads(text, nucleus=nucleus) for sp in q.spectra]
    if len(spectra) != 1:
        nuclei = ", ".join(sp.nucleus for sp in spectra)
        raise FileFormatError(f"acs: expected one NMR block, found {len(spectra)} ({nuclei}); use loads() for several")
    return spectra[0]


# ----------------------------------------------------------------------------------------------
# writing


def _nucleus_text(nucleus: str) -> str:
    return nucleus


def _format_multiplet(p: Multiplet) -> str:
    if p.shift_min == p.shift_max:
        shift = _fmt(p.shift_min, 2)
    else:
        shift = f"{_fmt(p.shift_max, 2)} – {_fmt(p.shift_min, 2)}"
    details: list[str] = []
    if p.mult:
        details.append(p.mult)
    if p.J:
        details.append("J = " + ", ".join(_fmt(j, 1) for j in p.J) + " Hz")
    if p.nH is not None:
        details.append(f"{p.nH}H")
    if p.label:
        details.append(p.label)
    return f"{shift} ({', '.join(details)})" if details else shift


def _format_peak(p: Peak, nucleus: str) -> str:
    details: list[str] = []
    if p.coupling:
        details.append(p.coupling)
    if p.J:
        details.append("J = " + ", ".join(_fmt(j, 1) for j in p.J) + " Hz")
    if p.count is not None:
        details.append(f"{p.count}{nucleus.lstrip('0123456789')}")
    if p.mult:  # DEPT names for 13C ("CH2"), the S/D/T/Q letter for other nuclei
        details.append(_DEPT_NAME[p.mult] if nucleus == "13C" else p.mult)
    shift = _fmt(p.shift, 1)
    return f"{shift} ({', '.join(details)})" if details else shift


def format_spectrum(sp: Spectrum1D) -> str:
    """One ACS-style block, e.g. ``13C NMR (101 MHz, CDCl3) δ 170.9, 128.6 (2C).``

    Raises:
        FileFormatError: for a spectrum without peaks (the text form needs at least one).
    """
    if not isinstance(sp, Spectrum1D):
        raise FileFormatError(f"acs: expected a Spectrum1D, got {type(sp).__name__}")
    if not sp.peaks:
        raise FileFormatError(f"acs: the {sp.nucleus} spectrum has no peaks; the text format needs at least one")
    conds: list[str] = []
    if sp.frequency_MHz is not None:
        conds.append(f"{_fmt(sp.frequency_MHz, 0)} MHz")
    if sp.solvent:
        conds.append(sp.solvent)
    if sp.temperature_K is not None:
        conds.append(f"{_fmt(sp.temperature_K, 0)} K")
    head = f"{_nucleus_text(sp.nucleus)} NMR" + (f" ({', '.join(conds)})" if conds else "")
    if sp.nucleus == "1H":
        body = ", ".join(_format_multiplet(p) for p in sp.peaks)  # type: ignore[arg-type]
    else:
        body = ", ".join(_format_peak(p, sp.nucleus) for p in sp.peaks)  # type: ignore[arg-type]
    return f"{head} δ {body}."


def dumps(obj: Writable) -> str:
    """Write queries/spectra as ACS text: one line per spectrum, a blank line between queries.

    Raises:
        FileFormatError: for a query without 1D spectra, with 2D spectra, or with an empty spectrum.
    """
    qs = as_queries(obj)
    out: list[str] = []
    for i, q in enumerate(qs):
        if q.spectra2d:
            raise FileFormatError(f"acs: query {i} has 2D spectra, which the ACS text format cannot hold; use json")
        if not q.spectra:
            raise FileFormatError(f"acs: query {i} has no 1D spectrum to write")
        out.append("\n".join(format_spectrum(sp) for sp in q.spectra))
    return "\n\n".join(out) + "\n"


def read(path: PathLike, *, nucleus: str | None = None) -> list[Query]:
    """Read a text file of literature NMR data (see :func:`loads`)."""
    return loads(read_text(path), nucleus=nucleus)


def write(obj: Writable, path: PathLike, *, force: bool = False) -> None:
    """Write ACS text atomically (refuses to overwrite unless ``force``)."""
    write_text_atomic(path, dumps(obj), force=force)
