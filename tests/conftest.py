"""Test database: migrated once per run; every test runs in a transaction that is rolled back.

SQLite (a temporary file) by default; PostgreSQL when RESIGHT_TEST_DATABASE_URL is set, in a
database created for this run so that parallel runs cannot disturb each other.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from resight.app import create_app
from resight.config import Settings
from resight.db import make_engine
from resight.migrations import runner


def _create_postgres_database(base_url: str) -> tuple[str, str]:
    url = make_url(base_url).set(drivername="postgresql+psycopg")
    name = f"resight_test_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False), name


def _drop_postgres_database(base_url: str, name: str) -> None:
    url = make_url(base_url).set(drivername="postgresql+psycopg")
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@contextlib.contextmanager
def own_migrated_database(sqlite_file: Path) -> Iterator[tuple[str, Engine]]:
    """A database of the caller's own, migrated to head, for tests whose commits must not reach the
    rest of the run: a fresh PostgreSQL database under RESIGHT_TEST_DATABASE_URL (dropped after),
    else the SQLite file `sqlite_file`. Yields its URL and an engine."""
    base = os.environ.get("RESIGHT_TEST_DATABASE_URL")
    url, name = _create_postgres_database(base) if base else (f"sqlite:///{sqlite_file}", "")
    engine = make_engine(url)
    try:
        runner.upgrade(engine)
        yield url, engine
    finally:
        engine.dispose()
        if base:
            _drop_postgres_database(base, name)


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    base = os.environ.get("RESIGHT_TEST_DATABASE_URL")
    if base:
        url, name = _create_postgres_database(base)
        try:
            yield url
        finally:
            _drop_postgres_database(base, name)
    else:
        with tempfile.TemporaryDirectory(prefix="resight-test-") as tmp:
            yield f"sqlite:///{Path(tmp) / 'test.db'}"


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    db_engine = make_engine(database_url)
    runner.upgrade(db_engine)
    yield db_engine
    db_engine.dispose()


def _begin_explicitly(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN")


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn:
        driver: Any = conn.connection.driver_connection if conn.dialect.name == "sqlite" else None
        if driver is not None:
            # pysqlite begins a transaction only before DML, so a SAVEPOINT issued first would become
            # the outermost transaction and its RELEASE would commit the test's data. Begin explicitly.
            driver.isolation_level = None
            event.listen(conn, "begin", _begin_explicitly)
        outer = conn.begin()
        try:
            yield conn
        finally:
            outer.rollback()
            if driver is not None:
                event.remove(conn, "begin", _begin_explicitly)
                driver.isolation_level = ""


@pytest.fixture
def session_factory(connection: Connection) -> sessionmaker[Session]:
    # Each commit inside the app releases a savepoint; the test's outer transaction is rolled back.
    return sessionmaker(
        bind=connection, expire_on_commit=False, autoflush=False, join_transaction_mode="create_savepoint"
    )


@pytest.fixture
def db(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as session:
        yield session


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        DATABASE_URL=database_url,
        RESIGHT_SECRET_KEY="test-secret-key-" + "x" * 32,
        RESIGHT_SECRET_KEY_FILE=tmp_path / "secret",
        # Tests run scoring cycles themselves (the loop would share the test's connection).
        RESIGHT_SCORING_ENABLED=False,
        RESIGHT_MODELS_DIR=tmp_path / "models",
    )


@pytest.fixture
def app(settings: Settings, engine: Engine, session_factory: sessionmaker[Session]) -> FastAPI:
    application = create_app(settings, engine=engine, session_factory=session_factory)
    # The live feeds read on worker threads while the test goes on with its single-threaded
    # connection: they get connections of their own (seeing committed data only).
    application.state.feeds_session_factory = sessionmaker(bind=engine, expire_on_commit=False)
    return application


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=True) as test_client:
        yield test_client
