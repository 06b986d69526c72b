"""The hub alone: fan-out, subscriptions, slow clients, debouncing, commit-gated triggers, Redis."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import time

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from resight.realtime.hub import Client, Debouncer, Frame, Hub, RedisBackend, Topic
from resight.users.models import User

REDIS_URL = os.environ.get("RESIGHT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


async def _drain(client: Client, into: list[str]) -> None:
    while True:
        into.append(await client.queue.get())


def test_frame_survives_the_wire() -> None:
    frame = Frame("item", '{"type":"item","data":{"a":"b\\nc"}}', 42)
    assert Frame.unpack(frame.pack()) == frame
    plain = Frame("kpis", "{}")
    assert Frame.unpack(plain.pack()) == plain


def test_one_serialisation_fans_out_to_interested_clients_only() -> None:
    async def scenario() -> None:
        hub = Hub()
        await hub.start()
        everyone, also, no_kpis = hub.connect(), hub.connect(), hub.connect()
        no_kpis.topics.discard(Topic.kpis)
        await hub.publish(Topic.kpis, {"gmv": "12.50"})
        first, second = everyone.queue.get_nowait(), also.queue.get_nowait()
        assert first is second  # the same text object: serialised once
        assert json.loads(first)["type"] == "kpis"
        assert json.loads(first)["data"] == {"gmv": "12.50"}
        assert no_kpis.queue.empty()
        await hub.stop()

    asyncio.run(scenario())


def test_item_messages_reach_only_clients_subscribed_to_that_product() -> None:
    async def scenario() -> None:
        hub = Hub()
        await hub.start()
        watcher, other, topic_only = hub.connect(), hub.connect(), hub.connect()
        watcher.topics.add(Topic.item)
        watcher.product_ids.add(7)
        other.topics.add(Topic.item)
        other.product_ids.add(8)
        topic_only.topics.add(Topic.item)
        await hub.publish(Topic.item, {"product_id": 7}, product_id=7)
        assert json.loads(watcher.queue.get_nowait())["data"]["product_id"] == 7
        assert other.queue.empty()
        assert topic_only.queue.empty()
        await hub.stop()

    asyncio.run(scenario())


def test_a_stalled_client_is_dropped_while_a_fast_one_receives_everything() -> None:
    async def scenario() -> None:
        hub = Hub(queue_size=4)
        await hub.start()
        fast, stalled = hub.connect(), hub.connect()
        received: list[str] = []
        reader = asyncio.create_task(_drain(fast, received))
        started = time.perf_counter()
        for n in range(50):
            await hub.publish(Topic.kpis, {"n": n})
            await asyncio.sleep(0)  # let the fast reader run, as a connection's sender would
        elapsed = time.perf_counter() - started
        assert [json.loads(text)["data"]["n"] for text in received] == list(range(50))
        assert stalled.dropped.is_set()
        assert stalled not in hub.clients
        assert fast in hub.clients
        assert hub.dropped_clients == 1
        assert stalled.queue.qsize() == 4  # it never received more than its bound
        assert elapsed < 1.0  # publishing never waited for the stalled client
        reader.cancel()
        await hub.stop()

    asyncio.run(scenario())


def test_debouncer_coalesces_a_burst_into_one_call() -> None:
    calls: list[set[int]] = []

    async def handler(ids: set[int]) -> None:
        calls.append(ids)

    async def scenario() -> None:
        debouncer = Debouncer(0.05, handler)
        for n in range(100):
            debouncer.poke([n % 10])
        await asyncio.sleep(0.15)
        assert calls == [set(range(10))]
        debouncer.poke([99])
        await asyncio.sleep(0.15)
        assert calls == [set(range(10)), {99}]
        await debouncer.stop()

    asyncio.run(scenario())


def test_an_isolated_change_is_pushed_at_once_and_the_next_waits_out_the_delay() -> None:
    calls: list[float] = []

    async def handler(_ids: set[int]) -> None:
        calls.append(time.perf_counter())

    async def scenario() -> None:
        debouncer = Debouncer(0.5, handler)
        started = time.perf_counter()
        debouncer.poke([1])
        await asyncio.sleep(0.1)
        assert len(calls) == 1
        assert calls[0] - started < 0.1  # no waiting for a quiet period first
        debouncer.poke([2])
        debouncer.poke([3])
        await asyncio.sleep(0.2)
        assert len(calls) == 1  # within the delay after a push: held back and coalesced
        await asyncio.sleep(0.4)
        assert len(calls) == 2
        assert calls[1] - calls[0] >= 0.5
        await debouncer.stop()

    asyncio.run(scenario())


def test_a_steady_stream_is_served_every_delay_not_postponed() -> None:
    calls: list[float] = []

    async def handler(_ids: set[int]) -> None:
        calls.append(time.perf_counter())

    async def scenario() -> None:
        debouncer = Debouncer(0.05, handler)
        started = time.perf_counter()
        while time.perf_counter() - started < 0.3:
            debouncer.poke([1])
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.1)
        await debouncer.stop()
        assert len(calls) >= 4
        assert calls[0] - started < 0.1

    asyncio.run(scenario())


def test_notify_ingested_waits_for_the_commit_and_forgets_a_rollback(db: Session) -> None:
    calls: list[set[int]] = []

    async def on_ingested(ids: set[int]) -> None:
        calls.append(ids)

    async def scenario() -> None:
        hub = Hub(debounce=0.01)
        await hub.start(on_ingested=on_ingested)
        db.scalar(select(User.id).limit(1))  # begins the transaction
        hub.notify_ingested(db, [3])
        await asyncio.sleep(0.05)
        assert calls == []  # not committed yet
        db.commit()
        await asyncio.sleep(0.05)
        assert calls == [{3}]

        db.scalar(select(User.id).limit(1))
        hub.notify_ingested(db, [4])
        db.rollback()
        db.scalar(select(User.id).limit(1))
        db.commit()
        await asyncio.sleep(0.05)
        assert calls == [{3}]  # the rolled-back ingestion was never announced
        await hub.stop()

    asyncio.run(scenario())


def test_notify_ingested_from_a_worker_thread() -> None:
    calls: list[set[int]] = []

    async def on_ingested(ids: set[int]) -> None:
        calls.append(ids)

    async def scenario() -> None:
        hub = Hub(debounce=0.01)
        await hub.start(on_ingested=on_ingested)
        await asyncio.to_thread(hub.notify_ingested, None, [5, 6])
        await asyncio.sleep(0.05)
        assert calls == [{5, 6}]
        await hub.stop()

    asyncio.run(scenario())


def _redis_available() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.exceptions.ConnectionError:
        return False


needs_redis = pytest.mark.skipif(not _redis_available(), reason="Redis is not reachable")


async def _next(client: Client, timeout: float = 2.0) -> dict[str, object]:
    message: dict[str, object] = json.loads(await asyncio.wait_for(client.queue.get(), timeout))
    return message


@needs_redis
def test_redis_carries_every_message_to_every_process() -> None:
    channel = f"resight:test:{secrets.token_hex(4)}"
    changed: list[set[int]] = []

    async def on_changed(ids: set[int]) -> None:
        changed.append(ids)

    async def scenario() -> None:
        process_a = Hub(RedisBackend(REDIS_URL, channel))
        process_b = Hub(RedisBackend(REDIS_URL, channel))
        await process_a.start()
        await process_b.start(on_products_changed=on_changed)
        on_a, on_b = process_a.connect(), process_b.connect()
        on_b.topics.add(Topic.item)
        on_b.product_ids.add(11)

        await process_a.publish(Topic.kpis, {"orders": 3})
        assert (await _next(on_a))["data"] == {"orders": 3}
        assert (await _next(on_b))["data"] == {"orders": 3}

        await process_a.publish(Topic.item, {"product_id": 11}, product_id=11)
        assert (await _next(on_b))["type"] == "item"
        assert on_a.queue.empty()

        await process_a.publish_changed([11, 12])
        await asyncio.sleep(0.2)
        assert changed == [{11}]  # only the ids process B's clients watch

        await process_a.stop()
        await process_b.stop()

    asyncio.run(scenario())


def test_changed_products_refresh_only_watched_items_and_no_ids_means_all_watched() -> None:
    refreshed: list[set[int]] = []

    async def on_changed(ids: set[int]) -> None:
        refreshed.append(ids)

    async def scenario() -> None:
        hub = Hub()
        await hub.start(on_products_changed=on_changed)
        watcher = hub.connect()
        watcher.topics.add(Topic.item)
        watcher.product_ids |= {5, 6}
        await hub.publish_changed([6, 7])
        await hub.publish_changed([8])  # nobody watches 8: nothing to build
        await hub.publish_changed([])
        await asyncio.sleep(0.05)
        assert refreshed == [{6}, {5, 6}]
        await hub.stop()

    asyncio.run(scenario())
