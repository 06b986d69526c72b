"""One Redis, several deployments: each deployment's live updates stay on its own channel, named
after its database, so one seller's dashboard never shows another's rankings."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from resight.config import Settings
from resight.realtime.feeds import database_identity, make_hub, realtime_channel
from resight.realtime.hub import Client, Topic
from tests.realtime.test_hub import REDIS_URL, needs_redis


def _settings(database_url: str, **extra: object) -> Settings:
    return Settings.model_validate({"database_url": database_url, "redis_url": REDIS_URL, **extra})


def test_one_database_however_its_url_is_written_is_one_identity(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert database_identity("sqlite:///./shop.db") == database_identity(f"sqlite:///{tmp_path}/shop.db")
    assert database_identity("sqlite:///./shop.db") != database_identity("sqlite:///./other.db")
    same_postgres = [
        "postgresql+psycopg://seller:secret@DB.internal/shop",
        "postgresql://reader:other@db.internal:5432/shop?sslmode=require",
    ]
    assert len({database_identity(url) for url in same_postgres}) == 1
    assert "secret" not in database_identity(same_postgres[0])
    assert database_identity("postgresql://db.internal/shop") != database_identity(
        "postgresql://db.internal/shop2"
    )
    assert database_identity("postgresql://db.internal/shop") != database_identity(
        "postgresql://db2.internal/shop"
    )


def test_channel_is_named_after_the_database_unless_set(tmp_path: Path) -> None:
    first, second = _settings(f"sqlite:///{tmp_path}/a.db"), _settings(f"sqlite:///{tmp_path}/b.db")
    assert realtime_channel(first) != realtime_channel(second)
    assert realtime_channel(first) == realtime_channel(_settings(f"sqlite:///{tmp_path}/./a.db"))
    assert realtime_channel(first).startswith("resight:realtime:")
    chosen = _settings(f"sqlite:///{tmp_path}/a.db", realtime_channel="resight:shop-a")
    assert realtime_channel(chosen) == "resight:shop-a"


async def _next(client: Client) -> dict[str, object]:
    message: dict[str, object] = json.loads(await asyncio.wait_for(client.queue.get(), 2.0))
    return message


@needs_redis
def test_deployments_sharing_a_redis_do_not_hear_each_other(tmp_path: Path) -> None:
    shop_a, shop_b = _settings(f"sqlite:///{tmp_path}/a.db"), _settings(f"sqlite:///{tmp_path}/b.db")

    async def scenario() -> None:
        # Two processes of shop A, one of shop B, all on one Redis (and one Redis database number).
        a_first, a_second, b_only = make_hub(shop_a), make_hub(shop_a), make_hub(shop_b)
        for hub in (a_first, a_second, b_only):
            await hub.start()
        on_a_second, on_b = a_second.connect(), b_only.connect()

        await a_first.publish(Topic.kpis, {"orders": 3, "shop": "a"})
        assert (await _next(on_a_second))["data"] == {"orders": 3, "shop": "a"}
        await b_only.publish(Topic.kpis, {"orders": 9, "shop": "b"})
        # B hears its own message first and nothing of A's; A's process hears nothing of B's.
        assert (await _next(on_b))["data"] == {"orders": 9, "shop": "b"}
        await asyncio.sleep(0.2)
        assert on_b.queue.empty()
        assert on_a_second.queue.empty()

        for hub in (a_first, a_second, b_only):
            await hub.stop()

    asyncio.run(scenario())
