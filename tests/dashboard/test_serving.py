"""The dashboard is served at /app/ with a fallback to index.html and its own security headers."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from resight.dashboard import CONTENT_SECURITY_POLICY, mount_dashboard


def _client(directory: Path) -> TestClient:
    app = FastAPI()
    mount_dashboard(app, directory)
    return TestClient(app)


@pytest.fixture
def built(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text('<!doctype html><div id="root"></div>')
    (tmp_path / "assets" / "index-abc123.js").write_text("console.log(1)")
    return tmp_path


def test_index_is_served_with_csp_and_no_cache(built: Path) -> None:
    response = _client(built).get("/app/")
    assert response.status_code == 200
    assert '<div id="root">' in response.text
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
    assert response.headers["cache-control"] == "no-cache"


def test_client_side_routes_fall_back_to_index(built: Path) -> None:
    client = _client(built)
    for path in ("/app/products", "/app/products/42", "/app/audit"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert '<div id="root">' in response.text


def test_hashed_assets_are_cached_and_missing_ones_are_404(built: Path) -> None:
    client = _client(built)
    asset = client.get("/app/assets/index-abc123.js")
    assert asset.status_code == 200
    assert "immutable" in asset.headers["cache-control"]
    assert client.get("/app/assets/index-gone.js").status_code == 404
    assert client.get("/app/favicon.png").status_code == 404


def test_missing_build_answers_a_clear_message(tmp_path: Path) -> None:
    response = _client(tmp_path / "nothing-here").get("/app/")
    assert response.status_code == 503
    assert "make install" in response.text
    assert "has not been built" in response.text


def test_the_app_mounts_the_dashboard_and_a_browser_lands_on_it(client: TestClient) -> None:
    landing = client.get("/", headers={"Accept": "text/html"}, follow_redirects=False)
    assert landing.status_code == 307
    assert landing.headers["location"] == "/app/"
    page = client.get("/app/")
    # Built (200) or not yet built (503 with instructions), never an error page.
    assert page.status_code in (200, 503)
    assert "text/html" in page.headers["content-type"]
