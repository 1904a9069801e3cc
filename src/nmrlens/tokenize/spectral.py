"""The chemically-aware adaptive spectral tokenizer: 13C peaks, 1H multiplets and formula -> token ids.

Sequence layout (any segment may be absent; see :data:`CONFIGS`)::

    <bos> <13C> c_1 ... c_n </13C> <1H> group_1 ... group_m </1H> <formula> El n=k ... </formula> <eos>

- 13C: one shift token per peak, peaks by decreasing shift. A peak with ``count = k`` (e.g.
  ``128.6 (2C)``) is written k times, so the segment is the multiset of carbon environments; decoding
  turns a run of k identical tokens back into one peak with ``count = k`` (two distinct peaks that
  fall into the same interval therefore decode as one peak of count 2, the same multiset).
  13C multiplicities (S/D/T/Q), intensities and atom indices are not encoded.
- 1H: one group per multiplet, multiplets by decreasing shift: ``mult:<category>``, then zero to
  eight ``J`` tokens (in the order given), then ``nH=<k>``, then the low and the high end of the
  shift range (both always present; a singlet has two equal tokens). J tokens form their own token
  class, so the group needs no padding or end marker.
- formula: element and count tokens in Hill order (:class:`~nmrlens.tokenize.formula.FormulaTokenizer`).

Decoding uses interval midpoints (overflow intervals decode to their inner edge, clamped into the data
model's window: 13C -50..300 ppm, 1H -3..17 ppm, J 0..40 Hz), multiplicity
categories (``other`` -> ``"m"``, ``none`` -> None) and nH (``nH=?`` -> None, ``nH>=N`` -> N).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

from nmrlens.errors import ConfigError, NmrLensError, SpectrumFormatError
from nmrlens.tokenize._vocab import Vocabulary, as_int, dumps_vocab, read_vocab, write_vocab
from nmrlens.spectra.model import J_RANGE_1H, MAX_J, SHIFT_RANGES, Multiplet, Peak, Query, Spectrum1D
from nmrlens.tokenize.binning import IntervalTable
from nmrlens.tokenize.categories import MULT_CATEGORIES, category_label, multiplicity_category
from nmrlens.tokenize.formula import FormulaTokenizer

__all__ = [
    "SpectralTokenizer",
    "CONFIGS",
    "SPECIAL_TOKENS",
    "DEFAULT_SPECTRAL_VOCAB",
    "SPECTRAL_VOCAB_FORMAT_VERSION",
    "DEFAULT_MAX_LENGTH",
    "available_config",
    "dumps_vocab",
]

SPECTRAL_VOCAB_FORMAT_VERSION = 1
#: The shipped vocabulary file.
DEFAULT_SPECTRAL_VOCAB = Path(__file__).with_name("vocab") / "spectral_v1.json"
#: Input configurations: C = 13C, H = 1H, F = formula.
CONFIGS: tuple[str, ...] = ("C", "H", "CH", "CF", "HF", "CHF")
#: Default longest sequence (tokens, with <bos>/<eos>).
DEFAULT_MAX_LENGTH = 1024
PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
C_START, C_END, H_START, H_END, F_START, F_END = "<13C>", "</13C>", "<1H>", "</1H>", "<formula>", "</formula>"
SPECIAL_TOKENS: tuple[str, ...] = (PAD, BOS, EOS, UNK, C_START, C_END, H_START, H_END, F_START, F_END)
_SEGMENTS = {"C": (C_START, C_END), "H": (H_START, H_END), "F": (F_START, F_END)}
_TABLE_KEYS = ("13C", "1H", "J")
#: Decoded values are clamped into the data model's windows (overflow edges lie half a quantum outside).
_WINDOWS: dict[str, tuple[float, float]] = {"13C": SHIFT_RANGES["13C"], "1H": SHIFT_RANGES["1H"], "J": J_RANGE_1H}
NH_UNKNOWN = "nH=?"


def _mult_token(category: str) -> str:
    return "mult:" + category.replace(" ", "_")


def available_config(query: Query) -> str:
    """The configuration a query can fill: letters C (13C spectrum), H (1H spectrum), F (formula)."""
    out = ""
    if query.spectrum("13C") is not None:
        out += "C"
    if query.spectrum("1H") is not None:
        out += "H"
    if query.formula:
        out += "F"
    return out


def _check_config(config: str) -> str:
    cfg = config.upper() if isinstance(config, str) else config
    if cfg not in CONFIGS:
        raise ConfigError(f"config: got {config!r}, expected one of {', '.join(CONFIGS)}")
    return cfg


class SpectralTokenizer(Vocabulary):
    """Adaptive spectral tokenizer (see the module docstring and :mod:`nmrlens.tokenize`); an id
    outside the vocabulary raises :class:`~nmrlens.errors.SpectrumFormatError`.

    Args:
        tables: interval tables keyed ``"13C"`` (ppm), ``"1H"`` (ppm) and ``"J"`` (Hz).
        nh_max: largest nH with its own token; larger counts share ``nH>=<nh_max+1>``.
        formula_max_count: largest formula count with its own token.
        max_length: longest sequence :meth:`encode` produces before it raises.
        meta: provenance stored in the vocabulary file (kept unchanged by :meth:`save`).
    """

    def __init__(
        self,
        tables: Mapping[str, IntervalTable],
        *,
        nh_max: int = 24,
        formula_max_count: int = 100,
        max_length: int = DEFAULT_MAX_LENGTH,
        meta: Mapping[str, Any] | None = None,
    ) -> None:
        missing = [k for k in _TABLE_KEYS if k not in tables]
        if missing:
            raise ConfigError(f"spectral tokenizer: missing interval table {missing[0]!r}; expected 13C, 1H and J")
        for name, value in (("nh_max", nh_max), ("max_length", max_length)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"spectral tokenizer: {name} got {value!r}, expected a whole number >= 1")
        self.tables: dict[str, IntervalTable] = {k: tables[k] for k in _TABLE_KEYS}
        self.nh_max = nh_max
        self.max_length = max_length
        self.formula = FormulaTokenizer(formula_max_count)
        self.meta: dict[str, Any] = dict(meta or {})

        toks: list[str] = list(SPECIAL_TOKENS)
        self._mult_tokens = [_mult_token(c) for c in MULT_CATEGORIES]
        toks += self._mult_tokens
        self._nh_tokens = [NH_UNKNOWN] + [f"nH={i}" for i in range(1, nh_max + 1)] + [f"nH>={nh_max + 1}"]
        toks += self._nh_tokens
        toks += self.formula.vocab
        self._offset: dict[str, int] = {}
        for k in _TABLE_KEYS:
            self._offset[k] = len(toks)
            toks += self.tables[k].labels()
        if len(set(toks)) != len(toks):
            raise ConfigError("spectral tokenizer: token names are not unique")
        self._tokens = toks
        self._ids = {t: i for i, t in enumerate(toks)}
        self._mult_ids = {self._ids[t]: c for t, c in zip(self._mult_tokens, MULT_CATEGORIES)}
        self._nh_ids = {self._ids[t]: (None if i == 0 else i) for i, t in enumerate(self._nh_tokens)}
        self.pad_id, self.bos_id, self.eos_id, self.unk_id = (self._ids[t] for t in (PAD, BOS, EOS, UNK))

    # -- construction / persistence ------------------------------------------------------------
    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "SpectralTokenizer":
        """Build from a vocabulary object (the content of ``spectral_v1.json``).

        Raises:
            ConfigError: for another kind or format version, a missing key, or a token list that
                does not match the one the tables imply.
        """
        if not isinstance(d, Mapping) or d.get("kind") != "nmrlens.spectral_tokenizer":
            raise ConfigError("spectral vocabulary: not an nmrlens spectral tokenizer vocabulary (kind)")
        if d.get("format_version") != SPECTRAL_VOCAB_FORMAT_VERSION:
            raise ConfigError(
                f"spectral vocabulary: format_version {d.get('format_version')!r}, "
                f"expected {SPECTRAL_VOCAB_FORMAT_VERSION}"
            )
        try:
            tables = {k: IntervalTable.from_dict(d["tables"][k]) for k in _TABLE_KEYS}
            cat = d["categorical"]
            tok = cls(
                tables,
                nh_max=int(cat["nh_max"]),
                formula_max_count=int(cat["formula_max_count"]),
                max_length=int(d["max_length"]),
                meta={k: v for k, v in d.items() if k in ("name", "procedure", "params", "data", "validation")},
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"spectral vocabulary: missing or malformed entry ({exc!r})") from None
        if list(cat.get("multiplicities", [])) != list(MULT_CATEGORIES):
            raise ConfigError("spectral vocabulary: multiplicity categories differ from this nmrlens version")
        if "tokens" in d and list(d["tokens"]) != tok._tokens:
            raise ConfigError("spectral vocabulary: the token list does not match the tables (file edited?)")
        return tok

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready vocabulary object (tables, categorical sets, tokens and provenance)."""
        out: dict[str, Any] = {
            "format_version": SPECTRAL_VOCAB_FORMAT_VERSION,
            "kind": "nmrlens.spectral_tokenizer",
            "name": self.meta.get("name", "spectral"),
        }
        for key in ("procedure", "params", "data", "validation"):
            if key in self.meta:
                out[key] = self.meta[key]
        out["max_length"] = self.max_length
        out["special"] = list(SPECIAL_TOKENS)
        out["categorical"] = {
            "multiplicities": list(MULT_CATEGORIES),
            "nh_max": self.nh_max,
            "formula_max_count": self.formula.max_count,
            "elements": self.formula.element_tokens,
        }
        out["tables"] = {k: self.tables[k].to_dict() for k in _TABLE_KEYS}
        out["vocab_size"] = self.vocab_size
        out["tokens"] = list(self._tokens)
        return out

    @classmethod
    def load(cls, path: str | Path | None = None) -> "SpectralTokenizer":
        """Load a vocabulary file (default: the shipped ``spectral_v1.json``).

        Raises:
            DataNotFoundError: when the file does not exist.
            ConfigError: when it is not a valid spectral vocabulary.
        """
        _, d = read_vocab(path, DEFAULT_SPECTRAL_VOCAB, "spectral vocabulary")
        return cls.from_dict(d)

    def save(self, path: str | Path, *, force: bool = False) -> None:
        """Write the vocabulary file (refuses to overwrite unless ``force``)."""
        write_vocab(path, self.to_dict(), force=force)

    # -- vocabulary (vocab_size, vocab, token_to_id, id_to_token, tokens: see Vocabulary) ------
    def _bad_id(self, idx: Any) -> SpectrumFormatError:
        return SpectrumFormatError("token id", idx, f"a whole number in 0..{len(self._tokens) - 1}")

    # -- numbers -------------------------------------------------------------------------------
    def value_id(self, kind: str, value: float) -> int:
        """Token id of a value of ``kind`` (``"13C"``, ``"1H"`` ppm or ``"J"`` Hz).

        Raises:
            SpectrumFormatError: for another kind or a value that is not a finite number.
        """
        if kind not in self._offset:
            raise SpectrumFormatError("kind", kind, "one of 13C, 1H, J")
        return self._offset[kind] + self.tables[kind].index(value)

    def quantize(self, kind: str, value: float) -> float:
        """The value a number decodes to after tokenization (as :meth:`decode` gives it)."""
        return self._value_of(kind, self.value_id(kind, value))  # type: ignore[return-value]

    def _value_of(self, kind: str, idx: int) -> float | None:
        k = idx - self._offset[kind]
        if not 0 <= k < self.tables[kind].size:
            return None
        lo, hi = _WINDOWS[kind]
        return min(max(self.tables[kind].value(k), lo), hi)

    def _nh_token(self, nh: int | None) -> str:
        if nh is None:
            return NH_UNKNOWN
        return f"nH={nh}" if nh <= self.nh_max else f"nH>={self.nh_max + 1}"

    # -- encoding ------------------------------------------------------------------------------
    def encode_tokens(self, query: Query, config: str = "CHF", *, max_length: int | None = None) -> list[str]:
        """Token strings of a query (see :meth:`encode`)."""
        return [self._tokens[i] for i in self.encode(query, config, max_length=max_length)]

    def encode(self, query: Query, config: str = "CHF", *, max_length: int | None = None) -> list[int]:
        """Token ids of a query: ``<bos>``, the segments of ``config`` the query has, ``<eos>``.

        ``config`` selects the segments (C = first 13C spectrum, H = first 1H spectrum, F = formula);
        a selected segment the query lacks is left out. Other nuclei and 2D spectra are ignored.

        Raises:
            ConfigError: for an unknown config.
            SpectrumFormatError: when the query has none of the selected segments, or when the
                sequence would be longer than ``max_length`` (default: the tokenizer's).
        """
        cfg = _check_config(config)
        if not isinstance(query, Query):
            raise SpectrumFormatError("query", type(query).__name__, "a Query")
        limit = self.max_length if max_length is None else max_length
        ids = [self.bos_id]
        found = False
        if "C" in cfg and (sp := query.spectrum("13C")) is not None:
            found = True
            ids.append(self._ids[C_START])
            for p in sp.peaks:
                assert isinstance(p, Peak)
                tid = self.value_id("13C", p.shift)
                ids.extend([tid] * (p.count or 1))
                if len(ids) > limit:
                    break
            ids.append(self._ids[C_END])
        if "H" in cfg and (sp := query.spectrum("1H")) is not None and len(ids) <= limit:
            found = True
            ids.append(self._ids[H_START])
            for m in sp.peaks:
                assert isinstance(m, Multiplet)
                ids.append(self._ids[_mult_token(multiplicity_category(m.mult))])
                ids.extend(self.value_id("J", j) for j in m.J)
                ids.append(self._ids[self._nh_token(m.nH)])
                ids.append(self.value_id("1H", m.shift_min))
                ids.append(self.value_id("1H", m.shift_max))
                if len(ids) > limit:
                    break
            ids.append(self._ids[H_END])
        if "F" in cfg and query.formula and len(ids) <= limit:
            found = True
            ids.append(self._ids[F_START])
            ids.extend(self._ids[t] for t in self.formula.tokenize(query.formula))
            ids.append(self._ids[F_END])
        if not found:
            raise SpectrumFormatError(
                "query", f"config {cfg} with {available_config(query) or 'nothing'} available",
                "a query with at least one of the selected parts (C = 13C spectrum, H = 1H spectrum, F = formula)",
            )
        ids.append(self.eos_id)
        if len(ids) > limit:
            raise SpectrumFormatError(
                "tokens", f"more than {limit} tokens" if len(ids) > limit + 1 else len(ids),
                f"at most {limit} tokens (max_length); use fewer peaks or a larger max_length",
            )
        return ids

    # -- decoding ------------------------------------------------------------------------------
    def decode(self, ids: Sequence[int], *, strict: bool = True) -> Query:
        """The query a token sequence describes (inverse of :meth:`encode` up to binning).

        A leading ``<bos>`` is optional; decoding stops at ``<eos>`` or ``<pad>``. With
        ``strict=False`` (for model output) malformed parts are skipped instead of raising:
        stray tokens, incomplete multiplet groups, missing end markers, repeated segments; a
        multiplet whose low end decodes above its high end gets the two swapped.

        Raises:
            SpectrumFormatError: (strict) for an id outside the vocabulary or a token where the
                grammar expects another; the field names the position, e.g. ``ids[7]``.
        """
        if isinstance(ids, (str, bytes)) or not hasattr(ids, "__iter__"):
            raise SpectrumFormatError("ids", ids, "a sequence of token ids")
        toks = [as_int(i) for i in ids]
        for pos, i in enumerate(toks):
            if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < len(self._tokens):
                if strict:
                    raise SpectrumFormatError(f"ids[{pos}]", i, f"a token id in 0..{len(self._tokens) - 1}")
                toks[pos] = self.unk_id
        end = len(toks)
        for pos, i in enumerate(toks):
            if i in (self.eos_id, self.pad_id):
                end = pos
                break
        pos = 1 if toks and toks[0] == self.bos_id else 0
        starts = {self._ids[C_START]: "C", self._ids[H_START]: "H", self._ids[F_START]: "F"}
        c_peaks: list[Peak] | None = None
        h_peaks: list[Multiplet] | None = None
        formula: str | None = None
        seen: set[str] = set()
        while pos < end:
            tid = toks[pos]
            seg = starts.get(tid)
            if seg is None:
                if strict:
                    raise SpectrumFormatError(
                        f"ids[{pos}]", self._tokens[tid], "a segment start (<13C>, <1H>, <formula>) or <eos>"
                    )
                pos += 1
                continue
            if seg in seen and strict:
                raise SpectrumFormatError(f"ids[{pos}]", self._tokens[tid], "each segment at most once")
            stop = self._ids[_SEGMENTS[seg][1]]
            j = pos + 1
            while j < end and toks[j] != stop and (strict or toks[j] not in starts):
                j += 1
            if j >= end or toks[j] != stop:
                if strict:
                    raise SpectrumFormatError(f"ids[{j}]", "end of sequence" if j >= end else self._tokens[toks[j]],
                                              f"the end marker {_SEGMENTS[seg][1]}")
            body = toks[pos + 1 : j]
            first = seg not in seen
            seen.add(seg)
            if seg == "C":
                peaks = self._decode_13c(body, pos + 1, strict)
                if first:
                    c_peaks = peaks
            elif seg == "H":
                mults = self._decode_1h(body, pos + 1, strict)
                if first:
                    h_peaks = mults
            else:
                f = self._decode_formula(body, pos + 1, strict)
                if first:
                    formula = f
            pos = j + 1 if j < end and toks[j] == stop else j
        spectra = []
        if c_peaks is not None:
            spectra.append(Spectrum1D(nucleus="13C", peaks=c_peaks))
        if h_peaks is not None:
            spectra.append(Spectrum1D(nucleus="1H", peaks=h_peaks))
        return Query(spectra=spectra, formula=formula)

    def _decode_13c(self, body: list[int], start: int, strict: bool) -> list[Peak]:
        peaks: list[Peak] = []
        prev, run = None, 0
        values: list[tuple[int, int]] = []
        for k, tid in enumerate(body):
            if self._value_of("13C", tid) is None:
                if strict:
                    raise SpectrumFormatError(f"ids[{start + k}]", self._tokens[tid], "a 13C shift token")
                continue
            if tid == prev:
                run += 1
            else:
                if prev is not None:
                    values.append((prev, run))
                prev, run = tid, 1
        if prev is not None:
            values.append((prev, run))
        for tid, n in values:
            shift = self._value_of("13C", tid)
            peaks.append(Peak(shift=shift, count=n if n > 1 else None))
        return peaks

    def _decode_1h(self, body: list[int], start: int, strict: bool) -> list[Multiplet]:
        out: list[Multiplet] = []
        k, n = 0, len(body)
        while k < n:
            try:
                m, k = self._decode_group(body, k, start)
                out.append(m)
            except SpectrumFormatError:
                if strict:
                    raise
                k += 1
                while k < n and body[k] not in self._mult_ids:
                    k += 1
        return out

    def _decode_group(self, body: list[int], k: int, start: int) -> tuple[Multiplet, int]:
        def tok(i: int) -> str:
            return self._tokens[body[i]] if i < len(body) else "end of segment"

        if k >= len(body) or body[k] not in self._mult_ids:
            raise SpectrumFormatError(f"ids[{start + k}]", tok(k), "a multiplicity token (mult:...)")
        mult = category_label(self._mult_ids[body[k]])
        k += 1
        js: list[float] = []
        while k < len(body) and (v := self._value_of("J", body[k])) is not None:
            js.append(v)
            k += 1
        if len(js) > MAX_J:
            raise SpectrumFormatError(f"ids[{start + k - 1}]", tok(k - 1), f"at most {MAX_J} J tokens per multiplet")
        if k >= len(body) or body[k] not in self._nh_ids:
            raise SpectrumFormatError(f"ids[{start + k}]", tok(k), "a J token or an nH token")
        nh = self._nh_ids[body[k]]
        k += 1
        ends = []
        for _ in range(2):
            v = self._value_of("1H", body[k]) if k < len(body) else None
            if v is None:
                raise SpectrumFormatError(f"ids[{start + k}]", tok(k), "a 1H shift token")
            ends.append(v)
            k += 1
        lo, hi = ends
        if lo > hi:
            raise SpectrumFormatError(f"ids[{start + k - 2}]", tok(k - 2), "a low shift end <= the high end")
        try:
            return Multiplet(shift_min=lo, shift_max=hi, mult=mult, J=js, nH=nh), k
        except SpectrumFormatError as exc:
            # values decoded from overflow intervals can lie outside the data model's window
            raise SpectrumFormatError(f"ids[{start + k - 1}].{exc.field}", exc.value, exc.allowed) from None

    def _decode_formula(self, body: list[int], start: int, strict: bool) -> str | None:
        toks = [self._tokens[t] for t in body]
        if not strict:
            pairs: list[str] = []
            k = 0
            while k + 1 < len(toks):
                if self.formula.is_element(toks[k]) and self.formula.is_count(toks[k + 1]):
                    pairs += toks[k : k + 2]
                    k += 2
                else:
                    k += 1
            toks = pairs
        if not toks:
            return None
        try:
            return self.formula.detokenize(toks)
        except NmrLensError as exc:
            raise SpectrumFormatError(f"ids[{start}..{start + len(toks) - 1}]", " ".join(toks[:12]), str(exc)) from None
