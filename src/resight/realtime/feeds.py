"""When to publish what: the glue between changes (ingestion, scoring) and the hub's messages.

Computation happens once per update in the process where the update happened (the API process that
ingested, the scorer that scored); the hub carries the result to every process. Only item views are
built per process, for the product ids that process's own clients subscribed to.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from sqlalchemy import make_url
from sqlalchemy.orm import Session, sessionmaker

from resight.config import Settings
from resight.db import utcnow
from resight.events import metrics_service
from resight.events.kpis import WindowName, named_window
from resight.events.metrics_service import Filters
from resight.events.schemas import MetricsOut
from resight.realtime import views
from resight.realtime.after_commit import after_commit
from resight.realtime.hub import Control, Frame, Hub, Topic, encode

if TYPE_CHECKING:
    from resight.ml.worker import Scorer

KpiSource = Callable[[Session], Any]
SNAPSHOT_TTL_SECONDS = 5.0


class LiveFeeds:
    def __init__(self, hub: Hub, session_factory: sessionmaker[Session], kpis: KpiSource | None = None):
        self.hub = hub
        self._factory = session_factory
        self._kpis = kpis
        self._snapshot: tuple[int, float, str] | None = None
        self._snapshot_lock = asyncio.Lock()
        self._alerts_seen: object = None
        self._model_seen: object = None

    def _read(self, read: Callable[[Session], Any]) -> Any:
        with self._factory() as session:
            return read(session)

    def _kpis_today(self, session: Session) -> Any:
        return None if self._kpis is None else self._kpis(session)

    # the snapshot a client receives on connect -------------------------------------------------

    def _read_snapshot(self, session: Session) -> dict[str, Any]:
        data: dict[str, Any] = {
            "ranking": views.ranking(session),
            "alerts": views.open_alerts(session),
            "model": views.serving_model(session),
        }
        kpis = self._kpis_today(session)
        if kpis is not None:
            data["kpis"] = kpis
        return data

    async def snapshot_text(self) -> str:
        """Shared by clients connecting close together; invalidated by any update this process
        delivers, so a client never receives a snapshot older than a message it missed."""
        async with self._snapshot_lock:
            generation = self.hub.generation
            cached = self._snapshot
            if (
                cached is not None
                and cached[0] == generation
                and time.monotonic() - cached[1] < SNAPSHOT_TTL_SECONDS
            ):
                return cached[2]
            data = await asyncio.to_thread(self._read, self._read_snapshot)
            text = encode(Control.snapshot, data)
            if self.hub.generation == generation:
                self._snapshot = (generation, time.monotonic(), text)
            return text

    # after changes -----------------------------------------------------------------------------

    async def after_ingestion(self, product_ids: set[int]) -> None:
        """Debounced by the hub: fresh KPIs for today, alerts if they changed, item views."""

        def read(session: Session) -> tuple[Any, dict[str, Any]]:
            return self._kpis_today(session), views.open_alerts(session)

        kpis, alerts = await asyncio.to_thread(self._read, read)
        if kpis is not None:
            await self.hub.publish(Topic.kpis, kpis)
        await self._publish_alerts_if_changed(alerts)
        await self.hub.publish_changed(product_ids)

    async def after_scoring(self) -> None:
        """After a scoring cycle: the ranking (every process then refreshes its subscribed items),
        alerts if they changed, and the model if a different one now serves."""

        def read(session: Session) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any] | None]:
            return views.ranking(session), views.open_alerts(session), views.serving_model(session)

        ranking, alerts, model = await asyncio.to_thread(self._read, read)
        await self.hub.publish(Topic.ranking, ranking)
        await self._publish_alerts_if_changed(alerts)
        await self.publish_model_if_changed(model)

    async def on_scored(self, _result: Any) -> None:
        """The scoring loop's callback (ml/worker.py `on_scored`)."""
        await self.after_scoring()

    async def after_alerts_changed(self) -> None:
        """After an alert was acknowledged here: always published. What this process saw last is
        not what clients saw last when another process (the scorer) published since, so comparing
        could hold back the one message that takes the acknowledged alert off the dashboards."""
        alerts = await asyncio.to_thread(self._read, views.open_alerts)
        await self._publish_alerts_if_changed(alerts, force=True)

    async def _publish_alerts_if_changed(self, alerts: dict[str, Any], *, force: bool = False) -> None:
        seen = (alerts["open_count"], tuple(alert["id"] for alert in alerts["open"]))
        if force or seen != self._alerts_seen:
            self._alerts_seen = seen
            await self.hub.publish(Topic.alerts, alerts)

    async def publish_model_if_changed(self, model: dict[str, Any] | None) -> None:
        seen = None if model is None else (model["version"], model["promoted_at"])
        if seen != self._model_seen:
            self._model_seen = seen
            if model is not None:
                await self.hub.publish(Topic.model, model)

    async def item_texts(self, product_ids: set[int]) -> list[str]:
        found = await asyncio.to_thread(self._read, lambda session: views.items(session, product_ids))
        return [encode(Topic.item, view) for view in found.values()]

    async def refresh_items(self, product_ids: set[int]) -> None:
        """Item views for this process's subscribers only: delivered locally, never broadcast."""
        found = await asyncio.to_thread(self._read, lambda session: views.items(session, product_ids))
        for product_id, view in found.items():
            self.hub.deliver(Frame(Topic.item.value, encode(Topic.item, view), product_id))


CHANNEL_PREFIX = "resight:realtime:"


def database_identity(database_url: str) -> str:
    """The database a URL reaches, without driver, credentials or options: `sqlite:/abs/path` or
    `postgresql://host:port/name`. Processes of one deployment name one database, however written."""
    url = make_url(database_url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        path = url.database or ":memory:"
        if path != ":memory:" and not path.startswith("file:"):
            path = os.path.realpath(path)
        return f"sqlite:{path}"
    port = url.port or (5432 if backend == "postgresql" else "")
    return f"{backend}://{(url.host or '').lower()}:{port}/{url.database or ''}"


def realtime_channel(settings: Settings) -> str:
    """The Redis channel of this deployment. Redis pub/sub ignores database numbers, so every
    deployment sharing a Redis hears every channel's name: a fixed name would carry one seller's
    rankings to another's dashboards. Named after the database unless RESIGHT_REALTIME_CHANNEL is set
    (processes that reach one database by different host names must set it, to the same value)."""
    if settings.realtime_channel:
        return settings.realtime_channel
    digest = hashlib.sha256(database_identity(settings.database_url).encode()).hexdigest()[:16]
    return CHANNEL_PREFIX + digest


def make_hub(settings: Settings) -> Hub:
    return Hub.from_url(
        settings.redis_url,
        realtime_channel(settings),
        queue_size=settings.ws_queue_size,
        debounce=settings.realtime_debounce_seconds,
    )


@asynccontextmanager
async def running(settings: Settings, session_factory: sessionmaker[Session]) -> AsyncIterator[LiveFeeds]:
    """A started hub with its feeds, for an API process or the scorer; stopped on exit."""
    hub = make_hub(settings)
    feeds = LiveFeeds(hub, session_factory, kpis=kpis_today)
    await hub.start(on_ingested=feeds.after_ingestion, on_products_changed=feeds.refresh_items)
    try:
        yield feeds
    finally:
        await hub.stop()


@asynccontextmanager
async def running_in_app(app: FastAPI, settings: Settings) -> AsyncIterator[LiveFeeds]:
    """The API process's hub: `app.state.hub` (publish, notify_ingested) and `app.state.live_feeds`.

    Also subscribes to the scoring loop's `app.state.on_scored` callbacks (ml/worker.py), so that
    whichever API process holds the scorer lock publishes the ranking after each cycle."""
    # The feeds read on worker threads. An app whose sessions share one connection (the test
    # suite's rolled-back transaction) gives them their own factory: a connection is single-threaded.
    factory = getattr(app.state, "feeds_session_factory", None) or app.state.session_factory
    async with running(settings, factory) as feeds:
        app.state.hub = feeds.hub
        app.state.live_feeds = feeds
        callbacks: list[Any] | None = getattr(app.state, "on_scored", None)
        if callbacks is None:
            callbacks = app.state.on_scored = []
        callbacks.append(feeds.on_scored)
        try:
            yield feeds
        finally:
            callbacks.remove(feeds.on_scored)


@asynccontextmanager
async def publishing_scores(
    settings: Settings, session_factory: sessionmaker[Session]
) -> AsyncIterator[Callable[[Any], Coroutine[Any, Any, None]]]:
    """For a scorer outside the API processes (`resight worker`): the on_scored callback that
    publishes each cycle's ranking, alerts and model through the hub (Redis, with REDIS_URL)."""
    async with running(settings, session_factory) as feeds:
        yield feeds.on_scored


async def scoring_with_live_updates(
    scorer: Scorer, settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    """`resight worker`: run the scoring loop, publishing each cycle through the hub (REDIS_URL)."""
    async with publishing_scores(settings, session_factory) as publish:
        scorer.on_scored.append(publish)
        await scorer.run()


def announce_ingested(app: FastAPI, session: Session | None = None, product_ids: Iterable[int] = ()) -> None:
    """For the ingestion paths, once a delivery or import is committed (or, given the session,
    once it commits): live KPIs, alerts and item views, debounced (docs/realtime.md)."""
    hub: Hub | None = getattr(app.state, "hub", None)
    if hub is not None:
        hub.notify_ingested(session, product_ids)
    # New data: ask the scoring loop (ml/worker.py, if running here) for a cycle soon; it debounces.
    trigger = getattr(app.state, "scoring_trigger", None)
    if callable(trigger):
        trigger()


def announce_rules_changed(request: Request) -> None:
    """For the rules routes, after a change committed: a `rules` message to every client."""
    hub: Hub | None = getattr(request.app.state, "hub", None)
    if hub is not None:
        action = {"POST": "created", "PATCH": "updated", "DELETE": "deleted"}.get(request.method, "changed")
        hub.publish_soon(Topic.rules, {"action": action, "path": request.url.path})


def announce_alerts_changed(request: Request, session: Session | None = None) -> None:
    """For the alert routes: once the session's transaction (if any) commits, an `alerts` message
    if the set of open alerts changed."""
    feeds: LiveFeeds | None = getattr(request.app.state, "live_feeds", None)
    if feeds is None:
        return
    hub = feeds.hub
    if session is not None and session.in_transaction():
        after_commit(session, lambda: hub.call_soon(feeds.after_alerts_changed))
    else:
        hub.call_soon(feeds.after_alerts_changed)


def kpis_today(session: Session) -> MetricsOut:
    """KPIs for today (the IST day so far), exactly as `GET /metrics` reports them."""
    return metrics_service.metrics(session, Filters(), named_window(WindowName.today, utcnow()))
