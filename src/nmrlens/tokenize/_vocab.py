"""Vocabulary plumbing shared by the tokenizers: JSON vocabulary files and token <-> id lookups."""

from __future__ import annotations

import json
import operator
from pathlib import Path
from typing import Any, Mapping, Sequence

from nmrlens.errors import ConfigError, DataNotFoundError, NmrLensError

__all__ = ["dumps_vocab", "read_vocab", "write_vocab", "as_int", "Vocabulary"]


def dumps_vocab(d: Mapping[str, Any]) -> str:
    """Deterministic JSON text of a vocabulary object (long number and token lists on few lines)."""
    text = json.dumps(d, indent=1, ensure_ascii=False, allow_nan=False)
    return text + "\n"


def read_vocab(path: str | Path | None, default: Path, what: str) -> tuple[Path, Any]:
    """The path read (``default`` when ``path`` is None) and the JSON content of a vocabulary file.

    Args:
        what: the start of error messages, e.g. ``"smiles vocabulary"``.

    Raises:
        DataNotFoundError: when the file does not exist.
        ConfigError: when it cannot be read or is not JSON.
    """
    p = Path(path) if path is not None else default
    if not p.is_file():
        raise DataNotFoundError(f"{what}: file {str(p)!r} does not exist")
    try:
        return p, json.loads(p.read_text(encoding="utf-8"))
    except (ValueError, OSError) as exc:
        raise ConfigError(f"{what}: cannot read {str(p)!r} ({exc})") from None


def write_vocab(path: str | Path, d: Mapping[str, Any], *, force: bool = False) -> None:
    """Write a vocabulary object as :func:`dumps_vocab` text, atomically (refuses to overwrite unless ``force``)."""
    from nmrlens.io._base import write_text_atomic

    write_text_atomic(path, dumps_vocab(d), force=force)


def as_int(i: Any) -> Any:
    """``i`` as a Python int when it is an integer of another type (numpy, torch), else unchanged."""
    if isinstance(i, int):
        return i
    try:
        return operator.index(i)
    except TypeError:
        return i


class Vocabulary:
    """Token <-> id lookups of a tokenizer whose ``_tokens`` (id order), ``_ids`` and ``unk_id`` are set.

    Subclasses give :meth:`_bad_id`, the error raised for an id outside the vocabulary.
    """

    _tokens: list[str]
    _ids: dict[str, int]
    unk_id: int

    def _bad_id(self, idx: Any) -> NmrLensError:
        raise NotImplementedError

    @property
    def vocab_size(self) -> int:
        """Number of tokens."""
        return len(self._tokens)

    @property
    def vocab(self) -> list[str]:
        """Tokens in id order."""
        return list(self._tokens)

    def token_to_id(self, token: str) -> int:
        """Id of a token (the ``<unk>`` id for a token outside the vocabulary)."""
        return self._ids.get(token, self.unk_id)

    def id_to_token(self, idx: int) -> str:
        """Token of an id.

        Raises:
            NmrLensError: (the tokenizer's subclass of it) for an id outside the vocabulary.
        """
        if isinstance(idx, bool) or not isinstance(idx, int) or not 0 <= idx < len(self._tokens):
            raise self._bad_id(idx)
        return self._tokens[idx]

    def tokens(self, ids: Sequence[int]) -> list[str]:
        """Token strings of ids."""
        return [self.id_to_token(as_int(i)) for i in ids]
