"""GET /metrics with 100,000 products at 1M and 10M raw events (SQLite, real uvicorn).

Events arrive at a fixed rate (25,000 a day), so ten times the events is ten times the history;
even the smaller size (40 days) fills every window measured, up to 30 days, so both sizes read the
same windows of rollups and differ only in the events behind them.
Events are generated with one INSERT … SELECT; the rollups are then built by `rebuild_rollups`
(the same code as `resight rollups rebuild`, timed here), and checked against the raw events of a
sample of products before anything is measured.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx2 as httpx
from sqlalchemy import bindparam, create_engine, event, text
from sqlalchemy.orm import Session

from bench.common import running_server, stats
from resight.audit.service import SYSTEM
from resight.config import Settings
from resight.db import make_engine, make_session_factory, transaction, utcnow
from resight.events.alerts import evaluate_alerts
from resight.events.rebuild import rebuild_rollups
from resight.migrations import runner
from resight.users.models import Role
from resight.users.service import create_user

T = TypeVar("T")
TITLE = "KPIs: GET /metrics against event volume"
EVENTS_PER_DAY = 25_000
ALERT_LOW_STOCK_DAYS = 30.0
CATEGORIES = 30
BRANDS = 50


def _load_average() -> str:
    return " / ".join(f"{value:.1f}" for value in os.getloadavg())


def _bulk_pragmas(connection: Any, _record: Any = None) -> None:
    # A bulk load, not a durability test: no journal, no fsync, big cache, sorts in memory.
    for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-400000", "temp_store=MEMORY"):
        connection.execute(f"PRAGMA {pragma}")


def _load(path: Path, products: int, events: int) -> tuple[float, float, float]:
    """Seed products and events with bulk SQL, then rebuild the rollups.

    Returns (seconds for events, seconds for the rollup rebuild, CPU seconds of the rebuild).
    """
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

    started, cpu = time.perf_counter(), time.process_time()
    engine = create_engine(url)
    event.listen(engine, "connect", _bulk_pragmas)
    with transaction(make_session_factory(engine)) as session:
        rebuild_rollups(session)
    rebuild_seconds, rebuild_cpu = time.perf_counter() - started, time.process_time() - cpu
    with transaction(make_session_factory(engine)) as session:
        _check_rollups(session, products)
    engine.dispose()
    return events_seconds, rebuild_seconds, rebuild_cpu


_SAMPLE = 50


def _check_rollups(session: Session, products: int) -> None:
    """The product rollups of a sample of products equal their raw events, and every rollup level
    holds the same grand totals; the benchmark refuses to run on rollups that are wrong."""
    sample = [1 + n * (products // _SAMPLE) for n in range(_SAMPLE)]
    raw = session.execute(
        text(
            "SELECT product_id, "
            "SUM(CASE WHEN event_type = 'view' THEN quantity ELSE 0 END), "
            "SUM(CASE WHEN event_type = 'order' THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN event_type = 'order' THEN revenue_paise ELSE 0 END), "
            "SUM(CASE WHEN event_type = 'return' THEN revenue_paise ELSE 0 END) "
            "FROM events WHERE product_id IN :ids GROUP BY product_id"
        ).bindparams(bindparam("ids", expanding=True)),
        {"ids": sample},
    ).all()
    rolled = session.execute(
        text(
            "SELECT product_id, SUM(views), SUM(orders), SUM(gmv_paise), SUM(returned_paise) "
            "FROM product_hourly_metrics WHERE product_id IN :ids GROUP BY product_id"
        ).bindparams(bindparam("ids", expanding=True)),
        {"ids": sample},
    ).all()
    if sorted(map(tuple, raw)) != sorted(map(tuple, rolled)) or not raw:
        raise RuntimeError("product rollups differ from the raw events of the sampled products")
    totals = [
        tuple(session.execute(text(f"SELECT SUM(views), SUM(orders), SUM(gmv_paise) FROM {table}")).one())
        for table in ("product_hourly_metrics", "segment_hourly_metrics", "segment_daily_metrics")
    ]
    if len(set(totals)) != 1:
        raise RuntimeError(f"rollup levels disagree: {totals}")


def _measure(path: Path, requests: int) -> dict[str, list[float]]:
    url = f"sqlite:///{path}"
    params = {
        "today": {},
        "7d": {"window": "7d"},
        "30d": {"window": "30d"},
        "7d, category filter": {"window": "7d", "category": "Women > Cat 2", "marketplace": "myntra"},
    }
    timings: dict[str, list[float]] = {name: [] for name in params}
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


_ALERT_RUNS = 5


@dataclass(frozen=True)
class Timed:
    wall: float
    cpu: float  # this process (SQLite runs in it): what a shared, loaded machine does not distort

    def text(self) -> str:
        return f"{self.wall * 1000:.0f} ms ({self.cpu * 1000:.0f} ms CPU)"


@dataclass(frozen=True)
class AlertTimings:
    first: Timed
    raised: int
    steady: Timed  # medians of _ALERT_RUNS
    resolve: Timed
    resolved: int


def _timed(work: Callable[[], T]) -> tuple[T, Timed]:
    started, cpu = time.perf_counter(), time.process_time()
    result = work()
    return result, Timed(time.perf_counter() - started, time.process_time() - cpu)


def _evaluate_alerts_seconds(path: Path) -> AlertTimings:
    """evaluate_alerts in process: the first run (raising every alert), then the median of
    several steady-state runs (nothing new), then one that resolves them; all rolled back."""
    engine = make_engine(f"sqlite:///{path}")
    session = make_session_factory(engine)()
    # The generated sales are thin (an order per product every few weeks): a 30-day low-stock
    # threshold makes the first run raise a realistic number of alerts to time.
    settings = Settings(RESIGHT_ALERT_LOW_STOCK_DAYS=ALERT_LOW_STOCK_DAYS)
    try:
        now = utcnow()
        first_run, first = _timed(lambda: evaluate_alerts(session, settings, now))
        steady = []
        for _ in range(_ALERT_RUNS):
            again, took = _timed(lambda: evaluate_alerts(session, settings, now))
            if again.raised:
                raise RuntimeError("a steady-state evaluation raised a duplicate alert")
            steady.append(took)
        median = Timed(statistics.median(t.wall for t in steady), statistics.median(t.cpu for t in steady))
        # A far-off future: every 7-day window is empty, so the stock conditions clear.
        later = now + dt.timedelta(days=400)
        last_run, resolving = _timed(lambda: evaluate_alerts(session, settings, later))
        return AlertTimings(first, len(first_run.raised), median, resolving, len(last_run.resolved))
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
        f"{requests} sequential requests per row after a warm-up; real uvicorn, one worker, SQLite. "
        f"Load average before the run: {_load_average()}.",
        "",
        "| events | window | n | median ms | p99 ms |",
        "|---|---|---|---|---|",
    ]
    p99: dict[tuple[int, str], float] = {}
    loads = []
    for events in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "bench.db"
            events_seconds, rebuild_seconds, rebuild_cpu = _load(path, products, events)
            loads.append(
                f"{events:,} events generated in {events_seconds:.1f} s; `rollups rebuild` took "
                f"{rebuild_seconds:.1f} s ({rebuild_cpu:.1f} s CPU, "
                f"{events / rebuild_seconds:,.0f} events/s); sampled rollups equal raw events"
            )
            alerts = _evaluate_alerts_seconds(path)
            loads.append(
                f"{events:,} events: evaluate_alerts over {products:,} products (low stock: under "
                f"{ALERT_LOW_STOCK_DAYS:.0f} days of cover) raised {alerts.raised:,} "
                f"alerts in {alerts.first.text()}; steady state (nothing new), median of {_ALERT_RUNS} "
                f"runs: {alerts.steady.text()}; resolving {alerts.resolved:,}: {alerts.resolve.text()}"
            )
            for name, values in _measure(path, requests).items():
                result = stats(values)
                lines.append(result.row(f"{events:,} | {name}"))
                p99[(events, name)] = result.p99_ms
    small, large = sizes
    ratios = ", ".join(
        f"{name} {p99[(large, name)] / p99[(small, name)]:.2f}×" for events, name in p99 if events == small
    )
    lines += [
        "",
        f"p99 at {large:,} ÷ p99 at {small:,} events: {ratios} (goal: within 1.5×; p99 ≤ 20 ms). "
        f"Load average after the run: {_load_average()}.",
        "",
        *[f"- {line}" for line in loads],
        f"- history: {dt.timedelta(days=small / EVENTS_PER_DAY).days} and "
        f"{dt.timedelta(days=large / EVENTS_PER_DAY).days} days.",
    ]
    return "\n".join(lines)
