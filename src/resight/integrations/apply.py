"""Applying normalised records: product upserts, product history and events, in bulk.

One delivery (or a batch of thousands of events) costs a handful of statements: one SELECT of the
products it names, one INSERT of the products it is the first to name, one executemany UPDATE of the
products it changed, one INSERT of history rows, and the events' insert with their rollups.

The event-time guards on product state are in integrations/product_state.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from resight.bulksql import Bulk, placeholders
from resight.catalog.models import ListingStatus, Product
from resight.db import utcnow
from resight.dialect import upsert_insert
from resight.events.records import NewEvent
from resight.events.rollups import bucket_start
from resight.events.service import record_events
from resight.integrations.product_state import (
    HISTORY_INSERT,
    STATE_COLUMNS,
    apply_update,
    moment_of,
    stored,
)
from resight.integrations.records import EventRecord, Normalized, ProductUpdate, StoreRef

CHUNK = 5000
_STATUS_BY_NAME = {status.name: status for status in ListingStatus}  # Enum[name] is slow per row


# What applying events alone reads of a product (the catalogue of a delivery without product
# updates): fewer columns to fetch and convert per product than STATE_COLUMNS.
EVENT_COLUMNS = ("id", "sku", "external_id", "category", "price_paise", "last_event_at")


def _product_select(columns: Sequence[str], column: str, count: int, sqlite: bool) -> str:
    # By external id, SQLite without ANALYZE statistics picks the (store_id, sku) index and scans
    # the whole store; `+store_id` keeps that term off the index so it probes external_id.
    store = "+store_id" if sqlite and column == "external_id" else "store_id"
    statement = (
        f"SELECT {', '.join(columns)} FROM products "
        f"WHERE {store} = ? AND {column} IN ({placeholders(count)}) ORDER BY id"
    )
    # Concurrent deliveries for the same products apply one after the other (PostgreSQL).
    return statement if sqlite else statement + " FOR UPDATE"


def _product_update(columns: Sequence[str]) -> str:
    assignments = ", ".join(f"{name} = ?" for name in (*columns, "updated_at"))
    return f"UPDATE products SET {assignments} WHERE id = ?"


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


def _chunks(values: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


class _Catalog:
    """The store's products named by one delivery, as mutable dicts keyed by SKU and by ASIN:
    `columns` of each (STATE_COLUMNS, or EVENT_COLUMNS when the delivery carries events only)."""

    def __init__(self, session: Session, store: StoreRef, columns: Sequence[str] = STATE_COLUMNS) -> None:
        self.session = session
        self.store = store
        self.columns = tuple(columns)
        self.by_sku: dict[str, dict[str, Any]] = {}
        self.by_external: dict[str, dict[str, Any]] = {}
        self.created: dict[str, int] = {}  # sku -> id of products this delivery created
        self.bulk = Bulk(session)

    def _remember(self, rows: Iterable[Any]) -> None:
        # Time columns stay as read (SQLite: text) until a guard compares them: most are never
        # looked at, and parsing seven per product cost more than the SELECT (see _moment).
        statuses = _STATUS_BY_NAME if "status" in self.columns else None
        columns = self.columns
        for row in rows:
            state = dict(zip(columns, row))  # noqa: B905 (the SELECT lists these columns)
            if statuses is not None:
                state["status"] = statuses[state["status"]]
            state["_dirty"] = set()
            self.by_sku[state["sku"]] = state
            if state["external_id"] is not None:
                self.by_external.setdefault(state["external_id"], state)

    def _select(self, column: str, values: set[str]) -> None:
        for chunk in _chunks(sorted(values)):
            statement = _product_select(self.columns, column, len(chunk), self.bulk.sqlite)
            self._remember(self.bulk.query(statement, [self.store.id, *chunk]))

    def load(self, skus: set[str], external_ids: set[str]) -> None:
        if skus:
            self._select("sku", skus)
        missing = external_ids - self.by_external.keys()
        if missing:
            self._select("external_id", missing)

    def create(self, new: dict[str, str | None]) -> None:
        """Insert products first named by this delivery (sku -> external id), then load them."""
        if not new:
            return
        now = utcnow()
        rows = [
            {
                "store_id": self.store.id,
                "marketplace": self.store.platform,
                "sku": sku,
                "external_id": external_id,
                "created_at": now,
                "updated_at": now,
            }
            for sku, external_id in sorted(new.items())
        ]
        statement = upsert_insert(self.session, Product.__table__)  # type: ignore[arg-type]
        # A concurrent delivery may create the same SKU first: then we load and use its row.
        self.session.execute(statement.on_conflict_do_nothing(index_elements=["store_id", "sku"]), rows)
        before = set(self.by_sku)
        self._select("sku", set(new))
        self.created.update((sku, state["id"]) for sku, state in self.by_sku.items() if sku not in before)

    def find(self, sku: str, external_id: str | None, by_external_id: bool) -> dict[str, Any] | None:
        if by_external_id:
            return self.by_external.get(sku) or self.by_sku.get(sku)
        found = self.by_sku.get(sku)
        if found is None and external_id is not None:
            # A product first seen by ASIN only was created with sku = ASIN: it now learns its SKU.
            placeholder = self.by_sku.get(external_id)
            if placeholder is not None and placeholder["sku"] == placeholder["external_id"] == external_id:
                del self.by_sku[external_id]
                placeholder["sku"] = sku
                placeholder["_dirty"].add("sku")
                self.by_sku[sku] = placeholder
                found = placeholder
        return found


def _resolve(catalog: _Catalog, records: list[ProductUpdate | EventRecord]) -> dict[str, int]:
    """Load every product the records name, create the missing ones; which record named each first."""
    skus = {record.sku for record in records}
    external_ids = {record.sku for record in records if record.by_external_id}
    # A product update naming an ASIN beside its SKU may adopt the placeholder created for that ASIN.
    adopting = {
        index: record.external_id
        for index, record in enumerate(records)
        if isinstance(record, ProductUpdate) and not record.by_external_id and record.external_id is not None
    }
    skus.update(adopting.values())
    catalog.load(skus, external_ids)
    new: dict[str, str | None] = {}
    new_external_ids: set[str] = set()  # the values of `new`
    first: dict[str, int] = {}
    # Records naming a SKU first, so that an ASIN-only record of the same item uses that product.
    order = [index for index, record in enumerate(records) if not record.by_external_id]
    order.extend(index for index, record in enumerate(records) if record.by_external_id)
    # Finding a product has no side effect unless the record names an ASIN beside its SKU (it
    # may adopt a placeholder, which changes what a SKU finds): a run of the others looks each
    # (SKU, by ASIN) up once, and a record that may adopt starts a new run.
    looked_up: tuple[set[str], set[str]] = (set(), set())
    find = catalog.find
    for index in order:
        record = records[index]
        sku = record.sku
        by_external_id = record.by_external_id
        external_id: str | None = None
        if index in adopting:
            external_id = adopting[index]
            looked_up[0].clear()
            looked_up[1].clear()
        else:
            seen = looked_up[by_external_id]
            if sku in seen:
                continue
            seen.add(sku)
            if by_external_id:
                external_id = sku
                if external_id in new_external_ids:
                    continue
        if sku not in new and find(sku, external_id, by_external_id) is None:
            new[sku] = external_id
            if external_id is not None:
                new_external_ids.add(external_id)
            first[sku] = index
    catalog.create(new)
    return first


@dataclass(slots=True)
class _Tally:
    created: int = 0
    changed: set[int] = field(default_factory=set)
    history: int = 0
    events: int = 0
    stored: int = 0


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
    for index, (_row, normalized) in enumerate(parts):
        records.extend(normalized.products)
        records.extend(normalized.events)
        owner.extend([index] * (len(normalized.products) + len(normalized.events)))
    tallies = [_Tally() for _ in parts]
    if not records:
        return [Applied() for _ in parts]
    events_only = not any(normalized.products for _row, normalized in parts)
    catalog = _Catalog(session, store, EVENT_COLUMNS if events_only else STATE_COLUMNS)
    first = _resolve(catalog, records)
    for sku in catalog.created:
        if sku in first:
            tallies[owner[first[sku]]].created += 1

    bulk = catalog.bulk
    now = utcnow()
    recorded = bulk.time(now)
    history: list[tuple[Any, ...]] = []
    # Oldest first (stable: deliveries in order), so the newest value of each field wins.
    updates = [
        (record.event_time, index) for index, record in enumerate(records) if type(record) is ProductUpdate
    ]
    updates.sort()
    find, time = catalog.find, bulk.time
    for moment, index in updates:
        update_ = records[index]
        assert isinstance(update_, ProductUpdate)
        state = find(update_.sku, update_.external_id, update_.by_external_id)
        assert state is not None  # _resolve created every product named
        part = owner[index]
        tally = tallies[part]
        before = len(history)
        if apply_update(state, update_, history, (time(moment), parts[part][0], recorded)):
            tally.changed.add(state["id"])
        tally.history += len(history) - before

    new_events: list[NewEvent] = []
    event_owner: list[int] = []  # part index of each new event
    by_sku, by_external = catalog.by_sku, catalog.by_external
    store_id, platform = store.id, store.platform
    for part, (row_id, normalized) in enumerate(parts):
        events = normalized.events
        if not events:
            continue
        tallies[part].events += len(events)
        event_owner.extend([part] * len(events))
        for record in events:
            # catalog.find without an ASIN beside the SKU, inlined (once per event)
            sku = record.sku
            state = (by_external.get(sku) or by_sku.get(sku)) if record.by_external_id else by_sku.get(sku)
            assert state is not None
            revenue = record.revenue_paise
            if record.revenue_from_price:
                revenue = record.quantity * (state["price_paise"] or 0)
            new_events.append(  # positional: NewEvent's field order (keywords cost more per event)
                NewEvent(
                    state["id"],
                    store_id,
                    platform,
                    record.event_type,
                    record.event_time,
                    record.quantity,
                    revenue,
                    record.external_id,
                    row_id,
                )
            )
    products = _unique(catalog)
    if new_events:
        segments = {state["id"]: (store.id, store.platform, state["category"]) for state in products}
        stored = record_events(session, new_events, segments)
        # record_events keeps the given order: walk both lists to credit each stored event.
        position = 0
        for event in stored:
            while new_events[position] is not event:
                position += 1
            tallies[event_owner[position]].stored += 1
        _touch_products(bulk, products, stored, now)
    _write(bulk, products, history, recorded)
    return [
        Applied(
            products_created=tally.created,
            products_changed=len(tally.changed),
            history_rows=tally.history,
            events_stored=tally.stored,
            events_repeated=tally.events - tally.stored,
        )
        for tally in tallies
    ]


def _write(bulk: Bulk, products: list[dict[str, Any]], history: list[tuple[Any, ...]], recorded: Any) -> None:
    """One executemany UPDATE per set of changed columns (few sets: stock, prices, last event)."""
    by_columns: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
    for state in products:
        dirty = state["_dirty"]
        if dirty:
            columns = tuple(sorted(dirty))
            row = [stored(bulk, name, state[name]) for name in columns]
            row.extend((recorded, state["id"]))
            by_columns.setdefault(columns, []).append(tuple(row))
    for columns, rows in by_columns.items():
        bulk.executemany(_product_update(columns), rows)
    bulk.executemany(HISTORY_INSERT, history)


def _unique(catalog: _Catalog) -> list[dict[str, Any]]:
    seen: dict[int, dict[str, Any]] = {}
    for state in (*catalog.by_sku.values(), *catalog.by_external.values()):
        seen.setdefault(state["id"], state)
    return sorted(seen.values(), key=lambda state: state["id"])


def _touch_products(
    bulk: Bulk, products: list[dict[str, Any]], stored: list[NewEvent], now: dt.datetime
) -> None:
    """Move each product's last_event_at to its newest stored event, and mark changed (updated_at =
    now) every product given an event before the current IST hour: that event changed an hourly
    rollup which incremental readers (the scorer's features) consider settled.

    Products whose state changes anyway get updated_at with that UPDATE; the rest share one."""
    latest: dict[int, dt.datetime] = {}
    current_hour = bucket_start(now)
    settled: set[int] = set()  # products given an event in an IST hour that has already ended
    for event in stored:
        moment = event.event_time
        product_id = event.product_id
        known = latest.get(product_id)
        if known is None or moment > known:
            latest[product_id] = moment
        if moment < current_hour:
            settled.add(product_id)
    for state in products:
        newest = latest.get(state["id"])
        if newest is None:
            continue
        last = moment_of(state, "last_event_at")
        if last is None or newest > last:
            state["last_event_at"] = newest
            state["_dirty"].add("last_event_at")
    # A product whose state changes is written with updated_at = now anyway; the rest share one UPDATE.
    untouched = [state["id"] for state in products if state["id"] in settled and not state["_dirty"]]
    recorded = bulk.time(now)
    for start in range(0, len(untouched), CHUNK):
        chunk = untouched[start : start + CHUNK]
        bulk.executemany(
            f"UPDATE products SET updated_at = ? WHERE id IN ({placeholders(len(chunk))})",
            [(recorded, *chunk)],
        )
