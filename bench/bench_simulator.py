"""`resight demo-data`: simulating and bulk-writing a demo world's history."""

from __future__ import annotations

import datetime as dt
import os
import secrets
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from resight.db import make_engine
from resight.integrations.signatures import fernet_for
from resight.migrations import runner
from resight.simulator.history import History
from resight.simulator.world import WorldSpec, build_world, ist_hour_floor
from resight.simulator.writer import write_demo_world

TITLE = "Simulator: demo-data (history generation and bulk load)"
END = dt.datetime(2026, 11, 28, 5, 30, tzinfo=dt.UTC)
POSTGRES_URL = os.environ.get(
    "RESIGHT_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@contextmanager
def _postgres() -> Iterator[str | None]:
    url = make_url(POSTGRES_URL)
    name = f"resight_bench_sim_{secrets.token_hex(3)}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError:
        admin.dispose()
        yield None
        return
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _simulate_only(products: int, days: int) -> float:
    started = time.perf_counter()
    world = build_world(
        WorldSpec(seed=42, n_products=products, start=ist_hour_floor(END) - dt.timedelta(days=days))
    )
    for _chunk in History(world, days * 24):
        pass
    return time.perf_counter() - started


def _load(database_url: str, products: int, days: int) -> tuple[float, float, int, int]:
    """(wall seconds, CPU seconds of this process, events, orders)."""
    engine = make_engine(database_url)
    runner.upgrade(engine)
    cpu = time.process_time()
    started = time.perf_counter()
    with engine.begin() as connection:
        summary = write_demo_world(
            connection, fernet_for("bench-" + "k" * 40), n_products=products, days=days, seed=42, end=END
        )
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    engine.dispose()
    return seconds, cpu, summary.events, summary.orders


def _row(
    products: int, days: int, backend: str, measured: tuple[float, float, int, int], simulated: float
) -> str:
    seconds, cpu, events, orders = measured
    return (
        f"| {products:,} x {days} | {backend} | {seconds:.1f} | {cpu:.1f} | {events:,} | {orders:,} | "
        f"{events / seconds:,.0f} | {simulated:.1f} |"
    )


def run(quick: bool) -> str:
    # (products, days, on PostgreSQL too): the two sizes. The big world is loaded into
    # SQLite only: PostgreSQL at that size would double this section's time (the load writes ~21
    # million events and ~16 million rollup rows) to show the same bulk path at a larger scale.
    sizes = [(200, 3, True)] if quick else [(2_000, 60, True), (100_000, 30, False)]
    lines = [
        "Whole `demo-data` runs (stores, products, events, product history, rollups and final state, in one",
        "transaction), seed 42, ending 2026-11-28 11:00 IST; 'simulate only' runs the same world without a",
        "database. SQLite is a temporary file; PostgreSQL a scratch database on the local server.",
        "CPU seconds are this process's (SQLite runs in it; PostgreSQL's server work is not counted):",
        "on a shared machine they show the cost when wall seconds are inflated by other load.",
        "The 100,000 × 30 world is loaded into SQLite only (PostgreSQL's bulk path, COPY, is the one",
        "measured at 2,000 × 60), to keep `make bench` within about half an hour.",
        "",
        "| products x days | backend | seconds | CPU s | events | orders | events/s | simulate only, s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for products, days, on_postgres in sizes:
        simulated = _simulate_only(products, days)
        with tempfile.TemporaryDirectory() as tmp:
            measured = _load(f"sqlite:///{Path(tmp) / 'bench.db'}", products, days)
        lines.append(_row(products, days, "SQLite", measured, simulated))
        if not on_postgres:
            continue
        with _postgres() as url:
            if url is None:
                lines.append(f"| {products:,} x {days} | PostgreSQL | not reachable | | | | | |")
                continue
            lines.append(_row(products, days, "PostgreSQL", _load(url, products, days), simulated))
    return "\n".join(lines)
