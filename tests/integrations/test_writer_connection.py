"""The ingestion writer keeps one SQLite connection from group to group, so SQLite's page cache
(per connection, emptied when another connection commits) stays warm; it gives the connection back
after a failed transaction and when the thread stops. On PostgreSQL it takes one from the pool
for each transaction (the pool's pre-ping replaces a connection a restart broke)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session

from resight.audit.service import SYSTEM, verify_chain
from resight.catalog import stores
from resight.catalog.models import Platform, Product, Store
from resight.db import make_session_factory, transaction
from resight.integrations import inbox, writer
from resight.integrations.credentials import CredentialCache
from resight.integrations.models import DeliveryStatus
from resight.integrations.records import StoreRef
from resight.integrations.signatures import fernet_for
from tests.conftest import own_migrated_database

SECRET_KEY = "writer-test-secret-key-" + "w" * 32
FERNET = fernet_for(SECRET_KEY)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    with own_migrated_database(tmp_path / "writer.db") as (_url, db_engine):
        yield db_engine


def _writer_checkouts(engine: Engine) -> list[int]:
    """The DBAPI connection (its id) of each checkout the writer thread makes, as they happen."""
    seen: list[int] = []

    def on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if threading.current_thread().name == "resight-ingestion-writer":
            seen.append(id(dbapi_connection))

    event.listen(engine, "checkout", on_checkout)
    return seen


def _create_store(name: str) -> Any:
    def work(session: Session) -> int:
        store, _secret = stores.create_store(session, SYSTEM, FERNET, platform=Platform.amazon, name=name)
        return store.id

    return work


def _stock_change(store: StoreRef, sku: str, quantity: int) -> inbox.Incoming:
    body = {
        "NotificationType": "LISTINGS_ITEM_MFN_QUANTITY_CHANGE",
        "EventTime": "2026-11-01T10:00:00Z",
        "Payload": {"Sku": sku, "Quantity": quantity},
    }
    raw = json.dumps(body).encode()
    return inbox.Incoming(store, f"{sku}-{quantity}", raw, inbox.decode_body(raw), {})


def _store_names(engine: Engine) -> list[str]:
    with make_session_factory(engine)() as session:
        return sorted(session.scalars(select(Store.name)))


def test_the_writer_keeps_its_connection_while_others_commit_between_its_groups(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer, "IDLE_SECONDS", 60.0)  # no idle stop between the steps, however slow
    sqlite = engine.dialect.name == "sqlite"
    ingestion = writer.Ingestion(CredentialCache(FERNET), make_session_factory(engine))
    checkouts = _writer_checkouts(engine)
    first_id = ingestion.write(_create_store("writer 1"))
    ref = StoreRef(first_id, Platform.amazon, "writer 1", None)
    for n in range(2, 5):
        # A commit on another connection between the writer's transactions: the pool now holds two
        # connections and hands them out in turn.
        with transaction(make_session_factory(engine)) as session:
            stores.create_store(session, SYSTEM, FERNET, platform=Platform.amazon, name=f"other {n}")
        ingestion.write(_create_store(f"writer {n}"))
        receipt = asyncio.run(ingestion.deliver(_stock_change(ref, "PIN-1", n)))
        assert receipt.status is DeliveryStatus.processed
    # Four `write`s and three deliveries, each its own transaction.
    assert len(checkouts) == (1 if sqlite else 7)
    assert _store_names(engine) == sorted(
        [f"writer {n}" for n in range(1, 5)] + [f"other {n}" for n in range(2, 5)]
    )
    with make_session_factory(engine)() as session:
        assert session.scalar(select(Product.stock).where(Product.sku == "PIN-1")) == 4
        assert verify_chain(session) is None


def test_a_failed_transaction_gives_the_connection_back_and_the_next_one_commits(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer, "IDLE_SECONDS", 60.0)
    sqlite = engine.dialect.name == "sqlite"
    ingestion = writer.Ingestion(CredentialCache(FERNET), make_session_factory(engine))
    checkouts = _writer_checkouts(engine)
    ingestion.write(_create_store("before"))

    def create_then_fail(session: Session) -> None:
        _create_store("rolled back")(session)
        session.flush()
        raise ValueError("the work failed after its writes")

    with pytest.raises(ValueError, match="the work failed"):
        ingestion.write(create_then_fail)
    ingestion.write(_create_store("after"))
    assert _store_names(engine) == ["after", "before"]
    # SQLite: the first connection until the failure, then a connection from the pool again.
    assert len(checkouts) == (2 if sqlite else 3)
    with make_session_factory(engine)() as session:
        assert session.scalar(select(func.count()).select_from(Store)) == 2
        assert verify_chain(session) is None


def test_the_connection_goes_back_to_the_pool_when_the_writer_stops(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer, "IDLE_SECONDS", 0.05)
    ingestion = writer.Ingestion(CredentialCache(FERNET), make_session_factory(engine))
    ingestion.write(_create_store("idle"))
    deadline = time.monotonic() + 10
    while engine.pool.checkedout() and time.monotonic() < deadline:  # type: ignore[attr-defined]
        time.sleep(0.01)
    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    # A later write starts the thread again, on a connection of its own.
    ingestion.write(_create_store("woken"))
    assert _store_names(engine) == ["idle", "woken"]
