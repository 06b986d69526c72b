from __future__ import annotations

import datetime as dt

import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from resight.ml.history import (
    DEFAULT_POLICY,
    HistoryPolicy,
    LastPoints,
    as_rank_floats,
    ist_day,
    points_to_record,
    prune_history,
    record_cycle,
)
from resight.ml.models import MlScore, MlScoreHistory
from resight.users.models import Role
from tests.factories import headers_for, make_product, make_store
from tests.ml.conftest import Trained

# 11:30 IST; the IST day ends at 18:30 UTC.
NOON = dt.datetime(2026, 11, 20, 6, 0, tzinfo=dt.UTC)
TODAY = ist_day(NOON)


def _last(ids: list[int], scores: list[float], ranks: list[int], day: int = TODAY) -> LastPoints:
    return LastPoints(
        np.asarray(ids, dtype=np.int64),
        np.asarray(scores, dtype=np.float64),
        as_rank_floats(np.asarray(ranks)),
        np.full(len(ids), day, dtype=np.int64),
    )


def _decide(
    last: LastPoints, scores: list[float], ranks: list[int], policy: HistoryPolicy = DEFAULT_POLICY
) -> list[bool]:
    ranked = as_rank_floats(np.asarray(ranks))
    mask = points_to_record(last, last.product_ids, np.asarray(scores), ranked, TODAY, policy)
    return [bool(m) for m in mask]


def test_ist_day_turns_at_18_30_utc() -> None:
    evening = dt.datetime(2026, 11, 20, 18, 29, 59, tzinfo=dt.UTC)
    assert ist_day(evening) == TODAY
    assert ist_day(evening + dt.timedelta(seconds=1)) == TODAY + 1


def test_rank_moves_count_from_one_place_near_the_top_and_one_percent_further_down() -> None:
    last = _last([1, 2, 3, 4], [1.0] * 4, [3, 500, 500, 40])
    assert _decide(last, [1.0] * 4, [4, 504, 495, 40]) == [True, False, True, False]


def test_score_moves_count_above_five_percent_and_the_floor() -> None:
    last = _last([1, 2, 3, 4], [2.0, 2.0, 0.0002, 2.0], [1, 2, 3, 4])
    assert _decide(last, [2.09, 2.11, 0.0009, 1.89], [1, 2, 3, 4]) == [False, True, False, True]


def test_leaving_or_joining_the_ranking_is_a_change() -> None:
    last = _last([1, 2], [1.0, 1.0], [5, 0])
    assert _decide(last, [1.0, 1.0], [0, 7]) == [True, True]


def test_checkpoints_for_new_products_and_a_new_ist_day_within_the_budget_best_ranked_first() -> None:
    last = _last([1, 2], [1.0, 1.0], [1, 2], day=TODAY - 1)
    ids = np.asarray([1, 2, 3, 4, 5], dtype=np.int64)
    ranks = as_rank_floats(np.asarray([1, 2, 5, 0, 3]))
    scores = np.ones(5)
    everything = points_to_record(last, ids, scores, ranks, TODAY)
    assert everything.tolist() == [True] * 5
    budgeted = points_to_record(last, ids, scores, ranks, TODAY, HistoryPolicy(checkpoint_budget=3))
    assert budgeted.tolist() == [True, True, False, False, True]
    nothing_due = points_to_record(_last([1, 2], [1.0, 1.0], [1, 2]), ids[:2], scores[:2], ranks[:2], TODAY)
    assert nothing_due.tolist() == [False, False]


def test_changes_are_never_held_back_by_the_checkpoint_budget() -> None:
    last = _last([1, 2, 3], [1.0, 1.0, 1.0], [1, 2, 3])
    assert _decide(last, [2.0, 2.0, 2.0], [1, 2, 3], HistoryPolicy(checkpoint_budget=0)) == [True, True, True]


def _points(db: Session) -> list[tuple[int, dt.datetime, float, int | None]]:
    rows = db.execute(
        select(
            MlScoreHistory.product_id, MlScoreHistory.computed_at, MlScoreHistory.score, MlScoreHistory.rank
        ).order_by(MlScoreHistory.computed_at, MlScoreHistory.product_id)
    ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def _cycle(db: Session, at: dt.datetime, ids: list[int], scores: list[float], ranks: list[int]) -> int:
    return record_cycle(db, at, "v1", np.asarray(ids), np.asarray(scores), np.asarray(ranks))


def test_record_cycle_writes_first_points_then_only_changes_then_a_daily_checkpoint(db: Session) -> None:
    store = make_store(db)
    ids = [make_product(db, store).id for _ in range(4)]
    assert _cycle(db, NOON, ids, [1.0, 2.0, 3.0, 4.0], [4, 3, 2, 1]) == 4
    later = NOON + dt.timedelta(seconds=30)
    assert _cycle(db, later, ids, [1.0, 2.0, 3.0, 4.0], [4, 3, 2, 1]) == 0
    assert _cycle(db, later + dt.timedelta(seconds=30), ids, [1.0, 2.5, 3.0, 4.0], [4, 3, 0, 1]) == 2
    points = _points(db)
    assert points[4:] == [
        (ids[1], later + dt.timedelta(seconds=30), 2.5, 3),
        (ids[2], later + dt.timedelta(seconds=30), 3.0, None),
    ]
    tomorrow = dt.datetime(2026, 11, 20, 18, 30, tzinfo=dt.UTC)
    assert _cycle(db, tomorrow, ids, [1.0, 2.5, 3.0, 4.0], [4, 3, 0, 1]) == 4
    assert _cycle(db, tomorrow + dt.timedelta(minutes=1), ids, [1.0, 2.5, 3.0, 4.0], [4, 3, 0, 1]) == 0


def test_a_rolled_back_cycle_is_forgotten(db: Session) -> None:
    store = make_store(db)
    ids = [make_product(db, store).id for _ in range(2)]
    assert _cycle(db, NOON, ids, [1.0, 1.0], [1, 2]) == 2
    savepoint = db.begin_nested()
    assert _cycle(db, NOON + dt.timedelta(seconds=30), ids, [5.0, 1.0], [1, 2]) == 1
    savepoint.rollback()
    # The memory claimed product 1 at 5.0; the table does not hold that point, so it re-reads.
    assert _cycle(db, NOON + dt.timedelta(seconds=60), ids, [5.0, 1.0], [1, 2]) == 1
    assert [p[2] for p in _points(db) if p[0] == ids[0]] == [1.0, 5.0]


def test_points_written_elsewhere_are_read_back(db: Session) -> None:
    """Another scorer (after a failover) recorded a point this process never saw."""
    store = make_store(db)
    ids = [make_product(db, store).id for _ in range(2)]
    assert _cycle(db, NOON, ids, [1.0, 1.0], [1, 2]) == 2
    db.execute(
        insert(MlScoreHistory).values(
            product_id=ids[0],
            computed_at=NOON + dt.timedelta(seconds=30),
            score=3.0,
            rank=1,
            model_version="v1",
        )
    )
    assert _cycle(db, NOON + dt.timedelta(seconds=60), ids, [3.0, 1.0], [1, 2]) == 0


def test_recording_the_same_cycle_twice_keeps_the_first_point(db: Session) -> None:
    store = make_store(db)
    product = make_product(db, store)
    assert _cycle(db, NOON, [product.id], [1.0], [1]) == 1
    _cycle(db, NOON, [product.id], [5.0], [1])  # a retried cycle: no duplicate-key error
    assert _points(db) == [(product.id, NOON, 1.0, 1)]


def test_prune_deletes_points_older_than_the_retention(db: Session) -> None:
    store = make_store(db)
    product = make_product(db, store)
    for days_ago in (100, 91, 89, 1):
        db.execute(
            insert(MlScoreHistory).values(
                product_id=product.id,
                computed_at=NOON - dt.timedelta(days=days_ago),
                score=1.0,
                rank=1,
                model_version="v1",
            )
        )
    assert prune_history(db, NOON) == 2
    assert [p[1] for p in _points(db)] == [NOON - dt.timedelta(days=89), NOON - dt.timedelta(days=1)]
    assert prune_history(db, NOON, dt.timedelta(days=2)) == 1


def test_history_endpoint_pages_newest_first_within_a_window(db: Session, client: TestClient) -> None:
    store = make_store(db)
    product = make_product(db, store)
    times = [NOON + dt.timedelta(minutes=m) for m in range(5)]
    for rank, at in enumerate(times, start=1):
        db.execute(
            insert(MlScoreHistory).values(
                product_id=product.id, computed_at=at, score=rank / 2, rank=rank, model_version="v1"
            )
        )
    headers = headers_for(db, Role.viewer)
    url = f"/item/{product.id}/history"
    first = client.get(url, params={"limit": 2}, headers=headers).json()
    assert [p["rank"] for p in first["items"]] == [5, 4]
    assert first["items"][0] == {
        "computed_at": times[4].isoformat().replace("+00:00", "Z"),
        "score": 2.5,
        "rank": 5,
        "model_version": "v1",
    }
    second = client.get(url, params={"limit": 2, "cursor": first["next_cursor"]}, headers=headers).json()
    third = client.get(url, params={"limit": 2, "cursor": second["next_cursor"]}, headers=headers).json()
    assert [p["rank"] for p in second["items"] + third["items"]] == [3, 2, 1]
    assert third["next_cursor"] is None
    window = {"from": times[1].isoformat(), "to": times[3].isoformat()}
    windowed = client.get(url, params=window, headers=headers).json()
    assert [p["rank"] for p in windowed["items"]] == [4, 3, 2]
    assert client.get("/item/999999/history", headers=headers).status_code == 404
    backwards = {"from": times[3].isoformat(), "to": times[1].isoformat()}
    assert client.get(url, params=backwards, headers=headers).status_code == 400
    assert client.get(url, params={"cursor": "bm90LWpzb24"}, headers=headers).status_code == 400
    naive = client.get(url, params={"from": "2026-11-20T06:00:00"}, headers=headers)
    assert naive.status_code == 422
    ancient = client.get(url, params={"from": "0001-01-01T00:00:00+05:30"}, headers=headers)
    assert (ancient.status_code, ancient.json()["detail"]) == (400, "from is out of range")


def test_scoring_cycles_record_history(db: Session, trained: Trained) -> None:
    trained.cycle(db)
    ranked = {s.product_id: s for s in db.scalars(select(MlScore))}
    first = _points(db)
    assert {p[0] for p in first} == set(ranked)
    assert all(p[1] == trained.now for p in first)
    assert {p[0]: (p[2], p[3]) for p in first} == {pid: (s.score, s.rank) for pid, s in ranked.items()}
    trained.cycle(db, trained.now + dt.timedelta(seconds=30))
    assert len(_points(db)) == len(first)  # nothing moved, and today's checkpoints are written
