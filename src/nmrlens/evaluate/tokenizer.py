"""Benchmark of the spectral and SMILES tokenizers: ``nmrlens evaluate tokenizer --data FILE``.

On the test-split records of ``FILE`` (``split_of_inchikey(inchikey or source_inchikey) == "test"``;
nmrshiftdb2 or literature JSON lines) every experimental 13C/1H spectrum pair is encoded with the
``CHF`` configuration and decoded again, and the decoded 13C shifts, 1H shifts (a point shift once,
a range by both ends) and 1H J values are compared with the originals. The same values are also
quantised with uniform bins over the same inner range with the same number of bins
(``*_uniform_mae_same_vocab``).

Overflow: values that fall into an overflow interval of the adaptive table (outside its inner range;
for valid data model input this cannot happen for 13C and 1H shifts) are excluded from every mean
and maximum error (adaptive and uniform alike) and counted in ``*_overflow``. ``smiles_roundtrip_fraction``
covers every SMILES of the file (``smiles`` and, for literature records, ``source_smiles``), whatever
its split. Metrics that have no values (e.g. ``j_mae`` on nmrshiftdb2, which has no J) are null.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from nmrlens.errors import NmrLensError
from nmrlens.spectra.model import Multiplet, Peak, Query
from nmrlens.tokenize.binning import IntervalTable, uniform_edges
from nmrlens.tokenize.categories import multiplicity_category
from nmrlens.tokenize.records import ConversionStats, iter_records, record_format, record_split, record_to_queries
from nmrlens.tokenize.smiles import SmilesTokenizer
from nmrlens.tokenize.spectral import SpectralTokenizer

__all__ = ["evaluate"]

_KINDS = ("13C", "1H", "J")
_PREFIX = {"13C": "c13", "1H": "h1", "J": "j"}


class _Errors:
    def __init__(self, table: IntervalTable) -> None:
        self.table = table
        self.uniform = IntervalTable("u", table.unit, uniform_edges(table.low, table.high, table.n_inner), 6)
        self.n = 0
        self.overflow = 0
        self.err: list[float] = []
        self.uerr: list[float] = []

    def add(self, original: float, decoded: float) -> None:
        self.n += 1
        if self.table.is_overflow(self.table.index(original)):
            self.overflow += 1
            return
        self.err.append(abs(decoded - original))
        ui = self.uniform.index(original)
        self.uerr.append(abs(self.uniform.value(ui) - original))


def _mean(xs: list[float]) -> float | None:
    return round(sum(xs) / len(xs), 6) if xs else None


def _h1_values(m: Multiplet) -> list[float]:
    return [m.shift_min] if m.shift_min == m.shift_max else [m.shift_min, m.shift_max]


def _compare(q: Query, d: Query, errs: dict[str, _Errors], mult_ok: list[int]) -> None:
    c0, c1 = q.spectrum("13C"), d.spectrum("13C")
    if c0 is not None:
        orig = [p.shift for p in c0.peaks if isinstance(p, Peak) for _ in range(p.count or 1)]
        dec = [p.shift for p in (c1.peaks if c1 else ()) if isinstance(p, Peak) for _ in range(p.count or 1)]
        if len(orig) != len(dec):
            raise NmrLensError(f"tokenizer: 13C peak count changed in the round trip ({len(orig)} -> {len(dec)})")
        for a, b in zip(orig, dec):
            errs["13C"].add(a, b)
    h0, h1 = q.spectrum("1H"), d.spectrum("1H")
    if h0 is not None:
        dec_m = list(h1.peaks) if h1 else []
        if len(dec_m) != len(h0.peaks):
            raise NmrLensError(f"tokenizer: 1H multiplet count changed in the round trip ({len(h0.peaks)} -> {len(dec_m)})")
        for m0, m1 in zip(h0.peaks, dec_m):
            assert isinstance(m0, Multiplet) and isinstance(m1, Multiplet)
            vals = _h1_values(m0)
            dec_vals = [m1.shift_min] if len(vals) == 1 else [m1.shift_min, m1.shift_max]
            for a, b in zip(vals, dec_vals):
                errs["1H"].add(a, b)
            for a, b in zip(m0.J, m1.J):
                errs["J"].add(a, b)
            mult_ok.append(int(multiplicity_category(m1.mult) == multiplicity_category(m0.mult)
                               or multiplicity_category(m0.mult) == "other"))


def evaluate(data: Path, *, limit: int | None = None, seed: int = 0, vocab: Path | None = None) -> dict[str, Any]:
    """Tokenizer metrics on the test split of ``data`` (see the module docstring for the definitions).

    Args:
        data: an nmrshiftdb2 or literature JSON-lines file (gzip or plain).
        limit: evaluate at most this many test records (a random sample drawn with ``seed``).
        seed: random seed of that sample.
        vocab: spectral vocabulary file (default: the shipped one).

    Raises:
        DataNotFoundError, FileFormatError: when the file is missing or not in a known record format.
    """
    tok = SpectralTokenizer.load(vocab)
    smiles_tok = SmilesTokenizer.load()
    n_records = n_no_key = 0
    n_smiles = n_smiles_ok = 0
    formats: set[str] = set()
    test: list[dict[str, Any]] = []
    for rec in iter_records(data):
        n_records += 1
        formats.add(record_format(rec))
        for key in ("smiles", "source_smiles"):
            s = rec.get(key)
            if isinstance(s, str) and s:
                n_smiles += 1
                try:
                    n_smiles_ok += smiles_tok.detokenize(smiles_tok.tokenize(s)) == s
                except NmrLensError:
                    pass
        split = record_split(rec)
        if split is None:
            n_no_key += 1
        elif split == "test":
            test.append(rec)
    if limit is not None and len(test) > limit:
        keep = sorted(random.Random(seed).sample(range(len(test)), limit))
        test = [test[i] for i in keep]
    errs = {k: _Errors(tok.tables[k]) for k in _KINDS}
    stats = ConversionStats()
    lengths: list[int] = []
    mult_ok: list[int] = []
    n_queries = n_over = 0
    for rec in test:
        for q in record_to_queries(rec, stats):
            n_queries += 1
            ids = tok.encode(q, "CHF", max_length=1_000_000)
            lengths.append(len(ids))
            n_over += len(ids) > tok.max_length
            _compare(q, tok.decode(ids), errs, mult_ok)
    out: dict[str, Any] = {
        "vocab_size": tok.vocab_size,
        "format": ",".join(sorted(formats)) or None,
        "n_records": n_records,
        "n_records_without_inchikey": n_no_key,
        "n_test_records": len(test),
        "n_queries": n_queries,
    }
    for k in _KINDS:
        e, p = errs[k], _PREFIX[k]
        name = "j" if k == "J" else f"{p}_shift"
        mae, umae = _mean(e.err), _mean(e.uerr)
        out[f"{name}_mae"] = mae
        out[f"{name}_max_error"] = round(max(e.err), 6) if e.err else None
        out[f"{p}_uniform_mae_same_vocab"] = umae
        out[f"{p}_uniform_max_error"] = round(max(e.uerr), 6) if e.uerr else None
        out[f"{p}_mae_ratio"] = round(mae / umae, 4) if mae is not None and umae else None
        out[f"{p}_bins"] = e.table.n_inner
        out[f"{p}_overflow"] = e.overflow
    out["n_c13_peaks"] = errs["13C"].n
    out["n_h1_peaks"] = errs["1H"].n
    out["n_j"] = errs["J"].n
    out["h1_mult_category_preserved"] = _mean([float(x) for x in mult_ok])
    out["mean_tokens"] = _mean([float(x) for x in lengths])
    out["max_tokens"] = max(lengths) if lengths else None
    out["n_over_max_length"] = n_over
    out["smiles_roundtrip_fraction"] = round(n_smiles_ok / n_smiles, 6) if n_smiles else None
    out["n_smiles"] = n_smiles
    for key, value in stats.as_dict().items():
        out[f"dropped_{key}"] = value
    return out
