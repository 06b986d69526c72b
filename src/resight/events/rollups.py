"""Hourly per-product rollups, kept in step with events so that KPIs never scan raw events."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import ColumnElement, CursorResult, Integer, case, delete, func, insert, literal, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from resight.dialect import hour_floor, upsert_insert
from resight.events.models import Event, EventType, ProductHourlyMetrics
from resight.events.records import NewEvent

COUNTERS = (
    "views",
    "clicks",
    "add_to_carts",
    "orders",
    "units",
    "gmv_paise",
    "cancellations",
    "cancelled_units",
    "cancelled_paise",
    "returns",
    "returned_units",
    "returned_paise",
)


def hour_start(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


def _contribution(event: NewEvent) -> dict[str, int]:
    kind = event.event_type
    if kind is EventType.view:
        return {"views": event.quantity}
    if kind is EventType.click:
        return {"clicks": event.quantity}
    if kind is EventType.add_to_cart:
        return {"add_to_carts": event.quantity}
    if kind is EventType.order:
        return {"orders": 1, "units": event.quantity, "gmv_paise": event.revenue_paise}
    if kind is EventType.cancellation:
        return {"cancellations": 1, "cancelled_units": event.quantity, "cancelled_paise": event.revenue_paise}
    return {"returns": 1, "returned_units": event.quantity, "returned_paise": event.revenue_paise}


def add_to_rollups(session: Session, events: Iterable[NewEvent]) -> None:
    """Add newly stored events to their hourly buckets (one upsert per product-hour touched)."""
    buckets: dict[tuple[int, dt.datetime], dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTERS, 0))
    for event in events:
        bucket = buckets[(event.product_id, hour_start(event.event_time))]
        for name, amount in _contribution(event).items():
            bucket[name] += amount
    if not buckets:
        return
    table = ProductHourlyMetrics.__table__
    rows = [
        {"product_id": product_id, "hour_start": hour, **counts}
        for (product_id, hour), counts in buckets.items()
    ]
    statement = upsert_insert(session, table)  # type: ignore[arg-type]
    statement = statement.on_conflict_do_update(
        index_elements=["product_id", "hour_start"],
        set_={name: getattr(table.c, name) + getattr(statement.excluded, name) for name in COUNTERS},
    )
    # Sorted so concurrent transactions lock product-hours in the same order (no deadlocks).
    rows.sort(key=lambda row: (row["product_id"], row["hour_start"]))
    session.execute(statement, rows)


def _sum_if(kind: EventType, value: ColumnElement[int] | InstrumentedAttribute[int]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((Event.event_type == kind, value), else_=0)), 0)


def rebuild_rollups(session: Session, since: dt.datetime | None = None) -> int:
    """Recompute rollups from raw events (all of them, or from the hour containing `since`)."""
    start = None if since is None else hour_start(since)
    clear = delete(ProductHourlyMetrics)
    if start is not None:
        clear = clear.where(ProductHourlyMetrics.hour_start >= start)
    session.execute(clear)
    hour = hour_floor(session, Event.__table__.c.event_time).label("hour_start")
    one: ColumnElement[int] = literal(1, Integer)
    select_rows = select(
        Event.product_id,
        hour,
        _sum_if(EventType.view, Event.quantity),
        _sum_if(EventType.click, Event.quantity),
        _sum_if(EventType.add_to_cart, Event.quantity),
        _sum_if(EventType.order, one),
        _sum_if(EventType.order, Event.quantity),
        _sum_if(EventType.order, Event.revenue_paise),
        _sum_if(EventType.cancellation, one),
        _sum_if(EventType.cancellation, Event.quantity),
        _sum_if(EventType.cancellation, Event.revenue_paise),
        _sum_if(EventType.return_, one),
        _sum_if(EventType.return_, Event.quantity),
        _sum_if(EventType.return_, Event.revenue_paise),
    ).group_by(Event.product_id, hour)
    if start is not None:
        select_rows = select_rows.where(Event.event_time >= start)
    result = session.execute(
        insert(ProductHourlyMetrics).from_select(["product_id", "hour_start", *COUNTERS], select_rows)
    )
    assert isinstance(result, CursorResult)
    return result.rowcount or 0
