"""The models behind the web service: loaded once per app, shared by all requests (thread-safe).

Each component is loaded on first use under a lock (or all at start with :meth:`Services.preload`)
and kept; a component whose module or checkpoint is missing is remembered as unavailable with the
reason, and requests that need it get a 503 naming it.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any, Callable

from nmrlens.errors import NmrLensError

__all__ = ["Settings", "Services", "Unavailable"]

logger = logging.getLogger(__name__)


class Unavailable(NmrLensError):
    """A component the request needs is not installed (HTTP 503)."""


@dataclass(frozen=True)
class Settings:
    """Limits and options of the web service.

    Attributes:
        max_body_bytes: largest request body (bytes).
        max_text_chars: largest pasted text / uploaded file (characters).
        max_peaks: most peaks per 1D spectrum (and cross peaks per 2D spectrum).
        max_beam: largest generator beam width.
        max_k: most candidates returned.
        max_image_bytes: largest decoded 2D image (bytes).
        workers: requests computing at once (others wait); torch_threads: threads per computation.
        library: library folder or spectra file searched by /search and /elucidate (None: none).
        invert: let /elucidate also use the reversible network.
    """

    max_body_bytes: int = 4 * 1024 * 1024
    max_text_chars: int = 200_000
    max_peaks: int = 300
    max_beam: int = 32
    max_k: int = 50
    max_image_bytes: int = 3 * 1024 * 1024
    workers: int = 2
    torch_threads: int = 1
    library: str | None = None
    invert: bool = False


class Services:
    """Lazily loaded, shared components (elucidator, generator-only pipeline, classifier, ...)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.RLock()  # re-entrant: a component may build on another one
        self._loaded: dict[str, Any] = {}
        self._missing: dict[str, str] = {}
        self.compute = threading.BoundedSemaphore(max(1, settings.workers))

    def _get(self, name: str, make: Callable[[], Any]) -> Any:
        if name in self._loaded:
            return self._loaded[name]
        if name in self._missing:
            raise Unavailable(self._missing[name])
        with self._lock:
            if name in self._loaded:
                return self._loaded[name]
            if name in self._missing:
                raise Unavailable(self._missing[name])
            try:
                obj = make()
            except Unavailable as exc:
                self._missing[name] = str(exc)
                raise
            except NmrLensError as exc:
                from nmrlens.pipeline.candidates import ComponentUnavailable

                if isinstance(exc, ComponentUnavailable):
                    self._missing[name] = str(exc)
                    raise Unavailable(str(exc)) from None
                raise
            self._loaded[name] = obj
            return obj

    # -- components ------------------------------------------------------------------------------
    def elucidator(self) -> Any:
        """The full pipeline (library when configured, generator, predicted spectra, assignment)."""
        from nmrlens.pipeline import Elucidator

        return self._get("elucidate", lambda: Elucidator.default(library=self.settings.library,
                                                                 invert=self.settings.invert, library_required=False))

    def library_source(self) -> Any:
        """The library candidate source (503 when no library is configured)."""
        def make() -> Any:
            if self.settings.library is None:
                raise Unavailable("library: no library configured (start the server with --library)")
            el = self.elucidator()  # one library in memory, shared with /elucidate
            for src in el.sources:
                if src.name == "library":
                    return src
            why = el.components.get("library", "library: the library could not be opened")
            raise Unavailable(why.removeprefix("not available: "))

        return self._get("library", make)

    def generator_pipeline(self) -> Any:
        """A pipeline with the generator as its only source (503 when the model is not installed)."""
        def make() -> Any:
            from nmrlens.pipeline import Elucidator, GeneratorSource
            from nmrlens.pipeline.scoring import SpectrumPredictor

            src = GeneratorSource.create()
            base = self.elucidator()
            return Elucidator([src], predictor=base.predictor or SpectrumPredictor().load(), embedding=base.embedding,
                              components={"generate": "used"}, assign_top=0)

        return self._get("generate", make)

    def assigner(self) -> Any:
        """The assigner of the pipeline (the assignment model when installed, else shift matching)."""
        return self.elucidator().assigner

    def predictor(self) -> Any:
        """The spectrum predictor (shift model)."""
        def make() -> Any:
            from nmrlens.pipeline.scoring import SpectrumPredictor

            return SpectrumPredictor().load()

        return self._get("predict", make)

    def classifier(self, task: str) -> Any:
        """The 2D classifier of ``task`` ("substructure" or "superclass")."""
        def make() -> Any:
            from nmrlens.errors import DataNotFoundError
            from nmrlens.models.classify2d import SpectrumClassifier

            try:
                return SpectrumClassifier.load(None, task=task)
            except DataNotFoundError as exc:
                raise Unavailable(str(exc)) from None

        return self._get(f"classify2d:{task}", make)

    def components(self) -> dict[str, str]:
        """Component -> status, for /health."""
        out: dict[str, str] = {}
        el = self._loaded.get("elucidate")
        if el is not None:
            out.update(el.components)
        for name in self._loaded:
            out.setdefault(name, "used")
        for name, why in self._missing.items():
            out[name] = f"not available: {why}"
        return out

    def preload(self) -> None:
        """Load the main components now (so the first requests do not wait)."""
        for get in (self.predictor, self.elucidator):
            try:
                get()
            except NmrLensError as exc:
                logger.warning("preload: %s", exc)
