"""Bulk.insert_many and Bulk.update_many (a hundred rows to a statement on SQLite) store what one
statement per row stores: the same rows, repeats skipped by the first copy, upserts adding up
across statements, every row updated by its id."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from resight.bulksql import ROWS_PER_STATEMENT, Bulk
from resight.catalog.models import Platform, Product
from resight.events import rollups
from resight.events.models import Event, ProductHourlyMetrics
from resight.events.service import PLATFORM_STORED, insert_rows
from tests.factories import make_product, make_store

START = dt.datetime(2026, 11, 1, 6, 30, tzinfo=dt.UTC)


def _event_rows(bulk: Bulk, product_id: int, store_id: int, keys: list[int]) -> list[tuple[Any, ...]]:
    stamp = bulk.time(START)
    platform = PLATFORM_STORED[Platform.amazon]
    return [(product_id, store_id, platform, "view", stamp, 1, 0, f"v/{key}", None, stamp) for key in keys]


# Counts around each statement size: rows left for the 10-row and the one-row statements.
@pytest.mark.parametrize("count", [1, 9, 10, 11, 99, 100, 101, 237, 1000])
def test_events_repeats_are_skipped_across_statements(db: Session, count: int) -> None:
    store = make_store(db)
    product = make_product(db, store)
    bulk = Bulk(db)
    # Every third key repeats an earlier one, often one in an earlier statement.
    keys = [k if k % 3 else k // 7 for k in range(count)]
    first = {key: position for position, key in reversed(list(enumerate(keys)))}
    stored = insert_rows(bulk, _event_rows(bulk, product.id, store.id, keys))
    expected = sorted(first.values())
    assert (stored if stored is not None else list(range(count))) == expected
    ids = db.scalars(select(Event.external_id).where(Event.store_id == store.id).order_by(Event.id)).all()
    assert ids == [f"v/{keys[position]}" for position in expected]
    # Everything again: nothing new, nothing stored twice.
    assert insert_rows(bulk, _event_rows(bulk, product.id, store.id, keys)) == []
    assert db.scalar(select(func.count()).select_from(Event).where(Event.store_id == store.id)) == len(
        expected
    )


@pytest.mark.parametrize("count", [ROWS_PER_STATEMENT[0] * 2 + ROWS_PER_STATEMENT[1] + 3])
def test_rollup_upserts_add_up_across_statements(db: Session, count: int) -> None:
    store = make_store(db)
    products = [make_product(db, store) for _ in range(count // 10 + 1)]
    bulk = Bulk(db)
    segments = {p.id: (store.id, Platform.amazon, p.category) for p in products}
    # `count` distinct product-hours, each given k views, sent twice.
    pairs = [
        (products[k % len(products)].id, START + dt.timedelta(hours=k // len(products))) for k in range(count)
    ]
    for _ in range(2):
        rollups.add_counts(
            bulk,
            [pid for pid, _ in pairs],
            [hour for _, hour in pairs],
            ["view"] * count,
            list(range(count)),
            [0] * count,
            segments,
        )
    m = ProductHourlyMetrics
    stored = {
        (pid, hour.astimezone(dt.UTC)): views
        for pid, hour, views in db.execute(select(m.product_id, m.hour_start, m.views)).all()
    }
    assert stored == {pair: 2 * k for k, pair in enumerate(pairs)}


@pytest.mark.parametrize("count", [1, 9, 10, 11, 100, 237])
def test_updates_by_id_across_statements(db: Session, count: int) -> None:
    store = make_store(db)
    products = [make_product(db, store, stock=0) for _ in range(count + 3)]
    db.flush()
    bulk = Bulk(db)
    # Every product but the last three: a stock and a price of its own; in no particular order.
    rows = [(k + 1, 1000 * (k + 1), product.id) for k, product in enumerate(products[:count])]
    bulk.update_many("products", ("stock", "price_paise"), rows[1::2] + rows[::2])
    db.expire_all()
    stored = {
        p.id: (p.stock, p.price_paise)
        for p in db.scalars(select(Product).where(Product.store_id == store.id))
    }
    expected = {product_id: (stock, price) for stock, price, product_id in rows}
    expected.update({p.id: (0, p.price_paise) for p in products[count:]})
    assert stored == expected
