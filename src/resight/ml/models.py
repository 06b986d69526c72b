from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, Enum, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from resight.db import Base, BigIntId, UTCDateTime, utcnow


class ModelStatus(enum.StrEnum):
    candidate = "candidate"  # trained, evaluated, not serving
    serving = "serving"
    retired = "retired"  # served before, replaced


class MlModel(Base):
    """The model registry."""

    __tablename__ = "ml_models"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    version: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[ModelStatus] = mapped_column(Enum(ModelStatus, native_enum=False, length=16), index=True)
    artifact_path: Mapped[str] = mapped_column(String(500))
    artifact_sha256: Mapped[str] = mapped_column(String(64))
    features: Mapped[list[str]] = mapped_column(JSON, default=list)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    train_from: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    train_to: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    data_fingerprint: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    promoted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class MlScore(Base):
    """The current score and rank of each product (one row per product, rewritten each cycle)."""

    __tablename__ = "ml_scores"
    __table_args__ = (
        Index("ix_ml_scores_rank", "rank"),
        # What-if finds a new position with one seek on this index (ties broken by product id).
        Index("ix_ml_scores_sort_key", "sort_key", "product_id"),
    )

    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), primary_key=True)
    score: Mapped[float] = mapped_column(Float)
    rank: Mapped[int | None] = mapped_column(Integer)
    previous_rank: Mapped[int | None] = mapped_column(Integer)
    model_version: Mapped[str] = mapped_column(String(64))
    computed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    # The value the ranking is ordered by (descending) after rules; None for pinned or removed items.
    sort_key: Mapped[float | None] = mapped_column(Float)
    # Ids of the rules that placed or adjusted this product (pin, boosts, demotes), or None.
    rules_applied: Mapped[list[int] | None] = mapped_column(JSON)


class MlScoreHistory(Base):
    """Change points of each product's score and rank (ml/history.py decides which cycles to keep)."""

    __tablename__ = "ml_score_history"
    # Pruning by age seeks this index; per-product reads use the primary key.
    __table_args__ = (Index("ix_ml_score_history_computed_at", "computed_at"),)

    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), primary_key=True)
    computed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, primary_key=True)
    score: Mapped[float] = mapped_column(Float)
    rank: Mapped[int | None] = mapped_column(Integer)  # None: not ranked (removed by a rule)
    model_version: Mapped[str] = mapped_column(String(64))
