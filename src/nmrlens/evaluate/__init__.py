"""Task benchmarks: one module per task, each with ``evaluate(data, *, limit, seed, **options) -> dict``.

Every task returns flat metrics (names -> numbers/None) that ``nmrlens evaluate TASK`` writes as
JSON. Tasks are registered in :data:`TASKS` as ``"module:function"`` and imported lazily.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Callable

from nmrlens.errors import NmrLensError

__all__ = ["TASKS", "get_task", "run_task"]

#: Task name -> "module:function".
TASKS: dict[str, str] = {
    "parse": "nmrlens.evaluate.parse:evaluate",
    "tokenizer": "nmrlens.evaluate.tokenizer:evaluate",
    "shifts": "nmrlens.evaluate.shifts:evaluate",
    "spectrum": "nmrlens.evaluate.spectrum:evaluate",
    "classify2d": "nmrlens.evaluate.classify2d:evaluate",
    "inn": "nmrlens.evaluate.inn:evaluate",
    "retrieval": "nmrlens.evaluate.retrieval:evaluate",
    "generation": "nmrlens.evaluate.generation:evaluate",
    "assignment": "nmrlens.evaluate.assignment:evaluate",
    "elucidate": "nmrlens.evaluate.elucidate:evaluate",
}


def get_task(name: str) -> Callable[..., dict[str, Any]]:
    """Return the evaluation function of task ``name``.

    Raises:
        NmrLensError: for an unknown task or one whose module is not available.
    """
    if name not in TASKS:
        raise NmrLensError(f"task: got {name!r}, expected one of {', '.join(sorted(TASKS))}")
    module_name, func_name = TASKS[name].split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            raise NmrLensError(f"task: {name!r} is registered but its module {module_name} is missing") from None
        raise
    return getattr(module, func_name)


def run_task(name: str, data: Path, *, limit: int | None = None, seed: int = 0, **options: Any) -> dict[str, Any]:
    """Run task ``name`` on the data file ``data`` and return its flat metrics."""
    if not Path(data).exists():
        from nmrlens.errors import DataNotFoundError

        raise DataNotFoundError(f"--data: {str(data)!r} does not exist")
    if limit is not None and limit < 1:
        raise NmrLensError(f"--limit: got {limit}, expected a whole number >= 1")
    metrics = get_task(name)(Path(data), limit=limit, seed=seed, **options)
    for key, value in metrics.items():
        if not (value is None or isinstance(value, (int, float, str, bool))):
            raise TypeError(f"task {name}: metric {key!r} is {type(value).__name__}, not a flat value")
    return metrics
