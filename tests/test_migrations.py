from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

import resight.models  # noqa: F401
from resight.db import Base, make_engine
from resight.migrations import runner
from tests.conftest import _create_postgres_database, _drop_postgres_database


@pytest.fixture
def fresh_engine(tmp_path: os.PathLike[str]) -> Iterator[Engine]:
    base = os.environ.get("RESIGHT_TEST_DATABASE_URL")
    if base:
        url, name = _create_postgres_database(base)
        engine = make_engine(url)
        yield engine
        engine.dispose()
        _drop_postgres_database(base, name)
    else:
        engine = make_engine(f"sqlite:///{tmp_path}/fresh.db")
        yield engine
        engine.dispose()


def test_models_and_migrations_agree(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_upgrade_downgrade_upgrade(fresh_engine: Engine) -> None:
    runner.upgrade(fresh_engine)
    tables = set(inspect(fresh_engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    runner.downgrade(fresh_engine, "base")
    assert set(inspect(fresh_engine).get_table_names()) <= {"alembic_version"}
    runner.upgrade(fresh_engine)
    assert runner.current_revisions(fresh_engine) == runner.head_revisions()
    assert set(Base.metadata.tables) <= set(inspect(fresh_engine).get_table_names())
