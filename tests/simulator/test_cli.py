"""The demo commands end to end, on a database of their own."""

from __future__ import annotations

import csv
import datetime as dt
import io
import time
from pathlib import Path

import httpx2 as httpx
import numpy as np
import pytest
from bench.common import running_server
from sqlalchemy import inspect, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from resight.cli import app
from resight.db import make_engine
from resight.migrations import runner
from resight.simulator.demand import true_expected_orders
from resight.simulator.load import load_world


def test_demo_commands(
    own_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    engine = make_engine(own_database)
    request.addfinalizer(engine.dispose)
    runner.upgrade(engine)
    monkeypatch.setenv("DATABASE_URL", own_database)
    monkeypatch.setenv("RESIGHT_SECRET_KEY", "cli-test-key-" + "c" * 32)
    cli = CliRunner()

    written = cli.invoke(
        app,
        ["demo-data", "--products", "40", "--days", "2", "--seed", "9", "--end", "2026-11-28T12:10:00+05:30"],
    )
    assert written.exit_code == 0, written.output
    assert "40 products" in written.output

    again = cli.invoke(app, ["demo-data", "--products", "40", "--days", "2"])
    assert again.exit_code == 1
    assert "already has 40 products" in again.output

    setup = cli.invoke(app, ["demo-setup"])
    assert setup.exit_code == 0, setup.output
    assert "no demo data added" in setup.output
    assert "resight simulate" in setup.output

    at = "2026-11-28T12:00:00+05:30"
    truth = cli.invoke(app, ["demo-truth", "--at", at])
    assert truth.exit_code == 0, truth.output
    rows = list(csv.DictReader(io.StringIO(truth.output)))
    assert len(rows) == 40
    with Session(engine) as session:
        world = load_world(session)
    assert world.product_ids is not None
    expected = true_expected_orders(world, np.arange(world.n), dt.datetime.fromisoformat(at))
    by_id = {int(row["product_id"]): row for row in rows}
    for i in range(world.n):
        row = by_id[int(world.product_ids[i])]
        assert row["sku"] == world.sku[i]
        assert float(row["expected_orders_24h"]) == pytest.approx(expected[i], abs=1e-6)
        assert int(row["expected_revenue_24h_paise"]) >= 0


@pytest.mark.slow
def test_serve_never_adds_data(own_database: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """A seller's real instance starts empty: `resight serve` writes no stores, products or events."""
    engine = make_engine(own_database)
    request.addfinalizer(engine.dispose)
    runner.upgrade(engine)
    env = {"RESIGHT_SECRET_KEY": "serve-test-key-" + "s" * 32, "RESIGHT_SECRET_KEY_FILE": str(tmp_path / "k")}
    tables = [name for name in inspect(engine).get_table_names() if name != "alembic_version"]
    assert {"stores", "products", "events", "product_history", "simulator_worlds"} <= set(tables)

    def counts() -> dict[str, int]:
        with engine.connect() as connection:
            return {
                name: int(connection.execute(text(f"SELECT count(*) FROM {name}")).scalar() or 0)
                for name in tables
            }

    migrated = counts()
    assert migrated["products"] == migrated["stores"] == migrated["events"] == 0
    with running_server(own_database, env=env, start_timeout=180) as base:
        assert httpx.get(base + "/", timeout=10).status_code == 200
        time.sleep(2)  # give the lifespan's background tasks a turn
    assert counts() == migrated
