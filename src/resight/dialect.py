"""The few statements that differ between SQLite and PostgreSQL, in one place."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Table, func, literal_column
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def upsert_insert(session: Session, table: Table) -> Any:
    """An INSERT that supports .on_conflict_do_nothing() / .on_conflict_do_update() on both backends."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def hour_floor(session: Session, column: ColumnElement[Any]) -> ColumnElement[Any]:
    """Truncate a UTC timestamp column to the hour, in the same form UTCDateTime stores."""
    if session.get_bind().dialect.name == "postgresql":
        return func.date_trunc("hour", column)
    # SQLAlchemy stores SQLite datetimes as 'YYYY-MM-DD HH:MM:SS.ffffff'; match it exactly.
    return func.strftime(literal_column("'%Y-%m-%d %H:00:00.000000'"), column)
