"""What operators see of the inbox: deliveries listed and filtered, quarantined ones to replay,
per-store counts by status, and the refusals counted against a store (whose bodies are not kept).
The write path (storing, applying, replaying) is integrations/inbox.py."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from resight.db import utcnow
from resight.dialect import upsert_insert
from resight.integrations.models import DeliveryStatus, StoreRejection, WebhookDelivery


def quarantined_ids(session: Session) -> list[int]:
    query = select(WebhookDelivery.id).where(WebhookDelivery.status == DeliveryStatus.quarantined)
    return list(session.scalars(query.order_by(WebhookDelivery.id)))


def list_deliveries(
    session: Session,
    *,
    status: DeliveryStatus | None = None,
    store_id: int | None = None,
    delivery_id: str | None = None,
    before_id: int | None = None,
    limit: int,
) -> list[WebhookDelivery]:
    """Newest first."""
    query = select(WebhookDelivery).order_by(WebhookDelivery.id.desc()).limit(limit)
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    if store_id is not None:
        query = query.where(WebhookDelivery.store_id == store_id)
    if delivery_id is not None:
        query = query.where(WebhookDelivery.delivery_id == delivery_id)
    if before_id is not None:
        query = query.where(WebhookDelivery.id < before_id)
    return list(session.scalars(query))


@dataclass(slots=True)
class DeliveryStats:
    last_delivery_at: dt.datetime | None = None
    by_status: dict[DeliveryStatus, int] = field(default_factory=dict)
    rejected: int = 0
    last_rejected_at: dt.datetime | None = None
    last_rejection: str | None = None


def delivery_stats(session: Session, store_ids: list[int]) -> dict[int, DeliveryStats]:
    stats = {store_id: DeliveryStats() for store_id in store_ids}
    if not store_ids:
        return stats
    grouped = session.execute(
        select(
            WebhookDelivery.store_id,
            WebhookDelivery.status,
            func.count(),
            func.max(WebhookDelivery.received_at),
        )
        .where(WebhookDelivery.store_id.in_(store_ids))
        .group_by(WebhookDelivery.store_id, WebhookDelivery.status)
    )
    for store_id, status, count, last in grouped:
        entry = stats[store_id or 0]
        entry.by_status[DeliveryStatus(status)] = count
        if last is not None and (entry.last_delivery_at is None or last > entry.last_delivery_at):
            entry.last_delivery_at = last
    for rejection in session.scalars(select(StoreRejection).where(StoreRejection.store_id.in_(store_ids))):
        entry = stats[rejection.store_id]
        entry.rejected = rejection.count
        entry.last_rejected_at = rejection.last_at
        entry.last_rejection = rejection.last_reason
    return stats


def count_rejection(session: Session, store_id: int, reason: str) -> None:
    """Count a refused delivery against its store; nothing it sent is kept."""
    now = utcnow()
    statement = upsert_insert(session, StoreRejection.__table__)  # type: ignore[arg-type]
    statement = statement.on_conflict_do_update(
        index_elements=["store_id"],
        set_={"count": StoreRejection.__table__.c.count + 1, "last_at": now, "last_reason": reason[:200]},
    )
    session.execute(
        statement, {"store_id": store_id, "count": 1, "last_at": now, "last_reason": reason[:200]}
    )
