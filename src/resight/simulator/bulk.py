"""Bulk inserts for generated data: COPY on PostgreSQL, the DBAPI's executemany on SQLite.

Both run on the caller's connection, inside its transaction. Timestamps are passed as text in the
form each backend's UTCDateTime column stores (SQLite: naive UTC 'YYYY-MM-DD HH:MM:SS.ffffff').
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection, Table, inspect

CHUNK_ROWS = 50_000


def is_postgres(connection: Connection) -> bool:
    return connection.dialect.name == "postgresql"


def timestamps(connection: Connection, micros: NDArray[np.int64]) -> list[str]:
    """Microseconds since the Unix epoch (UTC) as the backend's timestamp text."""
    if micros.size == 0:
        return []
    unique, inverse = np.unique(micros, return_inverse=True)
    text = np.datetime_as_string(unique.astype("datetime64[us]"), unit="us")
    text = np.char.replace(text, "T", " ")
    if is_postgres(connection):
        text = np.char.add(text, "+00")
    result: list[str] = text[inverse].tolist()
    return result


def insert_rows(
    connection: Connection, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """Insert tuples into `table` (a trusted name) as fast as the backend allows."""
    if not rows:
        return
    driver = connection.connection.driver_connection
    names = ", ".join(columns)
    if is_postgres(connection):
        with driver.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:  # type: ignore[union-attr]
            for row in rows:
                copy.write_row(row)
        return
    placeholders = ", ".join("?" for _ in columns)
    cursor = driver.cursor()  # type: ignore[union-attr]
    try:
        for start in range(0, len(rows), CHUNK_ROWS):
            cursor.executemany(
                f"INSERT INTO {table} ({names}) VALUES ({placeholders})", rows[start : start + CHUNK_ROWS]
            )
    finally:
        cursor.close()


def update_rows(
    connection: Connection, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """UPDATE `table` SET columns... WHERE id = last element of each row."""
    if not rows:
        return
    driver = connection.connection.driver_connection
    marker = "%s" if is_postgres(connection) else "?"
    assignments = ", ".join(f"{column} = {marker}" for column in columns)
    statement = f"UPDATE {table} SET {assignments} WHERE id = {marker}"
    cursor = driver.cursor()  # type: ignore[union-attr]
    try:
        for start in range(0, len(rows), CHUNK_ROWS):
            cursor.executemany(statement, rows[start : start + CHUNK_ROWS])
    finally:
        cursor.close()


@contextmanager
def indexes_built_after(connection: Connection, tables: Sequence[Table]) -> Iterator[None]:
    """Load empty `tables` without their secondary indexes, then build each index once.

    CREATE INDEX sorts the rows once; growing an index row by row inserts at random places all over
    it, which on a big world (tens of millions of rows, far beyond the page cache) costs more than
    the rows themselves. Only for tables without rows, so no reader misses an index it relied on;
    inside the caller's transaction, so a failed load leaves the indexes as they were.
    """
    present = {
        table.name: {found["name"] for found in inspect(connection).get_indexes(table.name)}
        for table in tables
    }
    indexes = [index for table in tables for index in table.indexes if index.name in present[table.name]]
    for index in indexes:
        index.drop(connection)
    yield
    for index in indexes:
        index.create(connection)
