"""Applying normalised records: product upserts, product history and events, in bulk.

One delivery (or a batch of thousands of events) costs a handful of statements: one SELECT of the
products it names, one INSERT of the products it is the first to name, one executemany UPDATE of the
products it changed, one INSERT of history rows, and the events' insert with their rollups.

Finding and creating products is in integrations/product_lookup.py, the event-time guards on
product state in integrations/product_state.py.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import repeat
from operator import attrgetter, is_not, itemgetter
from typing import Any

from sqlalchemy.orm import Session

from resight.bulksql import Bulk, placeholders
from resight.db import utcnow
from resight.events.rollups import Segment, add_counts, bucket_start
from resight.events.service import PLATFORM_STORED, TYPE_STORED, insert_rows
from resight.integrations.product_lookup import CHUNK, Catalog, resolve
from resight.integrations.product_state import (
    HISTORY_INSERT,
    HISTORY_WIDTH,
    apply_update,
    columns_for,
    comparable,
    shape_of,
)
from resight.integrations.records import EventRecord, Normalized, ProductUpdate, StoreRef

_EVENT_TIME = attrgetter("event_time")
_EXTERNAL_ID = attrgetter("external_id")
_PLAN = itemgetter(1)
# Columns of events rows (events.service.COLUMNS) and of pairs.
_FIRST, _SECOND, _TYPE, _STAMP, _QUANTITY, _REVENUE = map(itemgetter, (0, 1, 3, 4, 5, 6))


@dataclass(frozen=True, slots=True)
class Applied:
    products_created: int = 0
    products_changed: int = 0
    history_rows: int = 0
    events_stored: int = 0
    events_repeated: int = 0  # events whose external id was already stored: no second effect

    def counts(self) -> dict[str, int]:
        return {
            "products_created": self.products_created,
            "products_changed": self.products_changed,
            "history_rows": self.history_rows,
            "events_stored": self.events_stored,
            "events_repeated": self.events_repeated,
        }


def apply_normalized(
    session: Session, store: StoreRef, normalized: Normalized, *, delivery_id: int | None = None
) -> Applied:
    """Apply one delivery's records in the caller's transaction (flushes, never commits)."""
    return apply_many(session, store, [(delivery_id, normalized)])[0]


def apply_many(
    session: Session, store: StoreRef, parts: Sequence[tuple[int | None, Normalized]]
) -> list[Applied]:
    """Apply several deliveries of one store together (their inbox row ids tag history and
    events), with the statements of one delivery; in order, as if applied one after another."""
    records: list[ProductUpdate | EventRecord] = []
    owner: list[int] = []  # part index of each record
    updates: list[ProductUpdate] = []
    update_owner: list[int] = []  # part index of each update
    for index, (_row, normalized) in enumerate(parts):
        products, events = normalized.products, normalized.events
        records.extend(products)
        records.extend(events)
        owner.extend([index] * (len(products) + len(events)))
        updates.extend(products)
        update_owner.extend([index] * len(products))
    if not records:
        return [Applied() for _ in parts]
    shapes = list(map(shape_of, updates))
    names_external_ids = any(map(is_not, map(_EXTERNAL_ID, updates), repeat(None)))
    catalog = Catalog(session, store, columns_for(set(map(_PLAN, shapes)), names_external_ids))
    first = resolve(catalog, records)
    created = [0] * len(parts)
    for sku in catalog.created:
        if sku in first:
            created[owner[first[sku]]] += 1

    bulk = catalog.bulk
    now = utcnow()
    recorded = bulk.time(now)
    history: list[tuple[Any, ...]] = []
    changed: list[set[int]] = [set() for _ in parts]
    history_rows = [0] * len(parts)
    by_sku, by_external = catalog.by_sku, catalog.by_external
    times = list(map(_EVENT_TIME, updates))
    stamps = bulk.times(times)
    # Oldest first (a stable sort: deliveries in order), so the newest value of each field wins.
    for index in sorted(range(len(updates)), key=times.__getitem__):
        update_ = updates[index]
        sku = update_.sku
        # catalog.find, inlined: after resolve() (adoptions done, products created) a SKU finds
        # its product directly; find() is the fallback it never needs
        if update_.by_external_id:
            state = by_external.get(sku) or by_sku.get(sku)
        else:
            state = by_sku.get(sku) or catalog.find(sku, update_.external_id, False)
        assert state is not None
        part = update_owner[index]
        before = len(history)
        if apply_update(state, update_, shapes[index], history, stamps[index], parts[part][0], recorded):
            changed[part].add(state["id"])
        history_rows[part] += len(history) - before

    states = catalog.unique()
    rows, moments, event_owner = _event_rows(catalog, parts, recorded)
    stored = [len(normalized.events) for _row, normalized in parts]
    if rows:
        positions = insert_rows(bulk, rows)
        if positions is not None:
            stored_owner = Counter(event_owner[position] for position in positions)
            stored = [stored_owner[part] for part in range(len(parts))]
            rows = [rows[position] for position in positions]
            moments = [moments[position] for position in positions]
        if rows:
            segments: dict[int, Segment] = {
                product_id: (store.id, store.platform, states[product_id]["category"])
                for product_id in set(map(_FIRST, rows))
            }
            product_ids, types = map(_FIRST, rows), map(_TYPE, rows)
            quantities, revenues = map(_QUANTITY, rows), map(_REVENUE, rows)
            add_counts(bulk, product_ids, moments, types, quantities, revenues, segments)
            _touch_products(bulk, states, rows, now)
    _write(bulk, states.values(), history, recorded)
    return [
        Applied(
            products_created=created[part],
            products_changed=len(changed[part]),
            history_rows=history_rows[part],
            events_stored=stored[part],
            events_repeated=len(normalized.events) - stored[part],
        )
        for part, (_row, normalized) in enumerate(parts)
    ]


def _event_rows(
    catalog: Catalog, parts: Sequence[tuple[int | None, Normalized]], received: Any
) -> tuple[list[tuple[Any, ...]], list[dt.datetime], list[int]]:
    """The events of every part as events rows (events.service.insert_rows), their times, and
    the part of each."""
    rows: list[tuple[Any, ...]] = []
    moments: list[dt.datetime] = []
    event_owner: list[int] = []
    by_sku, by_external = catalog.by_sku, catalog.by_external
    store_id, platform = catalog.store.id, PLATFORM_STORED[catalog.store.platform]
    types = TYPE_STORED
    for part, (row_id, normalized) in enumerate(parts):
        events = normalized.events
        if not events:
            continue
        event_owner.extend([part] * len(events))
        times = list(map(_EVENT_TIME, events))
        moments.extend(times)
        for record, stamp in zip(events, catalog.bulk.times(times)):  # noqa: B905 (one each)
            # catalog.find without an ASIN beside the SKU, inlined (once per event)
            sku = record.sku
            state = (by_external.get(sku) or by_sku.get(sku)) if record.by_external_id else by_sku.get(sku)
            assert state is not None
            revenue = record.revenue_paise
            if record.revenue_from_price:
                revenue = record.quantity * (state["price_paise"] or 0)
            rows.append(
                (
                    state["id"],
                    store_id,
                    platform,
                    types[record.event_type],
                    stamp,
                    record.quantity,
                    revenue,
                    record.external_id,
                    row_id,
                    received,
                )
            )
    return rows, moments, event_owner


def _write(
    bulk: Bulk, products: Iterable[dict[str, Any]], history: list[tuple[Any, ...]], recorded: Any
) -> None:
    """One executemany UPDATE per set of changed columns (few sets: stock, prices, last event).
    Values are in their stored form already (times: Bulk.time), but for the status (an enum)."""
    by_columns: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
    getters: dict[tuple[str, ...], Any] = {}
    for state in products:
        dirty = state["_dirty"]
        if dirty:
            columns = tuple(sorted(dirty))
            rows = by_columns.get(columns)
            if rows is None:
                rows = by_columns[columns] = []
                getters[columns] = itemgetter(*columns, "id")
            row = (recorded, *getters[columns](state))
            if "status" in dirty:
                position = 1 + columns.index("status")
                row = (*row[:position], row[position].name, *row[position + 1 :])
            rows.append(row)
    for columns, rows in by_columns.items():
        bulk.update_many("products", ("updated_at", *columns), rows)
    bulk.insert_many(HISTORY_INSERT, HISTORY_WIDTH, history)


def _touch_products(
    bulk: Bulk, products: dict[int, dict[str, Any]], rows: list[tuple[Any, ...]], now: dt.datetime
) -> None:
    """Move each product's last_event_at to its newest stored event (`rows`), and mark changed
    (updated_at = now) every product given an event before the current IST hour: that event
    changed an hourly rollup which incremental readers (the scorer's features) consider settled.

    Times are compared in their stored form (product_state's docstring). Products whose state
    changes anyway get updated_at with that UPDATE; the rest share one."""
    by_time = sorted(zip(map(_FIRST, rows), map(_STAMP, rows)), key=_SECOND)  # noqa: B905
    latest = dict(by_time)  # the last (newest) time of each product wins
    # Products given an event in an IST hour that has already ended: a prefix of by_time.
    ended = bisect_left(by_time, bulk.time(bucket_start(now)), key=_SECOND)
    settled = set(map(_FIRST, by_time[:ended]))
    for product_id, newest in latest.items():
        state = products[product_id]
        last = state["last_event_at"]
        if last is None or newest > comparable(last):
            state["last_event_at"] = newest
            state["_dirty"].add("last_event_at")
    # A product whose state changes is written with updated_at = now anyway; the rest share one UPDATE.
    untouched = [product_id for product_id in sorted(settled) if not products[product_id]["_dirty"]]
    recorded = bulk.time(now)
    for start in range(0, len(untouched), CHUNK):
        chunk = untouched[start : start + CHUNK]
        bulk.executemany(
            f"UPDATE products SET updated_at = ? WHERE id IN ({placeholders(len(chunk))})",
            [(recorded, *chunk)],
        )
