"""The few statements that differ between SQLite and PostgreSQL, in one place."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, SQLColumnExpression, Table, func, literal_column
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import UnaryExpression


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


def ist_hour_floor(session: Session, column: ColumnElement[Any]) -> ColumnElement[Any]:
    """The UTC instant at which the IST hour containing a UTC timestamp column begins (hh:30 UTC)."""
    if session.get_bind().dialect.name == "postgresql":
        # date_bin works on absolute instants, whatever the session's TimeZone setting is.
        return func.date_bin(
            literal_column("interval '1 hour'"),
            column,
            literal_column("timestamptz '2000-01-01 00:30:00+00'"),
        )
    # IST is UTC+05:30 with no daylight saving: shift by 30 minutes, truncate, shift back.
    return func.strftime(
        literal_column("'%Y-%m-%d %H:%M:%S.000000'"),
        func.strftime(literal_column("'%Y-%m-%d %H:00:00'"), column, literal_column("'+30 minutes'")),
        literal_column("'-30 minutes'"),
    )


def escape_like(text: str) -> str:
    """`text` for a LIKE pattern with `escape="\\"`: its % _ and \\ taken literally."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def contains_ignoring_case(
    session: Session, column: SQLColumnExpression[str], text: str
) -> ColumnElement[bool]:
    """`text` anywhere in the column, ignoring case, with % _ \\ taken literally. SQLite's LIKE
    already ignores ASCII case (and its lower() folds nothing more), so wrapping the column in
    lower() would only double the scan's cost; PostgreSQL's ILIKE folds Unicode too."""
    pattern = "%" + escape_like(text) + "%"
    if session.get_bind().dialect.name == "postgresql":
        return column.ilike(pattern, escape="\\")
    return column.like(pattern, escape="\\")


def not_for_seeking(session: Session, column: ColumnElement[Any]) -> ColumnElement[Any]:
    """The column, but not as a way into the table: for a query that must be driven by another
    index (the ranking's order) although this column's index would match fewer rows. SQLite plans
    without statistics and takes any equality's index, so the column goes behind a unary `+`, its
    documented way to disqualify an index; PostgreSQL weighs both plans by statistics and LIMIT."""
    if session.get_bind().dialect.name == "postgresql":
        return column
    return UnaryExpression(column, operator=operators.custom_op("+"), type_=column.type)
