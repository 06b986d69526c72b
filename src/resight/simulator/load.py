"""Rebuilding a simulated world from a database: the catalogue from its seed, the state from history.

The price and stock over time come from product_history, so changes that arrived later (the live
simulator's webhooks, a seller's edits through the API) are part of the state the truth is computed on.
"""

from __future__ import annotations

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from resight.catalog.models import HistoryField, Product, ProductHistory
from resight.errors import NotFound
from resight.simulator.models import SimulatorWorld
from resight.simulator.world import F64, I64, StateLog, World, WorldSpec, build_world, sku_index


def world_row(session: Session, world_id: int | None = None) -> SimulatorWorld:
    """The given simulated world, or the newest one."""
    query = select(SimulatorWorld).order_by(SimulatorWorld.id.desc()).limit(1)
    if world_id is not None:
        query = select(SimulatorWorld).where(SimulatorWorld.id == world_id)
    row = session.scalars(query).first()
    if row is None:
        raise NotFound("no simulated world in this database (run `resight demo-data` first)")
    return row


def load_world(session: Session, world_id: int | None = None) -> World:
    """The world as stored: catalogue rebuilt from (seed, n, start), ids and state from the database."""
    row = world_row(session, world_id)
    world = build_world(WorldSpec(seed=row.seed, n_products=row.n_products, start=row.start))
    world.store_ids = {platform: int(store_id) for platform, store_id in row.stores.items()}
    products = session.execute(
        select(Product.id, Product.sku).where(Product.store_id.in_(list(world.store_ids.values())))
    ).all()
    product_ids = np.full(world.n, -1, np.int64)
    for product_id, sku in products:
        index = sku_index(sku)
        if 0 <= index < world.n and world.sku[index] == sku:
            product_ids[index] = product_id
    world.product_ids = product_ids
    world.log = _state_log(session, world, product_ids)
    return world


def _state_log(session: Session, world: World, product_ids: I64) -> StateLog:
    known = product_ids >= 0
    order = np.argsort(product_ids[known])
    sorted_ids = product_ids[known][order]
    index_of_sorted = np.flatnonzero(known)[order]
    columns: dict[HistoryField, tuple[list[int], list[float], list[int]]] = {
        HistoryField.price: ([], [], []),
        HistoryField.stock: ([], [], []),
    }
    store_products = select(Product.id).where(Product.store_id.in_(list(world.store_ids.values())))
    rows = session.execute(
        select(
            ProductHistory.product_id,
            ProductHistory.field,
            ProductHistory.event_time,
            ProductHistory.value_int,
        )
        .where(ProductHistory.product_id.in_(store_products))
        .where(ProductHistory.field.in_([HistoryField.price, HistoryField.stock]))
    )
    for product_id, field, event_time, value in rows:
        if value is None:
            continue
        ids, hours, values = columns[HistoryField(field)]
        ids.append(product_id)
        hours.append(event_time.timestamp() / 3600.0)
        values.append(value)

    def arrays(field: HistoryField) -> tuple[I64, F64, I64]:
        ids, hours, values = columns[field]
        id_array = np.array(ids, dtype=np.int64)
        if sorted_ids.size == 0 or id_array.size == 0:
            return np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int64)
        position = np.minimum(np.searchsorted(sorted_ids, id_array), sorted_ids.size - 1)
        # Products of the world's stores that are not the world's (added by hand) are left out.
        ours = sorted_ids[position] == id_array
        return (
            index_of_sorted[position[ours]],
            np.array(hours, dtype=np.float64)[ours],
            np.array(values, dtype=np.int64)[ours],
        )

    return StateLog.build(arrays(HistoryField.price), arrays(HistoryField.stock))
