"""rollups.add_distinct_counts (SQLite's path for events that are each alone in their product
and IST hour, as an hourly notification's buckets are) writes exactly what add_counts' loop
writes: the same product-hour, segment-hour and segment-day rows, on top of rows already there."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from resight.bulksql import Bulk
from resight.catalog.models import Platform
from resight.events import rollups
from resight.events.models import EventType
from tests.factories import make_product, make_store

START = dt.datetime(2026, 11, 1, 6, 30, tzinfo=dt.UTC)
TABLES = ("product_hourly_metrics", "segment_hourly_metrics", "segment_daily_metrics")
Columns = tuple[list[int], list[dt.datetime], list[str], list[int], list[int]]


def _snapshot(db: Session) -> dict[str, list[tuple[Any, ...]]]:
    return {table: sorted(map(tuple, db.execute(text(f"SELECT * FROM {table}")))) for table in TABLES}


def _distinct_events(rng: random.Random, product_ids: list[int], count: int) -> Columns:
    """`count` events, no two in one product and IST hour: runs of one type (as notifications
    send them) over products and hours in no particular order; some with revenue they do not count."""
    keys = rng.sample([(p, h) for p in product_ids for h in range(30)], count)
    columns: Columns = ([], [], [], [], [])
    position = 0
    while position < count:
        kind = rng.choice(list(EventType))
        for product_id, hour in keys[position : position + rng.randrange(1, 40)]:
            columns[0].append(product_id)
            # Any minute of the hour, some at its very start or last microsecond.
            offset = rng.choice([0, rng.randrange(3_600_000_000), 3_599_999_999])
            columns[1].append(START + dt.timedelta(hours=hour, microseconds=offset))
            columns[2].append(rng.choice([kind, kind.value]))
            columns[3].append(rng.randrange(1, 9))
            columns[4].append(rng.randrange(0, 500_000) if rng.random() < 0.9 else 0)
            position += 1
    return columns


@pytest.mark.parametrize("seed", range(6))
def test_distinct_events_roll_up_as_the_loop_does(
    db: Session, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    bulk = Bulk(db)
    if not bulk.sqlite:
        pytest.skip("add_distinct_counts is SQLite's path; PostgreSQL always takes add_counts' loop")
    rng = random.Random(seed)
    store = make_store(db)
    products = [make_product(db, store, category=rng.choice(["A > B", "A > C", "D"])) for _ in range(25)]
    db.commit()
    segments = {p.id: (store.id, Platform.amazon, p.category) for p in products}
    ids = [p.id for p in products]
    earlier = _distinct_events(rng, ids, 300)  # rows already there: later events add to them
    later = _distinct_events(rng, ids, rng.randrange(1, 700))

    def roll_up(distinct: bool) -> dict[str, list[tuple[Any, ...]]]:
        bulk = Bulk(db)  # the session's connection of this transaction
        for columns in (earlier, later):
            if distinct:
                assert rollups.add_distinct_counts(bulk, *columns, segments)
            else:
                with monkeypatch.context() as patched:
                    patched.setattr(rollups, "add_distinct_counts", lambda *_: False)
                    rollups.add_counts(bulk, *columns, segments)
        return _snapshot(db)

    by_loop = roll_up(distinct=False)
    db.rollback()
    assert roll_up(distinct=True) == by_loop
    assert all(by_loop.values())
    db.rollback()
    bulk = Bulk(db)
    for columns in (earlier, later):  # add_counts takes that path by itself
        rollups.add_counts(bulk, *columns, segments)
    assert _snapshot(db) == by_loop


def test_events_sharing_a_product_hour_are_left_to_the_loop(db: Session) -> None:
    bulk = Bulk(db)
    if not bulk.sqlite:
        pytest.skip("add_distinct_counts is SQLite's path; PostgreSQL always takes add_counts' loop")
    store = make_store(db)
    product = make_product(db, store)
    segments = {product.id: (store.id, Platform.amazon, product.category)}
    # Two views in the same IST hour (06:30 and 07:29 UTC), then an order in the next one.
    columns: Columns = (
        [product.id] * 3,
        [START, START + dt.timedelta(minutes=59), START + dt.timedelta(hours=1)],
        ["view", "view", "order"],
        [2, 3, 1],
        [0, 0, 49_900],
    )
    assert not rollups.add_distinct_counts(bulk, *columns, segments)
    assert _snapshot(db) == {table: [] for table in TABLES}
    rollups.add_counts(bulk, *columns, segments)
    views = db.execute(
        text("SELECT views, orders, gmv_paise FROM product_hourly_metrics ORDER BY hour_start")
    ).all()
    assert [tuple(row) for row in views] == [(5, 0, 0), (0, 1, 49_900)]
