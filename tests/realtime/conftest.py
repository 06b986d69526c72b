"""Realtime tests: quick heartbeats and debouncing, tokens for the query string, a thread-run uvicorn."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from resight.config import Settings
from resight.db import make_engine
from resight.migrations import runner
from resight.users.models import Role
from tests.factories import headers_for


@pytest.fixture(scope="session")
def engine(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A database of these tests' own on SQLite. There, the app's commits inside a test's
    transaction are real (pysqlite emits no BEGIN, and RELEASE of the outermost SAVEPOINT commits),
    and these tests commit through the app (token checks, ingestion): rows they leave behind must
    not reach other domains' tests. On PostgreSQL the shared test database isolates correctly."""
    if database_url.startswith("sqlite"):
        database_url = f"sqlite:///{tmp_path_factory.mktemp('realtime') / 'realtime.db'}"
    db_engine = make_engine(database_url)
    runner.upgrade(db_engine)
    yield db_engine
    db_engine.dispose()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "ws_heartbeat_seconds": 0.3,
            "realtime_debounce_seconds": 0.05,
            "ws_client_timeout_seconds": 30,
            # These tests run the scoring callbacks themselves; a background scoring loop would
            # use the test's single database connection from another thread.
            "scoring_enabled": False,
        }
    )


@pytest.fixture
def app(app: FastAPI) -> FastAPI:
    # These tests check what the feeds read, including rows the test itself wrote in its own
    # transaction: the feeds share the test's connection (the tests wait for each message).
    del app.state.feeds_session_factory
    return app


def token_for(db: Session, role: Role = Role.viewer) -> str:
    token = headers_for(db, role)["Authorization"].removeprefix("Bearer ")
    db.commit()  # the app's own sessions must see it (a savepoint of the test's transaction)
    return token


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """A real uvicorn running `app` in a thread; yields ws://host:port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"ws://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
