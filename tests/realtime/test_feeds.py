"""The feeds with Redis: what a separate scorer publishes reaches the clients of an API process."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from resight.config import Settings
from resight.db import utcnow
from resight.ml.models import MlScore
from resight.realtime.feeds import publishing_scores
from resight.realtime.hub import Client, Hub, RedisBackend
from tests.factories import make_product
from tests.realtime.test_hub import REDIS_URL, needs_redis


async def _next_of(client: Client, kind: str) -> dict[str, Any]:
    async with asyncio.timeout(5):
        while True:
            message: dict[str, Any] = json.loads(await client.queue.get())
            if message["type"] == kind:
                return message


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
    db.commit()
    worker_settings = settings.model_copy(update={"redis_url": REDIS_URL})

    async def scenario() -> None:
        api_process = Hub(RedisBackend(REDIS_URL))
        await api_process.start()
        dashboard = api_process.connect()
        async with publishing_scores(worker_settings, session_factory) as on_scored:
            await on_scored(None)  # what the worker's scoring loop calls after a cycle
            ranking = (await _next_of(dashboard, "ranking"))["data"]
        assert ranking["model_version"] == "w1"
        assert ranking["top"][0]["title"] == "Bandhani Dupatta"
        await api_process.stop()

    asyncio.run(scenario())
