"""Streaming access to (gzipped) text files of the shared data folders."""

from __future__ import annotations

import contextlib
import gzip
import io
import json
from pathlib import Path
from typing import Any, Iterator

from nmrlens.errors import DataNotFoundError, FileFormatError

__all__ = ["open_text_lines", "iter_json_lines", "MAX_LINE_CHARS"]

#: Longest line accepted in a JSON-lines file (characters).
MAX_LINE_CHARS = 50_000_000


@contextlib.contextmanager
def open_text_lines(path: "str | Path") -> Iterator[Iterator[str]]:
    """Open a UTF-8 text file (gunzipped when it starts with the gzip magic) and yield its lines.

    Raises:
        DataNotFoundError: when the file does not exist.
        FileFormatError: when the file is not UTF-8 text or a damaged gzip file (while iterating).
    """
    p = Path(path)
    if not p.is_file():
        raise DataNotFoundError(f"input: file {str(p)!r} does not exist")
    raw = open(p, "rb")
    try:
        head = raw.read(2)
        raw.seek(0)
        binary: Any = gzip.GzipFile(fileobj=raw) if head == b"\x1f\x8b" else raw
        text = io.TextIOWrapper(binary, encoding="utf-8-sig")
        yield _guarded(text, p)
    finally:
        raw.close()


def _guarded(text: io.TextIOWrapper, path: Path) -> Iterator[str]:
    try:
        yield from text
    except UnicodeDecodeError as exc:
        raise FileFormatError(f"input: {str(path)!r} is not UTF-8 text (byte {exc.start})") from None
    except (OSError, EOFError) as exc:
        raise FileFormatError(f"input: {str(path)!r} is a damaged gzip file ({exc})") from None


def iter_json_lines(path: "str | Path") -> Iterator[dict[str, Any]]:
    """Stream the JSON objects of a (gzipped) JSON-lines file, one per non-blank line.

    Raises:
        DataNotFoundError: when the file does not exist.
        FileFormatError: naming the line, for a line that is not a JSON object.
    """
    with open_text_lines(path) as lines:
        for lineno, line in enumerate(lines, 1):
            if not line.strip():
                continue
            if len(line) > MAX_LINE_CHARS:
                raise FileFormatError(f"{path}: line {lineno} is longer than {MAX_LINE_CHARS} characters")
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise FileFormatError(f"{path}: line {lineno}: invalid JSON at column {exc.colno}: {exc.msg}") from None
            except RecursionError:
                raise FileFormatError(f"{path}: line {lineno}: JSON nesting is too deep") from None
            if not isinstance(obj, dict):
                raise FileFormatError(f"{path}: line {lineno}: got {type(obj).__name__}, expected a JSON object")
            yield obj
