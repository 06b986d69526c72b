from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from resight.catalog.models import ListingStatus
from resight.config import Settings
from resight.events.models import Alert, AlertStatus
from resight.ml import scoring, worker
from resight.ml.models import MlScore
from resight.ml.present import current_frame
from resight.ml.training import train_and_register
from resight.ml.worker import FAILING_KEY, Scorer
from tests.ml.conftest import Trained
from tests.ml.world import SMALL


def _scores(db: Session) -> dict[int, MlScore]:
    db.expire_all()
    return {row.product_id: row for row in db.scalars(select(MlScore))}


def test_cycle_ranks_every_active_product_by_expected_gmv(db: Session, trained: Trained) -> None:
    result = trained.cycle(db)
    assert result.scored == len(trained.world.products)
    scores = _scores(db)
    assert len(scores) == len(trained.world.products)
    frame = current_frame(db, trained.now)
    expected = trained.model.predict(scoring.encode(frame, trained.model.spec))
    gmv = expected * frame.price
    by_rank = sorted(scores.values(), key=lambda s: s.rank or 0)
    assert [s.rank for s in by_rank] == list(range(1, len(scores) + 1))
    order = np.lexsort((frame.product_id, -gmv))
    assert [s.product_id for s in by_rank] == frame.product_id[order].tolist()
    for i, pid in enumerate(frame.product_id.tolist()):
        assert scores[pid].score == pytest.approx(expected[i], rel=1e-12)
        assert scores[pid].model_version == trained.result.model.version
        assert scores[pid].previous_rank is None


def test_second_cycle_keeps_previous_rank_and_drops_inactive(db: Session, trained: Trained) -> None:
    trained.cycle(db)
    first = {pid: s.rank for pid, s in _scores(db).items()}
    top = min(first, key=lambda pid: first[pid] or 0)
    product = next(p for p in trained.world.products if p.id == top)
    product.status = ListingStatus.inactive
    db.flush()
    trained.cycle(db, trained.now + dt.timedelta(minutes=1))
    second = _scores(db)
    assert top not in second
    for pid, row in second.items():
        assert row.previous_rank == first[pid]
        assert row.rank == (first[pid] or 0) - 1  # everyone moves up one place


def test_failing_cycle_keeps_scores_and_alerts(
    db: Session,
    trained: Trained,
    session_factory: sessionmaker[Session],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scorer = Scorer(db.get_bind().engine, session_factory, trained.store, settings)
    request_cleanup = scorer.lock.release
    try:
        _fail_then_recover(db, trained, scorer, monkeypatch)
    finally:
        request_cleanup()


def _fail_then_recover(
    db: Session, trained: Trained, scorer: Scorer, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = scorer.cycle(trained.now)
    assert good is not None
    before = {pid: (s.score, s.rank, s.computed_at) for pid, s in _scores(db).items()}

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(worker, "run_cycle", broken)
    assert scorer.cycle(trained.now + dt.timedelta(minutes=5)) is None
    after = {pid: (s.score, s.rank, s.computed_at) for pid, s in _scores(db).items()}
    assert after == before
    alert = db.scalars(select(Alert).where(Alert.open_key == FAILING_KEY)).one()
    assert "disk on fire" in alert.message
    monkeypatch.undo()
    assert scorer.cycle(trained.now + dt.timedelta(minutes=6)) is not None
    db.expire_all()
    assert db.get(Alert, alert.id).status is AlertStatus.resolved  # type: ignore[union-attr]


def test_corrupt_model_file_keeps_last_good_model(
    db: Session, trained: Trained, settings: Settings, client: TestClient
) -> None:
    client.app.state.model_store = trained.store  # type: ignore[attr-defined]
    good = trained.model.version
    newer = train_and_register(
        db, Path(settings.models_dir), config=SMALL, until=trained.world.end, serving=trained.model
    )
    assert newer.promoted  # same data and settings: not worse
    Path(newer.model.artifact_path).write_text('{"truncated": ')
    assert trained.store.serving(db) is not None
    assert trained.store.current is not None
    assert trained.store.current.version == good
    body = client.get("/").json()
    assert body["status"] == "degraded"
    assert newer.model.version in body["model_problem"]
    assert good in body["model_problem"]
    assert trained.cycle(db).model_version == good


def test_scorer_lock_is_exclusive(db: Session, tmp_path: Path) -> None:
    from sqlalchemy import create_engine

    from resight.ml.lock import ScorerLock

    engine = db.get_bind().engine  # type: ignore[union-attr]
    if engine.dialect.name == "sqlite":
        engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    first, second = ScorerLock(engine), ScorerLock(engine)
    try:
        assert first.acquire()
        assert first.acquire()  # re-entrant for its holder
        assert not second.acquire()
        first.release()
        assert second.acquire()
        assert not first.acquire()
    finally:
        first.release()
        second.release()


def test_close_waits_for_the_cycle_in_flight_and_keeps_the_lock_released(
    db: Session,
    trained: Trained,
    session_factory: sessionmaker[Session],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Shutdown cancels the loop while a cycle may still run in its thread: the lock must stay
    held until that cycle ends, and no later cycle may take it back."""
    import threading

    scorer = Scorer(db.get_bind().engine, session_factory, trained.store, settings)
    entered, finish = threading.Event(), threading.Event()
    held_during_cycle: list[bool] = []
    real_cycle = worker.run_cycle

    def slow_cycle(*args: object, **kwargs: object) -> object:
        entered.set()
        assert finish.wait(10)
        held_during_cycle.append(scorer.lock.held)
        return real_cycle(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(worker, "run_cycle", slow_cycle)
    try:
        cycling = threading.Thread(target=scorer.cycle, args=(trained.now,))
        cycling.start()
        assert entered.wait(10)
        closing = threading.Thread(target=scorer.close)
        closing.start()
        closing.join(0.3)
        assert closing.is_alive()  # waits for the cycle in flight
        finish.set()
        cycling.join(10)
        closing.join(10)
        assert not closing.is_alive()
        assert held_during_cycle == [True]
        in_memory_sqlite = db.get_bind().dialect.name == "sqlite" and scorer.lock.path is None
        assert in_memory_sqlite or not scorer.lock.held  # an in-memory database has no lock to hold
        assert scorer.cycle(trained.now) is None  # closed for good
    finally:
        finish.set()
        scorer.close()
