from __future__ import annotations

import datetime as dt
import importlib
import os
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, select

import resight.models  # noqa: F401
from resight.catalog.models import Platform
from resight.db import Base, make_engine, make_session_factory, transaction
from resight.events.models import Event, EventType
from resight.events.records import NewEvent
from resight.events.service import record_events
from resight.integrations import inbox
from resight.integrations.records import StoreRef
from resight.migrations import runner
from tests.conftest import _create_postgres_database, _drop_postgres_database
from tests.factories import make_product, make_store

_events_0004 = importlib.import_module(
    "resight.migrations.versions.2026_11_28_1500-events_0004_hour_first_amazon_ids"
)
hour_first, asin_first = _events_0004.hour_first, _events_0004.asin_first


@pytest.fixture
def fresh_engine(tmp_path: os.PathLike[str]) -> Iterator[Engine]:
    base = os.environ.get("RESIGHT_TEST_DATABASE_URL")
    if base:
        url, name = _create_postgres_database(base)
        engine = make_engine(url)
        yield engine
        engine.dispose()
        _drop_postgres_database(base, name)
    else:
        engine = make_engine(f"sqlite:///{tmp_path}/fresh.db")
        yield engine
        engine.dispose()


def test_models_and_migrations_agree(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_upgrade_downgrade_upgrade(fresh_engine: Engine) -> None:
    runner.upgrade(fresh_engine)
    tables = set(inspect(fresh_engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    runner.downgrade(fresh_engine, "base")
    assert set(inspect(fresh_engine).get_table_names()) <= {"alembic_version"}
    runner.upgrade(fresh_engine)
    assert runner.current_revisions(fresh_engine) == runner.head_revisions()
    assert set(Base.metadata.tables) <= set(inspect(fresh_engine).get_table_names())


def test_events_0004_rewrites_amazon_hourly_ids_hour_first(fresh_engine: Engine) -> None:
    """Ids stored before the upgrade are rewritten, so a bucket re-sent after it is still a repeat;
    other ids are left alone, and downgrade restores the old shape."""
    runner.upgrade(fresh_engine, "ml_0003")
    factory = make_session_factory(fresh_engine)
    hour = "2026-11-01T05:30:00+00:00"
    with transaction(factory) as session:
        amazon_store, myntra_store = make_store(session), make_store(session, Platform.myntra)
        amazon_product = make_product(session, amazon_store, external_id="B0HOURLY1")
        myntra_product = make_product(session, myntra_store)
        at = dt.datetime(2026, 11, 1, 5, 30, tzinfo=dt.UTC)
        old_ids = {
            (amazon_product, EventType.view): f"views/B0HOURLY1/{hour}",
            (amazon_product, EventType.order): f"sales/B0HOURLY1/{hour}",
            (amazon_product, EventType.cancellation): "403-1234567-1234567/OI1",
            (myntra_product, EventType.view): f"views/STYLE1/{hour}",  # not Amazon: left alone
        }
        record_events(
            session,
            [
                NewEvent(product.id, product.store_id, product.marketplace, kind, at, 3, 0, external_id)
                for (product, kind), external_id in old_ids.items()
            ],
        )
        store_ref = StoreRef(amazon_store.id, Platform.amazon, amazon_store.name, amazon_store.seller_id)

    def stored_ids() -> set[str]:
        with factory() as session:
            return set(session.scalars(select(Event.external_id)))

    runner.upgrade(fresh_engine)
    assert stored_ids() == {
        f"views/{hour}/B0HOURLY1",
        f"sales/{hour}/B0HOURLY1",
        "403-1234567-1234567/OI1",
        f"views/STYLE1/{hour}",
    }
    # Running the rewrite again (on ids already hour first) would change nothing.
    assert {hour_first(i) for i in stored_ids() - {f"views/STYLE1/{hour}"}} == {None}

    traffic = {
        "notificationType": "DETAIL_PAGE_TRAFFIC_EVENT",
        "eventTime": "2026-11-01T06:30:00Z",
        "payload": {"detailPageTrafficEvents": [{"asin": "B0HOURLY1", "startTime": hour, "glanceViews": 3}]},
    }
    with transaction(factory) as session:
        receipt = inbox.receive(session, store_ref, delivery_id="resent", raw=b"{}", body=traffic, headers={})
    assert receipt.counts["events_stored"] == 0
    assert receipt.counts["events_repeated"] == 1

    runner.downgrade(fresh_engine, "ml_0003")
    assert stored_ids() == {i for i in old_ids.values()}


def test_hour_first_id_shapes() -> None:
    hour = "2026-11-01T05:30:00+00:00"
    assert hour_first(f"views/B0X/{hour}") == f"views/{hour}/B0X"
    assert hour_first(f"sales/A/B/{hour}") == f"sales/{hour}/A/B"  # an id with a slash in it
    assert asin_first(f"sales/{hour}/A/B") == f"sales/A/B/{hour}"
    for unchanged in (
        f"views/{hour}/B0X",
        "views/B0X/not-a-time",
        f"clicks/B0X/{hour}",
        "views",
        "403-1/OI1",
    ):
        assert hour_first(unchanged) is None
    assert asin_first(f"views/B0X/{hour}") is None
