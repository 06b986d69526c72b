"""`resight simulate` against a real server: every sent delivery is accounted for.

Well-formed distinct deliveries are applied (their events exist), repeats are stored as duplicates
with no effect, malformed ones are quarantined, late updates do not overwrite newer state.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bench.common import running_server
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from resight.catalog.models import HistoryField, Product, ProductHistory
from resight.cli import app
from resight.db import make_engine, utcnow
from resight.events.models import Event
from resight.integrations.models import DeliveryStatus, WebhookDelivery
from resight.integrations.signatures import fernet_for
from resight.migrations import runner
from resight.simulator.writer import write_demo_world

SECRET_KEY = "simulator-live-test-key-" + "k" * 24


@pytest.mark.slow
def test_simulate_against_a_real_server(
    own_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    database_url = own_database
    engine = make_engine(database_url)
    request.addfinalizer(engine.dispose)
    runner.upgrade(engine)
    with engine.begin() as connection:
        world = write_demo_world(
            connection, fernet_for(SECRET_KEY), n_products=80, days=2, seed=21, end=utcnow()
        )
    env = {"RESIGHT_SECRET_KEY": SECRET_KEY, "RESIGHT_SECRET_KEY_FILE": str(tmp_path / "key")}
    for name, value in {**env, "DATABASE_URL": database_url}.items():
        monkeypatch.setenv(name, value)
    log = tmp_path / "deliveries.jsonl"
    # Generous: a loaded CI machine can take a minute to start a server.
    with running_server(database_url, env=env, start_timeout=180) as base:
        result = CliRunner().invoke(
            app,
            ["simulate", "--url", base, "--rate", "60", "--count", "160", "--faults", "0.4", "--seed", "5",
             "--run-id", "77", "--json", "--log", str(log)],
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.strip().splitlines()[-1])
    sent = [json.loads(line) for line in log.read_text().splitlines()]
    assert report["sent"] == report["accepted"] == len(sent) == 160
    assert report["consistent"] is True
    assert all(report["faults"].get(fault, 0) > 3 for fault in ("duplicate", "out_of_order", "malformed"))
    assert {line["platform"] for line in sent} == {"amazon", "myntra", "meesho"}

    with Session(engine) as session:
        rows = session.scalars(
            select(WebhookDelivery).where(
                WebhookDelivery.store_id.in_(list(world_stores(session, world.world_id)))
            )
        ).all()
        first_copies = {row.delivery_id: row for row in rows if row.dedupe_key is not None}
        duplicates = [row for row in rows if row.status is DeliveryStatus.duplicate]
        distinct = {line["webhook_id"]: line for line in sent}
        assert set(first_copies) == set(distinct)
        assert len(duplicates) == sum(1 for line in sent if line["fault"] == "duplicate")
        for webhook_id, line in distinct.items():
            row = first_copies[webhook_id]
            expected = DeliveryStatus.quarantined if line["kind"] == "malformed" else DeliveryStatus.processed
            assert row.status is expected, (line, row.error)

        events = [
            (e.store_id, e.event_type.value, e.external_id, e.delivery_id)
            for e in session.scalars(select(Event).where(Event.delivery_id.is_not(None)))
        ]
        produced = {(store, kind, external) for store, kind, external, _ in events}
        expected_events = {
            (line["store_id"], kind, external_id)
            for line in distinct.values()
            for kind, external_id in line["expect"]
        }
        assert len(expected_events) > 50
        # Exactly the events the well-formed deliveries carry: none missing, none extra.
        assert produced == expected_events
        assert len(events) == len(produced)  # each one row: applied once, by one delivery
        quarantined_ids = {first_copies[w].id for w, line in distinct.items() if line["kind"] == "malformed"}
        assert not [e for e in events if e[3] in quarantined_ids]
        duplicate_ids = {row.id for row in duplicates}
        assert not [e for e in events if e[3] in duplicate_ids]

        # A late price or stock update is kept in history but leaves the newer value in place.
        late = [first_copies[w] for w, line in distinct.items() if line["fault"] == "out_of_order"]
        assert late
        for row in late:
            # Amazon's offer notification also carries the buy-box price: look at our own field only.
            history = session.scalars(
                select(ProductHistory).where(
                    ProductHistory.delivery_id == row.id,
                    ProductHistory.field.in_([HistoryField.price, HistoryField.stock]),
                )
            ).one()
            product = session.get(Product, history.product_id)
            assert product is not None
            newer = product.price_changed_at if history.field.value == "price" else product.stock_changed_at
            assert newer is not None
            assert newer > history.event_time


def world_stores(session: Session, world_id: int) -> list[int]:
    from resight.simulator.models import SimulatorWorld

    world = session.get(SimulatorWorld, world_id)
    assert world is not None
    return [int(store_id) for store_id in world.stores.values()]


def test_truth_moment_is_timezone_aware() -> None:
    # The CLI's --at and --end refuse naive times rather than guess a zone.
    result = CliRunner().invoke(app, ["demo-truth", "--at", "2026-11-28T10:00:00"])
    assert result.exit_code != 0
    assert "offset" in result.output
