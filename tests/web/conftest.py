"""Fixtures of the web tests: one app per module (models load once), markers for browser/load tests."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("fastapi")

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = ROOT / "tests" / "data" / "elucidate_library.json"
EXAMPLE_TXT = ROOT / "examples" / "benzyl_acetate.txt"
EXAMPLE_JSON = ROOT / "examples" / "benzyl_acetate.json"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: end-to-end test in a headless browser (needs playwright + chromium)")
    config.addinivalue_line("markers", "load: load test on loopback (starts a server)")


@pytest.fixture(scope="session")
def app_settings():  # noqa: ANN201
    from nmrlens.web import Settings

    return Settings(library=str(LIBRARY), max_body_bytes=256 * 1024, max_peaks=50, max_beam=16, max_k=20, workers=2)


@pytest.fixture(scope="session")
def client(app_settings):  # noqa: ANN001, ANN201
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*httpx.*")
        from fastapi.testclient import TestClient
    from nmrlens.web import create_app

    with TestClient(create_app(app_settings)) as c:
        yield c
