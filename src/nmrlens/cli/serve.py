"""``nmrlens serve [--host 127.0.0.1] [--port 8000] [--library LIB]``: the REST API and the web page."""

from __future__ import annotations

import argparse
import sys

__all__ = ["register", "run"]


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``serve`` subcommand."""
    p = sub.add_parser(
        "serve", help="run the REST API and the web page",
        description="Serve the REST API (/health, /predict, /search, /generate, /assign, /classify2d, /elucidate; "
        "OpenAPI schema at /openapi.json) and the web page at / (no outside resources). Needs the web "
        "extra: pip install 'nmrlens[web]'.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--library", help="library folder or spectra file for /search and /elucidate")
    p.add_argument("--workers", type=int, default=2, help="requests computed at once (default 2)")
    p.add_argument("--max-body", type=int, default=4 * 1024 * 1024, help="largest request body in bytes (default 4 MiB)")
    p.add_argument("--invert", action="store_true", help="let /elucidate also use the reversible network")
    p.add_argument("--no-preload", action="store_true", help="load the models on the first request, not at start")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Start the server (blocks until interrupted); returns the exit status."""
    from nmrlens.errors import NmrLensError

    if not 1 <= args.port <= 65535:
        raise NmrLensError(f"--port: got {args.port}, expected 1..65535")
    if not 1 <= args.workers <= 64:
        raise NmrLensError(f"--workers: got {args.workers}, expected 1..64")
    if not 1024 <= args.max_body <= 1 << 30:
        raise NmrLensError(f"--max-body: got {args.max_body}, expected 1024..{1 << 30} bytes")
    try:
        import uvicorn
    except ImportError:
        raise NmrLensError("serve: needs the web extra (pip install 'nmrlens[web]': fastapi, uvicorn)") from None
    from nmrlens.web import Settings, create_app

    settings = Settings(max_body_bytes=args.max_body, workers=args.workers, library=args.library, invert=args.invert)
    app = create_app(settings, preload=not args.no_preload)
    print(f"nmrlens: serving on http://{args.host}:{args.port}/ (API schema at /openapi.json)", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
