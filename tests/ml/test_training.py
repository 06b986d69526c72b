from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from resight.ml.models import ModelStatus
from resight.ml.training import train_and_register
from tests.ml.world import SMALL, build_world


def test_train_registers_and_promotes_first_model(db: Session, tmp_path: Path) -> None:
    world = build_world(db)
    result = train_and_register(db, tmp_path, config=SMALL, until=world.end)
    assert result.promoted
    assert result.model.status is ModelStatus.serving
    assert result.metrics["spearman"] > 0.5, result.metrics
    assert Path(result.model.artifact_path).exists()
