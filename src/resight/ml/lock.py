"""Exactly one scorer per database, however many API processes run.

PostgreSQL: a session-level advisory lock held on a dedicated connection for as long as the
process scores (the server drops it if the process dies). SQLite: an exclusive `flock` on a file
beside the database file (SQLite databases are local, so every process that can open the database
can see the lock; the kernel drops it if the process dies). An in-memory SQLite database belongs
to one process, which is then the only scorer.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

# Any constant shared by every ReSight process: "RSSCORE" in ASCII.
ADVISORY_KEY = 0x5253_5343_4F52_45


class ScorerLock:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._connection: Connection | None = None
        self._file: IO[bytes] | None = None
        self.path: Path | None = None
        # Times the lock was newly obtained: a holder that lost it and took it back (another
        # process may have scored meanwhile) sees this change and drops its cached state.
        self.acquisitions = 0
        if engine.dialect.name == "sqlite":
            database = engine.url.database
            if database and database != ":memory:" and not database.startswith("file::memory:"):
                self.path = Path(database).resolve().with_name(Path(database).name + ".scorer-lock")

    @property
    def held(self) -> bool:
        if self._engine.dialect.name == "postgresql":
            return self._connection is not None
        return self.path is None or self._file is not None

    def acquire(self) -> bool:
        """Take the lock if free (never blocks); True while this process holds it."""
        if self._engine.dialect.name == "postgresql":
            return self._acquire_postgres()
        if self.path is None or self._file is not None:
            return True
        handle = open(self.path, "ab")  # kept open while the lock is held
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        handle.truncate(0)
        handle.write(f"{os.getpid()}\n".encode())
        handle.flush()
        self._file = handle
        self.acquisitions += 1
        return True

    def _acquire_postgres(self) -> bool:
        if self._connection is not None:
            try:  # still ours only while the connection lives
                self._connection.execute(text("SELECT 1"))
                return True
            except SQLAlchemyError:
                self._drop_connection()
        connection = self._engine.connect()
        try:
            got = bool(
                connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_KEY}).scalar()
            )
            connection.commit()
        except SQLAlchemyError:
            connection.close()
            return False
        if not got:
            connection.close()
            return False
        self._connection = connection
        self.acquisitions += 1
        return True

    def _drop_connection(self) -> None:
        if self._connection is not None:
            try:
                self._connection.invalidate()
                self._connection.close()
            finally:
                self._connection = None

    def release(self) -> None:
        if self._connection is not None:
            try:
                self._connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_KEY})
                self._connection.commit()
                self._connection.close()
            except SQLAlchemyError:
                self._drop_connection()
            self._connection = None
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None
