"""Shared plumbing of the format modules: bounded reading, atomic writing, coercion to queries.

Every format module ``nmrlens.io.<fmt>`` provides the same four functions::

    loads(text: str, **options) -> list[Query]
    dumps(queries: Sequence[Query], **options) -> str
    read(path, **options) -> list[Query]          # read_text + loads
    write(obj, path, *, force=False, **options)   # dumps + write_text_atomic

``obj`` may be a Query, a Spectrum1D or a sequence of Query; see :func:`as_queries`.
"""

from __future__ import annotations

import gzip
import os
import tempfile
from pathlib import Path
from typing import Sequence, Union

from nmrlens.errors import DataNotFoundError, FileFormatError, OutputExistsError
from nmrlens.spectra.model import Query, Spectrum1D, Spectrum2D

__all__ = ["MAX_INPUT_BYTES", "PathLike", "Writable", "read_text", "write_text_atomic", "as_queries", "check_text"]

#: Largest input a reader accepts (bytes, after decompression): refuses huge requests early.
MAX_INPUT_BYTES = 512 * 1024 * 1024
PathLike = Union[str, "os.PathLike[str]"]
Writable = Union[Query, Spectrum1D, Spectrum2D, Sequence[Query]]


def read_text(path: PathLike, *, max_bytes: int = MAX_INPUT_BYTES) -> str:
    """Read a UTF-8 text file (transparently gunzipped when it starts with the gzip magic).

    Raises:
        DataNotFoundError: when the file does not exist.
        FileFormatError: when it is empty, too large, or not UTF-8 text.
    """
    p = Path(path)
    if not p.is_file():
        raise DataNotFoundError(f"input: file {str(p)!r} does not exist")
    with open(p, "rb") as fh:
        head = fh.read(2)
        fh.seek(0)
        if head == b"\x1f\x8b":
            fh = gzip.GzipFile(fileobj=fh)  # type: ignore[assignment]
        try:
            data = fh.read(max_bytes + 1)
        except (OSError, EOFError) as exc:
            raise FileFormatError(f"input: {str(p)!r} is a damaged gzip file ({exc})") from None
    if len(data) > max_bytes:
        raise FileFormatError(f"input: {str(p)!r} is larger than {max_bytes} bytes")
    if not data.strip():
        raise FileFormatError(f"input: {str(p)!r} is empty")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileFormatError(f"input: {str(p)!r} is not UTF-8 text (byte {exc.start})") from None


def check_text(text: str, *, fmt: str, max_bytes: int = MAX_INPUT_BYTES) -> str:
    """Check that ``text`` is a non-empty string of bounded size before a parser sees it."""
    if not isinstance(text, str):
        raise FileFormatError(f"{fmt}: expected text, got {type(text).__name__}")
    if len(text) > max_bytes:
        raise FileFormatError(f"{fmt}: input of {len(text)} characters is above the limit of {max_bytes}")
    if not text.strip():
        raise FileFormatError(f"{fmt}: the input is empty")
    return text


def write_text_atomic(path: PathLike, text: str, *, force: bool = False) -> None:
    """Write ``text`` to ``path`` atomically (temporary file + rename); gzip when it ends in .gz.

    Raises:
        OutputExistsError: when ``path`` exists and ``force`` is False.
    """
    p = Path(path)
    if p.exists() and not force:
        raise OutputExistsError(f"output: {str(p)!r} exists; pass force=True (--force) to overwrite")
    if p.exists() and p.is_dir():
        raise OutputExistsError(f"output: {str(p)!r} is a directory")
    parent = p.parent if str(p.parent) else Path(".")
    parent.mkdir(parents=True, exist_ok=True)
    data = text.encode("utf-8")
    if p.name.endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=parent)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the usual permissions
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def as_queries(obj: Writable) -> list[Query]:
    """Coerce what a writer was given into a list of queries.

    Raises:
        FileFormatError: for anything but a Query, Spectrum1D, Spectrum2D or a sequence of Query.
    """
    if isinstance(obj, Query):
        return [obj]
    if isinstance(obj, Spectrum1D):
        return [Query(spectra=(obj,))]
    if isinstance(obj, Spectrum2D):
        return [Query(spectra2d=(obj,))]
    if isinstance(obj, (list, tuple)) and all(isinstance(q, Query) for q in obj):
        return list(obj)
    raise FileFormatError(
        f"write: got {type(obj).__name__}, expected a Query, a Spectrum1D, a Spectrum2D or a list of Query"
    )
