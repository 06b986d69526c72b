"""Bulk inserts for generated data: COPY on PostgreSQL, the DBAPI's executemany on SQLite.

Both run on the caller's connection, inside its transaction. Timestamps are passed as text in the
form each backend's UTCDateTime column stores (SQLite: naive UTC 'YYYY-MM-DD HH:MM:SS.ffffff').
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection

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
