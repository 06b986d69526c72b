"""One scoring cycle: features of every active product → predict → rules → rank → ml_scores.

Score meaning: expected orders in the next 24 hours (the model's Poisson mean). The ranking is by
expected GMV = expected orders × selling price (RESIGHT_RANK_BY=orders ranks by orders instead),
then adjusted by the merchandising rules (rules/engine.py). All products go through in one
vectorised pass; `previous_rank` keeps the last cycle's rank.

The long-lived scorer passes a `ScoringState` (ml/warm.py) from cycle to cycle: products whose
feature row is bit-for-bit the one scored last time keep their prediction, and only the ml_scores
rows whose values changed are written. Without a state (tests, a first cycle) everything is
predicted, and the stored rows are read to write the same rows the memory would
(ml/score_writes.py `stored_scores`); both paths give the same table
(tests/ml/test_incremental.py, tests/ml/test_score_writes.py).
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Literal

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from resight.ml import score_writes
from resight.ml.features import Floats, Ints, RawFrame, encode
from resight.ml.history import record_cycle
from resight.ml.models import MlScore
from resight.ml.present import current_frame
from resight.ml.registry import LoadedModel
from resight.ml.rule_candidates import candidates_of as candidates_of  # whatif.py uses it from here
from resight.ml.snapshots import fetch_raw, packed_columns, unpack_columns
from resight.ml.warm import ScoreTable, ScoringState, WrittenScores
from resight.rules.engine import Ranking, apply_rules
from resight.rules.service import active_rule_specs

RankBy = Literal["gmv", "orders"]


@dataclass(frozen=True)
class CycleResult:
    model_version: str
    computed_at: dt.datetime
    scored: int
    ranked: int
    removed: int
    changed_ids: list[int]  # products whose rank moved (capped; for the realtime hub)


def ranking_key(expected_orders: Floats, price_rupees: Floats, rank_by: RankBy) -> Floats:
    """What the ranking orders by before rules: expected GMV (₹) or expected orders."""
    if rank_by == "orders":
        return expected_orders
    key: Floats = np.where(np.isnan(price_rupees), 0.0, expected_orders * price_rupees)
    return key


def touched_rules(ranking: Ranking) -> dict[int, list[int]]:
    """Rules per ranked product, for the products whose place a rule changed (pinned, or a score
    moved by a boost or demote) — checking only those keeps this off the per-product path."""
    touched = ranking.pinned | (ranking.scores != ranking.model_scores)
    positions, rule_ids = ranking.rule_pairs()  # sorted by position, then rule id
    keep = touched[positions]
    positions, rule_ids = positions[keep], rule_ids[keep]
    if positions.size == 0:
        return {}
    starts = np.flatnonzero(np.r_[True, positions[1:] != positions[:-1]])
    bounds = np.r_[starts, positions.size].tolist()
    ids = rule_ids.tolist()
    product_ids = ranking.product_ids[positions[starts]].tolist()
    return {product_id: ids[bounds[k] : bounds[k + 1]] for k, product_id in enumerate(product_ids)}


def score_frame(model: LoadedModel, frame: RawFrame) -> Floats:
    return model.predict(encode(frame, model.spec))


def run_cycle(
    session: Session,
    model: LoadedModel,
    now: dt.datetime,
    rank_by: RankBy = "gmv",
    timings: dict[str, float] | None = None,
    state: ScoringState | None = None,
) -> CycleResult:
    """One cycle in the caller's transaction (it only flushes). `timings`, if given, receives the
    seconds spent in each stage (features, predict, rules, persist). `state`, if given, is this
    process's memory of the previous cycle; the caller must drop it if the transaction fails."""
    clock = _Stopwatch(timings)
    if state is None:
        frame = current_frame(session, now)
        x = encode(frame, model.spec)
    else:
        frame, x = state.features.encoded(session, now, model.spec)
    clock.lap("features")
    if state is None:
        expected = model.predict(x)
    else:
        expected = state.predictions.predict(model, frame.product_id, x)
    clock.lap("predict")
    keys = ranking_key(expected, frame.price, rank_by)
    factors = state.candidates if state is not None else None
    ranking = apply_rules(candidates_of(frame, keys, factors), active_rule_specs(session, now), now)
    clock.lap("rules")
    written = state.written if state is not None else None
    changed = persist(session, model.version, now, frame.product_id, expected, ranking, written)
    session.flush()
    clock.lap("persist")
    return CycleResult(
        model_version=model.version,
        computed_at=now,
        scored=len(frame),
        ranked=len(ranking),
        removed=len(ranking.removed_ids),
        changed_ids=changed,
    )


class _Stopwatch:
    def __init__(self, timings: dict[str, float] | None) -> None:
        self._timings = timings
        self._last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        if self._timings is not None:
            self._timings[stage] = self._timings.get(stage, 0.0) + now - self._last
        self._last = now


def persist(
    session: Session,
    version: str,
    now: dt.datetime,
    product_ids: Ints,
    expected: Floats,
    ranking: Ranking,
    written: WrittenScores | None = None,
) -> list[int]:
    """Bring ml_scores to this cycle's values; returns up to 1,000 products whose rank changed.

    With `written` holding what this process wrote last cycle, only rows that differ are written
    and only products that left the active catalogue are deleted; otherwise every row is. When
    many rows must be written they take a bulk path (ml/score_writes.py)."""
    # The ranking's entries index the candidates, i.e. `product_ids`; their places in the table
    # follow from the sort order without a search (the frame usually comes sorted already).
    ascending = len(product_ids) < 2 or bool(np.all(product_ids[1:] > product_ids[:-1]))
    order = np.arange(len(product_ids)) if ascending else np.argsort(product_ids, kind="stable")
    place = np.empty_like(order)
    place[order] = np.arange(len(order))
    sorted_ids = product_ids[order]
    rules = touched_rules(ranking)
    at = place[ranking.candidate_index]
    table = ScoreTable.build(version, now, sorted_ids, expected[order], ranking, rules, at)
    old = written.table if written is not None else None
    stored = None
    if old is not None:
        table = table.with_previous(old.product_ids, old.ranks)
        write = table.differs_from(old)
    elif (stored := score_writes.stored_scores(session, version, now)) is not None:
        # Without memory, the stored rows stand in for it: the same rows are written as the
        # scorer's memory would write (docs/decisions/0602-score-writes.md).
        table = table.with_previous(stored.product_ids, stored.ranks)
        write = stored.compare(table)
    else:
        table = table.with_previous(*_stored_ranks(session))
        write = np.ones(len(table), dtype=bool)
    bulk = score_writes.write_rows(session, table, write, stored)
    record_cycle(session, now, version, sorted_ids, expected[order], table.ranks)  # change points only
    if old is None:
        score_writes.delete_inactive(session)
    else:
        same = old.product_ids.shape == sorted_ids.shape and np.array_equal(old.product_ids, sorted_ids)
        if not same:
            gone = old.product_ids[~np.isin(old.product_ids, sorted_ids)]
            score_writes.delete_rows(session, gone.tolist())
    if written is not None:
        written.remember(table, int(write.sum()), bulk)
    moved = table.ranks != table.previous
    changed: list[int] = table.product_ids[moved][:1000].tolist()
    return changed


def _stored_ranks(session: Session) -> tuple[Ints, Ints]:
    """(product ids ascending, rank or 0) of every ml_scores row."""
    columns = MlScore.__table__.c
    packed = packed_columns(session, (columns.product_id, func.coalesce(columns.rank, 0)))
    rows = fetch_raw(session, select(*packed))
    data = unpack_columns(rows[0] if rows else (None, None))
    if len(data) > 1 and not bool(np.all(data[1:, 0] > data[:-1, 0])):
        data = data[np.argsort(data[:, 0], kind="stable")]
    return data[:, 0].copy(), data[:, 1].copy()
