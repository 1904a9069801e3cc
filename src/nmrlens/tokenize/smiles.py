"""Atom-level SMILES tokenizer with a closed vocabulary (bracket atoms split into their parts).

Outside brackets a SMILES is split into organic-subset atoms (``B C N O P S F Cl Br I``, aromatic
``b c n o p s``, ``*``), bonds (``- = # $ : / \\ .`` and RDKit's dative ``-> <-``), branches ``( )``,
ring-closure digits ``0``-``9``, two-digit closures ``%10``-``%99`` and ``%(`` for RDKit's
``%(nnn)`` form. A bracket atom is split into its parts, as in the Smirk tokenizer::

    [13CH3]   -> [  1  3  C  H  3  ]
    [C@@H]    -> [  C  @@  H  ]
    [N+](=O)  -> [  N  +  ]  (  =  O  )
    [Fe@TH1]  -> [  Fe  @TH1  ]
    [Pt+2]    -> [  Pt  +  2  ]
    [CH3:12]  -> [  C  H  3  :  1  2  ]

(isotope digits, element symbol or ``*`` or ``#`` + atomic-number digits, chirality ``@``, ``@@``,
``@TH1-2``, ``@AL1-2``, ``@SP1-3``, ``@TB1-20``, ``@OH1-30``, ``H`` + digits, charge signs + digits,
``:`` + atom-map digits). The vocabulary is therefore finite and covers every SMILES the grammar
allows, with stereo; ``detokenize(tokenize(s)) == s`` exactly (the tokens are substrings of ``s``
in order). Tokenizing does not check chemistry (use :func:`nmrlens.chem.parse_smiles` for that).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Sequence

from nmrlens.chem.formula import ELEMENTS
from nmrlens.errors import ConfigError, InvalidMoleculeError
from nmrlens.tokenize._vocab import Vocabulary, as_int, read_vocab, write_vocab

__all__ = [
    "SmilesTokenizer",
    "build_smiles_vocab",
    "SMILES_SPECIAL_TOKENS",
    "DEFAULT_SMILES_VOCAB",
    "SMILES_VOCAB_FORMAT_VERSION",
]

SMILES_VOCAB_FORMAT_VERSION = 1
#: The shipped vocabulary file.
DEFAULT_SMILES_VOCAB = Path(__file__).with_name("vocab") / "smiles_v1.json"
PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
SMILES_SPECIAL_TOKENS: tuple[str, ...] = (PAD, BOS, EOS, UNK)
MAX_SMILES_CHARS = 5000

_ORGANIC = ("Cl", "Br", "B", "C", "N", "O", "P", "S", "F", "I", "b", "c", "n", "o", "p", "s", "*")
_AROMATIC_BRACKET = ("b", "c", "n", "o", "p", "s", "se", "te", "as", "si")
_LEGACY = ("Uub", "Uut", "Uuq", "Uup", "Uuh", "Uus", "Uuo")
_BRACKET_ELEMENTS = tuple(sorted((ELEMENTS - {"D"}) | set(_LEGACY))) + _AROMATIC_BRACKET
_BONDS = ("->", "<-", "-", "=", "#", "$", ":", "/", "\\", ".")
_CHIRAL = (
    ["@", "@@", "@TH1", "@TH2", "@AL1", "@AL2", "@SP1", "@SP2", "@SP3"]
    + [f"@TB{i}" for i in range(1, 21)]
    + [f"@OH{i}" for i in range(1, 31)]
)


def _alt(symbols: Sequence[str]) -> str:
    return "|".join(re.escape(s) for s in sorted(set(symbols), key=lambda s: (-len(s), s)))


# One token outside brackets (tried at the current position; no nested quantifiers).
_OUTSIDE_RE = re.compile(
    r"(?P<ring2>%[0-9]{2})|(?P<ringp>%\([0-9]{1,5}\))|(?P<atom>" + _alt(_ORGANIC) + r")"
    r"|(?P<bond>" + _alt(_BONDS) + r")|(?P<branch>[()])|(?P<digit>[0-9])"
)
_BRACKET_RE = re.compile(
    r"\[(?P<iso>[0-9]{1,3})?(?P<el>" + _alt(_BRACKET_ELEMENTS) + r"|\*|#[0-9]{1,3})"
    r"(?P<chi>@(?:@|TH[12]|AL[12]|SP[1-3]|TB(?:1[0-9]|20|[1-9])|OH(?:[12][0-9]|30|[1-9]))?)?"
    r"(?P<h>H[0-9]{0,2})?(?P<chg>\+{1,4}|-{1,4}|[+-][0-9]{1,2})?(?P<map>:[0-9]{1,5})?\]"
)


def build_smiles_vocab() -> list[str]:
    """The closed SMILES vocabulary, in id order (deterministic)."""
    tokens: list[str] = list(SMILES_SPECIAL_TOKENS)
    tokens += ["(", ")", "[", "]"] + list(_BONDS)
    tokens += [str(d) for d in range(10)] + [f"%{i}" for i in range(10, 100)] + ["%("]
    tokens += list(_ORGANIC) + list(_BRACKET_ELEMENTS) + _CHIRAL + ["+"]
    seen: set[str] = set()
    return [t for t in tokens if not (t in seen or seen.add(t))]  # type: ignore[func-returns-value]


def _split_bracket(m: re.Match[str]) -> list[str]:
    out = ["["]
    if m.group("iso"):
        out += list(m.group("iso"))
    el = m.group("el")
    out += ["#", *el[1:]] if el.startswith("#") else [el]
    if m.group("chi"):
        out.append(m.group("chi"))
    if m.group("h"):
        out += ["H", *m.group("h")[1:]]
    if m.group("chg"):
        out += list(m.group("chg"))
    if m.group("map"):
        out += list(m.group("map"))
    out.append("]")
    return out


class SmilesTokenizer(Vocabulary):
    """Closed-vocabulary SMILES tokenizer (see the module docstring); an id outside the vocabulary
    raises :class:`~nmrlens.errors.InvalidMoleculeError`.

    Args:
        tokens: the vocabulary in id order; the first four must be ``<pad> <bos> <eos> <unk>``.
    """

    def __init__(self, tokens: Sequence[str] | None = None) -> None:
        toks = list(tokens) if tokens is not None else build_smiles_vocab()
        if tuple(toks[:4]) != SMILES_SPECIAL_TOKENS or len(set(toks)) != len(toks):
            raise ConfigError("smiles vocabulary: expected unique tokens starting with <pad> <bos> <eos> <unk>")
        self._tokens = toks
        self._ids = {t: i for i, t in enumerate(toks)}
        self.pad_id, self.bos_id, self.eos_id, self.unk_id = 0, 1, 2, 3

    # -- construction / persistence ------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path | None = None) -> "SmilesTokenizer":
        """Load a vocabulary file (default: the shipped ``smiles_v1.json``).

        Raises:
            DataNotFoundError: when the file does not exist.
            ConfigError: when it is not a SMILES vocabulary of a known format version.
        """
        p, d = read_vocab(path, DEFAULT_SMILES_VOCAB, "smiles vocabulary")
        if not isinstance(d, dict) or d.get("kind") != "nmrlens.smiles_tokenizer":
            raise ConfigError(f"smiles vocabulary: {str(p)!r} is not an nmrlens SMILES vocabulary")
        if d.get("format_version") != SMILES_VOCAB_FORMAT_VERSION:
            raise ConfigError(
                f"smiles vocabulary: format_version {d.get('format_version')!r}, expected {SMILES_VOCAB_FORMAT_VERSION}"
            )
        tokens = d.get("tokens")
        if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
            raise ConfigError(f"smiles vocabulary: {str(p)!r} has no token list")
        return cls(tokens)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready vocabulary."""
        return {
            "format_version": SMILES_VOCAB_FORMAT_VERSION,
            "kind": "nmrlens.smiles_tokenizer",
            "description": "Atom-level SMILES tokens; bracket atoms split into isotope digits, element, "
            "chirality, H count, charge and atom-map parts (closed vocabulary). See nmrlens.tokenize.smiles.",
            "special": list(SMILES_SPECIAL_TOKENS),
            "tokens": list(self._tokens),
        }

    def save(self, path: str | Path, *, force: bool = False) -> None:
        """Write the vocabulary file (refuses to overwrite unless ``force``)."""
        write_vocab(path, self.to_dict(), force=force)

    # -- vocabulary (vocab_size, vocab, token_to_id, id_to_token, tokens: see Vocabulary) ------
    def _bad_id(self, idx: Any) -> InvalidMoleculeError:
        return InvalidMoleculeError(f"smiles token id: got {idx!r}, expected 0..{len(self._tokens) - 1}")

    # -- text level ----------------------------------------------------------------------------
    def tokenize(self, smiles: str) -> list[str]:
        """Split a SMILES into tokens (their concatenation is ``smiles``).

        Raises:
            InvalidMoleculeError: for an empty or too long text, or a character the SMILES grammar
                does not allow at its position (the message gives the position).
        """
        if not isinstance(smiles, str) or not smiles:
            raise InvalidMoleculeError(f"smiles: got {smiles!r}, expected a non-empty SMILES string")
        if len(smiles) > MAX_SMILES_CHARS:
            raise InvalidMoleculeError(f"smiles: got {len(smiles)} characters, expected at most {MAX_SMILES_CHARS}")
        out: list[str] = []
        pos, n = 0, len(smiles)
        while pos < n:
            if smiles[pos] == "[":
                m = _BRACKET_RE.match(smiles, pos)
                if m is None:
                    end = smiles.find("]", pos)
                    frag = smiles[pos : end + 1 if end >= 0 else pos + 12]
                    raise InvalidMoleculeError(
                        f"smiles: bracket atom {frag!r} at position {pos} of {smiles[:80]!r} is not "
                        "[isotope]element[chirality][Hn][charge][:map]"
                    )
                out += _split_bracket(m)
                pos = m.end()
                continue
            m = _OUTSIDE_RE.match(smiles, pos)
            if m is None:
                raise InvalidMoleculeError(
                    f"smiles: unexpected character {smiles[pos]!r} at position {pos} of {smiles[:80]!r}; "
                    "expected an atom, a bond, a branch or a ring-closure digit"
                )
            if m.lastgroup == "ringp":
                out += ["%(", *m.group()[2:-1], ")"]
            else:
                out.append(m.group())
            pos = m.end()
        return out

    @staticmethod
    def detokenize(tokens: Sequence[str]) -> str:
        """Join tokens back into the SMILES (special tokens are dropped)."""
        return "".join(t for t in tokens if t not in SMILES_SPECIAL_TOKENS)

    # -- id level ------------------------------------------------------------------------------
    def encode(self, smiles: str, *, add_special: bool = True) -> list[int]:
        """Token ids of a SMILES (with ``<bos>``/``<eos>`` unless ``add_special`` is False).

        Raises:
            InvalidMoleculeError: as :meth:`tokenize`, or for a token outside this vocabulary
                (cannot happen with the shipped vocabulary, which is closed).
        """
        ids = []
        for t in self.tokenize(smiles):
            i = self._ids.get(t)
            if i is None:
                raise InvalidMoleculeError(f"smiles: token {t!r} of {smiles[:80]!r} is not in the vocabulary")
            ids.append(i)
        return [self.bos_id, *ids, self.eos_id] if add_special else ids

    def decode(self, ids: Sequence[int]) -> str:
        """SMILES of token ids: stops at ``<eos>``, skips ``<bos>``/``<pad>``/``<unk>``.

        Raises:
            InvalidMoleculeError: for an id outside the vocabulary.
        """
        if isinstance(ids, (str, bytes)) or not hasattr(ids, "__iter__"):
            raise InvalidMoleculeError(f"smiles token ids: got {type(ids).__name__}, expected a sequence of ids")
        out = []
        for i in ids:
            i = as_int(i)
            tok = self.id_to_token(i)
            if i == self.eos_id:
                break
            if tok not in SMILES_SPECIAL_TOKENS:
                out.append(tok)
        return "".join(out)
