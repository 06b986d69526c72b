"""The scoring loop: a cycle every RESIGHT_SCORING_INTERVAL_SECONDS, and sooner (debounced by
RESIGHT_SCORING_DEBOUNCE_SECONDS) when `trigger()` is called after ingestion or a rule change.

Only the process holding the scorer lock (ml/lock.py) scores; the others keep trying each
interval, so one takes over within an interval if the scorer dies. A failing cycle rolls back
(the last good scores stay) and opens a "scoring_failed" alert; the next good cycle resolves it.
The scorer keeps its memory between cycles (ml/warm.py) and drops it after a failed cycle or a
lost lock.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from resight.config import Settings
from resight.db import transaction, utcnow
from resight.events.alerts import evaluate_alerts, raise_alert, resolve_alert
from resight.ml.feature_cache import FeatureCache
from resight.ml.history import prune_history
from resight.ml.lock import ScorerLock
from resight.ml.registry import ModelStore
from resight.ml.scoring import CycleResult, run_cycle
from resight.ml.warm import ScoringState

log = logging.getLogger("resight.ml")

FAILING_KEY = "ml:scoring-failed"
MODEL_KEY = "ml:model-unavailable"
OnScored = Callable[[CycleResult], Any]


class Scorer:
    def __init__(
        self,
        engine: Engine,
        session_factory: sessionmaker[Session],
        store: ModelStore,
        settings: Settings,
        on_scored: list[OnScored] | None = None,
    ) -> None:
        self._factory = session_factory
        self._settings = settings
        self.store = store
        self.lock = ScorerLock(engine)
        self.on_scored: list[OnScored] = on_scored if on_scored is not None else []
        self.last_error: str | None = None
        self.state: ScoringState | None = None  # memory between cycles (ml/warm.py)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        # Held for a whole cycle: close() waits on it, so a cycle still running in its thread
        # when the loop is cancelled can neither outlive the lock nor take it back afterwards.
        self._cycling = threading.Lock()
        self._closed = False

    def close(self) -> None:
        """Stop scoring for good: wait for a cycle in flight, then give up the scorer lock."""
        with self._cycling:
            self._closed = True
            self.state = None
            self.lock.release()

    def cycle(self, now: dt.datetime | None = None) -> CycleResult | None:
        """One cycle if this process is the scorer and a model serves; None otherwise."""
        with self._cycling:
            if self._closed:
                return None
            return self._cycle(now)

    def _cycle(self, now: dt.datetime | None) -> CycleResult | None:
        if not self.lock.acquire():
            self.state = None
            return None
        if self.state is None or self.state.generation != self.lock.acquisitions:
            features = FeatureCache.from_settings(self._settings)
            self.state = ScoringState(generation=self.lock.acquisitions, features=features)
        now = now or utcnow()
        try:
            with transaction(self._factory) as session:
                model = self.store.serving(session)
                self._report_model_problem(session)
                if model is None:
                    return None
                result = run_cycle(session, model, now, self._settings.rank_by, state=self.state)
                retention = dt.timedelta(days=self._settings.score_history_retention_days)
                prune_history(session, now, retention)
                evaluate_alerts(session, self._settings, now)
                resolve_alert(session, FAILING_KEY)
        except Exception as exc:  # a failed cycle must neither stop the loop nor touch the scores
            log.exception("scoring cycle failed")
            self.state = None  # it may describe writes that were rolled back
            self.last_error = f"{type(exc).__name__}: {exc}"
            with transaction(self._factory) as session:
                raise_alert(
                    session,
                    "scoring_failed",
                    FAILING_KEY,
                    f"Scoring failed; the last good scores are kept ({self.last_error})",
                    {"error": self.last_error},
                    severity="critical",
                )
            return None
        self.last_error = None
        return result

    def _report_model_problem(self, session: Session) -> None:
        if self.store.problem is not None:
            raise_alert(session, "model_unavailable", MODEL_KEY, self.store.problem, severity="critical")
        else:
            resolve_alert(session, MODEL_KEY)

    def trigger(self) -> None:
        """Ask for a cycle soon; safe from any thread, cheap to call often (debounced)."""
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None and not loop.is_closed():
            loop.call_soon_threadsafe(wake.set)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        while True:
            result = await asyncio.to_thread(self.cycle)
            if result is not None:
                await self._publish(result)
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self._settings.scoring_interval_seconds)
                await asyncio.sleep(self._settings.scoring_debounce_seconds)
            except TimeoutError:
                pass
            self._wake.clear()

    async def _publish(self, result: CycleResult) -> None:
        for callback in list(self.on_scored):
            try:
                outcome = callback(result)
                if inspect.isawaitable(outcome):
                    await outcome
            except Exception:  # a subscriber's failure must not stop scoring
                log.exception("on_scored callback failed")


@asynccontextmanager
async def ml_running(app: FastAPI, settings: Settings) -> AsyncIterator[None]:
    """Lifespan part: the model store for the endpoints; the scoring loop unless disabled.

    Sets app.state.model_store and app.state.on_scored (callbacks taking a CycleResult, sync or
    async, run on the event loop after each cycle) and, while the loop runs,
    app.state.scoring_trigger and app.state.scorer."""
    store = ModelStore()
    app.state.model_store = store
    callbacks: list[OnScored] = getattr(app.state, "on_scored", None) or []
    app.state.on_scored = callbacks
    if not settings.scoring_enabled:
        yield
        return
    scorer = Scorer(app.state.engine, app.state.session_factory, store, settings, callbacks)
    app.state.scorer = scorer
    app.state.scoring_trigger = scorer.trigger
    task = asyncio.create_task(scorer.run(), name="resight-scoring")
    try:
        yield
    finally:
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        await asyncio.to_thread(scorer.close)  # after the cycle in flight, if any
        del app.state.scoring_trigger
