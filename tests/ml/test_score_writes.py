"""The bulk path of ml_scores writes (ml/score_writes.py: indexes rebuilt on SQLite, COPY on
PostgreSQL) and the scorer's cached factorisation of the rules' strings (ml/rule_candidates.py)
must never change the outcome: the same table, the same indexes, the same ranking."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest
from sqlalchemy import inspect
from sqlalchemy.orm import Session

from resight.catalog.models import ListingStatus
from resight.db import utcnow
from resight.ml import score_writes
from resight.ml.rule_candidates import FactorCache, candidates_of
from resight.ml.scoring import run_cycle
from resight.ml.snapshots import current_frame
from resight.ml.warm import ScoreTable, ScoringState
from resight.rules.engine import apply_rules
from resight.rules.models import Rule, RuleKind, RuleScope
from resight.rules.service import active_rule_specs
from tests.ml.conftest import Trained, score_table


def _indexes(db: Session) -> list[tuple[str | None, tuple[Any, ...]]]:
    found = inspect(db.connection()).get_indexes("ml_scores")
    return sorted((index["name"], tuple(index["column_names"])) for index in found)


def _take_bulk_path(monkeypatch: pytest.MonkeyPatch, bulk: bool) -> None:
    monkeypatch.setattr(score_writes, "MIN_REBUILD_ROWS", 0 if bulk else 10**9)
    monkeypatch.setattr(score_writes, "REBUILD_SHARE", 0.0 if bulk else 2.0)
    monkeypatch.setattr(score_writes, "MIN_COPY_ROWS", 0 if bulk else 10**9)


def _row_upserts_then_bulk(
    db: Session, trained: Trained, state: ScoringState, now: dt.datetime, monkeypatch: pytest.MonkeyPatch
) -> dict[int, tuple[Any, ...]]:
    """A cycle from scratch by row upserts (rolled back), then the scorer's cycle by the bulk
    path on the same data; asserts equal tables and returns the table."""
    model = trained.store.serving(db)
    assert model is not None
    savepoint = db.begin_nested()
    _take_bulk_path(monkeypatch, bulk=False)
    run_cycle(db, model, now)
    by_rows = score_table(db)
    savepoint.rollback()
    _take_bulk_path(monkeypatch, bulk=True)
    run_cycle(db, model, now, state=state)
    assert state.written.bulk == (state.written.rows_written > 0)
    by_bulk = score_table(db)
    assert by_bulk == by_rows
    return by_bulk


def test_bulk_writes_leave_what_row_upserts_leave(
    db: Session, trained: Trained, monkeypatch: pytest.MonkeyPatch
) -> None:
    products = trained.world.products
    indexes = _indexes(db)
    assert ("ix_ml_scores_rank", ("rank",)) in indexes
    state = ScoringState()
    start = trained.now
    model = trained.store.serving(db)
    assert model is not None
    _take_bulk_path(monkeypatch, bulk=True)
    run_cycle(db, model, start)  # from scratch, no memory: every row by the bulk path
    assert len(score_table(db)) == len(products)
    assert _indexes(db) == indexes

    _row_upserts_then_bulk(db, trained, state, start + dt.timedelta(minutes=1), monkeypatch)
    # A price cut, a pin, a boost, a product leaving: ranks shift, rules apply, a row goes.
    cheap, pinned, leaving = products[4], products[7], products[9]
    assert cheap.price_paise is not None
    cheap.price_paise //= 4
    cheap.updated_at = utcnow()
    leaving.status = ListingStatus.inactive
    leaving.updated_at = utcnow()
    db.add(Rule(kind=RuleKind.pin, scope=RuleScope.product, scope_value=str(pinned.id), position=1))
    db.add(Rule(kind=RuleKind.boost, scope=RuleScope.brand, scope_value="Puma", strength=0.5))
    db.flush()
    table = _row_upserts_then_bulk(db, trained, state, start + dt.timedelta(minutes=2), monkeypatch)
    assert state.written.rows_written > 0
    assert leaving.id not in table
    assert table[pinned.id][1] == 1
    assert table[pinned.id][3] is None
    assert table[pinned.id][4]  # the rules that placed it
    assert any(row[4] for pid, row in table.items() if pid != pinned.id)  # boosted ones
    # An hour later every row is written again (computed_at moves to the new bucket).
    _row_upserts_then_bulk(db, trained, state, start + dt.timedelta(hours=1), monkeypatch)
    assert state.written.rows_written == len(products) - 1
    assert _indexes(db) == indexes  # rebuilt from the metadata, the same as the migrations made


def _scores(count: int) -> ScoreTable:
    ids = np.arange(1, count + 1, dtype=np.int64)
    return ScoreTable("v", utcnow(), ids, np.zeros(count), ids, ids, ids.astype(np.float64), {})


def test_bulk_path_is_chosen_by_the_number_of_rows_written() -> None:
    table = _scores(100_000)
    ids = table.product_ids
    few = np.zeros(len(ids), dtype=bool)
    few[: int(len(ids) * score_writes.REBUILD_SHARE) - 1] = True
    assert not score_writes.bulk_write(table, few, sqlite=True)
    many = few.copy()
    many[: int(len(ids) * score_writes.REBUILD_SHARE) + 1] = True
    assert score_writes.bulk_write(table, many, sqlite=True)
    small = _scores(100)
    assert not score_writes.bulk_write(small, np.ones(100, dtype=bool), sqlite=True)  # below the minimum
    copies = np.zeros(len(ids), dtype=bool)
    copies[: score_writes.MIN_COPY_ROWS] = True
    assert score_writes.bulk_write(table, copies, sqlite=False)  # PostgreSQL: COPY from a few thousand
    copies[0] = False
    assert not score_writes.bulk_write(table, copies, sqlite=False)


def test_cached_factorisation_ranks_as_a_fresh_one(db: Session, trained: Trained) -> None:
    """Reused codes, then a brand edit, a new category and a product leaving: each ranking equals
    the one built without the cache."""
    products = trained.world.products
    db.add(Rule(kind=RuleKind.boost, scope=RuleScope.brand, scope_value="Biba", strength=0.8))
    db.add(Rule(kind=RuleKind.demote, scope=RuleScope.category, scope_value="Footwear", strength=0.5))
    db.add(Rule(kind=RuleKind.remove, scope=RuleScope.marketplace, scope_value="myntra"))
    db.flush()
    cache = FactorCache()
    now = trained.now

    def both() -> None:
        frame = current_frame(db, now)
        keys = np.linspace(1.0, 2.0, len(frame))
        rules = active_rule_specs(db, now)
        fresh = apply_rules(candidates_of(frame, keys), rules, now)
        cached = apply_rules(candidates_of(frame, keys, cache), rules, now)
        assert fresh.product_ids.tolist() == cached.product_ids.tolist()
        assert fresh.scores.tolist() == cached.scores.tolist()
        assert fresh.removed_ids.tolist() == cached.removed_ids.tolist()
        assert touched(fresh) == touched(cached)

    def touched(ranking: Any) -> list[list[int]]:
        positions, rule_ids = ranking.rule_pairs()
        return [positions.tolist(), rule_ids.tolist()]

    both()
    first = cache.brand.codes
    both()
    assert cache.brand.codes is first  # unchanged column: reused
    products[3].brand = "Biba"
    products[5].category = "Footwear > Sandals"
    products[6].status = ListingStatus.inactive
    db.flush()
    both()
    assert cache.brand.codes is not first
    assert not cache.brand.codes.flags.writeable  # shared with the next cycle
