"""Load test on loopback: >= 200 requests from 20 concurrent clients to /predict and /elucidate
against a real uvicorn server; zero 5xx, every request answered, bounded in time."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.load]
pytest.importorskip("uvicorn")
pytest.importorskip("httpx")


def _bench():  # noqa: ANN202
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_web.py"
    spec = importlib.util.spec_from_file_location("bench_web", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def test_200_requests_from_20_clients_without_5xx() -> None:
    bench = _bench()
    server, base, thread = bench.start_server(str(Path(__file__).resolve().parents[1] / "data" / "elucidate_library.json"))
    try:
        text = (Path(__file__).resolve().parents[2] / "examples" / "benzyl_acetate.txt").read_text()
        out = bench.run_load(base, 200, 20, 540.0, text)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
    assert out["requests"] == 200
    assert out["5xx"] == 0 and out["failed"] == 0
    assert out["status"] == {"200": 200}
    assert out["/predict"]["n"] == 100 and out["/elucidate"]["n"] == 100
    assert out["all"]["p95_s"] < 300.0  # bounded; the measured value goes to docs/benchmarks.md
