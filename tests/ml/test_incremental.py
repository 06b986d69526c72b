"""The scorer's memory between cycles (ml/warm.py) must never change the outcome: after any change,
a cycle that reuses predictions and writes only changed rows leaves ml_scores exactly as a cycle
from scratch on the same data does."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker

from resight.audit.service import SYSTEM
from resight.catalog.models import HistoryField, ListingStatus, ProductHistory
from resight.config import Settings
from resight.db import utcnow
from resight.events.models import ProductHourlyMetrics
from resight.ml import registry
from resight.ml.feature_cache import FeatureCache
from resight.ml.models import MlScore
from resight.ml.scoring import run_cycle
from resight.ml.snapshots import bucket_floor
from resight.ml.warm import ScoringState
from resight.ml.worker import Scorer
from resight.rules.models import Rule, RuleKind, RuleScope
from tests.ml.conftest import Trained, score_table


def _cold_then_warm(db: Session, trained: Trained, state: ScoringState, now: dt.datetime) -> int:
    """Run a cold cycle (rolled back) and the warm one on the same data; assert equal tables.
    Returns the rows the warm cycle wrote."""
    model = trained.store.serving(db)
    assert model is not None
    savepoint = db.begin_nested()
    run_cycle(db, model, now)
    cold = score_table(db)
    savepoint.rollback()
    run_cycle(db, model, now, state=state)
    warm = score_table(db)
    assert warm == cold
    return state.written.rows_written


def test_incremental_cycles_equal_cycles_from_scratch(db: Session, trained: Trained) -> None:
    products = trained.world.products
    state = ScoringState()
    start = trained.now
    model = trained.store.serving(db)
    assert model is not None
    run_cycle(db, model, start, state=state)  # the first cycle writes everything
    assert state.written.rows_written == len(products)

    # Nothing changed: nothing is predicted again and only rows whose rank moved last cycle
    # (here: all, from no previous rank) are written once more, to record their previous rank.
    assert _cold_then_warm(db, trained, state, start + dt.timedelta(minutes=1)) == len(products)
    assert state.predictions.reused == len(products)
    assert _cold_then_warm(db, trained, state, start + dt.timedelta(minutes=2)) == 0

    # A price change, a product going inactive, a boost, and a late event in a complete bucket.
    cheap, leaving = products[5], products[8]
    assert cheap.price_paise is not None
    cheap.price_paise = cheap.price_paise // 3
    db.execute(
        insert(ProductHistory),
        [
            {
                "product_id": cheap.id,
                "field": HistoryField.price,
                "value_int": cheap.price_paise,
                "event_time": start,
            }
        ],
    )
    leaving.status = ListingStatus.inactive
    db.add(Rule(kind=RuleKind.boost, scope=RuleScope.brand, scope_value="Puma", strength=0.5))
    late = db.get(ProductHourlyMetrics, (products[11].id, bucket_floor(start) - dt.timedelta(hours=1)))
    assert late is not None
    late.views += 500
    late.orders += 9
    products[11].updated_at = utcnow()  # what ingestion does for an event of a closed hour
    db.flush()
    written = _cold_then_warm(db, trained, state, start + dt.timedelta(minutes=3))
    assert 0 < written < len(products)
    assert state.predictions.reused == len(products) - 3  # cheap, late; the boost is not a feature
    assert db.get(MlScore, leaving.id) is None

    # The product comes back; then a new bucket: every row is written (computed_at moves on).
    leaving.status = ListingStatus.active
    db.flush()
    _cold_then_warm(db, trained, state, start + dt.timedelta(minutes=4))
    assert db.get(MlScore, leaving.id) is not None
    assert _cold_then_warm(db, trained, state, start + dt.timedelta(hours=1)) == len(products)


def test_scorer_forgets_its_memory_when_it_lost_the_lock(
    db: Session, trained: Trained, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    scorer = Scorer(db.get_bind().engine, session_factory, trained.store, settings)  # type: ignore[arg-type]
    try:
        assert scorer.cycle(trained.now) is not None
        first = scorer.state
        assert first is not None
        assert first.written.table is not None
        assert scorer.cycle(trained.now + dt.timedelta(minutes=1)) is not None
        assert scorer.state is first  # kept while the lock is held
        scorer.lock.release()  # meanwhile another process may have scored
        assert scorer.cycle(trained.now + dt.timedelta(minutes=2)) is not None
        assert scorer.state is not first
    finally:
        scorer.lock.release()


def test_incremental_features_through_buckets_and_a_new_model(
    db: Session, trained: Trained, settings: Settings
) -> None:
    """The scorer's feature state (ml/feature_cache.py) across a bucket close, skipped hours, a
    late event and a model switch: every warm cycle equals a cycle from scratch."""
    products = trained.world.products
    state = ScoringState(features=FeatureCache(resync_every=dt.timedelta(days=1)))
    moment = bucket_floor(trained.now)
    model = trained.store.serving(db)
    assert model is not None
    run_cycle(db, model, moment + dt.timedelta(minutes=1), state=state)
    db.add(ProductHourlyMetrics(product_id=products[0].id, hour_start=moment, views=90, orders=4, units=4))
    products[1].stock = 0
    db.flush()
    _cold_then_warm(db, trained, state, moment + dt.timedelta(minutes=2))
    _cold_then_warm(db, trained, state, moment + dt.timedelta(hours=1, minutes=1))  # bucket closed
    assert state.features.stats.advanced
    late = db.get(ProductHourlyMetrics, (products[2].id, moment - dt.timedelta(hours=4)))
    assert late is not None
    late.orders += 5
    products[2].updated_at = utcnow()
    db.flush()
    _cold_then_warm(db, trained, state, moment + dt.timedelta(hours=1, minutes=2))
    _cold_then_warm(db, trained, state, moment + dt.timedelta(hours=3, minutes=1))  # hours skipped
    assert state.features.stats.reload is None

    serving = trained.model
    path, sha = registry.write_artifact(Path(settings.models_dir), "second", serving.booster, serving.spec)
    registry.register(
        db,
        SYSTEM,
        version="second",
        artifact=path,
        sha256=sha,
        params={},
        metrics={},
        train_from=trained.now,
        train_to=trained.now,
        fingerprint="-",
    )
    registry.promote(db, SYSTEM, "second")
    db.flush()
    assert trained.store.serving(db) is not None
    _cold_then_warm(db, trained, state, moment + dt.timedelta(hours=3, minutes=2))
    assert state.predictions.version == "second"
    assert state.features.stats.reload is None  # the frame does not depend on the model
