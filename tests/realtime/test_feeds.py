"""The feeds across processes: what a separate scorer publishes reaches the clients of an API
process, and what an API process publishes after it is not held back by an older view."""

from __future__ import annotations

import asyncio
import json
import secrets
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from resight.config import Settings
from resight.db import utcnow
from resight.events.models import Alert, AlertStatus
from resight.ml.models import MlModel, MlScore, ModelStatus
from resight.realtime.feeds import LiveFeeds, publishing_scores, realtime_channel
from resight.realtime.hub import Client, Hub, RedisBackend
from tests.factories import make_product
from tests.realtime.test_hub import REDIS_URL, needs_redis


async def _next_of(client: Client, kind: str) -> dict[str, Any]:
    async with asyncio.timeout(5):
        while True:
            message: dict[str, Any] = json.loads(await client.queue.get())
            if message["type"] == kind:
                return message


def _serving_model(db: Session, version: str) -> MlModel:
    model = MlModel(
        version=f"{version}-{secrets.token_hex(4)}",  # unique in a database other runs left rows in
        status=ModelStatus.serving,
        artifact_path=f"/nonexistent/{version}.json",
        artifact_sha256="0" * 64,
        promoted_at=utcnow(),
    )
    db.add(model)
    return model


@needs_redis
def test_the_scorer_publishes_each_cycle_to_the_api_processes(
    settings: Settings, session_factory: sessionmaker[Session], db: Session
) -> None:
    db.execute(delete(MlScore))
    product = make_product(db, title="Bandhani Dupatta")
    db.add(
        MlScore(
            product_id=product.id,
            score=2.0,
            rank=1,
            previous_rank=2,
            model_version="w1",
            computed_at=utcnow(),
        )
    )
    first = _serving_model(db, "w1")
    db.commit()
    worker_settings = settings.model_copy(update={"redis_url": REDIS_URL})

    async def scenario() -> None:
        api_process = Hub(RedisBackend(REDIS_URL, realtime_channel(worker_settings)))
        await api_process.start()
        dashboard = api_process.connect()
        async with publishing_scores(worker_settings, session_factory) as on_scored:
            await on_scored(None)  # what the worker's scoring loop calls after a cycle
            ranking = (await _next_of(dashboard, "ranking"))["data"]
            assert (await _next_of(dashboard, "model"))["data"]["version"] == first.version
            await on_scored(None)  # the same model still serves: a ranking, no model message
            await _next_of(dashboard, "ranking")
            first.status = ModelStatus.retired
            second = _serving_model(db, "w2")
            db.commit()
            await on_scored(None)  # a different model serves: announced (not the first again)
            assert (await _next_of(dashboard, "model"))["data"]["version"] == second.version
        assert ranking["model_version"] == "w1"
        assert ranking["top"][0]["title"] == "Bandhani Dupatta"
        await api_process.stop()

    asyncio.run(scenario())


def _open_ids(message: dict[str, Any]) -> list[int]:
    return [alert["id"] for alert in message["data"]["open"]]


def test_an_acknowledgement_after_the_scorer_published_reaches_the_clients(
    session_factory: sessionmaker[Session], db: Session
) -> None:
    """API process A last published [old]; the scorer then published [new, old]; acknowledging
    `new` through A brings the open set back to [old], which A must still publish."""
    db.execute(delete(Alert))
    old = Alert(kind="low_stock", message="Kurta: 2 days of cover", open_key="low_stock:feeds-old")
    db.add(old)
    db.commit()

    async def scenario() -> None:
        hub = Hub()  # the clients' process; both publishers reach it (Redis does the same across hosts)
        await hub.start()
        dashboard = hub.connect()
        api_a, scorer = LiveFeeds(hub, session_factory), LiveFeeds(hub, session_factory)
        await api_a.after_ingestion(set())
        assert _open_ids(await _next_of(dashboard, "alerts")) == [old.id]

        new = Alert(kind="rank_drop", message="Palazzo Set lost 12 ranks", open_key="rank_drop:feeds-new")
        db.add(new)
        db.commit()
        await scorer.after_scoring()
        assert _open_ids(await _next_of(dashboard, "alerts")) == [new.id, old.id]

        new.status = AlertStatus.acknowledged
        db.commit()
        await api_a.after_alerts_changed()  # what `POST /alerts/{id}/ack` runs in process A
        assert _open_ids(await _next_of(dashboard, "alerts")) == [old.id]
        await hub.stop()

    asyncio.run(scenario())
