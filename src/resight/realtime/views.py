"""What the live messages say: read-only views of ranking, items and alerts, built from the database.

Each function takes the session first and returns plain JSON-ready data (₹ as Decimal)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from resight.catalog.models import Product
from resight.events.models import Alert, AlertStatus
from resight.india import paise_to_rupees
from resight.ml.models import MlModel, MlScore, ModelStatus

TOP_N = 20
CHANGES_N = 50
ALERTS_N = 50


def _rank_change(rank: int | None, previous: int | None) -> int | None:
    # Positive: moved up the ranking (a smaller rank number).
    return None if rank is None or previous is None else previous - rank


def ranking(session: Session, top: int = TOP_N, changes: int = CHANGES_N) -> dict[str, Any]:
    """The top of the current ranking and the largest rank moves of the last cycle."""
    rows = session.execute(
        select(
            MlScore.product_id,
            MlScore.rank,
            MlScore.previous_rank,
            MlScore.score,
            MlScore.model_version,
            MlScore.computed_at,
            Product.title,
            Product.sku,
            Product.marketplace,
            Product.price_paise,
            Product.stock,
        )
        .join(Product, Product.id == MlScore.product_id)
        .where(MlScore.rank.is_not(None))
        .order_by(MlScore.rank)
        .limit(top)
    ).all()
    moved = session.execute(
        select(MlScore.product_id, MlScore.rank, MlScore.previous_rank)
        .where(
            MlScore.rank.is_not(None),
            MlScore.previous_rank.is_not(None),
            MlScore.rank != MlScore.previous_rank,
        )
        .order_by(func.abs(MlScore.previous_rank - MlScore.rank).desc(), MlScore.rank)
        .limit(changes)
    ).all()
    return {
        "model_version": rows[0].model_version if rows else None,
        "computed_at": rows[0].computed_at if rows else None,
        "top": [
            {
                "product_id": row.product_id,
                "title": row.title,
                "sku": row.sku,
                "marketplace": row.marketplace,
                "rank": row.rank,
                "previous_rank": row.previous_rank,
                "rank_change": _rank_change(row.rank, row.previous_rank),
                "score": row.score,
                "price": None if row.price_paise is None else paise_to_rupees(row.price_paise),
                "stock": row.stock,
            }
            for row in rows
        ],
        "changes": [
            {
                "product_id": row.product_id,
                "rank": row.rank,
                "previous_rank": row.previous_rank,
                "rank_change": _rank_change(row.rank, row.previous_rank),
            }
            for row in moved
        ],
    }


def items(session: Session, product_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """The live view of each product: price, stock, status, score and rank."""
    ids = sorted(set(product_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(
            Product.id,
            Product.title,
            Product.sku,
            Product.marketplace,
            Product.price_paise,
            Product.mrp_paise,
            Product.stock,
            Product.status,
            Product.last_event_at,
            MlScore.score,
            MlScore.rank,
            MlScore.previous_rank,
            MlScore.model_version,
            MlScore.computed_at,
        )
        .outerjoin(MlScore, MlScore.product_id == Product.id)
        .where(Product.id.in_(ids))
    ).all()
    return {
        row.id: {
            "product_id": row.id,
            "title": row.title,
            "sku": row.sku,
            "marketplace": row.marketplace,
            "price": None if row.price_paise is None else paise_to_rupees(row.price_paise),
            "mrp": None if row.mrp_paise is None else paise_to_rupees(row.mrp_paise),
            "stock": row.stock,
            "status": row.status,
            "last_event_at": row.last_event_at,
            "score": row.score,
            "rank": row.rank,
            "previous_rank": row.previous_rank,
            "rank_change": _rank_change(row.rank, row.previous_rank),
            "model_version": row.model_version,
            "scored_at": row.computed_at,
        }
        for row in rows
    }


def open_alerts(session: Session, limit: int = ALERTS_N) -> dict[str, Any]:
    """The newest open alerts and how many are open in all."""
    count = session.scalar(select(func.count()).select_from(Alert).where(Alert.status == AlertStatus.open))
    rows = session.scalars(
        select(Alert).where(Alert.status == AlertStatus.open).order_by(Alert.id.desc()).limit(limit)
    ).all()
    return {
        "open_count": count or 0,
        "open": [
            {
                "id": alert.id,
                "kind": alert.kind,
                "severity": alert.severity,
                "subject_type": alert.subject_type,
                "subject_id": alert.subject_id,
                "message": alert.message,
                "details": alert.details,
                "created_at": alert.created_at,
            }
            for alert in rows
        ],
    }


def serving_model(session: Session) -> dict[str, Any] | None:
    model = session.scalar(
        select(MlModel)
        .where(MlModel.status == ModelStatus.serving)
        .order_by(MlModel.promoted_at.desc(), MlModel.id.desc())
        .limit(1)
    )
    if model is None:
        return None
    return {
        "version": model.version,
        "status": model.status,
        "promoted_at": model.promoted_at,
        "metrics": model.metrics,
        "train_from": model.train_from,
        "train_to": model.train_to,
    }
