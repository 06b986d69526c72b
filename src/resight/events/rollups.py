"""IST-hourly rollups, kept in step with events so that KPIs never scan raw events.

Two tables hold the same counters: per product per IST hour (item pages, movers, breakdowns,
stock cover) and per store and category per IST hour (whole-catalogue KPIs and time series).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, CursorResult, Integer, case, delete, func, insert, literal, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from resight.catalog.models import Platform, Product
from resight.dialect import ist_hour_floor, upsert_insert
from resight.events.models import Event, EventType, ProductHourlyMetrics, SegmentHourlyMetrics
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
BUCKET = dt.timedelta(hours=1)
_IST_OFFSET = dt.timedelta(hours=5, minutes=30)


def bucket_start(moment: dt.datetime) -> dt.datetime:
    """The UTC instant at which the IST hour containing `moment` begins (always hh:30 UTC)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime given; pass a timezone-aware time")
    local = (moment.astimezone(dt.UTC) + _IST_OFFSET).replace(minute=0, second=0, microsecond=0)
    return local - _IST_OFFSET


def is_bucket_boundary(moment: dt.datetime) -> bool:
    return moment.tzinfo is not None and bucket_start(moment) == moment


def contribution(event_type: EventType, quantity: int, revenue_paise: int) -> dict[str, int]:
    """What one event adds to its bucket's counters."""
    if event_type is EventType.view:
        return {"views": quantity}
    if event_type is EventType.click:
        return {"clicks": quantity}
    if event_type is EventType.add_to_cart:
        return {"add_to_carts": quantity}
    if event_type is EventType.order:
        return {"orders": 1, "units": quantity, "gmv_paise": revenue_paise}
    if event_type is EventType.cancellation:
        return {"cancellations": 1, "cancelled_units": quantity, "cancelled_paise": revenue_paise}
    return {"returns": 1, "returned_units": quantity, "returned_paise": revenue_paise}


def _zero() -> dict[str, int]:
    return dict.fromkeys(COUNTERS, 0)


# Built once per dialect and table: constructing the upsert cost more than running it.
_UPSERTS: dict[tuple[str, str], Any] = {}


def _upsert(session: Session, table: Any, keys: list[str], rows: list[dict[str, Any]]) -> None:
    cache_key = (session.get_bind().dialect.name, table.name)
    statement = _UPSERTS.get(cache_key)
    if statement is None:
        statement = upsert_insert(session, table)
        statement = _UPSERTS[cache_key] = statement.on_conflict_do_update(
            index_elements=keys,
            set_={name: getattr(table.c, name) + getattr(statement.excluded, name) for name in COUNTERS},
        )
    # Sorted so concurrent transactions lock buckets in the same order (no deadlocks).
    rows.sort(key=lambda row: tuple(row[key] for key in keys))
    session.execute(statement, rows)


def add_to_rollups(session: Session, events: Iterable[NewEvent]) -> None:
    """Add newly stored events to their buckets (one upsert per bucket touched, per table)."""
    events = list(events)
    if not events:
        return
    segments = {
        row.id: (row.store_id, row.marketplace, row.category)
        for row in session.execute(
            select(Product.id, Product.store_id, Product.marketplace, Product.category).where(
                Product.id.in_({event.product_id for event in events})
            )
        )
    }
    by_product: dict[tuple[int, dt.datetime], dict[str, int]] = defaultdict(_zero)
    by_segment: dict[tuple[dt.datetime, int, str], dict[str, int]] = defaultdict(_zero)
    marketplaces: dict[int, Platform] = {}
    for event in events:
        hour = bucket_start(event.event_time)
        store_id, marketplace, category = segments[event.product_id]
        marketplaces[store_id] = marketplace
        product_bucket = by_product[(event.product_id, hour)]
        segment_bucket = by_segment[(hour, store_id, category)]
        for name, amount in contribution(event.event_type, event.quantity, event.revenue_paise).items():
            product_bucket[name] += amount
            segment_bucket[name] += amount
    _upsert(
        session,
        ProductHourlyMetrics.__table__,
        ["product_id", "hour_start"],
        [{"product_id": p, "hour_start": h, **counts} for (p, h), counts in by_product.items()],
    )
    _upsert(
        session,
        SegmentHourlyMetrics.__table__,
        ["hour_start", "store_id", "category"],
        [
            {"hour_start": h, "store_id": s, "category": c, "marketplace": marketplaces[s], **counts}
            for (h, s, c), counts in by_segment.items()
        ],
    )


def _sum_if(kind: EventType, value: ColumnElement[int] | InstrumentedAttribute[int]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((Event.event_type == kind, value), else_=0)), 0)


def _counter_sums() -> list[ColumnElement[int]]:
    one: ColumnElement[int] = literal(1, Integer)
    return [
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
    ]


def rebuild_rollups(session: Session, since: dt.datetime | None = None) -> int:
    """Recompute both rollup tables from raw events (all, or from the IST hour containing `since`).

    Segments are re-attributed to each product's current store and category. Returns the number
    of product-hour rows written.
    """
    start = None if since is None else bucket_start(since)
    for model in (ProductHourlyMetrics, SegmentHourlyMetrics):
        clear = delete(model)
        if start is not None:
            clear = clear.where(model.hour_start >= start)
        session.execute(clear)
    hour = ist_hour_floor(session, Event.__table__.c.event_time).label("hour_start")
    per_product = select(Event.product_id, hour, *_counter_sums()).group_by(Event.product_id, hour)
    per_segment = (
        select(hour, Product.store_id, Product.category, Product.marketplace, *_counter_sums())
        .join(Product, Product.id == Event.product_id)
        .group_by(hour, Product.store_id, Product.category, Product.marketplace)
    )
    if start is not None:
        per_product = per_product.where(Event.event_time >= start)
        per_segment = per_segment.where(Event.event_time >= start)
    result = session.execute(
        insert(ProductHourlyMetrics).from_select(["product_id", "hour_start", *COUNTERS], per_product)
    )
    session.execute(
        insert(SegmentHourlyMetrics).from_select(
            ["hour_start", "store_id", "category", "marketplace", *COUNTERS], per_segment
        )
    )
    assert isinstance(result, CursorResult)
    return result.rowcount or 0
