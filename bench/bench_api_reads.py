"""Authenticated reads through a real uvicorn (one worker) on SQLite: POST /rank (first, deep and
filtered pages), GET /item/{id} and GET /products, against ranking on read (the naive baseline)."""

from __future__ import annotations

import datetime as dt
import functools
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2 as httpx
import numpy as np
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bench.common import Stats, running_server, stats
from resight.audit.service import SYSTEM
from resight.catalog.models import Platform, Product
from resight.db import make_engine, make_session_factory, transaction
from resight.events.rollups import COUNTERS, bucket_start
from resight.migrations import runner
from resight.ml.models import MlScore
from resight.pagination import encode_cursor
from resight.users.models import Role
from resight.users.service import create_user

TITLE = "API reads: POST /rank, GET /item/{id}, GET /products"
DEPARTMENTS = 10
CATEGORIES = [f"Department {i // 6} > Category {i}" for i in range(6 * DEPARTMENTS)]
BRANDS = [f"Brand {i}" for i in range(300)]
RULES = 20
ROLLUP_HOURS = 30 * 24


def _text(moment: dt.datetime) -> str:
    """A UTC datetime as SQLAlchemy stores it in SQLite (no offset, microseconds)."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _seed(engine: Engine, products: int, items: int, now: dt.datetime) -> list[int]:
    """Stores, products, a current ranking (about 1% removed by rules, 2% adjusted by one), 30 days
    of hourly rollups for the products GET /item reads, and a viewer; bulk-inserted through the
    driver, as the ORM's per-row work would dominate the setup. Returns the ids GET /item reads."""
    rng = np.random.default_rng(11)
    runner.upgrade(engine)
    stamp = _text(now)
    platforms = list(Platform)
    marketplace = rng.integers(0, len(platforms), products)
    category = rng.integers(0, len(CATEGORIES), products)
    brand = rng.integers(0, len(BRANDS), products)
    price = rng.integers(299, 9_999, products) * 100
    stock = rng.integers(0, 200, products)
    score = rng.gamma(1.5, 2.0, products)
    removed = rng.random(products) < 0.01
    order = np.lexsort((np.arange(products), -score))
    rank = np.zeros(products, np.int64)
    ranked = order[~removed[order]]
    rank[ranked] = np.arange(1, ranked.size + 1)
    previous = np.maximum(1, rank + rng.integers(-30, 30, products))
    adjusted = rng.random(products) < 0.02
    item_ids: list[int] = (rng.choice(ranked, items, replace=False) + 1).tolist()
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.executemany(
            "INSERT INTO stores (id, platform, name, seller_id, auth, created_at, updated_at) "
            "VALUES (?, ?, ?, 'S', 'signature', ?, ?)",
            [(i + 1, p.value, f"bench {p.value}", stamp, stamp) for i, p in enumerate(platforms)],
        )
        cursor.executemany(
            "INSERT INTO products (id, store_id, marketplace, sku, title, brand, category, mrp_paise, "
            "price_paise, stock, status, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?)",
            [
                (
                    i + 1,
                    m + 1,
                    platforms[m].value,
                    f"SKU-{i}",
                    f"Printed Cotton Kurta {i}",
                    BRANDS[b],
                    CATEGORIES[c],
                    p * 2,
                    p,
                    s,
                    stamp,
                    stamp,
                )
                for i, (m, c, b, p, s) in enumerate(
                    zip(
                        marketplace.tolist(),
                        category.tolist(),
                        brand.tolist(),
                        price.tolist(),
                        stock.tolist(),
                        strict=True,
                    )
                )
            ],
        )
        cursor.executemany(
            "INSERT INTO rules (id, kind, scope, scope_value, priority, enabled, reason, created_at, "
            "updated_at) VALUES (?, 'boost', 'brand', ?, 0, 1, 'bench', ?, ?)",
            [(i + 1, BRANDS[i], stamp, stamp) for i in range(RULES)],
        )
        applied = rng.integers(1, RULES + 1, products)
        cursor.executemany(
            "INSERT INTO ml_scores (product_id, score, rank, previous_rank, model_version, computed_at, "
            "sort_key, rules_applied) VALUES (?, ?, ?, ?, 'bench', ?, ?, ?)",
            [
                (
                    i + 1,
                    s,
                    r or None,
                    p if r else None,
                    stamp,
                    None if r == 0 else s,
                    f"[{a}]" if adj else None,
                )
                for i, (s, r, p, a, adj) in enumerate(
                    zip(
                        score.tolist(),
                        rank.tolist(),
                        previous.tolist(),
                        applied.tolist(),
                        adjusted.tolist(),
                        strict=True,
                    )
                )
            ],
        )
        hours = [_text(bucket_start(now) - dt.timedelta(hours=h)) for h in range(ROLLUP_HOURS)]
        placeholders = ", ".join("?" for _ in COUNTERS)
        counts = rng.poisson(3.0, (items * ROLLUP_HOURS, len(COUNTERS))).tolist()
        cursor.executemany(
            f"INSERT INTO product_hourly_metrics (product_id, hour_start, {', '.join(COUNTERS)}) "
            f"VALUES (?, ?, {placeholders})",
            [
                (product, hour, *counts[n * ROLLUP_HOURS + h])
                for n, product in enumerate(item_ids)
                for h, hour in enumerate(hours)
            ],
        )
        raw.commit()
    finally:
        raw.close()
    with transaction(make_session_factory(engine)) as session:
        create_user(session, SYSTEM, "bench", "bench-password", Role.viewer)
    return item_ids


def _naive_rank(session: Session, body: dict[str, Any]) -> list[int]:
    """Ranking on read: every scored product loaded, filtered and sorted in Python per request."""
    rows = session.execute(select(MlScore, Product).join(Product, Product.id == MlScore.product_id)).all()
    category = body.get("category")
    matching = [
        (score.rank, product.id)
        for score, product in rows
        if score.rank is not None
        and (body.get("marketplace") is None or product.marketplace == body["marketplace"])
        and (
            category is None or product.category == category or product.category.startswith(category + " > ")
        )
        and (body.get("brand") is None or product.brand.lower() == body["brand"].lower())
    ]
    matching.sort()
    offset: int = body.get("offset", 0)
    limit: int = body.get("limit", 50)
    session.expunge_all()
    return [int(product_id) for _rank, product_id in matching[offset : offset + limit]]


def _post(client: httpx.Client, path: str, body: dict[str, Any], _n: int) -> httpx.Response:
    return client.post(path, json=body)


def _get(client: httpx.Client, path: str, params: dict[str, Any], _n: int) -> httpx.Response:
    return client.get(path, params=params)


def _timed(count: int, request: Callable[[int], httpx.Response]) -> Stats:
    seconds = []
    for n in range(count):
        started = time.perf_counter()
        response = request(n)
        seconds.append(time.perf_counter() - started)
        response.raise_for_status()
    return stats(seconds)


def run(quick: bool) -> str:
    # /rank costs 100-250 ms of server CPU at 100,000 products (it counts the matching rows each
    # time), so fewer of those than of the cheap reads keep this section to a few minutes.
    products, items, requests, rank_requests, naive_repeats = (
        (2_000, 20, 20, 20, 2) if quick else (100_000, 300, 300, 100, 3)
    )
    now = dt.datetime.now(dt.UTC)
    rank_bodies: dict[str, dict[str, Any]] = {
        "first page": {"limit": 50},
        "deep page (offset = half the catalogue)": {"limit": 50, "offset": products // 2},
        "last pages (offset = 98%)": {"limit": 50, "offset": products * 98 // 100},
        "marketplace=myntra": {"limit": 50, "marketplace": "myntra"},
        "category (department, 6 subcategories)": {"limit": 50, "category": "Department 3"},
        "brand": {"limit": 50, "brand": "brand 17"},
        "marketplace + category, offset 1,000": {
            "limit": 50,
            "offset": 1_000 if not quick else 10,
            "marketplace": "amazon",
            "category": "Department 4 > Category 25",
        },
    }
    served: dict[str, Stats] = {}
    naive: dict[str, Stats] = {}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        engine = make_engine(url)
        started = time.perf_counter()
        item_ids = _seed(engine, products, items, now)
        seed_seconds = time.perf_counter() - started
        with running_server(url, env={"RESIGHT_SECRET_KEY_FILE": str(Path(tmp) / "key")}) as base:
            with httpx.Client(base_url=base, timeout=60) as client:
                token = client.post(
                    "/auth/token", data={"username": "bench", "password": "bench-password"}
                ).json()["access_token"]
                client.headers["Authorization"] = f"Bearer {token}"
                for name, body in rank_bodies.items():
                    first = client.post("/rank", json=body)
                    first.raise_for_status()
                    expected = [item["id"] for item in first.json()["items"]]
                    with Session(engine) as session:  # the baseline must give the same page
                        if _naive_rank(session, body) != expected:
                            raise AssertionError(f"naive and served /rank differ for {name}")
                    served[f"POST /rank, {name}"] = _timed(
                        rank_requests, functools.partial(_post, client, "/rank", body)
                    )
                served["GET /item/{id} (30 days of rollups)"] = _timed(
                    requests, lambda n: client.get(f"/item/{item_ids[n % len(item_ids)]}")
                )
                deep = encode_cursor([products * 9 // 10])
                product_reads: dict[str, dict[str, Any]] = {
                    "GET /products, first page (limit 100)": {"limit": 100},
                    "GET /products, deep page by cursor (id > 90%)": {"limit": 100, "cursor": deep},
                    "GET /products, search q=kurta 99": {"q": "kurta 99", "limit": 50},
                }
                for name, params in product_reads.items():
                    served[name] = _timed(requests, functools.partial(_get, client, "/products", params))
        with Session(engine) as session:
            for name in ("first page", "marketplace=myntra", "deep page (offset = half the catalogue)"):
                seconds = []
                for _ in range(naive_repeats):
                    started = time.perf_counter()
                    _naive_rank(session, rank_bodies[name])
                    seconds.append(time.perf_counter() - started)
                naive[name] = stats(seconds)
        engine.dispose()
    lines = [
        f"{products:,} products (3 marketplaces, {len(CATEGORIES)} categories in {DEPARTMENTS} departments, "
        f"{len(BRANDS)} brands) with a current ranking (~1% removed by rules, 2% adjusted by one), "
        f"30 days of hourly rollups for the {items} products GET /item reads; seeded in "
        f"{seed_seconds:.0f} s. Sequential requests (n per row) through a real uvicorn "
        "(one worker, SQLite) with a viewer's token; latency is the client's, over keep-alive HTTP.",
        "",
        "| request | n | median ms | p99 ms |",
        "|---|---|---|---|",
        *(result.row(name) for name, result in served.items()),
        "",
        "Naive baseline — ranking on read, as a system without a stored ranking serves a page: load every "
        "scored product (ORM rows), filter and sort in Python, slice the page (in process, so without "
        "HTTP; it returned the same page as the server for every request shape above). GET /item "
        "needs the same work to know one product's rank.",
        "",
        "| request shape | naive n | naive median ms | served median ms | ratio |",
        "|---|---|---|---|---|",
    ]
    for name, result in naive.items():
        stored = served[f"POST /rank, {name}"]
        lines.append(
            f"| {name} | {result.count} | {result.median_ms:,.0f} | {stored.median_ms:.1f} "
            f"| {result.median_ms / stored.median_ms:,.0f}× |"
        )
    return "\n".join(lines)
