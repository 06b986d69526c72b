"""Recomputing the rollups from raw events, set-based: one grouped INSERT … SELECT per table.

The product-hour rollups are grouped from events; the segment-hour rollups from the product-hour
rows (far fewer rows than events, and the same sums); the daily segment rollups follow the hourly
ones through their triggers (migration events_0002).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Table,
    case,
    delete,
    func,
    insert,
    literal_column,
    select,
    text,
)
from sqlalchemy.orm import Session

from resight.catalog.models import Product
from resight.dialect import ist_hour_floor
from resight.events.models import (
    Event,
    EventType,
    ProductHourlyMetrics,
    SegmentDailyMetrics,
    SegmentHourlyMetrics,
)
from resight.events.rollups import COUNTERS, bucket_start

# SQLite: group on an integer IST-hour number and format each group's start once; formatting a
# timestamp per event cost more than the grouping itself.
_SQLITE_BUCKET = "(unixepoch(events.event_time) - 1800) / 3600"
_SQLITE_BUCKET_START = "strftime('%Y-%m-%d %H:%M:%S.000000', bucket * 3600 + 1800, 'unixepoch')"


def _event_sums(kind: Any, quantity: Any, revenue: Any) -> list[ColumnElement[int]]:
    def total(event_type: EventType, value: Any) -> ColumnElement[int]:
        return func.coalesce(func.sum(case((kind == event_type.value, value), else_=0)), 0)

    return [
        total(EventType.view, quantity),
        total(EventType.click, quantity),
        total(EventType.add_to_cart, quantity),
        total(EventType.order, 1),
        total(EventType.order, quantity),
        total(EventType.order, revenue),
        total(EventType.cancellation, 1),
        total(EventType.cancellation, quantity),
        total(EventType.cancellation, revenue),
        total(EventType.return_, 1),
        total(EventType.return_, quantity),
        total(EventType.return_, revenue),
    ]


def _product_hours(session: Session, start: dt.datetime | None) -> Any:
    """SELECT product_id, hour_start, *COUNTERS from events (those from `start` on)."""
    events = Event.__table__.c
    if session.get_bind().dialect.name == "sqlite":
        numbered = select(
            events.product_id,
            literal_column(_SQLITE_BUCKET).label("bucket"),
            events.event_type,
            events.quantity,
            events.revenue_paise,
        )
        if start is not None:
            numbered = numbered.where(events.event_time >= start)
        rows = numbered.subquery()
        return select(
            rows.c.product_id,
            literal_column(_SQLITE_BUCKET_START),
            *_event_sums(rows.c.event_type, rows.c.quantity, rows.c.revenue_paise),
        ).group_by(rows.c.product_id, rows.c.bucket)
    hour = ist_hour_floor(session, events.event_time)
    query = select(
        events.product_id, hour, *_event_sums(events.event_type, events.quantity, events.revenue_paise)
    ).group_by(events.product_id, hour)
    if start is not None:
        query = query.where(events.event_time >= start)
    return query


# SQLite's default page cache (2 MB) makes a rebuild of millions of rows thrash its indexes.
_SQLITE_REBUILD_CACHE_KIB = 256 * 1024
_POSTGRES_REBUILD_WORK_MEM = "256MB"


def rebuild_rollups(session: Session, since: dt.datetime | None = None) -> int:
    """Recompute every rollup level from raw events (all, or from the IST hour containing `since`).

    Segments are re-attributed to each product's current store and category. Returns the number
    of product-hour rows written. Runs in the caller's transaction.
    """
    if session.get_bind().dialect.name == "postgresql":
        # Group millions of events in memory instead of spilling hash batches to disk (this
        # transaction only).
        session.execute(text(f"SET LOCAL work_mem = '{_POSTGRES_REBUILD_WORK_MEM}'"))
        return _rebuild(session, since)
    cache_size = int(session.execute(text("PRAGMA cache_size")).scalar_one())
    if cache_size <= -_SQLITE_REBUILD_CACHE_KIB:
        return _rebuild(session, since)  # already given at least as large a cache (negative: KiB)
    session.execute(text(f"PRAGMA cache_size = -{_SQLITE_REBUILD_CACHE_KIB}"))
    try:
        return _rebuild(session, since)
    finally:
        session.execute(text(f"PRAGMA cache_size = {cache_size}"))


def _rebuild(session: Session, since: dt.datetime | None) -> int:
    start = None if since is None else bucket_start(since)
    # A full rebuild rewrites every row: the product rollups' secondary indexes are dropped first
    # and built once afterwards (a sorted build) instead of updated row by row.
    indexes = list(cast(Table, ProductHourlyMetrics.__table__).indexes) if start is None else []
    connection = session.connection()
    for index in indexes:
        index.drop(connection)
    for model in (ProductHourlyMetrics, SegmentHourlyMetrics):
        clear = delete(model)
        if start is not None:
            clear = clear.where(model.hour_start >= start)
        session.execute(clear)
    if start is None:
        # The hourly delete's triggers already emptied the daily rows; drop them instead of
        # leaving zeros.
        session.execute(delete(SegmentDailyMetrics))
    result = session.execute(
        insert(ProductHourlyMetrics).from_select(
            ["product_id", "hour_start", *COUNTERS], _product_hours(session, start)
        ),
        execution_options={"preserve_rowcount": True},
    )
    assert isinstance(result, CursorResult)
    written = result.rowcount
    for index in indexes:
        index.create(connection)
    hourly = ProductHourlyMetrics
    per_segment = (
        select(
            hourly.hour_start,
            Product.store_id,
            Product.category,
            func.min(Product.marketplace),
            *[func.sum(getattr(hourly, name)) for name in COUNTERS],
        )
        .join(Product, Product.id == hourly.product_id)
        .group_by(hourly.hour_start, Product.store_id, Product.category)
    )
    if start is not None:
        per_segment = per_segment.where(hourly.hour_start >= start)
    session.execute(
        insert(SegmentHourlyMetrics).from_select(
            ["hour_start", "store_id", "category", "marketplace", *COUNTERS], per_segment
        )
    )
    return written
