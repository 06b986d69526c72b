"""Which database exceptions become which answers (resight.errors): the handlers must cover what
SQLAlchemy actually raises when PostgreSQL goes away mid-request, and nothing more."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    IntegrityError,
    InterfaceError,
    OperationalError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout

from resight.errors import install_database_error_handler, install_error_handlers


class _Orig(Exception):
    pass


RAISED: dict[str, Exception] = {
    "operational": OperationalError("SELECT 1", {}, _Orig("server closed the connection unexpectedly")),
    "interface": InterfaceError("COMMIT", {}, _Orig("connection already closed")),
    "invalidated": DBAPIError("COMMIT", {}, _Orig("consuming input failed"), connection_invalidated=True),
    "pool timeout": PoolTimeout("QueuePool limit of size 10 overflow 20 reached"),
    "data": DataError("INSERT", {}, _Orig("integer out of range")),
    "sqlite overflow": OverflowError("Python int too large to convert to SQLite INTEGER"),
    "other overflow": OverflowError("math range error"),
    "integrity": IntegrityError("INSERT", {}, _Orig("duplicate key")),
    "other dbapi": DBAPIError("SELECT", {}, _Orig("syntax error")),
}
EXPECTED = {
    "operational": 503,
    "interface": 503,
    "invalidated": 503,
    "pool timeout": 503,
    "data": 400,
    "sqlite overflow": 400,
    "other overflow": 500,
    "integrity": 500,
    "other dbapi": 500,
}


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = FastAPI()
    install_error_handlers(app)
    install_database_error_handler(app)

    @app.get("/raise/{name}")
    def fail(name: str) -> None:
        raise RAISED[name]

    return TestClient(app, raise_server_exceptions=False)


@pytest.mark.parametrize("name", sorted(RAISED))
def test_database_errors_map_to_their_answer(client: TestClient, name: str) -> None:
    response = client.get(f"/raise/{name}")
    assert response.status_code == EXPECTED[name]
    if response.status_code == 503:
        assert response.headers["retry-after"] == "5"
        assert response.json() == {"detail": "database unavailable, retry later"}
    if response.status_code == 400:
        assert response.json()["detail"].startswith("a value is out of range: ")
