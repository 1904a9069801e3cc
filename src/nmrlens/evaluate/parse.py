"""How well the ACS text parser reads real literature peak lists.

Data: the literature set (``literature/nmrextractor.jsonl.gz``: 1H/13C peak text from papers with
the source's own best-effort peak lists ``h1_peaks`` and ``c13_shifts``).

Each record's text is given to :func:`nmrlens.io.acs.parse_spectrum_text` the way a user pastes
it from a paper: the header is rebuilt from the record's conditions,
``f"1H NMR ({h1_conditions}) δ {h1_text}"`` (``f"1H NMR δ {h1_text}"`` when the conditions are
missing), and likewise for 13C. So the header parser (frequency, solvent) is exercised too.

Metrics (flat): ``h1_n``/``c13_n`` (records with text), ``h1_parse_fraction``/``c13_parse_fraction``
(parsed without error), ``h1_peak_agreement``/``c13_peak_agreement`` (fraction of the ``*_n``
records, failures included, whose parsed peaks agree with the source's list: same number of
peaks and every shift within 0.01 ppm after sorting; 1H multiplets compare by centre, 13C peaks
with a count such as ``(2C)`` count once, as in the source). Failure examples come from
:func:`failures`, not from the metrics.
"""

from __future__ import annotations

import gzip
import json
import logging
import random
from pathlib import Path
from typing import Any, Iterator

from nmrlens.errors import DataNotFoundError, FileFormatError, NmrLensError

__all__ = ["evaluate", "failures", "record_text", "SHIFT_TOLERANCE_PPM"]

logger = logging.getLogger(__name__)

#: Largest shift difference (ppm) for a parsed peak to agree with the source's peak.
SHIFT_TOLERANCE_PPM = 0.01


def _records(data: Path) -> Iterator[dict[str, Any]]:
    p = Path(data)
    if not p.is_file():
        raise DataNotFoundError(f"data: {str(p)!r} does not exist (expected literature/nmrextractor.jsonl.gz)")
    opener = gzip.open if p.name.endswith(".gz") else open
    try:
        with opener(p, "rt", encoding="utf-8") as fh:  # type: ignore[operator]
            for i, line in enumerate(fh):
                if line.strip():
                    try:
                        rec = json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise FileFormatError(f"data: line {i + 1} of {str(p)!r} is not JSON ({exc.msg})") from None
                    if not isinstance(rec, dict):
                        raise FileFormatError(f"data: line {i + 1} of {str(p)!r} is not a JSON object")
                    rec.setdefault("_index", i)
                    yield rec
    except (OSError, EOFError) as exc:
        raise FileFormatError(f"data: cannot read {str(p)!r} ({exc})") from None


def _select(data: Path, limit: int | None, seed: int) -> list[dict[str, Any]]:
    recs = list(_records(data))
    if limit is not None and limit < len(recs):
        idx = sorted(random.Random(seed).sample(range(len(recs)), max(0, int(limit))))
        recs = [recs[i] for i in idx]
    return recs


def record_text(rec: dict[str, Any], nucleus: str) -> str | None:
    """The text a user would paste for one record: ``"1H NMR (conditions) δ text"``, or None."""
    key = "h1" if nucleus == "1H" else "c13"
    text = rec.get(f"{key}_text")
    if not isinstance(text, str) or not text.strip():
        return None
    cond = rec.get(f"{key}_conditions")
    head = f"{nucleus} NMR ({cond})" if isinstance(cond, str) and cond.strip() else f"{nucleus} NMR"
    return f"{head} δ {text}"


def _parse(text: str, nucleus: str) -> tuple[list[float] | None, str | None]:
    from nmrlens.io.acs import parse_spectrum_text

    try:
        sp = parse_spectrum_text(text)
    except NmrLensError as exc:
        return None, str(exc)
    if sp.nucleus != nucleus:
        return None, f"read a {sp.nucleus} block, expected {nucleus}"
    return sorted(sp.shifts), None


def _reference(rec: dict[str, Any], nucleus: str) -> list[float] | None:
    try:
        if nucleus == "1H":
            return sorted(float(p["shift"]) for p in rec.get("h1_peaks") or [])
        return sorted(float(s) for s in rec.get("c13_shifts") or [])
    except (TypeError, ValueError, KeyError):
        return None


def _agrees(got: list[float], ref: list[float] | None) -> bool:
    return ref is not None and len(got) == len(ref) and all(
        abs(a - b) <= SHIFT_TOLERANCE_PPM + 1e-9 for a, b in zip(got, ref)
    )


def evaluate(data: Path, *, limit: int | None = None, seed: int = 0) -> dict[str, float | int]:
    """Parse every record's 1H and 13C text; return flat metrics (see the module docstring).

    Args:
        data: path of ``nmrextractor.jsonl.gz``.
        limit: evaluate a random subset of this many records (None: all).
        seed: seed of that subset.
    """
    out: dict[str, float | int] = {}
    recs = _select(data, limit, seed)
    for nucleus, key in (("1H", "h1"), ("13C", "c13")):
        n = ok = agree = 0
        for rec in recs:
            text = record_text(rec, nucleus)
            if text is None:
                continue
            n += 1
            got, _err = _parse(text, nucleus)
            if got is None:
                continue
            ok += 1
            agree += _agrees(got, _reference(rec, nucleus))
        out[f"{key}_n"] = n
        out[f"{key}_parsed"] = ok
        out[f"{key}_parse_fraction"] = ok / n if n else 0.0
        out[f"{key}_peak_agreement"] = agree / n if n else 0.0
    return out


def failures(data: Path, limit: int | None = None) -> list[dict[str, Any]]:
    """Records whose text did not parse: ``{index, pmcid, nucleus, text, error}`` each.

    Args:
        data: path of ``nmrextractor.jsonl.gz``.
        limit: return at most this many (None: all), in file order.
    """
    out: list[dict[str, Any]] = []
    for rec in _records(data):
        for nucleus in ("1H", "13C"):
            text = record_text(rec, nucleus)
            if text is None:
                continue
            got, err = _parse(text, nucleus)
            if got is None:
                out.append({
                    "index": rec.get("_index"), "pmcid": rec.get("pmcid"), "nucleus": nucleus,
                    "text": text if len(text) <= 500 else text[:497] + "...", "error": err,
                })
                if limit is not None and len(out) >= limit:
                    return out
    return out
