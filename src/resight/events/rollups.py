"""IST-hourly rollups, kept in step with events so that KPIs never scan raw events.

Two tables hold the same counters: per product per IST hour (item pages, movers, breakdowns,
stock cover) and per store and category per IST hour (whole-catalogue KPIs and time series).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Mapping
from itertools import groupby
from typing import Any

from sqlalchemy.orm import Session

from resight.bulksql import MAX_PARAMETERS, Bulk, placeholders
from resight.catalog.models import Platform
from resight.events.models import EventType
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


# An IST hour's start, in UTC: every IST hour starts at half past a UTC hour (IST is UTC+05:30).
_FIRST_BUCKET = dt.datetime(1970, 1, 1, 0, 30, tzinfo=dt.UTC)


def bucket_start(moment: dt.datetime) -> dt.datetime:
    """The UTC instant at which the IST hour containing `moment` begins (always hh:30 UTC)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime given; pass a timezone-aware time")
    # Whole buckets since the first, in integer microseconds (exact; cheaper than replace()).
    return _FIRST_BUCKET + (moment - _FIRST_BUCKET) // BUCKET * BUCKET


def is_bucket_boundary(moment: dt.datetime) -> bool:
    return moment.tzinfo is not None and bucket_start(moment) == moment


def contribution(event_type: EventType, quantity: int, revenue_paise: int) -> dict[str, int]:
    """What one event adds to its bucket's counters."""
    once, by_quantity, by_revenue = _SLOTS[event_type]
    added = {COUNTERS[by_quantity]: quantity}
    if once is not None:
        added[COUNTERS[once]] = 1
    if by_revenue is not None:
        added[COUNTERS[by_revenue]] = revenue_paise
    return added


# Which counters one event adds to: (index counting the event once or None, index adding its
# quantity, index adding its revenue or None), positions in COUNTERS.
# Keyed by EventType, found by its value too (a StrEnum hashes and compares as its value).
_SLOTS: dict[str, tuple[int | None, int, int | None]] = {
    EventType.view: (None, 0, None),
    EventType.click: (None, 1, None),
    EventType.add_to_cart: (None, 2, None),
    EventType.order: (3, 4, 5),
    EventType.cancellation: (6, 7, 8),
    EventType.return_: (9, 10, 11),
}
_ADD = ", ".join(f"{name} = {{table}}.{name} + excluded.{name}" for name in COUNTERS)
# Counters first: add_counts keeps each row as one list, counters then key (see there).
# (head, row width, tail) of each upsert, for Bulk.insert_many.
_PRODUCT_UPSERT = (
    f"INSERT INTO product_hourly_metrics ({', '.join(COUNTERS)}, product_id, hour_start)",
    len(COUNTERS) + 2,
    f"ON CONFLICT (product_id, hour_start) DO UPDATE SET {_ADD.format(table='product_hourly_metrics')}",
)
_SEGMENT_UPSERT = (
    f"INSERT INTO segment_hourly_metrics ({', '.join(COUNTERS)}, hour_start, store_id, category, "
    "marketplace)",
    len(COUNTERS) + 4,
    "ON CONFLICT (hour_start, store_id, category) DO UPDATE SET "
    f"{_ADD.format(table='segment_hourly_metrics')}",
)
Segment = tuple[int, Platform, str]  # a product's store, marketplace and category


def _segments(bulk: Bulk, product_ids: set[int]) -> dict[int, Segment]:
    found: dict[int, Segment] = {}
    ordered = sorted(product_ids)
    for start in range(0, len(ordered), MAX_PARAMETERS):
        chunk = ordered[start : start + MAX_PARAMETERS]
        rows = bulk.query(
            "SELECT id, store_id, marketplace, category FROM products "
            f"WHERE id IN ({placeholders(len(chunk))})",
            chunk,
        )
        found.update((row[0], (row[1], Platform[row[2]], row[3])) for row in rows)
    return found


def add_to_rollups(
    session: Session, events: Iterable[NewEvent], segments: Mapping[int, Segment] | None = None
) -> None:
    """Add newly stored events to their buckets: counters are summed here, then one upsert row
    per (product, hour) and per (hour, store, category) touched.

    `segments` (product id -> store, marketplace, category) saves a query when the caller has
    the products at hand; it must hold each product's current category.
    """
    events = list(events)
    if not events:
        return
    bulk = Bulk(session)
    if segments is None:
        segments = _segments(bulk, {event.product_id for event in events})
    add_counts(
        bulk,
        [event.product_id for event in events],
        [event.event_time for event in events],
        [event.event_type for event in events],
        [event.quantity for event in events],
        [event.revenue_paise for event in events],
        segments,
    )


def add_counts(
    bulk: Bulk,
    product_ids: Iterable[int],
    moments: Iterable[dt.datetime],
    event_types: Iterable[str],
    quantities: Iterable[int],
    revenues: Iterable[int],
    segments: Mapping[int, Segment],
) -> None:
    """add_to_rollups for stored events given by columns (their product ids, times, types as
    EventType or its value, quantities and revenues in paise), with every product's segment."""
    if bulk.sqlite:
        listed = (list(product_ids), list(moments), list(event_types), list(quantities), list(revenues))
        if add_distinct_counts(bulk, *listed, segments):
            return
        product_ids, moments, event_types, quantities, revenues = listed
    # Each row is one list, as its upsert's parameters: the counters, then the key.
    by_segment: dict[tuple[dt.datetime, int, str], list[Any]] = {}
    # (product, hour) -> its row and its segment's row: one lookup per event.
    by_product: dict[tuple[int, dt.datetime], tuple[list[Any], list[Any]]] = {}
    hours: dict[dt.datetime, tuple[dt.datetime, Any]] = {}  # time -> its IST hour, stored
    zeros = [0] * len(COUNTERS)
    slots = _SLOTS
    columns = zip(product_ids, moments, event_types, quantities, revenues)  # noqa: B905 (one per event)
    for product_id, moment, event_type, added, revenue_paise in columns:
        found = hours.get(moment)
        if found is None:
            hour = bucket_start(moment)
            found = hours[moment] = (hour, bulk.time(hour))
        hour, stored_hour = found
        product_key = (product_id, hour)
        bucket = by_product.get(product_key)
        if bucket is None:
            store_id, marketplace, category = segments[product_id]
            segment_key = (hour, store_id, category)
            segment_row = by_segment.get(segment_key)
            if segment_row is None:
                segment_row = [*zeros, stored_hour, store_id, category, marketplace.name]
                by_segment[segment_key] = segment_row
            bucket = by_product[product_key] = ([*zeros, product_id, stored_hour], segment_row)
        product_row, segment_row = bucket
        once, quantity, revenue = slots[event_type]
        product_row[quantity] += added
        segment_row[quantity] += added
        if once is not None:
            product_row[once] += 1
            segment_row[once] += 1
        if revenue is not None:
            product_row[revenue] += revenue_paise
            segment_row[revenue] += revenue_paise
    if not by_product:
        return
    # Sorted by key so concurrent transactions lock buckets in the same order (no deadlocks).
    head, width, tail = _PRODUCT_UPSERT
    bulk.insert_many(head, width, [by_product[key][0] for key in sorted(by_product)], tail)
    head, width, tail = _SEGMENT_UPSERT
    bulk.insert_many(head, width, [by_segment[key] for key in sorted(by_segment)], tail)


def add_distinct_counts(
    bulk: Bulk,
    product_ids: list[int],
    moments: list[dt.datetime],
    event_types: list[str],
    quantities: list[int],
    revenues: list[int],
    segments: Mapping[int, Segment],
) -> bool:
    """add_counts on SQLite when no two events share a product and IST hour (an hourly
    notification's buckets: one event per ASIN and hour); False, with nothing written, otherwise.

    Each product-hour row is then one event's contribution, so its row is the event's own values
    (product, hour, quantity, revenue: a zip, not a list of twelve counters per event), and each
    run of one event type is upserted binding only what that type counts: the other counters are
    literal zeros, and 1 where the type counts events (decision 0303, fifth pass: 6.9 % of an
    hourly batch's instructions). Runs go in the order given, not sorted by bucket: SQLite has
    one writer, so they cannot deadlock against another transaction (PostgreSQL keeps the loop's
    one sorted statement)."""
    count = len(product_ids)
    hours = {moment: bucket_start(moment) for moment in set(moments)}
    event_hours = list(map(hours.__getitem__, moments))
    if len(set(zip(product_ids, event_hours, strict=True))) != count:
        return False
    stored = {hour: bulk.time(hour) for hour in set(event_hours)}
    stored_hours = list(map(stored.__getitem__, event_hours))
    by_segment: dict[tuple[Any, int, str], list[Any]] = {}
    zeros = [0] * len(COUNTERS)
    start = 0
    for event_type, run in groupby(event_types):
        stop = start + sum(1 for _ in run)
        ids, at = product_ids[start:stop], stored_hours[start:stop]
        added, paise = quantities[start:stop], revenues[start:stop]
        start = stop
        once, quantity, revenue = _SLOTS[event_type]
        values, tail = _kind_upsert(event_type)
        rows: list[tuple[Any, ...]]
        if revenue is None:
            rows = list(zip(ids, at, added, strict=True))
        else:
            rows = list(zip(ids, at, added, paise, strict=True))
        bulk.insert_many(_KIND_HEAD, len(rows[0]), rows, tail, values=values)
        for product_id, hour, units, amount in zip(ids, at, added, paise, strict=True):
            store_id, marketplace, category = segments[product_id]
            key = (hour, store_id, category)
            row = by_segment.get(key)
            if row is None:
                row = by_segment[key] = [*zeros, hour, store_id, category, marketplace.name]
            row[quantity] += units
            if once is not None:
                row[once] += 1
            if revenue is not None:
                row[revenue] += amount
    # Sorted by key as add_counts sorts them (hours as stored: SQLite's text sorts as time).
    head, width, tail = _SEGMENT_UPSERT
    bulk.insert_many(head, width, [by_segment[key] for key in sorted(by_segment)], tail)
    return True


_KIND_HEAD = f"INSERT INTO product_hourly_metrics (product_id, hour_start, {', '.join(COUNTERS)})"


@functools.cache
def _kind_upsert(event_type: str) -> tuple[str, str]:
    """One row's VALUES, and the conflict clause, of the product-hour upsert of rows that each
    count one event of `event_type` (EventType or its value): bound (product, hour, quantity,
    revenue if the type has one), 1 where the type counts events, 0 elsewhere."""
    once, quantity, revenue = _SLOTS[event_type]
    counters = ["0"] * len(COUNTERS)
    counters[quantity] = "?"
    if revenue is not None:
        counters[revenue] = "?"
    if once is not None:
        counters[once] = "1"
    # Bound in row order (product, hour, quantity, revenue): the revenue slot comes after the
    # quantity slot for every type (_SLOTS), so "?"s in COUNTERS order bind in that order.
    counted = [slot for slot in (once, quantity, revenue) if slot is not None]
    add = ", ".join(
        f"{COUNTERS[slot]} = product_hourly_metrics.{COUNTERS[slot]} + excluded.{COUNTERS[slot]}"
        for slot in counted
    )
    values = f"(?, ?, {', '.join(counters)})"
    return values, f"ON CONFLICT (product_id, hour_start) DO UPDATE SET {add}"


def rebuild_rollups(session: Session, since: dt.datetime | None = None) -> int:
    """Recompute every rollup level from raw events: resight.events.rebuild (set-based SQL)."""
    from resight.events.rebuild import rebuild_rollups as rebuild  # it imports this module

    return rebuild(session, since)
