"""Score and rank history as change points: a product's point is written when its rank or score
moved materially since its last recorded point, plus one checkpoint per product per IST day.

Writing every product every 30-second cycle would be 288 million rows a day at 100,000 products;
change points keep what a chart needs (docs/decisions/0901-score-history.md). The decision is one
vectorised comparison against each product's last recorded values, which the long-lived scorer
keeps in memory and re-reads from the table when it starts cold or finds the table moved on.
"""

from __future__ import annotations

import datetime as dt
import threading
import weakref
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from resight.bulksql import Bulk
from resight.catalog.models import Product
from resight.errors import NotFound
from resight.ml.models import MlScoreHistory

IST_OFFSET_SECONDS = 5 * 3600 + 1800
DAY_SECONDS = 86_400
DEFAULT_RETENTION = dt.timedelta(days=90)


@dataclass(frozen=True)
class HistoryPolicy:
    # A rank move counts when |Δrank| ≥ max(1, rank_step × last rank): every move near the top,
    # only sizeable ones further down, where ranks shuffle by tens from cycle to cycle.
    rank_step: float = 0.01
    # A score move counts when |Δscore| > score_step × |last score| and more than score_floor
    # expected orders (near-zero scores wobble by large ratios that mean nothing).
    score_step: float = 0.05
    score_floor: float = 1e-3
    # Daily checkpoints written per cycle at most, best ranked first: at 100,000 products the day's
    # checkpoints spread over ten cycles instead of one slow one.
    checkpoint_budget: int = 10_000


DEFAULT_POLICY = HistoryPolicy()


@dataclass
class LastPoints:
    """Each product's last recorded point, sorted by product id; rank NaN means not ranked."""

    product_ids: np.ndarray
    scores: np.ndarray
    ranks: np.ndarray
    ist_days: np.ndarray

    @classmethod
    def empty(cls) -> LastPoints:
        return cls(np.empty(0, np.int64), np.empty(0), np.empty(0), np.empty(0, np.int64))

    def merge(self, product_ids: np.ndarray, scores: np.ndarray, ranks: np.ndarray, ist_day: int) -> None:
        """Make the given points the last ones of their products."""
        keep = ~np.isin(self.product_ids, product_ids, assume_unique=True)
        ids = np.concatenate([self.product_ids[keep], product_ids])
        order = np.argsort(ids, kind="stable")
        self.product_ids = ids[order]
        self.scores = np.concatenate([self.scores[keep], scores])[order]
        self.ranks = np.concatenate([self.ranks[keep], ranks])[order]
        days = np.full(len(product_ids), ist_day, dtype=np.int64)
        self.ist_days = np.concatenate([self.ist_days[keep], days])[order]


def ist_day(moment: dt.datetime) -> int:
    """Days since the epoch, counted in IST (a new day starts at 18:30 UTC)."""
    return (int(moment.timestamp()) + IST_OFFSET_SECONDS) // DAY_SECONDS


def ist_day_start(moment: dt.datetime) -> dt.datetime:
    return dt.datetime.fromtimestamp(ist_day(moment) * DAY_SECONDS - IST_OFFSET_SECONDS, dt.UTC)


def as_rank_floats(ranks: np.ndarray) -> np.ndarray:
    """Ranks as floats with NaN for not ranked (0, as the scoring cycle marks it)."""
    values = np.asarray(ranks, dtype=np.float64)
    return np.where(values > 0, values, np.nan)


def points_to_record(
    last: LastPoints,
    product_ids: np.ndarray,
    scores: np.ndarray,
    ranks: np.ndarray,
    today: int,
    policy: HistoryPolicy = DEFAULT_POLICY,
) -> np.ndarray:
    """Which of this cycle's products get a point: a boolean mask over product_ids. `ranks` are
    floats with NaN for not ranked (as_rank_floats)."""
    count = len(last.product_ids)
    if count == len(product_ids) and np.array_equal(last.product_ids, product_ids):  # the usual cycle
        known = np.ones(count, dtype=bool)
        last_scores, last_ranks, last_days = last.scores, last.ranks, last.ist_days
    elif count:
        at = np.minimum(np.searchsorted(last.product_ids, product_ids), count - 1)
        known = last.product_ids[at] == product_ids
        last_scores = np.where(known, last.scores[at], np.nan)
        last_ranks = np.where(known, last.ranks[at], np.nan)
        last_days = np.where(known, last.ist_days[at], -1)
    else:
        known = np.zeros(len(product_ids), dtype=bool)
        last_scores = last_ranks = np.full(len(product_ids), np.nan)
        last_days = np.full(len(product_ids), -1, dtype=np.int64)

    with np.errstate(invalid="ignore"):
        rank_delta = np.abs(ranks - last_ranks)
        rank_moved = rank_delta >= np.maximum(1.0, policy.rank_step * last_ranks)  # False where NaN
        ranked_changed = np.isnan(ranks) != np.isnan(last_ranks)
        score_delta = np.abs(scores - last_scores)
        score_moved = score_delta > np.maximum(policy.score_step * np.abs(last_scores), policy.score_floor)
    changed = known & (rank_moved | ranked_changed | score_moved)

    due = ~changed & (~known | (last_days < today))
    candidates = np.flatnonzero(due)
    if len(candidates) > policy.checkpoint_budget:
        by_rank = np.where(np.isnan(ranks[candidates]), np.inf, ranks[candidates])
        candidates = candidates[np.argsort(by_rank, kind="stable")[: policy.checkpoint_budget]]
    record: np.ndarray = changed.copy()
    record[candidates] = True
    return record


@dataclass
class _Memory:
    last: LastPoints
    # The newest computed_at this memory knows the table holds; a table whose newest point differs
    # (a rolled-back cycle, another scorer after a failover, pruning) makes the memory reload.
    watermark: dt.datetime | None
    lock: threading.Lock


# A cache per database, not state: every use checks it against the table first.
_memories: weakref.WeakKeyDictionary[Engine, _Memory] = weakref.WeakKeyDictionary()
_memories_lock = threading.Lock()


def _engine_of(session: Session) -> Engine:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


def newest_point_at(session: Session) -> dt.datetime | None:
    return session.scalar(select(func.max(MlScoreHistory.computed_at)))


def load_last_points(session: Session, since: dt.datetime) -> LastPoints:
    """Each product's newest point at or after `since` (older ones are due a checkpoint anyway)."""
    h = MlScoreHistory
    newest = (
        select(h.product_id, func.max(h.computed_at).label("at"))
        .where(h.computed_at >= since)
        .group_by(h.product_id)
        .subquery()
    )
    rows = session.execute(
        select(h.product_id, h.score, h.rank, h.computed_at)
        .join(newest, (h.product_id == newest.c.product_id) & (h.computed_at == newest.c.at))
        .order_by(h.product_id)
    ).all()
    if not rows:
        return LastPoints.empty()
    ids, scores, ranks, times = zip(*rows, strict=True)
    return LastPoints(
        product_ids=np.asarray(ids, dtype=np.int64),
        scores=np.asarray(scores, dtype=np.float64),
        ranks=np.asarray([np.nan if r is None else r for r in ranks], dtype=np.float64),
        ist_days=np.asarray([ist_day(t) for t in times], dtype=np.int64),
    )


_INSERT_POINT = (
    "INSERT INTO ml_score_history (product_id, computed_at, score, rank, model_version) "
    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (product_id, computed_at) DO NOTHING"
)


def record_cycle(
    session: Session,
    computed_at: dt.datetime,
    model_version: str,
    product_ids: np.ndarray,
    scores: np.ndarray,
    ranks: np.ndarray,
    policy: HistoryPolicy = DEFAULT_POLICY,
) -> int:
    """Record this cycle's change points (and due checkpoints) in the caller's transaction.

    `ranks` are ints aligned with product_ids, 0 for not ranked. Returns the points written."""
    product_ids = np.asarray(product_ids, dtype=np.int64)
    scores = np.asarray(scores, dtype=np.float64)
    rank_values = as_rank_floats(ranks)
    engine = _engine_of(session)
    with _memories_lock:
        memory = _memories.get(engine)
        if memory is None:
            memory = _memories[engine] = _Memory(LastPoints.empty(), None, threading.Lock())
    with memory.lock:
        newest = newest_point_at(session)
        if newest is None or newest != memory.watermark:
            since = ist_day_start(computed_at) - dt.timedelta(days=1)
            memory.last = load_last_points(session, since) if newest is not None else LastPoints.empty()
            memory.watermark = newest
        record = points_to_record(memory.last, product_ids, scores, rank_values, ist_day(computed_at), policy)
        if not record.any():
            return 0
        ids, values, rank_kept = product_ids[record], scores[record], rank_values[record]
        bulk = Bulk(session)  # plain SQL: SQLAlchemy's per-row processing cost more than SQLite
        at = bulk.time(computed_at)
        rows = [
            (pid, at, score, None if rank != rank else int(rank), model_version)
            for pid, score, rank in zip(ids.tolist(), values.tolist(), rank_kept.tolist(), strict=True)
        ]
        bulk.executemany(_INSERT_POINT, rows)
        memory.last.merge(ids, values, rank_kept, ist_day(computed_at))
        if memory.watermark is None or computed_at >= memory.watermark:
            memory.watermark = computed_at
        return len(rows)


def prune_history(session: Session, now: dt.datetime, retention: dt.timedelta = DEFAULT_RETENTION) -> int:
    """Delete points older than the retention; a seek on the computed_at index when none are due."""
    result = session.execute(delete(MlScoreHistory).where(MlScoreHistory.computed_at < now - retention))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def history_page(
    session: Session,
    product_id: int,
    start: dt.datetime | None,
    end: dt.datetime | None,
    limit: int,
    before: dt.datetime | None = None,
) -> list[MlScoreHistory]:
    """Up to limit + 1 points of one product, newest first (the extra one tells a next page exists)."""
    if session.get(Product, product_id) is None:
        raise NotFound(f"product {product_id} not found")
    h = MlScoreHistory
    query = select(h).where(h.product_id == product_id)
    if start is not None:
        query = query.where(h.computed_at >= start)
    if end is not None:
        query = query.where(h.computed_at <= end)
    if before is not None:
        query = query.where(h.computed_at < before)
    return list(session.scalars(query.order_by(h.computed_at.desc()).limit(limit + 1)))
