"""`resight demo-data` writes a consistent world: rows, rollups, final state and truth agree.

The shared test database may hold other tests' committed rows, so these tests write with
`append=True` and look only at their own world's stores.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Connection, func, inspect, select
from sqlalchemy.orm import Session

from resight.catalog.models import HistoryField, Product, ProductHistory, Store
from resight.db import make_engine
from resight.errors import Conflict
from resight.events.models import Event, EventType, ProductHourlyMetrics, SegmentHourlyMetrics
from resight.events.rollups import rebuild_rollups
from resight.integrations.signatures import fernet_for
from resight.migrations import runner
from resight.simulator.demand import expected_orders_between, true_expected_orders
from resight.simulator.load import load_world
from resight.simulator.models import SimulatorWorld
from resight.simulator.world import World
from resight.simulator.writer import DemoSummary, write_demo_world
from tests.factories import make_product

END = dt.datetime(2026, 11, 20, 9, 45, tzinfo=dt.UTC)
FERNET = fernet_for("test-secret-key-" + "x" * 32)


def _write(
    connection: Connection, *, seed: int = 4, append: bool = True, n: int = 150, days: int = 6
) -> DemoSummary:
    return write_demo_world(connection, FERNET, n_products=n, days=days, seed=seed, end=END, append=append)


def _rollups(session: Session, model: Any, stores: list[int]) -> set[tuple[Any, ...]]:
    columns = [column for column in model.__table__.columns]
    query = select(*columns)
    if model is ProductHourlyMetrics:
        query = query.join(Product, Product.id == ProductHourlyMetrics.product_id).where(
            Product.store_id.in_(stores)
        )
    else:
        query = query.where(model.store_id.in_(stores))
    return {tuple(row) for row in session.execute(query)}


def _stores(session: Session, summary: DemoSummary) -> list[int]:
    world = session.get(SimulatorWorld, summary.world_id)
    assert world is not None
    return [int(store_id) for store_id in world.stores.values()]


def test_demo_data_writes_a_consistent_world(connection: Connection) -> None:
    session = Session(bind=connection)
    sellers_own = make_product(session)  # --append writes beside it and leaves it alone
    summary = _write(connection)
    assert summary.products == 150
    assert summary.end == dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)  # an IST hour boundary
    assert summary.end - summary.start == dt.timedelta(days=6)
    ours = _stores(session, summary)
    stores = session.scalars(select(Store).where(Store.id.in_(ours))).all()
    assert sorted(store.platform.value for store in stores) == ["amazon", "meesho", "myntra"]
    assert all(secret.startswith("whsec_") for secret in summary.secrets.values())
    assert session.scalar(select(func.count()).select_from(Product).where(Product.store_id.in_(ours))) == 150
    assert (
        session.scalar(select(func.count()).select_from(Event).where(Event.store_id.in_(ours)))
        == summary.events
    )
    assert summary.orders > 50
    row = session.get(SimulatorWorld, summary.world_id)
    assert row is not None
    assert (row.seed, row.n_products, row.start, row.end) == (4, 150, summary.start, summary.end)

    # Event rows are well formed: order ids unique per store, cancellations point at orders.
    events = session.execute(
        select(Event.store_id, Event.event_type, Event.external_id, Event.event_time).where(
            Event.store_id.in_(ours)
        )
    ).all()
    orders = {(e.store_id, e.external_id) for e in events if e.event_type is EventType.order}
    assert len(orders) == summary.orders
    for e in events:
        assert summary.start <= e.event_time < summary.end
        if e.event_type in (EventType.cancellation, EventType.return_):
            assert (e.store_id, e.external_id) in orders
        elif e.event_type is not EventType.order:
            assert e.external_id is None

    # The rollups written in bulk equal what the events domain computes from the same events.
    written = (_rollups(session, ProductHourlyMetrics, ours), _rollups(session, SegmentHourlyMetrics, ours))
    assert len(written[0]) > 500
    rebuild_rollups(session)
    session.flush()
    rebuilt = (_rollups(session, ProductHourlyMetrics, ours), _rollups(session, SegmentHourlyMetrics, ours))
    assert rebuilt == written

    # The world rebuilt from the database has the products' final state and the same truth.
    world = load_world(session, summary.world_id)
    assert world.product_ids is not None
    assert (world.product_ids > 0).all()
    final = world.state_at(summary.end)
    stored = {
        p.id: (p.price_paise, p.stock, p.mrp_paise)
        for p in session.scalars(select(Product).where(Product.store_id.in_(ours)))
    }
    for i in range(world.n):
        assert stored[int(world.product_ids[i])] == (final.price_paise[i], final.stock[i], world.mrp_paise[i])
    truth = true_expected_orders(world, np.arange(world.n), summary.end)
    assert (truth[final.stock == 0] == 0).all()
    assert truth.sum() > 0

    # Realised orders match the model's expectation over the history, in total and per product.
    realised = _orders_per_product(session, world, ours)
    expected = _expected_over_history(world, summary.start, 6 * 24)
    assert realised.sum() == pytest.approx(expected.sum(), rel=0.15)
    assert np.corrcoef(realised, expected)[0, 1] > 0.7

    session.refresh(sellers_own)
    assert (sellers_own.price_paise, sellers_own.stock) == (129_900, 25)
    assert (
        session.scalar(select(func.count()).select_from(Event).where(Event.product_id == sellers_own.id)) == 0
    )

    # Price experiments and restocks are in the history.
    changes = session.execute(
        select(ProductHistory.field, func.count())
        .join(Product, Product.id == ProductHistory.product_id)
        .where(Product.store_id.in_(ours))
        .group_by(ProductHistory.field)
    ).all()
    counts = {HistoryField(field): count for field, count in changes}
    assert counts[HistoryField.price] > 150  # opening prices plus changes
    assert counts[HistoryField.mrp] == 150
    assert counts[HistoryField.stock] > 150


def _orders_per_product(session: Session, world: World, stores: list[int]) -> np.ndarray:
    assert world.product_ids is not None
    position = {int(product_id): i for i, product_id in enumerate(world.product_ids)}
    realised = np.zeros(world.n)
    rows = session.execute(
        select(Event.product_id, func.count())
        .where(Event.event_type == EventType.order, Event.store_id.in_(stores))
        .group_by(Event.product_id)
    )
    for product_id, count in rows:
        realised[position[product_id]] = count
    return realised


def _expected_over_history(world: World, start: dt.datetime, hours: int) -> np.ndarray:
    """Each hour's expected orders under the state the simulation had at the hour's start."""
    index = np.arange(world.n)
    total = np.zeros(world.n)
    for h in range(hours):
        moment = start + dt.timedelta(hours=h)
        total += expected_orders_between(world, index, world.state_at(moment), moment, 1)
    return total


def test_demo_data_refuses_a_database_with_products(connection: Connection) -> None:
    _write(connection, n=20, days=1)
    with pytest.raises(Conflict, match=r"already has \d+ products"):
        _write(connection, n=20, days=1, append=False)


def test_same_seed_writes_identical_rows(connection: Connection) -> None:
    first = _write(connection, n=60, days=2, seed=8)
    second = _write(connection, n=60, days=2, seed=8)
    session = Session(bind=connection)

    def rows(summary: DemoSummary) -> list[tuple[Any, ...]]:
        world = session.get(SimulatorWorld, summary.world_id)
        assert world is not None
        return sorted(
            session.execute(
                select(
                    Product.sku,
                    Event.event_type,
                    Event.quantity,
                    Event.revenue_paise,
                    Event.event_time,
                    Event.external_id,
                )
                .join(Product, Product.id == Event.product_id)
                .where(Product.store_id.in_(list(world.stores.values())))
            ).all(),
            key=repr,
        )

    assert first.events == second.events
    assert rows(first) == rows(second)
    assert len(rows(first)) == first.events


def _indexes(connection: Connection) -> dict[str, list[dict[str, Any]]]:
    inspector = inspect(connection)

    def comparable(index: Any) -> dict[str, Any]:
        # A partial index's WHERE is reflected as a TextClause, which compares by identity.
        options = {name: str(value) for name, value in index.get("dialect_options", {}).items()}
        return {**index, "dialect_options": options}

    found = {
        table: [comparable(index) for index in inspector.get_indexes(table)]
        for table in ("events", "product_history", "product_hourly_metrics")
    }
    return {table: sorted(rows, key=lambda index: str(index["name"])) for table, rows in found.items()}


def test_demo_data_into_an_empty_database_rebuilds_its_indexes(own_database: str) -> None:
    """Into empty tables the load goes without secondary indexes; afterwards they are all back,
    as the migrations made them, and queries that need them find the world's rows."""
    engine = make_engine(own_database)
    try:
        runner.upgrade(engine)
        with engine.connect() as connection:
            migrated = _indexes(connection)
        # events has no secondary index since migration events_0007: only its uniqueness
        # constraint's (PostgreSQL lists it among the indexes), which the load keeps.
        assert [index for index in migrated["events"] if not index.get("duplicates_constraint")] == []
        assert migrated["product_history"]
        assert migrated["product_hourly_metrics"]
        with engine.begin() as connection:
            summary = _write(connection, append=False, n=60, days=3)
        with engine.connect() as connection:
            assert _indexes(connection) == migrated
            session = Session(bind=connection)
            stores = _stores(session, summary)
            counted = session.scalar(
                select(func.count())
                .select_from(Event)
                .where(Event.store_id.in_(stores), Event.event_time >= END - dt.timedelta(days=1))
            )
            assert 0 < int(counted or 0) < summary.events
    finally:
        engine.dispose()
