"""Storing events: raw rows plus their rollups, in the caller's transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy.orm import Session

from resight.bulksql import Bulk
from resight.db import utcnow
from resight.events.records import NewEvent
from resight.events.rollups import Segment, add_to_rollups

_COLUMNS = (
    "product_id",
    "store_id",
    "marketplace",
    "event_type",
    "event_time",
    "quantity",
    "revenue_paise",
    "external_id",
    "delivery_id",
    "received_at",
)
_INSERT = f"INSERT INTO events ({', '.join(_COLUMNS)})"
# RETURNING tells which rows were new; rows without an external id are always new.
_NEW_ONLY = (
    "ON CONFLICT (store_id, event_type, external_id) DO NOTHING RETURNING store_id, event_type, external_id"
)


def record_events(
    session: Session, events: Sequence[NewEvent], segments: Mapping[int, Segment] | None = None
) -> list[NewEvent]:
    """Store events, skipping any whose (store, type, external id) is already stored.

    Returns the events actually stored; their rollups are updated in the same transaction
    (`segments` as in add_to_rollups).
    """
    if not events:
        return []
    bulk = Bulk(session)
    received = bulk.time(utcnow())
    time = bulk.time
    rows = [
        (
            event.product_id,
            event.store_id,
            event.marketplace.name,
            event.event_type.value,
            time(event.event_time),
            event.quantity,
            event.revenue_paise,
            event.external_id,
            event.delivery_id,
            received,
        )
        for event in events
    ]
    new_keys = set(bulk.insert_returning(_INSERT, len(_COLUMNS), rows, _NEW_ONLY))
    stored: list[NewEvent] = []
    seen: set[tuple[int, str, str]] = set()
    for event in events:
        if event.external_id is None:
            stored.append(event)
            continue
        # By value: an EventType hashes by its name, which differs from its value for return_.
        key = (event.store_id, event.event_type.value, event.external_id)
        if key in new_keys and key not in seen:
            seen.add(key)
            stored.append(event)
    add_to_rollups(session, stored, segments)
    return stored
