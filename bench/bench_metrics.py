"""GET /metrics with 100,000 products at 1M and 10M raw events (SQLite, real uvicorn).

Events arrive at a fixed rate (100,000 a day), so ten times the events is ten times the history.
Rollups are rebuilt from the raw events with `rebuild_rollups` (the same code as
`resight rollups rebuild`), so they are exactly what ingestion would have produced.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx2 as httpx
from sqlalchemy import create_engine, event

from bench.common import running_server, stats
from resight.audit.service import SYSTEM
from resight.config import Settings
from resight.db import make_engine, make_session_factory, transaction, utcnow
from resight.events.alerts import evaluate_alerts
from resight.events.rollups import rebuild_rollups
from resight.migrations import runner
from resight.users.models import Role
from resight.users.service import create_user

TITLE = "KPIs: GET /metrics against event volume"
EVENTS_PER_DAY = 100_000
CATEGORIES = 30
BRANDS = 50


def _bulk_pragmas(connection: Any, _record: Any = None) -> None:
    # A bulk load, not a durability test: no journal, no fsync, big cache, sorts in memory.
    for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-400000", "temp_store=MEMORY"):
        connection.execute(f"PRAGMA {pragma}")


def _load(path: Path, products: int, events: int) -> tuple[float, float]:
    """Seed products and events with bulk SQL; return (seconds for events, seconds for rollups)."""
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    runner.upgrade(engine)
    with transaction(make_session_factory(engine)) as session:
        create_user(session, SYSTEM, "bench", "bench-password", Role.viewer)
    engine.dispose()

    now = time.time()
    step = 86_400 / EVENTS_PER_DAY  # seconds between events
    db = sqlite3.connect(path, isolation_level=None)
    _bulk_pragmas(db)
    # Secondary event indexes are built once at the end (sorted), not updated row by row.
    indexes = db.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' AND sql IS NOT NULL"
    ).fetchall()
    for name, _sql in indexes:
        db.execute(f'DROP INDEX "{name}"')
    db.execute("BEGIN")
    db.executemany(
        "INSERT INTO stores (id, platform, name, seller_id, auth, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, 'signature', datetime('now'), datetime('now'))",
        [(1, "amazon", "Amazon", "A1"), (2, "myntra", "Myntra", "M1"), (3, "meesho", "Meesho", "E1")],
    )
    db.execute(
        f"""
        WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < {products})
        INSERT INTO products (id, store_id, marketplace, sku, title, brand, category, mrp_paise,
            price_paise, stock, status, created_at, updated_at)
        SELECT i, (i % 3) + 1, CASE i % 3 WHEN 0 THEN 'amazon' WHEN 1 THEN 'myntra' ELSE 'meesho' END,
            'SKU-' || i, 'Printed Cotton Kurta ' || i, 'Brand ' || (i % {BRANDS}),
            'Women > Cat ' || (i % {CATEGORIES} / 5) || ' > Sub ' || (i % {CATEGORIES}),
            199900, 99900 + i % 1000, i % 50, CASE WHEN i % 17 = 0 THEN 'inactive' ELSE 'active' END,
            datetime('now'), datetime('now')
        FROM seq
        """
    )
    started = time.perf_counter()
    db.execute(
        f"""
        WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i < {events - 1}),
        picked AS (SELECT i, (i * 7919) % {products} + 1 AS p, i % 40 AS r FROM seq)
        INSERT INTO events (product_id, store_id, marketplace, event_type, quantity, revenue_paise,
            event_time, received_at)
        SELECT p, (p % 3) + 1, CASE p % 3 WHEN 0 THEN 'amazon' WHEN 1 THEN 'myntra' ELSE 'meesho' END,
            CASE WHEN r < 28 THEN 'view' WHEN r < 34 THEN 'click' WHEN r < 36 THEN 'add_to_cart'
                 WHEN r < 39 THEN 'order' WHEN (i / 40) % 2 = 0 THEN 'cancellation' ELSE 'return' END,
            CASE WHEN r < 28 THEN 1 + i % 5 WHEN r < 36 THEN 1 ELSE 1 + i % 2 END,
            CASE WHEN r < 36 THEN 0 ELSE (99900 + p % 1000) * (1 + i % 2) END,
            strftime('%Y-%m-%d %H:%M:%S.000000', {now} - i * {step}, 'unixepoch'),
            strftime('%Y-%m-%d %H:%M:%S.000000', {now} - i * {step}, 'unixepoch')
        FROM picked
        """
    )
    for _name, sql in indexes:
        db.execute(sql)
    db.execute("COMMIT")
    events_seconds = time.perf_counter() - started
    db.close()

    started = time.perf_counter()
    engine = create_engine(url)
    event.listen(engine, "connect", _bulk_pragmas)
    with transaction(make_session_factory(engine)) as session:
        rebuild_rollups(session)
    engine.dispose()
    return events_seconds, time.perf_counter() - started


def _measure(path: Path, requests: int) -> dict[str, list[float]]:
    url = f"sqlite:///{path}"
    timings: dict[str, list[float]] = {"today": [], "7d": [], "today, category filter": []}
    params = {
        "today": {},
        "7d": {"window": "7d"},
        "today, category filter": {"category": "Women > Cat 2", "marketplace": "myntra"},
    }
    with (
        # Scoring off: this measures KPI reads, not contention with the scoring loop.
        running_server(
            url,
            env={"RESIGHT_SECRET_KEY_FILE": str(path.parent / "key"), "RESIGHT_SCORING_ENABLED": "false"},
            start_timeout=300,  # the shared CI machine can be slow to import the ML stack
        ) as base,
        httpx.Client(base_url=base, timeout=30) as client,
    ):
        token = client.post("/auth/token", data={"username": "bench", "password": "bench-password"}).json()[
            "access_token"
        ]
        headers = {"Authorization": f"Bearer {token}"}
        for query in params.values():  # warm up
            client.get("/metrics", params=query, headers=headers).raise_for_status()
        for _ in range(requests):
            for name, query in params.items():
                started = time.perf_counter()
                response = client.get("/metrics", params=query, headers=headers)
                timings[name].append(time.perf_counter() - started)
                response.raise_for_status()
    return timings


def _evaluate_alerts_seconds(path: Path) -> tuple[float, float, int]:
    """evaluate_alerts twice in process (raising, then steady state), rolled back afterwards."""
    engine = make_engine(f"sqlite:///{path}")
    session = make_session_factory(engine)()
    try:
        started = time.perf_counter()
        raised = len(evaluate_alerts(session, Settings(), utcnow()).raised)
        first = time.perf_counter() - started
        started = time.perf_counter()
        evaluate_alerts(session, Settings(), utcnow())
        return first, time.perf_counter() - started, raised
    finally:
        session.rollback()
        session.close()
        engine.dispose()


def run(quick: bool) -> str:
    products, sizes, requests = (
        (1_000, [5_000, 50_000], 10) if quick else (100_000, [1_000_000, 10_000_000], 500)
    )
    lines = [
        f"{products:,} products; events at {EVENTS_PER_DAY:,} a day (more events = longer history); "
        f"{requests} sequential requests per row after a warm-up; real uvicorn, one worker, SQLite.",
        "",
        "| events | window | n | median ms | p99 ms |",
        "|---|---|---|---|---|",
    ]
    p99: dict[int, float] = {}
    loads = []
    for events in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "bench.db"
            events_seconds, rollup_seconds = _load(path, products, events)
            loads.append(
                f"{events:,} events generated in {events_seconds:.0f} s, "
                f"rollups rebuilt in {rollup_seconds:.0f} s"
            )
            first, steady, raised = _evaluate_alerts_seconds(path)
            loads.append(
                f"{events:,} events: evaluate_alerts raised {raised:,} alerts in {first * 1000:.0f} ms; "
                f"a second pass (nothing new) took {steady * 1000:.0f} ms"
            )
            for name, values in _measure(path, requests).items():
                result = stats(values)
                lines.append(result.row(f"{events:,} | {name}"))
                if name == "today":
                    p99[events] = result.p99_ms
    small, large = sizes
    lines += [
        "",
        f"p99 of `today` at {large:,} ÷ at {small:,} events: {p99[large] / p99[small]:.2f}× "
        "(goal: within 1.5×; p99 ≤ 20 ms).",
        "",
        *[f"- {line}" for line in loads],
        f"- history: {dt.timedelta(days=small / EVENTS_PER_DAY).days} and "
        f"{dt.timedelta(days=large / EVENTS_PER_DAY).days} days.",
    ]
    return "\n".join(lines)
