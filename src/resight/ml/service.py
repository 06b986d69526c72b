from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from resight.ml.models import MlModel, MlScore, ModelStatus


def serving_model_version(session: Session) -> str | None:
    return session.scalar(
        select(MlModel.version)
        .where(MlModel.status == ModelStatus.serving)
        .order_by(MlModel.promoted_at.desc())
        .limit(1)
    )


def last_scored_at(session: Session) -> dt.datetime | None:
    return session.scalar(select(func.max(MlScore.computed_at)))
