"""The bulk path of ml_scores writes (ml/score_writes.py: indexes rebuilt on SQLite, COPY on
PostgreSQL) and the scorer's cached factorisation of the rules' strings (ml/rule_candidates.py)
must never change the outcome: the same table, the same indexes, the same ranking."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest
from sqlalchemy import delete, inspect, update
from sqlalchemy.orm import Session

from resight.catalog.models import ListingStatus
from resight.db import utcnow
from resight.ml import score_writes
from resight.ml.models import MlScore
from resight.ml.present import current_frame
from resight.ml.rule_candidates import FactorCache, candidates_of
from resight.ml.scoring import run_cycle
from resight.ml.snapshots import bucket_floor
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


@pytest.mark.parametrize("path", ["rows", "bulk", "computed_at index rebuilt"])
def test_cycle_without_memory_writes_only_rows_that_differ(
    db: Session, trained: Trained, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    """A cycle from scratch compares ml_scores as stored with its own values and writes only the
    rows that differ (on SQLite rows keeping their rank and sort key by UPDATE, runs of them by
    one statement): it leaves what writing every row leaves, except that a row it does not write
    keeps its computed_at (in the same bucket, as the scorer's memory would keep it)."""
    products = trained.world.products
    model = trained.store.serving(db)
    assert model is not None
    _take_bulk_path(monkeypatch, path == "bulk")
    if path == "computed_at index rebuilt":  # around the rows updated in place
        monkeypatch.setattr(score_writes, "MIN_REBUILD_ROWS", 0)
        monkeypatch.setattr(score_writes, "MOMENT_REBUILD_SHARE", 0.0)
    pinned = products[7]
    db.add(Rule(kind=RuleKind.pin, scope=RuleScope.product, scope_value=str(pinned.id), position=1))
    db.add(Rule(kind=RuleKind.boost, scope=RuleScope.brand, scope_value="Puma", strength=0.5))
    db.flush()
    start = trained.now
    run_cycle(db, model, start)  # fills the table (previous ranks NULL)
    written: list[int] = []
    write_rows = score_writes.write_rows

    def counting(session: Session, table: ScoreTable, write: Any, stored: Any = None) -> bool:
        written.append(int(write.sum()))
        return write_rows(session, table, write, stored)

    def both(now: dt.datetime) -> int:
        """The cycle writing every row (rolled back), then the one writing rows that differ."""
        before = score_table(db, exact=True)
        savepoint = db.begin_nested()
        with monkeypatch.context() as patch:
            patch.setattr(score_writes, "stored_scores", lambda *_: None)  # what it did before
            run_cycle(db, model, now)
        everything = score_table(db, exact=True)
        savepoint.rollback()
        with monkeypatch.context() as patch:
            patch.setattr(score_writes, "write_rows", counting)
            run_cycle(db, model, now)
        only = score_table(db, exact=True)
        assert _indexes(db) == indexes
        assert {pid: row[:-1] for pid, row in only.items()} == {
            pid: row[:-1] for pid, row in everything.items()
        }
        for pid, row in only.items():
            assert row[-1] == now or (row == before[pid] and bucket_floor(row[-1]) == bucket_floor(now))
        assert all(row[-1] == now for row in everything.values())
        return written[-1]

    indexes = _indexes(db)
    assert both(start) == len(products)  # every previous rank was NULL: all in place on SQLite
    assert both(start) == 0  # a restart with nothing changed writes nothing
    assert both(start + dt.timedelta(minutes=5)) == 0  # nor later in the bucket

    # Stored rows that differ in every way, one missing, one of a product that left.
    c = MlScore.__table__.c
    ids = [p.id for p in products]
    earlier = start - dt.timedelta(hours=1)
    changes: list[tuple[int, dict[str, Any]]] = [
        (ids[0], {"score": 123.0}),
        (ids[1], {"rank": 99}),
        (ids[2], {"previous_rank": None}),
        (ids[3], {"sort_key": None}),
        (ids[4], {"model_version": "older"}),
        (ids[5], {"computed_at": earlier}),  # another bucket
        (ids[6], {"computed_at": start + dt.timedelta(minutes=1)}),  # same bucket: kept
        (ids[10], {"rules_applied": [1]}),
        (pinned.id, {"rules_applied": None}),
    ]
    for pid, values in changes:
        db.execute(update(MlScore.__table__).where(c.product_id == pid).values(**values))  # type: ignore[arg-type]
    db.execute(delete(MlScore).where(c.product_id == ids[12]))
    products[13].status = ListingStatus.inactive
    db.flush()
    count = both(start + dt.timedelta(minutes=6))
    assert 8 <= count < len(products)
    assert db.get(MlScore, ids[12]) is not None
    assert db.get(MlScore, products[13].id) is None
    assert both(start + dt.timedelta(minutes=7)) > 0  # previous ranks follow the repaired ranks
    assert both(start + dt.timedelta(minutes=8)) == 0
    # A new bucket: every row is written (computed_at moves on).
    assert both(start + dt.timedelta(hours=1)) == len(products) - 1
