"""`resight demo-data`: a simulated world's history written straight into the database.

One transaction: stores (with real webhook secrets), products, events, product history and the
events' rollups in bulk (simulator/rollups.py), the products' final state, the world's row.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from cryptography.fernet import Fernet
from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from resight.audit.service import SYSTEM, record
from resight.catalog.models import Platform, Product, ProductHistory
from resight.catalog.stores import create_store
from resight.errors import Conflict
from resight.events.models import Event, ProductHourlyMetrics
from resight.events.rollups import COUNTERS
from resight.simulator.bulk import indexes_built_after, insert_rows, timestamps, update_rows
from resight.simulator.data import CATEGORIES, MARKETPLACES
from resight.simulator.history import ORDER, Chunk, History
from resight.simulator.models import SimulatorWorld
from resight.simulator.rollups import product_hours, segment_hours
from resight.simulator.world import (
    I64,
    MICROS_PER_HOUR,
    PLATFORMS,
    World,
    WorldSpec,
    build_world,
    ist_hour_floor,
    sku_index,
    to_hours,
)

EVENT_TYPES = np.array(["view", "click", "add_to_cart", "order", "cancellation", "return"], dtype=object)
EVENT_COLUMNS = (
    "product_id", "store_id", "marketplace", "event_type", "quantity", "revenue_paise",
    "event_time", "received_at", "external_id",
)  # fmt: skip
HISTORY_COLUMNS = ("product_id", "field", "value_int", "event_time", "recorded_at")


@dataclass(frozen=True, slots=True)
class DemoSummary:
    world_id: int
    products: int
    events: int
    history_rows: int
    orders: int
    start: dt.datetime
    end: dt.datetime
    secrets: dict[str, str]  # platform -> the new store's signing secret (shown once)


def count_products(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Product)) or 0)


def order_ids(platform: str, numbers: I64) -> list[str]:
    """Marketplace-style order ids, unique per order number."""
    if platform == "amazon":  # 402-1234567-1234567
        high, low = np.divmod(numbers, 10**7)
        middle = (low * 3_456_789 + 1_234_567) % 10**7
        return [
            f"{402 + h}-{m:07d}-{lo:07d}"
            for h, m, lo in zip(high.tolist(), middle.tolist(), low.tolist(), strict=True)
        ]
    if platform == "myntra":
        return [str(1_200_000_000_000 + n) for n in numbers.tolist()]
    return [f"{500_000_000_000 + n}_1" for n in numbers.tolist()]


class _Writer:
    def __init__(self, connection: Connection, world: World, end_micros: int) -> None:
        self.connection = connection
        self.world = world
        assert world.product_ids is not None
        self.product_ids = world.product_ids
        self.store_of = np.array([world.store_ids[p] for p in PLATFORMS], dtype=np.int64)
        self.platform_names = np.array(PLATFORMS, dtype=object)
        self.last_event = np.zeros(world.n, np.int64)
        self.events = 0
        self.history = 0
        self.orders = 0
        self.end_micros = end_micros

    def chunk(self, chunk: Chunk) -> None:
        self.events_of(chunk)
        for field, (index, micros, values) in (("price", chunk.price), ("stock", chunk.stock)):
            self.history_rows(field, index, micros, values)
        self.rollups(chunk)

    def events_of(self, chunk: Chunk) -> None:
        conn, world = self.connection, self.world
        # By product, then time: each index then grows in one place per product, not all over.
        order = np.lexsort((chunk.micros, chunk.index))
        chunk = dataclasses.replace(
            chunk,
            index=chunk.index[order],
            kind=chunk.kind[order],
            quantity=chunk.quantity[order],
            revenue_paise=chunk.revenue_paise[order],
            micros=chunk.micros[order],
            order_number=chunk.order_number[order],
        )
        platform = world.platform[chunk.index]
        times = timestamps(conn, chunk.micros)
        external: np.ndarray[Any, np.dtype[np.object_]] = np.full(chunk.index.size, None, dtype=object)
        numbered = chunk.order_number >= 0
        for p, name in enumerate(PLATFORMS):
            mask = numbered & (platform == p)
            if mask.any():
                external[mask] = np.array(order_ids(name, chunk.order_number[mask]), dtype=object)
        rows = list(
            zip(
                self.product_ids[chunk.index].tolist(),
                self.store_of[platform].tolist(),
                self.platform_names[platform].tolist(),
                EVENT_TYPES[chunk.kind].tolist(),
                chunk.quantity.tolist(),
                chunk.revenue_paise.tolist(),
                times,
                times,
                external.tolist(),
                strict=True,
            )
        )
        insert_rows(conn, "events", EVENT_COLUMNS, rows)
        np.maximum.at(self.last_event, chunk.index, chunk.micros)
        self.events += len(rows)
        self.orders += int((chunk.kind == ORDER).sum())

    def rollups(self, chunk: Chunk) -> None:
        conn, world = self.connection, self.world
        index, bucket, counters = product_hours(chunk)
        columns = [counters[name].tolist() for name in COUNTERS]
        rows = list(zip(self.product_ids[index].tolist(), timestamps(conn, bucket), *columns, strict=True))
        insert_rows(conn, "product_hourly_metrics", ("product_id", "hour_start", *COUNTERS), rows)
        platform, category, bucket, counters = segment_hours(chunk, world.platform, world.category)
        columns = [counters[name].tolist() for name in COUNTERS]
        rows = list(
            zip(
                timestamps(conn, bucket),
                self.store_of[platform].tolist(),
                [CATEGORIES[c]["path"] for c in category.tolist()],
                self.platform_names[platform].tolist(),
                *columns,
                strict=True,
            )
        )
        insert_rows(
            conn,
            "segment_hourly_metrics",
            ("hour_start", "store_id", "category", "marketplace", *COUNTERS),
            rows,
        )

    def history_rows(self, field: str, index: I64, micros: I64, values: I64) -> None:
        times = timestamps(self.connection, micros)
        rows = list(
            zip(
                self.product_ids[index].tolist(),
                [field] * index.size,
                values.tolist(),
                times,
                times,
                strict=True,
            )
        )
        insert_rows(self.connection, "product_history", HISTORY_COLUMNS, rows)
        self.history += len(rows)


def _create_stores(session: Session, fernet: Fernet, world: World) -> dict[str, str]:
    secrets: dict[str, str] = {}
    for market in MARKETPLACES:
        store, secret = create_store(
            session,
            SYSTEM,
            fernet,
            platform=Platform(market["platform"]),
            name=market["store_name"],
            seller_id=market["seller_id"],
        )
        world.store_ids[market["platform"]] = store.id
        secrets[market["platform"]] = secret
    return secrets


def _insert_products(connection: Connection, world: World, start_micros: int) -> None:
    created = timestamps(connection, np.full(world.n, start_micros, np.int64))
    categories = [c["path"] for c in CATEGORIES]
    rows = list(
        zip(
            [world.store_ids[PLATFORMS[p]] for p in world.platform.tolist()],
            [PLATFORMS[p] for p in world.platform.tolist()],
            world.sku,
            world.external_id,
            world.title,
            world.brand,
            [categories[c] for c in world.category.tolist()],
            world.mrp_paise.tolist(),
            world.list_price_paise.tolist(),
            world.opening_stock.tolist(),
            world.rating.tolist(),
            world.rating_count.tolist(),
            ["active"] * world.n,
            created, created, created, created, created, created,
            strict=True,
        )
    )  # fmt: skip
    insert_rows(
        connection,
        "products",
        (
            "store_id", "marketplace", "sku", "external_id", "title", "brand", "category", "mrp_paise",
            "price_paise", "stock", "rating", "rating_count", "status", "created_at", "updated_at",
            "price_changed_at", "stock_changed_at", "status_changed_at", "details_changed_at",
        ),
        rows,
    )  # fmt: skip
    ids = np.full(world.n, -1, np.int64)
    found = connection.execute(
        select(Product.id, Product.sku).where(Product.store_id.in_(list(world.store_ids.values())))
    )
    for product_id, sku in found:
        ids[sku_index(sku)] = product_id
    world.product_ids = ids


def _final_state(connection: Connection, world: World, history: History, writer: _Writer) -> None:
    assert world.log is not None
    assert world.product_ids is not None
    log = world.log

    def last_change(index: I64, hours: np.ndarray[Any, np.dtype[np.float64]]) -> I64:
        micros = np.zeros(world.n, np.int64)
        np.maximum.at(micros, index, np.round(hours * MICROS_PER_HOUR).astype(np.int64))
        return micros

    price_at = timestamps(connection, last_change(log.price_index, log.price_hours))
    stock_at = timestamps(connection, last_change(log.stock_index, log.stock_hours))
    last_event = np.where(writer.last_event > 0, writer.last_event, writer.end_micros)
    event_at = timestamps(connection, last_event)
    updated = timestamps(connection, np.full(world.n, writer.end_micros, np.int64))
    state = history.final_state()
    rows = list(
        zip(
            state.price_paise.tolist(), state.stock.tolist(), price_at, stock_at, event_at, updated,
            world.product_ids.tolist(), strict=True,
        )
    )  # fmt: skip
    update_rows(
        connection,
        "products",
        ("price_paise", "stock", "price_changed_at", "stock_changed_at", "last_event_at", "updated_at"),
        rows,
    )


def write_demo_world(
    connection: Connection,
    fernet: Fernet,
    *,
    n_products: int,
    days: int,
    seed: int,
    end: dt.datetime,
    append: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> DemoSummary:
    """Simulate `days` days ending at `end` and store them in the connection's transaction.

    Refuses a database with products unless `append` (a seller's real data must not be mixed with
    demo data by accident). `progress(done_hours, total_hours)` is called after each simulated day.
    """
    if days < 1:
        raise ValueError("days must be at least 1")
    end = ist_hour_floor(end)
    start = end - dt.timedelta(days=days)
    world = build_world(WorldSpec(seed=seed, n_products=n_products, start=start))
    session = Session(bind=connection)
    existing = count_products(session)
    if existing and not append:
        raise Conflict(
            f"the database already has {existing} products; demo data is only written into an empty "
            "database (pass --append to add a demo world beside them)"
        )
    cache_size = None
    if connection.dialect.name == "sqlite":
        # A bigger page cache for the bulk load on this connection, restored below: 256 MiB, or
        # 1 GiB for big worlds, whose indexes are touched everywhere every simulated day.
        cache_size = connection.exec_driver_sql("PRAGMA cache_size").scalar()
        kib = 1_048_576 if n_products * days > 1_000_000 else 262_144
        connection.exec_driver_sql(f"PRAGMA cache_size = -{kib}")
    try:
        secrets = _create_stores(session, fernet, world)
        session.flush()
        # With no products there are no rows in the per-product tables either.
        bulk_models = [] if existing else [Event, ProductHistory, ProductHourlyMetrics]
        bulk_tables = [model.metadata.tables[model.__tablename__] for model in bulk_models]
        with indexes_built_after(connection, bulk_tables):
            writer = _write_history(connection, world, days * 24, progress)
        row = SimulatorWorld(
            seed=seed,
            n_products=n_products,
            start=start,
            end=end,
            stores=dict(world.store_ids),
            model_version=1,
        )
        session.add(row)
        session.flush()
        record(
            session,
            SYSTEM,
            "simulator.world_created",
            "simulator_world",
            row.id,
            new={"seed": seed, "products": n_products, "days": days, "start": start, "end": end},
        )
        session.flush()
    finally:
        if cache_size is not None:
            connection.exec_driver_sql(f"PRAGMA cache_size = {int(cache_size)}")
    return DemoSummary(
        world_id=row.id,
        products=n_products,
        events=writer.events,
        history_rows=writer.history,
        orders=writer.orders,
        start=start,
        end=end,
        secrets=secrets,
    )


def _write_history(
    connection: Connection, world: World, hours: int, progress: Callable[[int, int], None] | None
) -> _Writer:
    start_hour = to_hours(world.spec.start)
    start_micros = round(start_hour * MICROS_PER_HOUR)
    _insert_products(connection, world, start_micros)
    history = History(world, hours)
    writer = _Writer(connection, world, round((start_hour + hours) * MICROS_PER_HOUR))
    everyone = np.arange(world.n, dtype=np.int64)
    writer.history_rows("mrp", everyone, np.full(world.n, start_micros, np.int64), world.mrp_paise)
    for chunk in history:
        writer.chunk(chunk)
        if progress is not None:
            progress(round(chunk.until_hour - start_hour), hours)
    _final_state(connection, world, history, writer)
    return writer
