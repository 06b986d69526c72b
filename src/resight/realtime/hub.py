"""Publish/subscribe of typed JSON messages to the WebSocket clients of every API process.

A message is serialised once, then fanned out as text to each interested client's bounded queue.
Each connection has its own sender task draining that queue, so a client that stops reading fills
only its own queue; the next message for it finds the queue full and the client is dropped, never
waited for. In-process by default; with REDIS_URL every message goes through one Redis pub/sub
channel and each process delivers what it receives to its own clients, so that every update reaches
every process, whichever process produced it.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import logging
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic_core import to_jsonable_python
from sqlalchemy.orm import Session

from resight.db import utcnow
from resight.realtime.after_commit import after_commit

log = logging.getLogger("resight.realtime")

CHANGED = "_changed"  # internal: products whose item view may have changed; never sent to clients


class Topic(enum.StrEnum):
    """What a client can subscribe to."""

    kpis = "kpis"
    ranking = "ranking"
    item = "item"
    rules = "rules"
    alerts = "alerts"
    model = "model"


class Control(enum.StrEnum):
    """Messages that belong to one connection rather than to a topic."""

    snapshot = "snapshot"
    heartbeat = "heartbeat"
    pong = "pong"
    subscribed = "subscribed"
    error = "error"


def encode(kind: str, data: Any) -> str:
    """The wire form of every server message: {"type", "at", "data"}."""
    body = {"type": kind, "at": utcnow().isoformat(), "data": to_jsonable_python(data)}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class Frame:
    """A message on its way to clients: routing fields plus the pre-serialised text."""

    topic: str
    text: str
    product_id: int | None = None

    def pack(self) -> str:
        return f"{self.topic} {'' if self.product_id is None else self.product_id}\n{self.text}"

    @classmethod
    def unpack(cls, raw: str) -> Frame:
        header, _, text = raw.partition("\n")
        topic, _, product = header.partition(" ")
        return cls(topic, text, int(product) if product else None)


@dataclass(eq=False)
class Client:
    """One WebSocket connection's subscriptions and outgoing queue."""

    queue: asyncio.Queue[str]
    topics: set[Topic] = field(default_factory=lambda: set(Topic) - {Topic.item})
    product_ids: set[int] = field(default_factory=set)
    dropped: asyncio.Event = field(default_factory=asyncio.Event)
    shutting_down: bool = False  # dropped because the server stops, not because it was slow

    def wants(self, frame: Frame) -> bool:
        if frame.topic == Topic.item:
            return Topic.item in self.topics and frame.product_id in self.product_ids
        return frame.topic in self.topics

    def offer(self, text: str) -> bool:
        """Queue a message without waiting; a full queue marks the client as too slow."""
        if self.dropped.is_set():
            return False
        try:
            self.queue.put_nowait(text)
        except asyncio.QueueFull:
            self.dropped.set()
            return False
        return True


class Backend(Protocol):
    async def start(self, deliver: Callable[[Frame], None]) -> None: ...
    async def publish(self, frame: Frame) -> None: ...
    async def stop(self) -> None: ...


class LocalBackend:
    """One process: a published frame is delivered at once."""

    def __init__(self) -> None:
        self._deliver: Callable[[Frame], None] | None = None

    async def start(self, deliver: Callable[[Frame], None]) -> None:
        self._deliver = deliver

    async def publish(self, frame: Frame) -> None:
        if self._deliver is not None:
            self._deliver(frame)

    async def stop(self) -> None:
        self._deliver = None


class RedisBackend:
    """Several processes: frames travel through one Redis channel; each process delivers what it hears,
    its own frames included, so there is one path for every message."""

    def __init__(self, url: str, channel: str) -> None:
        import redis.asyncio as redis

        self._redis = redis.Redis.from_url(url, decode_responses=True)
        self._channel = channel
        self._listener: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self, deliver: Callable[[Frame], None]) -> None:
        self._listener = asyncio.create_task(self._listen(deliver), name="realtime-redis-listener")
        # Subscribed before the app serves, so no update published after startup is missed.
        await asyncio.wait_for(self._ready.wait(), timeout=10)

    async def _listen(self, deliver: Callable[[Frame], None]) -> None:
        import redis.exceptions

        backoff = 0.1
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._channel)
                self._ready.set()
                backoff = 0.1
                async for message in pubsub.listen():
                    if message.get("type") != "message":
                        continue
                    try:
                        deliver(Frame.unpack(message["data"]))
                    except ValueError:  # not ours (someone else on the channel): skip, keep listening
                        log.warning("realtime: ignored a malformed message on %s", self._channel)
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError) as exc:
                log.warning("realtime: Redis subscription lost (%s); retrying in %.1f s", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            finally:
                with contextlib.suppress(redis.exceptions.RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def publish(self, frame: Frame) -> None:
        await self._redis.publish(self._channel, frame.pack())

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        await self._redis.aclose()


ChangeHandler = Callable[[set[int]], Coroutine[Any, Any, None]]


class Debouncer:
    """Calls `handler` at once for an isolated poke, and at most once per `delay` seconds during a
    burst: pokes that arrive while a call runs or within `delay` after it join the next call, so a
    steady stream is served every `delay` seconds and is never postponed indefinitely."""

    def __init__(self, delay: float, handler: ChangeHandler) -> None:
        self.delay = delay
        self._handler = handler
        self._pending: set[int] | None = None
        self._task: asyncio.Task[None] | None = None

    def poke(self, product_ids: Iterable[int] = ()) -> None:
        if self._pending is None:
            self._pending = set()
        self._pending.update(product_ids)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="realtime-debounce")

    async def _run(self) -> None:
        await asyncio.sleep(0)  # pokes of the same moment (one event-loop turn) make one call
        while self._pending is not None:
            batch, self._pending = self._pending, None
            try:
                await self._handler(batch)
            except Exception:  # a failed push must not stop later ones; the next change retries
                log.exception("realtime: publishing after a change failed")
            await asyncio.sleep(self.delay)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class Hub:
    """The process's registry of connected clients and the way to publish to all processes."""

    def __init__(self, backend: Backend | None = None, *, queue_size: int = 256, debounce: float = 0.25):
        self.backend: Backend = backend or LocalBackend()
        self.queue_size = queue_size
        self.debounce = debounce
        self.clients: set[Client] = set()
        self.dropped_clients = 0
        self.generation = 0  # counts topic messages delivered here; snapshots are cached per value
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ingested: Debouncer | None = None
        self._changed_handler: ChangeHandler | None = None
        self._changed_tasks: set[asyncio.Task[None]] = set()

    @classmethod
    def from_url(cls, redis_url: str | None, channel: str, **kwargs: Any) -> Hub:
        return cls(RedisBackend(redis_url, channel) if redis_url else LocalBackend(), **kwargs)

    # lifecycle ---------------------------------------------------------------------------------

    async def start(
        self,
        *,
        on_ingested: ChangeHandler | None = None,
        on_products_changed: ChangeHandler | None = None,
    ) -> None:
        """`on_ingested` runs (debounced) in the process that ingested; `on_products_changed` runs in
        every process when products changed anywhere, to refresh its own clients' item views."""
        self._loop = asyncio.get_running_loop()
        self._ingested = Debouncer(self.debounce, on_ingested) if on_ingested else None
        self._changed_handler = on_products_changed
        await self.backend.start(self.deliver)

    async def stop(self) -> None:
        if self._ingested is not None:
            await self._ingested.stop()
        for task in list(self._changed_tasks):
            task.cancel()
        await self.backend.stop()
        for client in list(self.clients):
            client.shutting_down = True
            client.dropped.set()
        self._loop = None

    # clients -----------------------------------------------------------------------------------

    def connect(self) -> Client:
        client = Client(queue=asyncio.Queue(self.queue_size))
        self.clients.add(client)
        return client

    def disconnect(self, client: Client) -> None:
        self.clients.discard(client)

    def subscribed_product_ids(self) -> set[int]:
        ids: set[int] = set()
        for client in self.clients:
            if Topic.item in client.topics:
                ids |= client.product_ids
        return ids

    # publishing --------------------------------------------------------------------------------

    async def publish(self, topic: Topic, data: Any, *, product_id: int | None = None) -> None:
        """Send a message to every interested client of every process."""
        await self.backend.publish(Frame(topic.value, encode(topic.value, data), product_id))

    async def publish_changed(self, product_ids: Iterable[int]) -> None:
        """Tell every process that these products changed (each refreshes its subscribers' items);
        no ids means "any product may have changed": every watched item is refreshed."""
        await self.backend.publish(Frame(CHANGED, json.dumps(sorted(set(product_ids)))))

    def deliver(self, frame: Frame) -> None:
        """Fan a frame out to this process's clients; never waits for any of them."""
        if frame.topic == CHANGED:
            changed = set(json.loads(frame.text))
            self._products_changed(changed or self.subscribed_product_ids())
            return
        if frame.topic != Topic.item:
            self.generation += 1
        for client in list(self.clients):
            if client.wants(frame) and not client.offer(frame.text) and client.dropped.is_set():
                self._drop(client)
        if frame.topic == Topic.ranking:  # scores moved: every subscribed item view may have changed
            self._products_changed(self.subscribed_product_ids())

    def _drop(self, client: Client) -> None:
        if client in self.clients:
            self.clients.discard(client)
            self.dropped_clients += 1
            log.info("realtime: dropped a client whose queue was full (%d queued)", client.queue.qsize())

    def _products_changed(self, product_ids: set[int]) -> None:
        if self._changed_handler is None:
            return
        wanted = product_ids & self.subscribed_product_ids()
        if not wanted:
            return
        task = asyncio.create_task(self._changed_handler(wanted), name="realtime-items")
        self._changed_tasks.add(task)
        task.add_done_callback(self._changed_done)

    def _changed_done(self, task: asyncio.Task[None]) -> None:
        self._changed_tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("realtime: background publishing failed", exc_info=task.exception())

    # triggers callable from any thread ---------------------------------------------------------

    def notify_ingested(self, session: Session | None = None, product_ids: Iterable[int] = ()) -> None:
        """Ingestion stored something: push fresh KPIs (debounced) from this process.

        With a session in a transaction, the push waits for that transaction's commit (and is
        dropped on rollback), so clients never see KPIs computed before the data is visible.
        Safe to call from the event loop or from a worker thread."""
        ids = list(product_ids)
        if session is not None and session.in_transaction():
            after_commit(session, lambda: self.notify_ingested(None, ids))
            return
        loop = self._loop
        if loop is None or self._ingested is None or loop.is_closed():
            return
        debouncer = self._ingested
        if _on_loop(loop):
            debouncer.poke(ids)
        else:
            loop.call_soon_threadsafe(debouncer.poke, ids)

    def publish_soon(self, topic: Topic, data: Any, *, session: Session | None = None) -> None:
        """Publish from synchronous code (a route running in a worker thread, a callback): after the
        session's commit when one is given. Fire and forget; failures are logged."""
        if session is not None and session.in_transaction():
            after_commit(session, lambda: self.publish_soon(topic, data))
            return
        frame = Frame(topic.value, encode(topic.value, data))
        self.call_soon(lambda: self.backend.publish(frame))

    def call_soon(self, work: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run `work()` on the hub's event loop, from any thread; failures are logged."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return

        def schedule() -> None:
            task = asyncio.create_task(work(), name="realtime-soon")
            self._changed_tasks.add(task)
            task.add_done_callback(self._changed_done)

        if _on_loop(loop):
            schedule()
        else:
            loop.call_soon_threadsafe(schedule)


def _on_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
