"""Storing events: raw rows plus their rollups, in the caller's transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from resight.bulksql import Bulk
from resight.catalog.models import Platform
from resight.db import utcnow
from resight.events.models import EventType
from resight.events.records import NewEvent
from resight.events.rollups import Segment, add_to_rollups

COLUMNS = (
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
_INSERT = f"INSERT INTO events ({', '.join(COLUMNS)})"
# RETURNING tells which rows were new; rows without an external id are always new.
_SKIP_REPEATS = "ON CONFLICT (store_id, event_type, external_id) DO NOTHING"
_NEW_ONLY = (
    "ON CONFLICT (store_id, event_type, external_id) DO NOTHING RETURNING store_id, event_type, external_id"
)


TYPE_STORED = {event_type: event_type.value for event_type in EventType}  # Enum.value is slow
PLATFORM_STORED = {platform: platform.name for platform in Platform}


def record_events(
    session: Session, events: Sequence[NewEvent], segments: Mapping[int, Segment] | None = None
) -> list[NewEvent]:
    """Store events, skipping any whose (store, type, external id) is already stored.

    Returns the events actually stored, in the given order; their rollups are updated in the same
    transaction (`segments` as in add_to_rollups).
    """
    if not events:
        return []
    bulk = Bulk(session)
    received = bulk.time(utcnow())
    time = bulk.time
    types, platforms = TYPE_STORED, PLATFORM_STORED
    rows = [
        (
            event.product_id,
            event.store_id,
            platforms[event.marketplace],
            types[event.event_type],
            time(event.event_time),
            event.quantity,
            event.revenue_paise,
            event.external_id,
            event.delivery_id,
            received,
        )
        for event in events
    ]
    positions = insert_rows(bulk, rows)
    stored = list(events) if positions is None else [events[position] for position in positions]
    add_to_rollups(session, stored, segments)
    return stored


def insert_rows(bulk: Bulk, rows: list[tuple[Any, ...]]) -> list[int] | None:
    """Insert events given as rows of COLUMNS (values as stored: TYPE_STORED, PLATFORM_STORED,
    Bulk.time), skipping repeats; the positions of the rows stored, in order, or None when every
    row was. The caller adds the stored ones to the rollups (rollups.add_counts)."""
    new_keys = _insert_new(bulk, rows)
    if new_keys is None:
        return None
    stored: list[int] = []
    seen: set[tuple[int, str, str]] = set()
    for position, row in enumerate(rows):
        external_id = row[7]
        if external_id is None:
            stored.append(position)
            continue
        key = (row[1], row[3], external_id)
        if key in new_keys and key not in seen:
            seen.add(key)
            stored.append(position)
    return stored


def _insert_new(bulk: Bulk, rows: list[tuple[Any, ...]]) -> set[tuple[Any, ...]] | None:
    """Insert the rows, skipping repeats; the (store, type, external id) of the rows stored, or
    None when every row was.

    SQLite: multi-row INSERTs without RETURNING (Bulk.insert_many; much cheaper than VALUES …
    RETURNING), whose row count tells whether any row was a repeat (usually none: nothing more
    to read). Only then are the new rows read back: this transaction is the only writer, so they
    are exactly those above the largest id before the insert (ids may have gaps; this does not
    rely on them).
    PostgreSQL: VALUES … ON CONFLICT DO NOTHING RETURNING, safe against concurrent writers.
    """
    if not bulk.sqlite:
        return set(bulk.insert_returning(_INSERT, len(COLUMNS), rows, _NEW_ONLY))
    ((before,),) = bulk.query("SELECT coalesce(max(id), 0) FROM events")
    if bulk.insert_many(_INSERT, len(COLUMNS), rows, _SKIP_REPEATS) == len(rows):
        return None
    return set(bulk.query("SELECT store_id, event_type, external_id FROM events WHERE id > ?", [before]))
