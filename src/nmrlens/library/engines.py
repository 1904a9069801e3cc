"""Execution engines of a library build: ``local`` (this process), ``process`` (worker processes on
this machine, one per core by default) and ``ray`` (a Ray cluster).

An engine maps a function over input chunks and yields ``(chunk_number, result)`` in any order;
the builder stores each result as it comes, so both engines give the same library.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator

from nmrlens.errors import NmrLensError

__all__ = ["ENGINES", "Engine", "LocalEngine", "ProcessEngine", "RayEngine", "get_engine"]

ENGINES: tuple[str, ...] = ("local", "process", "ray")
#: Largest number of worker processes of the ``process`` engine.
MAX_WORKERS = 64
RAY_HINT = "pip install 'nmrlens[distributed]'"


class Engine:
    """Base class: ``map(func, chunks)`` yields ``(number, func(*args))`` for every ``(number, args)``."""

    name = "base"

    def map(self, func: Callable[..., Any], chunks: Iterable[tuple[int, tuple[Any, ...]]]) -> Iterator[tuple[int, Any]]:
        """Yield ``(number, func(*args))`` for every ``(number, args)`` chunk, in completion order."""
        raise NotImplementedError

    def close(self) -> None:
        """Release resources."""


def _in_flight(chunks: Iterable[tuple[int, tuple[Any, ...]]], submit: Callable[[tuple[Any, ...]], Any],
               finished: Callable[[list[Any]], Iterable[tuple[Any, Any]]], limit: int) -> Iterator[tuple[int, Any]]:
    """Submit chunks (``submit(args)`` -> a handle), at most ``limit`` in flight, and yield
    ``(number, result)`` for what ``finished(handles)`` reports done (at least one per call)."""
    pending: dict[Any, int] = {}
    it = iter(chunks)
    exhausted = False
    while True:
        while not exhausted and len(pending) < limit:
            try:
                number, args = next(it)
            except StopIteration:
                exhausted = True
                break
            pending[submit(args)] = number
        if not pending:
            return
        for handle, result in finished(list(pending)):
            yield pending.pop(handle), result


class LocalEngine(Engine):
    """Runs every chunk in this process, in order."""

    name = "local"

    def map(self, func: Callable[..., Any], chunks: Iterable[tuple[int, tuple[Any, ...]]]) -> Iterator[tuple[int, Any]]:
        """Run the chunks one after another in this process; yields ``(number, result)`` in input order."""
        for number, args in chunks:
            yield number, func(*args)


class ProcessEngine(Engine):
    """Runs chunks in ``workers`` worker processes (``spawn``; default: one per CPU core).

    ``func`` must be a module-level function and its arguments picklable (the RDKit/torch work
    happens in the workers). At most two chunks per worker are in flight; results are yielded as
    they finish.

    Raises:
        NmrLensError: for a worker count outside 1..MAX_WORKERS.
    """

    name = "process"

    def __init__(self, workers: int | None = None) -> None:
        import multiprocessing
        import os
        from concurrent.futures import ProcessPoolExecutor

        if workers is None:
            workers = max(1, min(MAX_WORKERS, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                                 else (os.cpu_count() or 1)))
        if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= MAX_WORKERS:
            raise NmrLensError(f"--workers: got {workers!r}, expected a whole number in 1..{MAX_WORKERS}")
        self.workers = workers
        self.pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))

    def map(self, func: Callable[..., Any], chunks: Iterable[tuple[int, tuple[Any, ...]]]) -> Iterator[tuple[int, Any]]:
        """Run the chunks in the worker processes (at most ``max_in_flight`` queued); yields
        ``(number, result)`` as they finish."""
        from concurrent.futures import FIRST_COMPLETED, wait

        def finished(futures: list[Any]) -> Iterator[tuple[Any, Any]]:
            return ((f, f.result()) for f in wait(futures, return_when=FIRST_COMPLETED)[0])

        return _in_flight(chunks, lambda args: self.pool.submit(func, *args), finished, 2 * self.workers)

    def close(self) -> None:
        """Stop the worker processes (chunks not yet started are cancelled)."""
        self.pool.shutdown(wait=True, cancel_futures=True)


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
        """Run the chunks as Ray tasks (at most ``max_in_flight`` in flight); yields ``(number, result)``
        as they finish."""
        ray = self.ray
        remote = ray.remote(func)

        def finished(refs: list[Any]) -> Iterator[tuple[Any, Any]]:
            return ((r, ray.get(r)) for r in ray.wait(refs, num_returns=1)[0])

        return _in_flight(chunks, lambda args: remote.remote(*args), finished, self.max_in_flight)

    def close(self) -> None:
        """Leave the Ray instance running (it may be shared)."""


def get_engine(name: str, address: str | None = None, workers: int | None = None) -> Engine:
    """The engine called ``name`` (``local``, ``process`` with ``workers`` processes, or ``ray``).

    Raises:
        NmrLensError: for an unknown engine, options of another engine, or ``ray`` without Ray installed.
    """
    if address and name != "ray":
        raise NmrLensError("--address: only used with --engine ray")
    if workers is not None and name != "process":
        raise NmrLensError("--workers: only used with --engine process")
    if name == "local":
        return LocalEngine()
    if name == "process":
        return ProcessEngine(workers)
    if name == "ray":
        return RayEngine(address)
    raise NmrLensError(f"--engine: got {name!r}, expected one of {', '.join(ENGINES)}")
