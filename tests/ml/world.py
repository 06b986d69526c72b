"""A small synthetic shop for ML tests: products with a known price-elastic demand, their history
rows, and hourly rollups written directly (the feature pipeline reads rollups, not raw events)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from sqlalchemy import insert
from sqlalchemy.orm import Session

from resight.catalog.models import HistoryField, Platform, Product, ProductHistory
from resight.events.models import ProductHourlyMetrics
from resight.events.rollups import bucket_start
from resight.ml.training import TrainingConfig
from tests.factories import make_product, make_store

SMALL = TrainingConfig(
    rounds=15, num_leaves=7, min_data_in_leaf=5, snapshot_hours=6, eval_hours=12, threads=1
)
CATEGORIES = ("Ethnic Wear > Kurtas", "Footwear > Sneakers")
BRANDS = ("Biba", "Libas", "Puma")


@dataclass(frozen=True)
class World:
    products: list[Product]
    start: dt.datetime  # first rollup bucket
    end: dt.datetime  # first bucket after the history (a bucket boundary)
    demand: np.ndarray  # orders per hour of each product


def build_world(db: Session, n: int = 30, days: int = 6, seed: int = 1) -> World:
    rng = np.random.default_rng(seed)
    end = bucket_start(dt.datetime.now(dt.UTC)) - dt.timedelta(hours=2)
    start = end - dt.timedelta(days=days)
    stores = {p: make_store(db, p) for p in (Platform.amazon, Platform.myntra)}
    products: list[Product] = []
    prices = rng.uniform(300, 3000, n).round()
    appeal = rng.uniform(0.5, 2.0, n)
    demand = 0.6 * appeal * (prices / 1000.0) ** -1.2
    for i in range(n):
        platform = Platform.amazon if i % 2 == 0 else Platform.myntra
        products.append(
            make_product(
                db,
                stores[platform],
                category=CATEGORIES[i % 2],
                brand=BRANDS[i % 3],
                price_paise=int(prices[i] * 100),
                mrp_paise=int(prices[i] * 150),
                stock=100 + i,
                rating=round(3.5 + appeal[i] / 2, 1),
                rating_count=50 + 10 * i,
                created_at=start - dt.timedelta(days=2),
            )
        )
    history = []
    for product in products:
        when = start - dt.timedelta(days=2)
        history += [
            {
                "product_id": product.id,
                "field": HistoryField.price,
                "value_int": product.price_paise,
                "event_time": when,
            },
            {
                "product_id": product.id,
                "field": HistoryField.mrp,
                "value_int": product.mrp_paise,
                "event_time": when,
            },
            {
                "product_id": product.id,
                "field": HistoryField.stock,
                "value_int": product.stock,
                "event_time": when,
            },
            {
                "product_id": product.id,
                "field": HistoryField.status,
                "value_text": "active",
                "event_time": when,
            },
        ]
    db.execute(insert(ProductHistory), history)
    hours = days * 24
    rows = []
    orders = rng.poisson(np.outer(demand, np.ones(hours)))
    views = rng.poisson(np.outer(demand * 40, np.ones(hours)))
    for i, product in enumerate(products):
        for h in range(hours):
            rows.append(
                {
                    "product_id": product.id,
                    "hour_start": start + dt.timedelta(hours=h),
                    "views": int(views[i, h]),
                    "clicks": int(views[i, h] // 8),
                    "add_to_carts": int(orders[i, h] * 2),
                    "orders": int(orders[i, h]),
                    "units": int(orders[i, h]),
                    "gmv_paise": int(orders[i, h]) * product.price_paise,
                }
            )
    db.execute(insert(ProductHourlyMetrics), rows)
    db.flush()
    return World(products=products, start=start, end=end, demand=demand)
