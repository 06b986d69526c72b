"""Bulk statements on the session's own DBAPI connection, for the ingestion hot path.

SQLAlchemy's per-row work (compiling parameters, running each column type's bind processor)
cost more than the database itself when one delivery writes thousands of rows
(docs/decisions/0301-raw-bulk-ingestion-writes.md). These helpers run plain SQL on the same
connection, inside the session's transaction and savepoints, and convert values the way
SQLAlchemy's column types would, so rows written here read back identically through the ORM.
Statements are written with `?` placeholders; for PostgreSQL they become `%s`.
DBAPI errors are re-raised as SQLAlchemy's (IntegrityError, DataError, ...), so callers catch one
family of exceptions whichever path wrote the row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from operator import attrgetter
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

_TZINFO = attrgetter("tzinfo")
_UTC_ONLY = {dt.UTC}

# sqlite_text's "YYYY-MM-DD HH:" of each UTC hour seen, and "00" .. "59".
_HOUR_TEXTS: dict[tuple[int, int, int, int], str] = {}
_HOUR_TEXTS_MAX = 100_000
_TWO_DIGITS = [f"{n:02d}" for n in range(60)]


def sqlite_text(moment: dt.datetime) -> str:
    """A UTC time (tzinfo UTC) as SQLite stores it: naive UTC text with microseconds, exactly
    `isoformat(" ", "microseconds")` without the offset. Composed from a text per hour, because
    isoformat of an aware time formats its offset through printf: a batch's thousands of times
    cost ~2.5× as much that way (docs/decisions/0303, fourth pass)."""
    key = (moment.year, moment.month, moment.day, moment.hour)
    hour = _HOUR_TEXTS.get(key)
    if hour is None:
        if len(_HOUR_TEXTS) >= _HOUR_TEXTS_MAX:
            _HOUR_TEXTS.clear()
        hour = moment.replace(minute=0, second=0, microsecond=0, tzinfo=None).isoformat(" ")[:14]
        _HOUR_TEXTS[key] = hour
    return f"{hour}{_TWO_DIGITS[moment.minute]}:{_TWO_DIGITS[moment.second]}.{moment.microsecond:06d}"


# Below SQLite's limit of 32,766 bound parameters per statement, and PostgreSQL's 65,535.
MAX_PARAMETERS = 30_000
# insert_many on SQLite: rows per statement, largest first; the last size is 1, so every count of
# rows is covered with at most three statement texts per table (each prepared once, then cached).
ROWS_PER_STATEMENT = (100, 10, 1)


class Bulk:
    """The session's current connection, opened for plain SQL (no new transaction)."""

    def __init__(self, session: Session) -> None:
        connection = session.connection()
        self.dialect = connection.dialect
        self.sqlite = self.dialect.name == "sqlite"
        self._driver: Any = connection.connection.driver_connection
        # Times already converted by `time` (a delivery repeats its times across tables): callers
        # with many may look a time up here before calling `time`.
        self.stored_times: dict[dt.datetime, Any] = {}

    def sql(self, statement: str) -> str:
        return statement if self.sqlite else statement.replace("?", "%s")

    def time(self, moment: dt.datetime | None) -> Any:
        """A timezone-aware time as UTCDateTime stores it (SQLite: naive UTC text with microseconds)."""
        if moment is None:
            return None
        stored = self.stored_times.get(moment)
        if stored is None:
            if moment.tzinfo is None:
                raise ValueError("naive datetime given; ReSight stores only timezone-aware UTC times")
            utc = moment if moment.tzinfo is dt.UTC else moment.astimezone(dt.UTC)
            stored = sqlite_text(utc) if self.sqlite else utc
            self.stored_times[moment] = stored
        return stored

    def times(self, moments: Sequence[dt.datetime]) -> list[Any]:
        """`time` of each of many times, in C calls when all are UTC (a batch's usually are)."""
        if set(map(_TZINFO, moments)) <= _UTC_ONLY:
            if not self.sqlite:
                return list(moments)
            distinct = dict.fromkeys(moments)  # an hourly batch has a few dozen times for thousands
            stored = dict(zip(distinct, map(sqlite_text, distinct)))  # noqa: B905
            return list(map(stored.__getitem__, moments))
        return [self.time(moment) for moment in moments]

    def read_time(self, value: Any) -> dt.datetime | None:
        """A UTCDateTime column read back by plain SQL, as the ORM would return it."""
        if value is None:
            return None
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        assert isinstance(value, dt.datetime)
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)

    @contextmanager
    def _errors(self, statement: str, parameters: Any) -> Iterator[Any]:
        cursor = self._driver.cursor()
        try:
            yield cursor
        except self.dialect.loaded_dbapi.Error as exc:
            raise DBAPIError.instance(
                statement, None, exc, self.dialect.loaded_dbapi.Error, dialect=self.dialect
            ) from exc
        finally:
            cursor.close()

    def executemany(self, statement: str, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        statement = self.sql(statement)
        with self._errors(statement, rows) as cursor:
            cursor.executemany(statement, rows)

    def execute_count(self, statement: str, rows: Sequence[Sequence[Any]]) -> int:
        """executemany; the number of rows the statement changed (inserted, updated) in total."""
        if not rows:
            return 0
        statement = self.sql(statement)
        with self._errors(statement, rows) as cursor:
            cursor.executemany(statement, rows)
            count: int = cursor.rowcount
            return count

    def insert_many(
        self, head: str, width: int, rows: Sequence[Sequence[Any]], tail: str = "", *, values: str = ""
    ) -> int:
        """`head` VALUES (?, …) `tail` for each row of `width` values, in order, as executemany
        would; the number of rows changed. `values`, when given, is one row's `(…)`: `width`
        placeholders among literals. On SQLite the rows go a hundred to a statement
        (`INSERT … VALUES (…), (…), …`): each execution of a statement costs SQLite a reset, a
        statement journal and its API mutex on top of the row, and a hundred rows share them
        (~40 % less CPU per events row, docs/decisions/0303, fourth pass). Rows are applied in
        order within a statement, so a later row meets an earlier one's conflict as it would
        one statement later. PostgreSQL: one row per execution (psycopg pipelines them)."""
        group = values or "(" + placeholders(width) + ")"
        if not self.sqlite:
            return self.execute_count(f"{head} VALUES {group} {tail}", rows)
        changed = 0
        for size, runs in _runs(rows):
            changed += self.execute_count(f"{head} VALUES {', '.join([group] * size)} {tail}", runs)
        return changed

    def update_many(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """`UPDATE table SET column = ?, … WHERE id = ?` for each row (its `columns`' values, then
        its id; at most one row per id). On SQLite a hundred rows go to a statement, as
        `UPDATE … FROM (VALUES …)` joined on the id (see insert_many; ~1 % of a mixed batch's
        instructions, docs/decisions/0303); PostgreSQL: one row per execution."""
        one = f"UPDATE {table} SET {', '.join(f'{name} = ?' for name in columns)} WHERE id = ?"
        if not self.sqlite:
            self.executemany(one, rows)
            return
        width = len(columns) + 1
        assignments = ", ".join(f"{name} = v.column{k}" for k, name in enumerate(columns, start=1))
        group = "(" + placeholders(width) + ")"
        for size, runs in _runs(rows):
            statement = (
                f"UPDATE {table} SET {assignments} FROM (VALUES {', '.join([group] * size)}) AS v "
                f"WHERE {table}.id = v.column{width}"
            )
            self.executemany(one if size == 1 else statement, runs)

    def query(self, statement: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        statement = self.sql(statement)
        with self._errors(statement, parameters) as cursor:
            cursor.execute(statement, parameters)
            return list(cursor.fetchall())

    def insert_returning(
        self,
        head: str,
        width: int,
        rows: Sequence[Sequence[Any]],
        tail: str,
        cast: Mapping[int, str] | None = None,
    ) -> list[tuple[Any, ...]]:
        """`head` VALUES (?, ...), (?, ...) `tail` in as few statements as the parameter limit
        allows (SQLite cannot RETURNING from executemany); every returned row.

        `cast` names a PostgreSQL type for some positions (a JSON column given JSON text)."""
        returned: list[tuple[Any, ...]] = []
        per_statement = max(1, MAX_PARAMETERS // width)
        slots = ["?"] * width
        if cast and not self.sqlite:
            for position, type_name in cast.items():
                slots[position] = f"CAST(? AS {type_name})"
        group = "(" + ", ".join(slots) + ")"
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            statement = f"{head} VALUES {', '.join([group] * len(chunk))} {tail}"
            returned.extend(self.query(statement, [value for row in chunk for value in row]))
        return returned


def _runs(rows: Sequence[Sequence[Any]]) -> Iterator[tuple[int, list[list[Any]]]]:
    """The rows cut into runs of ROWS_PER_STATEMENT's sizes, largest first: (size, each run's
    values in one list) per size used. Every row is in exactly one run, in order."""
    start = 0
    for size in ROWS_PER_STATEMENT:
        whole = (len(rows) - start) // size * size
        if whole:
            yield size, [_flat(rows[at : at + size]) for at in range(start, start + whole, size)]
            start += whole


def _flat(rows: Sequence[Sequence[Any]]) -> list[Any]:
    """The rows' values in one list. `list.extend` copies a tuple or list whole, so a loop of
    them costs a third of `list(chain.from_iterable(rows))`, which steps value by value
    (docs/decisions/0303, fifth pass)."""
    flat: list[Any] = []
    extend = flat.extend
    for row in rows:
        extend(row)
    return flat


def placeholders(count: int) -> str:
    return ", ".join("?" * count)
