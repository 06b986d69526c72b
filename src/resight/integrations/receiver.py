"""One webhook request, end to end: store, size limit, credentials, JSON, then the inbox.

Refusals (401, 413, 400, 422) store nothing the sender sent; they are counted against the store
when the store is known. Everything else is written to the inbox and applied in one transaction
that commits before the 2xx is sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import queue
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Future
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from sqlalchemy.orm import Session, sessionmaker

from resight.catalog.models import Platform
from resight.config import Settings
from resight.db import transaction
from resight.errors import BadRequest, PayloadTooLarge, ResightError, Unprocessable
from resight.integrations import deliveries, inbox, pipeline
from resight.integrations.credentials import CredentialCache, DeliveryRefused
from resight.integrations.models import DeliveryStatus
from resight.integrations.records import StoreRef
from resight.integrations.signatures import fernet_for
from resight.ratelimit import RateLimiter
from resight.realtime.feeds import announce_ingested

T = TypeVar("T")
KEPT_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature", "content-type", "user-agent")
# What a delivery's handling reads: the kept headers (stored with it), the API key, the declared size.
WANTED_HEADERS = (*KEPT_HEADERS, "x-api-key", "content-length")
MAX_DELIVERY_ID = 200
_setup_lock = threading.Lock()


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

    def _submit(self, item: Callable[[Session], Any]) -> Future[Any]:
        future: Future[Any] = Future()
        self._put(item, future)
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
        result: T = self._submit(work).result()
        return result

    def _run(self) -> None:
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
                    outcomes = self._deliver_group(deliveries)
                _settle(outcomes)
            for work, future in batch:
                if not isinstance(work, inbox.Incoming):
                    self._call(work, future)

    def _deliver_group(self, group: list[tuple[inbox.Incoming, Waiter]]) -> list[tuple[Waiter, Any, bool]]:
        """(waiter, receipt or exception, failed) for each delivery of the group."""
        try:
            with transaction(self.factory) as session:
                receipts = inbox.receive_many(session, [incoming for incoming, _ in group])
        except BaseException as exc:
            if len(group) == 1:
                return [(group[0][1], exc, True)]
            # One delivery's unexpected failure must not fail the others: each alone.
            return [outcome for one in group for outcome in self._deliver_group([one])]
        return [(waiter, receipt, False) for (_, waiter), receipt in zip(group, receipts, strict=True)]

    def _call(self, work: Callable[[Session], Any], future: Future[Any]) -> None:
        try:
            with transaction(self.factory) as session:
                result = work(session)
        except BaseException as exc:
            future.set_exception(exc)
        else:
            future.set_result(result)


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
# Bodies from this size on are decoded with the collector paused (a single event's is ~300 bytes).
PAUSED_DECODE_BYTES = 64 * 1024


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


def ingestion(app: FastAPI) -> Ingestion:
    state = getattr(app.state, "ingestion", None)
    if state is None:
        with _setup_lock:
            state = getattr(app.state, "ingestion", None)
            if state is None:
                factory: sessionmaker[Session] = app.state.session_factory
                state = Ingestion(CredentialCache(fernet_for(app.state.secret_key)), factory)
                app.state.ingestion = state
    assert isinstance(state, Ingestion)
    return state


BodyChunks = AsyncIterator[bytes]


async def _read_body(chunks: BodyChunks, declared: str | None, limit: int) -> bytes:
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"body of {declared} bytes is over the limit of {limit} bytes")
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"body is over the limit of {limit} bytes")
        parts.append(chunk)
    return b"".join(parts)


def _decode(raw: bytes) -> Any:
    try:
        if len(raw) >= PAUSED_DECODE_BYTES:
            with collector_paused():
                body = inbox.decode_body(raw)
        else:
            body = inbox.decode_body(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"body is not JSON: {exc}") from exc
    except RecursionError as exc:  # the decoders give up on deep nesting ([[[[...]]]])
        raise BadRequest("body is nested too deeply") from exc
    if not isinstance(body, dict | list):
        raise Unprocessable("body must be a JSON object (one event) or the batch form")
    return body


async def receive(request: Request, platform: Platform, store_param: int | None) -> inbox.Receipt:
    """receive_delivery for a Starlette request (the routed endpoint)."""
    headers = {name: request.headers[name] for name in WANTED_HEADERS if name in request.headers}
    return await receive_delivery(
        request.app,
        platform,
        store_param,
        headers,
        request.stream(),
        client_host=request.client.host if request.client else None,
        request_id=getattr(request.state, "request_id", None),
    )


async def receive_delivery(
    app: FastAPI,
    platform: Platform,
    store_param: int | None,
    headers: dict[str, str],
    body: BodyChunks,
    *,
    client_host: str | None,
    request_id: str | None,
) -> inbox.Receipt:
    """One delivery: `headers` holds those of WANTED_HEADERS the request carries (lower-case names),
    `body` yields the raw body. Returns once the delivery is committed."""
    state = ingestion(app)
    settings: Settings = app.state.settings
    cache, factory = state.cache, state.factory
    # Credentials come from the in-memory cache: the database is read only on a miss.
    store_id = cache.store_id_for(factory, platform, store_param)
    limit_webhooks(app, store_id, client_host)
    keys = cache.keys(factory, store_id)
    if keys is None or keys.store.platform is not platform:
        raise DeliveryRefused(f"no {platform.value} store {store_id}", None)
    try:
        raw = await _read_body(body, headers.get("content-length"), settings.max_body_bytes)
        store: StoreRef = cache.authenticate(factory, platform, store_id, headers, raw)
        decoded = _decode(raw)
        delivery_id = pipeline.derive_delivery_id(platform, headers.get("webhook-id"), decoded, raw)
        if len(delivery_id) > MAX_DELIVERY_ID:
            raise BadRequest(f"delivery id longer than {MAX_DELIVERY_ID} characters")
    except ResightError as exc:
        refused_store = exc.store_id if isinstance(exc, DeliveryRefused) else store_id
        if refused_store is not None:
            await asyncio.wrap_future(state._submit(_counter(refused_store, exc)))
        raise
    incoming = inbox.Incoming(
        store=store,
        delivery_id=delivery_id,
        raw=raw,
        body=decoded,
        headers={name: value for name, value in headers.items() if name in KEPT_HEADERS},
        kind="batch" if pipeline.batch_items(decoded) is not None else "webhook",
        request_id=request_id,
        platform=platform,
    )
    receipt = await state.deliver(incoming)
    if receipt.status is DeliveryStatus.processed:
        announce_ingested(app)  # committed: live KPIs for dashboards (debounced)
    return receipt


def receipt_json(receipt: inbox.Receipt) -> bytes:
    """The body of a delivery's 2xx, as api_schemas.DeliveryReceipt documents it."""
    return json.dumps(
        {
            "id": receipt.id,
            "delivery_id": receipt.delivery_id,
            "status": receipt.status.value,
            "notification_type": receipt.notification_type,
            "error": receipt.error,
            "counts": receipt.counts,
        },
        separators=(",", ":"),
    ).encode()


def limit_webhooks(app: FastAPI, store_id: int, client_host: str | None) -> None:
    """429 with Retry-After past RESIGHT_WEBHOOK_REQUESTS_PER_MINUTE, per store and per address."""
    limiter: RateLimiter | None = getattr(app.state, "webhook_limiter", None)
    if limiter is None:
        return
    limiter.hit(f"store:{store_id}", f"deliveries for store {store_id}")
    limiter.hit(f"address:{client_host or 'unknown'}", "deliveries from you")


def _counter(store_id: int, error: ResightError) -> Callable[[Session], None]:
    reason = f"{error.status_code}: {error.detail}"
    return lambda session: deliveries.count_rejection(session, store_id, reason)
