"""One scoring cycle: features of every active product → predict → rules → rank → ml_scores.

Score meaning: expected orders in the next 24 hours (the model's Poisson mean). The ranking is by
expected GMV = expected orders × selling price (RESIGHT_RANK_BY=orders ranks by orders instead),
then adjusted by the merchandising rules (rules/engine.py). All products go through in one
vectorised pass; `previous_rank` keeps the last cycle's rank.

The long-lived scorer passes a `ScoringState` (ml/warm.py) from cycle to cycle: products whose
feature row is bit-for-bit the one scored last time keep their prediction, and only the ml_scores
rows whose values changed are written. Without a state (tests, a first cycle) everything is
predicted and written; both paths give the same table (tests/ml/test_incremental.py).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session

from resight.bulksql import Bulk
from resight.catalog.models import ListingStatus, Product
from resight.ml.features import Floats, Ints, RawFrame, encode
from resight.ml.history import record_cycle
from resight.ml.models import MlScore
from resight.ml.registry import LoadedModel
from resight.ml.snapshots import current_frame, fetch_raw
from resight.ml.warm import ScoreTable, ScoringState, WrittenScores
from resight.rules.candidates import normalise_category, normalise_key
from resight.rules.engine import Candidates, Ranking, apply_rules
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


def in_stock(frame: RawFrame) -> np.ndarray:
    return np.isnan(frame.stock) | (frame.stock > 0)


def _factorise(values: np.ndarray, normalise: Callable[[str], str]) -> tuple[np.ndarray, tuple[str, ...]]:
    """Codes into a vocabulary of normalised labels; Python touches each distinct label once."""
    uniques, inverse = np.unique(values.astype(str), return_inverse=True)
    index: dict[str, int] = {}
    remap = np.array([index.setdefault(normalise(str(u)), len(index)) for u in uniques], dtype=np.int32)
    codes = remap[inverse.reshape(-1)] if len(values) else np.empty(0, dtype=np.int32)
    return codes, tuple(index)


def candidates_of(frame: RawFrame, keys: Floats) -> Candidates:
    """The rules engine's input, factorised with the engine's own normalisation of labels."""
    marketplace_codes, marketplaces = _factorise(frame.marketplace, normalise_key)
    brand_codes, brands = _factorise(frame.brand, normalise_key)
    category_codes, categories = _factorise(frame.category, normalise_category)
    return Candidates(
        product_ids=frame.product_id,
        scores=np.asarray(keys, dtype=np.float64),
        in_stock=in_stock(frame),
        marketplace_codes=marketplace_codes,
        marketplaces=marketplaces,
        brand_codes=brand_codes,
        brands=brands,
        category_codes=category_codes,
        categories=categories,
    )


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
    frame = current_frame(session, now)
    x = encode(frame, model.spec)
    clock.lap("features")
    if state is None:
        expected = model.predict(x)
    else:
        expected = state.predictions.predict(model, frame.product_id, x)
    clock.lap("predict")
    keys = ranking_key(expected, frame.price, rank_by)
    ranking = apply_rules(candidates_of(frame, keys), active_rule_specs(session, now), now)
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
    and only products that left the active catalogue are deleted; otherwise every row is."""
    order = np.argsort(product_ids)
    sorted_ids = product_ids[order]
    table = ScoreTable.build(version, now, sorted_ids, expected[order], ranking, touched_rules(ranking))
    old = written.table if written is not None else None
    if old is None:
        table = table.with_previous(*_stored_ranks(session))
        write = np.ones(len(table), dtype=bool)
    else:
        table = table.with_previous(old.product_ids, old.ranks)
        write = table.differs_from(old)
    _write_rows(session, table, write)
    record_cycle(session, now, version, sorted_ids, expected[order], table.ranks)  # change points only
    if old is None:  # products no longer active leave the ranking
        session.execute(
            delete(MlScore).where(
                MlScore.product_id.in_(select(Product.id).where(Product.status != ListingStatus.active))
            )
        )
    else:
        gone = old.product_ids[~np.isin(old.product_ids, sorted_ids)].tolist()
        for start in range(0, len(gone), 10_000):  # below SQLite's limit on bound parameters
            session.execute(delete(MlScore).where(MlScore.product_id.in_(gone[start : start + 10_000])))
    if written is not None:
        written.remember(table, int(write.sum()))
    moved = table.ranks != table.previous
    changed: list[int] = table.product_ids[moved][:1000].tolist()
    return changed


def _stored_ranks(session: Session) -> tuple[Ints, Ints]:
    """(product ids ascending, rank or 0) of every ml_scores row."""
    rows = fetch_raw(session, select(MlScore.product_id, MlScore.rank).order_by(MlScore.product_id))
    data = np.array(rows, dtype=np.float64).reshape(len(rows), 2)  # a rank of None becomes NaN
    return data[:, 0].astype(np.int64), np.nan_to_num(data[:, 1], nan=0.0).astype(np.int64)


_UPSERT = (
    "INSERT INTO ml_scores (product_id, score, rank, previous_rank, model_version, computed_at, "
    "sort_key, rules_applied) VALUES (?, ?, ?, ?, ?, ?, ?, NULL) ON CONFLICT (product_id) DO UPDATE SET "
    "score = excluded.score, rank = excluded.rank, previous_rank = excluded.previous_rank, "
    "model_version = excluded.model_version, computed_at = excluded.computed_at, "
    "sort_key = excluded.sort_key, rules_applied = NULL"
)


def _write_rows(session: Session, table: ScoreTable, write: npt.NDArray[np.bool_]) -> None:
    """Upsert the selected rows in plain SQL (SQLAlchemy's per-row parameter processing cost more
    than the database), then set rules_applied on the few written rows that carry rules."""
    index = np.flatnonzero(write)
    if len(index) == 0:
        return
    bulk = Bulk(session)
    computed_at = bulk.time(table.computed_at)
    ranks = [r or None for r in table.ranks[index].tolist()]
    previous = [r or None for r in table.previous[index].tolist()]
    keys = [None if k != k else k for k in table.sort_keys[index].tolist()]
    rows = list(
        zip(
            table.product_ids[index].tolist(),
            table.scores[index].tolist(),
            ranks,
            previous,
            [table.version] * len(index),
            [computed_at] * len(index),
            keys,
            strict=True,
        )
    )
    bulk.executemany(_UPSERT, rows)
    written_ids = set(table.product_ids[index].tolist())
    rules = {pid: ids for pid, ids in table.rules.items() if pid in written_ids}
    if rules:
        columns = MlScore.__table__.c
        session.execute(
            update(MlScore.__table__)  # type: ignore[arg-type]
            .where(columns.product_id == bindparam("pid"))
            .values(rules_applied=bindparam("ids")),
            [{"pid": pid, "ids": ids} for pid, ids in rules.items()],
        )
