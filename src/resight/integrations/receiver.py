"""One webhook request, end to end: store, size limit, credentials, JSON, then the inbox.

Refusals (401, 413, 400, 422) store nothing the sender sent; they are counted against the store
when the store is known. Everything else is written to the inbox and applied in one transaction
that commits before the 2xx is sent.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import FastAPI, Request
from sqlalchemy.orm import Session, sessionmaker

from resight.catalog.models import Platform
from resight.config import Settings
from resight.errors import BadRequest, PayloadTooLarge, ResightError, Unprocessable
from resight.integrations import deliveries, inbox, pipeline
from resight.integrations.credentials import CredentialCache, DeliveryRefused
from resight.integrations.models import DeliveryStatus
from resight.integrations.records import StoreRef
from resight.integrations.signatures import fernet_for
from resight.integrations.writer import Ingestion, collector_paused
from resight.ratelimit import RateLimiter
from resight.realtime.feeds import announce_ingested

KEPT_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature", "content-type", "user-agent")
# What a delivery's handling reads: the kept headers (stored with it), the API key, the declared size.
WANTED_HEADERS = (*KEPT_HEADERS, "x-api-key", "content-length")
MAX_DELIVERY_ID = 200
_setup_lock = threading.Lock()


# Bodies from this size on are decoded with the collector paused (a single event's is ~300 bytes).
PAUSED_DECODE_BYTES = 64 * 1024


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
            await asyncio.wrap_future(state.submit(_counter(refused_store, exc)))
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
