"""Database plumbing: the declarative base, column types, engines, and the one place that commits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import BigInteger, Connection, DateTime, Engine, Integer, MetaData, create_engine, event, text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import SingletonThreadPool, StaticPool
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets 64-bit ids.
BigIntId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; ReSight stores only timezone-aware UTC times")
        value = value.astimezone(dt.UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    # FULL: every commit is on disk (the WAL fsynced) before it returns, so a delivery answered
    # 2xx survives a power loss of the host too, not just a crash of the process. Commits are
    # grouped on the ingestion path, so the fsyncs cost little (docs/decisions/0304-sqlite-settings.md).
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=30000")
    # A page cache that holds the hot rollup and index pages (a ceiling, filled only as used),
    # temporary b-trees in memory, and checkpoints every ~40 MB of WAL rather than ~4 MB, so a
    # page written many times between two checkpoints is copied back once.
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.execute("PRAGMA wal_autocheckpoint=10000")
    cursor.close()


def make_engine(database_url: str, **kwargs: Any) -> Engine:
    if database_url.startswith("sqlite"):
        connect_args = {"check_same_thread": False, "timeout": 30}
        engine = create_engine(database_url, connect_args=connect_args, **kwargs)
        event.listen(engine, "connect", _configure_sqlite)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(database_url, **kwargs)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)


@contextmanager
def transaction(factory: sessionmaker[Session], bind: Connection | None = None) -> Iterator[Session]:
    """The one place that commits: services only flush, this commits or rolls back. `bind`: one
    connection to work on instead of one from the factory's engine (the ingestion writer keeps
    its own, integrations/writer.py)."""
    session = factory() if bind is None else factory(bind=bind)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def reader_beside(session: Session) -> Session | None:
    """A new session on another connection of `session`'s engine, for a read on another thread at
    the same time as one on `session` (the caller closes it), or None where that other connection
    would see other data than `session`: when `session` has written in its transaction (another
    connection sees only what is committed) or its engine has one connection (in-memory SQLite).

    Each read outside a transaction sees the newest commit when it starts, on PostgreSQL (read
    committed) as on SQLite, so two statements on one connection may see different commits as
    well as two statements on two connections: reading beside changes no guarantee."""
    bind = session.get_bind()
    if not isinstance(bind, Engine) or isinstance(bind.pool, SingletonThreadPool | StaticPool):
        return None
    if session.new or session.dirty or session.deleted:
        return None
    connection = session.connection()
    if bind.dialect.name == "sqlite":
        # The driver opens a transaction only to write (BEGIN before DML), never to read.
        if connection.connection.dbapi_connection.in_transaction:  # type: ignore[union-attr]
            return None
    elif connection.execute(text("SELECT txid_current_if_assigned()")).scalar() is not None:
        return None  # PostgreSQL assigns a transaction id at its first write
    return Session(bind=bind)
