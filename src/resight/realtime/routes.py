"""WS /ws: the live channel of the dashboard. Message formats are in docs/realtime.md."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from sqlalchemy.orm import Session, sessionmaker

from resight.config import Settings
from resight.db import transaction
from resight.realtime.feeds import LiveFeeds
from resight.realtime.hub import Client, Control, Hub, Topic, encode
from resight.users.service import Principal, resolve_token

router = APIRouter(tags=["realtime"])
log = logging.getLogger("resight.realtime")

CLOSE_GOING_AWAY = 1001  # the server is shutting down
CLOSE_POLICY_VIOLATION = 1008  # missing, invalid, expired or revoked token
CLOSE_TRY_AGAIN_LATER = 1013  # the client did not keep up with its messages
CLOSE_CLIENT_SILENT = 4408  # nothing (not even a ping) from the client within the timeout
# How a connection's tasks normally end: the peer left, went silent, or the socket broke.
EXPECTED_ENDINGS = (WebSocketDisconnect, TimeoutError, OSError, RuntimeError)
MAX_PRODUCT_IDS = 1000  # per connection
MAX_CLIENT_MESSAGE_BYTES = 64 * 1024


def _principal(factory: sessionmaker[Session], token: str) -> Principal | None:
    with transaction(factory) as session:
        return resolve_token(session, token)


@router.websocket("/ws")
async def live_updates(websocket: WebSocket, token: str = "") -> None:
    """Live updates. Authenticate with `?token=<bearer token>`; see docs/realtime.md."""
    app = websocket.app
    hub: Hub = app.state.hub
    feeds: LiveFeeds = app.state.live_feeds
    settings: Settings = app.state.settings
    # Accept first so that a refusal carries a close code a browser can read (1008), not an HTTP 403.
    await websocket.accept()
    principal = await asyncio.to_thread(_principal, app.state.session_factory, token) if token else None
    if principal is None:
        await websocket.close(CLOSE_POLICY_VIOLATION, "invalid, expired or revoked token")
        return

    client = hub.connect()
    tasks: list[asyncio.Task[Any]] = []
    close_code, reason = 1000, ""
    try:
        # Registered before the snapshot is read: whatever changes meanwhile follows it as a message.
        await websocket.send_text(await feeds.snapshot_text())
        tasks = [
            asyncio.create_task(_send(websocket, client, settings.ws_heartbeat_seconds)),
            asyncio.create_task(_receive(websocket, client, feeds, settings.ws_client_timeout_seconds)),
            asyncio.create_task(client.dropped.wait()),
        ]
        done, _pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        if client.shutting_down:
            close_code, reason = CLOSE_GOING_AWAY, "server shutting down"
        elif client.dropped.is_set():
            close_code, reason = CLOSE_TRY_AGAIN_LATER, "too slow: messages were not read in time"
        for task in done:
            if not task.cancelled() and isinstance(task.exception(), TimeoutError):
                close_code, reason = CLOSE_CLIENT_SILENT, "no message from the client within the timeout"
    except (WebSocketDisconnect, OSError):  # gone while the snapshot was on its way
        pass
    finally:
        hub.disconnect(client)
        for task in tasks:
            task.cancel()
        for task in tasks:
            try:
                await task
            except (asyncio.CancelledError, *EXPECTED_ENDINGS):
                pass
            except Exception as exc:  # logged, not raised: the connection is over either way
                log.warning("realtime: connection ended by %r", exc)
    # A stalled peer cannot take even a close frame; do not wait for it longer than a moment.
    with contextlib.suppress(TimeoutError, RuntimeError, OSError, WebSocketDisconnect):
        await asyncio.wait_for(websocket.close(close_code, reason), timeout=1.0)


async def _send(websocket: WebSocket, client: Client, interval: float) -> None:
    """Drains the client's queue; a heartbeat whenever nothing else went out for `interval`."""
    while True:
        try:
            async with asyncio.timeout(interval):
                text = await client.queue.get()
        except TimeoutError:
            text = encode(Control.heartbeat, {"interval_seconds": interval})
        try:
            async with asyncio.timeout(interval):
                await websocket.send_text(text)
        except TimeoutError:
            client.dropped.set()  # the peer stopped reading
            return


async def _receive(websocket: WebSocket, client: Client, feeds: LiveFeeds, timeout: float) -> None:
    """Client messages; raises TimeoutError when the client stays silent longer than `timeout`."""
    while True:
        async with asyncio.timeout(timeout):
            message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        text = message.get("text")
        if text is None:
            text = (message.get("bytes") or b"").decode("utf-8", errors="replace")
        before = set(client.product_ids)
        reply = handle_client_message(client, text)
        if reply is not None:
            client.offer(reply)
        added = client.product_ids - before
        if added:  # the current view of newly subscribed items, to this client only
            for item in await feeds.item_texts(added):
                client.offer(item)


def handle_client_message(client: Client, text: str) -> str | None:
    """Apply one client message to its subscriptions; return the reply text."""
    if len(text) > MAX_CLIENT_MESSAGE_BYTES:
        return encode(Control.error, {"detail": "message too large"})
    try:
        message = json.loads(text)
    except ValueError:
        return encode(Control.error, {"detail": "messages must be JSON objects"})
    if not isinstance(message, dict):
        return encode(Control.error, {"detail": "messages must be JSON objects"})
    kind = message.get("type")
    if kind == "ping":
        return encode(Control.pong, {"echo": message.get("data")})
    if kind not in ("subscribe", "unsubscribe"):
        return encode(Control.error, {"detail": f"unknown message type {kind!r}"})
    topics_raw = message.get("topics", [])
    ids_raw = message.get("product_ids", [])
    if not isinstance(topics_raw, list) or not isinstance(ids_raw, list):
        return encode(Control.error, {"detail": "topics and product_ids must be lists"})
    try:
        topics = {Topic(topic) for topic in topics_raw}
    except ValueError:
        known = ", ".join(topic.value for topic in Topic)
        return encode(Control.error, {"detail": f"unknown topic in {topics_raw!r}; topics are {known}"})
    if not all(isinstance(pid, int) and not isinstance(pid, bool) and pid > 0 for pid in ids_raw):
        return encode(Control.error, {"detail": "product_ids must be positive integers"})
    if kind == "subscribe":
        if len(client.product_ids | set(ids_raw)) > MAX_PRODUCT_IDS:
            return encode(Control.error, {"detail": f"at most {MAX_PRODUCT_IDS} product ids per connection"})
        client.topics |= topics
        client.product_ids |= set(ids_raw)
        if ids_raw:
            client.topics.add(Topic.item)
    else:
        client.topics -= topics
        client.product_ids -= set(ids_raw)
    return encode(
        Control.subscribed,
        {"topics": sorted(topic.value for topic in client.topics), "product_ids": sorted(client.product_ids)},
    )
