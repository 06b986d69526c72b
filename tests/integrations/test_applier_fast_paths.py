"""The applier's shortcuts give the results of its general code, on odd inputs, on both databases.

- Products are looked up as sets when no record may adopt a placeholder
  (product_lookup._resolve_by_sets against resolve_in_order).
- A delivery reads only the product columns its updates touch (columns_for against STATE_COLUMNS).
- Time columns are compared in their stored form (odd stored texts on SQLite are parsed).
- Events are stored from rows the applier builds (against events.service.record_events).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import text, update
from sqlalchemy.orm import Session

from resight.bulksql import Bulk
from resight.catalog.models import ListingStatus, Product, Store
from resight.events import service as events_service
from resight.events.models import EventType
from resight.events.records import NewEvent
from resight.integrations import apply, product_lookup
from resight.integrations.apply import Applied, apply_many
from resight.integrations.product_state import STATE_COLUMNS, comparable
from resight.integrations.records import EventRecord, Normalized, ProductUpdate, StoreRef
from tests.factories import make_product, make_store

NOW = dt.datetime(2026, 11, 1, 6, 7, 8, 123456, tzinfo=dt.UTC)
T0 = dt.datetime(2026, 11, 1, 2, tzinfo=dt.UTC)


def at(minutes: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in (apply, product_lookup):
        monkeypatch.setattr(module, "utcnow", lambda: NOW)


def _store(db: Session) -> tuple[Store, StoreRef]:
    store = make_store(db)
    return store, StoreRef(id=store.id, platform=store.platform, name=store.name, seller_id=None)


def _catalogue(db: Session, store: Store) -> None:
    """Two products with a SKU (one with its ASIN), and a placeholder named by ASIN only."""
    times = {name: at(0) for name in ("price_changed_at", "stock_changed_at", "status_changed_at")}
    make_product(db, store, sku="REAL-1", external_id="B0REAL0001", last_event_at=at(0), **times)
    make_product(db, store, sku="REAL-2", external_id=None, last_event_at=None, **times)
    make_product(
        db,
        store,
        sku="B0PLACE001",
        external_id="B0PLACE001",
        title="",
        brand="",
        category="",
        price_paise=None,
        mrp_paise=None,
        stock=None,
        price_changed_at=None,
        stock_changed_at=None,
        status_changed_at=None,
        last_event_at=None,
    )
    db.flush()


def _without_adoption() -> list[tuple[int | None, Normalized]]:
    """Out-of-order and repeated updates, new products named twice and by ASIN, an ASIN that is
    also a new SKU, repeated events in one batch; three deliveries."""
    first = Normalized(
        products=[
            ProductUpdate("REAL-1", at(50), stock=7),
            ProductUpdate("REAL-1", at(10), stock=3),  # older: history only
            ProductUpdate("REAL-1", at(50), stock=7),  # the same again: nothing
            ProductUpdate("REAL-2", at(20), price_paise=12_345, mrp_paise=20_000),
            ProductUpdate(
                "REAL-2",
                at(31),
                price_paise=100,
                status=ListingStatus.inactive,
                title="T",
                brand="B",
                category="C > D",
                rating=4.5,
                rating_count=3,
            ),
            ProductUpdate("NEW-1", at(5), stock=1),
            ProductUpdate("B0REAL0001", at(6), by_external_id=True, external_id="B0REAL0001", sales_rank=5),
            ProductUpdate(
                "B0PLACE001", at(7), by_external_id=True, external_id="B0PLACE001", buybox_price_paise=9
            ),
            ProductUpdate("B0NEW00001", at(8), by_external_id=True, external_id="B0NEW00001", sales_rank=2),
        ],
        events=[
            EventRecord(
                "REAL-1", EventType.order, at(-200), quantity=2, external_id="O1", revenue_from_price=True
            ),
            EventRecord(
                "REAL-1", EventType.order, at(-200), quantity=2, external_id="O1", revenue_from_price=True
            ),
            EventRecord("REAL-2", EventType.cancellation, at(70), revenue_paise=100, external_id="C1"),
            EventRecord("B0NEW00001", EventType.view, at(1), quantity=9, by_external_id=True),
            EventRecord(
                "B0NEW00002", EventType.click, at(2), quantity=4, by_external_id=True, external_id="K1"
            ),
            EventRecord("NEW-2", EventType.return_, at(3), revenue_paise=50, external_id="R1"),
        ],
    )
    second = Normalized(
        products=[ProductUpdate("NEW-3", at(40), stock=4), ProductUpdate("REAL-1", at(30), stock=5)],
        events=[
            EventRecord("NEW-2", EventType.view, at(41), external_id="V9"),
            EventRecord(
                "NEW-3", EventType.order, at(300), quantity=1, external_id="O3", revenue_from_price=True
            ),
            # An ASIN that is also a SKU first named (by SKU) in this group.
            EventRecord("NEW-3", EventType.view, at(42), by_external_id=True, external_id="V10"),
        ],
    )
    third = Normalized(
        events=[
            EventRecord("B0PLACE001", EventType.add_to_cart, at(42), external_id="A1", by_external_id=True),
            EventRecord("REAL-1", EventType.order, at(-200), quantity=2, external_id="O1"),  # repeat
            EventRecord("NEW-4", EventType.view, at(-90), quantity=2),
            EventRecord("B0NEW00002", EventType.view, at(43), by_external_id=True),
        ]
    )
    return [(None, first), (None, second), (None, third)]


def _with_adoption() -> list[tuple[int | None, Normalized]]:
    """A placeholder adopted between events naming it, an ASIN learnt by a SKU, a new product
    named with its ASIN."""
    return [
        (None, Normalized(events=[EventRecord("B0PLACE001", EventType.view, at(1), external_id="v-1")])),
        (
            None,
            Normalized(
                products=[
                    ProductUpdate("SKU-REAL", at(40), external_id="B0PLACE001", stock=4),
                    ProductUpdate("REAL-2", at(41), external_id="B0REAL0002", stock=8),
                    ProductUpdate("NEW-9", at(42), external_id="B0NEW00009", price_paise=300),
                ]
            ),
        ),
        (
            None,
            Normalized(
                events=[
                    EventRecord("B0PLACE001", EventType.view, at(2), external_id="v-2"),
                    EventRecord(
                        "SKU-REAL", EventType.order, at(43), external_id="o-1", revenue_from_price=True
                    ),
                    EventRecord(
                        "B0NEW00009", EventType.order, at(44), by_external_id=True, revenue_from_price=True
                    ),
                ]
            ),
        ),
    ]


def _snapshot(db: Session, store_id: int) -> dict[str, Any]:
    """Every row the applier writes for the store, keyed by SKU rather than by id (ids of rows
    created in a rolled-back savepoint are not reused on PostgreSQL)."""
    sku = "(SELECT sku FROM products p WHERE p.id = {}.product_id)"
    queries = {
        "products": "SELECT * FROM products WHERE store_id = :store",
        "history": f"SELECT {sku.format('h')} AS sku, h.* FROM product_history h",
        "events": f"SELECT {sku.format('e')} AS sku, e.* FROM events e WHERE store_id = :store",
        "hours": f"SELECT {sku.format('m')} AS sku, m.* FROM product_hourly_metrics m",
        "segments": "SELECT * FROM segment_hourly_metrics WHERE store_id = :store",
    }
    found: dict[str, Any] = {}
    for name, query in queries.items():
        rows = db.execute(text(query), {"store": store_id}).mappings().all()
        cleaned = [
            tuple(sorted((key, str(value)) for key, value in row.items() if key not in {"id", "product_id"}))
            for row in rows
        ]
        found[name] = sorted(cleaned)
    return found


def _run(
    db: Session, store: StoreRef, parts: list[tuple[int | None, Normalized]]
) -> tuple[list[Applied], dict[str, Any]]:
    """Apply the parts in a savepoint, read every row back, roll the savepoint back."""
    nested = db.begin_nested()
    applied = apply_many(db, store, parts)
    db.flush()
    snapshot = _snapshot(db, store.id)
    nested.rollback()
    return applied, snapshot


def _general_lookup(catalog: product_lookup.Catalog, records: list[Any]) -> dict[str, int]:
    return product_lookup.resolve_in_order(catalog, records, product_lookup.adopting_records(records))


def _every_column(*_args: Any) -> tuple[str, ...]:
    return STATE_COLUMNS


GENERAL: dict[str, list[tuple[Any, str, Callable[..., Any]]]] = {
    "lookup": [(apply, "resolve", _general_lookup)],
    "columns": [(apply, "columns_for", _every_column)],
    "both": [(apply, "resolve", _general_lookup), (apply, "columns_for", _every_column)],
}


@pytest.mark.parametrize("scenario", [_without_adoption, _with_adoption])
@pytest.mark.parametrize("general", sorted(GENERAL))
def test_shortcuts_store_what_the_general_code_stores(
    db: Session,
    monkeypatch: pytest.MonkeyPatch,
    scenario: Callable[[], list[tuple[int | None, Normalized]]],
    general: str,
) -> None:
    store, ref = _store(db)
    _catalogue(db, store)
    fast = _run(db, ref, scenario())
    for module, name, replacement in GENERAL[general]:
        monkeypatch.setattr(module, name, replacement)
    slow = _run(db, ref, scenario())

    assert fast[0] == slow[0]
    assert fast[1] == slow[1]
    assert sum(part.products_created for part in fast[0]) >= 2  # the scenarios create products
    assert all(fast[1][table] for table in ("history", "events", "hours"))


def test_lookup_by_sets_finds_and_creates_what_lookup_in_order_does(db: Session) -> None:
    store, ref = _store(db)
    _catalogue(db, store)
    records: list[Any] = [
        record
        for _row, normalized in _without_adoption()
        for record in (*normalized.products, *normalized.events)
    ]
    assert not product_lookup.adopting_records(records)
    results = []
    for resolve in (product_lookup.resolve, _general_lookup):
        nested = db.begin_nested()
        catalog = product_lookup.Catalog(db, ref)
        first = resolve(catalog, records)
        results.append(
            (
                first,
                sorted(catalog.created),
                {sku: state["sku"] for sku, state in catalog.by_sku.items()},
                {asin: state["sku"] for asin, state in catalog.by_external.items()},
            )
        )
        nested.rollback()
    assert results[0] == results[1]
    assert results[0][1] == ["B0NEW00001", "B0NEW00002", "NEW-1", "NEW-2", "NEW-3", "NEW-4"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("2026-11-01 05:00:00.000000", "2026-11-01 05:00:00.000000"),
        ("2026-11-01 05:00:00", "2026-11-01 05:00:00.000000"),
        ("2026-11-01T05:00:00", "2026-11-01 05:00:00.000000"),
        ("2026-11-01T05:00:00.000001+00:00", "2026-11-01 05:00:00.000001"),
        ("2026-11-01 10:30:00+05:30", "2026-11-01 05:00:00.000000"),
    ],
)
def test_stored_times_compare_in_bulk_times_form(value: str | None, expected: str | None) -> None:
    assert comparable(value) == expected
    moment = dt.datetime(2026, 11, 1, 5, tzinfo=dt.UTC)
    assert comparable(moment) is moment  # PostgreSQL: datetimes as read


def test_guards_read_odd_stored_times_as_the_instants_they_are(db: Session) -> None:
    store, ref = _store(db)
    five = dt.datetime(2026, 11, 1, 5, tzinfo=dt.UTC)
    product = make_product(db, store, price_paise=500, sales_rank=10, last_event_at=None)
    other = make_product(db, store, last_event_at=None)
    db.flush()
    odd = {
        # Before 04:00 as an instant; a text comparison would put "T" after " ".
        "stock_changed_at": ("2026-11-01T03:00:00.000000", dt.datetime(2026, 11, 1, 3, tzinfo=dt.UTC)),
        "price_changed_at": ("2026-11-01 05:00:00", five),  # no microseconds
        "market_changed_at": ("2026-11-01 10:30:00+05:30", five),  # 05:00 UTC
        "last_event_at": ("2026-11-01T06:00:00", dt.datetime(2026, 11, 1, 6, tzinfo=dt.UTC)),
    }
    sqlite = db.get_bind().dialect.name == "sqlite"
    for product_id in (product.id, other.id):
        if sqlite:
            assignments = ", ".join(f"{name} = :{name}" for name in odd)
            db.execute(
                text(f"UPDATE products SET {assignments} WHERE id = :id"),
                {"id": product_id, **{name: stored for name, (stored, _moment) in odd.items()}},
            )
        else:
            values = {name: moment for name, (_stored, moment) in odd.items()}
            db.execute(update(Product).where(Product.id == product_id).values(**values))
    db.expire_all()
    four = dt.datetime(2026, 11, 1, 4, tzinfo=dt.UTC)
    delivery = Normalized(
        products=[
            ProductUpdate(product.sku, four, stock=99),  # newer than 03:00: applied
            ProductUpdate(product.sku, five, price_paise=500),  # same instant, same value: nothing
            ProductUpdate(product.sku, five - dt.timedelta(minutes=1), sales_rank=3),  # late: history only
        ],
        events=[
            EventRecord(product.sku, EventType.view, five + dt.timedelta(minutes=30), external_id="e-1"),
            EventRecord(other.sku, EventType.view, five + dt.timedelta(minutes=90), external_id="e-2"),
        ],
    )

    (applied,) = apply_many(db, ref, [(None, delivery)])
    db.flush()
    db.expire_all()

    assert applied.products_changed == 1
    assert applied.history_rows == 2  # stock 99, and the late sales rank
    stored = db.get(Product, product.id)
    assert stored is not None
    assert (stored.stock, stored.stock_changed_at) == (99, four)
    assert (stored.price_paise, stored.price_changed_at) == (500, five)
    assert (stored.sales_rank, stored.market_changed_at) == (10, five)
    assert stored.last_event_at == odd["last_event_at"][1]  # 05:30 is older than 06:00
    moved = db.get(Product, other.id)
    assert moved is not None
    assert moved.last_event_at == five + dt.timedelta(minutes=90)
    if sqlite:  # a guard not rewritten keeps its stored text
        (price_text,) = db.execute(
            text("SELECT price_changed_at FROM products WHERE id = :id"), {"id": product.id}
        ).one()
        assert price_text == "2026-11-01 05:00:00"


def test_events_rows_built_by_the_applier_match_record_events(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(events_service, "utcnow", lambda: NOW)
    store, ref = _store(db)
    product = make_product(db, store, price_paise=250, last_event_at=None)
    placeholder = make_product(db, store, sku="B0EV000001", external_id="B0EV000001", last_event_at=None)
    db.flush()
    specs: list[tuple[Product, EventType, dt.datetime, int, int, str | None]] = [
        (product, EventType.order, at(-100), 2, 500, "o-1"),
        (product, EventType.order, at(-100), 2, 500, "o-1"),  # repeated in the batch
        (product, EventType.return_, at(5), 1, 250, "r-1"),
        (placeholder, EventType.view, at(6), 7, 0, None),
        (placeholder, EventType.view, at(6), 7, 0, None),  # no external id: both stored
        (placeholder, EventType.click, at(200), 1, 0, "c-1"),
    ]
    # One event already stored: a repeat across deliveries.
    events_service.record_events(
        db, [NewEvent(placeholder.id, store.id, store.platform, EventType.click, at(200), 1, 0, "c-1")]
    )
    records = [
        EventRecord(
            p.sku if p is product else p.external_id or "",
            kind,
            moment,
            quantity=quantity,
            revenue_paise=0 if kind is EventType.order else revenue,
            external_id=external_id,
            by_external_id=p is placeholder,
            revenue_from_price=kind is EventType.order,
        )
        for p, kind, moment, quantity, revenue, external_id in specs
    ]
    applied, by_applier = _run(
        db, ref, [(None, Normalized(events=records[:3])), (None, Normalized(events=records[3:]))]
    )
    assert [(part.events_stored, part.events_repeated) for part in applied] == [(2, 1), (2, 1)]

    nested = db.begin_nested()
    events_service.record_events(
        db,
        [
            NewEvent(p.id, store.id, store.platform, kind, moment, quantity, revenue, external_id)
            for p, kind, moment, quantity, revenue, external_id in specs
        ],
    )
    by_service = _snapshot(db, store.id)
    nested.rollback()

    for table in ("events", "hours", "segments"):
        assert by_applier[table] == by_service[table], table


def test_many_times_convert_as_one_by_one(db: Session) -> None:
    ist = dt.timezone(dt.timedelta(hours=5, minutes=30))
    utc = [at(0), at(0), at(1) + dt.timedelta(microseconds=7), dt.datetime(999, 1, 1, tzinfo=dt.UTC)]
    mixed = [*utc, at(0).astimezone(ist), dt.datetime(2026, 11, 1, 5, 30, 0, 1, tzinfo=ist)]
    for moments in (utc, mixed, []):
        expected = [Bulk(db).time(moment) for moment in moments]
        assert Bulk(db).times(moments) == expected
    with pytest.raises(ValueError, match="naive"):
        Bulk(db).times([at(0), dt.datetime(2026, 11, 1)])
