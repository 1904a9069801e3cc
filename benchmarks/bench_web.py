"""Load test of the web service on loopback: N requests from C concurrent clients to /predict and
/elucidate (alternating), against a real uvicorn server started in this process.

Run: ``.venv/bin/python benchmarks/bench_web.py [--requests 200] [--clients 20] [--library FILE]
[--time-limit 600] [--out result.json]`` (default library: tests/data/elucidate_library.json, so that
/elucidate ranks real candidates). Prints JSON: status counts, latency p50/p95/max per endpoint (s),
requests per second. Exits 1 when any response is a 5xx or a request fails.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SMILES = ["CCO", "CC(=O)OCc1ccccc1", "c1ccc2[nH]ccc2c1", "CC(C)Cc1ccc(C(C)C(=O)O)cc1", "O=C(O)c1ccccc1O",
          "CN1C=NC2=C1C(=O)N(C(=O)N2C)C", "CCOC(=O)C=Cc1ccccc1", "OCC1OC(O)C(O)C(O)C1O"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(library: str | None, workers: int = 2) -> tuple[Any, str, threading.Thread]:
    """Start uvicorn with the nmrlens app in a thread; returns (server, base URL, thread)."""
    import uvicorn

    from nmrlens.web import Settings, create_app

    app = create_app(Settings(library=library, workers=workers), preload=True)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    t0 = time.time()
    while not server.started:
        if time.time() - t0 > 120:
            raise RuntimeError("server did not start in 120 s")
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{port}", thread


def run_load(base: str, requests: int, clients: int, time_limit: float, query_text: str) -> dict[str, Any]:
    """Send the requests; returns the summary (status counts, latencies)."""
    import httpx

    deadline = time.time() + time_limit
    results: list[tuple[str, int, float]] = []
    lock = threading.Lock()
    counter = iter(range(requests))

    def worker(_: int) -> None:
        with httpx.Client(base_url=base, timeout=max(1.0, time_limit)) as c:
            while True:
                with lock:
                    i = next(counter, None)
                if i is None or time.time() > deadline:
                    return
                if i % 2 == 0:
                    path, body = "/predict", {"smiles": SMILES[(i // 2) % len(SMILES)]}
                else:
                    path, body = "/elucidate", {"text": query_text, "formula": "C9H10O2", "k": 5}
                t = time.perf_counter()
                try:
                    status = c.post(path, json=body).status_code
                except httpx.HTTPError:
                    status = -1
                dt = time.perf_counter() - t
                with lock:
                    results.append((path, status, dt))

    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, range(clients)))
    wall = time.perf_counter() - t0
    out: dict[str, Any] = {"requests": len(results), "clients": clients, "wall_seconds": round(wall, 2),
                           "requests_per_second": round(len(results) / wall, 2) if wall else None}
    statuses: dict[str, int] = {}
    for _, s, _ in results:
        statuses[str(s)] = statuses.get(str(s), 0) + 1
    out["status"] = statuses
    out["5xx"] = sum(v for k, v in statuses.items() if k.startswith("5"))
    out["failed"] = statuses.get("-1", 0)
    for path in ("/predict", "/elucidate", "all"):
        lat = sorted(dt for p, _, dt in results if path == "all" or p == path)
        if lat:
            out[path] = {"n": len(lat), "p50_s": round(statistics.median(lat), 3),
                         "p95_s": round(lat[min(len(lat) - 1, int(0.95 * len(lat)))], 3), "max_s": round(lat[-1], 3)}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--library", default=str(ROOT / "tests" / "data" / "elucidate_library.json"))
    ap.add_argument("--time-limit", type=float, default=600.0, help="stop sending after this many seconds")
    ap.add_argument("--workers", type=int, default=2, help="requests the server computes at once")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    server, base, thread = start_server(args.library or None, args.workers)
    try:
        text = (ROOT / "examples" / "benzyl_acetate.txt").read_text()
        summary = run_load(base, args.requests, args.clients, args.time_limit, text)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
    summary["library"] = args.library
    text = json.dumps(summary, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 1 if summary["5xx"] or summary["failed"] or summary["requests"] < args.requests else 0


if __name__ == "__main__":
    sys.exit(main())
