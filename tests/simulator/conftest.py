from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import _create_postgres_database, _drop_postgres_database


@pytest.fixture
def own_database(tmp_path: Path) -> Iterator[str]:
    """A database of its own, for commands and servers that commit: SQLite, or PostgreSQL when the
    suite runs on it. Not migrated."""
    base = os.environ.get("RESIGHT_TEST_DATABASE_URL")
    if not base:
        yield f"sqlite:///{tmp_path / 'own.db'}"
        return
    url, name = _create_postgres_database(base)
    try:
        yield url
    finally:
        _drop_postgres_database(base, name)
