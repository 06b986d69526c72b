"""kill -9 the server while several senders stream signed deliveries: every delivery that got a 2xx
survives the crash and is applied, and resending everything afterwards applies nothing twice."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from sqlalchemy import Engine, func, select

from resight.catalog.models import Product
from resight.db import make_engine
from resight.events.models import Event, EventType, ProductHourlyMetrics
from resight.integrations.models import DeliveryStatus, WebhookDelivery
from resight.migrations import runner
from tests.resilience.support import create_store, make_admin_token, myntra_order, server, signed

pytestmark = pytest.mark.slow

SENDERS = 4
PER_SENDER = 60
KILL_AFTER_ACKED = 60
SKUS = [f"KILL-SKU-{n}" for n in range(5)]


@pytest.fixture
def server_database(database_url: str, engine: Engine, tmp_path: Path) -> Iterator[tuple[str, Engine]]:
    """The server's own database: a migrated SQLite file, or the run's PostgreSQL database."""
    if not database_url.startswith("sqlite"):
        yield database_url, engine
        return
    url = f"sqlite:///{tmp_path / 'server.db'}"
    own = make_engine(url)
    runner.upgrade(own)
    try:
        yield url, own
    finally:
        own.dispose()


@dataclass
class Sender:
    deliveries: list[tuple[str, dict[str, Any]]]
    acked: list[str] = field(default_factory=list)
    attempted: list[str] = field(default_factory=list)

    def run(self, base: str, path: str, secret: str, stop: threading.Event) -> None:
        with httpx.Client(base_url=base, timeout=10) as client:
            for msg_id, body in self.deliveries:
                if stop.is_set():
                    return
                raw, headers = signed(secret, msg_id, body)
                self.attempted.append(msg_id)
                try:
                    response = client.post(path, content=raw, headers=headers)
                except httpx.TransportError:
                    return  # the server is gone: this delivery's fate is unknown
                if 200 <= response.status_code < 300:
                    self.acked.append(msg_id)


def _inbox(engine: Engine, store_id: int) -> dict[str, list[DeliveryStatus]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(WebhookDelivery.delivery_id, WebhookDelivery.status).where(
                WebhookDelivery.store_id == store_id
            )
        )
        found: dict[str, list[DeliveryStatus]] = {}
        for delivery_id, status in rows:
            found.setdefault(delivery_id, []).append(DeliveryStatus(status))
        return found


def _effects(engine: Engine, store_id: int) -> tuple[int, int, int]:
    """(order events, orders counted in the hourly rollups, products) of the store."""
    with engine.connect() as conn:
        events = conn.scalar(
            select(func.count())
            .select_from(Event)
            .where(Event.store_id == store_id, Event.event_type == EventType.order)
        )
        rolled = conn.scalar(
            select(func.coalesce(func.sum(ProductHourlyMetrics.orders), 0))
            .join(Product, Product.id == ProductHourlyMetrics.product_id)
            .where(Product.store_id == store_id)
        )
        products = conn.scalar(select(func.count()).select_from(Product).where(Product.store_id == store_id))
    return int(events or 0), int(rolled or 0), int(products or 0)


def test_acknowledged_deliveries_survive_kill_9_and_apply_once(
    server_database: tuple[str, Engine], tmp_path: Path
) -> None:
    url, engine = server_database
    _username, token = make_admin_token(engine)
    run = secrets.token_hex(4)
    senders = [
        Sender(
            [
                (f"msg_{run}_{s}_{n}", myntra_order(f"{run}-{s}-{n}", SKUS[n % len(SKUS)]))
                for n in range(PER_SENDER)
            ]
        )
        for s in range(SENDERS)
    ]
    log = tmp_path / "server.log"
    with server(url, log) as first, httpx.Client(base_url=first.base, timeout=10) as client:
        store_id, secret = create_store(client, token, "myntra", f"kill-9 store {run}")
        path = f"/integrations/myntra/webhook?store={store_id}"
        stop = threading.Event()
        threads = [
            threading.Thread(target=sender.run, args=(first.base, path, secret, stop), daemon=True)
            for sender in senders
        ]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        while sum(len(sender.acked) for sender in senders) < KILL_AFTER_ACKED:
            assert time.monotonic() < deadline, "senders made no progress"
            time.sleep(0.005)
        first.kill9()
        stop.set()
        for thread in threads:
            thread.join(timeout=15)
            assert not thread.is_alive()

    acked = {msg_id for sender in senders for msg_id in sender.acked}
    attempted = {msg_id for sender in senders for msg_id in sender.attempted}
    assert len(acked) >= KILL_AFTER_ACKED
    assert len(attempted) < SENDERS * PER_SENDER, "the kill came after the stream had ended"

    with server(url, log) as second, httpx.Client(base_url=second.base, timeout=10) as client:
        inbox = _inbox(engine, store_id)
        # Every acknowledged delivery survived the crash, applied; nothing is in the inbox twice.
        assert all(inbox.get(msg_id) == [DeliveryStatus.processed] for msg_id in acked)
        assert set(inbox) <= attempted
        events, rolled, _ = _effects(engine, store_id)
        assert events == rolled == len(inbox)

        # Senders resend everything they sent (they cannot know what the crash swallowed).
        statuses: dict[str, str] = {}
        for sender in senders:
            for msg_id, body in sender.deliveries:
                if msg_id not in attempted:
                    continue
                raw, headers = signed(secret, msg_id, body)
                response = client.post(path, content=raw, headers=headers)
                assert response.status_code == 200, response.text
                statuses[msg_id] = response.json()["status"]

    # Neither the webhook secret nor the admin's token ever reached the server's log.
    output = log.read_text(errors="replace")
    assert secret not in output
    assert token not in output
    assert all(statuses[msg_id] == "duplicate" for msg_id in inbox)
    assert all(statuses[msg_id] == "processed" for msg_id in attempted - set(inbox))
    final = _inbox(engine, store_id)
    processed = [msg_id for msg_id, seen in final.items() if DeliveryStatus.processed in seen]
    assert sorted(processed) == sorted(attempted)
    assert all(seen.count(DeliveryStatus.processed) == 1 for seen in final.values())
    events, rolled, products = _effects(engine, store_id)
    assert events == rolled == len(attempted)
    assert products == len(SKUS)
