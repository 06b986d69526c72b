"""The ingestion writer: one thread that applies every delivery and commits them in groups, on a
connection of its own where that keeps SQLite's page cache warm."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import SingletonThreadPool, StaticPool

from resight.db import transaction
from resight.integrations import inbox
from resight.integrations.credentials import CredentialCache

T = TypeVar("T")
MAX_GROUP = 512
# A request waiting on the writer: its event loop and the future the writer settles there.
Waiter = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]"]
IDLE_SECONDS = 5.0


class Ingestion:
    """Per-app state of the webhook path: the credential cache and the writer thread.

    One thread performs every ingestion write. Deliveries that arrive while it is busy are
    committed together as one group (each still durable before its 2xx: a request is answered only
    after its group commits). SQLite has one writer at a time anyway; queueing here is much cheaper
    than many threads polling its busy handler, and a group costs a handful of statements.
    """

    def __init__(self, cache: CredentialCache, factory: sessionmaker[Session]) -> None:
        self.cache = cache
        self.factory = factory
        self._queue: queue.SimpleQueue[tuple[Any, Any]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._running = False

    def _put(self, item: Any, outcome: Future[Any] | Waiter) -> None:
        with self._lock:
            self._queue.put((item, outcome))
            if not self._running:
                self._running = True
                threading.Thread(target=self._run, name="resight-ingestion-writer", daemon=True).start()

    def submit(self, work: Callable[[Session], Any]) -> Future[Any]:
        """Queue `work` for its own transaction on the writer thread; the future holds its result."""
        future: Future[Any] = Future()
        self._put(work, future)
        return future

    async def deliver(self, incoming: inbox.Incoming) -> inbox.Receipt:
        """Store and apply `incoming`; returns once its group has committed.

        An asyncio future settled from the writer with one loop wake-up per group, rather than a
        concurrent Future per request (a condition variable each, and a wake-up each)."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[inbox.Receipt] = loop.create_future()
        self._put(incoming, (loop, waiter))
        return await waiter

    def write(self, work: Callable[[Session], T]) -> T:
        """Run `work` in its own transaction on the writer thread (blocking the caller)."""
        result: T = self.submit(work).result()
        return result

    def _run(self) -> None:
        connection = WriterConnection(self.factory)
        try:
            self._serve(connection)
        finally:
            connection.release()

    def _serve(self, connection: WriterConnection) -> None:
        while True:
            try:
                first = self._queue.get(timeout=IDLE_SECONDS)
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():
                        self._running = False
                        return
                continue
            batch = [first]
            while len(batch) < MAX_GROUP:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            deliveries = [(item, waiter) for item, waiter in batch if isinstance(item, inbox.Incoming)]
            if deliveries:
                with collector_paused():
                    outcomes = self._deliver_group(connection, deliveries)
                _settle(outcomes)
            for work, future in batch:
                if not isinstance(work, inbox.Incoming):
                    self._call(connection, work, future)

    def _deliver_group(
        self, connection: WriterConnection, group: list[tuple[inbox.Incoming, Waiter]]
    ) -> list[tuple[Waiter, Any, bool]]:
        """(waiter, receipt or exception, failed) for each delivery of the group."""
        try:
            with connection.transaction() as session:
                receipts = inbox.receive_many(session, [incoming for incoming, _ in group])
        except BaseException as exc:
            if len(group) == 1:
                return [(group[0][1], exc, True)]
            # One delivery's unexpected failure must not fail the others: each alone.
            return [outcome for one in group for outcome in self._deliver_group(connection, [one])]
        return [(waiter, receipt, False) for (_, waiter), receipt in zip(group, receipts, strict=True)]

    def _call(
        self, connection: WriterConnection, work: Callable[[Session], Any], future: Future[Any]
    ) -> None:
        try:
            with connection.transaction() as session:
                result = work(session)
        except BaseException as exc:
            future.set_exception(exc)
        else:
            future.set_result(result)


class WriterConnection:
    """The writer thread's own SQLite connection, kept from one transaction to the next while the
    thread runs.

    Taken from the pool for each group instead, the writer got the pool's connections in turn (the
    pool is first in, first out, and the live feeds' reads return theirs to it too). SQLite keeps a
    page cache per connection and empties it whenever another connection has committed since, so
    every group began with an empty cache: each b-tree page it touched was found in the WAL's index
    and read from the OS again (page reads in one benchmark run: 240,000 before, 43,000 after;
    docs/decisions/0303, sixth pass). On its own connection the writer's commits leave its cache
    valid. The connection goes back to the pool after any failed transaction (it may be the
    failure) and when the thread stops.

    PostgreSQL's page cache is the server's, shared by every connection, so there the writer takes
    a connection from the pool for each transaction as before, and the pool's pre-ping replaces one
    that a database restart broke while the writer was idle. Engines whose pool hands out one
    shared connection (in-memory SQLite) and factories bound to a connection are used as given."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self._factory = factory
        bind = factory.kw.get("bind")
        pinned = (
            isinstance(bind, Engine)
            and bind.dialect.name == "sqlite"
            and not isinstance(bind.pool, SingletonThreadPool | StaticPool)
        )
        self._engine = bind if pinned else None
        self._connection: Connection | None = None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        if self._engine is not None and self._connection is None:
            self._connection = self._engine.connect()
        try:  # without an engine to pin (bind None), a connection from the factory as usual
            with transaction(self._factory, bind=self._connection) as session:
                yield session
        except BaseException:
            self.release()
            raise

    def release(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            connection.close()


class _CollectorPause:
    """No cyclic collection while a group is applied or a large body decoded; the collector runs
    again once the last of them is done.

    A batch keeps tens of thousands of tracked containers alive until it commits (its decoded
    JSON, records, product states), so a young-generation pass in the middle walks them all and
    frees nothing: 1.3-1.7 µs per event of a mixed batch, measured in the server
    (docs/decisions/0303). Decoding a batch's body on the event loop allocates them: with the
    collector on, ~90 passes for a 5,000-notification body (4 % of a mixed batch's instructions,
    decision 0303, fourth pass). When a group is done its records and product states are freed by
    reference counting, before the next pass. The pause is process-wide, so the event loop's
    decodes and the writer's groups share one count: the collector comes back when the count
    drops to zero, and only if it was on when the first pause began. Each pause lasts one group or
    one decode (about a second for the largest batch); reference counting frees everything
    without cycles meanwhile."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._resume = False

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._depth == 0:
                self._resume = gc.isenabled()
                gc.disable()
            self._depth += 1
        try:
            yield
        finally:
            with self._lock:
                self._depth -= 1
                if self._depth == 0 and self._resume:
                    gc.enable()


collector_paused = _CollectorPause()


def _settle(outcomes: list[tuple[Waiter, Any, bool]]) -> None:
    """Hand the group's outcomes to each event loop that waits for them, one call per loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Any, bool]]] = {}
    for (loop, waiter), value, failed in outcomes:
        by_loop.setdefault(loop, []).append((waiter, value, failed))
    for loop, settled in by_loop.items():
        # The loop may be closed (shutting down): nobody is left to answer, the group is stored.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_resolve, settled)


def _resolve(settled: list[tuple[asyncio.Future[Any], Any, bool]]) -> None:
    for waiter, value, failed in settled:
        if waiter.done():  # the request was cancelled; its delivery is stored all the same
            continue
        if failed:
            waiter.set_exception(value)
        else:
            waiter.set_result(value)
