"""Exceptions raised by nmrlens.

Every error that bad input can cause is an :class:`NmrLensError` (or a subclass). Messages say
which field was wrong, the value that was got and what is allowed, so that the CLI and the web
service can show them to a person unchanged.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "NmrLensError",
    "SpectrumFormatError",
    "InvalidMoleculeError",
    "FileFormatError",
    "OutputExistsError",
    "DataNotFoundError",
    "ConfigError",
    "short_repr",
]


def short_repr(value: Any, limit: int = 60) -> str:
    """Return ``repr(value)`` cut to at most ``limit`` characters (for error messages)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class NmrLensError(Exception):
    """Base class of every error nmrlens raises on purpose."""


class SpectrumFormatError(NmrLensError, ValueError):
    """A spectrum, peak or multiplet has a field that is missing, malformed or out of range.

    Args:
        field: the name of the offending field (e.g. ``"shift"`` or ``"peaks[3].J"``).
        value: the value that was got.
        allowed: a short description of what is allowed (e.g. ``"-50..300 ppm"``).
    """

    def __init__(self, field: str, value: Any, allowed: str) -> None:
        self.field = field
        self.value = value
        self.allowed = allowed
        super().__init__(f"{field}: got {short_repr(value)}, expected {allowed}")


class InvalidMoleculeError(NmrLensError, ValueError):
    """A molecule (SMILES, molblock, formula) could not be parsed or is not supported."""


class FileFormatError(NmrLensError, ValueError):
    """A file or text could not be read in the format it was said or guessed to be in."""


class OutputExistsError(NmrLensError, FileExistsError):
    """A writer refused to overwrite an existing file (pass ``force=True`` / ``--force``)."""


class DataNotFoundError(NmrLensError, FileNotFoundError):
    """Shared data, a checkpoint or an input file was not found where it was expected."""


class ConfigError(NmrLensError, ValueError):
    """A configuration file or option has an unknown key or an invalid value."""
