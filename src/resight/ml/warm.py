"""What the long-lived scorer remembers from one cycle to the next, so that a cycle does only the
work its changes require while producing exactly what a cycle from scratch would:

- `Predictions`: each product's feature row and prediction. A product whose row is bit-for-bit
  the same (NaN equal to NaN) under the same model keeps its prediction — a tree model's output
  for a row depends on that row alone — and only the others go through the model.
- `WrittenScores`: the ml_scores rows as this process last wrote them, so that only rows whose
  values differ are written. All rows are rewritten when the IST-hour bucket changes, which keeps
  every row's computed_at inside the bucket the current features were built for (what-if
  rebuilds a product's features as of its row's computed_at; ml/snapshots.py builds features as
  of the bucket's start).

The state belongs to the process holding the scorer lock; the worker drops it whenever a cycle
fails or the lock was lost in between (another process may have written ml_scores meanwhile).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from resight.ml.feature_cache import FeatureCache
from resight.ml.features import Floats, Ints
from resight.ml.registry import LoadedModel
from resight.ml.rule_candidates import FactorCache
from resight.ml.snapshots import bucket_floor
from resight.rules.engine import Ranking

Bools = npt.NDArray[np.bool_]


def align(old_ids: Ints, new_ids: Ints) -> tuple[Ints, Bools]:
    """Index into `old_ids` (ascending) of each new id, and whether it is there at all."""
    if old_ids.shape == new_ids.shape and np.array_equal(old_ids, new_ids):  # the usual cycle
        return np.arange(len(new_ids)), np.ones(len(new_ids), dtype=bool)
    position = np.searchsorted(old_ids, new_ids)
    safe = np.minimum(position, max(len(old_ids) - 1, 0))
    found = (position < len(old_ids)) & (old_ids[safe] == new_ids) if len(old_ids) else safe < 0
    return safe, found


def same_floats(a: Floats, b: Floats) -> Bools:
    same: Bools = (a == b) | (np.isnan(a) & np.isnan(b))
    return same


@dataclass
class Predictions:
    version: str | None = None
    product_ids: Ints = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    rows: Floats = field(default_factory=lambda: np.empty((0, 0)))
    expected: Floats = field(default_factory=lambda: np.empty(0))
    reused: int = 0  # predictions taken from the last cycle, in the last cycle (for benchmarks)

    def predict(self, model: LoadedModel, product_ids: Ints, x: Floats) -> Floats:
        """model.predict(x), predicting only rows that differ from the ones seen last cycle."""
        ascending = bool(np.all(np.diff(product_ids) > 0))
        if self.version != model.version or not ascending or self.rows.shape[1:] != x.shape[1:]:
            expected = model.predict(x)
            self.reused = 0
        else:
            if np.array_equal(self.product_ids, product_ids):  # the usual cycle: compare in place
                # (copying the matrix through an index first cost 0.1-0.6 s of page faults at 1M)
                same = same_floats(self.rows, x).all(axis=1)
                last_expected = self.expected
            else:
                index, found = align(self.product_ids, product_ids)
                same = found & same_floats(self.rows[index], x).all(axis=1)
                last_expected = self.expected[index]
            expected = np.empty(len(x), dtype=np.float64)
            expected[same] = last_expected[same]
            redo = np.flatnonzero(~same)
            if len(redo):
                expected[redo] = model.predict(x[redo])
            self.reused = int(same.sum())
        if ascending:
            self.version, self.product_ids, self.rows, self.expected = model.version, product_ids, x, expected
        else:
            self.version = None
        return expected


@dataclass(frozen=True)
class ScoreTable:
    """ml_scores as a cycle leaves it, sorted by product id. Rank 0 means not ranked (a rule
    removed it); a NaN sort key means pinned or not ranked; previous is the rank the product had
    in the cycle before (0: none)."""

    version: str
    computed_at: dt.datetime
    product_ids: Ints
    scores: Floats
    ranks: Ints
    previous: Ints
    sort_keys: Floats
    rules: dict[int, list[int]]  # the few products whose place a rule changed

    def __len__(self) -> int:
        return len(self.product_ids)

    @staticmethod
    def build(
        version: str,
        now: dt.datetime,
        sorted_ids: Ints,
        scores: Floats,
        ranking: Ranking,
        rules: dict[int, list[int]],
        positions: Ints | None = None,
    ) -> ScoreTable:
        """`positions`, if known, is each ranking entry's index in `sorted_ids`."""
        at = np.searchsorted(sorted_ids, ranking.product_ids) if positions is None else positions
        ranks = np.zeros(len(sorted_ids), dtype=np.int64)
        ranks[at] = np.arange(1, len(ranking) + 1)
        sort_keys = np.full(len(sorted_ids), np.nan)
        free = ~ranking.pinned
        sort_keys[at[free]] = ranking.scores[free]
        previous = np.zeros(len(sorted_ids), dtype=np.int64)
        return ScoreTable(version, now, sorted_ids, scores, ranks, previous, sort_keys, rules)

    def with_previous(self, old_ids: Ints, old_ranks: Ints) -> ScoreTable:
        index, found = align(old_ids, self.product_ids)
        previous = np.where(found, old_ranks[index] if len(old_ids) else 0, 0).astype(np.int64)
        return replace(self, previous=previous)

    def differs_from(self, old: ScoreTable) -> Bools:
        """Per row: must it be written to turn the stored `old` into this table?"""
        if self.version != old.version or bucket_floor(self.computed_at) != bucket_floor(old.computed_at):
            return np.ones(len(self), dtype=bool)
        index, found = align(old.product_ids, self.product_ids)
        same = (
            found
            & (old.scores[index] == self.scores)
            & (old.ranks[index] == self.ranks)
            & (old.previous[index] == self.previous)
            & same_floats(old.sort_keys[index], self.sort_keys)
        )
        ruled = set(self.rules) | set(old.rules)
        if ruled:
            ids = np.array(sorted(ruled), dtype=np.int64)
            differ = [old.rules.get(pid) != self.rules.get(pid) for pid in ids.tolist()]
            rows = np.searchsorted(self.product_ids, ids)
            ok = (rows < len(self)) & (self.product_ids[np.minimum(rows, len(self) - 1)] == ids)
            same[rows[ok & np.array(differ, dtype=bool)]] = False
        differs: Bools = ~same
        return differs


@dataclass
class WrittenScores:
    table: ScoreTable | None = None
    rows_written: int = 0  # rows that differed in the last cycle (for benchmarks)
    bulk: bool = False  # whether the last cycle took the bulk path (ml/score_writes.py)

    def remember(self, table: ScoreTable, rows_written: int, bulk: bool = False) -> None:
        self.table, self.rows_written, self.bulk = table, rows_written, bulk


@dataclass
class ScoringState:
    """One scorer's memory between cycles; `generation` ties it to one holding of the lock."""

    generation: int = 0
    predictions: Predictions = field(default_factory=Predictions)
    written: WrittenScores = field(default_factory=WrittenScores)
    candidates: FactorCache = field(default_factory=FactorCache)  # the rules' factorised strings
    features: FeatureCache = field(default_factory=FeatureCache)  # the frame, kept up to date
