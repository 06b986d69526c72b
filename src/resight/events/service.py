"""Storing events: raw rows plus their rollups, in the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields

from sqlalchemy.orm import Session

from resight.dialect import upsert_insert
from resight.events.models import Event
from resight.events.records import NewEvent
from resight.events.rollups import add_to_rollups

_FIELDS = tuple(field.name for field in fields(NewEvent))


def record_events(session: Session, events: Sequence[NewEvent]) -> list[NewEvent]:
    """Store events, skipping any whose (store, type, external id) is already stored.

    Returns the events actually stored; their rollups are updated in the same transaction.
    """
    if not events:
        return []
    # Not dataclasses.asdict: it deep-copies every value, which dominated bulk ingestion.
    rows = [{name: getattr(event, name) for name in _FIELDS} for event in events]
    statement = upsert_insert(session, Event.__table__)  # type: ignore[arg-type]
    statement = statement.on_conflict_do_nothing(index_elements=["store_id", "event_type", "external_id"])
    stored: list[NewEvent] = []
    # RETURNING tells which rows were new; rows without an external id are always new.
    result = session.execute(statement.returning(Event.store_id, Event.event_type, Event.external_id), rows)
    new_keys = {(row.store_id, row.event_type, row.external_id) for row in result}
    seen: set[tuple[int, str, str]] = set()
    for event in events:
        if event.external_id is None:
            stored.append(event)
            continue
        key = (event.store_id, event.event_type, event.external_id)
        if key in new_keys and key not in seen:
            seen.add(key)
            stored.append(event)
    add_to_rollups(session, stored)
    return stored
