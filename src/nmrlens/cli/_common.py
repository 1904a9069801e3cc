"""Small helpers shared by the CLI subcommand modules."""

from __future__ import annotations

import inspect
from typing import Any, Callable

from nmrlens.errors import NmrLensError

__all__ = ["reader_options"]


def reader_options(func: Callable[..., Any], **candidates: Any) -> dict[str, Any]:
    """Keep the options that ``func`` accepts and that were given (not None).

    Raises:
        NmrLensError: when an option was given that ``func`` does not accept (e.g. ``--nucleus``
            for a format that stores the nucleus itself).
    """
    params = inspect.signature(func).parameters
    out: dict[str, Any] = {}
    for name, value in candidates.items():
        if value is None:
            continue
        if name not in params:
            raise NmrLensError(f"--{name}: not used by this format; it applies to acs and csv text only")
        out[name] = value
    return out
