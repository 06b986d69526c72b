"""Authenticated reads through a real uvicorn (one worker) on SQLite."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import httpx2 as httpx
from sqlalchemy import insert

from bench.common import running_server, stats
from resight.audit.service import SYSTEM
from resight.catalog.models import Platform, Product, Store, WebhookAuth
from resight.db import make_engine, make_session_factory, transaction
from resight.migrations import runner
from resight.users.models import Role
from resight.users.service import create_user

TITLE = "API reads: GET /products"


def _seed(database_url: str, products: int) -> None:
    engine = make_engine(database_url)
    runner.upgrade(engine)
    with transaction(make_session_factory(engine)) as session:
        store = Store(platform=Platform.myntra, name="bench", seller_id="S1", auth=WebhookAuth.signature)
        session.add(store)
        session.flush()
        rows = [
            {
                "store_id": store.id,
                "marketplace": Platform.myntra,
                "sku": f"SKU-{i}",
                "title": f"Printed Cotton Kurta {i}",
                "brand": "Libas",
                "category": "Ethnic Wear > Kurtas",
                "mrp_paise": 199_900,
                "price_paise": 99_900 + i % 1000,
                "stock": i % 50,
            }
            for i in range(products)
        ]
        session.execute(insert(Product), rows)
        create_user(session, SYSTEM, "bench", "bench-password", Role.viewer)
    engine.dispose()


def run(quick: bool) -> str:
    products, requests = (200, 20) if quick else (100_000, 500)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        _seed(url, products)
        with running_server(url, env={"RESIGHT_SECRET_KEY_FILE": str(Path(tmp) / "key")}) as base:
            with httpx.Client(base_url=base, timeout=30) as client:
                token = client.post(
                    "/auth/token", data={"username": "bench", "password": "bench-password"}
                ).json()["access_token"]
                headers = {"Authorization": f"Bearer {token}"}
                timings: dict[str, list[float]] = {"first page (limit 100)": [], "search q=kurta 99": []}

                for _ in range(requests):
                    started = time.perf_counter()
                    response = client.get("/products", params={"limit": 100}, headers=headers)
                    timings["first page (limit 100)"].append(time.perf_counter() - started)
                    response.raise_for_status()
                    started = time.perf_counter()
                    client.get(
                        "/products", params={"q": "kurta 99", "limit": 50}, headers=headers
                    ).raise_for_status()
                    timings["search q=kurta 99"].append(time.perf_counter() - started)
    lines = [
        f"{products:,} products, {requests} sequential requests each, real uvicorn, one worker, SQLite.",
        "",
        "| request | n | median ms | p99 ms |",
        "|---|---|---|---|",
    ]
    lines += [stats(values).row(name) for name, values in timings.items()]
    return "\n".join(lines)
