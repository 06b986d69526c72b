"""`resight simulate`: signed webhook deliveries to a running ReSight, at a steady rate.

Each delivery is signed the Standard Webhooks way (HMAC-SHA256 over `id.timestamp.body` with the
store's `whsec_` secret). At the end the report says what was sent and what the server answered, so
a caller can check that nothing was lost.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

import httpx2 as httpx
from cryptography.fernet import Fernet
from sqlalchemy import select
from sqlalchemy.orm import Session

from resight.catalog.models import Store, StoreCredential
from resight.db import utcnow
from resight.integrations import signatures
from resight.simulator.load import load_world
from resight.simulator.traffic import Delivery, Plan
from resight.simulator.world import World


@dataclass(slots=True)
class Report:
    sent: int = 0  # HTTP requests made
    accepted: int = 0  # answered 2xx (stored)
    rejected: int = 0  # answered otherwise
    transport_errors: int = 0
    statuses: Counter[str] = field(default_factory=Counter)  # the receipts' delivery status
    kinds: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    unique_ids: set[str] = field(default_factory=set)
    malformed_ids: set[str] = field(default_factory=set)
    seconds: float = 0.0

    @property
    def expected_processed(self) -> int:
        """Distinct deliveries that are well formed: each should be applied once."""
        return len(self.unique_ids - self.malformed_ids)

    @property
    def consistent(self) -> bool:
        """Every request stored; repeats answered as duplicates; malformed ones quarantined."""
        return (
            self.accepted == self.sent
            and self.statuses["duplicate"] == self.faults["duplicate"]
            and self.statuses["quarantined"] == len(self.malformed_ids)
            and self.statuses["processed"] + self.statuses["ignored"] == self.expected_processed
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "transport_errors": self.transport_errors,
            "unique_deliveries": len(self.unique_ids),
            "expected_processed": self.expected_processed,
            "statuses": dict(self.statuses),
            "kinds": dict(self.kinds),
            "faults": dict(self.faults),
            "duplicates": self.faults["duplicate"],
            "seconds": round(self.seconds, 3),
            "rate_per_second": round(self.sent / self.seconds, 2) if self.seconds else 0.0,
            "consistent": self.consistent,
        }

    def text(self) -> str:
        lines = [
            f"sent {self.sent} deliveries in {self.seconds:.1f} s: {self.accepted} accepted, {self.rejected} "
            f"rejected, {self.transport_errors} transport errors",
            "  answered: " + ", ".join(f"{k} {v}" for k, v in sorted(self.statuses.items())),
            "  kinds: " + ", ".join(f"{k} {v}" for k, v in sorted(self.kinds.items())),
            "  faults sent: " + (", ".join(f"{k} {v}" for k, v in sorted(self.faults.items())) or "none"),
            f"  {len(self.unique_ids)} distinct deliveries, {self.expected_processed} well formed: "
            + (
                "all accounted for"
                if self.consistent
                else "MISMATCH between what was sent and what was stored"
            ),
        ]
        return "\n".join(lines)


def store_keys(session: Session, fernet: Fernet, store_ids: list[int]) -> dict[int, bytes]:
    """The newest live signing key of each store, decrypted (the simulator runs beside the server)."""
    now = utcnow()
    keys: dict[int, bytes] = {}
    rows = session.scalars(
        select(StoreCredential)
        .where(StoreCredential.store_id.in_(store_ids), StoreCredential.secret_encrypted.is_not(None))
        .order_by(StoreCredential.id)
    )
    for row in rows:
        if row.expires_at is None or row.expires_at > now:
            assert row.secret_encrypted is not None
            keys[row.store_id] = signatures.signing_key(fernet, row.secret_encrypted)
    return keys


def load_for_live(
    session: Session, fernet: Fernet | None, world_id: int | None
) -> tuple[World, dict[str, str], dict[int, bytes]]:
    world = load_world(session, world_id)
    stores = session.scalars(select(Store).where(Store.id.in_(list(world.store_ids.values()))))
    seller_ids = {store.platform.value: store.seller_id or "" for store in stores}
    keys = {} if fernet is None else store_keys(session, fernet, list(world.store_ids.values()))
    return world, seller_ids, keys


def wait_for_server(url: str, seconds: float) -> bool:
    """Poll the health endpoint until it answers 200, for at most `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(url.rstrip("/") + "/", timeout=2).status_code == 200:
                return True
        except httpx.TransportError:
            pass
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.5)


def headers_for(key: bytes, delivery: Delivery) -> dict[str, str]:
    timestamp = int(time.time())
    return {
        "content-type": "application/json",
        "webhook-id": delivery.webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signatures.sign(key, delivery.webhook_id, timestamp, delivery.body),
        "user-agent": "resight-simulator/1",
    }


async def run(
    plan: Plan,
    report: Report,
    *,
    url: str,
    keys: dict[int, bytes],
    rate: float,
    duration: float | None,
    count: int | None,
    concurrency: int = 8,
    log: IO[str] | None = None,
    on_progress: Callable[[Report], None] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Report:
    """Send deliveries at `rate` per second until `duration` seconds or `count` deliveries.

    Fills `report` as it goes (so an interrupted run still has one).
    """
    if rate <= 0:
        raise ValueError("rate must be positive")
    base = url.rstrip("/")
    gate = asyncio.Semaphore(concurrency)
    pending: set[asyncio.Task[None]] = set()
    started = time.monotonic()

    async def send(client: httpx.AsyncClient, delivery: Delivery) -> None:
        try:
            key = keys[delivery.store_id]
            target = f"{base}/integrations/{delivery.platform}/webhook?store={delivery.store_id}"
            answer: dict[str, Any] = {}
            try:
                response = await client.post(
                    target, content=delivery.body, headers=headers_for(key, delivery)
                )
            except httpx.TransportError as exc:
                report.transport_errors += 1
                answer = {"error": str(exc)}
                code = 0
            else:
                code = response.status_code
                if 200 <= code < 300:
                    report.accepted += 1
                    status = str(response.json().get("status"))
                    report.statuses[status] += 1
                    answer = {"status": status}
                    if delivery.fault != "duplicate":
                        plan.answered.append(delivery)
                else:
                    report.rejected += 1
                    answer = {"error": response.text[:300]}
            if log is not None:
                line = {
                    "webhook_id": delivery.webhook_id,
                    "platform": delivery.platform,
                    "store_id": delivery.store_id,
                    "kind": delivery.kind,
                    "fault": delivery.fault,
                    "http_status": code,
                    "expect": delivery.expect,
                    **answer,
                }
                log.write(json.dumps(line) + "\n")
        finally:
            gate.release()

    async with httpx.AsyncClient(timeout=30, transport=transport) as client:
        index = 0
        try:
            while (count is None or index < count) and (
                duration is None or time.monotonic() - started < duration
            ):
                delay = started + index / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                await gate.acquire()
                delivery = plan.next()
                report.sent += 1
                report.kinds[delivery.kind] += 1
                if delivery.fault is not None:
                    report.faults[delivery.fault] += 1
                report.unique_ids.add(delivery.webhook_id)
                if not delivery.well_formed:
                    report.malformed_ids.add(delivery.webhook_id)
                task = asyncio.create_task(send(client, delivery))
                pending.add(task)
                task.add_done_callback(pending.discard)
                index += 1
                if on_progress is not None and index % max(1, int(rate)) == 0:
                    on_progress(report)
            if pending:
                await asyncio.gather(*pending)
        finally:
            report.seconds = time.monotonic() - started
    return report
