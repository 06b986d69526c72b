"""Applying normalised records: product upserts, product history and events, in bulk.

One delivery (or a batch of thousands of events) costs a handful of statements: one SELECT of the
products it names, one INSERT of the products it is the first to name, one executemany UPDATE of the
products it changed, one INSERT of history rows, and the events' insert with their rollups.

State is guarded per kind of field by event time: an update older than the stored state of its kind
is written to history but does not overwrite newer state, and an update changes only the fields it
carries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from resight.bulksql import Bulk, placeholders
from resight.catalog.models import HistoryField, ListingStatus, Product
from resight.db import utcnow
from resight.dialect import upsert_insert
from resight.events.records import NewEvent
from resight.events.service import record_events
from resight.integrations.records import EventRecord, Normalized, ProductUpdate, StoreRef

CHUNK = 5000

# (timestamp column guarding the kind, fields of the kind, the history field of each or None)
GUARDS: tuple[tuple[str, tuple[tuple[str, HistoryField | None], ...]], ...] = (
    ("price_changed_at", (("price_paise", HistoryField.price), ("mrp_paise", HistoryField.mrp))),
    ("stock_changed_at", (("stock", HistoryField.stock),)),
    ("status_changed_at", (("status", HistoryField.status),)),
    (
        "market_changed_at",
        (
            ("buybox_price_paise", HistoryField.buybox_price),
            ("lowest_competitor_price_paise", HistoryField.lowest_competitor_price),
            ("sales_rank", HistoryField.sales_rank),
        ),
    ),
    (
        "details_changed_at",
        (("title", None), ("brand", None), ("category", None), ("rating", None), ("rating_count", None)),
    ),
)
STATE_COLUMNS = (
    "id",
    "sku",
    "external_id",
    "title",
    "brand",
    "category",
    "mrp_paise",
    "price_paise",
    "stock",
    "rating",
    "rating_count",
    "status",
    "buybox_price_paise",
    "lowest_competitor_price_paise",
    "sales_rank",
    "price_changed_at",
    "stock_changed_at",
    "status_changed_at",
    "details_changed_at",
    "market_changed_at",
    "last_event_at",
)


_TIME_COLUMNS = frozenset(name for name in STATE_COLUMNS if name.endswith("_at"))
_HISTORY_INSERT = (
    "INSERT INTO product_history (product_id, field, value_int, value_text, event_time, delivery_id, "
    f"recorded_at) VALUES ({placeholders(7)})"
)


def _product_select(column: str, count: int, sqlite: bool) -> str:
    # By external id, SQLite without ANALYZE statistics picks the (store_id, sku) index and scans
    # the whole store; `+store_id` keeps that term off the index so it probes external_id.
    store = "+store_id" if sqlite and column == "external_id" else "store_id"
    statement = (
        f"SELECT {', '.join(STATE_COLUMNS)} FROM products "
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
    """The store's products named by one delivery, as mutable dicts keyed by SKU and by ASIN."""

    def __init__(self, session: Session, store: StoreRef) -> None:
        self.session = session
        self.store = store
        self.by_sku: dict[str, dict[str, Any]] = {}
        self.by_external: dict[str, dict[str, Any]] = {}
        self.created: dict[str, int] = {}  # sku -> id of products this delivery created
        self.bulk = Bulk(session)

    def _remember(self, rows: Iterable[Any]) -> None:
        read_time = self.bulk.read_time
        for row in rows:
            state = dict(zip(STATE_COLUMNS, row, strict=True))
            for name in _TIME_COLUMNS:
                if state[name] is not None:
                    state[name] = read_time(state[name])
            state["status"] = ListingStatus[state["status"]]
            state["_dirty"] = set()
            self.by_sku[state["sku"]] = state
            if state["external_id"] is not None:
                self.by_external.setdefault(state["external_id"], state)

    def _select(self, column: str, values: set[str]) -> None:
        for chunk in _chunks(sorted(values)):
            statement = _product_select(column, len(chunk), self.bulk.sqlite)
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
    skus: set[str] = set()
    external_ids: set[str] = set()
    for record in records:
        skus.add(record.sku)
        if record.by_external_id:
            external_ids.add(record.sku)
        elif isinstance(record, ProductUpdate) and record.external_id is not None:
            skus.add(record.external_id)  # a placeholder it may adopt
    catalog.load(skus, external_ids)
    new: dict[str, str | None] = {}
    first: dict[str, int] = {}
    # Records naming a SKU first, so that an ASIN-only record of the same item uses that product.
    order = sorted(range(len(records)), key=lambda index: records[index].by_external_id)
    for index in order:
        record = records[index]
        external_id = record.external_id if isinstance(record, ProductUpdate) else None
        if record.by_external_id:
            external_id = record.sku
            if external_id in new.values():
                continue
        if record.sku not in new and catalog.find(record.sku, external_id, record.by_external_id) is None:
            new[record.sku] = external_id
            first[record.sku] = index
    catalog.create(new)
    return first


def _apply_update(
    state: dict[str, Any], update_: ProductUpdate, history: list[dict[str, Any]], delivery_id: int | None
) -> bool:
    """Apply one update to a product's state; True if it changed the state."""
    moment = update_.event_time
    dirty: set[str] = state["_dirty"]
    changed = False
    for guard, fields in GUARDS:
        carried = [(name, kind) for name, kind in fields if getattr(update_, name) is not None]
        if not carried:
            continue
        newest = state[guard]
        fresh = newest is None or moment >= newest
        for name, kind in carried:
            value = getattr(update_, name)
            if kind is not None and (not fresh or value != state[name]):
                # A late (older) value is still history; a fresh one only when it changes something.
                history.append(
                    {
                        "product_id": state["id"],
                        "field": kind,
                        "value_int": None if kind is HistoryField.status else value,
                        "value_text": value.value if kind is HistoryField.status else None,
                        "event_time": moment,
                        "delivery_id": delivery_id,
                    }
                )
            if fresh and value != state[name]:
                state[name] = value
                dirty.add(name)
                changed = True
        if fresh and newest != moment:
            state[guard] = moment
            dirty.add(guard)
    if update_.external_id is not None and state["external_id"] != update_.external_id:
        newest = state["details_changed_at"]
        if state["external_id"] is None or newest is None or moment >= newest:
            state["external_id"] = update_.external_id
            dirty.add("external_id")
            changed = True
    return changed


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
    catalog = _Catalog(session, store)
    first = _resolve(catalog, records)
    for sku in catalog.created:
        if sku in first:
            tallies[owner[first[sku]]].created += 1

    history: list[dict[str, Any]] = []
    # Oldest first (stable: deliveries in order), so the newest value of each field wins.
    updates = sorted(
        (
            (record.event_time, index)
            for index, record in enumerate(records)
            if isinstance(record, ProductUpdate)
        ),
    )
    for _moment, index in updates:
        update_ = records[index]
        assert isinstance(update_, ProductUpdate)
        state = catalog.find(update_.sku, update_.external_id, update_.by_external_id)
        assert state is not None  # _resolve created every product named
        tally = tallies[owner[index]]
        before = len(history)
        if _apply_update(state, update_, history, parts[owner[index]][0]):
            tally.changed.add(state["id"])
        tally.history += len(history) - before

    new_events: list[NewEvent] = []
    event_owner: dict[int, int] = {}
    for index, record in enumerate(records):
        if not isinstance(record, EventRecord):
            continue
        state = catalog.find(record.sku, None, record.by_external_id)
        assert state is not None
        revenue = record.revenue_paise
        if record.revenue_from_price:
            revenue = record.quantity * (state["price_paise"] or 0)
        event = NewEvent(
            product_id=state["id"],
            store_id=store.id,
            marketplace=store.platform,
            event_type=record.event_type,
            event_time=record.event_time,
            quantity=record.quantity,
            revenue_paise=revenue,
            external_id=record.external_id,
            delivery_id=parts[owner[index]][0],
        )
        new_events.append(event)
        event_owner[id(event)] = owner[index]
        tallies[owner[index]].events += 1
    segments = {state["id"]: (store.id, store.platform, state["category"]) for state in _unique(catalog)}
    stored = record_events(session, new_events, segments) if new_events else []
    for event in stored:
        tallies[event_owner[id(event)]].stored += 1
    _touch_last_event(catalog, stored)
    _write(session, catalog, history)
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


def _write(session: Session, catalog: _Catalog, history: list[dict[str, Any]]) -> None:
    """One executemany UPDATE per set of changed columns (few sets: stock, prices, last event)."""
    bulk = catalog.bulk
    by_columns: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
    now = bulk.time(utcnow())
    for state in _unique(catalog):
        dirty = state["_dirty"]
        if dirty:
            columns = tuple(sorted(dirty))
            row = [_stored(bulk, name, state[name]) for name in columns]
            row.extend((now, state["id"]))
            by_columns.setdefault(columns, []).append(tuple(row))
    for columns, rows in by_columns.items():
        bulk.executemany(_product_update(columns), rows)
    bulk.executemany(
        _HISTORY_INSERT,
        [
            (
                row["product_id"],
                row["field"].name,
                row["value_int"],
                row["value_text"],
                bulk.time(row["event_time"]),
                row["delivery_id"],
                now,
            )
            for row in history
        ],
    )


def _stored(bulk: Bulk, name: str, value: Any) -> Any:
    """A product state value as its column stores it."""
    if name in _TIME_COLUMNS:
        return bulk.time(value)
    if isinstance(value, ListingStatus):
        return value.name
    return value


def _unique(catalog: _Catalog) -> list[dict[str, Any]]:
    seen: dict[int, dict[str, Any]] = {}
    for state in (*catalog.by_sku.values(), *catalog.by_external.values()):
        seen.setdefault(state["id"], state)
    return sorted(seen.values(), key=lambda state: state["id"])


def _touch_last_event(catalog: _Catalog, stored: list[NewEvent]) -> None:
    latest: dict[int, dt.datetime] = {}
    for event in stored:
        if event.product_id not in latest or event.event_time > latest[event.product_id]:
            latest[event.product_id] = event.event_time
    if not latest:
        return
    for state in _unique(catalog):
        moment = latest.get(state["id"])
        if moment is not None and (state["last_event_at"] is None or moment > state["last_event_at"]):
            state["last_event_at"] = moment
            state["_dirty"].add("last_event_at")
