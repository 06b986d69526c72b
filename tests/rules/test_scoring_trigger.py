"""A rule change starts a scoring cycle at once, debounced: the real scoring loop (ml/worker.py)
wakes on `trigger()` long before its interval, waits out the debounce, and runs one cycle for a
burst of triggers. (The routes call the trigger after commit: test_api.py; the cycle applies the
rules in effect: tests/ml/test_score_writes.py.)"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from resight.config import Settings
from resight.ml.registry import ModelStore
from resight.ml.scoring import CycleResult
from resight.ml.worker import Scorer

INTERVAL = 60.0
DEBOUNCE = 0.2


class CountingScorer(Scorer):
    """The real scorer, noting when each cycle starts."""

    started: list[float]

    def cycle(self, now: dt.datetime | None = None) -> CycleResult | None:
        self.started.append(time.monotonic())
        return super().cycle(now)


async def _until(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        await asyncio.sleep(0.01)


def test_a_burst_of_rule_changes_starts_one_cycle_soon(
    db: Session, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    settings = settings.model_copy(
        update={"scoring_interval_seconds": INTERVAL, "scoring_debounce_seconds": DEBOUNCE}
    )
    scorer = CountingScorer(db.get_bind().engine, session_factory, ModelStore(), settings)
    scorer.started = []

    async def scenario() -> tuple[float, list[float]]:
        loop = asyncio.create_task(scorer.run())
        try:
            await _until(lambda: len(scorer.started) == 1, 10)  # the cycle at start
            await asyncio.sleep(0.1)
            poked = time.monotonic()
            for _ in range(5):  # e.g. five rules saved in quick succession
                scorer.trigger()
                await asyncio.sleep(0.01)
            await _until(lambda: len(scorer.started) == 2, 10)
            await asyncio.sleep(3 * DEBOUNCE)  # no further cycle for the same burst
            return poked, list(scorer.started)
        finally:
            loop.cancel()
            try:
                await loop
            except asyncio.CancelledError:
                pass

    try:
        poked, started = asyncio.run(scenario())
    finally:
        scorer.close()
    assert len(started) == 2, started
    waited = started[1] - poked
    assert DEBOUNCE <= waited < 5, waited  # debounced, yet far sooner than the 60 s interval
