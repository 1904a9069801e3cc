"""The nmrlens web service: a FastAPI app with the REST API and a single-page UI (``nmrlens serve``).

FastAPI is an optional dependency (``pip install nmrlens[web]``); it is imported by
:func:`create_app` only.
"""

from typing import Any

from nmrlens.web.services import Settings

__all__ = ["Settings", "create_app"]


def create_app(*args: Any, **kwargs: Any) -> Any:
    """Build the FastAPI app (see :func:`nmrlens.web.app.create_app`)."""
    from nmrlens.web.app import create_app as _create

    return _create(*args, **kwargs)
