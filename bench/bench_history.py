"""Score and rank history: what recording change points costs a scoring cycle at 100,000 products.

A real SQLite file, the real migrations and record_cycle/prune_history, each cycle committed. The
scores drift like a live shop: each cycle 2% of products see their expected orders move (±10%), and
the ranking is re-sorted, so ranks shift around them. CPU seconds of this process (SQLite runs
in-process), so a busy machine does not inflate the figures.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sqlalchemy import Engine, func, insert, select

from resight.catalog.models import ListingStatus, Platform, Product, Store, WebhookAuth
from resight.db import make_engine, make_session_factory, transaction
from resight.migrations import runner
from resight.ml.history import prune_history, record_cycle
from resight.ml.models import MlScoreHistory

TITLE = "Score and rank history: recording per scoring cycle"
# 17:00 UTC: the IST day turns at 18:30, so the run crosses one day boundary.
START = dt.datetime(2026, 11, 20, 17, 0, tzinfo=dt.UTC)
CYCLE = dt.timedelta(seconds=30)


def _products(engine: Engine, count: int) -> np.ndarray:
    with transaction(make_session_factory(engine)) as session:
        store = Store(platform=Platform.amazon, name="Bench store", auth=next(iter(WebhookAuth)))
        session.add(store)
        session.flush()
        session.execute(
            insert(Product),
            [
                {
                    "store_id": store.id,
                    "marketplace": Platform.amazon,
                    "sku": f"SKU-{i}",
                    "title": f"Product {i}",
                    "status": ListingStatus.active,
                }
                for i in range(count)
            ],
        )
        ids = session.scalars(select(Product.id).order_by(Product.id)).all()
    return np.asarray(ids, dtype=np.int64)


def _ranks(scores: np.ndarray) -> np.ndarray:
    ranks = np.empty(len(scores), dtype=np.int64)
    ranks[np.argsort(-scores, kind="stable")] = np.arange(1, len(scores) + 1)
    return ranks


class _Cycles:
    def __init__(self, engine: Engine, ids: np.ndarray, rng: np.random.Generator) -> None:
        self.factory = make_session_factory(engine)
        self.ids = ids
        self.rng = rng
        self.scores = rng.lognormal(0.0, 1.0, len(ids))
        self.at = START

    def drift(self, share: float = 0.02) -> None:
        moved = self.rng.random(len(self.ids)) < share
        self.scores[moved] *= np.exp(self.rng.normal(0.0, 0.1, int(moved.sum())))

    def run(self, version: str = "v1") -> tuple[float, int]:
        """One cycle's recording and pruning, committed: (CPU seconds, points written)."""
        self.at += CYCLE
        started = time.process_time()
        with transaction(self.factory) as session:
            written = record_cycle(session, self.at, version, self.ids, self.scores, _ranks(self.scores))
            prune_history(session, self.at)
        return time.process_time() - started, written


def _row(label: str, samples: list[tuple[float, int]]) -> str:
    seconds = [s for s, _ in samples]
    points = [p for _, p in samples]
    return (
        f"| {label} | {len(samples)} | {np.median(points):,.0f} (max {max(points):,}) "
        f"| {np.median(seconds) * 1000:,.1f} | {max(seconds) * 1000:,.1f} |"
    )


def run(quick: bool = False) -> str:
    count = 2_000 if quick else 100_000
    steady_cycles = 5 if quick else 30
    rng = np.random.default_rng(9)
    with tempfile.TemporaryDirectory(prefix="resight-bench-history-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'history.db'}"
        engine = make_engine(url)
        runner.upgrade(engine)
        ids = _products(engine, count)
        cycles = _Cycles(engine, ids, rng)
        rows: list[str] = []

        def phase(label: str, n: int, before: Callable[[], None] = cycles.drift) -> None:
            samples = []
            for _ in range(n):
                before()
                samples.append(cycles.run())
            rows.append(_row(label, samples))

        first_day = -(-count // 10_000)  # checkpoints of every product, 10,000 a cycle
        phase("first points (empty table), best ranked first", first_day)
        phase("steady state: 2% of scores move each cycle", steady_cycles)
        # Jump to just before 18:30 UTC, when the IST day turns and checkpoints fall due again.
        cycles.at = dt.datetime(2026, 11, 20, 18, 30, tzinfo=dt.UTC) - CYCLE
        phase("a new IST day: checkpoints due", first_day + 2)

        engine.dispose()  # a restarted scorer: the memory is re-read from the table
        cold = make_engine(url)
        cycles.factory = make_session_factory(cold)
        phase("scorer restarted (memory re-read)", 1)
        phase("after the restart", 3)

        cycles.scores *= rng.lognormal(0.0, 0.3, count)  # a new model moves nearly every score
        phase("a new model: nearly every product moves", 1, before=lambda: None)

        with transaction(make_session_factory(cold)) as session:
            stored = session.scalar(select(func.count()).select_from(MlScoreHistory)) or 0
        started = time.process_time()
        with transaction(make_session_factory(cold)) as session:
            pruned = prune_history(session, cycles.at, retention=cycles.at - START - 5 * CYCLE)
        prune_seconds = time.process_time() - started
        cold.dispose()

    return "\n".join(
        [
            f"{count:,} products, SQLite file, one 30-second cycle each; CPU ms of record_cycle + "
            "prune_history + commit (the scoring itself is not included).",
            "",
            "| phase | cycles | points written per cycle (median) | median ms | max ms |",
            "|---|---:|---:|---:|---:|",
            *rows,
            "",
            f"{stored:,} points stored in total (writing every product every cycle would have been "
            f"{count * (steady_cycles + 2 * first_day + 7):,}). Pruning the first five cycles' "
            f"{pruned:,} points: {prune_seconds * 1000:,.0f} ms CPU.",
        ]
    )
