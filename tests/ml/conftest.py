from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from resight.config import Settings
from resight.ml.models import MlScore
from resight.ml.registry import LoadedModel, ModelStore
from resight.ml.scoring import CycleResult, run_cycle
from resight.ml.snapshots import bucket_floor
from resight.ml.training import TrainingResult, train_and_register
from tests.ml.world import SMALL, World, build_world


@dataclass
class Trained:
    world: World
    result: TrainingResult
    store: ModelStore
    now: dt.datetime

    @property
    def model(self) -> LoadedModel:
        assert self.store.current is not None
        return self.store.current

    def cycle(self, db: Session, now: dt.datetime | None = None) -> CycleResult:
        model = self.store.serving(db)
        assert model is not None
        return run_cycle(db, model, now or self.now)


@pytest.fixture
def trained(db: Session, settings: Settings) -> Trained:
    world = build_world(db)
    result = train_and_register(db, Path(settings.models_dir), config=SMALL, until=world.end)
    store = ModelStore()
    assert store.serving(db) is not None
    return Trained(world, result, store, world.end + dt.timedelta(minutes=20))


@pytest.fixture
def ml_client(app: FastAPI, trained: Trained) -> Iterator[TestClient]:
    """A client whose app serves the trained model, with one scoring cycle done."""
    with TestClient(app, raise_server_exceptions=True) as test_client:
        app.state.model_store = trained.store
        yield test_client


def score_table(db: Session, *, exact: bool = False) -> dict[int, tuple[Any, ...]]:
    """Every ml_scores row; computed_at only as its bucket (rows a warm cycle leaves keep theirs)
    unless `exact`."""
    db.expire_all()
    return {
        row.product_id: (
            row.score,
            row.rank,
            row.previous_rank,
            row.sort_key,
            row.rules_applied,
            row.model_version,
            row.computed_at if exact else bucket_floor(row.computed_at),
        )
        for row in db.scalars(select(MlScore))
    }
