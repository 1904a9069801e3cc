"""Execution engines of a library build: ``local`` (this process) and ``ray`` (a Ray cluster).

An engine maps a function over input chunks and yields ``(chunk_number, result)`` in any order;
the builder stores each result as it comes, so both engines give the same library.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator

from nmrlens.errors import NmrLensError

__all__ = ["ENGINES", "Engine", "LocalEngine", "RayEngine", "get_engine"]

ENGINES: tuple[str, ...] = ("local", "ray")
RAY_HINT = "pip install 'nmrlens[distributed]'"


class Engine:
    """Base class: ``map(func, chunks)`` yields ``(number, func(*args))`` for every ``(number, args)``."""

    name = "base"

    def map(self, func: Callable[..., Any], chunks: Iterable[tuple[int, tuple[Any, ...]]]) -> Iterator[tuple[int, Any]]:
        raise NotImplementedError

    def close(self) -> None:
        """Release resources."""


class LocalEngine(Engine):
    """Runs every chunk in this process, in order."""

    name = "local"

    def map(self, func: Callable[..., Any], chunks: Iterable[tuple[int, tuple[Any, ...]]]) -> Iterator[tuple[int, Any]]:
        for number, args in chunks:
            yield number, func(*args)


class RayEngine(Engine):
    """Runs chunks as Ray tasks (a local Ray instance, or the cluster at ``address``).

    At most ``max_in_flight`` chunks are submitted at once; results are yielded as they finish.

    Raises:
        NmrLensError: when Ray is not installed (install hint in the message).
    """

    name = "ray"

    def __init__(self, address: str | None = None, max_in_flight: int = 8) -> None:
        try:
            import ray
        except ImportError:
            raise NmrLensError(f"--engine ray: Ray is not installed; install it with {RAY_HINT}") from None
        self.ray = ray
        if not ray.is_initialized():
            ray.init(address=address, ignore_reinit_error=True, log_to_driver=False)
        self.max_in_flight = max(1, int(max_in_flight))

    def map(self, func: Callable[..., Any], chunks: Iterable[tuple[int, tuple[Any, ...]]]) -> Iterator[tuple[int, Any]]:
        ray = self.ray
        remote = ray.remote(func)
        pending: dict[Any, int] = {}
        it = iter(chunks)
        exhausted = False
        while True:
            while not exhausted and len(pending) < self.max_in_flight:
                try:
                    number, args = next(it)
                except StopIteration:
                    exhausted = True
                    break
                pending[remote.remote(*args)] = number
            if not pending:
                return
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                yield pending.pop(ref), ray.get(ref)

    def close(self) -> None:
        """Leave the Ray instance running (it may be shared)."""


def get_engine(name: str, address: str | None = None) -> Engine:
    """The engine called ``name`` (``local`` or ``ray``).

    Raises:
        NmrLensError: for an unknown engine, or ``ray`` without Ray installed.
    """
    if name == "local":
        if address:
            raise NmrLensError("--address: only used with --engine ray")
        return LocalEngine()
    if name == "ray":
        return RayEngine(address)
    raise NmrLensError(f"--engine: got {name!r}, expected one of {', '.join(ENGINES)}")
