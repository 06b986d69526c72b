from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from resight import __version__
from resight.app import create_app
from resight.config import Settings
from resight.migrations.runner import DatabaseNotMigrated


def test_health_reports_ok(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "status": "ok",
        "version": __version__,
        "database": "ok",
        "model_version": None,
        "last_scored_at": None,
        "model_problem": None,
    }
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-request-id"]


def test_browser_is_sent_to_the_dashboard(client: TestClient) -> None:
    response = client.get("/", headers={"accept": "text/html,application/xhtml+xml"}, follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == "/app/"


def test_unknown_path_is_json_404(client: TestClient) -> None:
    response = client.get("/no-such-thing")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


def test_server_refuses_to_start_on_an_unmigrated_database(tmp_path: Path) -> None:
    settings = Settings(DATABASE_URL=f"sqlite:///{tmp_path / 'empty.db'}", RESIGHT_SECRET_KEY="k" * 40)
    with pytest.raises(DatabaseNotMigrated, match="resight init-db"), TestClient(create_app(settings)):
        pass


def test_cors_allows_only_configured_origins(engine: Engine, session_factory: sessionmaker[Session]) -> None:
    settings = Settings(
        RESIGHT_CORS_ORIGINS="https://seller.example",
        RESIGHT_SECRET_KEY="k" * 40,
        # No scoring loop: it would take the scorer lock and use the test's connection from a thread.
        RESIGHT_SCORING_ENABLED=False,
    )
    with TestClient(create_app(settings, engine=engine, session_factory=session_factory)) as client:
        allowed = client.options(
            "/products", headers={"Origin": "https://seller.example", "Access-Control-Request-Method": "GET"}
        )
        assert allowed.headers.get("access-control-allow-origin") == "https://seller.example"
        refused = client.options(
            "/products", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
        )
        assert "access-control-allow-origin" not in refused.headers
