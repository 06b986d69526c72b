from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select
from typer.testing import CliRunner

from resight.cli import app
from resight.db import make_engine, make_session_factory, transaction
from resight.events.models import EventType, ProductHourlyMetrics, SegmentDailyMetrics, SegmentHourlyMetrics
from resight.migrations import runner
from tests.events.helpers import add_event
from tests.factories import make_product

cli = CliRunner()


def test_rollups_rebuild_restores_lost_rollups(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    engine = make_engine(url)
    runner.upgrade(engine)
    factory = make_session_factory(engine)
    start = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    with transaction(factory) as session:
        product = make_product(session)
        add_event(session, product, EventType.order, start, paise=10_000)
        add_event(session, product, EventType.order, start + dt.timedelta(days=2), paise=20_000)
        session.execute(delete(ProductHourlyMetrics))
        session.execute(delete(SegmentHourlyMetrics))

    def gmv() -> int:
        """GMV in the hourly segment rollups, after checking the daily level holds the same."""
        with transaction(factory) as session:
            hourly, daily = (
                int(session.scalar(select(func.coalesce(func.sum(table.gmv_paise), 0))) or 0)
                for table in (SegmentHourlyMetrics, SegmentDailyMetrics)
            )
        assert daily == hourly
        return hourly

    since = cli.invoke(app, ["rollups", "rebuild", "--since", "2026-11-02T00:00:00+05:30"])
    assert since.exit_code == 0, since.output
    assert "rebuilt 1 product-hour rollups since" in since.output
    assert gmv() == 20_000
    everything = cli.invoke(app, ["rollups", "rebuild"])
    assert everything.exit_code == 0, everything.output
    assert gmv() == 30_000
    naive = cli.invoke(app, ["rollups", "rebuild", "--since", "2026-11-02T00:00:00"])
    assert naive.exit_code != 0
    engine.dispose()
